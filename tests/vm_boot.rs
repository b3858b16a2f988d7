//! Boot from multipath: a Debian kernel boots with real initramfs images
//! (built by mkinitramfs and dracut with initramfs-hooks/ installed, see
//! tests/vm/boot-kit.sh) from a disk seen through two virtio-scsi
//! controllers, and must mount its root from the multipath partition map
//! `/dev/mapper/35000c50015ea71ac-part1` that mpath-boot made. The `-conf`
//! images were built on a host whose /etc/multipath.conf sets
//! `user_friendly_names yes` and whose /etc/multipath/bindings binds `mpatha`
//! to the disk: booted with `root=/dev/mapper/mpatha-part1`, they must name
//! the maps as that host's multipath does.
//!
//! The root filesystem's /sbin/init reports on the second serial port what /
//! is mounted from (device number from /proc/self/mountinfo) and every dm
//! device with its name, DM UUID and slaves, then powers off. The tests
//! compare device numbers, not names.
//!
//! Every run leaves its files in `target/vm-runs/<name>/`: `console.log`
//! (kernel and initramfs, ttyS0), `report.log` (the root's init, ttyS1),
//! `qemu.log`, `disk.img`.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::boot::{
    check_mpath_boot_ran_before_multipath, kernel_cmdline, qemu_boot_command, read_log,
    wait_for_qemu, BootReport, Dm, Poll,
};
use common::{scratch_dir, tail, virtio_scsi_paths, Kit};

const WWN: &str = "0x5000c50015ea71ac";
/// NAA WWID of that wwn: the multipath map's name.
const WWID: &str = "35000c50015ea71ac";
const SERIAL: &str = "MPATH0";
/// The partition map of the multipath map of `WWID`.
const MPATH_ROOT: &str = "/dev/mapper/35000c50015ea71ac-part1";
/// The alias tests/vm/boot-kit.sh's bindings file gives `WWID` in the
/// `-conf` images, and its first partition's map.
const FRIENDLY_NAME: &str = "mpatha";
const FRIENDLY_ROOT: &str = "/dev/mapper/mpatha-part1";
/// The root file system's UUID (fixed by tests/vm/boot-kit.sh): Debian's
/// default root= for a plain partition. The same UUID is on both paths'
/// partitions and on the partition map.
const UUID_ROOT: &str = "UUID=6d70622d-726f-4f74-8000-000000000001";

/// What tests/vm/boot-kit.sh built.
struct BootKit {
    dir: PathBuf,
    vmlinuz: PathBuf,
    disk: PathBuf,
    disk_lvm: PathBuf,
}

/// Runs tests/vm/boot-kit.sh once per process with this test's binary (it is
/// instant when the images already hold it) and reads its boot.env.
fn boot_kit() -> &'static BootKit {
    static KIT: OnceLock<BootKit> = OnceLock::new();
    KIT.get_or_init(|| {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let status = Command::new(repo.join("tests/vm/boot-kit.sh"))
            .env("MPATH_BOOT_BINARY", env!("CARGO_BIN_EXE_mpath-boot"))
            .stdin(Stdio::null())
            .status()
            .expect("run tests/vm/boot-kit.sh");
        assert!(status.success(), "tests/vm/boot-kit.sh failed ({status})");
        let kit = Kit::load();
        let dir = kit.dir.join("boot");
        let env = fs::read_to_string(dir.join("boot.env")).expect("boot.env");
        let get = |key: &str| -> PathBuf {
            env.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| PathBuf::from(v.trim_matches('\'')))
                .unwrap_or_else(|| panic!("boot.env lacks {key}"))
        };
        BootKit {
            vmlinuz: get("VMLINUZ"),
            disk: get("DISK"),
            disk_lvm: get("DISK_LVM"),
            dir,
        }
    })
}

/// A second path added through QMP while the guest boots.
struct HotPlug {
    /// Added once the console shows this...
    after: &'static str,
    /// ...and this long has passed.
    delay: Duration,
}

/// Which of the boot kit's disks the paths lead to.
#[derive(Clone, Copy)]
enum Disk {
    /// Partition 1 holds the root file system.
    Plain,
    /// Partition 1 is the PV of VG `vgmp`; LV `root` holds the root.
    Lvm,
}

