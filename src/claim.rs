//! Which paths become multipath members: `find_multipaths`, decided as
//! multipath-tools 0.9.4's `should_multipath` decides it for a `multipath`
//! run. Pure: the wwids file and the existing maps come in as predicates.

use crate::config::FindMultipaths;
use crate::path::Path;

/// Why a path was taken or passed over, for `-v3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    Take(String),
    PassOver(String),
}

impl Claim {
    pub fn is_taken(&self) -> bool {
        matches!(self, Claim::Take(_))
    }

    pub fn reason(&self) -> &str {
        match self {
            Claim::Take(why) | Claim::PassOver(why) => why,
        }
    }
}

/// Decides every path. `blacklisted[i]` paths are passed over with the
/// reason given; the others are counted per WWID (stale ones included, as
/// multipath-tools counts every path it discovered) and judged by `mode`:
/// `off`/`greedy` take all; `on`/`smart` take a WWID with two or more
/// paths, an existing map, or a wwids-file entry; `strict` only the wwids
/// file. (`smart` makes multipathd wait for a second path; one run of
/// `multipath` treats it as `on`.)
pub fn decide(
    mode: FindMultipaths,
    paths: &[Path],
    blacklisted: &[Option<String>],
    in_wwids_file: &dyn Fn(&str) -> bool,
    has_map: &dyn Fn(&str) -> bool,
) -> Vec<Claim> {
    let counted = |i: usize| blacklisted.get(i).is_some_and(Option::is_none);
    let mut order: Vec<usize> = (0..paths.len()).filter(|&i| counted(i)).collect();
    order.sort_by(|&a, &b| paths[a].wwid.cmp(&paths[b].wwid));
    let mut per_wwid = vec![0usize; paths.len()];
    for run in order.chunk_by(|&a, &b| paths[a].wwid == paths[b].wwid) {
        for &i in run {
            per_wwid[i] = run.len();
        }
    }
    (0..paths.len())
        .map(|i| {
            if let Some(Some(why)) = blacklisted.get(i) {
                return Claim::PassOver(why.clone());
            }
            judge(mode, paths[i].wwid.as_str(), per_wwid[i], in_wwids_file, has_map)
        })
        .collect()
}

fn judge(
    mode: FindMultipaths,
    wwid: &str,
    paths_of_wwid: usize,
    in_wwids_file: &dyn Fn(&str) -> bool,
    has_map: &dyn Fn(&str) -> bool,
) -> Claim {
    let name = mode.name();
    if matches!(mode, FindMultipaths::Off | FindMultipaths::Greedy) {
        return Claim::Take(format!("find_multipaths {name}"));
    }
    if mode != FindMultipaths::Strict {
        if has_map(wwid) {
            return Claim::Take(format!("find_multipaths {name}: wwid {wwid} is already multipathed"));
        }
        if paths_of_wwid >= 2 {
            return Claim::Take(format!("find_multipaths {name}: {paths_of_wwid} paths with wwid {wwid}"));
        }
    }
    if in_wwids_file(wwid) {
        Claim::Take(format!("find_multipaths {name}: wwid {wwid} is in the wwids file"))
    } else if mode == FindMultipaths::Strict {
        Claim::PassOver(format!("find_multipaths strict: wwid {wwid} not in the wwids file"))
    } else {
        Claim::PassOver(format!(
            "find_multipaths {name}: only one path with wwid {wwid}, no map and not in the wwids file"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::PathState;

    fn path(wwid: &str, state: PathState) -> Path {
        Path {
            wwid: wwid.try_into().unwrap(),
            state,
            ..Path::default()
        }
    }

    fn taken(mode: FindMultipaths, paths: &[Path], black: &[Option<String>], wwids: &[&str], maps: &[&str]) -> Vec<bool> {
        decide(mode, paths, black, &|w| wwids.contains(&w), &|w| maps.contains(&w))
            .iter()
            .map(Claim::is_taken)
            .collect()
    }

    fn fixture() -> Vec<Path> {
        vec![
            path("3a", PathState::Up),
            path("3a", PathState::Down),
            path("3b", PathState::Up),
            path("3c", PathState::Up),
        ]
    }

    #[test]
    fn off_and_greedy_take_everything_not_blacklisted() {
        let paths = fixture();
        let black = [None, None, Some("blacklisted".into()), None];
        for mode in [FindMultipaths::Off, FindMultipaths::Greedy] {
            assert_eq!(taken(mode, &paths, &black, &[], &[]), [true, true, false, true]);
        }
    }

    #[test]
    fn on_and_smart_need_two_paths_a_map_or_the_wwids_file() {
        let paths = fixture();
        let none = [None, None, None, None];
        for mode in [FindMultipaths::On, FindMultipaths::Smart] {
            // 3a has two paths (one stale still counts); 3b in the file; 3c has a map.
            assert_eq!(taken(mode, &paths, &none, &["3b"], &["3c"]), [true, true, true, true]);
            assert_eq!(taken(mode, &paths, &none, &[], &[]), [true, true, false, false]);
        }
    }

    #[test]
    fn strict_needs_the_wwids_file() {
        let paths = fixture();
        let none = [None, None, None, None];
        assert_eq!(taken(FindMultipaths::Strict, &paths, &none, &["3c"], &["3a"]), [false, false, false, true]);
    }

    #[test]
    fn blacklisted_paths_do_not_count_as_second_paths() {
        let paths = fixture();
        let black = [None, Some("blacklisted by devnode".into()), None, None];
        let claims = decide(FindMultipaths::On, &paths, &black, &|_| false, &|_| false);
        assert!(!claims[0].is_taken());
        assert_eq!(claims[1].reason(), "blacklisted by devnode");
        assert!(claims[0].reason().contains("only one path"));
    }
}
