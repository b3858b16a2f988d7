//! Every setting of a path or a map, resolved the way multipath-tools 0.9.4
//! resolves it (libmultipath/propsel.c), so later stages get plain values.
//!
//! The walk for most map settings is: `-p` on the command line (policy
//! only), the `multipaths` entry of the WWID, `overrides`, the matching
//! device entries (the last one in the table first), `defaults`, and the
//! compiled-in value. Several settings skip levels, exactly as 0.9.4 does:
//! `hardware_handler` is only read from device entries and `defaults`;
//! `alias_prefix`, `path_checker`, `detect_prio` and `detect_checker` have
//! no `multipaths` level. The device table is first merged the way
//! config.c's `factorize_hwtable` merges it: a user `device` with the same
//! vendor, product and revision strings as an earlier entry (built-in or
//! user) absorbs that entry, which disappears from the table.
//!
//! Pure logic: facts that need I/O (TPGS support, `access_state`, VPD page
//! 0xC9, `dh_state`) come in as parameters.

use crate::config::{
    Attrs, Config, Defaults, DeviceEntry, Diagnostic, FindMultipaths, MultipathEntry,
    NoPathRetry, RrWeight,
};
use crate::group::Policy;
use crate::regex::Regex;

/// `path_selector` when nothing sets it.
pub const DEFAULT_SELECTOR: &str = "service-time 0";
/// `features` when nothing sets it.
pub const DEFAULT_FEATURES: &str = "0";
/// `hardware_handler` when nothing sets it.
pub const DEFAULT_HWHANDLER: &str = "0";
/// `rr_min_io` (bio-based multipath; multipath-tools uses `rr_min_io_rq`
/// with any dm-multipath target of version 1.1.0 or later).
pub const DEFAULT_MINIO: u32 = 1000;
/// `rr_min_io_rq`.
pub const DEFAULT_MINIO_RQ: u32 = 1;
pub const DEFAULT_POLICY: Policy = Policy::Failover;
pub const DEFAULT_RR_WEIGHT: RrWeight = RrWeight::Uniform;
pub const DEFAULT_PRIO: &str = "const";
pub const DEFAULT_PRIO_ARGS: &str = "";
pub const DEFAULT_CHECKER: &str = "tur";
pub const DEFAULT_ALIAS_PREFIX: &str = "mpath";
pub const DEFAULT_USER_FRIENDLY_NAMES: bool = false;
pub const DEFAULT_DETECT_PRIO: bool = true;
pub const DEFAULT_DETECT_CHECKER: bool = true;
pub const DEFAULT_RETAIN_HWHANDLER: bool = true;
pub const DEFAULT_ALLOW_USB_DEVICES: bool = false;
pub const DEFAULT_VERBOSITY: u8 = 2;
pub const DEFAULT_BINDINGS_FILE: &str = "/etc/multipath/bindings";
pub const DEFAULT_WWIDS_FILE: &str = "/etc/multipath/wwids";
/// multipath-tools 0.9.4's compiled-in `find_multipaths`.
pub const DEFAULT_FIND_MULTIPATHS: FindMultipaths = FindMultipaths::Strict;
/// mpath-boot's `find_multipaths` when there is no configuration file at
/// all: a boot without configuration still assembles multipathed disks.
pub const NO_CONFIG_FIND_MULTIPATHS: FindMultipaths = FindMultipaths::On;

/// The compiled-in defaults, every field that has a built-in value set.
/// `no_path_retry` stays `None`: 0.9.4's built-in value is "undefined",
/// which loads maps without `queue_if_no_path`. `find_multipaths` is the
/// value used when a configuration file exists ([`Selector::find_multipaths`]
/// knows the other case).
pub fn builtin_defaults() -> Defaults {
    Defaults {
        attrs: Attrs {
            path_grouping_policy: Some(DEFAULT_POLICY),
            path_selector: Some(DEFAULT_SELECTOR.into()),
            hardware_handler: Some(DEFAULT_HWHANDLER.into()),
            features: Some(DEFAULT_FEATURES.into()),
            no_path_retry: None,
            rr_weight: Some(DEFAULT_RR_WEIGHT),
            rr_min_io_rq: Some(DEFAULT_MINIO_RQ),
            rr_min_io: Some(DEFAULT_MINIO),
            prio: Some(DEFAULT_PRIO.into()),
            prio_args: Some(DEFAULT_PRIO_ARGS.into()),
            detect_prio: Some(DEFAULT_DETECT_PRIO),
            retain_attached_hw_handler: Some(DEFAULT_RETAIN_HWHANDLER),
            user_friendly_names: Some(DEFAULT_USER_FRIENDLY_NAMES),
            alias_prefix: Some(DEFAULT_ALIAS_PREFIX.into()),
            path_checker: Some(DEFAULT_CHECKER.into()),
            detect_checker: Some(DEFAULT_DETECT_CHECKER),
            passive: Vec::new(),
        },
        find_multipaths: Some(DEFAULT_FIND_MULTIPATHS),
        allow_usb_devices: Some(DEFAULT_ALLOW_USB_DEVICES),
        bindings_file: Some(DEFAULT_BINDINGS_FILE.into()),
        wwids_file: Some(DEFAULT_WWIDS_FILE.into()),
        verbosity: Some(DEFAULT_VERBOSITY),
    }
}

/// Which level decided a setting; [`Source::text`] is multipath-tools'
/// `-v3` wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    CommandLine,
    Multipaths,
    Overrides,
    /// A device entry (built-in or `devices` section).
    Device,
    /// The `defaults` section.
    Defaults,
    /// Compiled in.
    Builtin,
    /// `detect_prio`/`detect_checker` chose it from the device's answers.
    Autodetected,
    /// `hardware_handler`: the handler the kernel already attached.
    RetainedByKernel,
    /// `hardware_handler`: set or dropped because of TPGS support.
    Tpgs,
    /// `prio alua` on a device without TPGS: replaced by `const`.
    AluaFallback,
    /// `retain_attached_hw_handler`: always on with kernels from 4.3.
    KernelImplied,
    /// `no_path_retry queue` taken from `features "1 queue_if_no_path"`.
    FeatureQueueIfNoPath,
}

impl Source {
    pub fn text(self) -> &'static str {
        match self {
            Source::CommandLine => "(setting: multipath command line [-p] flag)",
            Source::Multipaths => "(setting: multipath.conf multipaths section)",
            Source::Overrides => "(setting: multipath.conf overrides section)",
            Source::Device => "(setting: storage device configuration)",
            Source::Defaults => "(setting: multipath.conf defaults/devices section)",
            Source::Builtin => "(setting: multipath internal)",
            Source::Autodetected => "(setting: storage device autodetected)",
            Source::RetainedByKernel => "(setting: retained by kernel driver)",
            Source::Tpgs => "(setting: autodetected from TPGS)",
            Source::AluaFallback => "(setting: emergency fallback - alua failed)",
            Source::KernelImplied => "(setting: implied in kernel >= 4.3.0)",
            Source::FeatureQueueIfNoPath => {
                "(inherited setting from feature 'queue_if_no_path')"
            }
        }
    }
}

/// A resolved value and the level it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Setting<T> {
    fn new(value: T, source: Source) -> Setting<T> {
        Setting { value, source }
    }
}

/// A setting reads as its value; `source` is only for messages.
impl<T> core::ops::Deref for Setting<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// Command-line options that take part in the selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// `-i`/`-s`-style override of `find_multipaths`.
    pub find_multipaths: Option<FindMultipaths>,
    /// `-p`: beats every configuration level (conf->pgpolicy_flag).
    pub policy: Option<Policy>,
    /// `-B`: never write the bindings file.
    pub bindings_read_only: bool,
}

/// TPGS support of a path as multipath-tools' `detect_alua` leaves it:
/// `None` also when the INQUIRY says TPGS but reading the target port
/// group or its state failed on a path that is up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tpgs {
    /// Not determined (INQUIRY failed).
    #[default]
    Unknown,
    None,
    Implicit,
    Explicit,
    Both,
}

