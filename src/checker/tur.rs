//! The `tur` checker: TEST UNIT READY, with multipath-tools 0.9.4's exact
//! reading of the answer (libmultipath/checkers/tur.c, synchronous mode).
//!
//! In order: RESERVATION CONFLICT (status & 0x7e == 0x18) is up, whatever
//! else the completion says; a completion without the kernel's check flag
//! is up; a host byte other than OK, NO_CONNECT, BAD_TARGET, ABORT or
//! TRANSPORT_FAILFAST is retried; then the sense data decides: UNIT
//! ATTENTION is retried, NOT READY 04/0b (target port in standby) is a
//! ghost, everything else is down. Both kinds of retry share one budget of
//! five attempts; when it runs out, the last answer is classified without
//! retrying (so a retried host error with standby sense ends as a ghost).
//!
//! Where [`crate::check::classify`] (with `probe`'s loop) answers
//! differently, for the lead to decide:
//! - BUSY and TASK SET FULL: retried there; down at once here.
//! - Host byte set: down at once there. Here NO_CONNECT, BAD_TARGET, ABORT
//!   and TRANSPORT_FAILFAST go on to the sense data (down, or ghost with
//!   standby sense); every other host byte (TIME_OUT, BUS_BUSY, RESET,
//!   ERROR, SOFT_ERROR, TRANSPORT_DISRUPTED, ...) is retried, so a timing
//!   out path costs five timeouts.
//! - RESERVATION CONFLICT: up there only with clean host and driver bytes;
//!   up here whatever they say, and status 0x19 too.
//! - Driver byte: there DRIVER_SENSE alone is harmless and any other driver
//!   error is down; here any non-zero driver byte lets the sense decide
//!   (GOOD + DRIVER_SENSE without sense is down; a driver error with
//!   standby sense is a ghost, with UNIT ATTENTION a retry).
//! - Sense data is read here for any flagged completion (COMMAND
//!   TERMINATED, GOOD with a driver byte), there only for CHECK CONDITION.
//! - Sense format: here descriptor format is exactly 0x72/0x73 and fixed
//!   format needs 14 bytes written, byte 7 (additional length) ignored;
//!   `scsi::sense` also takes 0xf2/0xf3, reads a fixed key from 3 bytes and
//!   zeroes ASC/ASCQ not covered by byte 7. So a 13-byte fixed UNIT
//!   ATTENTION retries there and is down here; a fixed 04/0b with byte 7 = 0
//!   is down there and a ghost here.
//! - Status 0x01 (masked status 0) with clean bytes: down there, up here.
//! - Attempts: 5 here (UNIT ATTENTION and host retries share them); 3 there
//!   (`ProbeOptions::tur_attempts`). Both end down when they run out.
//! - ENOTTY: "unsupported" (PATH_WILD) here, down there; neither is usable.
//! - Alike: GOOD up; NOT READY 04/0b ghost; 04/0a (ALUA transitioning),
//!   04/01, 04/02, 04/03, 3a/xx and every other sense down; UNIT ATTENTION
//!   retried.

use super::sg::{self, host, key};
use super::{with_attempts, Settings, Verdict};
use crate::scsi::cdb;
use crate::transport::{status, Completion, ScsiTransport, TransportError};

/// TEST UNIT READY sends in tur.c (`retry_tur`).
pub const ATTEMPTS: u8 = 5;

/// ASC/ASCQ 04/0b: LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE.
const STANDBY: (u8, u8) = (0x04, 0x0b);

/// Classifies one TEST UNIT READY completion as tur.c 0.9.4 does.
/// `may_retry` is false on the last attempt: the answer is then final.
pub fn verdict(c: &Completion, may_retry: bool) -> Verdict {
    if c.status & 0x7e == status::RESERVATION_CONFLICT {
        return Verdict::Up;
    }
    if !sg::info_check(c) {
        return Verdict::Up;
    }
    if may_retry && !host_status_is_final(c.host_status) {
        return Verdict::Retry;
    }
    let sense = sg::strict_sense(&c.sense);
    match sense.key {
        key::UNIT_ATTENTION if may_retry => Verdict::Retry,
        key::NOT_READY if (sense.asc, sense.ascq) == STANDBY => Verdict::Ghost,
        _ => Verdict::Down(format!("TEST UNIT READY failed ({})", sg::describe(c))),
    }
}

/// Host bytes tur.c does not retry: the answer is final.
fn host_status_is_final(code: u16) -> bool {
    matches!(
        code,
        host::OK | host::NO_CONNECT | host::BAD_TARGET | host::ABORT | host::TRANSPORT_FAILFAST
    )
}

/// A failed SG_IO ioctl: ENOTTY is "unsupported" (PATH_WILD), anything
/// else down; neither is retried.
pub fn verdict_from_error(e: &TransportError) -> Verdict {
    if sg::is_unsupported(e) {
        Verdict::Down(format!("device does not support SG_IO, unsupported ({e})"))
    } else {
        Verdict::Down(format!("TEST UNIT READY: {e}"))
    }
}

