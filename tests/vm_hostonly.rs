//! dracut host-only images: the module includes itself when the root is on
//! a multipath map, made by mpath-boot or by multipath-tools, and dracut's
//! own multipath module stays out on a host that also has multipath-tools.
//! Built for real, on a guest whose root is on such a map. Two cases (two
//! tests, run in parallel), each in three phases:
//!
//! 1. Builder boot: the kit kernel boots a builder initramfs from a copy of
//!    the boot kit's disk (with tests/vm/hostonly-kit.sh's
//!    /sbin/hostonly-build) behind two virtio-scsi paths, with
//!    `root=/dev/mapper/35000c50015ea71ac-part1` and
//!    `init=/sbin/hostonly-build`. That script reports what / is mounted
//!    from (it must be the partition map over sda and sdb) and whether the
//!    initramfs's /run holds mpath-boot's `/run/mpath-boot/assembled`,
//!    overlays the stage's package files (9p share `stage`) on the host's
//!    /usr (9p share `hostusr`), copies the stage's /etc files, and runs the
//!    real `dracut --hostonly` there, without `--add mpath-boot`, with the
//!    kit's kernel modules (9p share `kmod`), writing the image to a
//!    read-write share (`out`).
//!    - mpath-boot's map: builder.img (dracut, `--add mpath-boot`); the
//!      console has mpath-boot's `create:` line, the marker exists. The
//!      stage is mpath-boot's installed files only, no multipath files.
//!    - multipath-tools' map: builder-mpt.img (initramfs-tools with
//!      Debian bookworm's multipath-tools-boot 0.9.4 and mpath-boot) booted
//!      with `mpath_boot=off`: the console has mpath-boot's "disabled on
//!      the kernel command line" and multipath-tools-boot's "Loading
//!      multipath modules" and "Discovering multipaths", no `create:` line,
//!      no marker: multipath and kpartx made `<wwid>` and `<wwid>-part1`.
//!      The stage adds multipath-tools, multipath-tools-boot and kpartx on
//!      /usr and /etc/multipath.conf, /etc/multipath/wwids and bindings.
//!      After the build the script runs `dracut --print-cmdline` (the
//!      module checks, host-only, no image) with 90-mpath-boot.conf and
//!      with it hidden: dracut's multipath module (whose cmdline() prints
//!      `rd.driver.pre=dm_multipath`) must be left out, then included.
//! 2. The build: dracut succeeded, its log shows the mpath-boot module
//!    included without being asked for and dracut's multipath module not
//!    included, and the image holds /usr/sbin/mpath-boot and the module's
//!    unit (or initqueue job), no multipath or multipathd (and, in the
//!    multipath-tools case, the host's multipath.conf and wwids).
//! 3. Test boot: that image, a fresh copy of the disk, two paths: / must be
//!    mounted from `35000c50015ea71ac-part1` on the map `35000c50015ea71ac`
//!    over sda and sdb, made by mpath-boot (its unit's output on the
//!    console).
//!
//! Files: `target/vm-runs/hostonly-builder/` (console.log, report.log,
//! qemu.log, out/: dracut.log, hostonly.img, hostonly.list) and
//! `target/vm-runs/hostonly-boot/`; `hostonly-mpt-builder/` (out/ also has
//! print-cmdline-*.err) and `hostonly-mpt-boot/` for the second case.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{scratch_dir, tail, virtio_scsi_paths, Kit};

const WWN: &str = "0x5000c50015ea71ac";
const WWID: &str = "35000c50015ea71ac";
const SERIAL: &str = "MPATH0";
const MPATH_ROOT: &str = "/dev/mapper/35000c50015ea71ac-part1";
/// A hang detector only: dracut under TCG takes minutes.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1500);
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// What tests/vm/hostonly-kit.sh made.
struct HostonlyKit {
    vmlinuz: PathBuf,
    moddir: PathBuf,
    disk: PathBuf,
    builder: PathBuf,
    builder_disk: PathBuf,
    stage: PathBuf,
    builder_mpt: PathBuf,
    stage_mpt: PathBuf,
}