struct BootConfig {
    name: &'static str,
    disk: Disk,
    /// File name in target/vm-kit/boot/.
    initrd: &'static str,
    /// root= of the kernel command line.
    root: &'static str,
    /// Kernel arguments besides root= and the console.
    append: &'static [&'static str],
    /// Paths present from power-on.
    paths: usize,
    hotplug: Option<HotPlug>,
    timeout: Duration,
}

impl BootConfig {
    /// The plain disk through two paths from power-on, nothing hot-plugged.
    fn two_paths(
        name: &'static str,
        initrd: &'static str,
        root: &'static str,
        append: &'static [&'static str],
    ) -> BootConfig {
        BootConfig {
            name,
            disk: Disk::Plain,
            initrd,
            root,
            append,
            paths: 2,
            hotplug: None,
            timeout: BOOT_TIMEOUT,
        }
    }
}

struct Booted {
    name: &'static str,
    console: String,
    report: String,
    elapsed: Duration,
    dir: PathBuf,
    /// When the second path was hot-plugged, if it was.
    plugged_at: Option<Duration>,
}

impl Booted {
    fn fail(&self, why: &str) -> ! {
        panic!(
            "boot {:?}: {why} (after {:.1?})\n--- root init report ({}) ---\n{}\n\
             --- console, last 80 lines ({}) ---\n{}\n---",
            self.name,
            self.elapsed,
            self.dir.join("report.log").display(),
            self.report.trim_end(),
            self.dir.join("console.log").display(),
            tail(&self.console, 80),
        )
    }

    /// `Ok` or the boot's failure with the reason.
    fn ok<T>(&self, result: Result<T, String>) -> T {
        result.unwrap_or_else(|why| self.fail(&why))
    }

    /// The root's report, parsed.
    fn parsed(&self) -> BootReport {
        self.ok(BootReport::parse(&self.report))
    }

    /// Checks that the system came up with / on the partition map of the
    /// multipath map of `WWID`, named by its WWID, and that map has the SCSI
    /// paths `paths`.
    fn assert_root_on_multipath(&self, paths: &[&str]) {
        self.assert_root_on_map_named(WWID, paths)
    }

    /// Checks that the system came up with / on `<map_name>-part1`, the
    /// partition map of the multipath map `map_name` of `WWID` (DM UUIDs
    /// `part1-mpath-<WWID>` and `mpath-<WWID>`), and that map has the SCSI
    /// paths `paths`.
    fn assert_root_on_map_named(&self, map_name: &str, paths: &[&str]) {
        let report = self.parsed();
        let part = self.multipath_partition(&report, map_name, paths);
        self.ok(report.check_root_on(part));
    }

    /// Checks that the system came up with / on the LVM volume `lv` (dm name
    /// `vgmp-root`), whose one PV is `<map_name>-part1`, the partition map of
    /// the multipath map `map_name` over `paths`: LVM activated on the map,
    /// not on a path's partition.
    fn assert_root_on_lvm_over(&self, lv: &str, map_name: &str, paths: &[&str]) {
        let report = self.parsed();
        let part = self.multipath_partition(&report, map_name, paths);
        let Some(volume) = report.dm(lv) else {
            self.fail(&format!(
                "no dm device {lv}: LVM did not activate the volume"
            ))
        };
        if volume.slaves != [part.kname.clone()] {
            self.fail(&format!(
                "{lv} lies on {:?}, not on {map_name}-part1 ({})",
                volume.slaves, part.kname
            ));
        }
        if !volume.uuid.starts_with("LVM-") {
            self.fail(&format!("{lv} is not an LVM volume: {volume:?}"));
        }
        self.ok(report.check_root_on(volume));
    }

    /// The partition map `<map_name>-part1` on the multipath map `map_name`
    /// of `WWID`, checked: the DM UUIDs, the stack, the map's paths, and
    /// that those are all the SCSI disks there are.
    fn multipath_partition<'r>(
        &self,
        report: &'r BootReport,
        map_name: &str,
        paths: &[&str],
    ) -> &'r Dm {
        self.ok(report.check_reached_root());
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        let part = self.ok(report.multipath_partition(map_name, WWID, &paths));
        self.ok(report.check_disks(&paths));
        part
    }

    /// No SCSI path has a kernel partition left: mpath-boot removed them,
    /// so nothing but the map can claim the root file system.
    fn assert_no_path_partitions(&self) {
        self.ok(self.parsed().check_no_path_partitions());
    }
}

