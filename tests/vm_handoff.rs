//! Hand-off to multipathd: the maps mpath-boot makes in early boot (no udev,
//! no daemon) are the maps Debian's multipathd 0.9.4 keeps once the system
//! is up, and mpath-boot run on a live system leaves multipathd's maps and
//! its failed paths alone.
//!
//! One guest boot (scsi_debug, two hosts x two LUs: four paths to two LUs)
//! runs every scenario in order, each test below checks one of them:
//!  1. mpath-boot makes the maps as in early boot (no udevd, no /run/udev);
//!  2. udevd starts and replays "add" (`udevadm trigger`), then multipathd
//!     (`-d -s`, as Debian's multipathd.service) starts and adopts the maps;
//!  3. a path goes offline: multipathd fails it in the map, and reinstates
//!     it once the device runs again;
//!  4. the maps are flushed and made again by Debian's `multipath -v2`
//!     (multipathd running), then mpath-boot runs on the live system;
//!  5. one map is held open, one of its paths is offline and failed by
//!     multipathd, and mpath-boot runs again.
//!
//! The same /etc/multipath.conf (user_friendly_names, find_multipaths off,
//! polling_interval 1) is read by mpath-boot, multipath and multipathd.
//! Reference binaries come from the reference kit (tests/vm/reference-kit.sh);
//! its overlay lacks multipathd, so this test adds multipathd and the one
//! library only it needs (libmpathpersist) from the kit's unpacked packages.

mod common;
mod guest;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, GuestRun, VmConfig};
use guest::{
    lu_path_sets, map_path_sets, parse_inventory, parse_tables, scsi_debug, Disk, DmTable,
    INVENTORY,
};
use reference::{indent, reference_overlay};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// 2 hosts x 2 LUNs: four paths to two logical units, ALUA (host 0's port
/// active/optimized, host 1's non-optimized).
const SCSI_DEBUG: &str = "add_host=2 vpd_use_hostno=0 max_luns=2 dev_size_mb=8";
const PATHS: usize = 4;
const LUS: usize = 2;

/// For mpath-boot, multipath and multipathd alike.
const MULTIPATH_CONF: &str = "defaults {
	user_friendly_names yes
	find_multipaths off
	polling_interval 1
}
";

/// The guest script. `@SCSI_DEBUG@`, `@INVENTORY@`, `@CONF@`, `@LUS@` and
/// `@PATHS@` are filled in by [`script`].
const SCRIPT: &str = r#"
@SCSI_DEBUG@
. /handoff.sh
mkdir -p /etc/multipath
cat > /etc/multipath.conf <<'EOF'
@CONF@EOF
section inventory @INVENTORY@

# --- 1. early boot: no udevd, no daemon --------------------------------------
section boot-env sh -c 'test -e /run/udev && echo "run-udev: present" || echo "run-udev: absent"'
section boot-run mpb
section boot-tables mp_tables
section boot-info mp_info
section boot-bindings cat /etc/multipath/bindings
section boot-nodes ls -l /dev/mapper

# --- 2. the system is up: udevd, then multipathd -----------------------------
section udev-up /reference/run-multipath.sh up || exit 20
section mpd-start mpd_start @LUS@ || { cat /tmp/multipathd.log; exit 21; }
udevadm settle --timeout=60
# The checker's first verdicts may still be pending.
section adopt-ready wait_until 30 mpd_all_ready @PATHS@
section adopt-maps mpd_maps
section adopt-paths mpd_paths
section adopt-tables mp_tables
section adopt-info mp_info
section adopt-config sh -c "multipathd show config | sed -n '/^defaults {/,/^}/p'"
section adopt-nodes ls -l /dev/mapper
section adopt-udev udev_props
section adopt-log mpd_log
# mpath-boot again, now that udevd and multipathd run.
section adopt-rerun with_uevents mpb
section adopt-rerun-tables mp_tables

