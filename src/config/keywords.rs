//! The keyword tree of one file into the typed [`Config`], with
//! multipath-tools 0.9.4's keyword sets and value rules (libmultipath
//! dict.c), and the printing side used by `-t`.
//!
//! What multipath-tools does, and this module follows:
//! - A bad value is reported and the keyword keeps the value it had (from
//!   an earlier line or file); dict.c's handlers only store good values.
//! - A number out of range is capped at the limit, with a warning.
//! - A keyword repeated in one block gets a "duplicate keyword" warning
//!   and the later value wins; across files the later file wins.
//! - Every `device`, `multipath` and `protocol` block, and every blacklist
//!   line, is appended. Device entries without vendor or product are
//!   dropped at the end of their file; a device entry whose vendor,
//!   product and revision strings equal an earlier user entry's absorbs
//!   it (the later entry's values win). [`finish`] does the end-of-load
//!   steps: multipaths without wwid dropped, the rest sorted by wwid and
//!   duplicates merged; protocol entries merged by type; empty blacklist
//!   device entries dropped, repeated blacklist entries removed.
//! - `0` means "not set" for `rr_min_io`, `rr_min_io_rq`, `failback`,
//!   `dev_loss_tmo`, `max_sectors_kb`, `checker_timeout` and
//!   `find_multipaths_timeout` (their C fields use 0 as undefined), so
//!   writing 0 clears an earlier value.
//! - In the main file, a blacklist pattern that is not a valid regex, or a bad
//!   `reservation_key`, makes multipath-tools reject the whole
//!   configuration ([`FileOutcome::handler_failures`]).

use std::collections::{HashMap, HashSet};

use super::parse::Node;
use super::{
    Attrs, Config, DeviceEntry, DeviceRule, Diagnostic, FindMultipaths, MultipathEntry, NoPathRetry,
    Origin, Passive, RrWeight, Rule, RuleSet,
};
use crate::group::Policy;
use crate::regex::Regex;

/// C's `INT_MAX`, the upper limit of most numeric keywords.
const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: u64 = u32::MAX as u64;

/// The sections that hold settings, for the print order of their lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Defaults,
    Device,
    Overrides,
    Protocol,
    Multipath,
}

/// How a value is read (dict.c's `set_*` handler) and printed (`print_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `set_int` with a range; `zero_unset`: 0 means "not set".
    Int { min: i64, max: i64, zero_unset: bool },
    /// `set_uint`; `polling_interval` turns UINT_MAX into UINT_MAX - 1.
    Uint { checkint: bool },
    YesNo,
    Str,
    /// Rejected when it contains `/`.
    NoSlash,
    /// Must be absolute; `warn`: the "deprecated" notice of bindings_file.
    Path,
    /// Argument list whose count is the token at this index.
    ArgStr(usize),
    /// `off`, `0`, or 1..INT_MAX.
    UndefOffZero,
    /// `infinity` or an unsigned number; 0 is unset.
    DevLoss,
    /// `manual`, `immediate`, `followover` or 0..INT_MAX (0 is unset).
    Failback,
    /// `no`/`0` or 1..INT_MAX.
    OffIntUndef,
    FindMultipaths,
    MarginalPathgroups,
    LogCheckerErr,
    Mode,
    Owner,
    ReservationKey,
    MaxFds,
    UidAttrs,
    PgPolicy,
    NoPathRetry,
    RrWeight,
    VpdVendor,
    ProtocolType,
    /// `disable_changed_wwids`: accepted, printed as "ignored".
    Ignored,
    /// Accepted and dropped with a warning.
    Deprecated,
}

/// Where a parsed value goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Passive,
    Dropped,
    Pgp,
    Selector,
    HwHandler,
    Features,
    Npr,
    RrWeight,
    MinIo,
    MinIoRq,
    Prio,
    PrioArgs,
    DetectPrio,
    RetainHw,
    Ufn,
    AliasPrefix,
    Checker,
    DetectChecker,
    FindMp,
    AllowUsb,
    Bindings,
    Wwids,
    Verbosity,
    Vendor,
    Product,
    Revision,
    ProductBlacklist,
    VpdVendor,
    Wwid,
    Alias,
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max, zero_unset: false }
}
const fn int_nz(min: i64, max: i64) -> Kind {
    Kind::Int { min, max, zero_unset: true }
}

/// The rule and slot of a keyword of the settings sections (dict.c).
fn spec(keyword: &str) -> Option<(Kind, Slot)> {
    use Kind as R;
    use Slot as S;
    let found = match keyword {
        "verbosity" => (int(0, 4), S::Verbosity),
        "polling_interval" => (R::Uint { checkint: true }, S::Passive),
        "max_polling_interval" => (R::Uint { checkint: false }, S::Passive),
        "reassign_maps" | "queue_without_daemon" | "force_sync" | "strict_timing" => (R::YesNo, S::Passive),
        "multipath_dir" | "getuid_callout" | "pg_timeout" | "config_dir" => (R::Deprecated, S::Dropped),
        "path_selector" => (R::ArgStr(1), S::Selector),
        "path_grouping_policy" => (R::PgPolicy, S::Pgp),
        "uid_attrs" => (R::UidAttrs, S::Passive),
        "uid_attribute" | "enable_foreign" => (R::Str, S::Passive),
        "prio" => (R::Str, S::Prio),
        "prio_args" => (R::Str, S::PrioArgs),
        "features" => (R::ArgStr(0), S::Features),
        "hardware_handler" => (R::ArgStr(0), S::HwHandler),
        "path_checker" | "checker" => (R::Str, S::Checker),
        "alias_prefix" => (R::NoSlash, S::AliasPrefix),
        "failback" => (R::Failback, S::Passive),
        "rr_min_io" => (int_nz(0, INT_MAX), S::MinIo),
        "rr_min_io_rq" => (int_nz(0, INT_MAX), S::MinIoRq),
        "max_fds" => (R::MaxFds, S::Passive),
        "rr_weight" => (R::RrWeight, S::RrWeight),
        "no_path_retry" => (R::NoPathRetry, S::Npr),
        "checker_timeout" | "max_sectors_kb" => (int_nz(0, INT_MAX), S::Passive),
        "allow_usb_devices" => (R::YesNo, S::AllowUsb),
        "flush_on_last_del" | "all_tg_pt" | "deferred_remove" | "skip_kpartx" | "recheck_wwid" => {
            (R::YesNo, S::Passive)
        }
        "user_friendly_names" => (R::YesNo, S::Ufn),
        "retain_attached_hw_handler" => (R::YesNo, S::RetainHw),
        "detect_prio" => (R::YesNo, S::DetectPrio),
        "detect_checker" => (R::YesNo, S::DetectChecker),
        "mode" => (R::Mode, S::Passive),
        "uid" | "gid" => (R::Owner, S::Passive),
        "fast_io_fail_tmo" | "eh_deadline" => (R::UndefOffZero, S::Passive),
        "dev_loss_tmo" => (R::DevLoss, S::Passive),
        "bindings_file" => (R::Path, S::Bindings),
        "wwids_file" => (R::Path, S::Wwids),
        "prkeys_file" => (R::Path, S::Passive),
        "log_checker_err" => (R::LogCheckerErr, S::Passive),
        "reservation_key" => (R::ReservationKey, S::Passive),
        "partition_delimiter" => (R::NoSlash, S::Passive),
        "delay_watch_checks"
        | "delay_wait_checks"
        | "san_path_err_threshold"
        | "san_path_err_forget_rate"
        | "san_path_err_recovery_time"
        | "marginal_path_err_sample_time"
        | "marginal_path_err_rate_threshold"
        | "marginal_path_err_recheck_gap_time"
        | "marginal_path_double_failed_time"
        | "ghost_delay" => (R::OffIntUndef, S::Passive),
        "find_multipaths" => (R::FindMultipaths, S::FindMp),
        "uxsock_timeout" => (int(4000, INT_MAX), S::Passive),
        "retrigger_tries" | "retrigger_delay" | "missing_uev_wait_timeout" | "remove_retries" => {
            (int(0, INT_MAX), S::Passive)
        }
        "disable_changed_wwids" => (R::Ignored, S::Passive),
        "find_multipaths_timeout" => (int_nz(INT_MIN, INT_MAX), S::Passive),
        "marginal_pathgroups" => (R::MarginalPathgroups, S::Passive),
        "vendor" => (R::Str, S::Vendor),
        "product" => (R::Str, S::Product),
        "revision" => (R::Str, S::Revision),
        "product_blacklist" => (R::Str, S::ProductBlacklist),
        "vpd_vendor" => (R::VpdVendor, S::VpdVendor),
        "type" => (R::ProtocolType, S::Passive),
        "wwid" => (R::Str, S::Wwid),
        "alias" => (R::NoSlash, S::Alias),
        _ => return None,
    };
    Some(found)
}

/// The marginal-path and delay keywords every settings section has, in
/// multipath-tools' order.
macro_rules! marginal {
    () => {
        [
            "delay_watch_checks",
            "delay_wait_checks",
            "san_path_err_threshold",
            "san_path_err_forget_rate",
            "san_path_err_recovery_time",
            "marginal_path_err_sample_time",
            "marginal_path_err_rate_threshold",
            "marginal_path_err_recheck_gap_time",
            "marginal_path_double_failed_time",
        ]
    };
}

