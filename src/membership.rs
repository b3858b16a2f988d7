//! `--is-path DEV`: does mpath-boot take (or may it still take) the disk
//! DEV into a multipath map? The answer is for udev's `IMPORT{program}`,
//! as multipath-tools 0.9.4's `multipath -u` gives it to its
//! `56-multipath.rules`: `DM_MULTIPATH_DEVICE_PATH=1` keeps LVM
//! (`69-lvm.rules`), blkid and systemd away from a path, so nothing comes
//! up on one path's partition before mpath-boot has made the map.
//!
//! It runs inside udev for every disk event, so it must take milliseconds
//! and never hang: it reads sysfs, the configuration files, the wwids file
//! and the kernel command line under the root, and nothing else. No SCSI
//! command is sent and no device node is opened; no file is written (the
//! normal run's bindings file check, which may create, lock and rewrite
//! that file, is not made).
//!
//! The decision ([`decide`]) is pure: it asks a [`Facts`] source in rule
//! order, so the OS side ([`System`]) reads only what the rules reached
//! need. The rules, first match wins:
//!
//! 1. The kernel command line disables multipath (`mpath_boot=off`,
//!    `rd.multipath=0`, as [`crate::bootargs`] reads them, or the words
//!    multipath-tools' rules look at, `nompath` and `multipath=off`): 0.
//! 2. A device-mapper device whose DM UUID starts with `mpath-` holds DEV: 1.
//! 3. DEV is not a path the normal run would take: not an `sd` disk the
//!    sysfs scan accepts (type 0, not mounted, not held by anything but a
//!    multipath map), no WWID from the kernel's cached INQUIRY data and
//!    VPD pages (derived by [`crate::identify::disk_wwid`] as the probe
//!    does), or blacklisted as the normal run would blacklist it (devnode,
//!    USB, udev properties, device, protocol, wwid): 0.
//! 4. Effective `find_multipaths` `off`/`no` or `greedy`: 1. mpath-boot
//!    then makes a map of a single path too. This differs from 0.9.4's
//!    `multipath -u`, which treats `off` as `strict` (only `greedy` says
//!    yes to every path there).
//! 5. The WWID is in the wwids file, or a map with DM UUID `mpath-<WWID>`
//!    exists: 1.
//! 6. `strict`: 0. `on`/`yes`/`smart`: before mpath-boot has run in this
//!    boot (no [`ASSEMBLED_MARKER`]), 1 *provisionally*
//!    (`MPATH_BOOT_PROVISIONAL=1`): a second path may yet appear, and the
//!    boot scripts retrigger those devices after the run. After the run:
//!    1 when another `sd` disk the scan accepts, not blacklisted, has the
//!    same WWID, else 0.
//!
//! A partition (`sda1`) is answered for its disk: a partition of a path
//! must be left alone exactly when the path is (the udev rules import the
//! disk's answer for partitions anyway).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::assemble;
use crate::bootargs;
use crate::config::blacklist::{self, Blacklist};
use crate::config::select::{CommandLine, Selector};
use crate::config::{hwtable, load, wwids, FindMultipaths};
use crate::discover::{protocol, sysfs, Discovery};
use crate::identify::{self, properties};
use crate::limits::DEV_NAME_MAX;
use crate::probe::{Attr, DeviceAttributes, PAGE_MAX};
use crate::scsi::{inquiry, vpd};
use crate::setup;
use crate::sys::dm::UUID_PREFIX;

/// Made by every assembly run that is not a dry run (relative to the
/// root): from then on the `on`/`smart` answer is final.
pub const ASSEMBLED_MARKER: &str = "/run/mpath-boot/assembled";

/// What `--is-path` decided, and why (for `-v3`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// `DM_MULTIPATH_DEVICE_PATH=1`.
    pub member: bool,
    /// The 1 may turn into 0 once mpath-boot has run (`MPATH_BOOT_PROVISIONAL=1`).
    pub provisional: bool,
    pub reason: String,
}

impl Answer {
    fn yes(reason: String) -> Answer {
        Answer {
            member: true,
            provisional: false,
            reason,
        }
    }

    fn no(reason: String) -> Answer {
        Answer {
            member: false,
            provisional: false,
            reason,
        }
    }