# --- 3. a path fails and comes back -------------------------------------------
MAP=$(mp_tables | head -n1 | cut -d: -f1)
DEV=$(first_path "$MAP")
DISK=$(disk_of "$DEV")
section fail-target echo "$MAP $DEV $DISK"
echo offline > /sys/block/$DISK/device/state
section fail-wait wait_path "$MAP" "$DEV" F 30
section fail-mpd wait_until 30 mpd_path_is "$DISK" failed faulty
section fail-status dmsetup status "$MAP"
section fail-paths mpd_paths
echo running > /sys/block/$DISK/device/state
section restore-wait wait_path "$MAP" "$DEV" A 30
section restore-mpd wait_until 30 mpd_path_is "$DISK" active ready
section restore-status dmsetup status "$MAP"
section restore-paths mpd_paths

# --- 4. maps made by the reference, then mpath-boot on the live system --------
ref_flush() {
    env -u DM_DISABLE_UDEV multipath -F
    rc=$?
    udevadm settle --timeout=60
    return $rc
}
ref_create() {
    env -u DM_DISABLE_UDEV multipath -v2
    rc=$?
    udevadm settle --timeout=60
    wait_until 60 mpd_has_maps @LUS@ || { echo "multipathd does not show @LUS@ maps"; rc=1; }
    return $rc
}
section ref-flush ref_flush
section ref-flushed mp_info
section ref-create ref_create
udevadm settle --timeout=60
section ref-maps mpd_maps
section ref-nodes ls -l /dev/mapper
section ref-udev udev_props
section ref-tables mp_tables
section ref-info mp_info
section rerun with_uevents mpb
section rerun-v3 with_uevents mpb -v3
section rerun-tables mp_tables
section rerun-info mp_info
# Does an identical reload (suspend, resume) show in the event counter?
# The second map, so the first stays as scenario 5 expects it.
MAP2=$(mp_tables | sed -n 2p | cut -d: -f1)
same_reload() {
    dmsetup table "$MAP2" >/tmp/table2
    env -u DM_DISABLE_UDEV sh -c \
        "dmsetup reload $MAP2 /tmp/table2 && dmsetup suspend --noflush $MAP2 && dmsetup resume $MAP2"
}
section probe-before mp_info
section probe-reload with_uevents same_reload
section probe-after mp_info

# --- 5. an open map with a failed path ----------------------------------------
DM=$(dmsetup info -c --noheadings -o blkdevname "$MAP")
sleep 100000 </dev/$DM >/dev/null 2>&1 &
HOLDER=$!
wait_until 10 sh -c "[ \$(dmsetup info -c --noheadings -o open $MAP) -gt 0 ]"
section open-info mp_info
echo offline > /sys/block/$DISK/device/state
section open-fail-wait wait_path "$MAP" "$DEV" F 30
section open-fail-mpd wait_until 30 mpd_path_is "$DISK" failed faulty
section open-before-tables mp_tables
section open-before-status dmsetup status "$MAP"
# What multipath 0.9.4 itself does here.
section open-ref-run with_uevents env -u DM_DISABLE_UDEV multipath -v2
section open-ref-tables mp_tables
# multipath may have reinstated the path: wait until multipathd fails it again.
section open-refail-wait wait_path "$MAP" "$DEV" F 30
section open-run with_uevents mpb -v3
section open-after-tables mp_tables
section open-after-status dmsetup status "$MAP"
section open-after-info mp_info
sleep 3
section open-later-tables mp_tables
section open-later-paths mpd_paths
echo running > /sys/block/$DISK/device/state
sleep 5
section open-restored-tables mp_tables
section open-restored-paths mpd_paths
kill $HOLDER
section mpd-log mpd_log 1000
section mpd-stop mpd_stop
true
"#;

fn script() -> String {
    SCRIPT
        .replace("@SCSI_DEBUG@", &scsi_debug(SCSI_DEBUG, PATHS))
        .replace("@INVENTORY@", INVENTORY)
        .replace("@CONF@", MULTIPATH_CONF)
        .replace("@LUS@", &LUS.to_string())
        .replace("@PATHS@", &PATHS.to_string())
}

/// A file of the reference kit's unpacked packages: the overlay's copy if
/// the kit ships it, else the one `reference-kit.sh` left in `extract/`.
fn kit_file(root: &std::path::Path, rel: &[&str]) -> PathBuf {
    let kit = root.parent().expect("reference/root has a parent");
    rel.iter()
        .flat_map(|r| [root.join(r), kit.join("extract").join(r)])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{rel:?} not in the reference kit ({}): run tests/vm/reference-kit.sh",
                kit.display()
            )
        })
}

