//! SCSI pass-through: the real [`ScsiTransport`].
//!
//! Nodes are opened non-blocking: mpath-boot only ever sends read-only
//! commands (TEST UNIT READY, INQUIRY, REPORT TARGET PORT GROUPS, ...), must
//! never wait on a node another opener holds, and must never wait on the
//! SCSI error handler (see [`SgDevice`]).

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::path::DevNum;
use crate::transport::{Completion, ScsiTransport, TransportError};

/// `struct sg_io_hdr` from <scsi/sg.h>.
#[repr(C)]
struct SgIoHdr {
    interface_id: libc::c_int,
    dxfer_direction: libc::c_int,
    cmd_len: libc::c_uchar,
    mx_sb_len: libc::c_uchar,
    iovec_count: libc::c_ushort,
    dxfer_len: libc::c_uint,
    dxferp: *mut libc::c_void,
    cmdp: *const libc::c_uchar,
    sbp: *mut libc::c_uchar,
    timeout: libc::c_uint,
    flags: libc::c_uint,
    pack_id: libc::c_int,
    usr_ptr: *mut libc::c_void,
    status: libc::c_uchar,
    masked_status: libc::c_uchar,
    msg_status: libc::c_uchar,
    sb_len_wr: libc::c_uchar,
    host_status: libc::c_ushort,
    driver_status: libc::c_ushort,
    resid: libc::c_int,
    duration: libc::c_uint,
    info: libc::c_uint,
}

const SG_IO: libc::c_ulong = 0x2285;
const SG_DXFER_NONE: libc::c_int = -1;
const SG_DXFER_FROM_DEV: libc::c_int = -3;
const SENSE_MAX: usize = 64;

/// An opened sg or sd node.
///
/// On an sg node commands go through sg's asynchronous interface (write
/// the header, poll, read the answer) on a node opened O_NONBLOCK: that
/// path never waits for the SCSI error handler (sg_open and sg_write skip
/// `scsi_block_when_processing_errors` with O_NONBLOCK), whereas SG_IO
/// waits there uninterruptibly, with no timeout, while the host is in
/// recovery. A command without an answer by its timeout is abandoned: the
/// kernel keeps the request until the host lets it go (it never copies its
/// data into this process once the node is closed), and the device answers
/// no further command in this run. A block (sd) node, where sg is absent,
/// gets SG_IO.
pub struct SgDevice {
    file: File,
    /// A character (sg) node: the asynchronous interface is used.
    async_io: bool,
    /// The sg node's device number (major 21), as the open file tells.
    sg_devnum: Option<DevNum>,
    /// A command went unanswered: its request may still be queued on this
    /// file, so no answer read from it could be trusted.
    abandoned: Cell<bool>,
}

impl SgDevice {
    /// Opens `node` non-blocking: read-write when it is an sg node (the
    /// asynchronous interface needs write(2), which on an sg node hands
    /// the driver a command header and nothing else), read-only otherwise
    /// (SG_IO). What was opened is checked on the open file: write(2) on
    /// a block node would write the disk, so it is never used there.
    pub fn open(node: &Path) -> Result<SgDevice, TransportError> {
        // rustix's open is the bare system call: musl's adds an fcntl for
        // O_CLOEXEC, one more call per path and round.
        let open = |write: bool| -> io::Result<File> {
            use rustix::fs::{Mode, OFlags};
            let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
            rustix::fs::open(node, access | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty())
                .map(File::from)
                .map_err(io::Error::from)
        };
        if let Ok(file) = open(true) {
            if let Some(devnum) = sg_node_number(&file) {
                return Ok(SgDevice { file, async_io: true, sg_devnum: Some(devnum), abandoned: Cell::new(false) });
            }
        }
        let file = open(false).map_err(TransportError::Open)?;
        Ok(SgDevice { file, async_io: false, sg_devnum: None, abandoned: Cell::new(false) })
    }