    /// The `KEY=value` lines for udev's `IMPORT{program}`.
    pub fn lines(&self) -> String {
        let mut text = format!("DM_MULTIPATH_DEVICE_PATH={}\n", u8::from(self.member));
        if self.provisional {
            text.push_str("MPATH_BOOT_PROVISIONAL=1\n");
        }
        text
    }
}

/// Whether the device is a path mpath-boot would take, judged before
/// `find_multipaths`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A path with this WWID.
    Path(String),
    /// Not a path, and why (not a disk, no WWID, blacklisted...).
    NotAPath(String),
}

/// The facts the rules need, asked in rule order. `Err` is a failure to
/// find out (the configuration cannot be read): no answer then.
pub trait Facts {
    /// Rule 1: why the kernel command line disables multipath, if it does.
    fn disabled_by(&mut self) -> Option<String>;
    /// Rule 2: (holder, WWID) of a multipath map holding the device.
    fn multipath_holder(&mut self) -> Option<(String, String)>;
    /// Rule 3.
    fn identity(&mut self) -> Result<Identity, String>;
    /// Rule 4: the effective `find_multipaths`.
    fn find_multipaths(&mut self) -> Result<FindMultipaths, String>;
    /// Rule 5.
    fn in_wwids_file(&mut self, wwid: &str) -> bool;
    /// Rule 5: a map with DM UUID `mpath-<wwid>` exists.
    fn has_map(&mut self, wwid: &str) -> bool;
    /// Rule 6: mpath-boot has run in this boot ([`ASSEMBLED_MARKER`]).
    fn assembled(&mut self) -> bool;
    /// Rule 6: the other paths with this WWID, not blacklisted.
    fn siblings(&mut self, wwid: &str) -> Vec<String>;
}

/// The decision, rules 1 to 6 of the module documentation.
pub fn decide(facts: &mut dyn Facts) -> Result<Answer, String> {
    if let Some(why) = facts.disabled_by() {
        return Ok(Answer::no(format!(
            "multipath is disabled on the kernel command line ({why})"
        )));
    }
    if let Some((holder, wwid)) = facts.multipath_holder() {
        return Ok(Answer::yes(format!(
            "{wwid}: held by multipath map {holder}"
        )));
    }
    let wwid = match facts.identity()? {
        Identity::Path(wwid) => wwid,
        Identity::NotAPath(why) => return Ok(Answer::no(why)),
    };
    let mode = facts.find_multipaths()?;
    let name = mode.name();
    if matches!(mode, FindMultipaths::Off | FindMultipaths::Greedy) {
        return Ok(Answer::yes(format!(
            "{wwid}: find_multipaths {name}: every path that is not blacklisted"
        )));
    }
    if facts.in_wwids_file(&wwid) {
        return Ok(Answer::yes(format!("{wwid}: in the wwids file")));
    }
    if facts.has_map(&wwid) {
        return Ok(Answer::yes(format!(
            "{wwid}: a multipath map with this WWID exists"
        )));
    }
    if mode == FindMultipaths::Strict {
        return Ok(Answer::no(format!(
            "{wwid}: find_multipaths strict: not in the wwids file and no map"
        )));
    }
    if !facts.assembled() {
        return Ok(Answer {
            member: true,
            provisional: true,
            reason: format!(
                "{wwid}: find_multipaths {name}: mpath-boot has not run in this boot yet \
                 (no {ASSEMBLED_MARKER}): provisionally a path"
            ),
        });
    }
    let siblings = facts.siblings(&wwid);
    if siblings.is_empty() {
        Ok(Answer::no(format!(
            "{wwid}: find_multipaths {name}: the only path with this WWID, no map and not in the wwids file"
        )))
    } else {
        Ok(Answer::yes(format!(
            "{wwid}: find_multipaths {name}: also a path: {}",
            siblings.join(", ")
        )))
    }
}

