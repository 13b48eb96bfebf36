#!/usr/bin/env bash
# Times the warm Debian lab matrix — 5.10, 6.1, 6.12 and the newest kernel, each with memmap and
# NVDIMM pmem, 8 runs — once with --jobs 1 and once with the default (one guest per core), and
# prints both wall times, their ratio, a warm single run (the median run of the --jobs 1 pass),
# and where that pass's seconds went (median per step, from --timings).
#
# A first pass warms the caches (kernels, vmlinux, initramfs) unless BENCH_WARM=0; it downloads
# what is missing and is not part of the figures. Extra arguments go to every `daxpin lab`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
out="${BENCH_OUT:-lab-bench}"
mkdir -p "$out"
[ -x .build/release/daxpin ] || swift build -c release --static-swift-stdlib 2>&1 | tail -1
kernels=(--kernel debian-5.10 --kernel debian-6.1 --kernel debian-6.12 --kernel debian-latest)
cores=$(nproc)
failed=0

# pass NAME ARGS...: one `daxpin lab` over the matrix; prints its wall seconds.
pass() {
  local name=$1
  shift
  local start end rc=0
  start=$(date +%s.%N)
  .build/release/daxpin lab --out "$out/$name" --timings "${kernels[@]}" --pmem both "$@" \
    >"$out/$name.txt" 2>"$out/$name.progress.log" || rc=$?
  end=$(date +%s.%N)
  if [ "$rc" -ne 0 ]; then
    echo "bench: $name exited $rc (see $out/$name.txt and $out/$name.progress.log)" >&2
    failed=1
  fi
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }'
}

# runs FILE: "median min max" of the per-run totals in a pass's summary table.
runs() {
  awk '$3 ~ /^(memmap|nvdimm)$/ && $6 ~ /^[0-9.]+$/ { print $6 }' "$1" | sort -n |
    awk '{ v[NR] = $1 } END { if (NR) printf "%.1f %.1f %.1f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}

# steps FILE: the median seconds of each step in a pass's timings table.
steps() {
  awk '/^timings \(s\)/ { t = 1; next }
       t && $1 == "run" { for (i = 2; i < NF - 1; i++) name[i] = $i; n = NF - 2; next }
       t && $1 ~ /-(memmap|nvdimm)$/ { rows++; for (i = 2; i <= n; i++) v[i, rows] = $i; next }
       t && NF == 0 { t = 0 }
       END {
         for (i = 2; i <= n; i++) {
           m = 0; delete a
           for (r = 1; r <= rows; r++) if (v[i, r] != "-") a[++m] = v[i, r] + 0
           for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (a[y] < a[x]) { z = a[x]; a[x] = a[y]; a[y] = z }
           if (m) printf "%s%s %.2f", (i > 2 ? ", " : ""), name[i], (m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2)
         }
         print ""
       }' "$1"
}

# cpu FILE: the QEMU CPU seconds of a pass's runs, summed (the timings table's last column).
cpu() {
  awk '/^timings \(s\)/ { t = 1; next } t && $1 ~ /-(memmap|nvdimm)$/ && $NF ~ /^[0-9.]+$/ { s += $NF } t && NF == 0 { t = 0 }
       END { printf "%.1f\n", s }' "$1"
}

if [ "${BENCH_WARM:-1}" != 0 ]; then
  echo "bench: warming the caches (kernels, vmlinux, initramfs)..." >&2
  pass warm "$@" >/dev/null
fi
echo "bench: --jobs 1..." >&2
load1=$(cut -d' ' -f1-3 /proc/loadavg)
one=$(pass jobs1 --jobs 1 "$@")
echo "bench: default (--jobs $cores)..." >&2
load2=$(cut -d' ' -f1-3 /proc/loadavg)
all=$(pass default "$@")
read -r med min max < <(runs "$out/jobs1.txt")
read -r dmed _ _ < <(runs "$out/default.txt")

echo "warm matrix: 8 runs (debian-5.10, debian-6.1, debian-6.12, debian-latest × memmap, nvdimm), $cores cores, TCG"
echo "  --jobs 1:            ${one} s wall; per run median ${med} s (min ${min}, max ${max}); QEMU CPU $(cpu "$out/jobs1.txt") s; load before ${load1}"
echo "  default (--jobs $cores):  ${all} s wall; per run median ${dmed} s; QEMU CPU $(cpu "$out/default.txt") s; load before ${load2}"
awk -v a="$all" -v o="$one" 'BEGIN { printf "  default / --jobs 1:  %.2f (target at most 0.55)\n", a / o }'
echo "  warm single run:     ${med} s (median of the --jobs 1 runs; target at most 9 s)"
echo "  --jobs 1 steps (median s): $(steps "$out/jobs1.txt")"
exit "$failed"
