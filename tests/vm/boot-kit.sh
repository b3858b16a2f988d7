#!/usr/bin/env bash
# Boot kit for tests/vm_boot.rs: real initramfs images, made by the stock
# tools with mpath-boot's integrations (initramfs-hooks/) installed, and a
# disk whose one partition holds a tiny root filesystem.
#
# Outputs, in target/vm-kit/boot/ ($MPATH_VM_KIT/boot):
#   disk.img                    MBR, partition 1 = ext4 root (busybox-static);
#                               its /sbin/init prints what / is mounted from
#   disk-lvm.img                MBR, partition 1 = LVM PV of VG vgmp, whose
#                               LV root holds the same ext4 root
#   initramfs-tools.img         mkinitramfs (initramfs-tools, with udev)
#   dracut-systemd.img          dracut, systemd in the initramfs
#   dracut-sh.img               dracut, shell init (no systemd)
#   *-conf.img                  the same three, built on a host whose
#                               /etc/multipath.conf says user_friendly_names
#                               yes and whose /etc/multipath/bindings binds
#                               mpatha to the disk (plus wwids and a conf.d/)
#   *-mpt.img                   the same three, built on a host that also has
#                               Debian's multipath-tools, multipath-tools-boot
#                               and kpartx installed (and the -conf files)
#   dracut-hostonly.img         dracut --hostonly without --add mpath-boot on
#                               this host, whose root is not on multipath:
#                               checked to be without mpath-boot
#   *.log, *.list               build logs and image listings
#   boot.env                    KEY='value' lines read by the tests
#
# The binary: $MPATH_BOOT_BINARY if set (the tests pass theirs), else a fresh
# `cargo build --release`. The images are rebuilt whenever it, initramfs-hooks/
# or this script change (a hash in boot.env), otherwise this is instant.
#
# The host is not changed beyond installing packages: the images are built in
# a private mount namespace where initramfs-hooks/install's DESTDIR is
# overlaid on /usr (so the tools find the hooks and the binary where a
# package would put them), and the kit's kernel modules and config appear as
# /lib/modules/$KVER and /boot. /etc is overlaid too: the multipath files
# the hooks copy (/etc/multipath.conf, /etc/multipath/) are hidden for the
# plain images and replaced by the kit's for the -conf ones, whatever the
# host has. Needs root (apt-get, unshare, mount).
set -euo pipefail

# shellcheck source=tests/vm/kit-lib.sh
. "$(dirname "$0")/kit-lib.sh"
kit_init boot-kit.sh
out=$kitdir/boot

# 1. The kernel kit (fast when done), then its kernel version and paths.
"$repo/tests/vm/kit.sh"
# shellcheck disable=SC1091
. "$kitdir/kit.env"

# 2. Host packages, installed only when missing. initramfs-tools pulls in
# udev (so its images run udev); dracut-core installs beside it; zstd
# compresses the images; dracut puts systemd in an image only if the host
# has it; lvm2 brings its initramfs-tools hook and udev rules and dracut's
# lvm module (and builds disk-lvm.img, through a loop device).
pkgs=(initramfs-tools dracut-core fdisk e2fsprogs busybox-static dmsetup zstd systemd lvm2)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    # The dracut meta package conflicts with initramfs-tools: never swap the
    # host's initramfs generator behind a developer's back.
    if dpkg-query -W -f='${Status}' dracut 2>/dev/null | grep -q 'ok installed'; then
        echo "boot-kit.sh: package dracut conflicts with initramfs-tools; install initramfs-tools and dracut-core by hand" >&2
        exit 1
    fi
    echo "boot-kit.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
fi

# Debian's multipath-tools, multipath-tools-boot and kpartx for the -mpt
# images: downloaded, never installed here (the other images must not see
# them); they are overlaid on /usr for that build only.
mptdebs=$kitdir/boot-debs
kit_download_debs "$mptdebs" "${kit_mpt_pkgs[@]}"

# 3. The binary.
kit_binary

# 4. Up to date? The hash covers everything that goes into the outputs,
# the host packages' versions included (kit_hash adds initramfs-hooks/).
hash=$( { sha256sum "$bin" "$0" "$VMLINUZ"
          dpkg-query -W "${pkgs[@]}" udev; ls "$mptdebs"; } | kit_hash)
if kit_up_to_date "$out/boot.env" "$hash"; then
    exit 0
fi
echo "boot-kit.sh: building initramfs images and the root disk in $out" >&2
kit_begin "$out" mpath-boot-kit

