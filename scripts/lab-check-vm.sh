#!/usr/bin/env bash
# Holds `daxpin check qemu --probe` to real kernels: boots Debian 5.10, 6.1, 6.12 and the newest
# (or the kernels given as arguments) in the lab with both pmem modes and runs `daxpin lab
# --check-vm` there: QEMU command lines with guest RAM on ext4-DAX (share=on, share=off), xfs-DAX,
# device-DAX (align=2M, no align), a page-cache file (share=on, share=off) and memfd, each with a
# vfio-pci device. Every case's prediction must equal what --probe measured in the guest and the
# lab probe's own cell (or misuse answer) of the same run; exit 1 on any difference.
# Writes OUT/check-vm.md (OUT: $LAB_OUT, default lab-check-vm).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(debian-5.10 debian-6.1 debian-6.12 debian-latest)
[ -x .build/release/daxpin ] || swift build -c release --static-swift-stdlib
args=()
for k in "${kernels[@]}"; do args+=(--kernel "$k"); done
exec .build/release/daxpin lab "${args[@]}" --pmem "${PMEM:-both}" --check-vm --out "${LAB_OUT:-lab-check-vm}"
