#!/usr/bin/env bash
# iSCSI boot kit for tests/vm_iscsi.rs: initramfs images made by the stock
# tools with open-iscsi's and dracut's iSCSI support and mpath-boot's
# integrations (initramfs-hooks/) installed, for a root file system on an
# iSCSI LU reached through two portals.
#
# Outputs, in $MPATH_VM_KIT/iscsi/ (default target/vm-kit/iscsi/):
#   initramfs-tools.img   mkinitramfs with open-iscsi's hook (iscsistart);
#                         /etc/iscsi/iscsi.initramfs names the target and
#                         both portals, /etc/iscsi/initiatorname.iscsi the
#                         initiator
#   dracut-systemd.img    dracut --add "iscsi network-legacy mpath-boot",
#                         systemd in the initramfs
#   dracut-sh.img         the same without systemd (shell init)
#   *-mpt.img             the same three as built on a host that also has
#                         Debian's multipath-tools, multipath-tools-boot and
#                         kpartx (unpacked, as boot-kit.sh's -mpt images)
#   *.log, *.list         build logs and image listings
#   iscsi.env             KEY='value' lines read by the test
# The root disk is the boot kit's ($MPATH_VM_KIT/boot/disk.img, from
# tests/vm/boot-kit.sh, run first if it is missing); the test exports it
# from a second guest (the kernel's LIO iSCSI target).
#
# open-iscsi, dracut-network and what they need (libisns0, libopeniscsiusr,
# isc-dhcp-client, iputils-arping) are NOT installed on the host: their
# packages are downloaded (apt-get download) and unpacked with dpkg -x into
# $out/pkgroot, which the build overlays on /usr and /etc in a private mount
# namespace, beside initramfs-hooks/install's DESTDIR, as boot-kit.sh does.
# So the images that tests/vm/boot-kit.sh builds never get iSCSI support
# behind its back. Needs root (unshare, mount).
#
# $MPATH_BOOT_BINARY: the mpath-boot binary (the test passes its own), else a
# fresh `cargo build --release`. Rebuilt when anything that goes in changes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
kitdir=${MPATH_VM_KIT:-$repo/target/vm-kit}
out=$kitdir/iscsi
export DEBIAN_FRONTEND=noninteractive

# The LU, as tests/vm_iscsi.rs's target guest exports it, and the initiators.
TARGET_IQN=iqn.2003-01.org.linux-iscsi.mpath-boot:root
PORTAL1=10.0.1.1
PORTAL2=10.0.2.1
ITOOLS_INITIATOR=iqn.1993-08.org.debian:01:mpb-initramfs-tools

# 1. The kernel kit, and the boot kit's root disk and host packages
# (initramfs-tools, dracut-core...): boot-kit.sh runs only when its disk is
# missing, since none of its images is used here and it rebuilds them all
# whenever the binary changes. Remove $MPATH_VM_KIT/boot/disk.img to have
# it made again (e.g. after a change to the root's /sbin/init).
"$repo/tests/vm/kit.sh"
[ -f "$kitdir/boot/disk.img" ] || "$repo/tests/vm/boot-kit.sh"
# shellcheck disable=SC1091
. "$kitdir/kit.env"

# 2. The binary.
if [ -n "${MPATH_BOOT_BINARY:-}" ]; then
    bin=$MPATH_BOOT_BINARY
else
    (cd "$repo" && cargo build --release -q)
    bin=$repo/target/x86_64-unknown-linux-musl/release/mpath-boot
fi
[ -x "$bin" ] || { echo "iscsi-kit.sh: $bin is not an executable" >&2; exit 1; }

# 3. The packages, downloaded once (Debian's versions of the host's release).
pkgs=(open-iscsi libisns0 libopeniscsiusr dracut-network isc-dhcp-client iputils-arping)
debs=$kitdir/iscsi-debs
mkdir -p "$debs"
for p in "${pkgs[@]}"; do
    if ! ls "$debs/${p}_"*.deb >/dev/null 2>&1; then
        echo "iscsi-kit.sh: downloading $p" >&2
        (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "$p" 2>/dev/null) ||
            { apt-get update -qq; (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "$p"); }
    fi
