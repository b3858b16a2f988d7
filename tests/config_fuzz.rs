//! Deterministic fuzzing of the multipath.conf reader.
//!
//! Configuration files are written by hand and copied between systems;
//! the reader must never panic, must point every message at a real line,
//! and must read back what `-t` prints. A fixed-seed xorshift generator
//! feeds random bytes, generated configurations and mutations of them.

mod fuzzing;

use fuzzing::Rng;
use mpath_boot::config::keywords::{self, Section};
use mpath_boot::config::parse::{line_count, parse};
use mpath_boot::config::{Attrs, Config, Diagnostic, Origin};

const PATH: &str = "/etc/multipath.conf";

/// Parses and applies one text as the only file.
fn read(bytes: &[u8]) -> (Config, Vec<Diagnostic>) {
    let (nodes, mut diagnostics) = parse(bytes, PATH);
    let mut config = Config::default();
    keywords::apply(&nodes, PATH, &mut config, &mut diagnostics);
    keywords::finish(&mut config, &mut diagnostics);
    (config, diagnostics)
}

/// Every message names this file and a line that exists in it.
fn check_lines(bytes: &[u8], diagnostics: &[Diagnostic]) {
    let lines = line_count(bytes) as u32;
    for d in diagnostics {
        match &d.origin {
            Origin::File { path, line } => {
                assert_eq!(path, PATH, "{d}");
                assert!((1..=lines).contains(line), "line {line} of {lines}: {d}");
            }
            Origin::Builtin => panic!("diagnostic without a file: {d}"),
        }
        assert!(!d.message.is_empty());
    }
}

/// Printable text for quoted values, quotes and braces included.
fn random_text(rng: &mut Rng, max: usize) -> String {
    const CHARS: &[u8] = b"abcXYZ019 _-.:#!{}\"*^$[]()/";
    let len = rng.index(max + 1);
    (0..len).map(|_| *rng.pick(CHARS) as char).collect()
}

fn random_word(rng: &mut Rng) -> String {
    const CHARS: &[u8] = b"abcdefxyz0123456789_-";
    let len = 1 + rng.index(12);
    (0..len).map(|_| *rng.pick(CHARS) as char).collect()
}

/// A valid value for a settings keyword, as it would be written.
fn value_for(rng: &mut Rng, keyword: &str) -> String {
    let n = 1 + rng.below(100_000);
    match keyword {
        "path_grouping_policy" => {
            rng.pick(&["failover", "multibus", "group_by_prio", "group_by_serial", "group_by_node_name"]).to_string()
        }
        "path_selector" => rng.pick(&["\"service-time 0\"", "\"round-robin 0\"", "\"queue-length 0\""]).to_string(),
        "features" => rng.pick(&["\"0\"", "\"1 queue_if_no_path\"", "\"2 pg_init_retries 50\""]).to_string(),
        "hardware_handler" => rng.pick(&["\"0\"", "\"1 alua\"", "\"1 emc\""]).to_string(),
        "no_path_retry" => match rng.below(3) {
            0 => "fail".into(),
            1 => "queue".into(),
            _ => n.to_string(),
        },
        "rr_weight" => rng.pick(&["uniform", "priorities"]).to_string(),
        "rr_min_io" | "rr_min_io_rq" | "polling_interval" | "checker_timeout" | "max_sectors_kb" => n.to_string(),
        "prio" | "path_checker" => rng.pick(&["alua", "const", "tur", "\"directio\""]).to_string(),
        "prio_args" | "product_blacklist" | "revision" => keywords::quote(&random_text(rng, 20)),
        "vendor" | "product" | "wwid" => keywords::quote(&random_word(rng)),
        "alias_prefix" | "alias" => random_word(rng),
        "detect_prio" | "detect_checker" | "retain_attached_hw_handler" | "user_friendly_names"
        | "allow_usb_devices" | "flush_on_last_del" | "deferred_remove" | "skip_kpartx" => {
            rng.pick(&["yes", "no", "1", "0"]).to_string()
        }
        "find_multipaths" => rng.pick(&["off", "on", "yes", "no", "strict", "greedy", "smart"]).to_string(),
        "verbosity" => rng.below(5).to_string(),
        "failback" => match rng.below(4) {
            0 => "manual".into(),
            1 => "immediate".into(),
            2 => "followover".into(),
            _ => n.to_string(),
        },
        "fast_io_fail_tmo" | "eh_deadline" => match rng.below(3) {
            0 => "off".into(),
            1 => "0".into(),
            _ => n.to_string(),
        },
        "dev_loss_tmo" => if rng.chance(3) { "infinity".into() } else { n.to_string() },
        "delay_watch_checks" | "ghost_delay" => if rng.chance(3) { "no".into() } else { n.to_string() },
        "vpd_vendor" => "hp3par".into(),
        "type" => rng.pick(&["scsi:fcp", "scsi:iscsi", "nvme:tcp"]).to_string(),
        other => panic!("no generator for {other}"),
    }
}