/// Answers `--is-path DEVICE` (a kernel name or `/dev/NAME`) under `root`.
/// `find_multipaths` is `--find-multipaths`; it beats
/// `mpath_boot.find_multipaths=` on the kernel command line, as with
/// `--cmdline`. The kernel
/// command line is always read (no `--cmdline` needed). `Err` for a bad or
/// unknown device name or an unreadable configuration. With `-v3` the rule
/// that decided is printed on standard error.
pub fn is_path(
    root: &Path,
    device: &str,
    find_multipaths: Option<FindMultipaths>,
) -> Result<Answer, String> {
    let (disk, partition) = resolve(root, device)?;
    let mut system = System::new(root, &disk, find_multipaths);
    let answer = decide(&mut system)?;
    match &partition {
        Some(part) => debug!("{part}: partition of {disk}: {}", answer.reason),
        None => debug!("{disk}: {}", answer.reason),
    }
    Ok(answer)
}

/// The disk to judge for `device`, and the partition's name when `device`
/// is a partition of it.
pub fn resolve(root: &Path, device: &str) -> Result<(String, Option<String>), String> {
    let name = device.strip_prefix("/dev/").unwrap_or(device);
    let valid = !name.is_empty()
        && name.len() <= DEV_NAME_MAX
        && name != "."
        && name != ".."
        && !name.starts_with('-')
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
    if !valid {
        return Err(format!(
            "--is-path: {device:?} is not a kernel block device name (such as sda or /dev/sda)"
        ));
    }
    let block = root.join("sys/block");
    if block.join(name).exists() {
        return Ok((name.to_owned(), None));
    }
    let entries = fs::read_dir(&block)
        .map_err(|e| format!("--is-path: cannot list {}: {e}", block.display()))?;
    let mut disks: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|disk| {
            name.starts_with(disk.as_str())
                && block.join(disk).join(name).join("partition").exists()
        })
        .collect();
    disks.sort();
    match disks.pop() {
        Some(disk) => Ok((disk, Some(name.to_owned()))),
        None => Err(format!(
            "--is-path: no block device {name:?} in {}",
            block.display()
        )),
    }
}

/// Creates [`ASSEMBLED_MARKER`] under `root` (and its directory).
pub fn mark_assembled(root: &Path) -> Result<(), String> {
    let marker = under_root(root, ASSEMBLED_MARKER);
    if let Some(dir) = marker.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&marker)
        .map(drop)
        .map_err(|e| format!("cannot create {}: {e}", marker.display()))
}

fn under_root(root: &Path, file: &str) -> PathBuf {
    root.join(file.trim_start_matches('/'))
}

/// The configuration as the normal run compiles it (without the bindings
/// file check, which writes).
struct Configuration {
    blacklist: Blacklist,
    allow_usb: bool,
    find_multipaths: FindMultipaths,
    wwids_file: String,
}

/// The facts of one disk under a root, read when first asked.
pub struct System<'a> {
    root: &'a Path,
    disk: &'a str,
    /// `--find-multipaths`.
    argument: Option<FindMultipaths>,
    /// The kernel command line, and what [`bootargs`] makes of it.
    kernel: Option<(String, bootargs::BootArgs)>,
    scan: Option<Result<Discovery, String>>,
    config: Option<Result<Configuration, String>>,
}