impl Tpgs {
    /// From the TPGS field of standard INQUIRY (byte 5, bits 4-5).
    pub fn from_inquiry(field: u8) -> Tpgs {
        match field & 0x03 {
            1 => Tpgs::Implicit,
            2 => Tpgs::Explicit,
            3 => Tpgs::Both,
            _ => Tpgs::None,
        }
    }

    /// Known to support ALUA.
    pub fn supported(self) -> bool {
        !matches!(self, Tpgs::Unknown | Tpgs::None)
    }
}

/// What the prio and checker selection needs to know about one SCSI path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathFacts {
    pub tpgs: Tpgs,
    /// The path's sysfs `access_state` attribute can be read.
    pub access_state_readable: bool,
    /// VPD page 0xC9 was read and carries `vac1` at offset 4 (an RDAC
    /// array). Only needed when [`Selector::wants_vpd_c9`] says so.
    pub vpd_c9_vac1: bool,
}

/// The device entries matching one path, most specific first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HwMatch {
    indices: Vec<usize>,
}

impl HwMatch {
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }
}

/// Prio and checker of one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathSettings {
    pub detect_prio: Setting<bool>,
    pub detect_checker: Setting<bool>,
    pub prio: Setting<String>,
    /// Arguments of `prio`; empty when the level that named the prio gave none.
    pub prio_args: String,
    pub checker: Setting<String>,
}

/// How the map is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AliasChoice {
    /// The `alias` of the WWID's `multipaths` entry.
    Multipaths(String),
    /// `user_friendly_names yes`: a bindings-file name with this prefix.
    UserFriendly { prefix: Setting<String> },
    /// The WWID itself.
    Wwid,
}

/// A message 0.9.4 logs while selecting, with its log level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub level: u8,
    pub message: String,
}

/// Settings of one map, before the path-dependent steps
/// ([`resolve_hwhandler`], [`table_features`], [`path_weight`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSettings {
    pub alias: AliasChoice,
    pub user_friendly_names: Setting<bool>,
    pub policy: Setting<Policy>,
    pub selector: Setting<String>,
    /// Configured features after `queue_if_no_path` and
    /// `retain_attached_hw_handler` were taken out of them.
    pub features: Setting<String>,
    /// `None`: undefined (no queueing).
    pub no_path_retry: Option<Setting<NoPathRetry>>,
    pub retain_hwhandler: Setting<bool>,
    /// The configured handler; [`resolve_hwhandler`] gives the final one.
    pub hardware_handler: Setting<String>,
    pub rr_weight: Setting<RrWeight>,
    /// `rr_min_io_rq`: the per-path repeat count before `rr_weight`.
    pub rr_min_io_rq: Setting<u32>,
    pub notes: Vec<Note>,
}

/// One device entry of the merged table and its compiled regexes.
struct TableEntry {
    entry: DeviceEntry,
    /// `None` when a regex does not compile: the entry never matches.
    matcher: Option<Matcher>,
}

struct Matcher {
    vendor: Option<Regex>,
    product: Option<Regex>,
    revision: Option<Regex>,
}

impl Matcher {
    fn compile(entry: &DeviceEntry) -> Result<Matcher, String> {
        let compile = |pattern: &Option<String>| -> Result<Option<Regex>, String> {
            pattern
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|e| e.to_string())
        };
        Ok(Matcher {
            vendor: compile(&entry.vendor)?,
            product: compile(&entry.product)?,
            revision: compile(&entry.revision)?,
        })
    }

    /// Unset patterns match anything (config.c `hwe_regmatch`).
    fn matches(&self, vendor: &str, product: &str, revision: &str) -> bool {
        let ok = |re: &Option<Regex>, text: &str| re.as_ref().is_none_or(|re| re.is_match(text));
        ok(&self.vendor, vendor) && ok(&self.product, product) && ok(&self.revision, revision)
    }
}

/// The configuration with built-ins merged in, ready to answer questions.
pub struct Selector {
    config: Config,
    table: Vec<TableEntry>,
    /// `multipaths` entries with a WWID, sorted by WWID, duplicates merged.
    multipaths: Vec<MultipathEntry>,
    command_line: CommandLine,
    config_file_present: bool,
}

