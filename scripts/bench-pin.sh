#!/bin/sh
# Pin cost, daxpin against its C twin (bench/pinbench.c): builds pinbench with cc, then for each
# interface and memory kind runs `daxpin bench --json` and pinbench with the same size and rounds,
# alternating which goes first, and prints per cell both GiB/s (pin + unpin) and their ratio.
#
# usage: scripts/bench-pin.sh [--daxpin PATH] [--size BYTES] [--iterations N] [--rounds R]
#                             [--interface I]... [--memory M]... [--vfio-group N] [--devdax PATH]
# Needs root (pins), cc and python3. Defaults: .build/release/daxpin, io_uring, anon-4k thp
# hugetlb-2m memfd, 1 GiB, 20 iterations, 5 rounds (medians: GiB/s of each side, and
# of each round's ratio).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
daxpin=$here/.build/release/daxpin
size=$((1 << 30))
iterations=20
rounds=5
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
    # daxpin decides the size once (reductions for the hugetlb pool, MemAvailable, the device); C uses it.
    set -- $("$daxpin" bench --json --interface "$i" --memory "$m" --size "$size" --iterations 1 $extra_daxpin | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
print(r["status"], r.get("bytes", 0), "|", r.get("reason", ""), "|".join(r.get("reductions", [])))') || true
    if [ "${1:-}" != measured ]; then
      status=${1:-failed}
      shift 3 2>/dev/null || true
      echo "$i.$m: daxpin $status: $*"
      continue
    fi
    bytes=$2
    shift 3
    [ $# -gt 0 ] && echo "$i.$m: $*"
    r=0
    : >"$work/cell"
    while [ $r -lt "$rounds" ]; do
      if [ $((r % 2)) -eq 0 ]; then
        d=$("$daxpin" bench --json --interface "$i" --memory "$m" --size "$bytes" --iterations "$iterations" $extra_daxpin)
        c=$("$pinbench" --interface "$i" --memory "$m" --size "$bytes" --iterations "$iterations" $extra_c)
      else
        # Odd rounds: C first, so neither always runs on a warmer machine.
        c=$("$pinbench" --interface "$i" --memory "$m" --size "$bytes" --iterations "$iterations" $extra_c)
        d=$("$daxpin" bench --json --interface "$i" --memory "$m" --size "$bytes" --iterations "$iterations" $extra_daxpin)
      fi
      db=$(printf '%s' "$d" | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
print(r["gib_per_s"], r["bytes"] / (r["pin_ns"]["min"] + r["unpin_ns"]["min"]) * 1e9 / 2**30)')
      cb=$(printf '%s' "$c" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["gib_per_s"], r["bytes"] / (r["pin_min_ns"] + r["unpin_min_ns"]) * 1e9 / 2**30)')
      set -- $db $cb
      echo "$bytes $1 $3 $4 $2" >>"$work/cell"
      r=$((r + 1))
    done
    python3 - "$i" "$m" "$work/cell" <<'PY'
import statistics, sys
i, m, path = sys.argv[1:]
rows = [[float(x) for x in l.split()] for l in open(path) if l.strip()]
# row: bytes, daxpin GiB/s, C GiB/s, C best, daxpin best ("best": the fastest pin plus the fastest
# unpin of the round, what the calls cost when nothing else ran on the machine).
d = statistics.median(r[1] for r in rows)
c = statistics.median(r[2] for r in rows)
ratios = [r[1] / r[2] for r in rows]
best = max(r[4] for r in rows) / max(r[3] for r in rows)
size = int(rows[0][0])
# The ratio is the median of each round's ratio: daxpin and C ran back to back in a round, so a
# busy moment of the machine moves both.
print(f"{i + '.' + m:24} {size >> 20:5} MiB  daxpin {d:8.2f} GiB/s  C {c:8.2f} GiB/s  ratio {statistics.median(ratios):5.3f}"
      f"  (rounds {min(ratios):.3f}-{max(ratios):.3f}; best-case ratio {best:5.3f})")
PY
  done
done
