//! mpath-boot's built-in hardware table and defaults are those of
//! multipath-tools 0.9.4, and they act the same on real devices.
//!
//! - `builtin_device_table_matches_multipath_t`: with no configuration file
//!   on either side, `multipath -t` (the reference, in the guest) and
//!   `mpath-boot -t` print the same defaults, blacklist, exceptions and
//!   device entries, keyword by keyword, apart from the deliberate
//!   differences listed in [`DEFAULTS_DELIBERATE`] and
//!   [`DEVICE_KEYWORDS_NOT_PRINTED`].
//! - `array_identities_like_multipath_tools`: scsi_debug LUs dressed up as
//!   arrays of the built-in table (INQUIRY vendor/product) get the same
//!   maps, names, UUIDs and tables from both tools, in one guest.
//!
//! Both outputs are parsed here with a small reader of the syntax `-t`
//! prints, never with mpath-boot's own parser.

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::{boot, scratch_dir, GuestRun, VmConfig};
use reference::indent;
use std::fs;
use std::fmt::Write as _;
use std::time::Duration;

// ---------------------------------------------------------------------------
// A reader of the multipath.conf syntax `multipath -t` prints.
// ---------------------------------------------------------------------------

/// One line of a configuration: a setting or a section with its contents.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Setting {
        keyword: String,
        /// The value exactly as printed (quotes included), for byte-level
        /// comparison of the quoting too.
        raw: String,
        /// The value with quotes removed and doubled quotes undoubled.
        value: String,
        line: usize,
    },
    Section {
        name: String,
        items: Vec<Item>,
        line: usize,
    },
}

/// A line split into words; a quoted word keeps its quotes.
fn words(line: &str, line_nr: usize) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '#' {
            break;
        } else if c == '"' {
            let mut word = String::from('"');
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                word.push(c);
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        word.push('"');
                    } else {
                        closed = true;
                        break;
                    }
                }
            }
            if !closed {
                return Err(format!("line {line_nr}: unterminated quote in {line:?}"));
            }
            out.push(word);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '"' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(word);
        }
    }
    Ok(out)
}

/// `"a ""b"""` -> `a "b"`; a bare word stays as it is.
fn unquote(word: &str) -> String {
    match word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => word.to_string(),
    }
}

/// Parses the whole text into top-level items; errors name the line.
fn parse_conf(text: &str) -> Result<Vec<Item>, String> {
    // A stack of open sections: (name, line, items so far).
    let mut stack: Vec<(String, usize, Vec<Item>)> = vec![(String::new(), 0, Vec::new())];
    for (i, line) in text.lines().enumerate() {
        let line_nr = i + 1;
        let w = words(line, line_nr)?;
        match w.as_slice() {
            [] => {}
            [close] if close == "}" => {
                if stack.len() < 2 {
                    return Err(format!("line {line_nr}: '}}' without an open section"));
                }
                let Some((name, line, items)) = stack.pop() else {
                    return Err(format!("line {line_nr}: internal stack error"));
                };
                if let Some(parent) = stack.last_mut() {
                    parent.2.push(Item::Section { name, items, line });
                }
            }
            [name, open] if open == "{" => stack.push((name.clone(), line_nr, Vec::new())),
            [keyword, rest @ ..] => {
                if rest.iter().any(|r| r == "{" || r == "}") {
                    return Err(format!("line {line_nr}: unexpected brace in {line:?}"));
                }
                let value = rest.iter().map(|r| unquote(r)).collect::<Vec<_>>().join(" ");
                if let Some(top) = stack.last_mut() {
                    top.2.push(Item::Setting {
                        keyword: keyword.clone(),
                        raw: rest.join(" "),
                        value,
                        line: line_nr,
                    });
                }
            }
        }
    }
    if stack.len() != 1 {
        let open: Vec<String> = stack[1..].iter().map(|(n, l, _)| format!("{n} (line {l})")).collect();
        return Err(format!("sections never closed: {}", open.join(", ")));
    }
    Ok(stack.pop().map(|(_, _, items)| items).unwrap_or_default())
}

/// The top-level section `name`'s items (None if absent).
fn section<'a>(items: &'a [Item], name: &str) -> Option<&'a [Item]> {
    items.iter().find_map(|i| match i {
        Item::Section { name: n, items, .. } if n == name => Some(items.as_slice()),
        _ => None,
    })
}

