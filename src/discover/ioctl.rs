//! Discovery without sysfs: open `/dev/sg*` and `/dev/sd*` in turn, ask
//! each for its SCSI address, and pair them (the original 2003 method).
//!
//! Missing nodes are made with mknod when allowed, from the numbers the sg
//! and sd drivers assign; a node made for a device that turns out not to
//! exist is removed again, so the scan leaves only nodes that lead somewhere.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::naming::{sd_devnum, sd_name, sg_devnum, sg_name, SG_MAJOR};
use super::pivot::pivot;
use super::Discovery;
use crate::limits::MAX_PATHS;
use crate::path::{DevName, DevNum, Hctl};
use crate::probe::{Candidate, SgNode};
use crate::sys::nodes::{self, NodeKind, NodeOutcome};
use crate::sys::scsi_ioctl;

/// Settings of the ioctl scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanOptions {
    /// Highest sg and sd index tried, plus one.
    pub max_devices: u32,
    /// Create missing nodes (and remove the ones that lead nowhere).
    pub mknod: bool,
}

/// One sg node that answered SG_GET_SCSI_ID.
struct SgFound {
    name: DevName,
    devnum: DevNum,
    hctl: Hctl,
    device_type: u8,
}

/// One sd node that answered the address and size ioctls.
struct SdFound {
    name: DevName,
    devnum: DevNum,
    hctl: Hctl,
    sectors: u64,
}

/// Scans `<root>/dev`. `multipath_members` are devices already in a
/// multipath map: they are busy because of that map, which is no reason to
/// pass them over.
pub fn scan(root: &Path, options: ScanOptions, multipath_members: &[DevNum]) -> Discovery {
    let dev = root.join("dev");
    let mounts = super::mounted_devices(root);
    let mut discovery = Discovery::default();
    let limit = options.max_devices.min(MAX_PATHS as u32);

    let mut sgs = Vec::new();
    for index in 0..limit {
        let name = sg_name(index);
        let Some(file) = open_node(&dev, &name, NodeKind::Char, sg_devnum(index), options, &mut discovery) else {
            continue;
        };
        match scsi_ioctl::sg_scsi_id(&file) {
            Ok((hctl, device_type)) => sgs.push(SgFound { name, devnum: sg_devnum(index), hctl, device_type }),
            Err(e) => discovery.passed_over.push((name, format!("SG_GET_SCSI_ID failed: {e}"))),
        }
    }

    let mut sds = Vec::new();
    for index in 0..limit {
        let name = sd_name(index);
        let Some(file) = open_node(&dev, &name, NodeKind::Block, sd_devnum(index), options, &mut discovery) else {
            continue;
        };
        match identify_sd(&file, name.clone()) {
            Ok(sd) => {
                if let Some(why) = in_use(&dev.join(name.as_str()), sd.devnum, &mounts, multipath_members) {
                    discovery.passed_over.push((name, why));
                } else {
                    sds.push(sd);
                }
            }
            Err(why) => discovery.passed_over.push((name, why)),
        }
    }

    let sd_addresses: Vec<Hctl> = sds.iter().map(|s| s.hctl).collect();
    let sg_addresses: Vec<Hctl> = sgs.iter().map(|s| s.hctl).collect();
    let (pairs, ambiguous) = pivot(&sd_addresses, &sg_addresses);
    for i in ambiguous {
        discovery.passed_over.push((
            sds[i].name.clone(),
            format!("SCSI address {} is not unique: no sg node paired, SG_IO goes through the sd node", sds[i].hctl),
        ));
    }
    let mut candidates: Vec<(String, Candidate)> = Vec::new();
    for (sd, pair) in sds.into_iter().zip(pairs) {
        let sg = pair.map(|i| &sgs[i]);
        if let Some(sg) = sg.filter(|sg| sg.device_type != 0) {
            discovery
                .passed_over
                .push((sd.name, format!("not a disk ({} reports SCSI device type {})", sg.name, sg.device_type)));
            continue;
        }
        let hctl = sg.map_or(sd.hctl, |sg| sg.hctl);
        candidates.push((
            device_path_key(&hctl),
            Candidate {
                name: sd.name,
                hctl,
                devnum: sd.devnum,
                sectors: sd.sectors,
                sg: sg.map(|sg| SgNode { name: sg.name.clone(), devnum: sg.devnum }),
                handler: None,
                block_size: Some(512),
                // No sysfs, no transport to name the target by.
                node_name: Default::default(),
            },
        ));
    }
    // The order sysfs device paths would give on one adapter, so both scans
    // make the same tables.
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    discovery.candidates = candidates.into_iter().map(|(_, c)| c).collect();
    discovery
}

/// `host<H>/target<H>:<C>:<T>/<H>:<C>:<T>:<L>`: the tail of a SCSI disk's
/// sysfs device path, compared as text like udev compares syspaths.
pub fn device_path_key(h: &Hctl) -> String {
    format!(
        "host{0}/target{0}:{1}:{2}/{0}:{1}:{2}:{3}",
        h.host, h.channel, h.target, h.lun
    )
}

