//! Deterministic fuzzing of the path checkers: random completions, sense
//! data and vendor pages fed to every classifier, and random answers fed
//! to every checker through a fuzzing transport. Nothing may panic, and
//! each checker keeps its promises (bounded commands, reads only, a dead
//! transport never makes a path up, `none` always up).

mod fuzzing;

use std::cell::RefCell;
use std::io;
use std::time::Duration;

use fuzzing::Rng;
use mpath_boot::checker::{self, cciss, emc, hp_sw, rdac, read, sg, tur, Checker, Verdict};
use mpath_boot::path::PathState;
use mpath_boot::transport::{Completion, ScsiTransport, TransportError};

const ROUNDS: usize = 20_000;
const TIMEOUT: Duration = Duration::from_secs(1);

/// Opcodes a checker may send: TEST UNIT READY, INQUIRY, READ(10), READ(16).
const READ_ONLY_OPCODES: [u8; 4] = [0x00, 0x12, 0x28, 0x88];

/// Sense data: fixed or descriptor with interesting codes, cut anywhere,
/// or plain random bytes.
fn random_sense(rng: &mut Rng) -> Vec<u8> {
    let (any_key, any_asc, any_ascq) = (rng.byte(), rng.byte(), rng.byte());
    let key = *rng.pick(&[0x00, 0x01, 0x02, 0x05, 0x06, 0x0b, any_key]);
    let (asc, ascq) = *rng.pick(&[
        (0x04, 0x0b),
        (0x04, 0x0a),
        (0x04, 0x02),
        (0x04, 0x01),
        (0x29, 0x00),
        (0x25, 0x01),
        (any_asc, any_ascq),
    ]);
    let mut sense = match rng.index(4) {
        0 => {
            let mut s = vec![0u8; 18];
            s[0] = *rng.pick(&[0x70, 0x71, 0xf0, 0xf1]);
            s[2] = key;
            let any = rng.byte();
            s[7] = *rng.pick(&[10, 0, 4, any]);
            s[12] = asc;
            s[13] = ascq;
            s
        }
        1 => vec![*rng.pick(&[0x72, 0x73, 0xf2]), key, asc, ascq, 0, 0, 0, 0],
        2 => Vec::new(),
        _ => rng.bytes(64),
    };
    if rng.chance(3) {
        let keep = rng.index(sense.len() + 1);
        sense.truncate(keep);
    }
    sense.truncate(64);
    sense
}

fn random_completion(rng: &mut Rng, data_len: usize) -> Completion {
    let (any_status, any_host, any_driver) = (rng.byte(), rng.next() as u16, rng.next() as u16);
    let status = *rng.pick(&[
        0x00, 0x00, 0x02, 0x02, 0x08, 0x18, 0x19, 0x22, 0x28, 0x01, any_status,
    ]);
    let host_status = *rng.pick(&[
        0, 0, 0, 0x01, 0x02, 0x03, 0x05, 0x07, 0x0b, 0x0e, 0x0f, any_host,
    ]);
    let driver_status = *rng.pick(&[0, 0, 0x08, 0x06, any_driver]);
    let sense = heapless::Vec::from_slice(&random_sense(rng)).unwrap_or_default();
    let transferred = match rng.index(3) {
        0 => data_len,
        1 => rng.index(data_len + 1),
        _ => rng.next() as usize,
    };
    Completion {
        status,
        host_status,
        driver_status,
        sense,
        transferred,
    }
}

fn random_error(rng: &mut Rng) -> TransportError {
    if rng.chance(6) {
        return TransportError::Open(io::Error::from_raw_os_error(libc::ENOENT));
    }
    let errno = *rng.pick(&[
        libc::ENOTTY,
        libc::EIO,
        libc::ENOMEM,
        libc::EINTR,
        libc::ENODEV,
        libc::EINVAL,
    ]);
    TransportError::Ioctl(io::Error::from_raw_os_error(errno))
}

