//! Builds the guest initramfs: a cached base archive (busybox, kernel
//! modules, dmsetup) shared by all tests, plus a small per-test archive
//! (mpath-boot, /init, the test script, extra files). The kernel unpacks
//! concatenated newc archives in order, so the two are simply appended.

use super::cpio::Cpio;
use super::{DevMode, Kit, VmConfig, BEGIN, END, EXIT, READY, SETUP_FAILED};
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Loaded by /init before the test script, in this order: the device
/// handlers must be present before any SCSI device is scanned (scsi_debug
/// reports ALUA), so tests load their transport (scsi_debug, virtio) later.
pub const PRELOAD: &[&str] = &[
    "scsi_dh_alua",
    "scsi_dh_rdac",
    "scsi_dh_emc",
    "scsi_dh_hp_sw",
    "sd_mod",
    "sg",
    "dm_mod",
    "dm_multipath",
    "dm_round_robin",
    "dm_service_time",
    "dm_queue_length",
];
/// Shipped (with dependencies) but loaded by the test script itself, or by
/// the kernel on demand (dm-zero when a table names the "zero" target).
pub const ON_DEMAND: &[&str] = &[
    "scsi_debug",
    "virtio_scsi",
    "virtio_pci",
    "ext4",
    "dm_zero",
    // The LIO target through its loopback fabric: a second, real SCSI target.
    "target_core_mod",
    "target_core_file",
    "target_core_iblock",
    "tcm_loop",
    // USB-attached disks (qemu usb-bot / usb-storage behind xhci).
    "xhci_pci",
    "usb_storage",
    "uas",
];

const BUSYBOX: &str = "/bin/busybox";
const DMSETUP: &[&str] = &["/usr/sbin/dmsetup", "/sbin/dmsetup"];
/// Bump when the base layout changes, to invalidate cached archives.
const BASE_FORMAT: u32 = 1;

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: impl std::fmt::Display) -> T {
    r.unwrap_or_else(|e| panic!("initramfs: {what}: {e}"))
}

fn dmsetup_path() -> &'static str {
    DMSETUP
        .iter()
        .copied()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| panic!("initramfs: no host dmsetup ({DMSETUP:?}); run tests/vm/kit.sh"))
}

/// Adds an executable at `guest`, plus its shared libraries and loader at
/// their host paths when it is dynamically linked (ldd lists none otherwise).
pub fn add_elf(cpio: &mut Cpio, guest: &str, host: &Path) {
    must(cpio.copy(guest, host), format!("copy {}", host.display()));
    let out = must(Command::new("ldd").arg(host).output(), "run ldd");
    for lib in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if lib.starts_with('/') && Path::new(lib).exists() {
            must(cpio.copy(lib, Path::new(lib)), format!("copy {lib}"));
        }
    }
}

/// Path of the cached base archive, built at most once per process and
/// shared between processes through an atomic rename.
pub fn base(kit: &Kit) -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut h = DefaultHasher::new();
        BASE_FORMAT.hash(&mut h);
        kit.env_text.hash(&mut h);
        (PRELOAD, ON_DEMAND).hash(&mut h);
        for f in [BUSYBOX, dmsetup_path()] {
            let m = must(fs::metadata(f), format!("{f} (run tests/vm/kit.sh)"));
            (m.len(), m.mtime()).hash(&mut h);
        }
        let path = kit.dir.join(format!("base-{:016x}.cpio", h.finish()));
        if !path.exists() {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            must(fs::write(&tmp, build_base(kit)), "write base archive");
            must(fs::rename(&tmp, &path), "rename base archive");
        }
        path
    })
}