    /// True when an answer is ready to be read, without waiting.
    fn answer_waiting(&self) -> bool {
        let mut fds = libc::pollfd { fd: self.file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut fds, 1, 0) > 0 && fds.revents & libc::POLLIN != 0 }
    }

    /// Sends a command without waiting for it (asynchronous interface only).
    fn submit(&self, hdr: &mut SgIoHdr) -> Result<(), TransportError> {
        let size = core::mem::size_of::<SgIoHdr>();
        // SAFETY: hdr is a valid sg_io_hdr of `size` bytes whose pointers
        // name buffers that outlive the command's answer being read (see
        // `execute`); write(2) only reads it.
        let n = unsafe { libc::write(self.file.as_raw_fd(), (hdr as *const SgIoHdr).cast(), size) };
        if n < 0 {
            return Err(TransportError::Ioctl(io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Waits until `deadline` for the answer of the command in flight
    /// (`ready`: poll(2) or epoll already said it is there): true when it
    /// came. On time out the device is marked abandoned.
    fn collect(&self, hdr: &mut SgIoHdr, deadline: Instant, mut ready: bool) -> Result<bool, TransportError> {
        loop {
            if !ready {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() && !self.answer_waiting() {
                    self.abandoned.set(true);
                    return Ok(false);
                }
                let mut fds = libc::pollfd { fd: self.file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                let ms = libc::c_int::try_from(left.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
                // SAFETY: one valid pollfd.
                let rc = unsafe { libc::poll(&mut fds, 1, ms) };
                if rc < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    return Err(TransportError::Ioctl(io::Error::last_os_error()));
                }
                if rc <= 0 {
                    continue;
                }
            }
            let size = core::mem::size_of::<SgIoHdr>();
            // SAFETY: read(2) fills the sg_io_hdr and copies data and sense
            // into the buffers the header names, of the lengths it gives.
            let n = unsafe { libc::read(self.file.as_raw_fd(), (hdr as *mut SgIoHdr).cast(), size) };
            if n >= 0 {
                return Ok(true);
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN | libc::EINTR) => ready = false,
                _ => return Err(TransportError::Ioctl(err)),
            }
        }
    }
}

/// The outcome for an sg node that is another device's.
#[cold]
#[inline(never)]
fn wrong_node(node: &Path, found: DevNum, expected: DevNum) -> TurOutcome {
    let why = format!("{} is device {found}, not {expected}", node.display());
    TurOutcome::OpenFailed(TransportError::Open(io::Error::other(why)))
}

/// Major number of the SCSI generic driver's character nodes.
const SCSI_GENERIC_MAJOR: u32 = 21;

/// The device number of the open file when it is an sg character device.
fn sg_node_number(file: &File) -> Option<DevNum> {
    let meta = file.metadata().ok()?;
    let devnum = DevNum { major: libc::major(meta.rdev()), minor: libc::minor(meta.rdev()) };
    (meta.file_type().is_char_device() && devnum.major == SCSI_GENERIC_MAJOR).then_some(devnum)
}

/// The host byte of a command the kernel timed out (DID_TIME_OUT).
const DID_TIME_OUT: u16 = 0x03;

/// What an unanswered command reports: what SG_IO reports for a command
/// the kernel timed out, so every verdict reads it as before.
fn no_answer() -> Completion {
    Completion { host_status: DID_TIME_OUT, ..Completion::default() }
}

fn header(cdb: &[u8], data: &mut [u8], sense: &mut [u8; SENSE_MAX], timeout: Duration) -> Result<SgIoHdr, TransportError> {
    let cmd_len = u8::try_from(cdb.len())
        .map_err(|_| TransportError::Ioctl(io::Error::from_raw_os_error(libc::EINVAL)))?;
    let dxfer_len = u32::try_from(data.len())
        .map_err(|_| TransportError::Ioctl(io::Error::from_raw_os_error(libc::EINVAL)))?;
    Ok(SgIoHdr {
        interface_id: b'S' as libc::c_int,
        dxfer_direction: if data.is_empty() { SG_DXFER_NONE } else { SG_DXFER_FROM_DEV },
        cmd_len,
        mx_sb_len: SENSE_MAX as u8,
        dxfer_len,
        dxferp: data.as_mut_ptr().cast(),
        cmdp: cdb.as_ptr(),
        sbp: sense.as_mut_ptr(),
        timeout: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1),
        ..empty_header()
    })
}

fn completion(hdr: &SgIoHdr, sense: &[u8; SENSE_MAX], data_len: usize) -> Completion {
    let sense_len = usize::from(hdr.sb_len_wr).min(SENSE_MAX);
    let resid = usize::try_from(hdr.resid.max(0)).unwrap_or(0);
    Completion {
        status: hdr.status,
        host_status: hdr.host_status,
        driver_status: hdr.driver_status,
        sense: heapless::Vec::from_slice(&sense[..sense_len]).unwrap_or_default(),
        transferred: data_len.saturating_sub(resid),
    }
}

impl ScsiTransport for SgDevice {
    fn execute(
        &self,
        cdb: &[u8],
        data: &mut [u8],
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        if self.abandoned.get() {
            return Ok(no_answer());
        }
        let mut sense = [0u8; SENSE_MAX];
        let data_len = data.len();
        let mut hdr = header(cdb, data, &mut sense, timeout)?;
        if self.async_io {
            let deadline = Instant::now() + timeout;
            self.submit(&mut hdr)?;
            // If this gives up, the request stays queued in the kernel with
            // pointers into `data` and `sense`; sg copies into them only in
            // read(2), which is never called again on this file.
            if !self.collect(&mut hdr, deadline, false)? {
                return Ok(no_answer());
            }
        } else {
            // SAFETY: hdr points at buffers that outlive the call, with
            // their true lengths; SG_IO writes only within them.
            let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), SG_IO as _, &mut hdr as *mut SgIoHdr) };
            if rc < 0 {
                return Err(TransportError::Ioctl(io::Error::last_os_error()));
            }
        }
        Ok(completion(&hdr, &sense, data_len))
    }
}

