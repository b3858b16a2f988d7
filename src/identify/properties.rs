//! The udev properties a SCSI disk would carry, derived from its INQUIRY
//! vendor/product and VPD page 0x83, for multipath-tools' `property`
//! blacklist rules (whose built-in exception `(SCSI_IDENT_|ID_WWN)` needs
//! one of them) in an early boot without udev.
//!
//! The model is the Debian rule stack: sg3-utils-udev's
//! `55-scsi-sg3_id.rules` (the `SCSI_IDENT_<ASSOC>_<TYPE>` names written by
//! sg3_utils' `--export` of page 0x83, then its scsi_id-compatible `ID_*`
//! mappings), followed by `60-persistent-storage.rules`, which runs udev's
//! `scsi_id --export` only when `ID_SERIAL` is still unset.
//!
//! What comes from where:
//! - `SCSI_VENDOR`, `SCSI_MODEL`, and `ID_VENDOR`/`ID_MODEL` copied from
//!   them; `ID_BUS` (`scsi`, or `ata` for an `ATA_` T10 designator).
//! - `SCSI_IDENT_{LUN,PORT,TARGET}_*`: one per designator sg3_utils
//!   exports (T10, VENDOR, EUI64, NAA_{REGEXT,REG,EXT,LOCAL}, RELATIVE,
//!   TARGET_PORT_GROUP, LOGICAL_UNIT_GROUP, MD5, NAME, UUID, ATA, UAS/SOP).
//! - `ID_WWN_WITH_EXTENSION`/`ID_WWN`: from the logical-unit NAA designator
//!   (REGEXT, then REG, EXT, LOCAL); scsi_id sets `ID_WWN` likewise, and
//!   only for NAA designators, never for EUI-64.
//! - `ID_SERIAL`/`ID_SERIAL_SHORT`: sg3_utils' order (ATA, NAA other than
//!   local, EUI-64, name string, T10 vendor id), else scsi_id's choice
//!   among the logical-unit designators (NAA, EUI-64, T10, vendor specific).
//!
//! Not modelled: page 0x80 (`SCSI_IDENT_SERIAL`, scsi_id's `S` serial),
//! the `*_ENC` and `ID_REVISION`/`ID_TYPE` values, and the kernel's own
//! uevent properties (DEVNAME, DEVTYPE, ...). Older sg3_utils releases
//! exported NAA designators without the type suffix and with length
//! checks; the names here follow the current rules file.

use crate::scsi::vpd::{self, association, kind, Designator};

/// Characters sg3_utils and udev leave as they are in a property value.
fn is_udev_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"#+-.:=@_".contains(&byte)
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// sg3_utils' whitespace folding: leading blanks and control bytes and
/// trailing blanks/NULs dropped, each run of blanks one `_`, a lone NUL
/// skipped, two NULs end the text, other unprintable bytes become `.`.
/// Empty when nothing printable remains.
fn fold_whitespace(raw: &[u8]) -> Vec<u8> {
    let start = raw.iter().position(|&b| !is_blank(b)).unwrap_or(raw.len());
    let start = start
        + raw
            .get(start..)
            .unwrap_or(&[])
            .iter()
            .take_while(|&&b| b < 0x20)
            .count();
    let end = raw
        .iter()
        .rposition(|&b| !is_blank(b) && b != 0)
        .map_or(0, |i| i + 1);
    let body = raw.get(start..end.max(start)).unwrap_or(&[]);
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut printable = false;
    let mut last_was_nul = false;
    for &b in body {
        if b == 0 {
            if last_was_nul {
                break;
            }
            last_was_nul = true;
            continue;
        }
        last_was_nul = false;
        if is_blank(b) {
            if out.last().is_some_and(|&l| l != b'_') {
                out.push(b'_');
            }
        } else if (0x20..0x7f).contains(&b) {
            out.push(b);
            printable = true;
        } else {
            out.push(b'.');
        }
    }
    if printable {
        out
    } else {
        Vec::new()
    }
}

