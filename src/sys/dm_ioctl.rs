//! The device-mapper ioctls sent directly: those that carry a udev cookie
//! (resume, rename, remove), so the cookie wait is ours to bound (the
//! devicemapper crate waits on it without a limit); and DM_TABLE_STATUS,
//! the lookup of every map a round reads, into a buffer the caller keeps
//! (the crate allocates and zeroes 16 KiB per call, which musl maps and
//! unmaps each time).
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
/// DM_STATUS_TABLE_FLAG: the table's parameters rather than its status.
pub const STATUS_TABLE: u32 = 1 << 4;
/// DM_BUFFER_FULL_FLAG: the answer did not fit.
const BUFFER_FULL: u32 = 1 << 8;
/// DM_TABLE_STATUS_CMD.
const TABLE_STATUS: u64 = 12;
/// `struct dm_target_spec` before its type name: start, length, status, next.
const TARGET_SPEC_SIZE: usize = 40;
/// Largest answer asked for: a multipath table of thousands of paths fits.
const STATUS_BUFFER_MAX: usize = 4 << 20;
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
fn request_nr(nr: u64) -> u64 {
    (3 << 30) | ((HEADER_SIZE as u64) << 16) | (IOCTL_TYPE << 8) | nr
}

fn request(command: Command) -> u64 {
    request_nr(command as u64)
}

/// Writes a request's header at the start of `buf` (at least a header
/// long; names checked by the caller): this interface version, `buf`'s
/// length as the data size, the data right after the header, and the
/// device by `name` or by `uuid`.
fn write_header(buf: &mut [u8], name: &str, uuid: &str, flags: u32, event_nr: u32) {
    // SAFETY: Header is plain integers and byte arrays: zeroed is valid.
    let mut header: Header = unsafe { std::mem::zeroed() };
    header.version = VERSION;
    header.data_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    header.data_start = HEADER_SIZE as u32;
    header.flags = flags;
    header.event_nr = event_nr;
    header.name[..name.len()].copy_from_slice(name.as_bytes());
    header.uuid[..uuid.len()].copy_from_slice(uuid.as_bytes());
    // SAFETY: the header's own bytes, HEADER_SIZE of them.
    let bytes = unsafe { std::slice::from_raw_parts(std::ptr::addr_of!(header).cast::<u8>(), HEADER_SIZE) };
    if let Some(start) = buf.get_mut(..HEADER_SIZE) {
        start.copy_from_slice(bytes);
    }
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
    let mut bytes = vec![0u8; size];
    write_header(&mut bytes, name, "", flags, event_nr);
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

/// How a device is named in a lookup.
#[derive(Clone, Copy, Debug)]
pub enum Lookup<'a> {
    Name(&'a str),
    Uuid(&'a str),
}

/// A device and its targets as DM_TABLE_STATUS reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub name: String,
    pub uuid: String,
    pub major: u32,
    pub minor: u32,
    pub open_count: i32,
    /// (start, length, target type, table or status text).
    pub targets: Vec<(u64, u64, String, String)>,
}

/// DM_TABLE_STATUS of the device `id` (`flags`: [`STATUS_TABLE`] for its
/// table), with `buf` as the ioctl buffer, kept by the caller for the next
/// call and grown when the kernel says the answer did not fit. `None` when
/// there is no such device (ENXIO).
pub fn table_status(fd: RawFd, id: Lookup<'_>, flags: u32, buf: &mut Vec<u8>) -> io::Result<Option<Status>> {
    let (name, uuid) = match id {
        Lookup::Name(name) => (name, ""),
        Lookup::Uuid(uuid) => ("", uuid),
    };
    if name.len() >= 128 || uuid.len() >= 129 || name.contains('\0') || uuid.contains('\0') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    if buf.len() < 16 * 1024 {
        buf.resize(16 * 1024, 0);
    }
    loop {
        write_header(buf, name, uuid, flags, 0);
        // SAFETY: the buffer holds a valid dm_ioctl header whose data_size
        // is its length; the kernel reads and writes within it.
        let rc = unsafe { libc::ioctl(fd, request_nr(TABLE_STATUS) as _, buf.as_mut_ptr()) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::ENXIO) => Ok(None),
                _ => Err(err),
            };
        }
        // SAFETY: the kernel wrote back a header at the start of the buffer.
        let answer = unsafe { std::ptr::read_unaligned(buf.as_ptr().cast::<Header>()) };
        if answer.flags & BUFFER_FULL != 0 && buf.len() < STATUS_BUFFER_MAX {
            let bigger = buf.len() * 4;
            buf.resize(bigger, 0);
            continue;
        }
        if answer.flags & BUFFER_FULL != 0 {
            return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
        }
        return Ok(Some(parse_status(&answer, buf)));
    }
}