/// One command in flight. Boxed, so the header and sense buffer the kernel
/// was given stay where they are until the answer is read.
struct Flight {
    deadline: Instant,
    hdr: SgIoHdr,
    sense: [u8; SENSE_MAX],
}

/// A TEST UNIT READY that got no answer in time, kept with its node and
/// buffers: sg would write the answer into them when it is read, so they
/// live as long as the open node. Asking again while this one has not
/// returned would only queue another command behind it.
pub struct Pending {
    device: SgDevice,
    flight: Box<Flight>,
}

// SAFETY: the header's pointers point into the same box (sense) or at
// nothing the kernel still uses (the CDB was copied at write time, there
// is no data); the box moves with the node and is used by one thread at a
// time (behind a mutex).
unsafe impl Send for Pending {}

impl Pending {
    /// True once the command has come back (its answer is read and
    /// dropped: it is stale), without waiting.
    pub fn returned(&mut self) -> bool {
        let mut fds = libc::pollfd { fd: self.device.file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, no wait.
        let rc = unsafe { libc::poll(&mut fds, 1, 0) };
        if rc <= 0 {
            return false;
        }
        let size = core::mem::size_of::<SgIoHdr>();
        // SAFETY: the header and the sense buffer it names are alive in
        // `flight`; read(2) writes only within them.
        let n = unsafe { libc::read(self.device.file.as_raw_fd(), (&mut self.flight.hdr as *mut SgIoHdr).cast(), size) };
        n >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN)
    }
}

/// How a path's TEST UNIT READY went in [`test_unit_ready_each`].
pub enum TurOutcome {
    /// Not sent: no such node, or not an sg node (it is asked the usual way).
    NotAsked,
    /// The node could not be opened.
    OpenFailed(TransportError),
    /// The answer (or why the command failed), with the node, open for
    /// the path's probe (none when the command could not be sent).
    Answered(Result<Completion, TransportError>, Option<SgDevice>),
    /// No answer within the timeout: the command is still out.
    Abandoned(Pending),
}

