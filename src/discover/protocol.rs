//! The transport of a SCSI disk as multipath-tools 0.9.4 names it
//! (`scsi:fcp`, `scsi:iscsi`, ...): what the `protocol` blacklist rules are
//! matched against, and how `allow_usb_devices` recognises USB disks.
//!
//! 0.9.4 decides from the sysfs ancestry of the disk, checking in order:
//! 1. SAS: the SCSI device has a `sas_address` attribute and an ancestor is
//!    named `end_device-H:C:T` or `end_device-H:T`;
//! 2. USB: an ancestor above the SCSI device belongs to the `usb` subsystem;
//! 3. FC: the parent of the SCSI target is `rport-H:C-N` and
//!    `class/fc_remote_ports/rport-H:C-N/node_name` exists;
//! 4. iSCSI: the nearest ancestor named `sessionN` has
//!    `class/iscsi_session/sessionN/targetname`;
//! 5. ATA: an ancestor is named `ataN`;
//! 6. otherwise `scsi:unspec`.
//!
//! The transport layers (port/end_device, rport, session) sit between the
//! SCSI host and the target, so the decision needs the disk's own path, not
//! only its host number.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::path::{NodeName, NODE_NAME_MAX};

/// multipath-tools' SCSI protocol identifiers, with its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Fcp,
    Spi,
    Ssa,
    Sbp,
    Srp,
    Iscsi,
    Sas,
    Adt,
    Ata,
    Usb,
    Unspec,
}

impl Protocol {
    /// The name `multipath -v3` prints and `protocol` rules match.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Fcp => "scsi:fcp",
            Protocol::Spi => "scsi:spi",
            Protocol::Ssa => "scsi:ssa",
            Protocol::Sbp => "scsi:sbp",
            Protocol::Srp => "scsi:srp",
            Protocol::Iscsi => "scsi:iscsi",
            Protocol::Sas => "scsi:sas",
            Protocol::Adt => "scsi:adt",
            Protocol::Ata => "scsi:ata",
            Protocol::Usb => "scsi:usb",
            Protocol::Unspec => "scsi:unspec",
        }
    }
}

impl core::fmt::Display for Protocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A SCSI disk's transport: its protocol and its target's node name, both
/// found by 0.9.4's one walk up the disk's sysfs ancestry
/// (`sysfs_get_tgt_nodename`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transport {
    pub protocol: Protocol,
    /// SAS: the SCSI device's `sas_address`; USB: the name of the nearest
    /// `usb` device above it; FC: the remote port's `node_name`; iSCSI: the
    /// session's `targetname`; ATA: `ata-N.00` for link `ataN`; else empty.
    pub node_name: NodeName,
}

impl Default for Transport {
    fn default() -> Transport {
        Transport { protocol: Protocol::Unspec, node_name: NodeName::default() }
    }
}

/// The protocol of SCSI disk `block_name` (`sda`) from `<root>/sys`.
/// A disk whose sysfs path cannot be resolved is `scsi:unspec`, the value
/// 0.9.4 starts from for every `sd` device.
pub fn scsi_protocol(root: &Path, block_name: &str) -> Protocol {
    scsi_transport(root, block_name).protocol
}

/// The transport of SCSI disk `block_name` (`sda`) from `<root>/sys`:
/// [`scsi_protocol`] with the target node name.
pub fn scsi_transport(root: &Path, block_name: &str) -> Transport {
    match ancestry(root, block_name) {
        Some(chain) => transport_of(root, &chain, &mut Subsystems::default()),
        None => Transport::default(),
    }
}

/// The protocol of the SCSI disk whose canonical sysfs device path is
/// `device` (under `sys`, the canonical `<root>/sys`): what
/// [`scsi_protocol`] finds, for a caller that resolved the path already.
pub fn protocol_at(root: &Path, sys: &Path, device: &Path, subsystems: &mut Subsystems) -> Protocol {
    transport_at(root, sys, device, subsystems).protocol
}

