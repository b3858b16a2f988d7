#!/usr/bin/env bash
# Host-only kit for tests/vm_hostonly.rs: what a guest needs to run the real
# `dracut --hostonly` on a system whose root is on a multipath map.
#
# Outputs, in $MPATH_VM_KIT/hostonly/ (default target/vm-kit/hostonly/):
#   builder.img      dracut (shell init, no systemd) --add mpath-boot, with
#                    9p, 9pnet_virtio and overlay (loaded by
#                    rd.driver.pre=9pnet_virtio,9p,overlay): it assembles the
#                    root's map and switches to the disk's root
#   builder-disk.img the boot kit's disk.img with /sbin/hostonly-build (the
#                    builder guest's init=, below) added to its root
#   stage/usr        initramfs-hooks/install's DESTDIR (mpath-boot and its
#                    dracut module), overlaid on the host's /usr in the guest
#   stage/etc        the few host /etc files the tools need (passwd, group,
#                    ld.so.cache, dracut.conf...; no multipath configuration)
#   builder-mpt.img  mkinitramfs (initramfs-tools) on a host that also has
#                    Debian's multipath-tools, multipath-tools-boot and kpartx
#                    (unpacked from $MPATH_VM_KIT/boot-debs, overlaid on /usr)
#                    and the multipath files below, with 9p, 9pnet_virtio and
#                    overlay in its modules file (loaded at boot): booted
#                    with mpath_boot=off, multipath-tools-boot's
#                    local-top/multipath (multipath, kpartx) makes the maps
#   stage-mpt/       stage/ plus those packages' files on usr/, and in etc/
#                    the multipath files such a host has: multipath.conf
#                    (user_friendly_names no), multipath/wwids listing the
#                    disk, multipath/bindings (no binding)
#   *.log, *.list    build logs and listings of builder.img and builder-mpt.img
#   hostonly.env     KEY='value' lines read by the test
# The root disk is the boot kit's ($MPATH_VM_KIT/boot/disk.img, from
# tests/vm/boot-kit.sh, run first only if it or the multipath-tools debs it
# downloads are missing).
#
# The guest sees the host's /usr, stage/ and the kit's kernel modules through
# read-only virtio-9p shares and writes the image to a read-write one
# (tests/vm_hostonly.rs). builder.img is built in a private mount namespace,
# as boot-kit.sh does. Needs root (unshare, mount).
#
# $MPATH_BOOT_BINARY: the mpath-boot binary (the test passes its own), else a
# fresh `cargo build --release`. Rebuilt when anything that goes in changes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
kitdir=${MPATH_VM_KIT:-$repo/target/vm-kit}
out=$kitdir/hostonly

"$repo/tests/vm/kit.sh"
mptdebs=$kitdir/boot-debs
mptpkgs=(multipath-tools multipath-tools-boot kpartx liburcu8 libaio1 libedit2 libjson-c5)
havedebs() {
    for p in "${mptpkgs[@]}"; do compgen -G "$mptdebs/${p}_*.deb" >/dev/null || return 1; done
}
{ [ -f "$kitdir/boot/disk.img" ] && havedebs; } || "$repo/tests/vm/boot-kit.sh"
havedebs || { echo "hostonly-kit.sh: multipath-tools debs missing in $mptdebs" >&2; exit 1; }
# shellcheck disable=SC1091
. "$kitdir/kit.env"
for t in dracut debugfs lsinitrd mkinitramfs lsinitramfs; do
    command -v "$t" >/dev/null || { echo "hostonly-kit.sh: $t missing (run tests/vm/boot-kit.sh)" >&2; exit 1; }
done

if [ -n "${MPATH_BOOT_BINARY:-}" ]; then
    bin=$MPATH_BOOT_BINARY
else
    (cd "$repo" && cargo build --release -q)
    bin=$repo/target/x86_64-unknown-linux-musl/release/mpath-boot
fi
[ -x "$bin" ] || { echo "hostonly-kit.sh: $bin is not an executable" >&2; exit 1; }

hash=$( { sha256sum "$bin" "$0" "$VMLINUZ" "$kitdir/boot/disk.img"
          find "$repo/initramfs-hooks" -type f -print0 | sort -z | xargs -0 sha256sum
          dpkg-query -W dracut-core udev systemd lvm2 initramfs-tools; ls "$mptdebs"; } |
        sed 's/ .*//' | sha256sum | cut -c1-16)
