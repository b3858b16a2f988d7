//! How multipath-tools' checkers read an SG_IO completion: the `info`
//! check flag, the two ways they pull a sense key out of sense data, and
//! the Linux host byte values they single out.
//!
//! The kernel fills `sg_io_hdr` fields that [`Completion`] does not carry
//! (`info`, `masked_status`, `sb_len_wr`); they are derived here from the
//! fields it does carry, the same way the kernel derives them.

use std::io;

use crate::transport::{Completion, TransportError};

/// Linux SCSI host byte values (`DID_*`) the checkers treat specially.
pub mod host {
    pub const OK: u16 = 0x00;
    pub const NO_CONNECT: u16 = 0x01;
    pub const BUS_BUSY: u16 = 0x02;
    pub const TIME_OUT: u16 = 0x03;
    pub const BAD_TARGET: u16 = 0x04;
    pub const ABORT: u16 = 0x05;
    pub const ERROR: u16 = 0x07;
    pub const RESET: u16 = 0x08;
    pub const SOFT_ERROR: u16 = 0x0b;
    pub const IMM_RETRY: u16 = 0x0c;
    pub const REQUEUE: u16 = 0x0d;
    pub const TRANSPORT_DISRUPTED: u16 = 0x0e;
    pub const TRANSPORT_FAILFAST: u16 = 0x0f;
}

/// SCSI status COMMAND TERMINATED (obsolete, still tested by the checkers).
pub const COMMAND_TERMINATED: u8 = 0x22;
/// Driver byte DRIVER_SENSE: sense data is present.
pub const DRIVER_SENSE: u16 = 0x08;

/// Sense keys the checkers look at.
pub mod key {
    pub const RECOVERED_ERROR: u8 = 0x01;
    pub const NOT_READY: u8 = 0x02;
    pub const ILLEGAL_REQUEST: u8 = 0x05;
    pub const UNIT_ATTENTION: u8 = 0x06;
}

/// The kernel's SG_INFO_CHECK flag: set when the masked status, the host
/// byte or the driver byte is non-zero.
pub fn info_check(c: &Completion) -> bool {
    masked_status(c.status) != 0 || c.host_status != 0 || c.driver_status != 0
}

/// `sg_io_hdr.masked_status`: the status byte shifted right by one.
fn masked_status(status: u8) -> u8 {
    (status >> 1) & 0x7f
}

/// Sense key, ASC and ASCQ as `tur` and `sg_read` extract them: descriptor
/// format (exactly 0x72/0x73) needs more than 3 bytes, fixed format
/// (0x70/0x71, bit 7 ignored) more than 13. Anything else yields key 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StrictSense {
    pub key: u8,
    pub asc: u8,
    pub ascq: u8,
}

pub fn strict_sense(sense: &[u8]) -> StrictSense {
    let at = |i: usize| sense.get(i).copied().unwrap_or(0);
    if sense.len() <= 3 {
        return StrictSense::default();
    }
    match at(0) {
        0x72 | 0x73 => StrictSense {
            key: at(1) & 0x0f,
            asc: at(2),
            ascq: at(3),
        },
        first if sense.len() > 13 && matches!(first & 0x7f, 0x70 | 0x71) => StrictSense {
            key: at(2) & 0x0f,
            asc: at(12),
            ascq: at(13),
        },
        _ => StrictSense::default(),
    }
}

/// Sense key as the INQUIRY-based checkers (`rdac`, `hp_sw`,
/// `emc_clariion`) extract it: more than 2 bytes written, bit 1 of the
/// response code selects descriptor (key in byte 1) or fixed (byte 2).
pub fn loose_sense_key(sense: &[u8]) -> Option<u8> {
    if sense.len() <= 2 {
        return None;
    }
    let first = sense.first().copied().unwrap_or(0);
    let at = if first & 0x02 != 0 { 1 } else { 2 };
    sense.get(at).map(|k| k & 0x0f)
}