/// Runs tests/vm/hostonly-kit.sh once per process (instant when up to date).
fn hostonly_kit() -> &'static HostonlyKit {
    static KIT: OnceLock<HostonlyKit> = OnceLock::new();
    KIT.get_or_init(load_hostonly_kit)
}

fn load_hostonly_kit() -> HostonlyKit {
    let t0 = Instant::now();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(repo.join("tests/vm/hostonly-kit.sh"))
        .env("MPATH_BOOT_BINARY", env!("CARGO_BIN_EXE_mpath-boot"))
        .stdin(Stdio::null())
        .status()
        .expect("run tests/vm/hostonly-kit.sh");
    assert!(
        status.success(),
        "tests/vm/hostonly-kit.sh failed ({status})"
    );
    let dir = Kit::load().dir.join("hostonly");
    let env = fs::read_to_string(dir.join("hostonly.env")).expect("hostonly.env");
    let get = |key: &str| -> PathBuf {
        env.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| PathBuf::from(v.trim_matches('\'')))
            .unwrap_or_else(|| panic!("hostonly.env lacks {key}"))
    };
    let kit = HostonlyKit {
        vmlinuz: get("VMLINUZ"),
        moddir: get("MODDIR"),
        disk: get("DISK"),
        builder: get("BUILDER"),
        builder_disk: get("BUILDER_DISK"),
        stage: get("STAGE"),
        builder_mpt: get("BUILDER_MPT"),
        stage_mpt: get("STAGE_MPT"),
    };
    eprintln!("hostonly-kit.sh: {:.1?}", t0.elapsed());
    kit
}

/// One qemu run: the console (ttyS0) and the report (ttyS1).
struct Run {
    name: &'static str,
    console: String,
    report: String,
    elapsed: Duration,
    dir: PathBuf,
}

impl Run {
    fn fail(&self, why: &str) -> ! {
        panic!(
            "{}: {why} (after {:.1?})\n--- report ({}) ---\n{}\n\
             --- console, last 60 lines ({}) ---\n{}\n---",
            self.name,
            self.elapsed,
            self.dir.join("report.log").display(),
            self.report.trim_end(),
            self.dir.join("console.log").display(),
            tail(&self.console, 60),
        )
    }

    /// Fields after `<tag> ` on each such line of the report.
    fn lines(&self, tag: &str) -> Vec<Vec<String>> {
        let prefix = format!("{tag} ");
        self.report
            .lines()
            .filter_map(|l| l.trim_end().strip_prefix(prefix.as_str()))
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    }

    /// As tests/vm_boot.rs: / is ext4 on (by device number) the partition
    /// map `<WWID>-part1` (DM UUID `part1-mpath-<WWID>`), which lies on the
    /// map `<WWID>` (DM UUID `mpath-<WWID>`) whose slaves are exactly sda
    /// and sdb, the only SCSI disks.
    fn assert_root_on_multipath(&self) {
        if !self.report.contains("@@BOOT:END") {
            self.fail("the root's init never reported");
        }
        // dm-N, MAJ:MIN, name, uuid, "slaves:", slaves...
        let dms = self.lines("@@BOOT:DM");
        let find = |name: &str| {
            dms.iter()
                .find(|f| f.len() >= 5 && f[2] == name)
                .unwrap_or_else(|| self.fail(&format!("no dm device {name}")))
        };
        let part = find(&format!("{WWID}-part1"));
        let map = find(WWID);
        if part[3] != format!("part1-mpath-{WWID}") || map[3] != format!("mpath-{WWID}") {
            self.fail(&format!("unexpected DM UUIDs: {part:?} {map:?}"));
        }
        if part[5..] != [map[0].clone()] {
            self.fail(&format!("{WWID}-part1 is not on the map: {part:?}"));
        }
        let mut slaves = map[5..].to_vec();
        slaves.sort();
        if slaves != ["sda", "sdb"] {
            self.fail(&format!(
                "map {WWID} has paths {slaves:?}, expected sda and sdb"
            ));
        }
        let disks: Vec<String> = self
            .lines("@@BOOT:SD")
            .into_iter()
            .map(|f| f[0].clone())
            .collect();
        if disks != ["sda", "sdb"] {
            self.fail(&format!("SCSI disks {disks:?}, expected sda and sdb"));
        }
        let root = self.lines("@@BOOT:ROOT");
        match root.as_slice() {
            [r] if r[0] == part[1] && r.get(1).map(String::as_str) == Some("ext4") => {}
            _ => self.fail(&format!(
                "/ is {root:?}, not ext4 on {WWID}-part1 ({})",
                part[1]
            )),
        }
    }

