//! mpath-boot's default job on a real kernel: scsi_debug multipath paths
//! become one device-mapper map per logical unit.

mod common;
mod guest;

use common::{boot, raw_image, scratch_dir, virtio_scsi_paths, VmConfig};
use guest::{lu_path_sets, map_path_sets, parse_inventory, parse_tables, scsi_debug, INVENTORY};

/// 2 hosts x 2 targets x 3 LUNs: 12 paths to 6 logical units.
const TWELVE_PATHS: &str = "add_host=2 num_tgts=2 max_luns=3 vpd_use_hostno=0 dev_size_mb=8";
/// 2 hosts x 4 LUNs: 8 paths to 4 logical units.
const EIGHT_PATHS: &str = "add_host=2 max_luns=4 vpd_use_hostno=0 dev_size_mb=8";

#[test]
fn one_map_per_lu_with_all_paths_and_a_rerun_changes_nothing() {
    let script = format!(
        r#"{}
section inventory {INVENTORY}
section first mpath-boot
section table1 dmsetup table
section info1 dmsetup info -c --noheadings -o name,uuid,events
section rerun mpath-boot
section table2 dmsetup table
section info2 dmsetup info -c --noheadings -o name,uuid,events
section nodes ls /dev/mapper
section list mpath-boot -l
"#,
        scsi_debug(TWELVE_PATHS, 12)
    );
    let run = boot(&VmConfig { name: "assemble-twelve-paths", script, ..Default::default() });
    run.assert_success();

    let disks = parse_inventory(&run.section("inventory"));
    assert_eq!(disks.len(), 12);
    let first = run.section_ok("first");
    let tables = parse_tables(&run.section_ok("table1"));
    assert_eq!(tables.len(), 6, "one map per LU expected:\n{first}");
    assert_eq!(map_path_sets(&tables), lu_path_sets(&disks), "maps must hold exactly each LU's paths");
    for t in &tables {
        assert_eq!(t.target, "multipath");
        assert_eq!(t.length, 16384);
        assert!(t.name.starts_with("1Linux_scsi_debug_"), "WWID name: {}", t.name);
        assert!(first.contains(&format!("create: {} ", t.name)), "no create line for {}:\n{first}", t.name);
    }
    for line in run.section_ok("info1").lines() {
        let f: Vec<&str> = line.split(':').collect();
        assert_eq!(f[1], format!("mpath-{}", f[0]), "DM UUID must be mpath-<wwid>: {line}");
    }

    let rerun = run.section_ok("rerun");
    assert_eq!(rerun.lines().filter(|l| l.starts_with("unchanged: ")).count(), 6, "{rerun}");
    assert_eq!(rerun.lines().count(), 6, "a rerun reports only unchanged maps:\n{rerun}");
    assert_eq!(run.section("table2"), run.section("table1"));
    assert_eq!(run.section("info2"), run.section("info1"), "a rerun must not reload (event counters)");

    let nodes = run.section_ok("nodes");
    for t in &tables {
        assert!(nodes.lines().any(|n| n == t.name), "/dev/mapper/{} missing: {nodes}", t.name);
    }
    let list = run.section_ok("list");
    for t in &tables {
        assert!(list.contains(&format!("{} (mpath-{})", t.name, t.name)), "{list}");
    }
    for d in &disks {
        assert!(list.contains(&format!(" {} {} active", d.name, d.devnum)), "{} not listed active:\n{list}", d.name);
    }
}

