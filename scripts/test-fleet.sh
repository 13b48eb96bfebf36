#!/usr/bin/env bash
# Tests contrib/ansible/fleet.yml for real with ansible-playbook: this machine is three inventory
# hosts over the local connection. node-a and node-b must probe, their reports must reach the
# controller side and both be in the merged matrix and the HTML page (each under its own
# inventory name); node-c's probe is made to fail (--devdax /dev/zero: daxpin exits 2), and the
# playbook must then exit non-zero, name node-c as failed and leave it out of the merge.
#
# daxpin reaches the hosts as a copied binary (the role's daxpin_binary) in a temporary directory,
# so nothing is installed; with DAXPIN_TEST_INSTALL=1 node-a gets the package instead
# (dist/daxpin_*.deb from scripts/package.sh, installed by the role with apt, removed at the
# end). CI (CI=true) keeps to copies: the role's apt task alone takes about a minute there, and
# scripts/test-package.sh already installs and removes the package for real. Needs root (the probe and become), ansible (scripts/setup.sh) and a built daxpin:
#   scripts/test-fleet.sh [DAXPIN]        default .build/release/daxpin
set -euo pipefail
cd "$(dirname "$0")/.."
daxpin=$(realpath "${1:-.build/release/daxpin}")
[ -x "$daxpin" ] || { echo "test-fleet: no $daxpin: build it first (swift build -c release --static-swift-stdlib)" >&2; exit 2; }
command -v ansible-playbook >/dev/null || { echo "test-fleet: ansible-playbook is missing: run scripts/setup.sh" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "test-fleet: run as root (daxpin probe needs it)" >&2; exit 2; }

start=$(date +%s%N)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/daxpin-test-fleet.XXXXXX")
installed=""
cleanup() {
  if [ -n "$installed" ]; then dpkg -r daxpin >/dev/null || true; fi
  if [ -n "${DAXPIN_TEST_KEEP:-}" ]; then echo "test-fleet: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() { echo "test-fleet: FAIL: $*" >&2; exit 1; }

# The local connection as root: become needs no password through su (sudo may be absent).
# Every host gets the binary copied to a temporary directory; with DAXPIN_TEST_INSTALL=1 node-a
# gets the package instead (one host only: the three "hosts" share one dpkg lock).
node_a=""
if [ "${DAXPIN_TEST_INSTALL:-}" = 1 ]; then
  deb=$(scripts/package.sh | tail -1)  # current: it reuses the release build
  dpkg -s daxpin >/dev/null 2>&1 && fail "daxpin is already installed: remove it first (dpkg -r daxpin)"
  node_a="daxpin_deb=$(realpath "$deb") daxpin_path=/usr/bin/daxpin"
  installed=yes
  echo "test-fleet: node-a installs $deb with the role's apt task, node-b and node-c get $daxpin copied"
else
  echo "test-fleet: the role copies $daxpin (DAXPIN_TEST_INSTALL=1 installs the package on node-a)"
fi
mkdir -p "$tmp/host"
cat >"$tmp/inventory.ini" <<INVENTORY
[daxpin]
node-a $node_a
node-b
node-c daxpin_probe_args="['--devdax', '/dev/zero']"

[daxpin:vars]
ansible_connection=local
ansible_python_interpreter=/usr/bin/python3
ansible_become_method=su
daxpin_binary=$daxpin
daxpin_path=$tmp/host/daxpin
INVENTORY

set +e
ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
  ansible-playbook -i "$tmp/inventory.ini" contrib/ansible/fleet.yml \
  -e "daxpin_reports_dir=$tmp/reports" -e "daxpin_controller=$daxpin" >"$tmp/playbook.log" 2>&1
rc=$?
set -e
show() { sed 's/^/  | /' "$tmp/playbook.log" | tail -40 >&2; }

# node-c's probe failed: ansible-playbook says so (exit 2, node-c failed=1), the others did not.
[ "$rc" -ne 0 ] || { show; fail "ansible-playbook exited 0 although node-c's probe failed"; }
recap() { grep -E "^$1 +: " "$tmp/playbook.log" || true; }
recap node-c | grep -q 'failed=1' || { show; fail "node-c is not failed in the play recap"; }
for h in node-a node-b localhost; do
  recap "$h" | grep -qE 'unreachable=0 +failed=0' || { show; fail "$h failed in the play recap"; }
done
grep -q "daxpin: --devdax /dev/zero" "$tmp/playbook.log" || { show; fail "node-c's failure does not carry daxpin's own message"; }

# Both reports fetched, each naming its inventory host; node-c has none.
for h in node-a node-b; do
  f="$tmp/reports/$h.json"
  [ -s "$f" ] || { show; fail "no report $f"; }
  grep -q "\"hostname\" *: *\"$h\"" "$f" || fail "$f does not name host $h"
done
[ ! -e "$tmp/reports/node-c.json" ] || fail "node-c's failed probe left a report"

# The merged matrix and the page hold both hosts' rows (a row per host and kernel), and no node-c.
release=$(uname -r)
for h in node-a node-b; do
  grep -qF "$h" "$tmp/reports/matrix.md" || fail "matrix.md has no row for $h"
  grep -qF "$h" "$tmp/reports/matrix.html" || fail "matrix.html does not name $h"
done
! grep -q node-c "$tmp/reports/matrix.md" || fail "matrix.md names node-c"
rows=$("$daxpin" report matrix --jsonl "$tmp/reports/node-a.json" "$tmp/reports/node-b.json" | grep -c '"host"' || true)
[ "$rows" -ge 2 ] || fail "the reports merge into $rows rows, not one per host"
grep -qF "$release" "$tmp/reports/matrix.md" || fail "matrix.md does not name kernel $release"
grep -q "^2 reports from 2 hosts\." "$tmp/reports/matrix.md" || fail "matrix.md does not merge 2 reports from 2 hosts"
grep -q "2 reports merged" "$tmp/playbook.log" || { show; fail "the controller did not merge 2 reports"; }

# Nothing left on the "hosts" but what was asked for: the private report directories are gone.
leftovers=$(find "${TMPDIR:-/tmp}" /tmp -maxdepth 1 -name 'daxpin-fleet.*' -newer "$tmp/inventory.ini" 2>/dev/null | wc -l)
[ "$leftovers" -eq 0 ] || fail "$leftovers private report directories left in ${TMPDIR:-/tmp}"
if [ -n "$installed" ]; then
  dpkg -s daxpin 2>/dev/null | grep -q '^Status: install ok installed' || fail "the role did not install the package"
fi

ms=$((($(date +%s%N) - start) / 1000000))
echo "test-fleet: passed (node-a and node-b merged, node-c failed as it must) in $((ms / 1000)).$((ms % 1000 / 100)) s"