    fn assert_mpath_boot_made_the_map(&self) {
        if !self.console.contains(&format!("create: {WWID} ")) {
            self.fail("mpath-boot's \"create:\" line for the map is not on the console");
        }
    }

    /// The builder's `@@BUILD:ASSEMBLED yes|no`: whether the initramfs's
    /// /run (moved to the root) holds mpath-boot's marker of an assembly run.
    fn assembled_marker(&self) -> bool {
        match self.lines("@@BUILD:ASSEMBLED").first().map(|f| f.join(" ")) {
            Some(v) if v == "yes" => true,
            Some(v) if v == "no" => false,
            v => self.fail(&format!("bad or no @@BUILD:ASSEMBLED line: {v:?}")),
        }
    }
}

/// Boots the kit kernel with `initrd` from a copy of `disk` behind two paths.
#[allow(clippy::too_many_arguments)]
fn boot(
    name: &'static str,
    dir: &Path,
    kit: &HostonlyKit,
    initrd: &Path,
    disk: &Path,
    append: &[&str],
    extra: &[String],
    timeout: Duration,
) -> Run {
    let image = dir.join("disk.img");
    fs::copy(disk, &image).expect("copy the disk");
    let (console, report) = (dir.join("console.log"), dir.join("report.log"));
    let mut cmdline = vec![
        format!("root={MPATH_ROOT}"),
        "console=ttyS0".into(),
        "no_timer_check".into(),
        "panic=-1".into(),
    ];
    cmdline.extend(append.iter().map(|s| s.to_string()));
    let start = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-smp", "1", "-m", "1536"])
        .arg("-kernel")
        .arg(&kit.vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &cmdline.join(" ")])
        .args(["-display", "none", "-no-reboot", "-nodefaults"])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", report.display()))
        .args(virtio_scsi_paths(&image, 2, WWN, SERIAL))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("qemu.log")).expect("create qemu.log"))
        .spawn()
        .expect("start qemu-system-x86_64 (run tests/vm/kit.sh)");
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for qemu") {
            break Some(st);
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        sleep(Duration::from_millis(200));
    };
    let read = |p: &Path| {
        fs::read_to_string(p)
            .unwrap_or_default()
            .replace("\r\n", "\n")
    };
    let run = Run {
        name,
        console: read(&console),
        report: read(&report),
        elapsed: start.elapsed(),
        dir: dir.to_path_buf(),
    };
    if timed_out {
        run.fail(&format!("timed out after {timeout:?}"));
    }
    if let Some(st) = status.filter(|s| !s.success()) {
        run.fail(&format!(
            "qemu failed ({st}): {}",
            read(&dir.join("qemu.log")).trim()
        ));
    }
    eprintln!("{name}: qemu ran {:.1?}", run.elapsed);
    run
}

/// `-virtfs` arguments for a 9p share.
fn share(path: &Path, tag: &str, readonly: bool) -> [String; 2] {
    let ro = if readonly { ",readonly=on" } else { "" };
    [
        "-virtfs".into(),
        format!(
            "local,path={},mount_tag={tag},security_model=none{ro}",
            path.display()
        ),
    ]
}

/// One host-only case: the builder guest and what its host has.
struct Case<'a> {
    builder_name: &'static str,
    boot_name: &'static str,
    /// The builder guest's initramfs.
    builder: &'a Path,
    /// Overlaid on the host's /usr in the builder guest (usr/) and copied
    /// into its /etc (etc/).
    stage: &'a Path,
    builder_append: &'a [&'a str],
    /// The host also has multipath-tools, multipath-tools-boot and kpartx
    /// (and multipath files in /etc).
    multipath_tools: bool,
}

