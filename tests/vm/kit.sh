#!/usr/bin/env bash
# Prepare everything the VM tests (tests/common) need; idempotent and quick
# when nothing is missing.
#  - host packages: the static build's (musl, clang and libdevmapper headers
#    for devicemapper-sys' bindgen) and the VM's: qemu, static busybox, kmod
#    (depmod/modprobe), dmsetup; and the Rust musl target
#  - the current Debian kernel package, unpacked into target/vm-kit/, depmod'ed
#  - target/vm-kit/kit.env, read by the Rust harness (KEY='value' lines)
#
# MPATH_VM_KERNEL_PKG overrides the kernel: a package name such as
# linux-image-6.1.0-56-amd64, or the path of a local linux-image .deb.
# MPATH_VM_KIT overrides the kit directory (the harness reads it too).
# To move to a newer Debian kernel, remove target/vm-kit/ and run again.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
kit="${MPATH_VM_KIT:-$repo/target/vm-kit}"
envfile="$kit/kit.env"
export DEBIAN_FRONTEND=noninteractive

sudo_=""
[ "$(id -u)" = 0 ] || sudo_="sudo"

updated=""
apt_update() {
    [ -n "$updated" ] && return 0
    echo "kit.sh: apt-get update" >&2
    $sudo_ apt-get update -qq
    updated=1
}

# 1. Host packages, installed only when missing.
missing=()
for p in musl-tools libclang-dev libdevmapper-dev clang pkg-config fdisk \
         qemu-system-x86 busybox-static cpio kmod dmsetup man-db groff-base; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt_update
    echo "kit.sh: installing ${missing[*]}" >&2
    $sudo_ apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    echo "kit.sh: rustup target add x86_64-unknown-linux-musl" >&2
    rustup target add x86_64-unknown-linux-musl
fi

# 2. Kernel. Fast path: the kit exists and matches the requested package.
want="${MPATH_VM_KERNEL_PKG:-}"
if [ -f "$envfile" ]; then
    have=$(sed -n "s/^KERNEL_PKG='\(.*\)'$/\1/p" "$envfile")
    vmlinuz=$(sed -n "s/^VMLINUZ='\(.*\)'$/\1/p" "$envfile")
    if [ -f "$vmlinuz" ] && { [ -z "$want" ] || [ "$want" = "$have" ]; }; then
        exit 0
    fi
fi

mkdir -p "$kit"
dl="$kit/download"
rm -rf "$dl" && mkdir -p "$dl"
if [ -n "$want" ] && [ -f "$want" ]; then
    deb=$(cd "$(dirname "$want")" && pwd)/$(basename "$want")
else
    pkg="$want"
    if [ -z "$pkg" ]; then
        # linux-image-amd64 is a meta package; its Depends names the real one.
        resolve() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1; }
        pkg=$(resolve || true)
        [ -n "$pkg" ] || { apt_update; pkg=$(resolve || true); }
        [ -n "$pkg" ] || { echo "kit.sh: cannot resolve linux-image-amd64" >&2; exit 1; }
    fi
    echo "kit.sh: downloading $pkg" >&2
    # A stale package list may name a version the mirror no longer has.
    (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" 2>/dev/null) ||
        { apt_update; (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg"); }
    deb=$(ls "$dl"/*.deb)
fi

echo "kit.sh: unpacking $(basename "$deb")" >&2
root="$kit/kernel"
rm -rf "$root" "$root.tmp"
dpkg-deb -x "$deb" "$root.tmp"
kver=$(ls "$root.tmp/lib/modules" | head -n1)
[ -f "$root.tmp/boot/vmlinuz-$kver" ] || { echo "kit.sh: no vmlinuz-$kver in $deb" >&2; exit 1; }
depmod -b "$root.tmp" "$kver"
mv "$root.tmp" "$root"
rm -rf "$dl"

pkgname="${want:-$pkg}"
cat >"$envfile.tmp" <<EOF
KERNEL_PKG='$pkgname'
KVER='$kver'
VMLINUZ='$root/boot/vmlinuz-$kver'
KROOT='$root'
MODDIR='$root/lib/modules/$kver'
EOF
mv "$envfile.tmp" "$envfile"
echo "kit.sh: ready: kernel $kver in $root" >&2
