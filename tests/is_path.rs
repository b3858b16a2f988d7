//! `mpath-boot --is-path DEV` (the udev membership check, as `multipath
//! -u`), run as a program on fabricated trees: `--root` points at a
//! temporary directory with a fake `sys/block` (SCSI disks with cached
//! INQUIRY data and VPD page 0x83, holders, dm devices), `etc/multipath.conf`,
//! the wwids file, `proc/cmdline` and the `run/mpath-boot/assembled` marker.
//! No device is touched: the check never sends a SCSI command.

use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// NAA IEEE Registered designators; the WWID is `3` and their hex digits.
const NAA_A: [u8; 8] = [0x50, 0x00, 0xc5, 0x00, 0x15, 0xea, 0x71, 0xac];
const NAA_B: [u8; 8] = [0x50, 0x00, 0xc5, 0x00, 0x15, 0xea, 0x71, 0xad];

fn wwid_of(naa: &[u8; 8]) -> String {
    let hex: String = naa.iter().map(|b| format!("{b:02x}")).collect();
    format!("3{hex}")
}

const YES: &str = "DM_MULTIPATH_DEVICE_PATH=1\n";
const NO: &str = "DM_MULTIPATH_DEVICE_PATH=0\n";
const MAYBE: &str = "DM_MULTIPATH_DEVICE_PATH=1\nMPATH_BOOT_PROVISIONAL=1\n";

/// One fabricated root, removed on drop.
struct Tree {
    root: PathBuf,
}

static TREES: AtomicUsize = AtomicUsize::new(0);

