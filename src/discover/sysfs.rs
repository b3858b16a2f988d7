//! Discovery through sysfs, under a root directory (`<root>/sys`,
//! `<root>/proc`), so tests run on a fabricated tree.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use heapless::String;

use super::Discovery;
use crate::limits::MAX_PATHS;
use crate::path::{dev_name, DevNum, Hctl};
use crate::probe::{Attr, Candidate, DeviceAttributes, SgNode};

/// Discovery failed as a whole (a single bad device is only passed over).
#[derive(Debug)]
pub enum SysfsError {
    /// `<root>/sys/block` cannot be listed.
    NoBlockDir(PathBuf, std::io::Error),
    /// More SCSI disks than the path table holds.
    TooManyPaths(usize),
}

impl core::fmt::Display for SysfsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SysfsError::NoBlockDir(dir, e) => write!(f, "cannot list {}: {e}", dir.display()),
            SysfsError::TooManyPaths(n) => write!(
                f,
                "{n} SCSI disks found, more than the limit of {MAX_PATHS} paths per run"
            ),
        }
    }
}

impl std::error::Error for SysfsError {}

/// True when `<root>/sys/block` exists, i.e. sysfs is mounted.
pub fn available(root: &Path) -> bool {
    root.join("sys/block").is_dir()
}

/// Finds SCSI disks (`sd*`, peripheral type 0) under `<root>/sys/block`.
pub fn scan(root: &Path) -> Result<Discovery, SysfsError> {
    let block = root.join("sys/block");
    let entries = fs::read_dir(&block).map_err(|e| SysfsError::NoBlockDir(block.clone(), e))?;
    let mounts = super::mounted_devices(root);
    let mut found: Vec<(std::string::String, Candidate)> = Vec::new();
    let mut discovery = Discovery::default();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else { continue };
        if !name.starts_with("sd") {
            continue;
        }
        let Some(dev) = dev_name(name) else { continue };
        match candidate(root, name, &mounts) {
            Ok(c) => {
                // multipath-tools walks paths in udev order: by sysfs device path.
                let syspath = fs::canonicalize(block.join(name))
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                found.push((syspath, c));
            }
            Err(why) => discovery.passed_over.push((dev, why)),
        }
    }
    if found.len() > MAX_PATHS {
        return Err(SysfsError::TooManyPaths(found.len()));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    discovery.candidates = found.into_iter().map(|(_, c)| c).collect();
    discovery.passed_over.sort();
    Ok(discovery)
}

/// The scan's verdict on one disk, `name` under `<root>/sys/block`: its
/// candidate, or why the scan passes it over. For `--is-path`, which runs
/// once per disk event and must not read every other disk each time.
pub fn examine(root: &Path, name: &str) -> Result<Candidate, std::string::String> {
    let mounts = super::mounted_devices(root);
    candidate(root, name, &mounts)
}

fn candidate(root: &Path, name: &str, mounts: &[DevNum]) -> Result<Candidate, std::string::String> {
    let disk = root.join("sys/block").join(name);
    let device = disk.join("device");
    let devnum = read_text(&disk.join("dev"))
        .and_then(|t| DevNum::parse(&t))
        .ok_or("no readable dev attribute")?;
    let sectors: u64 = read_text(&disk.join("size"))
        .and_then(|t| t.trim().parse().ok())
        .ok_or("no readable size attribute")?;
    let kind = read_text(&device.join("type")).ok_or("no SCSI device type attribute")?;
    if kind.trim() != "0" {
        return Err(format!("not a disk (SCSI device type {})", kind.trim()));
    }
    let hctl = fs::read_link(&device)
        .ok()
        .and_then(|link| link.file_name().and_then(|n| n.to_str()).and_then(Hctl::parse))
        .ok_or("device link does not name a SCSI address H:C:T:L")?;
    if sectors == 0 {
        return Err("size is 0 (no medium?)".into());
    }
    if let Some(why) = in_use(root, name, devnum, mounts) {
        return Err(why);
    }
    let sg = first_entry(&device.join("scsi_generic")).and_then(|n| {
        let devnum = read_text(&device.join("scsi_generic").join(&n).join("dev")).and_then(|t| DevNum::parse(&t))?;
        Some(SgNode { name: dev_name(&n)?, devnum })
    });
    let handler = read_text(&device.join("dh_state"))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t != "detached")
        .and_then(|t| String::try_from(t.as_str()).ok());
    Ok(Candidate {
        name: dev_name(name).ok_or("device name too long")?,
        hctl,
        devnum,
        sectors,
        sg,
        handler,
        // The read checkers read one logical block.
        block_size: read_text(&disk.join("queue/logical_block_size"))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(512),
    })
}