const SETTINGS: &[&str] = &[
    "path_grouping_policy", "path_selector", "features", "no_path_retry", "rr_weight", "rr_min_io",
    "rr_min_io_rq", "prio", "prio_args", "detect_prio", "retain_attached_hw_handler",
    "user_friendly_names", "path_checker", "detect_checker", "failback", "fast_io_fail_tmo",
    "dev_loss_tmo", "eh_deadline", "delay_watch_checks", "ghost_delay", "flush_on_last_del",
    "deferred_remove", "skip_kpartx", "max_sectors_kb",
];
const DEFAULTS_ONLY: &[&str] =
    &["find_multipaths", "allow_usb_devices", "verbosity", "polling_interval", "checker_timeout", "alias_prefix"];
const DEVICE_ONLY: &[&str] =
    &["vendor", "product", "revision", "product_blacklist", "hardware_handler", "vpd_vendor", "alias_prefix"];

fn settings_block(rng: &mut Rng, out: &mut String, indent: &str, keywords: &[&[&str]]) {
    let all: Vec<&str> = keywords.iter().flat_map(|k| k.iter().copied()).collect();
    for _ in 0..rng.index(8) {
        let keyword = *rng.pick(&all);
        let value = value_for(rng, keyword);
        out.push_str(&format!("{indent}{keyword} {value}\n"));
    }
}

/// A configuration text multipath-tools accepts without complaint.
fn random_config(rng: &mut Rng) -> String {
    let mut out = String::from("# generated\n");
    if rng.chance(2) {
        out.push_str("defaults {\n");
        settings_block(rng, &mut out, "\t", &[SETTINGS, DEFAULTS_ONLY]);
        out.push_str("}\n");
    }
    if rng.chance(2) {
        out.push_str("blacklist {\n");
        for _ in 0..rng.index(4) {
            let kind = rng.pick(&["devnode", "wwid", "property", "protocol"]);
            out.push_str(&format!("\t{kind} \"^{}\"\n", random_word(rng)));
        }
        if rng.chance(2) {
            out.push_str(&format!("\tdevice {{\n\t\tvendor \"{}\"\n\t}}\n", random_word(rng)));
        }
        out.push_str("}\n");
    }
    if rng.chance(2) {
        out.push_str("devices {\n");
        for _ in 0..rng.index(4) {
            out.push_str("\tdevice {\n");
            let vendor = rng.pick(&["A", "B"]);
            out.push_str(&format!("\t\tvendor \"{vendor}\"\n\t\tproduct \"P\"\n"));
            settings_block(rng, &mut out, "\t\t", &[SETTINGS, DEVICE_ONLY]);
            out.push_str("\t}\n");
        }
        out.push_str("}\n");
    }
    if rng.chance(2) {
        out.push_str("overrides {\n");
        settings_block(rng, &mut out, "\t", &[SETTINGS]);
        if rng.chance(2) {
            let kind = value_for(rng, "type");
            let tmo = value_for(rng, "dev_loss_tmo");
            out.push_str(&format!("\tprotocol {{\n\t\ttype {kind}\n\t\tdev_loss_tmo {tmo}\n\t}}\n"));
        }
        out.push_str("}\n");
    }
    if rng.chance(2) {
        out.push_str("multipaths {\n");
        for _ in 0..rng.index(4) {
            out.push_str("\tmultipath {\n");
            out.push_str(&format!("\t\twwid \"36{}\"\n", rng.below(3)));
            if rng.chance(2) {
                out.push_str(&format!("\t\talias {}\n", random_word(rng)));
            }
            let mp_settings: Vec<&str> = SETTINGS
                .iter()
                .copied()
                .filter(|k| !["retain_attached_hw_handler", "detect_prio", "detect_checker", "path_checker"]
                    .contains(k) && !k.ends_with("_tmo") && *k != "eh_deadline")
                .collect();
            settings_block(rng, &mut out, "\t\t", &[&mp_settings]);
            out.push_str("\t}\n");
        }
        out.push_str("}\n");
    }
    out
}