/// The builder boot and its checks; returns the image's directory and
/// listing.
fn build_hostonly(kit: &HostonlyKit, case: &Case) -> (Run, PathBuf, String) {
    let dir = scratch_dir(case.builder_name);
    let out = dir.join("out");
    fs::create_dir(&out).expect("mkdir out");
    let extra: Vec<String> = [
        share(Path::new("/usr"), "hostusr", true),
        share(case.stage, "stage", true),
        share(&kit.moddir, "kmod", true),
        share(&out, "out", false),
    ]
    .concat();
    let mut append = vec!["init=/sbin/hostonly-build"];
    append.extend_from_slice(case.builder_append);
    let build = boot(
        case.builder_name,
        &dir,
        kit,
        case.builder,
        &kit.builder_disk,
        &append,
        &extra,
        BUILD_TIMEOUT,
    );
    // The build host's root is what the test boot must reproduce.
    build.assert_root_on_multipath();
    if let Some(f) = build.lines("@@BUILD:FAILED").first() {
        build.fail(&format!("the build script failed: {}", f.join(" ")));
    }
    let uptime = |tag: &str| -> f64 {
        build
            .lines(tag)
            .first()
            .and_then(|f| f.last()?.parse().ok())
            .unwrap_or_else(|| build.fail(&format!("no {tag} line")))
    };
    let dracut = build.lines("@@BUILD:DRACUT");
    if dracut.first().and_then(|f| f.first()).map(String::as_str) != Some("rc=0") {
        let log = fs::read_to_string(out.join("dracut.log")).unwrap_or_default();
        build.fail(&format!(
            "dracut --hostonly failed: {dracut:?}\n{}",
            tail(&log, 30)
        ));
    }
    eprintln!(
        "{}: switch to the root at {:.0} s uptime, dracut --hostonly {:.0} s",
        case.builder_name,
        uptime("@@BUILD:START"),
        uptime("@@BUILD:DRACUT") - uptime("@@BUILD:DRACUT-START"),
    );

    // The build: included by its check(), not by request.
    let log = fs::read_to_string(out.join("dracut.log")).expect("dracut.log");
    let executing = log
        .lines()
        .find(|l| l.starts_with("dracut: Executing: "))
        .unwrap_or_else(|| panic!("no \"Executing:\" line in dracut.log:\n{log}"));
    assert!(
        executing.contains(" --hostonly ")
            && !executing.contains("mpath-boot")
            && !executing.contains(" --add")
            && !executing.contains(" -a "),
        "dracut was not run host-only without --add: {executing}"
    );
    assert!(
        log.contains("*** Including module: mpath-boot ***"),
        "dracut --hostonly left out the mpath-boot module:\n{log}"
    );
    assert!(
        !log.contains("*** Including module: multipath ***"),
        "dracut --hostonly included its own multipath module:\n{log}"
    );
    assert!(
        !log.contains("Switching to non-hostonly mode"),
        "dracut fell back to a generic image:\n{log}"
    );
    // Nothing in the configuration the guest's dracut read asks for it.
    for conf in [
        "etc/dracut.conf",
        "etc/dracut.conf.d",
        "usr/lib/dracut/dracut.conf.d",
    ] {
        let grep = Command::new("grep")
            .args(["-rqs", "add_dracutmodules.*mpath-boot"])
            .arg(case.stage.join(conf))
            .status()
            .expect("grep");
        assert!(!grep.success(), "{conf} adds mpath-boot");
    }
    let image = out.join("hostonly.img");
    let listing = Command::new("lsinitrd")
        .arg(&image)
        .output()
        .expect("lsinitrd");
    let listing = String::from_utf8_lossy(&listing.stdout).to_string();
    fs::write(out.join("hostonly.list"), &listing).expect("write hostonly.list");
    let has = |suffix: &str| listing.lines().any(|l| l.trim_end().ends_with(suffix));
    assert!(
        has(" usr/sbin/mpath-boot"),
        "hostonly.img lacks usr/sbin/mpath-boot"
    );
    assert!(
        has("usr/lib/systemd/system/mpath-boot.service") || has("sbin/mpath-boot-initqueue"),
        "hostonly.img has neither mpath-boot.service nor the initqueue job"
    );
    assert!(
        listing.contains("--hostonly"),
        "hostonly.img's build parameters lack --hostonly"
    );
    for multipath in ["sbin/multipathd", "sbin/multipath"] {
        assert!(!has(multipath), "hostonly.img holds {multipath}");
    }
    if case.multipath_tools {
        check_multipath_tools_host(&build, case, &listing);
    } else {
        // No multipath files on this host: none in the image, and the
        // script's multipath-tools checks did not run.
        assert!(
            !has(" etc/multipath.conf"),
            "hostonly.img holds etc/multipath.conf"
        );
        if !build.lines("@@BUILD:PRINT-CMDLINE").is_empty() {
            build.fail("dracut --print-cmdline ran on a host without multipath-tools");
        }
    }
    (build, out, listing)
}