/// Why a disk must not be touched, if it is in use: mounted (itself or a
/// partition), or held by anything but a multipath map (say LVM or a
/// partition map). Membership in a multipath map is fine: that map is
/// exactly what a rerun reloads.
fn in_use(root: &Path, name: &str, devnum: DevNum, mounts: &[DevNum]) -> Option<std::string::String> {
    let disk = root.join("sys/block").join(name);
    let mut nodes = vec![(name.to_owned(), devnum)];
    if let Ok(entries) = fs::read_dir(&disk) {
        for entry in entries.flatten() {
            let part = entry.file_name().to_string_lossy().into_owned();
            if part.starts_with(name) && entry.path().join("partition").exists() {
                if let Some(num) = read_text(&entry.path().join("dev")).and_then(|t| DevNum::parse(&t)) {
                    nodes.push((part, num));
                }
            }
        }
    }
    for (node, num) in &nodes {
        if mounts.contains(num) {
            return Some(format!("in use: {node} is mounted"));
        }
        let holders_dir = if node == name { disk.join("holders") } else { disk.join(node).join("holders") };
        for holder in list_dir(&holders_dir) {
            let uuid = read_text(&root.join("sys/block").join(&holder).join("dm/uuid")).unwrap_or_default();
            if !uuid.trim().starts_with("mpath-") {
                return Some(format!("in use: {node} is held by {holder}"));
            }
        }
    }
    None
}

fn list_dir(dir: &Path) -> Vec<std::string::String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn first_entry(dir: &Path) -> Option<std::string::String> {
    let mut names = list_dir(dir);
    names.sort();
    names.into_iter().next()
}

fn read_text(path: &Path) -> Option<std::string::String> {
    let mut buf = [0u8; 256];
    let n = read_into(path, &mut buf)?;
    core::str::from_utf8(&buf[..n]).ok().map(str::to_owned)
}