done

# multipath-tools and multipath-tools-boot for initramfs-tools-mpt.img: the
# packages boot-kit.sh's -mpt images use, in the same directory.
mptpkgs=(multipath-tools multipath-tools-boot kpartx liburcu8 libaio1 libedit2 libjson-c5)
mptdebs=$kitdir/boot-debs
mkdir -p "$mptdebs"
for p in "${mptpkgs[@]}"; do
    compgen -G "$mptdebs/${p}_*.deb" >/dev/null ||
        (cd "$mptdebs" && apt-get download -qq -o APT::Sandbox::User=root "$p" 2>/dev/null) ||
        { apt-get update -qq; (cd "$mptdebs" && apt-get download -qq -o APT::Sandbox::User=root "$p"); }
done

# 4. Up to date?
hash=$( { sha256sum "$bin" "$0" "$VMLINUZ" "$debs"/*.deb "$mptdebs"/*.deb
          find "$repo/initramfs-hooks" -type f -print0 | sort -z | xargs -0 sha256sum
          dpkg-query -W initramfs-tools dracut-core udev systemd; } |
        sed 's/ .*//' | sha256sum | cut -c1-16)
if [ -f "$out/iscsi.env" ] && grep -qx "HASH='$hash'" "$out/iscsi.env"; then
    exit 0
fi
echo "iscsi-kit.sh: building iSCSI initramfs images in $out" >&2
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d /var/tmp/mpath-iscsi-kit.XXXXXX)
trap 'rm -rf "$work"' EXIT

# 5. The packages unpacked; /sbin, /bin and /lib moved under usr/ (the host
# has a merged /usr, so /sbin/iscsistart is /usr/sbin/iscsistart).
pkgroot=$work/pkgroot
mkdir -p "$pkgroot"
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$pkgroot"; done
for d in sbin bin lib; do
    [ -d "$pkgroot/$d" ] || continue
    mkdir -p "$pkgroot/usr/$d"
    cp -a "$pkgroot/$d/." "$pkgroot/usr/$d/"
    rm -rf "${pkgroot:?}/$d"
done
# The same for the multipath-tools packages, in a tree of their own.
mptroot=$work/mptroot
mkdir -p "$mptroot/usr"
for p in "${mptpkgs[@]}"; do
    dpkg-deb -x "$(compgen -G "$mptdebs/${p}_*.deb" | head -n1)" "$mptroot"
done
for d in sbin bin lib lib64; do
    [ -d "$mptroot/$d" ] || continue
    mkdir -p "$mptroot/usr/$d"
    cp -a "$mptroot/$d/." "$mptroot/usr/$d/"
    rm -rf "${mptroot:?}/$d"
done
# /usr/bin/iscsiadm -> /sbin/iscsiadm: fine on a merged /usr.
# The initiator's configuration, as open-iscsi's postinst and an
# administrator would leave it: the initiator name, and for initramfs-tools
# the target with both portals (local-top/iscsi logs in to each address of
# ISCSI_TARGET_IP in turn).
mkdir -p "$pkgroot/etc/iscsi"
echo "InitiatorName=$ITOOLS_INITIATOR" > "$pkgroot/etc/iscsi/initiatorname.iscsi"
cat > "$pkgroot/etc/iscsi/iscsi.initramfs" <<EOF
ISCSI_TARGET_NAME=$TARGET_IQN
ISCSI_TARGET_IP="$PORTAL1 $PORTAL2"
EOF

# Debian's iscsid.service runs /lib/open-iscsi/startup-checks.sh first
# (ExecStartPre, no "-"), which dracut's iscsi module does not install: in a
# systemd image iscsid then never starts and every login fails ("could not
# communicate to iscsid"). A Debian administrator adds it the same way.
mkdir -p "$pkgroot/etc/dracut.conf.d"
echo 'install_items+=" /lib/open-iscsi/startup-checks.sh "' > "$pkgroot/etc/dracut.conf.d/50-open-iscsi-startup-checks.conf"

# 6. mpath-boot installed as a package would, into a staging tree.
stage=$work/stage
DESTDIR=$stage "$repo/initramfs-hooks/install" "$bin" >/dev/null
mkdir -p "$stage/usr/lib/modules/$KVER"
conf=$work/initramfs-tools
mkdir -p "$conf/conf.d" "$conf/hooks" "$conf/scripts"
printf 'MODULES=most\nBUSYBOX=auto\nKEYMAP=n\nCOMPRESS=zstd\nDEVICE=\nNFSROOT=auto\nRUNSIZE=10%%\nFSTYPE=auto\nRESUME=none\n' \
    > "$conf/initramfs.conf"
touch "$conf/modules"

# 7. The build, in a private mount namespace.
build=$(cat <<'EOF'
set -eu
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$stage/usr:$pkgroot/usr:/usr" /usr
mount --bind "$MODDIR" "/usr/lib/modules/$KVER"
mount --bind "$KROOT/boot" /boot
mkdir -p "$work/etc-upper" "$work/etc-work"
mount -t overlay overlay -o "lowerdir=$pkgroot/etc:/etc,upperdir=$work/etc-upper,workdir=$work/etc-work" /etc
# No multipath configuration: maps are named by WWID.
rm -rf /etc/multipath.conf /etc/multipath
# The unpacked libraries are not in the host's ld.so.cache: ldd (which both
# tools use to find what a binary needs) must still find them.
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu
iscsistart --version >/dev/null 2>&1 || iscsiadm --version >/dev/null
# network-legacy by name: the host has systemd-networkd, which dracut's
# network module would otherwise pick (and which the shell image lacks).
mkdracut() {
    dracut --no-hostonly --no-hostonly-cmdline --add "mpath-boot iscsi network-legacy" \
        --kver "$KVER" --force --compress zstd --no-early-microcode \
        --drivers "virtio_net virtio_pci sd_mod ext4" --omit crypt "$@"
}
t0=$(date +%s)
mkinitramfs -d "$conf" -o "$out/initramfs-tools.img" "$KVER" > "$out/initramfs-tools.log" 2>&1
t1=$(date +%s)
mkdracut "$out/dracut-systemd.img" > "$out/dracut-systemd.log" 2>&1
t2=$(date +%s)
mkdracut --omit "systemd systemd-initrd dracut-systemd systemd-networkd" "$out/dracut-sh.img" > "$out/dracut-sh.log" 2>&1
t3=$(date +%s)
# A host that also has multipath-tools and multipath-tools-boot. The new
# /usr overlay hides the modules bind mount: mount it again.
mount -t overlay overlay -o "lowerdir=$mptroot/usr:/usr" /usr
mount --bind "$MODDIR" "/usr/lib/modules/$KVER"
ldconfig
mkinitramfs -d "$conf" -o "$out/initramfs-tools-mpt.img" "$KVER" > "$out/initramfs-tools-mpt.log" 2>&1
mkdracut "$out/dracut-systemd-mpt.img" > "$out/dracut-systemd-mpt.log" 2>&1
mkdracut --omit "systemd systemd-initrd dracut-systemd systemd-networkd" "$out/dracut-sh-mpt.img" > "$out/dracut-sh-mpt.log" 2>&1
t4=$(date +%s)
echo "iscsi-kit.sh: mkinitramfs $((t1 - t0)) s, dracut (systemd) $((t2 - t1)) s, dracut (shell) $((t3 - t2)) s, the three with multipath-tools $((t4 - t3)) s" >&2
EOF
)
export stage conf out work pkgroot mptroot KVER KROOT MODDIR
unshare --mount sh -c "$build" ||
    { tail -n 25 "$out"/*.log >&2; echo "iscsi-kit.sh: image build failed (logs in $out)" >&2; exit 1; }

# 8. Listings and checks on the contents.
fail() { echo "iscsi-kit.sh: $*" >&2; exit 1; }
lsinitramfs "$out/initramfs-tools.img" > "$out/initramfs-tools.list"
lsinitrd "$out/dracut-systemd.img" > "$out/dracut-systemd.list"
lsinitrd "$out/dracut-sh.img" > "$out/dracut-sh.list"
lsinitramfs "$out/initramfs-tools-mpt.img" > "$out/initramfs-tools-mpt.list"
lsinitrd "$out/dracut-systemd-mpt.img" > "$out/dracut-systemd-mpt.list"
lsinitrd "$out/dracut-sh-mpt.img" > "$out/dracut-sh-mpt.list"
for img in initramfs-tools dracut-systemd dracut-sh initramfs-tools-mpt dracut-systemd-mpt dracut-sh-mpt; do
    grep -q 'usr/sbin/mpath-boot$' "$out/$img.list" || fail "$img.img lacks usr/sbin/mpath-boot"
    grep -q 'virtio_net.ko' "$out/$img.list" || fail "$img.img lacks virtio_net"
    grep -q 'iscsi_tcp.ko' "$out/$img.list" || fail "$img.img lacks iscsi_tcp"
done
grep -q 'sbin/iscsistart$' "$out/initramfs-tools.list" || fail "initramfs-tools.img lacks iscsistart"
grep -q 'scripts/local-top/iscsi$' "$out/initramfs-tools.list" || fail "initramfs-tools.img lacks local-top/iscsi"
grep -q 'etc/iscsi.initramfs$' "$out/initramfs-tools.list" || fail "initramfs-tools.img lacks /etc/iscsi.initramfs"
grep -q 'sbin/iscsistart$' "$out/initramfs-tools-mpt.list" &&
    grep -q 'scripts/local-top/multipath$' "$out/initramfs-tools-mpt.list" &&
    grep -Eq '(usr/)?sbin/multipath$' "$out/initramfs-tools-mpt.list" ||
    fail "initramfs-tools-mpt.img lacks iscsistart or multipath-tools-boot's multipath"
# dracut's multipath module stays out (mpath-boot's dracut.conf.d).
for img in dracut-systemd-mpt dracut-sh-mpt; do
    grep -q 'sbin/iscsiroot$' "$out/$img.list" || fail "$img.img lacks dracut's iscsiroot"
    ! grep -Eq 'sbin/multipathd?$' "$out/$img.list" || fail "$img.img holds dracut's multipath module"
done
for img in dracut-systemd dracut-sh; do
    grep -q 'sbin/iscsiroot$' "$out/$img.list" || fail "$img.img lacks dracut's iscsiroot"
    grep -q 'sbin/iscsid$' "$out/$img.list" || fail "$img.img lacks iscsid"
    grep -q 'sbin/ifup$' "$out/$img.list" || fail "$img.img lacks network-legacy's ifup"
done
grep -q 'open-iscsi/startup-checks.sh$' "$out/dracut-systemd.list" ||
    fail "dracut-systemd.img lacks /lib/open-iscsi/startup-checks.sh (iscsid.service's ExecStartPre)"
grep -q 'usr/lib/systemd/systemd$' "$out/dracut-systemd.list" || fail "dracut-systemd.img has no systemd"
! grep -q 'usr/lib/systemd/systemd$' "$out/dracut-sh.list" || fail "dracut-sh.img has systemd"
# The order initramfs-tools runs local-top scripts in (for the record).
unmkinitramfs "$out/initramfs-tools.img" "$work/unpacked" 2>/dev/null || true
cp "$(find "$work/unpacked" -path '*scripts/local-top/ORDER' | head -n1)" "$out/initramfs-tools.local-top.ORDER" 2>/dev/null || true

cat > "$out/iscsi.env" <<EOF
HASH='$hash'
KVER='$KVER'
VMLINUZ='$VMLINUZ'
DISK='$kitdir/boot/disk.img'
TARGET_IQN='$TARGET_IQN'
PORTAL1='$PORTAL1'
PORTAL2='$PORTAL2'
ITOOLS_INITIATOR='$ITOOLS_INITIATOR'
EOF
ls -sh "$out"/*.img >&2