fn build_base(kit: &Kit) -> Vec<u8> {
    let mut c = Cpio::new();
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "run", "root", "mnt",
    ] {
        c.dir(d, 0o755);
    }
    c.dir("tmp", 0o1777);
    // Present before any /dev mount: the kernel opens /dev/console for init,
    // and /init opens ttyS1 for its output before covering /dev.
    c.char_dev("dev/console", 0o600, 5, 1);
    c.char_dev("dev/null", 0o666, 1, 3);
    c.char_dev("dev/ttyS1", 0o600, 4, 65);
    c.symlink("etc/mtab", "/proc/mounts");

    add_elf(&mut c, BUSYBOX, Path::new(BUSYBOX));
    let list = must(
        Command::new(BUSYBOX).arg("--list-full").output(),
        "busybox --list-full",
    );
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        c.symlink(applet, BUSYBOX);
    }
    add_elf(&mut c, "/usr/sbin/dmsetup", Path::new(dmsetup_path()));

    // Modules and their dependencies, re-indexed by depmod for busybox modprobe.
    let stage = kit.dir.join(format!("stage{}", std::process::id()));
    let _ = fs::remove_dir_all(&stage);
    let mods = stage.join("lib/modules").join(&kit.kver);
    for m in PRELOAD.iter().chain(ON_DEMAND) {
        let out = must(
            Command::new("modprobe")
                .args([
                    "-d".as_ref(),
                    kit.kroot.as_os_str(),
                    "-S".as_ref(),
                    kit.kver.as_ref(),
                ])
                .args(["--show-depends", m])
                .output(),
            "run modprobe --show-depends",
        );
        assert!(
            out.status.success(),
            "modprobe --show-depends {m}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(ko) = line
                .strip_prefix("insmod ")
                .and_then(|l| l.split_whitespace().next())
            else {
                continue; // "builtin X": nothing to ship
            };
            let rel = ko
                .split_once(&format!("/lib/modules/{}/", kit.kver))
                .expect("module path")
                .1;
            let dst = mods.join(rel);
            must(fs::create_dir_all(dst.parent().unwrap()), "mkdir stage");
            must(fs::copy(ko, &dst), format!("copy {ko}"));
        }
    }
    for f in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        must(
            fs::copy(kit.moddir.join(f), mods.join(f)),
            format!("copy {f}"),
        );
    }
    let st = must(
        Command::new("depmod")
            .arg("-b")
            .arg(&stage)
            .arg(&kit.kver)
            .status(),
        "run depmod",
    );
    assert!(st.success(), "depmod on {} failed", stage.display());
    must(
        c.tree(&format!("lib/modules/{}", kit.kver), &mods),
        "archive modules",
    );
    let _ = fs::remove_dir_all(&stage);
    c.finish()
}

/// The guest's /init: standard setup, helpers, the test script, exit marker.
fn init_script(cfg: &VmConfig) -> String {
    let sysfs = if cfg.mount_sysfs {
        "mount -t sysfs sys /sys || fail 'mount sysfs'"
    } else {
        ""
    };
    let dev = match cfg.dev {
        DevMode::Devtmpfs => "mount -t devtmpfs dev /dev || fail 'mount devtmpfs'",
        DevMode::BareTmpfs => {
            "mount -t tmpfs -o mode=755 dev /dev && mknod -m 600 /dev/console c 5 1 \
             && mknod -m 666 /dev/null c 1 3 || fail 'bare /dev'"
        }
    };
    format!(
        r#"#!/bin/sh
# Generated by tests/common/initramfs.rs.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin HOME=/root DM_DISABLE_UDEV=1
# All output goes to the second serial port, so the kernel's messages on the
# console (ttyS0) never interleave with it.
exec </dev/null >/dev/ttyS1 2>&1
fail() {{ echo "{SETUP_FAILED}$*@@"; exec >&- 2>&-; poweroff -f; }}
mount -t proc proc /proc || fail 'mount proc'
{sysfs}
{dev}
for m in {modules}; do modprobe $m || fail "modprobe $m"; done

# section NAME CMD...: run CMD between markers, then print its exit status.
section() {{
    local _name="$1" _rc
    shift
    echo "{BEGIN}$_name@@"
    "$@"
    _rc=$?
    printf '\n{END}%s:rc=%d@@\n' "$_name" "$_rc"
    return $_rc
}}
# wait_until SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_until() {{
    local _left=$(($1 * 10))
    shift
    until "$@"; do
        [ $_left -gt 0 ] || return 1
        _left=$((_left - 1))
        sleep 0.1
    done
}}

echo "{READY}"
# Through a pipe, so the script's stdout is not a tty (ls, for one, would
# print columns). Background processes left writing to it delay the end.
set -o pipefail
( . /test.sh ) 2>&1 | cat
rc=$?
echo "{EXIT}$rc@@"
# Closing the last descriptors of ttyS1 waits until its output is sent.
exec >&- 2>&-
poweroff -f
"#,
        modules = PRELOAD.join(" "),
    )
}

/// Writes `dir/initrd.cpio`: the cached base followed by this test's part.
pub fn build(kit: &Kit, cfg: &VmConfig, dir: &Path) -> PathBuf {
    // Within this part the first entry of a path wins: the harness's /init,
    // then explicit files, then mpath-boot, then overlays.
    let mut c = Cpio::new();
    c.file("init", 0o755, init_script(cfg).as_bytes());
    c.file("test.sh", 0o644, cfg.script.as_bytes());
    for (host, guest) in &cfg.files {
        must(c.copy(guest, host), format!("copy {}", host.display()));
    }
    add_elf(
        &mut c,
        "/usr/sbin/mpath-boot",
        Path::new(env!("CARGO_BIN_EXE_mpath-boot")),
    );
    for o in &cfg.overlays {
        must(c.tree("/", o), format!("overlay {}", o.display()));
    }

    let initrd = dir.join("initrd.cpio");
    must(fs::copy(base(kit), &initrd), "copy base archive");
    let mut f = must(
        fs::OpenOptions::new().append(true).open(&initrd),
        "open initrd",
    );
    must(f.write_all(&c.finish()), "write initrd");
    initrd
}
