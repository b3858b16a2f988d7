//! The path prioritizers of multipath-tools 0.9.4 beyond `alua`, `sysfs`
//! and `const` (which `probe` already computes): `emc`, `rdac`, `hp_sw`,
//! `hds`, `ontap`, `datacore`, `iet`, `random` and `weightedpath`.
//!
//! Each lives in its own module as a pure function over the device's
//! answer (bytes, or a [`Completion`] for `hp_sw`); [`run`] sends the few
//! read-only commands they need through a [`ScsiTransport`] and applies
//! multipath-tools' rule for failures, which differs per prioritizer:
//! `emc`, `hds` and a negative `weightedpath` weight give PRIO_UNDEF
//! (an `Err` here), while the others fall back to a fixed value (`rdac`,
//! `hp_sw`, `ontap`, `datacore`, `iet` give 0 when they cannot ask, `iet`
//! gives 10 when nothing matches).
//!
//! What multipath-tools does with PRIO_UNDEF (discovery.c `get_prio`): the
//! path keeps its previous priority when sysfs says it is offline or
//! pending, else its priority becomes -1; that -1 is then used as a value:
//! `group_by_prio` groups such paths together and a path group's priority
//! is the integer average of its up/ghost paths' priorities, -1 included.

use core::fmt;
use std::time::Duration;

use crate::path::Hctl;
use crate::transport::{Completion, ScsiTransport};

pub mod cdb;
pub mod datacore;
pub mod emc;
pub mod hds;
pub mod hp_sw;
pub mod iet;
pub mod ontap;
pub mod random;
pub mod rdac;
pub mod weightedpath;

/// A prioritizer this module computes.
///
/// `alua` and `sysfs` are computed by `probe`; `path_latency` (timed reads)
/// and `ana` (NVMe) are not implemented: [`Prioritizer::from_name`] returns
/// `None` for them and for unknown names (multipath-tools then has "no
/// prio selected" and PRIO_UNDEF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prioritizer {
    Const,
    Emc,
    Rdac,
    HpSw,
    Hds,
    Ontap,
    Datacore,
    Iet,
    Random,
    WeightedPath,
}

/// Every prioritizer, in the order of [`Prioritizer::name`]'s table.
pub const ALL: [Prioritizer; 10] = [
    Prioritizer::Const,
    Prioritizer::Emc,
    Prioritizer::Rdac,
    Prioritizer::HpSw,
    Prioritizer::Hds,
    Prioritizer::Ontap,
    Prioritizer::Datacore,
    Prioritizer::Iet,
    Prioritizer::Random,
    Prioritizer::WeightedPath,
];

impl Prioritizer {
    /// The prioritizer named as in multipath.conf's `prio` (exact, case
    /// sensitive, as multipath-tools loads `libprio<name>.so`).
    pub fn from_name(name: &str) -> Option<Prioritizer> {
        ALL.into_iter().find(|p| p.name() == name)
    }

    /// The name multipath.conf uses.
    pub fn name(self) -> &'static str {
        match self {
            Prioritizer::Const => "const",
            Prioritizer::Emc => "emc",
            Prioritizer::Rdac => "rdac",
            Prioritizer::HpSw => "hp_sw",
            Prioritizer::Hds => "hds",
            Prioritizer::Ontap => "ontap",
            Prioritizer::Datacore => "datacore",
            Prioritizer::Iet => "iet",
            Prioritizer::Random => "random",
            Prioritizer::WeightedPath => "weightedpath",
        }
    }

    /// The values [`run`] can return in `Ok` (multipath-tools stores an
    /// `int`, so never above `i32::MAX`).
    pub fn value_range(self) -> core::ops::RangeInclusive<u32> {
        match self {
            Prioritizer::Const => CONST_PRIORITY..=CONST_PRIORITY,
            Prioritizer::Emc => 0..=emc::MAX_PRIORITY,
            Prioritizer::Rdac => 0..=rdac::MAX_PRIORITY,
            Prioritizer::HpSw => 0..=hp_sw::ACTIVE,
            Prioritizer::Hds => 0..=1,
            Prioritizer::Ontap => 0..=ontap::FCP_NON_PROXY,
            Prioritizer::Datacore => 0..=1,
            Prioritizer::Iet => 0..=iet::PREFERRED,
            Prioritizer::Random => random::MIN..=random::MAX,
            Prioritizer::WeightedPath => 0..=i32::MAX as u32,
        }
    }

    /// True when multipath-tools can end with PRIO_UNDEF for this
    /// prioritizer; the others always give a value.
    pub fn can_be_undefined(self) -> bool {
        matches!(self, Prioritizer::Emc | Prioritizer::Hds | Prioritizer::WeightedPath)
    }
}

impl fmt::Display for Prioritizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `const` prioritizer's value.
pub const CONST_PRIORITY: u32 = 1;