impl<'a> System<'a> {
    pub fn new(
        root: &'a Path,
        disk: &'a str,
        find_multipaths: Option<FindMultipaths>,
    ) -> System<'a> {
        System {
            root,
            disk,
            argument: find_multipaths,
            kernel: None,
            scan: None,
            config: None,
        }
    }

    fn kernel(&mut self) -> &(String, bootargs::BootArgs) {
        let root = self.root;
        self.kernel.get_or_insert_with(|| {
            let path = root.join("proc/cmdline");
            let text = match read_small(&path, 64 * 1024) {
                Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                None => {
                    debug!(
                        "cannot read {}: taken as an empty kernel command line",
                        path.display()
                    );
                    String::new()
                }
            };
            let args = bootargs::parse(&text);
            for message in &args.ignored {
                debug!("{message}");
            }
            (text, args)
        })
    }

    fn scan(&mut self) -> Result<&Discovery, String> {
        let root = self.root;
        self.scan
            .get_or_insert_with(|| sysfs::scan(root).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn config(&mut self) -> Result<&Configuration, String> {
        if self.config.is_none() {
            let mode = self.argument.or(self.kernel().1.find_multipaths);
            self.config = Some(load_configuration(self.root, mode));
        }
        match &self.config {
            Some(Ok(config)) => Ok(config),
            Some(Err(e)) => Err(e.clone()),
            None => Err("no configuration".into()),
        }
    }
}

impl Facts for System<'_> {
    fn disabled_by(&mut self) -> Option<String> {
        let (text, args) = self.kernel();
        if args.disabled {
            return Some("rd.multipath=0 or mpath_boot=off".into());
        }
        // multipath-tools' 56-multipath.rules: IMPORT{cmdline} of nompath
        // (any value) and multipath (off).
        text.split_whitespace().find_map(|word| {
            let (key, value) = word.split_once('=').unwrap_or((word, "1"));
            let value = value.trim_matches('"');
            let off = match key {
                "nompath" => !value.is_empty(),
                "multipath" => value == "off",
                _ => false,
            };
            off.then(|| word.to_owned())
        })
    }

    fn multipath_holder(&mut self) -> Option<(String, String)> {
        let block = self.root.join("sys/block");
        let holders_dir = block.join(self.disk).join("holders");
        let mut holders = list_names(&holders_dir);
        holders.sort();
        holders.into_iter().find_map(|holder| {
            let uuid =
                dm_uuid(&holders_dir.join(&holder)).or_else(|| dm_uuid(&block.join(&holder)))?;
            let wwid = uuid
                .strip_prefix(UUID_PREFIX)
                .filter(|w| !w.is_empty())?
                .to_owned();
            Some((holder, wwid))
        })
    }

    fn identity(&mut self) -> Result<Identity, String> {
        let disk = self.disk;
        if !disk.starts_with("sd") {
            return Ok(Identity::NotAPath(
                "not a SCSI disk (sd*): mpath-boot takes SCSI disks only".into(),
            ));
        }
        let root = self.root;
        // This disk only: the scan's checks on every disk would make each
        // of N udev events read N disks.
        if !root.join("sys/block").join(disk).exists() {
            return Ok(Identity::NotAPath("not found by the sysfs scan".into()));
        }
        if let Err(why) = sysfs::examine(root, disk) {
            return Ok(Identity::NotAPath(format!(
                "not taken by the sysfs scan: {why}"
            )));
        }
        let config = self.config()?;
        Ok(match judge(root, config, disk) {
            Ok(wwid) => Identity::Path(wwid),
            Err(why) => Identity::NotAPath(why),
        })
    }

    fn find_multipaths(&mut self) -> Result<FindMultipaths, String> {
        self.config().map(|c| c.find_multipaths)
    }

    fn in_wwids_file(&mut self, wwid: &str) -> bool {
        let root = self.root;
        let Ok(config) = self.config() else {
            return false;
        };
        let (wwids, diagnostics) = wwids::read(root, &config.wwids_file);
        for d in &diagnostics {
            debug!("{d}");
        }
        wwids.contains(wwid)
    }

    fn has_map(&mut self, wwid: &str) -> bool {
        let block = self.root.join("sys/block");
        let wanted = format!("{UUID_PREFIX}{wwid}");
        list_names(&block)
            .iter()
            .filter(|name| name.starts_with("dm-"))
            .any(|name| dm_uuid(&block.join(name)).as_deref() == Some(wanted.as_str()))
    }

    fn assembled(&mut self) -> bool {
        under_root(self.root, ASSEMBLED_MARKER).exists()
    }

    fn siblings(&mut self, wwid: &str) -> Vec<String> {
        let (root, disk) = (self.root, self.disk);
        let names: Vec<String> = match self.scan() {
            Ok(scan) => scan
                .candidates
                .iter()
                .map(|c| c.name.as_str().to_owned())
                .filter(|name| name != disk)
                .collect(),
            Err(_) => return Vec::new(),
        };
        let Ok(config) = self.config() else {
            return Vec::new();
        };
        // The WWID first (a few small reads), the filters on a match only.
        names
            .into_iter()
            .filter(|name| Cached::read(root, name).is_ok_and(|c| c.wwid == wwid))
            .filter(|name| match judge(root, config, name) {
                Ok(_) => true,
                Err(why) => {
                    debug!("{name}: not counted as a path: {why}");
                    false
                }
            })
            .collect()
    }
}

