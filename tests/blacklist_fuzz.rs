//! Deterministic fuzzing of the blacklist and of the udev property
//! derivation: random patterns (many of them invalid regexes), random
//! names and random page 0x83 bytes. Nothing may panic, and the verdicts
//! must keep multipath-tools' rules: an exception always beats a blacklist
//! entry of the same filter, adding blacklist entries never overturns an
//! exception, adding exceptions never blacklists anything, and the rule a
//! verdict names is one that was configured.

mod fuzzing;

#[path = "fuzz/shared/vpd_pages.rs"]
mod vpd_pages;

use fuzzing::Rng;
use mpath_boot::config::blacklist::{Blacklist, List, Reason, Verdict};
use mpath_boot::config::{Config, DeviceEntry, DeviceRule, Origin, Rule};
use mpath_boot::identify::properties::scsi_properties;
use vpd_pages::SCSI_DEBUG_83;

/// Pieces patterns are built from: regex syntax (valid and broken), the
/// `!` inversion and its escape, and text that occurs in names.
const PATTERN_PIECES: &[&str] = &[
    "!",
    "\\!",
    "^",
    "$",
    ".",
    ".*",
    "*",
    "+",
    "?",
    "(",
    ")",
    "[",
    "]",
    "[a-z]",
    "[^0-9]",
    "{2}",
    "{",
    "}",
    "|",
    "\\",
    "sd",
    "dm-",
    "a",
    "b",
    "0",
    "1",
    "36",
    "scsi:",
    "fcp",
    "ID_",
    "WWN",
    "SCSI_IDENT_",
    "[[:digit:]]",
];

const NAME_PIECES: &[&str] = &[
    "sd",
    "a",
    "b",
    "z",
    "dm-",
    "0",
    "1",
    "9",
    "nvme",
    "n1",
    "loop",
    "!",
    "36",
    "scsi:",
    "fcp",
    "usb",
    "ID_",
    "WWN",
    "SERIAL",
    "SCSI_IDENT_",
    "LUN",
    "_",
    "-",
    " ",
    ".",
    "\u{e9}",
];

fn build(rng: &mut Rng, pieces: &[&str], max: usize) -> String {
    (0..rng.index(max + 1)).map(|_| *rng.pick(pieces)).collect()
}

fn origin(line: u32) -> Origin {
    Origin::File {
        path: "/etc/multipath.conf".into(),
        line,
    }
}

fn rules(rng: &mut Rng, next_line: &mut u32, max: usize) -> Vec<Rule> {
    (0..rng.index(max + 1))
        .map(|_| {
            *next_line += 1;
            Rule {
                pattern: build(rng, PATTERN_PIECES, 5),
                origin: origin(*next_line),
            }
        })
        .collect()
}

fn optional_pattern(rng: &mut Rng) -> Option<String> {
    (!rng.chance(3)).then(|| build(rng, PATTERN_PIECES, 4))
}

fn device_rules(rng: &mut Rng, next_line: &mut u32) -> Vec<DeviceRule> {
    (0..rng.index(3))
        .map(|_| {
            *next_line += 1;
            DeviceRule {
                vendor: optional_pattern(rng),
                product: optional_pattern(rng),
                origin: origin(*next_line),
            }
        })
        .collect()
}

fn random_config(rng: &mut Rng) -> (Config, u32) {
    let mut line = 0;
    let mut config = Config::default();
    for set in [&mut config.blacklist, &mut config.exceptions] {
        set.devnode = rules(rng, &mut line, 3);
        set.wwid = rules(rng, &mut line, 3);
        set.property = rules(rng, &mut line, 2);
        set.protocol = rules(rng, &mut line, 2);
        set.device = device_rules(rng, &mut line);
    }
    (config, line)
}

/// Built-in-like entries with valid patterns, then user entries with
/// random ones (some repeating a built-in's strings).
fn random_hwtable(rng: &mut Rng, first_line: u32) -> Vec<DeviceEntry> {
    const BUILTIN: &[(&str, &str, &str)] = &[
        ("^DGC", "^(RAID|DISK|VRAID)", "LUNZ"),
        ("SGI", "IS", "Universal Xport"),
        ("a", "b", "sd"),
    ];
    let mut table: Vec<DeviceEntry> = (0..rng.index(3))
        .map(|_| {
            let (vendor, product, bl) = *rng.pick(BUILTIN);
            DeviceEntry {
                vendor: Some(vendor.into()),
                product: Some(product.into()),
                product_blacklist: Some(bl.into()),
                origin: Origin::Builtin,
                ..DeviceEntry::default()
            }
        })
        .collect();
    for i in 0..rng.index(4) {
        let (vendor, product) = if rng.chance(3) {
            let (v, p, _) = *rng.pick(BUILTIN);
            (Some(v.to_string()), Some(p.to_string()))
        } else {
            (optional_pattern(rng), optional_pattern(rng))
        };
        table.push(DeviceEntry {
            vendor,
            product,
            product_blacklist: optional_pattern(rng),
            origin: origin(first_line + 1 + i as u32),
            ..DeviceEntry::default()
        });
    }
    table
}