/// The QMP monitor, for hot-plug.
struct Qmp {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Qmp {
    fn connect(socket: &Path) -> Qmp {
        let stream = UnixStream::connect(socket)
            .unwrap_or_else(|e| panic!("connect to QMP at {}: {e}", socket.display()));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let mut qmp = Qmp { stream, reader };
        qmp.read_line(); // greeting
        qmp.execute(r#"{"execute":"qmp_capabilities"}"#);
        qmp
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read from QMP");
        line
    }

    /// Sends one command; returns its reply line (events are skipped).
    fn execute(&mut self, json: &str) -> String {
        writeln!(self.stream, "{json}").expect("write to QMP");
        loop {
            let line = self.read_line();
            assert!(!line.is_empty(), "QMP closed");
            if line.contains("\"error\"") {
                panic!("QMP {json} failed: {line}");
            }
            if line.contains("\"return\"") {
                return line;
            }
        }
    }

    /// A human monitor command, as typed at `-monitor`.
    fn hmp(&mut self, command: &str) -> String {
        let json = format!(
            r#"{{"execute":"human-monitor-command","arguments":{{"command-line":"{}"}}}}"#,
            command.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let reply = self.execute(&json);
        // HMP reports failures as text in a successful reply.
        assert!(
            !reply.to_lowercase().contains("error") && !reply.contains("Could not"),
            "{command}: {reply}"
        );
        reply
    }
}

/// The monitor commands that add the second path: a new virtio-scsi HBA
/// (PCI hot-plug through ACPI on the default i440fx machine), a drive on the
/// same image and a scsi-hd with the same wwn and serial.
fn hotplug_second_path(qmp: &mut Qmp, image: &Path) {
    qmp.hmp("device_add virtio-scsi-pci,id=s1");
    qmp.hmp(&format!(
        "drive_add 0 if=none,id=d1,file={},format=raw,file.locking=off",
        image.display()
    ));
    qmp.hmp(&format!(
        "device_add scsi-hd,bus=s1.0,drive=d1,share-rw=on,wwn={WWN},serial={SERIAL},id=hd1"
    ));
}

fn boot(cfg: &BootConfig) -> Booted {
    let kit = boot_kit();
    let dir = scratch_dir(cfg.name);
    // Each boot gets its own copy: ext4 may be written to (journal, fsck).
    let image = dir.join("disk.img");
    let source = match cfg.disk {
        Disk::Plain => &kit.disk,
        Disk::Lvm => &kit.disk_lvm,
    };
    fs::copy(source, &image).expect("copy the boot kit's disk");
    let (console, report, qmp_socket) = (
        dir.join("console.log"),
        dir.join("report.log"),
        dir.join("qmp.sock"),
    );
    let append = kernel_cmdline(Some(cfg.root), cfg.append.iter().map(|s| s.to_string()));
    let mut cmd = qemu_boot_command(&kit.vmlinuz, &kit.dir.join(cfg.initrd), &append, &dir);
    cmd.arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", qmp_socket.display()))
        .args(virtio_scsi_paths(&image, cfg.paths, WWN, SERIAL));

    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .expect("start qemu-system-x86_64 (run tests/vm/kit.sh)");
    let read = read_log;
    let mut plug_due: Option<Instant> = None;
    let mut plugged_at = None;
    let timed_out = wait_for_qemu(
        &mut child,
        start,
        cfg.timeout,
        Duration::from_millis(100),
        || {
            if let (Some(hp), None) = (&cfg.hotplug, plugged_at) {
                match plug_due {
                    None if read(&console).contains(hp.after) => {
                        plug_due = Some(Instant::now() + hp.delay)
                    }
                    Some(due) if Instant::now() >= due => {
                        hotplug_second_path(&mut Qmp::connect(&qmp_socket), &image);
                        plugged_at = Some(start.elapsed());
                    }
                    _ => {}
                }
            }
            Poll::Wait
        },
    );
    let booted = Booted {
        name: cfg.name,
        console: read(&console),
        report: read(&report),
        elapsed: start.elapsed(),
        dir,
        plugged_at,
    };
    if timed_out {
        booted.fail(&format!("timed out after {:?}", cfg.timeout));
    }
    if cfg.hotplug.is_some() && booted.plugged_at.is_none() {
        booted.fail("the guest never got to the point of the hot-plug");
    }
    eprintln!(
        "boot {}: {} from {} in {:.1?}{}",
        cfg.name,
        if booted.report.contains("@@BOOT:END") {
            "reached the root"
        } else {
            "did not reach the root"
        },
        cfg.initrd,
        booted.elapsed,
        booted
            .plugged_at
            .map(|t| format!(" (second path plugged at {t:.1?})"))
            .unwrap_or_default(),
    );
    booted
}

/// mpath-boot's own report of the map, on the console: proves it, and not
/// something else in the image, made it.
fn assert_mpath_boot_made_the_map(run: &Booted) {
    assert_mpath_boot_made_the_map_named(run, WWID)
}

fn assert_mpath_boot_made_the_map_named(run: &Booted, map_name: &str) {
    if !run.console.contains(&format!("create: {map_name} ")) {
        run.fail(&format!(
            "mpath-boot's \"create: {map_name}\" line for the map is not on the console"
        ));
    }
}

const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

#[test]
fn initramfs_tools_image_mounts_root_from_the_multipath_partition() {
    let run = boot(&BootConfig::two_paths(
        "boot-initramfs-tools",
        "initramfs-tools.img",
        MPATH_ROOT,
        // No rootdelay=: initramfs-tools sleeps that long before it even
        // starts. Without it a missing root fails in 30 s (panic=-1: off).
        &[],
    ));
    run.assert_root_on_multipath(&["sda", "sdb"]);
    assert_mpath_boot_made_the_map(&run);
}

#[test]
fn dracut_systemd_image_mounts_root_from_the_multipath_partition() {
    let run = boot(&BootConfig::two_paths(
        "boot-dracut-systemd",
        "dracut-systemd.img",
        MPATH_ROOT,
        &["rd.shell=0", "rd.timeout=60"],
    ));
    run.assert_root_on_multipath(&["sda", "sdb"]);
    assert_mpath_boot_made_the_map(&run);
    // Its output reached the console through the journal: the unit ran.
    if !run.console.contains("mpath-boot[") {
        run.fail("no output of mpath-boot.service on the console");
    }
}

#[test]
fn dracut_shell_image_mounts_root_from_the_multipath_partition() {
    let run = boot(&BootConfig::two_paths(
        "boot-dracut-sh",
        "dracut-sh.img",
        MPATH_ROOT,
        &["rd.shell=0", "rd.retry=60"],
    ));
    run.assert_root_on_multipath(&["sda", "sdb"]);
    assert_mpath_boot_made_the_map(&run);
}

/// Only one path at power-on; the second HBA and its disk are hot-plugged a
/// few seconds after mpath-boot started, while it waits for two paths.
#[test]
fn a_path_hot_plugged_during_the_wait_joins_the_root_map() {
    let run = boot(&BootConfig {
        name: "boot-late-path",
        disk: Disk::Plain,
        root: MPATH_ROOT,
        initrd: "initramfs-tools.img",
        append: &["mpath_boot.wait=60", "mpath_boot.paths=2"],
        paths: 1,
        hotplug: Some(HotPlug {
            after: "mpath-boot: assembling multipath maps",
            delay: Duration::from_secs(3),
        }),
        timeout: BOOT_TIMEOUT,
    });
    run.assert_root_on_multipath(&["sda", "sdb"]);
    // sdb came after mpath-boot had started: it was waiting, not early.
    let started = run.console.find("mpath-boot: assembling multipath maps");
    let attached = run.console.find("[sdb] Attached SCSI disk");
    match (started, attached) {
        (Some(s), Some(a)) if s < a => {}
        _ => run.fail("sdb was not attached after mpath-boot started"),
    }
}

/// mpath_boot=off (initramfs-tools, dracut's shell initramfs) and
/// rd.multipath=0 (dracut with systemd) switch mpath-boot off: the system boots from the plain SCSI partition and
/// no dm device exists.
#[test]
fn switched_off_on_the_kernel_command_line_nothing_is_assembled() {
    let cases: [(&str, &str, &[&str]); 3] = [
        (
            "boot-off-initramfs-tools",
            "initramfs-tools.img",
            &["mpath_boot=off"],
        ),
        (
            "boot-off-dracut-systemd",
            "dracut-systemd.img",
            &["rd.multipath=0", "rd.shell=0", "rd.timeout=60"],
        ),
        (
            "boot-off-dracut-sh",
            "dracut-sh.img",
            &["mpath_boot=off", "rd.shell=0", "rd.retry=60"],
        ),
    ];
    for (name, initrd, append) in cases {
        let run = boot(&BootConfig::two_paths(name, initrd, "/dev/sda1", append));
        let report = run.parsed();
        run.ok(report.check_reached_root());
        let root = &report.roots;
        if root.len() != 1 || !["8:1", "8:17"].contains(&root[0][0].as_str()) {
            run.fail(&format!("/ is not on sda1 or sdb1: {root:?}"));
        }
        if !report.dms.is_empty() {
            run.fail("a dm device exists although mpath-boot was switched off");
        }
        if run.console.contains(&format!("create: {WWID}")) {
            run.fail("mpath-boot made a map although switched off");
        }
    }
}

/// The wait for a second path runs out: mpath-boot exits 1, the initramfs
/// script logs it and the system still boots, from the one-path map. A disk
/// seen through one path gets a map only if its WWID is in the wwids file
/// (find_multipaths, as multipath-tools 0.9.4): hence the `-conf` image,
/// whose copy of the host's wwids lists it, as on any system that has
/// multipathed its root before.
#[test]
fn when_the_wait_runs_out_the_boot_goes_on_with_the_paths_there_are() {
    let run = boot(&BootConfig {
        name: "boot-wait-runs-out",
        disk: Disk::Plain,
        root: FRIENDLY_ROOT,
        initrd: "initramfs-tools-conf.img",
        append: &["mpath_boot.wait=4", "mpath_boot.paths=2"],
        paths: 1,
        hotplug: None,
        timeout: BOOT_TIMEOUT,
    });
    run.assert_root_on_map_named(FRIENDLY_NAME, &["sda"]);
    if !run
        .console
        .contains("Failure: mpath-boot: exit status 1; continuing the boot")
    {
        run.fail("the local-top script did not report mpath-boot's failure");
    }
}

/// An image built with the host's multipath configuration (a `-conf` image
/// of tests/vm/boot-kit.sh: user_friendly_names yes, `mpatha` bound to the
/// disk's WWID) booted with root=/dev/mapper/mpatha-part1: the root must be
/// mounted from that map over both paths, and mpath-boot (run with -B by
/// every integration) must have created it under that name.
fn boot_with_the_hosts_bindings(
    name: &'static str,
    initrd: &'static str,
    append: &'static [&'static str],
) -> Booted {
    let run = boot(&BootConfig::two_paths(name, initrd, FRIENDLY_ROOT, append));
    run.assert_root_on_map_named(FRIENDLY_NAME, &["sda", "sdb"]);
    assert_mpath_boot_made_the_map_named(&run, FRIENDLY_NAME);
    run
}

#[test]
fn initramfs_tools_image_with_the_hosts_bindings_mounts_root_from_mpatha_part1() {
    boot_with_the_hosts_bindings(
        "boot-conf-initramfs-tools",
        "initramfs-tools-conf.img",
        &["mpath_boot.wait=60", "mpath_boot.paths=2"],
    );
}

#[test]
fn dracut_systemd_image_with_the_hosts_bindings_mounts_root_from_mpatha_part1() {
    let run = boot_with_the_hosts_bindings(
        "boot-conf-dracut-systemd",
        "dracut-systemd-conf.img",
        &[
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
            "rd.shell=0",
            "rd.timeout=60",
        ],
    );
    if !run.console.contains("mpath-boot[") {
        run.fail("no output of mpath-boot.service on the console");
    }
}

#[test]
fn dracut_shell_image_with_the_hosts_bindings_mounts_root_from_mpatha_part1() {
    boot_with_the_hosts_bindings(
        "boot-conf-dracut-sh",
        "dracut-sh-conf.img",
        &[
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
            "rd.shell=0",
            "rd.retry=60",
        ],
    );
}

/// `root=UUID=`: the file system is on both paths' partitions and on the
/// map's; the boot must mount the map's, with both paths in the map and no
/// path partition left to be claimed.
fn boot_by_uuid(name: &'static str, initrd: &'static str, append: &'static [&'static str]) {
    boot_by_uuid_from_map(name, initrd, append, WWID);
}

/// As `boot_by_uuid`, with the multipath map named `map_name`.
fn boot_by_uuid_from_map(
    name: &'static str,
    initrd: &'static str,
    append: &'static [&'static str],
    map_name: &str,
) -> Booted {
    let run = boot(&BootConfig::two_paths(name, initrd, UUID_ROOT, append));
    run.assert_root_on_map_named(map_name, &["sda", "sdb"]);
    run.assert_no_path_partitions();
    assert_mpath_boot_made_the_map_named(&run, map_name);
    run
}