/// The one guest run every test here reads; booted by the first test to
/// ask. A failed boot is kept as its message, so the other tests report it
/// instead of booting again.
fn handoff_run() -> &'static GuestRun {
    static RUN: OnceLock<Result<GuestRun, String>> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        std::panic::catch_unwind(|| {
            let root = reference_overlay();
            let multipathd = kit_file(&root, &["sbin/multipathd"]);
            let persist = kit_file(
                &root,
                &[
                    "lib/x86_64-linux-gnu/libmpathpersist.so.0",
                    "lib/libmpathpersist.so.0",
                ],
            );
            let run = boot(&VmConfig {
                name: "handoff",
                script: script(),
                overlays: vec![root],
                files: vec![
                    (
                        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vm/handoff.sh"),
                        "/handoff.sh".into(),
                    ),
                    (multipathd, "/sbin/multipathd".into()),
                    (persist, "/lib/x86_64-linux-gnu/libmpathpersist.so.0".into()),
                ],
                timeout: Duration::from_secs(420),
                ..Default::default()
            });
            run.assert_success();
            println!("handoff: whole guest run {:.1?}", run.elapsed);
            run
        })
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the handoff boot panicked".into())
        })
    });
    match run {
        Ok(run) => run,
        Err(why) => panic!("the shared guest run failed:\n{why}"),
    }
}

/// One line of the guest's `mp_info`: `name uuid dm-N open events`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Info {
    name: String,
    uuid: String,
    blkdev: String,
    open: u32,
    events: u32,
}

fn parse_info(text: &str) -> Vec<Info> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 5, "not a `name uuid dm-N open events` line: {l:?}");
            Info {
                name: f[0].into(),
                uuid: f[1].into(),
                blkdev: f[2].into(),
                open: f[3]
                    .parse()
                    .unwrap_or_else(|_| panic!("open count in {l:?}")),
                events: f[4]
                    .parse()
                    .unwrap_or_else(|_| panic!("event number in {l:?}")),
            }
        })
        .collect()
}

/// (name, DM UUID, dm-N) of each map: who the maps are, apart from their
/// open and event counters.
fn identities(info: &[Info]) -> BTreeSet<(String, String, String)> {
    info.iter()
        .map(|i| (i.name.clone(), i.uuid.clone(), i.blkdev.clone()))
        .collect()
}

/// `multipathd show maps raw format '%n %w %d %N %2'`: name, WWID, dm-N,
/// path count, map loads.
fn parse_mpd_maps(text: &str) -> Vec<[String; 5]> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<String> = l.split_whitespace().map(str::to_string).collect();
            f.try_into()
                .unwrap_or_else(|f| panic!("not a `%n %w %d %N %2` line: {f:?}"))
        })
        .collect()
}

/// `multipathd show paths raw format '%d %D %m %t %T %o'`, by disk: (M:m,
/// map, "dm state, checker state, device state").
fn parse_mpd_paths(text: &str) -> BTreeMap<String, (String, String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 6, "not a `%d %D %m %t %T %o` line: {l:?}");
            (
                f[0].to_string(),
                (f[1].to_string(), f[2].to_string(), f[3..].join(" ")),
            )
        })
        .collect()
}

/// The per-path A/F flags of one map's `dmsetup status` line, by M:m:
/// every `M:m` word followed by `A` or `F`.
fn path_flags(status: &str) -> BTreeMap<String, String> {
    let w: Vec<&str> = status.split_whitespace().collect();
    w.windows(2)
        .filter(|p| {
            p[0].split_once(':').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
            }) && (p[1] == "A" || p[1] == "F")
        })
        .map(|p| (p[0].to_string(), p[1].to_string()))
        .collect()
}

/// `dmsetup table` output with each multipath table's initial path group
/// number as `_`: the kernel prints there the group it currently uses (or
/// will switch to), which changes with path failures and `switch_group`
/// messages, not with a reload.
fn layout(tables: &str) -> String {
    let mut out = String::new();
    for line in tables.lines().filter(|l| !l.trim().is_empty()) {
        let mut w: Vec<&str> = line.split_whitespace().collect();
        // "name: start length multipath ..." (dmsetup table) or without
        // the name: the target type is the word after start and length.
        if let Some(target) = w.iter().position(|x| *x == "multipath").filter(|&t| t == 2 || t == 3) {
            let at = |w: &[&str], i: usize| -> usize {
                w.get(i)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("bad multipath table: {line}"))
            };
            let features = target + 1;
            let handler = features + 1 + at(&w, features);
            let groups = handler + 1 + at(&w, handler);
            if groups + 1 < w.len() {
                w[groups + 1] = "_";
            }
        }
        out.push_str(&w.join(" "));
        out.push('\n');
    }
    out
}

