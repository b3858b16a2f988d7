#!/bin/bash
# dracut module (dracut.modules(7)): mpath-boot assembles device-mapper
# multipath maps in the initramfs, without multipathd, named as the host's
# /etc/multipath.conf, conf.d/ and bindings say (copied into the image).
#  - systemd initramfs: mpath-boot.service, ordered before
#    initrd-root-device.target (the root device wait).
#  - shell initramfs: an initqueue job run once udev has settled, inside the
#    loop in which dracut waits for root= (pre-mount would be too late: dracut
#    only gets there once the root device exists).

# DM UUID of a multipath map ("mpath-<wwid>") or of a partition on one
# ("part<N>-mpath-<wwid>"), as mpath-boot and kpartx make them.
is_mpath_dev() {
    local uuid
    [[ -e /sys/dev/block/$1/dm/uuid ]] || return 1
    uuid=$(< "/sys/dev/block/$1/dm/uuid")
    [[ $uuid == mpath-* || $uuid == part*-mpath-* ]]
}

# called by dracut
check() {
    require_binaries /usr/sbin/mpath-boot || return 1
    # Host-only images get it when a host device needs it; others only when
    # asked for (--add mpath-boot or add_dracutmodules+=" mpath-boot ").
    if [[ $hostonly ]]; then
        for_each_host_dev_and_slaves is_mpath_dev && return 0
    fi
    return 255
}

# called by dracut
depends() {
    # dm: dmsetup and the dm udev rules. Every dracut image runs udev, and a
    # map resume waits on a udev cookie that only 95-dm-notify.rules releases.
    echo dm rootfs-block
    return 0
}

# called by dracut
installkernel() {
    # Whatever the host has loaded: the tables can name any of these.
    hostonly='' instmods dm-multipath dm-round-robin dm-service-time dm-queue-length \
        scsi_dh_alua scsi_dh_rdac scsi_dh_emc scsi_dh_hp_sw sg
}

# multipath-tools' configuration, where multipath(8) 0.9.4 reads it, so
# that the maps get the names (user_friendly_names, aliases, bindings) and
# the paths (blacklist, find_multipaths and wwids) the real root's multipath
# gives them. The unit and the initqueue job run mpath-boot with -B: the
# bindings file in the image is never added to. Only what exists is
# installed; a file that cannot be aborts the build (dracut ignores
# install()'s status), since the image would name the maps differently.
mpath_boot_install_config() {
    local file
    for file in /etc/multipath.conf /etc/multipath/bindings /etc/multipath/wwids; do
        [[ -e $file ]] && mpath_boot_install_file "$file"
    done
    # conf.d: the directory, even empty, and every file in it (multipath
    # reads its *.conf files in alphabetical order).
    [[ -d /etc/multipath/conf.d ]] || return 0
    inst_dir /etc/multipath/conf.d || mpath_boot_install_failed /etc/multipath/conf.d
    for file in /etc/multipath/conf.d/*; do
        [[ -f $file ]] && mpath_boot_install_file "$file"
    done
    return 0
}

mpath_boot_install_file() {
    inst_simple "$1" || mpath_boot_install_failed "$1"
}

mpath_boot_install_failed() {
    dfatal "mpath-boot: cannot install $1 into the initramfs"
    exit 1
}

# called by dracut
install() {
    inst_simple /usr/sbin/mpath-boot
    mpath_boot_install_config
    # Marks paths as multipath members for LVM, blkid and systemd (see the
    # rules file), and hands unclaimed disks back after each run.
    inst_simple /usr/lib/mpath-boot/56-mpath-boot.rules "$udevrulesdir/56-mpath-boot.rules" ||
        mpath_boot_install_failed /usr/lib/mpath-boot/56-mpath-boot.rules
    inst_script /usr/lib/mpath-boot/settle /usr/lib/mpath-boot/settle ||
        mpath_boot_install_failed /usr/lib/mpath-boot/settle
    if dracut_module_included "systemd"; then
        inst_simple "$moddir/mpath-boot.service" "$systemdsystemunitdir/mpath-boot.service"
        $SYSTEMCTL -q --root "$initdir" enable mpath-boot.service
    else
        inst_script "$moddir/mpath-boot-initqueue.sh" /sbin/mpath-boot-initqueue
        inst_hook pre-trigger 50 "$moddir/mpath-boot-pre-trigger.sh"
    fi
}
