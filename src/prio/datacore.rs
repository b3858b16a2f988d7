//! `datacore`: DataCore SANsymphony, preferring the paths served by one
//! named storage server.
//!
//! `prio_args` is `preferredsds=NAME` with an optional `timeout=MS`
//! (before or after it; 500..=20000 ms, default 2000; this timeout
//! replaces the configured one). One standard INQUIRY (allocation length
//! 255); the server name is the text at bytes 112..128. Priority 1 when
//! that text contains NAME, else 0. Every failure (bad arguments, a
//! command that fails) also gives 0, never PRIO_UNDEF.

use std::time::Duration;

use super::{byte_at, send, Outcome, PrioError};
use crate::scsi::cdb;
use crate::transport::ScsiTransport;

/// Allocation length (and reply buffer size) multipath-tools uses.
const ALLOC_LEN: usize = 255;
/// Offset and length of the storage server name in the INQUIRY data.
const SDS_NAME: usize = 112;
const SDS_NAME_LEN: usize = 16;
/// Timeout when the arguments give none, and the accepted range.
const DEFAULT_TIMEOUT_MS: i32 = 2000;
const TIMEOUT_RANGE_MS: core::ops::RangeInclusive<i32> = 500..=20000;

const NAME: &str = "datacore";

/// The parsed `prio_args`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    /// Text the server name must contain (at least 2 characters).
    pub preferred_sds: String,
    /// Timeout of the INQUIRY.
    pub timeout: Duration,
}

/// Parses `prio_args` the way datacore.c's `sscanf` formats do:
/// `timeout=%i preferredsds=%s`, `preferredsds=%s timeout=%i`, or
/// `preferredsds=%s`; `%i` takes C decimal, octal (0...) or hex (0x...).
pub fn parse_args(args: &str) -> Result<Args, PrioError> {
    let (sds, timeout) = if let Some((t, s)) = timeout_then_sds(args) {
        (s, t)
    } else if let Some((s, t)) = sds_then_timeout(args) {
        (s, t.unwrap_or(DEFAULT_TIMEOUT_MS))
    } else {
        return Err(bad_args(format!(
            "{args:?} is not \"preferredsds=NAME [timeout=MS]\" or \"timeout=MS preferredsds=NAME\""
        )));
    };
    if sds.len() <= 1 {
        return Err(bad_args(format!("preferredsds {sds:?} is too short (2 characters at least)")));
    }
    if !TIMEOUT_RANGE_MS.contains(&timeout) {
        return Err(bad_args(format!("timeout {timeout} ms is outside 500..=20000")));
    }
    Ok(Args {
        preferred_sds: sds.to_owned(),
        timeout: Duration::from_millis(timeout as u64),
    })
}

fn bad_args(detail: String) -> PrioError {
    PrioError::Args {
        prioritizer: NAME,
        detail,
    }
}

/// `timeout=%i preferredsds=%s`, both converted.
fn timeout_then_sds(args: &str) -> Option<(i32, &str)> {
    let rest = args.strip_prefix("timeout=")?;
    let (timeout, rest) = c_int(rest)?;
    let rest = rest.trim_start_matches(is_c_space).strip_prefix("preferredsds=")?;
    let (sds, _) = c_word(rest)?;
    Some((timeout, sds))
}

/// `preferredsds=%s timeout=%i`: the name, and the timeout when it
/// converted too.
fn sds_then_timeout(args: &str) -> Option<(&str, Option<i32>)> {
    let rest = args.strip_prefix("preferredsds=")?;
    let (sds, rest) = c_word(rest)?;
    let timeout = rest
        .trim_start_matches(is_c_space)
        .strip_prefix("timeout=")
        .and_then(c_int)
        .map(|(t, _)| t);
    Some((sds, timeout))
}

fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// `%s`: skips white space, takes the next run of other characters.
fn c_word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches(is_c_space);
    let end = text.find(is_c_space).unwrap_or(text.len());
    (end > 0).then(|| text.split_at(end))
}

/// `%i` into an `int`: skips white space, optional sign, base from the
/// prefix; the value wraps to 32 bits as glibc stores a `long` into it.
pub(crate) fn c_int(text: &str) -> Option<(i32, &str)> {
    let text = text.trim_start_matches(is_c_space);
    let (negative, text) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = text.to_ascii_lowercase();
    let (radix, digits_at) = if lower.starts_with("0x") && lower[2..].starts_with(|c: char| c.is_ascii_hexdigit()) {
        (16, 2)
    } else if lower.starts_with('0') {
        (8, 0)
    } else {
        (10, 0)
    };
    let digits = &text[digits_at..];
    let len = digits.find(|c: char| !c.is_digit(radix)).unwrap_or(digits.len());
    if len == 0 {
        return None;
    }
    let magnitude = digits[..len]
        .chars()
        .filter_map(|c| c.to_digit(radix))
        .fold(0u128, |acc, d| acc.saturating_mul(u128::from(radix)).saturating_add(u128::from(d)));
    // strtol saturates at the `long` limits.
    let value = if negative {
        i64::try_from(magnitude).map_or(i64::MIN, |m| -m)
    } else {
        i64::try_from(magnitude).unwrap_or(i64::MAX)
    };
    Some((value as i32, &digits[len..]))
}

