//! `path_grouping_policy group_by_node_name` on a real kernel, against
//! Debian's multipath-tools 0.9.4 in the same guest.
//!
//! One disk image behind two AHCI ports of one qemu `ahci` controller: the
//! kernel's libata sees two ATA links (`ata1`, `ata2`), so multipath-tools
//! names the targets `ata-1.00` and `ata-2.00`, while both disks answer VPD
//! page 0x83 with the same WWN. One LU, two target node names: two path
//! groups under `group_by_node_name` (one under `multibus`).

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, raw_image, scratch_dir, Kit, VmConfig};
use std::path::PathBuf;
use std::process::Command;

const WWN: &str = "0x5000c50015ea71ad";

/// libahci, ahci and their dependencies as (host .ko, guest path), in load
/// order; the guest insmods /extra/*.ko by name, ignoring what is loaded.
fn ahci_modules(kit: &Kit) -> Vec<(PathBuf, String)> {
    let out = Command::new("modprobe")
        .arg("-d")
        .arg(&kit.kroot)
        .args(["-S", &kit.kver, "--show-depends", "ahci"])
        .output()
        .expect("modprobe --show-depends ahci");
    assert!(out.status.success(), "modprobe --show-depends ahci");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("insmod ")?.split_whitespace().next())
        .enumerate()
        .map(|(i, ko)| {
            let ko = PathBuf::from(ko);
            let name = ko.file_name().unwrap().to_string_lossy().to_string();
            (ko, format!("/extra/{i:02}-{name}"))
        })
        .collect()
}

/// One image on two AHCI ports (ata1 and ata2), same serial and WWN.
fn two_ata_ports(image: &std::path::Path) -> Vec<String> {
    let mut args = vec!["-device".to_string(), "ahci,id=ahci".to_string()];
    for i in 0..2 {
        args.push("-drive".into());
        args.push(format!(
            "if=none,id=d{i},file={},format=raw,file.locking=off",
            image.display()
        ));
        args.push("-device".into());
        args.push(format!(
            "ide-hd,bus=ahci.{i},drive=d{i},share-rw=on,serial=MPATHATA,wwn={WWN}"
        ));
    }
    args
}

/// The guest: two ATA disks; multipath-tools then mpath-boot, both
/// grouping by node name from a conf.d file; then, with the file saying
/// `multibus`, mpath-boot alone and mpath-boot `-p group_by_node_name`.
fn script() -> String {
    format!(
        r#"for ko in /extra/*.ko; do insmod $ko 2>/dev/null; done
wait_until 60 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -ge 2 ]' || exit 10
section paths sh -c 'for d in /sys/block/sd*; do echo "${{d##*/}} $(cat $d/dev) $(readlink -f $d)"; done'
conf=/etc/multipath/conf.d/nodename.conf
printf 'defaults {{\n\tpath_grouping_policy group_by_node_name\n}}\n' > $conf
section {version} {run} version || exit 90
section {up} {run} up || exit 90
section udev-serial sh -c 'for d in /sys/block/sd*; do /bin/udevadm info --query=property --name=/dev/${{d##*/}} | grep -E "^(ID_SERIAL|ID_ATA_FEATURE_SET_SMART)="; done'
section pg89 sh -c 'for d in /sys/block/sd*; do echo "${{d##*/}} $(wc -c < $d/device/vpd_pg89)"; done'
section {assemble} {run} assemble || exit 90
section {table} {run} table || exit 90
section ref-uuid dmsetup info -c --noheadings -o name,uuid
section ref-names sh -c 'multipath -d -v3 2>&1 | grep tgt_node_name'
section {down} {run} down || exit 91
section mpath mpath-boot -v3
section mine sh -c 'dmsetup table | sort'
section mine-uuid dmsetup info -c --noheadings -o name,uuid
dmsetup remove_all
section ioctl-run mpath-boot --scan ioctl -v3
section ioctl-uuid dmsetup info -c --noheadings -o name,uuid
dmsetup remove_all
printf 'defaults {{\n\tpath_grouping_policy multibus\n}}\n' > $conf
section multibus-run mpath-boot
section multibus sh -c 'dmsetup table | sort'
dmsetup remove_all
section flag-run mpath-boot -p group_by_node_name
section flag sh -c 'dmsetup table | sort'
"#,
        version = reference::SECTION_VERSION,
        up = reference::SECTION_UP,
        assemble = reference::SECTION_ASSEMBLE,
        table = reference::SECTION_TABLE,
        down = reference::SECTION_DOWN,
        run = reference::RUN_REFERENCE,
    )
}

/// The path groups of a multipath table: for each, its device numbers.
fn groups(table: &str) -> Vec<Vec<String>> {
    let f: Vec<&str> = table.split_whitespace().collect();
    // 0 SIZE multipath NFEAT feat... NHW hw... NPG FIRST then groups.
    let mut i = 3;
    let features: usize = f[i].parse().unwrap();
    i += 1 + features;
    let hw: usize = f[i].parse().unwrap();
    i += 1 + hw;
    let pgs: usize = f[i].parse().unwrap();
    i += 2;
    let mut out = Vec::new();
    for _ in 0..pgs {
        // selector NSEL sel-args... NPATHS NPATHARGS (dev args...)*
        i += 1;
        let sel_args: usize = f[i].parse().unwrap();
        i += 1 + sel_args;
        let paths: usize = f[i].parse().unwrap();
        let path_args: usize = f[i + 1].parse().unwrap();
        i += 2;
        let mut devs = Vec::new();
        for _ in 0..paths {
            devs.push(f[i].to_string());
            i += 1 + path_args;
        }
        out.push(devs);
    }
    out
}

