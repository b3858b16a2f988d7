//! ATA disks (INQUIRY vendor "ATA": libata's SCSI translation, or a SAT
//! bridge): the identity udev's `ata_id --export` gives them, from the
//! ATA IDENTIFY DEVICE data.
//!
//! Where udev runs it: Debian's `60-persistent-storage.rules` imports
//! `ata_id` for an `sd` disk whose SCSI vendor attribute is `ATA`, but only
//! while `ID_SERIAL` is still unset. `55-scsi-sg3_id.rules` runs first and
//! sets `ID_SERIAL` from sg3_utils' `SCSI_IDENT_LUN_ATA` (the SAT T10
//! vendor id designator `ATA <model><serial>` of page 0x83, which libata
//! always reports) or another logical-unit designator; so on a libata disk
//! whose page 0x83 udev can read, `ata_id` never runs (seen in the guest of
//! `tests/vm_nodename.rs`: no `ID_ATA_FEATURE_SET_*` properties). It does
//! when page 0x83 gives udev nothing, and then its `ID_SERIAL` is
//! multipath-tools' WWID.
//!
//! Where the data comes from, without sending an ATA command: libata's
//! VPD page 0x89 (ATA Information) carries the 512-byte IDENTIFY DEVICE
//! data at byte 60, and Linux caches it as `device/vpd_pg89`.
//!
//! What `ata_id` (systemd v252) prints for a disk, modelled here: `ID_ATA=1`,
//! `ID_TYPE=disk`, `ID_BUS=ata`, `ID_MODEL`, `ID_REVISION`, `ID_SERIAL`
//! (`<model>_<serial>`, or the model alone without a serial),
//! `ID_SERIAL_SHORT` and, when word 108 carries an NAA 5 name, `ID_WWN` and
//! `ID_WWN_WITH_EXTENSION`. Not modelled: the `*_ENC` values and the
//! `ID_ATA_FEATURE_SET_*`, `ID_ATA_WRITE_CACHE*`, rotation and SATA speed
//! properties (no `property` blacklist rule of multipath-tools looks at them).

/// Offset of the IDENTIFY DEVICE data in VPD page 0x89 (SAT).
pub const PAGE89_IDENTIFY_OFFSET: usize = 60;
/// Length of the IDENTIFY DEVICE data.
pub const IDENTIFY_LEN: usize = 512;

/// ATA string fields as (first word, length in bytes).
const SERIAL: (usize, usize) = (10, 20);
const REVISION: (usize, usize) = (23, 8);
const MODEL: (usize, usize) = (27, 40);
/// Words 108-111: the world wide name.
const WWN_WORD: usize = 108;

/// True for the vendor udev's `ATTRS{vendor}=="ATA"` matches (udev drops
/// the attribute's trailing whitespace before comparing).
pub fn is_ata_vendor(vendor: &str) -> bool {
    vendor.trim_end_matches(|c: char| c.is_ascii_whitespace()) == "ATA"
}

/// The identity `ata_id` derives from IDENTIFY DEVICE: each text already
/// as it prints it (whitespace folded to `_`, other bytes replaced).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtaId {
    pub model: String,
    pub serial: String,
    pub revision: String,
    /// Words 108-111 when they hold an NAA 5 world wide name.
    pub wwn: Option<u64>,
}

/// The IDENTIFY DEVICE data inside VPD page 0x89, or `None` when the bytes
/// are not such a page or stop before the model number.
pub fn identify_from_vpd89(page: &[u8]) -> Option<&[u8]> {
    if page.get(1) != Some(&0x89) {
        return None;
    }
    let declared = usize::from(u16::from_be_bytes([*page.get(2)?, *page.get(3)?])) + 4;
    let end = page.len().min(declared).min(PAGE89_IDENTIFY_OFFSET + IDENTIFY_LEN);
    let data = page.get(PAGE89_IDENTIFY_OFFSET..end)?;
    (data.len() >= MODEL.0 * 2 + MODEL.1).then_some(data)
}

/// The characters of an ATA string field: each 16-bit word holds two,
/// the first in its high byte (the data are little-endian words).
fn ata_string(data: &[u8], (word, len): (usize, usize)) -> Vec<u8> {
    let field = data.get(word * 2..word * 2 + len).unwrap_or(&[]);
    field.chunks_exact(2).flat_map(|pair| [pair[1], pair[0]]).collect()
}

/// C `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// udev's `udev_replace_whitespace`: the text up to the first NUL,
/// leading and trailing whitespace dropped, each inner run one `_`.
fn replace_whitespace(raw: &[u8]) -> Vec<u8> {
    let text = raw.split(|&b| b == 0).next().unwrap_or(&[]);
    let mut out = Vec::with_capacity(text.len());
    let mut pending_space = false;
    for &b in text {
        if is_c_space(b) {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(b'_');
            pending_space = false;
        }
        out.push(b);
    }
    out
}