# 5. The root filesystem: static busybox and an init that reports on ttyS1
# (the tests' second serial port) what / is mounted from, which dm devices
# exist and what lies under each, then powers off.
root=$work/root
mkdir -p "$root"/{bin,sbin,etc,dev,proc,sys,run,tmp}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
# systemd's switch-root wants an OS tree: /etc/os-release.
printf 'ID=mpath-boot-test\nNAME="mpath-boot test root"\n' > "$root/etc/os-release"
cat > "$root/sbin/init" <<'EOF'
#!/bin/sh
# PID 1 of the test root. Lines start with @@BOOT: for the host to parse.
export PATH=/bin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
[ -c /dev/ttyS1 ] || mount -t devtmpfs devtmpfs /dev 2>/dev/null
out=/dev/ttyS1
[ -c $out ] || out=/dev/console
{
    # mountinfo: "ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE ...";
    # the last line for / is the root we were switched to.
    awk '$5 == "/" { split($0, f, " - "); split(f[2], s, " "); r = $3 " " s[1] " " s[2] }
         END { print "@@BOOT:ROOT " r }' /proc/self/mountinfo
    for d in /sys/block/dm-*; do
        [ -e "$d/dm/name" ] || continue
        echo "@@BOOT:DM $(basename "$d") $(cat "$d/dev") $(cat "$d/dm/name") $(cat "$d/dm/uuid") slaves:" $(ls "$d/slaves")
    done
    for d in /sys/block/sd*; do
        [ -e "$d/dev" ] && echo "@@BOOT:SD $(basename "$d") $(cat "$d/dev")"
        for p in "$d"/sd*[0-9]; do
            [ -e "$p/partition" ] && echo "@@BOOT:PART $(basename "$p")"
        done
    done
    echo "@@BOOT:CMDLINE $(cat /proc/cmdline)"
    echo "@@BOOT:END"
} > $out 2>&1
sync
poweroff -f
EOF
chmod 755 "$root/sbin/init"

# 6. The disk: MBR, partition 1 from 1 MiB, ext4 built from the tree (no
# loop devices). 40 MiB in all, sparse.
# A fixed file system UUID, for the root=UUID= boots.
mkfs.ext4 -q -F -L mpbroot -U 6d70622d-726f-4f74-8000-000000000001 -d "$root" "$work/part.img" 32M >/dev/null
truncate -s 40M "$out/disk.img.tmp"
printf 'label: dos\nstart=2048, size=%s, type=83\n' $((32 * 2048)) | sfdisk -q "$out/disk.img.tmp"
dd if="$work/part.img" of="$out/disk.img.tmp" bs=1M seek=1 conv=notrunc,sparse status=none
mv "$out/disk.img.tmp" "$out/disk.img"

# The LVM disk (Debian's and RHEL's guided layout): MBR, partition 1 from
# 1 MiB is a PV; VG vgmp, LV root holds the same ext4 image. lvm needs a
# block device: a loop device over the partition. The LV is never
# activated here (no device-mapper on the build host): its extents are
# where lvm says, and the file system is written there directly.
truncate -s 48M "$out/disk-lvm.img.tmp"
printf 'label: dos\nstart=2048, type=8e\n' | sfdisk -q "$out/disk-lvm.img.tmp"
loopdev=$(losetup --find --show --offset $((2048 * 512)) "$out/disk-lvm.img.tmp")
# global/activation=0: metadata only, lvm never asks for device-mapper.
lvmconf="devices { use_devicesfile=0 obtain_device_list_from_udev=0 filter=[\"a|^$loopdev\$|\",\"r|.*|\"] }
         global { activation=0 } activation { udev_sync=0 udev_rules=0 monitoring=0 }"
lvmrun() { LVM_SUPPRESS_FD_WARNINGS=1 lvm "$1" --config "$lvmconf" "${@:2}" 2>>"$work/lvm.log"; }
if ! { lvmrun pvcreate -q -y -ff "$loopdev" >/dev/null &&
       lvmrun vgcreate -q vgmp "$loopdev" >/dev/null &&
       lvmrun lvcreate -q -an -Zn -L 32M -n root vgmp >/dev/null &&
       pe_start=$(lvmrun pvs --noheadings --nosuffix --units b -o pe_start "$loopdev") &&
       extent=$(lvmrun vgs --noheadings --nosuffix --units b -o vg_extent_size vgmp) &&
       ranges=$(lvmrun lvs --noheadings -o seg_pe_ranges vgmp/root); }; then
    losetup -d "$loopdev"
    cat "$work/lvm.log" >&2
    echo "boot-kit.sh: cannot make the LVM layout on $loopdev" >&2
    exit 1
fi
losetup -d "$loopdev"
# One segment, "<pv>:FIRST-LAST": the LV starts FIRST extents into the data.
first=$(echo "$ranges" | sed -n 's/.*:\([0-9]*\)-[0-9]*$/\1/p')
if [ -z "$first" ] || [ "$(echo "$ranges" | wc -w)" != 1 ]; then
    kit_fail "unexpected LV layout: $ranges"
