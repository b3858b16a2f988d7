//! Root file system on iSCSI through two portals, multipathed by mpath-boot.
//!
//! A first guest is the iSCSI target: the kernel's LIO target (configfs),
//! exporting the boot kit's root disk (tests/vm/boot-kit.sh's disk.img,
//! attached to it as a virtio-scsi disk, iblock backstore) as LUN 0 of one
//! target portal group with two network portals, 10.0.1.1:3260 on its first
//! NIC and 10.0.2.1:3260 on its second, demo mode (no ACLs), no
//! authentication. Its NICs are joined to the booting guest's by qemu
//! `-netdev stream` over Unix sockets in the run directory: nothing leaves
//! the two qemu processes.
//!
//! Then the booting guest starts, once per image of tests/vm/iscsi-kit.sh
//! (mkinitramfs with open-iscsi's hook; dracut with its iscsi and
//! network-legacy modules, with and without systemd), with no disk at all,
//! logs in to both portals and must mount its root from the partition map
//! `<wwid>-part1` of the multipath map mpath-boot made over the two iSCSI
//! sessions. The root's /sbin/init reports (ttyS1) what / is mounted from
//! and every dm device with its DM UUID and slaves, then powers off. The
//! target reports every change of its established TCP connections to port
//! 3260, which shows one session per portal.
//!
//! Ordering is checked on the console: mpath-boot starts after the second
//! session's disk appeared (initramfs-tools, dracut's shell image), or, in
//! dracut's systemd image where it starts first and waits
//! (`mpath_boot.wait=120 mpath_boot.paths=2`), its unit ran and made the map
//! only after both disks were there: it did not hold back the initqueue,
//! where the network comes up and the logins happen.
//!
//! One target boot serves all the initiator boots (`MPATH_ISCSI_ONLY=sh`, or
//! a comma-separated list of name suffixes, boots only those). Files of each run:
//! `target/vm-runs/iscsi-target/` (the target: guest.log, kernel.log) and
//! `target/vm-runs/iscsi-<image>/` (console.log, report.log, qemu.log).

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::{sleep, JoinHandle};
use std::time::{Duration, Instant};

use common::boot::{
    check_mpath_boot_ran_before_multipath, kernel_cmdline, qemu_boot_command, read_log,
    wait_for_qemu, BootReport, Poll,
};
use common::{scratch_dir, tail, virtio_scsi_paths, GuestRun, Kit, VmConfig};

/// The LU's unit serial (VPD page 0x80) on the target. LIO derives its NAA
/// designator from it: 6, LIO's OUI 001405, then the serial's first 25 hex
/// digits (as in tests/vm_lio.rs).
const SERIAL: &str = "6d70622d69736373692d726f6f7431";
/// `3` + that NAA designator: the WWID, the multipath map's name.
const WWID: &str = "360014056d70622d69736373692d726f6";
/// The root file system's UUID (tests/vm/boot-kit.sh).
const FS_UUID: &str = "6d70622d-726f-4f74-8000-000000000001";
/// How long the target guest lives at most (it powers itself off then, so
/// a test killed half-way leaves no qemu behind for long).
const TARGET_LIFE_S: u64 = 1800;
const BOOT_TIMEOUT: Duration = Duration::from_secs(420);

/// What tests/vm/iscsi-kit.sh built.
struct IscsiKit {
    dir: PathBuf,
    vmlinuz: PathBuf,
    disk: PathBuf,
    target_iqn: String,
    portals: [String; 2],
}

fn iscsi_kit() -> IscsiKit {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(repo.join("tests/vm/iscsi-kit.sh"))
        .env("MPATH_BOOT_BINARY", env!("CARGO_BIN_EXE_mpath-boot"))
        .stdin(Stdio::null())
        .status()
        .expect("run tests/vm/iscsi-kit.sh");
    assert!(status.success(), "tests/vm/iscsi-kit.sh failed ({status})");
    let dir = Kit::load().dir.join("iscsi");
    let env = fs::read_to_string(dir.join("iscsi.env")).expect("iscsi.env");
    let get = |key: &str| -> String {
        env.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('\'').to_string())
            .unwrap_or_else(|| panic!("iscsi.env lacks {key}"))
    };
    IscsiKit {
        vmlinuz: get("VMLINUZ").into(),
        disk: get("DISK").into(),
        target_iqn: get("TARGET_IQN"),
        portals: [get("PORTAL1"), get("PORTAL2")],
        dir,
    }
}

