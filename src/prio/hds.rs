//! `hds`: Hitachi modular storage (DF600 family), static load balancing
//! from the standard INQUIRY data.
//!
//! One standard INQUIRY (allocation length 255). Hitachi puts the LDEV
//! number as 4 hex digits at bytes 44..48 and the controller number as an
//! ASCII digit at byte 49. Priority 1 when controller and LDEV are both
//! even or both odd (last LDEV digit, upper-case hex), else 0. Anything
//! else, or no answer, is PRIO_UNDEF.

use std::time::Duration;

use super::{byte_at, effective_timeout, send, unexpected, PrioError};
use crate::scsi::cdb;
use crate::transport::ScsiTransport;

/// Allocation length (and reply buffer size) multipath-tools uses.
const ALLOC_LEN: usize = 255;
/// Timeout when none is configured (hds.c: 2 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Offset of the 4-character LDEV field.
const LDEV: usize = 44;
/// Offset of the controller digit.
const CONTROLLER: usize = 49;

const WHAT: &str = "Hitachi standard INQUIRY data";

/// Sends the INQUIRY and computes the priority.
pub fn query(transport: &dyn ScsiTransport, timeout: Duration) -> Result<u32, PrioError> {
    let mut buf = [0u8; ALLOC_LEN];
    let command = cdb::inquiry(None, ALLOC_LEN as u16);
    let timeout = effective_timeout(timeout, DEFAULT_TIMEOUT);
    let answer = send(transport, "standard INQUIRY", &command, &mut buf, timeout)?;
    priority_from_inquiry(answer)
}

/// The priority from standard INQUIRY data as received; missing bytes read
/// as 0.
pub fn priority_from_inquiry(inquiry: &[u8]) -> Result<u32, PrioError> {
    // hds.c copies the LDEV field as a C string: a NUL before its last
    // character leaves that character undefined, so no value either way.
    let ldev = [0, 1, 2, 3].map(|i| byte_at(inquiry, LDEV + i));
    if ldev[..3].contains(&0) {
        return Err(unexpected(WHAT, inquiry, format!("LDEV field {ldev:02x?} is cut short by a NUL byte")));
    }
    let controller = byte_at(inquiry, CONTROLLER);
    let controller_even = match controller {
        b'0' | b'2' | b'4' | b'6' | b'8' => true,
        b'1' | b'3' | b'5' | b'7' | b'9' => false,
        other => {
            return Err(unexpected(
                WHAT,
                inquiry,
                format!("controller byte {other:#04x} is not a decimal digit"),
            ))
        }
    };
    let ldev_even = match ldev[3] {
        b'0' | b'2' | b'4' | b'6' | b'8' | b'A' | b'C' | b'E' => true,
        b'1' | b'3' | b'5' | b'7' | b'9' | b'B' | b'D' | b'F' => false,
        other => {
            return Err(unexpected(
                WHAT,
                inquiry,
                format!("last LDEV byte {other:#04x} is not an upper-case hex digit"),
            ))
        }
    };
    Ok(u32::from(controller_even == ldev_even))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};

    fn inquiry(ldev: &[u8; 4], controller: u8) -> Vec<u8> {
        let mut data = vec![0u8; 60];
        data[4] = 55;
        data[8..16].copy_from_slice(b"HITACHI ");
        data[16..32].copy_from_slice(b"DF600F-CM       ");
        data[40..44].copy_from_slice(b"0105");
        data[LDEV..LDEV + 4].copy_from_slice(ldev);
        data[CONTROLLER] = controller;
        data[50] = b'B';
        data
    }

    #[test]
    fn parity_pairs() {
        assert_eq!(priority_from_inquiry(&inquiry(b"00C6", b'1')), Ok(0));
        assert_eq!(priority_from_inquiry(&inquiry(b"00C6", b'0')), Ok(1));
        assert_eq!(priority_from_inquiry(&inquiry(b"00CF", b'1')), Ok(1));
        assert_eq!(priority_from_inquiry(&inquiry(b"00CF", b'8')), Ok(0));
    }

    #[test]
    fn garbage_fields_are_undefined() {
        assert!(priority_from_inquiry(&inquiry(b"00cf", b'1')).is_err(), "lower case");
        assert!(priority_from_inquiry(&inquiry(b"00C6", b'A')).is_err());
        assert!(priority_from_inquiry(&inquiry(b"0\x00C6", b'1')).is_err());
        assert!(priority_from_inquiry(&[]).is_err());
        assert!(priority_from_inquiry(&inquiry(b"00C6", b'1')[..49]).is_err());
        assert!(priority_from_inquiry(&inquiry(b"00C6", b'1')[..36]).is_err());
    }

    #[test]
    fn query_asks_standard_inquiry() {
        let fake = FakeTransport::new().answer(0x12, None, Answer::good(&inquiry(b"0001", b'1')));
        assert_eq!(query(&fake, Duration::ZERO), Ok(1));
        assert_eq!(fake.count(0x12), 1);
        let busy = FakeTransport::new().answer(0x12, None, Answer::status(0x08));
        assert!(query(&busy, Duration::ZERO).is_err());
    }
}
