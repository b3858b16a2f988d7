//! The read checkers, `readsector0` and `directio`: one read of the start
//! of the device, never a write.
//!
//! `readsector0` (readsector0.c over libsg.c's `sg_read`) sends READ(10) of
//! LBA 0 through SG_IO itself: GOOD with clean host and driver bytes is up,
//! UNIT ATTENTION is retried (three sends in all), anything else is down.
//! Two ioctl quirks are kept: ENOMEM counts as up, EINTR is sent again.
//!
//! `directio` (directio.c) does not speak SCSI: it reads one block (the
//! BLKBSZGET size, at most 4096 bytes) at offset 0 through the block device
//! with O_DIRECT and libaio, waits up to the checker timeout, and calls the
//! path up when the whole block arrived, down otherwise (including a
//! timeout). Through the block layer the SCSI midlayer retries UNIT
//! ATTENTION, BUSY, "becoming ready" and transient transport errors by
//! itself, and a hardware handler fails I/O to a passive port at once.
//! Sent here as a SCSI READ of one logical block at LBA 0 through the
//! transport, with those retries done in this loop, the verdict is the
//! same: the whole block read is up, any failure or short read is down;
//! a standby port answers NOT READY and is down (not a ghost), as the
//! block layer read fails there too.

use super::sg::{self, host, key};
use super::{cdb, with_attempts, Settings, Verdict};
use crate::transport::{status, Completion, ScsiTransport, TransportError};

/// READ sends in libsg.c (`retry_count`).
pub const SG_READ_ATTEMPTS: u8 = 3;
/// Attempts standing in for the SCSI disk driver's own retries (SD_MAX_RETRIES).
pub const DIRECTIO_ATTEMPTS: u8 = 5;

/// Smallest and largest logical block sizes accepted.
const BLOCK_MIN: u32 = 512;
const BLOCK_MAX: u32 = 65536;

/// Bytes of one read of LBA 0, or why `block_size` cannot be used.
pub fn read_length(block_size: u32) -> Result<usize, String> {
    if block_size.is_power_of_two() && (BLOCK_MIN..=BLOCK_MAX).contains(&block_size) {
        usize::try_from(block_size).map_err(|_| format!("block size {block_size} too large"))
    } else {
        Err(format!(
            "logical block size {block_size} is not a power of two from {BLOCK_MIN} to {BLOCK_MAX}"
        ))
    }
}

/// One `sg_read` completion, as libsg.c classifies it.
pub fn sg_read_verdict(c: &Completion, may_retry: bool) -> Verdict {
    if c.status == status::GOOD && c.host_status == 0 && c.driver_status == 0 {
        return Verdict::Up;
    }
    if sg::strict_sense(&c.sense).key == key::UNIT_ATTENTION && may_retry {
        return Verdict::Retry;
    }
    Verdict::Down(format!("READ of LBA 0 failed ({})", sg::describe(c)))
}

/// A failed SG_IO ioctl under `sg_read`: ENOMEM is up (libsg.c's rule),
/// EINTR is sent again, anything else is down.
pub fn sg_read_error_verdict(e: &TransportError, may_retry: bool) -> Verdict {
    match sg::ioctl_errno(e) {
        Some(libc::ENOMEM) => Verdict::Up,
        Some(libc::EINTR) if may_retry => Verdict::Retry,
        _ => Verdict::Down(format!("READ of LBA 0: {e}")),
    }
}

/// One READ completion standing for directio's O_DIRECT read of
/// `requested` bytes: only the whole block, cleanly read, is up.
pub fn directio_verdict(c: &Completion, requested: usize, may_retry: bool) -> Verdict {
    if c.status == status::GOOD && c.host_status == 0 && c.driver_status == 0 {
        return if c.transferred == requested {
            Verdict::Up
        } else {
            Verdict::Down(format!(
                "short read: {} of {requested} bytes",
                c.transferred
            ))
        };
    }
    if may_retry && midlayer_retries(c) {
        return Verdict::Retry;
    }
    Verdict::Down(format!(
        "read of the first block failed ({})",
        sg::describe(c)
    ))
}

