//! mpath-boot loads the same maps as Debian's multipath-tools 0.9.4 (with
//! `find_multipaths off`), run first in the same guest on the same paths.

mod common;
mod guest;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, raw_image, scratch_dir, virtio_scsi_paths, VmConfig};

/// Guest lines: the reference (which flushes its maps and stops udev when
/// done), then mpath-boot, then its tables in the same sorted form.
fn both_tools() -> String {
    format!(
        "{}section mpath mpath-boot\nsection mine sh -c 'dmsetup table | sort'\n",
        reference::script()
    )
}

fn assert_same_maps(run: &common::GuestRun, expected_maps: usize) {
    run.assert_success();
    let theirs = reference::parse_dmsetup_table(&run.section_ok(reference::SECTION_TABLE));
    run.section_ok("mpath");
    let ours = reference::parse_dmsetup_table(&run.section_ok("mine"));
    assert_eq!(theirs.len(), expected_maps, "multipath-tools made: {theirs:#?}");
    assert_eq!(ours, theirs, "mpath-boot's maps (left) differ from multipath-tools' (right)");
}

#[test]
fn scsi_debug_two_hosts_same_tables_as_multipath_tools() {
    let script = format!(
        "{}{}",
        guest::scsi_debug("add_host=2 max_luns=4 vpd_use_hostno=0 dev_size_mb=8", 8),
        both_tools()
    );
    let run = boot(&VmConfig {
        name: "equivalence-scsi-debug",
        script,
        overlays: vec![reference::reference_overlay()],
        timeout: std::time::Duration::from_secs(300),
        ..Default::default()
    });
    assert_same_maps(&run, 4);
}

#[test]
fn scsi_debug_hosts_targets_luns_same_tables_as_multipath_tools() {
    let script = format!(
        "{}{}",
        guest::scsi_debug("add_host=2 num_tgts=2 max_luns=3 vpd_use_hostno=0 dev_size_mb=8", 12),
        both_tools()
    );
    let run = boot(&VmConfig {
        name: "equivalence-scsi-debug-targets",
        script,
        overlays: vec![reference::reference_overlay()],
        timeout: std::time::Duration::from_secs(300),
        ..Default::default()
    });
    assert_same_maps(&run, 6);
}

#[test]
fn virtio_dual_path_same_table_as_multipath_tools() {
    let dir = scratch_dir("equivalence-virtio");
    let image = dir.join("disk.img");
    raw_image(&image, 16);
    let script = format!(
        "modprobe virtio_pci || exit 10\nmodprobe virtio_scsi || exit 11\n\
         wait_until 60 test -e /sys/block/sdb/device/wwid || exit 12\n{}",
        both_tools()
    );
    let run = boot(&VmConfig {
        name: "equivalence-virtio",
        script,
        overlays: vec![reference::reference_overlay()],
        qemu_args: virtio_scsi_paths(&image, 2, "0x5000c50015ea71ac", "MPATH0"),
        timeout: std::time::Duration::from_secs(300),
        ..Default::default()
    });
    assert_same_maps(&run, 1);
    assert!(run.section("mine").starts_with("35000c50015ea71ac: "));
}
