//! Probing one path: is it alive, what is it, and how good is it.
//!
//! Pure logic over two seams: [`DeviceAttributes`] (data the kernel already
//! cached, read from sysfs without any I/O to the device) and
//! [`ScsiTransport`] (read-only commands: TEST UNIT READY, INQUIRY, REPORT
//! TARGET PORT GROUPS). TEST UNIT READY goes first, so a dead path costs
//! one command timeout and nothing more.

use std::time::Duration;

use heapless::String;

use crate::alua::{self, AccessState};
use crate::check::{self, TurVerdict};
use crate::identify::{self, Wwid};
use crate::config::select::Tpgs;
use crate::path::{DevName, DevNum, Hctl, Path, PathState};
use crate::plan::{Identity, Planner, PrioPlan};
use crate::checker::{self, Checker};
use crate::prio::{self, weightedpath::WwnNames, PrioContext};
use crate::scsi::{cdb, inquiry, rtpg, vpd};
use crate::transport::{Completion, ScsiTransport, TransportError};

/// Largest VPD page or RTPG answer read (multipath-tools reads 4096 too).
pub const PAGE_MAX: usize = 4096;

/// A zeroed buffer for one VPD page or command answer. On the heap: probe
/// threads run a thousand probes, and a stack keeps every page it touched.
/// Reused within a thread: musl's allocator maps and unmaps a lone 4 KiB
/// block on every allocation and free (two system calls and a page fault
/// per probe and page).
fn page_buffer() -> PageBuffer {
    let spare = SPARE_PAGES.try_with(|spare| spare.borrow_mut().pop()).ok().flatten();
    PageBuffer(spare.unwrap_or_else(|| vec![0u8; PAGE_MAX]))
}

/// A page buffer with the length of the data read into it.
struct Filled(PageBuffer, usize);

impl AsRef<[u8]> for Filled {
    fn as_ref(&self) -> &[u8] {
        self.0.get(..self.1).unwrap_or(&self.0)
    }
}

/// Page buffers a probe thread keeps between probes (a probe holds at most
/// three at once).
const SPARE_PAGES_MAX: usize = 3;

std::thread_local! {
    static SPARE_PAGES: std::cell::RefCell<std::vec::Vec<std::vec::Vec<u8>>> =
        const { std::cell::RefCell::new(std::vec::Vec::new()) };
}

/// A page from [`page_buffer`]: wiped and kept for the thread's next
/// probe when dropped, so one path's data never reaches another's parse.
struct PageBuffer(std::vec::Vec<u8>);

impl core::ops::Deref for PageBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl core::ops::DerefMut for PageBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl Drop for PageBuffer {
    fn drop(&mut self) {
        let mut page = core::mem::take(&mut self.0);
        page.fill(0);
        let _ = SPARE_PAGES.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < SPARE_PAGES_MAX {
                spare.push(page);
            }
        });
    }
}
/// First allocation length for VPD pages; larger pages are asked again.
const VPD_FIRST_ALLOC: usize = 255;

/// Per-device data the kernel has cached (sysfs), read without device I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// Standard INQUIRY data (`device/inquiry`).
    Inquiry,
    /// VPD page 0x83 (`device/vpd_pg83`).
    Vpd83,
    /// VPD page 0x80 (`device/vpd_pg80`).
    Vpd80,
    /// SCSI device state (`device/state`).
    State,
    /// ALUA state from scsi_dh_alua (`device/access_state`).
    AccessState,
    /// ALUA PREF bit from scsi_dh_alua (`device/preferred_path`).
    PreferredPath,
    /// VPD page 0x00, the supported pages (`device/vpd_pg0`).
    Vpd0,
    /// VPD page 0x89, ATA Information (`device/vpd_pg89`): libata's copy
    /// of the disk's IDENTIFY DEVICE data.
    Vpd89,
}

impl Attr {
    /// The attribute's file name under the SCSI device's sysfs directory.
    pub fn sysfs_name(self) -> &'static str {
        match self {
            Attr::Inquiry => "inquiry",
            Attr::Vpd83 => "vpd_pg83",
            Attr::Vpd80 => "vpd_pg80",
            Attr::State => "state",
            Attr::AccessState => "access_state",
            Attr::PreferredPath => "preferred_path",
            Attr::Vpd0 => "vpd_pg0",
            Attr::Vpd89 => "vpd_pg89",
        }
    }
}

/// Source of cached attributes; `None` means "not cached, ask the device".
pub trait DeviceAttributes {
    fn read(&self, attr: Attr, buf: &mut [u8]) -> Option<usize>;
}

/// No cached data at all (no sysfs): everything comes from SCSI commands.
pub struct NoAttributes;

impl DeviceAttributes for NoAttributes {
    fn read(&self, _attr: Attr, _buf: &mut [u8]) -> Option<usize> {
        None
    }
}

/// A block device found by discovery, before any SCSI command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub name: DevName,
    pub hctl: Hctl,
    pub devnum: DevNum,
    /// Size in 512-byte sectors.
    pub sectors: u64,
    /// The matching SCSI generic node, used for SG_IO when present.
    pub sg: Option<SgNode>,
    /// Hardware handler attached by the kernel (sysfs `dh_state`).
    pub handler: Option<String<16>>,
    /// Logical block size in bytes: what the read checkers read one of.
    /// `None` from the sysfs scan: `queue/logical_block_size` is read only
    /// when such a checker runs (most paths use `tur`).
    pub block_size: Option<u32>,
    /// The target's node name (sysfs scan; empty from the ioctl scan).
    pub node_name: crate::path::NodeName,
}

/// A SCSI generic node: name (`sg3`) and device number (21:3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SgNode {
    pub name: DevName,
    pub devnum: DevNum,
}

/// Probe settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Timeout of every SCSI command.
    pub timeout: Duration,
    /// TEST UNIT READY attempts when the device asks to retry (UNIT ATTENTION).
    pub tur_attempts: u8,
    /// Ask the device for its unit serial number (page 0x80) when sysfs has
    /// not cached it: only `group_by_serial` needs it, so a configuration
    /// without that policy spares every path one command.
    pub serial: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            timeout: Duration::from_secs(5),
            tur_attempts: 3,
            serial: false,
        }
    }
}

/// What probing found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probed {
    /// A usable path (up or ghost).
    Path(Box<Path>),
    /// A stale path: failed TEST UNIT READY, offline, or unreachable. The
    /// WWID when the kernel cached page 0x83 (no I/O needed): multipath-tools
    /// counts such a path for `find_multipaths` from udev's database, so a
    /// LU with one dead path of two still gets its map.
    Down(std::string::String, Option<Wwid>),
    /// Not a multipath candidate (not a disk, no usable WWID).
    Skipped(std::string::String),
}

