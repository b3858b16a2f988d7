//! The `multipath` target's table text: building it, and reading it back.
//!
//! The layout is the one multipath-tools loads, so that multipathd adopts a
//! map made in early boot without reloading it:
//! `<features> <hwhandler> <#groups> <next group> {<selector> <#paths> 1 {<dev> 1}}`.
//! The kernel echoes tables in a normalised form (for example service-time
//! adds a relative-throughput argument), so comparisons go through
//! [`ParsedTable::same_layout`], never through the raw text.

use core::fmt::{self, Write};

use crate::group::Groups;
use crate::path::Path;

/// Default features: no `queue_if_no_path` (multipath-tools' `no_path_retry fail`).
pub const DEFAULT_FEATURES: &str = "0";
/// Default path selector with its argument count.
pub const DEFAULT_SELECTOR: &str = "service-time 0";

/// Hardware handler text for a map: `0`, or `1 <name>`.
///
/// Follows multipath-tools' `select_hwhandler`: a handler the kernel already
/// attached to a path is retained; otherwise `alua` when every path reports
/// TPGS; otherwise none.
pub fn hardware_handler(paths: &[Path], members: &[u16]) -> heapless::String<24> {
    let mut out = heapless::String::new();
    let attached = members
        .iter()
        .filter_map(|&i| paths[i as usize].handler.as_ref())
        .find(|h| h.as_str() != "detached");
    let all_tpgs = !members.is_empty() && members.iter().all(|&i| paths[i as usize].tpgs);
    let _ = match attached {
        Some(handler) => write!(out, "1 {handler}"),
        None if all_tpgs => out.write_str("1 alua"),
        None => out.write_str("0"),
    };
    out
}

/// Builds the parameter text of a `multipath` target. `weight` gives each
/// path's repeat count (1, or priority x rr_min_io_rq with `rr_weight
/// priorities`).
pub fn params(
    features: &str,
    hwhandler: &str,
    selector: &str,
    groups: &Groups,
    paths: &[Path],
    weight: &dyn Fn(&Path) -> u32,
) -> String {
    let mut text = String::with_capacity(64 + 24 * paths.len());
    // Writing to a String cannot fail.
    let _ = write!(text, "{features} {hwhandler} {} 1", groups.len());
    for group in groups {
        let _ = write!(text, " {selector} {} 1", group.paths.len());
        for &index in &group.paths {
            let path = &paths[index as usize];
            let _ = write!(text, " {} {}", path.devnum, weight(path));
        }
    }
    text
}

/// A `multipath` table read back from the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedTable {
    pub features: Vec<String>,
    pub hwhandler: Vec<String>,
    pub next_group: u32,
    pub groups: Vec<ParsedGroup>,
}

/// One priority group of a parsed table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedGroup {
    pub selector: String,
    pub selector_args: Vec<String>,
    /// Path devices (`major:minor`) with their per-path arguments.
    pub paths: Vec<(String, Vec<String>)>,
}

/// The table text is not a well-formed `multipath` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableError(pub String);

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed multipath table: {}", self.0)
    }
}

impl std::error::Error for TableError {}

struct Tokens<'a> {
    words: std::str::SplitWhitespace<'a>,
}

impl<'a> Tokens<'a> {
    fn word(&mut self, what: &str) -> Result<&'a str, TableError> {
        self.words
            .next()
            .ok_or_else(|| TableError(format!("ends before {what}")))
    }

    fn count(&mut self, what: &str) -> Result<usize, TableError> {
        let word = self.word(what)?;
        let n: usize = word
            .parse()
            .map_err(|_| TableError(format!("{what} is {word:?}, not a number")))?;
        // Every counted item is at least one word: a larger count is a lie.
        if n > 100_000 {
            return Err(TableError(format!("{what} {n} is implausible")));
        }
        Ok(n)
    }

    fn words(&mut self, n: usize, what: &str) -> Result<Vec<String>, TableError> {
        (0..n).map(|_| self.word(what).map(str::to_owned)).collect()
    }
}