/// udev-conforming escaping of folded text: `\xNN` for anything else.
fn udev_escape(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text {
        if is_udev_plain(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Lower-case hex, two digits a byte (`%02x`), without a formatter call
/// per byte: every designator of every path goes through here.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// The text of an ASCII designator up to its first NUL (C `%.*s`).
fn c_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

const CODE_BINARY: u8 = 1;
const CODE_ASCII: u8 = 2;
const CODE_UTF8: u8 = 3;
/// Protocol identifiers with their own port designators (SPC-4 table 7.6.1).
const PROTOCOL_UAS: u8 = 0x9;
const PROTOCOL_SOP: u8 = 0xa;
const KIND_LU_GROUP: u8 = 6;
const KIND_MD5: u8 = 7;
const KIND_PROTOCOL_PORT: u8 = 9;
const KIND_UUID: u8 = 0xa;

/// A designator as sg3_utils' export sees it.
struct Desc<'a> {
    association: u8,
    kind: u8,
    code_set: u8,
    protocol: u8,
    value: &'a [u8],
}

impl<'a> From<Designator<'a>> for Desc<'a> {
    fn from(d: Designator<'a>) -> Self {
        Desc {
            association: d.association,
            kind: d.kind,
            code_set: d.code_set,
            protocol: d.protocol,
            value: d.value,
        }
    }
}

fn naa_suffix(value: &[u8]) -> &'static str {
    match value.first().map(|b| b >> 4) {
        Some(6) => "REGEXT",
        Some(5) => "REG",
        Some(2) => "EXT",
        _ => "LOCAL",
    }
}

fn be16_at(value: &[u8], at: usize) -> u16 {
    match value.get(at..at + 2) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

/// The `SCSI_IDENT_*` pairs of one designator (none when sg3_utils skips it).
fn export_designator(d: &Desc<'_>, assoc: &str, out: &mut Vec<(String, String)>) {
    let text_code = d.code_set == CODE_ASCII || d.code_set == CODE_UTF8;
    let binary = d.code_set == CODE_BINARY;
    let len = d.value.len();
    // udev keeps the last value of a name imported twice.
    let mut put =
        |suffix: &str, value: String| set(out, &format!("SCSI_IDENT_{assoc}_{suffix}"), value);
    match d.kind {
        kind::VENDOR_SPECIFIC if (1..=128).contains(&len) => {
            if text_code {
                let folded = fold_whitespace(d.value);
                if !folded.is_empty() {
                    put("VENDOR", udev_escape(&folded));
                }
            } else {
                put("VENDOR", hex(d.value));
            }
        }
        kind::T10_VENDOR_ID if text_code => {
            let folded = fold_whitespace(d.value);
            put("T10", udev_escape(&folded));
            // sg3_utils tests the folded text, so "ATA     X" counts.
            if folded.starts_with(b"ATA_") {
                put("ATA", c_text(folded.get(4..).unwrap_or(&[])));
            }
        }
        kind::T10_VENDOR_ID => put("T10", hex(d.value)),
        kind::EUI64 if binary => put("EUI64", hex(d.value)),
        kind::NAA if binary => put(&format!("NAA_{}", naa_suffix(d.value)), hex(d.value)),
        kind::RELATIVE_TARGET_PORT
            if binary && d.association == association::TARGET_PORT && len == 4 =>
        {
            put("RELATIVE", be16_at(d.value, 2).to_string())
        }
        kind::TARGET_PORT_GROUP
            if binary && d.association == association::TARGET_PORT && len == 4 =>
        {
            put("TARGET_PORT_GROUP", format!("0x{:x}", be16_at(d.value, 2)))
        }
        KIND_LU_GROUP if binary && d.association == association::LOGICAL_UNIT && len == 4 => {
            put("LOGICAL_UNIT_GROUP", format!("0x{:x}", be16_at(d.value, 2)))
        }
        KIND_MD5 if binary && d.association == association::LOGICAL_UNIT => {
            put("MD5", hex(d.value))
        }
        kind::SCSI_NAME_STRING if d.code_set == CODE_UTF8 => put("NAME", c_text(d.value)),
        KIND_PROTOCOL_PORT
            if d.protocol == PROTOCOL_UAS
                && len == 4
                && d.association == association::TARGET_PORT =>
        {
            let address = d.value.first().map_or(0, |b| b & 0x7f);
            let interface = d.value.get(2).copied().unwrap_or(0);
            put("UAS_DEVICE_ADDRESS", format!("0x{address:x}"));
            put("UAS_INTERFACE_NUMBER", format!("0x{interface:x}"));
        }
        KIND_PROTOCOL_PORT if d.protocol == PROTOCOL_SOP && (len == 4 || len == 8) => {
            put("SOP_ROUTING_ID", format!("0x{:x}", be16_at(d.value, 0)))
        }
        KIND_UUID if binary && len >= 18 => put("UUID", uuid_text(d.value)),
        _ => {}
    }
}

/// UUID designator bytes 2.. as 8-4-4-4-12 hex.
fn uuid_text(value: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in value.iter().enumerate().skip(2) {
        if matches!(i, 6 | 8 | 10 | 12) {
            out.push('-');
        }
        push_hex(&mut out, &[*b]);
    }
    out
}

fn association_name(association: u8) -> Option<&'static str> {
    match association {
        association::LOGICAL_UNIT => Some("LUN"),
        association::TARGET_PORT => Some("PORT"),
        association::TARGET_DEVICE => Some("TARGET"),
        _ => None,
    }
}