#[test]
fn an_offline_path_is_left_out_and_a_rerun_adds_it_back_by_reload() {
    let script = format!(
        r#"{}
section inventory {INVENTORY}
echo offline > /sys/block/sdb/device/state
section first mpath-boot
section table1 dmsetup table
echo running > /sys/block/sdb/device/state
section second mpath-boot
section table2 dmsetup table
"#,
        scsi_debug(EIGHT_PATHS, 8)
    );
    let run = boot(&VmConfig { name: "assemble-offline-path", script, ..Default::default() });
    run.assert_success();

    let disks = parse_inventory(&run.section("inventory"));
    let victim = disks.iter().find(|d| d.name == "sdb").expect("sdb in inventory");
    let first = run.section_ok("first");
    assert!(first.contains("sdb: stale path, left out"), "{first}");
    let tables = parse_tables(&run.section("table1"));
    assert_eq!(tables.len(), 4);
    let degraded: Vec<_> = tables.iter().filter(|t| t.devices().len() == 1).collect();
    assert_eq!(degraded.len(), 1, "exactly one map misses a path: {tables:?}");
    assert!(!tables.iter().any(|t| t.devices().contains(&victim.devnum)));

    let second = run.section_ok("second");
    assert!(second.contains(&format!("reload: {} ", degraded[0].name)), "{second}");
    assert_eq!(second.lines().filter(|l| l.starts_with("unchanged: ")).count(), 3, "{second}");
    let tables = parse_tables(&run.section("table2"));
    assert_eq!(map_path_sets(&tables), lu_path_sets(&disks));
}

#[test]
fn dry_run_prints_tables_and_creates_nothing() {
    let script = format!(
        r#"{}
section dry mpath-boot -d
section ls dmsetup ls
section nodes ls /dev/mapper
section held_by sh -c 'dmsetup create holder --table "0 8 linear /dev/sda 0" && cat /sys/block/sda/dev && ls /sys/block/sda/holders'
section held_dry mpath-boot -d
dmsetup remove holder || exit 21
rmmod dm_round_robin dm_service_time dm_queue_length dm_multipath dm_mod || exit 20
section dry_without_dm mpath-boot -d
"#,
        scsi_debug(EIGHT_PATHS, 8)
    );
    let run = boot(&VmConfig { name: "assemble-dry-run", script, ..Default::default() });
    run.assert_success();
    // A path held by another device-mapper device is left alone.
    let held_by = run.section_ok("held_by");
    let mut held_lines = held_by.lines();
    let (sda, holder) = (held_lines.next().unwrap_or_default().trim(), held_lines.next().unwrap_or_default().trim());
    assert!(holder.starts_with("dm-"), "{held_by}");
    let held_dry = run.section_ok("held_dry");
    assert!(held_dry.contains(&format!("sda: in use: sda is held by {holder}: not touched")), "{held_dry}");
    assert!(!held_dry.contains(&format!(" {sda} ")), "{held_dry}");
    // Its LU is left one path, which find_multipaths (on) does not take.
    assert_eq!(held_dry.lines().filter(|l| l.starts_with("would create: 1Linux_scsi_debug_")).count(), 3, "{held_dry}");
    let dry = run.section_ok("dry");
    assert_eq!(dry.lines().filter(|l| l.starts_with("would create: 1Linux_scsi_debug_")).count(), 4, "{dry}");
    assert_eq!(dry.lines().filter(|l| l.contains(": 0 16384 multipath 0 1 alua 2 1 service-time 0 ")).count(), 4, "{dry}");
    assert!(run.section_ok("ls").contains("No devices found"));
    assert_eq!(run.section_ok("nodes").trim(), "control");
    // Without device-mapper a dry run still shows what it would load.
    let without = run.section_ok("dry_without_dm");
    assert_eq!(without.lines().filter(|l| l.starts_with("would create: ")).count(), 4, "{without}");
    assert_eq!(without.lines().filter(|l| l.contains(": 0 16384 multipath ")).count(), 4, "{without}");
}

