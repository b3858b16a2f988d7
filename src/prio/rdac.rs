//! `rdac`: LSI/Engenio/NetApp E-series "volume access control" vendor VPD
//! page 0xc9.
//!
//! One INQUIRY for page 0xc9 (allocation length 128). The page must carry
//! length 0x2c and the identifier "vac". The priority is a bit set: 2 when
//! this controller owns the volume (byte 8 bit 0), 4 for the preferred
//! path or 1 for the secondary path (byte 9 low nibble 1 or 2), 8 in
//! IO-shipping mode (byte 8 bit 5). multipath-tools gives 0, not
//! PRIO_UNDEF, when the command fails or the page is not recognised.

use std::time::Duration;

use super::{byte_at, effective_timeout, send, unexpected, PrioError};
use crate::scsi::cdb;
use crate::transport::ScsiTransport;

/// The vendor page asked for.
pub const PAGE: u8 = 0xc9;
/// Allocation length (and reply buffer size) multipath-tools uses.
const ALLOC_LEN: usize = 128;
/// Timeout when none is configured (rdac.c: 60 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Value multipath-tools returns when it cannot read the page.
pub const ON_ERROR: u32 = 0;
/// All bits set.
pub const MAX_PRIORITY: u32 = 0x0f;

const OWNER: u32 = 0x02;
const PREFERRED: u32 = 0x04;
const SECONDARY: u32 = 0x01;
const IOSHIP: u32 = 0x08;

/// Sends the INQUIRY and computes the priority (`Err` means [`ON_ERROR`]).
pub fn query(transport: &dyn ScsiTransport, timeout: Duration) -> Result<u32, PrioError> {
    let mut buf = [0u8; ALLOC_LEN];
    let command = cdb::inquiry(Some(PAGE), ALLOC_LEN as u16);
    let timeout = effective_timeout(timeout, DEFAULT_TIMEOUT);
    let answer = send(transport, "INQUIRY VPD page 0xc9", &command, &mut buf, timeout)?;
    priority_from_page_c9(answer)
}

/// The priority from page 0xc9 as received; missing bytes read as 0.
pub fn priority_from_page_c9(page: &[u8]) -> Result<u32, PrioError> {
    let at = |i| byte_at(page, i);
    if at(1) != PAGE || at(3) != 0x2c || [at(4), at(5), at(6)] != *b"vac" {
        return Err(unexpected(
            "RDAC volume access control page (VPD page 0xc9)",
            page,
            format!(
                "page code {:#04x}, length {:#04x}, identifier {:02x?}: expected 0xc9, 0x2c, \"vac\"",
                at(1),
                at(3),
                [at(4), at(5), at(6)]
            ),
        ));
    }
    let mut priority = 0;
    if at(8) & 0x01 != 0 {
        priority |= OWNER;
    }
    match at(9) & 0x0f {
        0x01 => priority |= PREFERRED,
        0x02 => priority |= SECONDARY,
        _ => {}
    }
    if at(8) & 0x20 != 0 {
        priority |= IOSHIP;
    }
    Ok(priority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};

    fn page(byte8: u8, byte9: u8) -> Vec<u8> {
        let mut p = vec![0u8; 0x30];
        p[1] = PAGE;
        p[3] = 0x2c;
        p[4..7].copy_from_slice(b"vac");
        p[8] = byte8;
        p[9] = byte9;
        p
    }

    #[test]
    fn bits_add_up() {
        assert_eq!(priority_from_page_c9(&page(0x01, 0x01)), Ok(6));
        assert_eq!(priority_from_page_c9(&page(0x00, 0x02)), Ok(1));
        assert_eq!(priority_from_page_c9(&page(0x21, 0x01)), Ok(14));
        assert_eq!(priority_from_page_c9(&page(0x00, 0x00)), Ok(0));
        assert_eq!(priority_from_page_c9(&page(0x00, 0xf3)), Ok(0), "reserved nibble");
        assert_eq!(priority_from_page_c9(&page(0x20, 0x12)), Ok(9), "high nibble ignored");
    }

    #[test]
    fn unknown_pages_are_errors() {
        for (at, value) in [(1, 0xc8), (3, 0x2d), (4, b'V'), (6, 0)] {
            let mut p = page(1, 1);
            p[at] = value;
            assert!(priority_from_page_c9(&p).is_err(), "byte {at}");
        }
        assert!(priority_from_page_c9(&[]).is_err());
        assert!(priority_from_page_c9(&page(1, 1)[..6]).is_err());
    }

    #[test]
    fn truncated_page_reads_missing_bytes_as_zero() {
        // The header is intact, bytes 8 and 9 were not sent.
        assert_eq!(priority_from_page_c9(&page(1, 1)[..8]), Ok(0));
        assert_eq!(priority_from_page_c9(&page(1, 1)[..9]), Ok(2));
    }

    #[test]
    fn run_falls_back_to_zero() {
        let root = std::path::Path::new("/nonexistent");
        let ctx = crate::prio::tests::context("", root);
        let good = FakeTransport::new().answer(0x12, Some(0xc9), Answer::good(&page(1, 1)));
        let out = crate::prio::run_explained(crate::prio::Prioritizer::Rdac, &good, Duration::ZERO, &ctx);
        assert_eq!(out.priority, Ok(6));
        assert_eq!(out.fallback, None);

        let bad = FakeTransport::new().answer(0x12, Some(0xc9), Answer::good(&[0, 0xc9, 0, 4]));
        let out = crate::prio::run_explained(crate::prio::Prioritizer::Rdac, &bad, Duration::ZERO, &ctx);
        assert_eq!(out.priority, Ok(ON_ERROR));
        assert!(out.fallback.is_some());
    }
}
