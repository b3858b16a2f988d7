#!/usr/bin/env bash
# The small build of mpath-boot (issue 11): the same sources and Cargo
# profile as `cargo build --release`, with the standard library rebuilt for
# size and without its unwinding and panic-message machinery.
#
#   tests/vm/small-build.sh           build target/small/mpath-boot
#   tests/vm/small-build.sh --test    also run the CLI-level tests (tests/cli.rs,
#                                     tests/is_path.rs, tests/manpage.rs) and two VM
#                                     tests (tests/vm_smoke.rs, tests/vm_assemble.rs:
#                                     a real kernel, $MPATH_VM_KIT) against it
#
# How (stable toolchain, unstable flags through RUSTC_BOOTSTRAP=1; needs the
# rust-src component, added here when missing):
# - -Zbuild-std=std,panic_abort with std's `optimize_for_size` feature: std
#   is compiled with the release profile (opt-level z, LTO with the program)
#   and without the `backtrace` feature, so no DWARF symbolizer (gimli,
#   addr2line, miniz_oxide, rustc-demangle) is linked.
# - -Cpanic=immediate-abort: a panic is a bare abort, with no message and no
#   formatting of it (std's former panic_immediate_abort feature). mpath-boot
#   never panics on input data; a bug that would panic still stops the run
#   (SIGABRT, exit status 134) instead of printing its message.
# - -Cforce-unwind-tables=no: no .eh_frame for code that never unwinds.
# - LLVM's machine outliner: repeated instruction sequences become calls.
# The flags in .cargo/config.toml (static musl, non-PIE, no segment padding)
# still apply: cargo appends these to them.
#
# The normal build and `cargo test` (which needs unwinding) are untouched;
# this build has its own target directory, target/small (SMALL_TARGET_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=${SMALL_TARGET_DIR:-target/small}
triple=x86_64-unknown-linux-musl

if ! rustup component list --installed 2>/dev/null | grep -qx 'rust-src'; then
    echo "==> rustup component add rust-src"
    rustup component add rust-src
fi

flags='["-Zunstable-options","-Cpanic=immediate-abort","-Cforce-unwind-tables=no","-Cllvm-args=-enable-machine-outliner=always"]'
small=(-Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
    --config "target.$triple.rustflags=$flags")

RUSTC_BOOTSTRAP=1 cargo build --release --target "$triple" --target-dir "$dir" "${small[@]}"
cp "$dir/$triple/release/mpath-boot" "$dir/mpath-boot"
size=$(stat -c %s "$dir/mpath-boot")
echo "$dir/mpath-boot: $size bytes ($((size / 1024)) KiB)"

if [ "${1:-}" = --test ]; then
    # The tests name the binary at compile time (CARGO_BIN_EXE_mpath-boot):
    # build them normally in a directory of their own, put the small binary
    # where they look, and run the test executables themselves (cargo would
    # relink the normal binary first).
    tests="$dir/tests"
    mapfile -t exes < <(cargo test --release --target "$triple" --target-dir "$tests" --no-run \
        --test cli --test is_path --test manpage --test vm_smoke --test vm_assemble \
        --message-format=json 2>/dev/null |
        grep -o '"executable":"[^"]*"' | sed 's/^"executable":"//; s/"$//' | grep '/deps/')
    [ "${#exes[@]}" -eq 5 ] || { echo "expected 5 test executables, got ${#exes[@]}" >&2; exit 1; }
    cp "$dir/mpath-boot" "$tests/$triple/release/mpath-boot"
    failed=0
    for exe in "${exes[@]}"; do
        echo "==> $(basename "$exe") against the small binary"
        "$exe" --quiet || failed=1
    done
    exit "$failed"
fi
