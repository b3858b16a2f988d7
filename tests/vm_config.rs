//! mpath-boot reads the configuration files the way multipath-tools 0.9.4
//! does: given the same /etc/multipath.conf, conf.d files, bindings and
//! wwids files, both load the same maps, with the same names, UUIDs and
//! tables, and leave the same bindings and wwids files behind.
//!
//! Every boot sets up one device set and runs many scenarios in it. Per
//! scenario the guest installs the scenario's files, runs the reference
//! (udevd up, `multipath -v2`, collect, `multipath -F`, udevd down),
//! restores the initial bindings and wwids files, runs mpath-boot (collect,
//! `mpath-boot -F`). The host first checks that the reference did what the
//! scenario is about (its map names, some table contents), then compares
//! the two sides exactly: the tables as loaded (multipath's "addmap" lines,
//! mpath-boot's `-v3` "table" lines: the kernel reports round-robin repeat
//! counts as 1, so rr_weight shows only there), `dmsetup table`, names and
//! UUIDs, the bindings and wwids files and their modes.
//!
//! Devices, in this order so the sd names are predictable (virtio first):
//!  - X: a single-path virtio-scsi disk (QEMU QEMU HARDDISK, WWID [`X`]);
//!  - Y: a dual-path virtio-scsi disk with its own identity ACME/MPTEST
//!    (WWID [`Y`]);
//!  - D0..D3: scsi_debug, two hosts x four LUs (Linux/scsi_debug, ALUA,
//!    WWIDs [`D`]).
//!
//! None of these identities is in the 0.9.4 built-in hardware table.

mod common;
mod guest;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, raw_image, scratch_dir, GuestRun, VmConfig};
use reference::indent;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

/// The scsi_debug LUs (udev's ID_SERIAL from the T10 vendor designator).
const D: [&str; 4] = [
    "1Linux_scsi_debug_2000",
    "1Linux_scsi_debug_2001",
    "1Linux_scsi_debug_2002",
    "1Linux_scsi_debug_2003",
];
/// The single-path virtio disk.
const X: &str = "35000c50015ea71b1";
/// The dual-path virtio disk (vendor ACME, product MPTEST).
const Y: &str = "35000c50015ea71c2";

/// Disks the guest waits for: X, two paths of Y, eight scsi_debug paths.
const DISKS: usize = 11;

/// Written by multipath-tools 0.9.4 at the top of a new bindings file.
const BINDINGS_HEADER: &str = "# Multipath bindings, Version : 1.0\n\
# NOTE: this file is automatically maintained by the multipath program.\n\
# You should not need to edit this file in normal circumstances.\n\
#\n\
# Format:\n\
# alias wwid\n\
#\n";

/// Written by multipath-tools 0.9.4 at the top of a new wwids file.
const WWIDS_HEADER: &str = "# Multipath wwids, Version : 1.0\n\
# NOTE: This file is automatically maintained by multipath and multipathd.\n\
# You should not need to edit this file in normal circumstances.\n\
#\n\
# Valid WWIDs:\n";

