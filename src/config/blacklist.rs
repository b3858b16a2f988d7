//! Which paths are passed over: multipath-tools 0.9.4's `blacklist` and
//! `blacklist_exceptions`, with its built-in rules, its rule order and its
//! verdicts.
//!
//! Facts this follows (libmultipath/blacklist.c, config.c, discovery.c):
//! - A pattern starting with `!` matches what its regex does *not* match;
//!   `\!` at the start stands for a literal `!`. Patterns are unanchored
//!   POSIX extended regexes.
//! - The user's rules come first (main file, then the `conf.d` files, in the
//!   order the parser delivers them), then the built-in ones: devnode
//!   `!^(sd[a-z]|dasd[a-z]|nvme[0-9])`, property exception
//!   `(SCSI_IDENT_|ID_WWN)`, and one device rule per hardware-table entry
//!   with a `product_blacklist` (vendor + product_blacklist), unless a device
//!   rule with the very same two strings is already there. Later duplicates
//!   of the same pattern text are dropped.
//! - For each filter, a matching exception wins over any blacklist entry;
//!   the first matching rule of a list decides.
//! - The property filter looks at udev property *names* only, in name
//!   order; the first name matching an exception (then a blacklist entry)
//!   decides. When none matches, the path is blacklisted ("udev property
//!   missing") only if the `uid_attribute` property (`ID_SERIAL` for SCSI)
//!   is among the names.
//! - In a blacklist `device` section, vendor and product are compiled
//!   separately: an invalid one is dropped and the rule keeps the other.
//! - `pathinfo` applies the filters in this order: devnode, then (after
//!   reading sysfs) the USB check, property, device, protocol, and once the
//!   WWID is known, wwid.

use core::fmt;

use super::{Config, DeviceEntry, DeviceRule, Diagnostic, Origin, Rule, RuleSet};
use crate::regex::Regex;

/// The devnode rule 0.9.4 always adds: only sd, dasd and nvme devices.
const BUILTIN_DEVNODE: &str = "!^(sd[a-z]|dasd[a-z]|nvme[0-9])";
/// The property exception 0.9.4 always adds.
const BUILTIN_PROPERTY_EXCEPTION: &str = "(SCSI_IDENT_|ID_WWN)";
/// The `uid_attribute` of SCSI paths unless configured otherwise.
pub const DEFAULT_UID_ATTRIBUTE: &str = "ID_SERIAL";

/// The blacklist rules 0.9.4 sets up on its own (device rules from the
/// hardware table's `product_blacklist` are added by [`Blacklist::new`]).
pub fn builtin_blacklist() -> RuleSet {
    RuleSet {
        devnode: vec![builtin_rule(BUILTIN_DEVNODE)],
        ..RuleSet::default()
    }
}

/// The exception rules 0.9.4 sets up on its own.
pub fn builtin_exceptions() -> RuleSet {
    RuleSet {
        property: vec![builtin_rule(BUILTIN_PROPERTY_EXCEPTION)],
        ..RuleSet::default()
    }
}

fn builtin_rule(pattern: &str) -> Rule {
    Rule {
        pattern: pattern.to_owned(),
        origin: Origin::Builtin,
    }
}

/// `allow_usb_devices` (default no): 0.9.4 skips SCSI paths whose
/// transport is USB unless this is set. The check sits in `pathinfo`
/// between the devnode filter and the property filter.
pub fn usb_allowed(config: &Config) -> bool {
    config.defaults.allow_usb_devices.unwrap_or(false)
}

/// The five filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Devnode,
    Device,
    Wwid,
    Protocol,
    Property,
}

impl Filter {
    /// The keyword of the rule in multipath.conf.
    pub fn keyword(self) -> &'static str {
        match self {
            Filter::Devnode => "devnode",
            Filter::Device => "device",
            Filter::Wwid => "wwid",
            Filter::Protocol => "protocol",
            Filter::Property => "property",
        }
    }
}

/// Which list a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Blacklist,
    Exceptions,
}

/// The rule that decided a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub list: List,
    pub filter: Filter,
    /// The rule as written (`!` included); for device rules
    /// `vendor "X" product "Y"` with the fields present.
    pub rule: String,
    pub origin: Origin,
    /// For the property filter: the property name that matched.
    pub subject: Option<String>,
}