#[test]
fn flush_removes_maps_that_are_not_open_and_refuses_open_ones() {
    let script = format!(
        r#"{}
section create mpath-boot
name=$(dmsetup ls | sort | head -n 1 | cut -f 1)
exec 3< /dev/mapper/$name
section flush_open mpath-boot -f $name
section flush_all_busy mpath-boot -F
section left dmsetup ls
exec 3<&-
section flush_one mpath-boot -f $name
section missing mpath-boot -f $name
section ls dmsetup ls
section nodes ls /dev/mapper
dmsetup create $name -u FOREIGN-$name --table "0 8 error" || exit 21
section collide mpath-boot
section collide_table dmsetup table $name
section collide_info sh -c 'dmsetup info -c --noheadings -o name,uuid --separator " " | sort'
"#,
        scsi_debug(EIGHT_PATHS, 8)
    );
    let run = boot(&VmConfig { name: "assemble-flush", script, ..Default::default() });
    run.assert_success();
    run.section_ok("create");
    assert_eq!(run.status("flush_open"), 1);
    assert!(run.section("flush_open").contains("in use"));
    assert_eq!(run.status("flush_all_busy"), 1, "one map was open");
    assert_eq!(run.section("flush_all_busy").matches("flush: ").count(), 3);
    assert_eq!(run.section("left").lines().filter(|l| !l.trim().is_empty()).count(), 1);
    assert!(run.section_ok("flush_one").starts_with("flush: "));
    assert_eq!(run.status("missing"), 1);
    assert!(run.section("missing").contains("no such map"));
    assert!(run.section_ok("ls").contains("No devices found"));
    assert_eq!(run.section_ok("nodes").trim(), "control", "flush removes the nodes it made");
    // A device of another UUID holding a map's name: that map fails with
    // the owner named, the device is untouched, the other maps are made.
    assert_eq!(run.status("collide"), 1);
    let collide = run.section("collide");
    assert!(
        collide.contains("a device-mapper device of that name exists with UUID \"FOREIGN-"),
        "{collide}"
    );
    assert!(run.section_ok("collide_table").contains(" error"), "the foreign table stays");
    let info = run.section_ok("collide_info");
    assert_eq!(info.lines().filter(|l| l.split(' ').nth(1).is_some_and(|u| u.starts_with("mpath-"))).count(), 3, "{info}");
    assert_eq!(info.lines().filter(|l| l.contains(" FOREIGN-")).count(), 1, "{info}");
}

#[test]
fn data_written_through_a_map_reads_back_through_the_map_and_each_path() {
    let script = format!(
        r#"{}
section create mpath-boot
name=$(dmsetup ls | sort | head -n 1 | cut -f 1)
dd if=/dev/urandom of=/tmp/pattern bs=64k count=16 2>/dev/null
section pattern md5sum /tmp/pattern
dd if=/tmp/pattern of=/dev/mapper/$name bs=64k conv=fsync 2>/dev/null || exit 20
echo 3 > /proc/sys/vm/drop_caches
section via_map sh -c "dd if=/dev/mapper/$name bs=64k count=16 2>/dev/null | md5sum"
section paths sh -c "dmsetup deps -o devname $name"
for p in $(dmsetup deps -o devname $name | sed 's/.*: //; s/[()]//g'); do
  section via_path sh -c "dd if=/dev/$p bs=64k count=16 2>/dev/null | md5sum"
done
"#,
        scsi_debug(EIGHT_PATHS, 8)
    );
    let run = boot(&VmConfig { name: "assemble-data", script, ..Default::default() });
    run.assert_success();
    let sum = |s: &str| s.split_whitespace().next().unwrap_or("").to_string();
    let pattern = sum(&run.section_ok("pattern"));
    assert_eq!(pattern.len(), 32);
    assert_eq!(sum(&run.section_ok("via_map")), pattern);
    let via_paths = run.sections("via_path");
    assert_eq!(via_paths.len(), 2, "two paths expected: {}", run.section("paths"));
    for p in via_paths {
        assert_eq!(sum(&p), pattern);
    }
}

#[test]
fn policies_shape_the_path_groups() {
    let script = format!(
        r#"{}
section failover mpath-boot
section t_failover dmsetup table
mpath-boot -F -v0
section multibus mpath-boot -p multibus
section t_multibus dmsetup table
mpath-boot -F -v0
section by_prio mpath-boot --policy group_by_prio
section t_by_prio dmsetup table
"#,
        scsi_debug(EIGHT_PATHS, 8)
    );
    let run = boot(&VmConfig { name: "assemble-policies", script, ..Default::default() });
    run.assert_success();
    for t in parse_tables(&run.section_ok("t_failover")) {
        assert_eq!(t.group_count(), 2, "failover: one group per path: {t:?}");
    }
    for t in parse_tables(&run.section_ok("t_multibus")) {
        assert_eq!(t.group_count(), 1, "multibus: one group: {t:?}");
        assert!(t.params.contains(" 1 1 service-time 0 2 2 "), "{t:?}");
    }
    // group_by_prio: as many groups as distinct path priorities in the map,
    // read from the failover run's report.
    let failover = run.section("failover");
    for t in parse_tables(&run.section_ok("t_by_prio")) {
        let line = failover.lines().find(|l| l.starts_with(&format!("create: {} ", t.name))).unwrap();
        let mut prios: Vec<&str> = line.split("prio=").skip(1).map(|s| s.split(':').next().unwrap()).collect();
        prios.sort();
        prios.dedup();
        assert_eq!(t.group_count(), prios.len(), "{t:?} vs {line}");
    }
}