/// The multipath-tools host's extra checks: dracut's multipath module
/// wants in and 90-mpath-boot.conf keeps it out; the host's multipath files
/// are in the image.
fn check_multipath_tools_host(build: &Run, case: &Case, listing: &str) {
    // dracut's multipath module wants in on this host: its check() passes
    // once 90-mpath-boot.conf is hidden (--print-cmdline runs the checks
    // and prints the included modules' cmdline(); multipath's prints
    // rd.driver.pre=dm_multipath), and stays out with it.
    let printed = build.lines("@@BUILD:PRINT-CMDLINE");
    let cmdline = |with: &str| -> &Vec<String> {
        printed
            .iter()
            .find(|f| f.first().map(String::as_str) == Some(with))
            .unwrap_or_else(|| build.fail(&format!("no @@BUILD:PRINT-CMDLINE {with} line")))
    };
    for (with, multipath) in [("with", false), ("without", true)] {
        let f = cmdline(with);
        if f.get(1).map(String::as_str) != Some("rc=0") {
            build.fail(&format!(
                "dracut --print-cmdline ({with} 90-mpath-boot.conf) failed: {f:?}"
            ));
        }
        if f.iter().any(|w| w == "rd.driver.pre=dm_multipath") != multipath {
            build.fail(&format!(
                "dracut's multipath module {} {with} 90-mpath-boot.conf: {f:?}",
                if multipath { "left out" } else { "included" }
            ));
        }
    }
    let started = build.lines("@@BUILD:PRINT-CMDLINE-START");
    let took = |with: &str| -> f64 {
        let at = |f: &Vec<String>, i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        started
            .iter()
            .find(|f| f.first().map(String::as_str) == Some(with))
            .and_then(|s| Some(at(cmdline(with), 2)? - at(s, 1)?))
            .unwrap_or(f64::NAN)
    };
    eprintln!(
        "{}: dracut --print-cmdline {:.0} s (with 90-mpath-boot.conf), {:.0} s (without)",
        case.builder_name,
        took("with"),
        took("without"),
    );
    // The host's multipath files went in with mpath-boot's module.
    for file in ["etc/multipath.conf", "etc/multipath/wwids"] {
        assert!(
            listing
                .lines()
                .any(|l| l.trim_end().ends_with(&format!(" {file}"))),
            "hostonly.img lacks {file}"
        );
    }
}

