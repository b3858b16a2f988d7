//! The "main job on an embedded default" demo, run by tests/vm/demo.sh with
//! `--nocapture`: mpath-boot assembles multipath maps from 8 scsi_debug
//! paths (2 hosts x 4 LUs) with no configuration, and the guest's output is
//! printed for a human. As a test it checks that every step exited 0 and
//! that the demo shows what it claims: 8 paths, 4 maps of 2 paths each, all
//! listed by `-l`.

mod common;
mod guest;

use common::{boot, VmConfig};
use guest::parse_tables;

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
    for (name, _, _) in STEPS {
        assert_eq!(run.status(name), 0, "{name}: {}", run.section(name));
    }
    let tables = parse_tables(&run.section("table"));
    assert_eq!(tables.len(), 4, "{tables:?}");
    assert!(tables.iter().all(|t| t.devices().len() == 2), "{tables:?}");
    let listed = run.section("list");
    for table in &tables {
        assert!(listed.contains(&table.name), "-l lacks {}:\n{listed}", table.name);
    }
    assert_eq!(run.section("assemble").matches("create: ").count(), 4, "{}", run.section("assemble"));
}
