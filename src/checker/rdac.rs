//! The `rdac` checker (rdac.c): INQUIRY of the vendor page 0xC9 ("Volume
//! Access Control") of LSI/Engenio/NetApp E-Series arrays.
//!
//! The INQUIRY asks for 48 bytes. A clean answer, or CHECK CONDITION with
//! RECOVERED ERROR, is read as a page; ILLEGAL REQUEST is "unsupported";
//! host bytes BUS_BUSY, ERROR, SOFT_ERROR and TRANSPORT_DISRUPTED are
//! retried (five sends in all); anything else is down.
//!
//! On the page: byte 0 must be peripheral qualifier 0 and device type 0
//! (bit 7 ignored), else "LUN not connected", down. When bit 4 of byte 8
//! (TPGDE: the target port group fields are valid) is set, the port
//! group's ALUA state in byte 10 decides first: unavailable (3) is down,
//! with byte 11 saying why; transitioning (0xF) is down while the other
//! controller (byte 12) is not transitioning too. Then ownership: bit 0 of
//! byte 8 (this controller owns the volume) or bit 5 (I/O shipping
//! enabled) is up, otherwise ghost. The AVT bit (byte 8 bit 7), the page
//! code and the "vace" signature are not looked at.
//!
//! Not reproduced: rdac.c's initialisation sends MODE SENSE and then MODE
//! SELECT to set the TAS bit of the control mode page. That is a write to
//! the array's settings and does not change any verdict; mpath-boot never
//! writes.

use super::sg::{self, host, key};
use super::{until_answered, Settings, Verdict};
use crate::scsi::cdb;
use crate::transport::{Completion, ScsiTransport, TransportError};

/// INQUIRY sends in rdac.c (`retry_rdac`).
pub const ATTEMPTS: u8 = 5;
/// The vendor VPD page.
pub const PAGE: u8 = 0xc9;
/// Bytes asked for (rdac.c's `struct volume_access_inq`).
pub const PAGE_LEN: usize = 48;

/// Byte 8 bits.
const OWNER: u8 = 0x01;
const TPG_VALID: u8 = 0x10;
const IOSHIP: u8 = 0x20;
/// ALUA states in bytes 10 and 12 (low nibble).
const UNAVAILABLE: u8 = 0x3;
const TRANSITIONING: u8 = 0xf;

/// What the INQUIRY completion alone says: `Ok` when the page is to be
/// read, `Err` with a retry or a final verdict otherwise.
pub fn inquiry_answer(c: &Completion, may_retry: bool) -> Result<(), Verdict> {
    let status = c.status & 0x7e;
    if status == 0 && c.host_status == 0 && c.driver_status == 0 {
        return Ok(());
    }
    if may_retry && sg::info_check(c) && transient_host(c.host_status) {
        return Err(Verdict::Retry);
    }
    if sg::sense_is_relevant(status, c.driver_status) {
        match sg::loose_sense_key(&c.sense) {
            Some(key::RECOVERED_ERROR) => return Ok(()),
            Some(key::ILLEGAL_REQUEST) => {
                return Err(Verdict::Down(
                    "INQUIRY page 0xc9 refused (ILLEGAL REQUEST): unsupported".into(),
                ))
            }
            _ => {}
        }
    }
    Err(Verdict::Down(format!(
        "INQUIRY page 0xc9 failed ({})",
        sg::describe(c)
    )))
}

/// Host bytes rdac.c and emc_clariion.c retry.
pub(crate) fn transient_host(code: u16) -> bool {
    matches!(
        code,
        host::BUS_BUSY | host::ERROR | host::SOFT_ERROR | host::TRANSPORT_DISRUPTED
    )
}

/// A failed SG_IO ioctl. ENOTTY is "unsupported". rdac.c tests nothing
/// else: the header it zeroed before the call still reads as a clean
/// completion, so the (zeroed) page is evaluated, which gives a ghost.
/// 0.9.4 behaviour, kept on purpose; see the module report.
pub fn error_answer(e: &TransportError) -> Result<(), Verdict> {
    match e {
        TransportError::Open(_) => Err(Verdict::Down(format!("INQUIRY page 0xc9: {e}"))),
        _ if sg::is_unsupported(e) => Err(Verdict::Down(format!(
            "device does not support SG_IO, unsupported ({e})"
        ))),
        TransportError::Ioctl(_) => Ok(()),
    }
}

