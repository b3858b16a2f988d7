//! Finding candidate paths: which SCSI disks exist, and where their nodes are.

pub mod sysfs;

use crate::path::DevName;
use crate::probe::Candidate;

/// Candidates found, plus devices passed over and why.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Candidates in multipath-tools' order (sysfs device path order).
    pub candidates: Vec<Candidate>,
    /// Devices not considered, with the reason (in use, not a disk, ...).
    pub passed_over: Vec<(DevName, String)>,
}
