//! Partition maps on multipath maps, as kpartx makes them, checked against
//! the kernel's own reading of the same partition tables (the guest's
//! /sys/block/sdX/sdXN start and size), and hostile tables refused.

mod common;
mod guest;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{boot, scratch_dir, VmConfig};
use guest::parse_tables;

/// qemu arguments for a dual-path virtio-scsi disk over `image`, with
/// controller and drive ids distinct per `tag`.
fn dual_path_disk(image: &Path, tag: &str, wwn: &str) -> Vec<String> {
    let mut args = Vec::new();
    for path in 0..2 {
        let id = format!("{tag}{path}");
        args.extend([
            "-drive".to_string(),
            format!("if=none,id=d{id},file={},format=raw,file.locking=off", image.display()),
            "-device".to_string(),
            format!("virtio-scsi-pci,id=s{id}"),
            "-device".to_string(),
            format!("scsi-hd,bus=s{id}.0,drive=d{id},share-rw=on,wwn={wwn},serial=S{tag}"),
        ]);
    }
    args
}

/// A sparse image of `mb` MiB partitioned by the real sfdisk with `script`.
fn sfdisk_image(path: &Path, mb: u64, script: &str) {
    fs::File::create(path).unwrap().set_len(mb << 20).unwrap();
    let mut child = Command::new("sfdisk")
        .args(["--no-reread", "--no-tell-kernel", "-q"])
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("sfdisk (package fdisk) must be installed: run tests/vm/kit.sh");
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed on {script:?}");
}

/// An image whose MBR has the given (type, start, sectors) primary entries,
/// written byte by byte: for tables sfdisk would refuse to write.
fn raw_mbr_image(path: &Path, mb: u64, entries: &[(u8, u32, u32)], extra: &[(u64, [u8; 512])]) {
    let disk = fs::File::create(path).unwrap();
    disk.set_len(mb << 20).unwrap();
    let mut mbr = [0u8; 512];
    for (i, &(kind, start, sectors)) in entries.iter().enumerate() {
        let e = &mut mbr[446 + 16 * i..446 + 16 * (i + 1)];
        e[4] = kind;
        e[8..12].copy_from_slice(&start.to_le_bytes());
        e[12..16].copy_from_slice(&sectors.to_le_bytes());
    }
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    use std::os::unix::fs::FileExt;
    disk.write_all_at(&mbr, 0).unwrap();
    for (lba, sector) in extra {
        disk.write_all_at(sector, lba * 512).unwrap();
    }
}