const DEFAULTS_BEFORE: &[&str] = &[
    "verbosity", "polling_interval", "max_polling_interval", "reassign_maps", "multipath_dir",
    "path_selector", "path_grouping_policy", "uid_attrs", "uid_attribute", "getuid_callout", "prio",
    "prio_args", "features", "path_checker", "checker", "alias_prefix", "failback", "rr_min_io",
    "rr_min_io_rq", "max_fds", "rr_weight", "no_path_retry", "queue_without_daemon",
    "checker_timeout", "allow_usb_devices", "pg_timeout", "flush_on_last_del",
    "user_friendly_names", "mode", "uid", "gid", "fast_io_fail_tmo", "dev_loss_tmo", "eh_deadline",
    "bindings_file", "wwids_file", "prkeys_file", "log_checker_err", "reservation_key", "all_tg_pt",
    "retain_attached_hw_handler", "detect_prio", "detect_checker", "force_sync", "strict_timing",
    "deferred_remove", "partition_delimiter", "config_dir",
];
const DEFAULTS_AFTER: &[&str] = &[
    "find_multipaths", "uxsock_timeout", "retrigger_tries", "retrigger_delay",
    "missing_uev_wait_timeout", "skip_kpartx", "disable_changed_wwids", "remove_retries",
    "max_sectors_kb", "ghost_delay", "find_multipaths_timeout", "enable_foreign",
    "marginal_pathgroups", "recheck_wwid",
];
const DEVICE_BEFORE: &[&str] = &[
    "vendor", "product", "revision", "product_blacklist", "path_grouping_policy", "uid_attribute",
    "getuid_callout", "path_selector", "path_checker", "checker", "alias_prefix", "features",
    "hardware_handler", "prio", "prio_args", "failback", "rr_weight", "no_path_retry", "rr_min_io",
    "rr_min_io_rq", "pg_timeout", "flush_on_last_del", "fast_io_fail_tmo", "dev_loss_tmo",
    "eh_deadline", "user_friendly_names", "retain_attached_hw_handler", "detect_prio",
    "detect_checker", "deferred_remove",
];
const DEVICE_AFTER: &[&str] =
    &["skip_kpartx", "max_sectors_kb", "ghost_delay", "all_tg_pt", "vpd_vendor", "recheck_wwid"];
const OVERRIDES_BEFORE: &[&str] = &[
    "path_grouping_policy", "uid_attribute", "getuid_callout", "path_selector", "path_checker",
    "checker", "alias_prefix", "features", "prio", "prio_args", "failback", "rr_weight",
    "no_path_retry", "rr_min_io", "rr_min_io_rq", "flush_on_last_del", "fast_io_fail_tmo",
    "dev_loss_tmo", "eh_deadline", "user_friendly_names", "retain_attached_hw_handler",
    "detect_prio", "detect_checker", "deferred_remove",
];
const OVERRIDES_AFTER: &[&str] =
    &["skip_kpartx", "max_sectors_kb", "ghost_delay", "all_tg_pt", "recheck_wwid"];
const PROTOCOL_KEYWORDS: &[&str] = &["type", "fast_io_fail_tmo", "dev_loss_tmo", "eh_deadline"];
const MULTIPATH_BEFORE: &[&str] = &[
    "wwid", "alias", "path_grouping_policy", "path_selector", "prio", "prio_args", "failback",
    "rr_weight", "no_path_retry", "rr_min_io", "rr_min_io_rq", "pg_timeout", "flush_on_last_del",
    "features", "mode", "uid", "gid", "reservation_key", "user_friendly_names", "deferred_remove",
];
const MULTIPATH_AFTER: &[&str] = &["skip_kpartx", "max_sectors_kb", "ghost_delay"];
/// The marginal-path and delay keywords (`print` reads them too).
pub const MARGINAL: &[&str] = &marginal!();

/// The keywords of a section in multipath-tools' order (which is also
/// the order `multipath -t` prints them in).
fn keywords_of(section: Section) -> impl Iterator<Item = &'static str> {
    let (before, middle, after): (&[&str], &[&str], &[&str]) = match section {
        Section::Defaults => (DEFAULTS_BEFORE, MARGINAL, DEFAULTS_AFTER),
        Section::Device => (DEVICE_BEFORE, MARGINAL, DEVICE_AFTER),
        Section::Overrides => (OVERRIDES_BEFORE, MARGINAL, OVERRIDES_AFTER),
        Section::Protocol => (PROTOCOL_KEYWORDS, &[], &[]),
        Section::Multipath => (MULTIPATH_BEFORE, MARGINAL, MULTIPATH_AFTER),
    };
    before.iter().chain(middle).chain(after).copied()
}

fn accepts(section: Section, keyword: &str) -> bool {
    keywords_of(section).any(|k| k == keyword)
}

fn section_name(section: Section) -> &'static str {
    match section {
        Section::Defaults => "defaults",
        Section::Device => "device",
        Section::Overrides => "overrides",
        Section::Protocol => "protocol",
        Section::Multipath => "multipath",
    }
}

/// A value as a handler stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Int(i64),
    Bool(bool),
    Text(String),
    Policy(Policy),
    Npr(NoPathRetry),
    RrW(RrWeight),
    Fm(FindMultipaths),
    /// The handler stored its "undefined" value.
    Clear,
}

impl Value {
    /// The text a passive setting keeps.
    fn text(&self) -> Option<String> {
        match self {
            Value::Int(n) => Some(n.to_string()),
            Value::Bool(b) => Some(yes_no(*b).into()),
            Value::Text(t) => Some(t.clone()),
            Value::Policy(p) => Some(p.name().into()),
            Value::Npr(n) => Some(no_path_retry_text(*n)),
            Value::RrW(r) => Some(rr_weight_name(*r).into()),
            Value::Fm(f) => Some(find_multipaths_name(*f).into()),
            Value::Clear => None,
        }
    }
}

/// What reading one value gave.
enum Outcome {
    /// Store this (with warnings, e.g. a capped number).
    Store(Value, Vec<String>),
    /// Keep the old value; say why.
    Reject(String),
    /// The handler failed: the old value stays and, in the main file,
    /// multipath-tools gives up on the whole configuration.
    Fail(String),
    /// Nothing to store, nothing wrong (a deprecated keyword).
    Nothing(Vec<String>),
}

fn invalid(keyword: &str, value: &str) -> Outcome {
    Outcome::Reject(format!("invalid value for {keyword}: \"{value}\""))
}

fn c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `strtol`/`strtoul` on the start of `text`: optional spaces and
/// sign, then decimal digits. Returns the value (saturated) and the rest,
/// or `None` when no digit follows.
fn c_number(text: &str) -> Option<(i128, &str)> {
    let trimmed = text.trim_start_matches(|c: char| c.is_ascii() && c_space(c as u8));
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, trimmed.get(1..).unwrap_or("")),
        Some(b'+') => (false, trimmed.get(1..).unwrap_or("")),
        _ => (false, trimmed),
    };
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let mut value: i128 = 0;
    for b in unsigned.bytes().take(digits) {
        value = (value * 10 + i128::from(b - b'0')).min(i128::from(u64::MAX) + 1);
    }
    let rest = unsigned.get(digits..).unwrap_or("");
    Some((if negative { -value } else { value }, rest))
}

/// dict.c's `do_set_int`: whole value a number, capped to the range.
fn set_int(keyword: &str, value: &str, min: i64, max: i64) -> Outcome {
    let Some((number, rest)) = c_number(value) else {
        return invalid(keyword, value);
    };
    if !rest.bytes().all(c_space) {
        return invalid(keyword, value);
    }
    // strtol saturates at the limits of a 64-bit long.
    let number = number.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    if number > max || number < min {
        let capped = if number > max { max } else { min };
        let which = if number > max { "large" } else { "small" };
        let note = format!("value for {keyword} too {which}, capping at {capped}");
        return Outcome::Store(Value::Int(capped), vec![note]);
    }
    Outcome::Store(Value::Int(number), Vec::new())
}

/// dict.c's `set_uint`: digits only (after spaces), at most UINT_MAX.
fn set_uint(keyword: &str, value: &str, checkint: bool) -> Outcome {
    let trimmed = value.trim_start_matches(|c: char| c.is_ascii() && c_space(c as u8));
    if !trimmed.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return invalid(keyword, value);
    }
    match c_number(trimmed) {
        Some((n, rest)) if rest.bytes().all(c_space) && n <= i128::from(UINT_MAX) => {
            let n = if checkint && n == i128::from(UINT_MAX) { n - 1 } else { n };
            Outcome::Store(Value::Int(n as i64), Vec::new())
        }
        _ => invalid(keyword, value),
    }
}

/// C `sscanf("%u")`: leading number, the rest ignored; negative numbers
/// wrap as unsigned.
fn scan_unsigned(value: &str) -> Option<u64> {
    let (n, _) = c_number(value)?;
    let n = n.clamp(-i128::from(UINT_MAX), i128::from(UINT_MAX));
    Some(if n < 0 { (i128::from(UINT_MAX) + 1 + n) as u64 } else { n as u64 })
}

/// dict.c's `set_arg_str`: the token at `count_index` counts the tokens
/// after it.
fn set_arg_str(keyword: &str, value: &str, count_index: usize) -> Outcome {
    let words: Vec<&str> = value
        .split([' ', '\x0c', '\r', '\t', '\x0b'])
        .filter(|w| !w.is_empty())
        .collect();
    let count = words.get(count_index).and_then(|w| {
        let (n, rest) = c_number(w)?;
        (rest.is_empty() && n >= 0 && n <= i128::from(i64::MAX)).then_some(n)
    });
    let Some(count) = count else {
        return Outcome::Reject(format!("missing argument count for {keyword}"));
    };
    let found = words.len() - count_index - 1;
    if count != found as i128 {
        return Outcome::Reject(format!(
            "invalid argument count for {keyword}: got '{count}', expected '{found}'"
        ));
    }
    Outcome::Store(Value::Text(value.to_owned()), Vec::new())
}

