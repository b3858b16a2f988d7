//! The `emc_clariion` checker (emc_clariion.c): INQUIRY of the vendor page
//! 0xC0 ("unit path report") of EMC CLARiiON/VNX arrays.
//!
//! The INQUIRY asks for 128 bytes; host bytes BUS_BUSY, ERROR, SOFT_ERROR
//! and TRANSPORT_DISRUPTED are retried (five sends in all). With sense
//! data, ILLEGAL REQUEST is "unsupported" and any key but RECOVERED ERROR
//! is down; then any completion the kernel flags is down (so RECOVERED
//! ERROR is down too, unlike `rdac`).
//!
//! On the page, in this order (bytes past the answer read as zero):
//! byte 1 must be 0xC0 and byte 9 (page revision) 0, else down ("unknown
//! format"); byte 27 (effective initiator type) must be 3, byte 28 bits 0-2
//! (failover mode) 4 or 6, byte 30 bit 2 (arraycommpath) set, else down
//! ("not configured for failover"); byte 48 (LUN operations) non-zero is
//! PATH_SHAKY, which counts as down; byte 4 (LUN state) 0 is an unbound
//! LUN or LUNZ, down. Byte 4 = 2 means this storage processor owns the
//! LUN: the checker then reads the first 4 KiB of the device (libsg.c's
//! `sg_read`) and the path is up only if that read succeeds. Any other
//! bound state (the peer SP owns it) is up, explicitly not a ghost.
//!
//! Not reproduced, and without effect on a single boot-time check: the
//! per-path memory of the LUN WWN (bytes 10-25) that fails a path whose
//! WWN changed between checks, and the per-map "inactive snapshot" flag
//! set when an owner path's read fails with 05/25/01, which then fails
//! the peer paths too. The `multipath` command runs the checker before
//! paths belong to a map, so the flag is never consulted there.

use super::sg::{self, key};
use super::{rdac, read, until_answered, Settings, Verdict};
use crate::scsi::cdb;
use crate::transport::{Completion, ScsiTransport, TransportError};

/// INQUIRY sends in emc_clariion.c (`retry_emc`).
pub const ATTEMPTS: u8 = 5;
/// The vendor VPD page.
pub const PAGE: u8 = 0xc0;
/// Bytes asked for.
pub const PAGE_LEN: usize = 128;

/// What page 0xC0 says about the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageC0 {
    /// This storage processor owns the LUN: a read of the device decides.
    Owner,
    /// The LUN is bound and owned by the peer SP: up.
    Peer,
    Down(String),
}

/// What the INQUIRY completion alone says: `Ok` when the page is to be
/// read, `Err` with a retry or a final verdict otherwise.
pub fn inquiry_answer(c: &Completion, may_retry: bool) -> Result<(), Verdict> {
    let flagged = sg::info_check(c);
    if may_retry && flagged && rdac::transient_host(c.host_status) {
        return Err(Verdict::Retry);
    }
    if sg::sense_is_relevant(c.status, c.driver_status) {
        match sg::loose_sense_key(&c.sense) {
            Some(key::ILLEGAL_REQUEST) => {
                return Err(Verdict::Down(
                    "INQUIRY page 0xc0 refused (ILLEGAL REQUEST): unsupported".into(),
                ))
            }
            Some(k) if k != key::RECOVERED_ERROR => {
                return Err(Verdict::Down(format!(
                    "INQUIRY page 0xc0 failed with sense key {k:#x}"
                )))
            }
            _ => {}
        }
    }
    if flagged {
        return Err(Verdict::Down(format!(
            "INQUIRY page 0xc0 failed ({})",
            sg::describe(c)
        )));
    }
    Ok(())
}

/// A failed SG_IO ioctl: ENOTTY is "unsupported", anything else down.
pub fn error_answer(e: &TransportError) -> Verdict {
    if sg::is_unsupported(e) {
        Verdict::Down(format!("device does not support SG_IO, unsupported ({e})"))
    } else {
        Verdict::Down(format!("sending INQUIRY page 0xc0 failed: {e}"))
    }
}

/// The meaning of a page 0xC0.
pub fn verdict_from_page_c0(page: &[u8]) -> PageC0 {
    let at = |i: usize| page.get(i).copied().unwrap_or(0);
    if at(1) != PAGE || at(9) != 0 {
        return PageC0::Down(format!(
            "unit path report page in unknown format (page {:#04x}, revision {})",
            at(1),
            at(9)
        ));
    }
    let failover_mode = at(28) & 0x07;
    if at(27) != 0x03 || !matches!(failover_mode, 0x04 | 0x06) || at(30) & 0x04 == 0 {
        return PageC0::Down(format!(
            "path not configured for failover (initiator type {}, failover mode {failover_mode}, \
             arraycommpath {})",
            at(27),
            (at(30) >> 2) & 1
        ));
    }
    if at(48) != 0 {
        return PageC0::Down(format!(
            "path not available for normal operations (LUN operations {:#04x}, shaky)",
            at(48)
        ));
    }
    match at(4) {
        0 => PageC0::Down("logical unit is unbound or LUNZ".into()),
        2 => PageC0::Owner,
        _ => PageC0::Peer,
    }
}