/// The text of a NUL-padded field.
fn c_field(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The header's device and the target records after it (each a
/// `dm_target_spec`, its NUL-terminated text, and `next` giving the
/// following record's offset from the first). A record that does not fit
/// what the kernel said it used ends the list.
fn parse_status(answer: &Header, buf: &[u8]) -> Status {
    let dev = answer.dev;
    // The kernel's huge_encode_dev: minor's low byte, major, minor's rest.
    let major = ((dev >> 8) & 0xfff) as u32;
    let minor = ((dev & 0xff) | ((dev >> 12) & 0xfff00)) as u32;
    let start = (answer.data_start as usize).min(buf.len());
    let used = (answer.data_size as usize).min(buf.len());
    let data = buf.get(start..used.max(start)).unwrap_or(&[]);
    let mut targets = Vec::new();
    let mut at = 0usize;
    for _ in 0..answer.target_count {
        let Some(spec) = data.get(at..at + TARGET_SPEC_SIZE) else { break };
        let word = |from: usize| u64::from_ne_bytes(spec[from..from + 8].try_into().unwrap_or([0; 8]));
        let next = u32::from_ne_bytes(spec[20..24].try_into().unwrap_or([0; 4])) as usize;
        let kind = c_field(&spec[24..40]);
        let text = c_field(data.get(at + TARGET_SPEC_SIZE..).unwrap_or(&[]));
        targets.push((word(0), word(8), kind, text));
        if next <= at {
            break;
        }
        at = next;
    }
    Status {
        name: c_field(&answer.name),
        uuid: c_field(&answer.uuid),
        major,
        minor,
        open_count: answer.open_count,
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DM_TABLE_STATUS answer as the kernel lays it out.
    fn answer(dev: u64, targets: &[(u64, u64, &str, &str)]) -> (Header, Vec<u8>) {
        let mut buf = vec![0u8; HEADER_SIZE];
        let mut data = Vec::new();
        for (start, len, kind, text) in targets {
            let at = data.len();
            data.extend_from_slice(&start.to_ne_bytes());
            data.extend_from_slice(&len.to_ne_bytes());
            data.extend_from_slice(&0i32.to_ne_bytes());
            data.extend_from_slice(&0u32.to_ne_bytes());
            let mut name = [0u8; 16];
            name[..kind.len()].copy_from_slice(kind.as_bytes());
            data.extend_from_slice(&name);
            data.extend_from_slice(text.as_bytes());
            data.push(0);
            while data.len() % 8 != 0 {
                data.push(0);
            }
            let next = data.len() as u32;
            data[at + 20..at + 24].copy_from_slice(&next.to_ne_bytes());
        }
        buf.extend_from_slice(&data);
        // SAFETY: zeroed plain data.
        let mut header: Header = unsafe { std::mem::zeroed() };
        header.data_start = HEADER_SIZE as u32;
        header.data_size = buf.len() as u32;
        header.target_count = targets.len() as u32;
        header.open_count = 2;
        header.dev = dev;
        header.name[..4].copy_from_slice(b"mpa\0");
        header.uuid[..8].copy_from_slice(b"mpath-36");
        (header, buf)
    }

    #[test]
    fn table_status_answers_parse_into_targets() {
        // 253:300 as huge_encode_dev puts it: 0x2c | 253 << 8 | 0x100 << 12.
        let dev = 0x2c | (253 << 8) | (0x100 << 12);
        let (header, buf) = answer(dev, &[(0, 2048, "multipath", "0 0 1 1 service-time 0 1 1 8:0 1"), (2048, 8, "linear", "8:16 0")]);
        let status = parse_status(&header, &buf);
        assert_eq!((status.major, status.minor), (253, 300));
        assert_eq!((status.name.as_str(), status.uuid.as_str(), status.open_count), ("mpa", "mpath-36", 2));
        assert_eq!(
            status.targets,
            [
                (0, 2048, "multipath".to_string(), "0 0 1 1 service-time 0 1 1 8:0 1".to_string()),
                (2048, 8, "linear".to_string(), "8:16 0".to_string())
            ]
        );
    }

    #[test]
    fn a_cut_short_or_looping_answer_ends_the_targets() {
        let (mut header, buf) = answer(0, &[(0, 8, "error", "")]);
        header.target_count = 5;
        assert_eq!(parse_status(&header, &buf).targets.len(), 1);
        let (header, mut buf) = answer(0, &[(0, 8, "error", ""), (8, 8, "zero", "")]);
        // The first record's `next` pointing back at itself.
        buf[HEADER_SIZE + 20..HEADER_SIZE + 24].copy_from_slice(&0u32.to_ne_bytes());
        assert_eq!(parse_status(&header, &buf).targets.len(), 1);
        let (mut header, buf) = answer(0, &[(0, 8, "error", "")]);
        header.data_size = (HEADER_SIZE + 10) as u32;
        assert!(parse_status(&header, &buf).targets.is_empty());
        header.data_start = 1 << 30;
        assert!(parse_status(&header, &buf).targets.is_empty());
    }

    #[test]
    fn request_numbers_match_the_kernel_header() {
        // DM_DEV_SUSPEND as the kernel defines it: _IOWR(0xfd, 6, struct dm_ioctl).
        assert_eq!(request(Command::Resume), 0xc138_fd06);
        assert_eq!(request(Command::Remove), 0xc138_fd04);
        assert_eq!(request(Command::Rename), 0xc138_fd05);
        assert_eq!(request_nr(TABLE_STATUS), 0xc138_fd0c);
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
