//! Finding candidate paths: which SCSI disks exist, and where their nodes
//! are. Two methods: sysfs (the normal case) and, where sysfs is not
//! mounted, ioctls on the sg and sd nodes themselves.

pub mod ioctl;
pub mod naming;
pub mod pivot;
pub mod protocol;
pub mod sysfs;

use std::path::Path;

use crate::path::{DevName, DevNum};
use crate::probe::Candidate;

/// Candidates found, plus devices passed over and why.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Candidates in multipath-tools' order (sysfs device path order).
    pub candidates: Vec<Candidate>,
    /// Devices not considered, with the reason (in use, not a disk, ...).
    pub passed_over: Vec<(DevName, String)>,
    /// The transport of each candidate, same order (sysfs scan only; the
    /// ioctl scan leaves it empty: no sysfs, no protocol). The same walk
    /// gives each candidate its target node name (`Candidate::node_name`),
    /// which the ioctl scan leaves empty, as multipath-tools 0.9.4 has none
    /// without udev.
    pub protocols: Vec<protocol::Protocol>,
}

/// How to discover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScanMethod {
    /// sysfs when `<root>/sys/block` exists, else ioctl.
    #[default]
    Auto,
    Sysfs,
    Ioctl,
}

impl ScanMethod {
    pub fn parse(text: &str) -> Option<ScanMethod> {
        match text {
            "auto" => Some(ScanMethod::Auto),
            "sysfs" => Some(ScanMethod::Sysfs),
            "ioctl" => Some(ScanMethod::Ioctl),
            _ => None,
        }
    }

    /// The concrete method for this root.
    pub fn resolve(self, root: &Path) -> ScanMethod {
        match self {
            ScanMethod::Auto if sysfs::available(root) => ScanMethod::Sysfs,
            ScanMethod::Auto => ScanMethod::Ioctl,
            other => other,
        }
    }
}

/// Device numbers of mounted block devices, from `<root>/proc/self/mountinfo`
/// (nothing when proc is not mounted).
pub fn mounted_devices(root: &Path) -> Vec<DevNum> {
    std::fs::read_to_string(root.join("proc/self/mountinfo"))
        .map(|text| parse_mountinfo(&text))
        .unwrap_or_default()
}

/// The third field of each mountinfo line is the `major:minor` mounted.
pub fn parse_mountinfo(text: &str) -> Vec<DevNum> {
    text.lines()
        .filter_map(|line| line.split_whitespace().nth(2).and_then(DevNum::parse))
        .filter(|d| d.major != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let text = "22 1 8:1 / /boot rw - ext4 /dev/sda1 rw\n23 1 0:21 / /proc rw - proc proc rw\nbad\n";
        assert_eq!(parse_mountinfo(text), vec![DevNum { major: 8, minor: 1 }]);
    }

    #[test]
    fn scan_methods() {
        assert_eq!(ScanMethod::parse("ioctl"), Some(ScanMethod::Ioctl));
        assert_eq!(ScanMethod::parse("udev"), None);
        let nowhere = Path::new("/nonexistent-root");
        assert_eq!(ScanMethod::Auto.resolve(nowhere), ScanMethod::Ioctl);
        assert_eq!(ScanMethod::Sysfs.resolve(nowhere), ScanMethod::Sysfs);
    }
}