impl Selector {
    /// Merges the built-in device table with the user's entries and the
    /// `multipaths` entries as 0.9.4 does at load time. Problems (a regex
    /// that does not compile, an entry without vendor/product or wwid,
    /// duplicate sections) come back as diagnostics; the rest is used.
    pub fn new(
        config: Config,
        builtin_devices: Vec<DeviceEntry>,
        command_line: CommandLine,
        config_file_present: bool,
    ) -> (Selector, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let entries = merge_device_table(builtin_devices, &config.devices, &mut diagnostics);
        let table = entries
            .into_iter()
            .map(|entry| {
                let matcher = match Matcher::compile(&entry) {
                    Ok(m) => Some(m),
                    Err(message) => {
                        diagnostics.push(Diagnostic {
                            origin: entry.origin.clone(),
                            message: format!("device entry never matches: {message}"),
                        });
                        None
                    }
                };
                TableEntry { entry, matcher }
            })
            .collect();
        let multipaths = merge_multipaths(&config.multipaths, &mut diagnostics);
        let selector = Selector {
            config,
            table,
            multipaths,
            command_line,
            config_file_present,
        };
        (selector, diagnostics)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn command_line(&self) -> &CommandLine {
        &self.command_line
    }

    pub fn config_file_present(&self) -> bool {
        self.config_file_present
    }

    /// The merged device table as `multipath -t` prints it: built-in
    /// entries (minus those a user entry absorbed), then user entries.
    pub fn device_table(&self) -> impl Iterator<Item = &DeviceEntry> {
        self.table.iter().map(|t| &t.entry)
    }

    /// The `multipaths` entries in the order 0.9.4 keeps them (by WWID).
    pub fn multipath_entries(&self) -> &[MultipathEntry] {
        &self.multipaths
    }

    /// The entries of a match, most specific first.
    pub fn matched_entries<'a>(&'a self, hw: &'a HwMatch) -> impl Iterator<Item = &'a DeviceEntry> {
        hw.indices
            .iter()
            .filter_map(move |&i| self.table.get(i))
            .map(|t| &t.entry)
    }

    /// The device entries matching a path. Like `find_hwe`, the table is
    /// searched from its end, so user entries come before built-in ones
    /// and a later entry before an earlier one; each regex is unanchored
    /// POSIX ERE and an unset one matches anything. Vendor, product and
    /// revision are the sysfs values with trailing blanks removed.
    pub fn device_match(&self, vendor: &str, product: &str, revision: &str) -> HwMatch {
        let indices = self
            .table
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, t)| {
                t.matcher
                    .as_ref()
                    .is_some_and(|m| m.matches(vendor, product, revision))
            })
            .map(|(i, _)| i)
            .collect();
        HwMatch { indices }
    }

    /// The `multipaths` entry of a WWID.
    pub fn multipath_entry(&self, wwid: &str) -> Option<&MultipathEntry> {
        if wwid.is_empty() {
            return None;
        }
        self.multipaths
            .iter()
            .find(|m| m.wwid.as_deref() == Some(wwid))
    }

    /// Whether the caller should read VPD page 0xC9 for the RDAC test of
    /// `select_checker`/`detect_prio`: only when no matching entry names a
    /// checker, or the first one that does names `rdac`.
    pub fn wants_vpd_c9(&self, hw: &HwMatch) -> bool {
        self.hw_first(hw, |a| a.path_checker.clone())
            .is_none_or(|checker| checker == "rdac")
    }

    fn check_rdac(&self, hw: &HwMatch, facts: &PathFacts) -> bool {
        facts.vpd_c9_vac1 && self.wants_vpd_c9(hw)
    }

    /// The first matching device entry that sets a value.
    fn hw_first<T>(&self, hw: &HwMatch, get: impl Fn(&Attrs) -> Option<T>) -> Option<T> {
        self.matched_entries(hw).find_map(|e| get(&e.attrs))
    }

    /// The precedence walk: multipaths entry (when the setting has that
    /// level), overrides (idem), device entries, defaults.
    fn walk<T>(
        &self,
        mpe: Option<&Attrs>,
        use_overrides: bool,
        hw: &HwMatch,
        get: impl Fn(&Attrs) -> Option<T>,
    ) -> Option<Setting<T>> {
        if let Some(v) = mpe.and_then(&get) {
            return Some(Setting::new(v, Source::Multipaths));
        }
        if use_overrides {
            if let Some(v) = get(&self.config.overrides) {
                return Some(Setting::new(v, Source::Overrides));
            }
        }
        if let Some(v) = self.hw_first(hw, &get) {
            return Some(Setting::new(v, Source::Device));
        }
        get(&self.config.defaults.attrs).map(|v| Setting::new(v, Source::Defaults))
    }

    fn walk_or<T>(
        &self,
        mpe: Option<&Attrs>,
        use_overrides: bool,
        hw: &HwMatch,
        get: impl Fn(&Attrs) -> Option<T>,
        default: T,
    ) -> Setting<T> {
        self.walk(mpe, use_overrides, hw, get)
            .unwrap_or_else(|| Setting::new(default, Source::Builtin))
    }

    /// Prio and checker of a path (`select_detect_prio`, `select_prio`,
    /// `select_detect_checker`, `select_checker`).
    pub fn path_settings(&self, hw: &HwMatch, wwid: &str, facts: &PathFacts) -> PathSettings {
        let detect_prio = self.walk_or(None, true, hw, |a| a.detect_prio, DEFAULT_DETECT_PRIO);
        let detect_checker =
            self.walk_or(None, true, hw, |a| a.detect_checker, DEFAULT_DETECT_CHECKER);
        let (prio, prio_args) = self.select_prio(hw, wwid, facts, detect_prio.value);
        let checker = self.select_checker(hw, facts, detect_checker.value);
        PathSettings {
            detect_prio,
            detect_checker,
            prio,
            prio_args,
            checker,
        }
    }

    /// 0.9.4 `detect_prio` for a SCSI path: nothing without TPGS; `sysfs`
    /// when `access_state` is readable, unless the array is an RDAC one
    /// that does not do explicit-only ALUA; `alua` otherwise.
    fn detect_prio(&self, hw: &HwMatch, facts: &PathFacts) -> Option<&'static str> {
        if facts.tpgs == Tpgs::None {
            return None;
        }
        let sysfs_ok = facts.tpgs == Tpgs::Explicit || !self.check_rdac(hw, facts);
        if sysfs_ok && facts.access_state_readable {
            Some("sysfs")
        } else {
            Some("alua")
        }
    }

    fn select_prio(
        &self,
        hw: &HwMatch,
        wwid: &str,
        facts: &PathFacts,
        detect: bool,
    ) -> (Setting<String>, String) {
        let (prio, args) = self.configured_prio(hw, wwid, facts, detect);
        if prio.value == "alua" && facts.tpgs == Tpgs::None {
            return (
                Setting::new(DEFAULT_PRIO.to_owned(), Source::AluaFallback),
                DEFAULT_PRIO_ARGS.to_owned(),
            );
        }
        (prio, args)
    }

    fn configured_prio(
        &self,
        hw: &HwMatch,
        wwid: &str,
        facts: &PathFacts,
        detect: bool,
    ) -> (Setting<String>, String) {
        if detect {
            if let Some(name) = self.detect_prio(hw, facts) {
                return (Setting::new(name.to_owned(), Source::Autodetected), String::new());
            }
        }
        // One level gives both name and arguments, except device entries
        // where each comes from the first entry that sets it.
        let from_level = |attrs: &Attrs, source: Source| {
            attrs.prio.as_ref().map(|name| {
                let args = attrs.prio_args.clone().unwrap_or_default();
                (Setting::new(name.clone(), source), args)
            })
        };
        if let Some(found) = self
            .multipath_entry(wwid)
            .and_then(|m| from_level(&m.attrs, Source::Multipaths))
        {
            return found;
        }
        if let Some(found) = from_level(&self.config.overrides, Source::Overrides) {
            return found;
        }
        if let Some(name) = self.hw_first(hw, |a| a.prio.clone()) {
            let args = self.hw_first(hw, |a| a.prio_args.clone()).unwrap_or_default();
            return (Setting::new(name, Source::Device), args);
        }
        if let Some(found) = from_level(&self.config.defaults.attrs, Source::Defaults) {
            return found;
        }
        (
            Setting::new(DEFAULT_PRIO.to_owned(), Source::Builtin),
            DEFAULT_PRIO_ARGS.to_owned(),
        )
    }

    fn select_checker(&self, hw: &HwMatch, facts: &PathFacts, detect: bool) -> Setting<String> {
        if detect {
            if self.check_rdac(hw, facts) {
                return Setting::new("rdac".to_owned(), Source::Autodetected);
            }
            if facts.tpgs.supported() {
                return Setting::new("tur".to_owned(), Source::Autodetected);
            }
        }
        self.walk_or(None, true, hw, |a| a.path_checker.clone(), DEFAULT_CHECKER.to_owned())
    }

    /// Settings of the map of `wwid`, whose device entries are `hw`: in
    /// 0.9.4 `multipath` they are those of the path that created the map
    /// (the first path of the WWID in discovery order, set_mpp_hwe).
    pub fn map_settings(&self, wwid: &str, hw: &HwMatch) -> MapSettings {
        let mpe = self.multipath_entry(wwid);
        let mpe_attrs = mpe.map(|m| &m.attrs);
        let mut notes = Vec::new();

        let policy = match self.command_line.policy {
            Some(p) => Setting::new(p, Source::CommandLine),
            None => self.walk_or(mpe_attrs, true, hw, |a| a.path_grouping_policy, DEFAULT_POLICY),
        };
        let selector = self.walk_or(
            mpe_attrs,
            true,
            hw,
            |a| a.path_selector.clone(),
            DEFAULT_SELECTOR.to_owned(),
        );
        let mut no_path_retry = self.walk(mpe_attrs, true, hw, |a| a.no_path_retry);
        let retain_hwhandler = Setting::new(true, Source::KernelImplied);
        let configured =
            self.walk_or(mpe_attrs, true, hw, |a| a.features.clone(), DEFAULT_FEATURES.to_owned());
        let id = mpe
            .and_then(|m| m.alias.clone())
            .unwrap_or_else(|| wwid.to_owned());
        let features = Setting::new(
            reconcile_map_features(&id, &configured.value, &mut no_path_retry, &mut notes),
            configured.source,
        );
        let hardware_handler = self.walk_or(
            None,
            false,
            hw,
            |a| a.hardware_handler.clone(),
            DEFAULT_HWHANDLER.to_owned(),
        );
        let rr_weight = self.walk_or(mpe_attrs, true, hw, |a| a.rr_weight, DEFAULT_RR_WEIGHT);
        let rr_min_io_rq = self.walk_or(
            mpe_attrs,
            true,
            hw,
            |a| a.rr_min_io_rq.filter(|&n| n != 0),
            DEFAULT_MINIO_RQ,
        );
        let user_friendly_names = self.walk_or(
            mpe_attrs,
            true,
            hw,
            |a| a.user_friendly_names,
            DEFAULT_USER_FRIENDLY_NAMES,
        );
        let alias = match mpe.and_then(|m| m.alias.clone()) {
            Some(alias) => AliasChoice::Multipaths(alias),
            None if user_friendly_names.value => AliasChoice::UserFriendly {
                prefix: self.walk_or(
                    None,
                    true,
                    hw,
                    |a| a.alias_prefix.clone(),
                    DEFAULT_ALIAS_PREFIX.to_owned(),
                ),
            },
            None => AliasChoice::Wwid,
        };
        MapSettings {
            alias,
            user_friendly_names,
            policy,
            selector,
            features,
            no_path_retry,
            retain_hwhandler,
            hardware_handler,
            rr_weight,
            rr_min_io_rq,
            notes,
        }
    }

    /// `find_multipaths`: the command line, else the `defaults` section,
    /// else `strict` (0.9.4's built-in) when a configuration file exists
    /// and `on` when there is none (mpath-boot's choice).
    pub fn find_multipaths(&self) -> FindMultipaths {
        self.command_line
            .find_multipaths
            .or(self.config.defaults.find_multipaths)
            .unwrap_or(if self.config_file_present {
                DEFAULT_FIND_MULTIPATHS
            } else {
                NO_CONFIG_FIND_MULTIPATHS
            })
    }

    pub fn allow_usb_devices(&self) -> bool {
        self.config
            .defaults
            .allow_usb_devices
            .unwrap_or(DEFAULT_ALLOW_USB_DEVICES)
    }
}

