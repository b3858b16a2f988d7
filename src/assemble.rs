//! The default command: discover -> probe -> coalesce -> table -> load.
//!
//! This module wires the stages; each stage lives in its own module.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::discover::{ioctl, sysfs, Discovery, ScanMethod};
use crate::group::{self, Policy};
use crate::log;
use crate::parallel::{self, JobResult};
use crate::partmaps::{self, PartitionOptions};
use crate::path::{DevNum, Path};
use crate::probe::{self, Candidate, DeviceAttributes, NoAttributes, ProbeOptions, Probed};
use crate::report;
use crate::sys::dm::{DeviceMapper, MapError, MapInfo, MULTIPATH_TARGET, UUID_PREFIX};
use crate::sys::nodes::{self, NodeKind, NodeOutcome};
use crate::sys::sg_io::SgDevice;
use crate::table;
use crate::transport::ScsiTransport;

/// Settings of one assembly run.
#[derive(Clone, Debug)]
pub struct Settings {
    pub root: PathBuf,
    pub policy: Policy,
    pub probe: ProbeOptions,
    pub jobs: usize,
    pub dry_run: bool,
    pub scan: ScanMethod,
    /// Highest sg/sd index the ioctl scan tries, plus one.
    pub max_devices: u32,
    /// Create missing device nodes (never in a dry run).
    pub mknod: bool,
    /// Make the partition maps of each map (kpartx's job).
    pub partitions: bool,
    /// Rescan until these devices are there (`--wait`).
    pub wait: Option<Wait>,
}

impl Settings {
    fn may_mknod(&self) -> bool {
        self.mknod && !self.dry_run
    }
}

/// Longest DM UUID the kernel takes (DM_UUID_LEN 129 with its NUL).
const DM_UUID_MAX: usize = 128;

/// What to wait for with `--wait`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wait {
    pub seconds: u64,
    /// Device-mapper names (maps or partition maps) that must exist.
    pub expect: Vec<String>,
    /// Paths every map must have (0: no requirement).
    pub min_paths: usize,
}

/// Pause between rescans while waiting for late paths.
const RESCAN_INTERVAL: Duration = Duration::from_millis(500);

/// Runs the whole assembly, and with `settings.wait` rescans until the
/// expected devices are there or the time is up. Returns the number of
/// WWIDs with a usable path that did not get a map (0 means success); a
/// wait that ran out counts as one more failure.
pub fn run(settings: &Settings) -> usize {
    let Some(wait) = &settings.wait else {
        return run_round(settings, true).failures;
    };
    let deadline = Instant::now() + Duration::from_secs(wait.seconds);
    let verbosity = log::verbosity();
    let mut first = true;
    loop {
        let round = run_round(settings, first);
        // Later rounds report only what changes.
        log::set_verbosity(verbosity.min(1));
        first = false;
        let missing = unmet(wait, &round);
        let Some(why) = missing else {
            log::set_verbosity(verbosity);
            return round.failures;
        };
        if Instant::now() >= deadline {
            log::set_verbosity(verbosity);
            error!("waited {} s, still {why}", wait.seconds);
            return round.failures + 1;
        }
        debug!("waiting: {why}");
        thread::sleep(RESCAN_INTERVAL);
    }
}

/// What one discover-probe-load pass did.
#[derive(Debug, Default)]
struct Round {
    failures: usize,
    /// (map name, paths in it) for every map made, reloaded or unchanged.
    maps: Vec<(String, usize)>,
    /// Names of every device-mapper device after the pass.
    devices: Vec<String>,
}

/// Why the wait goes on, or `None` when it is over.
fn unmet(wait: &Wait, round: &Round) -> Option<String> {
    if let Some(name) = wait.expect.iter().find(|n| !round.devices.contains(n)) {
        return Some(format!("no device /dev/mapper/{name}"));
    }
    if round.maps.is_empty() && wait.expect.is_empty() {
        return Some("no multipath map".into());
    }
    if let Some((name, paths)) = round.maps.iter().find(|(_, p)| *p < wait.min_paths) {
        return Some(format!("{name} has {paths} path(s), not {}", wait.min_paths));
    }
    None
}