/// What is known of a path before its probe, sparing it a command or a
/// sysfs walk.
#[derive(Debug, Default)]
pub struct Pretested {
    /// The answer to its first TEST UNIT READY, sent together with every
    /// other path's (so paths that never answer cost one timeout in all).
    pub tur: Option<Result<Completion, TransportError>>,
    /// Whether the disk is USB-attached, when discovery found out already.
    pub usb: Option<bool>,
}

/// True when sysfs says the device is offline: the probe calls it stale
/// without sending it anything.
pub fn is_offline(attrs: &dyn DeviceAttributes) -> bool {
    let mut small = [0u8; 64];
    matches!(attr_text(attrs, Attr::State, &mut small), Some("offline" | "transport-offline"))
}

/// Probes one candidate. `transport` is the opened pass-through, or why it
/// could not be opened; `planner` chooses the prioritizer once the device
/// is identified; `root` is where `dev/` lies (for the `iet` prioritizer).
pub fn probe(
    candidate: &Candidate,
    attrs: &dyn DeviceAttributes,
    transport: Result<&dyn ScsiTransport, &TransportError>,
    options: &ProbeOptions,
    planner: &dyn Planner,
    root: &std::path::Path,
) -> Probed {
    probe_pretested(candidate, attrs, transport, Pretested::default(), options, planner, root)
}

/// [`probe`], with what was learned of the path beforehand.
pub fn probe_pretested(
    candidate: &Candidate,
    attrs: &dyn DeviceAttributes,
    transport: Result<&dyn ScsiTransport, &TransportError>,
    pretested: Pretested,
    options: &ProbeOptions,
    planner: &dyn Planner,
    root: &std::path::Path,
) -> Probed {
    let mut small = [0u8; 64];
    if let Some(state) = attr_text(attrs, Attr::State, &mut small) {
        if state == "offline" || state == "transport-offline" {
            return down(format!("device state is {state}"), attrs);
        }
    }
    let transport = match transport {
        Ok(t) => t,
        Err(e) => return down(e.to_string(), attrs),
    };
    let tur = match test_unit_ready(transport, options, pretested.tur) {
        Err(failure) if !failure.device_answered => return down(failure.why, attrs),
        answered => answered,
    };

    let mut page = page_buffer();
    let inquiry = match cached_or_inquiry(attrs, Attr::Inquiry, transport, None, options, &mut page)
        .and_then(|n| inquiry::parse(&page[..n]).map_err(|e| e.to_string()))
    {
        Ok(inq) => inq,
        Err(why) => return not_identified(tur, format!("standard INQUIRY: {why}"), attrs),
    };
    if inquiry.qualifier != 0 || inquiry.device_type != 0 {
        return Probed::Skipped(format!(
            "not a disk (peripheral qualifier {}, type {:#04x})",
            inquiry.qualifier, inquiry.device_type
        ));
    }

    let page83_len = cached_or_inquiry(attrs, Attr::Vpd83, transport, Some(0x83), options, &mut page).ok();
    let page83 = page83_len.map(|n| &page[..n]);

    // A path that failed TEST UNIT READY and does not answer INQUIRY now
    // either (a port taken offline): 0.9.4 finds no TPGS on it (it asks the
    // device, never the cache), so scsi_dh_alua's stale cache is not used.
    let answers_inquiry = tur.is_ok() || live_inquiry(transport, options);
    let alua_prio = if inquiry.tpgs != 0 && answers_inquiry {
        alua_priority(attrs, transport, page83, options)
    } else {
        None
    };
    // multipath-tools: ALUA that cannot be read counts as no ALUA.
    let tpgs = alua_prio.is_some();
    // The `sysfs` prioritizer reads scsi_dh_alua's cache of the port's ALUA
    // state; in early boot that cache lags (see alua_priority), so the
    // device's own answer wins when there is one. Same values either way.
    // When the device answered, sysfs only has to be readable: its
    // `preferred_path` is not needed (nor read).
    let sysfs_prio = match alua_prio {
        _ if !answers_inquiry => None,
        Some(answered) => sysfs_access_state(attrs).map(|_| answered),
        None => sysfs_alua_priority(attrs),
    };
    // udev's sg3_utils rules read VPD pages from sysfs when the kernel has
    // scanned the device (it has an `inquiry` attribute) and, if a page is
    // not there (USB mass storage: the kernel skips VPD), export nothing
    // from it. So do the properties here, as the `property` blacklist sees them.
    let kernel_scanned = is_cached(attrs, Attr::Inquiry);
    let udev_sees = |attr| !kernel_scanned || is_cached(attrs, attr);
    let udev_page83 = page83.filter(|_| udev_sees(Attr::Vpd83));
    let mut properties =
        identify::properties::scsi_properties(inquiry.vendor.as_str(), inquiry.product.as_str(), udev_page83);
    let usb = kernel_scanned
        && pretested
            .usb
            .unwrap_or_else(|| crate::discover::protocol::is_usb(root, candidate.name.as_str()));
    // An ATA disk is named by udev's ID_SERIAL (sg3_utils', else ata_id's),
    // which 0.9.4 takes as its WWID. Not modelled for USB (usb_id then
    // sets ID_SERIAL after ata_id): those keep the page 0x83 WWID.
    let ata_id = || {
        let mut page89 = page_buffer();
        let n = cached_or_inquiry(attrs, Attr::Vpd89, transport, Some(0x89), options, &mut page89).ok()?;
        identify::ata::AtaId::from_vpd89(page89.get(..n)?)
    };
    // Page 0x80 is only asked for when page 0x83 gave nothing usable.
    let page80 = || {
        let mut page = page_buffer();
        Some(cached_or_inquiry(attrs, Attr::Vpd80, transport, Some(0x80), options, &mut page).map(|n| Filled(page, n)))
    };
    let (vendor, product) = (inquiry.vendor.as_str(), inquiry.product.as_str());
    let wwid = match identify::disk_wwid(vendor, product, usb, &mut properties, ata_id, page83, page80) {
        Ok(wwid) => wwid,
        Err(why) => return not_identified(tur, format!("no usable WWID: {why}"), attrs),
    };
    if usb {
        // 60-persistent-storage's usb_id names USB disks (and so scsi_id
        // never runs): ID_SERIAL is set, no SCSI_IDENT_*/ID_WWN, which
        // 0.9.4's property rule blacklists even with allow_usb_devices yes.
        identify::properties::set_usb_serial(&mut properties, inquiry.vendor.as_str(), inquiry.product.as_str());
    }
    let mut page80 = page_buffer();
    let serial_page = match attrs.read(Attr::Vpd80, &mut page80) {
        Some(n) if n > 0 => Ok(n.min(PAGE_MAX)),
        _ if options.serial => cached_or_inquiry(attrs, Attr::Vpd80, transport, Some(0x80), options, &mut page80),
        _ => Err("not cached".into()),
    };
    let serial: String<64> = serial_page
        .ok()
        .and_then(|n| vpd::unit_serial(&page80[..n]).ok())
        .and_then(|bytes| core::str::from_utf8(bytes).ok())
        .map(|text| truncated(text.trim()))
        .unwrap_or_default();
    if !serial.is_empty() && udev_sees(Attr::Vpd80) {
        // scsi_id (60-persistent-storage) exports the unit serial number.
        properties.push(("ID_SCSI_SERIAL".into(), serial.to_string()));
        identify::properties::sort_by_name(&mut properties);
    }

    let (vendor, product, revision) = (inquiry.vendor.as_str(), inquiry.product.as_str(), inquiry.revision.as_str());
    let vpd_c9_vac1 = planner.wants_vpd_c9(vendor, product, revision)
        && may_have_vpd(attrs, 0xc9)
        && cached_or_inquiry(&NoAttributes, Attr::Vpd83, transport, Some(0xc9), options, &mut page80)
            .is_ok_and(|n| page80.get(4..8.min(n)) == Some(&b"vac1"[..]));
    let identity = Identity {
        vendor,
        product,
        revision,
        wwid: wwid.as_str(),
        tpgs: if tpgs { Tpgs::from_inquiry(inquiry.tpgs) } else { Tpgs::None },
        access_state_readable: sysfs_prio.is_some(),
        vpd_c9_vac1,
    };
    let plan = planner.plan(&identity);
    // A path the checker calls down is still identified: it joins its map
    // as a failed path (0.9.4 coalesces PATH_DOWN paths with a WWID).
    let block_size = || {
        candidate
            .block_size
            .unwrap_or_else(|| crate::discover::sysfs::logical_block_size(root, candidate.name.as_str()))
    };
    let (state, fault) = match checked_state(&plan.checker, tur, transport, options, block_size) {
        Ok(state) => (state, std::string::String::new()),
        Err(why) => (PathState::Faulty, why),
    };
    let context = PrioContext {
        args: "",
        dev_name: candidate.name.as_str(),
        hctl: candidate.hctl,
        serial: serial.as_str(),
        wwn: WwnNames::not_fc(candidate.node_name.as_str()),
        root,
    };
    let priority = match &plan.prio {
        PrioPlan::Alua => alua_prio.map_or(PRIO_UNDEF, to_i32),
        PrioPlan::Sysfs => sysfs_prio.map_or(PRIO_UNDEF, to_i32),
        // No state to tell how bad a ghost is: keep it behind active paths.
        PrioPlan::Const if state == PathState::Ghost => 0,
        PrioPlan::Const => CONST_PRIORITY,
        PrioPlan::Device { prioritizer, args } => {
            let context = PrioContext { args, ..context };
            prio::run(*prioritizer, transport, options.timeout, &context).map_or(PRIO_UNDEF, to_i32)
        }
        PrioPlan::Unknown(_) => PRIO_UNDEF,
    };

    Probed::Path(Box::new(Path {
        name: candidate.name.clone(),
        hctl: candidate.hctl,
        devnum: candidate.devnum,
        sectors: candidate.sectors,
        vendor: inquiry.vendor,
        product: inquiry.product,
        wwid: wwid.into(),
        state,
        priority,
        handler: candidate.handler.clone(),
        tpgs,
        revision: inquiry.revision.clone(),
        serial,
        node_name: candidate.node_name.clone(),
        alua_prio,
        sysfs_prio,
        properties,
        // Printed at -v3 only: a thousand paths' worth is not kept for nothing.
        prio_explained: if crate::log::enabled(3) { plan.explained } else { std::string::String::new() },
        fault,
        ..Path::default()
    }))
}