/// Why a verdict was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    Matched(Match),
    /// No property matched a rule, yet the `uid_attribute` property is
    /// present: 0.9.4's "udev property missing".
    PropertyMissing {
        uid_attribute: String,
    },
    NoRuleMatched,
}

/// The outcome of one filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed(Reason),
    Blacklisted(Reason),
}

impl Verdict {
    pub fn is_blacklisted(&self) -> bool {
        matches!(self, Verdict::Blacklisted(_))
    }

    pub fn reason(&self) -> &Reason {
        match self {
            Verdict::Allowed(reason) | Verdict::Blacklisted(reason) => reason,
        }
    }
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.list {
            List::Blacklist => "blacklisted",
            List::Exceptions => "excepted",
        };
        match self.filter {
            Filter::Device => write!(f, "{verb} by device {} ({})", self.rule, self.origin)?,
            filter => write!(
                f,
                "{verb} by {} {:?} ({})",
                filter.keyword(),
                self.rule,
                self.origin
            )?,
        }
        if let Some(subject) = &self.subject {
            write!(f, ", matching {subject}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Matched(m) => m.fmt(f),
            Reason::PropertyMissing { uid_attribute } => write!(
                f,
                "blacklisted, udev property missing: {uid_attribute} is set but no property \
                 matches a property exception"
            ),
            Reason::NoRuleMatched => f.write_str("no rule matched"),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason().fmt(f)
    }
}

/// One compiled pattern with its `!` handling.
#[derive(Debug)]
struct Pattern {
    regex: Regex,
    invert: bool,
}

impl Pattern {
    /// Splits a leading `!` (invert) or `\!` (literal `!`) off, as 0.9.4 does.
    fn compile(written: &str) -> Result<Pattern, crate::regex::RegexError> {
        let (regex_text, invert) = if let Some(rest) = written.strip_prefix('!') {
            (rest, true)
        } else if written.starts_with("\\!") {
            (written.get(1..).unwrap_or(""), false)
        } else {
            (written, false)
        };
        Ok(Pattern {
            regex: Regex::new(regex_text)?,
            invert,
        })
    }

    fn matches(&self, text: &str) -> bool {
        self.regex.is_match(text) != self.invert
    }
}

#[derive(Debug)]
struct CompiledRule {
    written: String,
    pattern: Pattern,
    origin: Origin,
}

#[derive(Debug)]
struct CompiledDeviceRule {
    vendor: Option<(String, Pattern)>,
    product: Option<(String, Pattern)>,
    origin: Origin,
}

impl CompiledDeviceRule {
    /// A rule with neither field matches nothing.
    fn matches(&self, vendor: &str, product: &str) -> bool {
        if self.vendor.is_none() && self.product.is_none() {
            return false;
        }
        let field_ok = |field: &Option<(String, Pattern)>, text: &str| {
            field.as_ref().is_none_or(|(_, p)| p.matches(text))
        };
        field_ok(&self.vendor, vendor) && field_ok(&self.product, product)
    }

    fn strings(&self) -> (Option<&str>, Option<&str>) {
        (
            self.vendor.as_ref().map(|(s, _)| s.as_str()),
            self.product.as_ref().map(|(s, _)| s.as_str()),
        )
    }

    fn describe(&self) -> String {
        let mut text = String::new();
        if let Some((v, _)) = &self.vendor {
            text.push_str(&format!("vendor {v:?}"));
        }
        if let Some((p, _)) = &self.product {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("product {p:?}"));
        }
        text
    }
}

/// The rules of one list (blacklist or exceptions), compiled.
#[derive(Debug, Default)]
struct Rules {
    devnode: Vec<CompiledRule>,
    wwid: Vec<CompiledRule>,
    property: Vec<CompiledRule>,
    protocol: Vec<CompiledRule>,
    device: Vec<CompiledDeviceRule>,
}

impl Rules {
    fn simple(&self, filter: Filter) -> &[CompiledRule] {
        match filter {
            Filter::Devnode => &self.devnode,
            Filter::Wwid => &self.wwid,
            Filter::Property => &self.property,
            Filter::Protocol => &self.protocol,
            Filter::Device => &[],
        }
    }
}

/// Both lists, compiled once; ask it one filter at a time.
#[derive(Debug)]
pub struct Blacklist {
    blacklist: Rules,
    exceptions: Rules,
}

