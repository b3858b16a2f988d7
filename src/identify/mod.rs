//! WWIDs: the names multipath maps are keyed by, derived from VPD pages
//! exactly as multipath-tools 0.9.4 derives them, so that maps assembled in
//! early boot keep their identity when multipathd takes over.
//!
//! A WWID also becomes a device-mapper name, so it is guaranteed to be
//! non-empty, at most [`WWID_MAX`] characters, printable ASCII and free of '/'.

use core::fmt;

use crate::scsi::vpd::{self, kind, Designator};
use crate::scsi::ScsiDataError;

pub mod ata;
pub mod properties;
pub mod vendor;

/// Longest WWID: multipath-tools' WWID_SIZE (128) minus the NUL.
pub const WWID_MAX: usize = 127;

/// A WWID string (at most [`WWID_MAX`] characters are ever stored).
pub type Wwid = heapless::String<128>;

/// Designator bytes multipath-tools 0.9.4 looks at (its WWID_SIZE).
const DESIGNATOR_VALUE_MAX: usize = 128;

/// Where a byte that cannot go into a WWID came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextSource {
    /// A T10 vendor id designator of page 0x83.
    T10VendorId,
    /// A SCSI name string designator of page 0x83.
    ScsiNameString,
    /// The INQUIRY vendor field given to [`wwid_from_vpd80`].
    Vendor,
    /// The INQUIRY product field given to [`wwid_from_vpd80`].
    Product,
    /// The serial number of page 0x80.
    Serial,
    /// udev's `ID_SERIAL` of an ATA disk (sg3_utils' or `ata_id`'s).
    UdevSerial,
}

/// Why one source of identification gave no WWID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The caller had no such page (unsupported or unreadable).
    NotSupplied,
    /// The page itself is malformed.
    Data(ScsiDataError),
    /// Page 0x83 has no logical-unit designator multipath-tools would use.
    NoUsableDesignator {
        /// Designators examined (all associations).
        seen: usize,
    },
    /// A text field holds a byte that cannot be part of a device-mapper name.
    BadText {
        source: TextSource,
        /// For designators: offset of the designator in page 0x83; for the
        /// serial: offset of the byte in page 0x80; for vendor/product: index
        /// of the byte in the field.
        offset: usize,
        byte: u8,
    },
    /// The page 0x80 serial number is empty or only whitespace.
    EmptySerial,
}

/// Why no WWID could be derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifyError {
    /// [`wwid_from_vpd83`] failed.
    Page83(Cause),
    /// [`wwid_from_vpd80`] failed.
    Page80(Cause),
    /// The StorageWorks vendor method ([`vendor::storageworks_wwid`]) failed.
    StorageWorks(Cause),
    /// [`wwid_for`] tried page 0x83, then page 0x80, and both failed.
    NoWwid { page83: Cause, page80: Cause },
    /// [`ata_wwid`]: the ATA disk's udev `ID_SERIAL` cannot be a map name.
    Ata(Cause),
}

impl fmt::Display for TextSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TextSource::T10VendorId => "T10 vendor id designator at page offset",
            TextSource::ScsiNameString => "SCSI name string designator at page offset",
            TextSource::Vendor => "INQUIRY vendor field, at index",
            TextSource::Product => "INQUIRY product field, at index",
            TextSource::Serial => "unit serial number, at page offset",
            TextSource::UdevSerial => "udev ID_SERIAL of the ATA disk, at index",
        })
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Cause::NotSupplied => f.write_str("page not available (not supported or not readable)"),
            Cause::Data(err) => err.fmt(f),
            Cause::NoUsableDesignator { seen } => write!(
                f,
                "none of its {seen} designators is a logical-unit NAA, EUI-64, SCSI name \
                 string or T10 vendor id designator that multipath-tools would use"
            ),
            Cause::BadText {
                source,
                offset,
                byte,
            } => write!(
                f,
                "{source} {offset} has byte 0x{byte:02x}; a WWID must be printable ASCII \
                 without '/' because it becomes the device-mapper map name (the device \
                 reports a malformed identifier: exclude it or name the map by hand)"
            ),
            Cause::EmptySerial => f.write_str("the unit serial number is empty or all whitespace"),
        }
    }
}

impl fmt::Display for IdentifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentifyError::Page83(cause) => write!(f, "VPD page 0x83: {cause}"),
            IdentifyError::Page80(cause) => write!(f, "VPD page 0x80: {cause}"),
            IdentifyError::StorageWorks(cause) => {
                write!(
                    f,
                    "StorageWorks WWID (bytes 8-23 of VPD page 0x83): {cause}"
                )
            }
            IdentifyError::Ata(cause) => write!(f, "ATA disk: {cause}"),
            IdentifyError::NoWwid { page83, page80 } => write!(
                f,
                "no WWID: tried VPD page 0x83: {page83}; then VPD page 0x80: {page80}"
            ),
        }
    }
}

impl std::error::Error for IdentifyError {}

