#!/bin/bash
# dracut module (dracut.modules(7)): mpath-boot assembles device-mapper
# multipath maps in the initramfs, without multipathd.
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
        scsi_dh_alua scsi_dh_rdac scsi_dh_emc scsi_dh_hp_sw
}

# called by dracut
install() {
    inst_simple /usr/sbin/mpath-boot
    if dracut_module_included "systemd"; then
        inst_simple "$moddir/mpath-boot.service" "$systemdsystemunitdir/mpath-boot.service"
        $SYSTEMCTL -q --root "$initdir" enable mpath-boot.service
    else
        inst_script "$moddir/mpath-boot-initqueue.sh" /sbin/mpath-boot-initqueue
        inst_hook pre-trigger 50 "$moddir/mpath-boot-pre-trigger.sh"
    fi
}