/// Reads the configuration as the normal run does (`setup::load`), minus
/// the bindings file check. A main file that exists but cannot be read is
/// an error: the answer would rest on a configuration not seen. Problems
/// inside the files are shown with `-v3` only (the normal run reports them).
fn load_configuration(
    root: &Path,
    find_multipaths: Option<FindMultipaths>,
) -> Result<Configuration, String> {
    let main = under_root(root, load::MAIN_FILE);
    if main.metadata().is_ok() {
        fs::File::open(&main)
            .and_then(|mut f| f.read(&mut [0u8; 1]))
            .map_err(|e| format!("cannot read {}: {e}", main.display()))?;
    }
    let (config, diagnostics, file_present) = load::load(root);
    let builtin = hwtable::builtin();
    let devices: Vec<_> = builtin.iter().chain(&config.devices).cloned().collect();
    let (blacklist, more) = Blacklist::new(&config, &devices);
    let allow_usb = blacklist::usb_allowed(&config);
    let wwids_file = config
        .defaults
        .wwids_file
        .clone()
        .unwrap_or_else(|| setup::WWIDS_FILE.into());
    let command_line = CommandLine {
        find_multipaths,
        policy: None,
        bindings_read_only: true,
    };
    let (selector, last) = Selector::new(config, builtin, command_line, file_present);
    for d in diagnostics.iter().chain(&more).chain(&last) {
        debug!("{d}");
    }
    Ok(Configuration {
        blacklist,
        allow_usb,
        find_multipaths: selector.find_multipaths(),
        wwids_file,
    })
}

/// The WWID of disk `name` if the normal run would take it as a path
/// (after the sysfs scan accepted it), else why not. The same filters in
/// the same order as `assemble`: devnode and USB before any I/O, then the
/// udev properties, device, protocol and wwid rules on the identified path
/// (only the wwid rule for an offline device, which the probe never asks).
fn judge(root: &Path, config: &Configuration, name: &str) -> Result<String, String> {
    if let Some(why) = assemble::name_verdict(&config.blacklist, config.allow_usb, root, name, None) {
        return Err(why);
    }
    let cached = Cached::read(root, name)?;
    let properties;
    let identity = if cached.offline {
        None
    } else {
        properties = cached.properties(root, name);
        Some(assemble::Identity {
            properties: &properties,
            vendor: &cached.vendor,
            product: &cached.product,
            protocol: protocol::scsi_protocol(root, name).name(),
        })
    };
    match assemble::path_verdict(&config.blacklist, identity, &cached.wwid) {
        Some(verdict) => Err(format!("{}: {verdict}", cached.wwid)),
        None => Ok(cached.wwid),
    }
}

/// What the kernel cached of a disk's identity, as the probe reads it.
struct Cached {
    vendor: String,
    product: String,
    wwid: String,
    /// SCSI device state offline: the probe stops before INQUIRY.
    offline: bool,
    /// The kernel has the standard INQUIRY data (`inquiry` attribute).
    kernel_scanned: bool,
    page80: Option<Vec<u8>>,
    /// The udev properties of page 0x83 (and ata_id's, for an ATA disk
    /// that page does not name), as the WWID was chosen from them.
    props: Vec<(String, String)>,
}

