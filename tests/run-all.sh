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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 2; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