/// The disks and the multipath maps mpath-boot made in early boot.
fn boot_state(run: &GuestRun) -> (Vec<Disk>, Vec<guest::DmTable>) {
    let disks = parse_inventory(&run.section_ok("inventory"));
    assert_eq!(
        disks.len(),
        PATHS,
        "inventory:\n{}",
        run.section("inventory")
    );
    let tables = parse_tables(&run.section_ok("boot-tables"));
    (disks, tables)
}

/// The dm devices resumed while a guest `with_uevents` command ran: its
/// `uevent: change dm-N PROPS` lines that are not dm-multipath path events
/// (DM_ACTION) or synthesized events (SYNTH_UUID). (udev also synthesizes
/// a plain "change" when a writer closes a device it watches; nothing here
/// opens a map for writing.)
fn resumes(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 3
                && w[0] == "uevent:"
                && w[1] == "change"
                && !w[3..]
                    .iter()
                    .any(|p| p.starts_with("DM_ACTION=") || p.starts_with("SYNTH_UUID="))
        })
        .map(|l| l.split_whitespace().nth(2).unwrap_or(""))
        .collect()
}

/// For the record: the guest's sections `<prefix>-nodes` (/dev/mapper) and
/// `<prefix>-udev`, printed as what they were after `nodes_after` and
/// `udev_after`.
fn print_nodes_and_udev(run: &GuestRun, prefix: &str, nodes_after: &str, udev_after: &str) {
    println!(
        "handoff: /dev/mapper after {nodes_after}:\n{}",
        indent(&run.section(&format!("{prefix}-nodes")))
    );
    println!(
        "handoff: udev after {udev_after}:\n{}",
        indent(&run.section(&format!("{prefix}-udev")))
    );
}

/// `out`, the output of a run of mpath-boot (`who`), reports every map of
/// `tables` `unchanged:`, and the run resumed no map.
fn assert_found_unchanged(who: &str, out: &str, tables: &[DmTable]) {
    for t in tables {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("unchanged: {} (", t.name))),
            "{who} did not find {} unchanged:\n{out}",
            t.name
        );
    }
    assert!(resumes(out).is_empty(), "{who} resumed a map:\n{out}");
}

