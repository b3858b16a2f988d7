//! Real-kernel VM harness for integration tests (`mod common;`).
//!
//! `boot(&VmConfig)` builds an initramfs (busybox, kernel modules, dmsetup,
//! the mpath-boot binary, the test script), boots the Debian kernel from
//! `tests/vm/kit.sh` under qemu (TCG) and returns what the guest printed.
//!
//! Guest side: the script runs under busybox `sh` after /proc, /sys and /dev
//! are mounted and the SCSI device handlers and device-mapper modules are
//! loaded. It can use
//!  - `section NAME CMD...`: prints `@@MPB:BEGIN:NAME@@`, CMD's output, then
//!    `@@MPB:END:NAME:rc=STATUS@@` on a line of its own; returns CMD's status.
//!    Read on the host with [`GuestRun::section`] / [`GuestRun::status`].
//!  - `wait_until SECONDS CMD...`: retries CMD every 0.1 s (no udev here).
//!
//! Guest output travels on the second serial port (ttyS1), apart from the
//! kernel console (ttyS0), so printk never interleaves with the markers.
//! Every run leaves its files in `target/vm-runs/<name>/`: `guest.log`,
//! `kernel.log`, `qemu.log`, `initrd.cpio`.
#![allow(dead_code)]

pub mod boot;
mod cpio;
mod initramfs;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

const BEGIN: &str = "@@MPB:BEGIN:";
const END: &str = "@@MPB:END:";
const EXIT: &str = "@@MPB:EXIT:rc=";
const READY: &str = "@@MPB:READY@@";
const SETUP_FAILED: &str = "@@MPB:SETUP-FAILED:";

/// How the guest's /dev is populated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevMode {
    /// devtmpfs: the kernel creates nodes (/dev/sdX, /dev/mapper/control...).
    Devtmpfs,
    /// A tmpfs holding only `console` and `null`: what a udev-less early boot
    /// without devtmpfs sees. /dev/mapper/control is absent on purpose.
    BareTmpfs,
}

/// One guest run.
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// Unique per test: scratch files and logs go to `target/vm-runs/<name>/`.
    pub name: &'static str,
    /// Guest busybox `sh` script, run after the standard setup.
    pub script: String,
    /// Mount sysfs on /sys (default true).
    pub mount_sysfs: bool,
    pub dev: DevMode,
    /// Extra qemu arguments, e.g. from [`virtio_scsi_paths`].
    pub qemu_args: Vec<String>,
    /// Extra kernel command line arguments.
    pub kernel_args: Vec<String>,
    /// Host files copied into the initramfs: (host path, guest path).
    pub files: Vec<(PathBuf, String)>,
    /// Host directory trees merged into the initramfs root.
    pub overlays: Vec<PathBuf>,
    /// Wall-clock limit for the whole qemu run (TCG is slow; tests run two
    /// at a time).
    pub timeout: Duration,
    pub memory_mb: u32,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            name: "default",
            script: String::new(),
            mount_sysfs: true,
            dev: DevMode::Devtmpfs,
            qemu_args: Vec::new(),
            kernel_args: Vec::new(),
            files: Vec::new(),
            overlays: Vec::new(),
            timeout: Duration::from_secs(180),
            memory_mb: 1024,
        }
    }
}

/// What a guest run produced.
#[derive(Debug)]
pub struct GuestRun {
    pub name: &'static str,
    /// Everything /init and the script printed (ttyS1), with `\r\n` as `\n`.
    pub console: String,
    /// The kernel console (ttyS0).
    pub kernel_log: String,
    /// The script's exit status; None if the guest never printed the exit
    /// marker (setup failure, kernel panic, script powered off, timeout).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// `target/vm-runs/<name>/`.
    pub dir: PathBuf,
}

/// One `section NAME CMD...` as printed by the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub output: String,
    pub status: i32,
}