fi
# pe_start and extent come with lvm's leading blanks: fine in $(( )).
lv_offset=$(( 2048 * 512 + pe_start + first * extent ))
dd if="$work/part.img" of="$out/disk-lvm.img.tmp" bs=512 seek=$((lv_offset / 512)) conv=notrunc,sparse status=none
mv "$out/disk-lvm.img.tmp" "$out/disk-lvm.img"

# 7. Install mpath-boot as a package would, into a staging tree (with a
# mount point for the kit's modules), and initramfs-tools settings of our own.
stage=$work/stage
kit_stage_install "$stage"
conf=$work/initramfs-tools
kit_initramfs_tools_conf "$conf"

# The build host's multipath configuration for the -conf images, as
# multipath-tools 0.9.4 would have left it on a system whose root is on
# mpatha: friendly names, the disk's WWID bound to mpatha and remembered in
# wwids (find_multipaths strict, the default, only multipaths WWIDs listed
# there), and a conf.d/ directory, which the hooks copy as a whole.
wwid=35000c50015ea71ac # tests/vm_boot.rs: wwn=0x5000c50015ea71ac
mpetc=$work/multipath-etc
mkdir -p "$mpetc/multipath/conf.d"
cat > "$mpetc/multipath.conf" <<'CONF'
# boot-kit.sh: the build host's multipath.conf
defaults {
	user_friendly_names yes
}
CONF
cat > "$mpetc/multipath/bindings" <<BINDINGS
# Multipath bindings, Version : 1.0
#
# Format:
# alias wwid
#
mpatha $wwid
BINDINGS
cat > "$mpetc/multipath/wwids" <<WWIDS
# Multipath wwids, Version : 1.0
#
# Valid WWIDs:
/$wwid/
WWIDS
echo '# boot-kit.sh: copied with its directory; sets nothing' > "$mpetc/multipath/conf.d/10-boot-kit.conf"

# The -mpt host's extra files: the packages unpacked as a /usr tree (a
# merged-/usr system keeps /lib, /sbin and /bin there).
mpt=$work/mpt
mptfiles=()
for p in "${kit_mpt_pkgs[@]}"; do mptfiles+=("$(kit_first_deb "$mptdebs" "$p")"); done
kit_unpack_usr "$mpt" "lib lib64 sbin bin" "${mptfiles[@]}"

# 8. Build the images in a private mount namespace: nothing leaks to the host.
build=$(cat <<'EOF'
set -eu
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=$stage/usr:/usr" /usr
mount --bind "$MODDIR" "/usr/lib/modules/$KVER"
mount --bind "$KROOT/boot" /boot
# /etc with a writable upper layer in $work: the multipath files are
# removed and added there, the host's /etc stays as it is.
mkdir -p "$work/etc-upper" "$work/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$work/etc-upper,workdir=$work/etc-work" /etc
# No host-only (this host is not the guest); --no-hostonly-cmdline: no host
# root=; the guest's disk drivers besides what the modules ask for; no crypt
# (included without cryptsetup on the host, it fails the shell variant).
mkdracut() {
    dracut --no-hostonly --no-hostonly-cmdline --add mpath-boot --kver "$KVER" --force \
        --compress zstd --no-early-microcode --drivers "virtio_scsi virtio_pci sd_mod ext4" --omit crypt "$@"
}
# The three images, named with suffix $1.
build_images() {
    t0=$(date +%s)
    mkinitramfs -d "$conf" -o "$out/initramfs-tools$1.img" "$KVER" > "$out/initramfs-tools$1.log" 2>&1
    t1=$(date +%s)
    mkdracut "$out/dracut-systemd$1.img" > "$out/dracut-systemd$1.log" 2>&1
    t2=$(date +%s)
    mkdracut --omit "systemd systemd-initrd dracut-systemd" "$out/dracut-sh$1.img" > "$out/dracut-sh$1.log" 2>&1
    t3=$(date +%s)
    echo "boot-kit.sh: images${1:+ $1}: mkinitramfs $((t1 - t0)) s, dracut (systemd) $((t2 - t1)) s, dracut (shell) $((t3 - t2)) s" >&2
}
rm -rf /etc/multipath.conf /etc/multipath
build_images ""
# Host-only, without --add: this host's root is not on a multipath map, so
# the module's check() must leave it out.
dracut --hostonly --no-hostonly-cmdline --kver "$KVER" --force --compress zstd \
    --no-early-microcode "$out/dracut-hostonly.img" > "$out/dracut-hostonly.log" 2>&1
cp -R "$mpetc/." /etc/
build_images -conf
# A host where the admin also installed multipath-tools and
# multipath-tools-boot (with the -conf files: they used it). The new /usr
# overlay hides the modules bind mount below it: mount that again.
mount -t overlay overlay -o "lowerdir=$mpt/usr:/usr" /usr
mount --bind "$MODDIR" "/usr/lib/modules/$KVER"
ldconfig
build_images -mpt
EOF
)
# The overlay on /usr covers /lib/modules only on a merged-/usr system (every
# Debian since bookworm); /boot is a mount point.
[ "$(readlink -f /lib)" = /usr/lib ] ||
    { echo "boot-kit.sh: /lib is not /usr/lib (merged /usr needed)" >&2; exit 1; }