impl Blacklist {
    /// Compiles the user's rules followed by the built-in ones, in 0.9.4's
    /// order. `devices` is the built-in hardware table followed by the
    /// user's device entries; each entry with a `product_blacklist` adds a
    /// device rule. Invalid patterns are reported and left out.
    pub fn new(config: &Config, devices: &[DeviceEntry]) -> (Blacklist, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let builtin_bl = builtin_blacklist();
        let builtin_ex = builtin_exceptions();
        let mut blacklist =
            compile_list(List::Blacklist, &config.blacklist, &builtin_bl, &mut diags);
        let exceptions = compile_list(
            List::Exceptions,
            &config.exceptions,
            &builtin_ex,
            &mut diags,
        );
        for entry in effective_product_blacklists(devices) {
            add_product_blacklist(&mut blacklist.device, entry, &mut diags);
        }
        dedup_device_rules(&mut blacklist.device);
        (
            Blacklist {
                blacklist,
                exceptions,
            },
            diags,
        )
    }

    /// `filter_devnode`: the kernel name of the device (`sda`).
    pub fn devnode(&self, name: &str) -> Verdict {
        self.simple(Filter::Devnode, name)
    }

    /// `filter_wwid`.
    pub fn wwid(&self, wwid: &str) -> Verdict {
        self.simple(Filter::Wwid, wwid)
    }

    /// `filter_protocol`: the name from `discover::protocol` (`scsi:fcp`).
    pub fn protocol(&self, protocol: &str) -> Verdict {
        self.simple(Filter::Protocol, protocol)
    }

    /// `filter_device`: INQUIRY vendor and product, trailing blanks removed
    /// (as 0.9.4 reads them from sysfs).
    pub fn device(&self, vendor: &str, product: &str) -> Verdict {
        let verdict = |list, rule: &CompiledDeviceRule| {
            Reason::Matched(Match {
                list,
                filter: Filter::Device,
                rule: rule.describe(),
                origin: rule.origin.clone(),
                subject: None,
            })
        };
        if let Some(rule) = find_device(&self.exceptions, vendor, product) {
            return Verdict::Allowed(verdict(List::Exceptions, rule));
        }
        if let Some(rule) = find_device(&self.blacklist, vendor, product) {
            return Verdict::Blacklisted(verdict(List::Blacklist, rule));
        }
        Verdict::Allowed(Reason::NoRuleMatched)
    }

    /// `filter_property` with the SCSI default `uid_attribute` (`ID_SERIAL`).
    /// Only the property names are examined.
    pub fn property(&self, properties: &[(String, String)]) -> Verdict {
        self.property_with_uid(properties, Some(DEFAULT_UID_ATTRIBUTE))
    }

    /// `filter_property` for a given `uid_attribute` (`None` or empty:
    /// WWIDs do not come from udev, so a missing property never blacklists).
    pub fn property_with_uid(
        &self,
        properties: &[(String, String)],
        uid_attribute: Option<&str>,
    ) -> Verdict {
        // libudev hands the properties out sorted by name.
        let mut names: Vec<&str> = properties.iter().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let uid = uid_attribute.filter(|u| !u.is_empty());
        for name in &names {
            if let Some(m) = first_match(&self.exceptions, List::Exceptions, Filter::Property, name)
            {
                return Verdict::Allowed(Reason::Matched(with_subject(m, name)));
            }
            if let Some(m) = first_match(&self.blacklist, List::Blacklist, Filter::Property, name) {
                return Verdict::Blacklisted(Reason::Matched(with_subject(m, name)));
            }
        }
        match uid {
            Some(uid) if names.contains(&uid) => Verdict::Blacklisted(Reason::PropertyMissing {
                uid_attribute: uid.to_owned(),
            }),
            _ => Verdict::Allowed(Reason::NoRuleMatched),
        }
    }

    /// Whether some `property` rule (exception or blacklist) matches `name`:
    /// only such names, and the `uid_attribute`, can change a verdict.
    pub fn property_rule_matches(&self, name: &str) -> bool {
        [&self.exceptions, &self.blacklist]
            .iter()
            .any(|rules| rules.simple(Filter::Property).iter().any(|r| r.pattern.matches(name)))
    }

    fn simple(&self, filter: Filter, text: &str) -> Verdict {
        if let Some(m) = first_match(&self.exceptions, List::Exceptions, filter, text) {
            return Verdict::Allowed(Reason::Matched(m));
        }
        if let Some(m) = first_match(&self.blacklist, List::Blacklist, filter, text) {
            return Verdict::Blacklisted(Reason::Matched(m));
        }
        Verdict::Allowed(Reason::NoRuleMatched)
    }
}

