//! Pure parsers and builders for the SCSI data mpath-boot exchanges with a
//! device: CDBs, sense data, standard INQUIRY, VPD pages 0x80/0x83 and
//! REPORT TARGET PORT GROUPS.
//!
//! Everything here takes `&[u8]` straight from a device and must never panic:
//! malformed data becomes a [`ScsiDataError`] an administrator can act on.

use core::fmt;

pub mod cdb;
pub mod inquiry;
pub mod rtpg;
pub mod sense;
pub mod vpd;

/// Why a device response could not be parsed.
///
/// Copyable and allocation-free so the heapless scan core can carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScsiDataError {
    /// The response is shorter than its fixed-size part.
    TooShort {
        /// What was being parsed, e.g. "standard INQUIRY data".
        what: &'static str,
        /// Bytes received.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// A VPD page answered with a different page code than requested.
    WrongPageCode { expected: u8, found: u8 },
    /// An element (designator, port group descriptor, ...) claims more bytes
    /// than the page holds.
    Overrun {
        /// What overran, e.g. "VPD page 0x83 designator".
        what: &'static str,
        /// Offset of the element from the start of the buffer.
        offset: usize,
        /// Offset one past the element's last byte, as its length claims.
        claimed_end: usize,
        /// Offset one past the last byte actually available.
        end: usize,
    },
}

impl fmt::Display for ScsiDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ScsiDataError::TooShort { what, len, need } => write!(
                f,
                "{what} is {len} bytes, need at least {need}: the device sent a \
                 short response (check the allocation length, or the device \
                 does not implement this command properly)"
            ),
            ScsiDataError::WrongPageCode { expected, found } => write!(
                f,
                "VPD page code is 0x{found:02x}, expected 0x{expected:02x}: the \
                 device answered with a different page (it probably does not \
                 support VPD page 0x{expected:02x})"
            ),
            ScsiDataError::Overrun {
                what,
                offset,
                claimed_end,
                end,
            } => write!(
                f,
                "{what} at offset {offset} runs past the page end (it ends at \
                 {claimed_end}, the page has {end} bytes): the page is truncated \
                 or malformed; re-read it with a larger allocation length or \
                 check the device firmware"
            ),
        }
    }
}

impl std::error::Error for ScsiDataError {}

/// Big-endian u16 at `at`, if the buffer holds it.
pub(crate) fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes: [u8; 2] = buf.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(bytes))
}

/// Big-endian u32 at `at`, if the buffer holds it.
pub(crate) fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}
