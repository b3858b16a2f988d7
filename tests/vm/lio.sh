# Guest helpers for tests/vm_lio.rs (busybox sh, sourced by the test script):
# the kernel's LIO SCSI target with one ramdisk logical unit (rd_mcp, part
# of target_core_mod), exported through tcm_loop target ports. Each
# loopback WWN is a SCSI host in this same kernel, each of its TPGs a
# target on that host: every port with the LU as LUN 0 is a path to it.
export CFS=/sys/kernel/config
export TGT=$CFS/target
export DEV=$TGT/core/rd_mcp_0/lu0

lio_modules() {
    modprobe configfs || return 1
    grep -qs " $CFS configfs" /proc/mounts || mount -t configfs configfs $CFS || return 2
    modprobe target_core_mod || return 3
    modprobe tcm_loop || return 4
    # A fabric's directory exists once made (the kernel looks the fabric up then).
    mkdir -p $TGT/loopback || return 5
}

# lio_backstore SERIAL PAGES: the ramdisk LU (PAGES of 4 KiB) with a fixed
# unit serial, from which LIO derives its NAA 6 designator (page 0x83).
lio_backstore() {
    mkdir -p $DEV || return 1
    echo "rd_pages=$2" > $DEV/control || return 2
    echo 1 > $DEV/enable || return 3
    echo "$1" > $DEV/wwn/vpd_unit_serial || return 4
}

# lio_group NAME ID TYPE TRANS_SECS: a target port group on the LU; TYPE is
# alua_access_type (1 implicit, 2 explicit, 3 both); TRANS_SECS is the
# implicit transition time RTPG reports (scsi_dh_alua's transition timeout).
lio_group() {
    mkdir -p $DEV/alua/$1 || return 1
    echo $2 > $DEV/alua/$1/tg_pt_gp_id || return 2
    echo $3 > $DEV/alua/$1/alua_access_type || return 3
    echo $4 > $DEV/alua/$1/implicit_trans_secs || return 4
}

sd_count() { ls -d /sys/block/sd* 2>/dev/null | wc -l; }

# lio_port WWN TPGT INITIATOR N: a loopback target port with an I_T nexus
# and the LU as LUN 0; waits until the kernel has scanned it as the Nth
# disk, so the disks are named in port order.
lio_port() {
    local t=$TGT/loopback/$1/tpgt_$2
    mkdir -p $t/lun/lun_0 || return 1
    echo "$3" > $t/nexus || return 2
    ln -s $DEV $t/lun/lun_0/lu0 || return 3
    wait_until 60 sh -c "[ \$(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq $4 ]" || return 4
    for d in /sys/block/sd*; do wait_until 30 test -s $d/device/wwid || return 5; done
}

# lio_assign WWN TPGT GROUP: put a port (its LUN 0) into a target port group.
lio_assign() {
    echo "$3" > $TGT/loopback/$1/tpgt_$2/lun/lun_0/alua_tg_pt_gp
}

# lio_state GROUP STATE: implicit transition of a port group (configfs).
lio_state() {
    echo "$2" > $DEV/alua/$1/alua_access_state || return 1
    echo "$1: $(cat $DEV/alua/$1/alua_access_state) $(cat $DEV/alua/$1/alua_access_status)"
}

# lio_port_offline WWN TPGT 0|1: the port's secondary OFFLINE state.
lio_port_offline() {
    echo "$3" > $TGT/loopback/$1/tpgt_$2/lun/lun_0/alua_tg_pt_offline || return 1
    echo "offline: $(cat $TGT/loopback/$1/tpgt_$2/lun/lun_0/alua_tg_pt_offline)"
}

# Every path: name H:C:T:L major:minor [vendor] [model] handler
# kernel-ALUA-state size kernel-wwid.
lio_paths() {
    for d in /sys/block/sd*; do
        echo "${d##*/} $(basename $(readlink -f $d/device)) $(cat $d/dev) [$(cat $d/device/vendor)] [$(cat $d/device/model)] $(cat $d/device/dh_state) $(cat $d/device/access_state 2>/dev/null | tr ' ' _) $(cat $d/size) $(cat $d/device/wwid)"
    done
}

# Every path's page 0x83 as the kernel cached it, in hex: name hex.
lio_vpd83() {
    for d in /sys/block/sd*; do
        echo "${d##*/} $(od -An -v -tx1 $d/device/vpd_pg83 | tr -d ' \n')"
    done
}

