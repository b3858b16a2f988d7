#!/usr/bin/env bash
# Benchmark in the test VM (issue 11; never run in CI): mpath-boot against
# multipath-tools 0.9.4 on 1024 scsi_debug paths (256 LUs) and on 256 paths
# (64 LUs), in one guest, plus two hung-path scenarios. Wall time and peak RSS
# come from GNU time run in the guest (copied from the host: Debian's `time`
# package, installed here if missing). Prints a markdown table with the
# targets and the ratios to the reference. About 20-40 minutes under TCG.
# Guest log: target/vm-runs/bench/guest.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
tests/vm/kit.sh
tests/vm/reference-kit.sh

if ! dpkg-query -W -f='${Status}' time 2>/dev/null | grep -q 'ok installed'; then
    sudo_=""
    [ "$(id -u)" = 0 ] || sudo_="sudo"
    echo "bench.sh: installing GNU time (Debian package time)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo_ apt-get install -y -qq time >/dev/null 2>&1 ||
        { $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq time >/dev/null; }
fi

if git rev-parse --git-dir >/dev/null 2>&1; then
    echo "bench.sh: commit $(git log -1 --oneline)"
    changed=$(git status --porcelain -- src Cargo.toml Cargo.lock .cargo | wc -l)
    [ "$changed" = 0 ] || echo "bench.sh: plus $changed uncommitted change(s) under src/, Cargo.*, .cargo/"
fi
# Only the benchmark: the file's other ignored tests (profile,
# profile_tables) are run by hand, and would boot guests beside it.
cargo test -q --release --test vm_bench -- --ignored --nocapture --exact bench_mpath_boot_against_multipath_tools