/// (keyword, raw value, line) of the settings directly in `items`.
fn settings(items: &[Item]) -> Vec<(&str, &str, usize)> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Setting { keyword, raw, line, .. } => Some((keyword.as_str(), raw.as_str(), *line)),
            Item::Section { .. } => None,
        })
        .collect()
}

/// The unquoted value of `keyword` directly in `items`.
fn value_of<'a>(items: &'a [Item], keyword: &str) -> Option<&'a str> {
    items.iter().find_map(|i| match i {
        Item::Setting { keyword: k, value, .. } if k == keyword => Some(value.as_str()),
        _ => None,
    })
}

/// Every item as one line of text, subsections flattened into
/// `device { vendor "X" product "Y" }`: for order-exact list comparison.
fn flat(item: &Item) -> String {
    match item {
        Item::Setting { keyword, raw, .. } => format!("{keyword} {raw}"),
        Item::Section { name, items, .. } => {
            let inner: Vec<String> = items.iter().map(flat).collect();
            format!("{name} {{ {} }}", inner.join(" "))
        }
    }
}

/// The `device` subsections of `devices`.
fn device_entries(items: &[Item]) -> Vec<&[Item]> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Section { name, items, .. } if name == "device" => Some(items.as_slice()),
            _ => None,
        })
        .collect()
}

/// How a device entry is named in messages: `"vendor" "product" "revision"`.
fn entry_id(entry: &[Item]) -> String {
    let mut id = format!(
        "{:?} {:?}",
        value_of(entry, "vendor").unwrap_or("(no vendor)"),
        value_of(entry, "product").unwrap_or("(no product)")
    );
    if let Some(rev) = value_of(entry, "revision") {
        let _ = write!(id, " revision {rev:?}");
    }
    id
}

// ---------------------------------------------------------------------------
// Deliberate differences between `mpath-boot -t` and `multipath -t`.
// ---------------------------------------------------------------------------

/// Defaults whose printed value differs on purpose: (keyword, mpath-boot's
/// value, the reference's value, why). Only this exact pair is accepted.
const DEFAULTS_DELIBERATE: &[(&str, &str, &str, &str)] = &[(
    "find_multipaths",
    "\"on\"",
    "\"strict\"",
    "without a configuration file 0.9.4 only takes WWIDs already in the \
     wwids file, which an initramfs rarely has; mpath-boot acts as \"on\" \
     (src/config/print.rs documents it)",
)];

/// Device-entry keywords mpath-boot does not print although the reference
/// does: (keyword, why). None at present: every keyword of the built-in
/// entries is printed.
const DEVICE_KEYWORDS_NOT_PRINTED: &[(&str, &str)] = &[];

/// Top-level sections both must print, in this order, without a
/// configuration file (multipaths appears only when there are entries).
const SECTIONS: &[&str] = &["defaults", "blacklist", "blacklist_exceptions", "devices", "overrides"];

/// Differences in `defaults`: values (minus the deliberate ones), keywords
/// only one side prints, and the order of the common keywords.
fn compare_defaults(mine: &[Item], theirs: &[Item]) -> Vec<String> {
    let (m, t) = (settings(mine), settings(theirs));
    let mut out = Vec::new();
    for (kw, ref_raw, _) in &t {
        match m.iter().find(|(k, ..)| k == kw) {
            None => out.push(format!("defaults: {kw}: mpath-boot does not print it (reference: {ref_raw})")),
            Some((_, my_raw, line)) if my_raw != ref_raw => {
                let deliberate = DEFAULTS_DELIBERATE
                    .iter()
                    .any(|(k, mv, rv, _)| k == kw && mv == my_raw && rv == ref_raw);
                if !deliberate {
                    out.push(format!(
                        "defaults: {kw}: mpath-boot {my_raw} (line {line}), reference {ref_raw}"
                    ));
                }
            }
            Some(_) => {}
        }
    }
    for (kw, my_raw, line) in &m {
        if !t.iter().any(|(k, ..)| k == kw) {
            out.push(format!(
                "defaults: {kw}: only mpath-boot prints it ({my_raw}, line {line})"
            ));
        }
    }
    let common_mine: Vec<&str> = m.iter().map(|s| s.0).filter(|k| t.iter().any(|s| s.0 == *k)).collect();
    let common_ref: Vec<&str> = t.iter().map(|s| s.0).filter(|k| m.iter().any(|s| s.0 == *k)).collect();
    if common_mine != common_ref {
        out.push(format!(
            "defaults: keyword order differs:\n  mpath-boot {common_mine:?}\n  reference  {common_ref:?}"
        ));
    }
    out
}

