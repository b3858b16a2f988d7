//! Partition maps on multipath maps, as kpartx makes them: read the map's
//! partition table (MBR or GPT) and load one `linear` map per partition.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::load::{self, Action, Wanted};
use crate::parallel::{self, InFlight, JobResult};
use crate::partitions::{self, plan};
use crate::report::human_size;
use crate::sys::blockdev::BlockDevice;
use crate::sys::dm::{DeviceMapper, MapInfo};
use crate::sys::nodes::{self, NodeKind, NodeOutcome};

/// Target type of partition maps.
const LINEAR: &str = "linear";

/// What to do besides reading.
#[derive(Clone, Copy, Debug)]
pub struct PartitionOptions {
    pub dry_run: bool,
    /// Make `/dev/mapper/<map>-partN` nodes (no udev, mknod allowed).
    pub make_nodes: bool,
    /// May make a private node to read a map that has none yet.
    pub mknod: bool,
    /// Report partition maps left unchanged too (the first `--wait` round
    /// and single runs; later rounds report only changes).
    pub report_unchanged: bool,
    /// How long the partition-table read may take: a read through a map
    /// whose paths hang must not stall the run.
    pub read_budget: Duration,
}

/// Creates (or reloads) the partition maps of each multipath map in
/// `maps` (map, WWID). The partition tables are read concurrently, on up
/// to `jobs` threads, each read bounded by the read budget: the first read
/// through a new map waits for its paths (ALUA activation), and one map
/// after another that adds up. The maps are then loaded here, in order. A
/// table that cannot be read or does not add up gives a message and no
/// partition maps. Returns the number of partition maps not made, and
/// for each map whether its partition table was read and planned.
pub fn sync_all(
    dm: &DeviceMapper,
    root: &Path,
    maps: &[(MapInfo, String)],
    opened: Vec<Option<BlockDevice>>,
    jobs: usize,
    options: PartitionOptions,
) -> (usize, Vec<bool>) {
    let tables = read_all(root, maps, opened, jobs, options);
    let mut failures = 0;
    let mut read = Vec::with_capacity(maps.len());
    for ((map, wwid), table) in maps.iter().zip(tables) {
        read.push(table.is_ok());
        failures += apply_table(dm, root, map, wwid, table, options);
    }
    (failures, read)
}

fn apply_table(
    dm: &DeviceMapper,
    root: &Path,
    map: &MapInfo,
    wwid: &str,
    table: Result<partitions::PartitionTable, String>,
    options: PartitionOptions,
) -> usize {
    let table = match table {
        Ok(table) => table,
        Err(why) => {
            warn!("{}: {why}: no partition maps", map.name);
            return 0;
        }
    };
    for warning in &table.warnings {
        warn!("{}: {warning}", map.name);
    }
    let mut failures = 0;
    for part in plan::plan(&map.name, wwid, &map.devnum.to_string(), &table.partitions) {
        match apply(dm, &part, options.dry_run) {
            Ok((action, info)) => {
                if options.report_unchanged || action != Action::Unchanged {
                    report!("{}: {} size={} on {}", action.as_str(), part.name, human_size(part.sectors), map.name);
                }
                if let (true, Some(info)) = (options.make_nodes, info) {
                    let node = root.join("dev/mapper").join(&info.name);
                    match nodes::ensure(&node, NodeKind::Block, info.devnum) {
                        Ok(NodeOutcome::Conflict(why)) => warn!("{why}"),
                        Ok(_) => {}
                        Err(e) => error!("cannot create {}: {e}", node.display()),
                    }
                }
            }
            Err(why) => {
                error!("{}: {why}", part.name);
                failures += 1;
            }
        }
    }
    failures
}

/// Bytes of a map read ahead for its partition table: the MBR and a GPT's
/// header and entries, with 512- or 4096-byte sectors.
const TABLE_READ_AHEAD: i64 = 32 * 1024;

/// The map's node `node` opened, with the read of its partition table
/// started (not waited for), for [`sync_all`]; `None` when `node` is not
/// the map's device or cannot be opened (the read then opens a node).
pub fn start_reading(node: &Path, devnum: crate::path::DevNum) -> Option<BlockDevice> {
    BlockDevice::open_prefetching(node, devnum, TABLE_READ_AHEAD)
}

