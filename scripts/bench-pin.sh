#!/bin/sh
# Pin cost, daxpin against its C twin (bench/pinbench.c): builds pinbench with cc, then for each
# interface and memory kind runs `daxpin bench --json` and pinbench with the same size and rounds,
# alternating which goes first, and prints per cell both GiB/s (pin + unpin) and their ratio.
#
# usage: scripts/bench-pin.sh [--daxpin PATH] [--size BYTES] [--iterations N] [--rounds R]
#                             [--interface I]... [--memory M]... [--vfio-group N] [--devdax PATH]
# Needs root (pins), cc and python3. Defaults: .build/release/daxpin, io_uring, anon-4k thp
# hugetlb-2m memfd, 1 GiB, 20 iterations, 3 rounds (the medians are printed).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
daxpin=$here/.build/release/daxpin
size=$((1 << 30))
iterations=20
rounds=3
interfaces=""
memories=""
extra_daxpin=""
extra_c=""
while [ $# -gt 0 ]; do
  case $1 in
  --daxpin) daxpin=$2; shift 2 ;;
  --size) size=$2; shift 2 ;;
  --iterations) iterations=$2; shift 2 ;;
  --rounds) rounds=$2; shift 2 ;;
  --interface) interfaces="$interfaces $2"; shift 2 ;;
  --memory) memories="$memories $2"; shift 2 ;;
  --vfio-group) extra_daxpin="$extra_daxpin --vfio-group $2"; extra_c="$extra_c --vfio-group $2"; shift 2 ;;
  --devdax) extra_daxpin="$extra_daxpin --devdax $2"; extra_c="$extra_c --devdax $2"; shift 2 ;;
  *) echo "bench-pin: unknown option $1" >&2; exit 64 ;;
  esac
done
[ -n "$interfaces" ] || interfaces=io_uring
[ -n "$memories" ] || memories="anon-4k thp hugetlb-2m memfd"
[ -x "$daxpin" ] || { echo "bench-pin: no daxpin at $daxpin: swift build -c release --static-swift-stdlib" >&2; exit 2; }
command -v cc >/dev/null || { echo "bench-pin: no cc: apt-get install gcc (scripts/setup.sh)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench-pin: no python3 (scripts/setup.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/bench-pin.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM HUP
pinbench=${PINBENCH:-}
if [ -z "$pinbench" ]; then
  cc -O2 -Wall -o "$work/pinbench" "$here/bench/pinbench.c"
  pinbench=$work/pinbench
fi

echo "pin cost on $(uname -r), $(nproc) cores: $rounds rounds of $iterations pin + unpin per cell, daxpin and C alternating"
for i in $interfaces; do
  for m in $memories; do
    r=0
    : >"$work/cell"
    while [ $r -lt "$rounds" ]; do
      # daxpin decides the size (reductions for the hugetlb pool, MemAvailable, the device); C uses it.
      d=$("$daxpin" bench --json --interface "$i" --memory "$m" --size "$size" --iterations "$iterations" $extra_daxpin || true)
      line=$(printf '%s' "$d" | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
print(r["status"], r.get("bytes", 0), r.get("gib_per_s", 0), r.get("reason", "").replace(" ", "_"))')
      set -- $line
      if [ "$1" != measured ]; then
        echo "$i.$m: daxpin $1: $(echo "$4" | tr _ ' ')"
        continue 2
      fi
      bytes=$2
      dg=$3
      if [ $((r % 2)) -eq 1 ]; then
        # Odd rounds: C first, then daxpin again, so neither always runs on a warmer machine.
        c=$("$pinbench" --interface "$i" --memory "$m" --size "$bytes" --iterations "$iterations" $extra_c)
        d=$("$daxpin" bench --json --interface "$i" --memory "$m" --size "$bytes" --iterations "$iterations" $extra_daxpin)
        dg=$(printf '%s' "$d" | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0].get("gib_per_s", 0))')
      else
        c=$("$pinbench" --interface "$i" --memory "$m" --size "$bytes" --iterations "$iterations" $extra_c)
      fi
      cg=$(printf '%s' "$c" | python3 -c 'import json,sys; print(json.load(sys.stdin)["gib_per_s"])')
      echo "$bytes $dg $cg" >>"$work/cell"
      r=$((r + 1))
    done
    python3 - "$i" "$m" "$work/cell" <<'PY'
import statistics, sys
i, m, path = sys.argv[1:]
rows = [l.split() for l in open(path) if l.strip()]
d = statistics.median(float(r[1]) for r in rows)
c = statistics.median(float(r[2]) for r in rows)
size = int(rows[0][0])
print(f"{i + '.' + m:28} {size >> 20:6} MiB  daxpin {d:9.2f} GiB/s  C {c:9.2f} GiB/s  ratio {d / c:5.3f}   "
      f"(rounds: {' '.join(f'{float(r[1]) / float(r[2]):.3f}' for r in rows)})")
PY
  done
done
