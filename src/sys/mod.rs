//! The OS boundary: every ioctl, device node and device-mapper call.

pub mod blockdev;
pub mod dm;
pub mod dm_cookie;
pub mod dm_ioctl;
pub mod nodes;
pub mod multipathd;
pub mod scsi_ioctl;
pub mod sg_io;
pub mod thread_name;
pub mod udev;