/// What a prioritizer may look at besides the device.
#[derive(Clone, Copy, Debug)]
pub struct PrioContext<'a> {
    /// `prio_args` as configured (empty when none).
    pub args: &'a str,
    /// Kernel name of the path (`sdc`).
    pub dev_name: &'a str,
    /// SCSI address, for `weightedpath hbtl`.
    pub hctl: Hctl,
    /// The path's unit serial number (VPD page 0x80), for `weightedpath serial`.
    pub serial: &'a str,
    /// Fibre Channel names, for `weightedpath wwn`.
    pub wwn: weightedpath::WwnNames<'a>,
    /// Root of the file system holding `dev/disk/by-path` (`/` in
    /// production), for `iet`.
    pub root: &'a std::path::Path,
}

/// Why a prioritizer could not give a value (PRIO_UNDEF), or why it fell
/// back to its default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrioError {
    /// The command never reached the device (the pass-through failed).
    Transport { command: &'static str, detail: String },
    /// The device (or the HBA) reported an error for the command.
    CommandFailed {
        command: &'static str,
        status: u8,
        host_status: u16,
        driver_status: u16,
    },
    /// The answer is not in the format the prioritizer knows, or says the
    /// path is not set up the way the prioritizer needs.
    Answer { what: &'static str, detail: String },
    /// `prio_args` unusable for this prioritizer.
    Args { prioritizer: &'static str, detail: String },
    /// The prioritizer computed a negative value, which multipath-tools
    /// treats as an error.
    Negative(i32),
    /// Something the prioritizer needs outside the device is missing.
    Unavailable(String),
}

impl fmt::Display for PrioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrioError::Transport { command, detail } => {
                write!(f, "{command} could not be sent: {detail}")
            }
            PrioError::CommandFailed {
                command,
                status,
                host_status,
                driver_status,
            } => write!(
                f,
                "{command} failed: status {status:#04x}, host status {host_status:#06x}, \
                 driver status {driver_status:#06x}"
            ),
            PrioError::Answer { what, detail } => write!(f, "{what}: {detail}"),
            PrioError::Args { prioritizer, detail } => {
                write!(f, "prio_args for {prioritizer}: {detail}")
            }
            PrioError::Negative(value) => write!(
                f,
                "computed priority {value} is negative, which multipath-tools treats as undefined"
            ),
            PrioError::Unavailable(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for PrioError {}

/// A prioritizer's result, with the reason when it fell back to a default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The priority, or why it is undefined (PRIO_UNDEF).
    pub priority: Result<u32, PrioError>,
    /// Why the value is the prioritizer's fallback rather than the
    /// device's answer (worth a log line; multipath-tools logs it too).
    pub fallback: Option<PrioError>,
}

impl Outcome {
    fn value(priority: u32) -> Outcome {
        Outcome {
            priority: Ok(priority),
            fallback: None,
        }
    }

    fn fallback(priority: u32, why: PrioError) -> Outcome {
        Outcome {
            priority: Ok(priority),
            fallback: Some(why),
        }
    }

    fn undefined(why: PrioError) -> Outcome {
        Outcome {
            priority: Err(why),
            fallback: None,
        }
    }
}

/// Runs `p` for one path: sends its read-only commands with `timeout`
/// each (zero means the prioritizer's own default, as multipath-tools'
/// `get_prio_timeout`), and returns the priority, or `Err` where
/// multipath-tools would have PRIO_UNDEF.
pub fn run(
    p: Prioritizer,
    transport: &dyn ScsiTransport,
    timeout: Duration,
    ctx: &PrioContext<'_>,
) -> Result<u32, PrioError> {
    run_explained(p, transport, timeout, ctx).priority
}

/// [`run`], also saying why the value is a fallback when it is one.
pub fn run_explained(
    p: Prioritizer,
    transport: &dyn ScsiTransport,
    timeout: Duration,
    ctx: &PrioContext<'_>,
) -> Outcome {
    match p {
        Prioritizer::Const => Outcome::value(CONST_PRIORITY),
        Prioritizer::Emc => match emc::query(transport, timeout) {
            Ok(value) => Outcome::value(value),
            Err(why) => Outcome::undefined(why),
        },
        Prioritizer::Rdac => match rdac::query(transport, timeout) {
            Ok(value) => Outcome::value(value),
            Err(why) => Outcome::fallback(rdac::ON_ERROR, why),
        },
        Prioritizer::HpSw => hp_sw::query(transport, timeout),
        Prioritizer::Hds => match hds::query(transport, timeout) {
            Ok(value) => Outcome::value(value),
            Err(why) => Outcome::undefined(why),
        },
        Prioritizer::Ontap => ontap::query(transport, timeout),
        Prioritizer::Datacore => datacore::query(transport, ctx.args),
        Prioritizer::Iet => iet::query(ctx),
        Prioritizer::Random => Outcome::value(random::priority()),
        Prioritizer::WeightedPath => match weightedpath::priority(ctx) {
            Ok((value, None)) => Outcome::value(value),
            Ok((value, Some(why))) => Outcome::fallback(value, why),
            Err(why) => Outcome::undefined(why),
        },
    }
}

/// multipath-tools' `get_prio_timeout`: the configured timeout, or the
/// prioritizer's default when it is zero.
fn effective_timeout(timeout: Duration, default: Duration) -> Duration {
    if timeout.is_zero() {
        default
    } else {
        timeout
    }
}

/// True when SG_IO would not set SG_INFO_CHECK: no status bits beyond bit
/// 0 (the kernel's masked status), no host or driver status. This is the
/// success test of every prioritizer that checks `info & SG_INFO_OK_MASK`.
pub fn sg_info_ok(c: &Completion) -> bool {
    c.status & 0xfe == 0 && c.host_status == 0 && c.driver_status == 0
}

/// Sends `command` reading into `buf`; returns the bytes received when
/// the command succeeded by [`sg_info_ok`].
fn send<'b>(
    transport: &dyn ScsiTransport,
    name: &'static str,
    command: &[u8],
    buf: &'b mut [u8],
    timeout: Duration,
) -> Result<&'b [u8], PrioError> {
    let completion = transport
        .execute(command, buf, timeout)
        .map_err(|e| PrioError::Transport {
            command: name,
            detail: e.to_string(),
        })?;
    if !sg_info_ok(&completion) {
        return Err(PrioError::CommandFailed {
            command: name,
            status: completion.status,
            host_status: completion.host_status,
            driver_status: completion.driver_status,
        });
    }
    let buf: &'b [u8] = buf;
    let received = completion.transferred.min(buf.len());
    Ok(buf.get(..received).unwrap_or_default())
}