fn identify_sd(file: &File, name: DevName) -> Result<SdFound, String> {
    let meta = file.metadata().map_err(|e| format!("fstat failed: {e}"))?;
    let devnum = DevNum {
        major: libc::major(meta.rdev()),
        minor: libc::minor(meta.rdev()),
    };
    let hctl = scsi_ioctl::sd_scsi_address(file).map_err(|e| format!("SCSI_IOCTL_GET_IDLUN failed: {e}"))?;
    let bytes = scsi_ioctl::size_bytes(file).map_err(|e| format!("BLKGETSIZE64 failed: {e}"))?;
    if bytes < 512 {
        return Err("size is 0 (no medium?)".into());
    }
    Ok(SdFound { name, devnum, hctl, sectors: bytes / 512 })
}

/// Why a disk must not be touched: mounted, or held exclusively by
/// something other than a multipath map (a probe with O_EXCL says EBUSY).
fn in_use(node: &Path, devnum: DevNum, mounts: &[DevNum], members: &[DevNum]) -> Option<String> {
    if mounts.contains(&devnum) {
        return Some("in use: mounted".into());
    }
    if members.contains(&devnum) {
        return None;
    }
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(node)
    {
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            Some("in use: held by another user (mounted partition, LVM, md, ...)".into())
        }
        _ => None,
    }
}

/// Opens `<dev>/<name>` read-only, making the node first if it is missing
/// and mknod is allowed. Returns `None` (after removing a node it made)
/// when no device answers there.
fn open_node(
    dev: &Path,
    name: &DevName,
    kind: NodeKind,
    devnum: DevNum,
    options: ScanOptions,
    discovery: &mut Discovery,
) -> Option<File> {
    let path: PathBuf = dev.join(name.as_str());
    let mut created = false;
    match fs::symlink_metadata(&path) {
        Ok(meta) => {
            let ft = meta.file_type();
            let right_kind = match kind {
                NodeKind::Char => ft.is_char_device() && libc::major(meta.rdev()) == SG_MAJOR,
                NodeKind::Block => ft.is_block_device(),
            };
            if !right_kind {
                discovery
                    .passed_over
                    .push((name.clone(), format!("{} is not a {kind:?} SCSI node: not used", path.display())));
                return None;
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if !options.mknod {
                return None;
            }
            match nodes::ensure(&path, kind, devnum) {
                Ok(NodeOutcome::Created) => created = true,
                Ok(_) => {}
                Err(e) => {
                    discovery.passed_over.push((name.clone(), format!("cannot create {}: {e}", path.display())));
                    return None;
                }
            }
        }
        Err(_) => return None,
    }
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path);
    match opened {
        Ok(file) => Some(file),
        Err(e) => {
            if created {
                let _ = fs::remove_file(&path);
            }
            let nothing_there = matches!(e.raw_os_error(), Some(libc::ENXIO | libc::ENODEV | libc::ENOENT));
            if !nothing_there {
                discovery.passed_over.push((name.clone(), format!("cannot open {}: {e}", path.display())));
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_path_key_sorts_like_sysfs_paths() {
        let h = |host, target, lun| Hctl { host, channel: 0, target, lun };
        let mut keys = [h(10, 0, 0), h(2, 0, 0), h(1, 0, 10), h(1, 0, 2), h(1, 1, 0)]
            .map(|x| device_path_key(&x));
        keys.sort();
        assert_eq!(
            keys,
            [
                "host1/target1:0:0/1:0:0:10",
                "host1/target1:0:0/1:0:0:2",
                "host1/target1:0:1/1:0:1:0",
                "host10/target10:0:0/10:0:0:0",
                "host2/target2:0:0/2:0:0:0",
            ]
        );
    }

    #[test]
    fn empty_dev_dir_without_mknod_finds_nothing_and_creates_nothing() {
        let root = std::env::temp_dir().join(format!("mpath-boot-ioctl-{}", std::process::id()));
        fs::create_dir_all(root.join("dev")).unwrap();
        let found = scan(&root, ScanOptions { max_devices: 64, mknod: false }, &[]);
        assert!(found.candidates.is_empty());
        assert!(found.passed_over.is_empty());
        assert_eq!(fs::read_dir(root.join("dev")).unwrap().count(), 0);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn wrong_node_types_are_reported_not_used() {
        let root = std::env::temp_dir().join(format!("mpath-boot-ioctl-wrong-{}", std::process::id()));
        fs::create_dir_all(root.join("dev")).unwrap();
        fs::write(root.join("dev/sg0"), "not a node").unwrap();
        fs::write(root.join("dev/sda"), "not a node").unwrap();
        let found = scan(&root, ScanOptions { max_devices: 2, mknod: false }, &[]);
        assert!(found.candidates.is_empty());
        assert_eq!(found.passed_over.len(), 2);
        assert_eq!(fs::read_to_string(root.join("dev/sg0")).unwrap(), "not a node");
        fs::remove_dir_all(&root).unwrap();
    }
}
