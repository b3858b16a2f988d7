//! A second, independent SCSI target: the kernel's own LIO target, through
//! its loopback fabric (tcm_loop), in the same guest as the initiator.
//!
//! One ramdisk logical unit (rd_mcp) is exported as LUN 0 through three
//! loopback target ports, so the guest sees three paths to it:
//!
//! | disk | port (WWN, TPG) | SCSI host:target | ALUA target port group |
//! |------|-----------------|------------------|------------------------|
//! | sda  | [`PORTS`]\[0\]  | host A, target 1 | `pg_a` (id 1), implicit and explicit |
//! | sdb  | [`PORTS`]\[1\]  | host A, target 2 | `pg_b` (id 2), implicit only |
//! | sdc  | [`PORTS`]\[2\]  | host B, target 1 | `pg_a` |
//!
//! `pg_a` stays active/optimized throughout; `pg_b` goes through every ALUA
//! state LIO lets configfs set (implicit transitions), and the port of sdb
//! through LIO's per-port secondary OFFLINE state. `pg_b` allows no explicit
//! transitions so that scsi_dh_alua never moves it back with SET TARGET
//! PORT GROUPS when dm-multipath activates a group.
//!
//! One guest boot serves every test here (the run is shared): first
//! mpath-boot is compared with multipath-tools 0.9.4 (Debian's, run in the
//! same guest, `tests/common/reference.rs`) for three configurations in
//! which 0.9.4's built-in `LIO-ORG` device entry applies (group_by_prio,
//! ALUA priorities, hardware handler `1 alua`, no_path_retry 12) with `pg_b`
//! active/non-optimized; then a map made by mpath-boot stays in place while
//! `pg_b` changes state under it: after each change mpath-boot runs again
//! (bounded by a timeout, as a hang detector), data written through the map
//! before the change must read back after it, and the map is checked; then
//! the map is flushed and both tools make it afresh, to compare.
//!
//! What LIO, scsi_dh_alua and the two tools do in each state is told in the
//! comments of [`STEPS`]. Measured on Debian's 6.1 kernel, generally:
//!  - LIO queues UNIT ATTENTION 2A/06 (asymmetric access state changed) for
//!    every nexus of a port group that changes state; the next command other
//!    than INQUIRY (mpath-boot's TEST UNIT READY, say) gets it, the SCSI
//!    midlayer retries that command, and scsi_dh_alua sends REPORT TARGET
//!    PORT GROUPS: only then does `device/access_state` change. Until some
//!    command reaches the path, sysfs keeps the old state.
//!  - A rescan (`device/rescan`) of a NOT READY path makes sd spin it up for
//!    100 s and leaves it with size 0 (then both tools pass it over), so the
//!    test rescans only while every port is accessible. The kernel's copy
//!    of the standard INQUIRY (`device/inquiry`) is not read again by a
//!    rescan: its TPGS stays what the first scan saw.
//!  - scsi_dh_alua refuses I/O at once on a standby, unavailable or offline
//!    path; on a transitioning one the midlayer retries each read (NOT READY
//!    04/0a) until (retries + 1) x the command timeout have passed: 180 s by
//!    default, which stalls udev's blkid (see [`script`]).
//!  - The SCSI names are not a ramdisk's: LIO reports vendor `LIO-ORG`,
//!    product `RAMDISK-MCP`, and a page 0x83 with an NAA 6 LU designator
//!    (OUI 0x001405, then the unit serial's hex digits), a T10 vendor id,
//!    the relative target port, the target port group, and SCSI name strings.

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, scratch_dir, GuestRun, VmConfig};
use reference::indent;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::sync::OnceLock;
use std::time::Duration;

/// Guest helpers (busybox sh).
const LIO: &str = include_str!("vm/lio.sh");

/// The LU's unit serial ("lio-mpath-boot-1" in hex): LIO makes its NAA 6
/// designator from the OpenFabrics OUI 0x001405 and the serial's first 25
/// hex digits.
const SERIAL: &str = "6c696f2d6d706174682d626f6f742d31";
/// The WWID both tools must find for every path, and the map's name with
/// `user_friendly_names no`.
const WWID: &str = "360014056c696f2d6d706174682d626f6";
/// The LU: 8192 pages of 4 KiB.
const SECTORS: u64 = 65536;

/// One loopback target port.
struct Port {
    wwn: &'static str,
    tpgt: u32,
    initiator: &'static str,
    group: &'static str,
}

/// The ports, in the order the disks appear (sda, sdb, sdc).
const PORTS: [Port; 3] = [
    Port {
        wwn: "naa.5001405aaaaaaaa1",
        tpgt: 1,
        initiator: "naa.5001405bbbbbbbb1",
        group: "pg_a",
    },
    Port {
        wwn: "naa.5001405aaaaaaaa1",
        tpgt: 2,
        initiator: "naa.5001405bbbbbbbb2",
        group: "pg_b",
    },
    Port {
        wwn: "naa.5001405aaaaaaaa2",
        tpgt: 1,
        initiator: "naa.5001405bbbbbbbb3",
        group: "pg_a",
    },
];

/// A configuration both tools run with, `pg_b` active/non-optimized.
struct Config {
    /// Shell-safe word naming the guest sections.
    name: &'static str,
    /// /etc/multipath.conf; None: the reference overlay's (`find_multipaths off`).
    conf: Option<&'static str>,
    /// Arguments of both `multipath -v2` and `mpath-boot -v3`.
    args: &'static str,
    /// The map's name.
    map: &'static str,
    /// Texts the reference's table must hold (proof the entry applied).
    ref_table_has: &'static [&'static str],
    /// Texts the table the reference loaded must hold.
    ref_loaded_has: &'static [&'static str],
    /// Compare the tables as loaded too (not only the end state: without
    /// multipathd, 0.9.4 loads queue_if_no_path from no_path_retry 12 and
    /// then clears it, while mpath-boot loads that end state directly).
    compare_loaded: bool,
}

