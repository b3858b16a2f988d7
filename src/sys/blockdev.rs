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