/// For one property name, an exception decides before any blacklist entry.
fn single_property(
    full: &Blacklist,
    lenient: &Blacklist,
    name: &str,
    context: &dyn std::fmt::Debug,
) {
    let props = vec![(name.to_string(), String::new())];
    let alone = lenient.property_with_uid(&props, None);
    if let Reason::Matched(m) = alone.reason() {
        if m.list == List::Exceptions {
            let with_blacklist = full.property_with_uid(&props, None);
            assert!(
                !with_blacklist.is_blacklisted(),
                "{with_blacklist} but alone: {alone}; {context:?}"
            );
        }
    }
}

/// The five filters applied to one random subject each.
fn verdicts(bl: &Blacklist, name: &str, other: &str) -> Vec<Verdict> {
    let props: Vec<(String, String)> = [name, other, "ID_SERIAL"]
        .iter()
        .map(|n| (n.to_string(), String::new()))
        .collect();
    vec![
        bl.devnode(name),
        bl.wwid(name),
        bl.protocol(name),
        bl.device(name, other),
        bl.property(&props),
    ]
}

fn configured_patterns(config: &Config) -> Vec<String> {
    let mut all = Vec::new();
    for set in [&config.blacklist, &config.exceptions] {
        for list in [&set.devnode, &set.wwid, &set.property, &set.protocol] {
            all.extend(list.iter().map(|r| r.pattern.clone()));
        }
    }
    all
}

/// A verdict names a configured or built-in rule, on the right side.
fn check_verdict(
    verdict: &Verdict,
    config: &Config,
    last_line: u32,
    context: &dyn std::fmt::Debug,
) {
    let text = verdict.to_string();
    assert!(!text.is_empty(), "{context:?}");
    match (verdict, verdict.reason()) {
        (Verdict::Allowed(_), Reason::Matched(m)) => {
            assert_eq!(m.list, List::Exceptions, "{context:?}")
        }
        (Verdict::Blacklisted(_), Reason::Matched(m)) => {
            assert_eq!(m.list, List::Blacklist, "{context:?}")
        }
        (Verdict::Allowed(_), Reason::PropertyMissing { .. }) => {
            panic!("missing property allowed: {context:?}")
        }
        (Verdict::Blacklisted(_), Reason::NoRuleMatched) => {
            panic!("blacklisted by nothing: {context:?}")
        }
        _ => {}
    }
    if let Reason::Matched(m) = verdict.reason() {
        match &m.origin {
            Origin::File { line, .. } => {
                assert!(*line >= 1 && *line <= last_line + 8, "{context:?}")
            }
            Origin::Builtin => {}
        }
        if m.filter != mpath_boot::config::blacklist::Filter::Device
            && matches!(m.origin, Origin::File { .. })
        {
            assert!(
                configured_patterns(config).contains(&m.rule),
                "{} not configured: {context:?}",
                m.rule
            );
        }
    }
}

