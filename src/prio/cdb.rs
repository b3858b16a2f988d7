//! The one command a prioritizer sends that `scsi::cdb` does not build:
//! NetApp's vendor-specific GVA (opcode 0xc0), used by `ontap`.
//!
//! The other prioritizers send INQUIRY and TEST UNIT READY, built by
//! `crate::scsi::cdb` with the same bytes multipath-tools sends.

/// Vendor-specific operation code of NetApp's "get value attribute" query.
const GVA_OPCODE: u8 = 0xc0;

/// Allocation length multipath-tools puts in the GVA CDB (the size of its
/// sense buffer, 128, although it offers a 256-byte data buffer).
pub const GVA_ALLOC_LEN: u8 = 128;

/// GVA CDB asking for attribute page `page` (ontap asks for 0x41, the
/// protocol page). Byte layout as ontap.c sends it: c0 00 01 0a 98 0a
/// page 80 00 00.
pub fn ontap_gva(page: u8) -> [u8; 10] {
    [GVA_OPCODE, 0, 0x01, 0x0a, 0x98, 0x0a, page, GVA_ALLOC_LEN, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gva_carries_the_page_and_length() {
        let cdb = ontap_gva(0x41);
        assert_eq!(cdb[0], 0xc0);
        assert_eq!(cdb[6], 0x41);
        assert_eq!(cdb[7], 128);
        assert_eq!(&cdb[1..6], &[0, 1, 0x0a, 0x98, 0x0a]);
        assert_ne!(ontap_gva(0x42), cdb);
    }
}