/// multipath-tools' `const` prioritizer value for devices without ALUA.
pub const CONST_PRIORITY: i32 = 1;

/// multipath-tools' PRIO_UNDEF: a prioritizer that failed. Kept as a
/// value, as multipath-tools keeps it (it groups and averages with -1).
pub const PRIO_UNDEF: i32 = -1;

fn to_i32(priority: u32) -> i32 {
    i32::try_from(priority).unwrap_or(i32::MAX)
}

/// A path that could not be identified: skipped, unless TEST UNIT READY
/// already found it down (then it is a stale path, for that reason).
fn not_identified(tur: Result<PathState, TurFailure>, why: std::string::String, attrs: &dyn DeviceAttributes) -> Probed {
    match tur {
        Err(failure) => down(failure.why, attrs),
        Ok(_) => Probed::Skipped(why),
    }
}

/// A stale path, with its WWID when sysfs cached page 0x83.
fn down(why: std::string::String, attrs: &dyn DeviceAttributes) -> Probed {
    let mut page = page_buffer();
    let wwid = attrs
        .read(Attr::Vpd83, &mut page)
        .filter(|&n| n > 0)
        .and_then(|n| {
            let mut inquiry = [0u8; 96];
            let m = attrs.read(Attr::Inquiry, &mut inquiry)?;
            let inq = inquiry::parse(inquiry.get(..m)?).ok()?;
            let (vendor, product) = (inq.vendor.as_str(), inq.product.as_str());
            // From the cached pages only, page 0x83 and (an ATA disk) 0x89;
            // taken as not over USB, which is not looked up for a stale path.
            let mut props = identify::properties::scsi_properties(vendor, product, page.get(..n));
            let no_page80 = || None::<Result<&[u8], _>>;
            identify::disk_wwid(vendor, product, false, &mut props, || cached_ata_id(attrs), page.get(..n), no_page80)
                .ok()
        });
    Probed::Down(why, wwid)
}

/// The IDENTIFY DEVICE data of an ATA disk as sysfs cached it (page 0x89).
pub fn cached_ata_id(attrs: &dyn DeviceAttributes) -> Option<identify::ata::AtaId> {
    let mut page = page_buffer();
    let n = attrs.read(Attr::Vpd89, &mut page).filter(|&n| n > 0)?;
    identify::ata::AtaId::from_vpd89(page.get(..n)?)
}