/// [`protocol_at`] with the target node name. `subsystems` remembers what
/// the walk read across calls (the disks of one host share ancestors, the
/// LUs of one target share its node name): each directory's subsystem and
/// each node name file is read once per scan, and each distinct name is
/// kept once.
pub fn transport_at(root: &Path, sys: &Path, device: &Path, subsystems: &mut Subsystems) -> Transport {
    let chain: Vec<PathBuf> = device
        .ancestors()
        .take_while(|dir| dir.starts_with(sys) && *dir != sys)
        .map(Path::to_path_buf)
        .collect();
    transport_of(root, &chain, subsystems)
}

/// What the sysfs walk remembers across the disks of one scan.
#[derive(Debug, Default)]
pub struct Subsystems {
    /// The subsystem of each device directory looked at.
    subsystems: HashMap<PathBuf, Option<String>>,
    /// Node name files read (FC `node_name`, iSCSI `targetname`), with
    /// their value, or `None` when unreadable.
    files: HashMap<PathBuf, Option<NodeName>>,
    /// Every distinct node name, once.
    names: HashSet<Arc<str>>,
}

impl Subsystems {
    fn subsystem(&mut self, dir: &Path) -> Option<&str> {
        self.subsystems
            .entry(dir.to_path_buf())
            .or_insert_with(|| subsystem(dir))
            .as_deref()
    }

    /// The one shared copy of `name`.
    fn intern(&mut self, name: &str) -> NodeName {
        if let Some(known) = self.names.get(name) {
            return NodeName::shared(known);
        }
        let shared: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&shared));
        NodeName::shared(&shared)
    }

    /// A node name attribute, read once per scan: `None` when it cannot
    /// be read (an empty one is an empty name, as libudev gives it).
    fn attribute(&mut self, file: PathBuf) -> Option<NodeName> {
        if let Some(known) = self.files.get(&file) {
            return known.clone();
        }
        let value = read_attribute(&file).map(|v| self.intern(&v));
        self.files.insert(file, value.clone());
        value
    }
}

/// The text of a sysfs attribute without trailing `\n`/`\r`, at most
/// [`NODE_NAME_MAX`] bytes of it (as `strlcpy` into 0.9.4's buffer).
fn read_attribute(file: &Path) -> Option<String> {
    let mut bytes = fs::read(file).ok()?;
    while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        bytes.pop();
    }
    bytes.truncate(NODE_NAME_MAX);
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// True when 0.9.4 would see the disk as USB-attached (and skip it unless
/// `allow_usb_devices` is set).
pub fn is_usb(root: &Path, block_name: &str) -> bool {
    scsi_protocol(root, block_name) == Protocol::Usb
}

/// The block device directory and its ancestors up to (excluding) `sys`,
/// nearest first.
fn ancestry(root: &Path, block_name: &str) -> Option<Vec<PathBuf>> {
    if block_name.is_empty() || block_name.contains('/') {
        return None;
    }
    let sys = fs::canonicalize(root.join("sys")).ok()?;
    let device = fs::canonicalize(sys.join("block").join(block_name)).ok()?;
    let chain: Vec<PathBuf> = device
        .ancestors()
        .take_while(|dir| dir.starts_with(&sys) && *dir != sys)
        .map(Path::to_path_buf)
        .collect();
    Some(chain)
}

