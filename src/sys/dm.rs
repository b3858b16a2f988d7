//! Device-mapper operations, through the devicemapper crate's ioctl layer.
//!
//! Only this module talks to `/dev/mapper/control`. It knows nothing about
//! SCSI: it creates, reloads, lists and removes `multipath` maps from the
//! table text that `table` builds.

use core::fmt;
use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use devicemapper::{errors, DevId, DmError, DmFlags, DmName, DmOptions, DmUuid, DM};

use crate::path::DevNum;
use crate::sys::dm_cookie::Cookie;
use crate::sys::dm_ioctl::{self, Command};
use crate::sys::udev::Udev;

/// How long udev may take to confirm one device-mapper event. A healthy
/// udev needs milliseconds; after one wait runs out no more are made.
pub const UDEV_CONFIRM_LIMIT: Duration = Duration::from_secs(10);
/// Resume attempts before a map is given up as suspended, and the pause
/// before each retry.
const RESUME_ATTEMPTS: u32 = 4;
const RESUME_PAUSE: Duration = Duration::from_millis(200);

/// Target type of multipath maps.
pub const MULTIPATH_TARGET: &str = "multipath";
/// DM UUID prefix multipath-tools uses, so multipathd adopts our maps.
pub const UUID_PREFIX: &str = "mpath-";

/// A device-mapper operation failed.
#[derive(Debug)]
pub struct MapError {
    /// What was being done, with the map name.
    pub action: String,
    /// The errno of the failing ioctl, when there was one.
    pub errno: Option<nix::errno::Errno>,
    pub detail: String,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno {
            Some(errno) => write!(f, "{}: {} ({errno:?})", self.action, describe(errno)),
            None => write!(f, "{}: {}", self.action, self.detail),
        }
    }
}

impl std::error::Error for MapError {}

/// The text of an errno: nix's words (`Errno::desc`) for the errors the
/// device-mapper ioctls and node operations give, the C library's for the
/// rest. nix's full table of about 130 descriptions would be linked for
/// this one use.
fn describe(errno: nix::errno::Errno) -> std::borrow::Cow<'static, str> {
    use nix::errno::Errno::*;
    std::borrow::Cow::Borrowed(match errno {
        EPERM => "Operation not permitted",
        ENOENT => "No such file or directory",
        EINTR => "Interrupted system call",
        EIO => "I/O error",
        ENXIO => "No such device or address",
        EBADF => "Bad file number",
        EAGAIN => "Try again",
        ENOMEM => "Out of memory",
        EACCES => "Permission denied",
        EFAULT => "Bad address",
        ENOTBLK => "Block device required",
        EBUSY => "Device or resource busy",
        EEXIST => "File exists",
        ENODEV => "No such device",
        EINVAL => "Invalid argument",
        ENOTTY => "Not a typewriter",
        ENOSPC => "No space left on device",
        EROFS => "Read-only file system",
        ENOSYS => "Function not implemented",
        ETIMEDOUT => "Connection timed out",
        other => {
            // SAFETY: strerror returns a NUL-terminated string that stays
            // valid (musl's are static); it is copied at once.
            let text = unsafe { core::ffi::CStr::from_ptr(libc::strerror(other as i32)) };
            return std::borrow::Cow::Owned(text.to_string_lossy().into_owned());
        }
    })
}

fn map_error(action: impl Into<String>) -> impl FnOnce(DmError) -> MapError {
    let action = action.into();
    move |err| MapError {
        action,
        errno: errno_of(&err),
        detail: detail_of(&err),
    }
}

