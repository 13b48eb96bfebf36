#!/usr/bin/env bash
# Times the warm Debian lab matrix — 5.10, 6.1, 6.12 and the newest kernel, each with memmap and
# NVDIMM pmem, 8 runs — with --jobs 1 and with the default (one guest per core), and prints both
# wall times, their ratio, a warm single run (the median run with --jobs 1, and debian-6.1's), and
# where the --jobs 1 runs' seconds went (median per step, from --timings).
# Every pass runs with --check, so its exit status says whether each run equals its kernel's fake
# profile (a kernel's real FAIL findings, such as 5.10's devdax-kmem, are expected there).
#
# Other people's builds share this machine, so each configuration runs BENCH_ROUNDS times (default
# 2) in ABBA order (--jobs 1, default, default, --jobs 1, ...), which cancels a load that drifts,
# and the figures are medians. QEMU's CPU seconds are printed too: unlike wall seconds, other load
# barely moves them.
#
# A first pass warms the caches (kernels, vmlinux, initramfs) unless BENCH_WARM=0; it downloads
# what is missing and is not part of the figures. Extra arguments go to every `daxpin lab`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
out="${BENCH_OUT:-lab-bench}"
rounds="${BENCH_ROUNDS:-2}"
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
  .build/release/daxpin lab --out "$out/$name" --timings --check "${kernels[@]}" --pmem both "$@" \
    >"$out/$name.txt" 2>"$out/$name.progress.log" || rc=$?
  end=$(date +%s.%N)
  if [ "$rc" -ne 0 ]; then
    echo "bench: $name exited $rc (see $out/$name.txt and $out/$name.progress.log)" >&2
    failed=1
  fi
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", e - s }'
}

# median: the median of the numbers on standard input, one a line.
median() {
  sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# totals FILE... [PATTERN]: the per-run totals of the summary tables (kernels matching PATTERN).
totals() {
  local pattern=${TOTALS_KERNEL:-.}
  awk -v k="$pattern" '$3 ~ /^(memmap|nvdimm)$/ && $1 ~ k && $6 ~ /^[0-9.]+$/ { print $6 }' "$@"
}

# cpu FILE: the QEMU CPU seconds of a pass's runs, summed (the timings table's last column).
cpu() {
  awk '/^timings \(s\)/ { t = 1; next } t && $1 ~ /-(memmap|nvdimm)$/ && $NF ~ /^[0-9.]+$/ { s += $NF } t && NF == 0 { t = 0 }
       END { printf "%.1f\n", s }' "$1"
}

# steps FILE...: the median seconds of each step over the runs of the timings tables.
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
       }' "$@"
}

if [ "${BENCH_WARM:-1}" != 0 ]; then
  echo "bench: warming the caches (kernels, vmlinux, initramfs)..." >&2
  pass warm "$@" >/dev/null
fi
one=()
all=()
loads=()
for r in $(seq 1 "$rounds"); do
  order=(jobs1 default)
  [ $((r % 2)) -eq 0 ] && order=(default jobs1)
  for which in "${order[@]}"; do
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    echo "bench: round $r, $which..." >&2
    if [ "$which" = jobs1 ]; then one+=("$(pass "jobs1-$r" --jobs 1 "$@")"); else all+=("$(pass "default-$r" "$@")"); fi
  done
done

j1=("$out"/jobs1-*.txt)
jd=("$out"/default-*.txt)
one_wall=$(printf '%s\n' "${one[@]}" | median)
all_wall=$(printf '%s\n' "${all[@]}" | median)
one_cpu=$(for f in "${j1[@]}"; do cpu "$f"; done | median)
all_cpu=$(for f in "${jd[@]}"; do cpu "$f"; done | median)
run_med=$(totals "${j1[@]}" | median)
run_min=$(totals "${j1[@]}" | sort -n | head -1)
run_max=$(totals "${j1[@]}" | sort -n | tail -1)
run61=$(TOTALS_KERNEL='^debian-6\.1$' totals "${j1[@]}" | median)
par_med=$(totals "${jd[@]}" | median)

echo "warm matrix: 8 runs (debian-5.10, debian-6.1, debian-6.12, debian-latest × memmap, nvdimm), $cores cores, TCG;"
echo "  $rounds rounds in ABBA order, medians; 1-min load average before each pass: ${loads[*]}"
echo "  --jobs 1:            ${one_wall} s wall (${one[*]}); QEMU CPU ${one_cpu} s; per run ${run_med} s (min ${run_min}, max ${run_max})"
echo "  default (--jobs $cores):  ${all_wall} s wall (${all[*]}); QEMU CPU ${all_cpu} s; per run ${par_med} s"
awk -v a="$all_wall" -v o="$one_wall" 'BEGIN { printf "  default / --jobs 1:  %.3f (target at most 0.55)\n", a / o }'
echo "  warm single run:     ${run_med} s, the median of the --jobs 1 runs; debian-6.1: ${run61} s (target at most 9 s)"
echo "  --jobs 1 steps (median s): $(steps "${j1[@]}")"
exit "$failed"