fn lines_text(out: &mut String, indent: &str, lines: &[(&'static str, String)]) {
    for (keyword, value) in lines {
        out.push_str(&format!("{indent}{keyword} {value}\n"));
    }
}

/// The configuration in multipath.conf syntax, built from the printing
/// helpers `-t` uses.
fn print(config: &Config) -> String {
    let mut out = String::from("defaults {\n");
    lines_text(&mut out, "\t", &keywords::defaults_lines(&config.defaults));
    out.push_str("}\nblacklist {\n");
    for (kind, rules) in [
        ("devnode", &config.blacklist.devnode),
        ("wwid", &config.blacklist.wwid),
        ("property", &config.blacklist.property),
        ("protocol", &config.blacklist.protocol),
    ] {
        for rule in rules {
            out.push_str(&format!("\t{kind} {}\n", keywords::quote(&rule.pattern)));
        }
    }
    for device in &config.blacklist.device {
        out.push_str("\tdevice {\n");
        if let Some(v) = &device.vendor {
            out.push_str(&format!("\t\tvendor {}\n", keywords::quote(v)));
        }
        if let Some(p) = &device.product {
            out.push_str(&format!("\t\tproduct {}\n", keywords::quote(p)));
        }
        out.push_str("\t}\n");
    }
    out.push_str("}\ndevices {\n");
    for device in &config.devices {
        out.push_str("\tdevice {\n");
        lines_text(&mut out, "\t\t", &keywords::device_lines(device));
        out.push_str("\t}\n");
    }
    out.push_str("}\noverrides {\n");
    lines_text(&mut out, "\t", &keywords::section_lines(Section::Overrides, &config.overrides));
    out.push_str("}\nmultipaths {\n");
    for entry in &config.multipaths {
        out.push_str("\tmultipath {\n");
        lines_text(&mut out, "\t\t", &keywords::multipath_lines(entry));
        out.push_str("\t}\n");
    }
    out.push_str("}\n");
    out
}

/// Compares configurations without the origins (lines move when printed)
/// and with passive settings in one order.
fn normalized(config: &Config) -> Config {
    fn attrs(a: &mut Attrs) {
        a.passive.sort_by(|x, y| (&x.keyword, &x.value).cmp(&(&y.keyword, &y.value)));
    }
    let mut c = config.clone();
    attrs(&mut c.defaults.attrs);
    attrs(&mut c.overrides);
    for d in &mut c.devices {
        d.origin = Origin::Builtin;
        attrs(&mut d.attrs);
    }
    for m in &mut c.multipaths {
        m.origin = Origin::Builtin;
        attrs(&mut m.attrs);
    }
    for set in [&mut c.blacklist, &mut c.exceptions] {
        for list in [&mut set.devnode, &mut set.wwid, &mut set.property, &mut set.protocol] {
            for rule in list.iter_mut() {
                rule.origin = Origin::Builtin;
            }
        }
        for d in &mut set.device {
            d.origin = Origin::Builtin;
        }
    }
    c
}

#[test]
fn random_bytes_never_panic_and_messages_point_at_real_lines() {
    let mut rng = Rng(0x6d75_6c74_6970_6174);
    for _ in 0..3000 {
        let bytes = rng.bytes(600);
        let (_, diagnostics) = read(&bytes);
        check_lines(&bytes, &diagnostics);
    }
}

#[test]
fn random_token_soup_never_panics() {
    const PIECES: &[&str] = &[
        "defaults", "devices", "device", "multipaths", "multipath", "overrides", "protocol",
        "blacklist", "blacklist_exceptions", "{", "}", "\"", "\"\"", "#", "!", " ", "\t", "\n", "\r",
        "vendor", "wwid", "no_path_retry", "queue", "7", "-1", "features", "\"1 queue_if_no_path\"",
        "(", "[", "\\!", "\u{e9}", "\0", "\u{b}",
    ];
    let mut rng = Rng(0x5eed_0f50_0a5e_1234);
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..rng.index(80) {
            text.push_str(rng.pick::<&str>(PIECES));
        }
        let (_, diagnostics) = read(text.as_bytes());
        check_lines(text.as_bytes(), &diagnostics);
    }
}

#[test]
fn valid_configurations_are_read_without_complaint_and_round_trip() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..1500 {
        let text = random_config(&mut rng);
        let (config, diagnostics) = read(text.as_bytes());
        check_lines(text.as_bytes(), &diagnostics);
        // Duplicate entries and keywords are merged with a notice; nothing else.
        for d in &diagnostics {
            assert!(d.message.contains("duplicate"), "{d}\n--- text ---\n{text}");
        }
        let printed = print(&config);
        let (again, diagnostics) = read(printed.as_bytes());
        assert!(diagnostics.is_empty(), "{diagnostics:?}\n--- printed ---\n{printed}");
        assert_eq!(normalized(&again), normalized(&config), "\n--- text ---\n{text}\n--- printed ---\n{printed}");
    }
}