/// The test boot: the host-only image, a fresh disk, two paths; / must be
/// on the partition map made by mpath-boot.
fn boot_hostonly(kit: &HostonlyKit, case: &Case, out: &Path, listing: &str) -> Run {
    let dir = scratch_dir(case.boot_name);
    let initrd = dir.join("hostonly.img");
    fs::copy(out.join("hostonly.img"), &initrd).expect("copy hostonly.img");
    let run = boot(
        case.boot_name,
        &dir,
        kit,
        &initrd,
        &kit.disk,
        &["ro", "rd.shell=0", "rd.timeout=60", "rd.retry=60"],
        &[],
        BOOT_TIMEOUT,
    );
    run.assert_root_on_multipath();
    run.assert_mpath_boot_made_the_map();
    // A systemd image (the host has systemd): the unit ran.
    let systemd = listing.lines().any(|l| {
        l.trim_end()
            .ends_with("usr/lib/systemd/system/mpath-boot.service")
    });
    if systemd && !run.console.contains("mpath-boot[") {
        run.fail("no output of mpath-boot.service on the console");
    }
    run
}

/// Root on a map made by mpath-boot (builder.img: dracut --add mpath-boot),
/// host without multipath-tools.
#[test]
fn a_hostonly_image_built_on_a_multipath_root_includes_mpath_boot_and_mounts_root_from_the_map() {
    let t0 = Instant::now();
    let kit = hostonly_kit();
    let case = Case {
        builder_name: "hostonly-builder",
        boot_name: "hostonly-boot",
        builder: &kit.builder,
        stage: &kit.stage,
        builder_append: &[
            "rw",
            "rd.driver.pre=9pnet_virtio,9p,overlay",
            "rd.shell=0",
            "rd.retry=60",
        ],
        multipath_tools: false,
    };
    let (build, out, listing) = build_hostonly(kit, &case);
    build.assert_mpath_boot_made_the_map();
    if !build.assembled_marker() {
        build.fail(
            "no /run/mpath-boot/assembled: mpath-boot did not run in the builder's initramfs",
        );
    }
    boot_hostonly(kit, &case, &out, &listing);
    eprintln!(
        "vm_hostonly (mpath-boot's map): all phases {:.1?}",
        t0.elapsed()
    );
}

/// Root on a map made by multipath-tools: builder-mpt.img (initramfs-tools
/// with multipath-tools-boot and mpath-boot) booted with `mpath_boot=off`,
/// so multipath and kpartx in multipath-tools-boot's local-top script make
/// `<wwid>` and `<wwid>-part1`. The host has multipath-tools,
/// multipath-tools-boot and kpartx (and /etc/multipath.conf, wwids,
/// bindings): dracut's multipath module would include itself, and
/// 90-mpath-boot.conf keeps it out.
#[test]
fn a_hostonly_image_built_on_a_root_on_a_multipath_tools_map_with_multipath_tools_installed_includes_mpath_boot_only(
) {
    let t0 = Instant::now();
    let kit = hostonly_kit();
    let case = Case {
        builder_name: "hostonly-mpt-builder",
        boot_name: "hostonly-mpt-boot",
        builder: &kit.builder_mpt,
        stage: &kit.stage_mpt,
        builder_append: &["rw", "mpath_boot=off"],
        multipath_tools: true,
    };
    let (build, out, listing) = build_hostonly(kit, &case);
    // Who made the root's maps: not mpath-boot (switched off, no run, no
    // marker), so multipath-tools-boot's local-top/multipath, the only
    // other assembler in builder-mpt.img (hostonly-kit.sh checks it is).
    if !build
        .console
        .contains("mpath-boot: disabled on the kernel command line")
    {
        build.fail("mpath-boot's local-top script did not report itself switched off");
    }
    // multipath-tools-boot's script says what it does (not quiet).
    for line in [
        "Begin: Loading multipath modules",
        "Begin: Discovering multipaths",
    ] {
        if !build.console.contains(line) {
            build.fail(&format!(
                "no \"{line}\" (local-top/multipath) on the console"
            ));
        }
    }
    if build.console.contains(&format!("create: {WWID} ")) {
        build.fail("mpath-boot made the map although switched off");
    }
    if build.assembled_marker() {
        build.fail("/run/mpath-boot/assembled exists: mpath-boot ran in the builder's initramfs");
    }
    boot_hostonly(kit, &case, &out, &listing);
    eprintln!(
        "vm_hostonly (multipath-tools' map): all phases {:.1?}",
        t0.elapsed()
    );
}
