//! Benchmark (not a test: run by tests/vm/bench.sh, never in CI): wall
//! time and peak memory of mpath-boot and of multipath-tools 0.9.4 making
//! the same maps from many scsi_debug paths, in the same guest.
//!
//! multipath-tools needs a running, settled udev, which is not counted in
//! its time; mpath-boot needs nothing. Both run at verbosity 0.

mod common;
mod guest;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, VmConfig};

/// 4 hosts x 4 targets x 16 LUNs = 256 paths to 64 logical units.
const PARAMS: &str = "add_host=4 num_tgts=4 max_luns=16 vpd_use_hostno=0 dev_size_mb=8";
const PATHS: usize = 256;

/// Pulls "Elapsed ... m:ss.ss" (seconds) and "Maximum resident set size"
/// (KiB) out of busybox `time -v` output.
fn measure(text: &str) -> (f64, u64) {
    let mut seconds = f64::NAN;
    let mut rss = 0;
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Elapsed (wall clock) time (h:mm:ss or m:ss): ") {
            // busybox prints "0m 2.53s"; GNU time "0:02.53" or "1:02:03".
            let v = v.replace('m', ":").replace(['s', ' '], "");
            let parts: Vec<f64> = v.split(':').map(|p| p.parse().unwrap_or(f64::NAN)).collect();
            seconds = parts.iter().fold(0.0, |acc, p| acc * 60.0 + p);
        }
        if let Some(v) = line.strip_prefix("Maximum resident set size (kbytes): ") {
            rss = v.trim().parse().unwrap_or(0);
        }
    }
    (seconds, rss)
}

#[test]
#[ignore = "benchmark: run tests/vm/bench.sh"]
fn bench_mpath_boot_against_multipath_tools() {
    let script = format!(
        r#"{load}
section mine_first time -v mpath-boot -v0
section mine_tables sh -c 'dmsetup table | sort'
section mine_rerun time -v mpath-boot -v0
section mine_flush mpath-boot -F -v0
section ref_up {run} up
section ref_first time -v /sbin/multipath -v0
section ref_tables sh -c 'dmsetup table | sort'
section ref_down {run} down
"#,
        load = guest::scsi_debug(PARAMS, PATHS),
        run = reference::RUN_REFERENCE,
    );
    let run = boot(&VmConfig {
        name: "bench",
        script,
        overlays: vec![reference::reference_overlay()],
        timeout: std::time::Duration::from_secs(900),
        memory_mb: 2048,
        ..Default::default()
    });
    run.assert_success();
    let (mine, theirs) = (run.section_ok("mine_tables"), run.section_ok("ref_tables"));
    assert_eq!(mine.lines().count(), PATHS / 4, "one map per LU");
    assert_eq!(mine, theirs, "both tools must make the same maps");
    println!("\n{PATHS} scsi_debug paths ({PARAMS}), qemu TCG, 1 vCPU:");
    for (label, section) in [
        ("mpath-boot, first run (creates 64 maps)", "mine_first"),
        ("mpath-boot, rerun (all unchanged)", "mine_rerun"),
        ("multipath -v0 (0.9.4), udev already settled", "ref_first"),
    ] {
        let (seconds, rss) = measure(&run.section_ok(section));
        println!("  {label:<48} {seconds:>7.2} s  {rss:>7} KiB max RSS");
    }
}
