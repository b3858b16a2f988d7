//! Benchmark (not a test: run by tests/vm/bench.sh, never in CI): wall
//! time and peak memory of mpath-boot and of multipath-tools 0.9.4 making
//! the same maps from many scsi_debug paths, in one guest, against the
//! targets of issue 11.
//!
//! One boot, two set-ups, each loaded as a fresh scsi_debug module:
//!  - 256 paths to 64 LUs (`PARAMS_256`): mpath-boot first run and rerun,
//!    then multipath-tools; then 64 paths that ignore every command (their
//!    commands time out, `scsi_debug opts=4 every_nth=1`, global to the
//!    module, so the other 192 paths are removed first).
//!  - 1024 paths to 256 LUs (`PARAMS_1024`): mpath-boot first run, rerun,
//!    `-d`, `--no-partitions`, first run and rerun at `-v3` (for the per-stage
//!    timings), multipath-tools; then 64 of the 1024 paths behind a SCSI host
//!    held in error recovery (`echo recovery > /sys/class/scsi_host/hostN/
//!    state`): every open and SG_IO on them waits in the kernel,
//!    uninterruptibly, and never times out, which is what a path whose
//!    target stopped answering looks like while the error handler escalates.
//!    The kernel (6.1) never wakes those waiters when the state is set back,
//!    so this scenario comes last.
//!
//! Wall time and peak RSS come from GNU time (`/usr/bin/time -f '%e %M'`,
//! copied from the host; busybox's `time -v` overstates RSS four times).
//!
//! The guest's RAM is backed before it boots (qemu `-mem-prealloc`): qemu
//! otherwise maps it on first touch, and the kernel's first 256 multipath
//! maps touch about 680 MB (each request-based map allocates its
//! 2048-request tag set), which put about 0.7 s of host page faults into
//! the first run of a fresh guest and none into later ones. A physical
//! machine has its RAM. `MPATH_BENCH_LAZY_RAM=1` measures without it.
//! multipath-tools needs a running, settled udev: starting it (udevd,
//! trigger, settle) is timed and reported apart from `multipath -v0`, which
//! runs with udev synchronisation as on a booted system.
//!
//! Assertions are outcomes only (both tools made the same tables, one map per
//! LU, the hung scenario still made every map from the paths that answer);
//! times are printed against the targets, never asserted.

mod common;
mod guest;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, GuestRun, VmConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// 4 hosts x 4 targets x 16 LUNs = 256 paths to 64 logical units.
const PARAMS_256: &str = "add_host=4 num_tgts=4 max_luns=16 vpd_use_hostno=0 dev_size_mb=8";
/// 4 hosts x 4 targets x 64 LUNs = 1024 paths to 256 logical units.
const PARAMS_1024: &str = "add_host=4 num_tgts=4 max_luns=64 vpd_use_hostno=0 dev_size_mb=1";
/// SCSI command timeout given to mpath-boot in the hung-path scenarios.
const HUNG_TIMEOUT_S: u64 = 2;
/// How long the guest watches a hung-path run before giving up on it.
const HUNG_CAP_S: u64 = 120;
const MEMORY_MB: u32 = 2560;

/// qemu arguments of the bench guests: RAM backed up front (see above)
/// unless `MPATH_BENCH_LAZY_RAM` is set.
fn ram_args() -> Vec<String> {
    if std::env::var_os("MPATH_BENCH_LAZY_RAM").is_some() {
        Vec::new()
    } else {
        vec!["-mem-prealloc".to_owned()]
    }
}

// Issue 11's targets.
const TARGET_FIRST_S: f64 = 2.0;
const TARGET_RERUN_S: f64 = 1.0;
const TARGET_RSS_KIB: u64 = 2048;
const TARGET_BINARY_BYTES: u64 = 500 * 1024;

/// Moves target 0's 64 LUs of the last scsi_debug host onto a new, fifth
/// host (num_tgts=1: target 0, LUNs 0-63, the same WWIDs), so every LU keeps
/// its 4 paths and 64 of the 1024 are on one host, named in `$hung` (to be
/// held in error recovery next). Shared by the benchmark and the profile.
const MOVE_LUS_TO_A_NEW_HOST: &str = r#"last=$(ls /sys/class/scsi_host | sort -V | tail -n 1)
before=" $(ls /sys/class/scsi_host | tr '\n' ' ') "
for d in /sys/class/scsi_device/${last#host}:0:0:*; do echo 1 > $d/device/delete; done
wait_until 300 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq 960 ]' || exit 31
echo 1 > $sdbg/num_tgts && echo 1 > $sdbg/add_host || exit 32
wait_until 600 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq 1024 ]' || exit 33
for d in /sys/block/sd*; do wait_until 60 test -s $d/device/wwid || exit 34; done
hung=""
for h in $(ls /sys/class/scsi_host); do case "$before" in *" $h "*) ;; *) hung=$h ;; esac; done
[ -n "$hung" ] || exit 35
echo "HUNG_HOST ${hung#host}"
"#;

