#!/usr/bin/env bash
# Shows mpath-boot doing its main job with its embedded defaults: a VM with
# scsi_debug (2 hosts x 4 LUs = 8 paths) runs `mpath-boot -v2`, then
# `mpath-boot -l` and `dmsetup table`, and prints what they said.
# The VM is built and run by the Rust harness (tests/common) via tests/vm_demo.rs.
set -euo pipefail
cd "$(dirname "$0")/../.."
tests/vm/kit.sh
echo "==> cargo build --release" >&2
cargo build --release
echo "==> booting the demo VM (about 10 s)" >&2
cargo test -q --release --test vm_demo -- --nocapture
