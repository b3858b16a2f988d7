//! Reading a block device (a multipath map, never a path device) for its
//! partition table.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
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
    fn partitions_are_the_entries_with_a_partition_number() {
        let root = TempRoot::new("blockdev-parts");
        root.write("sys/block/sda/sda2/partition", "2\n");
        root.write("sys/block/sda/sda1/partition", "1\n");
        root.write("sys/block/sda/queue/partition", "junk\n");
        root.write("sys/block/sda/size", "16384\n");
        let parts = partitions_of(&root.0, "sda");
        assert_eq!(parts, [("sda1".to_string(), 1), ("sda2".to_string(), 2)]);
        assert!(partitions_of(&root.0, "sdz").is_empty());
    }
}
