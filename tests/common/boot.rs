//! Boots from the root disk of tests/vm/boot-kit.sh with real initramfs
//! images (tests/vm_boot.rs, tests/vm_iscsi.rs): the qemu command line, and
//! the root's report parsed into a [`BootReport`] with the checks both tests
//! make on it.
//!
//! The root file system's /sbin/init (boot-kit.sh) prints on ttyS1, one per
//! line: `@@BOOT:ROOT MAJ:MIN FSTYPE SOURCE` (what / is mounted from),
//! `@@BOOT:DM dm-N MAJ:MIN NAME UUID slaves: SLAVE...` per dm device,
//! `@@BOOT:SD sdX MAJ:MIN` per SCSI disk, `@@BOOT:PART sdXN` per partition of
//! one, `@@BOOT:CMDLINE ...` and `@@BOOT:END` last.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// One dm device as the booted root's init saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dm {
    /// `dm-N`.
    pub kname: String,
    /// `MAJ:MIN`.
    pub devnum: String,
    pub name: String,
    pub uuid: String,
    /// Kernel names of the devices under it, sorted.
    pub slaves: Vec<String>,
}

/// The root's report, parsed.
#[derive(Clone, Debug, Default)]
pub struct BootReport {
    /// `@@BOOT:END` was printed: the boot reached the root and its init ran
    /// to the end.
    pub ended: bool,
    /// The fields of each `ROOT` line (one expected).
    pub roots: Vec<Vec<String>>,
    pub dms: Vec<Dm>,
    /// The SCSI disks (`SD` lines), in the report's order.
    pub disks: Vec<String>,
    /// The SCSI disks' partitions (`PART` lines, fields joined).
    pub partitions: Vec<String>,
}

/// Fields after `@@BOOT:<tag> ` on each such line of `report`.
pub fn report_lines(report: &str, tag: &str) -> Vec<Vec<String>> {
    let prefix = format!("@@BOOT:{tag} ");
    report
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix(prefix.as_str()))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

impl BootReport {
    /// Parses the report; a malformed DM line is an error.
    pub fn parse(report: &str) -> Result<BootReport, String> {
        let dms = report_lines(report, "DM")
            .into_iter()
            .map(|f| {
                if f.len() < 5 || f[4] != "slaves:" {
                    return Err(format!("bad DM line {f:?}"));
                }
                let mut slaves = f[5..].to_vec();
                slaves.sort();
                Ok(Dm {
                    kname: f[0].clone(),
                    devnum: f[1].clone(),
                    name: f[2].clone(),
                    uuid: f[3].clone(),
                    slaves,
                })
            })
            .collect::<Result<Vec<Dm>, String>>()?;
        Ok(BootReport {
            ended: report.contains("@@BOOT:END"),
            roots: report_lines(report, "ROOT"),
            dms,
            // A matched line has at least one field (the line is trimmed).
            disks: report_lines(report, "SD")
                .into_iter()
                .map(|f| f[0].clone())
                .collect(),
            partitions: report_lines(report, "PART")
                .into_iter()
                .map(|f| f.join(" "))
                .collect(),
        })
    }

    /// The dm device named `name`.
    pub fn dm(&self, name: &str) -> Option<&Dm> {
        self.dms.iter().find(|d| d.name == name)
    }

    /// The root's init reported to the end.
    pub fn check_reached_root(&self) -> Result<(), String> {
        if self.ended {
            Ok(())
        } else {
            Err("the root filesystem's init never reported: the boot did not reach it".into())
        }
    }

    /// / is an ext4 file system on `dm`.
    pub fn check_root_on(&self, dm: &Dm) -> Result<(), String> {
        let [root] = self.roots.as_slice() else {
            return Err("no single ROOT line".into());
        };
        let (root_dev, fstype) = (&root[0], root.get(1).map(String::as_str));
        if *root_dev != dm.devnum {
            return Err(format!(
                "/ is on {root_dev}, not on {} ({})",
                dm.name, dm.devnum
            ));
        }
        if fstype != Some("ext4") {
            return Err(format!("/ is {fstype:?}, expected ext4"));
        }
        Ok(())
    }