/// The kernel and modules prepared by tests/vm/kit.sh (`kit.env`).
pub struct Kit {
    pub dir: PathBuf,
    pub env_text: String,
    pub kver: String,
    pub vmlinuz: PathBuf,
    pub kroot: PathBuf,
    pub moddir: PathBuf,
}

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Kit {
    /// Reads `$MPATH_VM_KIT/kit.env` (default `target/vm-kit/kit.env`).
    pub fn load() -> Kit {
        let dir = std::env::var_os("MPATH_VM_KIT")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_dir().join("target/vm-kit"));
        let env_path = dir.join("kit.env");
        let env_text = fs::read_to_string(&env_path).unwrap_or_else(|e| {
            panic!(
                "VM kit missing ({}: {e}): run tests/vm/kit.sh",
                env_path.display()
            )
        });
        let get = |key: &str| -> String {
            env_text
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim_matches('\'').to_string())
                .unwrap_or_else(|| {
                    panic!("{} lacks {key}: run tests/vm/kit.sh", env_path.display())
                })
        };
        let kit = Kit {
            kver: get("KVER"),
            vmlinuz: get("VMLINUZ").into(),
            kroot: get("KROOT").into(),
            moddir: get("MODDIR").into(),
            env_text: env_text.clone(),
            dir,
        };
        assert!(
            kit.vmlinuz.exists(),
            "{} missing: run tests/vm/kit.sh",
            kit.vmlinuz.display()
        );
        kit
    }
}

/// `target/vm-runs/<name>/`, emptied: call before `boot` to place images.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = repo_dir().join("target/vm-runs").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir
}

/// A sparse raw disk image of `size_mb` MiB.
pub fn raw_image(path: &Path, size_mb: u64) {
    let f = fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    f.set_len(size_mb << 20).expect("size image");
}

/// qemu arguments for `paths` virtio-scsi controllers, each with a scsi-hd
/// over the same image: one LU seen through several paths (same WWID).
/// `wwn` is hex, as `0x5000c50015ea71ac`.
pub fn virtio_scsi_paths(image: &Path, paths: usize, wwn: &str, serial: &str) -> Vec<String> {
    let mut args = Vec::new();
    for i in 0..paths {
        for (opt, val) in [
            (
                "-drive",
                format!(
                    "if=none,id=d{i},file={},format=raw,file.locking=off",
                    image.display()
                ),
            ),
            ("-device", format!("virtio-scsi-pci,id=s{i}")),
            (
                "-device",
                format!("scsi-hd,bus=s{i}.0,drive=d{i},share-rw=on,wwn={wwn},serial={serial}"),
            ),
        ] {
            args.push(opt.to_string());
            args.push(val);
        }
    }
    args
}

/// Last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Boots the guest and runs the script; panics (with the logs' tails) if the
/// kit is missing, qemu cannot start, or the guest did not reach the exit
/// marker (setup failure, panic, timeout). Check the script's status with
/// [`GuestRun::assert_success`].
pub fn boot(cfg: &VmConfig) -> GuestRun {
    let run = run(cfg);
    if run.exit_code.is_none() {
        let why = if run.timed_out {
            format!("timed out after {:?}", cfg.timeout)
        } else if run.console.contains(SETUP_FAILED) {
            "guest setup failed".to_string()
        } else if !run.console.contains(READY) {
            "guest never reached the test script".to_string()
        } else {
            "guest stopped before the script finished".to_string()
        };
        run.fail(&why);
    }
    run
}