/// Whether the INQUIRY-based checkers look at the sense data at all:
/// CHECK CONDITION or COMMAND TERMINATED (`status` as they compare it), or
/// DRIVER_SENSE in the driver byte.
pub fn sense_is_relevant(status: u8, driver_status: u16) -> bool {
    status == crate::transport::status::CHECK_CONDITION
        || status == COMMAND_TERMINATED
        || driver_status & 0x0f == DRIVER_SENSE
}

/// The errno of a failed SG_IO ioctl, when there is one.
pub fn ioctl_errno(e: &TransportError) -> Option<i32> {
    match e {
        TransportError::Ioctl(err) => err.raw_os_error(),
        TransportError::Open(_) => None,
    }
}

/// ENOTTY from SG_IO: the node does not speak SCSI (multipath-tools'
/// PATH_WILD, "unsupported").
pub fn is_unsupported(e: &TransportError) -> bool {
    ioctl_errno(e) == Some(libc::ENOTTY)
}

/// A one-line account of a completion for a "down" message.
pub fn describe(c: &Completion) -> String {
    let s = strict_sense(&c.sense);
    let mut text = format!("status {:#04x}", c.status);
    if c.host_status != 0 {
        text.push_str(&format!(
            ", host status {:#06x}{}",
            c.host_status,
            host_name(c.host_status)
        ));
    }
    if c.driver_status != 0 {
        text.push_str(&format!(", driver status {:#06x}", c.driver_status));
    }
    if s.key != 0 || s.asc != 0 || s.ascq != 0 {
        text.push_str(&format!(
            ", sense key {:#x}, ASC/ASCQ {:02x}/{:02x}",
            s.key, s.asc, s.ascq
        ));
    }
    text
}

/// Names of the host byte values an administrator meets.
fn host_name(code: u16) -> &'static str {
    match code {
        host::NO_CONNECT => " (no connect)",
        host::BUS_BUSY => " (bus busy)",
        host::TIME_OUT => " (timed out)",
        host::BAD_TARGET => " (bad target)",
        host::ABORT => " (aborted)",
        host::ERROR => " (internal error)",
        host::RESET => " (reset)",
        host::TRANSPORT_DISRUPTED => " (transport disrupted)",
        host::TRANSPORT_FAILFAST => " (transport failfast)",
        _ => "",
    }
}

/// An ioctl failure with a given errno (tests and fuzzing).
pub fn ioctl_error(errno: i32) -> TransportError {
    TransportError::Ioctl(io::Error::from_raw_os_error(errno))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_check_ignores_status_bit_zero_only() {
        let mut c = Completion {
            status: 0x01,
            ..Completion::default()
        };
        assert!(!info_check(&c));
        c.status = 0x02;
        assert!(info_check(&c));
        c.status = 0;
        c.driver_status = DRIVER_SENSE;
        assert!(info_check(&c));
    }

    #[test]
    fn strict_sense_needs_fourteen_fixed_bytes() {
        let mut fixed = [0u8; 14];
        fixed[0] = 0xf0;
        fixed[2] = 0x06;
        fixed[12] = 0x29;
        assert_eq!(strict_sense(&fixed).key, 6);
        assert_eq!(strict_sense(&fixed).asc, 0x29);
        assert_eq!(strict_sense(&fixed[..13]), StrictSense::default());
    }

    #[test]
    fn strict_sense_descriptor_is_exact_code() {
        assert_eq!(strict_sense(&[0x72, 0x02, 0x04, 0x0b]).ascq, 0x0b);
        assert_eq!(
            strict_sense(&[0xf2, 0x02, 0x04, 0x0b]),
            StrictSense::default()
        );
        assert_eq!(strict_sense(&[0x72, 0x02, 0x04]), StrictSense::default());
    }

    #[test]
    fn loose_sense_key_picks_byte_by_bit_one() {
        assert_eq!(loose_sense_key(&[0x72, 0x05, 0x24]), Some(5));
        assert_eq!(loose_sense_key(&[0x70, 0x00, 0x01]), Some(1));
        assert_eq!(loose_sense_key(&[0x70, 0x00]), None);
    }
}