/// Accumulates a WWID, silently stopping at [`WWID_MAX`] characters as
/// multipath-tools truncates over-long WWIDs.
struct WwidWriter(Wwid);

impl WwidWriter {
    fn empty() -> Self {
        WwidWriter(Wwid::new())
    }

    /// Starts a WWID with its type character.
    fn new(type_char: char) -> Self {
        let mut w = WwidWriter::empty();
        w.push(type_char);
        w
    }

    fn is_full(&self) -> bool {
        self.0.len() >= WWID_MAX
    }

    /// Appends an ASCII character unless the WWID is full.
    fn push(&mut self, c: char) {
        if !self.is_full() {
            // Capacity 128 > WWID_MAX and only ASCII is pushed: cannot fail.
            let _ = self.0.push(c);
        }
    }

    fn push_hex(&mut self, byte: u8) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for nibble in [byte >> 4, byte & 0x0f] {
            if let Some(&c) = HEX.get(usize::from(nibble)) {
                self.push(char::from(c));
            }
        }
    }

    fn finish(self) -> Wwid {
        self.0
    }
}

/// Bytes allowed in a text WWID: printable ASCII, no '/'.
fn is_name_byte(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) && b != b'/'
}

/// multipath-tools 0.9.4 WWID priority of a designator; `None` when it is not
/// a candidate (other association, other type, or wrong length).
fn wwid_priority(d: &Designator<'_>) -> Option<u8> {
    if d.association != vpd::association::LOGICAL_UNIT {
        return None;
    }
    let len = d.value.len();
    match d.kind {
        kind::NAA => match (d.value.first()? >> 4, len) {
            (6, 16) => Some(8), // IEEE Registered Extended
            (5, 8) => Some(7),  // IEEE Registered
            (2, 8) => Some(6),  // IEEE Extended
            (3, 8) => Some(1),  // Locally assigned
            _ => None,
        },
        kind::EUI64 if matches!(len, 8 | 12 | 16) => Some(4),
        kind::SCSI_NAME_STRING if name_string_type(d.value).is_some() => Some(3),
        kind::T10_VENDOR_ID if len >= 8 => Some(2),
        _ => None,
    }
}

/// WWID type character of a SCSI name string, from its 4-character prefix.
fn name_string_type(value: &[u8]) -> Option<char> {
    match value.get(..4)? {
        b"eui." => Some('2'),
        b"naa." => Some('3'),
        b"iqn." => Some('8'),
        _ => None,
    }
}

/// Picks the designator multipath-tools 0.9.4 would: highest priority, first
/// one on ties. Like 0.9.4, a designator running past the page end stops the
/// walk but does not discard a candidate found before it.
fn select_designator(page: &[u8]) -> Result<Designator<'_>, Cause> {
    let mut best: Option<(u8, Designator<'_>)> = None;
    let mut seen = 0;
    for item in vpd::designators(page).map_err(Cause::Data)? {
        let d = match item {
            Ok(d) => d,
            Err(err) if best.is_none() => return Err(Cause::Data(err)),
            Err(_) => break,
        };
        seen += 1;
        if let Some(prio) = wwid_priority(&d) {
            if best.is_none_or(|(best_prio, _)| prio > best_prio) {
                best = Some((prio, d));
            }
        }
    }
    best.map(|(_, d)| d)
        .ok_or(Cause::NoUsableDesignator { seen })
}

/// Formats the chosen designator as multipath-tools 0.9.4 does.
fn format_designator(d: &Designator<'_>) -> Result<Wwid, Cause> {
    let value = d.value.get(..DESIGNATOR_VALUE_MAX).unwrap_or(d.value);
    let bad = |source, byte| Cause::BadText {
        source,
        offset: d.offset,
        byte,
    };
    match d.kind {
        kind::NAA | kind::EUI64 => {
            let mut w = WwidWriter::new(if d.kind == kind::NAA { '3' } else { '2' });
            value.iter().for_each(|&b| w.push_hex(b));
            Ok(w.finish())
        }
        kind::SCSI_NAME_STRING => {
            let type_char = name_string_type(value).unwrap_or('8');
            let mut w = WwidWriter::new(type_char);
            let text = value.get(4..).unwrap_or_default();
            for &b in text.iter().take_while(|&&b| b != 0) {
                if w.is_full() {
                    break;
                }
                if !is_name_byte(b) {
                    return Err(bad(TextSource::ScsiNameString, b));
                }
                let c = char::from(b);
                w.push(if type_char == '8' {
                    c
                } else {
                    c.to_ascii_lowercase()
                });
            }
            Ok(w.finish())
        }
        kind::T10_VENDOR_ID => {
            // Runs of spaces become one '_' (a leading run too), trailing spaces
            // vanish; the text ends at a NUL, after the '_' of a space run
            // before it, exactly like 0.9.4's strbuf handling.
            let mut w = WwidWriter::new('1');
            let mut pending_space = false;
            for &b in value {
                if w.is_full() {
                    break;
                }
                if b == b' ' {
                    pending_space = true;
                    continue;
                }
                if pending_space {
                    w.push('_');
                    pending_space = false;
                }
                if b == 0 {
                    break;
                }
                if !is_name_byte(b) {
                    return Err(bad(TextSource::T10VendorId, b));
                }
                w.push(char::from(b));
            }
            Ok(w.finish())
        }
        // wwid_priority() admits no other type.
        _ => Err(Cause::NoUsableDesignator { seen: 0 }),
    }
}