#[test]
fn initramfs_tools_image_mounts_root_by_uuid_from_the_multipath_partition() {
    boot_by_uuid("boot-uuid-initramfs-tools", "initramfs-tools.img", &[]);
}

#[test]
fn dracut_systemd_image_mounts_root_by_uuid_from_the_multipath_partition() {
    boot_by_uuid(
        "boot-uuid-dracut-systemd",
        "dracut-systemd.img",
        &["rd.shell=0", "rd.timeout=60"],
    );
}

#[test]
fn dracut_shell_image_mounts_root_by_uuid_from_the_multipath_partition() {
    boot_by_uuid(
        "boot-uuid-dracut-sh",
        "dracut-sh.img",
        &["rd.shell=0", "rd.retry=60"],
    );
}

/// The LVM root: the root file system is on LV `vgmp/root`, whose PV is the
/// disk's partition 1 (root=/dev/mapper/vgmp-root, `mpath_boot.expect=`
/// naming the PV's partition map). LVM must activate on the partition map,
/// never on a path's partition, whatever activates it in the image (udev
/// autoactivation in initramfs-tools, dracut's lvm module).
fn boot_lvm(
    name: &'static str,
    initrd: &'static str,
    append: &'static [&'static str],
    map_name: &str,
) -> Booted {
    let run = boot(&BootConfig {
        disk: Disk::Lvm,
        ..BootConfig::two_paths(name, initrd, LVM_ROOT, append)
    });
    run.assert_root_on_lvm_over(LVM_NAME, map_name, &["sda", "sdb"]);
    run.assert_no_path_partitions();
    assert_mpath_boot_made_the_map_named(&run, map_name);
    run
}