/// The verdict of a page 0xC9 (bytes past the end read as zero, as in the
/// zeroed buffer rdac.c reads into).
pub fn verdict_from_page_c9(page: &[u8]) -> Verdict {
    let at = |i: usize| page.get(i).copied().unwrap_or(0);
    let qualifier_and_type = at(0);
    if qualifier_and_type & 0x7f != 0 {
        return Verdict::Down(format!(
            "LUN not connected (peripheral byte {qualifier_and_type:#04x})"
        ));
    }
    let flags = at(8);
    if flags & TPG_VALID != 0 {
        let (state, reason, peer) = (at(10) & 0x0f, at(11), at(12) & 0x0f);
        if state == UNAVAILABLE {
            return Verdict::Down(format!("controller {}", unavailable_reason(reason)));
        }
        if state == TRANSITIONING && peer != TRANSITIONING {
            return Verdict::Down("controller is starting up (port group transitioning)".into());
        }
    }
    if flags & (OWNER | IOSHIP) != 0 {
        Verdict::Up
    } else {
        Verdict::Ghost
    }
}

/// Byte 11 of an unavailable port group.
fn unavailable_reason(code: u8) -> &'static str {
    match code {
        0x2 => "does not respond to queries",
        0x3 => "is held in reset",
        0x4 | 0x5 => "is downloading firmware",
        0x6 => "is quiesced by an administrator",
        0x7 => "is in service mode",
        _ => "is unavailable",
    }
}