/// [`read_partitions`] of every map on the worker pool, each given up
/// after the read budget, through the map's descriptor in `opened` when
/// there is one (closed by its job: a close can wait for reads still out).
/// A read still hanging from an earlier `--wait` round is not repeated.
fn read_all(
    root: &Path,
    maps: &[(MapInfo, String)],
    opened: Vec<Option<BlockDevice>>,
    jobs: usize,
    options: PartitionOptions,
) -> Vec<Result<partitions::PartitionTable, String>> {
    // One descriptor or None per map: `opened` is as long as `maps`.
    let job_maps: Arc<Vec<(MapInfo, Mutex<Option<BlockDevice>>)>> =
        Arc::new(maps.iter().zip(opened).map(|((m, _), device)| (m.clone(), Mutex::new(device))).collect());
    let root = root.to_path_buf();
    let results = parallel::run_all(maps.len(), jobs, options.read_budget, move |i| {
        let Some((map, opened)) = job_maps.get(i) else { return Err("partition table not read".into()) };
        let Some(_running) = InFlight::enter(format!("partitions {}", map.devnum)) else {
            return Err("the partition-table read of an earlier round has still not returned".into());
        };
        let device = opened.lock().ok().and_then(|mut d| d.take());
        read_partitions(&root, map, device, options)
    });
    results
        .into_iter()
        .map(|result| match result {
            JobResult::Done(table) => table,
            JobResult::TimedOut => Err(format!("partition table not read within {} s", options.read_budget.as_secs())),
            JobResult::NotRun => Err("partition table not read: no thread left to read it".into()),
        })
        .collect()
}

fn read_partitions(
    root: &Path,
    map: &MapInfo,
    opened: Option<BlockDevice>,
    options: PartitionOptions,
) -> Result<partitions::PartitionTable, String> {
    let device = match opened {
        Some(device) => device,
        None => {
            let (node, private) = readable_node(root, map, options)?;
            let opened = BlockDevice::open(&node);
            if private {
                let _ = fs::remove_file(&node);
            }
            opened.map_err(|e| format!("cannot open {}: {e}", node.display()))?
        }
    };
    let block_size = device.block_size().map_err(|e| format!("cannot get the block size: {e}"))?;
    partitions::read_table(&mut |offset, buf| device.read_at(offset, buf), map.sectors(), block_size)
        .map_err(|e| format!("partition table: {e}"))
}

/// `/dev/mapper/<name>` when it is the map's node; otherwise a private node
/// made for the read (udev may not have made the public one yet).
fn readable_node(root: &Path, map: &MapInfo, options: PartitionOptions) -> Result<(PathBuf, bool), String> {
    let public = root.join("dev/mapper").join(&map.name);
    if let Ok(NodeOutcome::Present) = nodes::probe(&public, NodeKind::Block, map.devnum) {
        return Ok((public, false));
    }
    if !options.mknod || options.dry_run {
        return Err(format!("no node {} to read the partition table from", public.display()));
    }
    let private = root.join("dev").join(format!(".mpath-boot-dm-{}", map.devnum.minor));
    let _ = fs::remove_file(&private);
    nodes::ensure(&private, NodeKind::Block, map.devnum)
        .map_err(|e| format!("cannot create {}: {e}", private.display()))?;
    Ok((private, true))
}

/// The partition map through the one create/reload/rename/keep mechanism
/// (`load::apply`): unchanged when its one linear target is the wanted one.
fn apply(dm: &DeviceMapper, part: &plan::PartitionMap, dry_run: bool) -> Result<(Action, Option<MapInfo>), String> {
    let wanted = Wanted {
        name: &part.name,
        uuid: &part.uuid,
        sectors: part.sectors,
        target: LINEAR,
        params: &part.params,
    };
    let same = |existing: &MapInfo| {
        existing.targets.len() == 1
            && existing.targets[0].1 == part.sectors
            && existing.targets[0].2 == LINEAR
            && existing.targets[0].3.trim() == part.params
    };
    load::apply(dm, &wanted, dry_run, &same).map_err(|e| e.to_string())
}

/// True when `uuid` is the DM UUID of a partition map of the multipath map
/// with DM UUID `map_uuid` (`part<N>-<map_uuid>`).
pub fn is_partition_of(uuid: &str, map_uuid: &str) -> bool {
    uuid.strip_prefix("part")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(n, tail)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && tail == map_uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_uuids() {
        assert!(is_partition_of("part1-mpath-3600", "mpath-3600"));
        assert!(is_partition_of("part12-mpath-3600", "mpath-3600"));
        assert!(!is_partition_of("part-mpath-3600", "mpath-3600"));
        assert!(!is_partition_of("partx-mpath-3600", "mpath-3600"));
        assert!(!is_partition_of("part1-mpath-36001", "mpath-3600"));
        assert!(!is_partition_of("mpath-3600", "mpath-3600"));
    }
}