/// Differences between two lists compared item by item in order
/// (blacklist, blacklist_exceptions, overrides).
fn compare_list(what: &str, mine: &[Item], theirs: &[Item]) -> Vec<String> {
    let (m, t): (Vec<String>, Vec<String>) = (mine.iter().map(flat).collect(), theirs.iter().map(flat).collect());
    let mut out = Vec::new();
    for i in 0..m.len().max(t.len()) {
        match (m.get(i), t.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => out.push(format!(
                "{what}[{i}]: mpath-boot {}, reference {}",
                a.map_or("(none)".to_string(), |s| s.clone()),
                b.map_or("(none)".to_string(), |s| s.clone())
            )),
        }
    }
    out
}

/// Differences in `devices`: entry order and identity, then every keyword
/// of each entry (values as printed, quotes included).
fn compare_devices(mine: &[Item], theirs: &[Item]) -> Vec<String> {
    let (m, t) = (device_entries(mine), device_entries(theirs));
    let mut out = Vec::new();
    if m.len() != t.len() {
        out.push(format!(
            "devices: mpath-boot prints {} entries, the reference {}",
            m.len(),
            t.len()
        ));
    }
    for (i, (me, te)) in m.iter().zip(&t).enumerate() {
        let (mid, tid) = (entry_id(me), entry_id(te));
        if mid != tid {
            out.push(format!("devices: entry {i}: mpath-boot {mid}, reference {tid}"));
            continue;
        }
        let (ms, ts) = (settings(me), settings(te));
        for (kw, ref_raw, _) in &ts {
            match ms.iter().find(|(k, ..)| k == kw) {
                None if DEVICE_KEYWORDS_NOT_PRINTED.iter().any(|(k, _)| k == kw) => {}
                None => out.push(format!(
                    "devices: entry {i} {tid}: {kw}: mpath-boot does not print it (reference: {ref_raw})"
                )),
                Some((_, my_raw, line)) if my_raw != ref_raw => out.push(format!(
                    "devices: entry {i} {tid}: {kw}: mpath-boot {my_raw} (line {line}), reference {ref_raw}"
                )),
                Some(_) => {}
            }
        }
        for (kw, my_raw, line) in &ms {
            if !ts.iter().any(|(k, ..)| k == kw) {
                out.push(format!(
                    "devices: entry {i} {tid}: {kw}: only mpath-boot prints it ({my_raw}, line {line})"
                ));
            }
        }
        let order_m: Vec<&str> = ms.iter().map(|s| s.0).filter(|k| ts.iter().any(|s| s.0 == *k)).collect();
        let order_t: Vec<&str> = ts.iter().map(|s| s.0).filter(|k| ms.iter().any(|s| s.0 == *k)).collect();
        if order_m != order_t {
            out.push(format!(
                "devices: entry {i} {tid}: keyword order differs: mpath-boot {order_m:?}, reference {order_t:?}"
            ));
        }
    }
    for (i, extra) in m.iter().enumerate().skip(t.len()) {
        out.push(format!("devices: entry {i} {}: only mpath-boot prints it", entry_id(extra)));
    }
    for (i, extra) in t.iter().enumerate().skip(m.len()) {
        out.push(format!("devices: entry {i} {}: only the reference prints it", entry_id(extra)));
    }
    out
}

/// Every difference between two whole `-t` outputs.
fn compare_configs(mine: &[Item], theirs: &[Item]) -> Vec<String> {
    let names = |items: &[Item]| -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Section { name, .. } => name.clone(),
                Item::Setting { keyword, .. } => format!("(top-level setting {keyword})"),
            })
            .collect()
    };
    let mut out = Vec::new();
    let (mn, tn) = (names(mine), names(theirs));
    if mn != tn {
        out.push(format!("top-level sections: mpath-boot {mn:?}, reference {tn:?}"));
    }
    let get = |items, name| section(items, name).unwrap_or(&[]);
    out.extend(compare_defaults(get(mine, "defaults"), get(theirs, "defaults")));
    for list in ["blacklist", "blacklist_exceptions", "overrides"] {
        out.extend(compare_list(list, get(mine, list), get(theirs, list)));
    }
    out.extend(compare_devices(get(mine, "devices"), get(theirs, "devices")));
    out
}