/// The devicemapper crate's message for an error that carries no errno
/// (its own words, `DmError`'s Display). An ioctl failure is described by
/// its errno instead: the crate's Display of it dumps the input and output
/// headers with Debug (DeviceInfo, flags, versions), code that would be
/// linked only for a message nobody reads.
fn detail_of(err: &DmError) -> String {
    use errors::Error as Core;
    match err {
        DmError::Dm(kind, msg) => format!("DM error: {kind}: {msg}"),
        DmError::Core(core) => {
            let text = match core {
                Core::ContextInit(e) => format!("DM context not initialized due to IO error: {e}"),
                Core::InvalidArgument(e) => format!("invalid argument: {e}"),
                Core::Ioctl(op, _, _, errno) => format!("ioctl {op} failed: errno {}", **errno as i32),
                Core::IoctlResultTooLarge => {
                    format!("ioctl result too large for maximum buffer size: {} bytes", u32::MAX)
                }
                Core::MetadataIo(path, e) => format!(
                    "failed to stat metadata for device at {} due to IO error: {e}",
                    path.display()
                ),
                Core::GeneralIo(e) => format!("failed to perform operation due to IO error: {e}"),
                Core::UdevSync(e) => format!("failed to perform udev sync operation: {e}"),
            };
            format!("DM Core error: {text}")
        }
    }
}

fn errno_of(err: &DmError) -> Option<nix::errno::Errno> {
    match err {
        DmError::Core(errors::Error::Ioctl(_, _, _, errno)) => Some(**errno),
        _ => None,
    }
}

/// One device-mapper device as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapInfo {
    pub name: String,
    pub uuid: String,
    pub devnum: DevNum,
    pub open_count: i32,
    /// Targets of the active table: (start, length, type, params).
    pub targets: Vec<(u64, u64, String, String)>,
}

impl MapInfo {
    /// Total length in sectors.
    pub fn sectors(&self) -> u64 {
        self.targets.iter().map(|t| t.1).sum()
    }

    /// True for a single-target `multipath` map.
    pub fn is_multipath(&self) -> bool {
        self.targets.len() == 1 && self.targets[0].2 == MULTIPATH_TARGET
    }
}

fn io_error(action: String) -> impl FnOnce(io::Error) -> MapError {
    move |err| MapError {
        action,
        errno: err.raw_os_error().map(nix::errno::Errno::from_raw),
        detail: err.to_string(),
    }
}

/// A handle on the device-mapper control node.
pub struct DeviceMapper {
    dm: DM,
    /// Whether resumes, renames and removes wait for udev's confirmation.
    udev_confirms: Cell<bool>,
    /// Maps this handle suspended and has not resumed yet.
    suspended: RefCell<Vec<String>>,
    /// The DM_TABLE_STATUS buffer, kept from one lookup to the next.
    status_buf: RefCell<Vec<u8>>,
}

impl DeviceMapper {
    /// Opens `/dev/mapper/control`; `root` is where udev is looked for.
    pub fn open(root: &Path) -> Result<DeviceMapper, MapError> {
        let dm = DM::new().map_err(map_error("open /dev/mapper/control"))?;
        let udev = Udev::detect(root);
        if let Udev::Absent(why) = &udev {
            debug!("device-mapper events go unconfirmed: {why}");
        }
        Ok(DeviceMapper {
            dm,
            udev_confirms: Cell::new(udev.confirms()),
            suspended: RefCell::new(Vec::new()),
            status_buf: RefCell::new(Vec::new()),
        })
    }

    /// True while udev confirms events, and so makes `/dev/mapper` nodes.
    pub fn udev_makes_nodes(&self) -> bool {
        self.udev_confirms.get()
    }