/// Old EMC Symmetrix pages carry a bare NAA value after the header; both
/// sg3_utils and scsi_id recognise them by a non-zero third byte of what
/// would be the first designator header.
fn is_pre_spc3(page83: &[u8]) -> bool {
    page83.get(6).is_some_and(|&b| b != 0)
}

/// The designators as sg3_utils walks them: stops at the first malformed
/// one or at an association value 3.
fn export_all(page83: &[u8], out: &mut Vec<(String, String)>) -> Vec<LuDesignator> {
    let mut lu_designators = Vec::new();
    let Ok(walk) = vpd::designators(page83) else {
        return lu_designators;
    };
    let descs: Vec<Desc<'_>> = if is_pre_spc3(page83) {
        let end = walk.end();
        let payload = page83.get(vpd::HEADER_LEN..end).unwrap_or(&[]);
        vec![Desc {
            association: association::LOGICAL_UNIT,
            kind: kind::NAA,
            code_set: CODE_BINARY,
            protocol: 0xf,
            value: payload,
        }]
    } else {
        walk.map_while(Result::ok).map(Desc::from).collect()
    };
    for d in &descs {
        let Some(assoc) = association_name(d.association) else {
            break;
        };
        export_designator(d, assoc, out);
        if d.association == association::LOGICAL_UNIT {
            lu_designators.push((
                d.kind,
                d.code_set,
                d.value.first().map_or(0, |b| b >> 4),
                d.value.to_vec(),
            ));
        }
    }
    lu_designators
}