fn transport_of(root: &Path, chain: &[PathBuf], cache: &mut Subsystems) -> Transport {
    let found = |protocol, node_name| Transport { protocol, node_name };
    // The SCSI device: the nearest ancestor named H:C:T:L.
    let Some(sdev_index) = chain.iter().position(|d| is_hctl(&dir_name(d))) else {
        return Transport::default();
    };
    let above_sdev = chain.get(sdev_index + 1..).unwrap_or(&[]);
    // SAS: an end device above, and the SCSI device's address (read only
    // then: the name test costs nothing, the read a syscall).
    if above_sdev.iter().any(|d| is_end_device(&dir_name(d))) {
        if let Some(address) = chain
            .get(sdev_index)
            .and_then(|d| read_attribute(&d.join("sas_address")))
        {
            return found(Protocol::Sas, cache.intern(&address));
        }
    }
    // USB: the nearest ancestor of the usb subsystem names the target.
    if let Some(usb) = above_sdev.iter().find(|d| cache.subsystem(d) == Some("usb")) {
        let name = dir_name(usb);
        return found(Protocol::Usb, cache.intern(&name));
    }
    // The SCSI target is the parent of the SCSI device; FC puts the remote
    // port right above it.
    if let Some(rport) = above_sdev.get(1).map(|d| dir_name(d)) {
        if is_rport(&rport) {
            let file = root.join("sys/class/fc_remote_ports").join(&rport).join("node_name");
            if let Some(name) = cache.attribute(file) {
                return found(Protocol::Fcp, name);
            }
        }
    }
    if let Some(session) = chain
        .iter()
        .map(|d| dir_name(d))
        .find(|n| scans_prefixed_int(n, "session"))
    {
        let file = root.join("sys/class/iscsi_session").join(&session).join("targetname");
        if let Some(name) = cache.attribute(file) {
            return found(Protocol::Iscsi, name);
        }
    }
    if let Some(link) = chain
        .iter()
        .find_map(|d| prefixed_int(&dir_name(d), "ata"))
    {
        return found(Protocol::Ata, cache.intern(&format!("ata-{link}.00")));
    }
    Transport::default()
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The subsystem of a sysfs device: the name its `subsystem` link points to.
fn subsystem(dir: &Path) -> Option<String> {
    let target = fs::read_link(dir.join("subsystem")).ok()?;
    target.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// What C's `%d` accepts: blanks, an optional sign, digits. Returns the
/// rest of the text after the number.
fn scan_int(text: &str) -> Option<&str> {
    let text = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    unsigned.get(digits..)
}

/// Matches a sequence of integers separated by the given literals, as a
/// C `sscanf` with that format would; returns the unmatched rest.
fn scan_ints<'a>(text: &'a str, prefix: &str, separators: &[&str]) -> Option<&'a str> {
    let mut rest = scan_int(text.strip_prefix(prefix)?)?;
    for sep in separators {
        rest = scan_int(rest.strip_prefix(sep)?)?;
    }
    Some(rest)
}

/// `sscanf(name, "<prefix>%d") == 1`.
fn scans_prefixed_int(name: &str, prefix: &str) -> bool {
    scan_ints(name, prefix, &[]).is_some()
}

/// The number `sscanf(name, "<prefix>%d", &n)` reads (glibc: `strtol`,
/// cut to `int`).
fn prefixed_int(name: &str, prefix: &str) -> Option<i32> {
    let text = name.strip_prefix(prefix)?;
    scan_int(text)?;
    Some(crate::prio::weightedpath::c_atoi(text))
}

/// `end_device-H:C:T` or `end_device-H:T`, nothing after.
fn is_end_device(name: &str) -> bool {
    scan_ints(name, "end_device-", &[":", ":"]) == Some("")
        || scan_ints(name, "end_device-", &[":"]) == Some("")
}

/// `rport-H:C-N` (anything may follow, as with sscanf).
fn is_rport(name: &str) -> bool {
    scan_ints(name, "rport-", &[":", "-"]).is_some()
}