/// The longest prefix of `text` that fits a fixed-capacity string.
fn truncated<const N: usize>(text: &str) -> String<N> {
    let mut out = String::new();
    for c in text.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

/// The `sysfs` prioritizer: scsi_dh_alua's `access_state` (and
/// `preferred_path`), with the alua prioritizer's values.
fn sysfs_alua_priority(attrs: &dyn DeviceAttributes) -> Option<u32> {
    let state = sysfs_access_state(attrs)?;
    let mut small = [0u8; 8];
    let preferred = attr_text(attrs, Attr::PreferredPath, &mut small) == Some("1");
    Some(alua::priority(state, preferred))
}

/// scsi_dh_alua's `access_state`, when it reads as an ALUA state.
fn sysfs_access_state(attrs: &dyn DeviceAttributes) -> Option<AccessState> {
    let mut small = [0u8; 64];
    attr_text(attrs, Attr::AccessState, &mut small).and_then(AccessState::from_sysfs)
}

/// ALUA priority from REPORT TARGET PORT GROUPS for the path's port group,
/// else from scsi_dh_alua's sysfs state. `None` when neither answers.
///
/// The device is asked first because sysfs lags in early boot: until
/// scsi_dh_alua's first RTPG completes (asynchronously, after the device
/// appears), `access_state` reads "active/optimized" for every port. Seen
/// on Debian's 6.1 kernel with scsi_debug: 32 of 64 paths read as optimized
/// right after discovery were non-optimized a few seconds later.
fn alua_priority(
    attrs: &dyn DeviceAttributes,
    transport: &dyn ScsiTransport,
    page83: Option<&[u8]>,
    options: &ProbeOptions,
) -> Option<u32> {
    if let Some(priority) = page83.and_then(|page| rtpg_priority(transport, page, options)) {
        return Some(priority);
    }
    sysfs_alua_priority(attrs)
}

fn rtpg_priority(transport: &dyn ScsiTransport, page83: &[u8], options: &ProbeOptions) -> Option<u32> {
    let group_id = vpd::target_port_group(page83)?;
    let mut buf = page_buffer();
    let command = cdb::report_target_port_groups(PAGE_MAX as u32);
    let completion = transport.execute(&command, &mut buf, options.timeout).ok()?;
    if !command_succeeded(&completion) {
        return None;
    }
    let group = rtpg::find_group(&buf[..completion.transferred.min(buf.len())], false, group_id).ok()??;
    Some(alua::priority(group.state, group.preferred))
}

/// Why TEST UNIT READY found a path down, and whether the device itself
/// answered (with sense data): then a configured checker other than `tur`
/// may still judge it (an HP/Compaq passive port answers NOT READY).
struct TurFailure {
    why: std::string::String,
    device_answered: bool,
}

fn test_unit_ready(
    transport: &dyn ScsiTransport,
    options: &ProbeOptions,
    mut first: Option<Result<Completion, TransportError>>,
) -> Result<PathState, TurFailure> {
    let command = cdb::test_unit_ready();
    for _ in 0..options.tur_attempts.max(1) {
        let completion = first
            .take()
            .unwrap_or_else(|| transport.execute(&command, &mut [], options.timeout))
            .map_err(|e| TurFailure {
                why: format!("TEST UNIT READY: {e}"),
                device_answered: false,
            })?;
        match check::classify(&completion) {
            TurVerdict::State(PathState::Down) if completion.host_status == DID_TIME_OUT => {
                return Err(TurFailure {
                    why: format!(
                        "TEST UNIT READY timed out after {} ms ({})",
                        options.timeout.as_millis(),
                        describe(&completion)
                    ),
                    device_answered: false,
                })
            }
            TurVerdict::State(PathState::Down) => {
                return Err(TurFailure {
                    why: format!("TEST UNIT READY failed ({})", describe(&completion)),
                    device_answered: completion.host_status == 0
                        && completion.status == crate::transport::status::CHECK_CONDITION,
                })
            }
            TurVerdict::State(state) => return Ok(state),
            TurVerdict::Retry => continue,
        }
    }
    Err(TurFailure {
        why: format!(
            "TEST UNIT READY still asked to retry after {} attempts",
            options.tur_attempts.max(1)
        ),
        device_answered: true,
    })
}

/// The path's state by the configured checker. TEST UNIT READY ran first
/// (so a dead path costs one timeout); its verdict stands for `tur` (and an
/// unknown checker name); `none` calls the path up; any other checker runs
/// its own read-only commands and decides.
fn checked_state(
    checker: &str,
    tur: Result<PathState, TurFailure>,
    transport: &dyn ScsiTransport,
    options: &ProbeOptions,
    block_size: impl FnOnce() -> u32,
) -> Result<PathState, std::string::String> {
    match Checker::from_name(checker) {
        Some(Checker::None) => Ok(PathState::Up),
        Some(Checker::Tur) | None => tur.map_err(|failure| failure.why),
        Some(other) => checker::check_bounded(other, transport, options.timeout, block_size(), options.tur_attempts),
    }
}

fn describe(c: &Completion) -> std::string::String {
    match crate::scsi::sense::parse(&c.sense) {
        Some(s) => format!(
            "status {:#04x}, sense key {:#x}, ASC/ASCQ {:02x}/{:02x}",
            c.status, s.key, s.asc, s.ascq
        ),
        None => format!(
            "status {:#04x}, host status {:#06x}{}, driver status {:#06x}",
            c.status,
            c.host_status,
            host_status_name(c.host_status),
            c.driver_status
        ),
    }
}

/// The host byte of a command that was not answered in time.
const DID_TIME_OUT: u16 = 0x03;

/// Names of the Linux SCSI host byte values an administrator meets.
fn host_status_name(code: u16) -> &'static str {
    match code {
        0x01 => " (no connect)",
        0x02 => " (bus busy)",
        0x03 => " (timed out)",
        0x04 => " (bad target)",
        0x05 => " (aborted)",
        0x07 => " (internal error)",
        0x08 => " (reset)",
        0x0e => " (transport disrupted)",
        0x0f => " (transport failfast)",
        _ => "",
    }
}

/// Does the device answer a standard INQUIRY now?
fn live_inquiry(transport: &dyn ScsiTransport, options: &ProbeOptions) -> bool {
    let mut buf = [0u8; 36];
    transport
        .execute(&cdb::inquiry(None, 36), &mut buf, options.timeout)
        .is_ok_and(|c| command_succeeded(&c))
}

fn command_succeeded(c: &Completion) -> bool {
    c.status == crate::transport::status::GOOD && c.host_status == 0 && c.driver_status & 0x0f == 0
}

/// False when the kernel cached the device's list of supported VPD pages
/// (page 0x00) and `page` is not in it: asking for it would only fetch an
/// ILLEGAL REQUEST. True when there is no such list.
fn may_have_vpd(attrs: &dyn DeviceAttributes, page: u8) -> bool {
    let mut buf = [0u8; 260];
    match attrs.read(Attr::Vpd0, &mut buf) {
        Some(n) if n >= 4 && buf[1] == 0x00 => {
            let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
            buf.get(4..n.min(4 + len)).is_none_or(|list| list.contains(&page))
        }
        _ => true,
    }
}

/// True when the kernel has the attribute cached (non-empty).
fn is_cached(attrs: &dyn DeviceAttributes, attr: Attr) -> bool {
    // One byte tells: a read copies what fits, the length is not needed.
    let mut first = [0u8; 1];
    attrs.read(attr, &mut first).is_some_and(|n| n > 0)
}

