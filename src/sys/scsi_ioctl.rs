//! The SCSI identification ioctls the sysfs-less scan needs: one function
//! per ioctl, each a thin wrapper.

use std::io;
use std::os::fd::AsRawFd;

use crate::path::Hctl;

const SG_GET_SCSI_ID: libc::c_ulong = 0x2276;
const SCSI_IOCTL_GET_IDLUN: libc::c_ulong = 0x5382;
const SCSI_IOCTL_GET_BUS_NUMBER: libc::c_ulong = 0x5386;
/// `_IOR(0x12, 114, size_t)`.
const BLKGETSIZE64: libc::c_ulong = 0x8008_1272;

/// `struct sg_scsi_id` from <scsi/sg.h>.
#[repr(C)]
#[derive(Default)]
struct SgScsiId {
    host_no: libc::c_int,
    channel: libc::c_int,
    scsi_id: libc::c_int,
    lun: libc::c_int,
    scsi_type: libc::c_int,
    h_cmd_per_lun: libc::c_short,
    d_queue_depth: libc::c_short,
    unused: [libc::c_int; 2],
}

/// `struct scsi_idlun` from <scsi/scsi_ioctl.h>.
#[repr(C)]
#[derive(Default)]
struct ScsiIdlun {
    dev_id: u32,
    host_unique_id: u32,
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// SCSI address and peripheral device type of an sg node.
pub fn sg_scsi_id(fd: &impl AsRawFd) -> io::Result<(Hctl, u8)> {
    let mut id = SgScsiId::default();
    // SAFETY: the kernel writes one struct sg_scsi_id into `id`.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), SG_GET_SCSI_ID as _, &mut id as *mut SgScsiId) })?;
    let unsigned = |v: libc::c_int| u32::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL));
    Ok((
        Hctl {
            host: unsigned(id.host_no)?,
            channel: unsigned(id.channel)?,
            target: unsigned(id.scsi_id)?,
            lun: u64::from(unsigned(id.lun)?),
        },
        (id.scsi_type & 0x1f) as u8,
    ))
}

/// SCSI address of an sd node: channel, target and LUN in their low 8 bits
/// (all SCSI_IOCTL_GET_IDLUN reports), host in full from
/// SCSI_IOCTL_GET_BUS_NUMBER.
pub fn sd_scsi_address(fd: &impl AsRawFd) -> io::Result<Hctl> {
    let mut idlun = ScsiIdlun::default();
    // SAFETY: the kernel writes one struct scsi_idlun into `idlun`.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), SCSI_IOCTL_GET_IDLUN as _, &mut idlun as *mut ScsiIdlun) })?;
    let mut host: libc::c_int = 0;
    // SAFETY: the kernel writes one int into `host`.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), SCSI_IOCTL_GET_BUS_NUMBER as _, &mut host as *mut libc::c_int) })?;
    Ok(Hctl {
        host: u32::try_from(host).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?,
        channel: (idlun.dev_id >> 16) & 0xff,
        target: idlun.dev_id & 0xff,
        lun: u64::from((idlun.dev_id >> 8) & 0xff),
    })
}

/// Size of a block device in bytes.
pub fn size_bytes(fd: &impl AsRawFd) -> io::Result<u64> {
    let mut size: u64 = 0;
    // SAFETY: the kernel writes one u64 into `size`.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), BLKGETSIZE64 as _, &mut size as *mut u64) })?;
    Ok(size)
}