/// The hardware-handler facts of one path of a map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandlerFacts<'a> {
    /// The SCSI device's sysfs `dh_state`, newline removed; `None` when
    /// unreadable.
    pub dh_state: Option<&'a str>,
    pub tpgs: Tpgs,
}

/// The map's `hardware_handler` (`select_hwhandler`). With retain on, the
/// first path (in map order) whose kernel handler is attached gives
/// `1 <handler>`. Otherwise the configured value, except that a built-in
/// `0` becomes `1 alua` when every path supports TPGS (unknown counts as
/// support, as long as one path is known to), and a `1 alua` from any
/// source becomes `0` when not.
pub fn resolve_hwhandler(
    configured: &Setting<String>,
    retain: bool,
    paths: &[HandlerFacts<'_>],
) -> Setting<String> {
    let one_tpgs = paths.iter().any(|p| p.tpgs.supported());
    let all_tpgs = one_tpgs && paths.iter().all(|p| p.tpgs != Tpgs::None);
    let attached = retain
        .then(|| paths.iter().find_map(|p| p.dh_state.filter(|s| usable_dh_state(s))))
        .flatten();
    let chosen = match attached {
        Some(name) => Setting::new(format!("1 {name}"), Source::RetainedByKernel),
        None => configured.clone(),
    };
    if all_tpgs && chosen.value == DEFAULT_HWHANDLER && chosen.source == Source::Builtin {
        Setting::new("1 alua".to_owned(), Source::Tpgs)
    } else if !all_tpgs && chosen.value == "1 alua" {
        Setting::new(DEFAULT_HWHANDLER.to_owned(), Source::Tpgs)
    } else {
        chosen
    }
}

/// A `dh_state` that names an attached handler: non-empty, not
/// `detached`, and short enough for multipath-tools' 10-byte buffer.
fn usable_dh_state(state: &str) -> bool {
    !state.is_empty() && state != "detached" && state.len() < 10
}

/// The feature text of the loaded table (`assemble_map`): the configured
/// features plus `queue_if_no_path` when `no_path_retry` queues. A plain
/// `multipath` run with no multipathd running (and no `-q`) then clears
/// queueing with a `fail_if_no_path` message, so `dmsetup table` shows
/// the features without it: `daemon_running` false gives that end state.
/// The kernel echoes features in its own order (queue_if_no_path first).
pub fn table_features(settings: &MapSettings, daemon_running: bool) -> String {
    let queues = matches!(
        settings.no_path_retry.as_ref().map(|s| s.value),
        Some(NoPathRetry::Queue | NoPathRetry::Retries(_))
    );
    let mut features = settings.features.value.clone();
    if queues {
        features = add_feature(&features, "queue_if_no_path");
    }
    if !daemon_running {
        features = remove_feature(&features, "queue_if_no_path");
    }
    features
}

/// The repeat count of one path in the table: `rr_min_io_rq`, times the
/// path priority with `rr_weight priorities` when the priority is positive.
pub fn path_weight(settings: &MapSettings, priority: u32) -> u32 {
    let minio = settings.rr_min_io_rq.value;
    if settings.rr_weight.value == RrWeight::Priorities && priority > 0 {
        minio.saturating_mul(priority)
    } else {
        minio
    }
}

/// `select_features`' clean-up: `queue_if_no_path` becomes `no_path_retry
/// queue` when that is undefined (and is dropped either way);
/// `retain_attached_hw_handler` is dropped (retain is always on); an
/// invalid `queue_mode` is dropped.
fn reconcile_map_features(
    id: &str,
    features: &str,
    no_path_retry: &mut Option<Setting<NoPathRetry>>,
    notes: &mut Vec<Note>,
) -> String {
    let mut features = features.to_owned();
    if features.contains("queue_if_no_path") {
        notes.push(Note {
            level: 0,
            message: format!(
                "{id}: option 'features \"1 queue_if_no_path\"' is deprecated, please use 'no_path_retry queue' instead"
            ),
        });
        match no_path_retry {
            None => {
                *no_path_retry = Some(Setting::new(NoPathRetry::Queue, Source::FeatureQueueIfNoPath));
            }
            Some(set) if set.value != NoPathRetry::Queue => notes.push(Note {
                level: 2,
                message: format!(
                    "{id}: ignoring feature 'queue_if_no_path' because no_path_retry is set to '{}'",
                    no_path_retry_text(set.value)
                ),
            }),
            Some(_) => {}
        }
        features = remove_feature(&features, "queue_if_no_path");
    }
    if features.contains("retain_attached_hw_handler") {
        notes.push(Note {
            level: 0,
            message: format!(
                "{id}: option 'features \"1 retain_attached_hw_handler\"' is deprecated"
            ),
        });
        features = remove_feature(&features, "retain_attached_hw_handler");
    }
    drop_invalid_queue_mode(id, &features, notes)
}

fn no_path_retry_text(value: NoPathRetry) -> String {
    match value {
        NoPathRetry::Fail => "fail".into(),
        NoPathRetry::Queue => "queue".into(),
        NoPathRetry::Retries(n) => n.to_string(),
    }
}

/// `queue_mode <mode>` with a mode other than rq, mq or bio is removed
/// (SCSI maps have no queue_mode of their own to reconcile with).
fn drop_invalid_queue_mode(id: &str, features: &str, notes: &mut Vec<Note>) -> String {
    let Some(at) = features.find("queue_mode") else {
        return features.to_owned();
    };
    let preceded_by_space = features[..at]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_ascii_whitespace());
    if at == 0 || !preceded_by_space {
        return features.to_owned();
    }
    let after = &features[at + "queue_mode".len()..];
    let value_start = after.len() - after.trim_start_matches(is_c_space).len();
    if value_start == 0 {
        return features.to_owned();
    }
    let value_text = &after[value_start..];
    let value_len = value_text.find(is_c_space).unwrap_or(value_text.len());
    if value_len == 0 {
        return features.to_owned();
    }
    let value = &value_text[..value_len];
    if matches!(value, "rq" | "mq" | "bio") {
        return features.to_owned();
    }
    let whole = &features[at..at + "queue_mode".len() + value_start + value_len];
    notes.push(Note {
        level: 2,
        message: format!("{id}: ignoring invalid feature '{whole}'"),
    });
    remove_feature(features, whole)
}

fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Number of words of a feature (`queue_mode bio` has two).
fn feature_words(feature: &str) -> i64 {
    feature.split(is_c_space).filter(|w| !w.is_empty()).count() as i64
}

/// Byte offset of `feature` as a whole token sequence of `features`
/// (after a space, followed by a space or the end), searching from `from`.
fn find_feature(features: &str, feature: &str, from: usize) -> Option<usize> {
    let mut start = from;
    while let Some(found) = features.get(start..).and_then(|rest| rest.find(feature)) {
        let at = start + found;
        let end = at + feature.len();
        let before_ok = features[..at]
            .chars()
            .next_back()
            .is_some_and(is_c_space);
        let after_ok = features[end..].chars().next().is_none_or(is_c_space);
        if before_ok && after_ok {
            return Some(at);
        }
        start = end;
    }
    None
}

/// Reads the leading feature count (after optional blanks, as strtoul):
/// the count and the byte offset just past its digits.
fn split_count(features: &str) -> Option<(i64, usize)> {
    let trimmed = features.trim_start_matches(is_c_space);
    let digits = trimmed.len() - trimmed.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let count = trimmed[..digits].parse::<i64>().ok()?;
    Some((count, features.len() - trimmed.len() + digits))
}