fn run_round(settings: &Settings, first: bool) -> Round {
    let mut round = Round::default();
    let dm = open_device_mapper(settings);
    let method = settings.scan.resolve(&settings.root);
    let discovery = match method {
        ScanMethod::Ioctl => {
            debug!("no sysfs under {}: scanning sg and sd nodes", settings.root.display());
            let members = dm.as_ref().map(multipath_members).unwrap_or_default();
            let options = ioctl::ScanOptions {
                max_devices: settings.max_devices,
                mknod: settings.may_mknod(),
            };
            ioctl::scan(&settings.root, options, &members)
        }
        _ => match sysfs::scan(&settings.root) {
            Ok(d) => d,
            Err(e) => {
                error!("{e}");
                round.failures = 1;
                return round;
            }
        },
    };
    report_passed_over(&discovery);
    if method == ScanMethod::Sysfs && settings.may_mknod() {
        make_path_nodes(&settings.root, &discovery.candidates);
    }
    let paths = probe_all(settings, method, discovery.candidates);
    let coalesced = match group::coalesce(&paths) {
        Ok(c) => c,
        Err(e) => {
            error!("{e}");
            round.failures = 1;
            return round;
        }
    };
    for conflict in &coalesced.conflicts {
        let sizes: Vec<String> = conflict
            .paths
            .iter()
            .map(|&i| format!("{} {} sectors", paths[i as usize].name, paths[i as usize].sectors))
            .collect();
        error!(
            "{}: paths differ in size ({}): no map made",
            conflict.wwid,
            sizes.join(", ")
        );
        round.failures += 1;
    }
    if coalesced.maps.is_empty() {
        warn!("no multipath candidates found");
    }
    if dm.is_none() && !settings.dry_run {
        round.failures += coalesced.maps.len();
        return round;
    }
    let udev = nodes::udev_running(&settings.root);
    let make_nodes = settings.may_mknod() && !udev;
    let partition_options = PartitionOptions {
        dry_run: settings.dry_run,
        make_nodes,
        mknod: settings.may_mknod(),
    };
    for plan in &coalesced.maps {
        let groups = group::groups(plan, &paths, settings.policy);
        let hwhandler = table::hardware_handler(&paths, &plan.paths);
        let params = table::params(
            table::DEFAULT_FEATURES,
            &hwhandler,
            table::DEFAULT_SELECTOR,
            &groups,
            &paths,
        );
        let name = plan.wwid.as_str();
        let uuid = format!("{UUID_PREFIX}{name}");
        if uuid.len() > DM_UUID_MAX {
            error!("{name}: WWID too long for a DM UUID ({} > {DM_UUID_MAX} bytes): no map made", uuid.len());
            round.failures += 1;
            continue;
        }
        debug!("{name}: table 0 {} multipath {params}", plan.sectors);
        let outcome = match &dm {
            Some(dm) => apply(dm, name, &uuid, plan.sectors, &params, settings.dry_run),
            // A dry run without device-mapper cannot tell what exists.
            None => Ok(("would create", None)),
        };
        match outcome {
            Ok((action, info)) => {
                if first || action != "unchanged" {
                    let dm_name = info.as_ref().map(|i| format!("dm-{}", i.devnum.minor));
                    report!(
                        "{}",
                        report::map_line(action, name, dm_name.as_deref(), &groups, &paths, &hwhandler)
                    );
                }
                if settings.dry_run {
                    report!("{name}: 0 {} multipath {params}", plan.sectors);
                }
                round.maps.push((name.to_owned(), plan.paths.len()));
                if let (Some(info), Some(dm)) = (info, &dm) {
                    if make_nodes {
                        make_map_node(&settings.root, &info.name, info.devnum);
                    }
                    if settings.partitions {
                        round.failures += partmaps::sync(dm, &settings.root, &info, name, partition_options);
                    }
                }
            }
            Err(e) => {
                error!("{name}: {e}");
                round.failures += 1;
            }
        }
    }
    round.devices = dm
        .and_then(|dm| dm.list().ok())
        .map(|maps| maps.into_iter().map(|m| m.name).collect())
        .unwrap_or_default();
    round
}