    /// Sends a resume, rename or remove, waiting for udev's confirmation
    /// at most [`UDEV_CONFIRM_LIMIT`].
    fn with_cookie(&self, command: Command, name: &str, flags: u32, payload: Option<&str>) -> io::Result<()> {
        let fd = self.dm.file().as_raw_fd();
        let cookie = if self.udev_confirms.get() {
            match Cookie::new() {
                Ok(cookie) => Some(cookie),
                Err(e) => {
                    warn!("cannot make a udev cookie ({e}): not waiting for udev");
                    None
                }
            }
        } else {
            None
        };
        let event_nr = cookie.as_ref().map_or(0, Cookie::event_nr);
        let answer = dm_ioctl::send(fd, command, name, flags, event_nr, payload)?;
        if let Some(cookie) = cookie {
            let generated = answer & dm_ioctl::UEVENT_GENERATED != 0;
            if cookie.wait(generated, UDEV_CONFIRM_LIMIT).is_err() {
                warn!(
                    "udev did not confirm the {} of {name} within {} s: released its cookie; \
                     not waiting for udev again, and making /dev/mapper nodes here",
                    command.verb(),
                    UDEV_CONFIRM_LIMIT.as_secs()
                );
                self.udev_confirms.set(false);
            }
        }
        Ok(())
    }

    /// Resumes a map, retrying: a map left suspended blocks all its I/O.
    /// A resume whose new table the kernel refused resumes the old one on
    /// the retry.
    fn resume(&self, name: &str) -> Result<(), MapError> {
        let outcome = retry_resume(name, RESUME_ATTEMPTS, RESUME_PAUSE, || {
            self.with_cookie(Command::Resume, name, dm_ioctl::NOFLUSH, None)
        });
        if !matches!(outcome, Resumed::StillSuspended(_)) {
            self.suspended.borrow_mut().retain(|n| n != name);
        }
        match outcome {
            Resumed::First => Ok(()),
            Resumed::OnRetry(e) | Resumed::Gone(e) | Resumed::StillSuspended(e) => {
                Err(io_error(format!("resume {name}"))(e))
            }
        }
    }

    /// Kernel device-mapper interface version.
    pub fn version(&self) -> Result<(u32, u32, u32), MapError> {
        self.dm.version().map_err(map_error("query device-mapper version"))
    }

    /// One DM_TABLE_STATUS (`flags`), into the buffer this handle keeps.
    fn table_status(&self, id: dm_ioctl::Lookup<'_>, flags: u32) -> io::Result<Option<dm_ioctl::Status>> {
        let mut buf = self.status_buf.borrow_mut();
        dm_ioctl::table_status(self.dm.file().as_raw_fd(), id, flags, &mut buf)
    }

    /// One DM_TABLE_STATUS: the kernel fills in the name, UUID, device
    /// number and open count with the table.
    fn info(&self, id: dm_ioctl::Lookup<'_>, what: &str) -> Result<Option<MapInfo>, MapError> {
        let status = self
            .table_status(id, dm_ioctl::STATUS_TABLE)
            .map_err(io_error(format!("read the table of {what}")))?;
        Ok(status.map(|s| MapInfo {
            name: s.name,
            uuid: s.uuid,
            devnum: DevNum { major: s.major, minor: s.minor },
            open_count: s.open_count,
            targets: s.targets,
        }))
    }

    /// The device with this DM UUID, if any.
    pub fn by_uuid(&self, uuid: &str) -> Result<Option<MapInfo>, MapError> {
        self.info(dm_ioctl::Lookup::Uuid(uuid), uuid)
    }

    /// The device with this name, if any.
    pub fn by_name(&self, name: &str) -> Result<Option<MapInfo>, MapError> {
        self.info(dm_ioctl::Lookup::Name(name), name)
    }

    /// Every device-mapper device, sorted by name.
    pub fn list(&self) -> Result<Vec<MapInfo>, MapError> {
        self.list_where(|_| true)
    }

    /// The device-mapper devices `keep` accepts, sorted by name; the
    /// others' tables are dropped as soon as read.
    pub fn list_where(&self, keep: impl Fn(&MapInfo) -> bool) -> Result<Vec<MapInfo>, MapError> {
        let devices = self.dm.list_devices().map_err(map_error("list maps"))?;
        let mut maps = Vec::new();
        for (name, _, _) in devices {
            // A device removed between list and info is simply gone.
            if let Some(info) = self.by_name(&name.to_string())?.filter(|info| keep(info)) {
                maps.push(info);
            }
        }
        maps.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(maps)
    }