const CONFIGS: &[Config] = &[
    // No device section of our own: 0.9.4's LIO-ORG entry (hwtable.c:
    // "(LIO-ORG|SUSE)" ".*": hwhandler 1 alua, group_by_prio, failback
    // immediate, no_path_retry 12, prio alua; detect_prio turns the latter
    // into sysfs, which reads scsi_dh_alua's access_state).
    Config {
        name: "builtin",
        conf: None,
        args: "",
        map: WWID,
        ref_table_has: &[" 1 alua 2 1 "],
        ref_loaded_has: &["queue_if_no_path"],
        compare_loaded: false,
    },
    // Friendly names, and the entry's own prioritizer (alua: REPORT TARGET
    // PORT GROUPS sent by multipath itself) with detect_prio off.
    Config {
        name: "ufn-alua",
        conf: Some("defaults {\n\tfind_multipaths off\n\tuser_friendly_names yes\n\tdetect_prio no\n}\n"),
        args: "",
        map: "mpatha",
        ref_table_has: &[" 1 alua 2 1 "],
        ref_loaded_has: &[],
        compare_loaded: false,
    },
    // A user device section for LIO-ORG merged over the built-in entry:
    // round-robin with priority-weighted repeat counts (50 and 10 times
    // rr_min_io_rq 2), queueing kept with -q.
    Config {
        name: "user-device",
        conf: Some(
            "defaults {\n\tfind_multipaths off\n}\ndevices {\n\tdevice {\n\t\tvendor \"LIO-ORG\"\n\
             \t\tproduct \"RAMDISK-MCP\"\n\t\tpath_selector \"round-robin 0\"\n\t\trr_weight priorities\n\
             \t\trr_min_io_rq 2\n\t\tno_path_retry queue\n\t}\n}\n",
        ),
        args: "-q",
        map: WWID,
        ref_table_has: &["queue_if_no_path", "round-robin 0", " 1 alua 2 1 "],
        ref_loaded_has: &["8:0 100 8:32 100 ", "8:16 20\n"],
        compare_loaded: true,
    },
];

