//! SG_IO pass-through: the real [`ScsiTransport`].
//!
//! Nodes are opened read-only and non-blocking: mpath-boot only ever sends
//! TEST UNIT READY, INQUIRY and REPORT TARGET PORT GROUPS, and must never
//! wait on a node another opener holds.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

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
pub struct SgDevice {
    file: File,
}

impl SgDevice {
    /// Opens `node` read-only and non-blocking.
    pub fn open(node: &Path) -> Result<SgDevice, TransportError> {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(node)
            .map(|file| SgDevice { file })
            .map_err(TransportError::Open)
    }
}

impl ScsiTransport for SgDevice {
    fn execute(
        &self,
        cdb: &[u8],
        data: &mut [u8],
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let mut sense = [0u8; SENSE_MAX];
        let cmd_len = u8::try_from(cdb.len())
            .map_err(|_| TransportError::Ioctl(io::Error::from_raw_os_error(libc::EINVAL)))?;
        let dxfer_len = u32::try_from(data.len())
            .map_err(|_| TransportError::Ioctl(io::Error::from_raw_os_error(libc::EINVAL)))?;
        let mut hdr = SgIoHdr {
            interface_id: b'S' as libc::c_int,
            dxfer_direction: if data.is_empty() { SG_DXFER_NONE } else { SG_DXFER_FROM_DEV },
            cmd_len,
            mx_sb_len: SENSE_MAX as u8,
            iovec_count: 0,
            dxfer_len,
            dxferp: data.as_mut_ptr().cast(),
            cmdp: cdb.as_ptr(),
            sbp: sense.as_mut_ptr(),
            timeout: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1),
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
        };
        // SAFETY: hdr points at buffers that outlive the call, with their
        // true lengths; SG_IO writes only within them.
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), SG_IO as _, &mut hdr as *mut SgIoHdr) };
        if rc < 0 {
            return Err(TransportError::Ioctl(io::Error::last_os_error()));
        }
        let sense_len = usize::from(hdr.sb_len_wr).min(SENSE_MAX);
        let resid = usize::try_from(hdr.resid.max(0)).unwrap_or(0);
        Ok(Completion {
            status: hdr.status,
            host_status: hdr.host_status,
            driver_status: hdr.driver_status,
            sense: heapless::Vec::from_slice(&sense[..sense_len]).unwrap_or_default(),
            transferred: data.len().saturating_sub(resid),
        })
    }
}