fn report_passed_over(discovery: &Discovery) {
    for (name, why) in &discovery.passed_over {
        if why.starts_with("in use") {
            warn!("{name}: {why}: not touched");
        } else {
            debug!("{name}: passed over: {why}");
        }
    }
}

/// Probes every candidate concurrently; returns the usable and stale paths
/// in discovery order (stale ones are reported and dropped here).
fn probe_all(settings: &Settings, method: ScanMethod, candidates: Vec<Candidate>) -> Vec<Path> {
    let count = candidates.len();
    let candidates = Arc::new(candidates);
    let root = Arc::new(settings.root.clone());
    let options = settings.probe;
    // Every command may take its full timeout: TUR attempts, two INQUIRYs,
    // a page-0x80 fallback and an RTPG, plus slack for open().
    let commands = u32::from(options.tur_attempts.max(1)) + 4;
    let budget = options.timeout * commands + Duration::from_secs(2);
    let job_candidates = Arc::clone(&candidates);
    let results = parallel::run_all(count, settings.jobs, budget, move |i| {
        probe_one(&root, method, &job_candidates[i], &options)
    });
    let mut paths = Vec::new();
    for (candidate, result) in candidates.iter().zip(results) {
        let name = &candidate.name;
        match result {
            JobResult::Done(Probed::Path(path)) => {
                debug!(
                    "{name}: {} {} wwid {} {} prio {}",
                    path.hctl, path.devnum, path.wwid, path.state, path.priority
                );
                paths.push(*path);
            }
            JobResult::Done(Probed::Down(why)) => warn!("{name}: stale path, left out: {why}"),
            JobResult::Done(Probed::Skipped(why)) => warn!("{name}: skipped: {why}"),
            JobResult::TimedOut => warn!(
                "{name}: no answer within {}s, path left out",
                budget.as_secs()
            ),
        }
    }
    paths
}

/// Probes one path through its sg node (or its sd node when sg is absent).
/// With sysfs, cached INQUIRY data spares commands; without, all is asked.
fn probe_one(root: &FsPath, method: ScanMethod, candidate: &Candidate, options: &ProbeOptions) -> Probed {
    let sysfs_attrs;
    let attrs: &dyn DeviceAttributes = if method == ScanMethod::Sysfs {
        sysfs_attrs = sysfs::SysfsAttributes::new(root, &candidate.name);
        &sysfs_attrs
    } else {
        &NoAttributes
    };
    let dev = root.join("dev");
    let sg_node = candidate.sg.as_ref().map(|sg| dev.join(sg.name.as_str()));
    let opened = match sg_node.filter(|node| node.exists()) {
        Some(node) => SgDevice::open(&node),
        None => SgDevice::open(&dev.join(candidate.name.as_str())),
    };
    let transport = opened.as_ref().map(|device| device as &dyn ScsiTransport);
    probe::probe(candidate, attrs, transport, options)
}

/// Opens device-mapper, making `/dev/mapper/control` first if it is
/// missing (never in a dry run).
fn open_device_mapper(settings: &Settings) -> Option<DeviceMapper> {
    let control = settings.root.join("dev/mapper/control");
    if settings.may_mknod() && !control.exists() {
        match nodes::ensure(&control, NodeKind::Char, nodes::dm_control_devnum(&settings.root)) {
            Ok(NodeOutcome::Conflict(why)) => warn!("{why}"),
            Ok(_) => {}
            Err(e) => error!("cannot create {}: {e}", control.display()),
        }
    }
    match DeviceMapper::open() {
        Ok(dm) => Some(dm),
        Err(e) if settings.dry_run => {
            debug!("{e}: dry run goes on without checking existing maps");
            None
        }
        Err(e) => {
            error!("{e} (is dm-multipath loaded?)");
            None
        }
    }
}