fn from_vpd83(page: &[u8]) -> Result<Wwid, Cause> {
    format_designator(&select_designator(page)?)
}

/// WWID from a device identification page (0x83), per multipath-tools 0.9.4:
/// among logical-unit designators, NAA IEEE Registered Extended > NAA IEEE
/// Registered > NAA IEEE Extended > EUI-64 > SCSI name string > T10 vendor id
/// > NAA locally assigned.
pub fn wwid_from_vpd83(page: &[u8]) -> Result<Wwid, IdentifyError> {
    from_vpd83(page).map_err(IdentifyError::Page83)
}

/// ASCII whitespace as C's isspace() sees it, which udev uses.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `field` as INQUIRY returns it: cut or space-padded to `width` bytes.
fn inquiry_field(field: &str, width: usize) -> impl Iterator<Item = u8> + '_ {
    field.bytes().chain(core::iter::repeat(b' ')).take(width)
}

fn from_vpd80(vendor: &str, product: &str, page80: &[u8]) -> Result<Wwid, Cause> {
    let raw = vpd::unit_serial(page80).map_err(Cause::Data)?;
    let serial_len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let serial = raw.get(..serial_len).unwrap_or_default();
    if serial.iter().all(|&b| is_space(b)) {
        return Err(Cause::EmptySerial);
    }
    let tagged = inquiry_field(vendor, 8)
        .enumerate()
        .map(|(i, b)| (TextSource::Vendor, i, b))
        .chain(
            inquiry_field(product, 16)
                .enumerate()
                .map(|(i, b)| (TextSource::Product, i, b)),
        )
        .chain(
            serial
                .iter()
                .enumerate()
                .map(|(i, &b)| (TextSource::Serial, vpd::HEADER_LEN + i, b)),
        );
    // 'S' + vendor + product + serial, whitespace runs to '_', trailing
    // whitespace dropped (udev's util_replace_whitespace on scsi_id output).
    let mut w = WwidWriter::new('S');
    let mut pending_space = false;
    for (source, offset, b) in tagged {
        if w.is_full() {
            break;
        }
        if is_space(b) {
            pending_space = true;
            continue;
        }
        if !is_name_byte(b) {
            return Err(Cause::BadText {
                source,
                offset,
                byte: b,
            });
        }
        if pending_space {
            w.push('_');
            pending_space = false;
        }
        w.push(char::from(b));
    }
    Ok(w.finish())
}

/// WWID from a unit serial number page (0x80), as udev's scsi_id builds
/// ID_SERIAL: 'S', the vendor (8 characters) and product (16 characters) as
/// INQUIRY returns them, then the serial; whitespace runs become '_'.
///
/// `vendor` and `product` may be given trimmed: they are space-padded (or
/// cut) to 8 and 16 bytes. The serial ends at its first NUL.
pub fn wwid_from_vpd80(vendor: &str, product: &str, page80: &[u8]) -> Result<Wwid, IdentifyError> {
    from_vpd80(vendor, product, page80).map_err(IdentifyError::Page80)
}

/// The WWID multipath-tools would give this device: the vendor-specific
/// method if the vendor table names one, else page 0x83, falling back to page
/// 0x80 when page 0x83 is missing, malformed or has no usable designator.
///
/// A usable designator whose text cannot be a map name is a hard error, not a
/// reason to fall back: a different WWID than multipath-tools' would make
/// multipathd rename or duplicate the map later.
pub fn wwid_for(
    vendor: &str,
    product: &str,
    page83: Option<&[u8]>,
    page80: Option<&[u8]>,
) -> Result<Wwid, IdentifyError> {
    if let vendor::WwidMethod::StorageWorks = vendor::method_for(vendor, product) {
        return match page83 {
            Some(page) => vendor::storageworks_wwid(page),
            None => Err(IdentifyError::StorageWorks(Cause::NotSupplied)),
        };
    }
    let page83 = match page83.map(from_vpd83) {
        Some(Ok(wwid)) => return Ok(wwid),
        Some(Err(cause @ Cause::BadText { .. })) => return Err(IdentifyError::Page83(cause)),
        Some(Err(cause)) => cause,
        None => Cause::NotSupplied,
    };
    let page80 = match page80.map(|page| from_vpd80(vendor, product, page)) {
        Some(Ok(wwid)) => return Ok(wwid),
        Some(Err(cause)) => cause,
        None => Cause::NotSupplied,
    };
    Err(IdentifyError::NoWwid { page83, page80 })
}