/// Runs `rdac`.
pub fn run(transport: &dyn ScsiTransport, settings: &Settings) -> Verdict {
    let command = cdb::inquiry(Some(PAGE), PAGE_LEN as u16);
    let mut page = [0u8; PAGE_LEN];
    let answered = until_answered(settings.attempts(ATTEMPTS), |may_retry| {
        match transport.execute(&command, &mut page, settings.timeout) {
            Ok(c) => inquiry_answer(&c, may_retry),
            Err(e) => error_answer(&e),
        }
    });
    match answered {
        Ok(()) => verdict_from_page_c9(&page),
        Err(verdict) => verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};
    use crate::transport::status;

    const INQ: u8 = 0x12;

    fn page(flags: u8, cur: u8, reason: u8, alt: u8) -> [u8; PAGE_LEN] {
        let mut p = [0u8; PAGE_LEN];
        p[1] = PAGE;
        p[3] = 0x2c;
        p[4..8].copy_from_slice(b"vace");
        p[8] = flags;
        p[10] = cur;
        p[11] = reason;
        p[12] = alt;
        p
    }

    use crate::checker::test_settings as settings;

    fn down_with(v: &Verdict, text: &str) -> bool {
        matches!(v, Verdict::Down(s) if s.contains(text))
    }

    #[test]
    fn owner_is_up_non_owner_ghost() {
        assert_eq!(verdict_from_page_c9(&page(OWNER, 0, 0, 0)), Verdict::Up);
        assert_eq!(verdict_from_page_c9(&page(0, 0, 0, 0)), Verdict::Ghost);
        assert_eq!(
            verdict_from_page_c9(&page(0x80, 0, 0, 0)),
            Verdict::Ghost,
            "AVT alone"
        );
        assert_eq!(verdict_from_page_c9(&page(IOSHIP, 0, 0, 0)), Verdict::Up);
    }

    #[test]
    fn lun_not_connected_is_down() {
        let mut p = page(OWNER, 0, 0, 0);
        p[0] = 0x20;
        assert!(down_with(&verdict_from_page_c9(&p), "not connected"));
        p[0] = 0x7f;
        assert!(down_with(&verdict_from_page_c9(&p), "not connected"));
        p[0] = 0x80;
        assert_eq!(verdict_from_page_c9(&p), Verdict::Up);
    }

    #[test]
    fn unavailable_port_group_is_down_only_when_tpg_valid() {
        let v = verdict_from_page_c9(&page(TPG_VALID | OWNER, 0x3, 0x4, 0));
        assert!(down_with(&v, "firmware"));
        let v = verdict_from_page_c9(&page(TPG_VALID | OWNER, 0x83, 0x7, 0));
        assert!(down_with(&v, "service mode"));
        assert_eq!(verdict_from_page_c9(&page(OWNER, 0x3, 0x4, 0)), Verdict::Up);
    }

    #[test]
    fn transitioning_alone_is_down_both_transitioning_is_not() {
        assert!(down_with(
            &verdict_from_page_c9(&page(TPG_VALID | OWNER, 0xf, 0, 0)),
            "starting"
        ));
        assert_eq!(
            verdict_from_page_c9(&page(TPG_VALID | OWNER, 0xf, 0, 0xf)),
            Verdict::Up
        );
        assert_eq!(
            verdict_from_page_c9(&page(TPG_VALID, 0xf, 0, 0xf)),
            Verdict::Ghost
        );
    }

    #[test]
    fn truncated_pages_never_panic() {
        let full = page(TPG_VALID | OWNER, 0x3, 0x2, 0);
        for n in 0..=full.len() {
            let _ = verdict_from_page_c9(&full[..n]);
        }
        assert_eq!(verdict_from_page_c9(&[]), Verdict::Ghost);
        assert_eq!(verdict_from_page_c9(&full[..9]), Verdict::Up);
    }

    #[test]
    fn run_sends_inquiry_c9_for_48_bytes() {
        let t = FakeTransport::new().answer(INQ, Some(PAGE), Answer::good(&page(OWNER, 0, 0, 0)));
        assert_eq!(run(&t, &settings()), Verdict::Up);
        assert_eq!(t.count(INQ), 1);
    }

    #[test]
    fn run_short_answer_reads_zeros_beyond() {
        let t = FakeTransport::new().answer(INQ, Some(PAGE), Answer::good(&[0, PAGE, 0, 0x2c]));
        assert_eq!(run(&t, &settings()), Verdict::Ghost);
    }

    #[test]
    fn illegal_request_unsupported_recovered_reads_page() {
        let c = Answer::check_condition(0x05, 0x24, 0).completion;
        assert!(down_with(
            &inquiry_answer(&c, true).unwrap_err(),
            "unsupported"
        ));
        let c = Answer::check_condition(0x01, 0x00, 0).completion;
        assert_eq!(inquiry_answer(&c, true), Ok(()));
        let c = Answer::check_condition(0x02, 0x04, 0x0b).completion;
        assert!(matches!(inquiry_answer(&c, true), Err(Verdict::Down(_))));
    }

    #[test]
    fn transient_host_retries_then_down() {
        let t = FakeTransport::new().answer(INQ, Some(PAGE), Answer::host_error(host::BUS_BUSY));
        assert!(matches!(run(&t, &settings()), Verdict::Down(_)));
        assert_eq!(t.count(INQ), usize::from(ATTEMPTS));
        let c = Answer::host_error(host::NO_CONNECT).completion;
        assert!(matches!(inquiry_answer(&c, true), Err(Verdict::Down(_))));
    }

    #[test]
    fn reservation_conflict_is_down() {
        let c = Answer::status(status::RESERVATION_CONFLICT).completion;
        assert!(matches!(inquiry_answer(&c, true), Err(Verdict::Down(_))));
    }

    #[test]
    fn ioctl_errors_follow_0_9_4() {
        // Unplugged node (no answer): 0.9.4 evaluates the zeroed page.
        let t = FakeTransport::new();
        assert_eq!(run(&t, &settings()), Verdict::Ghost);
        let e = sg::ioctl_error(libc::ENOTTY);
        assert!(matches!(error_answer(&e), Err(Verdict::Down(_))));
    }
}
