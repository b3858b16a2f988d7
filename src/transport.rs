//! The seam between probing logic and the SCSI pass-through.
//!
//! `sys::sg_io` implements [`ScsiTransport`] with the SG_IO ioctl; tests use
//! [`fake::FakeTransport`] with canned answers, so probing is tested without
//! devices (stratisd's simulator-beside-the-real-engine pattern).

use core::fmt;
use std::io;
use std::time::Duration;

/// How a SCSI command ended, as the pass-through reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// SCSI status byte (GOOD, CHECK CONDITION, ...).
    pub status: u8,
    /// Transport (host adapter) error, 0 when none.
    pub host_status: u16,
    /// Low-level driver error, 0 when none (DRIVER_SENSE alone is not an error).
    pub driver_status: u16,
    /// Sense data, when the device returned any.
    pub sense: heapless::Vec<u8, 64>,
    /// Data bytes actually received.
    pub transferred: usize,
}

/// SCSI status codes (SAM-5).
pub mod status {
    pub const GOOD: u8 = 0x00;
    pub const CHECK_CONDITION: u8 = 0x02;
    pub const BUSY: u8 = 0x08;
    pub const RESERVATION_CONFLICT: u8 = 0x18;
    pub const TASK_SET_FULL: u8 = 0x28;
}

/// The command never reached a verdict from the device.
#[derive(Debug)]
pub enum TransportError {
    /// The device node could not be opened.
    Open(io::Error),
    /// The pass-through ioctl itself failed.
    Ioctl(io::Error),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Open(e) => write!(f, "cannot open the device node: {e}"),
            TransportError::Ioctl(e) => write!(f, "SG_IO failed: {e}"),
        }
    }
}

impl std::error::Error for TransportError {}

/// Sends read-only SCSI commands to one device.
pub trait ScsiTransport {
    /// Sends `cdb`, reading at most `data.len()` bytes into `data`.
    /// Commands without data pass an empty slice. Every command carries
    /// `timeout`: a dead device must not stall boot.
    fn execute(
        &self,
        cdb: &[u8],
        data: &mut [u8],
        timeout: Duration,
    ) -> Result<Completion, TransportError>;
}

/// A canned transport for tests: answers by CDB opcode (and page).
pub mod fake {
    use super::*;
    use std::cell::RefCell;

    /// One canned answer: status, sense, and data returned.
    #[derive(Clone, Debug, Default)]
    pub struct Answer {
        pub completion: Completion,
        pub data: Vec<u8>,
    }

    impl Answer {
        /// GOOD status with `data`.
        pub fn good(data: &[u8]) -> Answer {
            Answer {
                completion: Completion::default(),
                data: data.to_vec(),
            }
        }

        /// CHECK CONDITION with fixed-format sense key/ASC/ASCQ.
        pub fn check_condition(key: u8, asc: u8, ascq: u8) -> Answer {
            let mut sense = heapless::Vec::new();
            let mut fixed = [0u8; 18];
            fixed[0] = 0x70;
            fixed[2] = key;
            fixed[7] = 10;
            fixed[12] = asc;
            fixed[13] = ascq;
            let _ = sense.extend_from_slice(&fixed);
            Answer {
                completion: Completion {
                    status: status::CHECK_CONDITION,
                    driver_status: 0x08,
                    sense,
                    ..Completion::default()
                },
                data: Vec::new(),
            }
        }

        /// A given SCSI status without data.
        pub fn status(code: u8) -> Answer {
            Answer {
                completion: Completion {
                    status: code,
                    ..Completion::default()
                },
                data: Vec::new(),
            }
        }

        /// A transport failure (host status), as for an unplugged path.
        pub fn host_error(host_status: u16) -> Answer {
            Answer {
                completion: Completion {
                    host_status,
                    ..Completion::default()
                },
                data: Vec::new(),
            }
        }
    }

    /// Key for canned answers: opcode, and VPD page for INQUIRY EVPD.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Key {
        pub opcode: u8,
        pub page: Option<u8>,
    }

    fn key_of(cdb: &[u8]) -> Key {
        let opcode = cdb.first().copied().unwrap_or(0xff);
        let evpd = opcode == 0x12 && cdb.get(1).is_some_and(|b| b & 1 == 1);
        Key {
            opcode,
            page: evpd.then(|| cdb.get(2).copied().unwrap_or(0)),
        }
    }

    /// Answers from a list; a command with no answer fails like a dead path.
    /// Several answers for one key are given out in turn, the last repeating.
    #[derive(Default)]
    pub struct FakeTransport {
        answers: Vec<(Key, Answer)>,
        pub sent: RefCell<Vec<Key>>,
    }

    impl FakeTransport {
        pub fn new() -> FakeTransport {
            FakeTransport::default()
        }

        /// Adds an answer for opcode (and VPD page for INQUIRY EVPD).
        pub fn answer(mut self, opcode: u8, page: Option<u8>, answer: Answer) -> FakeTransport {
            self.answers.push((Key { opcode, page }, answer));
            self
        }

        /// Number of commands sent with this opcode.
        pub fn count(&self, opcode: u8) -> usize {
            self.sent.borrow().iter().filter(|k| k.opcode == opcode).count()
        }
    }

    impl ScsiTransport for FakeTransport {
        fn execute(
            &self,
            cdb: &[u8],
            data: &mut [u8],
            _timeout: Duration,
        ) -> Result<Completion, TransportError> {
            let key = key_of(cdb);
            let nth = self.sent.borrow().iter().filter(|k| **k == key).count();
            self.sent.borrow_mut().push(key);
            let matching: Vec<&Answer> = self
                .answers
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, a)| a)
                .collect();
            let Some(answer) = matching.get(nth).or(matching.last()) else {
                return Err(TransportError::Ioctl(io::Error::from_raw_os_error(
                    libc::EIO,
                )));
            };
            let n = answer.data.len().min(data.len());
            data[..n].copy_from_slice(&answer.data[..n]);
            let mut completion = answer.completion.clone();
            completion.transferred = n;
            Ok(completion)
        }
    }
}