/// One configuration to run both tools with.
#[derive(Clone, Debug, Default)]
struct Scenario {
    /// Shell-safe word: names the guest sections.
    name: &'static str,
    /// /etc/multipath.conf for mpath-boot; None: no such file.
    conf: Option<String>,
    /// /etc/multipath.conf for the reference when it must differ (the
    /// no-config case, whose documented meaning is an explicit setting).
    ref_conf: Option<String>,
    /// /etc/multipath/conf.d files (name, text), for both tools.
    conf_d: Vec<(&'static str, String)>,
    /// Initial /etc/multipath/bindings and wwids; None: absent.
    bindings: Option<String>,
    wwids: Option<String>,
    /// Extra arguments: `multipath -v2 ARGS`, `mpath-boot ARGS`.
    ref_args: &'static str,
    mine_args: &'static str,
    /// What the reference must produce, as a check of the scenario itself:
    /// every map name, each either `name` or `name=wwid`.
    expect: Vec<String>,
    /// (map name, text its table must contain) checks of the reference.
    table_has: Vec<(String, &'static str)>,
    /// Same, for the table the reference loaded (before the kernel
    /// normalised it: round-robin repeat counts, for one).
    loaded_has: Vec<(String, &'static str)>,
    /// Compare the end state only, not the tables as loaded: without
    /// multipathd, multipath loads queue_if_no_path and then clears it with
    /// a message, while mpath-boot loads that end state directly.
    end_state_only: bool,
}

impl Scenario {
    fn new(name: &'static str, conf: &str) -> Scenario {
        Scenario {
            name,
            conf: Some(conf.to_string()),
            ..Default::default()
        }
    }
    fn conf_d(mut self, file: &'static str, text: &str) -> Self {
        self.conf_d.push((file, text.to_string()));
        self
    }
    /// Initial bindings file: the header, then `alias wwid` lines.
    fn bindings(mut self, lines: &[(&str, &str)]) -> Self {
        let mut text = BINDINGS_HEADER.to_string();
        for (alias, wwid) in lines {
            let _ = writeln!(text, "{alias} {wwid}");
        }
        self.bindings = Some(text);
        self
    }
    /// Initial wwids file: the header, then `/wwid/` lines.
    fn wwids(mut self, wwids: &[&str]) -> Self {
        let mut text = WWIDS_HEADER.to_string();
        for w in wwids {
            let _ = writeln!(text, "/{w}/");
        }
        self.wwids = Some(text);
        self
    }
    fn args(mut self, reference: &'static str, mine: &'static str) -> Self {
        self.ref_args = reference;
        self.mine_args = mine;
        self
    }
    fn expect(mut self, maps: &[&str]) -> Self {
        self.expect = maps.iter().map(|s| s.to_string()).collect();
        self
    }
    fn table_has(mut self, map: &str, text: &'static str) -> Self {
        self.table_has.push((map.to_string(), text));
        self
    }
    fn end_state_only(mut self) -> Self {
        self.end_state_only = true;
        self
    }
    fn loaded_has(mut self, map: &str, text: &'static str) -> Self {
        self.loaded_has.push((map.to_string(), text));
        self
    }
}

/// Maps named after their WWIDs (`user_friendly_names no`).
fn by_wwid(wwids: &[&str]) -> Vec<String> {
    wwids.iter().map(|w| format!("{w}={w}")).collect()
}

fn all_wwids() -> Vec<&'static str> {
    let mut all = D.to_vec();
    all.extend([X, Y]);
    all
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Guest shell helpers; scenario files are under /scenarios/NAME/{ref,mine,state}.
const GUEST_HELPERS: &str = r#"
# put_conf DIR: /etc/multipath.conf and conf.d exactly as DIR holds them.
put_conf() {
    rm -rf /etc/multipath.conf /etc/multipath/conf.d
    mkdir -p /etc/multipath/conf.d
    if [ -e "$1/multipath.conf" ]; then cp "$1/multipath.conf" /etc/multipath.conf; fi
    if [ -d "$1/conf.d" ]; then cp -a "$1/conf.d/." /etc/multipath/conf.d/; fi
}
# put_state DIR: the initial bindings and wwids files (absent if DIR lacks them).
put_state() {
    rm -f /etc/multipath/bindings /etc/multipath/wwids
    for f in bindings wwids; do
        if [ -e "$1/$f" ]; then cp "$1/$f" /etc/multipath/$f; fi
    done
}
show_file() { if [ -e "$1" ]; then cat "$1"; else echo "(no such file)"; fi; }
# collect PREFIX: what a tool left behind.
collect() {
    section $1.table sh -c 'dmsetup table | sort'
    section $1.names sh -c 'dmsetup info -c --noheadings -o name,uuid | sort'
    section $1.bindings show_file /etc/multipath/bindings
    section $1.wwids show_file /etc/multipath/wwids
    section $1.modes sh -c 'cd /etc/multipath && for f in bindings wwids; do [ -e $f ] && stat -c "%n %a" $f; done; true'
}
# scenario NAME REF-ARGS MINE-ARGS
scenario() {
    d=/scenarios/$1
    put_conf $d/ref
    put_state $d/state
    section $1.ref.up /reference/run-multipath.sh up || exit 90
    section $1.ref.run sh -c "unset DM_DISABLE_UDEV; multipath -v2 $2; rc=\$?; udevadm settle --timeout=300; exit \$rc"
    collect $1.ref
    section $1.ref.down /reference/run-multipath.sh down
    section $1.ref.cleanup sh -c 'dmsetup remove_all; dmsetup ls'
    put_conf $d/mine
    put_state $d/state
    section $1.mine.run mpath-boot -v3 $3
    collect $1.mine
    section $1.mine.flush mpath-boot -F
    section $1.mine.cleanup sh -c 'dmsetup remove_all; dmsetup ls'
}
"#;

/// Guest lines setting up the devices (virtio first, then scsi_debug).
const GUEST_DEVICES: &str = r#"
modprobe virtio_pci || exit 10
modprobe virtio_scsi || exit 11
wait_until 90 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq 3 ]' || exit 12
"#;

/// qemu arguments: X on controller 0, Y on controllers 1 and 2.
fn virtio_disks(dir: &Path) -> Vec<String> {
    let (x, y) = (dir.join("x.img"), dir.join("y.img"));
    raw_image(&x, 16);
    raw_image(&y, 16);
    let disks = [
        (&x, "wwn=0x5000c50015ea71b1,serial=SINGLE0"),
        (&y, "wwn=0x5000c50015ea71c2,serial=ACME0,vendor=ACME,product=MPTEST"),
        (&y, "wwn=0x5000c50015ea71c2,serial=ACME0,vendor=ACME,product=MPTEST"),
    ];
    let mut args = Vec::new();
    for (i, (image, ident)) in disks.iter().enumerate() {
        args.extend([
            "-drive".to_string(),
            format!(
                "if=none,id=cd{i},file={},format=raw,file.locking=off",
                image.display()
            ),
            "-device".to_string(),
            format!("virtio-scsi-pci,id=cs{i}"),
            "-device".to_string(),
            format!("scsi-hd,bus=cs{i}.0,drive=cd{i},share-rw=on,{ident}"),
        ]);
    }
    args
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Lays the scenarios' files out under `overlay/scenarios/`.
fn write_scenarios(overlay: &Path, scenarios: &[Scenario]) {
    for s in scenarios {
        let dir = overlay.join("scenarios").join(s.name);
        let ref_conf = s.ref_conf.as_ref().or(s.conf.as_ref());
        for (side, conf) in [("ref", ref_conf), ("mine", s.conf.as_ref())] {
            let side_dir = dir.join(side);
            fs::create_dir_all(side_dir.join("conf.d")).expect("mkdir conf.d");
            if let Some(text) = conf {
                write(&side_dir.join("multipath.conf"), text);
            }
            for (file, text) in &s.conf_d {
                write(&side_dir.join("conf.d").join(file), text);
            }
        }
        fs::create_dir_all(dir.join("state")).expect("mkdir state");
        for (file, text) in [("bindings", &s.bindings), ("wwids", &s.wwids)] {
            if let Some(text) = text {
                write(&dir.join("state").join(file), text);
            }
        }
    }
}

/// What one tool did in one scenario.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The tables as loaded ("name: table" lines, sorted): multipath's
    /// "addmap [...]" lines, mpath-boot's `-v3` "table" lines.
    loaded: String,
    table: String,
    names: String,
    bindings: String,
    wwids: String,
    /// File modes of bindings and wwids.
    modes: String,
}

impl Outcome {
    fn read(run: &GuestRun, prefix: &str) -> Outcome {
        let get = |what: &str| run.section(&format!("{prefix}.{what}"));
        let marker = if prefix.ends_with(".ref") { ": addmap [" } else { ": table " };
        Outcome {
            loaded: loaded_tables(&get("run"), marker),
            table: get("table"),
            names: get("names"),
            bindings: get("bindings"),
            wwids: get("wwids"),
            modes: get("modes"),
        }
    }

    /// (name, uuid) of every map, from `dmsetup info -c -o name,uuid`.
    fn maps(&self) -> Vec<(String, String)> {
        self.names
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "No devices found")
            .map(|l| match l.split_once(':') {
                Some((n, u)) => (n.to_string(), u.to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect()
    }

    fn table_of(&self, map: &str) -> Option<String> {
        reference::parse_dmsetup_table(&self.table)
            .into_iter()
            .find(|(n, _)| n == map)
            .map(|(_, t)| t)
    }

    fn show(&self) -> String {
        format!(
            "  loaded:\n{}\n  tables:\n{}\n  names:\n{}\n  bindings:\n{}\n  wwids:\n{}\n  modes:\n{}",
            indent(&self.loaded),
            indent(&self.table),
            indent(&self.names),
            indent(&self.bindings),
            indent(&self.wwids),
            indent(&self.modes)
        )
    }
}

/// "name: table" lines, sorted, from a tool's log: the word before
/// `marker` names the map, the rest of the line (without a closing `]`)
/// is the table.
fn loaded_tables(log: &str, marker: &str) -> String {
    let mut lines: Vec<String> = log
        .lines()
        .filter_map(|l| {
            let (head, table) = l.split_once(marker)?;
            let name = head.split_whitespace().last()?;
            let table = table.trim_end().trim_end_matches(']').trim_end();
            Some(format!("{name}: {table}\n"))
        })
        .collect();
    lines.sort();
    lines.concat()
}

/// Problems with the reference's own result: the scenario is not testing
/// what it means to.
fn check_reference(s: &Scenario, out: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let maps = out.maps();
    let mut got: Vec<&str> = maps.iter().map(|(n, _)| n.as_str()).collect();
    got.sort_unstable();
    let mut want: Vec<&str> = s
        .expect
        .iter()
        .map(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n))
        .collect();
    want.sort_unstable();
    if got != want {
        problems.push(format!("map names {got:?}, expected {want:?}"));
    }
    for (name, wwid) in s.expect.iter().filter_map(|e| e.split_once('=')) {
        let uuid = format!("mpath-{wwid}");
        if !maps.iter().any(|(n, u)| n == name && *u == uuid) {
            problems.push(format!("no map {name} with UUID {uuid}"));
        }
    }
    for (map, text) in &s.table_has {
        match out.table_of(map) {
            Some(t) if t.contains(text) => {}
            other => problems.push(format!("table of {map} lacks {text:?}: {other:?}")),
        }
    }
    for (map, text) in &s.loaded_has {
        let line = out.loaded.lines().find(|l| l.starts_with(&format!("{map}: ")));
        match line {
            Some(l) if l.contains(text) => {}
            other => problems.push(format!("loaded table of {map} lacks {text:?}: {other:?}")),
        }
    }
    if s.ref_args.contains("-B") {
        let initial = s.bindings.as_deref().unwrap_or("(no such file)\n");
        if out.bindings != initial {
            problems.push("multipath -B changed the bindings file".to_string());
        }
    }
    problems
}

/// Boots the device set, runs every scenario, checks the reference's
/// results, then compares mpath-boot's to them.
fn run_scenarios(name: &'static str, extra_script: &str, scenarios: &[Scenario]) -> GuestRun {
    let dir = scratch_dir(name);
    let overlay = dir.join("overlay");
    write_scenarios(&overlay, scenarios);
    let mut script = format!(
        "{GUEST_HELPERS}{GUEST_DEVICES}{}",
        guest::scsi_debug("add_host=2 max_luns=4 vpd_use_hostno=0 dev_size_mb=8", DISKS)
    );
    script.push_str(&format!("section inventory {}\n", guest::INVENTORY));
    script.push_str(extra_script);
    for s in scenarios {
        let _ = writeln!(script, "scenario {} '{}' '{}'", s.name, s.ref_args, s.mine_args);
    }
    let run = boot(&VmConfig {
        name,
        script,
        overlays: vec![reference::reference_overlay(), overlay],
        qemu_args: virtio_disks(&dir),
        timeout: Duration::from_secs(600),
        ..Default::default()
    });
    run.assert_success();
    println!("{name}: guest run took {:.1?}", run.elapsed);
    let inventory = run.section_ok("inventory");
    // What 0.9.4 (as Debian builds it) takes as defaults with no config file.
    for t in run.sections("ref-defaults-noconf") {
        let line = t.lines().find(|l| l.contains("find_multipaths "));
        println!(
            "{name}: multipath -t without /etc/multipath.conf: {}",
            line.unwrap_or("(no find_multipaths line)").trim()
        );
    }

    let mut bad_reference = String::new();
    let mut differences = String::new();
    for s in scenarios {
        let theirs = Outcome::read(&run, &format!("{}.ref", s.name));
        let mine = Outcome::read(&run, &format!("{}.mine", s.name));
        let ref_names: Vec<String> = theirs.maps().into_iter().map(|(n, _)| n).collect();
        println!("{name}: {}: reference maps {:?}", s.name, ref_names);
        let problems = check_reference(s, &theirs);
        if !problems.is_empty() {
            let _ = writeln!(
                bad_reference,
                "=== scenario {}: the reference's result is not what the scenario expects:\n  {}\n\
                 --- multipath -v2 {} ---\n{}\n{}",
                s.name,
                problems.join("\n  "),
                s.ref_args,
                indent(&run.section(&format!("{}.ref.run", s.name))),
                theirs.show()
            );
            continue;
        }
        let loaded_differ = !s.end_state_only && mine.loaded != theirs.loaded;
        let mut mine = mine;
        if s.end_state_only {
            mine.loaded = theirs.loaded.clone();
        }
        if theirs != mine || loaded_differ {
            let mut what = Vec::new();
            for (field, a, b) in [
                ("loaded tables", &mine.loaded, &theirs.loaded),
                ("tables", &mine.table, &theirs.table),
                ("names/UUIDs", &mine.names, &theirs.names),
                ("bindings file", &mine.bindings, &theirs.bindings),
                ("wwids file", &mine.wwids, &theirs.wwids),
                ("file modes", &mine.modes, &theirs.modes),
            ] {
                if a != b {
                    what.push(field);
                }
            }
            let _ = writeln!(
                differences,
                "=== scenario {}: mpath-boot {} differs in {}\n\
                 --- multipath-tools (multipath -v2 {}) ---\n{}\n\
                 --- mpath-boot -v3 {} (exit {}) ---\n{}\n{}",
                s.name,
                s.mine_args,
                what.join(", "),
                s.ref_args,
                theirs.show(),
                s.mine_args,
                run.status(&format!("{}.mine.run", s.name)),
                indent(&run.section(&format!("{}.mine.run", s.name))),
                mine.show()
            );
        }
    }
    reference::assert_same_as_reference(
        name,
        &run.dir.join("guest.log"),
        &format!("--- devices ---\n{inventory}\n"),
        &bad_reference,
        &differences,
    );
    run
}

/// `defaults { }` with the given lines.
fn defaults(lines: &str) -> String {
    format!("defaults {{\n{lines}\n}}\n")
}

/// user_friendly_names, bindings (bound, unbound, custom, gaps, 0.9.4's
/// allocation quirk), multipaths aliases, `-B`, conf.d, alias_prefix.
#[test]
fn naming_like_multipath_tools() {
    let ufn = defaults("\tuser_friendly_names yes\n\tfind_multipaths off");
    let scenarios = [
        // No bindings file: created, names allocated in path order.
        Scenario::new("ufn-fresh", &ufn).expect(&[
            "mpatha", "mpathb", "mpathc", "mpathd", "mpathe", "mpathf",
        ]),
        // A bound WWID, a custom name, and a gap (mpathb) the first
        // unbound WWID fills.
        Scenario::new("ufn-bindings", &ufn)
            .bindings(&[("mpatha", D[1]), ("rootdisk", X), ("mpathc", D[3])])
            .expect(&[
                &format!("mpatha={}", D[1]),
                &format!("rootdisk={X}"),
                &format!("mpathc={}", D[3]),
                "mpathb",
                "mpathd",
                "mpathe",
            ]),
        // Out of order: 0.9.4 scans once and takes biggest+1 when its
        // running counter meets a bigger id seen earlier (mpathe, not mpathc).
        Scenario::new("ufn-gap-unordered", &ufn)
            .bindings(&[("mpathb", D[1]), ("mpatha", D[0]), ("mpathd", D[2])])
            .expect(&[
                &format!("mpatha={}", D[0]),
                &format!("mpathb={}", D[1]),
                &format!("mpathd={}", D[2]),
                "mpathe",
                "mpathf",
                "mpathg",
            ]),
        // A multipaths alias beats the binding of the same WWID.
        Scenario::new(
            "alias-beats-binding",
            &format!(
                "{ufn}multipaths {{\n\tmultipath {{\n\t\twwid {}\n\t\talias data1\n\t}}\n}}\n",
                D[1]
            ),
        )
        .bindings(&[("mpatha", D[1]), ("mpathb", D[2])])
        .expect(&[
            &format!("data1={}", D[1]),
            &format!("mpathb={}", D[2]),
            "mpathc",
            "mpathd",
            "mpathe",
            "mpathf",
        ]),
        // A bindings file in conflict with multipath.conf (data1) and with
        // itself (mpathb twice): 0.9.4 rewrites it without those lines.
        Scenario::new(
            "binding-conflict",
            &format!(
                "{ufn}multipaths {{\n\tmultipath {{\n\t\twwid {}\n\t\talias data1\n\t}}\n}}\n",
                D[1]
            ),
        )
        .bindings(&[("mpathb", D[0]), ("data1", D[2]), ("mpatha", D[3]), ("mpathb", D[1])])
        .expect(&[
            &format!("data1={}", D[1]),
            &format!("mpatha={}", D[3]),
            &format!("mpathb={}", D[0]),
            "mpathc",
            "mpathd",
            "mpathe",
        ]),
        // -B: bound names are used, nothing is allocated or written.
        Scenario::new("ufn-readonly", &ufn)
            .bindings(&[("mpatha", D[1]), ("rootdisk", X)])
            .args("-B", "-B")
            .expect(&[
                &format!("mpatha={}", D[1]),
                &format!("rootdisk={X}"),
                &format!("{}={}", D[0], D[0]),
                &format!("{}={}", D[2], D[2]),
                &format!("{}={}", D[3], D[3]),
                &format!("{Y}={Y}"),
            ]),
        // conf.d files override multipath.conf and add sections; only
        // *.conf files count; a device alias_prefix.
        Scenario::new(
            "confd-override",
            &defaults("\tuser_friendly_names no\n\tfind_multipaths strict"),
        )
        .conf_d(
            "10-defaults.conf",
            &defaults("\tuser_friendly_names yes\n\tfind_multipaths off"),
        )
        .conf_d(
            "15-acme.conf",
            "devices {\n\tdevice {\n\t\tvendor \"ACME\"\n\t\tproduct \"MPTEST\"\n\t\talias_prefix \"acme\"\n\t}\n}\n",
        )
        .conf_d(
            "20-blacklist.conf",
            &format!("blacklist {{\n\twwid \"^{X}$\"\n}}\n"),
        )
        .conf_d("30-ignored.conf.off", &defaults("\tuser_friendly_names no"))
        .expect(&["mpatha", "mpathb", "mpathc", "mpathd", &format!("acmea={Y}")]),
    ];
    let probe = "rm -f /etc/multipath.conf\n\
                 section ref-defaults-noconf sh -c 'multipath -t 2>&1 | head -40; echo ...; multipath -t 2>&1 | grep -E \"find_multipaths|user_friendly_names|does not exist\"'\n";
    run_scenarios("config-naming", probe, &scenarios);
}

/// find_multipaths off/on/strict/greedy/smart with single- and multi-path
/// LUs and a wwids file; no configuration file at all.
#[test]
fn find_multipaths_like_multipath_tools() {
    let mode = |m: &str| defaults(&format!("\tfind_multipaths {m}"));
    let multi: Vec<&str> = D.iter().copied().chain([Y]).collect();
    let scenarios = [
        Scenario::new("find-off", &mode("off"))
            .wwids(&[D[2]])
            .expect(&refs(&by_wwid(&all_wwids()))),
        Scenario::new("find-on", &mode("on"))
            .wwids(&[D[2]])
            .expect(&refs(&by_wwid(&multi))),
        Scenario::new("find-strict", &mode("strict"))
            .wwids(&[D[2]])
            .expect(&refs(&by_wwid(&[D[2]]))),
        Scenario::new("find-greedy", &mode("greedy"))
            .wwids(&[D[2]])
            .expect(&refs(&by_wwid(&all_wwids()))),
        Scenario::new("find-smart", &mode("smart"))
            .wwids(&[D[2]])
            .expect(&refs(&by_wwid(&multi))),
        // The single-path disk is listed: on takes it, strict takes only
        // the listed ones.
        Scenario::new("find-on-listed-single", &mode("yes"))
            .wwids(&[X])
            .expect(&refs(&by_wwid(&all_wwids()))),
        Scenario::new("find-strict-listed-single", &mode("strict"))
            .wwids(&[X, D[0]])
            .expect(&refs(&by_wwid(&[X, D[0]]))),
        // No configuration file: mpath-boot acts as find_multipaths on; the
        // reference is given that explicitly. No wwids file: created.
        Scenario {
            name: "no-config",
            conf: None,
            ref_conf: Some(mode("on")),
            ..Default::default()
        }
        .expect(&refs(&by_wwid(&multi))),
    ];
    run_scenarios("config-find", "", &scenarios);
}

/// Each blacklist kind, each with an exception.
#[test]
fn blacklists_like_multipath_tools() {
    let off = defaults("\tfind_multipaths off");
    let lists = |bl: &str, ex: &str| {
        format!("{off}blacklist {{\n{bl}\n}}\nblacklist_exceptions {{\n{ex}\n}}\n")
    };
    let scenarios = [
        // virtio disks are sda..sdc (loaded first), scsi_debug sdd..sdk.
        Scenario::new("bl-devnode", &lists("\tdevnode \"^sd\"", "\tdevnode \"^sd[a-c]$\""))
            .expect(&refs(&by_wwid(&[X, Y]))),
        Scenario::new(
            "bl-wwid",
            &lists(
                "\twwid \"^1Linux_scsi_debug_200[0-2]$\"",
                "\twwid \"_2001$\"",
            ),
        )
        .expect(&refs(&by_wwid(&[D[1], D[3], X, Y]))),
        Scenario::new(
            "bl-device",
            &lists(
                "\tdevice {\n\t\tvendor \"Linux|ACME\"\n\t\tproduct \".*\"\n\t}",
                "\tdevice {\n\t\tvendor \"ACME\"\n\t\tproduct \"MPT\"\n\t}",
            ),
        )
        .expect(&refs(&by_wwid(&[X, Y]))),
        // Within one kind the exception wins.
        Scenario::new(
            "bl-protocol",
            &lists("\tprotocol \"scsi\"", "\tprotocol \"scsi:unspec\""),
        )
        .expect(&refs(&by_wwid(&all_wwids()))),
        Scenario::new(
            "bl-protocol-all",
            &format!("{off}blacklist {{\n\tprotocol \"scsi:unspec\"\n}}\n"),
        )
        .expect(&[]),
        // Properties are tried in udev's (sorted) order; the first that an
        // exception or a blacklist entry matches decides. The rules name
        // properties mpath-boot derives without udev (README: ID_PATH and
        // the like do not exist there). Every disk has ID_SCSI_SERIAL
        // (page 0x80), which sorts before the default exception's ID_WWN
        // and SCSI_IDENT_*: blacklisted, unless an exception matches a name
        // sorting earlier (ID_MODEL).
        Scenario::new(
            "bl-property",
            &lists("\tproperty \"^ID_SCSI_SERIAL$\"", "\tproperty \"^ID_MODEL$\""),
        )
        .expect(&refs(&by_wwid(&all_wwids()))),
        Scenario::new(
            "bl-property-order",
            &format!("{off}blacklist {{\n\tproperty \"^ID_SCSI_SERIAL$\"\n}}\n"),
        )
        .expect(&[]),
        // A user exception list adds to the default "(SCSI_IDENT_|ID_WWN)"
        // instead of replacing it: no path lacks an excepted property.
        Scenario::new(
            "bl-property-default-exception",
            &format!("{off}blacklist_exceptions {{\n\tproperty \"^ID_NO_SUCH_PROPERTY$\"\n}}\n"),
        )
        .expect(&refs(&by_wwid(&all_wwids()))),
    ];
    let probe = "section udev-properties sh -c '/reference/run-multipath.sh up >/dev/null; \
                 for d in /sys/block/sd*; do echo \"== ${d##*/}\"; udevadm info -q property -n ${d##*/}; done; \
                 /reference/run-multipath.sh down >/dev/null'\n";
    run_scenarios("config-blacklist", probe, &scenarios);
}

/// devices < overrides < multipaths, path selector, features, rr_weight,
/// no_path_retry, prio with and without detect_prio.
#[test]
fn settings_precedence_like_multipath_tools() {
    let off = defaults("\tfind_multipaths off");
    let devices = "devices {\n\tdevice {\n\t\tvendor \"Linux\"\n\t\tproduct \"scsi_debug\"\n\
                   \t\tpath_grouping_policy multibus\n\t\tpath_selector \"round-robin 0\"\n\
                   \t\trr_weight priorities\n\t\trr_min_io_rq 3\n\
                   \t\tfeatures \"2 pg_init_retries 7\"\n\t}\n}\n";
    let overrides = "overrides {\n\tpath_grouping_policy group_by_prio\n\
                     \tpath_selector \"queue-length 0\"\n}\n";
    let multipaths = format!(
        "multipaths {{\n\tmultipath {{\n\t\twwid {}\n\t\tpath_grouping_policy failover\n\
         \t\tpath_selector \"service-time 0\"\n\t\trr_weight uniform\n\t}}\n}}\n",
        D[1]
    );
    let all = by_wwid(&all_wwids());
    let scenarios = [
        Scenario::new("prec-devices", &format!("{off}{devices}"))
            .expect(&refs(&all))
            .table_has(D[0], "round-robin 0")
            .table_has(D[0], "2 pg_init_retries 7")
            // rr_weight priorities: prio (50, 10) times rr_min_io_rq 3.
            .loaded_has(D[0], " 150 ")
            .table_has(X, "service-time 0"),
        Scenario::new("prec-overrides", &format!("{off}{devices}{overrides}"))
            .expect(&refs(&all))
            .table_has(D[0], "queue-length 0")
            .table_has(X, "queue-length 0"),
        Scenario::new(
            "prec-multipaths",
            &format!("{off}{devices}{overrides}{multipaths}"),
        )
        .expect(&refs(&all))
        .table_has(D[0], "queue-length 0")
        .table_has(D[1], "service-time 0"),
        Scenario::new(
            "no-path-retry",
            &format!(
                "{}devices {{\n\tdevice {{\n\t\tvendor \"ACME\"\n\t\tproduct \"MPTEST\"\n\
                 \t\tno_path_retry 3\n\t}}\n}}\nmultipaths {{\n\tmultipath {{\n\t\twwid {}\n\
                 \t\tno_path_retry 5\n\t}}\n\tmultipath {{\n\t\twwid {}\n\t\tno_path_retry fail\n\t}}\n}}\n",
                defaults("\tfind_multipaths off\n\tno_path_retry queue"),
                D[1],
                D[2]
            ),
        )
        // -q: keep queueing although multipathd is not running (0.9.4
        // otherwise turns queue_if_no_path off after loading).
        .args("-q", "-q")
        .expect(&refs(&all))
        .table_has(D[0], "queue_if_no_path")
        .table_has(Y, "queue_if_no_path")
        .loaded_has(D[2], "multipath 0 1 alua"),
        // The same without -q: multipath loads queue_if_no_path, then
        // clears it since no multipathd runs; mpath-boot loads that end
        // state. The kernel's tables must agree.
        Scenario::new(
            "no-path-retry-no-daemon",
            &format!(
                "{}multipaths {{\n\tmultipath {{\n\t\twwid {}\n\t\tno_path_retry 5\n\t}}\n}}\n",
                defaults("\tfind_multipaths off\n\tno_path_retry queue"),
                D[1]
            ),
        )
        .end_state_only()
        .expect(&refs(&all))
        .loaded_has(D[0], "queue_if_no_path")
        .table_has(D[0], "multipath 0 1 alua")
        .table_has(Y, "multipath 0 0 2"),
        // detect_prio (default yes) finds ALUA and overrides a configured prio.
        Scenario::new(
            "prio-const-detected",
            &format!(
                "{off}devices {{\n\tdevice {{\n\t\tvendor \"Linux\"\n\t\tproduct \"scsi_debug\"\n\
                 \t\tpath_grouping_policy group_by_prio\n\t\tprio const\n\t}}\n}}\n"
            ),
        )
        .expect(&refs(&all))
        .table_has(D[0], "alua 2 1"),
        Scenario::new(
            "prio-const-no-detect",
            &format!(
                "{off}devices {{\n\tdevice {{\n\t\tvendor \"Linux\"\n\t\tproduct \"scsi_debug\"\n\
                 \t\tpath_grouping_policy group_by_prio\n\t\tprio const\n\t\tdetect_prio no\n\t}}\n}}\n"
            ),
        )
        .expect(&refs(&all))
        .table_has(D[0], "alua 1 1"),
    ];
    run_scenarios("config-settings", "", &scenarios);
}
