#!/usr/bin/env bash
# Tests the Debian package scripts/package.sh builds, as an installed daxpin is used:
#   lintian reports no errors; `man -l` renders the page and it covers every subcommand; bash
#   completion of `daxpin <TAB>` offers the subcommands (and `daxpin report <TAB>` the report
#   formats), zsh and fish parse theirs; `daxpin --version` names the commit HEAD names;
#   `cd / && daxpin lab --kernel debian-6.1 --pmem memmap --check` passes (no source tree in reach).
# Installing a package changes the machine, so the real `dpkg -i` / `dpkg -r` (and the check
# that removal leaves nothing behind but the lab's cache) happens only when CI=true (CI is a fresh
# machine) or DAXPIN_TEST_INSTALL=1; otherwise the same checks run on a `dpkg-deb -x` extraction
# in a temporary directory, removed at the end.
# The lab uses daxpin's default cache ($XDG_CACHE_HOME/daxpin, else /var/cache/daxpin as root).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C.UTF-8
t0=$(date +%s%N)
elapsed() { local ms=$((($(date +%s%N) - t0) / 1000000)); echo "$((ms / 1000)).$((ms % 1000 / 100)) s"; }
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
for tool in lintian dpkg-deb man bash; do
  command -v "$tool" >/dev/null || { echo "test-package: $tool is missing: run scripts/setup.sh" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "test-package: run as root (dpkg and daxpin lab need it)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/daxpin-test-package.XXXXXX")