/// What the map must look like after a step, by mpath-boot's own rules.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// All three paths in one group (sdb's port group optimized again).
    OneGroup,
    /// pg_a's paths (sda, sdc) in the first group, sdb alone in a second
    /// group with this priority and path state in mpath-boot's report.
    SecondGroup { prio: i32, state: &'static str },
    /// sdb's TEST UNIT READY fails (mpath-boot's -v3 report gives its
    /// sense as `tur`): sda and sdc make the first group, sdb is not in it.
    Failed { tur: &'static str },
}

/// One change of sdb's port while the map exists.
struct Step {
    /// Shell-safe word naming the guest sections.
    name: &'static str,
    /// Guest command making the change.
    action: &'static str,
    /// scsi_dh_alua's `access_state` for sdb once it has caught up (spaces
    /// as `_`), or None where it never learns the state (RTPG refused).
    kernel: Option<&'static str>,
    expect: Expect,
}

/// The changes, in order (pg_b starts active/non-optimized). What TEST UNIT
/// READY and REPORT TARGET PORT GROUPS return on sdb in each state (LIO in
/// the 6.1 kernel), what scsi_dh_alua makes of it, what each tool does:
const STEPS: &[Step] = &[
    // alua_access_state 2. TUR: NOT READY 04/0b; RTPG allowed, state S.
    // Both tools: ghost, priority 1, a second group.
    Step {
        name: "standby",
        action: "lio_state pg_b 2",
        kernel: Some("standby"),
        expect: Expect::SecondGroup {
            prio: 1,
            state: "ghost",
        },
    },
    // 3. TUR: NOT READY 04/0c; INQUIRY and RTPG allowed, state U.
    // multipath-tools: faulty, priority 0, kept in a second group;
    // mpath-boot: left out of a new map (a live map that holds the path
    // keeps it, as failed, priority 0, in its last group).
    Step {
        name: "unavailable",
        action: "lio_state pg_b 3",
        kernel: Some("unavailable"),
        expect: Expect::Failed {
            tur: "sense key 0x2, ASC/ASCQ 04/0c",
        },
    },
    // 15. TUR: NOT READY 04/0a; RTPG allowed, state T: scsi_dh_alua polls
    // RTPG every 2 s until the implicit transition time (255 s here) runs
    // out, then calls the port standby. Tools as for unavailable.
    Step {
        name: "transitioning",
        action: "lio_state pg_b 15",
        kernel: Some("transitioning"),
        expect: Expect::Failed {
            tur: "sense key 0x2, ASC/ASCQ 04/0a",
        },
    },
    // 14, set on the whole port group: configfs takes it, but LIO 6.1 has
    // no case for it among the primary states ("Unknown ALUA access state:
    // 0x0e"): every command, INQUIRY and RTPG included, gets ILLEGAL
    // REQUEST 24/00. scsi_dh_alua: "rtpg failed", access_state keeps the
    // previous state (and the device's RTPG is asked without the extended
    // header from then on, so its transition timeout falls back to 60 s).
    // multipath-tools: still identifies sdb (udev's database, built from the
    // kernel's cached VPD pages), faulty, ALUA unreadable (prio falls back
    // to const; group priority 0), and hardware handler 0 for the whole
    // map; mpath-boot: left out of a new map, handler `1 alua`.
    Step {
        name: "offline",
        action: "lio_state pg_b 14",
        kernel: None,
        expect: Expect::Failed {
            tur: "sense key 0x5, ASC/ASCQ 24/00",
        },
    },
    // 0: every port optimized; one group of three.
    Step {
        name: "optimized",
        action: "lio_state pg_b 0",
        kernel: Some("active/optimized"),
        expect: Expect::OneGroup,
    },
    // The port's secondary OFFLINE state (lun/alua_tg_pt_offline 1), its
    // group still optimized: TUR, INQUIRY and RTPG get NOT READY 04/12
    // (logical unit not ready, offline); no unit attention, access_state
    // stays active/optimized. Tools as for 14.
    Step {
        name: "port-offline",
        action: "lio_port_offline naa.5001405aaaaaaaa1 2 1",
        kernel: None,
        expect: Expect::Failed {
            tur: "sense key 0x2, ASC/ASCQ 04/12",
        },
    },
    // 1, the port online again. TUR: good; RTPG: state N. Both tools:
    // priority 10, a second group.
    Step {
        name: "non-optimized",
        action: "lio_port_offline naa.5001405aaaaaaaa1 2 0 && lio_state pg_b 1",
        kernel: Some("active/non-optimized"),
        expect: Expect::SecondGroup {
            prio: 10,
            state: "active",
        },
    },
];

/// The guest script.
fn script() -> String {
    let mut s = format!(
        "{LIO}\nlio_modules || exit 10\nlio_backstore {SERIAL} 8192 || exit 11\n\
         lio_group pg_a 1 3 0 || exit 12\nlio_group pg_b 2 1 255 || exit 13\n"
    );
    for (i, p) in PORTS.iter().enumerate() {
        let _ = writeln!(
            s,
            "lio_port {} {} {} {} || exit {}",
            p.wwn,
            p.tpgt,
            p.initiator,
            i + 1,
            14 + i
        );
    }
    for p in &PORTS {
        let _ = writeln!(s, "lio_assign {} {} {} || exit 17", p.wwn, p.tpgt, p.group);
    }
    // Every port is optimized still: a rescan is safe and makes the kernel
    // read page 0x83 (with the new port groups) and the groups again.
    // sdb's SCSI command timeout is 1 s: while its port is transitioning,
    // the midlayer retries every read of it (NOT READY 04/0a) until
    // (retries + 1) x timeout have passed, 180 s with the default 30 s, and
    // udev's blkid reads it whenever the reference starts udevd.
    s.push_str(
        r#"lio_rescan || exit 18
echo 1 > /sys/block/sdb/device/timeout || exit 19
section groups lio_groups
section kernel.initial kernel_state sdb active/optimized
section inventory lio_paths
section vpd83 lio_vpd83
section tpgs lio_tpgs
section dry bounded 60 mpath-boot -d -v3
section config.set lio_state pg_b 1
poke sdb
section config.kernel kernel_state sdb active/non-optimized
cp /etc/multipath.conf /tmp/multipath.conf.orig
"#,
    );
    for c in CONFIGS {
        let conf = if c.conf.is_some() {
            format!("/lio/{}.conf", c.name)
        } else {
            "/tmp/multipath.conf.orig".to_string()
        };
        let n = c.name;
        let a = c.args;
        let _ = write!(
            s,
            r#"cp {conf} /etc/multipath.conf || exit 20
rm -f /etc/multipath/bindings /etc/multipath/wwids
reference {n} '{a}'
section {n}.ref.bindings show_file /etc/multipath/bindings
rm -f /etc/multipath/bindings /etc/multipath/wwids
section {n}.mine.run bounded 60 mpath-boot -v3 {a}
collect {n}.mine
section {n}.mine.bindings show_file /etc/multipath/bindings
section {n}.mine.list mpath-boot -l
section {n}.mine.flush mpath-boot -F
section {n}.mine.cleanup sh -c 'dmsetup remove_all; dmsetup ls'
"#
        );
    }
    let _ = write!(
        s,
        "cp /tmp/multipath.conf.orig /etc/multipath.conf\nrm -f /etc/multipath/bindings /etc/multipath/wwids\n\
         section start bounded 60 mpath-boot -v3\ncollect start\nsection start.list mpath-boot -l\n"
    );
    for (i, step) in STEPS.iter().enumerate() {
        let n = step.name;
        let blocks: Vec<String> = (0..=i).map(|b| b.to_string()).collect();
        let blocks = blocks.join(" ");
        let want = step.kernel.unwrap_or("-");
        let _ = write!(
            s,
            r#"step_{i}() {{ {action}; }}
section {n}.write write_pattern {WWID} {i}
section {n}.set step_{i}
section {n}.reload bounded 60 mpath-boot -v3
collect {n}.reload
section {n}.readback verify_pattern {WWID} {blocks}
section {n}.reload.status sh -c 'dmsetup status | sort'
section {n}.kernel kernel_state sdb {want}
section {n}.paths lio_paths
section {n}.inquiry sh -c 'sg_inq /dev/sdb 2>&1 | head -4'
section {n}.dmesg sh -c 'dmesg | grep -E "alua|sd[abc]|Sense|Asymmetric" | tail -12'
section {n}.flush mpath-boot -F
reference {n}
section {n}.mine.run bounded 60 mpath-boot -v3
collect {n}.mine
section {n}.readback2 verify_pattern {WWID} {blocks}
section {n}.mine.list mpath-boot -l
"#,
            action = step.action
        );
    }
    s.push_str("section final.groups lio_groups\n");
    s
}

/// The guest run shared by every test of this file (one boot).
fn lio_run() -> &'static GuestRun {
    static RUN: OnceLock<Result<GuestRun, String>> = OnceLock::new();
    let result = RUN.get_or_init(|| {
        std::panic::catch_unwind(boot_lio).map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into())
        })
    });
    match result {
        Ok(run) => run,
        Err(why) => panic!("the LIO guest run failed:\n{why}"),
    }
}

fn boot_lio() -> GuestRun {
    let name = "lio";
    let dir = scratch_dir(name);
    let mut files = Vec::new();
    for c in CONFIGS {
        if let Some(text) = c.conf {
            let host = dir.join(format!("{}.conf", c.name));
            fs::write(&host, text).unwrap_or_else(|e| panic!("write {}: {e}", host.display()));
            files.push((host, format!("/lio/{}.conf", c.name)));
        }
    }
    let run = boot(&VmConfig {
        name,
        script: script(),
        files,
        overlays: vec![reference::reference_overlay()],
        timeout: Duration::from_secs(600),
        ..Default::default()
    });
    run.assert_success();
    println!("{name}: guest run took {:.1?}", run.elapsed);
    run
}

// ---------------------------------------------------------------------------
// Parsers of what the guest printed (own simple rules, not mpath-boot's).

/// `name -> (hctl, devnum)` from `lio_paths` lines, and every other field.
#[derive(Clone, Debug)]
struct Disk {
    hctl: String,
    devnum: String,
    vendor: String,
    model: String,
    handler: String,
    size: u64,
    kernel_wwid: String,
}

