#!/usr/bin/env bash
# The README's test command: unit and end-to-end tests (Swift Testing) against the real kernel
# of this machine, the fake backend and fixture data.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
swift test --disable-xctest 2>&1 | tee /tmp/daxpin-swift-test.log | grep -vE '^\[[0-9]+/[0-9]+\]' 
exit "${PIPESTATUS[0]}"
