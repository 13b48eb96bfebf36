#!/usr/bin/env bash
# Re-creates docs/matrix.png: the `daxpin report html` page of two SIMULATED reports, the fake
# backend's linux-4.14 (UNSAFE: before the 2018 fix) and linux-6.1 (lab-verified), in headless
# Chromium at 1400x900. Simulated reports never mix with real ones, so the picture is of fake
# reports only, and the page says so in its banner.
#   scripts/matrix-screenshot.sh [DAXPIN]     (default: .build/debug/daxpin, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
daxpin="${1:-.build/debug/daxpin}"
[ -x "$daxpin" ] || swift build --product daxpin
chromium="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$chromium" ] || { echo "matrix-screenshot: chromium is not installed (scripts/setup.sh installs it)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for profile in linux-4.14 linux-6.1; do
  "$daxpin" probe --backend fake --profile "$profile" --json > "$work/$profile.json" || true
done
"$daxpin" report html -o "$work/matrix.html" "$work/linux-4.14.json" "$work/linux-6.1.json"
"$chromium" --headless --disable-gpu --no-sandbox --no-first-run --disable-extensions --hide-scrollbars \
  --user-data-dir="$work/profile" --virtual-time-budget=5000 \
  --window-size=1400,900 --screenshot="$PWD/docs/matrix.png" "file://$work/matrix.html" 2>/dev/null
echo "matrix-screenshot: docs/matrix.png from fake reports linux-4.14 and linux-6.1"