/// Runs `emc_clariion`.
pub fn run(transport: &dyn ScsiTransport, settings: &Settings) -> Verdict {
    let command = cdb::inquiry(Some(PAGE), PAGE_LEN as u16);
    let mut page = [0u8; PAGE_LEN];
    let answered = until_answered(settings.attempts(ATTEMPTS), |may_retry| {
        match transport.execute(&command, &mut page, settings.timeout) {
            Ok(c) => inquiry_answer(&c, may_retry),
            Err(e) => Err(error_answer(&e)),
        }
    });
    if let Err(verdict) = answered {
        return verdict;
    }
    match verdict_from_page_c0(&page) {
        PageC0::Peer => Verdict::Up,
        PageC0::Down(why) => Verdict::Down(why),
        PageC0::Owner => match read::read_lba0(transport, settings, read::SG_READ_ATTEMPTS) {
            Verdict::Down(why) => Verdict::Down(format!("owning SP path: {why}")),
            other => other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};
    use crate::transport::status;

    const INQ: u8 = 0x12;
    const READ10: u8 = 0x28;

    /// A well-configured page (ALUA failover mode 4) with LUN state `state`.
    fn page(state: u8) -> [u8; PAGE_LEN] {
        let mut p = [0u8; PAGE_LEN];
        p[1] = PAGE;
        p[3] = 0x7c;
        p[4] = state;
        p[10..26].copy_from_slice(&[
            0x60, 0x06, 0x01, 0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
        ]);
        p[27] = 0x03;
        p[28] = 0x04;
        p[30] = 0x04;
        p
    }

    use crate::checker::test_settings as settings;

    fn down_with(v: &PageC0, text: &str) -> bool {
        matches!(v, PageC0::Down(s) if s.contains(text))
    }

    #[test]
    fn lun_states() {
        assert_eq!(verdict_from_page_c0(&page(2)), PageC0::Owner);
        assert_eq!(verdict_from_page_c0(&page(1)), PageC0::Peer);
        assert!(down_with(&verdict_from_page_c0(&page(0)), "unbound"));
    }

    #[test]
    fn wrong_page_or_revision_is_down() {
        let mut p = page(2);
        p[9] = 1;
        assert!(down_with(&verdict_from_page_c0(&p), "unknown format"));
        let mut p = page(2);
        p[1] = 0xc9;
        assert!(down_with(&verdict_from_page_c0(&p), "unknown format"));
    }

    #[test]
    fn failover_configuration_is_checked() {
        for (at, value) in [(27, 0x01), (28, 0x01), (28, 0x05), (30, 0x00)] {
            let mut p = page(1);
            p[at] = value;
            assert!(
                down_with(&verdict_from_page_c0(&p), "failover"),
                "byte {at} = {value}"
            );
        }
        let mut p = page(1);
        p[28] = 0x06;
        assert_eq!(verdict_from_page_c0(&p), PageC0::Peer);
    }

    #[test]
    fn lun_operations_make_it_shaky() {
        let mut p = page(1);
        p[48] = 0x01;
        assert!(down_with(&verdict_from_page_c0(&p), "shaky"));
    }

    #[test]
    fn truncated_pages_never_panic() {
        let full = page(2);
        for n in 0..=full.len() {
            let _ = verdict_from_page_c0(&full[..n]);
        }
        // 31 bytes cover every field but byte 48, which reads as zero.
        assert_eq!(verdict_from_page_c0(&full[..31]), PageC0::Owner);
        assert!(down_with(&verdict_from_page_c0(&full[..30]), "failover"));
    }

    #[test]
    fn owner_path_is_up_only_if_read_works() {
        let t = FakeTransport::new()
            .answer(INQ, Some(PAGE), Answer::good(&page(2)))
            .answer(READ10, None, Answer::good(&[0u8; 512]));
        assert_eq!(run(&t, &settings()), Verdict::Up);
        assert_eq!(t.count(READ10), 1);
        let t = FakeTransport::new()
            .answer(INQ, Some(PAGE), Answer::good(&page(2)))
            .answer(READ10, None, Answer::check_condition(0x05, 0x25, 0x01));
        assert!(matches!(run(&t, &settings()), Verdict::Down(_)));
    }

    #[test]
    fn peer_path_is_up_without_read() {
        let t = FakeTransport::new().answer(INQ, Some(PAGE), Answer::good(&page(1)));
        assert_eq!(run(&t, &settings()), Verdict::Up);
        assert_eq!(t.count(READ10), 0);
    }

    #[test]
    fn sense_handling() {
        let c = Answer::check_condition(0x05, 0x24, 0).completion;
        assert!(
            matches!(inquiry_answer(&c, true), Err(Verdict::Down(s)) if s.contains("unsupported"))
        );
        let c = Answer::check_condition(0x01, 0, 0).completion;
        assert!(matches!(inquiry_answer(&c, true), Err(Verdict::Down(_))));
        let c = Answer::status(status::RESERVATION_CONFLICT).completion;
        assert!(matches!(inquiry_answer(&c, true), Err(Verdict::Down(_))));
        assert_eq!(inquiry_answer(&Completion::default(), false), Ok(()));
    }

    #[test]
    fn dead_path_is_down_after_one_inquiry() {
        let t = FakeTransport::new();
        assert!(matches!(run(&t, &settings()), Verdict::Down(_)));
        assert_eq!(t.count(INQ), 1);
    }
}