#[test]
fn conf_reader_reads_what_multipath_t_prints() {
    let text = "defaults {\n\tverbosity 2\n\tprio_args \"\"\n}\nblacklist {\n\
                \tdevnode \"!^(sd[a-z]|x\"\"y)\"\n\tdevice {\n\t\tvendor \"A B\"\n\t}\n}\n";
    let items = parse_conf(text).expect("parses");
    let defaults = section(&items, "defaults").expect("defaults");
    assert_eq!(value_of(defaults, "verbosity"), Some("2"));
    assert_eq!(value_of(defaults, "prio_args"), Some(""));
    let bl = section(&items, "blacklist").expect("blacklist");
    assert_eq!(value_of(bl, "devnode"), Some("!^(sd[a-z]|x\"y)"));
    assert_eq!(flat(&bl[1]), "device { vendor \"A B\" }");
    assert!(parse_conf("a {\n").is_err());
    assert!(parse_conf("}\n").is_err());
    assert!(parse_conf("x \"open\n").is_err());
    // The comparison itself sees a changed value, a missing entry and a
    // changed default.
    let other = text.replace("\"A B\"", "\"A C\"").replace("verbosity 2", "verbosity 3");
    let diffs = compare_configs(&parse_conf(&other).expect("parses"), &items);
    assert_eq!(diffs.len(), 2, "{diffs:#?}");
}

