//! The "main job on an embedded default" demo, run by tests/vm/demo.sh with
//! `--nocapture`: mpath-boot assembles multipath maps from 8 scsi_debug
//! paths (2 hosts x 4 LUs) with no configuration, and the guest's output is
//! printed for a human. As a test it checks that the paths appeared and that
//! every step ran to completion; the tests of mpath-boot itself judge its
//! results.

mod common;

use common::{boot, VmConfig};

/// (section name, what to show, guest command), in the order they run.
const STEPS: &[(&str, &str, &str)] = &[
    (
        "paths",
        "SCSI paths and their WWIDs",
        "sh -c 'for d in /sys/block/sd*; do echo \"${d##*/} $(cat $d/device/wwid)\"; done'",
    ),
    ("assemble", "# mpath-boot -v2", "mpath-boot -v2"),
    ("list", "# mpath-boot -l", "mpath-boot -l"),
    ("table", "# dmsetup table", "dmsetup table"),
];

#[test]
fn demo_main_job_on_scsi_debug() {
    let mut script = String::from(
        "modprobe scsi_debug add_host=2 max_luns=4 vpd_use_hostno=0 dev_size_mb=8 || exit 10\n\
         wait_until 60 test -e /sys/block/sdh/device/wwid || exit 11\n\
         wait_until 30 test -e /dev/sdh || exit 12\n",
    );
    for (name, _, cmd) in STEPS {
        script += &format!("section {name} {cmd}\n");
    }
    let run = boot(&VmConfig {
        name: "demo",
        script,
        ..Default::default()
    });

    println!(
        "\n=== guest booted and ran in {:.1?} (logs in {}) ===",
        run.elapsed,
        run.dir.display()
    );
    for (name, shown, _) in STEPS {
        let s = run.first_section(name);
        println!(
            "\n--- {shown}   (exit status {}) ---\n{}",
            s.status,
            s.output.trim_end()
        );
    }
    println!();
    run.assert_success();
    assert_eq!(
        run.section("paths")
            .lines()
            .filter(|l| l.starts_with("sd"))
            .count(),
        8
    );
}