/// /dev/mapper name of the LVM root volume, vgmp/root.
const LVM_NAME: &str = "vgmp-root";
const LVM_ROOT: &str = "/dev/mapper/vgmp-root";

#[test]
fn initramfs_tools_image_mounts_an_lvm_root_from_the_multipath_partition() {
    boot_lvm(
        "boot-lvm-initramfs-tools",
        "initramfs-tools.img",
        &[
            "mpath_boot.expect=35000c50015ea71ac-part1",
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
        ],
        WWID,
    );
}

#[test]
fn dracut_systemd_image_mounts_an_lvm_root_from_the_multipath_partition() {
    boot_lvm(
        "boot-lvm-dracut-systemd",
        "dracut-systemd.img",
        &[
            "mpath_boot.expect=35000c50015ea71ac-part1",
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
            "rd.lvm.lv=vgmp/root",
            "rd.shell=0",
            "rd.timeout=60",
        ],
        WWID,
    );
}

#[test]
fn dracut_shell_image_mounts_an_lvm_root_from_the_multipath_partition() {
    boot_lvm(
        "boot-lvm-dracut-sh",
        "dracut-sh.img",
        &[
            "mpath_boot.expect=35000c50015ea71ac-part1",
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
            "rd.lvm.lv=vgmp/root",
            "rd.shell=0",
            "rd.retry=60",
        ],
        WWID,
    );
}