fn parse_paths(text: &str) -> BTreeMap<String, Disk> {
    let mut disks = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("sd")) {
        // "sda 0:0:1:0 8:0 [LIO-ORG ] [RAMDISK-MCP     ] alua active/optimized 65536 naa.6..."
        let (head, rest) = line.split_once(" [").expect("vendor field");
        let (vendor, rest) = rest.split_once("] [").expect("model field");
        let (model, rest) = rest.split_once("] ").expect("end of model field");
        let h: Vec<&str> = head.split_whitespace().collect();
        let r: Vec<&str> = rest.split_whitespace().collect();
        assert!(h.len() == 3 && r.len() == 4, "bad path line {line:?}");
        disks.insert(
            h[0].to_string(),
            Disk {
                hctl: h[1].to_string(),
                devnum: h[2].to_string(),
                vendor: vendor.trim().to_string(),
                model: model.trim().to_string(),
                handler: r[0].to_string(),
                size: r[2].parse().expect("size"),
                kernel_wwid: r[3].to_string(),
            },
        );
    }
    disks
}

/// Designators of a VPD page 0x83 given in hex: (code set, association,
/// type, identifier bytes).
fn designators(hex: &str) -> Vec<(u8, u8, u8, Vec<u8>)> {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    assert!(bytes.len() >= 4 && bytes[1] == 0x83, "not page 0x83: {hex}");
    let end = (4 + u16::from_be_bytes([bytes[2], bytes[3]]) as usize).min(bytes.len());
    let mut out = Vec::new();
    let mut i = 4;
    while i + 4 <= end {
        let len = bytes[i + 3] as usize;
        let id = bytes[(i + 4).min(end)..(i + 4 + len).min(end)].to_vec();
        out.push((
            bytes[i] & 0x0f,
            (bytes[i + 1] >> 4) & 3,
            bytes[i + 1] & 0x0f,
            id,
        ));
        i += 4 + len;
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One multipath table's path groups: device numbers per group, in order.
fn table_groups(params: &str) -> Vec<Vec<String>> {
    let w: Vec<&str> = params.split_whitespace().collect();
    let num = |i: usize| -> usize {
        w.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad table {params:?}"))
    };
    let mut i = 0;
    i += 1 + num(i); // features
    i += 1 + num(i); // hardware handler
    let groups = num(i);
    i += 2; // number of groups, first group
    let mut out = Vec::new();
    for _ in 0..groups {
        i += 1; // selector
        i += 1 + num(i); // selector arguments
        let paths = num(i);
        let path_args = num(i + 1);
        i += 2;
        let mut devs = Vec::new();
        for _ in 0..paths {
            devs.push(w[i].to_string());
            i += 1 + path_args;
        }
        out.push(devs);
    }
    out
}

/// A status group: its state letter, and per path (device number, 'A' or
/// 'F', fail count).
type StatusGroup = (char, Vec<(String, char, u32)>);
/// A group in mpath-boot's report: priority, (disk, path state) per path.
type ReportGroup = (i32, Vec<(String, String)>);
/// A group in `multipath -ll`: priority, (disk, dm state, checker state).
type LlGroup = (i32, Vec<(String, String, String)>);

/// One multipath status line's paths: (device number, 'A' or 'F', fail
/// count), per group, with the group's state letter.
fn status_groups(params: &str) -> Vec<StatusGroup> {
    let w: Vec<&str> = params.split_whitespace().collect();
    let num = |i: usize| -> usize {
        w.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status {params:?}"))
    };
    let mut i = 0;
    i += 1 + num(i); // features
    i += 1 + num(i); // hardware handler
    let groups = num(i);
    i += 2;
    let mut out = Vec::new();
    for _ in 0..groups {
        let state = w[i].chars().next().unwrap_or('?');
        i += 1;
        i += 1 + num(i); // selector status
        let paths = num(i);
        let info = num(i + 1);
        i += 2;
        let mut devs = Vec::new();
        for _ in 0..paths {
            let st = w[i + 1].chars().next().unwrap_or('?');
            devs.push((w[i].to_string(), st, w[i + 2].parse().unwrap_or(u32::MAX)));
            i += 3 + info;
        }
        out.push((state, devs));
    }
    out
}

/// The comparison with the reference passed (see
/// `reference::assert_same_as_reference`), the run's path inventory given
/// as context.
fn assert_same_as_reference(run: &GuestRun, name: &str, bad_reference: &str, differences: &str) {
    reference::assert_same_as_reference(
        name,
        &run.dir.join("guest.log"),
        &format!("--- paths ---\n{}\n", run.section("inventory")),
        bad_reference,
        differences,
    );
}

/// The (only) map of a `dmsetup table`/`status` output, by name.
fn only_map(text: &str) -> Option<(String, String)> {
    let maps = reference::parse_dmsetup_table(text);
    assert!(maps.len() <= 1, "more than one map: {text}");
    maps.into_iter().next().map(|(n, t)| {
        let params = t.splitn(4, ' ').nth(3).unwrap_or("").to_string();
        assert!(
            t.starts_with(&format!("0 {SECTORS} multipath ")),
            "not the LU's multipath map: {t}"
        );
        (n, params)
    })
}

/// "name: table" lines, sorted: multipath's `addmap [...]`/`reload [...]`
/// lines (-v2), mpath-boot's `table` lines (-v3).
fn loaded_tables(log: &str) -> String {
    let mut lines: Vec<String> = log
        .lines()
        .filter_map(|l| {
            let (head, table) = [": addmap [", ": reload [", ": table "]
                .iter()
                .find_map(|m| l.split_once(m))?;
            let name = head.split_whitespace().last()?;
            Some(format!(
                "{name}: {}\n",
                table.trim_end().trim_end_matches(']').trim_end()
            ))
        })
        .collect();
    lines.sort();
    lines.concat()
}

/// Group priorities and path states from mpath-boot's report line
/// (`create: ... | group 1 prio=50: 0:0:1:0 sda 8:0 active ... | group 2 ...`).
fn mine_groups(log: &str) -> Option<Vec<ReportGroup>> {
    let line = log.lines().find(|l| {
        ["create: ", "reload: ", "unchanged: ", "rename: "]
            .iter()
            .any(|p| l.starts_with(p))
    })?;
    let mut out = Vec::new();
    for seg in line.split(" | ").skip(1) {
        let (head, paths) = seg.split_once(": ")?;
        let prio = head.split_once("prio=")?.1.parse().ok()?;
        let w: Vec<&str> = paths.split_whitespace().collect();
        let members = w
            .chunks(4)
            .filter(|c| c.len() == 4)
            .map(|c| (c[1].to_string(), c[3].to_string()))
            .collect();
        out.push((prio, members));
    }
    Some(out)
}

/// Group priorities and (path, dm state, checker state) from `multipath -ll`.
fn ll_groups(text: &str) -> Vec<LlGroup> {
    let mut out: Vec<LlGroup> = Vec::new();
    for line in text.lines() {
        if line.contains("policy=") {
            let prio = line
                .split_once("prio=")
                .and_then(|(_, r)| r.split_whitespace().next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(i32::MIN);
            out.push((prio, Vec::new()));
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = w.iter().position(|x| x.starts_with("sd")) {
            if i > 0 && w[i - 1].split(':').count() == 4 && w.len() >= i + 4 {
                if let Some(g) = out.last_mut() {
                    g.1.push((w[i].to_string(), w[i + 2].to_string(), w[i + 3].to_string()));
                }
            }
        }
    }
    out
}

/// `bounded:` line of a section: (status, elapsed seconds, limit).
fn bounded(run: &GuestRun, section: &str) -> (i32, f64, u32) {
    let out = run.section(section);
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with("bounded: "))
        .unwrap_or_else(|| run.fail(&format!("{section}: no bounded: line")));
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or_else(|| panic!("{line}: no {k}"))
            .to_string()
    };
    (
        field("rc=").parse().expect("rc"),
        field("elapsed_cs=").parse::<f64>().expect("elapsed") / 100.0,
        field("limit_s=").parse().expect("limit"),
    )
}

/// Disk names by device number, from the inventory.
fn names_by_devnum(run: &GuestRun) -> BTreeMap<String, String> {
    parse_paths(&run.section_ok("inventory"))
        .into_iter()
        .map(|(name, d)| (d.devnum, name))
        .collect()
}

/// A table's groups with disk names instead of device numbers.
fn named_groups(run: &GuestRun, params: &str) -> Vec<Vec<String>> {
    let names = names_by_devnum(run);
    table_groups(params)
        .into_iter()
        .map(|g| {
            g.into_iter()
                .map(|d| names.get(&d).cloned().unwrap_or(d))
                .collect()
        })
        .collect()
}

fn groups_text(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|g| format!("[{}]", g.join(" ")))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------

/// Three ports are three paths to one LU: the same vendor and model, the
/// ALUA handler attached, one NAA type 6 designator (the same bytes on
/// every path) that both the kernel and mpath-boot turn into the WWID, and
/// each path its own relative target port and the target port group it was
/// put in.
#[test]
fn lio_ports_are_three_paths_to_one_lu() {
    let run = lio_run();
    let disks = parse_paths(&run.section_ok("inventory"));
    let names: Vec<&str> = disks.keys().map(String::as_str).collect();
    assert_eq!(names, ["sda", "sdb", "sdc"], "disks: {disks:#?}");
    for (name, d) in &disks {
        assert_eq!(
            (d.vendor.as_str(), d.model.as_str()),
            ("LIO-ORG", "RAMDISK-MCP"),
            "{name}"
        );
        assert_eq!(d.handler, "alua", "{name}: scsi_dh_alua attached");
        assert_eq!(d.size, SECTORS, "{name}: size");
        assert_eq!(
            d.kernel_wwid,
            format!("naa.{}", &WWID[1..]),
            "{name}: kernel's wwid"
        );
    }
    // host:channel:target:lun: sda and sdb are targets 1 and 2 of one
    // host (one loopback WWN, two TPGs), sdc target 1 of another.
    let hctl = |n: &str| -> Vec<String> { disks[n].hctl.split(':').map(String::from).collect() };
    let (a, b, c) = (hctl("sda"), hctl("sdb"), hctl("sdc"));
    assert_eq!(
        (a[0] == b[0], a[0] != c[0]),
        (true, true),
        "hosts: {a:?} {b:?} {c:?}"
    );
    assert_eq!(
        (a[2].as_str(), b[2].as_str(), c[2].as_str()),
        ("1", "2", "1"),
        "targets"
    );
    assert!(
        a[3] == "0" && b[3] == "0" && c[3] == "0",
        "LUN 0 everywhere"
    );

    // Page 0x83 as the kernel read it after the groups were assigned.
    let vpd: BTreeMap<String, String> = run
        .section_ok("vpd83")
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.trim().to_string()))
        })
        .collect();
    let mut naa = Vec::new();
    for (disk, rel_port, group) in [("sda", 1u32, 1u32), ("sdb", 2, 2), ("sdc", 3, 1)] {
        let ds = designators(&vpd[disk]);
        // LU association (0), binary, type 3 (NAA), first nibble 6.
        let lu_naa: Vec<&Vec<u8>> = ds
            .iter()
            .filter(|(_, assoc, ty, id)| {
                *assoc == 0 && *ty == 3 && id.first().is_some_and(|b| b >> 4 == 6)
            })
            .map(|(_, _, _, id)| id)
            .collect();
        assert_eq!(lu_naa.len(), 1, "{disk}: one NAA 6 LU designator in {ds:?}");
        assert_eq!(lu_naa[0].len(), 16, "{disk}: NAA 6 is 16 bytes");
        naa.push(hex(lu_naa[0]));
        // Target port association (1): relative target port (type 4) and
        // target port group (type 5), each a 4-byte field with the number
        // in its last two bytes.
        let port_field = |ty: u8| -> Option<u32> {
            ds.iter()
                .find(|(_, assoc, t, _)| *assoc == 1 && *t == ty)
                .map(|(_, _, _, id)| u32::from(u16::from_be_bytes([id[2], id[3]])))
        };
        assert_eq!(
            port_field(4),
            Some(rel_port),
            "{disk}: relative target port in {ds:?}"
        );
        assert_eq!(
            port_field(5),
            Some(group),
            "{disk}: target port group in {ds:?}"
        );
    }
    assert!(
        naa.iter().all(|n| *n == naa[0]),
        "NAA 6 designators differ: {naa:?}"
    );
    assert_eq!(format!("3{}", naa[0]), WWID, "WWID from the designator");

    // TPGS in the standard INQUIRY is per port, from the port's group:
    // pg_a allows implicit and explicit transitions (3), pg_b implicit ones
    // only (1). (The kernel's cached copy, `device/inquiry`, keeps what the
    // first scan saw, the default group's 3, even after a rescan.)
    let tpgs = run.section_ok("tpgs");
    for (disk, want) in [("sda", 3), ("sdb", 1), ("sdc", 3)] {
        let line = tpgs
            .lines()
            .find(|l| l.starts_with(&format!("{disk} ")))
            .unwrap_or("");
        assert!(
            line.contains(&format!(" TPGS={want} ")),
            "{disk}: TPGS={want} expected (sg_inq): {tpgs}"
        );
    }

    // mpath-boot identifies every path with that WWID (dry run, -v3)...
    let dry = run.section_ok("dry");
    for disk in ["sda", "sdb", "sdc"] {
        assert!(
            dry.lines().any(|l| l.contains(&format!(" {disk}: ")) && l.contains(&format!(" wwid {WWID} "))),
            "{disk}: mpath-boot -d -v3 does not report wwid {WWID}:\n{}",
            indent(&dry)
        );
    }
    let (_, table) = dry
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{WWID}: "))
                .map(|t| ((), t.to_string()))
        })
        .unwrap_or_else(|| panic!("no dry-run table for {WWID}:\n{}", indent(&dry)));
    assert!(
        table.starts_with(&format!("0 {SECTORS} multipath ")),
        "{table}"
    );
    assert_eq!(
        table_groups(table.splitn(4, ' ').nth(3).unwrap())
            .concat()
            .len(),
        3,
        "{table}"
    );
    // ... and -l lists the map it made with the UUID mpath-<WWID>.
    let list = run.section_ok("start.list");
    assert!(
        list.contains(&format!("{WWID} (mpath-{WWID})")),
        "mpath-boot -l:\n{}",
        indent(&list)
    );
}

