#!/bin/sh
# dracut pre-trigger hook (sourced; shell initramfs only): queue mpath-boot
# to run once udev has processed the coldplug events that the trigger after
# this hook produces. The job runs in dracut's main loop, which is where
# dracut waits for the root device: the maps exist before that wait ends.
type getargbool > /dev/null 2>&1 || . /lib/dracut-lib.sh

if getargbool 1 rd.multipath && ! getarg mpath_boot=off > /dev/null; then
    /sbin/initqueue --settled --onetime --unique --name mpath-boot /sbin/mpath-boot-initqueue
    # The main loop may not finish (and mount a root found by UUID= on a
    # path's partition) before the job above has run.
    /sbin/initqueue --finished --unique --name mpath-boot-done [ -e /run/mpath-boot.done ]
else
    info "mpath-boot: disabled on the kernel command line"
fi