/// Scenarios 1 and 2: mpath-boot makes the maps without udev; udevd and
/// multipathd start, and multipathd takes the maps over as they are: same
/// names, DM UUIDs, device-mapper devices and tables, every path up. Run
/// again then, mpath-boot finds them unchanged.
#[test]
fn multipathd_adopts_the_maps_mpath_boot_made_in_early_boot() {
    let run = handoff_run();
    let (disks, tables) = boot_state(run);
    assert!(
        run.section_ok("boot-env").contains("run-udev: absent"),
        "udev ran before mpath-boot"
    );

    // What mpath-boot made.
    let made = run.section_ok("boot-run");
    assert_eq!(tables.len(), LUS, "one map per LU:\n{made}");
    assert_eq!(
        map_path_sets(&tables),
        lu_path_sets(&disks),
        "maps must hold each LU's paths:\n{made}"
    );
    for t in &tables {
        assert!(
            made.lines()
                .any(|l| l.starts_with(&format!("create: {} (", t.name))),
            "no create line for {}:\n{made}",
            t.name
        );
    }
    let boot_info = parse_info(&run.section_ok("boot-info"));
    let bindings = run.section_ok("boot-bindings");
    assert_eq!(boot_info.len(), LUS, "{boot_info:?}");
    for i in &boot_info {
        let wwid = i
            .uuid
            .strip_prefix("mpath-")
            .unwrap_or_else(|| panic!("DM UUID of {} is not mpath-<wwid>: {}", i.name, i.uuid));
        assert!(
            bindings
                .lines()
                .any(|l| l.split_whitespace().eq([i.name.as_str(), wwid])),
            "bindings file lacks `{} {wwid}`:\n{bindings}",
            i.name
        );
    }

    // multipathd read the same configuration...
    let config = run.section_ok("adopt-config");
    for want in [
        "polling_interval 1",
        "user_friendly_names \"yes\"",
        "find_multipaths \"off\"",
    ] {
        assert!(
            config.lines().any(|l| l.trim() == want),
            "multipathd's defaults lack {want:?}:\n{config}"
        );
    }
    // ...and took over mpath-boot's maps: same names, WWIDs, devices.
    let log = run.section("adopt-log");
    let mpd_maps = parse_mpd_maps(&run.section_ok("adopt-maps"));
    let theirs: BTreeSet<(String, String, String)> = mpd_maps
        .iter()
        .map(|m| (m[0].clone(), format!("mpath-{}", m[1]), m[2].clone()))
        .collect();
    assert_eq!(
        theirs,
        identities(&boot_info),
        "multipathd's maps (name, WWID, dm device) differ from mpath-boot's:\n{}\n--- multipathd log ---\n{}",
        run.section("adopt-maps"),
        indent(&log)
    );
    for m in &mpd_maps {
        assert_eq!(m[3], "2", "multipathd counts {} paths in {}", m[3], m[0]);
    }
    // The kernel's view: the same devices with the same tables. multipathd
    // may reload a map it adopts ("udev incomplete": udev never processed a
    // map made before it ran), but only to this very table.
    let adopt_info = parse_info(&run.section_ok("adopt-info"));
    assert_eq!(
        identities(&adopt_info),
        identities(&boot_info),
        "maps were replaced:\n{adopt_info:?}"
    );
    assert_eq!(
        run.section_ok("adopt-tables"),
        run.section_ok("boot-tables"),
        "multipathd changed the tables mpath-boot loaded\n--- multipathd log ---\n{}",
        indent(&log)
    );
    // Every path is in multipathd's map for it, active and up.
    let paths = parse_mpd_paths(&run.section_ok("adopt-paths"));
    assert_eq!(paths.len(), PATHS, "{paths:?}");
    for d in &disks {
        let map = tables
            .iter()
            .find(|t| t.devices().contains(&d.devnum))
            .expect("every disk is in a map");
        let (devnum, mpd_map, states) = paths
            .get(&d.name)
            .unwrap_or_else(|| panic!("multipathd lacks {}: {paths:?}", d.name));
        assert_eq!((devnum, mpd_map), (&d.devnum, &map.name), "{}", d.name);
        assert_eq!(states, "active ready running", "{} after adoption", d.name);
    }

    // mpath-boot run again on the live system finds them as it made them.
    let rerun = run.section_ok("adopt-rerun");
    assert_found_unchanged("mpath-boot after adoption", &rerun, &tables);
    assert_eq!(
        run.section_ok("adopt-rerun-tables"),
        run.section_ok("boot-tables")
    );

    // For the record: what multipathd did with the maps it found.
    for m in &mpd_maps {
        println!(
            "handoff: multipathd adopted {} ({}), map loads: {}",
            m[0], m[2], m[4]
        );
    }
    for l in log
        .lines()
        .filter(|l| l.contains(": set ACT_") || l.contains(": reload ["))
    {
        println!("handoff: multipathd: {l}");
    }
    print_nodes_and_udev(run, "adopt", "adoption", "adoption");
}