fn get<'a>(props: &'a [(String, String)], name: &str) -> Option<&'a str> {
    props
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Sets `name` unless already set (udev's `ENV{X}!="?*"` guards).
fn set_if_unset(props: &mut Vec<(String, String)>, name: &str, value: String) {
    if get(props, name).is_none_or(str::is_empty) {
        props.retain(|(n, _)| n != name);
        props.push((name.to_owned(), value));
    }
}

/// udev's `ID_SERIAL` when set and not empty (`ENV{ID_SERIAL}=="?*"`).
pub fn id_serial(props: &[(String, String)]) -> Option<&str> {
    get(props, "ID_SERIAL").filter(|v| !v.is_empty())
}

/// udev's `IMPORT{program}`: each property set, replacing an earlier
/// value; the list stays sorted by name.
pub fn import(props: &mut Vec<(String, String)>, imported: Vec<(String, String)>) {
    for (name, value) in imported {
        set(props, &name, value);
    }
    sort_by_name(props);
}

/// Sorts properties by name, as libudev lists them, keeping the order of
/// equal names. The one sort of property lists in the program (issue 11:
/// each sort instantiated is code).
#[inline(never)]
pub fn sort_by_name(props: &mut [(String, String)]) {
    props.sort_by(|a, b| a.0.cmp(&b.0));
}

fn set(props: &mut Vec<(String, String)>, name: &str, value: String) {
    props.retain(|(n, _)| n != name);
    props.push((name.to_owned(), value));
}

/// 55-scsi-sg3_id.rules' `ID_WWN*` mapping.
fn sg3_wwn(props: &mut Vec<(String, String)>) {
    for suffix in ["REGEXT", "REG", "EXT", "LOCAL"] {
        if let Some(naa) =
            get(props, &format!("SCSI_IDENT_LUN_NAA_{suffix}")).filter(|v| !v.is_empty())
        {
            let value = format!("0x{naa}");
            set_if_unset(props, "ID_WWN_WITH_EXTENSION", value);
        }
    }
    if let Some(with_ext) = get(props, "ID_WWN_WITH_EXTENSION").map(str::to_owned) {
        let short: String = with_ext.chars().take(18).collect();
        set_if_unset(props, "ID_WWN", short);
    }
}

/// 55-scsi-sg3_id.rules' `ID_SERIAL` choices, with the default source
/// setting (T10 vendor id allowed; NAA local, vendor specific and page
/// 0x80 not).
fn sg3_serial(props: &mut Vec<(String, String)>) {
    if let Some(ata) = get(props, "SCSI_IDENT_LUN_ATA")
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
    {
        set(props, "ID_BUS", "ata".into());
        set(props, "ID_ATA", "1".into());
        set(props, "ID_SERIAL", ata);
    }
    // An ATA disk's short serial: the vendor specific designator (libata
    // puts the ATA serial number there).
    if get(props, "SCSI_VENDOR") == Some("ATA") {
        if let Some(serial) = get(props, "SCSI_IDENT_LUN_VENDOR")
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
        {
            set_if_unset(props, "ID_SERIAL_SHORT", serial);
        }
    }
    if id_serial(props).is_some() {
        return;
    }
    let sources = [
        ("SCSI_IDENT_LUN_NAA_REGEXT", "3"),
        ("SCSI_IDENT_LUN_NAA_REG", "3"),
        ("SCSI_IDENT_LUN_NAA_EXT", "3"),
        ("SCSI_IDENT_LUN_EUI64", "2"),
        ("SCSI_IDENT_LUN_NAME", "8"),
        ("SCSI_IDENT_LUN_T10", "1"),
    ];
    for (name, prefix) in sources {
        if let Some(value) = get(props, name)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
        {
            set(props, "ID_SERIAL", format!("{prefix}{value}"));
            set(props, "ID_SERIAL_SHORT", value);
            return;
        }
    }
}

/// udev's `replace_whitespace` + `replace_chars` as scsi_id applies them
/// to its serial: text up to the first NUL, trimmed, each run of
/// whitespace one `_`, bytes outside udev's safe set `_`.
fn udev_safe(text: &[u8]) -> String {
    let text: &[u8] = text.split(|&b| b == 0).next().unwrap_or(&[]);
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for &b in text.trim_ascii() {
        if b.is_ascii_whitespace() {
            if !in_space {
                out.push('_');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        out.push(if is_udev_plain(b) { char::from(b) } else { '_' });
    }
    out
}

/// What scsi_id exports from the designator it picks.
struct ScsiIdChoice {
    serial: String,
    serial_short: String,
    /// WWN and vendor extension (16 characters each at most), NAA only.
    wwn: Option<(String, String)>,
}

/// A logical-unit designator: type, code set, NAA nibble, value.
type LuDesignator = (u8, u8, u8, Vec<u8>);

/// scsi_id's choice of a logical-unit designator for the serial, in its
/// priority order.
fn scsi_id_serial(lu: &[LuDesignator], vendor: &str, product: &str) -> Option<ScsiIdChoice> {
    // (designator type, NAA type wanted or None, code set)
    let order: [(u8, Option<u8>, u8); 12] = [
        (kind::NAA, Some(6), CODE_BINARY),
        (kind::NAA, Some(6), CODE_ASCII),
        (kind::NAA, Some(5), CODE_BINARY),
        (kind::NAA, Some(5), CODE_ASCII),
        (kind::NAA, None, CODE_BINARY),
        (kind::NAA, None, CODE_ASCII),
        (kind::EUI64, None, CODE_BINARY),
        (kind::EUI64, None, CODE_ASCII),
        (kind::T10_VENDOR_ID, None, CODE_BINARY),
        (kind::T10_VENDOR_ID, None, CODE_ASCII),
        (kind::VENDOR_SPECIFIC, None, CODE_BINARY),
        (kind::VENDOR_SPECIFIC, None, CODE_ASCII),
    ];
    for (want_kind, want_naa, want_code) in order {
        let found = lu.iter().find(|(k, code, naa, value)| {
            *k == want_kind
                && *code == want_code
                && want_naa.is_none_or(|n| n == *naa)
                && scsi_id_fits(want_kind, want_code, value.len())
        });
        let Some((_, _, _, value)) = found else {
            continue;
        };
        let id: Vec<u8> = if want_code == CODE_ASCII {
            value.iter().copied().take_while(|&b| b != 0).collect()
        } else {
            hex(value).into_bytes()
        };
        let mut serial = format!("{want_kind:x}").into_bytes();
        if want_kind == kind::VENDOR_SPECIFIC {
            serial.extend(format!("{vendor:<8.8}{product:<16.16}").bytes());
        }
        serial.extend_from_slice(&id);
        let wwn = (want_kind == kind::NAA).then(|| {
            let part = |from: usize| c_text(id.get(from..(from + 16).min(id.len())).unwrap_or(&[]));
            (part(0), part(16))
        });
        return Some(ScsiIdChoice {
            serial: udev_safe(&serial),
            serial_short: udev_safe(&id),
            wwn,
        });
    }
    None
}

/// scsi_id's serial buffer holds 256 bytes: type digit, value (two hex
/// digits a byte when binary), vendor+model for vendor specific, NUL.
fn scsi_id_fits(kind_: u8, code: u8, len: usize) -> bool {
    let mut need = if code == CODE_ASCII { len } else { len * 2 } + 2;
    if kind_ == kind::VENDOR_SPECIFIC {
        need += 24;
    }
    need <= 256
}

/// 60-persistent-storage.rules: scsi_id runs only when no `ID_SERIAL` is set.
fn scsi_id_fallback(
    props: &mut Vec<(String, String)>,
    lu: &[LuDesignator],
    vendor: &str,
    product: &str,
) {
    if get(props, "ID_SERIAL").is_some() {
        return;
    }
    let Some(choice) = scsi_id_serial(lu, vendor, product) else {
        return;
    };
    set(props, "ID_SERIAL", choice.serial);
    set(props, "ID_SERIAL_SHORT", choice.serial_short);
    if let Some((main, ext)) = choice.wwn.filter(|(main, _)| !main.is_empty()) {
        set(props, "ID_WWN", format!("0x{main}"));
        if ext.is_empty() {
            set(props, "ID_WWN_WITH_EXTENSION", format!("0x{main}"));
        } else {
            set(props, "ID_WWN_VENDOR_EXTENSION", format!("0x{ext}"));
            set(props, "ID_WWN_WITH_EXTENSION", format!("0x{main}{ext}"));
        }
    }
}

/// The udev properties of a SCSI disk with this INQUIRY vendor/product
/// and device identification page (any bytes: a malformed page yields the
/// properties of its well-formed leading designators). Sorted by name,
/// as libudev lists them.
pub fn scsi_properties(
    vendor: &str,
    product: &str,
    page83: Option<&[u8]>,
) -> Vec<(String, String)> {
    let mut props: Vec<(String, String)> = Vec::new();
    let scsi_vendor = udev_escape(&fold_whitespace(vendor.as_bytes()));
    let scsi_model = udev_escape(&fold_whitespace(product.as_bytes()));
    props.push(("SCSI_VENDOR".into(), scsi_vendor.clone()));
    props.push(("SCSI_MODEL".into(), scsi_model.clone()));
    let lu = page83
        .map(|page| export_all(page, &mut props))
        .unwrap_or_default();
    set_if_unset(&mut props, "ID_VENDOR", scsi_vendor);
    set_if_unset(&mut props, "ID_MODEL", scsi_model);
    sg3_wwn(&mut props);
    sg3_serial(&mut props);
    if !is_pre_spc3_page(page83) {
        scsi_id_fallback(&mut props, &lu, vendor, product);
    }
    set_if_unset(&mut props, "ID_BUS", "scsi".into());
    sort_by_name(&mut props);
    props
}

/// What usb_id gives a USB disk that has no `ID_SERIAL` yet: vendor and
/// model (usb_id adds the USB serial and interface, which only the USB
/// descriptors in sysfs tell; what matters to multipath is that it is set).
pub fn set_usb_serial(props: &mut Vec<(String, String)>, vendor: &str, product: &str) {
    let vendor = udev_escape(&fold_whitespace(vendor.as_bytes()));
    let model = udev_escape(&fold_whitespace(product.as_bytes()));
    set_if_unset(props, "ID_SERIAL", format!("{vendor}_{model}"));
    sort_by_name(props);
}

fn is_pre_spc3_page(page83: Option<&[u8]>) -> bool {
    page83.is_some_and(|p| vpd::designators(p).is_ok() && is_pre_spc3(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scsi::vpd::fixtures::{QEMU_83, SCSI_DEBUG_83};

    fn value<'a>(props: &'a [(String, String)], name: &str) -> Option<&'a str> {
        get(props, name)
    }

    fn names(props: &[(String, String)]) -> Vec<&str> {
        props.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn hex_is_printf_02x() {
        let all: Vec<u8> = (0..=255).collect();
        let printf: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), printf);
        assert_eq!(uuid_text(&[0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]), "deadbeef-0102-0304-0506-0708090a0b0c0d0e");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn scsi_debug_page() {
        let props = scsi_properties("Linux", "scsi_debug", Some(&SCSI_DEBUG_83));
        assert_eq!(
            value(&props, "SCSI_IDENT_LUN_T10"),
            Some("Linux_scsi_debug_2000")
        );
        assert_eq!(
            value(&props, "SCSI_IDENT_LUN_NAA_LOCAL"),
            Some("33333330000007d0")
        );
        assert_eq!(value(&props, "SCSI_IDENT_PORT_RELATIVE"), Some("1"));
        assert_eq!(
            value(&props, "SCSI_IDENT_PORT_NAA_LOCAL"),
            Some("32222220000007ce")
        );
        assert_eq!(
            value(&props, "SCSI_IDENT_PORT_TARGET_PORT_GROUP"),
            Some("0x100")
        );
        assert_eq!(
            value(&props, "SCSI_IDENT_TARGET_NAA_LOCAL"),
            Some("32222220000007cd")
        );
        assert_eq!(
            value(&props, "SCSI_IDENT_TARGET_NAME"),
            Some("naa.32222220000007CD")
        );
        assert_eq!(value(&props, "ID_WWN"), Some("0x33333330000007d0"));
        assert_eq!(
            value(&props, "ID_WWN_WITH_EXTENSION"),
            Some("0x33333330000007d0")
        );
        // NAA local is not an ID_SERIAL source by default; the T10 id is.
        assert_eq!(value(&props, "ID_SERIAL"), Some("1Linux_scsi_debug_2000"));
        assert_eq!(value(&props, "ID_BUS"), Some("scsi"));
        assert_eq!(value(&props, "ID_VENDOR"), Some("Linux"));
        assert_eq!(value(&props, "ID_MODEL"), Some("scsi_debug"));
        let n = names(&props);
        let mut sorted = n.clone();
        sorted.sort();
        assert_eq!(n, sorted);
    }

    #[test]
    fn qemu_page_with_naa5_and_vendor_specific() {
        let props = scsi_properties("QEMU", "QEMU HARDDISK", Some(&QEMU_83));
        assert_eq!(value(&props, "SCSI_IDENT_LUN_VENDOR"), Some("MPATH0"));
        assert_eq!(
            value(&props, "SCSI_IDENT_LUN_NAA_REG"),
            Some("5000c50015ea71ac")
        );
        assert_eq!(value(&props, "ID_WWN"), Some("0x5000c50015ea71ac"));
        assert_eq!(value(&props, "ID_SERIAL"), Some("35000c50015ea71ac"));
        assert_eq!(value(&props, "ID_SERIAL_SHORT"), Some("5000c50015ea71ac"));
        assert_eq!(value(&props, "ID_MODEL"), Some("QEMU_HARDDISK"));
    }

    #[test]
    fn naa6_keeps_extension_in_with_extension_only() {
        let mut page = vec![0x00, 0x83, 0x00, 20, 0x01, 0x03, 0x00, 16];
        page.extend([
            0x60, 0x01, 0x40, 0x50, 0x11, 0x22, 0x33, 0x44, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
            0x00, 0x11,
        ]);
        let props = scsi_properties("LIO-ORG", "disk", Some(&page));
        assert_eq!(value(&props, "ID_WWN"), Some("0x6001405011223344"));
        assert_eq!(
            value(&props, "ID_WWN_WITH_EXTENSION"),
            Some("0x6001405011223344aabbccddeeff0011")
        );
        assert_eq!(
            value(&props, "ID_SERIAL"),
            Some("36001405011223344aabbccddeeff0011")
        );
    }

    #[test]
    fn eui64_gives_serial_but_no_wwn() {
        let page = [
            0x00, 0x83, 0x00, 12, 0x01, 0x02, 0x00, 8, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        let props = scsi_properties("V", "P", Some(&page));
        assert_eq!(
            value(&props, "SCSI_IDENT_LUN_EUI64"),
            Some("0102030405060708")
        );
        assert_eq!(value(&props, "ID_SERIAL"), Some("20102030405060708"));
        assert!(!names(&props).iter().any(|n| n.starts_with("ID_WWN")));
    }

    #[test]
    fn vendor_specific_only_falls_back_to_scsi_id() {
        let page = [
            0x00, 0x83, 0x00, 8, 0x02, 0x00, 0x00, 4, b'A', b' ', b'B', b' ',
        ];
        let props = scsi_properties("ACME", "BOX", Some(&page));
        assert_eq!(value(&props, "SCSI_IDENT_LUN_VENDOR"), Some("A_B"));
        // scsi_id: type 0, vendor padded to 8, model to 16, then the id.
        assert_eq!(value(&props, "ID_SERIAL"), Some("0ACME_BOX_A_B"));
        assert!(value(&props, "ID_WWN").is_none());
    }

    #[test]
    fn no_page_gives_only_inquiry_properties() {
        let props = scsi_properties("  ACME  ", "Big  Disk", None);
        assert_eq!(value(&props, "ID_VENDOR"), Some("ACME"));
        assert_eq!(value(&props, "ID_MODEL"), Some("Big_Disk"));
        assert_eq!(value(&props, "ID_BUS"), Some("scsi"));
        assert!(value(&props, "ID_SERIAL").is_none());
        assert!(!names(&props).iter().any(|n| n.starts_with("SCSI_IDENT_")));
    }

    #[test]
    fn ata_t10_designator() {
        let mut page = vec![0x00, 0x83, 0x00, 0, 0x02, 0x01, 0x00, 0];
        let id = b"ATA     WDC WD10EZEX-08WN4A0                WD-WCC6Y1234567";
        page[7] = id.len() as u8;
        page.extend_from_slice(id);
        page[3] = (page.len() - 4) as u8;
        let props = scsi_properties("ATA", "WDC WD10EZEX-08W", Some(&page));
        assert_eq!(
            value(&props, "SCSI_IDENT_LUN_T10"),
            Some("ATA_WDC_WD10EZEX-08WN4A0_WD-WCC6Y1234567")
        );
        // The blanks after "ATA" fold into "ATA_", which marks an ATA id.
        assert_eq!(
            value(&props, "SCSI_IDENT_LUN_ATA"),
            Some("WDC_WD10EZEX-08WN4A0_WD-WCC6Y1234567")
        );
        assert_eq!(
            value(&props, "ID_SERIAL"),
            Some("WDC_WD10EZEX-08WN4A0_WD-WCC6Y1234567")
        );
        assert_eq!(value(&props, "ID_BUS"), Some("ata"));
        page[11] = b'X';
        let props = scsi_properties("ATA", "X", Some(&page));
        assert!(value(&props, "SCSI_IDENT_LUN_ATA").is_none());
        assert_eq!(value(&props, "ID_BUS"), Some("scsi"));
    }

    #[test]
    fn ata_disk_short_serial_is_the_vendor_designator() {
        // libata's page 0x83 (as read in tests/vm_nodename.rs's guest,
        // where udev gave ID_SERIAL_SHORT=MPATHATA): vendor specific
        // serial, SAT T10 id, NAA.
        let mut page = vec![0x00, 0x83, 0x00, 0, 0x02, 0x00, 0x00, 20];
        page.extend_from_slice(b"MPATHATA            ");
        page.extend_from_slice(&[0x02, 0x01, 0x00, 68]);
        page.extend_from_slice(format!("ATA     {:<40}{:<20}", "QEMU HARDDISK", "MPATHATA").as_bytes());
        page.extend_from_slice(&[0x01, 0x03, 0x00, 8, 0x50, 0x00, 0xc5, 0x00, 0x15, 0xea, 0x71, 0xad]);
        page[3] = (page.len() - 4) as u8;
        let props = scsi_properties("ATA", "QEMU HARDDISK", Some(&page));
        assert_eq!(value(&props, "ID_SERIAL"), Some("QEMU_HARDDISK_MPATHATA"));
        assert_eq!(value(&props, "ID_SERIAL_SHORT"), Some("MPATHATA"));
        assert_eq!(value(&props, "ID_WWN"), Some("0x5000c50015ea71ad"));
        assert_eq!(value(&props, "ID_ATA"), Some("1"));
        // Not for another vendor: the ATA id names it, with no short serial.
        let props = scsi_properties("SEAGATE", "X", Some(&page));
        assert_eq!(value(&props, "ID_SERIAL"), Some("QEMU_HARDDISK_MPATHATA"));
        assert_eq!(value(&props, "ID_SERIAL_SHORT"), None);
    }

    #[test]
    fn escaping_of_odd_bytes() {
        let page = [
            0x00, 0x83, 0x00, 10, 0x02, 0x01, 0x00, 6, b'a', b'/', b'b', 0x01, b'$', b'c',
        ];
        let props = scsi_properties("V", "P", Some(&page));
        assert_eq!(value(&props, "SCSI_IDENT_LUN_T10"), Some("a\\x2fb.\\x24c"));
    }

    #[test]
    fn pre_spc3_page_is_one_naa_value() {
        let page = [
            0x00, 0x83, 0x00, 8, 0x60, 0x06, 0x04, 0x80, 0x00, 0x01, 0x02, 0x03,
        ];
        let props = scsi_properties("EMC", "SYMMETRIX", Some(&page));
        assert_eq!(
            value(&props, "SCSI_IDENT_LUN_NAA_REGEXT"),
            Some("6006048000010203")
        );
        assert_eq!(value(&props, "ID_WWN"), Some("0x6006048000010203"));
    }

    #[test]
    fn malformed_pages_never_panic_and_keep_leading_designators() {
        for cut in 0..SCSI_DEBUG_83.len() {
            let props = scsi_properties("Linux", "scsi_debug", Some(&SCSI_DEBUG_83[..cut]));
            let has_t10 = value(&props, "SCSI_IDENT_LUN_T10").is_some();
            assert_eq!(has_t10, cut >= 36, "cut at {cut}");
        }
        for page in [
            &[][..],
            &[0x00, 0x80, 0x00, 0x00],
            &[0x00, 0x83, 0xff, 0xff, 0x01],
        ] {
            let props = scsi_properties("", "", Some(page));
            assert!(value(&props, "ID_SERIAL").is_none());
        }
    }
}
