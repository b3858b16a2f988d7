//! Bare early-boot environments: no sysfs, no device nodes, or both. The
//! ioctl scan and mknod must give exactly the maps the sysfs scan gives on
//! a normal /dev, in the same guest, with an offline path still left out.
//! Both run with `--find-multipaths off`: without sysfs the WWID of a dead
//! path is unknown (no cached page 0x83), so under the default `on` its
//! LU, left with one live path, would get a map only from the sysfs scan.

mod common;
mod guest;

use common::{boot, DevMode, GuestRun, VmConfig};
use guest::parse_tables;

const PARAMS: &str = "add_host=2 num_tgts=2 max_luns=2 vpd_use_hostno=0 dev_size_mb=8";
const PATHS: usize = 8;

/// Waits for the scsi_debug paths without sysfs or udev: /proc/partitions
/// lists the disks (sg attaches synchronously when the SCSI device is added,
/// before sd's asynchronous probe makes the disk).
fn load_scsi_debug() -> String {
    format!(
        r#"
modprobe scsi_debug {PARAMS} || exit 10
wait_until 90 sh -c '[ $(grep -c " sd[a-z]*$" /proc/partitions) -eq {PATHS} ]' || exit 11
"#
    )
}

/// Takes the path at SCSI address 1:0:0:1 offline through a private sysfs
/// mount, and prints its device number (section `victim`).
const OFFLINE_ONE_PATH: &str = r#"
mkdir -p /tmp/sys && mount -t sysfs sys /tmp/sys || exit 13
victim=$(ls /tmp/sys/bus/scsi/devices/1:0:0:1/block)
section victim cat /tmp/sys/block/$victim/dev
echo offline > /tmp/sys/block/$victim/device/state || exit 14
umount /tmp/sys
"#;

/// Writes through the first map and reads back through it.
const DATA_ROUND_TRIP: &str = r#"
name=$(dmsetup ls | sort | head -n 1 | cut -f 1)
[ -e /dev/urandom ] || mknod /dev/urandom c 1 9
dd if=/dev/urandom of=/tmp/pattern bs=64k count=8 2>/dev/null
dd if=/tmp/pattern of=/dev/mapper/$name bs=64k conv=fsync 2>/dev/null || exit 20
echo 3 > /proc/sys/vm/drop_caches
section data sh -c "md5sum < /tmp/pattern; dd if=/dev/mapper/$name bs=64k count=8 2>/dev/null | md5sum"
"#;

/// Then the reference run: sysfs on /sys, devtmpfs on /dev.
const SYSFS_ON_NORMAL_DEV: &str = r#"
section flush mpath-boot -F
grep -q " /sys sysfs " /proc/mounts || mount -t sysfs sys /sys || exit 30
grep -q "^dev /dev devtmpfs" /proc/mounts || mount -t devtmpfs dev /dev || exit 31
section sysfs_run mpath-boot --scan sysfs --find-multipaths off
section sysfs_table sh -c 'dmsetup table | sort'
"#;

fn assert_same_maps_as_sysfs(run: &GuestRun) {
    run.assert_success();
    let bare = run.section_ok("bare_table");
    let reference = run.section_ok("sysfs_table");
    let tables = parse_tables(&bare);
    assert_eq!(tables.len(), 4, "4 LUs expected:\n{}", run.section("bare_run"));
    assert_eq!(bare, reference, "ioctl/mknod maps differ from the sysfs scan's");
    let victim = run.section_ok("victim").trim().to_string();
    assert!(!victim.is_empty());
    assert!(
        !tables.iter().any(|t| t.devices().contains(&victim)),
        "offline path {victim} must be left out: {bare}"
    );
    assert_eq!(tables.iter().map(|t| t.devices().len()).sum::<usize>(), PATHS - 1);
    let data = run.section("data");
    let sums: Vec<&str> = data.lines().map(|l| l.split_whitespace().next().unwrap_or("")).collect();
    assert_eq!(sums.len(), 2);
    assert_eq!(sums[0], sums[1], "data read back through the map differs");
}

#[test]
fn without_sysfs_the_ioctl_scan_makes_the_sysfs_scans_maps() {
    let script = format!(
        r#"{}{OFFLINE_ONE_PATH}
section bare_run mpath-boot -v3 --find-multipaths off
section bare_table sh -c 'dmsetup table | sort'
{DATA_ROUND_TRIP}{SYSFS_ON_NORMAL_DEV}"#,
        load_scsi_debug()
    );
    let run = boot(&VmConfig { name: "no-sysfs", script, mount_sysfs: false, ..Default::default() });
    assert_same_maps_as_sysfs(&run);
    assert!(run.section("bare_run").contains("scanning sg and sd nodes"));
}

