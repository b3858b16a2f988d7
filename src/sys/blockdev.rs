//! Reading a block device (a multipath map, never a path device) for its
//! partition table.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// `_IO(0x12, 104)`: logical block size.
const BLKSSZGET: libc::c_ulong = 0x1268;

/// Does the block device `name` (`devnum`) still exist? Asked of sysfs
/// when it is mounted; otherwise by opening its node (no I/O), which the
/// kernel refuses with ENXIO once the device is deleted.
pub fn present(root: &Path, name: &str, devnum: crate::path::DevNum) -> bool {
    let sys_dev = root.join("sys/dev/block");
    if sys_dev.is_dir() {
        return sys_dev.join(devnum.to_string()).exists();
    }
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(root.join("dev").join(name));
    match opened {
        Ok(_) => true,
        Err(e) => !matches!(e.raw_os_error(), Some(libc::ENXIO | libc::ENODEV | libc::ENOENT)),
    }
}

/// `_IO(0x12, 105)`: add or delete a kernel partition.
const BLKPG: libc::c_ulong = 0x1269;
const BLKPG_DEL_PARTITION: libc::c_int = 2;

/// `struct blkpg_ioctl_arg`.
#[repr(C)]
struct BlkpgArg {
    op: libc::c_int,
    flags: libc::c_int,
    datalen: libc::c_int,
    data: *mut libc::c_void,
}

/// `struct blkpg_partition`.
#[repr(C)]
struct BlkpgPartition {
    start: i64,
    length: i64,
    pno: libc::c_int,
    devname: [u8; 64],
    volname: [u8; 64],
}

/// Kernel name (`sda`) of a block device number (`8:0`), from sysfs.
pub fn name_of(root: &Path, devnum: &str) -> Option<String> {
    let link = std::fs::read_link(root.join("sys/dev/block").join(devnum)).ok()?;
    link.file_name()?.to_str().map(str::to_owned)
}

/// The kernel's block devices and partitions from `<root>/proc/partitions`:
/// one read for every disk instead of a sysfs walk per disk.
#[derive(Debug, Default)]
pub struct Listed {
    /// Device number -> name.
    names: std::collections::HashMap<crate::path::DevNum, String>,
    /// Disk name -> what looks like its partitions (`sda1`, `nvme0n1p1`).
    parts: std::collections::HashMap<String, Vec<(String, crate::path::DevNum)>>,
    /// Name -> device number of the devices whose names end in a letter
    /// (`sda`; not `sda1`, `nvme0n1`): the scan's SCSI disks.
    lettered: std::collections::HashMap<String, crate::path::DevNum>,
}

impl Listed {
    /// The name of block device `devnum` (`8:0`).
    pub fn name_of(&self, devnum: &str) -> Option<&str> {
        self.names.get(&crate::path::DevNum::parse(devnum)?).map(String::as_str)
    }

    /// The device number of `name` (a name ending in a letter, as SCSI
    /// disks' do): what its sysfs `dev` says, without opening it.
    pub fn lettered_devnum(&self, name: &str) -> Option<crate::path::DevNum> {
        self.lettered.get(name).copied()
    }

