#!/usr/bin/env bash
# The full test suite: unit tests and the VM integration tests (tests/vm_*.rs,
# which boot a real Debian kernel under qemu). Extra arguments go to
# `cargo test`, e.g. `tests/run-all.sh --test vm_smoke`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> tests/vm/kit.sh (qemu, busybox, Debian kernel into target/vm-kit)"
tests/vm/kit.sh
echo "==> tests/vm/reference-kit.sh (Debian multipath-tools 0.9.4 overlay into target/vm-kit/reference)"
tests/vm/reference-kit.sh
echo "==> tests/vm/boot-kit.sh (mkinitramfs and dracut images with initramfs-hooks/, root disk, into target/vm-kit/boot)"
tests/vm/boot-kit.sh
echo "==> cargo test --release $*"
cargo test --release "$@"
echo "==> all tests passed"