/// What one tool left in the kernel.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    table: String,
    names: String,
    /// Per path of the (only) map: device number and dm's A/F state.
    path_states: Vec<(String, char)>,
}

impl Outcome {
    fn read(run: &GuestRun, prefix: &str) -> Outcome {
        let status = run.section(&format!("{prefix}.status"));
        let path_states = only_map(&status)
            .map(|(_, p)| {
                status_groups(&p)
                    .into_iter()
                    .flat_map(|(_, ps)| ps)
                    .map(|(d, s, _)| (d, s))
                    .collect()
            })
            .unwrap_or_default();
        Outcome {
            table: run.section(&format!("{prefix}.table")),
            names: run.section(&format!("{prefix}.names")),
            path_states,
        }
    }

    /// What differs from `other`: "tables", "names/UUIDs", "dm path states".
    fn differences(&self, other: &Outcome) -> Vec<&'static str> {
        let mut what = Vec::new();
        if self.table != other.table {
            what.push("tables");
        }
        if self.names != other.names {
            what.push("names/UUIDs");
        }
        if self.path_states != other.path_states {
            what.push("dm path states");
        }
        what
    }

    fn show(&self) -> String {
        format!(
            "  tables:\n{}\n  names:\n{}\n  dm path states: {:?}",
            indent(&self.table),
            indent(&self.names),
            self.path_states
        )
    }
}

