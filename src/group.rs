//! Coalesce probed paths into multipath maps and order their path groups.
//!
//! This is pure logic over a slice of [`Path`]: maps and groups hold indices
//! into that slice, in fixed-capacity tables. The semantics follow
//! multipath-tools: one map per WWID in order of first appearance, paths in
//! discovery order, groups sorted by priority (stable).

use core::cmp::Reverse;
use core::fmt;

use heapless::Vec;

use crate::identify::Wwid;
use crate::limits::{MAX_MAPS, MAX_PATHS, MAX_PATHS_PER_MAP};
use crate::path::{Path, PathState};

/// Index of a path in the probed path slice.
pub type PathIndex = u16;

/// How the paths of one map are split into priority groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// One path per group (multipath-tools' default).
    #[default]
    Failover,
    /// All paths in one group (the original 2003 tool's behaviour).
    Multibus,
    /// One group per distinct path priority.
    GroupByPrio,
    /// One group per distinct unit serial number (VPD page 0x80).
    GroupBySerial,
    /// One group per distinct target node name (FC WWNN, iSCSI target name).
    GroupByNodeName,
}

impl Policy {
    pub fn parse(text: &str) -> Option<Policy> {
        match text {
            "failover" => Some(Policy::Failover),
            "multibus" => Some(Policy::Multibus),
            "group_by_prio" => Some(Policy::GroupByPrio),
            "group_by_serial" => Some(Policy::GroupBySerial),
            "group_by_node_name" => Some(Policy::GroupByNodeName),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Policy::Failover => "failover",
            Policy::Multibus => "multibus",
            Policy::GroupByPrio => "group_by_prio",
            Policy::GroupBySerial => "group_by_serial",
            Policy::GroupByNodeName => "group_by_node_name",
        }
    }
}

/// Paths that share one WWID and will form one map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapPlan {
    pub wwid: Wwid,
    pub sectors: u64,
    pub paths: Vec<PathIndex, MAX_PATHS_PER_MAP>,
}

/// A WWID whose paths disagree on the size: it gets no map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeConflict {
    pub wwid: Wwid,
    pub paths: Vec<PathIndex, MAX_PATHS_PER_MAP>,
}

/// Result of coalescing: the maps to make and the WWIDs refused.
/// About 550 KB of fixed capacity: it lives on the heap, made in place by
/// [`Coalesced::boxed`], never built on a stack and moved.
#[derive(Debug)]
pub struct Coalesced {
    pub maps: Vec<MapPlan, MAX_MAPS>,
    pub conflicts: Vec<SizeConflict, MAX_MAPS>,
}

impl Coalesced {
    /// An empty table, allocated once on the heap.
    pub fn boxed() -> Box<Coalesced> {
        let mut table = Box::<Coalesced>::new_uninit();
        let slot = table.as_mut_ptr();
        // SAFETY: both fields are written before assume_init; an empty
        // heapless Vec is its length alone, so no large value is copied.
        unsafe {
            core::ptr::addr_of_mut!((*slot).maps).write(Vec::new());
            core::ptr::addr_of_mut!((*slot).conflicts).write(Vec::new());
            table.assume_init()
        }
    }
}

/// One priority group of a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathGroup {
    /// Mean priority of the group's usable paths, as multipath-tools computes.
    pub priority: i32,
    pub paths: Vec<PathIndex, MAX_PATHS_PER_MAP>,
}

/// Groups of one map, best first.
pub type Groups = Vec<PathGroup, MAX_PATHS_PER_MAP>;

/// A capacity of the fixed tables was exceeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupError {
    TooManyPaths { found: usize },
    TooManyMaps,
    TooManyPathsInMap { wwid: std::string::String },
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::TooManyPaths { found } => write!(
                f,
                "{found} paths found, more than the limit of {MAX_PATHS} paths per run"
            ),
            GroupError::TooManyMaps => {
                write!(f, "more than the limit of {MAX_MAPS} multipath maps per run")
            }
            GroupError::TooManyPathsInMap { wwid } => write!(
                f,
                "{wwid}: more than the limit of {MAX_PATHS_PER_MAP} paths per map"
            ),
        }
    }
}

impl std::error::Error for GroupError {}

/// Joins a map: identified paths, failed ones included.
fn usable(path: &Path) -> bool {
    path.state != PathState::Down
}

