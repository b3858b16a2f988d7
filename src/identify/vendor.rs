//! The vendor "switch" of the original multipath tool: a few arrays that
//! need a vendor-specific WWID method instead of the standard page 0x83 rule.

use super::{Cause, IdentifyError, Wwid, WwidWriter};
use crate::scsi::vpd;
use crate::scsi::ScsiDataError;

/// How to derive a device's WWID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WwidMethod {
    /// Page 0x83 designators, falling back to page 0x80.
    Standard,
    /// HP/Compaq StorageWorks: raw bytes 8-23 of page 0x83 as hex.
    StorageWorks,
}

/// One row of the switch: vendor and product prefixes, and the method.
struct Rule {
    vendor: &'static str,
    product: &'static str,
    method: WwidMethod,
}

/// First matching row wins; unlisted devices use [`WwidMethod::Standard`].
static RULES: &[Rule] = &[
    Rule {
        vendor: "DEC",
        product: "HSG80",
        method: WwidMethod::StorageWorks,
    },
    Rule {
        vendor: "COMPAQ",
        product: "HSV1",
        method: WwidMethod::StorageWorks,
    },
    Rule {
        vendor: "HP",
        product: "HSV1",
        method: WwidMethod::StorageWorks,
    },
];

/// The WWID method for an INQUIRY vendor/product pair. Trailing spaces are
/// ignored and table entries match as prefixes ("HSV1" covers HSV110 etc.).
pub fn method_for(vendor: &str, product: &str) -> WwidMethod {
    let vendor = vendor.trim_end_matches(' ');
    let product = product.trim_end_matches(' ');
    RULES
        .iter()
        .find(|rule| vendor.starts_with(rule.vendor) && product.starts_with(rule.product))
        .map_or(WwidMethod::Standard, |rule| rule.method)
}

/// Offset and size of the identifier the StorageWorks method reads.
const STORAGEWORKS_ID: core::ops::Range<usize> = 8..24;

/// StorageWorks WWID: the 16 bytes at offset 8 of page 0x83 as 32 lowercase
/// hex characters (no type prefix), as the original multipath tool read them.
pub fn storageworks_wwid(page83: &[u8]) -> Result<Wwid, IdentifyError> {
    let fail = IdentifyError::StorageWorks;
    // Header and page code checks only; the designators are not used.
    vpd::designators(page83).map_err(|e| fail(Cause::Data(e)))?;
    let id = page83
        .get(STORAGEWORKS_ID)
        .ok_or(fail(Cause::Data(ScsiDataError::TooShort {
            what: "VPD page 0x83",
            len: page83.len(),
            need: STORAGEWORKS_ID.end,
        })))?;
    let mut w = WwidWriter::empty();
    id.iter().for_each(|&b| w.push_hex(b));
    Ok(w.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storageworks_devices() {
        for (v, p) in [
            ("DEC", "HSG80"),
            ("DEC     ", "HSG80           "),
            ("COMPAQ", "HSV110 (C)COMPAQ"),
            ("COMPAQ  ", "HSV111 (C)COMPAQ"),
            ("HP", "HSV100"),
            ("HP      ", "HSV1"),
        ] {
            assert_eq!(method_for(v, p), WwidMethod::StorageWorks, "{v:?} {p:?}");
        }
    }

    #[test]
    fn everything_else_is_standard() {
        for (v, p) in [
            ("HP", "HSV200"),
            ("HP", "MSA2040 SAN"),
            ("DEC", "HSG60"),
            ("COMPAQ", "MSA1000"),
            ("Linux", "scsi_debug"),
            ("", ""),
            ("HSV1", "HP"),
            ("hp", "HSV110"),
        ] {
            assert_eq!(method_for(v, p), WwidMethod::Standard, "{v:?} {p:?}");
        }
    }

    #[test]
    fn storageworks_wwid_is_hex_of_bytes_8_to_24() {
        let mut page = [0u8; 40];
        page[1] = 0x83;
        page[3] = 36;
        for (i, b) in page[8..24].iter_mut().enumerate() {
            *b = 0xa0 + i as u8;
        }
        let w = storageworks_wwid(&page).unwrap();
        assert_eq!(w.as_str(), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
        assert_eq!(storageworks_wwid(&page[..24]).unwrap(), w);
    }

    #[test]
    fn storageworks_short_or_wrong_page() {
        let mut page = [0u8; 23];
        page[1] = 0x83;
        let err = storageworks_wwid(&page).unwrap_err();
        assert!(matches!(
            err,
            IdentifyError::StorageWorks(Cause::Data(ScsiDataError::TooShort {
                len: 23,
                need: 24,
                ..
            }))
        ));
        assert!(
            err.to_string().contains("23 bytes, need at least 24"),
            "{err}"
        );
        let mut page = [0u8; 24];
        page[1] = 0x80;
        assert!(matches!(
            storageworks_wwid(&page),
            Err(IdentifyError::StorageWorks(Cause::Data(
                ScsiDataError::WrongPageCode { .. }
            )))
        ));
        assert!(storageworks_wwid(&[]).is_err());
    }
}
