//! The `cciss_tur` checker (cciss_tur.c), for logical volumes of HP Smart
//! Array controllers driven by the old `cciss` block driver.
//!
//! 0.9.4 asks the driver for the volume's LUN id (CCISS_GETLUNINFO) and
//! sends a TEST UNIT READY through the driver's own pass-through
//! (CCISS_PASSTHRU): up when both the controller's command status and the
//! SCSI status are zero, down otherwise; no retries, no ghost.
//!
//! Those ioctls are not SCSI and not reachable through SG_IO. The `cciss`
//! driver left Linux in 4.14; its successor `hpsa` presents the volumes as
//! ordinary SCSI disks and does not implement CCISS_GETLUNINFO, so on a
//! current kernel 0.9.4's checker fails that first ioctl and reports every
//! path down. No hwtable entry of 0.9.4 selects this checker.
//!
//! mpath-boot sends the same TEST UNIT READY through the SCSI transport
//! (which reaches the same logical volume on `hpsa`) and keeps cciss_tur's
//! strict reading: only a clean completion is up. The alternative, faithful
//! to the letter on current kernels, would be "always down".

use super::{sg, Settings, Verdict};
use crate::scsi::cdb;
use crate::transport::{status, Completion, ScsiTransport};

/// The verdict of the TEST UNIT READY: clean is up, anything else down.
pub fn verdict(c: &Completion) -> Verdict {
    if c.status == status::GOOD && c.host_status == 0 && c.driver_status == 0 {
        Verdict::Up
    } else {
        Verdict::Down(format!("TEST UNIT READY failed ({})", sg::describe(c)))
    }
}

/// Runs `cciss_tur` as one TEST UNIT READY.
pub fn run(transport: &dyn ScsiTransport, settings: &Settings) -> Verdict {
    match transport.execute(&cdb::test_unit_ready(), &mut [], settings.timeout) {
        Ok(c) => verdict(&c),
        Err(e) => Verdict::Down(format!("TEST UNIT READY: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};

    use crate::checker::test_settings as settings;

    #[test]
    fn only_clean_is_up() {
        assert_eq!(verdict(&Answer::good(&[]).completion), Verdict::Up);
        for a in [
            Answer::status(status::RESERVATION_CONFLICT),
            Answer::check_condition(0x02, 0x04, 0x0b),
            Answer::check_condition(0x06, 0x29, 0x00),
            Answer::host_error(0x03),
        ] {
            assert!(matches!(verdict(&a.completion), Verdict::Down(_)));
        }
    }

    #[test]
    fn run_sends_one_tur() {
        let t = FakeTransport::new().answer(0x00, None, Answer::check_condition(0x06, 0x29, 0));
        assert!(matches!(run(&t, &settings()), Verdict::Down(_)));
        assert_eq!(t.count(0x00), 1);
    }
}