/// What one run of the binary gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Tree {
    fn new(tag: &str) -> Tree {
        let n = TREES.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!(
            "mpath-boot-is-path-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("sys/block")).unwrap();
        Tree { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn write(&self, rel: &str, data: impl AsRef<[u8]>) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }

    fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.path(rel)).unwrap();
    }

    /// A SCSI disk laid out as the kernel does: the SCSI device directory
    /// `.../host<H>/target<H:C:T>/<H:C:T:L>` with `type`, `state`,
    /// `vendor`, `model`, `inquiry` and (when given) `vpd_pg83`; the block
    /// device below it; `sys/block/<name>` a link to that.
    fn disk(&self, name: &str, hctl: &str, minor: u32, naa: Option<&[u8; 8]>) {
        self.scsi_device(name, hctl, minor, 0, naa);
    }

    fn scsi_device(&self, name: &str, hctl: &str, minor: u32, kind: u8, naa: Option<&[u8; 8]>) {
        let host = hctl.split(':').next().unwrap();
        let target = &hctl[..hctl.rfind(':').unwrap()];
        let dev_dir =
            format!("sys/devices/pseudo_0/adapter{host}/host{host}/target{target}/{hctl}");
        let block_dir = format!("{dev_dir}/block/{name}");
        self.write(&format!("{block_dir}/dev"), format!("8:{minor}\n"));
        self.write(&format!("{block_dir}/size"), "16384\n");
        self.mkdir(&format!("{block_dir}/holders"));
        self.write(&format!("{dev_dir}/type"), format!("{kind}\n"));
        self.write(&format!("{dev_dir}/state"), "running\n");
        self.write(&format!("{dev_dir}/vendor"), "Linux   \n");
        self.write(&format!("{dev_dir}/model"), "scsi_debug      \n");
        let mut inquiry = vec![0u8; 96];
        inquiry[0] = kind;
        inquiry[2] = 7;
        inquiry[4] = 91;
        inquiry[8..16].copy_from_slice(b"Linux   ");
        inquiry[16..32].copy_from_slice(b"scsi_debug      ");
        inquiry[32..36].copy_from_slice(b"0191");
        self.write(&format!("{dev_dir}/inquiry"), inquiry);
        if let Some(naa) = naa {
            let mut page = vec![0x00, 0x83, 0x00, 12, 0x01, 0x03, 0x00, 0x08];
            page.extend_from_slice(naa);
            self.write(&format!("{dev_dir}/vpd_pg83"), page);
        }
        symlink(self.path(&dev_dir), self.path(&block_dir).join("device")).unwrap();
        symlink(self.path(&block_dir), self.path("sys/block").join(name)).unwrap();
    }

    /// A partition `part` (number `n`) of disk `disk`.
    fn partition(&self, disk: &str, part: &str, minor: u32) {
        self.write(&format!("sys/block/{disk}/{part}/partition"), "1\n");
        self.write(
            &format!("sys/block/{disk}/{part}/dev"),
            format!("8:{minor}\n"),
        );
    }

    /// A device-mapper device `dm` with DM UUID `uuid`.
    fn dm(&self, dm: &str, uuid: &str) {
        self.write(&format!("sys/block/{dm}/dm/uuid"), format!("{uuid}\n"));
        self.write(&format!("sys/block/{dm}/dev"), "254:0\n");
    }

    /// `dm` holds `disk`, linked both ways as the kernel links them:
    /// `<disk>/holders/<dm>` and `<dm>/slaves/<disk>`.
    fn hold(&self, disk: &str, dm: &str) {
        symlink(
            self.path("sys/block").join(dm),
            self.path(&format!("sys/block/{disk}/holders/{dm}")),
        )
        .unwrap();
        std::fs::create_dir_all(self.path(&format!("sys/block/{dm}/slaves"))).unwrap();
        symlink(self.path("sys/block").join(disk), self.path(&format!("sys/block/{dm}/slaves/{disk}"))).unwrap();
    }

    fn conf(&self, text: &str) {
        self.write("etc/multipath.conf", text);
    }

    fn find_multipaths(&self, mode: &str) {
        self.conf(&format!("defaults {{\n\tfind_multipaths {mode}\n}}\n"));
    }

    fn cmdline(&self, text: &str) {
        self.write("proc/cmdline", format!("{text}\n"));
    }

    fn assembled(&self) {
        self.write("run/mpath-boot/assembled", "");
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_mpath-boot"))
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .output()
            .expect("run mpath-boot");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `--is-path dev` must decide (status 0); its standard output.
    fn is_path(&self, dev: &str, extra: &[&str]) -> String {
        let mut args = vec!["--is-path", dev];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        assert_eq!(
            run.code,
            Some(0),
            "--is-path {dev} {extra:?}: {}",
            run.stderr
        );
        run.stdout
    }

    /// `--is-path dev` must fail: status 1, nothing on standard output.
    fn fails(&self, dev: &str) -> String {
        let run = self.run(&["--is-path", dev]);
        assert_eq!(
            run.code,
            Some(1),
            "--is-path {dev:?}: {} {}",
            run.stdout,
            run.stderr
        );
        assert!(
            run.stdout.is_empty(),
            "--is-path {dev:?} printed {:?}",
            run.stdout
        );
        assert!(
            !run.stderr.trim().is_empty(),
            "--is-path {dev:?} said nothing on stderr"
        );
        run.stderr
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn every_find_multipaths_mode_on_a_single_path_before_the_run() {
    let tree = Tree::new("modes");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    for (mode, expected) in [
        ("off", YES),
        ("no", YES),
        ("greedy", YES),
        ("on", MAYBE),
        ("yes", MAYBE),
        ("smart", MAYBE),
        ("strict", NO),
    ] {
        tree.find_multipaths(mode);
        assert_eq!(tree.is_path("sda", &[]), expected, "find_multipaths {mode}");
    }
}

#[test]
fn after_the_run_on_and_smart_need_a_second_path() {
    let tree = Tree::new("siblings");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.disk("sdc", "0:0:0:1", 32, Some(&NAA_B));
    tree.assembled();
    for mode in ["on", "smart"] {
        tree.find_multipaths(mode);
        // sdc has another WWID: no second path of sda's.
        assert_eq!(tree.is_path("sda", &[]), NO, "{mode}: single path");
    }
    tree.disk("sdb", "1:0:0:0", 16, Some(&NAA_A));
    for mode in ["on", "smart"] {
        tree.find_multipaths(mode);
        assert_eq!(tree.is_path("sda", &[]), YES, "{mode}: sda with sdb");
        assert_eq!(tree.is_path("sdb", &[]), YES, "{mode}: sdb with sda");
        assert_eq!(tree.is_path("sdc", &[]), NO, "{mode}: sdc alone");
    }
    // The marker gone (a new boot), the single path is provisional again.
    std::fs::remove_file(tree.path("run/mpath-boot/assembled")).unwrap();
    assert_eq!(tree.is_path("sdc", &[]), MAYBE);
}

#[test]
fn a_blacklisted_sibling_is_no_second_path() {
    let tree = Tree::new("black-sibling");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.disk("sdb", "1:0:0:0", 16, Some(&NAA_A));
    tree.assembled();
    tree.conf("defaults {\n\tfind_multipaths on\n}\nblacklist {\n\tdevnode \"^sdb$\"\n}\n");
    assert_eq!(tree.is_path("sda", &[]), NO);
    assert_eq!(tree.is_path("sdb", &[]), NO);
    // A sibling held by something else (LVM on it) is not taken by the scan.
    tree.conf("defaults {\n\tfind_multipaths on\n}\n");
    assert_eq!(tree.is_path("sda", &[]), YES);
    tree.dm("dm-1", "LVM-0123");
    tree.hold("sdb", "dm-1");
    assert_eq!(tree.is_path("sda", &[]), NO);
    assert_eq!(tree.is_path("sdb", &[]), NO, "a disk in use by LVM");
}

#[test]
fn wwids_file_or_existing_map_say_yes_even_when_strict() {
    let tree = Tree::new("strict");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.find_multipaths("strict");
    assert_eq!(tree.is_path("sda", &[]), NO);
    tree.write(
        "etc/multipath/wwids",
        format!("# Multipath wwids, Version : 1.0\n/{}/\n", wwid_of(&NAA_B)),
    );
    assert_eq!(tree.is_path("sda", &[]), NO, "another WWID in the file");
    tree.write(
        "etc/multipath/wwids",
        format!("/{}/\n/{}/\n", wwid_of(&NAA_B), wwid_of(&NAA_A)),
    );
    assert_eq!(tree.is_path("sda", &[]), YES, "in the wwids file");
    // wwids_file moves the file.
    tree.conf("defaults {\n\tfind_multipaths strict\n\twwids_file /etc/other-wwids\n}\n");
    assert_eq!(
        tree.is_path("sda", &[]),
        NO,
        "the default file is not read then"
    );
    tree.write("etc/other-wwids", format!("/{}/\n", wwid_of(&NAA_A)));
    assert_eq!(
        tree.is_path("sda", &[]),
        YES,
        "in the configured wwids file"
    );

    let tree = Tree::new("strict-map");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.find_multipaths("strict");
    tree.dm("dm-0", &format!("mpath-{}", wwid_of(&NAA_B)));
    assert_eq!(tree.is_path("sda", &[]), NO, "a map of another WWID");
    tree.dm("dm-2", &format!("mpath-{}", wwid_of(&NAA_A)));
    assert_eq!(
        tree.is_path("sda", &[]),
        YES,
        "a map of this WWID, not holding sda"
    );
}

#[test]
fn a_disk_held_by_a_multipath_map_is_a_path_whatever_else() {
    let tree = Tree::new("held");
    // No VPD page at all: no WWID could be derived; strict; no wwids file.
    tree.disk("sda", "0:0:0:0", 0, None);
    tree.find_multipaths("strict");
    assert_eq!(tree.is_path("sda", &[]), NO);
    tree.dm("dm-0", &format!("mpath-{}", wwid_of(&NAA_A)));
    tree.hold("sda", "dm-0");
    assert_eq!(tree.is_path("sda", &[]), YES);
    let verbose = tree.run(&["--is-path", "sda", "-v3"]);
    assert!(
        verbose.stderr.contains("held by multipath map dm-0"),
        "{}",
        verbose.stderr
    );
    // Also blacklisted: the map exists, the disk is its path.
    tree.conf("blacklist {\n\tdevnode \"^sda$\"\n}\n");
    assert_eq!(tree.is_path("sda", &[]), YES);
    // A holder that is not a multipath map does not count.
    let tree = Tree::new("held-other");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.find_multipaths("greedy");
    tree.dm("dm-0", "LVM-Xk3mQ");
    tree.hold("sda", "dm-0");
    assert_eq!(
        tree.is_path("sda", &[]),
        NO,
        "a disk LVM holds is in use, not a path"
    );
}

#[test]
fn the_kernel_command_line_can_say_no() {
    let tree = Tree::new("cmdline");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.find_multipaths("greedy");
    tree.dm("dm-0", &format!("mpath-{}", wwid_of(&NAA_A)));
    tree.hold("sda", "dm-0");
    for line in [
        "root=/dev/sda1 mpath_boot=off",
        "rd.multipath=0 quiet",
        "ro nompath",
        "nompath=1",
        "multipath=off",
        "mpath_boot=no",
    ] {
        tree.cmdline(line);
        assert_eq!(tree.is_path("sda", &[]), NO, "{line}");
        // Even with --cmdline, the answer is printed.
        assert_eq!(
            tree.is_path("sda", &["--cmdline"]),
            NO,
            "{line} with --cmdline"
        );
    }
    for line in [
        "rd.multipath=1",
        "multipath=on",
        "mpath_boot=on nompath=",
        "quiet",
    ] {
        tree.cmdline(line);
        assert_eq!(tree.is_path("sda", &[]), YES, "{line}");
    }
}

#[test]
fn find_multipaths_from_arguments_and_kernel_command_line() {
    let tree = Tree::new("precedence");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    // No configuration file: mpath-boot's default, on.
    assert_eq!(tree.is_path("sda", &[]), MAYBE, "no multipath.conf");
    // A file without find_multipaths: 0.9.4's default, strict.
    tree.conf("defaults {\n\tuser_friendly_names yes\n}\n");
    assert_eq!(
        tree.is_path("sda", &[]),
        NO,
        "multipath.conf without find_multipaths"
    );
    tree.find_multipaths("strict");
    assert_eq!(
        tree.is_path("sda", &["--find-multipaths", "greedy"]),
        YES,
        "argument beats file"
    );
    assert_eq!(tree.is_path("sda", &["--find-multipaths=on"]), MAYBE);
    tree.cmdline("quiet mpath_boot.find_multipaths=off");
    assert_eq!(
        tree.is_path("sda", &[]),
        YES,
        "kernel command line beats file"
    );
    tree.cmdline("mpath_boot.find_multipaths=strict");
    assert_eq!(
        tree.is_path("sda", &["--find-multipaths", "greedy"]),
        YES,
        "argument beats kernel command line"
    );
    assert_eq!(tree.is_path("sda", &[]), NO, "kernel command line without argument");
    tree.cmdline("mpath_boot.find_multipaths=bogus");
    assert_eq!(
        tree.is_path("sda", &["--find-multipaths", "greedy"]),
        YES,
        "a bad value is ignored"
    );
    // conf.d counts as configuration as well.
    tree.cmdline("");
    std::fs::remove_file(tree.path("etc/multipath.conf")).unwrap();
    tree.write(
        "etc/multipath/conf.d/10-fm.conf",
        "defaults {\n\tfind_multipaths greedy\n}\n",
    );
    assert_eq!(tree.is_path("sda", &[]), YES, "conf.d");
}

#[test]
fn blacklisted_paths_are_not_paths() {
    let tree = Tree::new("blacklist");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    let wwid = wwid_of(&NAA_A);
    let greedy = "defaults {\n\tfind_multipaths greedy\n}\n";
    tree.conf(greedy);
    assert_eq!(tree.is_path("sda", &[]), YES);
    for rules in [
        format!("wwid \"^{wwid}$\""),
        "devnode \"^sda\"".to_owned(),
        "device {\n\t\tvendor \"Linux\"\n\t\tproduct \"scsi_deb\"\n\t}".to_owned(),
        // Property names are looked at in order: ID_BUS comes before the
        // built-in exception's ID_WWN.
        "property \"^ID_BUS$\"".to_owned(),
        "protocol \"scsi:unspec\"".to_owned(),
    ] {
        tree.conf(&format!("{greedy}blacklist {{\n\t{rules}\n}}\n"));
        assert_eq!(tree.is_path("sda", &[]), NO, "blacklist {rules}");
        let verbose = tree.run(&["--is-path", "sda", "-v3"]);
        assert!(
            verbose.stderr.contains("blacklisted"),
            "{rules}: {}",
            verbose.stderr
        );
        // The wwids file does not beat the blacklist.
        tree.write("etc/multipath/wwids", format!("/{wwid}/\n"));
        assert_eq!(
            tree.is_path("sda", &[]),
            NO,
            "blacklist {rules}, WWID in the wwids file"
        );
        std::fs::remove_file(tree.path("etc/multipath/wwids")).unwrap();
    }
    // An exception beats the blacklist, as in the normal run.
    tree.conf(&format!(
        "{greedy}blacklist {{\n\twwid \".*\"\n}}\nblacklist_exceptions {{\n\twwid \"^{wwid}$\"\n}}\n"
    ));
    assert_eq!(tree.is_path("sda", &[]), YES, "wwid exception");
}

#[test]
fn devices_mpath_boot_does_not_take_are_not_paths() {
    let tree = Tree::new("not-paths");
    tree.find_multipaths("greedy");
    // No page 0x83 and no page 0x80 cached: no WWID without asking the device.
    tree.disk("sda", "0:0:0:0", 0, None);
    assert_eq!(tree.is_path("sda", &[]), NO);
    let verbose = tree.run(&["--is-path", "sda", "-v3"]);
    assert!(
        verbose.stderr.contains("no usable WWID"),
        "{}",
        verbose.stderr
    );
    // A unit serial number (page 0x80) is the fallback.
    let mut page80 = vec![0x00, 0x80, 0x00, 8];
    page80.extend_from_slice(b"SER12345");
    tree.write("sys/block/sda/device/vpd_pg80", &page80);
    assert_eq!(tree.is_path("sda", &[]), YES, "WWID from page 0x80");
    // A CD-ROM (type 5), with a WWID.
    tree.scsi_device("sdb", "0:0:0:1", 16, 5, Some(&NAA_B));
    assert_eq!(tree.is_path("sdb", &[]), NO);
    // Not a SCSI disk at all.
    tree.write("sys/block/vda/dev", "252:0\n");
    assert_eq!(tree.is_path("vda", &[]), NO);
    // A disk with a mounted partition.
    tree.disk("sdc", "0:0:0:2", 32, Some(&NAA_B));
    tree.partition("sdc", "sdc1", 33);
    tree.write(
        "proc/self/mountinfo",
        "22 1 8:33 / /boot rw - ext4 /dev/sdc1 rw\n",
    );
    assert_eq!(tree.is_path("sdc", &[]), NO);
    std::fs::remove_file(tree.path("proc/self/mountinfo")).unwrap();
    assert_eq!(tree.is_path("sdc", &[]), YES);
}

#[test]
fn partitions_and_dev_paths_answer_for_their_disk() {
    let tree = Tree::new("partitions");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.partition("sda", "sda1", 1);
    tree.disk("sdb", "0:0:0:1", 16, None);
    tree.partition("sdb", "sdb1", 17);
    tree.find_multipaths("greedy");
    assert_eq!(tree.is_path("sda1", &[]), YES);
    assert_eq!(tree.is_path("/dev/sda1", &[]), YES);
    assert_eq!(tree.is_path("/dev/sda", &[]), YES);
    assert_eq!(tree.is_path("sdb1", &[]), NO, "the disk has no WWID");
    let verbose = tree.run(&["--is-path", "sda1", "-v3"]);
    assert!(
        verbose.stderr.contains("sda1: partition of sda"),
        "{}",
        verbose.stderr
    );
    tree.fails("sda2");
}

#[test]
fn bad_or_unknown_names_fail_with_nothing_on_stdout() {
    let tree = Tree::new("bad-names");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    for bad in [
        "../x",
        "",
        "nonexistent",
        "a/b",
        "/dev/../sda",
        "..",
        "-l",
        "sd a",
    ] {
        tree.fails(bad);
    }
    // No sysfs under the root at all.
    let empty = Tree::new("no-sysfs");
    std::fs::remove_dir_all(empty.path("sys")).unwrap();
    empty.fails("sda");
}

#[test]
fn an_unreadable_configuration_fails() {
    let tree = Tree::new("unreadable");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    // A directory where the file should be: it exists, reading it fails.
    tree.mkdir("etc/multipath.conf");
    let stderr = tree.fails("sda");
    assert!(stderr.contains("multipath.conf"), "{stderr}");
    // A configuration with errors in it is used as the normal run uses it.
    std::fs::remove_dir(tree.path("etc/multipath.conf")).unwrap();
    tree.conf("defaults {\n\tfind_multipaths greedy\n\tno_such_keyword 1\n}\nblacklist {\n\tdevnode \"(\"\n}\n");
    let run = tree.run(&["--is-path", "sda"]);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (Some(0), YES),
        "{}",
        run.stderr
    );
}

#[test]
fn verbose_names_the_rule_and_default_prints_only_the_keys() {
    let tree = Tree::new("verbose");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.find_multipaths("strict");
    tree.write("etc/multipath/wwids", format!("/{}/\n", wwid_of(&NAA_A)));
    let quiet = tree.run(&["--is-path", "sda"]);
    assert_eq!((quiet.code, quiet.stdout.as_str()), (Some(0), YES));
    assert!(
        quiet.stderr.is_empty(),
        "default verbosity wrote {:?}",
        quiet.stderr
    );
    let verbose = tree.run(&["--is-path", "sda", "-v3"]);
    assert_eq!(verbose.stdout, YES, "-v3 changes nothing on stdout");
    let wanted = format!("sda: {}: in the wwids file", wwid_of(&NAA_A));
    assert!(
        verbose.stderr.contains(&wanted),
        "{wanted:?} not in {:?}",
        verbose.stderr
    );
    // -v0: an error says nothing, the status tells.
    let silent = tree.run(&["--is-path", "nonexistent", "-v0"]);
    assert_eq!(silent.code, Some(1));
    assert!(silent.stdout.is_empty() && silent.stderr.is_empty());
}

#[test]
fn the_check_writes_nothing() {
    let tree = Tree::new("read-only");
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    tree.conf("defaults {\n\tuser_friendly_names yes\n\tfind_multipaths on\n}\n");
    assert_eq!(tree.is_path("sda", &[]), MAYBE);
    // No bindings file made, no wwids file, no marker.
    for file in [
        "etc/multipath/bindings",
        "etc/multipath/wwids",
        "run/mpath-boot/assembled",
    ] {
        assert!(!tree.path(file).exists(), "{file} was created");
    }
}

#[test]
fn an_assembly_run_leaves_the_marker_a_dry_run_does_not() {
    // No disks under the root: the run finds nothing and touches nothing
    // (no device-mapper node under the root: --no-mknod).
    let tree = Tree::new("marker");
    let marker = tree.path("run/mpath-boot/assembled");
    let dry = tree.run(&["-s", "sysfs", "--no-mknod", "-d"]);
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    assert!(!marker.exists(), "a dry run made the marker");
    let run = tree.run(&["-s", "sysfs", "--no-mknod"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(marker.is_file(), "the run made no marker: {}", run.stderr);
    // A second run keeps it; and the on/smart answer is now final.
    let again = tree.run(&["-s", "sysfs", "--no-mknod"]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(marker.is_file());
    tree.disk("sda", "0:0:0:0", 0, Some(&NAA_A));
    assert_eq!(
        tree.is_path("sda", &[]),
        NO,
        "single path after the run (no config: on)"
    );
    // A marker that cannot be made is a warning, not a failure.
    let blocked = Tree::new("marker-blocked");
    blocked.write("run/mpath-boot", "a file where the directory goes");
    let run = blocked.run(&["-s", "sysfs", "--no-mknod"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("run/mpath-boot"), "{}", run.stderr);
}

#[test]
fn an_ata_disk_is_known_by_udevs_id_serial() {
    // A libata disk: vendor ATA and page 0x83 with the SAT T10 designator
    // and an NAA; 0.9.4's WWID (the wwids file entry) is udev's ID_SERIAL.
    let tree = Tree::new("ata");
    tree.disk("sda", "0:0:0:0", 0, None);
    let dev = "sys/block/sda/device";
    let mut inquiry = std::fs::read(tree.path(&format!("{dev}/inquiry"))).unwrap();
    inquiry[8..16].copy_from_slice(b"ATA     ");
    inquiry[16..32].copy_from_slice(b"QEMU HARDDISK   ");
    tree.write(&format!("{dev}/inquiry"), inquiry);
    tree.write(&format!("{dev}/vendor"), "ATA     \n");
    let mut page = vec![0x00, 0x83, 0x00, 0, 0x02, 0x01, 0x00, 68];
    page.extend_from_slice(format!("ATA     {:<40}{:<20}", "QEMU HARDDISK", "MPATHATA").as_bytes());
    page.extend_from_slice(&[0x01, 0x03, 0x00, 0x08]);
    page.extend_from_slice(&NAA_B);
    page[3] = (page.len() - 4) as u8;
    tree.write(&format!("{dev}/vpd_pg83"), page);
    tree.find_multipaths("strict");
    tree.write("etc/multipath/wwids", format!("/{}/\n", wwid_of(&NAA_B)));
    assert_eq!(tree.is_path("sda", &[]), NO, "the NAA is not its WWID");
    tree.write("etc/multipath/wwids", "/QEMU_HARDDISK_MPATHATA/\n");
    assert_eq!(tree.is_path("sda", &[]), YES);
}
