//! `emc`: EMC CLARiiON's vendor VPD page 0xc0 ("unit path report").
//!
//! One INQUIRY for page 0xc0 (allocation length 128). The path must be set
//! up for failover (initiator type 3, failover mode 4 or 6, arraycommpath
//! set) and the LUN operating normally; the priority is the LUN state
//! (byte 4: unbound 0, bound 1, owned 2), plus 2 when this path's SP is
//! the LUN's default owner (byte 5 equals byte 8). Anything else, or no
//! answer, is PRIO_UNDEF.

use std::time::Duration;

use super::{byte_at, effective_timeout, send, unexpected, PrioError};
use crate::scsi::cdb;
use crate::transport::ScsiTransport;

/// The vendor page asked for.
pub const PAGE: u8 = 0xc0;
/// Allocation length (and reply buffer size) multipath-tools uses.
const ALLOC_LEN: usize = 128;
/// Timeout when none is configured (emc.c: 60 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest value: LUN state 255 plus the default-owner bonus.
pub const MAX_PRIORITY: u32 = 255 + 2;

const WHAT: &str = "EMC unit path report (VPD page 0xc0)";

/// Sends the INQUIRY and computes the priority.
pub fn query(transport: &dyn ScsiTransport, timeout: Duration) -> Result<u32, PrioError> {
    let mut buf = [0u8; ALLOC_LEN];
    let command = cdb::inquiry(Some(PAGE), ALLOC_LEN as u16);
    let timeout = effective_timeout(timeout, DEFAULT_TIMEOUT);
    let answer = send(transport, "INQUIRY VPD page 0xc0", &command, &mut buf, timeout)?;
    priority_from_page_c0(answer)
}

/// The priority from page 0xc0 as received; missing bytes read as 0.
pub fn priority_from_page_c0(page: &[u8]) -> Result<u32, PrioError> {
    let at = |i| byte_at(page, i);
    if at(1) != PAGE || at(9) != 0 {
        return Err(unexpected(
            WHAT,
            page,
            format!(
                "page code {:#04x} and revision {:#04x}, expected 0xc0 and 0x00",
                at(1),
                at(9)
            ),
        ));
    }
    let failover_mode = at(28) & 0x07;
    if at(27) != 0x03 || !matches!(failover_mode, 0x04 | 0x06) || at(30) & 0x04 == 0 {
        return Err(unexpected(
            WHAT,
            page,
            format!(
                "path not set up for failover (initiator type {:#04x}, failover mode {}, \
                 arraycommpath {}): set initiator type 3, failover mode 4 and \
                 arraycommpath 1 on the array",
                at(27),
                failover_mode,
                (at(30) >> 2) & 1
            ),
        ));
    }
    if at(48) != 0 {
        return Err(unexpected(
            WHAT,
            page,
            format!("LUN operations byte is {:#04x}, not normal operation (0)", at(48)),
        ));
    }
    let lun_state = u32::from(at(4));
    let default_owner_bonus = if at(5) == at(8) { 2 } else { 0 };
    Ok(lun_state + default_owner_bonus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};

    /// A page for a path set up for ALUA failover: LUN `state`, current SP
    /// `sp`, default SP `default_sp`.
    pub(crate) fn page(state: u8, sp: u8, default_sp: u8) -> Vec<u8> {
        let mut p = vec![0u8; 60];
        p[1] = PAGE;
        p[3] = 56;
        p[4] = state;
        p[5] = sp;
        p[8] = default_sp;
        p[27] = 0x03;
        p[28] = 0x04;
        p[30] = 0x04;
        p
    }

    #[test]
    fn owned_lun_on_default_sp_is_highest() {
        assert_eq!(priority_from_page_c0(&page(2, 1, 1)), Ok(4));
        assert_eq!(priority_from_page_c0(&page(2, 0, 1)), Ok(2));
        assert_eq!(priority_from_page_c0(&page(1, 0, 0)), Ok(3));
        assert_eq!(priority_from_page_c0(&page(0, 0, 1)), Ok(0));
    }

    #[test]
    fn failover_mode_six_is_accepted_and_others_are_not() {
        let mut p = page(2, 1, 1);
        p[28] = 0xf6;
        assert_eq!(priority_from_page_c0(&p), Ok(4));
        p[28] = 0x01;
        assert!(priority_from_page_c0(&p).is_err());
    }

    #[test]
    fn misconfigured_or_busy_paths_are_undefined() {
        for (at, value) in [(1, 0xc1), (9, 1), (27, 2), (30, 0), (48, 1)] {
            let mut p = page(2, 1, 1);
            p[at] = value;
            let err = priority_from_page_c0(&p).unwrap_err();
            assert!(matches!(err, PrioError::Answer { .. }), "byte {at}: {err}");
        }
    }

    #[test]
    fn short_answers_fail_cleanly() {
        let full = page(2, 1, 1);
        for len in [0, 1, 2, 10, 28, 30] {
            let err = priority_from_page_c0(&full[..len]).unwrap_err();
            assert!(err.to_string().contains(&format!("answer of {len} bytes")), "{err}");
        }
        // Byte 48 must be 0 and is: 49 bytes are enough.
        assert_eq!(priority_from_page_c0(&full[..49]), Ok(4));
        assert_eq!(priority_from_page_c0(&full[..31]), Ok(4), "bytes 31.. read as zero");
    }

    #[test]
    fn query_sends_one_inquiry_and_fails_without_answer() {
        let fake = FakeTransport::new().answer(0x12, Some(0xc0), Answer::good(&page(1, 2, 2)));
        assert_eq!(query(&fake, Duration::from_secs(1)), Ok(3));
        assert_eq!(fake.count(0x12), 1);

        let dead = FakeTransport::new();
        assert!(matches!(query(&dead, Duration::ZERO), Err(PrioError::Transport { .. })));
        let refused = FakeTransport::new().answer(0x12, Some(0xc0), Answer::check_condition(5, 0x24, 0));
        assert!(matches!(query(&refused, Duration::ZERO), Err(PrioError::CommandFailed { .. })));
    }
}