/// `multipath -t` and `mpath-boot -t` in one guest, no configuration file.
#[test]
fn builtin_device_table_matches_multipath_t() {
    let script = "\
rm -f /etc/multipath.conf
rm -rf /etc/multipath/conf.d
section ref-t sh -c 'multipath -t 2>/tmp/ref.err'
section ref-t-stderr cat /tmp/ref.err
section mine-t sh -c 'mpath-boot -t 2>/tmp/mine.err'
section mine-t-stderr cat /tmp/mine.err
";
    let run = boot(&VmConfig {
        name: "hwtable-print",
        script: script.to_string(),
        overlays: vec![reference::reference_overlay()],
        timeout: Duration::from_secs(300),
        ..Default::default()
    });
    run.assert_success();
    let (ref_text, mine_text) = (run.section_ok("ref-t"), run.section_ok("mine-t"));
    println!("multipath -t stderr: {}", run.section("ref-t-stderr").trim());
    println!("mpath-boot -t stderr: {}", run.section("mine-t-stderr").trim());
    let theirs = parse_conf(&ref_text).unwrap_or_else(|e| run.fail(&format!("multipath -t: {e}")));
    let mine = parse_conf(&mine_text).unwrap_or_else(|e| run.fail(&format!("mpath-boot -t: {e}")));
    // The reference's output is what this test is about: check it is whole.
    for name in SECTIONS {
        assert!(section(&theirs, name).is_some(), "multipath -t printed no {name} section");
    }
    let ref_entries = device_entries(section(&theirs, "devices").unwrap_or(&[])).len();
    assert!(ref_entries > 100, "multipath -t printed only {ref_entries} device entries");
    println!(
        "multipath -t: {} device entries; mpath-boot -t: {}",
        ref_entries,
        device_entries(section(&mine, "devices").unwrap_or(&[])).len()
    );
    let diffs = compare_configs(&mine, &theirs);
    assert!(
        diffs.is_empty(),
        "mpath-boot -t differs from multipath -t ({}) in {} places (see {}):\n{}",
        reference::VERSION,
        diffs.len(),
        run.dir.join("guest.log").display(),
        diffs.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Array identities on scsi_debug.
// ---------------------------------------------------------------------------

/// One built-in table entry played by scsi_debug.
struct Identity {
    /// Shell-safe word naming the guest sections.
    name: &'static str,
    /// INQUIRY vendor (up to 8 characters) and product (up to 16).
    vendor: &'static str,
    product: &'static str,
    /// Texts the reference's end-state table must contain: proof that the
    /// table entry (not the defaults) was applied.
    ref_table_has: &'static [&'static str],
    /// /etc/multipath.conf for both tools in this round; None: the
    /// reference overlay's (`find_multipaths off` only).
    conf: Option<&'static str>,
}

/// Logical units per scsi_debug host, and hosts per identity: with 4 hosts
/// two paths share an ALUA state (scsi_debug cycles the state with the host
/// number, modulo 3), so group_by_prio makes a group of two.
const LUNS: usize = 2;
const HOSTS: usize = 4;

/// Entries of the 0.9.4 table whose settings differ visibly from the
/// defaults and whose checker and prioritizer work on scsi_debug (tur;
/// alua, const or a detected alua).
///
/// Not used: arrays the kernel serves with the rdac, emc or hp_sw device
/// handler (drivers/scsi/scsi_dh.c, `scsi_dh_blist`):
/// IBM 1722/1724/1726/1742/1745/1746/1813/1814/1815/1818/3526/3542/3552,
/// SGI TP9x00/IS, STK OPENstorage/FLEXLINE 380/BladeCtlr, SUN CSM/LCSM100/
/// STK6580_6780/SUN_6180/ArrayStorage, DELL MD3, NETAPP/LSI/ENGENIO
/// INF-01-00, LENOVO DE_Series, FUJITSU ETERNUS_AHB (rdac); DGC
/// RAID/DISK/VRAID (emc); COMPAQ MSA1000 VOLUME/HSV110, HP HSV100, DEC
/// HSG80 (hp_sw). Their entries name those handlers and vendor-specific
/// checkers and prioritizers (rdac, emc_clariion, hp_sw) that send
/// commands scsi_debug does not answer; and since scsi_debug reports TPGS,
/// the kernel attaches alua to it instead, so such a run would not test
/// those entries as the arrays use them.
const IDENTITIES: &[Identity] = &[
    // hwhandler 1 alua, group_by_prio, failback immediate, no_path_retry 12.
    Identity { name: "lio", vendor: "LIO-ORG", product: "TCMU device", ref_table_has: &[" 1 alua "], conf: None },
    // features "2 pg_init_retries 50", queue, group_by_prio, prio ontap
    // (detect_prio finds alua first), user_friendly_names no.
    Identity { name: "netapp", vendor: "NETAPP", product: "LUN", ref_table_has: &["pg_init_retries 50"], conf: None },
    // The same with detect_prio no, so the entry's ontap prioritizer runs:
    // it asks for NetApp's vendor-specific pages, which scsi_debug lacks.
    Identity {
        name: "netapp-ontap",
        vendor: "NETAPP",
        product: "LUN",
        ref_table_has: &["pg_init_retries 50"],
        conf: Some("defaults {\n\tfind_multipaths off\n\tdetect_prio no\n}\n"),
    },
    // group_by_prio, alua, no_path_retry 18, fast_io_fail 10.
    Identity { name: "3par", vendor: "3PARdata", product: "VV", ref_table_has: &[" 1 alua "], conf: None },
    // group_by_prio, alua, fast_io_fail 10, max_sectors_kb 4096 (which
    // 0.9.4's store_hwe does not copy).
    Identity { name: "pure", vendor: "PURE", product: "FlashArray", ref_table_has: &[" 1 alua "], conf: None },
    // ^2145: queue, group_by_prio, alua.
    Identity { name: "ibm2145", vendor: "IBM", product: "2145", ref_table_has: &[" 1 alua "], conf: None },
    // group_by_prio, queue, no prio given (detected alua).
    Identity { name: "compellent", vendor: "COMPELNT", product: "Compellent Vol", ref_table_has: &[], conf: None },
    // group_by_serial, no_path_retry 30.
    Identity { name: "nexenta", vendor: "NEXENTA", product: "COMSTAR", ref_table_has: &[], conf: None },
    // round-robin 0, rr_weight priorities, minio 1, failback 30, fail.
    Identity { name: "infinibox", vendor: "NFINIDAT", product: "InfiniBox", ref_table_has: &["round-robin 0"], conf: None },
    // multibus.
    Identity { name: "xtremio", vendor: "XtremIO", product: "XtremApp", ref_table_has: &[], conf: None },
    // (HITACHI|HP|HPE) ^OPEN-: multibus, regex on both fields.
    Identity { name: "hitachi", vendor: "HITACHI", product: "OPEN-V", ref_table_has: &[], conf: None },
];

/// Guest shell helpers for [`array_identities_like_multipath_tools`].
const IDENTITY_HELPERS: &str = r#"
SDEBUG=/sys/bus/pseudo/drivers/scsi_debug
SDPARAM=/sys/module/scsi_debug/parameters
sd_count() { ls -d /sys/block/sd* 2>/dev/null | wc -l; }
# Every path: name, H:C:T:L, dev, vendor, model, attached handler, wwid.
inventory() {
    for d in /sys/block/sd*; do
        echo "${d##*/} $(basename $(readlink -f $d/device)) $(cat $d/dev) [$(cat $d/device/vendor)] [$(cat $d/device/model)] $(cat $d/device/dh_state 2>/dev/null) $(cat $d/device/wwid)"
    done
}
max_sectors() { for d in /sys/block/sd*; do echo "${d##*/} $(cat $d/queue/max_sectors_kb)"; done; }
restore_max_sectors() {
    while read -r dev kb; do echo $kb > /sys/block/$dev/queue/max_sectors_kb; done < /tmp/max_sectors
}
collect() {
    section $1.table sh -c 'dmsetup table | sort'
    section $1.names sh -c 'dmsetup info -c --noheadings -o name,uuid | sort'
    section $1.max_sectors max_sectors
}
# identity NAME VENDOR PRODUCT [CONF]: add hosts answering INQUIRY as
# VENDOR PRODUCT, run both tools on their paths (with CONF as
# /etc/multipath.conf if given), remove the hosts.
identity() {
    cp /etc/multipath.conf /tmp/multipath.conf.orig
    if [ -n "$4" ]; then cp "$4" /etc/multipath.conf || exit 27; fi
    printf '%-8s' "$2" > $SDPARAM/inq_vendor || exit 20
    printf '%-16s' "$3" > $SDPARAM/inq_product || exit 21
    echo HOSTS > $SDEBUG/add_host || exit 22
    wait_until 90 sh -c "[ \$(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq PATHS ]" || exit 23
    for d in /sys/block/sd*; do wait_until 30 test -s $d/device/wwid || exit 24; done
    section $1.inventory inventory
    max_sectors > /tmp/max_sectors
    section $1.ref.up /reference/run-multipath.sh up || exit 90
    section $1.ref.run sh -c "unset DM_DISABLE_UDEV; multipath -v2; rc=\$?; udevadm settle --timeout=300; exit \$rc"
    collect $1.ref
    section $1.ref.down /reference/run-multipath.sh down
    section $1.ref.cleanup sh -c 'dmsetup remove_all; dmsetup ls'
    restore_max_sectors
    section $1.mine.run mpath-boot -v3
    collect $1.mine
    section $1.mine.flush mpath-boot -F
    section $1.mine.cleanup sh -c 'dmsetup remove_all; dmsetup ls'
    echo -HOSTS > $SDEBUG/add_host || exit 25
    wait_until 90 sh -c "[ \$(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq 0 ]" || exit 26
    cp /tmp/multipath.conf.orig /etc/multipath.conf
}
"#;

/// What one tool left in the kernel for one identity.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    table: String,
    names: String,
    max_sectors: String,
}