/// Reads a cached attribute, or sends INQUIRY (standard when `page` is
/// `None`, else that VPD page). Returns the number of valid bytes in `buf`.
fn cached_or_inquiry(
    attrs: &dyn DeviceAttributes,
    attr: Attr,
    transport: &dyn ScsiTransport,
    page: Option<u8>,
    options: &ProbeOptions,
    buf: &mut [u8],
) -> Result<usize, std::string::String> {
    let max = buf.len().min(PAGE_MAX);
    if let Some(n) = attrs.read(attr, buf) {
        if n > 0 {
            return Ok(n.min(max));
        }
    }
    let mut alloc = match page {
        None => 96,
        Some(_) => VPD_FIRST_ALLOC,
    }
    .min(max);
    loop {
        let command = cdb::inquiry(page, alloc as u16);
        let completion = transport
            .execute(&command, &mut buf[..alloc], options.timeout)
            .map_err(|e| e.to_string())?;
        if !command_succeeded(&completion) {
            return Err(format!("INQUIRY failed ({})", describe(&completion)));
        }
        let got = completion.transferred.min(alloc);
        let Some(page_code) = page else {
            return Ok(got);
        };
        if got < 4 || buf[1] != page_code {
            return Err(format!("INQUIRY returned no VPD page {page_code:#04x}"));
        }
        let full = usize::from(u16::from_be_bytes([buf[2], buf[3]])) + 4;
        // Done when the page fits, or when asking again could not get more:
        // a device whose header claims more than it returns at this
        // allocation length would otherwise be asked forever.
        if full <= got || alloc >= full.min(max) {
            return Ok(got.min(full));
        }
        alloc = full.min(max);
    }
}

