//! `-t`: the effective configuration in multipath.conf syntax, laid out
//! like `multipath -t` of multipath-tools 0.9.4 (print.c `snprint_config`)
//! so an administrator can diff the two: the same sections in the same
//! order (defaults, blacklist, blacklist_exceptions, devices, overrides,
//! multipaths when there are any), the same keyword order inside each,
//! tab indentation, and the same quoting (strings and words quoted,
//! numbers bare, an embedded `"` doubled).
//!
//! Differences that remain, because mpath-boot does not model them:
//! `verbosity` is the file's value or 2 (multipath prints its `-v`
//! level); `max_fds` is printed as `"max"`; `overrides { protocol { } }`
//! subsections are not printed; `find_multipaths` is `"on"` when there is
//! no configuration file (mpath-boot's deliberate default). Keywords only
//! multipathd uses are printed from the values the file gave (kept as
//! passive settings) or from 0.9.4's compiled-in values.

use crate::config::keywords::{self, defaults_lines, device_lines, multipath_lines, section_lines, Section};
use crate::config::select::{self, Selector};
use crate::config::{blacklist, Attrs, DeviceEntry, DeviceRule, MultipathEntry, Rule, RuleSet};

/// The whole `-t` text.
pub fn print(selector: &Selector) -> String {
    let mut out = String::new();
    print_defaults(&mut out, selector);
    print_blacklist(&mut out, selector);
    print_exceptions(&mut out, selector);
    print_devices(&mut out, selector);
    print_overrides(&mut out, &selector.config().overrides);
    print_multipaths(&mut out, selector.multipath_entries());
    out
}

/// Keywords whose value multipath-tools always prints bare.
const BARE: &[&str] = &[
    "verbosity",
    "polling_interval",
    "max_polling_interval",
    "rr_min_io",
    "rr_min_io_rq",
    "checker_timeout",
    "fast_io_fail_tmo",
    "eh_deadline",
    "mode",
    "uid",
    "gid",
    "uxsock_timeout",
    "retrigger_tries",
    "retrigger_delay",
    "missing_uev_wait_timeout",
    "remove_retries",
    "max_sectors_kb",
    "find_multipaths_timeout",
    "uid_attrs",
];

/// Keywords printed bare when numeric and quoted when a word
/// (`failback 15` but `failback "manual"`), and the marginal-path ones.
const NUMBER_OR_WORD: &[&str] = &[
    "failback",
    "no_path_retry",
    "max_fds",
    "dev_loss_tmo",
    "reservation_key",
    "ghost_delay",
];

/// `"text"` with embedded quotes doubled (strbuf.c `append_strbuf_quoted`).
fn quoted(text: &str) -> String {
    keywords::quote(text)
}

/// A compiled-in default as multipath-tools prints it for this keyword.
fn value_text(keyword: &str, value: &str) -> String {
    if BARE.contains(&keyword) {
        return value.to_owned();
    }
    if (NUMBER_OR_WORD.contains(&keyword) || keywords::MARGINAL.contains(&keyword)) && is_number(value) {
        return value.to_owned();
    }
    quoted(value)
}

/// Decimal integers, and the `0x...` keys of `reservation_key`.
fn is_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())) || value.starts_with("0x")
}

