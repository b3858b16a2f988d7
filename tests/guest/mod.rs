//! Guest script snippets and parsers of what guest tools print, shared by
//! the VM tests of mpath-boot (`mod guest;` next to `mod common;`).
//!
//! The parsers read `dmsetup` and sysfs output with their own simple rules,
//! never with mpath-boot's code, so the tests do not check the tool
//! against itself.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

/// Guest shell: load scsi_debug with `params` and wait until `paths` sd
/// devices and sg nodes exist.
pub fn scsi_debug(params: &str, paths: usize) -> String {
    format!(
        r#"
modprobe scsi_debug {params} || exit 10
wait_until 90 sh -c '[ $(ls -d /sys/block/sd* 2>/dev/null | wc -l) -eq {paths} ]' || exit 11
wait_until 30 test -e /dev/sg{last} || exit 12
for d in /sys/block/sd*; do wait_until 30 test -s $d/device/wwid || exit 13; done
"#,
        last = paths - 1
    )
}

/// Guest command printing `name major:minor kernel-wwid` for every sd disk.
pub const INVENTORY: &str = r#"sh -c 'for d in /sys/block/sd*; do echo "${d##*/} $(cat $d/dev) $(cat $d/device/wwid)"; done'"#;

/// One disk as sysfs describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    pub name: String,
    pub devnum: String,
    pub kernel_wwid: String,
}

pub fn parse_inventory(text: &str) -> Vec<Disk> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some(Disk {
                name: w.next()?.to_string(),
                devnum: w.next()?.to_string(),
                kernel_wwid: w.next()?.to_string(),
            })
        })
        .collect()
}

/// Sets of device numbers that share one kernel WWID: the multipath truth.
pub fn lu_path_sets(disks: &[Disk]) -> BTreeSet<BTreeSet<String>> {
    let mut by_wwid: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for d in disks {
        by_wwid
            .entry(&d.kernel_wwid)
            .or_default()
            .insert(d.devnum.clone());
    }
    by_wwid.into_values().collect()
}

/// One line of `dmsetup table`: `name: start length target params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmTable {
    pub name: String,
    pub length: u64,
    pub target: String,
    pub params: String,
}

impl DmTable {
    /// Device numbers (`M:m` words) in the params, in table order.
    pub fn devices(&self) -> Vec<String> {
        self.params
            .split_whitespace()
            .filter(|w| {
                w.split_once(':').is_some_and(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
                })
            })
            .map(str::to_string)
            .collect()
    }

    /// Number of priority groups (the word after features and handler).
    pub fn group_count(&self) -> usize {
        let w: Vec<&str> = self.params.split_whitespace().collect();
        let features: usize = w[0].parse().unwrap();
        let handler: usize = w[1 + features].parse().unwrap();
        w[2 + features + handler].parse().unwrap()
    }
}

/// Parses `dmsetup table` output ("No devices found" gives nothing).
pub fn parse_tables(text: &str) -> Vec<DmTable> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("No devices found"))
        .map(|l| {
            let (name, rest) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad table line {l:?}"));
            let mut w = rest.trim().splitn(4, ' ');
            let _start = w.next().unwrap();
            let length = w.next().unwrap().parse().unwrap();
            let target = w.next().unwrap().to_string();
            let params = w.next().unwrap_or("").trim().to_string();
            DmTable {
                name: name.to_string(),
                length,
                target,
                params,
            }
        })
        .collect()
}

/// The path sets of the maps in `dmsetup table` output.
pub fn map_path_sets(tables: &[DmTable]) -> BTreeSet<BTreeSet<String>> {
    tables
        .iter()
        .map(|t| t.devices().into_iter().collect())
        .collect()
}
