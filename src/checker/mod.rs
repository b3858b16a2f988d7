//! Path checkers: the verdicts of multipath-tools 0.9.4's `path_checker`
//! choices, for deciding at boot whether a path is up, a standby (ghost)
//! path, or down.
//!
//! Every checker speaks through [`ScsiTransport`] with read-only commands
//! (TEST UNIT READY, INQUIRY, READ). Each module holds the pure classifier
//! of one checker (completion or page bytes in, [`Verdict`] out) and a
//! `run` that sends its commands with that checker's own retry budget.
//!
//! multipath-tools runs these checkers synchronously in the `multipath`
//! command (`force_sync`), so the asynchronous machinery of multipathd
//! (PATH_PENDING, PATH_TIMEOUT) has no counterpart here.

pub mod cciss;
pub mod cdb;
pub mod emc;
pub mod hp_sw;
pub mod rdac;
pub mod read;
pub mod sg;
pub mod tur;

use std::time::Duration;

use crate::path::PathState;
use crate::transport::ScsiTransport;

/// The checkers multipath-tools 0.9.4 ships.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Checker {
    Tur,
    Directio,
    Readsector0,
    Rdac,
    EmcClariion,
    HpSw,
    CcissTur,
    None,
}

impl Checker {
    /// Every checker, for tests and listings.
    pub const ALL: [Checker; 8] = [
        Checker::Tur,
        Checker::Directio,
        Checker::Readsector0,
        Checker::Rdac,
        Checker::EmcClariion,
        Checker::HpSw,
        Checker::CcissTur,
        Checker::None,
    ];

    /// The checker a `path_checker` value names. multipath-tools compares
    /// names exactly, except that any name beginning with "none" means the
    /// `none` checker. An unknown name gives `None`: multipath-tools then
    /// has no checker for the path and leaves it unchecked (not usable).
    pub fn from_name(name: &str) -> Option<Checker> {
        if name.starts_with("none") {
            return Some(Checker::None);
        }
        Checker::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Checker::Tur => "tur",
            Checker::Directio => "directio",
            Checker::Readsector0 => "readsector0",
            Checker::Rdac => "rdac",
            Checker::EmcClariion => "emc_clariion",
            Checker::HpSw => "hp_sw",
            Checker::CcissTur => "cciss_tur",
            Checker::None => "none",
        }
    }

    /// How many times multipath-tools sends this checker's main command
    /// when the answer asks for another try.
    pub fn attempts(self) -> u8 {
        match self {
            Checker::Tur => tur::ATTEMPTS,
            Checker::Directio => read::DIRECTIO_ATTEMPTS,
            Checker::Readsector0 => read::SG_READ_ATTEMPTS,
            Checker::Rdac => rdac::ATTEMPTS,
            Checker::EmcClariion => emc::ATTEMPTS,
            Checker::HpSw | Checker::CcissTur => 1,
            Checker::None => 0,
        }
    }
}

/// What one answer (or a whole check) says about the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Up,
    /// A standby/passive path: usable for failover only.
    Ghost,
    /// Failed, with the reason. Also multipath-tools' PATH_WILD
    /// ("unsupported") and PATH_SHAKY: neither counts as an active path.
    Down(String),
    /// Ask again (the caller bounds the attempts).
    Retry,
}

/// How one check runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Timeout of every command.
    pub timeout: Duration,
    /// Logical block size of the device, for the read checkers.
    pub block_size: u32,
    /// Cap on the attempts of one command, below the checker's own count
    /// (multipath-tools' counts can cost 5 timeouts on a dead path).
    pub max_attempts: u8,
}

/// The settings the checkers' unit tests share: a 1 s timeout, 512-byte
/// blocks, the checker's own attempt counts.
#[cfg(test)]
pub(crate) fn test_settings() -> Settings {
    Settings {
        timeout: Duration::from_secs(1),
        block_size: 512,
        max_attempts: u8::MAX,
    }
}

impl Settings {
    /// The attempts for a command whose multipath-tools budget is `own`.
    pub fn attempts(&self, own: u8) -> u8 {
        own.min(self.max_attempts).max(1)
    }
}

/// Runs one check with multipath-tools' retry counts, every command with
/// `timeout`. `Ok` is up or ghost, never down; `Err` says why the path is
/// down.
pub fn check(
    c: Checker,
    transport: &dyn ScsiTransport,
    timeout: Duration,
    block_size: u32,
) -> Result<PathState, String> {
    check_bounded(c, transport, timeout, block_size, u8::MAX)
}