mkdir -p /boot
export stage conf out work mpetc mpt KVER KROOT MODDIR
unshare --mount sh -c "$build" ||
    { tail -n 25 "$out"/*.log >&2; echo "boot-kit.sh: image build failed (logs in $out)" >&2; exit 1; }

# 9. Listings, for debugging and for the tests' checks on the contents.
fail() { kit_fail "$@"; }
for suffix in "" -conf -mpt; do
    lsinitramfs "$out/initramfs-tools$suffix.img" > "$out/initramfs-tools$suffix.list"
    lsinitrd "$out/dracut-systemd$suffix.img" > "$out/dracut-systemd$suffix.list"
    lsinitrd "$out/dracut-sh$suffix.img" > "$out/dracut-sh$suffix.list"
    for img in initramfs-tools dracut-systemd dracut-sh; do
        grep -q 'usr/sbin/mpath-boot$' "$out/$img$suffix.list" ||
            fail "$img$suffix.img lacks usr/sbin/mpath-boot"
    done
    grep -q 'usr/lib/systemd/systemd$' "$out/dracut-systemd$suffix.list" ||
        fail "dracut-systemd$suffix.img has no systemd"
    ! grep -q 'usr/lib/systemd/systemd$' "$out/dracut-sh$suffix.list" ||
        fail "dracut-sh$suffix.img has systemd"
done
# The plain images name maps by WWID: no multipath configuration in them.
for img in initramfs-tools dracut-systemd dracut-sh; do
    ! grep -Eq 'etc/multipath(\.conf|/)' "$out/$img.list" ||
        fail "$img.img holds multipath configuration files"
done
lsinitrd "$out/dracut-hostonly.img" > "$out/dracut-hostonly.list"
! grep -q 'usr/sbin/mpath-boot$' "$out/dracut-hostonly.list" ||
    fail "dracut-hostonly.img holds mpath-boot although the build host's root is not on multipath"
grep -q '^dracut modules:' "$out/dracut-hostonly.list" ||
    fail "dracut-hostonly.img: no module list (lsinitrd)"
# mpath-boot's udev rules and settle script are in every image.
for suffix in "" -conf -mpt; do
    for img in initramfs-tools dracut-systemd dracut-sh; do
        grep -q 'lib/udev/rules.d/56-mpath-boot.rules$' "$out/$img$suffix.list" ||
            fail "$img$suffix.img lacks 56-mpath-boot.rules"
        grep -q 'usr/lib/mpath-boot/settle$' "$out/$img$suffix.list" ||
            fail "$img$suffix.img lacks /usr/lib/mpath-boot/settle"
    done
done
# The -mpt images: multipath-tools-boot's multipath and scripts are in the
# initramfs-tools one, next to mpath-boot; dracut's multipath module (and so
# multipathd) is in neither dracut one (90-mpath-boot.conf omits it).
{ grep -q 'scripts/local-top/multipath$' "$out/initramfs-tools-mpt.list" &&
    grep -Eq '(usr/)?sbin/multipath$' "$out/initramfs-tools-mpt.list"; } ||
    fail "initramfs-tools-mpt.img lacks multipath-tools-boot's multipath"
for img in dracut-systemd dracut-sh; do
    ! grep -Eq 'sbin/multipathd?$' "$out/$img-mpt.list" ||
        fail "$img-mpt.img holds dracut's multipath module"
done
# The -conf and -mpt images hold the build host's files, byte for byte.
for img in initramfs-tools dracut-systemd dracut-sh initramfs-tools-mpt dracut-systemd-mpt dracut-sh-mpt; do
    [ "${img%-mpt}" = "$img" ] && img=$img-conf
    for file in multipath.conf multipath/bindings multipath/wwids multipath/conf.d/10-boot-kit.conf; do
        lsinitrd -f "etc/$file" "$out/$img.img" 2>/dev/null | cmp -s - "$mpetc/$file" ||
            fail "$img.img lacks /etc/$file or holds another one"
    done
done

cat > "$out/boot.env" <<EOF
HASH='$hash'
KVER='$KVER'
VMLINUZ='$VMLINUZ'
DISK='$out/disk.img'
DISK_LVM='$out/disk-lvm.img'
EOF
ls -sh "$out"/*.img >&2
