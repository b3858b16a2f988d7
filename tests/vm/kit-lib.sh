# shellcheck shell=bash
# Functions the image kits share (tests/vm/boot-kit.sh, iscsi-kit.sh):
# sourced, never run. Sourcing only defines functions and the variables
# below; a kit calls kit_init first.
#
#   . "$(dirname "$0")/kit-lib.sh"
#   kit_init boot-kit.sh          # repo, kitdir, kit_name
#   kit_binary                    # bin
#   hash=$( { sha256sum "$bin" "$0" ...; dpkg-query -W ...; } | kit_hash )
#   kit_up_to_date "$out/boot.env" "$hash" && exit 0
#   kit_begin "$out" mpath-boot-kit   # out emptied; work, removed on exit
#   kit_stage_install "$work/stage"
#   kit_initramfs_tools_conf "$work/initramfs-tools"

# This file, for the kits' hashes: a change here rebuilds their outputs.
kit_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kit-lib.sh

# Debian's multipath-tools, multipath-tools-boot, kpartx and the libraries
# they need, for the -mpt images (downloaded to $kitdir/boot-debs, never
# installed on the host).
# shellcheck disable=SC2034 # used by the kits
kit_mpt_pkgs=(multipath-tools multipath-tools-boot kpartx liburcu8 libaio1 libedit2 libjson-c5)

# kit_init NAME: repo (the checkout), kitdir ($MPATH_VM_KIT, default
# target/vm-kit) and kit_name (NAME, the prefix of messages).
kit_init() {
    kit_name=$1
    repo=$(cd "$(dirname "$kit_lib")/../.." && pwd)
    # shellcheck disable=SC2034 # used by the kits
    kitdir=${MPATH_VM_KIT:-$repo/target/vm-kit}
    export DEBIAN_FRONTEND=noninteractive
}

# kit_fail MESSAGE...: says it, prefixed by the kit's name, and exits 1.
kit_fail() {
    echo "$kit_name: $*" >&2
    exit 1
}

# kit_binary: bin, the mpath-boot binary: $MPATH_BOOT_BINARY if set (the
# tests pass theirs), else a fresh `cargo build --release`.
kit_binary() {
    if [ -n "${MPATH_BOOT_BINARY:-}" ]; then
        bin=$MPATH_BOOT_BINARY
    else
        (cd "$repo" && cargo build --release -q)
        bin=$repo/target/x86_64-unknown-linux-musl/release/mpath-boot
    fi
    [ -x "$bin" ] || kit_fail "$bin is not an executable"
}

# ... | kit_hash: 16 hex digits over the lines read (`sha256sum` or
# `dpkg-query -W` output: the first word of each counts), this library and
# every file of initramfs-hooks/.
kit_hash() {
    { cat
      sha256sum "$kit_lib"
      find "$repo/initramfs-hooks" -type f -print0 | sort -z | xargs -0 sha256sum; } |
        sed 's/ .*//' | sha256sum | cut -c1-16
}

# kit_up_to_date ENV HASH: ENV exists and holds HASH='HASH'.
kit_up_to_date() {
    [ -f "$1" ] && grep -qx "HASH='$2'" "$1"
}

# kit_begin OUT PREFIX: OUT emptied; work, a new directory
# /var/tmp/PREFIX.XXXXXX, removed when the script exits.
kit_begin() {
    rm -rf "$1"
    mkdir -p "$1"
    work=$(mktemp -d "/var/tmp/$2.XXXXXX")
    trap 'rm -rf "$work"' EXIT
}

# kit_download_debs DIR PKG...: each PKG's .deb in DIR, downloaded (as
# root: _apt may not write into target/) when missing, after an apt-get
# update if the first try fails.
kit_download_debs() {
    local dir=$1 p
    shift
    mkdir -p "$dir"
    for p in "$@"; do
        compgen -G "$dir/${p}_*.deb" >/dev/null && continue
        echo "$kit_name: downloading $p" >&2
        (cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "$p" 2>/dev/null) ||
            { apt-get update -qq; (cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "$p"); }
    done
}

# kit_unpack_usr ROOT DIRS DEB...: the packages unpacked into ROOT, and
# ROOT's top-level directories named in DIRS (e.g. "sbin bin lib") moved
# under ROOT/usr, as on a merged-/usr host (/sbin/x is /usr/sbin/x).
kit_unpack_usr() {
    local root=$1 dirs=$2 d
    shift 2
    mkdir -p "$root/usr"
    for d in "$@"; do dpkg-deb -x "$d" "$root"; done
    for d in $dirs; do
        [ -d "$root/$d" ] || continue
        mkdir -p "$root/usr/$d"
        cp -a "$root/$d/." "$root/usr/$d/"
        rm -rf "${root:?}/$d"
    done
}

# kit_first_deb DIR PKG: the path of PKG's .deb in DIR.
kit_first_deb() {
    compgen -G "$1/${2}_*.deb" | head -n1
}

# kit_stage_install STAGE: mpath-boot ($bin) installed into STAGE as a
# package would (initramfs-hooks/install with DESTDIR), and a mount point
# STAGE/usr/lib/modules/$KVER for the kit's modules, which appear as
# /lib/modules/$KVER once STAGE/usr is overlaid on /usr (a bind mount: the
# tools would copy a symlink's target path into the image).
kit_stage_install() {
    DESTDIR=$1 "$repo/initramfs-hooks/install" "$bin" >/dev/null
    mkdir -p "$1/usr/lib/modules/$KVER"
}

# kit_initramfs_tools_conf DIR: initramfs-tools settings of the kit's own in
# DIR, not the host's /etc/initramfs-tools (which a developer may have
# tuned): Debian's defaults, zstd, no resume device.
kit_initramfs_tools_conf() {
    mkdir -p "$1/conf.d" "$1/hooks" "$1/scripts"
    printf 'MODULES=most\nBUSYBOX=auto\nKEYMAP=n\nCOMPRESS=zstd\nDEVICE=\nNFSROOT=auto\nRUNSIZE=10%%\nFSTYPE=auto\nRESUME=none\n' \
        > "$1/initramfs.conf"
    touch "$1/modules"
}