fn yes_no_value(keyword: &str, value: &str) -> Outcome {
    match value {
        "yes" | "1" => Outcome::Store(Value::Bool(true), Vec::new()),
        "no" | "0" => Outcome::Store(Value::Bool(false), Vec::new()),
        _ => invalid(keyword, value),
    }
}

fn text(value: &str) -> Outcome {
    Outcome::Store(Value::Text(value.to_owned()), Vec::new())
}

/// One of a list of words, or one of the number rule's results.
fn word_or(value: &str, words: &[&str], otherwise: impl FnOnce() -> Outcome) -> Outcome {
    if words.contains(&value) {
        text(value)
    } else {
        otherwise()
    }
}

fn find_multipaths_value(value: &str) -> Option<FindMultipaths> {
    Some(match value {
        "off" | "no" | "0" => FindMultipaths::Off,
        "on" | "yes" | "1" => FindMultipaths::On,
        "strict" => FindMultipaths::Strict,
        "greedy" => FindMultipaths::Greedy,
        "smart" => FindMultipaths::Smart,
        _ => return None,
    })
}

/// pgpolicies.c compares only the length of each name: `multibus2` is
/// multibus.
fn pgpolicy_value(value: &str) -> Option<Policy> {
    const NAMES: [&str; 5] =
        ["failover", "multibus", "group_by_serial", "group_by_prio", "group_by_node_name"];
    NAMES.iter().find(|n| value.starts_with(**n)).and_then(|n| Policy::parse(n))
}

const PROTOCOL_NAMES: &[&str] = &[
    "undef", "ccw", "cciss", "scsi:fcp", "scsi:spi", "scsi:ssa", "scsi:sbp", "scsi:srp",
    "scsi:iscsi", "scsi:sas", "scsi:adt", "scsi:ata", "scsi:usb", "scsi:unspec", "nvme:pcie",
    "nvme:rdma", "nvme:fc", "nvme:tcp", "nvme:loop", "nvme:apple-nvme", "nvme:unspec",
];

/// prkey.c's `parse_prkey_flags`: up to 16 hex digits, optional `0x`,
/// optional `:aptpl`.
fn reservation_key_value(keyword: &str, value: &str) -> Outcome {
    if value == "file" {
        return text(value);
    }
    let (key, aptpl) = match value.split_once(':') {
        Some((key, flags)) => (key, flags == "aptpl"),
        None => (value, false),
    };
    let key = key.strip_prefix('0').unwrap_or(key);
    let key = key.strip_prefix(['x', 'X']).unwrap_or(key);
    let parsed = (!key.is_empty() && key.len() <= 16 && key.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u64::from_str_radix(key, 16).ok())
        .flatten();
    match parsed {
        Some(n) => text(&format!("0x{n:x}{}", if aptpl { ":aptpl" } else { "" })),
        None => Outcome::Fail(format!("invalid value for {keyword}: \"{value}\"")),
    }
}

/// dict.c's `uid_attrs_handler`: space-separated `subsystem:attribute`.
fn uid_attrs_value(keyword: &str, value: &str) -> Outcome {
    let words: Vec<&str> = value.split(' ').filter(|w| !w.is_empty()).collect();
    let good: Vec<&str> = words.iter().copied().filter(|w| w.contains(':')).collect();
    let notes = if good.len() == words.len() {
        Vec::new()
    } else {
        vec![format!("error parsing {keyword}: \"{value}\"")]
    };
    if good.is_empty() {
        return Outcome::Store(Value::Clear, notes);
    }
    Outcome::Store(Value::Text(good.join(" ")), notes)
}

/// Reads `value` for `keyword` by `rule`.
fn read_value(keyword: &str, rule: Kind, value: &str) -> Outcome {
    match rule {
        Kind::Int { min, max, zero_unset } => match set_int(keyword, value, min, max) {
            Outcome::Store(Value::Int(0), notes) if zero_unset => Outcome::Store(Value::Clear, notes),
            other => other,
        },
        Kind::Uint { checkint } => set_uint(keyword, value, checkint),
        Kind::YesNo => yes_no_value(keyword, value),
        Kind::Str => text(value),
        Kind::NoSlash if value.contains('/') => {
            Outcome::Reject(format!("{value} cannot contain a slash. Ignoring"))
        }
        Kind::NoSlash => text(value),
        Kind::Path => {
            let notice = format!("\"{keyword}\" is deprecated and will be disabled in a future release");
            if value.starts_with('/') {
                Outcome::Store(Value::Text(value.to_owned()), vec![notice])
            } else {
                Outcome::Reject(format!("{notice}; {value} is not an absolute path. Ignoring"))
            }
        }
        Kind::ArgStr(index) => set_arg_str(keyword, value, index),
        Kind::UndefOffZero => {
            word_or(value, &["off", "0"], || set_int(keyword, value, 1, INT_MAX))
        }
        Kind::DevLoss => match value {
            "infinity" => text(value),
            _ => match scan_unsigned(value) {
                Some(0) => Outcome::Store(Value::Clear, Vec::new()),
                Some(n) if n >= UINT_MAX => text("infinity"),
                Some(n) => Outcome::Store(Value::Int(n as i64), Vec::new()),
                None => invalid(keyword, value),
            },
        },
        Kind::Failback => word_or(value, &["manual", "immediate", "followover"], || {
            match set_int(keyword, value, 0, INT_MAX) {
                Outcome::Store(Value::Int(0), notes) => Outcome::Store(Value::Clear, notes),
                other => other,
            }
        }),
        Kind::OffIntUndef => match value {
            "no" | "0" => text("no"),
            _ => set_int(keyword, value, 1, INT_MAX),
        },
        Kind::FindMultipaths => match find_multipaths_value(value) {
            Some(f) => Outcome::Store(Value::Fm(f), Vec::new()),
            None => invalid(keyword, value),
        },
        Kind::MarginalPathgroups => match value {
            "off" | "no" | "0" => text("off"),
            "on" | "yes" | "1" => text("on"),
            "fpin" => Outcome::Reject(format!("support for \"fpin\" is not compiled in for {keyword}")),
            _ => invalid(keyword, value),
        },
        Kind::LogCheckerErr => word_or(value, &["once", "always"], || invalid(keyword, value)),
        Kind::Mode => match octal_prefix(value) {
            Some(mode) if mode <= 0o777 => text(&format!("0{mode:o}")),
            _ => invalid("mode", value),
        },
        // A name is kept as written: resolving it needs the target's
        // passwd file, and nothing here acts on it.
        Kind::Owner => match scan_unsigned(value) {
            Some(n) => text(&format!("0{n:o}")),
            None if !value.is_empty() => text(value),
            None => invalid(keyword, value),
        },
        Kind::ReservationKey => reservation_key_value(keyword, value),
        // "max" is the system's open-file limit, read by multipathd.
        Kind::MaxFds => word_or(value, &["max"], || set_int(keyword, value, 0, INT_MAX)),
        Kind::UidAttrs => uid_attrs_value(keyword, value),
        Kind::PgPolicy => match pgpolicy_value(value) {
            Some(p) => Outcome::Store(Value::Policy(p), Vec::new()),
            None => invalid(keyword, value),
        },
        Kind::NoPathRetry => match value {
            "fail" | "0" => Outcome::Store(Value::Npr(NoPathRetry::Fail), Vec::new()),
            "queue" => Outcome::Store(Value::Npr(NoPathRetry::Queue), Vec::new()),
            _ => match set_int(keyword, value, 1, INT_MAX) {
                Outcome::Store(Value::Int(n), notes) => {
                    let n = u32::try_from(n).unwrap_or(u32::MAX);
                    Outcome::Store(Value::Npr(NoPathRetry::Retries(n)), notes)
                }
                other => other,
            },
        },
        Kind::RrWeight => match value {
            "priorities" => Outcome::Store(Value::RrW(RrWeight::Priorities), Vec::new()),
            "uniform" => Outcome::Store(Value::RrW(RrWeight::Uniform), Vec::new()),
            _ => invalid(keyword, value),
        },
        Kind::VpdVendor => match value {
            "hp3par" => text(value),
            "undef" => Outcome::Store(Value::Clear, Vec::new()),
            _ => invalid(keyword, value),
        },
        Kind::ProtocolType if PROTOCOL_NAMES.contains(&value) => text(value),
        Kind::ProtocolType => invalid(keyword, value),
        Kind::Ignored => text("ignored"),
        Kind::Deprecated => {
            Outcome::Nothing(vec![format!("ignoring deprecated option \"{keyword}\"")])
        }
    }
}

/// C `sscanf("%o")`: leading octal number (after spaces, with sign).
fn octal_prefix(value: &str) -> Option<u64> {
    let trimmed = value.trim_start_matches(|c: char| c.is_ascii() && c_space(c as u8));
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, trimmed.get(1..)?),
        Some(b'+') => (false, trimmed.get(1..)?),
        _ => (false, trimmed),
    };
    let digits: String = rest.chars().take_while(|c| ('0'..='7').contains(c)).collect();
    if digits.is_empty() {
        return None;
    }
    let n = u64::from_str_radix(&digits, 8).unwrap_or(u64::MAX);
    Some(if negative && n != 0 { u64::MAX } else { n })
}