impl Outcome {
    fn read(run: &GuestRun, prefix: &str) -> Outcome {
        let get = |what: &str| run.section(&format!("{prefix}.{what}"));
        Outcome {
            table: get("table"),
            names: get("names"),
            max_sectors: get("max_sectors"),
        }
    }

    fn map_count(&self) -> usize {
        reference::parse_dmsetup_table(&self.table).len()
    }

    fn show(&self) -> String {
        format!(
            "  tables:\n{}\n  names:\n{}\n  path max_sectors_kb:\n{}",
            indent(&self.table),
            indent(&self.names),
            indent(&self.max_sectors)
        )
    }
}

/// The tables a tool reports loading: multipath's `addmap [...]` lines at
/// -v2, mpath-boot's `table` lines at -v3 (for the report only: without
/// multipathd 0.9.4 loads queue_if_no_path and then clears it).
fn loaded_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(": addmap [") || l.contains(": table "))
        .collect()
}

/// Problems with the reference's own result for `id`.
fn check_reference(id: &Identity, out: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    if out.map_count() != LUNS {
        problems.push(format!("{} maps, expected {LUNS}", out.map_count()));
    }
    for (name, table) in reference::parse_dmsetup_table(&out.table) {
        for text in id.ref_table_has {
            if !table.contains(text) {
                problems.push(format!("table of {name} lacks {text:?}"));
            }
        }
    }
    problems
}