fn line(out: &mut String, indent: &str, keyword: &str, value: &str) {
    out.push_str(indent);
    out.push_str(keyword);
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

/// The `defaults` section's keywords in dict.c's order, each with 0.9.4's
/// compiled-in value as printed (unquoted; `None`: printed only when set).
const DEFAULTS_ORDER: &[(&str, Option<&str>)] = &[
    ("verbosity", Some("2")),
    ("polling_interval", None),
    ("max_polling_interval", None),
    ("reassign_maps", Some("no")),
    ("path_selector", Some(select::DEFAULT_SELECTOR)),
    ("path_grouping_policy", Some("failover")),
    ("uid_attrs", None),
    ("uid_attribute", Some(blacklist::DEFAULT_UID_ATTRIBUTE)),
    ("prio", Some(select::DEFAULT_PRIO)),
    ("prio_args", Some(select::DEFAULT_PRIO_ARGS)),
    ("features", Some(select::DEFAULT_FEATURES)),
    ("path_checker", Some(select::DEFAULT_CHECKER)),
    ("alias_prefix", Some(select::DEFAULT_ALIAS_PREFIX)),
    ("failback", Some("manual")),
    ("rr_min_io", Some("1000")),
    ("rr_min_io_rq", Some("1")),
    ("max_fds", Some("max")),
    ("rr_weight", Some("uniform")),
    ("no_path_retry", None),
    ("queue_without_daemon", Some("no")),
    ("checker_timeout", None),
    ("allow_usb_devices", Some("no")),
    ("flush_on_last_del", Some("no")),
    ("user_friendly_names", Some("no")),
    ("mode", None),
    ("uid", None),
    ("gid", None),
    ("fast_io_fail_tmo", Some("5")),
    ("dev_loss_tmo", None),
    ("eh_deadline", None),
    ("bindings_file", Some(select::DEFAULT_BINDINGS_FILE)),
    ("wwids_file", Some(select::DEFAULT_WWIDS_FILE)),
    ("prkeys_file", Some("/etc/multipath/prkeys")),
    ("log_checker_err", Some("always")),
    ("reservation_key", None),
    ("all_tg_pt", Some("no")),
    ("retain_attached_hw_handler", Some("yes")),
    ("detect_prio", Some("yes")),
    ("detect_checker", Some("yes")),
    ("force_sync", Some("no")),
    ("strict_timing", Some("no")),
    ("deferred_remove", Some("no")),
    ("partition_delimiter", None),
    ("delay_watch_checks", Some("no")),
    ("delay_wait_checks", Some("no")),
    ("san_path_err_threshold", Some("no")),
    ("san_path_err_forget_rate", Some("no")),
    ("san_path_err_recovery_time", Some("no")),
    ("marginal_path_err_sample_time", Some("no")),
    ("marginal_path_err_rate_threshold", Some("no")),
    ("marginal_path_err_recheck_gap_time", Some("no")),
    ("marginal_path_double_failed_time", Some("no")),
    ("find_multipaths", None),
    ("uxsock_timeout", Some("4000")),
    ("retrigger_tries", Some("3")),
    ("retrigger_delay", Some("10")),
    ("missing_uev_wait_timeout", Some("30")),
    ("skip_kpartx", Some("no")),
    ("disable_changed_wwids", Some("ignored")),
    ("remove_retries", Some("0")),
    ("max_sectors_kb", None),
    ("ghost_delay", Some("no")),
    ("find_multipaths_timeout", Some("-10")),
    ("enable_foreign", Some("NONE")),
    ("marginal_pathgroups", Some("off")),
    ("recheck_wwid", Some("no")),
];

fn passive_value<'a>(attrs: &'a Attrs, keyword: &str) -> Option<&'a str> {
    attrs
        .passive
        .iter()
        .rev()
        .find(|p| p.keyword == keyword)
        .map(|p| p.value.as_str())
}