/// Like [`boot`], but returns even if the guest never printed the exit marker
/// (for scripts that power off or switch root themselves).
pub fn run(cfg: &VmConfig) -> GuestRun {
    static RUNNING: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    struct Claim(&'static str);
    impl Drop for Claim {
        fn drop(&mut self) {
            RUNNING
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|n| *n != self.0);
        }
    }
    {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            !running.contains(&cfg.name),
            "two VM tests running with name {:?}",
            cfg.name
        );
        running.push(cfg.name);
    }
    let _claim = Claim(cfg.name);

    let kit = Kit::load();
    let dir = repo_dir().join("target/vm-runs").join(cfg.name);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let initrd = initramfs::build(&kit, cfg, &dir);
    let (guest_log, kernel_log) = (dir.join("guest.log"), dir.join("kernel.log"));
    for f in [&guest_log, &kernel_log] {
        let _ = fs::remove_file(f);
    }

    // Full kernel messages cost nothing measurable and make kernel.log useful.
    // no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
    // check can fail and panic the boot (seen with 2 guests on 2 cores).
    let mut append = vec!["console=ttyS0", "panic=-1", "no_timer_check"];
    append.extend(cfg.kernel_args.iter().map(String::as_str));
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args([
        "-accel",
        "tcg",
        "-smp",
        "1",
        "-m",
        &cfg.memory_mb.to_string(),
    ])
    .arg("-kernel")
    .arg(&kit.vmlinuz)
    .arg("-initrd")
    .arg(&initrd)
    .args(["-append", &append.join(" ")])
    .args(["-display", "none", "-no-reboot", "-nodefaults"])
    .arg("-serial")
    .arg(format!("file:{}", kernel_log.display()))
    .arg("-serial")
    .arg(format!("file:{}", guest_log.display()))
    .args(&cfg.qemu_args)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(fs::File::create(dir.join("qemu.log")).expect("create qemu.log"));

    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start qemu-system-x86_64 ({e}): run tests/vm/kit.sh"));
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for qemu") {
            break Some(st);
        }
        if start.elapsed() > cfg.timeout {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        sleep(Duration::from_millis(50));
    };
    let elapsed = start.elapsed();

    let read = |p: &Path| {
        fs::read_to_string(p)
            .unwrap_or_default()
            .replace("\r\n", "\n")
    };
    let console = read(&guest_log);
    let exit_code = console
        .rfind(EXIT)
        .and_then(|i| console[i + EXIT.len()..].split("@@").next()?.parse().ok());
    let run = GuestRun {
        name: cfg.name,
        console,
        kernel_log: read(&kernel_log),
        exit_code,
        timed_out,
        elapsed,
        dir: dir.clone(),
    };
    if let Some(st) = status.filter(|s| !s.success()) {
        run.fail(&format!(
            "qemu failed ({st}): {}",
            read(&dir.join("qemu.log")).trim()
        ));
    }
    run
}

impl GuestRun {
    /// Panics with `why` and the tails of the guest output and kernel console.
    pub fn fail(&self, why: &str) -> ! {
        panic!(
            "VM {:?}: {why} (after {:.1?})\n--- guest output, last 60 lines ({}) ---\n{}\n\
             --- kernel console, last 30 lines ({}) ---\n{}\n---",
            self.name,
            self.elapsed,
            self.dir.join("guest.log").display(),
            tail(&self.console, 60),
            self.dir.join("kernel.log").display(),
            tail(&self.kernel_log, 30),
        )
    }

    /// Every occurrence of section `name`, in order. Sections may nest.
    pub fn find_sections(&self, name: &str) -> Vec<Section> {
        let begin = format!("{BEGIN}{name}@@\n");
        let end = format!("\n{END}{name}:rc=");
        let mut found = Vec::new();
        let mut rest = self.console.as_str();
        while let Some(i) = rest.find(&begin) {
            rest = &rest[i + begin.len()..];
            let Some(j) = rest.find(&end) else {
                self.fail(&format!("section {name:?} began but never ended"))
            };
            let status = rest[j + end.len()..]
                .split("@@")
                .next()
                .and_then(|s| s.parse().ok());
            let Some(status) = status else {
                self.fail(&format!("bad end marker of section {name:?}"))
            };
            found.push(Section {
                output: rest[..j].to_string(),
                status,
            });
            rest = &rest[j + end.len()..];
        }
        found
    }

    /// The first section `name`; panics with the console if absent.
    pub fn first_section(&self, name: &str) -> Section {
        self.find_sections(name)
            .into_iter()
            .next()
            .unwrap_or_else(|| self.fail(&format!("no section {name:?} in the guest output")))
    }

    /// Output of the first section `name` (stdout and stderr of its command).
    pub fn section(&self, name: &str) -> String {
        self.first_section(name).output
    }

    /// Outputs of all sections `name` (empty if none).
    pub fn sections(&self, name: &str) -> Vec<String> {
        self.find_sections(name)
            .into_iter()
            .map(|s| s.output)
            .collect()
    }

    /// Exit status of the command of the first section `name`.
    pub fn status(&self, name: &str) -> i32 {
        self.first_section(name).status
    }

    /// Output of the first section `name`, asserting its command exited 0.
    pub fn section_ok(&self, name: &str) -> String {
        let s = self.first_section(name);
        if s.status != 0 {
            self.fail(&format!(
                "section {name:?} exited {}:\n{}",
                s.status, s.output
            ));
        }
        s.output
    }

    /// Asserts the guest script exited 0.
    pub fn assert_success(&self) {
        if self.exit_code != Some(0) {
            self.fail(&format!(
                "guest script exit status {:?}, expected 0",
                self.exit_code
            ));
        }
    }
}
