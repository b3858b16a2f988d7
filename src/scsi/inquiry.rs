//! Standard INQUIRY data (SPC-4 6.6.2): device type, ALUA support and the
//! vendor/product/revision strings used for the hardware table and WWIDs.

use super::ScsiDataError;
use heapless::String;

/// Bytes needed to reach the end of PRODUCT REVISION LEVEL.
pub const MIN_LEN: usize = 36;

/// Fields of the standard INQUIRY data mpath-boot uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandardInquiry {
    /// Peripheral qualifier (byte 0 bits 7-5); 0 = a device is connected.
    pub qualifier: u8,
    /// Peripheral device type (byte 0 bits 4-0); 0 = disk.
    pub device_type: u8,
    /// Target port group support (byte 5 bits 5-4): 0 none, 1 implicit,
    /// 2 explicit, 3 both.
    pub tpgs: u8,
    /// T10 vendor identification, trailing spaces trimmed.
    pub vendor: String<8>,
    /// Product identification, trailing spaces trimmed.
    pub product: String<16>,
    /// Product revision level, trailing spaces trimmed.
    pub revision: String<4>,
}

/// Parses standard INQUIRY data; needs at least [`MIN_LEN`] bytes.
pub fn parse(buf: &[u8]) -> Result<StandardInquiry, ScsiDataError> {
    let too_short = ScsiDataError::TooShort {
        what: "standard INQUIRY data",
        len: buf.len(),
        need: MIN_LEN,
    };
    let fixed = buf.get(..MIN_LEN).ok_or(too_short)?;
    let byte0 = fixed.first().copied().unwrap_or(0);
    let byte5 = fixed.get(5).copied().unwrap_or(0);
    Ok(StandardInquiry {
        qualifier: byte0 >> 5,
        device_type: byte0 & 0x1f,
        tpgs: (byte5 >> 4) & 0x03,
        vendor: ascii_field(fixed.get(8..16).unwrap_or_default()),
        product: ascii_field(fixed.get(16..32).unwrap_or_default()),
        revision: ascii_field(fixed.get(32..36).unwrap_or_default()),
    })
}

/// Converts a space-padded ASCII field: trailing spaces (and NUL padding,
/// which some devices use instead) are dropped, anything else unprintable
/// becomes '?', so the result is always safe to log and compare.
fn ascii_field<const N: usize>(raw: &[u8]) -> String<N> {
    let used = raw
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |last| last + 1);
    let mut out = String::new();
    for &b in raw.get(..used).unwrap_or_default() {
        let c = if (0x20..=0x7e).contains(&b) {
            b as char
        } else {
            '?'
        };
        // The field is at most N bytes, so this cannot overflow; ignore anyway.
        let _ = out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Standard INQUIRY as scsi_debug returns it (first 36 bytes): disk,
    /// implicit TPGS, "Linux   " / "scsi_debug      " / "0191".
    fn scsi_debug() -> [u8; 36] {
        let mut b = [0u8; 36];
        b[2] = 7;
        b[3] = 2;
        b[4] = 91;
        b[5] = 0x10;
        b[6] = 0x10;
        b[7] = 0x0a;
        b[8..16].copy_from_slice(b"Linux   ");
        b[16..32].copy_from_slice(b"scsi_debug      ");
        b[32..36].copy_from_slice(b"0191");
        b
    }

    #[test]
    fn parses_scsi_debug() {
        let inq = parse(&scsi_debug()).unwrap();
        assert_eq!(inq.qualifier, 0);
        assert_eq!(inq.device_type, 0);
        assert_eq!(inq.tpgs, 1);
        assert_eq!(inq.vendor.as_str(), "Linux");
        assert_eq!(inq.product.as_str(), "scsi_debug");
        assert_eq!(inq.revision.as_str(), "0191");
    }

    #[test]
    fn tpgs_values() {
        for (byte5, tpgs) in [
            (0x00, 0),
            (0x10, 1),
            (0x20, 2),
            (0x30, 3),
            (0xff, 3),
            (0xcf, 0),
        ] {
            let mut b = scsi_debug();
            b[5] = byte5;
            assert_eq!(parse(&b).unwrap().tpgs, tpgs, "byte5 {byte5:#x}");
        }
    }

    #[test]
    fn qualifier_and_type() {
        let mut b = scsi_debug();
        b[0] = 0x7f; // PQ 3, type 0x1f: no device at this LUN
        let inq = parse(&b).unwrap();
        assert_eq!((inq.qualifier, inq.device_type), (3, 0x1f));
    }

    #[test]
    fn longer_buffer_is_fine() {
        let mut long = [0u8; 96];
        long[..36].copy_from_slice(&scsi_debug());
        assert_eq!(parse(&long).unwrap().product.as_str(), "scsi_debug");
    }

    #[test]
    fn short_buffers_are_errors() {
        for len in [0, 5, 35] {
            let err = parse(&scsi_debug()[..len]).unwrap_err();
            assert_eq!(
                err,
                ScsiDataError::TooShort {
                    what: "standard INQUIRY data",
                    len,
                    need: 36
                }
            );
        }
        let msg = parse(&[0; 20]).unwrap_err().to_string();
        assert!(msg.contains("20 bytes, need at least 36"), "{msg}");
    }

    #[test]
    fn unprintable_bytes_become_question_marks() {
        let mut b = scsi_debug();
        b[8..16].copy_from_slice(b"AB\x01\xffC\0\0\0");
        b[16..32].copy_from_slice(b" lead  space    ");
        b[32..36].copy_from_slice(b"\0\0\0\0");
        let inq = parse(&b).unwrap();
        assert_eq!(inq.vendor.as_str(), "AB??C");
        assert_eq!(inq.product.as_str(), " lead  space");
        assert_eq!(inq.revision.as_str(), "");
    }
}