# TPGS per path: from a fresh standard INQUIRY (sg_inq, from the reference
# overlay) and from the kernel's copy made when the disk was scanned.
lio_tpgs() {
    for d in /sys/block/sd*; do
        echo "${d##*/} $(sg_inq /dev/${d##*/} | grep -o 'TPGS=[0-9]') cached-byte5=$(od -An -j5 -N1 -tx1 $d/device/inquiry | tr -d ' ')"
    done
}

# The target port groups as LIO has them.
lio_groups() {
    for g in $DEV/alua/*; do
        echo "${g##*/} id=$(cat $g/tg_pt_gp_id) state=$(cat $g/alua_access_state) type=[$(cat $g/alua_access_type)] members=[$(cat $g/members | tr '\n' ' ')]"
    done
}

# lio_rescan: have the kernel read every path's VPD pages and port group
# again. Only while every port is accessible: a rescan of a NOT READY path
# makes sd spin it up (100 s) and leaves it with size 0.
lio_rescan() {
    for d in /sys/block/sd*; do echo 1 > $d/device/rescan || return 1; done
}

# kernel_state DISK WANT: wait (20 s at most) until scsi_dh_alua's view of
# DISK's ALUA state is WANT (spaces as _); print it either way. WANT "-":
# no wait.
kernel_state() {
    local rc=0
    if [ "$2" != - ]; then
        wait_until 20 sh -c "[ \"\$(tr ' ' _ < /sys/block/$1/device/access_state)\" = $2 ]"
        rc=$?
    fi
    echo "$1 $(tr ' ' _ < /sys/block/$1/device/access_state)"
    return $rc
}

# poke DISK: one read of block 0, answered or refused: the target reports
# its pending UNIT ATTENTION (asymmetric access state changed) to the
# next command, and scsi_dh_alua then asks for the port groups again.
poke() {
    dd if=/dev/$1 of=/dev/null bs=512 count=1 iflag=direct 2>/dev/null
    true
}

uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

# bounded SECS CMD...: CMD killed after SECS seconds (status 137); prints
# the status and the elapsed time, returns CMD's status.
bounded() {
    local secs=$1 t0 rc
    shift
    t0=$(uptime_cs)
    timeout -s KILL $secs "$@"
    rc=$?
    echo "bounded: rc=$rc elapsed_cs=$(( $(uptime_cs) - t0 )) limit_s=$secs"
    return $rc
}

# Data through the map: /tmp/pattern.N is 64 KiB of random bytes written
# at 64 KiB block N of the map and read back later.
write_pattern() {
    [ -e /tmp/pattern.$2 ] || dd if=/dev/urandom of=/tmp/pattern.$2 bs=65536 count=1 2>/dev/null || return 1
    if dd if=/tmp/pattern.$2 of=/dev/mapper/$1 bs=65536 seek=$2 count=1 oflag=direct conv=fsync,notrunc 2>/tmp/dd.err; then
        echo "wrote block $2"
    else
        echo "writing block $2 failed: $(cat /tmp/dd.err)"
        return 1
    fi
}

# verify_pattern MAP N...: read blocks N... back through the map (direct)
# and compare with what was written; one line per block.
verify_pattern() {
    local map=$1 n bad=0
    shift
    for n in "$@"; do
        rm -f /tmp/readback
        if dd if=/dev/mapper/$map of=/tmp/readback bs=65536 skip=$n count=1 iflag=direct 2>/dev/null &&
            cmp -s /tmp/pattern.$n /tmp/readback; then
            echo "block $n same"
        else
            echo "block $n DIFFERS"
            bad=1
        fi
    done
    return $bad
}

# collect PREFIX: what the kernel holds now.
collect() {
    section $1.table sh -c 'dmsetup table | sort'
    section $1.status sh -c 'dmsetup status | sort'
    section $1.names sh -c 'dmsetup info -c --noheadings -o name,uuid | sort'
}

# reference PREFIX [ARGS]: multipath-tools 0.9.4 as a booted Debian runs
# it (udevd up, `multipath -v2 ARGS`), what it made, `multipath -ll`,
# then everything undone.
reference() {
    section $1.ref.up /reference/run-multipath.sh up || exit 90
    section $1.ref.run sh -c "unset DM_DISABLE_UDEV; timeout -s KILL 120 multipath -v2 $2; rc=\$?; udevadm settle --timeout=60; exit \$rc"
    collect $1.ref
    section $1.ref.ll sh -c 'unset DM_DISABLE_UDEV; timeout -s KILL 60 multipath -ll'
    section $1.ref.down /reference/run-multipath.sh down
    section $1.ref.cleanup sh -c 'dmsetup remove_all; dmsetup ls'
}

show_file() { if [ -e "$1" ]; then cat "$1"; else echo "(no such file)"; fi; }
