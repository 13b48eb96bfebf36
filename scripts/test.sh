#!/usr/bin/env bash
# The README's test command:
#  1. unit and end-to-end tests (Swift Testing) against this machine's real kernel, fixture data
#     and stand-ins for QEMU;
#  2. the kernel lab on debian-6.1 with both pmem modes (memmap and NVDIMM), which fails unless
#     vfio-type1v2 and io_uring refuse fsdax-{ext4,xfs}-shared.rw with EOPNOTSUPP, vfio-type1v2
#     pins devdax.rw, and every cell has a verdict;
#  3. the Debian package (scripts/test-package.sh: lintian, man page, completions, --version,
#     `cd / && daxpin lab` from the package; installed and removed for real when CI=true or
#     DAXPIN_TEST_INSTALL=1, else checked as a dpkg-deb -x extraction);
#  4. the Ansible fleet recipe against this machine as three inventory hosts
#     (scripts/test-fleet.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

echo "== swift test"
# Build progress and the per-test lines of passing tests are dropped; failures, skips and the
# runner's closing line (`✔ Test run with N tests in M suites passed`) stay.
swift test --disable-xctest 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] ' \
  | awk '!/^◇/ && !(/^✔ (Test|Suite) / && !/^✔ Test run with /)'
test "${PIPESTATUS[0]}" -eq 0

echo "== release build (static Swift stdlib: the binary that rides in the lab guest)"
swift build -c release --static-swift-stdlib 2>&1 | tail -1

echo "== kernel lab: debian-6.1, memmap and nvdimm"
.build/release/daxpin lab --kernel debian-6.1 --pmem both --out "${LAB_OUT:-lab-out}" --check

echo "== Debian package"
scripts/test-package.sh

echo "== Ansible fleet recipe"
scripts/test-fleet.sh