/// Opens each sg node and sends TEST UNIT READY, in the order of `order`
/// (indices into `nodes`; any index it leaves out follows in index order),
/// at most `window` in flight, collecting each answer within `timeout` of
/// its sending: N nodes that never answer cost about one timeout in all,
/// not N. Each outcome is handed to `outcome` as soon as it is known, with
/// the node's index, so the path's probe can start while others are still
/// out (its node stays open for it): nodes not asked first, then in the
/// order the answers come, the unanswered ones last. Every index gets
/// exactly one outcome.
pub fn test_unit_ready_each(
    nodes: &[Option<(&Path, DevNum)>],
    order: &[usize],
    timeout: Duration,
    window: usize,
    mut outcome: impl FnMut(usize, TurOutcome),
) {
    let asked: Vec<(usize, (&Path, DevNum))> =
        complete_order(order, nodes.len()).into_iter().filter_map(|i| nodes[i].map(|n| (i, n))).collect();
    for (i, node) in nodes.iter().enumerate() {
        if node.is_none() {
            outcome(i, TurOutcome::NotAsked);
        }
    }
    if asked.is_empty() {
        return;
    }
    // SAFETY: epoll_create1 has no pointer arguments.
    let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epoll < 0 {
        for (index, _) in asked {
            outcome(index, TurOutcome::NotAsked);
        }
        return;
    }
    let cdb = crate::scsi::cdb::test_unit_ready();
    // By position in `asked`.
    let mut flights: Vec<Option<(SgDevice, Box<Flight>)>> = asked.iter().map(|_| None).collect();
    let mut order: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let window = window.max(1);
    let mut next = 0usize;
    let mut in_flight = 0usize;
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; window.min(256)];
    let unwatch = |device: &SgDevice| {
        // SAFETY: removing a descriptor from the epoll made above.
        unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_DEL, device.file.as_raw_fd(), core::ptr::null_mut()) };
    };
    loop {
        while in_flight < window && next < asked.len() {
            let (index, (node, expected)) = asked[next];
            let slot = next;
            next += 1;
            let device = match SgDevice::open(node) {
                // /dev is not examined before: a node of another device
                // (made by hand) is found here, before any command.
                Ok(SgDevice { sg_devnum: Some(found), .. }) if found != expected => {
                    outcome(index, wrong_node(node, found, expected));
                    continue;
                }
                Ok(device) if device.async_io => device,
                Ok(_) => {
                    outcome(index, TurOutcome::NotAsked);
                    continue;
                }
                Err(TransportError::Open(e)) if e.kind() == io::ErrorKind::NotFound => {
                    outcome(index, TurOutcome::NotAsked);
                    continue;
                }
                Err(e) => {
                    outcome(index, TurOutcome::OpenFailed(e));
                    continue;
                }
            };
            let mut flight = Box::new(Flight { deadline: Instant::now() + timeout, hdr: empty_header(), sense: [0; SENSE_MAX] });
            match header(&cdb, &mut [], &mut flight.sense, timeout) {
                Ok(hdr) => flight.hdr = hdr,
                Err(_) => {
                    outcome(index, TurOutcome::NotAsked);
                    continue;
                }
            }
            if let Err(e) = device.submit(&mut flight.hdr) {
                outcome(index, TurOutcome::Answered(Err(e), None));
                continue;
            }
            // One-shot: a node that answered is disarmed by the kernel and
            // leaves the set when its probe closes it, without a call here.
            let mut event = libc::epoll_event { events: (libc::EPOLLIN | libc::EPOLLONESHOT) as u32, u64: slot as u64 };
            // SAFETY: valid epoll and device descriptors, a valid event.
            if unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, device.file.as_raw_fd(), &mut event) } < 0 {
                // Not watchable: wait for this one alone.
                let result = match device.collect(&mut flight.hdr, flight.deadline, false) {
                    Ok(true) => TurOutcome::Answered(Ok(completion(&flight.hdr, &flight.sense, 0)), Some(device)),
                    Ok(false) => TurOutcome::Abandoned(Pending { device, flight }),
                    Err(e) => TurOutcome::Answered(Err(e), None),
                };
                outcome(index, result);
                continue;
            }
            flights[slot] = Some((device, flight));
            order.push_back(slot);
            in_flight += 1;
        }
        if in_flight == 0 {
            break;
        }
        // Give up on the overdue ones, oldest first.
        let now = Instant::now();
        while let Some(&slot) = order.front() {
            match &flights[slot] {
                None => {
                    order.pop_front();
                }
                Some((_, f)) if f.deadline <= now => {
                    order.pop_front();
                    if let Some((device, mut flight)) = flights[slot].take() {
                        unwatch(&device);
                        // Its answer may be there, not yet collected (this
                        // thread was not scheduled in time): it counts.
                        let result = match device.answer_waiting() {
                            true => match device.collect(&mut flight.hdr, flight.deadline, true) {
                                Ok(true) => TurOutcome::Answered(Ok(completion(&flight.hdr, &flight.sense, 0)), Some(device)),
                                Ok(false) => TurOutcome::Abandoned(Pending { device, flight }),
                                Err(e) => TurOutcome::Answered(Err(e), None),
                            },
                            false => {
                                device.abandoned.set(true);
                                TurOutcome::Abandoned(Pending { device, flight })
                            }
                        };
                        outcome(asked[slot].0, result);
                    }
                    in_flight -= 1;
                }
                Some(_) => break,
            }
        }
        let Some(first) = order.front().and_then(|&slot| flights[slot].as_ref()) else { continue };
        let wait = first.1.deadline.saturating_duration_since(now);
        let ms = libc::c_int::try_from(wait.as_millis() + 1).unwrap_or(libc::c_int::MAX);
        let len = libc::c_int::try_from(events.len()).unwrap_or(1);
        // SAFETY: `events` holds `len` entries for the kernel to fill.
        let n = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), len, ms) };
        let ready = usize::try_from(n).unwrap_or(0);
        for event in events.iter().take(ready) {
            let slot = usize::try_from(event.u64).unwrap_or(usize::MAX);
            let Some((device, mut flight)) = flights.get_mut(slot).and_then(Option::take) else { continue };
            in_flight -= 1;
            let result = match device.collect(&mut flight.hdr, flight.deadline, true) {
                Ok(true) => TurOutcome::Answered(Ok(completion(&flight.hdr, &flight.sense, 0)), Some(device)),
                Ok(false) => TurOutcome::Abandoned(Pending { device, flight }),
                Err(e) => TurOutcome::Answered(Err(e), None),
            };
            outcome(asked[slot].0, result);
        }
    }
    // SAFETY: closing the epoll descriptor made above.
    unsafe { libc::close(epoll) };
}

