#!/bin/sh
# dracut initqueue job (shell initramfs only), queued by
# mpath-boot-pre-trigger.sh. Never fails the boot: a missing map shows up as
# a missing root device, which dracut reports by itself.
type info > /dev/null 2>&1 || . /lib/dracut-lib.sh

for module in dm-multipath dm-round-robin dm-service-time dm-queue-length \
    scsi_dh_alua scsi_dh_rdac scsi_dh_emc scsi_dh_hp_sw sg; do
    modprobe -q "$module" || warn "mpath-boot: cannot load module $module"
done

info "mpath-boot: assembling multipath maps"
# Output to the console, as with the systemd unit. -B: the bindings file is
# the host's copy; a WWID it does not bind is named by its WWID, never given
# an alias the real root's bindings file would not have.
/usr/sbin/mpath-boot -B --cmdline > /dev/console 2>&1
status=$?
[ "$status" -eq 0 ] || warn "mpath-boot: exit status $status; continuing the boot"
# Hands disks marked provisionally by 56-mpath-boot.rules that no map took
# back to LVM, and lets udev finish with the removed path partitions, so
# /dev/disk/by-uuid (root=UUID=) leads to the maps.
/usr/lib/mpath-boot/settle
# Lets the initqueue finish (mpath-boot-pre-trigger.sh's --finished hook).
: > /run/mpath-boot.done
exit 0