#[test]
fn hung_paths_cost_one_timeout_not_one_each() {
    // scsi_debug ignores every command (opts=4, every_nth=1): each TEST UNIT
    // READY times out. Eight paths probed at once must take about one
    // timeout, not eight.
    let script = format!(
        r#"{}
echo 1 > /sys/bus/pseudo/drivers/scsi_debug/every_nth
echo 4 > /sys/bus/pseudo/drivers/scsi_debug/opts
start=$(cut -d. -f1 /proc/uptime)
section hung mpath-boot --timeout 3
end=$(cut -d. -f1 /proc/uptime)
section elapsed echo $((end - start))
section ls dmsetup ls
# Answer again, or the shutdown's cache flushes time out one by one.
echo 0 > /sys/bus/pseudo/drivers/scsi_debug/opts
"#,
        scsi_debug(EIGHT_PATHS, 8)
    );
    let run = boot(&VmConfig { name: "assemble-hung", script, ..Default::default() });
    run.assert_success();
    let hung = run.section("hung");
    assert_eq!(run.status("hung"), 0, "no usable path means nothing to fail:\n{hung}");
    assert_eq!(hung.matches("stale path, left out").count() + hung.matches("no answer within").count(), 8, "{hung}");
    assert!(run.section_ok("ls").contains("No devices found"));
    let elapsed: u64 = run.section_ok("elapsed").trim().parse().unwrap();
    // Serial probing would need 8 x 3 s at the very least.
    assert!(elapsed < 24, "probing took {elapsed} s: paths were not probed concurrently\n{hung}");
}

#[test]
fn two_virtio_scsi_paths_become_one_map_named_by_the_naa_wwid() {
    let dir = scratch_dir("assemble-virtio");
    let image = dir.join("disk.img");
    raw_image(&image, 16);
    let script = r#"
modprobe virtio_pci || exit 10
modprobe virtio_scsi || exit 11
wait_until 60 test -e /sys/block/sdb/device/wwid || exit 12
section syspaths sh -c 'for d in /sys/block/sd*; do echo "$(readlink -f $d) $(cat $d/dev)"; done | sort'
section create mpath-boot
section table dmsetup table
dd if=/dev/urandom of=/tmp/pattern bs=64k count=4 2>/dev/null
dd if=/tmp/pattern of=/dev/mapper/35000c50015ea71ac bs=64k conv=fsync 2>/dev/null || exit 20
echo 3 > /proc/sys/vm/drop_caches
section sums sh -c 'md5sum < /tmp/pattern; for d in /dev/mapper/35000c50015ea71ac /dev/sda /dev/sdb; do dd if=$d bs=64k count=4 2>/dev/null | md5sum; done'
"#;
    let run = boot(&VmConfig {
        name: "assemble-virtio",
        script: script.into(),
        qemu_args: virtio_scsi_paths(&image, 2, "0x5000c50015ea71ac", "MPATH0"),
        ..Default::default()
    });
    run.assert_success();
    let create = run.section_ok("create");
    assert!(create.starts_with("create: 35000c50015ea71ac "), "{create}");
    let tables = parse_tables(&run.section_ok("table"));
    assert_eq!(tables.len(), 1);
    // No ALUA: no hardware handler, constant priorities, one path per
    // group, paths in sysfs device path order (multipath-tools' udev order).
    let order: Vec<String> = run
        .section_ok("syspaths")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    assert_eq!(order.len(), 2);
    assert_eq!(
        tables[0].params,
        format!("0 0 2 1 service-time 0 1 2 {} 1 1 service-time 0 1 2 {} 1 1", order[0], order[1])
    );
    let sums: Vec<String> = run
        .section_ok("sums")
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(sums.len(), 4);
    assert!(sums.iter().all(|s| *s == sums[0]), "{sums:?}");
}