/// `order` made a permutation of `0..len`: indices out of range or seen
/// before are dropped, and the ones it leaves out follow in index order.
fn complete_order(order: &[usize], len: usize) -> Vec<usize> {
    let mut seen = vec![false; len];
    let mut complete = Vec::with_capacity(len);
    for i in order.iter().copied().chain(0..len) {
        if let Some(flag) = seen.get_mut(i) {
            if !*flag {
                *flag = true;
                complete.push(i);
            }
        }
    }
    complete
}

/// The completion of a command that was given up (see [`no_answer`]).
pub fn not_answered() -> Completion {
    no_answer()
}

fn empty_header() -> SgIoHdr {
    SgIoHdr {
        interface_id: 0,
        dxfer_direction: SG_DXFER_NONE,
        cmd_len: 0,
        mx_sb_len: 0,
        iovec_count: 0,
        dxfer_len: 0,
        dxferp: core::ptr::null_mut(),
        cmdp: core::ptr::null(),
        sbp: core::ptr::null_mut(),
        timeout: 0,
        flags: 0,
        pack_id: 0,
        usr_ptr: core::ptr::null_mut(),
        status: 0,
        masked_status: 0,
        msg_status: 0,
        sb_len_wr: 0,
        host_status: 0,
        driver_status: 0,
        resid: 0,
        duration: 0,
        info: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::complete_order;

    #[test]
    fn dispatch_order_is_completed_into_a_permutation() {
        assert_eq!(complete_order(&[2, 0], 4), [2, 0, 1, 3]);
        assert_eq!(complete_order(&[], 3), [0, 1, 2]);
        // Out of range and repeated indices are dropped.
        assert_eq!(complete_order(&[7, 1, 1, 0], 3), [1, 0, 2]);
        assert!(complete_order(&[0, 1], 0).is_empty());
    }
}