/// Answers the SCSI midlayer retries for a block-layer read.
fn midlayer_retries(c: &Completion) -> bool {
    let transient_host = matches!(
        c.host_status,
        host::BUS_BUSY
            | host::ERROR
            | host::RESET
            | host::SOFT_ERROR
            | host::IMM_RETRY
            | host::REQUEUE
            | host::TRANSPORT_DISRUPTED
    );
    if transient_host {
        return true;
    }
    if c.host_status != 0 {
        return false;
    }
    match c.status {
        status::BUSY | status::TASK_SET_FULL => true,
        status::CHECK_CONDITION => {
            let s = sg::strict_sense(&c.sense);
            match s.key {
                key::UNIT_ATTENTION | ABORTED_COMMAND => true,
                // Becoming ready; ALUA state transition.
                key::NOT_READY => s.asc == 0x04 && matches!(s.ascq, 0x01 | 0x0a),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Sense key ABORTED COMMAND.
const ABORTED_COMMAND: u8 = 0x0b;

/// Runs `readsector0`.
pub fn run_readsector0(transport: &dyn ScsiTransport, settings: &Settings) -> Verdict {
    read_lba0(transport, settings, SG_READ_ATTEMPTS)
}

/// `sg_read` of LBA 0 with `attempts` sends (also used by `emc_clariion`).
pub fn read_lba0(transport: &dyn ScsiTransport, settings: &Settings, attempts: u8) -> Verdict {
    let length = match read_length(settings.block_size) {
        Ok(n) => n,
        Err(why) => return Verdict::Down(why),
    };
    let command = cdb::read(0, 1);
    let mut data = vec![0u8; length];
    with_attempts(settings.attempts(attempts), |may_retry| {
        match transport.execute(command.as_bytes(), &mut data, settings.timeout) {
            Ok(c) => sg_read_verdict(&c, may_retry),
            Err(e) => sg_read_error_verdict(&e, may_retry),
        }
    })
}

/// Runs `directio` as a READ of one logical block at LBA 0.
pub fn run_directio(transport: &dyn ScsiTransport, settings: &Settings) -> Verdict {
    let length = match read_length(settings.block_size) {
        Ok(n) => n,
        Err(why) => return Verdict::Down(why),
    };
    let command = cdb::read(0, 1);
    let mut data = vec![0u8; length];
    with_attempts(
        settings.attempts(DIRECTIO_ATTEMPTS),
        |may_retry| match transport.execute(command.as_bytes(), &mut data, settings.timeout) {
            Ok(c) => directio_verdict(&c, length, may_retry),
            Err(e) => Verdict::Down(format!("read of the first block: {e}")),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};
    use std::time::Duration;

    const READ10: u8 = 0x28;

    fn settings(block_size: u32) -> Settings {
        Settings {
            timeout: Duration::from_secs(1),
            block_size,
            max_attempts: u8::MAX,
        }
    }

    fn is_down(v: &Verdict) -> bool {
        matches!(v, Verdict::Down(_))
    }

    #[test]
    fn block_sizes() {
        assert_eq!(read_length(512), Ok(512));
        assert_eq!(read_length(4096), Ok(4096));
        assert!(read_length(0).is_err());
        assert!(read_length(520).is_err());
        assert!(read_length(256).is_err());
        assert!(read_length(1 << 17).is_err());
    }

    #[test]
    fn readsector0_good_read_is_up_and_sends_read10_of_lba0() {
        let t = FakeTransport::new().answer(READ10, None, Answer::good(&[0u8; 512]));
        assert_eq!(run_readsector0(&t, &settings(512)), Verdict::Up);
        assert_eq!(t.count(READ10), 1);
        assert_eq!(t.sent.borrow().len(), 1);
    }

    #[test]
    fn readsector0_retries_unit_attention_three_times() {
        let t = FakeTransport::new().answer(READ10, None, Answer::check_condition(0x06, 0x29, 0));
        assert!(is_down(&run_readsector0(&t, &settings(512))));
        assert_eq!(t.count(READ10), 3);
    }

    #[test]
    fn readsector0_reservation_conflict_and_standby_are_down() {
        let c = Answer::status(status::RESERVATION_CONFLICT).completion;
        assert!(is_down(&sg_read_verdict(&c, true)));
        let c = Answer::check_condition(0x02, 0x04, 0x0b).completion;
        assert!(is_down(&sg_read_verdict(&c, true)));
    }

    #[test]
    fn sg_read_ioctl_quirks() {
        assert_eq!(
            sg_read_error_verdict(&sg::ioctl_error(libc::ENOMEM), false),
            Verdict::Up
        );
        assert_eq!(
            sg_read_error_verdict(&sg::ioctl_error(libc::EINTR), true),
            Verdict::Retry
        );
        assert!(is_down(&sg_read_error_verdict(
            &sg::ioctl_error(libc::EINTR),
            false
        )));
        assert!(is_down(&sg_read_error_verdict(
            &sg::ioctl_error(libc::ENOTTY),
            true
        )));
    }

    #[test]
    fn bad_block_size_is_down_without_commands() {
        let t = FakeTransport::new().answer(READ10, None, Answer::good(&[0u8; 512]));
        assert!(is_down(&run_readsector0(&t, &settings(0))));
        assert!(is_down(&run_directio(&t, &settings(3))));
        assert!(t.sent.borrow().is_empty());
    }

    #[test]
    fn directio_needs_the_whole_block() {
        let t = FakeTransport::new().answer(READ10, None, Answer::good(&[0u8; 4096]));
        assert_eq!(run_directio(&t, &settings(4096)), Verdict::Up);
        let t = FakeTransport::new().answer(READ10, None, Answer::good(&[0u8; 100]));
        assert!(is_down(&run_directio(&t, &settings(512))));
    }

    #[test]
    fn directio_retries_like_the_midlayer() {
        let t = FakeTransport::new()
            .answer(READ10, None, Answer::status(status::BUSY))
            .answer(READ10, None, Answer::check_condition(0x06, 0x29, 0))
            .answer(READ10, None, Answer::host_error(host::TRANSPORT_DISRUPTED))
            .answer(READ10, None, Answer::good(&[0u8; 512]));
        assert_eq!(run_directio(&t, &settings(512)), Verdict::Up);
        assert_eq!(t.count(READ10), 4);
    }

    #[test]
    fn directio_standby_timeout_and_dead_path_are_down() {
        let c = Answer::check_condition(0x02, 0x04, 0x0b).completion;
        assert!(is_down(&directio_verdict(&c, 512, true)));
        let c = Answer::host_error(host::TIME_OUT).completion;
        assert!(is_down(&directio_verdict(&c, 512, true)));
        let t = FakeTransport::new();
        assert!(is_down(&run_directio(&t, &settings(512))));
        assert_eq!(t.count(READ10), 1);
    }
}