    /// Status text (`dmsetup status`) of a map's targets.
    pub fn status(&self, name: &str) -> Result<Vec<(u64, u64, String, String)>, MapError> {
        let action = || format!("read the status of {name}");
        match self.table_status(dm_ioctl::Lookup::Name(name), 0) {
            Ok(Some(status)) => Ok(status.targets),
            // As the ioctl reports a device that is not there.
            Ok(None) => Err(io_error(action())(io::Error::from_raw_os_error(libc::ENXIO))),
            Err(e) => Err(io_error(action())(e)),
        }
    }

    /// Creates and activates a map with one `target` (`multipath`,
    /// `linear`). A device created but not loaded is removed again, leaving
    /// nothing behind.
    pub fn create(&self, name: &str, uuid: &str, sectors: u64, target: &str, params: &str) -> Result<DevNum, MapError> {
        let dm_name = DmName::new(name).map_err(map_error(format!("use name {name}")))?;
        let dm_uuid = DmUuid::new(uuid).map_err(map_error(format!("use UUID {uuid}")))?;
        let info = self
            .dm
            .device_create(dm_name, Some(dm_uuid), DmOptions::default())
            .map_err(map_error(format!("create {name}")))?;
        let id = DevId::Name(dm_name);
        let table = [(0, sectors, target.to_owned(), params.to_owned())];
        let loaded = self
            .dm
            .table_load(&id, &table, DmOptions::default())
            .map_err(map_error(format!("load the table of {name}")))
            .and_then(|_| self.resume(name));
        if let Err(err) = loaded {
            if let Err(e) = self.remove(name) {
                warn!("{name}: cannot remove the half-made map: {e}");
            }
            return Err(err);
        }
        let device = info.device();
        Ok(DevNum {
            major: device.major,
            minor: device.minor,
        })
    }

    /// Replaces the table of a live map: load, suspend without flushing
    /// queued I/O, resume. A load the kernel refuses leaves the map as it
    /// was; a failed resume is retried, and never leaves the map suspended
    /// while the kernel lets it resume.
    pub fn reload(&self, name: &str, sectors: u64, target: &str, params: &str) -> Result<(), MapError> {
        let dm_name = DmName::new(name).map_err(map_error(format!("use name {name}")))?;
        let id = DevId::Name(dm_name);
        let table = [(0, sectors, target.to_owned(), params.to_owned())];
        self.dm
            .table_load(&id, &table, DmOptions::default())
            .map_err(map_error(format!("load the new table of {name}")))?;
        let suspended = self.dm.device_suspend(
            &id,
            DmOptions::default().set_flags(DmFlags::DM_SUSPEND | DmFlags::DM_NOFLUSH),
        );
        if let Err(err) = suspended {
            let _ = self.dm.table_clear(&id);
            return Err(map_error(format!("suspend {name}"))(err));
        }
        self.suspended.borrow_mut().push(name.to_owned());
        self.resume(name)
    }

    /// Renames a map (multipath's ACT_RENAME, when its alias changed).
    pub fn rename(&self, old: &str, new: &str) -> Result<(), MapError> {
        DmName::new(old).map_err(map_error(format!("use name {old}")))?;
        DmName::new(new).map_err(map_error(format!("use name {new}")))?;
        self.with_cookie(Command::Rename, old, 0, Some(new))
            .map_err(io_error(format!("rename {old} to {new}")))
    }

    /// Removes a map. The kernel refuses (EBUSY) while it is open.
    pub fn remove(&self, name: &str) -> Result<(), MapError> {
        DmName::new(name).map_err(map_error(format!("use name {name}")))?;
        self.with_cookie(Command::Remove, name, 0, None)
            .map_err(io_error(format!("remove {name}")))
    }
}