/// How a value of `rule` is printed by `multipath -t`.
fn render(rule: Option<Kind>, value: &str) -> String {
    let numeric = value.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    match rule {
        Some(Kind::Int { .. } | Kind::Uint { .. } | Kind::UndefOffZero | Kind::Mode)
        | Some(Kind::UidAttrs) => value.to_owned(),
        Some(Kind::Owner) if numeric => value.to_owned(),
        Some(
            Kind::DevLoss
            | Kind::Failback
            | Kind::OffIntUndef
            | Kind::MaxFds
            | Kind::ReservationKey
            | Kind::NoPathRetry,
        ) if numeric => value.to_owned(),
        _ => quote(value),
    }
}

/// A string as multipath-tools prints it: in double quotes, inner quotes
/// doubled.
pub fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// The spelling multipath-tools prints for `find_multipaths`.
pub fn find_multipaths_name(value: FindMultipaths) -> &'static str {
    match value {
        FindMultipaths::Off => "off",
        FindMultipaths::On => "on",
        FindMultipaths::Strict => "strict",
        FindMultipaths::Greedy => "greedy",
        FindMultipaths::Smart => "smart",
    }
}

/// `fail`, `queue` or the number (without quotes; `multipath -t` quotes
/// the two words and prints the number bare).
pub fn no_path_retry_text(value: NoPathRetry) -> String {
    match value {
        NoPathRetry::Fail => "fail".into(),
        NoPathRetry::Queue => "queue".into(),
        NoPathRetry::Retries(n) => n.to_string(),
    }
}

pub fn rr_weight_name(value: RrWeight) -> &'static str {
    match value {
        RrWeight::Uniform => "uniform",
        RrWeight::Priorities => "priorities",
    }
}

/// Every boolean keyword of multipath-tools 0.9.4 prints as `yes`/`no`
/// (in quotes); none uses on/off (those are `find_multipaths` and
/// `marginal_pathgroups` values, which are not booleans).
pub fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// What applying one file found, beyond its diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileOutcome {
    /// Handlers that failed (a blacklist pattern that is not a valid regex, a bad
    /// `reservation_key`). multipath-tools 0.9.4 refuses to run when this
    /// is not 0 for /etc/multipath.conf (conf.d files are not checked).
    pub handler_failures: u32,
}

/// Applies the tree of one file to `config`. Call once per file, in
/// load order; then [`finish`] once.
pub fn apply(nodes: &[Node], path: &str, config: &mut Config, diagnostics: &mut Vec<Diagnostic>) {
    apply_file(nodes, path, config, diagnostics);
}

/// [`apply`], also returning whether a handler failed.
pub fn apply_file(
    nodes: &[Node],
    path: &str,
    config: &mut Config,
    diagnostics: &mut Vec<Diagnostic>,
) -> FileOutcome {
    let devices_before = config.devices.len();
    let mut run = Run { path, diagnostics, failures: 0 };
    let mut seen = HashSet::new();
    for node in nodes {
        let known = matches!(
            node.keyword.as_str(),
            "defaults" | "blacklist" | "blacklist_exceptions" | "devices" | "overrides" | "multipaths"
        );
        if !known {
            run.report(node.line, format!("invalid keyword: {}", node.keyword));
            continue;
        }
        run.check_duplicate(&mut seen, node);
        let children = node.children.as_deref().unwrap_or(&[]);
        match node.keyword.as_str() {
            "defaults" => run.defaults(children, config),
            "blacklist" => run.rule_set(children, "blacklist", &mut config.blacklist),
            "blacklist_exceptions" => {
                run.rule_set(children, "blacklist_exceptions", &mut config.exceptions)
            }
            "devices" => run.devices(children, &mut config.devices),
            "overrides" => run.overrides(children, &mut config.overrides),
            _ => run.multipaths(children, &mut config.multipaths),
        }
    }
    run.factorize_devices(&mut config.devices, devices_before);
    FileOutcome { handler_failures: run.failures }
}

/// The state of applying one file.
struct Run<'a> {
    path: &'a str,
    diagnostics: &'a mut Vec<Diagnostic>,
    failures: u32,
}

impl Run<'_> {
    fn origin(&self, line: u32) -> Origin {
        Origin::File { path: self.path.to_owned(), line }
    }

    fn report(&mut self, line: u32, message: String) {
        let origin = self.origin(line);
        self.diagnostics.push(Diagnostic { origin, message });
    }

    fn check_duplicate(&mut self, seen: &mut HashSet<String>, node: &Node) {
        if !seen.insert(node.keyword.clone()) {
            self.report(node.line, format!("duplicate keyword: {}", node.keyword));
        }
    }

    /// Reads the value of a settings keyword, reporting what it says.
    fn read(&mut self, node: &Node, rule: Kind) -> Option<Value> {
        let value = node.value().unwrap_or("");
        match read_value(&node.keyword, rule, value) {
            Outcome::Store(v, notes) => {
                for note in notes {
                    self.report(node.line, note);
                }
                Some(v)
            }
            Outcome::Reject(message) => {
                self.report(node.line, message);
                None
            }
            Outcome::Fail(message) => {
                self.failures += 1;
                self.report(node.line, format!("{message}; parsing failed"));
                None
            }
            Outcome::Nothing(notes) => {
                for note in notes {
                    self.report(node.line, note);
                }
                None
            }
        }
    }

    /// The keywords of one settings block, with the duplicate check.
    fn settings(&mut self, children: &[Node], section: Section, level: &mut Level<'_>) {
        let mut seen = HashSet::new();
        for node in children {
            if !accepts(section, &node.keyword) {
                let name = section_name(section);
                self.report(node.line, format!("invalid keyword in the {name} section: {}", node.keyword));
                continue;
            }
            self.check_duplicate(&mut seen, node);
            let Some((rule, slot)) = spec(&node.keyword) else { continue };
            if let Some(value) = self.read(node, rule) {
                level.store(&node.keyword, slot, value);
            }
        }
    }

    fn defaults(&mut self, children: &[Node], config: &mut Config) {
        let mut level = Level::Defaults(&mut config.defaults);
        self.settings(children, Section::Defaults, &mut level);
    }

    fn devices(&mut self, children: &[Node], devices: &mut Vec<DeviceEntry>) {
        for node in children {
            if node.keyword != "device" {
                self.report(node.line, format!("invalid keyword in the devices section: {}", node.keyword));
                continue;
            }
            let mut entry = DeviceEntry { origin: self.origin(node.line), ..DeviceEntry::default() };
            let kids = node.children.as_deref().unwrap_or(&[]);
            self.settings(kids, Section::Device, &mut Level::Device(&mut entry));
            devices.push(entry);
        }
    }

    fn multipaths(&mut self, children: &[Node], entries: &mut Vec<MultipathEntry>) {
        for node in children {
            if node.keyword != "multipath" {
                self.report(node.line, format!("invalid keyword in the multipaths section: {}", node.keyword));
                continue;
            }
            let mut entry = MultipathEntry { origin: self.origin(node.line), ..MultipathEntry::default() };
            let kids = node.children.as_deref().unwrap_or(&[]);
            self.settings(kids, Section::Multipath, &mut Level::Multipath(&mut entry));
            entries.push(entry);
        }
    }

    fn overrides(&mut self, children: &[Node], attrs: &mut Attrs) {
        let (protocols, settings): (Vec<&Node>, Vec<&Node>) =
            children.iter().partition(|n| n.keyword == "protocol" && n.children.is_some());
        // Keep the file order of everything except protocol blocks, which
        // do not interact with the other keywords.
        let settings: Vec<Node> = settings.into_iter().cloned().collect();
        self.settings(&settings, Section::Overrides, &mut Level::Overrides(attrs));
        for node in protocols {
            self.protocol(node, attrs);
        }
    }

    /// One `protocol` block: kept as a passive `protocol` entry whose
    /// value holds its printed lines; dropped without a `type`.
    fn protocol(&mut self, node: &Node, attrs: &mut Attrs) {
        let mut entry = Attrs::default();
        let kids = node.children.as_deref().unwrap_or(&[]);
        self.settings(kids, Section::Protocol, &mut Level::Overrides(&mut entry));
        if !entry.passive.iter().any(|p| p.keyword == "type") {
            let path = self.path.to_owned();
            self.report(node.line, format!("protocol section in {path} missing type"));
            return;
        }
        let value = section_lines(Section::Protocol, &entry)
            .into_iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        attrs.passive.push(Passive { keyword: "protocol".into(), value });
    }

    fn rule_set(&mut self, children: &[Node], name: &str, set: &mut RuleSet) {
        for node in children {
            let list = match node.keyword.as_str() {
                "devnode" => &mut set.devnode,
                "wwid" => &mut set.wwid,
                "property" => &mut set.property,
                "protocol" => &mut set.protocol,
                "device" if node.children.is_some() => {
                    self.device_rule(node, &mut set.device);
                    continue;
                }
                _ => {
                    self.report(node.line, format!("invalid keyword in the {name} section: {}", node.keyword));
                    continue;
                }
            };
            let pattern = node.value().unwrap_or("");
            if self.pattern_ok(node, pattern) {
                list.push(Rule { pattern: pattern.to_owned(), origin: self.origin(node.line) });
            }
        }
    }

    /// blacklist.c compiles each pattern when it is read (after a leading
    /// `!`, which inverts it; `\!` stands for a literal `!`); a pattern
    /// that does not compile is not stored and fails the handler.
    fn pattern_ok(&mut self, node: &Node, pattern: &str) -> bool {
        let regex = pattern
            .strip_prefix('!')
            .or_else(|| pattern.strip_prefix('\\').filter(|rest| rest.starts_with('!')))
            .unwrap_or(pattern);
        match Regex::new(regex) {
            Ok(_) => true,
            Err(e) => {
                self.failures += 1;
                self.report(node.line, format!("{}: {e}; parsing failed", node.keyword));
                false
            }
        }
    }

    fn device_rule(&mut self, node: &Node, rules: &mut Vec<DeviceRule>) {
        let mut rule = DeviceRule { origin: self.origin(node.line), ..DeviceRule::default() };
        let mut seen = HashSet::new();
        for kid in node.children.as_deref().unwrap_or(&[]) {
            let slot = match kid.keyword.as_str() {
                "vendor" => &mut rule.vendor,
                "product" => &mut rule.product,
                _ => {
                    self.report(kid.line, format!("invalid keyword in the device section: {}", kid.keyword));
                    continue;
                }
            };
            if !seen.insert(kid.keyword.clone()) {
                self.report(kid.line, format!("duplicate keyword: {}", kid.keyword));
            }
            let pattern = kid.value().unwrap_or("");
            if self.pattern_ok(kid, pattern) {
                *slot = Some(pattern.to_owned());
            }
        }
        rules.push(rule);
    }

    /// config.c's end-of-file step for the device entries this file added:
    /// entries without vendor or product are dropped, and an entry with
    /// the same vendor/product/revision strings as an earlier user entry
    /// absorbs it (its own values win).
    fn factorize_devices(&mut self, devices: &mut Vec<DeviceEntry>, first_new: usize) {
        let mut kept = Vec::with_capacity(devices.len());
        for (index, entry) in std::mem::take(devices).into_iter().enumerate() {
            if index >= first_new && (entry.vendor.is_none() || entry.product.is_none()) {
                let path = self.path.to_owned();
                self.diagnostics.push(Diagnostic {
                    origin: entry.origin.clone(),
                    message: format!("device config in {path} missing vendor or product parameter"),
                });
                continue;
            }
            kept.push((index >= first_new, entry));
        }
        let mut groups: HashMap<DeviceKey, Vec<usize>> = HashMap::new();
        for (index, (_, entry)) in kept.iter().enumerate() {
            let key = (entry.vendor.clone(), entry.product.clone(), entry.revision.clone());
            groups.entry(key).or_default().push(index);
        }
        let mut absorbed = vec![false; kept.len()];
        let mut merges = Vec::new();
        for members in groups.values() {
            if members.len() < 2 || !members.iter().any(|&i| kept.get(i).is_some_and(|k| k.0)) {
                continue;
            }
            merges.push(members.clone());
        }
        merges.sort();
        for members in merges {
            let Some((&last, earlier)) = members.split_last() else { continue };
            for &i in earlier {
                let Some(source) = kept.get(i).map(|k| k.1.clone()) else { continue };
                if let Some((_, target)) = kept.get_mut(last) {
                    fill_device(target, &source);
                }
                if let Some(flag) = absorbed.get_mut(i) {
                    *flag = true;
                }
                if kept.get(i).is_some_and(|k| k.0) {
                    let message = format!(
                        "duplicate device section for {}:{}:{} in {}",
                        source.vendor.as_deref().unwrap_or("(null)"),
                        source.product.as_deref().unwrap_or("(null)"),
                        source.revision.as_deref().unwrap_or("(null)"),
                        self.path
                    );
                    self.diagnostics.push(Diagnostic { origin: source.origin.clone(), message });
                }
            }
        }
        *devices = kept
            .into_iter()
            .zip(absorbed)
            .filter(|(_, gone)| !gone)
            .map(|((_, entry), _)| entry)
            .collect();
    }
}

