//! Reading a block device (a multipath map, never a path device) for its
//! partition table.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// `_IO(0x12, 104)`: logical block size.
const BLKSSZGET: libc::c_ulong = 0x1268;

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
