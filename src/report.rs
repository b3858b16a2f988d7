//! Human-readable result lines (pure formatting).

use core::fmt::Write;

use crate::group::Groups;
use crate::path::Path;

/// Size in multipath-tools' style: `8.0M`, `1.5G`, `512K`.
pub fn human_size(sectors: u64) -> String {
    let mut value = sectors as f64 / 2.0; // KiB
    let mut unit = 'K';
    for bigger in ['M', 'G', 'T', 'P'] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = bigger;
    }
    format!("{value:.1}{unit}")
}

/// One line for a map: what was done, its name, size, handler and paths
/// with their states and priorities, group by group.
pub fn map_line(action: &str, name: &str, dm: Option<&str>, groups: &Groups, paths: &[Path], hwhandler: &str) -> String {
    let first = groups.first().and_then(|g| g.paths.first()).map(|&i| &paths[i as usize]);
    let mut line = String::new();
    let _ = write!(line, "{action}: {name}");
    if let Some(dm) = dm {
        let _ = write!(line, " {dm}");
    }
    if let Some(p) = first {
        let _ = write!(line, " {},{} size={}", p.vendor, p.product, human_size(p.sectors));
    }
    let count: usize = groups.iter().map(|g| g.paths.len()).sum();
    let _ = write!(line, " hwhandler='{hwhandler}' paths={count}");
    for (n, group) in groups.iter().enumerate() {
        let _ = write!(line, " | group {} prio={}:", n + 1, group.priority);
        for &i in &group.paths {
            let p = &paths[i as usize];
            let _ = write!(line, " {} {} {} {}", p.hctl, p.name, p.devnum, p.state);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(16384), "8.0M");
        assert_eq!(human_size(1), "0.5K");
        assert_eq!(human_size(2 * 1024 * 1024 * 3 / 2), "1.5G");
        assert!(human_size(u64::MAX).ends_with('P'));
    }
}