if [ -f "$out/hostonly.env" ] && grep -qx "HASH='$hash'" "$out/hostonly.env"; then
    exit 0
fi
echo "hostonly-kit.sh: building the builder image and disk in $out" >&2
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d /var/tmp/mpath-hostonly-kit.XXXXXX)
trap 'rm -rf "$work"' EXIT

# 1. mpath-boot as a package installs it; the /etc files the tools read.
stage=$out/stage
DESTDIR=$stage "$repo/initramfs-hooks/install" "$bin" >/dev/null
mkdir -p "$stage/usr/lib/modules/$KVER" "$stage/etc"
for f in passwd group nsswitch.conf ld.so.conf ld.so.conf.d ld.so.cache dracut.conf dracut.conf.d; do
    [ -e "/etc/$f" ] && cp -a "/etc/$f" "$stage/etc/"
done

# The second host: multipath-tools, multipath-tools-boot and kpartx
# unpacked as a /usr tree (merged /usr: /lib, /sbin, /bin moved there), and
# the multipath files the admin and multipath itself leave in /etc: the
# package ships no multipath.conf; with the default find_multipaths
# (strict) multipath only takes WWIDs listed in /etc/multipath/wwids, which
# it writes when it first makes a map; bindings only gets a header.
wwid=35000c50015ea71ac # tests/vm_hostonly.rs: wwn=0x5000c50015ea71ac
mpt=$work/mpt
mkdir -p "$mpt/usr"
for p in "${mptpkgs[@]}"; do
    dpkg-deb -x "$(compgen -G "$mptdebs/${p}_*.deb" | head -n1)" "$mpt"
done
for d in lib lib64 sbin bin; do
    if [ -d "$mpt/$d" ]; then
        mkdir -p "$mpt/usr/$d" && cp -a "$mpt/$d/." "$mpt/usr/$d/" && rm -rf "${mpt:?}/$d"
    fi
done
mpetc=$work/multipath-etc
mkdir -p "$mpetc/multipath"
cat > "$mpetc/multipath.conf" <<'CONF'
# hostonly-kit.sh: the build host's multipath.conf (maps named by WWID)
defaults {
	user_friendly_names no
}
CONF
cat > "$mpetc/multipath/wwids" <<WWIDS
# Multipath wwids, Version : 1.0
# NOTE: This file is automatically maintained by multipath and multipathd.
# You should not need to edit this file in normal circumstances.
#
# Valid WWIDs:
/$wwid/
WWIDS
cat > "$mpetc/multipath/bindings" <<'BINDINGS'
# Multipath bindings, Version : 1.0
# NOTE: this file is automatically maintained by the multipath program.
# You should not need to edit this file in normal circumstances.
#
# Format:
# alias wwid
#
BINDINGS
stagempt=$out/stage-mpt
cp -a "$stage" "$stagempt"
cp -a "$mpt/usr/." "$stagempt/usr/"
cp -a "$mpetc/." "$stagempt/etc/"
# initramfs-tools settings of our own (as boot-kit.sh): Debian's defaults,
# plus the builder's 9p and overlay modules, loaded at boot.
conf=$work/initramfs-tools
mkdir -p "$conf/conf.d" "$conf/hooks" "$conf/scripts"
printf 'MODULES=most\nBUSYBOX=auto\nKEYMAP=n\nCOMPRESS=zstd\nDEVICE=\nNFSROOT=auto\nRUNSIZE=10%%\nFSTYPE=auto\nRESUME=none\n' \
    > "$conf/initramfs.conf"
printf '9pnet_virtio\n9p\noverlay\n' > "$conf/modules"