#[test]
fn ata_ports_group_by_node_name_same_as_multipath_tools() {
    let name = "nodename-ata";
    let dir = scratch_dir(name);
    let image = dir.join("disk.img");
    raw_image(&image, 16);
    let run = boot(&VmConfig {
        name,
        script: script(),
        overlays: vec![reference::reference_overlay()],
        files: ahci_modules(&Kit::load()),
        qemu_args: two_ata_ports(&image),
        timeout: std::time::Duration::from_secs(400),
        ..Default::default()
    });
    run.assert_success();
    let paths = run.section_ok("paths");
    assert!(
        paths.contains("/ata1/") && paths.contains("/ata2/"),
        "not two libata links:\n{paths}"
    );
    let theirs = reference::parse_dmsetup_table(&run.section_ok(reference::SECTION_TABLE));
    let mpath = run.section_ok("mpath");
    let ours = reference::parse_dmsetup_table(&run.section_ok("mine"));
    assert_eq!(theirs.len(), 1, "multipath-tools made: {theirs:#?}\n{paths}");
    assert_eq!(ours.len(), 1, "mpath-boot made: {ours:#?}\n{}", reference::indent(&mpath));
    // The same map, by the same name: 0.9.4 takes an ATA disk's WWID from
    // udev's ID_SERIAL (here sg3_utils' SCSI_IDENT_LUN_ATA, model_serial;
    // ata_id does not run because that rule already set it), and so does
    // mpath-boot, not the NAA WWN of page 0x83.
    assert_eq!(
        ours[0].1,
        theirs[0].1,
        "mpath-boot's table (left) differs from multipath-tools' (right)\n{}",
        reference::indent(&mpath)
    );
    assert_eq!(theirs[0].0, "QEMU_HARDDISK_MPATHATA", "multipath-tools' name for the LU");
    assert_eq!(ours[0].0, theirs[0].0, "mpath-boot's name (left), multipath-tools' (right)");
    // udev's ID_SERIAL (the WWID 0.9.4 used) on both paths, and no ata_id
    // property: the sg3_utils rule named the disks before ata_id's turn.
    let serials = run.section_ok("udev-serial");
    assert_eq!(
        serials.lines().filter(|l| *l == "ID_SERIAL=QEMU_HARDDISK_MPATHATA").count(),
        2,
        "udev's ID_SERIAL of the two paths:\n{serials}"
    );
    assert!(!serials.contains("ID_ATA_FEATURE_SET"), "ata_id ran:\n{serials}");
    // The kernel caches libata's page 0x89 (IDENTIFY DEVICE at byte 60).
    let pg89 = run.section_ok("pg89");
    assert_eq!(pg89.lines().filter(|l| l.ends_with(" 572")).count(), 2, "vpd_pg89:\n{pg89}");
    // The same DM UUID as 0.9.4 gives it: mpath-<wwid>.
    let uuids = run.section_ok("mine-uuid");
    assert_eq!(
        uuids.trim(),
        "QEMU_HARDDISK_MPATHATA:mpath-QEMU_HARDDISK_MPATHATA",
        "mpath-boot's map name and DM UUID"
    );
    assert_eq!(uuids.trim(), run.section_ok("ref-uuid").trim(), "DM name:UUID, mpath-boot (left), 0.9.4 (right)");
    assert!(mpath.contains("QEMU_HARDDISK_MPATHATA"), "{}", reference::indent(&mpath));
    // The ioctl scan (no sysfs attributes: every page by INQUIRY) names
    // the disk the same way.
    let ioctl = run.section_ok("ioctl-run");
    assert_eq!(run.section_ok("ioctl-uuid").trim(), uuids.trim(), "ioctl scan:\n{}", reference::indent(&ioctl));
    let g = groups(&ours[0].1);
    assert_eq!(g.len(), 2, "want one group per ATA link: {ours:?}");
    assert!(g.iter().all(|devs| devs.len() == 1), "{g:?}");
    // The same node name for each disk as 0.9.4 prints at -v3.
    let named = |text: &str| -> Vec<String> {
        let mut lines: Vec<String> = text
            .lines()
            .filter_map(|l| l.split_once("tgt_node_name = "))
            .map(|(head, name)| format!("{} {name}", head.split_whitespace().last().unwrap_or("")))
            .collect();
        lines.sort();
        lines.dedup();
        lines
    };
    let theirs_named = named(&run.section_ok("ref-names"));
    assert_eq!(theirs_named.len(), 2, "{theirs_named:?}");
    assert!(theirs_named.iter().any(|l| l.ends_with(" ata-1.00")), "{theirs_named:?}");
    assert!(theirs_named.iter().any(|l| l.ends_with(" ata-2.00")), "{theirs_named:?}");
    assert_eq!(named(&mpath), theirs_named, "node names: mpath-boot (left), multipath-tools (right)");
    // The same paths under multibus: one group; `-p` beats the file.
    run.section_ok("multibus-run");
    let multibus = reference::parse_dmsetup_table(&run.section_ok("multibus"));
    assert_eq!(multibus.len(), 1, "{multibus:?}");
    assert_eq!(groups(&multibus[0].1).len(), 1, "{multibus:?}");
    run.section_ok("flag-run");
    let flag = reference::parse_dmsetup_table(&run.section_ok("flag"));
    assert_eq!(flag, ours, "-p group_by_node_name over a multibus file");
}

#[test]
fn table_groups_parse() {
    let t = "0 32768 multipath 0 0 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:16 1 1";
    assert_eq!(groups(t), vec![vec!["8:0".to_string()], vec!["8:16".to_string()]]);
    let t = "0 8 multipath 1 queue_if_no_path 1 alua 1 1 round-robin 0 2 1 8:0 1 8:16 1";
    assert_eq!(groups(t), vec![vec!["8:0".to_string(), "8:16".to_string()]]);
}