/// Several array identities from the 0.9.4 table, one after another in one
/// guest: both tools make the same maps, names, UUIDs and tables.
#[test]
fn array_identities_like_multipath_tools() {
    let name = "hwtable-identities";
    let mut script = IDENTITY_HELPERS
        .replace("PATHS", &(LUNS * HOSTS).to_string())
        .replace("HOSTS", &HOSTS.to_string());
    let _ = writeln!(
        script,
        "modprobe scsi_debug add_host=0 max_luns={LUNS} vpd_use_hostno=0 dev_size_mb=8 || exit 10"
    );
    let dir = scratch_dir(name);
    let mut files = Vec::new();
    for id in IDENTITIES {
        assert!(id.vendor.len() <= 8 && id.product.len() <= 16, "{}: INQUIRY field too long", id.name);
        let conf = match id.conf {
            Some(text) => {
                let host = dir.join(format!("{}.conf", id.name));
                fs::write(&host, text).unwrap_or_else(|e| panic!("write {}: {e}", host.display()));
                let guest = format!("/hwtable/{}.conf", id.name);
                files.push((host, guest.clone()));
                guest
            }
            None => String::new(),
        };
        let _ = writeln!(script, "identity {} '{}' '{}' '{conf}'", id.name, id.vendor, id.product);
    }
    let run = boot(&VmConfig {
        name,
        script,
        files,
        overlays: vec![reference::reference_overlay()],
        timeout: Duration::from_secs(1200),
        ..Default::default()
    });
    run.assert_success();
    println!("{name}: guest run took {:.1?}", run.elapsed);

    let mut bad_reference = String::new();
    let mut differences = String::new();
    for id in IDENTITIES {
        let inventory = run.section(&format!("{}.inventory", id.name));
        let ref_log = run.section(&format!("{}.ref.run", id.name));
        let mine_log = run.section(&format!("{}.mine.run", id.name));
        let theirs = Outcome::read(&run, &format!("{}.ref", id.name));
        let mine = Outcome::read(&run, &format!("{}.mine", id.name));
        println!(
            "{name}: {} ({} {}): reference loaded:\n{}\n  mpath-boot loaded:\n{}",
            id.name,
            id.vendor,
            id.product,
            indent(&loaded_lines(&ref_log).join("\n")),
            indent(&loaded_lines(&mine_log).join("\n"))
        );
        let problems = check_reference(id, &theirs);
        if !problems.is_empty() {
            let _ = writeln!(
                bad_reference,
                "=== {} ({} {}): the reference's result is not what the test expects:\n  {}\n\
                 --- paths ---\n{}\n--- multipath -v2 ---\n{}\n{}",
                id.name,
                id.vendor,
                id.product,
                problems.join("\n  "),
                indent(&inventory),
                indent(&ref_log),
                theirs.show()
            );
            continue;
        }
        if mine != theirs {
            let mut what = Vec::new();
            for (field, a, b) in [
                ("tables", &mine.table, &theirs.table),
                ("names/UUIDs", &mine.names, &theirs.names),
                ("path max_sectors_kb", &mine.max_sectors, &theirs.max_sectors),
            ] {
                if a != b {
                    what.push(field);
                }
            }
            let _ = writeln!(
                differences,
                "=== {} ({} {}): mpath-boot differs in {}\n--- paths ---\n{}\n\
                 --- multipath-tools ---\n{}\n--- mpath-boot -v3 (exit {}) ---\n{}\n{}",
                id.name,
                id.vendor,
                id.product,
                what.join(", "),
                indent(&inventory),
                theirs.show(),
                run.status(&format!("{}.mine.run", id.name)),
                indent(&mine_log),
                mine.show()
            );
        }
    }
    reference::assert_same_as_reference(name, &run.dir.join("guest.log"), "", &bad_reference, &differences);
}