/// The WWID multipath-tools 0.9.4 takes for an ATA disk (INQUIRY vendor
/// `ATA`): udev's `ID_SERIAL`, which is sg3_utils' when
/// `55-scsi-sg3_id.rules` set one from page 0x83 (`props`, as
/// [`properties::scsi_properties`] gives them), else `ata_id`'s from the
/// IDENTIFY DEVICE data (`identify`, asked for only then; see [`ata`]).
/// `ata_id`'s properties are added to `props` as udev imports them.
///
/// `None` when the disk is not ATA or neither source names it: then udev
/// runs `scsi_id`, whose choice [`wwid_for`] makes. A name that cannot be a
/// map name is an error, as for page 0x83 text.
pub fn ata_wwid(
    vendor: &str,
    props: &mut Vec<(String, String)>,
    identify: impl FnOnce() -> Option<ata::AtaId>,
) -> Option<Result<Wwid, IdentifyError>> {
    if !ata::is_ata_vendor(vendor) {
        return None;
    }
    if properties::id_serial(props).is_none() {
        let id = identify()?;
        properties::import(props, id.properties());
    }
    properties::id_serial(props).map(wwid_from_udev_serial)
}

/// The WWID 0.9.4 gives a disk, from its sources in their order: an ATA
/// disk's udev `ID_SERIAL` ([`ata_wwid`]; not over USB, where `usb_id`
/// names the disk and the page 0x83 WWID stays), else page 0x83 through
/// the vendor switch ([`wwid_for`]), else page 0x80, which `page80` is
/// asked for only then (`None`: not to be used; `Err`: why it could not
/// be had). The one place these choices are made for the probe, a stale
/// path and `--is-path`.
pub fn disk_wwid<P: AsRef<[u8]>>(
    vendor: &str,
    product: &str,
    usb: bool,
    props: &mut Vec<(String, String)>,
    ata_id: impl FnOnce() -> Option<ata::AtaId>,
    page83: Option<&[u8]>,
    page80: impl FnOnce() -> Option<Result<P, String>>,
) -> Result<Wwid, String> {
    if !usb {
        if let Some(ata) = ata_wwid(vendor, props, ata_id) {
            return ata.map_err(|e| e.to_string());
        }
    }
    let first = match wwid_for(vendor, product, page83, None) {
        Ok(wwid) => return Ok(wwid),
        Err(first) => first,
    };
    match page80() {
        None => Err(first.to_string()),
        Some(Ok(page)) => wwid_for(vendor, product, page83, Some(page.as_ref())).map_err(|e| e.to_string()),
        Some(Err(why)) => Err(format!("{first}; VPD page 0x80: {why}")),
    }
}