/// Guest shell helpers (busybox sh).
const HELPERS: &str = r#"
sdbg=/sys/bus/pseudo/drivers/scsi_debug
now() { read -r _u _rest < /proc/uptime; echo "$_u"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# quiet SECONDS: wait until the CPU was at least 90% idle over one second
# (the kernel's scan and scsi_dh_alua's first RTPGs run in the background).
quiet() {
    local _cap=$1 _i=0 _l _a _ai _b _bi _t
    while [ $_i -lt $_cap ]; do
        read -r _l < /proc/stat
        set -- $_l
        _a=$(($2 + $3 + $4 + $5 + $6 + $7 + $8)) _ai=$5
        sleep 1
        read -r _l < /proc/stat
        set -- $_l
        _b=$(($2 + $3 + $4 + $5 + $6 + $7 + $8)) _bi=$5
        _t=$((_b - _a))
        [ $_t -gt 0 ] && [ $(((_bi - _ai) * 100 / _t)) -ge 90 ] && return 0
        _i=$((_i + 1))
    done
    echo "quiet: CPU still busy after $_cap s"
}

# load_scsi_debug PARAMS PATHS: load the module, wait for every sd disk, sg
# node and WWID, then for the background work to end. Prints its time.
load_scsi_debug() {
    local _t=$(now)
    modprobe scsi_debug $1 || return 10
    wait_until 900 sh -c "[ \$(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq $2 ]" || return 11
    wait_until 60 test -e /dev/sg$(($2 - 1)) || return 12
    for _d in /sys/block/sd*; do wait_until 60 test -s $_d/device/wwid || return 13; done
    echo "SCAN $(since $_t)"
    quiet 60
}

# inventory: "sdX H:C:T:L major:minor wwid" for every disk.
inventory() {
    for _d in /sys/block/sd*; do
        _h=$(readlink -f $_d/device)
        echo "${_d##*/} ${_h##*/} $(cat $_d/dev) $(cat $_d/device/wwid)"
    done
}

# measure NAME CMD...: CMD under GNU time, its output kept in /tmp/NAME.out
# (last lines printed); prints "TIME <wall s> <max RSS KiB>" last.
measure() {
    local _n=$1 _rc
    shift
    quiet 30
    /usr/bin/time -f '%e %M' -o /tmp/$_n.time "$@" > /tmp/$_n.out 2>&1
    _rc=$?
    tail -n 15 /tmp/$_n.out
    echo "TIME $(tail -n 1 /tmp/$_n.time)"
    return $_rc
}

# threads PID: "count state wchan" over the threads of PID.
threads() {
    for _t in /proc/$1/task/*; do
        { read -r _l < $_t/stat; } 2>/dev/null || continue
        set -- $_l
        echo "$3 $(cat $_t/wchan 2>/dev/null)"
    done | sort | uniq -c
}

# watch_run NAME CAP CMD...: starts CMD under GNU time in the background
# (output in /tmp/NAME.out), then prints "MAIN <s> <state>" when its main
# thread has ended (state Z: exited, other threads left; gone: all exited),
# or after CAP s (any other state), then "EXITED <wall> <rss>" if the whole
# process ended within 5 s more, else "ALIVE" and its threads.
watch_run() {
    local _n=$1 _cap=$2 _t0 _pid _s _i=0
    shift 2
    rm -f /tmp/$_n.pid /tmp/$_n.time
    quiet 30
    _t0=$(now)
    /usr/bin/time -f '%e %M' -o /tmp/$_n.time \
        sh -c 'echo $$ > "$0"; exec "$@"' /tmp/$_n.pid "$@" > /tmp/$_n.out 2>&1 &
    wait_until 10 test -s /tmp/$_n.pid || { echo "no pid"; return 1; }
    read -r _pid < /tmp/$_n.pid
    echo "PID $_pid"
    while :; do
        _s=gone
        if { read -r _l < /proc/$_pid/stat; } 2>/dev/null; then set -- $_l; _s=$3; fi
        { [ "$_s" = gone ] || [ "$_s" = Z ] || [ $_i -ge $((_cap * 20)) ]; } && break
        _i=$((_i + 1))
        sleep 0.05
    done
    echo "MAIN $(since $_t0) $_s"
    if wait_until 5 test -s /tmp/$_n.time; then
        echo "EXITED $(tail -n 1 /tmp/$_n.time)"
    else
        echo "ALIVE"
        threads $_pid
    fi
    echo "OUTPUT"
    grep -v '^create:' /tmp/$_n.out | head -n 12
    echo "... $(grep -c -e 'no answer within' -e 'timed out after' /tmp/$_n.out) paths with 'no answer within' or 'timed out after', $(grep -c '^create:' /tmp/$_n.out) 'create:' lines"
}

hung_after() {
    test -s /tmp/hung.time && echo EXITED || echo ALIVE
    threads $(cat /tmp/hung.pid)
}
"#;

/// mpath-boot's runs against the reference on one set-up, prefix `p`.
fn compare_script(p: &str, full: bool) -> String {
    let mut s = format!(
        r#"
section {p}_mine_first measure {p}_mine_first mpath-boot -v0
section {p}_mine_tables sh -c 'dmsetup table | sort'
section {p}_mine_rerun measure {p}_mine_rerun mpath-boot -v0
"#
    );
    if full {
        s += &format!(
            r#"section {p}_mine_dry measure {p}_mine_dry mpath-boot -d -v0
section {p}_flush1 mpath-boot -F -v0
section {p}_mine_nopart measure {p}_mine_nopart mpath-boot --no-partitions -v0
section {p}_flush2 mpath-boot -F -v0
section {p}_mine_v3_first measure {p}_mine_v3_first mpath-boot -v3
section {p}_mine_v3_first_stages sh -c 'grep -E "timing|took" /tmp/{p}_mine_v3_first.out'
section {p}_mine_v3_rerun measure {p}_mine_v3_rerun mpath-boot -v3
section {p}_mine_v3_rerun_stages sh -c 'grep -E "timing|took" /tmp/{p}_mine_v3_rerun.out'
"#
        );
    }
    s += &format!(
        r#"section {p}_flush3 mpath-boot -F -v0
section {p}_ref_up measure {p}_ref_up {run} up
section {p}_ref_up_settle measure {p}_ref_up_settle sh -c 'unset DM_DISABLE_UDEV; exec udevadm settle --timeout=1800'
section {p}_ref_multipath measure {p}_ref_multipath sh -c 'unset DM_DISABLE_UDEV; exec /sbin/multipath -v0'
section {p}_ref_settle measure {p}_ref_settle sh -c 'unset DM_DISABLE_UDEV; exec udevadm settle --timeout=600'
section {p}_ref_tables sh -c 'dmsetup table | sort'
section {p}_ref_down {run} down
"#,
        run = reference::RUN_REFERENCE,
    );
    s
}

fn script() -> String {
    let mut s = String::from(HELPERS);
    s += "section gnu_time /usr/bin/time -f %M true\n";

    // 256 paths, then 64 paths that ignore every command.
    s += &format!("section p256_load load_scsi_debug '{PARAMS_256}' 256 || exit 20\n");
    s += "section p256_inventory inventory\n";
    s += &compare_script("p256", false);
    s += &format!(
        r#"
# Keep the first host only (64 paths, one per LU): scsi_debug's "ignore the
# command" option is global, and 256 hung paths would take minutes.
echo -3 > $sdbg/add_host
wait_until 300 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq 64 ]' || exit 21
quiet 30
echo 1 > $sdbg/every_nth && echo 4 > $sdbg/opts || exit 22
section tmo_run watch_run tmo {HUNG_CAP_S} mpath-boot --timeout {HUNG_TIMEOUT_S}
echo 0 > $sdbg/opts; echo 0 > $sdbg/every_nth
wait_until 240 test -s /tmp/tmo.time
section tmo_after sh -c 'test -s /tmp/tmo.time && echo "EXITED $(tail -n 1 /tmp/tmo.time)"; dmsetup table | sort'
mpath-boot -F -v0 > /dev/null 2>&1
wait_until 240 rmmod scsi_debug || exit 23
"#
    );

    // 1024 paths, then 64 of them behind a host in error recovery.
    s += &format!("section p1024_load load_scsi_debug '{PARAMS_1024}' 1024 || exit 30\n");
    s += "section p1024_inventory inventory\n";
    s += &compare_script("p1024", true);
    s += &format!(
        r#"
# 64 of the 1024 paths on a fifth host, then held in error recovery.
{MOVE_LUS_TO_A_NEW_HOST}section hung_inventory inventory
quiet 60
section hung_state sh -c "echo recovery > /sys/class/scsi_host/$hung/state && cat /sys/class/scsi_host/$hung/state"
section hung_run watch_run hung {HUNG_CAP_S} mpath-boot --timeout {HUNG_TIMEOUT_S}
section hung_tables sh -c 'dmsetup table | sort'
# Back to running: 6.1 wakes nobody waiting for the host, so they stay.
echo running > /sys/class/scsi_host/$hung/state
sleep 3
section hung_after hung_after
"#
    );
    s
}

/// "TIME <wall> <rss>" of a `measure` section.
#[derive(Clone, Copy, Debug)]
struct Measured {
    wall: f64,
    rss_kib: u64,
}

fn time_line(text: &str, tag: &str) -> Option<Measured> {
    let line = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(tag))?;
    let mut w = line.split_whitespace();
    Some(Measured {
        wall: w.next()?.parse().ok()?,
        rss_kib: w.next()?.parse().ok()?,
    })
}

fn measured(run: &GuestRun, section: &str) -> Measured {
    let out = run.section_ok(section);
    time_line(&out, "TIME ")
        .unwrap_or_else(|| run.fail(&format!("no GNU time line in section {section}:\n{out}")))
}

/// What `watch_run` saw.
#[derive(Debug)]
struct Watched {
    main_s: f64,
    main_state: String,
    exited: Option<Measured>,
    threads: Vec<String>,
    output: Vec<String>,
}

fn watched(run: &GuestRun, section: &str) -> Watched {
    let out = run.section_ok(section);
    let main = out
        .lines()
        .find_map(|l| l.strip_prefix("MAIN "))
        .unwrap_or_else(|| run.fail(&format!("no MAIN line in {section}:\n{out}")));
    let (secs, state) = main.split_once(' ').unwrap_or((main, ""));
    let body: Vec<&str> = out.lines().collect();
    let alive_at = body.iter().position(|l| *l == "ALIVE");
    let output_at = body
        .iter()
        .position(|l| *l == "OUTPUT")
        .unwrap_or(body.len());
    Watched {
        main_s: secs.parse().unwrap_or(f64::NAN),
        main_state: state.trim().to_string(),
        exited: time_line(&out, "EXITED "),
        threads: alive_at
            .map(|i| {
                body[i + 1..output_at]
                    .iter()
                    .map(|l| l.trim().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        output: body
            .get(output_at + 1..)
            .unwrap_or_default()
            .iter()
            .map(|l| l.to_string())
            .collect(),
    }
}

/// One line of `inventory`.
struct Disk {
    hctl: String,
    devnum: String,
    wwid: String,
}

impl Disk {
    fn host(&self) -> &str {
        self.hctl.split(':').next().unwrap_or("")
    }
}

fn inventory(text: &str) -> Vec<Disk> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let _name = w.next()?;
            Some(Disk {
                hctl: w.next()?.into(),
                devnum: w.next()?.into(),
                wwid: w.next()?.into(),
            })
        })
        .collect()
}

/// Paths per WWID.
fn paths_per_lu(inv: &[Disk]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for d in inv {
        *m.entry(d.wwid.as_str()).or_insert(0) += 1;
    }
    m
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mpath-boot"))
}

/// GNU time must be on the host: it is copied into the guest.
fn gnu_time() -> PathBuf {
    let path = PathBuf::from("/usr/bin/time");
    let version = Command::new(&path).arg("--version").output();
    let ok = version
        .as_ref()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).contains("GNU")
                || String::from_utf8_lossy(&o.stderr).contains("GNU")
        })
        .unwrap_or(false);
    assert!(
        ok,
        "GNU time missing at /usr/bin/time: run tests/vm/bench.sh (it installs Debian's `time`)"
    );
    path
}

struct Table {
    rows: Vec<[String; 7]>,
}

impl Table {
    fn new() -> Self {
        Table { rows: Vec::new() }
    }

    /// One run: wall time and RSS, their targets, and both ratios to `reference`.
    fn row(
        &mut self,
        label: &str,
        m: Measured,
        wall_target: Option<f64>,
        rss_target: bool,
        reference: Option<Measured>,
    ) {
        let wall_t = wall_target.map_or(String::new(), |t| {
            format!("<= {t:.1} s {}", verdict(m.wall <= t))
        });
        let rss_t = if rss_target {
            format!("<= 2 MiB {}", verdict(m.rss_kib <= TARGET_RSS_KIB))
        } else {
            String::new()
        };
        let ratio = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:.3}", a / b)
            } else {
                "-".into()
            }
        };
        let (rw, rr) = reference.map_or((String::new(), String::new()), |r| {
            (
                ratio(m.wall, r.wall),
                ratio(m.rss_kib as f64, r.rss_kib as f64),
            )
        });
        self.rows.push([
            label.to_string(),
            format!("{:.2} s", m.wall),
            wall_t,
            format!("{} ({} KiB)", mib(m.rss_kib), m.rss_kib),
            rss_t,
            rw,
            rr,
        ]);
    }

    fn raw(&mut self, cells: [String; 7]) {
        self.rows.push(cells);
    }

    fn print(&self) {
        println!("| run | wall | target | peak RSS | target | wall / ref | RSS / ref |");
        println!("|---|---:|---|---:|---|---:|---:|");
        for r in &self.rows {
            println!("| {} |", r.join(" | "));
        }
    }
}

fn stage_lines(run: &GuestRun, section: &str) -> Vec<String> {
    run.section(section)
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("mpath-boot: debug: ")
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// Compares both tools' sorted `dmsetup table` and the map count.
fn same_tables(run: &GuestRun, p: &str, lus: usize) {
    let mine = run.section_ok(&format!("{p}_mine_tables"));
    let theirs = run.section_ok(&format!("{p}_ref_tables"));
    let mine_maps = guest::parse_tables(&mine);
    assert_eq!(mine_maps.len(), lus, "{p}: one map per LU:\n{mine}");
    assert!(
        mine == theirs,
        "{p}: both tools must make the same maps (see {})",
        run.dir.join("guest.log").display()
    );
}

fn print_set(run: &GuestRun, p: &str, title: &str, full: bool) {
    let scan = run
        .section_ok(&format!("{p}_load"))
        .lines()
        .find_map(|l| l.strip_prefix("SCAN ").map(str::to_string))
        .unwrap_or_default();
    println!("\n### {title}\n\n(kernel scan of the paths: {scan} s)\n");
    let reference = measured(run, &format!("{p}_ref_multipath"));
    let flushes: &[&str] = if full {
        &["flush1", "flush2", "flush3", "ref_down"]
    } else {
        &["flush3", "ref_down"]
    };
    for f in flushes {
        run.section_ok(&format!("{p}_{f}"));
    }
    let mut t = Table::new();
    let lus = if p == "p1024" { 256 } else { 64 };
    t.row(
        &format!("mpath-boot first run ({lus} maps, partition maps on)"),
        measured(run, &format!("{p}_mine_first")),
        full.then_some(TARGET_FIRST_S),
        full,
        Some(reference),
    );
    t.row(
        "mpath-boot rerun (nothing to change)",
        measured(run, &format!("{p}_mine_rerun")),
        full.then_some(TARGET_RERUN_S),
        full,
        Some(reference),
    );
    if full {
        t.row(
            "mpath-boot `-d` (probe only)",
            measured(run, &format!("{p}_mine_dry")),
            None,
            false,
            Some(reference),
        );
        t.row(
            "mpath-boot `--no-partitions` first run",
            measured(run, &format!("{p}_mine_nopart")),
            None,
            false,
            Some(reference),
        );
        t.row(
            "mpath-boot `-v3` first run",
            measured(run, &format!("{p}_mine_v3_first")),
            None,
            false,
            Some(reference),
        );
        t.row(
            "mpath-boot `-v3` rerun",
            measured(run, &format!("{p}_mine_v3_rerun")),
            None,
            false,
            Some(reference),
        );
    }
    // run-multipath.sh's settle gives up after 300 s; the rest of it is
    // timed separately, before multipath runs.
    let up = measured(run, &format!("{p}_ref_up"));
    let up_more = if run.find_sections(&format!("{p}_ref_up_settle")).is_empty() {
        Measured {
            wall: 0.0,
            rss_kib: 0,
        } // a log from before this step existed
    } else {
        measured(run, &format!("{p}_ref_up_settle"))
    };
    let up_out = run.section(&format!("{p}_ref_up"));
    let settle_note = if up_out.contains("settle timed out") {
        format!(
            " (its settle timed out at 300 s; settled {:.2} s later)",
            up_more.wall
        )
    } else {
        String::new()
    };
    let blank = || String::new();
    t.raw([
        format!("0.9.4: udevd start + trigger + settle{settle_note}"),
        format!("{:.2} s", up.wall + up_more.wall),
        blank(),
        "-".into(),
        blank(),
        blank(),
        blank(),
    ]);
    t.row(
        "0.9.4: `multipath -v0` (udev running, synchronised)",
        reference,
        None,
        false,
        Some(reference),
    );
    let settle = measured(run, &format!("{p}_ref_settle"));
    t.raw([
        "0.9.4: `udevadm settle` after multipath".into(),
        format!("{:.2} s", settle.wall),
        blank(),
        "-".into(),
        blank(),
        blank(),
        blank(),
    ]);
    t.print();
    let first = measured(run, &format!("{p}_mine_first"));
    let total = up.wall + up_more.wall + reference.wall;
    println!(
        "\nmultipath-tools in all (udev up + multipath): {total:.2} s; mpath-boot's first run is {:.4} of it.",
        first.wall / total
    );
    if full {
        for (label, section) in [
            ("first run", format!("{p}_mine_v3_first_stages")),
            ("rerun", format!("{p}_mine_v3_rerun_stages")),
        ] {
            let lines = stage_lines(run, &section);
            println!("\nmpath-boot -v3 per-stage timings, {label}:");
            if lines.is_empty() {
                println!("  (none: -v3 printed no line with \"timing\" or \"took\")");
            }
            for l in lines {
                println!("  {l}");
            }
        }
    }
}

fn print_watched(label: &str, w: &Watched, target_s: f64) {
    println!("\n{label}");
    println!(
        "  mpath-boot --timeout {HUNG_TIMEOUT_S}: main thread done after {:.2} s (state {}), target <= {target_s:.1} s: {}",
        w.main_s,
        w.main_state,
        verdict(w.main_s <= target_s && (w.main_state == "Z" || w.main_state == "gone")),
    );
    match w.exited {
        Some(m) => println!(
            "  process exited: {:.2} s wall, {} peak RSS (GNU time)",
            m.wall,
            mib(m.rss_kib)
        ),
        None => {
            println!("  process DID NOT EXIT within 5 s of its main thread (threads: count state wchan):");
            for t in &w.threads {
                println!("    {t}");
            }
        }
    }
    println!("  its output (create: lines left out):");
    for l in &w.output {
        println!("    {l}");
    }
}

/// The last run's `target/vm-runs/bench/` logs as a [`GuestRun`].
fn replay(config: &VmConfig) -> GuestRun {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/vm-runs")
        .join(config.name);
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
            .replace("\r\n", "\n")
    };
    let console = read("guest.log");
    let exit_code = console
        .rfind("@@MPB:EXIT:rc=")
        .and_then(|i| console[i + 14..].split("@@").next()?.parse().ok());
    println!(
        "(replayed from {}: the binary size below is today's)",
        dir.display()
    );
    GuestRun {
        name: config.name,
        kernel_log: read("kernel.log"),
        console,
        exit_code,
        timed_out: false,
        elapsed: Duration::ZERO,
        dir,
    }
}

#[test]
#[ignore = "benchmark: run tests/vm/bench.sh"]
fn bench_mpath_boot_against_multipath_tools() {
    // The size of the binary that goes into the guest (target/ is shared:
    // it may be rebuilt while the guest runs).
    let size = std::fs::metadata(binary()).map(|m| m.len()).unwrap_or(0);
    let config = VmConfig {
        name: "bench",
        script: script(),
        overlays: vec![reference::reference_overlay()],
        // Dynamically linked: glibc comes with dmsetup (base) and the overlay.
        files: vec![(gnu_time(), "/usr/bin/time".into())],
        timeout: Duration::from_secs(3600),
        memory_mb: MEMORY_MB,
        qemu_args: ram_args(),
        ..Default::default()
    };
    // MPATH_BENCH_REPLAY=1: report from the last run's logs, without a boot.
    let run = if std::env::var_os("MPATH_BENCH_REPLAY").is_some() {
        replay(&config)
    } else {
        boot(&config)
    };
    run.assert_success();

    // GNU time really runs in the guest.
    let probe = run.section_ok("gnu_time");
    let true_rss: u64 = probe
        .trim()
        .parse()
        .unwrap_or_else(|_| run.fail(&format!("`/usr/bin/time -f %M true` printed {probe:?}")));

    // Outcomes first: both set-ups made the same tables with both tools.
    let inv256 = inventory(&run.section_ok("p256_inventory"));
    assert_eq!(inv256.len(), 256);
    assert!(
        paths_per_lu(&inv256).values().all(|&n| n == 4),
        "256 set-up: 4 paths per LU"
    );
    same_tables(&run, "p256", 64);
    let inv1024 = inventory(&run.section_ok("p1024_inventory"));
    assert_eq!(inv1024.len(), 1024);
    let lus1024 = paths_per_lu(&inv1024);
    assert!(
        lus1024.len() == 256 && lus1024.values().all(|&n| n == 4),
        "1024 set-up: 256 LUs of 4 paths"
    );
    same_tables(&run, "p1024", 256);

    // The hung set-up: 64 paths on the held host, every LU still 4 paths.
    let hung_host = run
        .console
        .lines()
        .find_map(|l| l.strip_prefix("HUNG_HOST "))
        .unwrap_or_else(|| run.fail("no HUNG_HOST line"))
        .trim()
        .to_string();
    let inv_hung = inventory(&run.section_ok("hung_inventory"));
    let on_hung: BTreeSet<&str> = inv_hung
        .iter()
        .filter(|d| d.host() == hung_host)
        .map(|d| d.devnum.as_str())
        .collect();
    assert_eq!(inv_hung.len(), 1024);
    assert_eq!(on_hung.len(), 64, "64 paths on host {hung_host}");
    assert!(
        paths_per_lu(&inv_hung).values().all(|&n| n == 4),
        "hung set-up: still 4 paths per LU"
    );
    let hung = watched(&run, "hung_run");
    let hung_tables = guest::parse_tables(&run.section_ok("hung_tables"));
    let hung_paths: usize = hung_tables.iter().map(|t| t.devices().len()).sum();
    let tmo = watched(&run, "tmo_run");
    let tmo_after = run.section("tmo_after");
    let tmo_tables: String = tmo_after
        .lines()
        .filter(|l| !l.starts_with("EXITED "))
        .map(|l| format!("{l}\n"))
        .collect();
    let tmo_maps = guest::parse_tables(&tmo_tables).len();

    // The report.
    println!("\n## mpath-boot benchmark (issue 11)\n");
    println!(
        "qemu TCG, 1 vCPU, {MEMORY_MB} MB guest ({}); wall time and peak RSS from GNU time in the guest \
         (`/usr/bin/time -f %M true` there: {true_rss} KiB).",
        if config.qemu_args.is_empty() { "RAM mapped on first touch" } else { "RAM preallocated" }
    );
    println!(
        "Binary {}: {size} bytes ({:.1} KiB), target <= 500 KiB: {}",
        binary().display(),
        size as f64 / 1024.0,
        verdict(size <= TARGET_BINARY_BYTES)
    );
    println!("Ratios are to `multipath -v0` of multipath-tools 0.9.4 on the same paths (lower is better).");
    print_set(
        &run,
        "p1024",
        &format!("1024 paths to 256 LUs (scsi_debug {PARAMS_1024})"),
        true,
    );
    print_set(
        &run,
        "p256",
        &format!("256 paths to 64 LUs (scsi_debug {PARAMS_256})"),
        false,
    );

    let target = HUNG_TIMEOUT_S as f64 + 1.0;
    print_watched(
        &format!(
            "### Hung paths\n\n64 of the 1024 paths on scsi_debug host {hung_host}, held in error recovery \
             (open and SG_IO wait uninterruptibly, no timeout fires); maps made: {} with {hung_paths} paths:",
            hung_tables.len()
        ),
        &hung,
        target,
    );
    println!(
        "  after `echo running` to the host state: {}",
        run.section("hung_after").lines().next().unwrap_or("?")
    );
    print_watched(
        &format!(
            "64 paths (one per LU, scsi_debug every_nth=1 opts=4: every command ignored, so each times out); \
             maps afterwards: {tmo_maps}:"
        ),
        &tmo,
        target,
    );
    if let Some(m) = time_line(&tmo_after, "EXITED ") {
        if tmo.exited.is_none() {
            println!(
                "  process exited once the paths answered again: {:.2} s wall in all",
                m.wall
            );
        }
    }

    // The hung host must not cost the maps the other paths make.
    assert_eq!(
        hung_tables.len(),
        256,
        "hung scenario: every LU still gets its map"
    );
    assert_eq!(
        hung_paths, 960,
        "hung scenario: the 960 answering paths, the 64 hung ones left out"
    );
    let in_maps: BTreeSet<String> = hung_tables.iter().flat_map(|t| t.devices()).collect();
    assert!(
        on_hung.iter().all(|d| !in_maps.contains(*d)),
        "hung scenario: a path that never answered went into a table"
    );
}

/// Shared libraries strace needs in the guest (glibc comes with the
/// reference overlay's dynamically linked tools).
fn strace_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let strace = PathBuf::from("/usr/bin/strace");
    if !strace.exists() {
        return files;
    }
    files.push((strace.clone(), "/usr/bin/strace".into()));
    if let Ok(out) = Command::new("ldd").arg(&strace).output() {
        for lib in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if lib.starts_with('/') && std::path::Path::new(lib).exists() {
                files.push((PathBuf::from(lib), lib.to_string()));
            }
        }
    }
    files
}

/// A quicker profile than the benchmark (not a test: `MPATH_VM_KIT=...
/// cargo test --release --test vm_bench profile -- --ignored --nocapture`):
/// 1024 paths, first run and rerun at -v3 with syscall counts (strace -c
/// -f when the host has strace), of this build and, when
/// `MPATH_BENCH_BASE` names another binary, of that one in the same guest;
/// then 64 of the paths behind a host held in error recovery. Prints the
/// guest's sections; asserts outcomes only.
#[test]
#[ignore = "profile: run by hand"]
fn profile() {
    let mut files = vec![(gnu_time(), "/usr/bin/time".to_string())];
    files.extend(strace_files());
    let base = std::env::var_os("MPATH_BENCH_BASE").map(PathBuf::from);
    let mut bins = vec!["/usr/sbin/mpath-boot"];
    if let Some(extra) = std::env::var_os("MPATH_BENCH_EXTRA").map(PathBuf::from) {
        files.push((extra, "/usr/sbin/mpath-boot-extra".into()));
        bins.insert(0, "/usr/sbin/mpath-boot-extra");
    }
    if let Some(base) = &base {
        files.push((base.clone(), "/usr/sbin/mpath-boot-base".into()));
        bins.insert(0, "/usr/sbin/mpath-boot-base");
    }
    // Quick: no strace, no -j 1 run (MPATH_PROFILE_QUICK).
    let full = std::env::var_os("MPATH_PROFILE_QUICK").is_none();
    let mut s = String::from(HELPERS);
    s += &format!("section load load_scsi_debug '{PARAMS_1024}' 1024 || exit 30\n");
    s += "section sysfs_attrs sh -c 'ls /sys/block/sda/device/; ulimit -n; ulimit -Hn'\n";
    let skip_hung = std::env::var_os("MPATH_PROFILE_NO_HUNG").is_some();
    for round in 0..2 {
        for (i, bin) in bins.iter().enumerate() {
            let p = format!("r{round}b{i}");
            s += &format!(
                r#"
section {p}_first measure {p}_first {bin} -v$(( 3 * (1 - {round}) ))
section {p}_first_stages sh -c 'grep -E "timing" /tmp/{p}_first.out'
section {p}_rerun measure {p}_rerun {bin} -v$(( 3 * (1 - {round}) ))
section {p}_rerun_stages sh -c 'grep -E "timing" /tmp/{p}_rerun.out'
section {p}_tables sh -c 'dmsetup table | sort | md5sum; dmsetup table | wc -l'
if [ -x /usr/bin/strace ] && [ {round} = 0 ] && {full}; then
  section {p}_strace_rerun sh -c 'strace -f -c -o /tmp/{p}.strace {bin} -v0; head -n 25 /tmp/{p}.strace'
fi
{full} && section {p}_rss_j1 measure {p}_rss_j1 {bin} -v0 -j 1
{bin} -F -v0 > /dev/null 2>&1
if [ -x /usr/bin/strace ] && [ {round} = 0 ] && {full}; then
  section {p}_strace_first sh -c 'strace -f -c -o /tmp/{p}.strace1 {bin} -v0; head -n 25 /tmp/{p}.strace1'
  {bin} -F -v0 > /dev/null 2>&1
fi
"#
            );
        }
    }
    // The physical floor in this guest: the kernel creating the same 256
    // multipath tables from one dmsetup process (`create --concise`, no
    // udev), and from one dmsetup per map; then `-d -v3` of this build and
    // of the base, whose "TEST UNIT READY ... answered" timing is discovery
    // plus 1024 opens and asynchronous TURs with nothing else running.
    s += r#"
/usr/sbin/mpath-boot --no-partitions -v0 > /dev/null 2>&1
dmsetup info -c --noheadings -o name,uuid --separator ' ' > /tmp/uuids
dmsetup table > /tmp/tables
awk 'NR==FNR {u[$1]=$2; next} {n=$1; sub(":$","",n); $1=""; sub("^ ",""); printf "%s,%s,,rw,%s;", n, u[n], $0}' /tmp/uuids /tmp/tables > /tmp/concise
awk 'NR==FNR {u[$1]=$2; next} {n=$1; sub(":$","",n); $1=""; sub("^ ",""); printf "%s %s %s\n", n, u[n], $0}' /tmp/uuids /tmp/tables > /tmp/permap
dmsetup remove_all
quiet 30
section floor_dmsetup_concise sh -c 'wc -l < /tmp/permap; /usr/bin/time -f "TIME %e %M" dmsetup create --noudevsync --concise "$(cat /tmp/concise)"; dmsetup ls --target multipath | wc -l'
dmsetup remove_all
quiet 30
section floor_dmsetup_each sh -c '/usr/bin/time -f "TIME %e %M" sh -c "while read -r n u t; do dmsetup create --noudevsync \$n -u \$u --table \"\$t\" || exit 1; done < /tmp/permap"; dmsetup ls --target multipath | wc -l'
dmsetup remove_all
quiet 30
section floor_tur sh -c '/usr/bin/time -f "TIME %e %M" /usr/sbin/mpath-boot -d -v3 > /tmp/floor_tur.out 2>&1; grep "timing" /tmp/floor_tur.out; tail -n 1 /tmp/floor_tur.out'
if [ -x /usr/sbin/mpath-boot-base ]; then
  quiet 30
  section floor_tur_base sh -c '/usr/bin/time -f "TIME %e %M" /usr/sbin/mpath-boot-base -d -v3 > /tmp/floor_tur_base.out 2>&1; grep "timing" /tmp/floor_tur_base.out; tail -n 1 /tmp/floor_tur_base.out'
fi
"#;
    if !skip_hung {
        s += &format!(
            r#"
{MOVE_LUS_TO_A_NEW_HOST}quiet 60
section hung_state sh -c "echo recovery > /sys/class/scsi_host/$hung/state && cat /sys/class/scsi_host/$hung/state"
section hung_run watch_run hung {HUNG_CAP_S} /usr/sbin/mpath-boot --timeout {HUNG_TIMEOUT_S}
section hung_tables sh -c 'dmsetup table | wc -l; dmsetup table | grep -c multipath'
section hung_rerun watch_run hung2 {HUNG_CAP_S} /usr/sbin/mpath-boot --timeout {HUNG_TIMEOUT_S}
# Let the host go, or the power-off's cache flush waits on it forever.
echo running > /sys/class/scsi_host/$hung/state
sleep 3
"#
        );
    }
    let config = VmConfig {
        name: "bench-profile",
        script: s,
        overlays: vec![reference::reference_overlay()],
        files,
        timeout: Duration::from_secs(3600),
        memory_mb: MEMORY_MB,
        qemu_args: ram_args(),
        ..Default::default()
    };
    let run = boot(&config);
    println!("{}", run.console);
    run.assert_success();
}

/// Tables of this build against `MPATH_BENCH_BASE`'s on 1024 paths, three
/// times over (not a test: run by hand). Prints any difference.
#[test]
#[ignore = "profile: run by hand"]
fn profile_tables() {
    let base = PathBuf::from(std::env::var_os("MPATH_BENCH_BASE").expect("MPATH_BENCH_BASE"));
    let mut s = String::from(HELPERS);
    s += &format!("section load load_scsi_debug '{PARAMS_1024}' 1024 || exit 30\n");
    for i in 0..3 {
        s += &format!(
            r#"
mpath-boot-base -v0 > /dev/null 2>&1; dmsetup table | sort > /tmp/a{i}
mpath-boot -F -v0 > /dev/null 2>&1
mpath-boot -v3 > /tmp/new{i}.out 2>&1; dmsetup table | sort > /tmp/b{i}
mpath-boot -v0 > /dev/null 2>&1; dmsetup table | sort > /tmp/c{i}
section diff{i} sh -c 'wc -l /tmp/a{i} /tmp/b{i}; diff /tmp/a{i} /tmp/b{i} | head -n 20; diff /tmp/b{i} /tmp/c{i} | head -n 6; grep -E "stale|skipped|warn|error|vanished" /tmp/new{i}.out | head -n 20'
mpath-boot -F -v0 > /dev/null 2>&1
"#
        );
    }
    let config = VmConfig {
        name: "bench-profile-tables",
        script: s,
        files: vec![(base, "/usr/sbin/mpath-boot-base".into())],
        timeout: Duration::from_secs(1800),
        memory_mb: MEMORY_MB,
        qemu_args: ram_args(),
        ..Default::default()
    };
    let run = boot(&config);
    for i in 0..3 {
        println!("--- diff{i}\n{}", run.section(&format!("diff{i}")));
    }
    run.assert_success();
}