/// Guest: every disk partition the kernel found, as
/// `<map name> <partition number> <start> <size>` for one path per WWID.
const KERNEL_PARTITIONS: &str = r#"sh -c '
for d in /sys/block/sd*; do
  w=$(cat $d/device/wwid); w=3${w#naa.}
  for p in $d/${d##*/}[0-9]*; do
    [ -e "$p/partition" ] && echo "$w $(cat $p/partition) $(cat $p/start) $(cat $p/size)"
  done
done | sort -u'"#;

#[test]
fn partition_maps_match_the_kernels_reading_of_mbr_and_gpt() {
    let dir = scratch_dir("partitions-kpartx");
    let (mbr, gpt) = (dir.join("mbr.img"), dir.join("gpt.img"));
    // Two primaries, an extended partition with two logicals.
    sfdisk_image(&mbr, 64, "label: dos\nstart=2048, size=16384, type=83\nstart=18432, size=8192, type=83\nstart=26624, type=5\nstart=28672, size=8192, type=83\nstart=38912, size=4096, type=82\n");
    sfdisk_image(&gpt, 64, "label: gpt\nstart=2048, size=20480, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=24576, size=30720, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
    let mut qemu_args = dual_path_disk(&mbr, "m", "0x5000c50015ea7100");
    qemu_args.extend(dual_path_disk(&gpt, "g", "0x5000c50015ea7200"));
    let script = format!(
        r#"
modprobe virtio_pci || exit 10
modprobe virtio_scsi || exit 11
wait_until 60 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq 4 ]' || exit 12
for d in /sys/block/sd*; do wait_until 30 test -s $d/device/wwid || exit 13; done
section kernel {KERNEL_PARTITIONS}
disk5=$(for d in /sys/block/sd*; do grep -q 7100 $d/device/wwid && echo ${{d##*/}}; done | head -n 1)
start5=$(cat /sys/block/$disk5/${{disk5}}5/start)
section run mpath-boot
section left sh -c 'ls -d /sys/block/sd*/sd*[0-9] 2>/dev/null; true'
section tables sh -c 'dmsetup table | sort'
section devs sh -c 'dmsetup info -c --noheadings -o name,uuid,major,minor | sort'
section rerun mpath-boot
dd if=/dev/urandom of=/tmp/pattern bs=64k count=8 2>/dev/null
dd if=/tmp/pattern of=/dev/mapper/35000c50015ea7100-part5 bs=64k conv=fsync 2>/dev/null || exit 20
echo 3 > /proc/sys/vm/drop_caches
section data sh -c "md5sum < /tmp/pattern; dd if=/dev/$disk5 bs=512 skip=$start5 count=1024 2>/dev/null | md5sum"
section flush mpath-boot -F
section after dmsetup ls
"#
    );
    let run = boot(&VmConfig { name: "partitions-kpartx", script, qemu_args, ..Default::default() });
    run.assert_success();

    // The kernel's partitions: map name -> (number, start, size).
    let kernel: Vec<(String, u32, u64, u64)> = run
        .section_ok("kernel")
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[0].to_string(), w[1].parse().unwrap(), w[2].parse().unwrap(), w[3].parse().unwrap())
        })
        .collect();
    let numbers = |wwid: &str| -> Vec<u32> { kernel.iter().filter(|k| k.0 == wwid).map(|k| k.1).collect() };
    assert_eq!(numbers("35000c50015ea7100"), [1, 2, 3, 5, 6], "kernel's MBR reading: {kernel:?}");
    assert_eq!(numbers("35000c50015ea7200"), [1, 2], "kernel's GPT reading: {kernel:?}");

    let tables = parse_tables(&run.section_ok("tables"));
    let devs: BTreeMap<String, (String, String)> = run
        .section_ok("devs")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            (f[0].to_string(), (f[1].to_string(), format!("{}:{}", f[2], f[3])))
        })
        .collect();
    assert_eq!(tables.len(), 2 + kernel.len(), "two maps and one map per partition:\n{}", run.section("run"));
    for (wwid, number, start, size) in &kernel {
        let name = format!("{wwid}-part{number}");
        let table = tables.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no map {name}: {tables:?}"));
        let parent = &devs[wwid].1;
        assert_eq!(table.target, "linear");
        assert_eq!(table.length, *size, "{name}");
        assert_eq!(table.params, format!("{parent} {start}"), "{name}");
        assert_eq!(devs[&name].0, format!("part{number}-mpath-{wwid}"), "kpartx's DM UUID");
    }
    let rerun = run.section_ok("rerun");
    assert!(rerun.lines().all(|l| l.starts_with("unchanged: ")), "{rerun}");
    let data = run.section_ok("data");
    let sums: Vec<&str> = data.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(sums.len(), 2);
    assert_eq!(sums[0], sums[1], "written through the partition map, read through a path at the partition's start");
    // As multipath-tools' udev rule does: the paths' own partitions are
    // gone once the map's partition maps stand for them.
    assert_eq!(run.section_ok("left").trim(), "", "path partitions left");
    assert_eq!(run.section_ok("flush").matches("flush: ").count(), tables.len());
    assert!(run.section_ok("after").contains("No devices found"));
}

#[test]
fn hostile_partition_tables_give_no_partition_maps() {
    let dir = scratch_dir("partitions-hostile");
    let (overlap, looping) = (dir.join("overlap.img"), dir.join("loop.img"));
    raw_mbr_image(&overlap, 16, &[(0x83, 2048, 8192), (0x83, 6144, 8192)], &[]);
    // An extended partition (sector 2048) whose second EBR (sector 6144)
    // links back to itself (links are relative to the extended start).
    let ebr = |link: u32| {
        let mut ebr = [0u8; 512];
        ebr[446 + 4] = 0x83;
        ebr[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
        ebr[446 + 12..446 + 16].copy_from_slice(&1024u32.to_le_bytes());
        ebr[462 + 4] = 0x05;
        ebr[462 + 8..462 + 12].copy_from_slice(&link.to_le_bytes());
        ebr[462 + 12..462 + 16].copy_from_slice(&4096u32.to_le_bytes());
        ebr[510] = 0x55;
        ebr[511] = 0xaa;
        ebr
    };
    raw_mbr_image(&looping, 16, &[(0x05, 2048, 20480)], &[(2048, ebr(4096)), (6144, ebr(4096))]);
    let mut qemu_args = dual_path_disk(&overlap, "o", "0x5000c50015ea7300");
    qemu_args.extend(dual_path_disk(&looping, "l", "0x5000c50015ea7400"));
    let script = r#"
modprobe virtio_pci || exit 10
modprobe virtio_scsi || exit 11
wait_until 60 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq 4 ]' || exit 12
for d in /sys/block/sd*; do wait_until 30 test -s $d/device/wwid || exit 13; done
section run mpath-boot
section ls sh -c 'dmsetup ls | cut -f 1 | sort'
"#;
    let run = boot(&VmConfig {
        name: "partitions-hostile",
        script: script.into(),
        qemu_args,
        ..Default::default()
    });
    run.assert_success();
    let out = run.section_ok("run");
    assert_eq!(run.section("ls").split_whitespace().collect::<Vec<_>>(), ["35000c50015ea7300", "35000c50015ea7400"]);
    assert!(out.contains("35000c50015ea7300: partition table:") && out.contains("overlaps"), "{out}");
    assert!(out.contains("35000c50015ea7400: partition table:") && out.contains("no partition maps"), "{out}");
}
