//! The device-mapper ioctls that carry a udev cookie (resume, rename,
//! remove), sent directly so the cookie wait is ours to bound: the
//! devicemapper crate waits on it without a limit.
//!
//! Layout facts from `<linux/dm-ioctl.h>` (interface version 4).

use std::io;
use std::os::fd::RawFd;

/// `struct dm_ioctl`: 312 bytes.
#[repr(C)]
struct Header {
    version: [u32; 3],
    data_size: u32,
    data_start: u32,
    target_count: u32,
    open_count: i32,
    flags: u32,
    event_nr: u32,
    padding: u32,
    dev: u64,
    name: [u8; 128],
    uuid: [u8; 129],
    data: [u8; 7],
}

const HEADER_SIZE: usize = std::mem::size_of::<Header>();
const _: () = assert!(HEADER_SIZE == 312);

/// Interface major version; the kernel refuses any other.
const VERSION: [u32; 3] = [4, 0, 0];
const IOCTL_TYPE: u64 = 0xfd;

pub const NOFLUSH: u32 = 1 << 11;
pub const UEVENT_GENERATED: u32 = 1 << 13;

/// The ioctls sent here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Remove = 4,
    Rename = 5,
    /// DM_DEV_SUSPEND without DM_SUSPEND_FLAG: resume.
    Resume = 6,
}

impl Command {
    /// The word for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Command::Remove => "remove",
            Command::Rename => "rename",
            Command::Resume => "resume",
        }
    }
}

/// `_IOWR(0xfd, nr, struct dm_ioctl)`.
fn request(command: Command) -> u64 {
    (3 << 30) | ((HEADER_SIZE as u64) << 16) | (IOCTL_TYPE << 8) | command as u64
}

/// Builds the ioctl buffer: header, then `payload` (a NUL-terminated new
/// name for a rename).
fn buffer(name: &str, flags: u32, event_nr: u32, payload: Option<&str>) -> io::Result<Vec<u8>> {
    let invalid = || io::Error::from_raw_os_error(libc::EINVAL);
    if name.len() >= 128 || name.contains('\0') {
        return Err(invalid());
    }
    let extra = payload.map_or(0, |p| p.len() + 1);
    if payload.is_some_and(|p| p.len() >= 128 || p.contains('\0')) {
        return Err(invalid());
    }
    let size = (HEADER_SIZE + extra).next_multiple_of(8);
    // SAFETY: Header is plain integers and byte arrays: zeroed is valid.
    let mut header: Header = unsafe { std::mem::zeroed() };
    header.version = VERSION;
    header.data_size = size as u32;
    header.data_start = HEADER_SIZE as u32;
    header.flags = flags;
    header.event_nr = event_nr;
    header.name[..name.len()].copy_from_slice(name.as_bytes());
    let mut bytes = vec![0u8; size];
    // SAFETY: copies the header's bytes into a buffer at least as large.
    unsafe { std::ptr::copy_nonoverlapping(std::ptr::addr_of!(header).cast::<u8>(), bytes.as_mut_ptr(), HEADER_SIZE) };
    if let Some(p) = payload {
        bytes[HEADER_SIZE..HEADER_SIZE + p.len()].copy_from_slice(p.as_bytes());
    }
    Ok(bytes)
}

/// Sends `command` for the device `name` on the control node `fd`.
/// Returns the flags the kernel answered with.
pub fn send(fd: RawFd, command: Command, name: &str, flags: u32, event_nr: u32, payload: Option<&str>) -> io::Result<u32> {
    let mut bytes = buffer(name, flags, event_nr, payload)?;
    // SAFETY: the buffer holds a valid dm_ioctl header with data_size equal
    // to its length; the kernel reads and writes within it.
    let rc = unsafe { libc::ioctl(fd, request(command) as _, bytes.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel wrote back a header at the start of the buffer.
    let answer = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<Header>()) };
    Ok(answer.flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_the_kernel_header() {
        // DM_DEV_SUSPEND as the kernel defines it: _IOWR(0xfd, 6, struct dm_ioctl).
        assert_eq!(request(Command::Resume), 0xc138_fd06);
        assert_eq!(request(Command::Remove), 0xc138_fd04);
        assert_eq!(request(Command::Rename), 0xc138_fd05);
    }

    #[test]
    fn rename_carries_the_new_name_after_the_header() {
        let bytes = buffer("old", NOFLUSH, 7, Some("new")).unwrap();
        assert_eq!(bytes.len() % 8, 0);
        assert_eq!(&bytes[HEADER_SIZE..HEADER_SIZE + 4], b"new\0");
        let header = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<Header>()) };
        assert_eq!(header.version, VERSION);
        assert_eq!(header.data_size as usize, bytes.len());
        assert_eq!(header.flags, NOFLUSH);
        assert_eq!(header.event_nr, 7);
        assert_eq!(&header.name[..4], b"old\0");
    }

    #[test]
    fn names_the_kernel_would_refuse_are_refused_here() {
        assert!(buffer(&"x".repeat(128), 0, 0, None).is_err());
        assert!(buffer("a\0b", 0, 0, None).is_err());
        assert!(buffer("a", 0, 0, Some(&"y".repeat(200))).is_err());
    }
}
