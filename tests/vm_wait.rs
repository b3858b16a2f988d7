//! Late paths and the kernel command line: `--wait` rescans until every
//! map has its paths, and `--cmdline` takes its settings from the kernel.

mod common;
mod guest;

use common::{boot, VmConfig};
use guest::{parse_tables, scsi_debug};

/// One host first (one path per LU); a second host, hence a second path to
/// each LU, appears three seconds later, while mpath-boot waits.
fn late_second_host() -> String {
    format!(
        "{}( sleep 3; echo 1 > /sys/bus/pseudo/drivers/scsi_debug/add_host ) </dev/null >/dev/null 2>&1 &\n",
        scsi_debug("add_host=1 max_luns=2 vpd_use_hostno=0 dev_size_mb=8", 2)
    )
}

#[test]
fn wait_reloads_maps_as_late_paths_arrive() {
    let script = format!(
        r#"{}
section wait mpath-boot --find-multipaths off --wait 60 --min-paths 2
section tables dmsetup table
section short mpath-boot --wait 2 --min-paths 3
true
"#,
        late_second_host()
    );
    let run = boot(&VmConfig { name: "wait-late-paths", script, ..Default::default() });
    run.assert_success();
    let wait = run.section_ok("wait");
    assert_eq!(wait.matches("create: ").count(), 2, "{wait}");
    assert!(wait.lines().any(|l| l.starts_with("create: ") && l.contains("paths=1")), "{wait}");
    assert_eq!(wait.matches("reload: ").count(), 2, "late paths are added by reload:\n{wait}");
    let tables = parse_tables(&run.section_ok("tables"));
    assert_eq!(tables.len(), 2);
    assert!(tables.iter().all(|t| t.devices().len() == 2), "{tables:?}");
    assert_eq!(run.status("short"), 1, "an unmet wait fails");
    assert!(run.section("short").contains("waited 2 s, still"), "{}", run.section("short"));
}

/// With the default find_multipaths on, a LU seen on one path gets no map
/// (it could be a local disk); the map is made once the second path is
/// there, already with both paths.
#[test]
fn wait_with_find_multipaths_on_creates_maps_when_the_second_path_arrives() {
    let script = format!(
        r#"{}
section wait mpath-boot -v3 --wait 60 --min-paths 2
section tables dmsetup table
"#,
        late_second_host()
    );
    let run = boot(&VmConfig { name: "wait-find-multipaths-on", script, ..Default::default() });
    run.assert_success();
    let wait = run.section_ok("wait");
    assert!(wait.contains("passed over: find_multipaths on: only one path"), "{wait}");
    let creates: Vec<&str> = wait.lines().filter(|l| l.starts_with("create: ")).collect();
    assert_eq!(creates.len(), 2, "{wait}");
    assert!(creates.iter().all(|l| l.contains("paths=2")), "{wait}");
    assert_eq!(wait.matches("reload: ").count(), 0, "{wait}");
    let tables = parse_tables(&run.section_ok("tables"));
    assert_eq!(tables.len(), 2);
    assert!(tables.iter().all(|t| t.devices().len() == 2), "{tables:?}");
}

#[test]
fn kernel_command_line_sets_policy_and_wait_and_reports_bad_values() {
    let script = format!(
        r#"{}
section boot mpath-boot --cmdline
section tables dmsetup table
"#,
        late_second_host()
    );
    let run = boot(&VmConfig {
        name: "wait-cmdline",
        script,
        // root= names an LV mpath-boot never makes; mpath_boot.expect
        // replaces it, or the wait would run out.
        kernel_args: [
            "mpath_boot.wait=abc",
            "mpath_boot.policy=multibus",
            "mpath_boot.paths=2",
            "mpath_boot.wait=60",
            "root=/dev/mapper/vg-root",
            "mpath_boot.expect=1Linux_scsi_debug_2001",
        ]
        .map(String::from)
        .to_vec(),
        ..Default::default()
    });
    run.assert_success();
    let out = run.section_ok("boot");
    assert!(
        out.contains("ignoring kernel command line option \"mpath_boot.wait=abc\"") && out.contains("using the default"),
        "{out}"
    );
    let tables = parse_tables(&run.section_ok("tables"));
    assert_eq!(tables.len(), 2);
    for t in &tables {
        assert_eq!(t.group_count(), 1, "multibus from the command line: {t:?}");
        assert_eq!(t.devices().len(), 2, "waited for mpath_boot.paths=2: {t:?}");
    }
}

#[test]
fn kernel_command_line_can_disable_it() {
    let script = format!(
        "{}section boot mpath-boot --cmdline\nsection ls dmsetup ls\n",
        scsi_debug("add_host=2 max_luns=1 vpd_use_hostno=0 dev_size_mb=8", 2)
    );
    let run = boot(&VmConfig {
        name: "wait-disabled",
        script,
        kernel_args: vec!["rd.multipath=0".into()],
        ..Default::default()
    });
    run.assert_success();
    assert!(run.section_ok("boot").contains("disabled on the kernel command line"));
    assert!(run.section_ok("ls").contains("No devices found"));
}
