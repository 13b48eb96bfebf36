#!/usr/bin/env bash
# Installs every Debian package daxpin needs to build, test and run its kernel lab.
# Idempotent: packages already installed are left as they are. Needs root (or sudo).
set -euo pipefail

packages=(
  # build: libndctl / libdaxctl through pkg-config, zlib for /proc/config.gz
  pkgconf libndctl-dev libdaxctl-dev zlib1g-dev uuid-dev
  # RDMA: libibverbs' headers (pkg-config; daxpin loads libibverbs.so.1 at run time), the soft-RoCE
  # provider and the `rdma` tool, which the lab's initramfs carries
  libibverbs-dev ibverbs-providers rdma-core iproute2
  # the kernel lab: QEMU, and what goes into the guest's initramfs
  # (ndctl brings the cxl tool and libcxl1 for the CXL pmem mode)
  qemu-system-x86 busybox-static kmod ndctl libcxl1 daxctl e2fsprogs xfsprogs
  cpio zstd xz-utils gzip
  # tests that drop privileges (setpriv) and tests of the lab's apt handling
  util-linux apt dpkg ca-certificates binutils
  # `daxpin lab --kernel source:<version>` builds a kernel from linux-source
  make gcc bc flex bison libelf-dev libssl-dev dwarves
  # tests of the report formats: the HTML page in headless Chromium (and docs/matrix.png, with
  # DejaVu for its glyphs), JUnit XML against an XSD, reports against docs/report.schema.json
  chromium fonts-dejavu-core libxml2-utils python3-jsonschema
  # bench/pinbench.c, daxpin bench's C twin: scripts/bench-pin.sh builds it with cc, and
  # `daxpin lab --bench` links it -static (libc.a) for the guests
  libc6-dev python3
  # the Debian package (scripts/package.sh: dpkg-shlibdeps) and its test (lintian, man)
  dpkg-dev lintian man-db
  # the fleet recipe's test (contrib/ansible; its apt module installs the package)
  ansible python3-apt
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
else
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  echo "setup: swift is at /opt/swift/usr/bin; add it to PATH"
fi