/// Adds a feature and bumps the count, as structs.c `add_feature`
/// (nothing changes if it is there already or the text has no count).
pub fn add_feature(features: &str, feature: &str) -> String {
    if feature.is_empty() || find_feature(features, feature, 0).is_some() {
        return features.to_owned();
    }
    match split_count(features) {
        Some((count, digits_end)) => {
            let rest = &features[digits_end..];
            if rest.is_empty() || rest.starts_with(is_c_space) {
                format!("{}{rest} {feature}", count + feature_words(feature))
            } else {
                features.to_owned()
            }
        }
        None => features.to_owned(),
    }
}

/// Removes a feature and lowers the count, as structs.c `remove_feature`.
pub fn remove_feature(features: &str, feature: &str) -> String {
    if feature.is_empty() {
        return features.to_owned();
    }
    let Some(at) = find_feature(features, feature, 1) else {
        return features.to_owned();
    };
    let Some((count, digits_end)) = split_count(features) else {
        return features.to_owned();
    };
    if !features[digits_end..].starts_with(is_c_space) {
        return features.to_owned();
    }
    let count = count - feature_words(feature);
    if count == 0 {
        return "0".to_owned();
    }
    let kept_before = &features[digits_end..at];
    let rest = features[at + feature.len()..].trim_start_matches(is_c_space);
    let mut out = format!("{count}{kept_before}{rest}");
    if rest.is_empty() {
        out.truncate(out.trim_end_matches(is_c_space).len());
    }
    out
}

