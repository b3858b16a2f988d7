//! `weightedpath`: priorities given in `prio_args` by path identity.
//!
//! `prio_args` is a kind (`hbtl`, `devname`, `serial` or `wwn`) followed
//! by pairs of POSIX extended regex and priority, separated by spaces or
//! tabs: `hbtl 1:.:.:. 2 4:.:.:. 4`, `devname sda 10 sde 20`. The first
//! regex that matches the path's string (unanchored) gives its priority,
//! read like C `atoi`; no match, an unknown kind or no arguments give 0.
//! A regex that does not compile is skipped. A negative priority is an
//! error for multipath-tools (PRIO_UNDEF), so it is an `Err` here.

use super::{PrioContext, PrioError};
use crate::regex::Regex;

/// Priority when nothing matches.
pub const DEFAULT_PRIORITY: u32 = 0;
/// What multipath-tools prints for a name the path's transport lacks.
pub const UNDEF: &str = "[undef]";
/// What multipath-tools prints when sysfs has no such FC object.
pub const UNKNOWN: &str = "[unknown]";

/// The Fibre Channel names `weightedpath wwn` matches against, joined
/// with ':' in this order. Non-FC paths have [`UNDEF`] for the host and
/// remote port names (see [`WwnNames::not_fc`]); an FC path whose sysfs
/// object is missing has [`UNKNOWN`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WwnNames<'a> {
    /// `/sys/class/fc_host/hostN/node_name`.
    pub host_wwnn: &'a str,
    /// `/sys/class/fc_host/hostN/port_name`.
    pub host_wwpn: &'a str,
    /// The target node name the path records (FC node name, iSCSI target
    /// name), [`UNDEF`] when empty.
    pub tgt_wwnn: &'a str,
    /// `/sys/class/fc_remote_ports/rport-H:C-T/port_name`.
    pub tgt_wwpn: &'a str,
}

impl<'a> WwnNames<'a> {
    /// The names of a path that is not Fibre Channel, with the target node
    /// name discovery recorded (`Path::node_name`; empty from the ioctl
    /// scan). FC paths get these too for now: their host and remote port
    /// names are not read, so they show [`UNDEF`] where multipath-tools
    /// shows the `fc_host` and `fc_remote_ports` names.
    pub fn not_fc(tgt_node_name: &'a str) -> WwnNames<'a> {
        WwnNames {
            host_wwnn: UNDEF,
            host_wwpn: UNDEF,
            tgt_wwnn: if tgt_node_name.is_empty() { UNDEF } else { tgt_node_name },
            tgt_wwpn: UNDEF,
        }
    }

    /// `host_wwnn:host_wwpn:tgt_wwnn:tgt_wwpn`.
    pub fn joined(&self) -> String {
        format!("{}:{}:{}:{}", self.host_wwnn, self.host_wwpn, self.tgt_wwnn, self.tgt_wwpn)
    }
}

/// The priority, and why it is the default when arguments were unusable.
pub fn priority(ctx: &PrioContext<'_>) -> Result<(u32, Option<PrioError>), PrioError> {
    let mut tokens = ctx.args.split([' ', '\t']).filter(|t| !t.is_empty());
    let Some(kind) = tokens.next() else {
        return Ok((DEFAULT_PRIORITY, Some(bad_args("no arguments".into()))));
    };
    let Some(subject) = subject(kind, ctx) else {
        return Ok((
            DEFAULT_PRIORITY,
            Some(bad_args(format!("{kind:?} is not hbtl, devname, serial or wwn"))),
        ));
    };
    let mut skipped = None;
    while let (Some(pattern), Some(value)) = (tokens.next(), tokens.next()) {
        match Regex::new(pattern) {
            Ok(regex) if regex.is_match(&subject) => return checked(c_atoi(value)).map(|v| (v, None)),
            Ok(_) => {}
            Err(e) => skipped = Some(bad_args(e.to_string())),
        }
    }
    Ok((DEFAULT_PRIORITY, skipped))
}

/// The string of the path that `kind` names.
fn subject(kind: &str, ctx: &PrioContext<'_>) -> Option<String> {
    let h = ctx.hctl;
    match kind {
        // Printed with %d like the C structure's ints.
        "hbtl" => Some(format!("{}:{}:{}:{}", h.host as i32, h.channel as i32, h.target as i32, h.lun)),
        "devname" => Some(ctx.dev_name.to_owned()),
        "serial" => Some(ctx.serial.to_owned()),
        "wwn" => Some(ctx.wwn.joined()),
        _ => None,
    }
}

fn bad_args(detail: String) -> PrioError {
    PrioError::Args {
        prioritizer: "weightedpath",
        detail,
    }
}

/// A weight as multipath-tools keeps it: negative is undefined.
fn checked(value: i32) -> Result<u32, PrioError> {
    u32::try_from(value).map_err(|_| PrioError::Negative(value))
}

/// C `atoi` as glibc does it: `strtol` base 10 (leading white space,
/// optional sign, digits, saturating at the `long` limits) cut to `int`.
pub fn c_atoi(text: &str) -> i32 {
    let text = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0u128, |acc, d| acc.saturating_mul(10).saturating_add(u128::from(d - b'0')));
    let value = if negative {
        i64::try_from(magnitude).map_or(i64::MIN, |m| -m)
    } else {
        i64::try_from(magnitude).unwrap_or(i64::MAX)
    };
    value as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prio::tests::context;
    use std::path::Path;