/// Counts toward its group's priority (0.9.4: PATH_UP and PATH_GHOST).
fn enabled(path: &Path) -> bool {
    matches!(path.state, PathState::Up | PathState::Ghost)
}

/// Collects the paths of each WWID into maps, as multipath-tools 0.9.4's
/// `coalesce_paths` does. `chosen[i]` says path `i` passed the blacklist
/// and find_multipaths; stale paths never join a map.
///
/// Sizes: walking paths in discovery order, the first path of a WWID not
/// yet in a map sets the size; the map takes every path of that WWID with
/// that size, but if a *later* path of the WWID has another size the whole
/// map is rejected this time round and that later path is never a first
/// path itself. So whether a WWID with unequal paths gets a map (without
/// the odd path) depends on where the odd path stands, exactly as in 0.9.4.
pub fn coalesce(paths: &[Path], chosen: &[bool]) -> Result<Box<Coalesced>, GroupError> {
    if paths.len() > MAX_PATHS {
        return Err(GroupError::TooManyPaths { found: paths.len() });
    }
    let eligible = |i: usize| usable(&paths[i]) && chosen.get(i).copied().unwrap_or(false);
    let mut assigned = [false; MAX_PATHS];
    let mut odd_size_seen = [false; MAX_PATHS];
    let mut result = Coalesced::boxed();
    for first in 0..paths.len() {
        if !eligible(first) || assigned[first] || odd_size_seen[first] {
            continue;
        }
        let lead = &paths[first];
        let same_wwid = |j: usize| eligible(j) && paths[j].wwid == lead.wwid;
        let mut members = Vec::new();
        let mut odd: Vec<PathIndex, MAX_PATHS_PER_MAP> = Vec::new();
        for j in 0..paths.len() {
            if !same_wwid(j) {
                continue;
            }
            if paths[j].sectors == lead.sectors {
                if !assigned[j] {
                    members.push(j as PathIndex).map_err(|_| GroupError::TooManyPathsInMap {
                        wwid: lead.wwid.as_str().into(),
                    })?;
                }
            } else if j > first {
                odd_size_seen[j] = true;
                let _ = odd.push(j as PathIndex);
            }
        }
        if !odd.is_empty() {
            let mut all = members.clone();
            for i in odd {
                let _ = all.push(i);
            }
            result
                .conflicts
                .push(SizeConflict {
                    wwid: lead.wwid.to_wwid(),
                    paths: all,
                })
                .map_err(|_| GroupError::TooManyMaps)?;
            continue;
        }
        for &i in &members {
            assigned[i as usize] = true;
        }
        result
            .maps
            .push(MapPlan {
                wwid: lead.wwid.to_wwid(),
                sectors: lead.sectors,
                paths: members,
            })
            .map_err(|_| GroupError::TooManyMaps)?;
    }
    Ok(result)
}

/// Splits a map's paths into groups by `policy`, best group first. The
/// table (9 KB) is made in place on the heap and never moved: copies of it
/// on the stack once made the main thread's stack 80 KiB deep.
pub fn groups(map: &MapPlan, paths: &[Path], policy: Policy) -> Box<Groups> {
    let mut groups = empty_groups();
    for &index in &map.paths {
        let priority = paths[index as usize].priority;
        let join = match policy {
            Policy::Failover => None,
            Policy::Multibus => groups.first_mut(),
            Policy::GroupByPrio => groups.iter_mut().find(|g| {
                g.paths
                    .first()
                    .is_some_and(|&p| paths[p as usize].priority == priority)
            }),
            Policy::GroupBySerial => groups.iter_mut().find(|g| {
                g.paths
                    .first()
                    .is_some_and(|&p| paths[p as usize].serial == paths[index as usize].serial)
            }),
            Policy::GroupByNodeName => groups.iter_mut().find(|g| {
                g.paths
                    .first()
                    .is_some_and(|&p| paths[p as usize].node_name == paths[index as usize].node_name)
            }),
        };
        match join {
            // Capacities match: a map never holds more paths than a group.
            Some(group) => {
                let _ = group.paths.push(index);
            }
            None => {
                let mut members = Vec::new();
                let _ = members.push(index);
                let _ = groups.push(PathGroup {
                    priority: 0,
                    paths: members,
                });
            }
        }
    }
    for group in groups.iter_mut() {
        group.priority = mean_priority(group, paths);
    }
    sort_groups(&mut groups, paths);
    groups
}

