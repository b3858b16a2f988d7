//! TEST UNIT READY verdicts, following multipath-tools' `tur` checker.

use crate::path::PathState;
use crate::scsi::sense;
use crate::transport::{status, Completion};

/// What one TEST UNIT READY answer means for the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurVerdict {
    State(PathState),
    /// UNIT ATTENTION or a busy target: ask again (a bounded number of times).
    Retry,
}

/// DRIVER_SENSE: the driver merely reports that sense data is present.
const DRIVER_SENSE: u16 = 0x08;
/// The low nibble of driver_status carries the driver's error code.
const DRIVER_ERROR_MASK: u16 = 0x0f;

/// Classifies a TEST UNIT READY completion.
///
/// Ready is up; RESERVATION CONFLICT is up too (another initiator holds a
/// reservation, the path itself works); NOT READY with ASC/ASCQ 04/0b
/// (target port in standby) is a ghost; UNIT ATTENTION and BUSY are retried;
/// anything else, or any transport error, is down.
pub fn classify(completion: &Completion) -> TurVerdict {
    let driver_error = completion.driver_status & DRIVER_ERROR_MASK;
    if completion.host_status != 0 || (driver_error != 0 && driver_error != DRIVER_SENSE) {
        return TurVerdict::State(PathState::Down);
    }
    match completion.status {
        status::GOOD | status::RESERVATION_CONFLICT => TurVerdict::State(PathState::Up),
        status::BUSY | status::TASK_SET_FULL => TurVerdict::Retry,
        status::CHECK_CONDITION => match sense::parse(&completion.sense) {
            Some(s) if s.key == 0x06 => TurVerdict::Retry,
            Some(s) if s.key == 0x02 && s.asc == 0x04 && s.ascq == 0x0b => {
                TurVerdict::State(PathState::Ghost)
            }
            _ => TurVerdict::State(PathState::Down),
        },
        _ => TurVerdict::State(PathState::Down),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::Answer;

    fn verdict(answer: Answer) -> TurVerdict {
        classify(&answer.completion)
    }

    #[test]
    fn good_and_reservation_conflict_are_up() {
        assert_eq!(verdict(Answer::good(&[])), TurVerdict::State(PathState::Up));
        assert_eq!(
            verdict(Answer::status(status::RESERVATION_CONFLICT)),
            TurVerdict::State(PathState::Up)
        );
    }

    #[test]
    fn standby_is_ghost() {
        assert_eq!(
            verdict(Answer::check_condition(0x02, 0x04, 0x0b)),
            TurVerdict::State(PathState::Ghost)
        );
    }

    #[test]
    fn other_not_ready_is_down() {
        assert_eq!(
            verdict(Answer::check_condition(0x02, 0x04, 0x02)),
            TurVerdict::State(PathState::Down)
        );
        assert_eq!(
            verdict(Answer::check_condition(0x02, 0x3a, 0x00)),
            TurVerdict::State(PathState::Down)
        );
    }

    #[test]
    fn unit_attention_and_busy_retry() {
        assert_eq!(verdict(Answer::check_condition(0x06, 0x29, 0x00)), TurVerdict::Retry);
        assert_eq!(verdict(Answer::status(status::BUSY)), TurVerdict::Retry);
    }

    #[test]
    fn transport_errors_are_down() {
        assert_eq!(
            verdict(Answer::host_error(0x01)),
            TurVerdict::State(PathState::Down)
        );
        let mut timed_out = Answer::good(&[]);
        timed_out.completion.driver_status = 0x06;
        assert_eq!(verdict(timed_out), TurVerdict::State(PathState::Down));
    }

    #[test]
    fn check_condition_without_sense_is_down() {
        assert_eq!(
            verdict(Answer::status(status::CHECK_CONDITION)),
            TurVerdict::State(PathState::Down)
        );
    }
}