/// Reads a whole (small) attribute into `buf`; `None` if absent or unreadable.
fn read_into(path: &Path, buf: &mut [u8]) -> Option<usize> {
    let mut file = fs::File::open(path).ok()?;
    let mut total = 0;
    while total < buf.len() {
        match file.read(&mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(total)
}

/// Cached SCSI data of one disk, from `<root>/sys/block/<name>/device/`.
pub struct SysfsAttributes {
    device: PathBuf,
}

impl SysfsAttributes {
    pub fn new(root: &Path, name: &str) -> SysfsAttributes {
        SysfsAttributes {
            device: root.join("sys/block").join(name).join("device"),
        }
    }
}

impl DeviceAttributes for SysfsAttributes {
    fn read(&self, attr: Attr, buf: &mut [u8]) -> Option<usize> {
        read_into(&self.device.join(attr.sysfs_name()), buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// Builds a fake sysfs tree the way the kernel lays it out.
    struct Tree {
        root: PathBuf,
        temp: crate::test_support::TempRoot,
    }

    impl Tree {
        fn new(test: &str) -> Tree {
            let temp = crate::test_support::TempRoot::new(&format!("sysfs-{test}"));
            let root = temp.0.clone();
            fs::create_dir_all(root.join("sys/block")).unwrap();
            Tree { root, temp }
        }

        fn write(&self, rel: &str, text: &str) {
            self.temp.write(rel, text);
        }

        /// A SCSI disk `name` at `hctl` on `host_dir`, with sg node `sg`.
        fn disk(&self, name: &str, hctl: &str, minor: u32, kind: &str, sg: &str) {
            let host = hctl.split(':').next().unwrap();
            let dev_dir = format!("sys/devices/pseudo_0/adapter{host}/host{host}/target{}/{hctl}", &hctl[..hctl.rfind(':').unwrap()]);
            let block_dir = format!("{dev_dir}/block/{name}");
            self.write(&format!("{block_dir}/dev"), &format!("8:{minor}\n"));
            self.write(&format!("{block_dir}/size"), "16384\n");
            fs::create_dir_all(self.root.join(&block_dir).join("holders")).unwrap();
            self.write(&format!("{dev_dir}/type"), &format!("{kind}\n"));
            self.write(&format!("{dev_dir}/state"), "running\n");
            self.write(&format!("{dev_dir}/dh_state"), "alua\n");
            let sg_minor: u32 = sg.trim_start_matches("sg").parse().unwrap();
            self.write(&format!("{dev_dir}/scsi_generic/{sg}/dev"), &format!("21:{sg_minor}\n"));
            symlink(self.root.join(&dev_dir), self.root.join(&block_dir).join("device")).unwrap();
            symlink(self.root.join(&block_dir), self.root.join("sys/block").join(name)).unwrap();
        }
    }


    #[test]
    fn finds_disks_in_device_path_order() {
        let tree = Tree::new("order");
        tree.disk("sdb", "1:0:0:0", 16, "0", "sg1");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.disk("sdc", "0:0:0:1", 32, "5", "sg2");
        let found = scan(&tree.root).unwrap();
        let names: Vec<&str> = found.candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sda", "sdb"]);
        let sda = &found.candidates[0];
        assert_eq!(sda.hctl, Hctl { host: 0, channel: 0, target: 0, lun: 0 });
        assert_eq!(sda.devnum, DevNum { major: 8, minor: 0 });
        assert_eq!(sda.sectors, 16384);
        let sg = sda.sg.as_ref().unwrap();
        assert_eq!((sg.name.as_str(), sg.devnum), ("sg0", DevNum { major: 21, minor: 0 }));
        assert_eq!(sda.handler.as_deref(), Some("alua"));
        assert_eq!(found.passed_over.len(), 1);
        assert!(found.passed_over[0].1.contains("not a disk"));
    }

    #[test]
    fn held_disk_is_passed_over_unless_by_a_multipath_map() {
        let tree = Tree::new("held");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.disk("sdb", "0:0:0:1", 16, "0", "sg1");
        fs::create_dir_all(tree.root.join("sys/block/sda/holders/dm-0")).unwrap();
        tree.write("sys/block/dm-0/dm/uuid", "LVM-abc\n");
        fs::create_dir_all(tree.root.join("sys/block/sdb/holders/dm-1")).unwrap();
        tree.write("sys/block/dm-1/dm/uuid", "mpath-3600\n");
        let found = scan(&tree.root).unwrap();
        let names: Vec<&str> = found.candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sdb"]);
        assert!(found.passed_over[0].1.contains("held by dm-0"));
    }

    #[test]
    fn mounted_partition_is_passed_over() {
        let tree = Tree::new("mounted");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.write("sys/block/sda/sda1/partition", "1\n");
        tree.write("sys/block/sda/sda1/dev", "8:1\n");
        tree.write("proc/self/mountinfo", "22 1 8:1 / /boot rw - ext4 /dev/sda1 rw\n");
        let found = scan(&tree.root).unwrap();
        assert!(found.candidates.is_empty());
        assert!(found.passed_over[0].1.contains("sda1 is mounted"));
    }

    #[test]
    fn garbage_attributes_pass_the_disk_over() {
        let tree = Tree::new("garbage");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        tree.write("sys/block/sda/dev", "\u{ff}garbage");
        tree.disk("sdb", "0:0:0:1", 16, "0", "sg1");
        tree.write("sys/block/sdb/size", "-5\n");
        let found = scan(&tree.root).unwrap();
        assert!(found.candidates.is_empty());
        assert_eq!(found.passed_over.len(), 2);
    }

    #[test]
    fn missing_sysfs_is_an_error() {
        let root = std::env::temp_dir().join("mpath-boot-no-such-root");
        assert!(!available(&root));
        assert!(scan(&root).is_err());
    }

    #[test]
    fn attributes_read_cached_pages() {
        let tree = Tree::new("attrs");
        tree.disk("sda", "0:0:0:0", 0, "0", "sg0");
        fs::write(tree.root.join("sys/block/sda/device/vpd_pg83"), [0u8, 0x83, 0, 0]).unwrap();
        let attrs = SysfsAttributes::new(&tree.root, "sda");
        let mut buf = [0u8; 16];
        assert_eq!(attrs.read(Attr::Vpd83, &mut buf), Some(4));
        assert_eq!(attrs.read(Attr::Vpd80, &mut buf), None);
    }
}
