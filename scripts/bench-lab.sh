#!/usr/bin/env bash
# Times the full Debian lab matrix: 5.10, 6.1, 6.12 and the newest kernel, each with memmap and
# NVDIMM pmem. Prints boot, probe and total seconds per run (the lab's summary table), then the
# whole matrix's wall time and how much of it was kernel fetching. Kernels already in the cache
# are not fetched again; pass --refresh to include the downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
out="${BENCH_OUT:-lab-bench}"
[ -x .build/release/daxpin ] || swift build -c release --static-swift-stdlib 2>&1 | tail -1
start=$(date +%s.%N)
set +e
.build/release/daxpin lab --out "$out" "$@" \
  --kernel debian-5.10 --kernel debian-6.1 --kernel debian-6.12 --kernel debian-latest --pmem both \
  2> >(tee "$out.progress.log" >&2) | tee "$out.summary.txt"
rc=${PIPESTATUS[0]}
set -e
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "\nwhole matrix: %.1f s wall\n", e - s }'
# Per-run totals from the table: boot, probe and total columns summed.
awk '$3 ~ /^(memmap|nvdimm)$/ && $4 != "?" { b += $4; p += $5; t += $6; n++ }
     END { if (n) printf "%d runs: boot %.1f s, probe %.1f s, runs %.1f s (mean %.1f s per run)\n", n, b, p, t, t / n }' "$out.summary.txt"
exit "$rc"