impl Cached {
    /// The WWID as the probe derives it from cached data (page 0x83, else
    /// page 0x80, with the INQUIRY vendor and product). Where the probe
    /// would ask the device for something the kernel did not cache, there
    /// is no answer here.
    fn read(root: &Path, name: &str) -> Result<Cached, String> {
        let attrs = sysfs::SysfsAttributes::new(root, name);
        let mut small = [0u8; 64];
        let state = attrs
            .read(Attr::State, &mut small)
            .and_then(|n| core::str::from_utf8(small.get(..n)?).ok())
            .map(str::trim);
        let offline = matches!(state, Some("offline" | "transport-offline"));
        let mut buf = [0u8; 256];
        let standard = attrs.read(Attr::Inquiry, &mut buf).filter(|&n| n > 0);
        let kernel_scanned = standard.is_some();
        let (vendor, product) = match standard {
            Some(n) => {
                let inq = inquiry::parse(buf.get(..n).unwrap_or_default())
                    .map_err(|e| format!("cached standard INQUIRY: {e}"))?;
                if inq.qualifier != 0 || inq.device_type != 0 {
                    return Err(format!(
                        "not a disk (peripheral qualifier {}, type {:#04x})",
                        inq.qualifier, inq.device_type
                    ));
                }
                (
                    inq.vendor.as_str().to_owned(),
                    inq.product.as_str().to_owned(),
                )
            }
            None => {
                // Kernels before the `inquiry` attribute: its fields as
                // the kernel shows them (space padded).
                let device = root.join("sys/block").join(name).join("device");
                let field = |attr: &str| {
                    read_small(&device.join(attr), 256)
                        .map(|b| String::from_utf8_lossy(&b).trim_end().to_owned())
                };
                match (field("vendor"), field("model")) {
                    (Some(vendor), Some(model)) => (vendor, model),
                    _ => return Err(
                        "the kernel cached no INQUIRY data (no inquiry, vendor, model attributes)"
                            .into(),
                    ),
                }
            }
        };
        let mut page83 = vec![0u8; PAGE_MAX];
        let page83 = attrs
            .read(Attr::Vpd83, &mut page83)
            .filter(|&n| n > 0)
            .and_then(|n| page83.get(..n));
        let mut page80 = vec![0u8; PAGE_MAX];
        let page80 = attrs
            .read(Attr::Vpd80, &mut page80)
            .filter(|&n| n > 0)
            .and_then(|n| page80.get(..n));
        // An offline device is identified from page 0x83 only (the probe's
        // stale path); otherwise page 0x80 is the fallback.
        let fallback = if offline { None } else { page80 };
        // An ATA disk: udev's ID_SERIAL, as the probe takes it (not for
        // USB, where usb_id has the last word).
        let mut props = properties::scsi_properties(&vendor, &product, page83);
        let usb = kernel_scanned && protocol::is_usb(root, name);
        let ata_id = || crate::probe::cached_ata_id(&attrs);
        let wwid = identify::disk_wwid(&vendor, &product, usb, &mut props, ata_id, page83, || fallback.map(Ok))
            .map_err(|e| format!("no usable WWID from the pages the kernel cached: {e}"))?;
        Ok(Cached {
            wwid: wwid.as_str().to_owned(),
            page80: page80.map(<[u8]>::to_vec),
            props,
            vendor,
            product,
            offline,
            kernel_scanned,
        })
    }

    /// The udev properties the probe derives for the `property` rules:
    /// from INQUIRY and page 0x83 (sg3_utils' and scsi_id's), usb_id's
    /// serial for a USB disk, and the unit serial number of page 0x80.
    fn properties(&self, root: &Path, name: &str) -> Vec<(String, String)> {
        let (vendor, product) = (self.vendor.as_str(), self.product.as_str());
        let mut props = self.props.clone();
        if self.kernel_scanned && protocol::is_usb(root, name) {
            properties::set_usb_serial(&mut props, vendor, product);
        }
        let serial = self
            .page80
            .as_deref()
            .and_then(|page| vpd::unit_serial(page).ok())
            .and_then(|bytes| core::str::from_utf8(bytes).ok())
            .map(str::trim)
            .unwrap_or_default();
        if !serial.is_empty() {
            props.push(("ID_SCSI_SERIAL".into(), serial.to_owned()));
            crate::identify::properties::sort_by_name(&mut props);
        }
        props
    }
}

/// The DM UUID of a dm device directory (`.../dm-0`), newline removed.
fn dm_uuid(device: &Path) -> Option<String> {
    let bytes = read_small(&device.join("dm/uuid"), 256)?;
    Some(String::from_utf8_lossy(&bytes).trim().to_owned())
}

fn list_names(dir: &Path) -> Vec<String> {
    crate::sys::nodes::names_in(dir).unwrap_or_default()
}

