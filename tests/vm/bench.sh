#!/usr/bin/env bash
# Benchmark in the test VM: mpath-boot against multipath-tools 0.9.4 on 256
# scsi_debug paths (wall time and peak RSS, measured by busybox time -v).
set -euo pipefail
cd "$(dirname "$0")/../.."
tests/vm/kit.sh
tests/vm/reference-kit.sh
cargo test -q --release --test vm_bench -- --ignored --nocapture