# 2. The builder images (not host-only: this host is not the guest).
build=$(cat <<'EOF'
set -eu
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$stage/usr:/usr" /usr
mount --bind "$MODDIR" "/usr/lib/modules/$KVER"
mount --bind "$KROOT/boot" /boot
mkdir -p "$work/etc-upper" "$work/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$work/etc-upper,workdir=$work/etc-work" /etc
rm -rf /etc/multipath.conf /etc/multipath
dracut --no-hostonly --no-hostonly-cmdline --add mpath-boot --kver "$KVER" --force \
    --compress zstd --no-early-microcode --drivers "virtio_scsi virtio_pci sd_mod ext4" \
    --add-drivers "9p 9pnet_virtio overlay" --omit "crypt systemd systemd-initrd dracut-systemd" \
    "$out/builder.img" > "$out/builder.log" 2>&1
# The multipath-tools host: its packages on /usr (the modules bind mount,
# hidden by the new overlay, again), its multipath files in /etc.
mount -t overlay overlay -o "lowerdir=$mpt/usr:/usr" /usr
mount --bind "$MODDIR" "/usr/lib/modules/$KVER"
cp -R "$mpetc/." /etc/
ldconfig
mkinitramfs -d "$conf" -o "$out/builder-mpt.img" "$KVER" > "$out/builder-mpt.log" 2>&1
EOF
)
export stage out work mpt mpetc conf KVER KROOT MODDIR
unshare --mount sh -c "$build" ||
    { tail -n 25 "$out"/builder*.log >&2; echo "hostonly-kit.sh: builder image build failed" >&2; exit 1; }
lsinitrd "$out/builder.img" > "$out/builder.list"
for ko in 9p.ko 9pnet_virtio.ko overlay.ko; do
    grep -q "/$ko" "$out/builder.list" || { echo "hostonly-kit.sh: builder.img lacks $ko" >&2; exit 1; }
done
lsinitramfs "$out/builder-mpt.img" > "$out/builder-mpt.list"
for f in /9p.ko /9pnet_virtio.ko /overlay.ko scripts/local-top/multipath scripts/local-top/mpath-boot \
    sbin/multipath sbin/kpartx etc/multipath/wwids etc/multipath.conf usr/sbin/mpath-boot; do
    grep -q "$f\$" "$out/builder-mpt.list" ||
        { echo "hostonly-kit.sh: builder-mpt.img lacks $f" >&2; exit 1; }
done

# 3. The builder guest's init (init=/sbin/hostonly-build), run after the
# builder image has made the maps and switched to the disk's root. It
# reports on ttyS1 (lines @@BOOT: as the root's /sbin/init, @@BUILD: of its
# own), makes the root look like a merged-/usr Debian with the host's /usr
# over 9p, runs dracut --hostonly, and powers off.
cat > "$work/hostonly-build" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
[ -c /dev/ttyS1 ] || mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec > /dev/ttyS1 2>&1
up() { cut -d' ' -f1 /proc/uptime; }
echo "@@BUILD:START $(up)"
awk '$5 == "/" { split($0, f, " - "); split(f[2], s, " "); r = $3 " " s[1] " " s[2] }
     END { print "@@BOOT:ROOT " r }' /proc/self/mountinfo
for d in /sys/block/dm-*; do
    [ -e "$d/dm/name" ] || continue
    echo "@@BOOT:DM $(basename "$d") $(cat "$d/dev") $(cat "$d/dm/name") $(cat "$d/dm/uuid") slaves:" $(ls "$d/slaves")