    /// What is named as a partition of disk `name`, with device numbers
    /// (not confirmed by sysfs).
    pub fn partition_names(&self, name: &str) -> &[(String, crate::path::DevNum)] {
        self.parts.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Reads `<root>/proc/partitions`; `None` when proc is not mounted.
pub fn proc_partitions(root: &Path) -> Option<Listed> {
    let text = std::fs::read_to_string(root.join("proc/partitions")).ok()?;
    let mut listed = Listed::default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(major), Some(minor), Some(_blocks), Some(name)) = (fields.next(), fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else { continue };
        listed.names.insert(crate::path::DevNum { major, minor }, name.to_owned());
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
        if base.len() == name.len() {
            listed.lettered.insert(name.to_owned(), crate::path::DevNum { major, minor });
            continue;
        }
        if base.is_empty() {
            continue;
        }
        for disk in [Some(base), base.strip_suffix('p')].into_iter().flatten() {
            if named_as_partition(disk, name) {
                listed.parts.entry(disk.to_owned()).or_default().push((name.to_owned(), crate::path::DevNum { major, minor }));
            }
        }
    }
    Some(listed)
}

/// True when `part` is named as a partition of disk `disk` is (`sda1`,
/// `nvme0n1p1`): the disk's name, an optional `p`, digits.
pub fn named_as_partition(disk: &str, part: &str) -> bool {
    let Some(rest) = part.strip_prefix(disk) else { return false };
    let digits = rest.strip_prefix('p').unwrap_or(rest);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// [`partitions_of`], finding the candidates in a [`proc_partitions`]
/// list; each is still confirmed (and numbered) by its sysfs `partition`.
pub fn partitions_listed(root: &Path, name: &str, listed: &Listed) -> Vec<(String, u32)> {
    let candidates = listed.partition_names(name);
    if candidates.is_empty() {
        return Vec::new();
    }
    let dir = root.join("sys/block").join(name);
    let mut parts: Vec<(String, u32)> = candidates
        .iter()
        .filter_map(|(part, _)| {
            let number = std::fs::read_to_string(dir.join(part).join("partition")).ok()?;
            Some((part.clone(), number.trim().parse().ok()?))
        })
        .collect();
    parts.sort_by_key(|p| p.1);
    parts
}

/// The kernel's partitions of disk `name` (`sda1` -> 1), from sysfs.
pub fn partitions_of(root: &Path, name: &str) -> Vec<(String, u32)> {
    let dir = root.join("sys/block").join(name);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut parts: Vec<(String, u32)> = entries
        .flatten()
        .filter_map(|e| {
            let part = e.file_name().into_string().ok()?;
            // Partitions are named after their disk (sda1, nvme0n1p1);
            // the disk's other entries need no look.
            if !part.starts_with(name) || part == name {
                return None;
            }
            let number = std::fs::read_to_string(e.path().join("partition")).ok()?;
            Some((part, number.trim().parse().ok()?))
        })
        .collect();
    parts.sort_by_key(|p| p.1);
    parts
}

/// Deletes the kernel's partition `number` of the disk whose node is
/// `disk_node` (what `partx -d` does): the disk and its data are untouched,
/// only the kernel's view goes. The kernel refuses (EBUSY) while the
/// partition is open.
pub fn delete_partition(disk_node: &Path, number: u32) -> io::Result<()> {
    let disk = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(disk_node)?;
    let mut part = BlkpgPartition {
        start: 0,
        length: 0,
        pno: libc::c_int::try_from(number).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?,
        devname: [0; 64],
        volname: [0; 64],
    };
    let mut arg = BlkpgArg {
        op: BLKPG_DEL_PARTITION,
        flags: 0,
        datalen: std::mem::size_of::<BlkpgPartition>() as libc::c_int,
        data: std::ptr::addr_of_mut!(part).cast(),
    };
    // SAFETY: BLKPG reads a blkpg_ioctl_arg pointing at a blkpg_partition
    // of the stated length; both live until the call returns.
    let rc = unsafe { libc::ioctl(disk.as_raw_fd(), BLKPG as _, &mut arg as *mut BlkpgArg) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A block device opened read-only.
pub struct BlockDevice {
    file: File,
}

impl BlockDevice {
    pub fn open(node: &Path) -> io::Result<BlockDevice> {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(node)
            .map(|file| BlockDevice { file })
    }

    /// `node` opened if it is block device `devnum`, with the kernel asked
    /// to start reading its first `bytes` into the page cache, without
    /// waiting. The first read through a new multipath map waits for its
    /// paths' activation (ALUA); started here, that runs while other maps
    /// load, and later reads through this descriptor find the data read.
    #[inline(never)]
    pub fn open_prefetching(node: &Path, devnum: crate::path::DevNum, bytes: i64) -> Option<BlockDevice> {
        let device = BlockDevice::open(node).ok()?;
        let rdev = device.file.metadata().ok()?.rdev();
        if (libc::major(rdev), libc::minor(rdev)) != (devnum.major, devnum.minor) {
            return None;
        }
        // SAFETY: posix_fadvise takes a descriptor and a range, no pointers.
        unsafe { libc::posix_fadvise(device.file.as_raw_fd(), 0, bytes, libc::POSIX_FADV_WILLNEED) };
        Some(device)
    }

    /// Logical block size in bytes (512 or 4096).
    pub fn block_size(&self) -> io::Result<u32> {
        let mut size: libc::c_int = 0;
        // SAFETY: the kernel writes one int into `size`.
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), BLKSSZGET as _, &mut size as *mut libc::c_int) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        u32::try_from(size).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
    }

    /// Fills `buf` from byte `offset`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempRoot;

    #[test]
    fn proc_partitions_lists_devices_and_their_partitions() {
        let root = TempRoot::new("blockdev-proc");
        root.write(
            "proc/partitions",
            "major minor  #blocks  name\n\n   8        0      16384 sda\n   8        1       1024 sda1\n  65      160       1024 sdaa\n 259        0        100 nvme0n1\n 259        1         50 nvme0n1p1\n garbage\n",
        );
        root.write("sys/block/sda/sda1/partition", "1\n");
        root.write("sys/block/nvme0n1/nvme0n1p1/partition", "1\n");
        let listed = proc_partitions(&root.0).unwrap();
        assert_eq!(listed.names.len(), 5);
        assert_eq!(listed.name_of("65:160"), Some("sdaa"));
        assert_eq!(listed.name_of("8:1"), Some("sda1"));
        assert_eq!(listed.name_of("8:2"), None);
        use crate::path::DevNum;
        assert_eq!(listed.lettered_devnum("sdaa"), Some(DevNum { major: 65, minor: 160 }));
        assert_eq!(listed.lettered_devnum("sda"), Some(DevNum { major: 8, minor: 0 }));
        assert_eq!(listed.lettered_devnum("sda1"), None);
        assert_eq!(listed.lettered_devnum("nvme0n1"), None);
        assert_eq!(listed.lettered_devnum("sdb"), None);
        assert_eq!(partitions_listed(&root.0, "sda", &listed), [("sda1".to_string(), 1)]);
        assert_eq!(partitions_listed(&root.0, "nvme0n1", &listed), [("nvme0n1p1".to_string(), 1)]);
        assert!(partitions_listed(&root.0, "sdaa", &listed).is_empty());
        assert!(named_as_partition("sda", "sda12") && !named_as_partition("sda", "sdaa") && !named_as_partition("sda", "sda"));
        assert!(proc_partitions(&root.0.join("nowhere")).is_none());
    }

    #[test]
    fn partitions_are_the_entries_with_a_partition_number() {
        let root = TempRoot::new("blockdev-parts");
        root.write("sys/block/sda/sda2/partition", "2\n");
        root.write("sys/block/sda/sda1/partition", "1\n");
        root.write("sys/block/sda/queue/partition", "junk\n");
        // Not named after the disk: never a partition of it.
        root.write("sys/block/sda/holders/partition", "3\n");
        root.write("sys/block/sda/size", "16384\n");
        let parts = partitions_of(&root.0, "sda");
        assert_eq!(parts, [("sda1".to_string(), 1), ("sda2".to_string(), 2)]);
        assert!(partitions_of(&root.0, "sdz").is_empty());
    }

    #[test]
    fn a_node_is_read_ahead_only_when_it_is_the_device_named() {
        use crate::path::DevNum;
        // /dev/null is character device 1:3 on every Linux system.
        let null = Path::new("/dev/null");
        assert!(BlockDevice::open_prefetching(null, DevNum { major: 1, minor: 3 }, 4096).is_some());
        // A node of another device (a stale /dev/mapper name) is not used.
        assert!(BlockDevice::open_prefetching(null, DevNum { major: 253, minor: 3 }, 4096).is_none());
        let root = TempRoot::new("blockdev-prefetch");
        assert!(BlockDevice::open_prefetching(&root.0.join("dev/mapper/gone"), DevNum { major: 253, minor: 0 }, 4096).is_none());
    }
}