#[test]
fn random_rules_and_names_never_panic_and_keep_the_precedence() {
    let mut rng = Rng(0x5eed_b1ac_7157_0001);
    for round in 0..400 {
        let (config, last_line) = random_config(&mut rng);
        let hwtable = random_hwtable(&mut rng, last_line);
        let (full, diags) = Blacklist::new(&config, &hwtable);
        for d in &diags {
            assert!(!d.message.is_empty());
            assert!(
                !matches!(d.origin, Origin::Builtin),
                "built-in rules always compile: {d}"
            );
        }
        // The same exceptions with no user blacklist entries at all.
        let mut exceptions_only = config.clone();
        exceptions_only.blacklist = Default::default();
        let (lenient, _) = Blacklist::new(&exceptions_only, &[]);
        // The same blacklist with no user exceptions.
        let mut blacklist_only = config.clone();
        blacklist_only.exceptions = Default::default();
        let (strict, _) = Blacklist::new(&blacklist_only, &hwtable);
        for _ in 0..20 {
            let name = build(&mut rng, NAME_PIECES, 6);
            let other = build(&mut rng, NAME_PIECES, 4);
            let context = (round, &name, &other, &config);
            let full_v = verdicts(&full, &name, &other);
            let lenient_v = verdicts(&lenient, &name, &other);
            let strict_v = verdicts(&strict, &name, &other);
            for (index, ((f, l), s)) in full_v.iter().zip(&lenient_v).zip(&strict_v).enumerate() {
                check_verdict(f, &config, last_line, &context);
                // Excepted without blacklist entries: excepted with them.
                // (Not for the property filter as a whole: there the first
                // name in order decides, which single_property checks.)
                let is_property = index == 4;
                if let (Reason::Matched(m), false) = (l.reason(), is_property) {
                    if m.list == List::Exceptions {
                        assert!(!f.is_blacklisted(), "{f} but alone: {l}; {context:?}");
                    }
                }
                single_property(&full, &lenient, &name, &context);
                // Exceptions never blacklist: allowed without them, allowed with them.
                if !s.is_blacklisted() {
                    assert!(
                        !f.is_blacklisted(),
                        "{f} but without exceptions: {s}; {context:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn default_rules_decide_by_devnode_and_property_names() {
    let (bl, diags) = Blacklist::new(&Config::default(), &[]);
    assert!(diags.is_empty());
    let mut rng = Rng(0x5eed_b1ac_7157_0002);
    for _ in 0..2000 {
        let name = build(&mut rng, NAME_PIECES, 5);
        let expected_ok = ["sd", "dasd", "nvme"].iter().any(|p| name.starts_with(p))
            && name_after_prefix_ok(&name);
        assert_eq!(!bl.devnode(&name).is_blacklisted(), expected_ok, "{name:?}");
        // With the default rules only the property filter blacklists.
        assert!(!bl.wwid(&name).is_blacklisted());
        assert!(!bl.protocol(&name).is_blacklisted());
        let props = vec![
            (name.clone(), String::new()),
            ("ID_SERIAL".to_string(), String::new()),
        ];
        let excepted = name.contains("SCSI_IDENT_") || name.contains("ID_WWN");
        assert_eq!(!bl.property(&props).is_blacklisted(), excepted, "{name:?}");
    }
}

/// `^(sd[a-z]|dasd[a-z]|nvme[0-9])` written out by hand.
fn name_after_prefix_ok(name: &str) -> bool {
    let next = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.bytes().next())
    };
    next("sd").is_some_and(|b| b.is_ascii_lowercase())
        || next("dasd").is_some_and(|b| b.is_ascii_lowercase())
        || next("nvme").is_some_and(|b| b.is_ascii_digit())
}

/// Random designators with plausible headers.
fn random_page83(rng: &mut Rng) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..rng.index(6) {
        let value = rng.bytes(40);
        body.push(rng.byte());
        body.push(rng.byte() & 0xbf);
        body.push(if rng.chance(8) { rng.byte() } else { 0 });
        body.push(value.len() as u8);
        body.extend_from_slice(&value);
    }
    let mut page = vec![0x00, 0x83];
    page.extend_from_slice(&(body.len() as u16).to_be_bytes());
    page.extend_from_slice(&body);
    if rng.chance(4) {
        let keep = rng.index(page.len() + 1);
        page.truncate(keep);
    }
    page
}

#[test]
fn derived_properties_are_well_formed_and_pass_the_default_exception() {
    let (bl, _) = Blacklist::new(&Config::default(), &[]);
    let mut rng = Rng(0x5eed_b1ac_7157_0003);
    for round in 0..3000 {
        let page = match round % 3 {
            0 => rng.bytes(300),
            1 => random_page83(&mut rng),
            _ => {
                let mut page = SCSI_DEBUG_83.to_vec();
                for _ in 0..1 + rng.index(3) {
                    if page.is_empty() {
                        break;
                    }
                    let i = rng.index(page.len());
                    page[i] = rng.byte();
                }
                let keep = rng.index(page.len() + 1);
                if rng.chance(3) {
                    page.truncate(keep);
                }
                page
            }
        };
        let vendor: String = build(&mut rng, NAME_PIECES, 3);
        let product: String = build(&mut rng, NAME_PIECES, 4);
        let props = scsi_properties(&vendor, &product, Some(&page));
        let names: Vec<&str> = props.iter().map(|(n, _)| n.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "names sorted and unique, page {page:02x?}");
        for (name, value) in &props {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(
                value.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{name}={value:?}"
            );
        }
        assert!(names.contains(&"ID_BUS"));
        let identified = names
            .iter()
            .any(|n| n.starts_with("SCSI_IDENT_") || n.starts_with("ID_WWN"));
        let verdict = bl.property(&props);
        assert_eq!(
            !verdict.is_blacklisted(),
            identified || !names.contains(&"ID_SERIAL"),
            "{verdict}; {props:?}"
        );
        // An ID_WWN always comes with an NAA designator export or scsi_id's NAA choice.
        if let Some((_, wwn)) = props.iter().find(|(n, _)| n == "ID_WWN") {
            assert!(wwn.starts_with("0x") && wwn.len() <= 18, "{wwn}");
        }
    }
}