#[test]
fn with_a_bare_dev_the_sysfs_scan_makes_its_nodes() {
    let script = format!(
        r#"{}{OFFLINE_ONE_PATH}
section bare_run mpath-boot -v3 --find-multipaths off
section bare_table sh -c 'dmsetup table | sort'
section nodes sh -c 'ls -ln /dev /dev/mapper'
{DATA_ROUND_TRIP}{WRONG_SG_NODE}{SYSFS_ON_NORMAL_DEV}"#,
        load_scsi_debug()
    );
    let run = boot(&VmConfig { name: "bare-dev", script, dev: DevMode::BareTmpfs, ..Default::default() });
    assert_same_maps_as_sysfs(&run);
    // Nodes for every path sysfs lists, the offline one included.
    assert_nodes(&run.section("nodes"), PATHS, PATHS);
    assert_wrong_sg_node_left_out(&run);
}

/// With the maps flushed, /dev/sg2 (0:0:1:0, not the offline path's LU) is
/// made again as sg0's node (21:0) and mpath-boot runs once more: sg2's
/// disk (section `sg2_disk`) must be left out, naming the wrong node.
const WRONG_SG_NODE: &str = r#"
section wrong_flush mpath-boot -F -v0
rm -f /dev/sg2 && mknod -m 600 /dev/sg2 c 21 0 || exit 40
section sg2_disk cat /sys/class/scsi_generic/sg2/device/block/*/dev
section wrong_run mpath-boot -v2 --find-multipaths off
section wrong_table sh -c 'dmsetup table | sort'
section wrong_node ls -ln /dev/sg2
"#;

fn assert_wrong_sg_node_left_out(run: &GuestRun) {
    let disk = run.section_ok("sg2_disk").trim().to_string();
    assert!(!disk.is_empty());
    let out = run.section("wrong_run");
    assert!(out.contains("/dev/sg2 is device 21:0, not 21:2"), "no wrong-node message:\n{out}");
    let tables = parse_tables(&run.section_ok("wrong_table"));
    assert_eq!(tables.len(), 4, "every LU keeps a map:\n{out}");
    assert!(!tables.iter().any(|t| t.devices().contains(&disk)), "{disk} went into a table:\n{out}");
    // The node is reported, never replaced.
    let node = run.section_ok("wrong_node");
    let words: Vec<&str> = node.split_whitespace().collect();
    assert!(words.windows(2).any(|w| w == ["21,", "0"]), "/dev/sg2 changed: {node}");
}

#[test]
fn without_sysfs_and_with_a_bare_dev_nodes_are_probed_and_cleaned_up() {
    let script = format!(
        r#"{}{OFFLINE_ONE_PATH}
section bare_run mpath-boot -v3 --find-multipaths off --max-devices 64
section bare_table sh -c 'dmsetup table | sort'
section nodes sh -c 'ls -ln /dev /dev/mapper'
{DATA_ROUND_TRIP}{SYSFS_ON_NORMAL_DEV}"#,
        load_scsi_debug()
    );
    let run = boot(&VmConfig {
        name: "no-sysfs-bare-dev",
        script,
        mount_sysfs: false,
        dev: DevMode::BareTmpfs,
        ..Default::default()
    });
    assert_same_maps_as_sysfs(&run);
    // Nodes that led nowhere (sg8.., sdi.., and the offline path's sd node,
    // whose open fails) are gone; the offline path's sg node still opens.
    assert_nodes(&run.section("nodes"), PATHS - 1, PATHS);
}

/// `ls -ln /dev /dev/mapper` shows `sd_nodes` sd and `sg_nodes` sg nodes
/// (mode 0600, root, right types and majors), the control node and 4 map
/// nodes.
fn assert_nodes(listing: &str, sd_nodes: usize, sg_nodes: usize) {
    let entries: Vec<Vec<&str>> = listing.lines().map(|l| l.split_whitespace().collect()).collect();
    let named = |prefix: &str| -> Vec<&Vec<&str>> {
        entries.iter().filter(|e| e.last().is_some_and(|n| n.starts_with(prefix))).collect()
    };
    let sd = named("sd");
    let sg = named("sg");
    assert_eq!(sd.len(), sd_nodes, "sd nodes:\n{listing}");
    assert_eq!(sg.len(), sg_nodes, "sg nodes:\n{listing}");
    for e in sd {
        assert_eq!(e[0], "brw-------", "{e:?}");
        assert_eq!((e[2], e[3]), ("0", "0"), "owner root: {e:?}");
        assert_eq!(e[4], "8,", "{e:?}");
    }
    for e in sg {
        assert_eq!(e[0], "crw-------", "{e:?}");
        assert_eq!(e[4], "21,", "{e:?}");
    }
    let control = named("control");
    assert_eq!(control.len(), 1, "{listing}");
    assert_eq!(control[0][0], "crw-------");
    assert_eq!(named("1Linux_scsi_debug_").len(), 4, "map nodes:\n{listing}");
}
