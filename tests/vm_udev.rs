//! udev and device-mapper cookies: mpath-boot never hangs on a udev that
//! does not confirm, and leaves nodes to a udev that does.
//!
//! One guest, three udev situations in turn, with Debian's systemd-udevd and
//! device-mapper rules from the reference overlay:
//! - a healthy udev with the dm rules: every cookie confirmed, udev makes
//!   the `/dev/mapper` links;
//! - udev running with the dm rules replaced by empty files (what a broken
//!   image looks like): the first wait runs out after the limit, the cookie
//!   is released, the rest of the run does not wait, nodes are made here;
//! - udevd killed, its control socket left behind: no waits at all.
//!
//! After each, no cookie semaphore may be left in the kernel.

mod common;
#[path = "common/reference.rs"]
mod reference;
mod guest;

use common::{boot, GuestRun, VmConfig};
use guest::{parse_tables, scsi_debug};
use reference::reference_overlay;
use std::time::Duration;

/// Counts device-mapper cookie semaphores: keys 0x0d4d0000..=0x0d4dffff,
/// which /proc/sysvipc/sem prints in decimal.
const COOKIE_KEYS: &str = "awk 'NR>1 && $1>=223150080 && $1<=223215615 {n++} END {print n+0}' /proc/sysvipc/sem";

fn script() -> String {
    format!(
        r#"{sd}
unset DM_DISABLE_UDEV
mkdir -p /run && mount -t tmpfs tmpfs /run
elapsed() {{ awk -v a="$1" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN {{ printf "%d", b - a }}'; }}
timed() {{ t=$(cut -d' ' -f1 /proc/uptime); timeout 120 "$@"; rc=$?; echo "took $(elapsed $t) s"; return $rc; }}
kill_udevd() {{
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = systemd-udevd ] && kill -9 "${{p#/proc/}}"
    done
    sleep 1
}}

/lib/systemd/systemd-udevd --daemon || exit 20
udevadm trigger --action=add && udevadm settle --timeout=120
section healthy timed mpath-boot -v3 --find-multipaths off
section healthy-nodes sh -c 'for n in /dev/mapper/1*; do [ -L "$n" ] && echo "link $n" || echo "node $n"; done'
section healthy-tables dmsetup table
section healthy-flush timed mpath-boot -F
section healthy-cookies {keys}

mkdir -p /etc/udev/rules.d
: > /etc/udev/rules.d/55-dm.rules
: > /etc/udev/rules.d/95-dm-notify.rules
udevadm control --reload
section silent timed mpath-boot -v2 --find-multipaths off
section silent-nodes sh -c 'for n in /dev/mapper/1*; do [ -b "$n" ] && [ ! -L "$n" ] && echo "node $n"; done'
section silent-tables dmsetup table
section silent-cookies {keys}
section silent-flush timed mpath-boot -F

kill_udevd
section stale-socket test -S /run/udev/control
section stale timed mpath-boot -v3 --find-multipaths off
section stale-nodes sh -c 'for n in /dev/mapper/1*; do [ -b "$n" ] && [ ! -L "$n" ] && echo "node $n"; done'
section stale-tables dmsetup table
section stale-cookies {keys}
true
"#,
        sd = scsi_debug("add_host=2 max_luns=2 vpd_use_hostno=0 dev_size_mb=8", 4),
        keys = COOKIE_KEYS,
    )
}

fn took(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("took ")?.strip_suffix(" s")?.parse().ok())
        .unwrap_or_else(|| panic!("no timing in {text}"))
}

fn assert_two_maps_of_two_paths(run: &GuestRun, section: &str) {
    let tables = parse_tables(&run.section_ok(section));
    assert_eq!(tables.len(), 2, "{section}: {tables:?}");
    assert!(tables.iter().all(|t| t.devices().len() == 2), "{section}: {tables:?}");
}

#[test]
fn cookie_waits_are_bounded_and_nodes_follow_udev() {
    let run = boot(&VmConfig {
        name: "udev-cookies",
        script: script(),
        overlays: vec![reference_overlay()],
        timeout: Duration::from_secs(600),
        ..Default::default()
    });
    run.assert_success();

    // Healthy udev: confirmed at once, links made by udev.
    let healthy = run.section_ok("healthy");
    assert!(!healthy.contains("did not confirm"), "{healthy}");
    assert!(!healthy.contains("go unconfirmed"), "udev should be detected:\n{healthy}");
    assert_two_maps_of_two_paths(&run, "healthy-tables");
    let nodes = run.section_ok("healthy-nodes");
    assert_eq!(nodes.matches("link /dev/mapper/").count(), 2, "udev's links:\n{nodes}");
    assert!(!run.section_ok("healthy-flush").contains("did not confirm"));
    assert_eq!(run.section("healthy-cookies").trim(), "0");

    // udev that never confirms: one wait runs out, the rest do not wait.
    let silent = run.section_ok("silent");
    assert_eq!(silent.matches("did not confirm").count(), 1, "{silent}");
    assert!(silent.contains("released its cookie"), "{silent}");
    // Hang detector, not a benchmark: one 10 s limit plus a slow guest.
    assert!(took(&silent) < 60, "{silent}");
    assert_two_maps_of_two_paths(&run, "silent-tables");
    assert_eq!(run.section_ok("silent-nodes").matches("node ").count(), 2, "nodes made here");
    assert_eq!(run.section("silent-cookies").trim(), "0", "no semaphore left behind");
    let flush = run.section_ok("silent-flush");
    assert!(took(&flush) < 60, "{flush}");

    // udevd gone, its socket left over: asked, found dead, never waited on.
    assert_eq!(run.status("stale-socket"), 0, "the socket file stays after udevd dies");
    let stale = run.section_ok("stale");
    assert!(stale.contains("left over, nothing answers it"), "{stale}");
    assert!(!stale.contains("did not confirm"), "{stale}");
    assert_two_maps_of_two_paths(&run, "stale-tables");
    assert_eq!(run.section_ok("stale-nodes").matches("node ").count(), 2);
    assert_eq!(run.section("stale-cookies").trim(), "0");
}
