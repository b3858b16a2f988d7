//! The `hp_sw` checker (hp_sw.c), for HP active/passive arrays (MSA1000,
//! EVA 3000/5000 in A/P mode) handled by the `hp_sw` hardware handler.
//!
//! It sends INQUIRY for VPD page 0x80 (255 bytes) once, without retries,
//! and does not look at the page: a clean answer, or RECOVERED ERROR, goes
//! on; ILLEGAL REQUEST is "unsupported"; anything else is down. Then one
//! TEST UNIT READY: if it fails in any way (the passive controller answers
//! NOT READY 04/02, "initializing command required"; but any flagged
//! completion or a failed ioctl counts, including RESERVATION CONFLICT)
//! the path is a ghost, otherwise up. So a path that answers INQUIRY but
//! not TEST UNIT READY is never down with this checker.

use super::sg::{self, key};
use super::{Settings, Verdict};
use crate::scsi::cdb;
use crate::transport::{Completion, ScsiTransport, TransportError};

/// The VPD page asked for (unit serial number).
pub const PAGE: u8 = 0x80;
/// Bytes asked for.
pub const PAGE_LEN: usize = 255;

/// What the INQUIRY completion says: `Ok` to go on with TEST UNIT READY.
pub fn inquiry_answer(c: &Completion) -> Result<(), Verdict> {
    let status = c.status & 0x7e;
    if status == 0 && c.host_status == 0 && c.driver_status == 0 {
        return Ok(());
    }
    if sg::sense_is_relevant(status, c.driver_status) {
        match sg::loose_sense_key(&c.sense) {
            Some(key::RECOVERED_ERROR) => return Ok(()),
            Some(key::ILLEGAL_REQUEST) => {
                return Err(Verdict::Down(
                    "INQUIRY page 0x80 refused (ILLEGAL REQUEST): unsupported".into(),
                ))
            }
            _ => {}
        }
    }
    Err(Verdict::Down(format!(
        "INQUIRY page 0x80 failed ({})",
        sg::describe(c)
    )))
}

/// A failed INQUIRY ioctl: ENOTTY is "unsupported", anything else down.
pub fn inquiry_error(e: &TransportError) -> Verdict {
    if sg::is_unsupported(e) {
        Verdict::Down(format!("device does not support SG_IO, unsupported ({e})"))
    } else {
        Verdict::Down(format!("INQUIRY page 0x80: {e}"))
    }
}

/// The TEST UNIT READY that follows: any failure makes a ghost.
pub fn tur_verdict(answer: Result<&Completion, &TransportError>) -> Verdict {
    match answer {
        Ok(c) if !sg::info_check(c) => Verdict::Up,
        _ => Verdict::Ghost,
    }
}

/// Runs `hp_sw`: one INQUIRY, then one TEST UNIT READY.
pub fn run(transport: &dyn ScsiTransport, settings: &Settings) -> Verdict {
    let command = cdb::inquiry(Some(PAGE), PAGE_LEN as u16);
    let mut page = [0u8; PAGE_LEN];
    let inquiry = match transport.execute(&command, &mut page, settings.timeout) {
        Ok(c) => inquiry_answer(&c),
        Err(e) => Err(inquiry_error(&e)),
    };
    if let Err(verdict) = inquiry {
        return verdict;
    }
    let tur = transport.execute(&cdb::test_unit_ready(), &mut [], settings.timeout);
    tur_verdict(tur.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};
    use crate::transport::status;

    const INQ: u8 = 0x12;
    const TUR: u8 = 0x00;

    use crate::checker::test_settings as settings;

    fn with_tur(tur: Answer) -> FakeTransport {
        FakeTransport::new()
            .answer(
                INQ,
                Some(PAGE),
                Answer::good(&[0, PAGE, 0, 4, b'S', b'N', b'0', b'1']),
            )
            .answer(TUR, None, tur)
    }

    #[test]
    fn ready_is_up() {
        assert_eq!(run(&with_tur(Answer::good(&[])), &settings()), Verdict::Up);
    }

    #[test]
    fn passive_controller_is_ghost() {
        let t = with_tur(Answer::check_condition(0x02, 0x04, 0x02));
        assert_eq!(run(&t, &settings()), Verdict::Ghost);
        assert_eq!(t.count(TUR), 1);
    }

    #[test]
    fn any_tur_failure_is_ghost() {
        for a in [
            Answer::status(status::RESERVATION_CONFLICT),
            Answer::host_error(0x01),
            Answer::check_condition(0x03, 0x11, 0x00),
        ] {
            assert_eq!(run(&with_tur(a), &settings()), Verdict::Ghost);
        }
        let t = FakeTransport::new().answer(INQ, Some(PAGE), Answer::good(&[]));
        assert_eq!(run(&t, &settings()), Verdict::Ghost, "TUR ioctl failure");
    }

    #[test]
    fn inquiry_failure_is_down_without_tur() {
        let t = FakeTransport::new()
            .answer(INQ, Some(PAGE), Answer::host_error(0x01))
            .answer(TUR, None, Answer::good(&[]));
        assert!(matches!(run(&t, &settings()), Verdict::Down(_)));
        assert_eq!(t.count(TUR), 0);
        assert_eq!(t.count(INQ), 1);
    }

    #[test]
    fn inquiry_sense_keys() {
        let c = Answer::check_condition(0x01, 0, 0).completion;
        assert_eq!(inquiry_answer(&c), Ok(()));
        let c = Answer::check_condition(0x05, 0x24, 0).completion;
        assert!(matches!(inquiry_answer(&c), Err(Verdict::Down(s)) if s.contains("unsupported")));
        let c = Answer::check_condition(0x02, 0x04, 0x02).completion;
        assert!(matches!(inquiry_answer(&c), Err(Verdict::Down(_))));
    }
}