/// An empty group table, allocated once on the heap.
fn empty_groups() -> Box<Groups> {
    let mut table = Box::<Groups>::new_uninit();
    // SAFETY: an empty heapless Vec is its length alone; writing it
    // through the pointer initializes the whole value without a copy.
    unsafe {
        core::ptr::addr_of_mut!(*table.as_mut_ptr()).write(Vec::new());
        table.assume_init()
    }
}

fn mean_priority(group: &PathGroup, paths: &[Path]) -> i32 {
    let enabled_paths = group.paths.iter().filter(|&&p| enabled(&paths[p as usize]));
    let (sum, count) = enabled_paths.fold((0i64, 0i64), |(sum, count), &p| {
        (sum + i64::from(paths[p as usize].priority), count + 1)
    });
    // Integer division truncating toward zero, as C's: an undefined
    // priority (-1) counts as -1, as in multipath-tools.
    sum.checked_div(count).unwrap_or(0) as i32
}

/// Stable order by priority, then by number of enabled (up or ghost)
/// paths, both descending: the order multipath-tools' `sort_pathgroups`
/// gives.
fn sort_groups(groups: &mut Groups, paths: &[Path]) {
    let enabled_count = |g: &PathGroup| g.paths.iter().filter(|&&p| enabled(&paths[p as usize])).count();
    let key = |g: &PathGroup| (Reverse(g.priority), Reverse(enabled_count(g)));
    // Insertion sort, in place: stable, no copy of the table, and a map
    // has a few groups.
    for i in 1..groups.len() {
        let mut j = i;
        while j > 0 && key(&groups[j]) < key(&groups[j - 1]) {
            groups.swap(j, j - 1);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::{dev_name, DevNum, Hctl};

    fn path(name: &str, wwid: &str, sectors: u64, priority: i32, state: PathState) -> Path {
        let mut w = Wwid::new();
        w.push_str(wwid).unwrap();
        Path {
            name: dev_name(name).unwrap(),
            hctl: Hctl::default(),
            devnum: DevNum::default(),
            sectors,
            vendor: Default::default(),
            product: Default::default(),
            wwid: w.into(),
            state,
            priority,
            handler: None,
            tpgs: false,
            ..Path::default()
        }
    }

    fn all(paths: &[Path]) -> std::vec::Vec<bool> {
        vec![true; paths.len()]
    }

    fn names<'a>(paths: &'a [Path], group: &PathGroup) -> std::vec::Vec<&'a str> {
        group.paths.iter().map(|&i| paths[i as usize].name.as_str()).collect()
    }

    #[test]
    fn coalesces_by_wwid_in_discovery_order() {
        let paths = [
            path("sda", "3b", 100, 1, PathState::Up),
            path("sdb", "3a", 100, 1, PathState::Up),
            path("sdc", "3b", 100, 1, PathState::Up),
            path("sdd", "3a", 100, 1, PathState::Up),
        ];
        let result = coalesce(&paths, &all(&paths)).unwrap();
        assert_eq!(result.maps.len(), 2);
        assert_eq!(result.maps[0].wwid.as_str(), "3b");
        assert_eq!(result.maps[0].paths.as_slice(), &[0, 2]);
        assert_eq!(result.maps[1].wwid.as_str(), "3a");
        assert_eq!(result.maps[1].paths.as_slice(), &[1, 3]);
    }

    #[test]
    fn down_paths_are_left_out_and_ghosts_kept() {
        let paths = [
            path("sda", "3a", 100, 50, PathState::Down),
            path("sdb", "3a", 100, 1, PathState::Ghost),
            path("sdc", "3c", 100, 1, PathState::Down),
        ];
        let result = coalesce(&paths, &all(&paths)).unwrap();
        assert_eq!(result.maps.len(), 1);
        assert_eq!(result.maps[0].paths.as_slice(), &[1]);
    }

    #[test]
    fn size_mismatch_refuses_the_wwid() {
        let paths = [
            path("sda", "3a", 100, 1, PathState::Up),
            path("sdb", "3a", 200, 1, PathState::Up),
            path("sdc", "3c", 100, 1, PathState::Up),
        ];
        let result = coalesce(&paths, &[true; 3]).unwrap();
        assert_eq!(result.maps.len(), 1);
        assert_eq!(result.maps[0].wwid.as_str(), "3c");
        assert_eq!(result.conflicts.len(), 1);
        assert_eq!(result.conflicts[0].wwid.as_str(), "3a");
    }

    #[test]
    fn odd_size_path_before_a_later_first_path_is_dropped_as_in_0_9_4() {
        // sda sets 100 and sees sdb (200) later: rejected. sdb is never a
        // first path. sdc (100) then leads a map of sda and sdc.
        let paths = [
            path("sda", "3a", 100, 1, PathState::Up),
            path("sdb", "3a", 200, 1, PathState::Up),
            path("sdc", "3a", 100, 1, PathState::Up),
        ];
        let result = coalesce(&paths, &[true; 3]).unwrap();
        assert_eq!(result.conflicts.len(), 1);
        assert_eq!(result.maps.len(), 1);
        assert_eq!(result.maps[0].paths.as_slice(), &[0, 2]);
        // With the odd path last, every first path sees it: no map.
        let paths = [
            path("sda", "3a", 100, 1, PathState::Up),
            path("sdc", "3a", 100, 1, PathState::Up),
            path("sdb", "3a", 200, 1, PathState::Up),
        ];
        let result = coalesce(&paths, &[true; 3]).unwrap();
        assert!(result.maps.is_empty());
        assert_eq!(result.conflicts.len(), 2);
    }

    #[test]
    fn paths_not_chosen_are_left_out() {
        let paths = [
            path("sda", "3a", 100, 1, PathState::Up),
            path("sdb", "3a", 100, 1, PathState::Up),
            path("sdc", "3c", 100, 1, PathState::Up),
        ];
        let result = coalesce(&paths, &[true, false, false]).unwrap();
        assert_eq!(result.maps.len(), 1);
        assert_eq!(result.maps[0].paths.as_slice(), &[0]);
    }

    #[test]
    fn too_many_paths_in_one_map_is_an_error_not_a_drop() {
        let paths: std::vec::Vec<Path> = (0..MAX_PATHS_PER_MAP + 1)
            .map(|i| path(&format!("sd{i}"), "3a", 8, 1, PathState::Up))
            .collect();
        let err = coalesce(&paths, &all(&paths)).unwrap_err();
        assert!(matches!(err, GroupError::TooManyPathsInMap { .. }));
        assert!(err.to_string().contains("64 paths per map"));
    }

    #[test]
    fn too_many_paths_is_an_error() {
        let paths: std::vec::Vec<Path> = (0..MAX_PATHS + 1)
            .map(|i| path("sdx", &format!("3{i}"), 8, 1, PathState::Up))
            .collect();
        assert_eq!(
            coalesce(&paths, &all(&paths)).unwrap_err(),
            GroupError::TooManyPaths { found: MAX_PATHS + 1 }
        );
    }

    #[test]
    fn too_many_maps_is_an_error() {
        let paths: std::vec::Vec<Path> = (0..MAX_MAPS + 1)
            .map(|i| path("sdx", &format!("3{i}"), 8, 1, PathState::Up))
            .collect();
        assert_eq!(coalesce(&paths, &all(&paths)).unwrap_err(), GroupError::TooManyMaps);
    }

    #[test]
    fn failover_sorts_groups_by_priority_stably() {
        let paths = [
            path("sda", "3a", 8, 10, PathState::Up),
            path("sdb", "3a", 8, 50, PathState::Up),
            path("sdc", "3a", 8, 10, PathState::Up),
            path("sdd", "3a", 8, 50, PathState::Up),
        ];
        let map = &coalesce(&paths, &all(&paths)).unwrap().maps[0];
        let groups = groups(map, &paths, Policy::Failover);
        let order: std::vec::Vec<_> = groups.iter().map(|g| names(&paths, g)[0]).collect();
        assert_eq!(order, ["sdb", "sdd", "sda", "sdc"]);
        assert_eq!(groups[0].priority, 50);
    }

    #[test]
    fn multibus_puts_all_paths_in_one_group() {
        let paths = [
            path("sda", "3a", 8, 10, PathState::Up),
            path("sdb", "3a", 8, 50, PathState::Up),
        ];
        let map = &coalesce(&paths, &all(&paths)).unwrap().maps[0];
        let groups = groups(map, &paths, Policy::Multibus);
        assert_eq!(groups.len(), 1);
        assert_eq!(names(&paths, &groups[0]), ["sda", "sdb"]);
        assert_eq!(groups[0].priority, 30);
    }

    #[test]
    fn group_by_prio_groups_equal_priorities() {
        let paths = [
            path("sda", "3a", 8, 10, PathState::Up),
            path("sdb", "3a", 8, 50, PathState::Up),
            path("sdc", "3a", 8, 10, PathState::Up),
            path("sdd", "3a", 8, 50, PathState::Up),
            path("sde", "3a", 8, 1, PathState::Ghost),
        ];
        let map = &coalesce(&paths, &all(&paths)).unwrap().maps[0];
        let groups = groups(map, &paths, Policy::GroupByPrio);
        assert_eq!(groups.len(), 3);
        assert_eq!(names(&paths, &groups[0]), ["sdb", "sdd"]);
        assert_eq!(names(&paths, &groups[1]), ["sda", "sdc"]);
        assert_eq!(names(&paths, &groups[2]), ["sde"]);
    }

    #[test]
    fn group_by_node_name_splits_by_target() {
        let named = |name, node: &str| Path {
            node_name: crate::path::NodeName::new(node),
            ..path(name, "3a", 8, 1, PathState::Up)
        };
        let paths = [
            named("sda", "iqn.2003-01.org.example:t1"),
            named("sdb", "iqn.2003-01.org.example:t2"),
            named("sdc", "iqn.2003-01.org.example:t1"),
            named("sdd", ""),
            named("sde", "iqn.2003-01.org.example:t2"),
            named("sdf", ""),
        ];
        let map = &coalesce(&paths, &all(&paths)).unwrap().maps[0];
        let groups = groups(map, &paths, Policy::GroupByNodeName);
        let got: std::vec::Vec<_> = groups.iter().map(|g| names(&paths, g)).collect();
        // Equal priorities and sizes: discovery order stays.
        assert_eq!(got, [["sda", "sdc"], ["sdb", "sde"], ["sdd", "sdf"]]);
        // Without names (the ioctl scan), one group, as 0.9.4 without udev.
        let unnamed: std::vec::Vec<Path> = paths.iter().map(|p| Path { node_name: Default::default(), ..p.clone() }).collect();
        assert_eq!(super::groups(map, &unnamed, Policy::GroupByNodeName).len(), 1);
    }

    #[test]
    fn a_faulty_path_joins_its_map_but_not_its_groups_priority() {
        let paths = [
            path("sda", "3a", 8, 50, PathState::Up),
            path("sdb", "3a", 8, 0, PathState::Faulty),
            path("sdc", "3a", 8, 50, PathState::Down),
        ];
        let coalesced = coalesce(&paths, &all(&paths)).unwrap();
        assert_eq!(coalesced.maps[0].paths.as_slice(), &[0, 1], "stale sdc stays out, faulty sdb joins");
        let mut g = PathGroup { priority: 0, paths: Vec::new() };
        g.paths.push(1).unwrap();
        assert_eq!(mean_priority(&g, &paths), 0, "a group of failed paths has priority 0");
        g.paths.push(0).unwrap();
        assert_eq!(mean_priority(&g, &paths), 50);
    }

    #[test]
    fn equal_priority_larger_group_first() {
        let paths = [
            path("sda", "3a", 8, 1, PathState::Up),
            path("sdb", "3a", 8, 50, PathState::Up),
            path("sdc", "3a", 8, 50, PathState::Up),
            path("sdd", "3a", 8, 50, PathState::Up),
        ];
        let map = &coalesce(&paths, &all(&paths)).unwrap().maps[0];
        // Multibus has one group; check ordering with hand-made groups instead.
        let mut gs = Groups::new();
        for members in [&[0u16][..], &[1], &[2, 3]] {
            let mut g = PathGroup { priority: 0, paths: Vec::new() };
            for &m in members {
                g.paths.push(m).unwrap();
            }
            g.priority = mean_priority(&g, &paths);
            gs.push(g).unwrap();
        }
        sort_groups(&mut gs, &paths);
        assert_eq!(names(&paths, &gs[0]), ["sdc", "sdd"]);
        assert_eq!(names(&paths, &gs[1]), ["sdb"]);
        assert_eq!(names(&paths, &gs[2]), ["sda"]);
        assert_eq!(map.paths.len(), 4);
    }

    #[test]
    fn policy_names_round_trip() {
        for policy in [
            Policy::Failover,
            Policy::Multibus,
            Policy::GroupByPrio,
            Policy::GroupBySerial,
            Policy::GroupByNodeName,
        ] {
            assert_eq!(Policy::parse(policy.name()), Some(policy));
        }
        assert_eq!(Policy::parse("round-robin"), None);
    }
}