/// Kernel modules the harness's base archive lacks (the iSCSI target
/// fabric, virtio-net), with their dependencies in load order, as
/// (host .ko, guest path) pairs; the guest insmods /extra/*.ko in name
/// order, skipping what is loaded already.
fn extra_modules(kit: &Kit) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for m in ["iscsi_target_mod", "virtio_net"] {
        let out = Command::new("modprobe")
            .arg("-d")
            .arg(&kit.kroot)
            .args(["-S", &kit.kver, "--show-depends", m])
            .output()
            .expect("modprobe --show-depends");
        assert!(out.status.success(), "modprobe --show-depends {m}");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(ko) = line
                .strip_prefix("insmod ")
                .and_then(|l| l.split_whitespace().next())
            else {
                continue;
            };
            let ko = PathBuf::from(ko);
            if files.iter().any(|(h, _)| *h == ko) {
                continue;
            }
            let name = ko.file_name().unwrap().to_string_lossy().to_string();
            let guest = format!("/extra/{:02}-{name}", files.len());
            files.push((ko, guest));
        }
    }
    files
}

/// The target guest's script (busybox sh under the harness's /init).
fn target_script(kit: &IscsiKit) -> String {
    let iqn = &kit.target_iqn;
    let [p1, p2] = &kit.portals;
    format!(
        r#"
CFS=/sys/kernel/config
modprobe configfs
grep -qs " $CFS configfs" /proc/mounts || mount -t configfs configfs $CFS || exit 10
modprobe target_core_iblock || exit 11
modprobe virtio_pci || exit 12
modprobe virtio_scsi || exit 13
for ko in /extra/*.ko; do insmod $ko 2>/dev/null; done
for m in iscsi_target_mod virtio_net; do [ -d /sys/module/$m ] || {{ echo "module $m not loaded"; exit 14; }}; done
wait_until 60 test -b /dev/sda || exit 15
wait_until 30 test -e /sys/class/net/eth1 || exit 16
ip link set lo up
ip link set eth0 up && ip addr add {p1}/24 dev eth0 || exit 17
ip link set eth1 up && ip addr add {p2}/24 dev eth1 || exit 18
# The LU: an iblock backstore on the disk, with a fixed unit serial.
D=$CFS/target/core/iblock_0/root
mkdir -p $D || exit 20
echo "udev_path=/dev/sda" > $D/control || exit 21
echo 1 > $D/enable || exit 22
echo {SERIAL} > $D/wwn/vpd_unit_serial || exit 23
# One target, one portal group, LUN 0, a portal on each NIC; demo mode
# (any initiator, no ACLs), no authentication, writable.
T=$CFS/target/iscsi/{iqn}/tpgt_1
mkdir -p $T/lun/lun_0 || exit 30
ln -s $D $T/lun/lun_0/root || exit 31
mkdir $T/np/{p1}:3260 || exit 32
mkdir $T/np/{p2}:3260 || exit 33
echo 0 > $T/attrib/authentication || exit 34
echo 1 > $T/attrib/generate_node_acls || exit 35
echo 1 > $T/attrib/cache_dynamic_acls || exit 36
echo 0 > $T/attrib/demo_mode_write_protect || exit 37
echo 1 > $T/enable || exit 38
echo "@@TARGET:WWN $(cat /sys/block/sda/device/wwid 2>/dev/null)"
echo "@@TARGET:PORTALS $(ls $T/np | tr '\n' ' ')"
echo "@@TARGET:READY"
# Every change of the established connections to the portals and of the
# sessions, until the host quits this qemu (or the time is up).
prev=""
end=$(( $(cut -d. -f1 /proc/uptime) + {TARGET_LIFE_S} ))
while [ $(cut -d. -f1 /proc/uptime) -lt $end ]; do
    conns=$(netstat -tn 2>/dev/null | awk '$6 == "ESTABLISHED" && $4 ~ /:3260$/ {{ print $4 "<-" $5 }}' | sort | tr '\n' ' ')
    sessions=$(cat $T/dynamic_sessions 2>/dev/null | tr '\n' ' ')
    cur="$conns | $sessions"
    if [ "$cur" != "$prev" ]; then
        echo "@@TARGET:CONNS $(cut -d' ' -f1 /proc/uptime) $conns"
        echo "@@TARGET:SESSIONS $sessions"
        prev=$cur
    fi
    sleep 1
done
"#
    )
}

/// The target guest, run by the harness in a thread; quit through QMP when
/// dropped.
struct Target {
    thread: Option<JoinHandle<GuestRun>>,
    qmp: PathBuf,
    log: PathBuf,
    sockets: [PathBuf; 2],
}

impl Target {
    fn start(kit: &IscsiKit) -> Target {
        let harness_kit = Kit::load();
        let name = "iscsi-target";
        let dir = scratch_dir(name);
        let image = dir.join("disk.img");
        fs::copy(&kit.disk, &image).expect("copy disk.img");
        let sockets = [dir.join("portal1.sock"), dir.join("portal2.sock")];
        let qmp = dir.join("qmp.sock");
        let mut qemu_args = virtio_scsi_paths(&image, 1, "0x5000c50015ea71ad", "TGT0");
        for (i, sock) in sockets.iter().enumerate() {
            qemu_args.push("-netdev".into());
            qemu_args.push(format!(
                "stream,id=n{i},server=on,addr.type=unix,addr.path={}",
                sock.display()
            ));
            qemu_args.push("-device".into());
            qemu_args.push(format!(
                "virtio-net-pci,netdev=n{i},mac=52:54:00:00:0{}:01",
                i + 1
            ));
        }
        qemu_args.push("-qmp".into());
        qemu_args.push(format!("unix:{},server=on,wait=off", qmp.display()));
        let cfg = VmConfig {
            name,
            script: target_script(kit),
            qemu_args,
            files: extra_modules(&harness_kit),
            timeout: Duration::from_secs(TARGET_LIFE_S + 300),
            memory_mb: 512,
            ..VmConfig::default()
        };
        let thread = std::thread::spawn(move || common::run(&cfg));
        Target {
            thread: Some(thread),
            qmp,
            log: dir.join("guest.log"),
            sockets,
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .replace("\r\n", "\n")
    }

    /// Waits until the target reports ready; panics with its log otherwise.
    fn wait_ready(&mut self, limit: Duration) {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains("@@TARGET:READY") && self.sockets.iter().all(|s| s.exists()) {
                return;
            }
            let finished = self.thread.as_ref().is_none_or(|t| t.is_finished());
            if finished || start.elapsed() > limit || log.contains("@@MPB:EXIT:") {
                let why = match self.thread.take().map(|t| t.join()) {
                    Some(Err(_)) => "the harness panicked (see above)".to_string(),
                    _ if start.elapsed() > limit => format!("not ready after {limit:?}"),
                    _ => "it stopped".to_string(),
                };
                panic!(
                    "iSCSI target guest: {why}\n--- its output ({}) ---\n{}",
                    self.log.display(),
                    tail(&log, 40)
                );
            }
            sleep(Duration::from_millis(200));
        }
    }

    /// `@@TARGET:CONNS` lines printed after byte `from` of its log.
    fn conns_since(&self, from: usize) -> Vec<String> {
        let log = self.log();
        log.get(from..)
            .unwrap_or("")
            .lines()
            .filter_map(|l| l.strip_prefix("@@TARGET:CONNS "))
            .map(str::to_string)
            .collect()
    }

    fn quit(&mut self) {
        if let Ok(stream) = UnixStream::connect(&self.qmp) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut w = stream;
            let mut line = String::new();
            let _ = reader.read_line(&mut line); // greeting
            for cmd in [r#"{"execute":"qmp_capabilities"}"#, r#"{"execute":"quit"}"#] {
                let _ = writeln!(w, "{cmd}");
                line.clear();
                let _ = reader.read_line(&mut line);
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.quit();
    }
}

/// One initiator boot.
struct Initiator {
    name: &'static str,
    /// File name in $MPATH_VM_KIT/iscsi/.
    initrd: &'static str,
    /// Last octet of its addresses (10.0.1.N, 10.0.2.N) and of its MACs.
    host: u8,
    /// Kernel arguments besides the console ones; `{WWID}`, `{IQN}`,
    /// `{P1}`, `{P2}`, `{IP1}`, `{IP2}` are replaced.
    append: &'static [&'static str],
    /// The console line with which mpath-boot starts when it is run after
    /// the logins (initramfs-tools' local-top, dracut's settled initqueue
    /// job); None where it starts before them and waits (dracut's systemd
    /// unit, whose output is tagged `mpath-boot[PID]`).
    starts_after_logins: Option<&'static str>,
}

struct Booted {
    name: &'static str,
    console: String,
    report: String,
    elapsed: Duration,
    dir: PathBuf,
    timed_out: bool,
    /// The target's connection changes while this guest ran.
    conns: Vec<String>,
}

impl Booted {
    fn problem(&self, why: &str) -> String {
        format!(
            "boot {:?}: {why} (after {:.1?})\n--- root init report ({}) ---\n{}\n\
             --- target connections during the boot ---\n{}\n\
             --- console, last 60 lines ({}) ---\n{}\n---",
            self.name,
            self.elapsed,
            self.dir.join("report.log").display(),
            self.report.trim_end(),
            self.conns.join("\n"),
            self.dir.join("console.log").display(),
            tail(&self.console, 60),
        )
    }

    /// / is mounted (ext4) from `<WWID>-part1`, DM UUID
    /// `part1-mpath-<WWID>`, which lies on the map `<WWID>` (DM UUID
    /// `mpath-<WWID>`), whose slaves are every SCSI disk of the guest, two
    /// of them: the iSCSI sessions (the guest has no other disk). The
    /// target saw a connection on each portal from this guest, and
    /// mpath-boot's own "create:" line is on the console.
    fn check(
        &self,
        init: &Initiator,
        portals: &[String; 2],
        ips: &[String; 2],
    ) -> Result<(), String> {
        if self.timed_out {
            return Err(self.problem("timed out"));
        }
        let checks = || -> Result<(), String> {
            let report = BootReport::parse(&self.report)?;
            report.check_reached_root()?;
            let mut disks = report.disks.clone();
            disks.sort();
            if disks.len() != 2 {
                return Err(format!("{} SCSI disks {disks:?}, expected 2", disks.len()));
            }
            // The map's paths are every disk there is.
            let part = report.multipath_partition(WWID, WWID, &disks)?;
            report.check_root_on(part)?;
            report.check_no_path_partitions()
        };
        checks().map_err(|why| self.problem(&why))?;
        // The disks are LIO's, reached through iSCSI.
        let lio = self
            .console
            .lines()
            .filter(|l| l.contains("Direct-Access") && l.contains("LIO-ORG"))
            .count();
        if lio < 2 {
            return Err(self.problem("the console does not show two LIO-ORG disks"));
        }
        // One connection per portal from this guest at the same time.
        let both = self.conns.iter().any(|c| {
            portals.iter().all(|p| {
                c.split_whitespace().any(|conn| {
                    conn.starts_with(&format!("{p}:3260<-"))
                        && ips.iter().any(|ip| conn.contains(&format!("<-{ip}:")))
                })
            })
        });
        if !both {
            return Err(
                self.problem("the target never had a connection on both portals from this guest")
            );
        }
        let Some(created) = self.console.find(&format!("create: {WWID} ")) else {
            return Err(
                self.problem("mpath-boot's \"create:\" line for the map is not on the console")
            );
        };
        // Ordering: the map was made once both sessions' disks were there
        // (the table lists both), and mpath-boot never ran before the
        // logins where it is meant to run after them. Where it starts
        // first (systemd), it waited while the initqueue logged in: the
        // unit's own output is there and the disks came before the map.
        let Some(second_disk) = self
            .console
            .match_indices("Direct-Access")
            .filter(|(i, _)| {
                self.console[*i..]
                    .lines()
                    .next()
                    .is_some_and(|l| l.contains("LIO-ORG"))
            })
            .nth(1)
            .map(|(i, _)| i)
        else {
            return Err(self.problem("no second LIO disk on the console"));
        };
        if created < second_disk {
            return Err(
                self.problem("mpath-boot made the map before the second session's disk appeared")
            );
        }
        match init.starts_after_logins {
            Some(start) => match self.console.find(start) {
                Some(i) if i > second_disk => {}
                Some(_) => {
                    return Err(
                        self.problem(&format!("{start:?} came before the second login's disk"))
                    )
                }
                None => return Err(self.problem(&format!("no {start:?} on the console"))),
            },
            None => {
                if !self.console.contains("mpath-boot[") {
                    return Err(self.problem("no output of mpath-boot.service on the console"));
                }
            }
        }
        Ok(())
    }
}

fn boot_initiator(kit: &IscsiKit, target: &Target, init: &Initiator) -> Booted {
    let dir = scratch_dir(init.name);
    let (console, report) = (dir.join("console.log"), dir.join("report.log"));
    let ips = [
        format!("10.0.1.{}", init.host),
        format!("10.0.2.{}", init.host),
    ];
    let subst = |s: &str| {
        s.replace("{WWID}", WWID)
            .replace("{IQN}", &kit.target_iqn)
            .replace("{P1}", &kit.portals[0])
            .replace("{P2}", &kit.portals[1])
            .replace("{IP1}", &ips[0])
            .replace("{IP2}", &ips[1])
            .replace("{FS_UUID}", FS_UUID)
    };
    // eth0 and eth1, in PCI order, for ip= and the portals.
    let extra = std::iter::once("net.ifnames=0".to_string());
    let append = kernel_cmdline(None, extra.chain(init.append.iter().map(|s| subst(s))));
    let mut cmd = qemu_boot_command(&kit.vmlinuz, &kit.dir.join(init.initrd), &append, &dir);
    for (i, sock) in target.sockets.iter().enumerate() {
        cmd.arg("-netdev").arg(format!(
            "stream,id=n{i},server=off,addr.type=unix,addr.path={}",
            sock.display()
        ));
        cmd.arg("-device").arg(format!(
            "virtio-net-pci,netdev=n{i},mac=52:54:00:00:0{}:{:02x}",
            i + 1,
            init.host
        ));
    }
    fs::write(dir.join("cmdline"), append.join(" ")).unwrap();

    let log_from = target.log().len();
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start qemu-system-x86_64");
    let timed_out = wait_for_qemu(
        &mut child,
        start,
        BOOT_TIMEOUT,
        Duration::from_millis(200),
        || {
            // dracut halts (qemu stays up) when it gives up on the root.
            if fs::read_to_string(&console).is_ok_and(|c| c.contains("reboot: System halted")) {
                sleep(Duration::from_secs(1));
                return Poll::Stop;
            }
            Poll::Wait
        },
    );
    let booted = Booted {
        name: init.name,
        console: read_log(&console),
        report: read_log(&report),
        elapsed: start.elapsed(),
        dir,
        timed_out,
        conns: target.conns_since(log_from),
    };
    eprintln!(
        "boot {}: {} from {} in {:.1?}",
        init.name,
        if booted.report.contains("@@BOOT:END") {
            "reached the root"
        } else {
            "did not reach the root"
        },
        init.initrd,
        booted.elapsed
    );
    booted
}

/// Both portals, every image: each boot must come up with / on the
/// multipath partition map over the two iSCSI sessions.
#[test]
fn iscsi_root_on_two_portals_is_mounted_from_the_multipath_map() {
    let kit = iscsi_kit();
    let mut target = Target::start(&kit);
    target.wait_ready(Duration::from_secs(300));
    let initiators = [
        // initramfs-tools: open-iscsi's local-top/iscsi logs in to each
        // address of ISCSI_TARGET_IP in /etc/iscsi.initramfs (built into the
        // image); configure_networking brings up one interface (ip=), so the
        // second portal is reached through the gateway, the target itself.
        Initiator {
            name: "iscsi-initramfs-tools",
            initrd: "initramfs-tools.img",
            host: 2,
            starts_after_logins: Some("Begin: mpath-boot: assembling multipath maps"),
            append: &[
                "root=/dev/mapper/{WWID}-part1",
                "ip={IP1}::{P1}:255.255.255.0::eth0:off",
                "mpath_boot.wait=120",
                "mpath_boot.paths=2",
            ],
        },
        // The same with Debian's default root=, by file system UUID: the
        // UUID is on both sessions' partitions and on the partition map.
        Initiator {
            name: "iscsi-uuid-initramfs-tools",
            initrd: "initramfs-tools.img",
            host: 5,
            starts_after_logins: Some("Begin: mpath-boot: assembling multipath maps"),
            append: &[
                "root=UUID={FS_UUID}",
                "ip={IP1}::{P1}:255.255.255.0::eth0:off",
                "mpath_boot.wait=120",
                "mpath_boot.paths=2",
            ],
        },
        // The same, with the image built on a host that also has
        // multipath-tools and multipath-tools-boot: its local-top/multipath
        // runs after mpath-boot's (both wait for iscsi) and finds the map.
        Initiator {
            name: "iscsi-mpt-uuid-initramfs-tools",
            initrd: "initramfs-tools-mpt.img",
            host: 6,
            starts_after_logins: Some("Begin: mpath-boot: assembling multipath maps"),
            append: &[
                "root=UUID={FS_UUID}",
                "ip={IP1}::{P1}:255.255.255.0::eth0:off",
                "mpath_boot.wait=120",
                "mpath_boot.paths=2",
            ],
        },
        // dracut images built with multipath-tools on the host (dracut's
        // multipath module left out), root=UUID=.
        Initiator {
            name: "iscsi-mpt-uuid-dracut-systemd",
            initrd: "dracut-systemd-mpt.img",
            host: 7,
            starts_after_logins: None,
            append: &[
                "root=UUID={FS_UUID}",
                "ip={IP1}:::255.255.255.0::eth0:none",
                "ip={IP2}:::255.255.255.0::eth1:none",
                "netroot=iscsi:{P1}::::{IQN}",
                "netroot=iscsi:{P2}::::{IQN}",
                "rd.iscsi.initiator=iqn.1993-08.org.debian:01:mpb-dracut-systemd-mpt",
                "rd.neednet=1",
                "mpath_boot.wait=120",
                "mpath_boot.paths=2",
                "rd.shell=0",
                "rd.timeout=120",
            ],
        },
        Initiator {
            name: "iscsi-mpt-uuid-dracut-sh",
            initrd: "dracut-sh-mpt.img",
            host: 8,
            starts_after_logins: Some("dracut: mpath-boot: assembling multipath maps"),
            append: &[
                "root=UUID={FS_UUID}",
                "ip={IP1}:::255.255.255.0::eth0:none",
                "ip={IP2}:::255.255.255.0::eth1:none",
                "netroot=iscsi:{P1}::::{IQN}",
                "netroot=iscsi:{P2}::::{IQN}",
                "rd.iscsi.initiator=iqn.1993-08.org.debian:01:mpb-dracut-sh-mpt",
                "rd.neednet=1",
                "mpath_boot.wait=120",
                "mpath_boot.paths=2",
                "rd.shell=0",
                "rd.retry=120",
            ],
        },
        // dracut: one netroot= per portal, one ip= per interface.
        Initiator {
            name: "iscsi-dracut-systemd",
            initrd: "dracut-systemd.img",
            host: 3,
            starts_after_logins: None,
            append: &[
                "root=/dev/mapper/{WWID}-part1",
                "ip={IP1}:::255.255.255.0::eth0:none",
                "ip={IP2}:::255.255.255.0::eth1:none",
                "netroot=iscsi:{P1}::::{IQN}",
                "netroot=iscsi:{P2}::::{IQN}",
                "rd.iscsi.initiator=iqn.1993-08.org.debian:01:mpb-dracut-systemd",
                "rd.neednet=1",
                "mpath_boot.wait=120",
                "mpath_boot.paths=2",
                "rd.shell=0",
                "rd.timeout=120",
            ],
        },
        Initiator {
            name: "iscsi-dracut-sh",
            initrd: "dracut-sh.img",
            host: 4,
            starts_after_logins: Some("dracut: mpath-boot: assembling multipath maps"),
            append: &[
                "root=/dev/mapper/{WWID}-part1",
                "ip={IP1}:::255.255.255.0::eth0:none",
                "ip={IP2}:::255.255.255.0::eth1:none",
                "netroot=iscsi:{P1}::::{IQN}",
                "netroot=iscsi:{P2}::::{IQN}",
                "rd.iscsi.initiator=iqn.1993-08.org.debian:01:mpb-dracut-sh",
                "rd.neednet=1",
                "mpath_boot.wait=120",
                "mpath_boot.paths=2",
                "rd.shell=0",
                "rd.retry=120",
            ],
        },
    ];
    let only = std::env::var("MPATH_ISCSI_ONLY").unwrap_or_default();
    let mut failures = Vec::new();
    for init in initiators
        .iter()
        .filter(|i| only.is_empty() || only.split(',').any(|o| i.name.ends_with(o)))
    {
        let booted = boot_initiator(&kit, &target, init);
        let ips = [
            format!("10.0.1.{}", init.host),
            format!("10.0.2.{}", init.host),
        ];
        let mut result = booted.check(init, &kit.portals, &ips);
        // With multipath-tools-boot in the image its local-top script ran
        // too, after mpath-boot's.
        if result.is_ok() && init.initrd == "initramfs-tools-mpt.img" {
            result = check_mpath_boot_ran_before_multipath(&booted.console)
                .map_err(|why| booted.problem(&why));
        }
        if let Err(e) = result {
            eprintln!("{e}");
            failures.push(init.name);
        }
    }
    target.quit();
    assert!(
        failures.is_empty(),
        "failed boots: {failures:?} (details above)"
    );
}