/// udev's `udev_replace_chars` without an allow list: ASCII letters,
/// digits and `#+-.:=@_` stay, so do `\x` and valid multi-byte UTF-8;
/// every other byte becomes `_`.
fn replace_chars(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b.is_ascii_alphanumeric() || b"#+-.:=@_".contains(&b) {
            out.push(char::from(b));
            i += 1;
        } else if b == b'\\' && text.get(i + 1) == Some(&b'x') {
            out.push_str("\\x");
            i += 2;
        } else if let Some(c) = multibyte_char(text.get(i..).unwrap_or(&[])) {
            out.push(c);
            i += c.len_utf8();
        } else {
            out.push('_');
            i += 1;
        }
    }
    out
}

/// The multi-byte UTF-8 character `bytes` starts with, if any.
fn multibyte_char(bytes: &[u8]) -> Option<char> {
    let first = *bytes.first()?;
    let len = match first {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    core::str::from_utf8(bytes.get(..len)?).ok()?.chars().next()
}

fn field_text(data: &[u8], field: (usize, usize)) -> String {
    replace_chars(&replace_whitespace(&ata_string(data, field)))
}

impl AtaId {
    /// Parses IDENTIFY DEVICE data (at least up to the model number,
    /// word 46); `None` when shorter.
    pub fn parse(data: &[u8]) -> Option<AtaId> {
        if data.len() < MODEL.0 * 2 + MODEL.1 {
            return None;
        }
        let word = |w: usize| -> Option<u64> {
            let b = data.get(w * 2..w * 2 + 2)?;
            Some(u64::from(u16::from_le_bytes([b[0], b[1]])))
        };
        let wwn = (WWN_WORD..WWN_WORD + 4)
            .try_fold(0u64, |acc, w| Some(acc << 16 | word(w)?))
            .filter(|name| name >> 60 == 0x5);
        Some(AtaId {
            model: field_text(data, MODEL),
            serial: field_text(data, SERIAL),
            revision: field_text(data, REVISION),
            wwn,
        })
    }

    /// [`AtaId::parse`] of the data in VPD page 0x89.
    pub fn from_vpd89(page: &[u8]) -> Option<AtaId> {
        AtaId::parse(identify_from_vpd89(page)?)
    }

    /// `ata_id`'s `ID_SERIAL`: `<model>_<serial>`, or the model alone when
    /// the serial is empty.
    pub fn id_serial(&self) -> String {
        if self.serial.is_empty() {
            self.model.clone()
        } else {
            format!("{}_{}", self.model, self.serial)
        }
    }

    /// The properties `ata_id --export` prints, as (name, value), in its
    /// order; `IMPORT{program}` sets each, replacing an earlier value.
    pub fn properties(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = vec![
            ("ID_ATA".into(), "1".into()),
            ("ID_TYPE".into(), "disk".into()),
            ("ID_BUS".into(), "ata".into()),
            ("ID_MODEL".into(), self.model.clone()),
            ("ID_REVISION".into(), self.revision.clone()),
            ("ID_SERIAL".into(), self.id_serial()),
        ];
        if !self.serial.is_empty() {
            out.push(("ID_SERIAL_SHORT".into(), self.serial.clone()));
        }
        if let Some(wwn) = self.wwn {
            out.push(("ID_WWN".into(), format!("0x{wwn:x}")));
            out.push(("ID_WWN_WITH_EXTENSION".into(), format!("0x{wwn:x}")));
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    /// The first 128 bytes of VPD page 0x89 as Linux 6.1 cached it for a
    /// qemu 7.2 `ide-hd` on AHCI (`serial=MPATHATA`,
    /// `wwn=0x5000c50015ea71ad`), read in the guest of tests/vm_nodename.rs;
    /// the rest of the 572-byte page is filled in by [`qemu_page89`].
    pub const QEMU_89_HEAD: [u8; 128] = [
        0x00, 0x89, 0x02, 0x38, 0x00, 0x00, 0x00, 0x00, 0x6c, 0x69, 0x6e, 0x75, 0x78, 0x20, 0x20, 0x20,
        0x6c, 0x69, 0x62, 0x61, 0x74, 0x61, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x33, 0x2e, 0x30, 0x30, 0x34, 0x80, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xec, 0x00, 0x00, 0x00, 0x40, 0x00, 0x20, 0x00,
        0x00, 0x00, 0x10, 0x00, 0x00, 0x7e, 0x00, 0x02, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x50, 0x4d, 0x54, 0x41, 0x41, 0x48, 0x41, 0x54, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
        0x20, 0x20, 0x20, 0x20, 0x03, 0x00, 0x00, 0x02, 0x04, 0x00, 0x2e, 0x32, 0x2b, 0x35, 0x20, 0x20,
        0x20, 0x20, 0x45, 0x51, 0x55, 0x4d, 0x48, 0x20, 0x52, 0x41, 0x44, 0x44, 0x53, 0x49, 0x20, 0x4b,
    ];

    /// The whole page: the head above, the model's remaining words
    /// (blanks), and words 108-111 holding qemu's WWN.
    pub fn qemu_page89() -> Vec<u8> {
        let mut page = vec![0u8; 572];
        page[..128].copy_from_slice(&QEMU_89_HEAD);
        // Model words 27-46 span data bytes 54..94 = page bytes 114..154.
        for b in &mut page[128..154] {
            *b = b' ';
        }
        // Words 108-111: 5000 c500 15ea 71ad, each little-endian.
        let wwn = [0x00, 0x50, 0x00, 0xc5, 0xea, 0x15, 0xad, 0x71];
        page[60 + 216..60 + 224].copy_from_slice(&wwn);
        page
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::qemu_page89;
    use super::*;

    /// IDENTIFY data with `model`, `serial` and `revision` stored as ATA
    /// strings (swapped byte pairs, blank padded).
    fn identify(model: &[u8], serial: &[u8], revision: &[u8]) -> Vec<u8> {
        let mut data = vec![0u8; IDENTIFY_LEN];
        for (text, (word, len)) in [(serial, SERIAL), (revision, REVISION), (model, MODEL)] {
            let mut padded = text.to_vec();
            padded.resize(len, b' ');
            for (i, pair) in padded.chunks(2).enumerate() {
                data[(word + i) * 2] = pair[1];
                data[(word + i) * 2 + 1] = pair[0];
            }
        }
        data
    }

    #[test]
    fn qemu_disk_as_ata_id_names_it() {
        let id = AtaId::from_vpd89(&qemu_page89()).expect("page 0x89 parses");
        assert_eq!(id.model, "QEMU_HARDDISK");
        assert_eq!(id.serial, "MPATHATA");
        assert_eq!(id.revision, "2.5+");
        assert_eq!(id.wwn, Some(0x5000_c500_15ea_71ad));
        assert_eq!(id.id_serial(), "QEMU_HARDDISK_MPATHATA");
        let props = id.properties();
        let get = |n: &str| props.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("ID_SERIAL_SHORT"), Some("MPATHATA"));
        assert_eq!(get("ID_BUS"), Some("ata"));
        assert_eq!(get("ID_ATA"), Some("1"));
        assert_eq!(get("ID_WWN"), Some("0x5000c50015ea71ad"));
    }

    #[test]
    fn whitespace_and_odd_bytes_as_udev_replaces_them() {
        let data = identify(b"  WDC  WD10EZEX-08WN4A0", b"     WD-WCC6Y1234567", b"01.01A01");
        let id = AtaId::parse(&data).unwrap();
        assert_eq!(id.model, "WDC_WD10EZEX-08WN4A0");
        assert_eq!(id.serial, "WD-WCC6Y1234567");
        assert_eq!(id.id_serial(), "WDC_WD10EZEX-08WN4A0_WD-WCC6Y1234567");
        assert_eq!(id.wwn, None);
        // '/' and control bytes become '_'; a NUL ends the text; "\x" stays.
        let data = identify(b"A/B\x01C\\xD\tE", b"S1\0junk", b"");
        let id = AtaId::parse(&data).unwrap();
        assert_eq!(id.model, "A_B_C\\xD_E");
        assert_eq!(id.serial, "S1");
        assert_eq!(id.revision, "");
    }

    #[test]
    fn no_serial_means_the_model_alone() {
        let id = AtaId::parse(&identify(b"MODEL X", b"", b"1")).unwrap();
        assert_eq!(id.id_serial(), "MODEL_X");
        assert!(!id.properties().iter().any(|(k, _)| k == "ID_SERIAL_SHORT"));
    }

    #[test]
    fn utf8_kept_other_high_bytes_replaced() {
        let id = AtaId::parse(&identify("Ä\u{e9}".as_bytes(), b"\xff\xc3", b"")).unwrap();
        assert_eq!(id.model, "Ä\u{e9}");
        assert_eq!(id.serial, "__");
    }

    #[test]
    fn short_or_foreign_pages_are_refused() {
        let page = qemu_page89();
        assert!(AtaId::from_vpd89(&page[..60 + 93]).is_none());
        assert!(AtaId::from_vpd89(&page[..60 + 94]).is_some());
        let mut other = page.clone();
        other[1] = 0x83;
        assert!(AtaId::from_vpd89(&other).is_none());
        // A header declaring less than the model needs.
        let mut short = page.clone();
        short[2] = 0;
        short[3] = 80;
        assert!(AtaId::from_vpd89(&short).is_none());
        assert!(AtaId::from_vpd89(&[]).is_none());
        assert!(AtaId::parse(&[0u8; 93]).is_none());
        // Without words 108-111 there is no WWN, but the names remain.
        let id = AtaId::from_vpd89(&page[..60 + 100]).unwrap();
        assert_eq!((id.id_serial().as_str(), id.wwn), ("QEMU_HARDDISK_MPATHATA", None));
    }

    #[test]
    fn vendor_match_as_udev_compares_it() {
        assert!(is_ata_vendor("ATA"));
        assert!(is_ata_vendor("ATA     "));
        assert!(!is_ata_vendor("ATAX"));
        assert!(!is_ata_vendor(" ATA"));
        assert!(!is_ata_vendor("ata"));
    }
}