/// A vendor page that is often nearly valid: the right page code, some of
/// the fields the checkers read set to meaningful values.
fn random_page(rng: &mut Rng, code: u8, len: usize) -> Vec<u8> {
    let mut page = rng.bytes(len);
    if rng.chance(2) {
        page = vec![0u8; len.max(49)];
        page[1] = code;
        if rng.chance(2) {
            // A healthy CLARiiON answer (harmless to rdac, which reads bytes 0 and 8-12).
            page[4] = *rng.pick(&[1, 2]);
            page[27] = 0x03;
            page[28] = *rng.pick(&[0x04, 0x06]);
            page[30] = 0x04;
        }
        for _ in 0..rng.index(4) {
            let at = *rng.pick(&[0, 4, 8, 9, 10, 11, 12, 27, 28, 30, 48]);
            let any = rng.byte();
            let value = *rng.pick(&[0, 1, 2, 3, 4, 6, 0x0f, 0x10, 0x11, 0x21, 0x20, 0x80, any]);
            if let Some(byte) = page.get_mut(at) {
                *byte = value;
            }
        }
        let keep = if rng.chance(3) {
            rng.index(len + 1)
        } else {
            len
        };
        page.truncate(len);
        page.truncate(keep);
    }
    page
}

/// Answers every command at random and records what was sent.
struct FuzzTransport {
    rng: RefCell<Rng>,
    /// One in `error_one_in` commands fails outright (1: all of them).
    error_one_in: u64,
    errno: Option<i32>,
    sent: RefCell<Vec<Vec<u8>>>,
}

impl FuzzTransport {
    fn new(seed: u64, error_one_in: u64) -> FuzzTransport {
        FuzzTransport {
            rng: RefCell::new(Rng(seed)),
            error_one_in,
            errno: None,
            sent: RefCell::new(Vec::new()),
        }
    }

    fn count(&self, opcode: u8) -> usize {
        self.sent
            .borrow()
            .iter()
            .filter(|cdb| cdb.first() == Some(&opcode))
            .count()
    }
}

impl ScsiTransport for FuzzTransport {
    fn execute(
        &self,
        cdb: &[u8],
        data: &mut [u8],
        _timeout: Duration,
    ) -> Result<Completion, TransportError> {
        self.sent.borrow_mut().push(cdb.to_vec());
        let mut rng = self.rng.borrow_mut();
        if rng.chance(self.error_one_in) {
            return Err(match self.errno {
                Some(errno) => TransportError::Ioctl(io::Error::from_raw_os_error(errno)),
                None => random_error(&mut rng),
            });
        }
        let bytes = match (cdb.first(), cdb.get(2)) {
            (Some(0x12), Some(&page)) => random_page(&mut rng, page, data.len()),
            _ => rng.bytes(data.len()),
        };
        let n = bytes.len().min(data.len());
        data[..n].copy_from_slice(&bytes[..n]);
        Ok(random_completion(&mut rng, data.len()))
    }
}

/// Upper bound of commands one check may send.
fn command_budget(c: Checker) -> usize {
    match c {
        Checker::EmcClariion => usize::from(emc::ATTEMPTS + read::SG_READ_ATTEMPTS),
        Checker::HpSw => 2,
        other => usize::from(other.attempts()),
    }
}