/// mpath-boot makes the maps multipath-tools 0.9.4 makes for the LIO paths
/// (names, UUIDs, tables, and the tables as loaded where both load the
/// same) under 0.9.4's built-in LIO-ORG entry: group_by_prio puts the two
/// optimized ports first and the non-optimized one in a second group.
#[test]
fn lio_configs_match_reference() {
    let run = lio_run();
    let kernel = run.section("config.kernel");
    assert_eq!(
        run.status("config.kernel"),
        0,
        "scsi_dh_alua never saw sdb non-optimized: {kernel}"
    );
    let mut bad_reference = String::new();
    let mut differences = String::new();
    for c in CONFIGS {
        let n = c.name;
        let theirs = Outcome::read(run, &format!("{n}.ref"));
        let mine = Outcome::read(run, &format!("{n}.mine"));
        let ref_log = run.section(&format!("{n}.ref.run"));
        let mine_log = run.section(&format!("{n}.mine.run"));
        let (ref_loaded, mine_loaded) = (loaded_tables(&ref_log), loaded_tables(&mine_log));
        println!(
            "lio: {n}: reference loaded:\n{}\n  mpath-boot loaded:\n{}",
            indent(&ref_loaded),
            indent(&mine_loaded)
        );

        let mut problems = Vec::new();
        match only_map(&theirs.table) {
            None => problems.push("no map".to_string()),
            Some((name, params)) => {
                if name != c.map {
                    problems.push(format!("map {name}, expected {}", c.map));
                }
                let groups = named_groups(run, &params);
                if groups != [vec!["sda", "sdc"], vec!["sdb"]] {
                    problems.push(format!("groups {}", groups_text(&groups)));
                }
                for text in c.ref_table_has {
                    if !format!(" {params} ").contains(text) {
                        problems.push(format!("table lacks {text:?}"));
                    }
                }
            }
        }
        if !theirs.names.contains(&format!("{}:mpath-{WWID}", c.map)) {
            problems.push(format!("name/UUID {:?}", theirs.names.trim()));
        }
        for text in c.ref_loaded_has {
            if !ref_loaded.contains(text) {
                problems.push(format!("loaded table lacks {text:?}"));
            }
        }
        if !problems.is_empty() {
            let _ = writeln!(
                bad_reference,
                "=== {n}: the reference's result is not what the test expects:\n  {}\n--- multipath -v2 {} ---\n{}\n{}",
                problems.join("\n  "),
                c.args,
                indent(&ref_log),
                theirs.show()
            );
            continue;
        }
        let (ref_bindings, mine_bindings) = (
            run.section(&format!("{n}.ref.bindings")),
            run.section(&format!("{n}.mine.bindings")),
        );
        let mut what = mine.differences(&theirs);
        if mine_bindings != ref_bindings {
            what.push("bindings file");
        }
        if c.compare_loaded && mine_loaded != ref_loaded {
            what.push("loaded tables");
        }
        if !what.is_empty() {
            let _ = writeln!(
                differences,
                "=== {n}: mpath-boot differs in {}\n--- multipath-tools (multipath -v2 {a}) ---\n{}\n  loaded:\n{}\n  bindings:\n{}\n\
                 --- mpath-boot -v3 {a} (exit {}) ---\n{}\n{}\n  loaded:\n{}\n  bindings:\n{}",
                what.join(", "),
                theirs.show(),
                indent(&ref_loaded),
                indent(&ref_bindings),
                run.status(&format!("{n}.mine.run")),
                indent(&mine_log),
                mine.show(),
                indent(&mine_loaded),
                indent(&mine_bindings),
                a = c.args,
            );
        }
    }
    assert_same_as_reference(run, "lio configurations", &bad_reference, &differences);
}