fn find_device<'a>(
    rules: &'a Rules,
    vendor: &str,
    product: &str,
) -> Option<&'a CompiledDeviceRule> {
    rules.device.iter().find(|r| r.matches(vendor, product))
}

/// Cuts a path's udev properties down to what [`Blacklist::property_with_uid`]
/// looks at, so a thousand paths do not each keep a dozen names: the first
/// name, in libudev's sorted order, that a rule matches (it alone decides),
/// and `uid_attribute` (its presence decides when no rule matched). Values
/// are emptied, since only names are judged. `rule_matches` is
/// [`Blacklist::property_rule_matches`], or a cache of it.
pub fn keep_decisive_properties(
    properties: &mut Vec<(String, String)>,
    uid_attribute: Option<&str>,
    mut rule_matches: impl FnMut(&str) -> bool,
) {
    crate::identify::properties::sort_by_name(properties);
    properties.dedup_by(|a, b| a.0 == b.0);
    let decisive = properties.iter().position(|(name, _)| rule_matches(name));
    let mut index = 0;
    properties.retain(|(name, _)| {
        let keep = Some(index) == decisive || uid_attribute == Some(name.as_str());
        index += 1;
        keep
    });
    for (_, value) in properties.iter_mut() {
        *value = String::new();
    }
    properties.shrink_to_fit();
}

fn with_subject(mut m: Match, name: &str) -> Match {
    m.subject = Some(name.to_owned());
    m
}

fn first_match(rules: &Rules, list: List, filter: Filter, text: &str) -> Option<Match> {
    rules
        .simple(filter)
        .iter()
        .find(|r| r.pattern.matches(text))
        .map(|r| Match {
            list,
            filter,
            rule: r.written.clone(),
            origin: r.origin.clone(),
            subject: None,
        })
}

fn list_name(list: List) -> &'static str {
    match list {
        List::Blacklist => "blacklist",
        List::Exceptions => "blacklist_exceptions",
    }
}

/// User rules, then built-in ones, for every filter of one list.
fn compile_list(
    list: List,
    user: &RuleSet,
    builtin: &RuleSet,
    diags: &mut Vec<Diagnostic>,
) -> Rules {
    let mut simple = |filter: Filter, pick: fn(&RuleSet) -> &Vec<Rule>| {
        let rules = pick(user).iter().chain(pick(builtin).iter());
        let mut compiled = compile_rules(list, filter, rules, diags);
        // 0.9.4 merges duplicates of every list but the protocol ones;
        // since the first of equal patterns always matches first, dropping
        // the later ones never changes a verdict.
        if filter != Filter::Protocol {
            dedup_by_text(&mut compiled);
        }
        compiled
    };
    let devnode = simple(Filter::Devnode, |s| &s.devnode);
    let wwid = simple(Filter::Wwid, |s| &s.wwid);
    let property = simple(Filter::Property, |s| &s.property);
    let protocol = simple(Filter::Protocol, |s| &s.protocol);
    let mut device: Vec<CompiledDeviceRule> = user
        .device
        .iter()
        .chain(builtin.device.iter())
        .map(|rule| compile_device_rule(list, rule, diags))
        .collect();
    dedup_device_rules(&mut device);
    Rules {
        devnode,
        wwid,
        property,
        protocol,
        device,
    }
}

fn compile_rules<'a>(
    list: List,
    filter: Filter,
    rules: impl Iterator<Item = &'a Rule>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<CompiledRule> {
    rules
        .filter_map(|rule| match Pattern::compile(&rule.pattern) {
            Ok(pattern) => Some(CompiledRule {
                written: rule.pattern.clone(),
                pattern,
                origin: rule.origin.clone(),
            }),
            Err(err) => {
                diags.push(Diagnostic {
                    origin: rule.origin.clone(),
                    message: format!(
                        "{} {}: {err}; rule ignored",
                        list_name(list),
                        filter.keyword()
                    ),
                });
                None
            }
        })
        .collect()
}