#[test]
fn mutated_configurations_never_panic() {
    let mut rng = Rng(0xfeed_beef_cafe_f00d);
    const INSERTS: &[&[u8]] = &[b"{", b"}", b"\"", b"\n", b"#", b"\r", b"\0", b"\xff", b"devices {\n"];
    for _ in 0..2000 {
        let mut bytes = random_config(&mut rng).into_bytes();
        for _ in 0..1 + rng.index(6) {
            let at = rng.index(bytes.len() + 1);
            match rng.below(4) {
                0 => {
                    let piece = rng.pick(INSERTS);
                    bytes.splice(at..at, piece.iter().copied());
                }
                1 if at < bytes.len() => {
                    let end = (at + rng.index(40)).min(bytes.len());
                    bytes.drain(at..end);
                }
                2 if at < bytes.len() => {
                    if let Some(b) = bytes.get_mut(at) {
                        *b = rng.byte();
                    }
                }
                _ => {
                    let long = vec![b'x'; 1000 + rng.index(2000)];
                    bytes.splice(at..at, long);
                }
            }
        }
        let (_, diagnostics) = read(&bytes);
        check_lines(&bytes, &diagnostics);
    }
}

#[test]
fn quoted_values_survive_quoting() {
    let mut rng = Rng(0x7175_6f74_6564_2121);
    for _ in 0..2000 {
        let value = random_text(&mut rng, 60);
        let text = format!("defaults {{\n\tprio_args {}\n}}\n", keywords::quote(&value));
        let (config, diagnostics) = read(text.as_bytes());
        assert!(diagnostics.is_empty(), "{value:?}: {diagnostics:?}");
        assert_eq!(config.defaults.attrs.prio_args.as_deref(), Some(value.as_str()), "{text}");
    }
}
