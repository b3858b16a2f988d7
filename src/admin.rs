//! Commands on maps the kernel already holds: `-l`, `-f NAME`, `-F`.

use std::path::Path;

use crate::partmaps;
use crate::path::DevNum;
use crate::report::human_size;
use crate::sys::blockdev;
use crate::sys::dm::{DeviceMapper, MapInfo};
use crate::sys::nodes::{self, NodeKind};
use crate::table;

/// Prints every multipath map with its groups and paths. Returns failures.
pub fn list(root: &Path) -> usize {
    let dm = match DeviceMapper::open(root) {
        Ok(dm) => dm,
        Err(e) => {
            error!("{e}");
            return 1;
        }
    };
    let maps = match dm.list() {
        Ok(maps) => maps,
        Err(e) => {
            error!("{e}");
            return 1;
        }
    };
    for map in maps.iter().filter(|m| m.is_multipath()) {
        for line in describe(root, &dm, map) {
            report!("{line}");
        }
    }
    0
}

/// Lines describing one map: header, then one line per path group.
fn describe(root: &Path, dm: &DeviceMapper, map: &MapInfo) -> Vec<String> {
    let mut lines = vec![format!(
        "{} ({}) dm-{} size={} open={}",
        map.name,
        map.uuid,
        map.devnum.minor,
        human_size(map.sectors()),
        map.open_count
    )];
    let parsed = match table::parse(&map.targets[0].3) {
        Ok(t) => t,
        Err(e) => {
            lines.push(format!("  {e}"));
            return lines;
        }
    };
    lines.push(format!(
        "  features='{}' hwhandler='{}'",
        counted(&parsed.features),
        counted(&parsed.hwhandler)
    ));
    let status = dm
        .status(&map.name)
        .ok()
        .and_then(|targets| targets.into_iter().next())
        .and_then(|t| table::parse_status(&t.3).ok());
    for (n, group) in parsed.groups.iter().enumerate() {
        let group_status = status.as_ref().and_then(|s| s.get(n));
        let state = match group_status.map(|g| g.state) {
            Some('A') => "active",
            Some('E') => "enabled",
            Some('D') => "disabled",
            _ => "unknown",
        };
        let mut line = format!(
            "  group {} policy='{} {}' {state}:",
            n + 1,
            group.selector,
            counted(&group.selector_args)
        );
        for (i, (dev, _)) in group.paths.iter().enumerate() {
            let name = blockdev::name_of(root, dev).unwrap_or_else(|| "-".into());
            let path_state = match group_status.and_then(|g| g.paths.get(i)).map(|p| p.1) {
                Some('A') => "active",
                Some('F') => "failed",
                _ => "unknown",
            };
            line.push_str(&format!(" {name} {dev} {path_state}"));
        }
        lines.push(line);
    }
    lines
}

/// `N word...` as device-mapper counts its argument lists.
fn counted(words: &[String]) -> String {
    let mut text = words.len().to_string();
    for w in words {
        text.push(' ');
        text.push_str(w);
    }
    text
}

/// Removes one map (`name`), or every multipath map (`None`), that is not
/// open. Returns the number of maps that were asked for but not removed.
pub fn flush(root: &Path, name: Option<&str>, dry_run: bool) -> usize {
    let dm = match DeviceMapper::open(root) {
        Ok(dm) => dm,
        Err(e) => {
            error!("{e}");
            return 1;
        }
    };
    // One listing serves both to pick the maps and to find their partition maps.
    let all = match dm.list() {
        Ok(all) => all,
        Err(e) => {
            error!("{e}");
            return 1;
        }
    };
    let maps: Vec<MapInfo> = match name {
        Some(name) => match all.iter().find(|m| m.name == name) {
            Some(map) if map.is_multipath() => vec![map.clone()],
            Some(_) => {
                error!("{name}: not a multipath map: not flushed");
                return 1;
            }
            None => {
                error!("{name}: no such map");
                return 1;
            }
        },
        None => all.iter().filter(|m| m.is_multipath()).cloned().collect(),
    };
    let mut refused = 0;
    for map in maps {
        // Partition maps (kpartx's, or ours) hold the map open: they go first.
        let parts: Vec<&MapInfo> = all.iter().filter(|m| partmaps::is_partition_of(&m.uuid, &map.uuid)).collect();
        if let Some(open) = parts.iter().find(|p| p.open_count > 0) {
            error!("{}: in use (partition map {} is open): not flushed", map.name, open.name);
            refused += 1;
            continue;
        }
        if map.open_count > parts.len() as i32 {
            error!("{}: in use (open count {}): not flushed", map.name, map.open_count);
            refused += 1;
            continue;
        }
        let mut removed_all = true;
        for victim in parts.into_iter().chain(std::iter::once(&map)) {
            if dry_run {
                report!("would flush: {}", victim.name);
                continue;
            }
            match dm.remove(&victim.name) {
                Ok(()) => {
                    report!("flush: {}", victim.name);
                    remove_map_node(root, &dm, &victim.name, victim.devnum);
                }
                Err(e) => {
                    error!("{e}");
                    removed_all = false;
                    break;
                }
            }
        }
        if !removed_all {
            refused += 1;
        }
    }
    refused
}

/// Removes `/dev/mapper/<name>` where no udev will (only if it is that map's node).
fn remove_map_node(root: &Path, dm: &DeviceMapper, name: &str, devnum: DevNum) {
    if dm.udev_makes_nodes() {
        return;
    }
    let node = root.join("dev/mapper").join(name);
    if let Err(e) = nodes::remove_if(&node, NodeKind::Block, devnum) {
        warn!("cannot remove {}: {e}", node.display());
    }
}