/// Vendor, product and revision strings: what makes two device entries one.
type DeviceKey = (Option<String>, Option<String>, Option<String>);

/// The level a settings block writes to.
enum Level<'a> {
    Defaults(&'a mut super::Defaults),
    Device(&'a mut DeviceEntry),
    Overrides(&'a mut Attrs),
    Multipath(&'a mut MultipathEntry),
}

impl Level<'_> {
    fn attrs(&mut self) -> &mut Attrs {
        match self {
            Level::Defaults(d) => &mut d.attrs,
            Level::Device(d) => &mut d.attrs,
            Level::Overrides(a) => a,
            Level::Multipath(m) => &mut m.attrs,
        }
    }

    fn store(&mut self, keyword: &str, slot: Slot, value: Value) {
        let text = value.text();
        let as_bool = match value {
            Value::Bool(b) => Some(b),
            _ => None,
        };
        let as_int = match value {
            Value::Int(n) => u32::try_from(n).ok(),
            _ => None,
        };
        match slot {
            Slot::Passive => set_passive(&mut self.attrs().passive, keyword, text),
            Slot::Dropped => {}
            Slot::Pgp => {
                if let Value::Policy(p) = value {
                    self.attrs().path_grouping_policy = Some(p);
                }
            }
            Slot::Npr => {
                if let Value::Npr(n) = value {
                    self.attrs().no_path_retry = Some(n);
                }
            }
            Slot::RrWeight => {
                if let Value::RrW(r) = value {
                    self.attrs().rr_weight = Some(r);
                }
            }
            Slot::FindMp => {
                if let (Level::Defaults(d), Value::Fm(f)) = (self, value) {
                    d.find_multipaths = Some(f);
                }
            }
            Slot::Selector => self.attrs().path_selector = text,
            Slot::HwHandler => self.attrs().hardware_handler = text,
            Slot::Features => self.attrs().features = text,
            Slot::Prio => self.attrs().prio = text,
            Slot::PrioArgs => self.attrs().prio_args = text,
            Slot::AliasPrefix => self.attrs().alias_prefix = text,
            Slot::Checker => self.attrs().path_checker = text,
            Slot::MinIo => self.attrs().rr_min_io = as_int,
            Slot::MinIoRq => self.attrs().rr_min_io_rq = as_int,
            Slot::DetectPrio => self.attrs().detect_prio = as_bool,
            Slot::RetainHw => self.attrs().retain_attached_hw_handler = as_bool,
            Slot::Ufn => self.attrs().user_friendly_names = as_bool,
            Slot::DetectChecker => self.attrs().detect_checker = as_bool,
            Slot::AllowUsb | Slot::Bindings | Slot::Wwids | Slot::Verbosity => {
                if let Level::Defaults(d) = self {
                    match slot {
                        Slot::AllowUsb => d.allow_usb_devices = as_bool,
                        Slot::Bindings => d.bindings_file = text,
                        Slot::Wwids => d.wwids_file = text,
                        _ => d.verbosity = as_int.and_then(|n| u8::try_from(n).ok()),
                    }
                }
            }
            Slot::Vendor | Slot::Product | Slot::Revision | Slot::ProductBlacklist | Slot::VpdVendor => {
                if let Level::Device(d) = self {
                    match slot {
                        Slot::Vendor => d.vendor = text,
                        Slot::Product => d.product = text,
                        Slot::Revision => d.revision = text,
                        Slot::ProductBlacklist => d.product_blacklist = text,
                        _ => d.vpd_vendor = text,
                    }
                }
            }
            Slot::Wwid | Slot::Alias => {
                if let Level::Multipath(m) = self {
                    if slot == Slot::Wwid {
                        m.wwid = text;
                    } else {
                        m.alias = text;
                    }
                }
            }
        }
    }
}

/// Sets (or, with `None`, clears) a passive setting; one entry per keyword.
fn set_passive(passive: &mut Vec<Passive>, keyword: &str, value: Option<String>) {
    let existing = passive.iter().position(|p| p.keyword == keyword);
    match (existing, value) {
        (Some(i), Some(value)) => {
            if let Some(p) = passive.get_mut(i) {
                p.value = value;
            }
        }
        (Some(i), None) => {
            passive.remove(i);
        }
        (None, Some(value)) => passive.push(Passive { keyword: keyword.to_owned(), value }),
        (None, None) => {}
    }
}

fn fill<T: Clone>(target: &mut Option<T>, source: &Option<T>) {
    if target.is_none() {
        target.clone_from(source);
    }
}

/// config.c's `merge_str`: an empty string does not fill a gap.
fn fill_str(target: &mut Option<String>, source: &Option<String>) {
    if target.is_none() && source.as_deref().is_some_and(|s| !s.is_empty()) {
        target.clone_from(source);
    }
}

/// Fills the settings `target` lacks from `source` (config.c's merge of
/// duplicate entries: the target's own values win).
fn fill_attrs(target: &mut Attrs, source: &Attrs) {
    fill(&mut target.path_grouping_policy, &source.path_grouping_policy);
    fill_str(&mut target.path_selector, &source.path_selector);
    fill_str(&mut target.hardware_handler, &source.hardware_handler);
    fill_str(&mut target.features, &source.features);
    fill(&mut target.no_path_retry, &source.no_path_retry);
    fill(&mut target.rr_weight, &source.rr_weight);
    fill(&mut target.rr_min_io_rq, &source.rr_min_io_rq);
    fill(&mut target.rr_min_io, &source.rr_min_io);
    fill_str(&mut target.prio, &source.prio);
    fill_str(&mut target.prio_args, &source.prio_args);
    fill(&mut target.detect_prio, &source.detect_prio);
    fill(&mut target.retain_attached_hw_handler, &source.retain_attached_hw_handler);
    fill(&mut target.user_friendly_names, &source.user_friendly_names);
    fill_str(&mut target.alias_prefix, &source.alias_prefix);
    fill_str(&mut target.path_checker, &source.path_checker);
    fill(&mut target.detect_checker, &source.detect_checker);
    for p in &source.passive {
        if !p.value.is_empty() && !target.passive.iter().any(|t| t.keyword == p.keyword) {
            target.passive.push(p.clone());
        }
    }
}

fn fill_device(target: &mut DeviceEntry, source: &DeviceEntry) {
    fill_str(&mut target.product_blacklist, &source.product_blacklist);
    fill(&mut target.vpd_vendor, &source.vpd_vendor);
    fill_attrs(&mut target.attrs, &source.attrs);
}

/// The end-of-load steps of config.c, after every file was applied:
/// multipaths entries without wwid are dropped, the rest sorted by wwid
/// (stable) and entries with the same wwid merged into the last one;
/// protocol entries with the same type merged into the last; blacklist
/// device entries with neither vendor nor product dropped; repeated
/// blacklist entries removed.
pub fn finish(config: &mut Config, diagnostics: &mut Vec<Diagnostic>) {
    finish_multipaths(&mut config.multipaths, diagnostics);
    merge_protocols(&mut config.overrides.passive);
    for set in [&mut config.blacklist, &mut config.exceptions] {
        for list in [&mut set.devnode, &mut set.wwid, &mut set.property, &mut set.protocol] {
            let mut seen = HashSet::new();
            list.retain(|r| seen.insert(r.pattern.clone()));
        }
        set.device.retain(|d| d.vendor.is_some() || d.product.is_some());
        let mut seen = HashSet::new();
        set.device.retain(|d| seen.insert((d.vendor.clone(), d.product.clone())));
    }
}

fn finish_multipaths(entries: &mut Vec<MultipathEntry>, diagnostics: &mut Vec<Diagnostic>) {
    let mut kept: Vec<MultipathEntry> = Vec::with_capacity(entries.len());
    for entry in std::mem::take(entries) {
        if entry.wwid.is_none() {
            diagnostics.push(Diagnostic {
                origin: entry.origin.clone(),
                message: "multipaths config section missing wwid".into(),
            });
        } else {
            kept.push(entry);
        }
    }
    kept.sort_by(|a, b| a.wwid.cmp(&b.wwid));
    for entry in kept {
        match entries.last_mut() {
            Some(previous) if previous.wwid == entry.wwid => {
                diagnostics.push(Diagnostic {
                    origin: entry.origin.clone(),
                    message: format!(
                        "duplicate multipath config section for {}",
                        entry.wwid.as_deref().unwrap_or("")
                    ),
                });
                let earlier = std::mem::replace(previous, entry);
                fill_str(&mut previous.alias, &earlier.alias);
                fill_attrs(&mut previous.attrs, &earlier.attrs);
            }
            _ => entries.push(entry),
        }
    }
}

/// The lines of a stored protocol block, as (keyword, printed value).
fn protocol_entry_lines(value: &str) -> Vec<(String, String)> {
    value
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// config.c's `merge_pctable`: a protocol entry absorbs earlier ones of
/// the same type (its own values win).
fn merge_protocols(passive: &mut Vec<Passive>) {
    let mut merged: Vec<Passive> = Vec::with_capacity(passive.len());
    for p in std::mem::take(passive) {
        if p.keyword != "protocol" {
            merged.push(p);
            continue;
        }
        let lines = protocol_entry_lines(&p.value);
        let kind = lines.iter().find(|(k, _)| k == "type").map(|(_, v)| v.clone());
        let earlier = merged.iter().position(|q| {
            q.keyword == "protocol"
                && protocol_entry_lines(&q.value).iter().any(|(k, v)| k == "type" && Some(v) == kind.as_ref())
        });
        let mut lines = lines;
        if let Some(i) = earlier {
            let old = merged.remove(i);
            for (k, v) in protocol_entry_lines(&old.value) {
                if !lines.iter().any(|(key, _)| *key == k) {
                    lines.push((k, v));
                }
            }
        }
        lines.sort_by_key(|(k, _)| PROTOCOL_KEYWORDS.iter().position(|p| p == k));
        let value = lines.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join("\n");
        merged.push(Passive { keyword: "protocol".into(), value });
    }
    *passive = merged;
}

/// The printed value of a typed setting of `attrs`, if set.
fn typed_line(attrs: &Attrs, keyword: &str) -> Option<String> {
    Some(match keyword {
        "path_grouping_policy" => quote(attrs.path_grouping_policy?.name()),
        "path_selector" => quote(attrs.path_selector.as_deref()?),
        "hardware_handler" => quote(attrs.hardware_handler.as_deref()?),
        "features" => quote(attrs.features.as_deref()?),
        "no_path_retry" => match attrs.no_path_retry? {
            NoPathRetry::Retries(n) => n.to_string(),
            other => quote(&no_path_retry_text(other)),
        },
        "rr_weight" => quote(rr_weight_name(attrs.rr_weight?)),
        "rr_min_io" => attrs.rr_min_io?.to_string(),
        "rr_min_io_rq" => attrs.rr_min_io_rq?.to_string(),
        "prio" => quote(attrs.prio.as_deref()?),
        "prio_args" => quote(attrs.prio_args.as_deref()?),
        "detect_prio" => quote(yes_no(attrs.detect_prio?)),
        "retain_attached_hw_handler" => quote(yes_no(attrs.retain_attached_hw_handler?)),
        "user_friendly_names" => quote(yes_no(attrs.user_friendly_names?)),
        "alias_prefix" => quote(attrs.alias_prefix.as_deref()?),
        "path_checker" => quote(attrs.path_checker.as_deref()?),
        "detect_checker" => quote(yes_no(attrs.detect_checker?)),
        _ => return None,
    })
}

/// One line of `attrs` (typed or passive) for `keyword`.
fn attrs_line(attrs: &Attrs, keyword: &str) -> Option<String> {
    if let Some(line) = typed_line(attrs, keyword) {
        return Some(line);
    }
    let passive = attrs.passive.iter().find(|p| p.keyword == keyword)?;
    Some(render(spec(keyword).map(|s| s.0), &passive.value))
}

/// The set settings of one section's `Attrs` in that section's print
/// order (`checker`, an alias of `path_checker`, and deprecated keywords
/// print nothing, as in multipath-tools). For `Overrides`, protocol
/// blocks come last as ("protocol", "{\n\t\t<lines>\n\t}") so that the
/// usual "\t%k %v" layout prints the block.
pub fn section_lines(section: Section, attrs: &Attrs) -> Vec<(&'static str, String)> {
    let mut lines: Vec<(&'static str, String)> = keywords_of(section)
        .filter(|k| *k != "checker")
        .filter_map(|k| attrs_line(attrs, k).map(|v| (k, v)))
        .collect();
    if section == Section::Overrides {
        for p in attrs.passive.iter().filter(|p| p.keyword == "protocol") {
            let body = p.value.lines().map(|l| format!("\t\t{l}\n")).collect::<String>();
            lines.push(("protocol", format!("{{\n{body}\t}}")));
        }
    }
    lines
}

/// Every set field of `attrs` as (keyword, printed value), values quoted
/// as `multipath -t` quotes them, passive ones included. The order is the
/// defaults section's, then keywords only other sections have; use
/// [`section_lines`], [`defaults_lines`], [`device_lines`] or
/// [`multipath_lines`] for the exact order of one section.
pub fn attrs_lines(attrs: &Attrs) -> Vec<(&'static str, String)> {
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    for section in [Section::Defaults, Section::Device, Section::Overrides, Section::Multipath] {
        for keyword in keywords_of(section) {
            if keyword == "checker" || !seen.insert(keyword) {
                continue;
            }
            if let Some(value) = attrs_line(attrs, keyword) {
                lines.push((keyword, value));
            }
        }
    }
    lines
}

/// The set lines of a `defaults` section, in multipath-tools' order.
pub fn defaults_lines(defaults: &super::Defaults) -> Vec<(&'static str, String)> {
    keywords_of(Section::Defaults)
        .filter(|k| *k != "checker")
        .filter_map(|k| {
            let value = match k {
                "find_multipaths" => defaults.find_multipaths.map(|f| quote(find_multipaths_name(f))),
                "allow_usb_devices" => defaults.allow_usb_devices.map(|b| quote(yes_no(b))),
                "bindings_file" => defaults.bindings_file.as_deref().map(quote),
                "wwids_file" => defaults.wwids_file.as_deref().map(quote),
                "verbosity" => defaults.verbosity.map(|v| v.to_string()),
                _ => attrs_line(&defaults.attrs, k),
            };
            value.map(|v| (k, v))
        })
        .collect()
}

/// The set lines of one `device` entry, in multipath-tools' order.
pub fn device_lines(entry: &DeviceEntry) -> Vec<(&'static str, String)> {
    keywords_of(Section::Device)
        .filter(|k| *k != "checker")
        .filter_map(|k| {
            let value = match k {
                "vendor" => entry.vendor.as_deref().map(quote),
                "product" => entry.product.as_deref().map(quote),
                "revision" => entry.revision.as_deref().map(quote),
                "product_blacklist" => entry.product_blacklist.as_deref().map(quote),
                "vpd_vendor" => entry.vpd_vendor.as_deref().map(quote),
                _ => attrs_line(&entry.attrs, k),
            };
            value.map(|v| (k, v))
        })
        .collect()
}

/// The set lines of one `multipath` entry, in multipath-tools' order.
pub fn multipath_lines(entry: &MultipathEntry) -> Vec<(&'static str, String)> {
    keywords_of(Section::Multipath)
        .filter_map(|k| {
            let value = match k {
                "wwid" => entry.wwid.as_deref().map(quote),
                "alias" => entry.alias.as_deref().map(quote),
                _ => attrs_line(&entry.attrs, k),
            };
            value.map(|v| (k, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse::parse;

    const PATH: &str = "/etc/multipath.conf";

    fn load_text(text: &str) -> (Config, Vec<Diagnostic>, FileOutcome) {
        let (nodes, mut diags) = parse(text.as_bytes(), PATH);
        let mut config = Config::default();
        let outcome = apply_file(&nodes, PATH, &mut config, &mut diags);
        finish(&mut config, &mut diags);
        (config, diags, outcome)
    }

    fn line_of(d: &Diagnostic) -> u32 {
        match d.origin {
            Origin::File { line, .. } => line,
            Origin::Builtin => 0,
        }
    }

    fn passive<'a>(attrs: &'a Attrs, keyword: &str) -> Option<&'a str> {
        attrs.passive.iter().find(|p| p.keyword == keyword).map(|p| p.value.as_str())
    }

    #[test]
    fn defaults_typed_values() {
        let (c, d, _) = load_text(
            "defaults {\n path_grouping_policy group_by_serial\n path_selector \"service-time 0\"\n features \"1 queue_if_no_path\"\n no_path_retry queue\n rr_weight priorities\n rr_min_io_rq 7\n rr_min_io 9\n prio alua\n prio_args \"\"\n detect_prio no\n retain_attached_hw_handler 1\n user_friendly_names yes\n alias_prefix dm\n path_checker tur\n detect_checker 0\n find_multipaths greedy\n allow_usb_devices yes\n bindings_file /etc/b\n wwids_file /etc/w\n verbosity 3\n}\n",
        );
        let a = &c.defaults.attrs;
        assert_eq!(a.path_grouping_policy, Some(Policy::GroupBySerial));
        assert_eq!(a.path_selector.as_deref(), Some("service-time 0"));
        assert_eq!(a.features.as_deref(), Some("1 queue_if_no_path"));
        assert_eq!(a.no_path_retry, Some(NoPathRetry::Queue));
        assert_eq!(a.rr_weight, Some(RrWeight::Priorities));
        assert_eq!((a.rr_min_io_rq, a.rr_min_io), (Some(7), Some(9)));
        assert_eq!(a.prio.as_deref(), Some("alua"));
        assert_eq!(a.prio_args.as_deref(), Some(""));
        assert_eq!(a.detect_prio, Some(false));
        assert_eq!(a.retain_attached_hw_handler, Some(true));
        assert_eq!(a.user_friendly_names, Some(true));
        assert_eq!(a.alias_prefix.as_deref(), Some("dm"));
        assert_eq!(a.path_checker.as_deref(), Some("tur"));
        assert_eq!(a.detect_checker, Some(false));
        assert_eq!(c.defaults.find_multipaths, Some(FindMultipaths::Greedy));
        assert_eq!(c.defaults.allow_usb_devices, Some(true));
        assert_eq!(c.defaults.bindings_file.as_deref(), Some("/etc/b"));
        assert_eq!(c.defaults.wwids_file.as_deref(), Some("/etc/w"));
        assert_eq!(c.defaults.verbosity, Some(3));
        // The only diagnostics: bindings_file and wwids_file are deprecated.
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|d| d.message.contains("deprecated")));
    }

    #[test]
    fn find_multipaths_spellings() {
        for (text, want) in [
            ("off", FindMultipaths::Off),
            ("no", FindMultipaths::Off),
            ("0", FindMultipaths::Off),
            ("on", FindMultipaths::On),
            ("yes", FindMultipaths::On),
            ("1", FindMultipaths::On),
            ("strict", FindMultipaths::Strict),
            ("smart", FindMultipaths::Smart),
        ] {
            let (c, _, _) = load_text(&format!("defaults {{\nfind_multipaths {text}\n}}\n"));
            assert_eq!(c.defaults.find_multipaths, Some(want), "{text}");
        }
    }

    #[test]
    fn bad_values_keep_the_previous_value_and_name_keyword_and_value() {
        let (c, d, _) = load_text(
            "defaults {\n user_friendly_names yes\n}\ndefaults {\n user_friendly_names on\n no_path_retry sometimes\n path_grouping_policy best\n rr_weight heavy\n path_selector \"round-robin 2\"\n alias_prefix a/b\n bindings_file relative\n verbosity x\n}\n",
        );
        assert_eq!(c.defaults.attrs.user_friendly_names, Some(true));
        assert_eq!(c.defaults.attrs.no_path_retry, None);
        assert_eq!(c.defaults.attrs.path_grouping_policy, None);
        assert_eq!(c.defaults.attrs.rr_weight, None);
        assert_eq!(c.defaults.attrs.path_selector, None);
        assert_eq!(c.defaults.attrs.alias_prefix, None);
        assert_eq!(c.defaults.bindings_file, None);
        assert_eq!(c.defaults.verbosity, None);
        let at = |line: u32| d.iter().find(|x| line_of(x) == line).map(|x| x.message.clone()).unwrap_or_default();
        assert!(at(4).contains("duplicate keyword: defaults"));
        assert!(at(5).contains("user_friendly_names") && at(5).contains("\"on\""));
        assert!(at(6).contains("no_path_retry") && at(6).contains("sometimes"));
        assert!(at(7).contains("best"));
        assert!(at(8).contains("heavy"));
        assert!(at(9).contains("argument count"));
        assert!(at(10).contains("slash"));
        assert!(at(11).contains("absolute"));
        assert!(at(12).contains("verbosity") && at(12).contains("\"x\""));
    }

    #[test]
    fn numbers_are_capped_and_zero_clears() {
        let (c, d, _) = load_text(
            "defaults {\n verbosity 9\n no_path_retry -3\n rr_min_io 99999999999\n rr_min_io_rq 5\n}\ndefaults {\n rr_min_io_rq 0\n no_path_retry 0\n}\n",
        );
        assert_eq!(c.defaults.verbosity, Some(4));
        assert_eq!(c.defaults.attrs.rr_min_io, Some(i32::MAX as u32));
        assert_eq!(c.defaults.attrs.rr_min_io_rq, None);
        assert_eq!(c.defaults.attrs.no_path_retry, Some(NoPathRetry::Fail));
        assert!(d.iter().any(|x| x.message.contains("too large, capping at 4")));
        assert!(d.iter().any(|x| x.message.contains("too small, capping at 1")));
        let (c, _, _) = load_text("defaults {\n no_path_retry \" 12 \"\n}\n");
        assert_eq!(c.defaults.attrs.no_path_retry, Some(NoPathRetry::Retries(12)));
    }

    #[test]
    fn pgpolicy_compares_name_prefix_like_multipath_tools() {
        let (c, _, _) = load_text("defaults {\n path_grouping_policy multibus_extra\n}\n");
        assert_eq!(c.defaults.attrs.path_grouping_policy, Some(Policy::Multibus));
        let (c, _, _) = load_text("defaults {\n path_grouping_policy group_by_node_name\n}\n");
        assert_eq!(c.defaults.attrs.path_grouping_policy, Some(Policy::GroupByNodeName));
    }

    #[test]
    fn passive_keywords_are_kept_in_canonical_form() {
        let (c, d, _) = load_text(
            "defaults {\n polling_interval 10\n failback manual\n fast_io_fail_tmo off\n dev_loss_tmo infinity\n checker_timeout 0\n delay_watch_checks 0\n mode 644\n reservation_key 0xABC:aptpl\n queue_without_daemon no\n uid_attrs \"sd:ID_SERIAL nvme:ID_WWN\"\n disable_changed_wwids whatever\n}\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let a = &c.defaults.attrs;
        assert_eq!(passive(a, "polling_interval"), Some("10"));
        assert_eq!(passive(a, "failback"), Some("manual"));
        assert_eq!(passive(a, "fast_io_fail_tmo"), Some("off"));
        assert_eq!(passive(a, "dev_loss_tmo"), Some("infinity"));
        assert_eq!(passive(a, "checker_timeout"), None);
        assert_eq!(passive(a, "delay_watch_checks"), Some("no"));
        assert_eq!(passive(a, "mode"), Some("0644"));
        assert_eq!(passive(a, "reservation_key"), Some("0xabc:aptpl"));
        let lines = defaults_lines(&c.defaults);
        let get = |k: &str| lines.iter().find(|l| l.0 == k).map(|l| l.1.clone());
        assert_eq!(get("polling_interval").as_deref(), Some("10"));
        assert_eq!(get("failback").as_deref(), Some("\"manual\""));
        assert_eq!(get("fast_io_fail_tmo").as_deref(), Some("off"));
        assert_eq!(get("dev_loss_tmo").as_deref(), Some("\"infinity\""));
        assert_eq!(get("delay_watch_checks").as_deref(), Some("\"no\""));
        assert_eq!(get("queue_without_daemon").as_deref(), Some("\"no\""));
        assert_eq!(get("uid_attrs").as_deref(), Some("sd:ID_SERIAL nvme:ID_WWN"));
        assert_eq!(get("disable_changed_wwids").as_deref(), Some("\"ignored\""));
        assert_eq!(get("reservation_key").as_deref(), Some("0xabc:aptpl"));
        // multipath-tools' order: polling_interval before failback before mode.
        let order: Vec<_> = lines.iter().map(|l| l.0).collect();
        let pos = |k: &str| order.iter().position(|o| *o == k).unwrap();
        assert!(pos("polling_interval") < pos("failback") && pos("failback") < pos("mode"));
    }

    #[test]
    fn deprecated_and_unknown_keywords_are_reported() {
        let (c, d, _) = load_text(
            "defaults {\n getuid_callout /bin/x\n no_such_thing 1\n hardware_handler \"1 alua\"\n}\nfrobnicate {\n}\n",
        );
        assert!(d.iter().any(|x| line_of(x) == 2 && x.message.contains("deprecated option \"getuid_callout\"")));
        assert!(d.iter().any(|x| line_of(x) == 3 && x.message.contains("invalid keyword in the defaults section: no_such_thing")));
        assert!(d.iter().any(|x| line_of(x) == 4 && x.message.contains("hardware_handler")));
        assert!(d.iter().any(|x| line_of(x) == 6 && x.message.contains("invalid keyword: frobnicate")));
        assert!(c.defaults.attrs.passive.is_empty());
        assert_eq!(c.defaults.attrs.hardware_handler, None);
    }

    #[test]
    fn devices_are_appended_and_factorized() {
        let text = "devices {\n device {\n  vendor \"NETAPP\"\n  product \"LUN.*\"\n  hardware_handler \"1 alua\"\n  no_path_retry 5\n  vpd_vendor hp3par\n }\n device {\n  vendor \"X\"\n }\n device {\n  vendor \"NETAPP\"\n  product \"LUN.*\"\n  no_path_retry fail\n }\n}\n";
        let (c, d, _) = load_text(text);
        assert_eq!(c.devices.len(), 1, "{:?}", c.devices);
        let e = &c.devices[0];
        assert_eq!(e.attrs.no_path_retry, Some(NoPathRetry::Fail));
        assert_eq!(e.attrs.hardware_handler.as_deref(), Some("1 alua"));
        assert_eq!(e.vpd_vendor.as_deref(), Some("hp3par"));
        assert_eq!(e.origin, Origin::File { path: PATH.into(), line: 12 });
        assert!(d.iter().any(|x| line_of(x) == 9 && x.message.contains("missing vendor or product")));
        assert!(d.iter().any(|x| line_of(x) == 2 && x.message.contains("duplicate device section")));
        let lines = device_lines(e);
        assert_eq!(lines[0], ("vendor", "\"NETAPP\"".to_owned()));
        assert!(lines.iter().any(|l| *l == ("hardware_handler", "\"1 alua\"".to_owned())));
        assert_eq!(lines.last().unwrap().0, "vpd_vendor");
    }

    #[test]
    fn multipaths_sorted_merged_and_checked() {
        let text = "multipaths {\n multipath {\n  wwid 3600b\n  alias data\n  rr_weight uniform\n }\n multipath {\n  alias orphan\n }\n multipath {\n  wwid 3600a\n  alias \"a/b\"\n }\n multipath {\n  wwid 3600b\n  no_path_retry 3\n }\n}\n";
        let (c, d, _) = load_text(text);
        let wwids: Vec<_> = c.multipaths.iter().map(|m| m.wwid.clone().unwrap()).collect();
        assert_eq!(wwids, ["3600a", "3600b"]);
        let b = &c.multipaths[1];
        assert_eq!(b.alias.as_deref(), Some("data"));
        assert_eq!(b.attrs.rr_weight, Some(RrWeight::Uniform));
        assert_eq!(b.attrs.no_path_retry, Some(NoPathRetry::Retries(3)));
        assert_eq!(c.multipaths[0].alias, None);
        assert!(d.iter().any(|x| line_of(x) == 7 && x.message.contains("missing wwid")));
        assert!(d.iter().any(|x| line_of(x) == 12 && x.message.contains("slash")));
        assert!(d.iter().any(|x| x.message.contains("duplicate multipath config section for 3600b")));
        let lines = multipath_lines(b);
        assert_eq!(lines[0], ("wwid", "\"3600b\"".to_owned()));
        assert_eq!(lines[1], ("alias", "\"data\"".to_owned()));
        assert!(lines.contains(&("no_path_retry", "3".to_owned())));
    }

    #[test]
    fn keywords_not_in_a_section_are_rejected_there() {
        let (c, d, _) = load_text("multipaths {\n multipath {\n  wwid 1\n  path_checker tur\n  alias_prefix x\n }\n}\n");
        assert_eq!(c.multipaths[0].attrs.path_checker, None);
        assert!(d.iter().any(|x| line_of(x) == 4 && x.message.contains("multipath section: path_checker")));
        assert!(d.iter().any(|x| line_of(x) == 5));
    }

    #[test]
    fn blacklist_rules_and_bad_regex() {
        let text = "blacklist {\n devnode \"^sd[a-z]\"\n wwid \"(\"\n wwid \"!^36\"\n property ID_WWN\n protocol \"scsi:fcp\"\n device {\n  vendor IBM\n  product \"[\"\n }\n device {\n }\n devnode \"^sd[a-z]\"\n}\nblacklist_exceptions {\n wwid 3600\n}\n";
        let (c, d, outcome) = load_text(text);
        assert_eq!(outcome.handler_failures, 2);
        assert_eq!(c.blacklist.devnode.len(), 1);
        assert_eq!(c.blacklist.wwid.iter().map(|r| r.pattern.as_str()).collect::<Vec<_>>(), ["!^36"]);
        assert_eq!(c.blacklist.property[0].pattern, "ID_WWN");
        assert_eq!(c.blacklist.protocol[0].pattern, "scsi:fcp");
        assert_eq!(c.blacklist.device.len(), 1);
        assert_eq!(c.blacklist.device[0].vendor.as_deref(), Some("IBM"));
        assert_eq!(c.blacklist.device[0].product, None);
        assert_eq!(c.exceptions.wwid[0].pattern, "3600");
        assert_eq!(c.blacklist.devnode[0].origin, Origin::File { path: PATH.into(), line: 2 });
        assert!(d.iter().any(|x| line_of(x) == 3 && x.message.contains("parsing failed")));
        assert!(d.iter().any(|x| line_of(x) == 9 && x.message.contains("parsing failed")));
    }

    #[test]
    fn bad_reservation_key_fails_the_handler() {
        let (_, d, outcome) = load_text("defaults {\n reservation_key 0xZZ\n}\n");
        assert_eq!(outcome.handler_failures, 1);
        assert!(d.iter().any(|x| line_of(x) == 2 && x.message.contains("reservation_key")));
    }

    #[test]
    fn overrides_and_protocol_subsection() {
        let text = "overrides {\n no_path_retry 10\n dev_loss_tmo 60\n protocol {\n  type scsi:fcp\n  dev_loss_tmo 30\n }\n protocol {\n  fast_io_fail_tmo 5\n }\n protocol {\n  type bogus\n }\n protocol {\n  type \"scsi:fcp\"\n  eh_deadline 7\n }\n}\n";
        let (c, d, _) = load_text(text);
        assert_eq!(c.overrides.no_path_retry, Some(NoPathRetry::Retries(10)));
        let lines = section_lines(Section::Overrides, &c.overrides);
        let protocols: Vec<_> = lines.iter().filter(|l| l.0 == "protocol").collect();
        assert_eq!(protocols.len(), 1, "{lines:?}");
        assert_eq!(protocols[0].1, "{\n\t\ttype \"scsi:fcp\"\n\t\tdev_loss_tmo 30\n\t\teh_deadline 7\n\t}");
        assert!(lines.contains(&("dev_loss_tmo", "60".to_owned())));
        assert_eq!(d.iter().filter(|x| x.message.contains("missing type")).count(), 2);
        assert!(d.iter().any(|x| line_of(x) == 12 && x.message.contains("bogus")));
    }

    #[test]
    fn later_file_overrides_and_appends() {
        let mut config = Config::default();
        let mut diags = Vec::new();
        for (path, text) in [
            ("/etc/multipath.conf", "defaults {\n user_friendly_names yes\n polling_interval 5\n}\ndevices {\n device {\n  vendor A\n  product B\n }\n}\n"),
            ("/etc/multipath/conf.d/x.conf", "defaults {\n user_friendly_names no\n}\ndevices {\n device {\n  vendor C\n  product D\n }\n}\n"),
        ] {
            let (nodes, mut d) = parse(text.as_bytes(), path);
            apply(&nodes, path, &mut config, &mut d);
            diags.extend(d);
        }
        finish(&mut config, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(config.defaults.attrs.user_friendly_names, Some(false));
        assert_eq!(passive(&config.defaults.attrs, "polling_interval"), Some("5"));
        assert_eq!(config.devices.len(), 2);
        assert_eq!(
            config.devices[1].origin,
            Origin::File { path: "/etc/multipath/conf.d/x.conf".into(), line: 5 }
        );
    }

    #[test]
    fn helper_spellings() {
        assert_eq!(yes_no(true), "yes");
        assert_eq!(yes_no(false), "no");
        assert_eq!(no_path_retry_text(NoPathRetry::Retries(7)), "7");
        assert_eq!(no_path_retry_text(NoPathRetry::Queue), "queue");
        assert_eq!(rr_weight_name(RrWeight::Priorities), "priorities");
        assert_eq!(find_multipaths_name(FindMultipaths::Smart), "smart");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn attrs_lines_round_trip_through_the_parser() {
        let text = "defaults {\n path_grouping_policy multibus\n prio_args \"weird \"\"quoted\"\" value\"\n no_path_retry 4\n dev_loss_tmo 120\n failback 15\n detect_prio yes\n}\n";
        let (c, _, _) = load_text(text);
        let printed: String = attrs_lines(&c.defaults.attrs)
            .into_iter()
            .map(|(k, v)| format!("\t{k} {v}\n"))
            .collect();
        let (again, d, _) = load_text(&format!("defaults {{\n{printed}}}\n"));
        assert!(d.is_empty(), "{d:?}");
        // Passive settings are kept in file order, printed in table order.
        let sorted = |a: &Attrs| {
            let mut a = a.clone();
            a.passive.sort_by(|x, y| x.keyword.cmp(&y.keyword));
            a
        };
        assert_eq!(sorted(&again.defaults.attrs), sorted(&c.defaults.attrs));
        assert_eq!(c.defaults.attrs.prio_args.as_deref(), Some("weird \"quoted\" value"));
    }
}
