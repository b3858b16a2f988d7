//! The configuration multipath-tools reads, read the same way.
//!
//! `parse` turns bytes into sections with a file:line for every message;
//! `keywords` turns sections into the typed [`Config`] below; `load` finds
//! the files under a root directory; `print` writes the effective
//! configuration back in multipath.conf syntax (`-t`). `hwtable` is the
//! built-in device table, `blacklist` decides which paths are passed over,
//! `bindings` and `wwids` are the two state files, and `select` resolves
//! every setting of a path or map with multipath-tools' precedence
//! (multipaths > overrides > devices > defaults > built-in), so the other
//! stages receive plain values and never look at the configuration.
//!
//! Every value is an `Option`: `None` means "not set at this level", which
//! is what makes the precedence walk possible.

pub mod bindings;
pub mod blacklist;
pub mod hwtable;
pub mod keywords;
pub mod load;
pub mod parse;
pub mod print;
pub mod select;
pub mod wwids;

use core::fmt;

use crate::group::Policy;

/// Where a setting or rule came from, for messages and `-v3`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    /// Compiled in (multipath-tools' defaults, hardware table, blacklist).
    #[default]
    Builtin,
    /// A line of a configuration file.
    File { path: String, line: u32 },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::File { path, line } => write!(f, "{path}:{line}"),
        }
    }
}

/// A problem in a configuration or state file. Never fatal: the rest of
/// the file is still used, as multipath-tools does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// `find_multipaths`: which WWIDs get a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindMultipaths {
    /// `off`/`no`: every WWID that is not blacklisted.
    Off,
    /// `on`/`yes`: WWIDs with two or more paths, or listed in the wwids file.
    On,
    /// Only WWIDs listed in the wwids file.
    Strict,
    /// Like off (multipathd would also claim new devices greedily).
    Greedy,
    /// multipathd waits for a second path; a single `multipath` run acts as `on`.
    Smart,
}

impl FindMultipaths {
    /// multipath-tools' spellings: `no`/`off`, `yes`/`on`, `strict`,
    /// `greedy`, `smart`.
    pub fn parse(text: &str) -> Option<FindMultipaths> {
        match text {
            "no" | "off" => Some(FindMultipaths::Off),
            "yes" | "on" => Some(FindMultipaths::On),
            "strict" => Some(FindMultipaths::Strict),
            "greedy" => Some(FindMultipaths::Greedy),
            "smart" => Some(FindMultipaths::Smart),
            _ => None,
        }
    }

    /// The name `multipath -t` prints.
    pub fn name(self) -> &'static str {
        match self {
            FindMultipaths::Off => "off",
            FindMultipaths::On => "on",
            FindMultipaths::Strict => "strict",
            FindMultipaths::Greedy => "greedy",
            FindMultipaths::Smart => "smart",
        }
    }
}

/// `no_path_retry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPathRetry {
    /// `fail`: fail I/O at once when no path is left.
    Fail,
    /// `queue`: queue I/O until a path returns.
    Queue,
    /// Queue for this many checker intervals (multipathd counts them).
    Retries(u32),
}

/// `rr_weight`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RrWeight {
    Uniform,
    /// Each path's repeat count is its priority times `rr_min_io_rq`.
    Priorities,
}

/// A value written as text that mpath-boot carries without acting on it
/// (settings only multipathd uses); kept for `-t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passive {
    pub keyword: String,
    pub value: String,
}

/// The settings one level can hold (defaults, a device entry, overrides,
/// a multipaths entry). Which keywords a level accepts is `keywords`' job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs {
    pub path_grouping_policy: Option<Policy>,
    /// Selector with its argument count, as written: `"service-time 0"`.
    pub path_selector: Option<String>,
    /// `"0"`, or `"1 alua"` and the like.
    pub hardware_handler: Option<String>,
    /// Feature text with its count: `"0"`, `"1 queue_if_no_path"`.
    pub features: Option<String>,
    pub no_path_retry: Option<NoPathRetry>,
    pub rr_weight: Option<RrWeight>,
    pub rr_min_io_rq: Option<u32>,
    pub rr_min_io: Option<u32>,
    pub prio: Option<String>,
    pub prio_args: Option<String>,
    pub detect_prio: Option<bool>,
    pub retain_attached_hw_handler: Option<bool>,
    pub user_friendly_names: Option<bool>,
    pub alias_prefix: Option<String>,
    pub path_checker: Option<String>,
    pub detect_checker: Option<bool>,
    /// Settings accepted but only meaningful to multipathd, in file order.
    pub passive: Vec<Passive>,
}

/// `defaults { }`: the settings of [`Attrs`] plus those only this section has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Defaults {
    pub attrs: Attrs,
    pub find_multipaths: Option<FindMultipaths>,
    pub allow_usb_devices: Option<bool>,
    /// `bindings_file` / `wwids_file`: accepted (multipath-tools 0.9.4
    /// still reads them), relative to the root.
    pub bindings_file: Option<String>,
    pub wwids_file: Option<String>,
    pub verbosity: Option<u8>,
}

/// One `device { }` entry: of `devices`, or of the built-in table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceEntry {
    /// Regexes matched against INQUIRY vendor, product and revision.
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub revision: Option<String>,
    /// Regex of products of this vendor that are never multipathed.
    pub product_blacklist: Option<String>,
    /// `vpd_vendor` (`hp3par`): a vendor-specific VPD page to read.
    pub vpd_vendor: Option<String>,
    pub attrs: Attrs,
    pub origin: Origin,
}

/// One `multipath { }` entry of `multipaths`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultipathEntry {
    pub wwid: Option<String>,
    pub alias: Option<String>,
    pub attrs: Attrs,
    pub origin: Origin,
}

/// One `devnode`/`wwid`/`property`/`protocol` line of a blacklist section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    pub pattern: String,
    pub origin: Origin,
}

/// One `device { vendor .. product .. }` entry of a blacklist section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceRule {
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub origin: Origin,
}

/// `blacklist { }` or `blacklist_exceptions { }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSet {
    pub devnode: Vec<Rule>,
    pub wwid: Vec<Rule>,
    pub property: Vec<Rule>,
    pub protocol: Vec<Rule>,
    pub device: Vec<DeviceRule>,
}

/// Everything the configuration files said, before merging with built-ins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub defaults: Defaults,
    pub blacklist: RuleSet,
    pub exceptions: RuleSet,
    /// User `device` entries in file order (later entries win).
    pub devices: Vec<DeviceEntry>,
    pub overrides: Attrs,
    pub multipaths: Vec<MultipathEntry>,
}