/// Sends the INQUIRY and matches the server name.
pub fn query(transport: &dyn ScsiTransport, args: &str) -> Outcome {
    let args = match parse_args(args) {
        Ok(args) => args,
        Err(why) => return Outcome::fallback(0, why),
    };
    let mut buf = [0u8; ALLOC_LEN];
    let command = cdb::inquiry(None, ALLOC_LEN as u16);
    match send(transport, "standard INQUIRY", &command, &mut buf, args.timeout) {
        Ok(answer) => Outcome::value(priority_from_inquiry(answer, &args.preferred_sds)),
        Err(why) => Outcome::fallback(0, why),
    }
}

/// 1 when the server name in the INQUIRY data (up to 16 bytes, ending at
/// the first NUL; missing bytes read as 0) contains `preferred`, else 0.
pub fn priority_from_inquiry(inquiry: &[u8], preferred: &str) -> u32 {
    let name: Vec<u8> = (SDS_NAME..SDS_NAME + SDS_NAME_LEN)
        .map(|i| byte_at(inquiry, i))
        .take_while(|&b| b != 0)
        .collect();
    let needle = preferred.as_bytes();
    u32::from(needle.is_empty() || name.windows(needle.len()).any(|w| w == needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fake::{Answer, FakeTransport};

    fn inquiry(name: &[u8]) -> Vec<u8> {
        let mut data = vec![b' '; 140];
        data[..8].fill(0);
        data[SDS_NAME..SDS_NAME + name.len()].copy_from_slice(name);
        data
    }

    #[test]
    fn args_forms() {
        let a = parse_args("preferredsds=sds1").unwrap();
        assert_eq!((a.preferred_sds.as_str(), a.timeout), ("sds1", Duration::from_millis(2000)));
        let a = parse_args("timeout=0x3e8 preferredsds=SDS-B").unwrap();
        assert_eq!((a.preferred_sds.as_str(), a.timeout), ("SDS-B", Duration::from_millis(1000)));
        let a = parse_args("preferredsds=x1   timeout=01000").unwrap();
        assert_eq!(a.timeout, Duration::from_millis(512), "octal");
        let a = parse_args("timeout=4294968296 preferredsds=x1").unwrap();
        assert_eq!(a.timeout, Duration::from_millis(1000), "wraps to 32 bits like glibc");
        let a = parse_args("preferredsds=x1 timeout=junk").unwrap();
        assert_eq!(a.timeout, Duration::from_millis(2000));
    }

    #[test]
    fn bad_args_fall_back() {
        for bad in [
            "",
            "preferredsds=a",
            "preferredsds=",
            " preferredsds=abc",
            "timeout=1000",
            "timeout=100 preferredsds=abc",
            "timeout=20001 preferredsds=abc",
            "timeout=-1000 preferredsds=abc",
            "timeout=4294967296 preferredsds=abc",
        ] {
            assert!(parse_args(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn c_int_wraps_like_glibc() {
        assert_eq!(c_int("4294968296"), Some((1000, "")));
        assert_eq!(c_int(" -12x"), Some((-12, "x")));
        assert_eq!(c_int("0x"), Some((0, "x")));
        assert_eq!(c_int("x"), None);
        assert_eq!(c_int("99999999999999999999999"), Some((-1, "")));
        assert_eq!(c_int("-99999999999999999999999"), Some((0, "")));
    }

    #[test]
    fn name_match() {
        assert_eq!(priority_from_inquiry(&inquiry(b"DCS-NODE-A"), "NODE-A"), 1);
        assert_eq!(priority_from_inquiry(&inquiry(b"DCS-NODE-A"), "NODE-B"), 0);
        assert_eq!(priority_from_inquiry(&inquiry(b"DCS\0NODE-A"), "NODE-A"), 0, "stops at NUL");
        assert_eq!(priority_from_inquiry(&inquiry(b"0123456789ABCDEFGH"), "FG"), 0, "16 bytes only");
        assert_eq!(priority_from_inquiry(&[], "NODE"), 0);
        assert_eq!(priority_from_inquiry(&inquiry(b"NODE-A")[..115], "NOD"), 1);
    }

    #[test]
    fn query_uses_args() {
        let fake = FakeTransport::new().answer(0x12, None, Answer::good(&inquiry(b"sdsA")));
        assert_eq!(query(&fake, "preferredsds=sdsA").priority, Ok(1));
        let out = query(&fake, "preferredsds=A");
        assert_eq!(out.priority, Ok(0));
        assert!(out.fallback.is_some());
        assert_eq!(fake.count(0x12), 1, "bad args send nothing");
        let dead = FakeTransport::new();
        assert_eq!(query(&dead, "preferredsds=sdsA").priority, Ok(0));
    }
}