/// `H:C:T:L` as 0.9.4's `%i:%i:%i:%lu` would read a SCSI device name.
fn is_hctl(name: &str) -> bool {
    let parts: Vec<&str> = name.split(':').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A fabricated sysfs tree under a temporary root.
    struct Tree {
        root: PathBuf,
        temp: crate::test_support::TempRoot,
    }

    impl Tree {
        fn new(test: &str) -> Tree {
            let temp = crate::test_support::TempRoot::new(&format!("proto-{test}"));
            let root = temp.0.clone();
            for dir in ["sys/block", "sys/bus/usb", "sys/bus/scsi"] {
                fs::create_dir_all(root.join(dir)).unwrap();
            }
            Tree { root, temp }
        }

        fn file(&self, rel: &str, text: &str) {
            self.temp.write(rel, text);
        }

        /// Disk `name` at `<devices>/<path>/block/<name>`, linked from
        /// sys/block with a relative link, as the kernel does.
        fn disk(&self, name: &str, path: &str) -> String {
            let dev = format!("sys/devices/{path}");
            fs::create_dir_all(self.root.join(&dev).join("block").join(name)).unwrap();
            let link = format!("../devices/{path}/block/{name}");
            symlink(link, self.root.join("sys/block").join(name)).unwrap();
            dev
        }

        fn subsystem(&self, dev_dir: &str, subsystem: &str) {
            let dir = self.root.join(dev_dir);
            fs::create_dir_all(&dir).unwrap();
            symlink(
                self.root.join("sys/bus").join(subsystem),
                dir.join("subsystem"),
            )
            .unwrap();
        }
    }


    #[test]
    fn scsi_debug_and_virtio_are_unspec() {
        let tree = Tree::new("unspec");
        tree.disk("sda", "pseudo_0/adapter0/host2/target2:0:0/2:0:0:0");
        tree.disk(
            "sdb",
            "pci0000:00/0000:00:04.0/virtio1/host0/target0:0:1/0:0:1:0",
        );
        assert_eq!(scsi_protocol(&tree.root, "sda"), Protocol::Unspec);
        assert_eq!(scsi_protocol(&tree.root, "sdb").name(), "scsi:unspec");
        assert!(!is_usb(&tree.root, "sda"));
    }

    #[test]
    fn fibre_channel_needs_the_remote_port_class_entry() {
        let tree = Tree::new("fc");
        tree.disk(
            "sda",
            "pci0000:00/0000:00:03.0/host1/rport-1:0-2/target1:0:0/1:0:0:0",
        );
        assert_eq!(scsi_protocol(&tree.root, "sda"), Protocol::Unspec);
        tree.file(
            "sys/class/fc_remote_ports/rport-1:0-2/node_name",
            "0x20000024ff000001\n",
        );
        assert_eq!(scsi_protocol(&tree.root, "sda"), Protocol::Fcp);
    }

    #[test]
    fn iscsi_session() {
        let tree = Tree::new("iscsi");
        tree.disk("sdc", "platform/host3/session1/target3:0:0/3:0:0:0");
        assert_eq!(scsi_protocol(&tree.root, "sdc"), Protocol::Unspec);
        tree.file(
            "sys/class/iscsi_session/session1/targetname",
            "iqn.2003-01.org.example:t1\n",
        );
        assert_eq!(scsi_protocol(&tree.root, "sdc"), Protocol::Iscsi);
    }

    #[test]
    fn sas_needs_address_and_end_device() {
        let tree = Tree::new("sas");
        let dev = tree.disk(
            "sdd",
            "pci0000:00/0000:00:05.0/host4/port-4:0/end_device-4:0/target4:0:0/4:0:0:0",
        );
        assert_eq!(scsi_protocol(&tree.root, "sdd"), Protocol::Unspec);
        tree.file(&format!("{dev}/sas_address"), "0x5000c500a1b2c3d4\n");
        assert_eq!(scsi_protocol(&tree.root, "sdd"), Protocol::Sas);
        let dev = tree.disk(
            "sde",
            "pci0000:00/0000:00:05.0/host5/port-5:0/end_device-5:0:1x/target5:0:1/5:0:1:0",
        );
        tree.file(&format!("{dev}/sas_address"), "0x5000c500a1b2c3d5\n");
        assert_eq!(scsi_protocol(&tree.root, "sde"), Protocol::Unspec);
    }

    #[test]
    fn usb_is_found_through_the_subsystem_link() {
        let tree = Tree::new("usb");
        let usb_dev = "sys/devices/pci0000:00/0000:00:14.0/usb2/2-1";
        tree.disk(
            "sdf",
            "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0",
        );
        assert_eq!(scsi_protocol(&tree.root, "sdf"), Protocol::Unspec);
        tree.subsystem(usb_dev, "usb");
        assert_eq!(scsi_protocol(&tree.root, "sdf"), Protocol::Usb);
        assert!(is_usb(&tree.root, "sdf"));
        // A "scsi" subsystem link changes nothing.
        tree.subsystem(
            "sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6",
            "scsi",
        );
        assert!(is_usb(&tree.root, "sdf"));
    }

    #[test]
    fn libata() {
        let tree = Tree::new("ata");
        tree.disk(
            "sdg",
            "pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0",
        );
        assert_eq!(scsi_protocol(&tree.root, "sdg"), Protocol::Ata);
        tree.disk(
            "sdh",
            "pci0000:00/0000:00:1f.2/ata_x/host7/target7:0:0/7:0:0:0",
        );
        assert_eq!(scsi_protocol(&tree.root, "sdh"), Protocol::Unspec);
    }

    fn node_name(tree: &Tree, disk: &str) -> String {
        scsi_transport(&tree.root, disk).node_name.as_str().to_owned()
    }

    #[test]
    fn node_name_of_each_transport() {
        let tree = Tree::new("names");
        // SAS: the SCSI device's address, newline dropped.
        let sas = tree.disk(
            "sda",
            "pci0000:00/0000:00:05.0/host4/port-4:0/end_device-4:0/target4:0:0/4:0:0:0",
        );
        tree.file(&format!("{sas}/sas_address"), "0x5000c500a1b2c3d4\n");
        // USB: the nearest usb device above the SCSI device (the interface).
        tree.disk(
            "sdb",
            "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0",
        );
        tree.subsystem("sys/devices/pci0000:00/0000:00:14.0/usb2/2-1", "usb");
        tree.subsystem("sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0", "usb");
        // FC: the remote port's node name.
        tree.disk("sdc", "pci0000:00/0000:00:03.0/host1/rport-1:0-2/target1:0:0/1:0:0:0");
        tree.file("sys/class/fc_remote_ports/rport-1:0-2/node_name", "0x20000024ff000001\n");
        // iSCSI: the session's target name (CR LF dropped too).
        tree.disk("sdd", "platform/host3/session1/target3:0:0/3:0:0:0");
        tree.file("sys/class/iscsi_session/session1/targetname", "iqn.2003-01.org.example:t1\r\n");
        // libata: the link number.
        tree.disk("sde", "pci0000:00/0000:00:1f.2/ata12/host0/target0:0:0/0:0:0:0");
        // Anything else: no name.
        tree.disk("sdf", "pseudo_0/adapter0/host2/target2:0:0/2:0:0:0");
        let want = [
            ("sda", Protocol::Sas, "0x5000c500a1b2c3d4"),
            ("sdb", Protocol::Usb, "2-1:1.0"),
            ("sdc", Protocol::Fcp, "0x20000024ff000001"),
            ("sdd", Protocol::Iscsi, "iqn.2003-01.org.example:t1"),
            ("sde", Protocol::Ata, "ata-12.00"),
            ("sdf", Protocol::Unspec, ""),
        ];
        for (disk, protocol, name) in want {
            let t = scsi_transport(&tree.root, disk);
            assert_eq!((t.protocol, t.node_name.as_str()), (protocol, name), "{disk}");
        }
        assert!(scsi_transport(&tree.root, "sdf").node_name.is_empty());
        assert!(node_name(&tree, "sdz").is_empty());
    }

    #[test]
    fn node_names_are_cut_and_empty_ones_still_count() {
        let tree = Tree::new("names-odd");
        tree.disk("sda", "platform/host3/session7/target3:0:0/3:0:0:0");
        tree.file(
            "sys/class/iscsi_session/session7/targetname",
            &format!("iqn.{}\n", "x".repeat(300)),
        );
        assert_eq!(node_name(&tree, "sda").len(), NODE_NAME_MAX);
        // An empty FC node name is still FC (libudev gives ""), no name.
        tree.disk("sdb", "pci0000:00/0000:00:03.0/host1/rport-1:0-9/target1:0:0/1:0:0:0");
        tree.file("sys/class/fc_remote_ports/rport-1:0-9/node_name", "\n");
        let t = scsi_transport(&tree.root, "sdb");
        assert_eq!((t.protocol, t.node_name.as_str()), (Protocol::Fcp, ""));
        // A SAS address with no end device above is not SAS, and no name.
        let dev = tree.disk("sdc", "pci0000:00/0000:00:05.0/host5/port-5:0/target5:0:1/5:0:1:0");
        tree.file(&format!("{dev}/sas_address"), "0x5000c500a1b2c3d5\n");
        assert_eq!(scsi_transport(&tree.root, "sdc"), Transport::default());
        // sscanf's %d: a sign is read, so is a number followed by more.
        tree.disk("sdd", "pci0000:00/0000:00:1f.2/ata+3x/host0/target0:0:0/0:0:0:0");
        assert_eq!(node_name(&tree, "sdd"), "ata-3.00");
    }

    #[test]
    fn paths_of_one_target_share_one_name() {
        let tree = Tree::new("names-shared");
        let mut disks = Vec::new();
        for (i, disk) in ["sda", "sdb", "sdc"].iter().enumerate() {
            let dev = tree.disk(disk, &format!("platform/host3/session1/target3:0:0/3:0:0:{i}"));
            disks.push(tree.root.join(dev).join("block").join(disk));
        }
        tree.file("sys/class/iscsi_session/session1/targetname", "iqn.2003-01.org.example:t1\n");
        let sys = fs::canonicalize(tree.root.join("sys")).unwrap();
        let mut cache = Subsystems::default();
        let names: Vec<NodeName> = disks
            .iter()
            .map(|d| transport_at(&tree.root, &sys, &fs::canonicalize(d).unwrap(), &mut cache).node_name)
            .collect();
        assert!(names.iter().all(|n| n.as_str() == "iqn.2003-01.org.example:t1"));
        // Read once, kept once: the cache and the three paths hold one copy.
        assert_eq!(cache.files.len(), 1);
        assert_eq!(cache.names.len(), 1);
        let shared = cache.names.iter().next().unwrap();
        assert_eq!(Arc::strong_count(shared), 1 + 1 + names.len());
    }

    #[test]
    fn unknown_or_odd_names_are_unspec() {
        let tree = Tree::new("odd");
        assert_eq!(scsi_protocol(&tree.root, "sdz"), Protocol::Unspec);
        assert_eq!(scsi_protocol(&tree.root, "../sda"), Protocol::Unspec);
        assert_eq!(scsi_protocol(&tree.root, ""), Protocol::Unspec);
        assert_eq!(
            scsi_protocol(Path::new("/nonexistent-root"), "sda"),
            Protocol::Unspec
        );
    }

    #[test]
    fn sscanf_like_name_checks() {
        assert!(is_end_device("end_device-1:2:3"));
        assert!(is_end_device("end_device-1:2"));
        assert!(!is_end_device("end_device-1:2:3:4"));
        assert!(!is_end_device("end_device-1"));
        assert!(is_rport("rport-0:0-12"));
        assert!(!is_rport("rport-0:0"));
        assert!(scans_prefixed_int("session12", "session"));
        assert!(scans_prefixed_int("ata-1", "ata"));
        assert!(!scans_prefixed_int("ata", "ata"));
        assert!(is_hctl("0:0:0:0"));
        assert!(!is_hctl("target0:0:0"));
        assert!(!is_hctl("0:0:0:"));
    }
}