#[test]
fn completion_classifiers_never_panic_and_keep_their_rules() {
    let mut rng = Rng(0x5eed_c0de_0001);
    for _ in 0..ROUNDS {
        let c = random_completion(&mut rng, 512);
        let may_retry = rng.chance(2);
        let clean = c.status == 0 && c.host_status == 0 && c.driver_status == 0;

        let v = tur::verdict(&c, may_retry);
        assert!(
            may_retry || v != Verdict::Retry,
            "tur retried on the last attempt: {c:?}"
        );
        if c.status & 0x7e == 0x18 || !sg::info_check(&c) {
            assert_eq!(v, Verdict::Up, "{c:?}");
        }
        if v == Verdict::Ghost {
            let s = sg::strict_sense(&c.sense);
            assert_eq!((s.key, s.asc, s.ascq), (0x02, 0x04, 0x0b), "{c:?}");
        }

        let v = read::sg_read_verdict(&c, may_retry);
        assert_eq!(v == Verdict::Up, clean, "{c:?}");
        assert!(may_retry || v != Verdict::Retry);

        let v = read::directio_verdict(&c, 512, may_retry);
        assert_eq!(v == Verdict::Up, clean && c.transferred == 512, "{c:?}");
        assert!(v != Verdict::Ghost && (may_retry || v != Verdict::Retry));

        let v = cciss::verdict(&c);
        assert_eq!(v == Verdict::Up, clean, "{c:?}");

        let r = rdac::inquiry_answer(&c, may_retry);
        assert!(may_retry || r != Err(Verdict::Retry));
        assert!(!matches!(r, Err(Verdict::Up | Verdict::Ghost)));
        let r = emc::inquiry_answer(&c, may_retry);
        assert!(may_retry || r != Err(Verdict::Retry));
        if r.is_ok() {
            assert!(
                !sg::info_check(&c),
                "emc read a page from a flagged answer: {c:?}"
            );
        }
        let r = hp_sw::inquiry_answer(&c);
        assert!(!matches!(
            r,
            Err(Verdict::Up | Verdict::Ghost | Verdict::Retry)
        ));
        let v = hp_sw::tur_verdict(Ok(&c));
        assert_eq!(v == Verdict::Up, !sg::info_check(&c));
    }
}

#[test]
fn sense_extractors_never_panic() {
    let mut rng = Rng(0x5eed_c0de_0002);
    for _ in 0..ROUNDS {
        let sense = random_sense(&mut rng);
        let s = sg::strict_sense(&sense);
        assert!(s.key <= 0x0f);
        if sense.len() <= 3 {
            assert_eq!(s, sg::StrictSense::default());
        }
        if let Some(k) = sg::loose_sense_key(&sense) {
            assert!(k <= 0x0f && sense.len() > 2);
        }
    }
}

#[test]
fn page_classifiers_never_panic_and_read_the_right_bits() {
    let mut rng = Rng(0x5eed_c0de_0003);
    // Every outcome must be reached, or the generator is not covering them.
    let mut seen = [false; 6];
    for _ in 0..ROUNDS {
        let len = rdac::PAGE_LEN + rng.index(16);
        let page = random_page(&mut rng, 0xc9, len);
        let at = |i: usize| page.get(i).copied().unwrap_or(0);
        match rdac::verdict_from_page_c9(&page) {
            Verdict::Up => {
                seen[0] = true;
                assert!(at(0) & 0x7f == 0 && at(8) & 0x21 != 0, "{page:02x?}")
            }
            Verdict::Ghost => {
                seen[1] = true;
                assert!(at(0) & 0x7f == 0 && at(8) & 0x21 == 0, "{page:02x?}")
            }
            Verdict::Down(why) => {
                seen[2] = true;
                assert!(!why.is_empty())
            }
            Verdict::Retry => panic!("a page never asks to retry"),
        }

        let len = emc::PAGE_LEN + rng.index(16);
        let page = random_page(&mut rng, 0xc0, len);
        let at = |i: usize| page.get(i).copied().unwrap_or(0);
        match emc::verdict_from_page_c0(&page) {
            emc::PageC0::Owner => {
                seen[3] = true;
                assert!(at(1) == 0xc0 && at(4) == 2 && at(48) == 0)
            }
            emc::PageC0::Peer => {
                seen[4] = true;
                assert!(at(1) == 0xc0 && !matches!(at(4), 0 | 2) && at(27) == 3)
            }
            emc::PageC0::Down(why) => {
                seen[5] = true;
                assert!(!why.is_empty())
            }
        }
    }
    assert_eq!(seen, [true; 6], "rdac up/ghost/down, emc owner/peer/down");
}