/// At most `limit` bytes of a file; `None` when it cannot be read.
fn read_small(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(limit)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Canned facts; records which were asked.
    #[derive(Default)]
    struct Fake {
        disabled: Option<&'static str>,
        holder: Option<(&'static str, &'static str)>,
        identity: Option<Identity>,
        mode: Option<FindMultipaths>,
        config_error: bool,
        wwids: Vec<&'static str>,
        maps: Vec<&'static str>,
        assembled: bool,
        siblings: Vec<&'static str>,
        asked: Vec<&'static str>,
    }

    impl Facts for Fake {
        fn disabled_by(&mut self) -> Option<String> {
            self.asked.push("cmdline");
            self.disabled.map(str::to_owned)
        }
        fn multipath_holder(&mut self) -> Option<(String, String)> {
            self.asked.push("holder");
            self.holder.map(|(h, w)| (h.to_owned(), w.to_owned()))
        }
        fn identity(&mut self) -> Result<Identity, String> {
            self.asked.push("identity");
            if self.config_error {
                return Err("cannot read /etc/multipath.conf".into());
            }
            Ok(self
                .identity
                .clone()
                .unwrap_or(Identity::Path("3600a".into())))
        }
        fn find_multipaths(&mut self) -> Result<FindMultipaths, String> {
            self.asked.push("mode");
            Ok(self.mode.unwrap_or(FindMultipaths::On))
        }
        fn in_wwids_file(&mut self, wwid: &str) -> bool {
            self.asked.push("wwids");
            self.wwids.contains(&wwid)
        }
        fn has_map(&mut self, wwid: &str) -> bool {
            self.asked.push("map");
            self.maps.contains(&wwid)
        }
        fn assembled(&mut self) -> bool {
            self.asked.push("marker");
            self.assembled
        }
        fn siblings(&mut self, _wwid: &str) -> Vec<String> {
            self.asked.push("siblings");
            self.siblings.iter().map(|s| (*s).to_owned()).collect()
        }
    }

    fn answer(fake: &mut Fake) -> (bool, bool) {
        let a = decide(fake).expect("decided");
        (a.member, a.provisional)
    }

    const YES: (bool, bool) = (true, false);
    const NO: (bool, bool) = (false, false);
    const MAYBE: (bool, bool) = (true, true);

    #[test]
    fn kernel_command_line_beats_everything() {
        let mut fake = Fake {
            disabled: Some("nompath"),
            holder: Some(("dm-0", "3600a")),
            mode: Some(FindMultipaths::Greedy),
            ..Fake::default()
        };
        assert_eq!(answer(&mut fake), NO);
        assert_eq!(fake.asked, ["cmdline"]);
    }

    #[test]
    fn a_multipath_holder_says_yes_before_identification() {
        let mut fake = Fake {
            holder: Some(("dm-3", "3600a")),
            identity: Some(Identity::NotAPath("no WWID".into())),
            mode: Some(FindMultipaths::Strict),
            ..Fake::default()
        };
        let a = decide(&mut fake).unwrap();
        assert!(a.member && !a.provisional);
        assert!(
            a.reason.contains("dm-3") && a.reason.contains("3600a"),
            "{}",
            a.reason
        );
        assert_eq!(fake.asked, ["cmdline", "holder"]);
    }

    #[test]
    fn not_a_path_says_no_whatever_the_mode() {
        for mode in [
            FindMultipaths::Off,
            FindMultipaths::Greedy,
            FindMultipaths::On,
        ] {
            let mut fake = Fake {
                identity: Some(Identity::NotAPath("blacklisted by wwid".into())),
                mode: Some(mode),
                wwids: vec!["3600a"],
                ..Fake::default()
            };
            let a = decide(&mut fake).unwrap();
            assert!(!a.member, "{mode:?}");
            assert_eq!(a.reason, "blacklisted by wwid");
        }
    }

    #[test]
    fn off_and_greedy_take_a_single_path() {
        for mode in [FindMultipaths::Off, FindMultipaths::Greedy] {
            let mut fake = Fake {
                mode: Some(mode),
                ..Fake::default()
            };
            assert_eq!(answer(&mut fake), YES, "{mode:?}");
            assert!(!fake.asked.contains(&"wwids"));
        }
    }

    #[test]
    fn wwids_file_or_map_say_yes_in_every_other_mode() {
        for mode in [
            FindMultipaths::Strict,
            FindMultipaths::On,
            FindMultipaths::Smart,
        ] {
            let mut in_file = Fake {
                mode: Some(mode),
                wwids: vec!["3600a"],
                ..Fake::default()
            };
            assert_eq!(answer(&mut in_file), YES, "{mode:?} wwids file");
            let mut mapped = Fake {
                mode: Some(mode),
                maps: vec!["3600a"],
                ..Fake::default()
            };
            assert_eq!(answer(&mut mapped), YES, "{mode:?} map");
            let mut other = Fake {
                mode: Some(mode),
                wwids: vec!["3600b"],
                maps: vec!["3600c"],
                ..Fake::default()
            };
            assert_ne!(answer(&mut other), YES, "{mode:?} other WWIDs");
        }
    }

    #[test]
    fn strict_says_no_without_file_or_map_even_before_the_run() {
        let mut fake = Fake {
            mode: Some(FindMultipaths::Strict),
            siblings: vec!["sdb"],
            ..Fake::default()
        };
        assert_eq!(answer(&mut fake), NO);
        assert!(!fake.asked.contains(&"marker"));
    }

    #[test]
    fn on_and_smart_are_provisional_before_the_run() {
        for mode in [FindMultipaths::On, FindMultipaths::Smart] {
            let mut fake = Fake {
                mode: Some(mode),
                ..Fake::default()
            };
            assert_eq!(answer(&mut fake), MAYBE, "{mode:?}");
            assert!(!fake.asked.contains(&"siblings"));
        }
    }

    #[test]
    fn on_and_smart_count_siblings_after_the_run() {
        for mode in [FindMultipaths::On, FindMultipaths::Smart] {
            let mut alone = Fake {
                mode: Some(mode),
                assembled: true,
                ..Fake::default()
            };
            assert_eq!(answer(&mut alone), NO, "{mode:?} alone");
            let mut pair = Fake {
                mode: Some(mode),
                assembled: true,
                siblings: vec!["sdc"],
                ..Fake::default()
            };
            let a = decide(&mut pair).unwrap();
            assert!(a.member && !a.provisional);
            assert!(a.reason.contains("sdc"), "{}", a.reason);
        }
    }

    #[test]
    fn a_configuration_error_is_no_answer() {
        let mut fake = Fake {
            config_error: true,
            ..Fake::default()
        };
        assert!(decide(&mut fake).is_err());
    }

    #[test]
    fn lines_for_udev() {
        assert_eq!(
            Answer::yes(String::new()).lines(),
            "DM_MULTIPATH_DEVICE_PATH=1\n"
        );
        assert_eq!(
            Answer::no(String::new()).lines(),
            "DM_MULTIPATH_DEVICE_PATH=0\n"
        );
        let maybe = Answer {
            member: true,
            provisional: true,
            reason: String::new(),
        };
        assert_eq!(
            maybe.lines(),
            "DM_MULTIPATH_DEVICE_PATH=1\nMPATH_BOOT_PROVISIONAL=1\n"
        );
    }

    #[test]
    fn device_names() {
        let temp = crate::test_support::TempRoot::new("membership-names");
        temp.write("sys/block/sda/dev", "8:0\n");
        temp.write("sys/block/sda/sda1/partition", "1\n");
        let root = &temp.0;
        assert_eq!(resolve(root, "sda"), Ok(("sda".into(), None)));
        assert_eq!(resolve(root, "/dev/sda"), Ok(("sda".into(), None)));
        assert_eq!(
            resolve(root, "sda1"),
            Ok(("sda".into(), Some("sda1".into())))
        );
        for bad in [
            "",
            "..",
            ".",
            "../x",
            "a/b",
            "/dev/",
            "-l",
            "sd a",
            "sdz",
            "sda2",
            &"x".repeat(40),
        ] {
            assert!(resolve(root, bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn marker_is_made_and_found() {
        let temp = crate::test_support::TempRoot::new("membership-marker");
        let mut system = System::new(&temp.0, "sda", None);
        assert!(!system.assembled());
        mark_assembled(&temp.0).unwrap();
        assert!(system.assembled());
        // Again: still fine.
        mark_assembled(&temp.0).unwrap();
    }
}