/// Scenario 3: multipathd runs the adopted maps: an offline path is failed
/// in the kernel's map and shown faulty, and reinstated once it runs again.
#[test]
fn multipathd_fails_and_reinstates_a_path_of_an_adopted_map() {
    let run = handoff_run();
    let (disks, tables) = boot_state(run);
    let target = run.section_ok("fail-target");
    let [map, dev, disk]: [&str; 3] = target
        .split_whitespace()
        .collect::<Vec<_>>()
        .try_into()
        .unwrap_or_else(|_| panic!("fail-target: {target:?}"));
    let table = tables
        .iter()
        .find(|t| t.name == map)
        .unwrap_or_else(|| panic!("{map} is not a map"));
    assert_eq!(
        table.devices().first().map(String::as_str),
        Some(dev),
        "{table:?}"
    );
    assert!(
        disks.iter().any(|d| d.name == disk && d.devnum == dev),
        "{disk} is not {dev}"
    );

    let wait = run.section("fail-wait");
    assert_eq!(
        run.status("fail-wait"),
        0,
        "the kernel's map never showed {dev} failed: {wait}"
    );
    println!("handoff: offline {disk}: {}", wait.trim());
    assert_eq!(
        run.status("fail-mpd"),
        0,
        "multipathd never showed {disk} failed/faulty:\n{}",
        run.section("fail-paths")
    );
    let flags = path_flags(&run.section_ok("fail-status"));
    let want: BTreeMap<String, String> = table
        .devices()
        .into_iter()
        .map(|d| {
            let f = if d == dev { "F" } else { "A" };
            (d, f.to_string())
        })
        .collect();
    assert_eq!(
        flags,
        want,
        "dmsetup status {map}: {}",
        run.section("fail-status")
    );
    let paths = parse_mpd_paths(&run.section_ok("fail-paths"));
    for d in &disks {
        let want = if d.name == disk {
            "failed faulty offline"
        } else {
            "active ready running"
        };
        assert_eq!(
            paths.get(&d.name).map(|p| p.2.as_str()),
            Some(want),
            "{} with {disk} offline: {paths:?}",
            d.name
        );
    }

    let wait = run.section("restore-wait");
    assert_eq!(
        run.status("restore-wait"),
        0,
        "{dev} was not reinstated: {wait}"
    );
    println!("handoff: running {disk}: {}", wait.trim());
    assert_eq!(
        run.status("restore-mpd"),
        0,
        "multipathd never showed {disk} active/ready:\n{}",
        run.section("restore-paths")
    );
    let flags = path_flags(&run.section_ok("restore-status"));
    assert!(
        flags.len() == table.devices().len() && flags.values().all(|f| f == "A"),
        "dmsetup status {map}: {flags:?}"
    );
    let paths = parse_mpd_paths(&run.section_ok("restore-paths"));
    assert!(
        paths.len() == PATHS && paths.values().all(|p| p.2 == "active ready running"),
        "{paths:?}"
    );
}

/// Scenario 4: maps that multipath made (and multipathd took over) are what
/// the configuration asks for; mpath-boot on the live system reports them
/// unchanged and leaves them alone: no reload (no resume, hence no "change"
/// uevent), same tables, same open and event counters.
#[test]
fn mpath_boot_leaves_maps_made_by_multipath_unchanged() {
    let run = handoff_run();
    let (_, tables) = boot_state(run);
    assert_eq!(
        run.status("ref-flush"),
        0,
        "multipath -F: {}",
        run.section("ref-flush")
    );
    assert_eq!(
        run.section("ref-flushed").trim(),
        "",
        "multipath -F left maps"
    );
    let created = run.section("ref-create");
    assert_eq!(run.status("ref-create"), 0, "multipath -v2:\n{created}");
    for t in &tables {
        assert!(
            created.contains(&format!("create: {} (", t.name)),
            "multipath did not create {}:\n{created}",
            t.name
        );
    }
    // The reference made the very maps mpath-boot made.
    let ref_tables = run.section_ok("ref-tables");
    assert_eq!(
        ref_tables,
        run.section_ok("boot-tables"),
        "multipath's tables differ from mpath-boot's"
    );
    let ref_info = run.section_ok("ref-info");
    assert_eq!(parse_info(&ref_info).len(), LUS, "{ref_info}");

    for section in ["rerun", "rerun-v3"] {
        let out = run.section_ok(section);
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| !l.starts_with("mpath-boot: debug: "))
            .collect();
        assert_eq!(
            lines.len(),
            LUS,
            "mpath-boot {section}: one line per map expected:\n{out}"
        );
        assert_found_unchanged(&format!("mpath-boot {section}"), &out, &tables);
    }
    assert_eq!(
        run.section_ok("rerun-tables"),
        ref_tables,
        "mpath-boot changed multipath's tables"
    );
    assert_eq!(
        run.section_ok("rerun-info"),
        ref_info,
        "mpath-boot changed the maps' open or event counters"
    );

    // The uevent watch sees a reload of an identical table: the resume
    // sends "change" (while the event counter does not move).
    let probe = run.section_ok("probe-reload");
    let before = parse_info(&run.section_ok("probe-before"));
    let after = parse_info(&run.section_ok("probe-after"));
    let reloaded = &tables[1];
    let dm = &before
        .iter()
        .find(|i| i.name == reloaded.name)
        .expect("second map")
        .blkdev;
    assert!(
        resumes(&probe).contains(&dm.as_str()),
        "a reload of {} ({dm}) sent no change uevent:\n{probe}",
        reloaded.name
    );
    println!(
        "handoff: identical reload of {}: event numbers {:?} -> {:?}",
        reloaded.name,
        before.iter().map(|i| i.events).collect::<Vec<_>>(),
        after.iter().map(|i| i.events).collect::<Vec<_>>()
    );
    print_nodes_and_udev(run, "ref", "multipath -F and -v2", "multipath -v2");
}