/// Creates the map, or reloads it when it exists with other paths.
/// Returns what was done and the map as the kernel now has it.
fn apply(
    dm: &DeviceMapper,
    name: &str,
    uuid: &str,
    sectors: u64,
    params: &str,
    dry_run: bool,
) -> Result<(&'static str, Option<MapInfo>), MapError> {
    if let Some(existing) = dm.by_uuid(uuid)? {
        if is_same_map(&existing, sectors, params) {
            return Ok(("unchanged", Some(existing)));
        }
        if dry_run {
            return Ok(("would reload", Some(existing)));
        }
        dm.reload(&existing.name, sectors, MULTIPATH_TARGET, params)?;
        return Ok(("reload", dm.by_uuid(uuid)?));
    }
    if let Some(other) = dm.by_name(name)? {
        return Err(MapError {
            action: format!("create {name}"),
            errno: None,
            detail: format!(
                "a device-mapper device of that name exists with UUID {:?}; left untouched",
                other.uuid
            ),
        });
    }
    if dry_run {
        return Ok(("would create", None));
    }
    dm.create(name, uuid, sectors, MULTIPATH_TARGET, params)?;
    Ok(("create", dm.by_uuid(uuid)?))
}

fn is_same_map(existing: &MapInfo, sectors: u64, params: &str) -> bool {
    if !existing.is_multipath() || existing.sectors() != sectors {
        return false;
    }
    match (table::parse(&existing.targets[0].3), table::parse(params)) {
        (Ok(current), Ok(wanted)) => current.same_layout(&wanted),
        _ => false,
    }
}

/// Devices that are paths of multipath maps already loaded.
fn multipath_members(dm: &DeviceMapper) -> Vec<DevNum> {
    let maps = match dm.list() {
        Ok(maps) => maps,
        Err(e) => {
            warn!("{e}");
            return Vec::new();
        }
    };
    maps.iter()
        .filter(|m| m.is_multipath() && m.uuid.starts_with(UUID_PREFIX))
        .filter_map(|m| table::parse(&m.targets[0].3).ok())
        .flat_map(|t| t.devices().filter_map(DevNum::parse).collect::<Vec<_>>())
        .collect()
}

/// Makes the sd and sg nodes of the paths sysfs found, where missing.
fn make_path_nodes(root: &FsPath, candidates: &[Candidate]) {
    let dev = root.join("dev");
    for c in candidates {
        let mut wanted = vec![(c.name.as_str(), NodeKind::Block, c.devnum)];
        if let Some(sg) = &c.sg {
            wanted.push((sg.name.as_str(), NodeKind::Char, sg.devnum));
        }
        for (name, kind, devnum) in wanted {
            let node = dev.join(name);
            match nodes::ensure(&node, kind, devnum) {
                Ok(NodeOutcome::Created) => debug!("created {}", node.display()),
                Ok(NodeOutcome::Present) => {}
                Ok(NodeOutcome::Conflict(why)) => warn!("{why}"),
                Err(e) => warn!("cannot create {}: {e}", node.display()),
            }
        }
    }
}

/// Makes `/dev/mapper/<name>` where no udev will.
fn make_map_node(root: &FsPath, name: &str, devnum: DevNum) {
    let node = root.join("dev/mapper").join(name);
    match nodes::ensure(&node, NodeKind::Block, devnum) {
        Ok(NodeOutcome::Created) => debug!("created {}", node.display()),
        Ok(NodeOutcome::Present) => {}
        Ok(NodeOutcome::Conflict(why)) => warn!("{why}"),
        Err(e) => error!("cannot create {}: {e}", node.display()),
    }
}
