//! `hp_sw`: HP active/standby controllers (MSA/HSV in "sw" mode), from
//! TEST UNIT READY alone.
//!
//! GOOD (with no host or driver status) or a RECOVERED ERROR sense key
//! means an active path, 4; NOT READY with ASC/ASCQ 04/02 ("initializing
//! command required") a standby path, 2; anything else, including a
//! command that cannot be sent, a failed path, 0 (never PRIO_UNDEF).
//! UNIT ATTENTION with ASC 0x29 (reset) sends the command again.

use std::time::Duration;

use super::{byte_at, effective_timeout, Outcome, PrioError};
use crate::scsi::cdb;
use crate::transport::{Completion, ScsiTransport};

/// Priority of an active path.
pub const ACTIVE: u32 = 4;
/// Priority of a standby path.
pub const STANDBY: u32 = 2;
/// Priority of a failed path, and of a path that cannot be asked.
pub const FAILED: u32 = 0;
/// Timeout when none is configured (hp_sw.c: 60 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// multipath-tools repeats the command after every reset UNIT ATTENTION,
/// without limit; a device that keeps reporting resets must not hang
/// boot, so mpath-boot stops here and reports a failed path.
pub const MAX_ATTEMPTS: usize = 8;

const CHECK_CONDITION: u8 = 0x02;
const COMMAND_TERMINATED: u8 = 0x22;
const DRIVER_SENSE: u16 = 0x08;
const RECOVERED_ERROR: u8 = 0x01;
const NOT_READY: u8 = 0x02;
const UNIT_ATTENTION: u8 = 0x06;

/// What one TEST UNIT READY says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The priority.
    Priority(u32),
    /// The device was reset: ask again.
    Retry,
}

/// Sends TEST UNIT READY (again after resets) and classifies the answer.
pub fn query(transport: &dyn ScsiTransport, timeout: Duration) -> Outcome {
    let command = cdb::test_unit_ready();
    let timeout = effective_timeout(timeout, DEFAULT_TIMEOUT);
    for _ in 0..MAX_ATTEMPTS {
        let completion = match transport.execute(&command, &mut [], timeout) {
            Ok(c) => c,
            Err(e) => {
                let why = PrioError::Transport {
                    command: "TEST UNIT READY",
                    detail: e.to_string(),
                };
                return Outcome::fallback(FAILED, why);
            }
        };
        if let Verdict::Priority(value) = verdict(&completion) {
            return Outcome::value(value);
        }
    }
    Outcome::fallback(
        FAILED,
        PrioError::Unavailable(format!(
            "TEST UNIT READY reported a reset {MAX_ATTEMPTS} times in a row"
        )),
    )
}

/// The priority one TEST UNIT READY completion gives.
pub fn verdict(c: &Completion) -> Verdict {
    let status = c.status & 0x7e;
    let mut priority = FAILED;
    if status == 0 && c.host_status == 0 && c.driver_status == 0 {
        priority = ACTIVE;
    }
    let has_sense = status == CHECK_CONDITION
        || status == COMMAND_TERMINATED
        || c.driver_status & 0x0f == DRIVER_SENSE;
    if has_sense && c.sense.len() > 2 {
        let (key, asc, ascq) = sense_triple(&c.sense);
        match key {
            RECOVERED_ERROR => priority = ACTIVE,
            NOT_READY if (asc, ascq) == (0x04, 0x02) => priority = STANDBY,
            UNIT_ATTENTION if asc == 0x29 => return Verdict::Retry,
            _ => {}
        }
    }
    Verdict::Priority(priority)
}

/// Sense key, ASC and ASCQ the way hp_sw.c reads them: descriptor format
/// when bit 1 of the response code is set, else fixed format; bytes the
/// device did not send read as 0.
fn sense_triple(sense: &[u8]) -> (u8, u8, u8) {
    if byte_at(sense, 0) & 0x02 != 0 {
        (byte_at(sense, 1) & 0x0f, byte_at(sense, 2), byte_at(sense, 3))
    } else {
        (byte_at(sense, 2) & 0x0f, byte_at(sense, 12), byte_at(sense, 13))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};
    use crate::transport::status;

    fn descriptor_sense(key: u8, asc: u8, ascq: u8) -> Completion {
        let mut c = Completion {
            status: status::CHECK_CONDITION,
            driver_status: 0x08,
            ..Completion::default()
        };
        let _ = c.sense.extend_from_slice(&[0x72, key, asc, ascq, 0, 0, 0, 0]);
        c
    }

    #[test]
    fn good_is_active() {
        assert_eq!(verdict(&Completion::default()), Verdict::Priority(ACTIVE));
        let odd_bit = Completion {
            status: 0x81,
            ..Completion::default()
        };
        assert_eq!(verdict(&odd_bit), Verdict::Priority(ACTIVE), "bits 0 and 7 are masked");
    }

    #[test]
    fn sense_decides_standby_active_or_retry() {
        let standby = FakeTransport::new().answer(0, None, Answer::check_condition(2, 4, 2));
        assert_eq!(query(&standby, Duration::ZERO).priority, Ok(STANDBY));
        assert_eq!(verdict(&descriptor_sense(2, 4, 2)), Verdict::Priority(STANDBY));
        assert_eq!(verdict(&descriptor_sense(1, 0, 0)), Verdict::Priority(ACTIVE));
        assert_eq!(verdict(&descriptor_sense(2, 4, 1)), Verdict::Priority(FAILED));
        assert_eq!(verdict(&descriptor_sense(6, 0x29, 0)), Verdict::Retry);
        assert_eq!(verdict(&descriptor_sense(6, 0x2a, 0)), Verdict::Priority(FAILED));
    }

    #[test]
    fn short_sense_is_ignored() {
        let mut c = descriptor_sense(2, 4, 2);
        c.sense.truncate(2);
        assert_eq!(verdict(&c), Verdict::Priority(FAILED));
        // Fixed format with ASC/ASCQ cut off reads them as 0.
        let mut fixed = Completion {
            status: status::CHECK_CONDITION,
            ..Completion::default()
        };
        let _ = fixed.sense.extend_from_slice(&[0x70, 0, 0x02]);
        assert_eq!(verdict(&fixed), Verdict::Priority(FAILED));
    }

    #[test]
    fn reset_is_retried_then_answered() {
        let fake = FakeTransport::new()
            .answer(0, None, Answer::check_condition(6, 0x29, 0))
            .answer(0, None, Answer::good(&[]));
        assert_eq!(query(&fake, Duration::ZERO).priority, Ok(ACTIVE));
        assert_eq!(fake.count(0), 2);
    }

    #[test]
    fn endless_resets_and_dead_paths_are_failed() {
        let resets = FakeTransport::new().answer(0, None, Answer::check_condition(6, 0x29, 0));
        let out = query(&resets, Duration::ZERO);
        assert_eq!(out.priority, Ok(FAILED));
        assert!(out.fallback.is_some());
        assert_eq!(resets.count(0), MAX_ATTEMPTS);

        let dead = FakeTransport::new();
        assert_eq!(query(&dead, Duration::ZERO).priority, Ok(FAILED));
        let unplugged = FakeTransport::new().answer(0, None, Answer::host_error(1));
        assert_eq!(query(&unplugged, Duration::ZERO).priority, Ok(FAILED));
    }
}