/// Byte `at` of an answer; bytes the device did not send read as 0, as in
/// multipath-tools' zero-filled reply buffers.
fn byte_at(answer: &[u8], at: usize) -> u8 {
    answer.get(at).copied().unwrap_or(0)
}

/// Error for an answer field with an unexpected value, naming the answer's
/// length so a short answer is recognisable.
fn unexpected(what: &'static str, answer: &[u8], detail: String) -> PrioError {
    PrioError::Answer {
        what,
        detail: format!("{detail} (answer of {} bytes)", answer.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};

    pub(crate) fn context<'a>(args: &'a str, root: &'a std::path::Path) -> PrioContext<'a> {
        PrioContext {
            args,
            dev_name: "sdc",
            hctl: Hctl {
                host: 2,
                channel: 0,
                target: 1,
                lun: 3,
            },
            serial: "SER1",
            wwn: weightedpath::WwnNames::not_fc(""),
            root,
        }
    }

    #[test]
    fn names_round_trip() {
        for p in ALL {
            assert_eq!(Prioritizer::from_name(p.name()), Some(p));
        }
        assert_eq!(Prioritizer::from_name("alua"), None);
        assert_eq!(Prioritizer::from_name("EMC"), None);
        assert_eq!(Prioritizer::from_name(""), None);
    }

    #[test]
    fn const_sends_nothing() {
        let fake = FakeTransport::new();
        let root = std::path::Path::new("/nonexistent");
        let value = run(Prioritizer::Const, &fake, Duration::from_secs(1), &context("", root));
        assert_eq!(value, Ok(1));
        assert!(fake.sent.borrow().is_empty());
    }

    #[test]
    fn info_check_follows_the_masked_status() {
        let mut c = Completion::default();
        assert!(sg_info_ok(&c));
        c.status = 0x01;
        assert!(sg_info_ok(&c), "bit 0 is outside the masked status");
        c.status = 0x02;
        assert!(!sg_info_ok(&c));
        c = Completion {
            driver_status: 0x08,
            ..Completion::default()
        };
        assert!(!sg_info_ok(&c));
    }

    #[test]
    fn zero_timeout_means_the_default() {
        let default = Duration::from_secs(60);
        assert_eq!(effective_timeout(Duration::ZERO, default), default);
        assert_eq!(effective_timeout(Duration::from_millis(10), default), Duration::from_millis(10));
    }

    #[test]
    fn fallback_prioritizers_never_fail() {
        let dead = FakeTransport::new();
        let busy = FakeTransport::new()
            .answer(0x12, Some(0xc9), Answer::status(0x08))
            .answer(0x00, None, Answer::status(0x08))
            .answer(0xc0, None, Answer::status(0x08))
            .answer(0x12, None, Answer::status(0x08));
        let root = std::path::Path::new("/nonexistent");
        let ctx = context("preferredsds=abc", root);
        for p in ALL {
            for t in [&dead, &busy] {
                let outcome = run_explained(p, t, Duration::from_millis(5), &ctx);
                match &outcome.priority {
                    Ok(v) => assert!(p.value_range().contains(v), "{p}: {v}"),
                    Err(e) => assert!(p.can_be_undefined(), "{p} failed: {e}"),
                }
            }
        }
    }
}