/// Parses the parameter text of a `multipath` target (kernel table form).
pub fn parse(text: &str) -> Result<ParsedTable, TableError> {
    let mut t = Tokens {
        words: text.split_whitespace(),
    };
    let n = t.count("feature count")?;
    let features = t.words(n, "features")?;
    let n = t.count("hardware handler argument count")?;
    let hwhandler = t.words(n, "hardware handler arguments")?;
    let group_count = t.count("group count")?;
    let next_group = t.count("next group")? as u32;
    let mut groups = Vec::new();
    for _ in 0..group_count {
        let selector = t.word("path selector")?.to_owned();
        let n = t.count("selector argument count")?;
        let selector_args = t.words(n, "selector arguments")?;
        let path_count = t.count("path count")?;
        let arg_count = t.count("path argument count")?;
        let mut paths = Vec::new();
        for _ in 0..path_count {
            let dev = t.word("path device")?.to_owned();
            paths.push((dev, t.words(arg_count, "path arguments")?));
        }
        groups.push(ParsedGroup {
            selector,
            selector_args,
            paths,
        });
    }
    if let Some(extra) = t.words.next() {
        return Err(TableError(format!("unexpected {extra:?} after the last group")));
    }
    Ok(ParsedTable {
        features,
        hwhandler,
        next_group,
        groups,
    })
}

impl ParsedTable {
    /// True when both tables have the same features, handler, selectors and
    /// path groups. Per-path arguments are ignored: the kernel fills in
    /// defaults (service-time's relative throughput) when echoing a table.
    pub fn same_layout(&self, other: &ParsedTable) -> bool {
        let same_group = |a: &ParsedGroup, b: &ParsedGroup| {
            a.selector == b.selector
                && a.selector_args == b.selector_args
                && a.paths.len() == b.paths.len()
                && a.paths.iter().all(|p| b.paths.iter().any(|q| q.0 == p.0))
        };
        // As 0.9.4's pgcmp: the same groups of the same paths, in any
        // order (multipath switches groups by message, it does not reload).
        self.features == other.features
            && self.hwhandler == other.hwhandler
            && self.groups.len() == other.groups.len()
            && self.groups.iter().all(|a| other.groups.iter().any(|b| same_group(a, b)))
    }