done
for d in /sys/block/sd*; do [ -e "$d/dev" ] && echo "@@BOOT:SD $(basename "$d") $(cat "$d/dev")"; done
echo "@@BOOT:END"
# The initramfs's /run, moved here: mpath-boot leaves this marker after
# each assembly run (none when the command line switched it off).
if [ -e /run/mpath-boot/assembled ]; then echo "@@BUILD:ASSEMBLED yes"; else echo "@@BUILD:ASSEMBLED no"; fi
fail() { echo "@@BUILD:FAILED $*"; sync; /busybox/poweroff -f 2>/dev/null || /bin/poweroff -f; }
kver=$(uname -r)
# The kit's modules under .../lib/modules/<version> (dracut checks
# that --kmoddir looks like that).
mkdir -p /mnt/hostusr /mnt/stage "/mnt/kmod/lib/modules/$kver" /mnt/out /usr /var/tmp
for t in hostusr stage kmod; do
    dir=/mnt/$t
    [ $t = kmod ] && dir=/mnt/kmod/lib/modules/$kver
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro $t "$dir" || fail "mount $t"
done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /mnt/out || fail "mount out"
mount -t tmpfs tmpfs /tmp || fail "mount /tmp"
# Debian's merged /usr: the host's /usr with mpath-boot's package files on top.
mount -t overlay overlay -o lowerdir=/mnt/stage/usr:/mnt/hostusr /usr || fail "overlay /usr"
cp -a /mnt/stage/etc/. /etc/ || fail "copy /etc"
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
# /lib, /lib64, /bin and /sbin lead into it (busybox moves aside): the tools
# run /bin/bash, /lib64/ld-linux-x86-64.so.2..., and dracut installs /bin/sh
# from where /bin leads.
mv /bin /busybox && mv /sbin /sbin.root || fail "move /bin and /sbin"
export PATH=/usr/sbin:/usr/bin:/busybox
for d in lib lib64 bin sbin; do /busybox/ln -sfn usr/$d /$d || fail "link /$d"; done
# A host with multipath-tools: its libraries in the loader's cache, as its
# package's trigger leaves them.
if [ -x /usr/sbin/multipath ]; then ldconfig || fail ldconfig; fi
echo "@@BUILD:DRACUT-START $(up)"
dracut --hostonly --no-hostonly-cmdline --kver "$kver" --kmoddir "/mnt/kmod/lib/modules/$kver" --tmpdir /tmp \
    --force --compress zstd --no-early-microcode /mnt/out/hostonly.img > /mnt/out/dracut.log 2>&1
rc=$?
echo "@@BUILD:DRACUT rc=$rc $(up)"
if [ $rc = 0 ]; then
    lsinitrd -m /mnt/out/hostonly.img > /mnt/out/lsinitrd-m.txt 2>&1
    grep -xE 'mpath-boot|multipath' /mnt/out/lsinitrd-m.txt | sed 's/^/@@BUILD:LSINITRD-MODULE /'
fi
# With multipath-tools installed: dracut's module checks alone
# (--print-cmdline: host-only, no image), with and without
# 90-mpath-boot.conf. dracut's multipath module, when included, prints
# rd.driver.pre=dm_multipath (the module is loaded here); mpath-boot's
# prints nothing.
if [ -x /usr/sbin/multipath ]; then
    conf=/usr/lib/dracut/dracut.conf.d/90-mpath-boot.conf
    for c in with without; do
        [ $c = without ] && { mount --bind /dev/null $conf || fail "hide $conf"; }
        echo "@@BUILD:PRINT-CMDLINE-START $c $(up)"
        line=$(dracut --print-cmdline --no-hostonly-cmdline --kver "$kver" --tmpdir /tmp 2>/mnt/out/print-cmdline-$c.err)
        echo "@@BUILD:PRINT-CMDLINE $c rc=$? $(up) :" $line
    done
    umount $conf
fi
echo "@@BUILD:END $(up)"
umount /mnt/out
sync
/busybox/poweroff -f
EOF
# Into the disk copy's root: partition 1 starts at 1 MiB; debugfs writes
# into its ext4 image.
cp "$kitdir/boot/disk.img" "$work/disk.img"
dd if="$work/disk.img" of="$work/part.img" bs=1M skip=1 count=32 status=none
debugfs -w -R "write $work/hostonly-build sbin/hostonly-build" "$work/part.img" >/dev/null 2>&1
debugfs -w -R "sif sbin/hostonly-build mode 0100755" "$work/part.img" >/dev/null 2>&1
debugfs -R "stat sbin/hostonly-build" "$work/part.img" 2>/dev/null | grep -q 'Mode:  *0755' ||
    { echo "hostonly-kit.sh: cannot write /sbin/hostonly-build into the disk" >&2; exit 1; }
dd if="$work/part.img" of="$work/disk.img" bs=1M seek=1 conv=notrunc status=none
mv "$work/disk.img" "$out/builder-disk.img"

cat > "$out/hostonly.env" <<EOF
HASH='$hash'
KVER='$KVER'
VMLINUZ='$VMLINUZ'
MODDIR='$MODDIR'
DISK='$kitdir/boot/disk.img'
BUILDER='$out/builder.img'
BUILDER_DISK='$out/builder-disk.img'
STAGE='$stage'
BUILDER_MPT='$out/builder-mpt.img'
STAGE_MPT='$stagempt'
EOF
ls -sh "$out"/*.img >&2