/// Sends TEST UNIT READY until a final verdict.
pub fn run(transport: &dyn ScsiTransport, settings: &Settings) -> Verdict {
    let command = cdb::test_unit_ready();
    with_attempts(settings.attempts(ATTEMPTS), |may_retry| {
        match transport.execute(&command, &mut [], settings.timeout) {
            Ok(c) => verdict(&c, may_retry),
            Err(e) => verdict_from_error(&e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};

    fn v(answer: Answer) -> Verdict {
        verdict(&answer.completion, true)
    }

    fn is_down(v: &Verdict) -> bool {
        matches!(v, Verdict::Down(_))
    }

    use crate::checker::test_settings as settings;

    #[test]
    fn good_is_up() {
        assert_eq!(v(Answer::good(&[])), Verdict::Up);
    }

    #[test]
    fn reservation_conflict_is_up_even_with_host_error() {
        let mut a = Answer::status(status::RESERVATION_CONFLICT);
        assert_eq!(v(a.clone()), Verdict::Up);
        a.completion.host_status = host::NO_CONNECT;
        assert_eq!(v(a.clone()), Verdict::Up);
        a.completion.status = 0x19;
        assert_eq!(v(a), Verdict::Up);
    }

    #[test]
    fn standby_is_ghost_other_not_ready_down() {
        assert_eq!(v(Answer::check_condition(0x02, 0x04, 0x0b)), Verdict::Ghost);
        assert!(is_down(&v(Answer::check_condition(0x02, 0x04, 0x0a))));
        assert!(is_down(&v(Answer::check_condition(0x02, 0x04, 0x02))));
        assert!(is_down(&v(Answer::check_condition(0x02, 0x3a, 0x00))));
    }

    #[test]
    fn unit_attention_retries_until_last_attempt() {
        let ua = Answer::check_condition(0x06, 0x29, 0x00);
        assert_eq!(verdict(&ua.completion, true), Verdict::Retry);
        assert!(is_down(&verdict(&ua.completion, false)));
    }

    #[test]
    fn busy_is_down_not_retried() {
        assert!(is_down(&v(Answer::status(status::BUSY))));
        assert!(is_down(&v(Answer::status(status::TASK_SET_FULL))));
    }

    #[test]
    fn transient_host_errors_retry_final_ones_do_not() {
        assert_eq!(v(Answer::host_error(host::TIME_OUT)), Verdict::Retry);
        assert_eq!(v(Answer::host_error(host::BUS_BUSY)), Verdict::Retry);
        assert!(is_down(&v(Answer::host_error(host::NO_CONNECT))));
        assert!(is_down(&v(Answer::host_error(host::TRANSPORT_FAILFAST))));
        assert!(is_down(&verdict(
            &Answer::host_error(host::TIME_OUT).completion,
            false
        )));
    }

    #[test]
    fn host_error_with_standby_sense_ends_ghost() {
        let mut a = Answer::check_condition(0x02, 0x04, 0x0b);
        a.completion.host_status = host::TIME_OUT;
        assert_eq!(verdict(&a.completion, true), Verdict::Retry);
        assert_eq!(verdict(&a.completion, false), Verdict::Ghost);
    }

    #[test]
    fn short_fixed_sense_is_down_not_retried() {
        let mut a = Answer::check_condition(0x06, 0x29, 0x00);
        a.completion.sense.truncate(13);
        assert!(is_down(&v(a)));
    }

    #[test]
    fn fixed_sense_ignores_additional_length() {
        let mut a = Answer::check_condition(0x02, 0x04, 0x0b);
        a.completion.sense[7] = 0;
        assert_eq!(v(a), Verdict::Ghost);
    }

    #[test]
    fn descriptor_sense_standby() {
        let mut a = Answer::status(status::CHECK_CONDITION);
        let _ = a
            .completion
            .sense
            .extend_from_slice(&[0x72, 0x02, 0x04, 0x0b, 0, 0, 0, 0]);
        assert_eq!(v(a), Verdict::Ghost);
    }

    #[test]
    fn driver_sense_alone_with_good_status_is_down() {
        let mut a = Answer::good(&[]);
        a.completion.driver_status = sg::DRIVER_SENSE;
        assert!(is_down(&v(a)));
    }

    #[test]
    fn odd_status_bit_alone_is_up() {
        assert_eq!(v(Answer::status(0x01)), Verdict::Up);
    }

    #[test]
    fn enotty_is_unsupported_other_errors_down() {
        let why = verdict_from_error(&sg::ioctl_error(libc::ENOTTY));
        assert!(matches!(&why, Verdict::Down(s) if s.contains("unsupported")));
        assert!(is_down(&verdict_from_error(&sg::ioctl_error(libc::EIO))));
    }

    #[test]
    fn run_retries_unit_attention_then_up() {
        let t = FakeTransport::new()
            .answer(0x00, None, Answer::check_condition(0x06, 0x29, 0x00))
            .answer(0x00, None, Answer::good(&[]));
        assert_eq!(run(&t, &settings()), Verdict::Up);
        assert_eq!(t.count(0x00), 2);
    }

    #[test]
    fn run_dead_path_is_down_after_one_command() {
        let t = FakeTransport::new();
        assert!(is_down(&run(&t, &settings())));
        assert_eq!(t.count(0x00), 1);
    }
}