    /// All path devices of the table, group by group.
    pub fn devices(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .flat_map(|g| g.paths.iter().map(|(dev, _)| dev.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::PathGroup;
    use crate::path::{dev_name, DevNum, Hctl, PathState};

    fn path(minor: u32, tpgs: bool, handler: Option<&str>) -> Path {
        Path {
            name: dev_name("sdx").unwrap(),
            hctl: Hctl::default(),
            devnum: DevNum { major: 8, minor },
            sectors: 16384,
            vendor: Default::default(),
            product: Default::default(),
            wwid: Default::default(),
            state: PathState::Up,
            priority: 50,
            handler: handler.map(|h| h.try_into().unwrap()),
            tpgs,
            ..Path::default()
        }
    }

    fn group(members: &[u16]) -> PathGroup {
        PathGroup {
            priority: 50,
            paths: members.iter().copied().collect(),
        }
    }

    #[test]
    fn failover_table_has_multipath_tools_layout() {
        let paths = [path(0, true, Some("alua")), path(64, true, Some("alua"))];
        let groups: Groups = [group(&[0]), group(&[1])].into_iter().collect();
        let hw = hardware_handler(&paths, &[0, 1]);
        let text = params(DEFAULT_FEATURES, &hw, DEFAULT_SELECTOR, &groups, &paths, &|_| 1);
        assert_eq!(
            text,
            "0 1 alua 2 1 service-time 0 1 1 8:0 1 service-time 0 1 1 8:64 1"
        );
    }

    #[test]
    fn multibus_table() {
        let paths = [path(16, false, None), path(32, false, None)];
        let groups: Groups = [group(&[0, 1])].into_iter().collect();
        let hw = hardware_handler(&paths, &[0, 1]);
        assert_eq!(
            params("0", &hw, DEFAULT_SELECTOR, &groups, &paths, &|_| 1),
            "0 0 1 1 service-time 0 2 1 8:16 1 8:32 1"
        );
    }

    #[test]
    fn handler_selection_follows_multipath_tools() {
        let detached = [path(0, true, Some("detached")), path(1, true, None)];
        assert_eq!(hardware_handler(&detached, &[0, 1]).as_str(), "1 alua");
        let mixed = [path(0, true, None), path(1, false, None)];
        assert_eq!(hardware_handler(&mixed, &[0, 1]).as_str(), "0");
        let rdac = [path(0, false, Some("rdac"))];
        assert_eq!(hardware_handler(&rdac, &[0]).as_str(), "1 rdac");
    }

    #[test]
    fn parses_kernel_echo_and_matches_loaded_layout() {
        let kernel = "0 1 alua 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:64 1 1";
        let loaded = "0 1 alua 2 1 service-time 0 1 1 8:0 1 service-time 0 1 1 8:64 1";
        let a = parse(kernel).unwrap();
        let b = parse(loaded).unwrap();
        assert!(a.same_layout(&b));
        assert_eq!(a.devices().collect::<Vec<_>>(), ["8:0", "8:64"]);
        assert_eq!(a.hwhandler, ["alua"]);
        let other = parse("0 1 alua 1 1 service-time 0 2 1 8:0 1 8:64 1").unwrap();
        assert!(!a.same_layout(&other));
        // Groups in another order are the same groups (0.9.4's pgcmp).
        let swapped = parse("0 1 alua 2 1 service-time 0 1 1 8:64 1 service-time 0 1 1 8:0 1").unwrap();
        assert!(a.same_layout(&swapped));
        let moved = parse("0 1 alua 2 1 service-time 0 1 1 8:64 1 service-time 0 1 1 8:16 1").unwrap();
        assert!(!a.same_layout(&moved));
    }

    #[test]
    fn parses_features() {
        let t = parse("1 queue_if_no_path 0 1 1 round-robin 0 1 1 8:0 1000").unwrap();
        assert_eq!(t.features, ["queue_if_no_path"]);
        assert!(t.hwhandler.is_empty());
        assert_eq!(t.groups[0].selector, "round-robin");
    }

    #[test]
    fn malformed_tables_are_errors() {
        for bad in [
            "",
            "x",
            "0 0 2 1 service-time 0 1 1 8:0 1",
            "0 0 1 1 service-time 0 1 1",
            "0 0 1 1 service-time 0 1 1 8:0 1 junk",
            "99999999999 0",
            "0 0 4294967296 1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}

/// Runtime state of one path group, from the target's status text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStatus {
    /// `A` active, `E` enabled, `D` disabled (bypassed).
    pub state: char,
    /// (device, `A` active or `F` failed, fail count) per path.
    pub paths: Vec<(String, char, u32)>,
}

/// Parses the status text of a `multipath` target (`dmsetup status`):
/// `<#features> ... <#hwhandler> ... <#groups> <next> {<state> <#ps status>
/// ... <#paths> <#path info> {<dev> <A|F> <fails> <info>...}}`.
pub fn parse_status(text: &str) -> Result<Vec<GroupStatus>, TableError> {
    let mut t = Tokens {
        words: text.split_whitespace(),
    };
    let n = t.count("status feature count")?;
    t.words(n, "status features")?;
    let n = t.count("hardware handler status count")?;
    t.words(n, "hardware handler status")?;
    let groups = t.count("group count")?;
    t.count("next group")?;
    let mut result = Vec::new();
    for _ in 0..groups {
        let state = t.word("group state")?;
        let state = match state {
            "A" | "E" | "D" => state.chars().next().unwrap_or('?'),
            other => return Err(TableError(format!("group state {other:?} is not A, E or D"))),
        };
        let n = t.count("selector status count")?;
        t.words(n, "selector status")?;
        let paths = t.count("path count")?;
        let info = t.count("path info count")?;
        let mut members = Vec::new();
        for _ in 0..paths {
            let dev = t.word("path device")?.to_owned();
            let active = match t.word("path state")? {
                "A" => 'A',
                "F" => 'F',
                other => return Err(TableError(format!("path state {other:?} is not A or F"))),
            };
            let fails = t.count("fail count")? as u32;
            t.words(info, "path info")?;
            members.push((dev, active, fails));
        }
        result.push(GroupStatus {
            state,
            paths: members,
        });
    }
    Ok(result)
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn parses_kernel_status() {
        let text = "2 0 0 0 2 1 A 0 1 2 8:0 A 0 0 1 E 0 1 2 8:64 F 1 0 1";
        let groups = parse_status(text).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].state, 'A');
        assert_eq!(groups[0].paths, [("8:0".to_owned(), 'A', 0)]);
        assert_eq!(groups[1].paths, [("8:64".to_owned(), 'F', 1)]);
    }

    #[test]
    fn malformed_status_is_an_error() {
        for bad in ["", "2 0 0 0 1 1 X 0 1 2 8:0 A 0 0 1", "2 0 0 0 1 1 A 0 1 2 8:0 Q 0 0 1", "2 0 0 0 1 1 A 0 1 2 8:0 A"] {
            assert!(parse_status(bad).is_err(), "{bad:?}");
        }
    }
}