/// A udev property value as multipath-tools copies it into a WWID
/// (truncated to [`WWID_MAX`]); it must be printable ASCII without '/'.
fn wwid_from_udev_serial(text: &str) -> Result<Wwid, IdentifyError> {
    let mut w = WwidWriter::empty();
    for (offset, byte) in text.bytes().enumerate() {
        if w.is_full() {
            break;
        }
        if !is_name_byte(byte) {
            return Err(IdentifyError::Ata(Cause::BadText {
                source: TextSource::UdevSerial,
                offset,
                byte,
            }));
        }
        w.push(char::from(byte));
    }
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::vpd::fixtures::{QEMU_83, SCSI_DEBUG_80, SCSI_DEBUG_83};

    /// A page 0x83 made of (byte1, value) designators, binary code set.
    fn page(designators: &[(u8, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (b1, value) in designators {
            body.extend_from_slice(&[0x01, *b1, 0, value.len() as u8]);
            body.extend_from_slice(value);
        }
        let mut out = vec![0x00, 0x83];
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn wwid(page: &[u8]) -> String {
        wwid_from_vpd83(page)
            .map(|w| w.as_str().to_owned())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn cause83(page: &[u8]) -> Cause {
        match wwid_from_vpd83(page) {
            Err(IdentifyError::Page83(cause)) => cause,
            other => panic!("unexpected {other:?}"),
        }
    }

    const NAA6: &[u8] = &[
        0x60, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
        0xff,
    ];
    const NAA5: &[u8] = &[0x50, 0x00, 0xc5, 0x00, 0x15, 0xea, 0x71, 0xac];
    const NAA2: &[u8] = &[0x20, 0x00, 0x00, 0x0e, 0x1e, 0x09, 0xf6, 0x8a];
    const EUI: &[u8] = &[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77];
    const NAME: &[u8] = b"eui.0011223344556677";
    const T10: &[u8] = b"VENDOR  PRODUCT 1234";
    const NAA3: &[u8] = &[0x33, 0x33, 0x33, 0x30, 0x00, 0x00, 0x07, 0xd0];

    /// Candidates from highest to lowest priority, with their WWIDs.
    fn ranked() -> [((u8, &'static [u8]), &'static str); 7] {
        [
            ((0x03, NAA6), "3600a0b0c0d0e0f1011121314151617ff"),
            ((0x03, NAA5), "35000c50015ea71ac"),
            ((0x03, NAA2), "32000000e1e09f68a"),
            ((0x02, EUI), "20011223344556677"),
            ((0x08, NAME), "20011223344556677"),
            ((0x01, T10), "1VENDOR_PRODUCT_1234"),
            ((0x03, NAA3), "333333330000007d0"),
        ]
    }

    #[test]
    fn measured_scsi_debug() {
        assert_eq!(wwid(&SCSI_DEBUG_83), "1Linux_scsi_debug_2000");
    }

    #[test]
    fn measured_qemu_scsi_hd() {
        assert_eq!(wwid(&QEMU_83), "35000c50015ea71ac");
    }

    #[test]
    fn each_candidate_alone() {
        for (designator, expect) in ranked() {
            assert_eq!(wwid(&page(&[designator])), expect);
        }
    }

    #[test]
    fn priority_order() {
        let ranked = ranked();
        for (hi, (high, expect)) in ranked.iter().enumerate() {
            for (low, _) in ranked.iter().skip(hi + 1) {
                assert_eq!(wwid(&page(&[*low, *high])), *expect, "low first");
                assert_eq!(wwid(&page(&[*high, *low])), *expect, "high first");
            }
        }
        let all: Vec<_> = ranked.iter().rev().map(|(d, _)| *d).collect();
        assert_eq!(wwid(&page(&all)), ranked[0].1);
    }

    #[test]
    fn ties_keep_the_first() {
        let other5: &[u8] = &[0x51, 1, 2, 3, 4, 5, 6, 7];
        assert_eq!(
            wwid(&page(&[(0x03, NAA5), (0x03, other5)])),
            "35000c50015ea71ac"
        );
        assert_eq!(
            wwid(&page(&[(0x03, other5), (0x03, NAA5)])),
            "35101020304050607"
        );
    }

    #[test]
    fn naa6_needs_length_16() {
        assert_eq!(wwid(&page(&[(0x03, NAA6)])).len(), 33);
        let short6: &[u8] = &[0x60, 1, 2, 3, 4, 5, 6, 7];
        assert_eq!(
            wwid(&page(&[(0x03, short6), (0x03, NAA3)])),
            "333333330000007d0"
        );
        let long5: &[u8] = &[0x50; 16];
        assert_eq!(
            wwid(&page(&[(0x03, long5), (0x03, NAA3)])),
            "333333330000007d0"
        );
    }

    #[test]
    fn invalid_candidates_are_skipped() {
        let invalid: [(u8, &[u8]); 9] = [
            (0x03, &[0x10, 0, 0, 0, 0, 0, 0, 0]),     // NAA 1
            (0x03, &[0x30, 0, 0, 0]),                 // NAA 3, length 4
            (0x03, &[]),                              // empty NAA
            (0x02, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), // EUI-64 length 10
            (0x08, b"abc.def"),                       // unknown name prefix
            (0x08, b"eui"),                           // name too short
            (0x01, b"SHORT"),                         // T10 < 8
            (0x00, b"MPATH0"),                        // vendor specific
            (0x0a, &[0; 18]),                         // UUID
        ];
        for d in invalid {
            assert_eq!(
                cause83(&page(&[d])),
                Cause::NoUsableDesignator { seen: 1 },
                "{d:?}"
            );
            assert_eq!(wwid(&page(&[d, (0x01, T10)])), "1VENDOR_PRODUCT_1234");
        }
    }

    #[test]
    fn only_logical_unit_association_counts() {
        for assoc in [0x10, 0x20, 0x30, 0x90, 0xa0] {
            let p = page(&[(assoc | 0x03, NAA5), (0x01, T10)]);
            assert_eq!(
                wwid(&p),
                "1VENDOR_PRODUCT_1234",
                "association byte {assoc:#x}"
            );
        }
        // PIV does not matter for LU designators.
        assert_eq!(wwid(&page(&[(0x83, NAA5)])), "35000c50015ea71ac");
    }

    #[test]
    fn eui64_lengths() {
        for len in [8, 12, 16] {
            let value: Vec<u8> = (0..len as u8).collect();
            let w = wwid(&page(&[(0x02, &value)]));
            assert_eq!(w.len(), 1 + 2 * len);
            assert!(w.starts_with("2000102"));
        }
    }

    #[test]
    fn scsi_name_strings() {
        assert_eq!(
            wwid(&page(&[(0x08, b"naa.600A0B80001234\0\0")])),
            "3600a0b80001234"
        );
        assert_eq!(wwid(&page(&[(0x08, b"eui.ABCDEF\0\0")])), "2abcdef");
        assert_eq!(
            wwid(&page(&[(0x08, b"iqn.2003-01.org.Linux-iSCSI:Disk1\0\0\0")])),
            "82003-01.org.Linux-iSCSI:Disk1"
        );
        assert_eq!(wwid(&page(&[(0x08, b"naa.")])), "3");
        assert_eq!(wwid(&page(&[(0x08, b"naa.12\0xyz/\x01")])), "312");
    }

    #[test]
    fn t10_vendor_id_spacing() {
        assert_eq!(wwid(&page(&[(0x01, b"  LEAD   x  ")])), "1_LEAD_x");
        assert_eq!(wwid(&page(&[(0x01, b"ABCDEFGH")])), "1ABCDEFGH");
        assert_eq!(wwid(&page(&[(0x01, b"        ")])), "1");
        // Text ends at a NUL; a space run before it still yields its '_'.
        assert_eq!(wwid(&page(&[(0x01, b"AB  \0CD/\xffxx")])), "1AB_");
        assert_eq!(wwid(&page(&[(0x01, b"ABCDEFG\0")])), "1ABCDEFG");
    }

    #[test]
    fn bad_text_is_an_error_naming_the_offset() {
        let p = page(&[(0x03, NAA3), (0x01, b"VEND/OR PRODUCT")]);
        let err = wwid_from_vpd83(&p).unwrap_err();
        assert_eq!(
            err,
            IdentifyError::Page83(Cause::BadText {
                source: TextSource::T10VendorId,
                offset: 16,
                byte: b'/'
            })
        );
        let msg = err.to_string();
        assert!(
            msg.contains("T10 vendor id designator at page offset 16 has byte 0x2f"),
            "{msg}"
        );
        let p = page(&[(0x01, b"VENDOR\xc3\xa9 PRODUCT")]);
        assert!(matches!(
            cause83(&p),
            Cause::BadText {
                byte: 0xc3,
                offset: 4,
                ..
            }
        ));
        let p = page(&[(0x01, b"VENDOR\tPRODUCT")]);
        assert!(matches!(cause83(&p), Cause::BadText { byte: b'\t', .. }));
        let p = page(&[(0x08, b"iqn.a/b")]);
        assert!(matches!(
            cause83(&p),
            Cause::BadText {
                source: TextSource::ScsiNameString,
                ..
            }
        ));
        let p = page(&[(0x08, b"naa.\x7f")]);
        assert!(matches!(cause83(&p), Cause::BadText { byte: 0x7f, .. }));
    }

    #[test]
    fn over_long_designators_are_capped() {
        let long_t10 = [b'A'; 255];
        let w = wwid(&page(&[(0x01, &long_t10)]));
        assert_eq!(w.len(), WWID_MAX);
        assert!(w.starts_with("1AAA"));
        // Like 0.9.4, only the first 128 value bytes count: '8' + 124 characters.
        let mut long_name = [b'x'; 250];
        long_name[..4].copy_from_slice(b"iqn.");
        assert_eq!(wwid(&page(&[(0x08, &long_name)])).len(), 125);
        // A bad byte past that never reaches the WWID.
        long_name[200] = b'/';
        assert_eq!(wwid(&page(&[(0x08, &long_name)])).len(), 125);
        // T10 text longer than the cap after space collapsing.
        let mut spaced = [b'B'; 200];
        spaced[1] = b' ';
        spaced[2] = b' ';
        let w = wwid(&page(&[(0x01, &spaced)]));
        assert_eq!(w.len(), WWID_MAX);
        assert!(w.starts_with("1B_BBB"));
    }

    #[test]
    fn malformed_pages() {
        assert!(matches!(
            cause83(&[0x00, 0x83, 0x00]),
            Cause::Data(ScsiDataError::TooShort { .. })
        ));
        assert!(matches!(
            cause83(&[]),
            Cause::Data(ScsiDataError::TooShort { .. })
        ));
        assert!(matches!(
            cause83(&SCSI_DEBUG_80),
            Cause::Data(ScsiDataError::WrongPageCode { found: 0x80, .. })
        ));
        assert_eq!(
            cause83(&[0x00, 0x83, 0x00, 0x00]),
            Cause::NoUsableDesignator { seen: 0 }
        );
        let zeros = page(&[(0x03, &[]), (0x01, &[]), (0x08, &[])]);
        assert_eq!(cause83(&zeros), Cause::NoUsableDesignator { seen: 3 });
    }

    #[test]
    fn designator_past_the_end() {
        let mut p = page(&[(0x03, NAA5)]);
        p[7] = 20; // claims 20 bytes, 8 present
        let err = wwid_from_vpd83(&p).unwrap_err().to_string();
        assert!(
            err.contains("VPD page 0x83 designator at offset 4 runs past the page end"),
            "{err}"
        );
        // Truncated buffer after a usable designator: 0.9.4 keeps it.
        let cut = &SCSI_DEBUG_83[..60];
        assert_eq!(wwid(cut), "1Linux_scsi_debug_2000");
        let mut p = page(&[(0x03, NAA3), (0x03, NAA5)]);
        p[19] = 40;
        assert_eq!(wwid(&p), "333333330000007d0", "walk stops at the overrun");
    }

    #[test]
    fn vpd80_like_scsi_id() {
        let w = |v: &str, p: &str, page: &[u8]| {
            wwid_from_vpd80(v, p, page).map(|w| w.as_str().to_owned())
        };
        assert_eq!(
            w("Linux", "scsi_debug", &SCSI_DEBUG_80).unwrap(),
            "SLinux_scsi_debug_2000"
        );
        assert_eq!(
            w("Linux   ", "scsi_debug      ", &SCSI_DEBUG_80).unwrap(),
            "SLinux_scsi_debug_2000"
        );
        assert_eq!(
            w("ABCDEFGHIJ", "P", &SCSI_DEBUG_80).unwrap(),
            "SABCDEFGHP_2000"
        );
        let padded = [
            0, 0x80, 0, 12, b' ', b' ', b'S', b'N', b'\t', b'1', b' ', b' ', 0, 0, 0, 0,
        ];
        assert_eq!(w("HP", "MSA", &padded).unwrap(), "SHP_MSA_SN_1");
        let long: Vec<u8> = [0, 0x80, 0, 250].into_iter().chain([b'7'; 250]).collect();
        assert_eq!(w("V", "P", &long).unwrap().len(), WWID_MAX);
    }

    #[test]
    fn vpd80_errors() {
        let c = |v: &str, p: &str, page: &[u8]| match wwid_from_vpd80(v, p, page) {
            Err(IdentifyError::Page80(cause)) => cause,
            other => panic!("{other:?}"),
        };
        assert_eq!(c("V", "P", &[0, 0x80, 0, 0]), Cause::EmptySerial);
        assert_eq!(
            c("V", "P", &[0, 0x80, 0, 3, b' ', b'\t', b' ']),
            Cause::EmptySerial
        );
        assert_eq!(
            c("V", "P", &[0, 0x80, 0, 3, 0, b'A', b'B']),
            Cause::EmptySerial
        );
        assert_eq!(
            c("V", "P", &[0, 0x80, 0, 3, b'A', b'/', b'B']),
            Cause::BadText {
                source: TextSource::Serial,
                offset: 5,
                byte: b'/'
            }
        );
        assert_eq!(
            c("V/X", "P", &SCSI_DEBUG_80),
            Cause::BadText {
                source: TextSource::Vendor,
                offset: 1,
                byte: b'/'
            }
        );
        assert!(matches!(
            c("V", "P\u{e9}", &SCSI_DEBUG_80),
            Cause::BadText {
                source: TextSource::Product,
                offset: 1,
                ..
            }
        ));
        assert!(matches!(
            c("V", "P", &SCSI_DEBUG_83),
            Cause::Data(ScsiDataError::WrongPageCode { .. })
        ));
        assert!(matches!(
            c("V", "P", &SCSI_DEBUG_80[..5]),
            Cause::Data(ScsiDataError::Overrun { .. })
        ));
        assert!(matches!(
            c("V", "P", &[]),
            Cause::Data(ScsiDataError::TooShort { .. })
        ));
    }

    #[test]
    fn wwid_for_prefers_page83() {
        let w = wwid_for(
            "Linux",
            "scsi_debug",
            Some(&SCSI_DEBUG_83),
            Some(&SCSI_DEBUG_80),
        )
        .unwrap();
        assert_eq!(w.as_str(), "1Linux_scsi_debug_2000");
    }

    #[test]
    fn disk_wwid_takes_ata_then_page83_then_page80_asked_last() {
        type Page80 = Option<Result<&'static [u8], String>>;
        let never = || -> Page80 { panic!("page 0x80 asked for") };
        let qemu_ata = || ata::AtaId::from_vpd89(&ata::fixtures::qemu_page89());
        // An ATA disk: ata_id's name, before page 0x83; not over USB.
        let ata = disk_wwid("ATA", "QEMU HARDDISK", false, &mut Vec::new(), qemu_ata, Some(&SCSI_DEBUG_83), never);
        assert_eq!(ata.unwrap().as_str(), "QEMU_HARDDISK_MPATHATA");
        let usb = disk_wwid("ATA", "QEMU HARDDISK", true, &mut Vec::new(), qemu_ata, Some(&SCSI_DEBUG_83), never);
        assert_eq!(usb.unwrap().as_str(), "1Linux_scsi_debug_2000");
        // Page 0x83 usable: page 0x80 is never asked for.
        let w = disk_wwid("Linux", "scsi_debug", false, &mut Vec::new(), || None, Some(&SCSI_DEBUG_83), never);
        assert_eq!(w.unwrap().as_str(), "1Linux_scsi_debug_2000");
        // Else page 0x80; or why there is none.
        let w = disk_wwid("Linux", "scsi_debug", false, &mut Vec::new(), || None, None, || Some(Ok(&SCSI_DEBUG_80[..])));
        assert_eq!(w.unwrap().as_str(), "SLinux_scsi_debug_2000");
        let failed = || -> Page80 { Some(Err("timed out".into())) };
        let err = disk_wwid("Linux", "scsi_debug", false, &mut Vec::new(), || None, None, failed).unwrap_err();
        assert!(err.ends_with("; VPD page 0x80: timed out"), "{err}");
        let unused = || -> Page80 { None };
        let err = disk_wwid("Linux", "scsi_debug", false, &mut Vec::new(), || None, None, unused).unwrap_err();
        assert_eq!(err, wwid_for("Linux", "scsi_debug", None, None).unwrap_err().to_string());
    }

    #[test]
    fn wwid_for_falls_back_to_page80() {
        let expect = "SLinux_scsi_debug_2000";
        let unusable = page(&[(0x00, b"MPATH0")]);
        for p83 in [
            None,
            Some(&unusable[..]),
            Some(&SCSI_DEBUG_80[..]),
            Some(&[0u8, 0x83][..]),
        ] {
            let w = wwid_for("Linux", "scsi_debug", p83, Some(&SCSI_DEBUG_80)).unwrap();
            assert_eq!(w.as_str(), expect, "{p83:?}");
        }
    }

    #[test]
    fn wwid_for_reports_what_was_tried() {
        let unusable = page(&[(0x00, b"MPATH0")]);
        let err = wwid_for("Linux", "scsi_debug", Some(&unusable), None).unwrap_err();
        assert_eq!(
            err,
            IdentifyError::NoWwid {
                page83: Cause::NoUsableDesignator { seen: 1 },
                page80: Cause::NotSupplied
            }
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with("no WWID: tried VPD page 0x83: none of its 1 designators"),
            "{msg}"
        );
        assert!(
            msg.ends_with("then VPD page 0x80: page not available (not supported or not readable)"),
            "{msg}"
        );
        let err = wwid_for("V", "P", None, Some(&[0, 0x80, 0, 0])).unwrap_err();
        assert_eq!(
            err,
            IdentifyError::NoWwid {
                page83: Cause::NotSupplied,
                page80: Cause::EmptySerial
            }
        );
    }

    #[test]
    fn wwid_for_does_not_fall_back_over_bad_text() {
        let bad = page(&[(0x01, b"VEND/OR PRODUCT")]);
        let err = wwid_for("V", "P", Some(&bad), Some(&SCSI_DEBUG_80)).unwrap_err();
        assert!(matches!(err, IdentifyError::Page83(Cause::BadText { .. })));
    }

    #[test]
    fn wwid_for_uses_vendor_switch() {
        let w = wwid_for(
            "COMPAQ",
            "HSV110 (C)COMPAQ",
            Some(&SCSI_DEBUG_83),
            Some(&SCSI_DEBUG_80),
        )
        .unwrap();
        // Bytes 8..24 of the page: "Linux   scsi_deb".
        assert_eq!(w.as_str(), "4c696e7578202020736373695f646562");
        let err = wwid_for("DEC", "HSG80", None, Some(&SCSI_DEBUG_80)).unwrap_err();
        assert_eq!(err, IdentifyError::StorageWorks(Cause::NotSupplied));
    }

    #[test]
    fn ata_wwid_follows_udevs_rule_order() {
        let id = || ata::AtaId::from_vpd89(&ata::fixtures::qemu_page89());
        // Not ATA: no opinion, and the IDENTIFY data is never asked for.
        let mut props = Vec::new();
        assert!(ata_wwid("Linux", &mut props, || panic!("asked")).is_none());
        // sg3_utils' ID_SERIAL first: ata_id does not run.
        let mut props = vec![("ID_SERIAL".to_string(), "SG3_NAME".to_string())];
        let wwid = ata_wwid("ATA     ", &mut props, || panic!("asked")).unwrap().unwrap();
        assert_eq!(wwid.as_str(), "SG3_NAME");
        assert_eq!(props.len(), 1);
        // Else ata_id's, and its properties join the list.
        let mut props = vec![("ID_SERIAL".to_string(), String::new())];
        let wwid = ata_wwid("ATA", &mut props, id).unwrap().unwrap();
        assert_eq!(wwid.as_str(), "QEMU_HARDDISK_MPATHATA");
        assert!(props.contains(&("ID_ATA".to_string(), "1".to_string())));
        assert!(props.windows(2).all(|w| w[0].0 <= w[1].0), "sorted: {props:?}");
        // Neither: no opinion (scsi_id's turn).
        assert!(ata_wwid("ATA", &mut Vec::new(), || None).is_none());
        // A name no map can have: an error, not a different WWID.
        let mut props = vec![("ID_SERIAL".to_string(), "MODEL_\u{e9}".to_string())];
        let err = ata_wwid("ATA", &mut props, || None).unwrap().unwrap_err();
        assert!(matches!(err, IdentifyError::Ata(Cause::BadText { offset: 6, .. })), "{err}");
        // Over-long: truncated as multipath-tools' WWID_SIZE does.
        let mut props = vec![("ID_SERIAL".to_string(), "A".repeat(200))];
        let wwid = ata_wwid("ATA", &mut props, || None).unwrap().unwrap();
        assert_eq!(wwid.len(), WWID_MAX);
    }
}
