//! `ontap`: NetApp ONTAP LUNs, by protocol and proxy status.
//!
//! First NetApp's vendor-specific GVA command (opcode 0xc0, attribute page
//! 0x41: the protocol the LUN is reached by). Its answer must carry
//! 0a 98 0a 01 at bytes 4..8, else the priority is 0 (also when the
//! command fails: multipath-tools gives 0, not PRIO_UNDEF). With a total
//! length above 8 and page 0x41 at byte 8, the text at byte 12 tells iSCSI
//! software ("ism_sw", "iswt": 2) from iSCSI hardware ("ism_sn": 3).
//! Otherwise INQUIRY VPD page 0xc1 (NetApp proxy page) tells an FCP proxy
//! path (1) from a direct one (4); a failure there also gives 4.

use std::time::Duration;

use super::{byte_at, cdb, effective_timeout, send, unexpected, Outcome, PrioError};
use crate::scsi::cdb as scsi_cdb;
use crate::transport::ScsiTransport;

/// FCP proxy path.
pub const FCP_PROXY: u32 = 1;
/// iSCSI through the software initiator.
pub const ISCSI_SOFTWARE: u32 = 2;
/// iSCSI through an HBA.
pub const ISCSI_HARDWARE: u32 = 3;
/// FCP direct path, or proxy status unknown.
pub const FCP_NON_PROXY: u32 = 4;
/// Value when GVA fails.
pub const ON_GVA_ERROR: u32 = 0;

/// Attribute page of the protocol.
pub const GVA_PROTOCOL_PAGE: u8 = 0x41;
/// NetApp proxy VPD page.
pub const PROXY_PAGE: u8 = 0xc1;
/// Reply buffer size multipath-tools offers for both commands.
const BUF_LEN: usize = 256;
/// Allocation length in the proxy INQUIRY (ontap.c puts 128 there).
const PROXY_ALLOC_LEN: u16 = 128;
/// Timeout when none is configured (ontap.c: 60 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the GVA protocol page says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    IscsiSoftware,
    IscsiHardware,
    /// FCP, or a page without protocol text: ask the proxy page.
    Other,
}

/// Sends GVA, then the proxy INQUIRY when needed.
pub fn query(transport: &dyn ScsiTransport, timeout: Duration) -> Outcome {
    let timeout = effective_timeout(timeout, DEFAULT_TIMEOUT);
    let mut buf = [0u8; BUF_LEN];
    let command = cdb::ontap_gva(GVA_PROTOCOL_PAGE);
    let protocol = send(transport, "NetApp GVA page 0x41", &command, &mut buf, timeout)
        .and_then(protocol_from_gva);
    let protocol = match protocol {
        Ok(protocol) => protocol,
        Err(why) => return Outcome::fallback(ON_GVA_ERROR, why),
    };
    if protocol != Protocol::Other {
        return Outcome::value(priority(protocol, Ok(false)));
    }
    let mut buf = [0u8; BUF_LEN];
    let command = scsi_cdb::inquiry(Some(PROXY_PAGE), PROXY_ALLOC_LEN);
    let proxy = send(transport, "INQUIRY VPD page 0xc1", &command, &mut buf, timeout)
        .and_then(is_proxy_from_page_c1);
    let value = priority(protocol, proxy.clone());
    match proxy {
        Ok(_) => Outcome::value(value),
        Err(why) => Outcome::fallback(value, why),
    }
}

/// The protocol from a GVA page 0x41 answer as received (missing bytes
/// read as 0); `Err` when the answer is not a GVA answer at all.
pub fn protocol_from_gva(answer: &[u8]) -> Result<Protocol, PrioError> {
    let header = [4, 5, 6, 7].map(|i| byte_at(answer, i));
    if header != [0x0a, 0x98, 0x0a, 0x01] {
        return Err(unexpected(
            "NetApp GVA answer",
            answer,
            format!("bytes 4..8 are {header:02x?}, expected [0a, 98, 0a, 01]"),
        ));
    }
    // ontap.c keeps the total length in an int: above 2^31 it is negative.
    let total_len = i32::from_be_bytes([0, 1, 2, 3].map(|i| byte_at(answer, i)));
    if total_len <= 8 || byte_at(answer, 8) != GVA_PROTOCOL_PAGE {
        return Ok(Protocol::Other);
    }
    let text = |s: &[u8]| (0..s.len()).all(|i| s.get(i).copied() == Some(byte_at(answer, 12 + i)));
    if text(b"ism_sw") || text(b"iswt") {
        Ok(Protocol::IscsiSoftware)
    } else if text(b"ism_sn") {
        Ok(Protocol::IscsiHardware)
    } else {
        Ok(Protocol::Other)
    }
}