    /// The partition map `<map_name>-part1` on the multipath map `map_name`
    /// of `wwid`, checked: the DM UUIDs (`part1-mpath-<wwid>`,
    /// `mpath-<wwid>`), the partition map lying on the map, and the map's
    /// paths being exactly `paths` (sorted).
    pub fn multipath_partition(
        &self,
        map_name: &str,
        wwid: &str,
        paths: &[String],
    ) -> Result<&Dm, String> {
        let part_name = format!("{map_name}-part1");
        let Some(part) = self.dm(&part_name) else {
            return Err(format!("no dm device {part_name}"));
        };
        let Some(map) = self.dm(map_name) else {
            return Err(format!("no multipath map {map_name}"));
        };
        if part.uuid != format!("part1-mpath-{wwid}") || map.uuid != format!("mpath-{wwid}") {
            return Err(format!("unexpected DM UUIDs: {part:?} {map:?}"));
        }
        if part.slaves != [map.kname.clone()] {
            return Err(format!(
                "{part_name} lies on {:?}, not on the map ({})",
                part.slaves, map.kname
            ));
        }
        if map.slaves != paths {
            return Err(format!(
                "map {map_name} has paths {:?}, expected {paths:?}",
                map.slaves
            ));
        }
        Ok(part)
    }

    /// The SCSI disks are `paths`, in that order.
    pub fn check_disks(&self, paths: &[String]) -> Result<(), String> {
        if self.disks != paths {
            return Err(format!("SCSI disks {:?}, expected {paths:?}", self.disks));
        }
        Ok(())
    }

    /// No SCSI path has a kernel partition left: mpath-boot removed them,
    /// so nothing but the map can claim the root file system.
    pub fn check_no_path_partitions(&self) -> Result<(), String> {
        if !self.partitions.is_empty() {
            return Err(format!("path partitions left: {:?}", self.partitions));
        }
        Ok(())
    }
}

/// The kernel command line of a boot: `root=` if given, the console
/// arguments, then `extra`.
pub fn kernel_cmdline(root: Option<&str>, extra: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut append: Vec<String> = root.map(|r| format!("root={r}")).into_iter().collect();
    append.extend([
        "console=ttyS0".to_string(),
        // Under TCG on a loaded host the IO-APIC timer check can panic.
        "no_timer_check".into(),
        "panic=-1".into(),
        "ro".into(),
    ]);
    append.extend(extra);
    append
}

/// qemu (TCG, one CPU, 1 GiB, no display, no reboot, no default devices)
/// booting `vmlinuz` and `initrd` with `append`; the kernel console goes to
/// `dir/console.log` (ttyS0), the root's report to `dir/report.log` (ttyS1),
/// qemu's own messages to `dir/qemu.log`. The caller adds the disks or NICs.
pub fn qemu_boot_command(vmlinuz: &Path, initrd: &Path, append: &[String], dir: &Path) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-accel", "tcg", "-smp", "1", "-m", "1024"])
        .arg("-kernel")
        .arg(vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &append.join(" ")])
        .args(["-display", "none", "-no-reboot", "-nodefaults"])
        .arg("-serial")
        .arg(format!("file:{}", dir.join("console.log").display()))
        .arg("-serial")
        .arg(format!("file:{}", dir.join("report.log").display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(dir.join("qemu.log")).expect("create qemu.log"));
    cmd
}

/// What [`wait_for_qemu`] does after a poll.
pub enum Poll {
    /// Let the guest run on.
    Wait,
    /// Stop it: qemu is killed.
    Stop,
}

/// Waits for qemu (`child`, started at `start`) to exit. Every `every`, while
/// it runs, `poll` is called (it may act on the guest, or stop it); qemu is
/// killed when `poll` says [`Poll::Stop`] or once `timeout` has passed.
/// Returns whether the timeout was reached.
pub fn wait_for_qemu(
    child: &mut Child,
    start: Instant,
    timeout: Duration,
    every: Duration,
    mut poll: impl FnMut() -> Poll,
) -> bool {
    loop {
        if child.try_wait().expect("wait for qemu").is_some() {
            return false;
        }
        let timed_out = match poll() {
            Poll::Stop => false,
            Poll::Wait if start.elapsed() > timeout => true,
            Poll::Wait => {
                sleep(every);
                continue;
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        return timed_out;
    }
}

/// A serial log, `\r\n` as `\n`; empty if it is not there (yet).
pub fn read_log(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap_or_default()
        .replace("\r\n", "\n")
}

/// In an initramfs-tools image built with multipath-tools-boot, both
/// local-top scripts ran in the documented order: mpath-boot's (its
/// "assembling" message), then multipath-tools-boot's ("Discovering
/// multipaths").
pub fn check_mpath_boot_ran_before_multipath(console: &str) -> Result<(), String> {
    let ours = console.find("mpath-boot: assembling multipath maps");
    let theirs = console.find("Discovering multipaths");
    match (ours, theirs) {
        (Some(a), Some(b)) if a < b => Ok(()),
        _ => Err(format!(
            "expected mpath-boot, then multipath-tools-boot's local-top script on the console \
             (found at {ours:?} and {theirs:?})"
        )),
    }
}