/// Scenario 5: a map is open and multipathd holds one of its paths failed
/// (the device is offline). mpath-boot must not reload the map without that
/// path: multipathd keeps failed paths in the table to reinstate them, and
/// `multipath -v2`, run in the same state first, keeps it too (it switches
/// the path group and sends path messages, but loads no table).
#[test]
fn mpath_boot_keeps_failed_path_of_open_map() {
    let run = handoff_run();
    let target = run.section_ok("fail-target");
    let [map, dev, disk]: [&str; 3] = target
        .split_whitespace()
        .collect::<Vec<_>>()
        .try_into()
        .unwrap_or_else(|_| panic!("fail-target: {target:?}"));
    let open = parse_info(&run.section_ok("open-info"));
    assert!(
        open.iter().any(|i| i.name == map && i.open > 0),
        "{map} is not open: {open:?}"
    );
    assert_eq!(
        run.status("open-fail-wait"),
        0,
        "{dev} never failed: {}",
        run.section("open-fail-wait")
    );
    assert_eq!(
        run.status("open-fail-mpd"),
        0,
        "multipathd never showed {disk} failed/faulty"
    );
    assert_eq!(
        path_flags(&run.section_ok("open-before-status"))
            .get(dev)
            .map(String::as_str),
        Some("F")
    );
    assert_eq!(
        run.status("open-refail-wait"),
        0,
        "{dev} was not failed again after multipath -v2: {}",
        run.section("open-refail-wait")
    );

    let before = run.section_ok("open-before-tables");
    // Premise: multipath 0.9.4, run in the same state, keeps the failed
    // path in the map: no reload (it may switch the path group and send
    // path messages, which do not change the table's layout).
    let reference = run.section_ok("open-ref-run");
    assert!(
        resumes(&reference).is_empty() && layout(&run.section_ok("open-ref-tables")) == layout(&before),
        "reference: multipath -v2 changed the open map with a failed path:\n{}\n--- tables before ---\n{}\n--- after ---\n{}",
        indent(&reference),
        indent(&before),
        indent(&run.section("open-ref-tables"))
    );
    let after = run.section_ok("open-after-tables");
    let mine = run.section("open-run");
    let map_table = parse_tables(&after)
        .into_iter()
        .find(|t| t.name == map)
        .unwrap_or_else(|| panic!("{map} is gone:\n{after}"));
    let report = format!(
        "--- mpath-boot -v3 (exit {}; debug lines but tables left out) ---\n{}\n--- tables before ---\n{}\n--- tables after ---\n{}\n\
         --- dmsetup status {map} after ---\n{}\n--- 5 s after {disk} runs again: tables ---\n{}\n--- multipathd paths ---\n{}",
        run.status("open-run"),
        indent(
            &mine
                .lines()
                .filter(|l| !l.starts_with("mpath-boot: debug: ") || l.contains(": table "))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        indent(&before),
        indent(&after),
        indent(&run.section("open-after-status")),
        indent(&run.section("open-restored-tables")),
        indent(&run.section("open-restored-paths")),
    );
    assert!(
        map_table.devices().iter().any(|d| d == dev),
        "mpath-boot dropped failed path {dev} ({disk}) from open map {map}\n{report}"
    );
    assert_eq!(
        layout(&after),
        layout(&before),
        "mpath-boot changed the tables\n{report}"
    );
    assert!(
        resumes(&mine).is_empty(),
        "mpath-boot reloaded {map}\n{report}"
    );
}