/// The `-mpt` images were built on a host that also has Debian's
/// multipath-tools, multipath-tools-boot and kpartx (and the `-conf` host
/// files: user_friendly_names, `mpatha` bound). initramfs-tools: both
/// assemblers are in the image, mpath-boot first; multipath then finds the
/// maps made. dracut: its own multipath module is left out.
#[test]
fn with_multipath_tools_on_the_build_host_initramfs_tools_mounts_root_by_uuid() {
    let run = boot_by_uuid_from_map(
        "boot-mpt-uuid-initramfs-tools",
        "initramfs-tools-mpt.img",
        &["mpath_boot.wait=60", "mpath_boot.paths=2"],
        FRIENDLY_NAME,
    );
    assert_mpath_boot_ran_before_multipath(&run);
}

#[test]
fn with_multipath_tools_on_the_build_host_dracut_systemd_mounts_root_by_uuid() {
    boot_by_uuid_from_map(
        "boot-mpt-uuid-dracut-systemd",
        "dracut-systemd-mpt.img",
        &[
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
            "rd.shell=0",
            "rd.timeout=60",
        ],
        FRIENDLY_NAME,
    );
}

#[test]
fn with_multipath_tools_on_the_build_host_dracut_shell_mounts_root_by_uuid() {
    boot_by_uuid_from_map(
        "boot-mpt-uuid-dracut-sh",
        "dracut-sh-mpt.img",
        &[
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
            "rd.shell=0",
            "rd.retry=60",
        ],
        FRIENDLY_NAME,
    );
}