/// Compiles vendor and product separately, as 0.9.4 does: a field that
/// does not compile is left out and the rule keeps the other one.
fn compile_device_rule(
    list: List,
    rule: &DeviceRule,
    diags: &mut Vec<Diagnostic>,
) -> CompiledDeviceRule {
    let mut field = |name: &str, text: &Option<String>| -> Option<(String, Pattern)> {
        let text = text.as_ref()?;
        match Pattern::compile(text) {
            Ok(p) => Some((text.clone(), p)),
            Err(err) => {
                diags.push(Diagnostic {
                    origin: rule.origin.clone(),
                    message: format!(
                        "{} device {name}: {err}; the {name} is ignored (as multipath-tools does, \
                         the rule keeps its other field)",
                        list_name(list)
                    ),
                });
                None
            }
        }
    };
    CompiledDeviceRule {
        vendor: field("vendor", &rule.vendor),
        product: field("product", &rule.product),
        origin: rule.origin.clone(),
    }
}

fn dedup_by_text(rules: &mut Vec<CompiledRule>) {
    let mut seen: Vec<String> = Vec::new();
    rules.retain(|r| {
        if seen.contains(&r.written) {
            return false;
        }
        seen.push(r.written.clone());
        true
    });
}

/// Drops rules with neither field and later copies of the same strings.
fn dedup_device_rules(rules: &mut Vec<CompiledDeviceRule>) {
    rules.retain(|r| r.vendor.is_some() || r.product.is_some());
    let mut seen: Vec<(Option<String>, Option<String>)> = Vec::new();
    rules.retain(|r| {
        let (v, p) = r.strings();
        let key = (v.map(str::to_owned), p.map(str::to_owned));
        if seen.contains(&key) {
            return false;
        }
        seen.push(key);
        true
    });
}

/// A (vendor, product_blacklist) pair of the effective hardware table.
struct ProductBlacklist<'a> {
    vendor: &'a str,
    product_blacklist: &'a str,
    origin: &'a Origin,
}

/// The `product_blacklist` of each hardware-table entry after 0.9.4's
/// merging of entries with identical vendor/product/revision strings: an
/// entry followed by a user (file) entry with the same three strings is
/// folded into that later entry, which keeps its own `product_blacklist`
/// or else inherits the earlier one. User entries without vendor or product
/// are dropped by 0.9.4 before this point. Applying this to an already
/// merged table changes nothing.
fn effective_product_blacklists(devices: &[DeviceEntry]) -> Vec<ProductBlacklist<'_>> {
    let usable = |e: &DeviceEntry| e.vendor.is_some() && e.product.is_some();
    let same_strings = |a: &DeviceEntry, b: &DeviceEntry| {
        a.vendor == b.vendor && a.product == b.product && a.revision == b.revision
    };
    let mut out = Vec::new();
    for (i, entry) in devices.iter().enumerate() {
        if !usable(entry) {
            continue;
        }
        let later = devices.get(i + 1..).unwrap_or(&[]);
        let folded = later.iter().any(|l| {
            usable(l) && matches!(l.origin, Origin::File { .. }) && same_strings(l, entry)
        });
        if folded {
            continue;
        }
        // The surviving entry inherits from the earlier ones it absorbed.
        let earlier = devices.get(..i).unwrap_or(&[]);
        let product_blacklist = entry.product_blacklist.as_deref().or_else(|| {
            earlier
                .iter()
                .rev()
                .filter(|e| usable(e) && same_strings(e, entry))
                .find_map(|e| e.product_blacklist.as_deref())
        });
        if let (Some(vendor), Some(product_blacklist)) =
            (entry.vendor.as_deref(), product_blacklist)
        {
            out.push(ProductBlacklist {
                vendor,
                product_blacklist,
                origin: &entry.origin,
            });
        }
    }
    out
}