    fn run(args: &str) -> Result<(u32, Option<PrioError>), PrioError> {
        priority(&context(args, Path::new("/")))
    }

    #[test]
    fn hbtl_and_devname() {
        // The test context is sdc at 2:0:1:3.
        assert_eq!(run("hbtl 1:.:.:. 2 2:.:.:. 4"), Ok((4, None)));
        assert_eq!(run("hbtl ^1: 2"), Ok((0, None)));
        assert_eq!(run("devname sda 10 sdc 20"), Ok((20, None)));
        assert_eq!(run("devname\tsd[a-c]\t\t7"), Ok((7, None)));
        assert_eq!(run("serial ^SER1$ 5"), Ok((5, None)));
        assert_eq!(run("serial ^SER2$ 5"), Ok((0, None)));
    }

    #[test]
    fn wwn_of_a_non_fc_path() {
        assert_eq!(WwnNames::not_fc("").joined(), "[undef]:[undef]:[undef]:[undef]");
        let mut ctx = context("wwn :iqn\\.2003.*:\\[undef\\]$ 9", Path::new("/"));
        ctx.wwn = WwnNames::not_fc("iqn.2003-01.org.example:t1");
        assert_eq!(priority(&ctx), Ok((9, None)));
    }

    #[test]
    fn first_match_wins_and_bad_regex_is_skipped() {
        assert_eq!(run("devname sd 1 sdc 2"), Ok((1, None)));
        let (value, note) = run("devname ( 3 sdc 2").unwrap();
        assert_eq!(value, 2);
        assert!(note.is_none(), "a later match is a real value, not a fallback");
        let (value, note) = run("devname ( 3").unwrap();
        assert_eq!(value, 0);
        assert!(note.is_some());
    }

    #[test]
    fn unusable_arguments_give_zero() {
        for args in ["", "   ", "hctl 2:0:1:3 5", "devname", "devname sdc"] {
            let (value, _) = run(args).unwrap();
            assert_eq!(value, 0, "{args:?}");
        }
        assert!(run("").unwrap().1.is_some());
    }

    #[test]
    fn weights_read_like_atoi() {
        assert_eq!(run("devname sdc 12abc"), Ok((12, None)));
        assert_eq!(run("devname sdc abc"), Ok((0, None)));
        assert_eq!(run("devname sdc -3"), Err(PrioError::Negative(-3)));
        assert_eq!(c_atoi("4294967297"), 1);
        assert_eq!(c_atoi("+7"), 7);
        assert_eq!(c_atoi("99999999999999999999"), -1);
        assert_eq!(c_atoi("-99999999999999999999"), 0);
    }
}