/// [`check`] with at most `max_attempts` sends of each command.
pub fn check_bounded(
    c: Checker,
    transport: &dyn ScsiTransport,
    timeout: Duration,
    block_size: u32,
    max_attempts: u8,
) -> Result<PathState, String> {
    let settings = Settings {
        timeout,
        block_size,
        max_attempts,
    };
    match run(c, transport, &settings) {
        Verdict::Up => Ok(PathState::Up),
        Verdict::Ghost => Ok(PathState::Ghost),
        Verdict::Down(why) => Err(format!("{} checker: {why}", c.name())),
        Verdict::Retry => Err(format!("{} checker: no final answer", c.name())),
    }
}

/// The final verdict of one check (never [`Verdict::Retry`]).
pub fn run(c: Checker, transport: &dyn ScsiTransport, settings: &Settings) -> Verdict {
    match c {
        Checker::Tur => tur::run(transport, settings),
        Checker::Directio => read::run_directio(transport, settings),
        Checker::Readsector0 => read::run_readsector0(transport, settings),
        Checker::Rdac => rdac::run(transport, settings),
        Checker::EmcClariion => emc::run(transport, settings),
        Checker::HpSw => hp_sw::run(transport, settings),
        Checker::CcissTur => cciss::run(transport, settings),
        // multipath-tools returns the state sysfs gave the path, and only
        // runs a checker on a path sysfs reports running: up.
        Checker::None => Verdict::Up,
    }
}

/// Calls `attempt` until it gives a final verdict, at most `attempts`
/// times; the argument says whether another attempt may follow, so the
/// last answer is classified without the option to retry (as the C loops
/// fall through once their counter runs out).
pub(crate) fn with_attempts(attempts: u8, mut attempt: impl FnMut(bool) -> Verdict) -> Verdict {
    let attempts = attempts.max(1);
    for n in 1..=attempts {
        match attempt(n < attempts) {
            Verdict::Retry => continue,
            final_verdict => return final_verdict,
        }
    }
    Verdict::Down(format!("still asked to retry after {attempts} attempts"))
}

/// Like [`with_attempts`] for a command whose success carries a value (a
/// page to read on): `Err(Verdict::Retry)` asks again, any other `Err` is
/// final.
pub(crate) fn until_answered<T>(
    attempts: u8,
    mut attempt: impl FnMut(bool) -> Result<T, Verdict>,
) -> Result<T, Verdict> {
    let attempts = attempts.max(1);
    for n in 1..=attempts {
        match attempt(n < attempts) {
            Err(Verdict::Retry) => continue,
            answered => return answered,
        }
    }
    Err(Verdict::Down(format!(
        "still asked to retry after {attempts} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};
    use crate::transport::status;

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn names_round_trip() {
        for c in Checker::ALL {
            assert_eq!(Checker::from_name(c.name()), Some(c));
        }
    }

    #[test]
    fn unknown_names_and_none_prefix() {
        assert_eq!(Checker::from_name("TUR"), None);
        assert_eq!(Checker::from_name("tur "), None);
        assert_eq!(Checker::from_name(""), None);
        assert_eq!(Checker::from_name("nonesuch"), Some(Checker::None));
    }

    #[test]
    fn none_sends_nothing_and_is_up() {
        let t = FakeTransport::new();
        assert_eq!(check(Checker::None, &t, T, 512), Ok(PathState::Up));
        assert!(t.sent.borrow().is_empty());
    }

    #[test]
    fn down_message_names_the_checker() {
        let t = FakeTransport::new();
        let why = check(Checker::Tur, &t, T, 512).unwrap_err();
        assert!(why.starts_with("tur checker: "), "{why}");
    }

    #[test]
    fn bounded_check_caps_attempts() {
        let t = FakeTransport::new().answer(0x00, None, Answer::check_condition(0x06, 0x29, 0));
        assert!(check_bounded(Checker::Tur, &t, T, 512, 2).is_err());
        assert_eq!(t.count(0x00), 2);
        let t = FakeTransport::new().answer(0x00, None, Answer::check_condition(0x06, 0x29, 0));
        assert!(check(Checker::Tur, &t, T, 512).is_err());
        assert_eq!(t.count(0x00), usize::from(tur::ATTEMPTS));
    }

    #[test]
    fn attempts_stop_at_first_final_verdict() {
        let t = FakeTransport::new()
            .answer(0x00, None, Answer::status(status::BUSY))
            .answer(0x00, None, Answer::good(&[]));
        // 0.9.4's tur does not retry BUSY: the first answer is final.
        assert!(check(Checker::Tur, &t, T, 512).is_err());
        assert_eq!(t.count(0x00), 1);
    }
}
