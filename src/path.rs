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

/// The longest target node name kept, in bytes: multipath-tools 0.9.4
/// copies the name into a 224-byte buffer (`NODE_NAME_SIZE`), NUL included,
/// and compares names over that length.
pub const NODE_NAME_MAX: usize = 223;

/// A target's node name as multipath-tools 0.9.4 records it for a path
/// (`tgt_node_name`): the SAS address, the USB device's name, the FC node
/// name, the iSCSI target name or `ata-N.00`; empty when the transport has
/// none, or when discovery ran without sysfs (the ioctl scan), as 0.9.4
/// without udev has none.
///
/// Paths to one target share one allocation (discovery interns the names),
/// and an empty name allocates nothing: the field costs 16 bytes of a
/// [`Path`], where a fixed 224-byte buffer cost most of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeName(Option<std::sync::Arc<str>>);

impl NodeName {
    /// A name shared with `name`'s other holders (empty: no name).
    pub fn shared(name: &std::sync::Arc<str>) -> NodeName {
        NodeName((!name.is_empty()).then(|| std::sync::Arc::clone(name)))
    }

    /// A name of its own (tests, callers without an interner). Longer
    /// names are cut to [`NODE_NAME_MAX`] bytes, on a character boundary.
    pub fn new(name: &str) -> NodeName {
        let mut end = name.len().min(NODE_NAME_MAX);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let name = &name[..end];
        NodeName((!name.is_empty()).then(|| std::sync::Arc::from(name)))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Display for NodeName {
    /// As multipath-tools prints a target WWNN (`%n`): `[undef]` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() { "[undef]" } else { self.as_str() })
    }
}

/// A path's WWID, on the heap at its own length: a path table holds a
/// thousand of them, where the 128-byte [`Wwid`] buffer inline made a
/// quarter of each path. Made from a [`Wwid`], so never longer.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathWwid(Box<str>);

impl PathWwid {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bounded form, for the coalescing tables.
    pub fn to_wwid(&self) -> Wwid {
        // Never longer than a Wwid: every PathWwid is made from one.
        Wwid::try_from(self.as_str()).unwrap_or_default()
    }
}

impl From<Wwid> for PathWwid {
    fn from(wwid: Wwid) -> PathWwid {
        PathWwid(wwid.as_str().into())
    }
}

impl TryFrom<&str> for PathWwid {
    type Error = ();

    /// Up to a [`Wwid`]'s capacity.
    fn try_from(text: &str) -> Result<PathWwid, ()> {
        Wwid::try_from(text).map(PathWwid::from).map_err(|_| ())
    }
}

impl PartialEq<Wwid> for PathWwid {
    fn eq(&self, other: &Wwid) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Display for PathWwid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PathWwid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
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
    pub wwid: PathWwid,
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
    /// Target node name, for `group_by_node_name` and `weightedpath wwn`.
    pub node_name: NodeName,
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
    /// Which prioritizer gave `priority`, and why, for `-v3` (empty below).
    pub prio_explained: std::string::String,
    /// Why the checker called the path down ([`PathState::Faulty`]).
    pub fault: std::string::String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_small_and_shared() {
        assert_eq!(core::mem::size_of::<NodeName>(), 16);
        let interned: std::sync::Arc<str> = "iqn.2003-01.org.example:t1".into();
        let (a, b) = (NodeName::shared(&interned), NodeName::shared(&interned));
        assert_eq!(a, b);
        assert_eq!(std::sync::Arc::strong_count(&interned), 3);
        assert_eq!(NodeName::shared(&"".into()), NodeName::default());
        assert_eq!(NodeName::default().to_string(), "[undef]");
        assert_eq!(a.to_string(), "iqn.2003-01.org.example:t1");
        assert_eq!(NodeName::new(&"x".repeat(300)).as_str().len(), NODE_NAME_MAX);
        assert_eq!(NodeName::new(&"é".repeat(200)).as_str().len(), 222);
        assert!(NodeName::new("").is_empty());
    }

    #[test]
    fn path_size() {
        // 744 bytes with the 224-byte node name buffer, 504 with the
        // 128-byte WWID buffer; the scan table's slot holds a path or a
        // candidate with its TEST UNIT READY state (384 bytes).
        println!("size_of::<Path>() = {}", core::mem::size_of::<Path>());
        assert!(core::mem::size_of::<Path>() <= 384);
    }

    #[test]
    fn path_wwids_are_bounded_like_wwids() {
        let wwid = PathWwid::try_from("36001405abc").unwrap();
        assert_eq!(wwid.as_str(), "36001405abc");
        assert_eq!(wwid.to_wwid().as_str(), "36001405abc");
        assert_eq!(wwid.to_string(), "36001405abc");
        assert_eq!(format!("{wwid:?}"), "\"36001405abc\"");
        assert!(PathWwid::try_from("x".repeat(128).as_str()).is_ok());
        assert!(PathWwid::try_from("x".repeat(129).as_str()).is_err());
        assert!(PathWwid::default().as_str().is_empty());
    }
}
