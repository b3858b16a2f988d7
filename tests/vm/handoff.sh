# Guest helpers for tests/vm_handoff.rs (busybox sh), installed as
# /handoff.sh and sourced by the test script after the harness's `section`
# and `wait_until`. Needs the reference overlay (tests/vm/reference-kit.sh)
# and Debian's multipathd 0.9.4 at /sbin/multipathd.

# mpath-boot as a boot script or an admin runs it: without the harness's
# DM_DISABLE_UDEV, so it finds udev (and syncs with it) when udevd runs.
mpb() { env -u DM_DISABLE_UDEV mpath-boot "$@"; }

now() { cut -d' ' -f1 /proc/uptime; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# The multipath maps: "name: start length multipath params", by name.
mp_tables() { dmsetup table --target multipath | sort; }

# "name uuid dm-N open events" of every multipath map (DM UUID mpath-*), by name.
mp_info() {
    dmsetup info -c --noheadings --separator ' ' -o name,uuid,blkdevname,open,events |
        awk '$2 ~ /^mpath-/' | sort
}

# The first path (M:m) of map $1's table: the first path of its first group.
first_path() { dmsetup table "$1" | tr ' ' '\n' | grep -m1 -E '^[0-9]+:[0-9]+$'; }

# The sd disk whose device number is $1.
disk_of() {
    for d in /sys/block/sd*; do
        [ "$(cat "$d/dev")" = "$1" ] && echo "${d##*/}"
    done
}

# The A/F letter `dmsetup status` of map $1 shows for path $2.
path_state() {
    dmsetup status "$1" | awk -v d="$2" '{ for (i = 1; i < NF; i++) if ($i == d) { print $(i + 1); exit } }'
}
path_is() { [ "$(path_state "$1" "$2")" = "$3" ]; }

# wait_path MAP M:m A|F SECONDS: until the kernel's map shows the path so.
wait_path() {
    local t
    t=$(now)
    if wait_until "$4" path_is "$1" "$2" "$3"; then
        echo "$1 $2 $3 after $(took "$t")s"
    else
        echo "$1 $2 still not $3 after $(took "$t")s: $(dmsetup status "$1")"
        return 1
    fi
}

# multipathd as Debian's multipathd.service starts it (-d -s), at -v3 for
# the record, with libdevmapper syncing with udev as on a booted system.
# Waits until it answers on its socket and knows $1 maps.
mpd_start() {
    local t
    t=$(now)
    env -u DM_DISABLE_UDEV multipathd -d -s -v3 >/tmp/multipathd.log 2>&1 &
    echo $! >/tmp/multipathd.pid
    wait_until 60 mpd_configured || { echo "multipathd did not come up"; return 1; }
    wait_until 60 mpd_has_maps "$1" || { echo "multipathd does not show $1 maps"; mpd_maps; return 1; }
    echo "multipathd up with $1 maps after $(took "$t")s"
}
# Past its first configure(): "pid N idle" (or "running" while checking).
mpd_configured() { multipathd show daemon 2>/dev/null | grep -qE 'idle|running'; }
mpd_has_maps() { [ "$(multipathd show maps raw format '%n' 2>/dev/null | grep -c .)" -eq "$1" ]; }
# name, WWID, dm-N, path count, map loads (multipathd's own reloads).
mpd_maps() { multipathd show maps raw format '%n %w %d %N %2'; }
# disk, M:m, map, dm state, checker state, device state.
mpd_paths() { multipathd show paths raw format '%d %D %m %t %T %o' | sort; }
# multipathd shows $1 paths, every one active, ready and running.
mpd_all_ready() { [ "$(mpd_paths | grep -c ' active ready running$')" -eq "$1" ]; }
# multipathd shows disk $1 with dm state $2 and checker state $3.
mpd_path_is() { multipathd show paths raw format '%d %t %T' | grep -q "^$1 $2 $3\$"; }

mpd_stop() {
    multipathd shutdown
    wait_until 30 sh -c '! kill -0 $(cat /tmp/multipathd.pid) 2>/dev/null'
}

# What multipathd logged about the maps it found and what it did to them,
# without the path checker's routine lines; at most $1 lines (default 400).
mpd_log() {
    grep -vE ': tur state = |tur checker|: checker timeout = |^uevents: ' /tmp/multipathd.log |
        head -n "${1:-400}"
}

# with_uevents CMD...: runs CMD, then prints one line per kernel uevent of a
# device-mapper device meanwhile: "uevent: ACTION dm-N" and its DM_* and
# SYNTH_* properties. A resume (after a reload, or a rename) sends "change"
# without DM_ACTION, which marks dm-multipath's path events.
with_uevents() {
    local mon rc
    udevadm monitor --kernel --property --subsystem-match=block >/tmp/uevents 2>&1 &
    mon=$!
    sleep 1
    "$@"
    rc=$?
    sleep 1
    kill $mon
    wait $mon 2>/dev/null
    awk 'function out() { if (dev != "") print "uevent: " act " " dev props; dev = "" }
         /^KERNEL\[/ { out(); act = $2; props = ""; if ($3 ~ /\/dm-[0-9]+$/) { dev = $3; sub(/.*\//, "", dev) }; next }
         /^(DM_|SYNTH_)/ { props = props " " $0 }
         END { out() }' /tmp/uevents
    return $rc
}

# What udev's database says about each multipath map, and its links.
udev_props() {
    for dm in $(mp_info | cut -d' ' -f3); do
        echo "$dm: $(udevadm info --query=property --name=/dev/$dm |
            grep -E '^(DM_NAME|MPATH_DEVICE_READY|DM_UDEV_PRIMARY_SOURCE_FLAG|DM_UDEV_DISABLE_OTHER_RULES_FLAG|DM_ACTIVATION)=' |
            tr '\n' ' ')"
    done
    ls -l /dev/disk/by-id 2>/dev/null | grep -E 'dm-|mpath' | sed 's/.* \([^ ]* -> [^ ]*\)$/\1/'
}