/// The map mpath-boot made stays in place while sdb's port changes ALUA
/// state under it. After each change: `mpath-boot` (which reloads the map
/// when its paths or groups changed) exits 0 within its 60 s bound (a hang
/// detector), the map holds the optimized ports in its first group and sdb
/// where its state puts it, no path of the map is failed by dm-multipath,
/// every block written through the map before any change reads back the
/// same after it (and after the map was flushed and made again), and
/// mpath-boot's report gives sdb the priority and state of its ALUA state.
#[test]
fn lio_alua_state_changes_keep_map_and_data() {
    let run = lio_run();
    let mut failures = Vec::new();
    for step in STEPS {
        let n = step.name;
        let mut fail = |what: String| failures.push(format!("=== {n}: {what}"));
        let set = run.first_section(&format!("{n}.set"));
        if set.status != 0 {
            fail(format!(
                "setting the state failed ({}): {}",
                step.action, set.output
            ));
            continue;
        }
        let write = run.first_section(&format!("{n}.write"));
        if write.status != 0 {
            fail(format!("writing through the map failed: {}", write.output));
        }
        for (section, what) in [
            (format!("{n}.reload"), "reload"),
            (format!("{n}.mine.run"), "fresh run"),
        ] {
            let (rc, secs, limit) = bounded(run, &section);
            let log = run.section(&section);
            if rc == 137 {
                fail(format!(
                    "mpath-boot ({what}) hung: killed after {limit} s\n{}",
                    indent(&log)
                ));
            } else if rc != 0 {
                fail(format!(
                    "mpath-boot ({what}) exited {rc} after {secs:.1} s\n{}",
                    indent(&log)
                ));
            }
            let prefix = if what == "reload" {
                format!("{n}.reload")
            } else {
                format!("{n}.mine")
            };
            let table = run.section(&format!("{prefix}.table"));
            let Some((name, params)) = only_map(&table) else {
                fail(format!("no map after the {what}:\n{}", indent(&table)));
                continue;
            };
            if name != WWID {
                fail(format!("map named {name} after the {what}"));
            }
            let groups = named_groups(run, &params);
            let first_ok = groups
                .first()
                .is_some_and(|g| g.contains(&"sda".into()) && g.contains(&"sdc".into()));
            let ok = match step.expect {
                Expect::OneGroup => groups == [vec!["sda", "sdb", "sdc"]],
                Expect::SecondGroup { .. } => groups == [vec!["sda", "sdc"], vec!["sdb"]],
                Expect::Failed { .. } => first_ok && !groups[0].contains(&"sdb".into()),
            };
            if !ok {
                fail(format!(
                    "{what}: groups {} do not fit {:?}",
                    groups_text(&groups),
                    step.expect
                ));
            }
            // mpath-boot's own report of the groups.
            let report = mine_groups(&log);
            match (step.expect, &report) {
                (Expect::SecondGroup { prio, state }, Some(r)) => {
                    let want = vec![
                        (
                            50,
                            vec![
                                ("sda".to_string(), "active".to_string()),
                                ("sdc".to_string(), "active".to_string()),
                            ],
                        ),
                        (prio, vec![("sdb".to_string(), state.to_string())]),
                    ];
                    if *r != want {
                        fail(format!(
                            "{what}: mpath-boot reports {r:?}, expected {want:?}"
                        ));
                    }
                }
                (Expect::OneGroup, Some(r)) => {
                    if r.len() != 1 || r[0].0 != 50 {
                        fail(format!(
                            "{what}: mpath-boot reports {r:?}, expected one group of priority 50"
                        ));
                    }
                }
                (Expect::Failed { tur }, Some(_)) => {
                    // The TEST UNIT READY answer that made sdb unusable.
                    let said = log.lines().any(|l| {
                        l.contains("sdb: ")
                            && l.contains("TEST UNIT READY failed")
                            && l.contains(tur)
                    });
                    if !said {
                        fail(format!("{what}: mpath-boot -v3 does not report sdb's TEST UNIT READY failure ({tur}):\n{}", indent(&log)));
                    }
                }
                (_, None) => fail(format!("{what}: no map report line in\n{}", indent(&log))),
            }
        }
        // After the data check the first group carries the I/O, and
        // dm-multipath failed none of its paths (nor any other path, unless
        // sdb's TEST UNIT READY fails: a tool may load it as failed).
        let status = run.section(&format!("{n}.reload.status"));
        if let Some((_, params)) = only_map(&status) {
            let groups = status_groups(&params);
            if groups.first().map(|g| g.0) != Some('A') {
                fail(format!(
                    "the first group is not the active one after I/O:\n{}",
                    indent(&status)
                ));
            }
            let may_fail = matches!(step.expect, Expect::Failed { .. });
            let failed: Vec<String> = groups
                .iter()
                .enumerate()
                .flat_map(|(g, (_, ps))| ps.iter().map(move |p| (g, p)))
                .filter(|(g, (_, st, _))| *st != 'A' && (*g == 0 || !may_fail))
                .map(|(g, (d, st, c))| format!("group {} {d} {st} failures {c}", g + 1))
                .collect();
            if !failed.is_empty() {
                fail(format!(
                    "dm-multipath failed paths after the data check: {failed:?}\n{}",
                    indent(&status)
                ));
            }
        } else {
            fail(format!(
                "no map status after the data check:\n{}",
                indent(&status)
            ));
        }
        for section in [format!("{n}.readback"), format!("{n}.readback2")] {
            let s = run.first_section(&section);
            if s.status != 0 || s.output.contains("DIFFERS") {
                fail(format!("{section}: data lost:\n{}", indent(&s.output)));
            }
        }
        // scsi_dh_alua's view of sdb once it caught up.
        let kernel = run.first_section(&format!("{n}.kernel"));
        println!("lio: {n}: kernel: {}", kernel.output.trim());
        if let Some(want) = step.kernel {
            if kernel.status != 0 {
                fail(format!(
                    "scsi_dh_alua's access_state never became {want}: {}",
                    kernel.output.trim()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "LIO ALUA state changes (see {}):\n{}",
        run.dir.join("guest.log").display(),
        failures.join("\n")
    );
}

/// Differences between mpath-boot's and the reference's results for the
/// steps `pick` selects, as a failure report (empty: none).
fn compare_steps(run: &GuestRun, pick: impl Fn(&Step) -> bool) -> (String, String) {
    let mut differences = String::new();
    let mut bad_reference = String::new();
    for step in STEPS.iter().filter(|s| pick(s)) {
        let n = step.name;
        let theirs = Outcome::read(run, &format!("{n}.ref"));
        let mine = Outcome::read(run, &format!("{n}.mine"));
        let ref_log = run.section(&format!("{n}.ref.run"));
        let mine_log = run.section(&format!("{n}.mine.run"));
        let ll_text = run.section(&format!("{n}.ref.ll"));
        let (ll, report) = (
            ll_groups(&ll_text),
            mine_groups(&mine_log).unwrap_or_default(),
        );
        let ref_prios: Vec<i32> = ll.iter().map(|g| g.0).collect();
        let mine_prios: Vec<i32> = report.iter().map(|g| g.0).collect();
        // Path states per group: multipath's checker states (ready, ghost,
        // faulty) in mpath-boot's words (active, ghost, failed).
        let ref_states: Vec<Vec<(String, String)>> = ll
            .iter()
            .map(|(_, ps)| {
                ps.iter()
                    .map(|(d, _, chk)| {
                        let word = match chk.as_str() {
                            "ready" => "active",
                            "faulty" => "failed",
                            other => other,
                        };
                        (d.clone(), word.to_string())
                    })
                    .collect()
            })
            .collect();
        let mine_states: Vec<Vec<(String, String)>> =
            report.iter().map(|(_, ps)| ps.clone()).collect();
        let Some((_, ref_params)) = only_map(&theirs.table) else {
            let _ = writeln!(
                bad_reference,
                "=== {n}: the reference made no map\n--- multipath -v2 ---\n{}",
                indent(&ref_log)
            );
            continue;
        };
        let mine_params = only_map(&mine.table).map(|(_, p)| p).unwrap_or_default();
        let summary = |params: &str, prios: &[i32]| {
            if params.is_empty() {
                return "no map".to_string();
            }
            let w: Vec<&str> = params.split_whitespace().collect();
            let features: usize = w[0].parse().unwrap_or(0);
            let handler = w.get(1 + features..).map(|r| {
                let k: usize = r[0].parse().unwrap_or(0);
                r[..=k.min(r.len() - 1)].join(" ")
            });
            format!(
                "groups {} prios {prios:?} handler '{}'",
                groups_text(&named_groups(run, params)),
                handler.unwrap_or_default()
            )
        };
        println!(
            "lio: {n}: reference: {}; mpath-boot: {}",
            summary(&ref_params, &ref_prios),
            summary(&mine_params, &mine_prios)
        );
        let mut what = mine.differences(&theirs);
        if mine_prios != ref_prios {
            what.push("group priorities");
        }
        if mine_states != ref_states {
            what.push("path states");
        }
        if !what.is_empty() {
            let _ = writeln!(
                differences,
                "=== {n} ({}): mpath-boot differs in {}\n  multipath-tools: {}\n  mpath-boot:      {}\n\
                 --- multipath-tools: multipath -v2 ---\n{}\n{}\n  multipath -ll:\n{}\n\
                 --- mpath-boot -v3 (exit {}) ---\n{}\n{}",
                step.action,
                what.join(", "),
                summary(&ref_params, &ref_prios),
                summary(&mine_params, &mine_prios),
                indent(&ref_log),
                theirs.show(),
                indent(&ll_text),
                run.status(&format!("{n}.mine.run")),
                indent(&mine_log),
                mine.show()
            );
        }
    }
    (bad_reference, differences)
}

/// With sdb's port active/optimized, active/non-optimized or standby,
/// mpath-boot makes the map multipath-tools 0.9.4 makes (both run afresh on
/// the same paths in the same guest): the same table (paths, groups,
/// order), name and UUID, the same paths active in dm-multipath, and the
/// same group priorities and path states (mpath-boot's report against
/// `multipath -ll`: ready, ghost, faulty).
/// Standby: both call sdb a ghost (TEST UNIT READY: NOT READY 04/0b) and
/// give it priority 1.
#[test]
fn lio_alua_states_match_reference() {
    let run = lio_run();
    let (bad_reference, differences) =
        compare_steps(run, |s| !matches!(s.expect, Expect::Failed { .. }));
    assert_same_as_reference(run, "lio ALUA states", &bad_reference, &differences);
}

/// A path whose TEST UNIT READY fails while the target still answers:
/// NOT READY 04/0c (unavailable), 04/0a (transitioning), 04/12 (the port's
/// secondary offline state), or ILLEGAL REQUEST 24/00 (LIO's answer to
/// every command once a port group is set to state 14). multipath-tools
/// 0.9.4 keeps such a path in the map, in a group of its own with priority
/// 0 (its `tur` checker says faulty; dm-multipath has it active until I/O
/// fails on it), and where the path's ALUA support cannot be read (RTPG
/// refused: the offline cases) it drops the hardware handler to `0`. The
/// same maps are expected of mpath-boot.
#[test]
fn lio_not_ready_path_matches_reference() {
    let run = lio_run();
    let (bad_reference, differences) =
        compare_steps(run, |s| matches!(s.expect, Expect::Failed { .. }));
    assert_same_as_reference(run, "lio NOT READY path", &bad_reference, &differences);
}