/// config.c `factorize_hwtable`: user entries without vendor or product
/// are dropped; an entry whose vendor, product and revision strings equal
/// those of a later user entry is merged into it (the later entry's
/// values win) and removed. Built-in entries are never merged together.
fn merge_device_table(
    builtin: Vec<DeviceEntry>,
    user: &[DeviceEntry],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<DeviceEntry> {
    let builtin_count = builtin.len();
    let mut table = builtin;
    for entry in user {
        if entry.vendor.is_none() || entry.product.is_none() {
            diagnostics.push(Diagnostic {
                origin: entry.origin.clone(),
                message: "device entry without vendor or product is ignored".into(),
            });
            continue;
        }
        table.push(entry.clone());
    }
    let mut index = 0;
    let mut builtin_left = builtin_count;
    while index < table.len() {
        let first_candidate = builtin_left.max(index + 1);
        let later = (first_candidate..table.len()).find(|&j| same_strings(&table[j], &table[index]));
        match later {
            Some(j) => {
                let absorbed = table.remove(index);
                if index >= builtin_left {
                    diagnostics.push(Diagnostic {
                        origin: absorbed.origin.clone(),
                        message: format!(
                            "duplicate device section for {}:{}:{}, merged into the later one",
                            absorbed.vendor.as_deref().unwrap_or("(null)"),
                            absorbed.product.as_deref().unwrap_or("(null)"),
                            absorbed.revision.as_deref().unwrap_or("(null)")
                        ),
                    });
                } else {
                    builtin_left -= 1;
                }
                // `j` moved down by one with the removal.
                if let Some(target) = table.get_mut(j - 1) {
                    merge_device(target, absorbed);
                }
            }
            None => index += 1,
        }
    }
    table
}

/// config.c `hwe_strmatch`: the same vendor, product and revision strings
/// (an unset one only equals an unset one).
fn same_strings(a: &DeviceEntry, b: &DeviceEntry) -> bool {
    a.vendor == b.vendor && a.product == b.product && a.revision == b.revision
}

/// Fills the unset fields of `dst` from `src`, then cleans `features` as
/// config.c `merge_hwe` does.
fn merge_device(dst: &mut DeviceEntry, src: DeviceEntry) {
    fill_str(&mut dst.product_blacklist, src.product_blacklist);
    fill_str(&mut dst.vpd_vendor, src.vpd_vendor);
    merge_attrs(&mut dst.attrs, src.attrs);
    reconcile_entry_features(&mut dst.attrs);
}

/// Strings: empty ones do not count as set (config.c merge_str).
fn fill_str(dst: &mut Option<String>, src: Option<String>) {
    if dst.is_none() {
        if let Some(s) = src.filter(|s| !s.is_empty()) {
            *dst = Some(s);
        }
    }
}

/// Numbers: zero does not count as set (config.c merge_num).
fn fill_count(dst: &mut Option<u32>, src: Option<u32>) {
    if dst.is_none_or(|n| n == 0) {
        if let Some(n) = src.filter(|&n| n != 0) {
            *dst = Some(n);
        }
    }
}

fn fill<T>(dst: &mut Option<T>, src: Option<T>) {
    if dst.is_none() {
        *dst = src;
    }
}

/// Fills the unset settings of `dst` from `src`.
fn merge_attrs(dst: &mut Attrs, src: Attrs) {
    fill(&mut dst.path_grouping_policy, src.path_grouping_policy);
    fill_str(&mut dst.path_selector, src.path_selector);
    fill_str(&mut dst.hardware_handler, src.hardware_handler);
    fill_str(&mut dst.features, src.features);
    fill(&mut dst.no_path_retry, src.no_path_retry);
    fill(&mut dst.rr_weight, src.rr_weight);
    fill_count(&mut dst.rr_min_io_rq, src.rr_min_io_rq);
    fill_count(&mut dst.rr_min_io, src.rr_min_io);
    fill_str(&mut dst.prio, src.prio);
    fill_str(&mut dst.prio_args, src.prio_args);
    fill(&mut dst.detect_prio, src.detect_prio);
    fill(&mut dst.retain_attached_hw_handler, src.retain_attached_hw_handler);
    fill(&mut dst.user_friendly_names, src.user_friendly_names);
    fill_str(&mut dst.alias_prefix, src.alias_prefix);
    fill_str(&mut dst.path_checker, src.path_checker);
    fill(&mut dst.detect_checker, src.detect_checker);
    for passive in src.passive {
        if !dst.passive.iter().any(|p| p.keyword == passive.keyword) {
            dst.passive.push(passive);
        }
    }
}

/// `reconcile_features_with_options` on a merged device entry: the
/// feature `queue_if_no_path` turns into `no_path_retry queue` and
/// `retain_attached_hw_handler` into the setting, when those are unset.
fn reconcile_entry_features(attrs: &mut Attrs) {
    let Some(features) = attrs.features.clone() else {
        return;
    };
    let mut features = features;
    if features.contains("queue_if_no_path") {
        fill(&mut attrs.no_path_retry, Some(NoPathRetry::Queue));
        features = remove_feature(&features, "queue_if_no_path");
    }
    if features.contains("retain_attached_hw_handler") {
        fill(&mut attrs.retain_attached_hw_handler, Some(true));
        features = remove_feature(&features, "retain_attached_hw_handler");
    }
    attrs.features = Some(features);
}

/// config.c `merge_mptable`: entries without `wwid` are dropped, the rest
/// sorted by WWID, and an entry is merged into a later one for the same
/// WWID (the later one's values win).
fn merge_multipaths(entries: &[MultipathEntry], diagnostics: &mut Vec<Diagnostic>) -> Vec<MultipathEntry> {
    let mut kept: Vec<MultipathEntry> = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.wwid.is_none() {
            diagnostics.push(Diagnostic {
                origin: entry.origin.clone(),
                message: "multipaths config section missing wwid".into(),
            });
            continue;
        }
        kept.push(entry.clone());
    }
    kept.sort_by(|a, b| a.wwid.cmp(&b.wwid));
    let mut merged: Vec<MultipathEntry> = Vec::with_capacity(kept.len());
    for mut entry in kept {
        if let Some(previous) = merged.pop() {
            if previous.wwid == entry.wwid {
                diagnostics.push(Diagnostic {
                    origin: entry.origin.clone(),
                    message: format!(
                        "duplicate multipath config section for {}",
                        entry.wwid.as_deref().unwrap_or_default()
                    ),
                });
                fill_str(&mut entry.alias, previous.alias);
                merge_attrs(&mut entry.attrs, previous.attrs);
            } else {
                merged.push(previous);
            }
        }
        merged.push(entry);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;

    fn file(line: u32) -> Origin {
        Origin::File {
            path: "/etc/multipath.conf".into(),
            line,
        }
    }

    fn device(vendor: &str, product: &str, attrs: Attrs) -> DeviceEntry {
        DeviceEntry {
            vendor: Some(vendor.into()),
            product: Some(product.into()),
            attrs,
            ..DeviceEntry::default()
        }
    }

    fn user_device(vendor: &str, product: &str, attrs: Attrs, line: u32) -> DeviceEntry {
        DeviceEntry {
            origin: file(line),
            ..device(vendor, product, attrs)
        }
    }

    fn mpe(wwid: &str, alias: Option<&str>, attrs: Attrs) -> MultipathEntry {
        MultipathEntry {
            wwid: Some(wwid.into()),
            alias: alias.map(str::to_owned),
            attrs,
            origin: file(1),
        }
    }

    fn selector(config: Config, builtin: Vec<DeviceEntry>) -> Selector {
        selector_with(config, builtin, CommandLine::default())
    }

    fn selector_with(config: Config, builtin: Vec<DeviceEntry>, cmd: CommandLine) -> Selector {
        Selector::new(config, builtin, cmd, true).0
    }

    fn policy(p: Policy) -> Attrs {
        Attrs {
            path_grouping_policy: Some(p),
            ..Attrs::default()
        }
    }

    const WWID: &str = "3600a0b80000000000000000000000001";

    /// A config that sets the policy at every level, each level differently.
    fn layered_policy_config() -> (Config, Vec<DeviceEntry>) {
        let config = Config {
            defaults: Defaults {
                attrs: policy(Policy::GroupBySerial),
                ..Defaults::default()
            },
            devices: vec![user_device("ACME", "Box", policy(Policy::GroupByPrio), 10)],
            overrides: policy(Policy::Multibus),
            multipaths: vec![mpe(WWID, None, policy(Policy::GroupByNodeName))],
            ..Config::default()
        };
        (config, vec![device("ACME", ".*", policy(Policy::Failover))])
    }

    #[test]
    fn policy_precedence_walks_every_level() {
        let (config, builtin) = layered_policy_config();
        let s = selector(config.clone(), builtin.clone());
        let hw = s.device_match("ACME", "Box", "0001");
        assert_eq!(s.map_settings(WWID, &hw).policy, Setting::new(Policy::GroupByNodeName, Source::Multipaths));
        assert_eq!(s.map_settings("other", &hw).policy, Setting::new(Policy::Multibus, Source::Overrides));

        let mut no_ovr = config.clone();
        no_ovr.overrides = Attrs::default();
        let s = selector(no_ovr.clone(), builtin.clone());
        let hw = s.device_match("ACME", "Box", "");
        // The user entry (later in the table) beats the built-in one.
        assert_eq!(s.map_settings("other", &hw).policy, Setting::new(Policy::GroupByPrio, Source::Device));
        let hw_builtin_only = s.device_match("ACME", "Other", "");
        assert_eq!(
            s.map_settings("other", &hw_builtin_only).policy,
            Setting::new(Policy::Failover, Source::Device)
        );
        let none = s.device_match("XYZ", "Q", "");
        assert_eq!(s.map_settings("other", &none).policy, Setting::new(Policy::GroupBySerial, Source::Defaults));

        let empty = selector(Config::default(), Vec::new());
        assert_eq!(
            empty.map_settings("other", &HwMatch::default()).policy,
            Setting::new(Policy::Failover, Source::Builtin)
        );
    }

    #[test]
    fn command_line_policy_beats_multipaths_entry() {
        let (config, builtin) = layered_policy_config();
        let cmd = CommandLine {
            policy: Some(Policy::Failover),
            ..CommandLine::default()
        };
        let s = selector_with(config, builtin, cmd);
        let hw = s.device_match("ACME", "Box", "");
        assert_eq!(s.map_settings(WWID, &hw).policy, Setting::new(Policy::Failover, Source::CommandLine));
    }

    #[test]
    fn device_match_lists_later_entries_first_and_respects_regexes() {
        let builtin = vec![
            device("ACME", "^Box", Attrs::default()),
            device("OTHER", ".*", Attrs::default()),
            device("AC", "B", Attrs::default()),
        ];
        let config = Config {
            devices: vec![user_device("ACME", "Box$", Attrs::default(), 3)],
            ..Config::default()
        };
        let s = selector(config, builtin);
        let hw = s.device_match("ACME", "Box", "");
        let vendors: Vec<_> = s
            .matched_entries(&hw)
            .map(|e| (e.product.clone().unwrap_or_default(), e.origin.clone()))
            .collect();
        assert_eq!(
            vendors,
            vec![
                ("Box$".to_string(), file(3)),
                ("B".to_string(), Origin::Builtin),
                ("^Box".to_string(), Origin::Builtin),
            ]
        );
        assert!(s.device_match("ACME", "XBox", "").len() == 2, "anchored ^Box must not match XBox");
    }

    #[test]
    fn bad_regex_makes_entry_unusable_with_a_diagnostic() {
        let config = Config {
            devices: vec![user_device("ACME", "Box(", policy(Policy::Multibus), 7)],
            ..Config::default()
        };
        let (s, diags) = Selector::new(config, Vec::new(), CommandLine::default(), true);
        assert!(s.device_match("ACME", "Box(", "").is_empty());
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].origin, file(7));
    }

    #[test]
    fn user_entry_with_builtin_strings_absorbs_it() {
        let builtin_attrs = Attrs {
            path_checker: Some("rdac".into()),
            path_grouping_policy: Some(Policy::GroupByPrio),
            features: Some("2 pg_init_retries 50".into()),
            ..Attrs::default()
        };
        let builtin = vec![
            device("NETAPP", "LUN", builtin_attrs),
            device("NETAPP", ".*", Attrs {
                rr_weight: Some(RrWeight::Priorities),
                path_checker: Some("directio".into()),
                ..Attrs::default()
            }),
        ];
        let config = Config {
            devices: vec![user_device("NETAPP", "LUN", policy(Policy::Multibus), 4)],
            ..Config::default()
        };
        let (s, diags) = Selector::new(config, builtin, CommandLine::default(), true);
        assert!(diags.is_empty(), "{diags:?}");
        let table: Vec<_> = s.device_table().collect();
        assert_eq!(table.len(), 2, "the built-in LUN entry is merged away");
        let merged = table[1];
        assert_eq!(merged.origin, file(4));
        assert_eq!(merged.attrs.path_grouping_policy, Some(Policy::Multibus));
        assert_eq!(merged.attrs.path_checker.as_deref(), Some("rdac"));
        // The merged entry now sits at the end: it beats the ".*" entry.
        let hw = s.device_match("NETAPP", "LUN", "");
        let facts = PathFacts {
            tpgs: Tpgs::None,
            ..PathFacts::default()
        };
        assert_eq!(s.path_settings(&hw, "w", &facts).checker.value, "rdac");
        assert_eq!(s.map_settings("w", &hw).features.value, "2 pg_init_retries 50");
    }

    #[test]
    fn merged_entry_turns_queue_if_no_path_into_no_path_retry() {
        let builtin = vec![device("V", "P", Attrs {
            features: Some("1 queue_if_no_path".into()),
            ..Attrs::default()
        })];
        let config = Config {
            defaults: Defaults {
                attrs: Attrs {
                    no_path_retry: Some(NoPathRetry::Fail),
                    ..Attrs::default()
                },
                ..Defaults::default()
            },
            devices: vec![user_device("V", "P", Attrs::default(), 2)],
            ..Config::default()
        };
        let s = selector(config, builtin);
        let hw = s.device_match("V", "P", "");
        let m = s.map_settings("w", &hw);
        assert_eq!(m.no_path_retry, Some(Setting::new(NoPathRetry::Queue, Source::Device)));
        assert_eq!(m.features.value, "0");
    }

    #[test]
    fn user_duplicates_merge_into_the_last_with_a_diagnostic() {
        let config = Config {
            devices: vec![
                user_device("V", "P", Attrs {
                    rr_min_io_rq: Some(7),
                    path_selector: Some("round-robin 0".into()),
                    ..Attrs::default()
                }, 1),
                user_device("V", "P", Attrs {
                    rr_min_io_rq: Some(9),
                    ..Attrs::default()
                }, 5),
                DeviceEntry {
                    vendor: Some("NOPRODUCT".into()),
                    origin: file(8),
                    ..DeviceEntry::default()
                },
            ],
            ..Config::default()
        };
        let (s, diags) = Selector::new(config, Vec::new(), CommandLine::default(), true);
        assert_eq!(diags.len(), 2, "{diags:?}");
        let hw = s.device_match("V", "P", "");
        assert_eq!(hw.len(), 1);
        let m = s.map_settings("w", &hw);
        assert_eq!(m.rr_min_io_rq.value, 9);
        assert_eq!(m.selector.value, "round-robin 0");
    }

    #[test]
    fn features_queue_if_no_path_becomes_no_path_retry() {
        let config = Config {
            defaults: Defaults {
                attrs: Attrs {
                    features: Some("1 queue_if_no_path".into()),
                    ..Attrs::default()
                },
                ..Defaults::default()
            },
            ..Config::default()
        };
        let s = selector(config.clone(), Vec::new());
        let m = s.map_settings("w", &HwMatch::default());
        assert_eq!(m.features.value, "0");
        assert_eq!(m.no_path_retry, Some(Setting::new(NoPathRetry::Queue, Source::FeatureQueueIfNoPath)));
        assert_eq!(table_features(&m, true), "1 queue_if_no_path");

        // An explicit no_path_retry wins over the feature.
        let mut with_fail = config;
        with_fail.overrides.no_path_retry = Some(NoPathRetry::Fail);
        let s = selector(with_fail, Vec::new());
        let m = s.map_settings("w", &HwMatch::default());
        assert_eq!(m.no_path_retry.map(|s| s.value), Some(NoPathRetry::Fail));
        assert_eq!(table_features(&m, true), "0");
        assert!(m.notes.iter().any(|n| n.level == 2));
    }

    fn settings_with(features: &str, retry: Option<NoPathRetry>) -> MapSettings {
        let config = Config {
            defaults: Defaults {
                attrs: Attrs {
                    features: Some(features.into()),
                    no_path_retry: retry,
                    ..Attrs::default()
                },
                ..Defaults::default()
            },
            ..Config::default()
        };
        selector(config, Vec::new()).map_settings("w", &HwMatch::default())
    }

    #[test]
    fn table_features_follow_no_path_retry_and_daemon() {
        let queue = settings_with("0", Some(NoPathRetry::Queue));
        assert_eq!(table_features(&queue, true), "1 queue_if_no_path");
        assert_eq!(table_features(&queue, false), "0");
        let retries = settings_with("2 pg_init_retries 50", Some(NoPathRetry::Retries(12)));
        assert_eq!(table_features(&retries, true), "3 pg_init_retries 50 queue_if_no_path");
        assert_eq!(table_features(&retries, false), "2 pg_init_retries 50");
        let fail = settings_with("2 pg_init_retries 50", Some(NoPathRetry::Fail));
        assert_eq!(table_features(&fail, true), "2 pg_init_retries 50");
        let undef = settings_with("0", None);
        assert_eq!(undef.no_path_retry, None);
        assert_eq!(table_features(&undef, true), "0");
    }

    #[test]
    fn retain_feature_and_invalid_queue_mode_are_removed() {
        let m = settings_with("3 retain_attached_hw_handler pg_init_retries 50", None);
        assert_eq!(m.features.value, "2 pg_init_retries 50");
        let m = settings_with("2 queue_mode foo", None);
        assert_eq!(m.features.value, "0");
        let m = settings_with("2 queue_mode bio", None);
        assert_eq!(m.features.value, "2 queue_mode bio");
    }

    #[test]
    fn feature_text_editing() {
        assert_eq!(add_feature("0", "queue_if_no_path"), "1 queue_if_no_path");
        assert_eq!(add_feature("1 queue_if_no_path", "queue_if_no_path"), "1 queue_if_no_path");
        assert_eq!(add_feature("junk", "queue_if_no_path"), "junk");
        assert_eq!(remove_feature("1 queue_if_no_path", "queue_if_no_path"), "0");
        assert_eq!(
            remove_feature("3 queue_if_no_path pg_init_retries 50", "queue_if_no_path"),
            "2 pg_init_retries 50"
        );
        assert_eq!(remove_feature("1 xqueue_if_no_path", "queue_if_no_path"), "1 xqueue_if_no_path");
        assert_eq!(remove_feature("3 a b c", "c"), "2 a b");
    }

    fn facts(tpgs: Tpgs, access_state: bool, vac1: bool) -> PathFacts {
        PathFacts {
            tpgs,
            access_state_readable: access_state,
            vpd_c9_vac1: vac1,
        }
    }

    #[test]
    fn detect_prio_cases() {
        let builtin = vec![device("HW", "X", Attrs {
            prio: Some("emc".into()),
            prio_args: Some("a".into()),
            ..Attrs::default()
        })];
        let s = selector(Config::default(), builtin);
        let hw = s.device_match("HW", "X", "");
        let p = s.path_settings(&hw, "w", &facts(Tpgs::Implicit, true, false));
        assert_eq!(p.prio, Setting::new("sysfs".into(), Source::Autodetected));
        assert_eq!(p.prio_args, "");
        let p = s.path_settings(&hw, "w", &facts(Tpgs::Implicit, false, false));
        assert_eq!(p.prio.value, "alua");
        // RDAC arrays keep alua unless they do explicit-only ALUA.
        let p = s.path_settings(&hw, "w", &facts(Tpgs::Both, true, true));
        assert_eq!(p.prio.value, "alua");
        let p = s.path_settings(&hw, "w", &facts(Tpgs::Explicit, true, true));
        assert_eq!(p.prio.value, "sysfs");
        // No TPGS: the device entry's prio and args.
        let p = s.path_settings(&hw, "w", &facts(Tpgs::None, true, false));
        assert_eq!(p.prio, Setting::new("emc".into(), Source::Device));
        assert_eq!(p.prio_args, "a");
    }

    #[test]
    fn detect_prio_off_and_alua_fallback() {
        let config = Config {
            overrides: Attrs {
                detect_prio: Some(false),
                prio: Some("alua".into()),
                ..Attrs::default()
            },
            ..Config::default()
        };
        let s = selector(config, Vec::new());
        let none = HwMatch::default();
        let p = s.path_settings(&none, "w", &facts(Tpgs::Implicit, true, false));
        assert_eq!(p.prio, Setting::new("alua".into(), Source::Overrides));
        assert_eq!(p.detect_prio, Setting::new(false, Source::Overrides));
        let p = s.path_settings(&none, "w", &facts(Tpgs::None, true, false));
        assert_eq!(p.prio, Setting::new("const".into(), Source::AluaFallback));
    }

    #[test]
    fn prio_args_come_with_the_level_except_for_device_entries() {
        let builtin = vec![
            device("V", ".*", Attrs {
                prio_args: Some("from-general".into()),
                ..Attrs::default()
            }),
            device("V", "P", Attrs {
                prio: Some("weightedpath".into()),
                ..Attrs::default()
            }),
        ];
        let config = Config {
            defaults: Defaults {
                attrs: Attrs {
                    detect_prio: Some(false),
                    prio_args: Some("ignored".into()),
                    ..Attrs::default()
                },
                ..Defaults::default()
            },
            multipaths: vec![mpe(WWID, None, Attrs {
                prio: Some("const".into()),
                ..Attrs::default()
            })],
            ..Config::default()
        };
        let s = selector(config, builtin);
        let hw = s.device_match("V", "P", "");
        let p = s.path_settings(&hw, "other", &facts(Tpgs::None, false, false));
        assert_eq!(p.prio.value, "weightedpath");
        assert_eq!(p.prio_args, "from-general");
        let p = s.path_settings(&hw, WWID, &facts(Tpgs::None, false, false));
        assert_eq!(p.prio, Setting::new("const".into(), Source::Multipaths));
        assert_eq!(p.prio_args, "");
    }

    #[test]
    fn checker_detection() {
        let builtin = vec![device("V", "P", Attrs {
            path_checker: Some("emc_clariion".into()),
            ..Attrs::default()
        })];
        let s = selector(Config::default(), builtin);
        let hw = s.device_match("V", "P", "");
        assert!(!s.wants_vpd_c9(&hw));
        let p = s.path_settings(&hw, "w", &facts(Tpgs::Implicit, false, true));
        assert_eq!(p.checker, Setting::new("tur".into(), Source::Autodetected));
        let p = s.path_settings(&hw, "w", &facts(Tpgs::None, false, true));
        assert_eq!(p.checker, Setting::new("emc_clariion".into(), Source::Device));
        let plain = HwMatch::default();
        assert!(s.wants_vpd_c9(&plain));
        let p = s.path_settings(&plain, "w", &facts(Tpgs::None, false, true));
        assert_eq!(p.checker, Setting::new("rdac".into(), Source::Autodetected));
        let p = s.path_settings(&plain, "w", &facts(Tpgs::Unknown, false, false));
        assert_eq!(p.checker, Setting::new("tur".into(), Source::Builtin));
    }

    fn configured(value: &str, source: Source) -> Setting<String> {
        Setting::new(value.into(), source)
    }

    fn path(dh: Option<&str>, tpgs: Tpgs) -> HandlerFacts<'_> {
        HandlerFacts { dh_state: dh, tpgs }
    }

    #[test]
    fn hwhandler_resolution() {
        let builtin0 = configured("0", Source::Builtin);
        // Attached handler retained.
        let r = resolve_hwhandler(&builtin0, true, &[path(Some("detached"), Tpgs::None), path(Some("rdac"), Tpgs::None)]);
        assert_eq!(r, configured("1 rdac", Source::RetainedByKernel));
        // Retain off ignores dh_state.
        let r = resolve_hwhandler(&builtin0, false, &[path(Some("rdac"), Tpgs::None)]);
        assert_eq!(r, builtin0);
        // TPGS everywhere and nothing configured: alua.
        let r = resolve_hwhandler(&builtin0, true, &[path(None, Tpgs::Implicit), path(Some("detached"), Tpgs::Unknown)]);
        assert_eq!(r, configured("1 alua", Source::Tpgs));
        // All unknown is not TPGS.
        let r = resolve_hwhandler(&builtin0, true, &[path(None, Tpgs::Unknown)]);
        assert_eq!(r, builtin0);
        // A configured "0" is kept even with TPGS.
        let user0 = configured("0", Source::Defaults);
        assert_eq!(resolve_hwhandler(&user0, true, &[path(None, Tpgs::Both)]), user0);
        // A configured "1 alua" without TPGS on every path is dropped.
        let alua = configured("1 alua", Source::Device);
        let r = resolve_hwhandler(&alua, true, &[path(None, Tpgs::Both), path(None, Tpgs::None)]);
        assert_eq!(r, configured("0", Source::Tpgs));
        assert_eq!(resolve_hwhandler(&alua, true, &[path(None, Tpgs::Both)]), alua);
        // Configured emc stays without an attached handler.
        let emc = configured("1 emc", Source::Device);
        assert_eq!(resolve_hwhandler(&emc, true, &[path(Some("detached"), Tpgs::None)]), emc);
    }

    #[test]
    fn hwhandler_configured_skips_overrides_and_multipaths() {
        let config = Config {
            defaults: Defaults {
                attrs: Attrs {
                    hardware_handler: Some("1 emc".into()),
                    ..Attrs::default()
                },
                ..Defaults::default()
            },
            overrides: Attrs {
                hardware_handler: Some("1 rdac".into()),
                ..Attrs::default()
            },
            ..Config::default()
        };
        let s = selector(config, Vec::new());
        let m = s.map_settings("w", &HwMatch::default());
        assert_eq!(m.hardware_handler, configured("1 emc", Source::Defaults));
    }

    #[test]
    fn alias_choice_cases() {
        let builtin = vec![device("V", "P", Attrs {
            user_friendly_names: Some(true),
            alias_prefix: Some("hw".into()),
            ..Attrs::default()
        })];
        let config = Config {
            multipaths: vec![
                mpe(WWID, Some("data"), Attrs::default()),
                mpe("w-no-ufn", None, Attrs {
                    user_friendly_names: Some(false),
                    ..Attrs::default()
                }),
            ],
            ..Config::default()
        };
        let s = selector(config, builtin);
        let hw = s.device_match("V", "P", "");
        assert_eq!(s.map_settings(WWID, &hw).alias, AliasChoice::Multipaths("data".into()));
        assert_eq!(
            s.map_settings("other", &hw).alias,
            AliasChoice::UserFriendly {
                prefix: configured("hw", Source::Device)
            }
        );
        assert_eq!(s.map_settings("w-no-ufn", &hw).alias, AliasChoice::Wwid);
        assert_eq!(s.map_settings("other", &HwMatch::default()).alias, AliasChoice::Wwid);
    }

    #[test]
    fn multipaths_are_sorted_and_duplicates_merged() {
        let config = Config {
            multipaths: vec![
                mpe("b", Some("first"), Attrs {
                    rr_weight: Some(RrWeight::Priorities),
                    ..Attrs::default()
                }),
                mpe("a", None, Attrs::default()),
                mpe("b", None, policy(Policy::Multibus)),
                MultipathEntry::default(),
            ],
            ..Config::default()
        };
        let (s, diags) = Selector::new(config, Vec::new(), CommandLine::default(), true);
        assert_eq!(diags.len(), 2, "{diags:?}");
        let wwids: Vec<_> = s.multipath_entries().iter().filter_map(|m| m.wwid.clone()).collect();
        assert_eq!(wwids, vec!["a", "b"]);
        let m = s.map_settings("b", &HwMatch::default());
        assert_eq!(m.alias, AliasChoice::Multipaths("first".into()));
        assert_eq!(m.rr_weight.value, RrWeight::Priorities);
        assert_eq!(m.policy.value, Policy::Multibus);
    }

    #[test]
    fn path_weight_uses_priorities_only_when_asked() {
        let mut m = settings_with("0", None);
        assert_eq!(m.rr_min_io_rq, Setting::new(1, Source::Builtin));
        assert_eq!(path_weight(&m, 50), 1);
        m.rr_weight.value = RrWeight::Priorities;
        m.rr_min_io_rq.value = 3;
        assert_eq!(path_weight(&m, 50), 150);
        assert_eq!(path_weight(&m, 0), 3);
    }

    #[test]
    fn find_multipaths_sources() {
        let s = Selector::new(Config::default(), Vec::new(), CommandLine::default(), false).0;
        assert_eq!(s.find_multipaths(), FindMultipaths::On);
        let s = Selector::new(Config::default(), Vec::new(), CommandLine::default(), true).0;
        assert_eq!(s.find_multipaths(), FindMultipaths::Strict);
        let mut config = Config::default();
        config.defaults.find_multipaths = Some(FindMultipaths::Greedy);
        let s = Selector::new(config.clone(), Vec::new(), CommandLine::default(), false).0;
        assert_eq!(s.find_multipaths(), FindMultipaths::Greedy);
        let cmd = CommandLine {
            find_multipaths: Some(FindMultipaths::Off),
            ..CommandLine::default()
        };
        let s = Selector::new(config, Vec::new(), cmd, true).0;
        assert_eq!(s.find_multipaths(), FindMultipaths::Off);
    }

    #[test]
    fn builtin_defaults_match_the_walk_defaults() {
        let d = builtin_defaults();
        let s = selector(Config::default(), Vec::new());
        let m = s.map_settings("w", &HwMatch::default());
        assert_eq!(d.attrs.path_selector.as_deref(), Some(m.selector.value.as_str()));
        assert_eq!(d.attrs.features.as_deref(), Some(m.features.value.as_str()));
        assert_eq!(d.attrs.hardware_handler.as_deref(), Some(m.hardware_handler.value.as_str()));
        assert_eq!(d.attrs.rr_min_io_rq, Some(m.rr_min_io_rq.value));
        assert_eq!(d.attrs.path_grouping_policy, Some(m.policy.value));
        assert!(!s.allow_usb_devices());
    }
}