#[test]
fn with_multipath_tools_on_the_build_host_initramfs_tools_mounts_an_lvm_root() {
    let run = boot_lvm(
        "boot-mpt-lvm-initramfs-tools",
        "initramfs-tools-mpt.img",
        &[
            "mpath_boot.expect=mpatha-part1",
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
        ],
        FRIENDLY_NAME,
    );
    assert_mpath_boot_ran_before_multipath(&run);
}

#[test]
fn with_multipath_tools_on_the_build_host_dracut_systemd_mounts_an_lvm_root() {
    boot_lvm(
        "boot-mpt-lvm-dracut-systemd",
        "dracut-systemd-mpt.img",
        &[
            "mpath_boot.expect=mpatha-part1",
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
            "rd.lvm.lv=vgmp/root",
            "rd.shell=0",
            "rd.timeout=60",
        ],
        FRIENDLY_NAME,
    );
}

#[test]
fn with_multipath_tools_on_the_build_host_dracut_shell_mounts_an_lvm_root() {
    boot_lvm(
        "boot-mpt-lvm-dracut-sh",
        "dracut-sh-mpt.img",
        &[
            "mpath_boot.expect=mpatha-part1",
            "mpath_boot.wait=60",
            "mpath_boot.paths=2",
            "rd.lvm.lv=vgmp/root",
            "rd.shell=0",
            "rd.retry=60",
        ],
        FRIENDLY_NAME,
    );
}

/// In the initramfs-tools `-mpt` image both local-top scripts ran, in the
/// documented order: mpath-boot's, then multipath-tools-boot's.
fn assert_mpath_boot_ran_before_multipath(run: &Booted) {
    run.ok(check_mpath_boot_ran_before_multipath(&run.console));
}

/// initramfs-tools' late paths: one path at power-on and no wait, so
/// local-top finds a single path, which find_multipaths leaves alone, and
/// the root device is missing. The initramfs then runs the local-block
/// scripts about once a second; the second path is plugged in meanwhile,
/// and mpath-boot's local-block pass makes the map from both paths before
/// the root is mounted.
#[test]
fn a_path_that_appears_after_local_top_joins_through_local_block() {
    let run = boot(&BootConfig {
        name: "boot-local-block",
        disk: Disk::Plain,
        root: MPATH_ROOT,
        initrd: "initramfs-tools.img",
        append: &[],
        paths: 1,
        hotplug: Some(HotPlug {
            after: "Running /scripts/local-block",
            delay: Duration::from_secs(2),
        }),
        timeout: BOOT_TIMEOUT,
    });
    run.assert_root_on_multipath(&["sda", "sdb"]);
    run.assert_no_path_partitions();
    // The map was made after sdb came, so by a local-block pass.
    let attached = run.console.find("[sdb] Attached SCSI disk");
    let created = run.console.find(&format!("create: {WWID} "));
    match (attached, created) {
        (Some(a), Some(c)) if a < c => {}
        _ => run.fail(&format!(
            "expected sdb attached, then the map created (found at {attached:?} and {created:?})"
        )),
    }
}