installed=""
cleanup() {
  if [ -n "$installed" ]; then dpkg -r daxpin >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

deb=$(scripts/package.sh | tail -1)
[ -s "$deb" ] || fail "scripts/package.sh made no package"
echo "test-package: $deb built in $(elapsed)"

# lintian: no errors (warnings and info are shown, not fatal).
if ! lintian --fail-on error --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1; then
  cat "$tmp/lintian.log" >&2
  fail "lintian reports errors"
fi
sed 's/^/test-package: lintian: /' "$tmp/lintian.log"
echo "test-package: lintian: no errors ($(elapsed))"

# The control fields.
fields=$(dpkg-deb --field "$deb" Depends Recommends)
grep -q '^Depends: .*libc6' <<<"$fields" || fail "Depends does not name libc6: $fields"
for r in qemu-system-x86 busybox-static ndctl daxctl e2fsprogs xfsprogs kmod; do
  grep -q "^Recommends:.*\b$r\b" <<<"$fields" || fail "Recommends lacks $r"
done

# Install for real, or extract.
watched=(/usr /etc /var/lib/dpkg/info /var/cache/man)
snapshot() { find "${watched[@]}" -xdev -name '*daxpin*' 2>/dev/null | sort; }
if [ "${CI:-}" = true ] || [ "${DAXPIN_TEST_INSTALL:-}" = 1 ]; then
  dpkg -s daxpin >/dev/null 2>&1 && fail "daxpin is already installed: remove it first (dpkg -r daxpin)"
  snapshot >"$tmp/before"
  installed=yes
  dpkg -i "$deb" >/dev/null
  root=""
  bin=/usr/bin/daxpin
  [ "$(command -v daxpin)" = /usr/bin/daxpin ] || fail "daxpin is not on PATH after dpkg -i"
  [ "$(man -w daxpin)" = /usr/share/man/man1/daxpin.1.gz ] || fail "man daxpin does not find the page"
  echo "test-package: installed with dpkg -i"
else
  root="$tmp/root"
  dpkg-deb -x "$deb" "$root"
  bin="$root/usr/bin/daxpin"
  echo "test-package: extracted with dpkg-deb -x (CI=true or DAXPIN_TEST_INSTALL=1 installs it for real)"
fi
doc="$root/usr/share/doc/daxpin"
for f in copyright changelog.gz README.md.gz docs/design.md.gz docs/report.schema.json.gz docs/bench.schema.json.gz; do
  [ -s "$doc/$f" ] || fail "no $doc/$f"
done
if readelf -S "$bin" | grep -q '\.symtab'; then fail "$bin is not stripped"; fi

# --version names the commit.
version=$(dpkg-deb --field "$deb" Version)
line=$("$bin" --version)
if command -v git >/dev/null && [ -e .git ]; then
  want="$version (commit $(git rev-parse HEAD))"
else
  want="$version (unknown commit)"
fi
[ "$line" = "$want" ] || fail "--version says '$line', not '$want'"

# The man page: renders without warnings and covers the subcommands and the lab's options.
page="$root/usr/share/man/man1/daxpin.1.gz"
MANWIDTH=100 man --warnings -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err" || fail "man -l $page failed: $(cat "$tmp/man.err")"
[ ! -s "$tmp/man.err" ] || fail "man -l $page warns: $(head -3 "$tmp/man.err")"
for word in inventory probe check explain lab report --cache --kernel --hostname --version; do
  grep -qe "$word" "$tmp/man.txt" || fail "the man page does not mention $word"
done

# Completions: bash offers the subcommands for `daxpin <TAB>` and the formats for `daxpin report <TAB>`.
comp="$root/usr/share/bash-completion/completions/daxpin"
complete_words() {
  PATH="$(dirname "$bin"):$PATH" bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    fn=$(complete -p daxpin | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    "$fn" daxpin "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@"
}
words=$(complete_words daxpin "")
for sub in inventory probe check explain lab report help; do
  grep -qx -- "$sub" <<<"$words" || fail "bash completion of 'daxpin <TAB>' lacks $sub (got: $(tr '\n' ' ' <<<"$words"))"
done
words=$(complete_words daxpin report "")
for sub in matrix html diff junit ktap; do
  grep -qx -- "$sub" <<<"$words" || fail "bash completion of 'daxpin report <TAB>' lacks $sub"
done
words=$(complete_words daxpin lab --pm)
grep -qx -- --pmem <<<"$words" || fail "bash completion of 'daxpin lab --pm<TAB>' is not --pmem"
zshc="$root/usr/share/zsh/vendor-completions/_daxpin"
fishc="$root/usr/share/fish/vendor_completions.d/daxpin.fish"
head -1 "$zshc" | grep -q '^#compdef daxpin' || fail "$zshc is not a zsh completion for daxpin"
grep -q "^complete -c 'daxpin' .*-fa 'lab'" "$fishc" || fail "$fishc is not a fish completion for daxpin"
if command -v zsh >/dev/null; then zsh -n "$zshc" || fail "zsh cannot parse $zshc"; fi
if command -v fish >/dev/null; then fish -n "$fishc" || fail "fish cannot parse $fishc"; fi
echo "test-package: man page, completions, --version ($line): ok ($(elapsed))"

# The lab from /, far from any source tree: its guest init is inside the binary.
(cd / && "$bin" lab --kernel debian-6.1 --pmem memmap --check --out "$tmp/lab") >"$tmp/lab.log" 2>&1 || {
  tail -30 "$tmp/lab.log" >&2
  fail "cd / && daxpin lab --kernel debian-6.1 --pmem memmap --check failed"
}
grep -q '^lab check: passed' "$tmp/lab.log" || fail "the lab did not say 'lab check: passed'"
echo "test-package: cd / && daxpin lab --kernel debian-6.1 --pmem memmap --check: passed ($(elapsed))"

if [ -n "$installed" ]; then
  files=$(dpkg -L daxpin | while read -r f; do [ -d "$f" ] || echo "$f"; done)
  dpkg -r daxpin >/dev/null
  installed=""
  dpkg -s daxpin >/dev/null 2>&1 && fail "dpkg -s still knows daxpin after dpkg -r"
  for f in $files; do [ ! -e "$f" ] || fail "dpkg -r left $f"; done
  snapshot >"$tmp/after"
  diff -u "$tmp/before" "$tmp/after" >&2 || fail "dpkg -r left files named daxpin behind (besides the cache)"
  echo "test-package: dpkg -r left nothing behind but the cache"
fi
echo "test-package: passed in $(elapsed)"