/// Adds a hardware-table device rule unless one with the same strings
/// exists. 0.9.4 refuses the whole configuration when such a pattern does
/// not compile; here the rule is reported and left out.
fn add_product_blacklist(
    rules: &mut Vec<CompiledDeviceRule>,
    entry: ProductBlacklist<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    let exists = rules
        .iter()
        .any(|r| r.strings() == (Some(entry.vendor), Some(entry.product_blacklist)));
    if exists {
        return;
    }
    let compiled = Pattern::compile(entry.vendor)
        .and_then(|v| Ok((v, Pattern::compile(entry.product_blacklist)?)));
    match compiled {
        Ok((vendor, product)) => rules.push(CompiledDeviceRule {
            vendor: Some((entry.vendor.to_owned(), vendor)),
            product: Some((entry.product_blacklist.to_owned(), product)),
            origin: entry.origin.clone(),
        }),
        Err(err) => diags.push(Diagnostic {
            origin: entry.origin.clone(),
            message: format!(
                "device vendor/product_blacklist: {err}; the product_blacklist rule is ignored \
                 (multipath-tools 0.9.4 would refuse the whole configuration)"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(line: u32) -> Origin {
        Origin::File {
            path: "/etc/multipath.conf".into(),
            line,
        }
    }

    fn rule(pattern: &str, line: u32) -> Rule {
        Rule {
            pattern: pattern.into(),
            origin: file(line),
        }
    }

    fn props(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), "x".to_string()))
            .collect()
    }

    fn hw(vendor: &str, product: &str, bl: Option<&str>, origin: Origin) -> DeviceEntry {
        DeviceEntry {
            vendor: Some(vendor.into()),
            product: Some(product.into()),
            product_blacklist: bl.map(str::to_owned),
            origin,
            ..DeviceEntry::default()
        }
    }

    fn build(config: &Config, devices: &[DeviceEntry]) -> Blacklist {
        let (bl, diags) = Blacklist::new(config, devices);
        assert!(diags.is_empty(), "{diags:?}");
        bl
    }

    #[test]
    fn builtin_devnode_rule_admits_only_sd_dasd_nvme() {
        let bl = build(&Config::default(), &[]);
        for name in ["sda", "sdz", "sdaa", "dasda", "nvme0n1"] {
            assert!(!bl.devnode(name).is_blacklisted(), "{name}");
        }
        for name in [
            "loop0", "dm-3", "sr0", "ram1", "md127", "vda", "xvda", "sd", "sdA",
        ] {
            let verdict = bl.devnode(name);
            assert!(verdict.is_blacklisted(), "{name}");
            assert_eq!(
                verdict.to_string(),
                "blacklisted by devnode \"!^(sd[a-z]|dasd[a-z]|nvme[0-9])\" (built-in)"
            );
        }
    }

    #[test]
    fn devnode_exception_beats_builtin_blacklist() {
        let mut config = Config::default();
        config.exceptions.devnode.push(rule("^vd[a-z]", 7));
        let bl = build(&config, &[]);
        let verdict = bl.devnode("vdb");
        assert!(!verdict.is_blacklisted());
        assert_eq!(
            verdict.to_string(),
            "excepted by devnode \"^vd[a-z]\" (/etc/multipath.conf:7)"
        );
        assert!(bl.devnode("xvdb").is_blacklisted());
    }

    #[test]
    fn user_rules_come_before_builtin_ones() {
        let mut config = Config::default();
        config.blacklist.devnode.push(rule("^loop", 3));
        let bl = build(&config, &[]);
        match bl.devnode("loop0") {
            Verdict::Blacklisted(Reason::Matched(m)) => assert_eq!(m.origin, file(3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wwid_rules_and_inversion() {
        let mut config = Config::default();
        config.blacklist.wwid.push(rule(".*", 10));
        config.exceptions.wwid.push(rule("^3600", 12));
        config.exceptions.wwid.push(rule("!^2", 13));
        let bl = build(&config, &[]);
        assert_eq!(
            bl.wwid("36001405abc").to_string(),
            "excepted by wwid \"^3600\" (/etc/multipath.conf:12)"
        );
        // "!^2": excepts everything that does not start with 2.
        assert!(!bl.wwid("1ATA").is_blacklisted());
        assert!(bl.wwid("2abcd").is_blacklisted());
    }

    #[test]
    fn escaped_bang_is_a_literal() {
        let mut config = Config::default();
        config.blacklist.wwid.push(rule("\\!x", 1));
        let bl = build(&config, &[]);
        assert!(bl.wwid("a!x").is_blacklisted());
        assert!(!bl.wwid("ax").is_blacklisted());
    }

    #[test]
    fn protocol_filter() {
        let mut config = Config::default();
        config.blacklist.protocol.push(rule("scsi:(usb|ata)", 4));
        config.exceptions.protocol.push(rule("scsi:ata", 5));
        let bl = build(&config, &[]);
        assert!(bl.protocol("scsi:usb").is_blacklisted());
        assert!(!bl.protocol("scsi:ata").is_blacklisted());
        assert_eq!(
            bl.protocol("scsi:fcp"),
            Verdict::Allowed(Reason::NoRuleMatched)
        );
    }

    #[test]
    fn default_property_exception_and_missing_property() {
        let bl = build(&Config::default(), &[]);
        let ok = bl.property(&props(&["DEVNAME", "ID_SERIAL", "ID_WWN"]));
        assert!(!ok.is_blacklisted());
        assert!(ok.to_string().ends_with("matching ID_WWN"), "{ok}");
        assert!(!bl
            .property(&props(&["SCSI_IDENT_LUN_T10", "ID_SERIAL"]))
            .is_blacklisted());
        let missing = bl.property(&props(&["ID_SERIAL", "ID_VENDOR"]));
        assert_eq!(
            missing,
            Verdict::Blacklisted(Reason::PropertyMissing {
                uid_attribute: "ID_SERIAL".into()
            })
        );
        // Without the uid attribute, udev probably failed: not blacklisted.
        assert_eq!(
            bl.property(&props(&["ID_VENDOR"])),
            Verdict::Allowed(Reason::NoRuleMatched)
        );
        assert!(!bl
            .property_with_uid(&props(&["ID_SERIAL"]), None)
            .is_blacklisted());
        assert!(bl
            .property_with_uid(&props(&["ID_EGGS"]), Some("ID_EGGS"))
            .is_blacklisted());
    }

    #[test]
    fn property_names_only_and_in_name_order() {
        let mut config = Config::default();
        config.blacklist.property.push(rule("^ID_BUS$", 2));
        let bl = build(&config, &[]);
        // Values are never examined.
        let by_value = vec![("ID_MODEL".to_string(), "ID_WWN".to_string())];
        assert!(!bl.property_with_uid(&by_value, None).is_blacklisted());
        // ID_BUS sorts before ID_WWN: the blacklist entry decides first.
        let verdict = bl.property(&props(&["ID_WWN", "ID_BUS"]));
        assert!(verdict.is_blacklisted());
        assert!(verdict.to_string().contains("matching ID_BUS"));
        // SCSI_IDENT_* sorts after ID_BUS as well.
        assert!(bl
            .property(&props(&["SCSI_IDENT_LUN_NAA_REG", "ID_BUS"]))
            .is_blacklisted());
    }

    #[test]
    fn decisive_properties_give_the_same_verdict() {
        let mut config = Config::default();
        config.blacklist.property.push(rule("^ID_BUS$", 2));
        let with_rule = build(&config, &[]);
        let default = build(&Config::default(), &[]);
        let sets: [&[&str]; 6] = [
            &["ID_VENDOR", "ID_SERIAL", "SCSI_IDENT_LUN_NAA_REG", "ID_WWN", "SCSI_IDENT_PORT_RELATIVE"],
            &["ID_WWN", "ID_BUS", "ID_SERIAL"],
            &["ID_SERIAL", "ID_VENDOR", "ID_MODEL"],
            &["ID_VENDOR"],
            &["SCSI_IDENT_LUN_T10", "ID_SERIAL", "SCSI_IDENT_LUN_T10"],
            &[],
        ];
        for bl in [&default, &with_rule] {
            for names in sets {
                for uid in [Some(DEFAULT_UID_ATTRIBUTE), None] {
                    let full = props(names);
                    let mut kept = full.clone();
                    keep_decisive_properties(&mut kept, uid, |n| bl.property_rule_matches(n));
                    assert_eq!(bl.property_with_uid(&kept, uid), bl.property_with_uid(&full, uid), "{names:?}");
                    assert!(kept.len() <= 2, "{kept:?}");
                    assert!(kept.iter().all(|(_, value)| value.is_empty()));
                }
            }
        }
        // The first matching name in sorted order is the one kept.
        let mut kept = props(&["SCSI_IDENT_LUN_NAA_REG", "ID_WWN", "ID_SERIAL", "ID_MODEL"]);
        keep_decisive_properties(&mut kept, Some(DEFAULT_UID_ATTRIBUTE), |n| default.property_rule_matches(n));
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["ID_SERIAL", "ID_WWN"]);
    }

    #[test]
    fn device_rules_from_hardware_table() {
        let devices = [
            hw("^DGC", "^(RAID|DISK|VRAID)", Some("LUNZ"), Origin::Builtin),
            hw("EMC", "Invista", Some("LUNZ"), Origin::Builtin),
            hw("NETAPP", "LUN", None, Origin::Builtin),
        ];
        let bl = build(&Config::default(), &devices);
        let verdict = bl.device("DGC", "LUNZ");
        assert!(verdict.is_blacklisted());
        assert_eq!(
            verdict.to_string(),
            "blacklisted by device vendor \"^DGC\" product \"LUNZ\" (built-in)"
        );
        assert!(!bl.device("DGC", "VRAID").is_blacklisted());
        assert!(bl.device("EMC", "LUNZ").is_blacklisted());
        assert!(!bl.device("NETAPP", "LUNZ").is_blacklisted());
    }

    #[test]
    fn device_exception_beats_product_blacklist() {
        let mut config = Config::default();
        config.exceptions.device.push(DeviceRule {
            vendor: Some("DGC".into()),
            product: None,
            origin: file(20),
        });
        let bl = build(&config, &[hw("DGC", "RAID", Some("LUNZ"), Origin::Builtin)]);
        let verdict = bl.device("DGC", "LUNZ");
        assert!(!verdict.is_blacklisted());
        assert_eq!(
            verdict.to_string(),
            "excepted by device vendor \"DGC\" (/etc/multipath.conf:20)"
        );
    }

    #[test]
    fn user_entry_with_same_strings_replaces_builtin_product_blacklist() {
        let devices = [
            hw("DGC", "RAID", Some("LUNZ"), Origin::Builtin),
            hw("DGC", "RAID", Some("OTHER"), file(30)),
        ];
        let bl = build(&Config::default(), &devices);
        assert!(!bl.device("DGC", "LUNZ").is_blacklisted());
        assert!(bl.device("DGC", "OTHER").is_blacklisted());
        // A user entry without product_blacklist inherits the built-in one.
        let devices = [
            hw("DGC", "RAID", Some("LUNZ"), Origin::Builtin),
            hw("DGC", "RAID", None, file(31)),
        ];
        let bl = build(&Config::default(), &devices);
        match bl.device("DGC", "LUNZ") {
            Verdict::Blacklisted(Reason::Matched(m)) => assert_eq!(m.origin, file(31)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_patterns_are_reported_and_dropped() {
        let mut config = Config::default();
        config.blacklist.wwid.push(rule("(", 5));
        config.blacklist.wwid.push(rule("^bad", 6));
        config.blacklist.device.push(DeviceRule {
            vendor: Some("[x".into()),
            product: Some("^P$".into()),
            origin: file(8),
        });
        let (bl, diags) = Blacklist::new(&config, &[hw("V", "P", Some("a{2"), file(9))]);
        let lines: Vec<u32> = diags
            .iter()
            .filter_map(|d| match d.origin {
                Origin::File { line, .. } => Some(line),
                Origin::Builtin => None,
            })
            .collect();
        assert_eq!(lines, [5, 8, 9]);
        assert!(diags[0].message.contains("wwid"));
        assert!(bl.wwid("bad").is_blacklisted());
        assert!(!bl.wwid("(").is_blacklisted());
        // The device rule lost its vendor and kept its product, as in 0.9.4.
        assert!(bl.device("anything", "P").is_blacklisted());
        assert!(!bl.device("anything", "Q").is_blacklisted());
    }

    #[test]
    fn duplicates_keep_the_first_origin() {
        let mut config = Config::default();
        config
            .blacklist
            .devnode
            .push(rule("!^(sd[a-z]|dasd[a-z]|nvme[0-9])", 40));
        let bl = build(&config, &[]);
        assert_eq!(bl.blacklist.devnode.len(), 1);
        match bl.devnode("vda") {
            Verdict::Blacklisted(Reason::Matched(m)) => assert_eq!(m.origin, file(40)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usb_needs_allow_usb_devices() {
        let mut config = Config::default();
        assert!(!usb_allowed(&config));
        config.defaults.allow_usb_devices = Some(true);
        assert!(usb_allowed(&config));
    }

    #[test]
    fn builtin_sets() {
        assert_eq!(builtin_blacklist().devnode[0].pattern, BUILTIN_DEVNODE);
        assert!(builtin_blacklist().property.is_empty());
        assert_eq!(
            builtin_exceptions().property[0].pattern,
            BUILTIN_PROPERTY_EXCEPTION
        );
        assert!(builtin_exceptions().devnode.is_empty());
    }
}
