//! Command descriptor blocks for the few commands mpath-boot sends.

/// INQUIRY operation code.
const INQUIRY: u8 = 0x12;
/// MAINTENANCE IN operation code; REPORT TARGET PORT GROUPS is a service action of it.
const MAINTENANCE_IN: u8 = 0xa3;
/// REPORT TARGET PORT GROUPS service action, with PARAMETER DATA FORMAT 000b
/// (length-only header) in bits 7-5: `rtpg::find_group(.., extended: false, ..)`
/// parses that reply.
const SA_REPORT_TARGET_PORT_GROUPS: u8 = 0x0a;

/// INQUIRY CDB. `Some(page)` sets the EVPD bit and asks for that VPD page;
/// `None` asks for the standard INQUIRY data.
pub fn inquiry(page: Option<u8>, alloc_len: u16) -> [u8; 6] {
    let (evpd, page_code) = match page {
        Some(code) => (0x01, code),
        None => (0x00, 0x00),
    };
    let [len_hi, len_lo] = alloc_len.to_be_bytes();
    [INQUIRY, evpd, page_code, len_hi, len_lo, 0]
}

/// TEST UNIT READY CDB (operation code 0x00, all fields zero).
pub fn test_unit_ready() -> [u8; 6] {
    [0; 6]
}

/// REPORT TARGET PORT GROUPS CDB asking for the length-only reply format.
pub fn report_target_port_groups(alloc_len: u32) -> [u8; 12] {
    let [l0, l1, l2, l3] = alloc_len.to_be_bytes();
    [
        MAINTENANCE_IN,
        SA_REPORT_TARGET_PORT_GROUPS,
        0,
        0,
        0,
        0,
        l0,
        l1,
        l2,
        l3,
        0,
        0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_inquiry_has_no_evpd() {
        assert_eq!(inquiry(None, 96), [0x12, 0, 0, 0, 96, 0]);
    }

    #[test]
    fn vpd_inquiry_sets_evpd_and_page() {
        assert_eq!(inquiry(Some(0x83), 0x1234), [0x12, 1, 0x83, 0x12, 0x34, 0]);
        assert_eq!(inquiry(Some(0x00), 255), [0x12, 1, 0x00, 0, 255, 0]);
    }

    #[test]
    fn tur_is_zero() {
        assert_eq!(test_unit_ready(), [0u8; 6]);
    }

    #[test]
    fn rtpg_length_only_format() {
        assert_eq!(
            report_target_port_groups(0x0102_0304),
            [0xa3, 0x0a, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0]
        );
    }
}
