#!/usr/bin/env bash
# Builds dist/daxpin_<version>_amd64.deb with dpkg-deb:
#   /usr/bin/daxpin                       the release binary (static Swift stdlib), stripped
#   /usr/share/man/man1/daxpin.1.gz       generated from the command definitions
#                                         (swift-argument-parser's generate-manual)
#   bash, zsh and fish completions        daxpin --generate-completion-script
#   /usr/share/doc/daxpin/                README.md, docs/, copyright, changelog
#   Depends:                              dpkg-shlibdeps on the binary's shared libraries
#   Recommends:                           what `daxpin lab` runs on the host
# The release build is reused when it is current (`swift build` then only plans: a few seconds).
# Nothing outside dist/ and .build/ is written; the staging tree is a temporary directory.
#
#   scripts/package.sh            prints the .deb's path on its last line
#   DAXPIN_MAINTAINER='Name <mail>' sets the Maintainer field (default: the last commit's author)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
export LC_ALL=C.UTF-8

for tool in swift dpkg-deb dpkg-shlibdeps strip gzip; do
  command -v "$tool" >/dev/null || { echo "package: $tool is missing: run scripts/setup.sh" >&2; exit 2; }
done

# The same command and flags as the README's and scripts/test.sh's release build, so a current
# build is reused as it is.
echo "package: release build" >&2
log=$(mktemp "${TMPDIR:-/tmp}/daxpin-package-build.XXXXXX")
if ! swift build -c release --static-swift-stdlib >"$log" 2>&1; then
  tail -30 "$log" >&2
  rm -f "$log"
  echo "package: the release build failed" >&2
  exit 2
fi
tail -1 "$log" >&2
rm -f "$log"
bin=.build/release/daxpin

# `0.1.0 (commit 0123…)` or `0.1.0 (unknown commit)`.
version_line=$("$bin" --version)
version=${version_line%% *}
case "$version" in
  [0-9]*.[0-9]*) ;;
  *) echo "package: cannot read the version from '$bin --version': $version_line" >&2; exit 2 ;;
esac
commit=$(sed -n 's/.*(commit \([0-9a-f]*\)).*/\1/p' <<<"$version_line")
arch=$(dpkg --print-architecture)
deb="dist/daxpin_${version}_${arch}.deb"

# Dates from the commit (or SOURCE_DATE_EPOCH), so the same commit packs the same way.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
maintainer=${DAXPIN_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$maintainer" ] || { echo "package: no .git to name a maintainer: set DAXPIN_MAINTAINER='Name <mail>'" >&2; exit 2; }

stage=$(mktemp -d "${TMPDIR:-/tmp}/daxpin-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
umask 022
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" "$root/usr/share/doc/daxpin/docs" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d"

# The binary, stripped of its symbols (lintian: unstripped-binary-or-object).
install -m 0755 "$bin" "$root/usr/bin/daxpin"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/daxpin"

# The man page, from the command definitions: swift-argument-parser's generate-manual, the tool
# its `swift package plugin generate-manual` runs. It is built and run here directly because the
# plugin first builds the whole package in release mode without --static-swift-stdlib (`swift
# package` takes no such flag), which would relink the binary above and defeat its reuse.
echo "package: man page" >&2
swift build -c release --static-swift-stdlib --product generate-manual 2>&1 | tail -1 >&2
date_arg=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
mkdir -p "$stage/man"
.build/release/generate-manual "$bin" --date "$date_arg" --output-directory "$stage/man" \
  --authors "$maintainer" >&2
page="$stage/man/daxpin.1"
[ -s "$page" ] || { echo "package: generate-manual wrote no $page" >&2; exit 2; }
# An empty line in mdoc is a paragraph break groff warns about: say it as one (.Pp).
sed 's/^$/.Pp/' "$page" | gzip -9n >"$root/usr/share/man/man1/daxpin.1.gz"

# Completions, from the binary itself.
# (bash-completion sources its files: no #! line.)
"$bin" --generate-completion-script bash | sed '1{/^#!/d}' >"$root/usr/share/bash-completion/completions/daxpin"
"$bin" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_daxpin"
"$bin" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/daxpin.fish"

# Documentation: README and docs/ (text over 4 kB compressed, as policy 12.3 asks), the
# copyright file and the changelog of a native package.
doc="$root/usr/share/doc/daxpin"
install -m 0644 README.md "$doc/README.md"
for f in docs/*; do install -m 0644 "$f" "$doc/docs/${f#docs/}"; done
for f in "$doc/README.md" "$doc"/docs/*; do
  case "$f" in *.png) continue ;; esac
  if [ "$(stat -c %s "$f")" -gt 4096 ]; then gzip -9n "$f"; fi
done
cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: daxpin
Upstream-Contact: $maintainer

Files: *
Copyright: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) the daxpin authors
License: unspecified
 The daxpin source tree names no licence. This package was built from it
 unchanged${commit:+ (commit $commit)}. The binary statically links the Swift
 standard library and swift-argument-parser and swift-system (Apache License
 2.0 with Runtime Library Exception); on Debian systems the Apache License 2.0
 is in /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
{
  echo "daxpin ($version) unstable; urgency=medium"
  echo
  if [ -n "$commit" ]; then echo "  * Built from commit $commit."; else echo "  * Built from a tree without .git."; fi
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"

# Depends: the shared libraries the binary links, as dpkg-shlibdeps names their packages. It
# wants a debian/control to read: a minimal one in the staging directory.
mkdir -p "$stage/src/debian"
printf 'Source: daxpin\n\nPackage: daxpin\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O -e"$root/usr/bin/daxpin" 2>"$stage/shlibdeps.err" | sed -n 's/^shlibs:Depends=//p') || {
  cat "$stage/shlibdeps.err" >&2
  echo "package: dpkg-shlibdeps failed on the binary" >&2
  exit 2
}
[ -n "$depends" ] || { echo "package: dpkg-shlibdeps named no dependency" >&2; cat "$stage/shlibdeps.err" >&2; exit 2; }

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: daxpin
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: qemu-system-x86, busybox-static, ndctl, daxctl, e2fsprogs, xfsprogs, kmod
Section: admin
Priority: optional
Description: probe which memory the kernel pins long-term for DMA
 daxpin asks a Linux kernel which memory can be pinned long-term for DMA,
 through VFIO type1, iommufd and io_uring fixed buffers, and whether it refuses
 filesystem-DAX (it must) and allows device-DAX (it should). It judges each
 answer against a rule table and writes a report (text, JSON, JUnit, KTAP),
 merges reports into a matrix or a self-contained HTML page, names the cause
 of a failed pin from a log line, and predicts whether a VM's memory will pin.
 .
 Its kernel lab (daxpin lab) boots Debian kernels under QEMU with emulated
 pmem and a virtual IOMMU and probes inside each guest.
CONTROL
(cd "$root" && find usr -type f -printf '%P\n' | sort | sed 's|^|usr/|' | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +
find "$root" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p dist
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "package: $(du -h "$deb" | cut -f1) $deb (Depends: $depends)" >&2
echo "$deb"