/// The defaults section's value of one keyword, as printed, or `None`
/// when multipath-tools prints nothing for it. `configured` holds the
/// section's set lines, already in multipath-tools' spelling.
fn defaults_value(
    selector: &Selector,
    configured: &[(&'static str, String)],
    keyword: &str,
    builtin: Option<&str>,
) -> Option<String> {
    let attrs = &selector.config().defaults.attrs;
    match keyword {
        "find_multipaths" => return Some(quoted(selector.find_multipaths().name())),
        "allow_usb_devices" => return Some(quoted(yes_no(selector.allow_usb_devices()))),
        "polling_interval" => return Some(polling_intervals(attrs).0.to_string()),
        "max_polling_interval" => return Some(polling_intervals(attrs).1.to_string()),
        "disable_changed_wwids" => return builtin.map(quoted),
        "partition_delimiter" if passive_value(attrs, keyword) == Some("/UNSET/") => return None,
        _ => {}
    }
    configured
        .iter()
        .find(|(k, _)| *k == keyword)
        .map(|(_, v)| v.clone())
        .or_else(|| builtin.map(|v| value_text(keyword, v)))
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

/// `polling_interval` and `max_polling_interval` as config.c settles
/// them: 5 and four times the interval unless set; an interval alone sets
/// the maximum to four times it, a maximum alone the interval to a quarter.
fn polling_intervals(attrs: &Attrs) -> (u64, u64) {
    let number = |k: &str| passive_value(attrs, k).and_then(|v| v.trim().parse::<u64>().ok());
    match (number("polling_interval"), number("max_polling_interval").filter(|&n| n != 0)) {
        (interval, None) => {
            let interval = interval.unwrap_or(5);
            (interval, interval.saturating_mul(4).min(u64::from(u32::MAX)))
        }
        (None, Some(max)) => ((max / 4).max(1), max),
        (Some(interval), Some(max)) => (interval.min(max), max),
    }
}

/// Settings the `multipath` command itself sets after reading the files
/// (multipath/main.c), so its `-t` shows them whatever the files say.
fn forced_by_the_command(keyword: &str) -> Option<&'static str> {
    match keyword {
        "force_sync" => Some("\"yes\""),
        "retrigger_tries" => Some("0"),
        _ => None,
    }
}

fn print_defaults(out: &mut String, selector: &Selector) {
    out.push_str("defaults {\n");
    let configured = defaults_lines(&selector.config().defaults);
    for (keyword, builtin) in DEFAULTS_ORDER {
        let value = match forced_by_the_command(keyword) {
            Some(forced) => Some(forced.to_owned()),
            None => defaults_value(selector, &configured, keyword, *builtin),
        };
        if let Some(value) = value {
            line(out, "\t", keyword, &value);
        }
    }
    out.push_str("}\n");
}

/// Rules of one kind: the file's first, then the built-in ones, each
/// pattern once (blacklist.c `merge_blacklist` keeps the first).
fn merged_rules<'a>(user: &'a [Rule], builtin: &'a [Rule]) -> Vec<&'a str> {
    let mut patterns: Vec<&str> = Vec::new();
    for rule in user.iter().chain(builtin) {
        if !patterns.contains(&rule.pattern.as_str()) {
            patterns.push(&rule.pattern);
        }
    }
    patterns
}

/// Device rules: the file's, the built-in ones, then the
/// `product_blacklist` of every device entry; entries without vendor and
/// product are dropped and each pair kept once.
fn merged_device_rules(user: &[DeviceRule], builtin: &[DeviceRule], table: &[&DeviceEntry]) -> Vec<(Option<String>, Option<String>)> {
    let from_table = table.iter().filter_map(|entry| {
        entry
            .product_blacklist
            .as_ref()
            .map(|product| (entry.vendor.clone(), Some(product.clone())))
    });
    let mut rules: Vec<(Option<String>, Option<String>)> = Vec::new();
    let pairs = user
        .iter()
        .chain(builtin)
        .map(|r| (r.vendor.clone(), r.product.clone()))
        .chain(from_table);
    for pair in pairs {
        if (pair.0.is_some() || pair.1.is_some()) && !rules.contains(&pair) {
            rules.push(pair);
        }
    }
    rules
}

fn print_rule_set(
    out: &mut String,
    name: &str,
    user: &RuleSet,
    builtin: &RuleSet,
    table: &[&DeviceEntry],
) {
    out.push_str(name);
    out.push_str(" {\n");
    let kinds: [(&str, &[Rule], &[Rule]); 4] = [
        ("devnode", &user.devnode, &builtin.devnode),
        ("wwid", &user.wwid, &builtin.wwid),
        ("property", &user.property, &builtin.property),
        ("protocol", &user.protocol, &builtin.protocol),
    ];
    for (keyword, user_rules, builtin_rules) in kinds {
        for pattern in merged_rules(user_rules, builtin_rules) {
            line(out, "\t", keyword, &quoted(pattern));
        }
    }
    for (vendor, product) in merged_device_rules(&user.device, &builtin.device, table) {
        // print.c emits "device {" together with the vendor line, so a
        // rule without vendor loses its opening line there too.
        if let Some(vendor) = vendor {
            out.push_str("\tdevice {\n");
            line(out, "\t\t", "vendor", &quoted(&vendor));
        }
        if let Some(product) = product {
            line(out, "\t\t", "product", &quoted(&product));
            out.push_str("\t}\n");
        }
    }
    out.push_str("}\n");
}

fn print_blacklist(out: &mut String, selector: &Selector) {
    let table: Vec<&DeviceEntry> = selector.device_table().collect();
    print_rule_set(
        out,
        "blacklist",
        &selector.config().blacklist,
        &blacklist::builtin_blacklist(),
        &table,
    );
}

fn print_exceptions(out: &mut String, selector: &Selector) {
    print_rule_set(
        out,
        "blacklist_exceptions",
        &selector.config().exceptions,
        &blacklist::builtin_exceptions(),
        &[],
    );
}

fn print_devices(out: &mut String, selector: &Selector) {
    out.push_str("devices {\n");
    for entry in selector.device_table() {
        out.push_str("\tdevice {\n");
        for (keyword, value) in device_lines(entry) {
            line(out, "\t\t", keyword, &value);
        }
        out.push_str("\t}\n");
    }
    out.push_str("}\n");
}

fn print_overrides(out: &mut String, overrides: &Attrs) {
    out.push_str("overrides {\n");
    for (keyword, value) in section_lines(Section::Overrides, overrides) {
        line(out, "\t", keyword, &value);
    }
    out.push_str("}\n");
}

fn print_multipaths(out: &mut String, entries: &[MultipathEntry]) {
    if entries.is_empty() {
        return;
    }
    out.push_str("multipaths {\n");
    for entry in entries {
        out.push_str("\tmultipath {\n");
        for (keyword, value) in multipath_lines(entry) {
            line(out, "\t\t", keyword, &value);
        }
        out.push_str("\t}\n");
    }
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::select::CommandLine;
    use crate::config::{Config, FindMultipaths, NoPathRetry, Origin, Passive};
    use crate::group::Policy;

    fn selector(config: Config, builtin: Vec<DeviceEntry>, file_present: bool) -> Selector {
        Selector::new(config, builtin, CommandLine::default(), file_present).0
    }

    /// The lines between `name {` at column 0 and its closing `}`.
    fn section<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        let open = format!("{name} {{");
        text.lines()
            .skip_while(|l| *l != open)
            .skip(1)
            .take_while(|l| *l != "}")
            .collect()
    }

    fn section_names(text: &str) -> Vec<&str> {
        text.lines()
            .filter(|l| l.ends_with(" {") && !l.starts_with('\t'))
            .map(|l| l.trim_end_matches(" {"))
            .collect()
    }

    fn device(vendor: &str, product: &str) -> DeviceEntry {
        DeviceEntry {
            vendor: Some(vendor.into()),
            product: Some(product.into()),
            ..DeviceEntry::default()
        }
    }

    #[test]
    fn sections_in_multipath_t_order() {
        let text = print(&selector(Config::default(), Vec::new(), true));
        assert_eq!(
            section_names(&text),
            vec!["defaults", "blacklist", "blacklist_exceptions", "devices", "overrides"]
        );
        let mut config = Config::default();
        config.multipaths.push(MultipathEntry {
            wwid: Some("36001".into()),
            ..MultipathEntry::default()
        });
        let text = print(&selector(config, Vec::new(), true));
        assert_eq!(section_names(&text).last(), Some(&"multipaths"));
    }

    #[test]
    fn defaults_show_builtin_values_with_multipath_quoting() {
        let text = print(&selector(Config::default(), Vec::new(), true));
        let defaults = section(&text, "defaults");
        for expected in [
            "\tverbosity 2",
            "\tpolling_interval 5",
            "\tmax_polling_interval 20",
            "\tpath_selector \"service-time 0\"",
            "\tpath_grouping_policy \"failover\"",
            "\tuid_attribute \"ID_SERIAL\"",
            "\tprio \"const\"",
            "\tprio_args \"\"",
            "\tfeatures \"0\"",
            "\tpath_checker \"tur\"",
            "\tfailback \"manual\"",
            "\trr_min_io_rq 1",
            "\tfast_io_fail_tmo 5",
            "\tfind_multipaths \"strict\"",
            "\tdisable_changed_wwids \"ignored\"",
            "\tfind_multipaths_timeout -10",
        ] {
            assert!(defaults.contains(&expected), "missing {expected:?} in {defaults:#?}");
        }
        assert!(!defaults.iter().any(|l| l.starts_with("\tno_path_retry")), "undefined no_path_retry is not printed");
        let position = |k: &str| defaults.iter().position(|l| l.starts_with(&format!("\t{k} ")));
        assert!(position("verbosity") < position("path_selector"));
        assert!(position("path_checker") < position("alias_prefix"));
        assert!(position("find_multipaths") < position("uxsock_timeout"));
    }

    #[test]
    fn defaults_without_config_file_say_find_multipaths_on() {
        let text = print(&selector(Config::default(), Vec::new(), false));
        assert!(section(&text, "defaults").contains(&"\tfind_multipaths \"on\""));
    }

    #[test]
    fn defaults_show_configured_values() {
        let mut config = Config::default();
        config.defaults.attrs.no_path_retry = Some(NoPathRetry::Retries(12));
        config.defaults.attrs.user_friendly_names = Some(true);
        config.defaults.find_multipaths = Some(FindMultipaths::Greedy);
        config.defaults.attrs.passive.push(Passive {
            keyword: "polling_interval".into(),
            value: "10".into(),
        });
        config.defaults.attrs.passive.push(Passive {
            keyword: "failback".into(),
            value: "immediate".into(),
        });
        let text = print(&selector(config, Vec::new(), true));
        let defaults = section(&text, "defaults");
        for expected in [
            "\tno_path_retry 12",
            "\tuser_friendly_names \"yes\"",
            "\tfind_multipaths \"greedy\"",
            "\tpolling_interval 10",
            "\tmax_polling_interval 40",
            "\tfailback \"immediate\"",
        ] {
            assert!(defaults.contains(&expected), "missing {expected:?} in {defaults:#?}");
        }
    }

    #[test]
    fn blacklist_lists_user_rules_then_builtin_ones_and_product_blacklists() {
        let mut config = Config::default();
        config.blacklist.devnode.push(Rule {
            pattern: "^loop".into(),
            origin: Origin::Builtin,
        });
        config.blacklist.device.push(DeviceRule {
            vendor: Some("ACME".into()),
            product: Some("Tape \"X\"".into()),
            origin: Origin::Builtin,
        });
        let builtin = vec![DeviceEntry {
            product_blacklist: Some("Universal Xport".into()),
            ..device("DELL", "^MD3")
        }];
        let text = print(&selector(config, builtin, true));
        let blacklist = section(&text, "blacklist");
        let devnode_user = blacklist.iter().position(|l| *l == "\tdevnode \"^loop\"");
        let devnode_builtin = blacklist
            .iter()
            .position(|l| *l == "\tdevnode \"!^(sd[a-z]|dasd[a-z]|nvme[0-9])\"");
        assert!(devnode_user.is_some() && devnode_user < devnode_builtin, "{blacklist:#?}");
        let devices: Vec<_> = blacklist.iter().skip_while(|l| **l != "\tdevice {").copied().collect();
        assert_eq!(
            devices,
            vec![
                "\tdevice {",
                "\t\tvendor \"ACME\"",
                "\t\tproduct \"Tape \"\"X\"\"\"",
                "\t}",
                "\tdevice {",
                "\t\tvendor \"DELL\"",
                "\t\tproduct \"Universal Xport\"",
                "\t}",
            ]
        );
        let exceptions = section(&text, "blacklist_exceptions");
        assert_eq!(exceptions, vec!["\tproperty \"(SCSI_IDENT_|ID_WWN)\""]);
    }

    #[test]
    fn devices_list_builtin_entries_then_user_entries() {
        let mut builtin_entry = device("NETAPP", "LUN");
        builtin_entry.attrs.path_grouping_policy = Some(Policy::GroupByPrio);
        builtin_entry.vpd_vendor = Some("hp3par".into());
        let mut user_entry = device("ACME", "Box");
        user_entry.revision = Some("0001".into());
        user_entry.attrs.no_path_retry = Some(NoPathRetry::Queue);
        user_entry.attrs.hardware_handler = Some("1 alua".into());
        let config = Config {
            devices: vec![user_entry],
            ..Config::default()
        };
        let text = print(&selector(config, vec![builtin_entry], true));
        let devices = section(&text, "devices");
        assert_eq!(devices.first(), Some(&"\tdevice {"));
        let netapp = devices.iter().position(|l| *l == "\t\tvendor \"NETAPP\"");
        let acme = devices.iter().position(|l| *l == "\t\tvendor \"ACME\"");
        assert!(netapp.is_some() && netapp < acme, "{devices:#?}");
        let acme_block: Vec<_> = devices
            .iter()
            .skip(acme.unwrap_or(0))
            .take_while(|l| **l != "\t}")
            .copied()
            .collect();
        assert_eq!(
            acme_block.iter().map(|l| l.split(' ').next().unwrap_or("")).collect::<Vec<_>>(),
            vec!["\t\tvendor", "\t\tproduct", "\t\trevision", "\t\thardware_handler", "\t\tno_path_retry"]
        );
        assert!(acme_block.contains(&"\t\tno_path_retry \"queue\""), "{acme_block:#?}");
        assert!(devices.contains(&"\t\tvpd_vendor \"hp3par\""));
        assert!(devices.contains(&"\t\tpath_grouping_policy \"group_by_prio\""));
    }

    #[test]
    fn overrides_printed_with_one_tab() {
        let text = print(&selector(Config::default(), Vec::new(), true));
        assert!(section(&text, "overrides").is_empty());
        let mut config = Config::default();
        config.overrides.no_path_retry = Some(NoPathRetry::Fail);
        config.overrides.path_checker = Some("tur".into());
        let text = print(&selector(config, Vec::new(), true));
        assert_eq!(
            section(&text, "overrides"),
            vec!["\tpath_checker \"tur\"", "\tno_path_retry \"fail\""]
        );
    }

    #[test]
    fn multipaths_sorted_with_wwid_and_alias_first() {
        let mut config = Config::default();
        for (wwid, alias) in [("36002", Some("b")), ("36001", None)] {
            let attrs = Attrs {
                features: Some("1 queue_if_no_path".into()),
                path_grouping_policy: Some(Policy::Multibus),
                ..Attrs::default()
            };
            config.multipaths.push(MultipathEntry {
                wwid: Some(wwid.into()),
                alias: alias.map(str::to_owned),
                attrs,
                origin: Origin::Builtin,
            });
        }
        let text = print(&selector(config, Vec::new(), true));
        assert_eq!(
            section(&text, "multipaths"),
            vec![
                "\tmultipath {",
                "\t\twwid \"36001\"",
                "\t\tpath_grouping_policy \"multibus\"",
                "\t\tfeatures \"1 queue_if_no_path\"",
                "\t}",
                "\tmultipath {",
                "\t\twwid \"36002\"",
                "\t\talias \"b\"",
                "\t\tpath_grouping_policy \"multibus\"",
                "\t\tfeatures \"1 queue_if_no_path\"",
                "\t}",
            ]
        );
    }

    #[test]
    fn quoting_follows_keyword_kind() {
        assert_eq!(value_text("failback", "15"), "15");
        assert_eq!(value_text("failback", "immediate"), "\"immediate\"");
        assert_eq!(value_text("fast_io_fail_tmo", "off"), "off");
        assert_eq!(value_text("dev_loss_tmo", "infinity"), "\"infinity\"");
        assert_eq!(value_text("path_selector", "round-robin 0"), "\"round-robin 0\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }
}
