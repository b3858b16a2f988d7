//! Proves the VM harness: a real kernel boots with the modules, tools and
//! /dev layouts that the mpath-boot tests rely on.

mod common;

use common::{boot, raw_image, scratch_dir, virtio_scsi_paths, DevMode, VmConfig};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// Lines of `text`, trimmed, without empty ones.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// The sdX names among the lines of `text`.
fn disks(text: &str) -> Vec<String> {
    lines(text)
        .into_iter()
        .filter(|d| d.starts_with("sd"))
        .collect()
}

/// Parses "key value" lines into a map.
fn pairs(text: &str) -> BTreeMap<String, String> {
    lines(text)
        .iter()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap_or((l.as_str(), ""));
            (k.to_string(), v.trim().to_string())
        })
        .collect()
}

/// Prints "sdX <contents of /sys/block/sdX/device/FILE>" for every disk.
fn per_disk(file: &str) -> String {
    format!("sh -c 'for d in /sys/block/sd*; do echo \"${{d##*/}} $(cat $d/device/{file})\"; done'")
}

#[test]
fn scsi_debug_two_hosts_give_eight_paths_to_four_lus() {
    let script = format!(
        r#"
modprobe scsi_debug add_host=2 vpd_use_hostno=0 max_luns=4 dev_size_mb=8 || exit 10
wait_until 60 test -e /sys/block/sdh/device/wwid || exit 11
wait_until 30 test -e /dev/sg7 || exit 12
section block ls /sys/block
section sg sh -c 'ls /dev | grep "^sg"'
section wwid {wwid}
section dh_state {dh}
section dmsetup_version dmsetup version
section dmsetup_ls dmsetup ls
section mpath_boot sh -c 'test -f /usr/sbin/mpath-boot && test -x /usr/sbin/mpath-boot && echo executable'
section ext4 sh -c 'modprobe ext4 && grep -w ext4 /proc/filesystems'
"#,
        wwid = per_disk("wwid"),
        dh = per_disk("dh_state"),
    );
    let run = boot(&VmConfig {
        name: "smoke-scsi-debug",
        script,
        ..Default::default()
    });
    run.assert_success();

    assert_eq!(
        disks(&run.section("block")),
        ["sda", "sdb", "sdc", "sdd", "sde", "sdf", "sdg", "sdh"]
    );
    assert_eq!(
        lines(&run.section("sg")),
        ["sg0", "sg1", "sg2", "sg3", "sg4", "sg5", "sg6", "sg7"]
    );

    // vpd_use_hostno=0: both hosts report the same LU identities.
    let wwids = pairs(&run.section("wwid"));
    assert_eq!(wwids.len(), 8);
    let mut paths_per_lu: BTreeMap<&str, usize> = BTreeMap::new();
    for w in wwids.values() {
        assert!(!w.is_empty(), "empty wwid in {wwids:?}");
        *paths_per_lu.entry(w).or_default() += 1;
    }
    assert_eq!(paths_per_lu.len(), 4, "expected 4 LUs: {wwids:?}");
    assert!(
        paths_per_lu.values().all(|&n| n == 2),
        "expected 2 paths per LU: {wwids:?}"
    );

    // scsi_dh_alua was loaded before scsi_debug and attached to every path.
    let dh = pairs(&run.section("dh_state"));
    assert!(
        dh.len() == 8 && dh.values().all(|v| v == "alua"),
        "dh_state: {dh:?}"
    );

    let version = run.section_ok("dmsetup_version");
    assert!(
        version.contains("Driver version:"),
        "dmsetup version: {version}"
    );
    let ls = run.section_ok("dmsetup_ls");
    assert!(ls.contains("No devices found"), "dmsetup ls: {ls}");
    assert_eq!(run.section_ok("mpath_boot").trim(), "executable");
    assert!(run.section_ok("ext4").contains("ext4"));
}

#[test]
fn bare_tmpfs_dev_without_sysfs_and_extra_files() {
    let dir = scratch_dir("smoke-bare-dev");
    let overlay = dir.join("overlay");
    fs::create_dir_all(overlay.join("opt/ref/bin")).unwrap();
    fs::write(
        overlay.join("opt/ref/bin/tool"),
        "#!/bin/sh\necho overlay tool ran\n",
    )
    .unwrap();
    fs::set_permissions(
        overlay.join("opt/ref/bin/tool"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("bin/tool", overlay.join("opt/ref/tool")).unwrap();
    let note = dir.join("note.txt");
    fs::write(&note, "copied by the harness\n").unwrap();

    let script = r#"
section sys ls -A /sys
section dev ls -A /dev
section mounts cat /proc/mounts
section modules cat /proc/modules
section overlay /opt/ref/tool
section file cat /etc/note.txt
"#;
    let run = boot(&VmConfig {
        name: "smoke-bare-dev",
        script: script.into(),
        mount_sysfs: false,
        dev: DevMode::BareTmpfs,
        files: vec![(note, "/etc/note.txt".into())],
        overlays: vec![overlay],
        ..Default::default()
    });
    run.assert_success();

    assert_eq!(run.section_ok("sys").trim(), "", "/sys must be empty");
    assert_eq!(lines(&run.section_ok("dev")), ["console", "null"]);
    let mounts = run.section_ok("mounts");
    assert!(!mounts.contains("sysfs"), "sysfs mounted: {mounts}");
    assert!(
        mounts.lines().any(|l| l.starts_with("dev /dev tmpfs ")),
        "no tmpfs /dev: {mounts}"
    );
    // The standard modules load without sysfs or device nodes.
    let modules = run.section_ok("modules");
    for m in ["dm_multipath", "scsi_dh_alua", "sd_mod"] {
        assert!(
            modules.lines().any(|l| l.starts_with(&format!("{m} "))),
            "{m} not loaded: {modules}"
        );
    }
    assert_eq!(run.section_ok("overlay"), "overlay tool ran\n");
    assert_eq!(run.section_ok("file"), "copied by the harness\n");
}

#[test]
fn two_virtio_scsi_paths_share_one_wwid() {
    let dir = scratch_dir("smoke-virtio");
    let image = dir.join("disk.img");
    raw_image(&image, 16);
    let script = format!(
        r#"
modprobe virtio_pci || exit 10
modprobe virtio_scsi || exit 11
wait_until 60 test -e /sys/block/sdb/device/wwid || exit 12
section block ls /sys/block
section wwid {}
"#,
        per_disk("wwid")
    );
    let run = boot(&VmConfig {
        name: "smoke-virtio",
        script,
        qemu_args: virtio_scsi_paths(&image, 2, "0x5000c50015ea71ac", "MPATH0"),
        ..Default::default()
    });
    run.assert_success();

    assert_eq!(disks(&run.section("block")), ["sda", "sdb"]);
    let wwids = pairs(&run.section("wwid"));
    assert_eq!(wwids.len(), 2);
    assert_eq!(wwids["sda"], wwids["sdb"], "paths differ: {wwids:?}");
    assert!(
        wwids["sda"].contains("5000c50015ea71ac"),
        "wwid does not carry the WWN: {wwids:?}"
    );
}
