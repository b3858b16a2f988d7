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

# shellcheck source=tests/vm/kit-lib.sh
. "$(dirname "$0")/kit-lib.sh"
kit_init iscsi-kit.sh
out=$kitdir/iscsi

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
kit_binary

# 3. The packages, downloaded once (Debian's versions of the host's release).
pkgs=(open-iscsi libisns0 libopeniscsiusr dracut-network isc-dhcp-client iputils-arping)
debs=$kitdir/iscsi-debs
kit_download_debs "$debs" "${pkgs[@]}"

# multipath-tools and multipath-tools-boot for initramfs-tools-mpt.img: the
# packages boot-kit.sh's -mpt images use, in the same directory.
mptdebs=$kitdir/boot-debs
kit_download_debs "$mptdebs" "${kit_mpt_pkgs[@]}"

# 4. Up to date? (kit_hash adds initramfs-hooks/.)
hash=$( { sha256sum "$bin" "$0" "$VMLINUZ" "$debs"/*.deb "$mptdebs"/*.deb
          dpkg-query -W initramfs-tools dracut-core udev systemd; } | kit_hash)
if kit_up_to_date "$out/iscsi.env" "$hash"; then
    exit 0
fi
echo "iscsi-kit.sh: building iSCSI initramfs images in $out" >&2
kit_begin "$out" mpath-iscsi-kit

# 5. The packages unpacked; /sbin, /bin and /lib moved under usr/ (the host
# has a merged /usr, so /sbin/iscsistart is /usr/sbin/iscsistart).
pkgroot=$work/pkgroot
kit_unpack_usr "$pkgroot" "sbin bin lib" "$debs"/*.deb
# The same for the multipath-tools packages, in a tree of their own.
mptroot=$work/mptroot
mptfiles=()
for p in "${kit_mpt_pkgs[@]}"; do mptfiles+=("$(kit_first_deb "$mptdebs" "$p")"); done
kit_unpack_usr "$mptroot" "sbin bin lib lib64" "${mptfiles[@]}"
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
kit_stage_install "$stage"
conf=$work/initramfs-tools
kit_initramfs_tools_conf "$conf"

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
fail() { kit_fail "$@"; }
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
{ grep -q 'sbin/iscsistart$' "$out/initramfs-tools-mpt.list" &&
    grep -q 'scripts/local-top/multipath$' "$out/initramfs-tools-mpt.list" &&
    grep -Eq '(usr/)?sbin/multipath$' "$out/initramfs-tools-mpt.list"; } ||
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