/// How a resume with retries ended.
#[derive(Debug)]
enum Resumed {
    /// At the first attempt.
    First,
    /// After a failure: the kernel kept the old table if it refused the new.
    OnRetry(io::Error),
    /// The device no longer exists: nothing is left suspended.
    Gone(io::Error),
    /// Every attempt failed: the map is still suspended.
    StillSuspended(io::Error),
}

/// Calls `resume` until it succeeds, at most `attempts` times, pausing
/// `pause` times the attempt number in between.
fn retry_resume(name: &str, attempts: u32, pause: Duration, mut resume: impl FnMut() -> io::Result<()>) -> Resumed {
    let mut first_error = None;
    for attempt in 1..=attempts.max(1) {
        match resume() {
            Ok(()) => {
                return match first_error {
                    None => Resumed::First,
                    Some(e) => {
                        warn!("{name}: resumed on attempt {attempt}, with the table the kernel kept");
                        Resumed::OnRetry(e)
                    }
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => return Resumed::Gone(e),
            Err(e) => {
                warn!("{name}: resume failed ({e}), attempt {attempt} of {attempts}");
                first_error.get_or_insert(e);
                if attempt < attempts {
                    std::thread::sleep(pause * attempt);
                }
            }
        }
    }
    let err = first_error.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EIO));
    error!("{name}: still SUSPENDED after {attempts} resumes: {err}; `dmsetup resume {name}` releases its I/O");
    Resumed::StillSuspended(err)
}


impl Drop for DeviceMapper {
    /// Last chance for a map this handle suspended: never exit with it
    /// blocking I/O.
    fn drop(&mut self) {
        let left: Vec<String> = self.suspended.borrow().clone();
        for name in left {
            if let Err(e) = self.resume(&name) {
                error!("{name}: left suspended: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(times: u32, errno: i32) -> impl FnMut() -> io::Result<()> {
        let mut calls = 0;
        move || {
            calls += 1;
            if calls <= times {
                Err(io::Error::from_raw_os_error(errno))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn errno_text_is_nix_wording_for_the_usual_errors() {
        use nix::errno::Errno;
        for n in 1..=140 {
            let errno = Errno::from_raw(n);
            let text = describe(errno);
            assert!(!text.is_empty(), "{n}");
            if matches!(text, std::borrow::Cow::Borrowed(_)) {
                assert_eq!(text, errno.desc(), "{n}");
            }
        }
        let busy = MapError {
            action: "create mpatha".into(),
            errno: Some(Errno::EBUSY),
            detail: String::new(),
        };
        assert_eq!(busy.to_string(), "create mpatha: Device or resource busy (EBUSY)");
    }

    const NO_PAUSE: Duration = Duration::ZERO;

    #[test]
    fn a_resume_that_fails_once_is_retried_and_reported() {
        assert!(matches!(retry_resume("m", 4, NO_PAUSE, failing(0, libc::EIO)), Resumed::First));
        assert!(matches!(retry_resume("m", 4, NO_PAUSE, failing(3, libc::EIO)), Resumed::OnRetry(_)));
    }

    #[test]
    fn a_resume_that_never_works_says_still_suspended_after_every_attempt() {
        let mut calls = 0;
        let outcome = retry_resume("m", 4, NO_PAUSE, || {
            calls += 1;
            Err(io::Error::from_raw_os_error(libc::EINVAL))
        });
        assert!(matches!(outcome, Resumed::StillSuspended(_)));
        assert_eq!(calls, 4);
    }

    #[test]
    fn a_device_that_is_gone_is_not_retried() {
        let mut calls = 0;
        let outcome = retry_resume("m", 4, NO_PAUSE, || {
            calls += 1;
            Err(io::Error::from_raw_os_error(libc::ENXIO))
        });
        assert!(matches!(outcome, Resumed::Gone(_)));
        assert_eq!(calls, 1);
    }
}