/// Reads a short text attribute, trimmed; `None` if absent or not UTF-8.
fn attr_text<'a>(attrs: &dyn DeviceAttributes, attr: Attr, buf: &'a mut [u8]) -> Option<&'a str> {
    let n = attrs.read(attr, buf)?;
    core::str::from_utf8(buf.get(..n)?).ok().map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_page_buffer_comes_back_zeroed() {
        let first_address = {
            let mut page = page_buffer();
            page[..4].copy_from_slice(b"dirt");
            page.as_ptr()
        };
        let page = page_buffer();
        assert_eq!(page.as_ptr(), first_address, "the thread's spare page is reused");
        assert_eq!(page.len(), PAGE_MAX);
        assert!(page.iter().all(|&b| b == 0));
        // More pages than are kept spare: all usable, all zeroed.
        let many: std::vec::Vec<PageBuffer> = (0..SPARE_PAGES_MAX + 2).map(|_| page_buffer()).collect();
        assert!(many.iter().all(|p| p.len() == PAGE_MAX && p.iter().all(|&b| b == 0)));
    }
    use crate::path::dev_name;
    use crate::transport::fake::{Answer, FakeTransport};
    use std::collections::HashMap;

    const TUR: u8 = 0x00;
    const INQUIRY: u8 = 0x12;
    const MAINTENANCE_IN: u8 = 0xa3;

    /// Cached attributes, and the names of those read (in order).
    #[derive(Default)]
    struct FakeAttributes(HashMap<&'static str, Vec<u8>>, std::cell::RefCell<Vec<&'static str>>);

    impl FakeAttributes {
        fn with(mut self, attr: Attr, data: &[u8]) -> Self {
            self.0.insert(attr.sysfs_name(), data.to_vec());
            self
        }
    }

    impl DeviceAttributes for FakeAttributes {
        fn read(&self, attr: Attr, buf: &mut [u8]) -> Option<usize> {
            self.1.borrow_mut().push(attr.sysfs_name());
            let data = self.0.get(attr.sysfs_name())?;
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            Some(n)
        }
    }

    fn standard_inquiry(tpgs: u8, device_type: u8) -> Vec<u8> {
        let mut d = vec![0u8; 96];
        d[0] = device_type;
        d[4] = 91;
        d[5] = tpgs << 4;
        d[8..16].copy_from_slice(b"Linux   ");
        d[16..32].copy_from_slice(b"scsi_debug      ");
        d[32..36].copy_from_slice(b"0191");
        d
    }

    /// scsi_debug-like page 0x83: T10 id, NAA-3 LU, target port group 1.
    fn page83() -> Vec<u8> {
        let mut designators = Vec::new();
        designators.extend_from_slice(&[0x02, 0x01, 0x00, 28]);
        designators.extend_from_slice(b"Linux   scsi_debug      2000");
        designators.extend_from_slice(&[0x01, 0x03, 0x00, 0x08]);
        designators.extend_from_slice(&0x3333_3330_0000_07d0u64.to_be_bytes());
        designators.extend_from_slice(&[0x01, 0x95, 0x00, 0x04, 0, 0, 0, 1]);
        let mut page = vec![0x00, 0x83];
        page.extend_from_slice(&(designators.len() as u16).to_be_bytes());
        page.extend_from_slice(&designators);
        page
    }

    fn rtpg(group: u16, state: u8, pref: bool) -> Vec<u8> {
        let mut d = vec![0u8; 4];
        d.extend_from_slice(&[state | if pref { 0x80 } else { 0 }, 0x0f]);
        d.extend_from_slice(&group.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        let len = (d.len() - 4) as u32;
        d[..4].copy_from_slice(&len.to_be_bytes());
        d
    }

    fn candidate() -> Candidate {
        Candidate {
            name: dev_name("sda").unwrap(),
            hctl: Hctl::default(),
            devnum: DevNum { major: 8, minor: 0 },
            sectors: 16384,
            sg: Some(SgNode { name: dev_name("sg0").unwrap(), devnum: DevNum { major: 21, minor: 0 } }),
            handler: None,
            block_size: Some(512),
            node_name: Default::default(),
        }
    }

    fn run(attrs: &FakeAttributes, t: &FakeTransport) -> Probed {
        probe(&candidate(), attrs, Ok(t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/"))
    }

    fn expect_path(p: Probed) -> Path {
        match p {
            Probed::Path(path) => *path,
            other => panic!("expected a path, got {other:?}"),
        }
    }

    /// Standard INQUIRY as libata answers it for qemu's `ide-hd`.
    fn ata_inquiry() -> Vec<u8> {
        let mut d = standard_inquiry(0, 0);
        d[8..16].copy_from_slice(b"ATA     ");
        d[16..32].copy_from_slice(b"QEMU HARDDISK   ");
        d[32..36].copy_from_slice(b"2.5+");
        d
    }

    /// libata's page 0x83: vendor specific (ATA serial), SAT T10 vendor id
    /// (`ATA` + model + serial), NAA from IDENTIFY words 108-111.
    fn ata_page83(with_t10: bool) -> Vec<u8> {
        let mut serial = b"MPATHATA".to_vec();
        serial.resize(20, b' ');
        let mut model = b"QEMU HARDDISK".to_vec();
        model.resize(40, b' ');
        let mut designators = vec![0x02, 0x00, 0x00, 20];
        designators.extend_from_slice(&serial);
        if with_t10 {
            designators.extend_from_slice(&[0x02, 0x01, 0x00, 68]);
            designators.extend_from_slice(b"ATA     ");
            designators.extend_from_slice(&model);
            designators.extend_from_slice(&serial);
        }
        designators.extend_from_slice(&[0x01, 0x03, 0x00, 0x08]);
        designators.extend_from_slice(&0x5000_c500_15ea_71adu64.to_be_bytes());
        let mut page = vec![0x00, 0x83];
        page.extend_from_slice(&(designators.len() as u16).to_be_bytes());
        page.extend_from_slice(&designators);
        page
    }

    fn property<'a>(path: &'a Path, name: &str) -> Option<&'a str> {
        path.properties.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn ata_disk_takes_udevs_sg3_id_serial_from_the_sat_designator() {
        let attrs = FakeAttributes::default()
            .with(Attr::Inquiry, &ata_inquiry())
            .with(Attr::Vpd83, &ata_page83(true))
            .with(Attr::Vpd89, &identify::ata::fixtures::qemu_page89());
        let t = FakeTransport::new().answer(TUR, None, Answer::good(&[]));
        let path = expect_path(run(&attrs, &t));
        // What 0.9.4 named the same disk in tests/vm_nodename.rs.
        assert_eq!(path.wwid.as_str(), "QEMU_HARDDISK_MPATHATA");
        assert_eq!(property(&path, "ID_SERIAL"), Some("QEMU_HARDDISK_MPATHATA"));
        assert_eq!(property(&path, "ID_SERIAL_SHORT"), Some("MPATHATA"));
        assert_eq!(property(&path, "ID_BUS"), Some("ata"));
        assert_eq!(property(&path, "ID_WWN"), Some("0x5000c50015ea71ad"));
        assert_eq!(t.count(INQUIRY), 0);
    }

    #[test]
    fn ata_disk_without_a_sat_designator_is_named_by_ata_id() {
        // The kernel scanned it but cached no page 0x83: udev's sg3_utils
        // rules export nothing from it, so ata_id names the disk.
        let attrs = FakeAttributes::default()
            .with(Attr::Inquiry, &ata_inquiry())
            .with(Attr::Vpd89, &identify::ata::fixtures::qemu_page89());
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, Some(0x83), Answer::good(&ata_page83(false)));
        let path = expect_path(run(&attrs, &t));
        assert_eq!(path.wwid.as_str(), "QEMU_HARDDISK_MPATHATA");
        assert_eq!(property(&path, "ID_ATA"), Some("1"));
        assert_eq!(property(&path, "ID_MODEL"), Some("QEMU_HARDDISK"));
        assert_eq!(property(&path, "ID_REVISION"), Some("2.5+"));
        assert_eq!(property(&path, "ID_WWN"), Some("0x5000c50015ea71ad"));
        assert_eq!(property(&path, "SCSI_IDENT_LUN_NAA_REG"), None);
    }

    #[test]
    fn ata_disk_without_sysfs_asks_page_89_only_when_page_83_names_nothing() {
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&ata_inquiry()))
            .answer(INQUIRY, Some(0x83), Answer::good(&ata_page83(true)))
            .answer(INQUIRY, Some(0x89), Answer::good(&identify::ata::fixtures::qemu_page89()));
        let path = expect_path(run(&FakeAttributes::default(), &t));
        assert_eq!(path.wwid.as_str(), "QEMU_HARDDISK_MPATHATA");
        assert_eq!(t.count(INQUIRY), 2, "standard and page 0x83");
        // Page 0x83 unreadable: udev's ata_id (here page 0x89) names it.
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&ata_inquiry()))
            .answer(INQUIRY, Some(0x83), Answer::check_condition(5, 0x24, 0))
            .answer(INQUIRY, Some(0x89), Answer::good(&identify::ata::fixtures::qemu_page89()));
        let path = expect_path(run(&FakeAttributes::default(), &t));
        assert_eq!(path.wwid.as_str(), "QEMU_HARDDISK_MPATHATA");
        // Page 0x89 twice: 255 bytes first, then all 572 its header declares.
        assert_eq!(t.count(INQUIRY), 4, "standard, page 0x83, page 0x89 x2");
        // Neither: page 0x80 as before (here absent too), so no WWID.
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&ata_inquiry()))
            .answer(INQUIRY, Some(0x83), Answer::check_condition(5, 0x24, 0))
            .answer(INQUIRY, Some(0x89), Answer::good(&[0, 0x89, 0, 4, 0, 0, 0, 0]));
        assert!(matches!(run(&FakeAttributes::default(), &t), Probed::Skipped(_)));
    }

    #[test]
    fn stale_ata_disk_keeps_its_udev_wwid() {
        let attrs = FakeAttributes::default()
            .with(Attr::Inquiry, &ata_inquiry())
            .with(Attr::Vpd83, &ata_page83(true))
            .with(Attr::State, b"offline\n");
        let t = FakeTransport::new();
        match run(&attrs, &t) {
            Probed::Down(_, Some(wwid)) => assert_eq!(wwid.as_str(), "QEMU_HARDDISK_MPATHATA"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sysfs_data_spares_the_inquiries_but_alua_state_is_asked() {
        let attrs = FakeAttributes::default()
            .with(Attr::Inquiry, &standard_inquiry(1, 0))
            .with(Attr::Vpd83, &page83())
            .with(Attr::State, b"running\n")
            .with(Attr::AccessState, b"active/optimized\n")
            .with(Attr::PreferredPath, b"0\n");
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(MAINTENANCE_IN, None, Answer::good(&rtpg(1, 1, false)));
        let path = expect_path(run(&attrs, &t));
        assert_eq!(path.wwid.as_str(), "1Linux_scsi_debug_2000");
        // The device's answer wins over a sysfs state that may lag.
        assert_eq!(path.priority, 10);
        assert!(path.tpgs);
        assert_eq!(path.state, PathState::Up);
        assert_eq!(t.count(TUR), 1);
        assert_eq!(t.count(INQUIRY), 0);
        assert_eq!(t.count(MAINTENANCE_IN), 1);
        // The device's answer made `preferred_path` useless: never read.
        assert!(attrs.1.borrow().contains(&"access_state"));
        assert!(!attrs.1.borrow().contains(&"preferred_path"));
    }

    #[test]
    fn sysfs_access_state_is_the_fallback_when_rtpg_fails() {
        let attrs = FakeAttributes::default()
            .with(Attr::Inquiry, &standard_inquiry(1, 0))
            .with(Attr::Vpd83, &page83())
            .with(Attr::AccessState, b"standby\n");
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(MAINTENANCE_IN, None, Answer::check_condition(5, 0x20, 0));
        let path = expect_path(run(&attrs, &t));
        assert_eq!(path.priority, 1);
        assert!(path.tpgs);
        assert!(attrs.1.borrow().contains(&"preferred_path"));
        // A preferred port's bonus comes from sysfs too.
        let attrs = FakeAttributes::default()
            .with(Attr::Inquiry, &standard_inquiry(1, 0))
            .with(Attr::Vpd83, &page83())
            .with(Attr::AccessState, b"active/non-optimized\n")
            .with(Attr::PreferredPath, b"1\n");
        let path = expect_path(run(&attrs, &t));
        assert_eq!(path.priority, 90);
    }

    #[test]
    fn without_sysfs_everything_comes_from_commands() {
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(1, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&page83()))
            .answer(MAINTENANCE_IN, None, Answer::good(&rtpg(1, 1, true)));
        let path = expect_path(probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/")));
        assert_eq!(path.wwid.as_str(), "1Linux_scsi_debug_2000");
        assert_eq!(path.priority, 10 + 80);
        assert!(path.tpgs);
        assert_eq!(path.vendor.as_str(), "Linux");
    }

    #[test]
    fn failed_rtpg_falls_back_to_const_priority() {
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(1, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&page83()))
            .answer(MAINTENANCE_IN, None, Answer::check_condition(5, 0x20, 0));
        let path = expect_path(probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/")));
        assert_eq!(path.priority, CONST_PRIORITY);
        assert!(!path.tpgs);
    }

    #[test]
    fn vpd_the_kernel_skipped_gives_no_udev_properties() {
        // USB mass storage: the kernel scanned the device but read no VPD,
        // so udev exports no SCSI_IDENT_*; the WWID still comes from the device.
        let has_ident = |p: &Path| p.properties.iter().any(|(k, _)| k.starts_with("SCSI_IDENT_"));
        let kernel_skipped = FakeAttributes::default().with(Attr::Inquiry, &standard_inquiry(0, 0));
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, Some(0x83), Answer::good(&page83()));
        let path = expect_path(run(&kernel_skipped, &t));
        assert_eq!(path.wwid.as_str(), "1Linux_scsi_debug_2000");
        assert!(!has_ident(&path), "{:?}", path.properties);
        let kernel_read = kernel_skipped.with(Attr::Vpd83, &page83());
        assert!(has_ident(&expect_path(run(&kernel_read, &t))));
    }

    #[test]
    fn failed_tur_is_down_and_sends_nothing_more() {
        let t = FakeTransport::new().answer(TUR, None, Answer::host_error(0x01));
        let result = probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/"));
        assert!(matches!(result, Probed::Down(ref why, _) if why.contains("TEST UNIT READY") && why.contains("no connect")));
        assert_eq!(t.sent.borrow().len(), 1);
    }

    #[test]
    fn a_tur_answered_beforehand_is_not_sent_again() {
        let attrs = FakeAttributes::default()
            .with(Attr::Inquiry, &standard_inquiry(0, 0))
            .with(Attr::Vpd83, &page83());
        let t = FakeTransport::new().answer(TUR, None, Answer::host_error(0x01));
        let pretested = Pretested { tur: Some(Ok(Answer::good(&[]).completion)), usb: Some(false) };
        let path = expect_path(probe_pretested(
            &candidate(), &attrs, Ok(&t), pretested, &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/"),
        ));
        assert_eq!(path.state, PathState::Up);
        assert!(t.sent.borrow().is_empty(), "{:?}", t.sent.borrow());
        // A retry the answer asks for goes to the device.
        let t = FakeTransport::new().answer(TUR, None, Answer::good(&[]));
        let pretested = Pretested { tur: Some(Ok(Answer::check_condition(6, 0x29, 0).completion)), usb: None };
        let path = expect_path(probe_pretested(
            &candidate(), &attrs, Ok(&t), pretested, &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/"),
        ));
        assert_eq!((path.state, t.count(TUR)), (PathState::Up, 1));
    }

    #[test]
    fn a_tur_without_answer_in_time_is_down_saying_so() {
        let attrs = FakeAttributes::default()
            .with(Attr::Inquiry, &standard_inquiry(0, 0))
            .with(Attr::Vpd83, &page83());
        let t = FakeTransport::new();
        let pretested = Pretested { tur: Some(Ok(Answer::host_error(DID_TIME_OUT).completion)), usb: None };
        let options = ProbeOptions { timeout: Duration::from_secs(2), ..ProbeOptions::default() };
        let result = probe_pretested(&candidate(), &attrs, Ok(&t), pretested, &options, &crate::plan::Defaults, std::path::Path::new("/"));
        match result {
            Probed::Down(why, wwid) => {
                assert!(why.contains("timed out after 2000 ms"), "{why}");
                assert_eq!(wwid.as_deref(), Some("1Linux_scsi_debug_2000"));
            }
            other => panic!("{other:?}"),
        }
        assert!(t.sent.borrow().is_empty());
    }

    #[test]
    fn page_c9_is_not_asked_when_the_supported_pages_leave_it_out() {
        let attrs = |pages: &[u8]| {
            let mut page0 = vec![0x00, 0x00, 0x00, pages.len() as u8];
            page0.extend_from_slice(pages);
            FakeAttributes::default()
                .with(Attr::Inquiry, &standard_inquiry(0, 0))
                .with(Attr::Vpd83, &page83())
                .with(Attr::Vpd0, &page0)
        };
        let planner = C9Planner;
        for (pages, asked) in [(&[0x00u8, 0x80, 0x83][..], 0), (&[0x00, 0x83, 0xc9][..], 1)] {
            let t = FakeTransport::new().answer(TUR, None, Answer::good(&[]));
            let _ = probe(&candidate(), &attrs(pages), Ok(&t), &ProbeOptions::default(), &planner, std::path::Path::new("/"));
            let c9 = t.sent.borrow().iter().filter(|k| k.page == Some(0xc9)).count();
            assert_eq!(c9, asked, "{pages:?}");
        }
        // No cached list: asked, as before.
        let t = FakeTransport::new().answer(TUR, None, Answer::good(&[]));
        let plain = FakeAttributes::default().with(Attr::Inquiry, &standard_inquiry(0, 0)).with(Attr::Vpd83, &page83());
        let _ = probe(&candidate(), &plain, Ok(&t), &ProbeOptions::default(), &planner, std::path::Path::new("/"));
        assert_eq!(t.sent.borrow().iter().filter(|k| k.page == Some(0xc9)).count(), 1);
    }

    /// Built-in choices, asking for page 0xC9 as an RDAC check would.
    struct C9Planner;

    impl Planner for C9Planner {
        fn wants_vpd_c9(&self, _: &str, _: &str, _: &str) -> bool {
            true
        }
        fn plan(&self, identity: &Identity<'_>) -> crate::plan::PathPlan {
            crate::plan::Defaults.plan(identity)
        }
    }

    #[test]
    fn offline_state_is_down_without_any_command() {
        let attrs = FakeAttributes::default().with(Attr::State, b"offline\n");
        let t = FakeTransport::new();
        assert!(matches!(run(&attrs, &t), Probed::Down(ref why, _) if why.contains("offline")));
        assert!(t.sent.borrow().is_empty());
    }

    #[test]
    fn open_failure_is_down() {
        let err = TransportError::Open(std::io::Error::from_raw_os_error(libc::ENXIO));
        let result = probe(&candidate(), &NoAttributes, Err(&err), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/"));
        assert!(matches!(result, Probed::Down(..)));
    }

    #[test]
    fn unit_attention_is_retried_then_up() {
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::check_condition(6, 0x29, 0))
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&page83()));
        let path = expect_path(probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/")));
        assert_eq!(t.count(TUR), 2);
        assert_eq!(path.priority, CONST_PRIORITY);
    }

    #[test]
    fn endless_unit_attention_is_down() {
        let t = FakeTransport::new().answer(TUR, None, Answer::check_condition(6, 0x29, 0));
        let result = probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/"));
        assert!(matches!(result, Probed::Down(..)));
        assert_eq!(t.count(TUR), 3);
    }

    #[test]
    fn ghost_without_alua_gets_lowest_priority() {
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::check_condition(2, 0x04, 0x0b))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&page83()));
        let path = expect_path(probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/")));
        assert_eq!(path.state, PathState::Ghost);
        assert_eq!(path.priority, 0);
    }

    #[test]
    fn non_disk_is_skipped() {
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 5)));
        assert!(matches!(
            probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/")),
            Probed::Skipped(ref why) if why.contains("not a disk")
        ));
    }

    #[test]
    fn page80_fallback_when_page83_is_useless() {
        let empty83 = [0x00, 0x83, 0x00, 0x00];
        let mut page80 = vec![0x00, 0x80, 0x00, 0x06];
        page80.extend_from_slice(b"SER123");
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&empty83))
            .answer(INQUIRY, Some(0x80), Answer::good(&page80));
        let path = expect_path(probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/")));
        assert_eq!(path.wwid.as_str(), "SLinux_scsi_debug_SER123");
    }

    #[test]
    fn no_wwid_at_all_is_skipped_with_reason() {
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&[0x00, 0x83, 0x00, 0x00]));
        assert!(matches!(
            probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/")),
            Probed::Skipped(ref why) if why.contains("WWID")
        ));
    }

    #[test]
    fn large_vpd_page_is_asked_again_with_its_length() {
        let mut big = page83();
        // Pad with a vendor-specific designator to 600 bytes of page.
        let pad = 600 - big.len() - 4;
        big.extend_from_slice(&[0x02, 0x00, 0x00, pad as u8]);
        big.resize(600, b'x');
        // The pad length byte must fit: use several designators if needed.
        let pad_len = (big.len() - 4) as u16;
        big[2..4].copy_from_slice(&pad_len.to_be_bytes());
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&big));
        let _ = probe(&candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &crate::plan::Defaults, std::path::Path::new("/"));
        let vpd_asks = t
            .sent
            .borrow()
            .iter()
            .filter(|k| k.page == Some(0x83))
            .count();
        assert_eq!(vpd_asks, 2);
    }

    /// A configuration that names one checker for every path.
    struct CheckerPlanner(&'static str);

    impl Planner for CheckerPlanner {
        fn wants_vpd_c9(&self, _: &str, _: &str, _: &str) -> bool {
            false
        }
        fn plan(&self, _identity: &Identity<'_>) -> crate::plan::PathPlan {
            crate::plan::PathPlan {
                prio: PrioPlan::Const,
                explained: "test".into(),
                checker: self.0.into(),
            }
        }
    }

    /// `weightedpath` with the given arguments for every path.
    struct WeightedPlanner(&'static str);

    impl Planner for WeightedPlanner {
        fn wants_vpd_c9(&self, _: &str, _: &str, _: &str) -> bool {
            false
        }
        fn plan(&self, _identity: &Identity<'_>) -> crate::plan::PathPlan {
            crate::plan::PathPlan {
                prio: PrioPlan::Device { prioritizer: prio::Prioritizer::WeightedPath, args: self.0.into() },
                explained: "test".into(),
                checker: "tur".into(),
            }
        }
    }

    #[test]
    fn the_target_node_name_reaches_the_path_and_weightedpath() {
        let planner = WeightedPlanner(r"wwn :ata-2\.00: 7 :ata-1\.00: 3");
        let mut candidate = candidate();
        candidate.node_name = crate::path::NodeName::new("ata-2.00");
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&page83()));
        let probed = probe(&candidate, &NoAttributes, Ok(&t), &ProbeOptions::default(), &planner, std::path::Path::new("/"));
        let path = expect_path(probed);
        assert_eq!(path.node_name.as_str(), "ata-2.00");
        assert_eq!(path.priority, 7);
        // No name (the ioctl scan): "[undef]", no pattern matches.
        let t = FakeTransport::new()
            .answer(TUR, None, Answer::good(&[]))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&page83()));
        let probed = probe(&self::candidate(), &NoAttributes, Ok(&t), &ProbeOptions::default(), &planner, std::path::Path::new("/"));
        assert_eq!(expect_path(probed).priority, 0);
    }

    fn passive_port() -> FakeTransport {
        // NOT READY, manual intervention required (04/02): an HP/Compaq
        // passive controller port.
        FakeTransport::new()
            .answer(TUR, None, Answer::check_condition(2, 0x04, 0x02))
            .answer(INQUIRY, None, Answer::good(&standard_inquiry(0, 0)))
            .answer(INQUIRY, Some(0x83), Answer::good(&page83()))
            .answer(INQUIRY, Some(0x80), Answer::good(&[0, 0x80, 0, 4, b'S', b'N', b'0', b'1']))
    }

    fn probe_with(t: &FakeTransport, checker: &'static str) -> Probed {
        let planner = CheckerPlanner(checker);
        probe(&candidate(), &NoAttributes, Ok(t), &ProbeOptions::default(), &planner, std::path::Path::new("/"))
    }

    #[test]
    fn the_configured_checker_judges_a_path_that_answered_not_ready() {
        // tur calls it down; identified, it joins its map as a failed path.
        let faulty = expect_path(probe_with(&passive_port(), "tur"));
        assert_eq!(faulty.state, PathState::Faulty);
        assert!(faulty.fault.contains("04/02"), "{}", faulty.fault);
        assert_eq!(expect_path(probe_with(&passive_port(), "hp_sw")).state, PathState::Ghost);
        assert_eq!(expect_path(probe_with(&passive_port(), "none")).state, PathState::Up);
    }

    #[test]
    fn a_path_without_answer_is_down_whatever_the_checker() {
        let t = FakeTransport::new().answer(TUR, None, Answer::host_error(0x01));
        for checker in ["tur", "hp_sw", "none", "readsector0"] {
            assert!(matches!(probe_with(&t, checker), Probed::Down(..)), "{checker}");
            assert_eq!(t.count(INQUIRY), 0, "{checker}: nothing sent after a dead TUR");
        }
    }

}