#[test]
fn every_checker_through_a_fuzzing_transport() {
    let mut rng = Rng(0x5eed_c0de_0004);
    let mut outcomes: Vec<(Checker, Option<PathState>)> = Vec::new();
    for round in 0..ROUNDS {
        let c = *rng.pick(&Checker::ALL);
        let any = rng.next() as u32;
        let block_size = *rng.pick(&[512, 4096, 520, 0, 1 << 16, any]);
        let t = FuzzTransport::new(rng.next() | 1, 1 + rng.below(6));
        let result = checker::check(c, &t, TIMEOUT, block_size);
        assert_ne!(result, Ok(PathState::Down), "check gave Ok(Down) for {c:?}");
        let outcome = (c, result.as_ref().ok().copied());
        if !outcomes.contains(&outcome) {
            outcomes.push(outcome);
        }
        if let Err(why) = &result {
            assert!(why.starts_with(c.name()), "{why}");
        }
        let sent = t.sent.borrow();
        assert!(
            sent.len() <= command_budget(c),
            "{c:?} sent {} commands (round {round})",
            sent.len()
        );
        for cdb in sent.iter() {
            assert!(
                READ_ONLY_OPCODES.contains(&cdb[0]),
                "{c:?} sent opcode {:#04x}",
                cdb[0]
            );
        }
        if c == Checker::None {
            assert_eq!(result, Ok(PathState::Up));
            assert!(sent.is_empty());
        }
    }
    // Each checker reached each state it can give (none is only ever up).
    for c in Checker::ALL {
        let ghost_possible = matches!(c, Checker::Tur | Checker::Rdac | Checker::HpSw);
        assert!(
            outcomes.contains(&(c, Some(PathState::Up))),
            "{c:?} never up"
        );
        assert_eq!(
            outcomes.contains(&(c, Some(PathState::Ghost))),
            ghost_possible,
            "{c:?} ghost"
        );
        assert_eq!(
            outcomes.contains(&(c, None)),
            c != Checker::None,
            "{c:?} down"
        );
    }
}

#[test]
fn bounded_checks_respect_the_cap() {
    let mut rng = Rng(0x5eed_c0de_0005);
    for _ in 0..ROUNDS / 4 {
        let c = *rng.pick(&Checker::ALL);
        let cap = 1 + rng.below(3) as u8;
        let t = FuzzTransport::new(rng.next() | 1, 4);
        let _ = checker::check_bounded(c, &t, TIMEOUT, 512, cap);
        for opcode in READ_ONLY_OPCODES {
            assert!(
                t.count(opcode) <= usize::from(cap),
                "{c:?} sent {opcode:#04x} more than {cap} times"
            );
        }
    }
}

#[test]
fn a_dead_transport_never_makes_a_path_up() {
    let mut rng = Rng(0x5eed_c0de_0006);
    for _ in 0..ROUNDS / 4 {
        let c = *rng.pick(&Checker::ALL);
        let mut t = FuzzTransport::new(rng.next() | 1, 1);
        // ENOMEM is libsg's one "up" errno; every other failure is tried.
        t.errno = Some(*rng.pick(&[
            libc::ENOTTY,
            libc::EIO,
            libc::EINTR,
            libc::ENODEV,
            libc::ENXIO,
        ]));
        let result = checker::check(c, &t, TIMEOUT, 512);
        if c == Checker::None {
            assert_eq!(result, Ok(PathState::Up));
        } else {
            assert_ne!(
                result,
                Ok(PathState::Up),
                "{c:?} up with every command failing ({:?})",
                t.errno
            );
        }
    }
}

#[test]
fn checker_names_never_panic() {
    let mut rng = Rng(0x5eed_c0de_0007);
    for _ in 0..ROUNDS {
        let bytes = rng.bytes(20);
        let name = String::from_utf8_lossy(&bytes);
        if let Some(c) = Checker::from_name(&name) {
            assert!(name == c.name() || (c == Checker::None && name.starts_with("none")));
        }
    }
    for c in Checker::ALL {
        assert_eq!(Checker::from_name(c.name()), Some(c));
    }
}