/// True for a proxy path, from VPD page 0xc1 as received (missing bytes
/// read as 0).
pub fn is_proxy_from_page_c1(page: &[u8]) -> Result<bool, PrioError> {
    let id = [8, 9, 10, 11, 12, 13].map(|i| byte_at(page, i));
    if byte_at(page, 1) != PROXY_PAGE || id != [0x0a, 0x98, 0x0a, 0x00, 0xc1, 0x00] {
        return Err(unexpected(
            "NetApp proxy page (VPD page 0xc1)",
            page,
            format!(
                "page code {:#04x}, bytes 8..14 {id:02x?}: expected 0xc1 and [0a, 98, 0a, 00, c1, 00]",
                byte_at(page, 1)
            ),
        ));
    }
    Ok(byte_at(page, 19) & 0x02 != 0)
}

/// The priority from the protocol and, for FCP, the proxy status.
pub fn priority(protocol: Protocol, proxy: Result<bool, PrioError>) -> u32 {
    match protocol {
        Protocol::IscsiHardware => ISCSI_HARDWARE,
        Protocol::IscsiSoftware => ISCSI_SOFTWARE,
        Protocol::Other if proxy == Ok(true) => FCP_PROXY,
        Protocol::Other => FCP_NON_PROXY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};

    fn gva(text: &[u8]) -> Vec<u8> {
        let mut a = vec![0u8; 32];
        a[3] = 24;
        a[4..8].copy_from_slice(&[0x0a, 0x98, 0x0a, 0x01]);
        a[8] = GVA_PROTOCOL_PAGE;
        a[12..12 + text.len()].copy_from_slice(text);
        a
    }

    fn proxy_page(proxy: bool) -> Vec<u8> {
        let mut p = vec![0u8; 24];
        p[1] = PROXY_PAGE;
        p[3] = 20;
        p[8..14].copy_from_slice(&[0x0a, 0x98, 0x0a, 0x00, 0xc1, 0x00]);
        p[19] = if proxy { 0x02 } else { 0xfd };
        p
    }

    #[test]
    fn protocol_text() {
        assert_eq!(protocol_from_gva(&gva(b"ism_sw")), Ok(Protocol::IscsiSoftware));
        assert_eq!(protocol_from_gva(&gva(b"iswt_x")), Ok(Protocol::IscsiSoftware));
        assert_eq!(protocol_from_gva(&gva(b"ism_sn")), Ok(Protocol::IscsiHardware));
        assert_eq!(protocol_from_gva(&gva(b"fcp")), Ok(Protocol::Other));
        assert_eq!(protocol_from_gva(&gva(b"ism_s")), Ok(Protocol::Other));
    }

    #[test]
    fn gva_length_and_page_gate_the_text() {
        let mut a = gva(b"ism_sn");
        a[3] = 8;
        assert_eq!(protocol_from_gva(&a), Ok(Protocol::Other));
        a[0] = 0x80;
        a[3] = 24;
        assert_eq!(protocol_from_gva(&a), Ok(Protocol::Other), "negative as an int");
        let mut a = gva(b"ism_sn");
        a[8] = 0x42;
        assert_eq!(protocol_from_gva(&a), Ok(Protocol::Other));
        assert_eq!(protocol_from_gva(&gva(b"ism_sn")[..17]), Ok(Protocol::Other), "text cut");
    }

    #[test]
    fn gva_header_is_checked() {
        assert!(protocol_from_gva(&[]).is_err());
        assert!(protocol_from_gva(&gva(b"ism_sw")[..7]).is_err());
        let mut a = gva(b"ism_sw");
        a[7] = 0;
        assert!(protocol_from_gva(&a).is_err());
    }

    #[test]
    fn proxy_bit() {
        assert_eq!(is_proxy_from_page_c1(&proxy_page(true)), Ok(true));
        assert_eq!(is_proxy_from_page_c1(&proxy_page(false)), Ok(false));
        assert_eq!(is_proxy_from_page_c1(&proxy_page(true)[..19]), Ok(false));
        assert!(is_proxy_from_page_c1(&proxy_page(true)[..12]).is_err());
        assert!(is_proxy_from_page_c1(&[]).is_err());
    }

    #[test]
    fn query_values() {
        let sw = FakeTransport::new().answer(0xc0, None, Answer::good(&gva(b"iswt")));
        assert_eq!(query(&sw, Duration::ZERO).priority, Ok(ISCSI_SOFTWARE));
        assert_eq!(sw.count(0x12), 0, "no proxy page for iSCSI");

        let fcp_proxy = FakeTransport::new()
            .answer(0xc0, None, Answer::good(&gva(b"fcp")))
            .answer(0x12, Some(PROXY_PAGE), Answer::good(&proxy_page(true)));
        assert_eq!(query(&fcp_proxy, Duration::ZERO).priority, Ok(FCP_PROXY));

        let no_proxy_page = FakeTransport::new().answer(0xc0, None, Answer::good(&gva(b"fcp")));
        let out = query(&no_proxy_page, Duration::ZERO);
        assert_eq!(out.priority, Ok(FCP_NON_PROXY));
        assert!(out.fallback.is_some());

        let no_gva = FakeTransport::new().answer(0xc0, None, Answer::check_condition(5, 0x20, 0));
        let out = query(&no_gva, Duration::ZERO);
        assert_eq!(out.priority, Ok(ON_GVA_ERROR));
        assert_eq!(no_gva.count(0x12), 0);
    }
}
