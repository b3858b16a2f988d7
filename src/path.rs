//! One SCSI path as the core sees it, after discovery and probing.

use core::fmt;

use heapless::String;

use crate::identify::Wwid;
use crate::limits::DEV_NAME_MAX;

/// Kernel device name such as `sda` or `sg3`.
pub type DevName = String<DEV_NAME_MAX>;

/// Makes a [`DevName`], or `None` when the name does not fit.
pub fn dev_name(name: &str) -> Option<DevName> {
    let mut out = DevName::new();
    out.push_str(name).ok()?;
    Some(out)
}

/// SCSI address: host, channel, target id, LUN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hctl {
    pub host: u32,
    pub channel: u32,
    pub target: u32,
    pub lun: u64,
}

impl Hctl {
    /// Parses the sysfs form `H:C:T:L`.
    pub fn parse(text: &str) -> Option<Hctl> {
        let mut parts = text.trim().split(':');
        let hctl = Hctl {
            host: parts.next()?.parse().ok()?,
            channel: parts.next()?.parse().ok()?,
            target: parts.next()?.parse().ok()?,
            lun: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(hctl)
    }
}

impl fmt::Display for Hctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}:{}", self.host, self.channel, self.target, self.lun)
    }
}

/// Block device number, shown as `major:minor` as device-mapper tables use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    /// Parses `major:minor` (the sysfs `dev` attribute and table form).
    pub fn parse(text: &str) -> Option<DevNum> {
        let (major, minor) = text.trim().split_once(':')?;
        Some(DevNum {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// What TEST UNIT READY said of a path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathState {
    #[default]
    /// Ready (or reserved by another initiator, which still proves it alive).
    Up,
    /// Standby port (NOT READY, 04/0b): usable for failover, low priority.
    Ghost,
    /// Identified, but its checker says down (NOT READY, ALUA unavailable or
    /// transitioning, ...): loaded into its map as a failed path, as
    /// multipath-tools loads a PATH_DOWN path whose WWID it knows.
    Faulty,
    /// Unreachable (no answer, offline): left out of new maps.
    Down,
}

impl fmt::Display for PathState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathState::Up => "active",
            PathState::Ghost => "ghost",
            // In the map as a failed path, as multipath -ll shows it.
            PathState::Faulty => "failed",
            PathState::Down => "failed",
        })
    }
}

/// A probed path ready for coalescing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path {
    pub name: DevName,
    pub hctl: Hctl,
    pub devnum: DevNum,
    /// Size in 512-byte sectors.
    pub sectors: u64,
    pub vendor: String<8>,
    pub product: String<16>,
    pub wwid: Wwid,
    pub state: PathState,
    /// Path priority as multipath-tools computes it (ALUA or constant 1).
    pub priority: i32,
    /// Hardware handler the kernel has attached (`alua`, `rdac`, ...), if any.
    pub handler: Option<String<16>>,
    /// Whether the device reports ALUA (TPGS) support.
    pub tpgs: bool,
    /// INQUIRY product revision, matched by `devices` entries.
    pub revision: String<4>,
    /// Unit serial number (VPD page 0x80), for `group_by_serial`.
    pub serial: String<64>,
    /// Target node name (FC WWNN, iSCSI target name), for `group_by_node_name`.
    pub node_name: String<224>,
    /// ALUA priority (RTPG, else scsi_dh_alua's sysfs state), when the
    /// device reports TPGS and it could be read: the `alua` prioritizer.
    pub alua_prio: Option<u32>,
    /// Priority from scsi_dh_alua's sysfs state alone: the `sysfs` prioritizer.
    pub sysfs_prio: Option<u32>,
    /// What udev would have recorded of the device (ID_WWN, SCSI_IDENT_*),
    /// for `property` blacklist rules.
    pub properties: std::vec::Vec<(std::string::String, std::string::String)>,
    /// Transport protocol as multipath-tools names it (`scsi:fcp`, ...).
    pub protocol: &'static str,
    /// Which prioritizer gave `priority`, and why, for `-v3`.
    pub prio_explained: std::string::String,
    /// The path checker the configuration selects.
    pub checker: std::string::String,
    /// Why the checker called the path down ([`PathState::Faulty`]).
    pub fault: std::string::String,
}
