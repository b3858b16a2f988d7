//! The default command: discover -> probe -> coalesce -> table -> load.
//!
//! This module wires the stages and the `--wait` rounds; each stage lives
//! in its own module (`scan`: discover and probe; `group`; `table`; `load`;
//! `partmaps`).

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use crate::discover::ScanMethod;
use crate::group::{self, Policy};
use crate::load;
use crate::log;
use crate::partmaps::{self, PartitionOptions};
use crate::probe::ProbeOptions;
use crate::report;
use crate::scan::{self, ScanSettings};
use crate::sys::dm::UUID_PREFIX;
use crate::sys::nodes;
use crate::table;

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
    let dm = load::open_device_mapper(&settings.root, settings.may_mknod(), settings.dry_run);
    // Only the ioctl scan needs to know which devices maps already hold.
    let members = match (settings.scan.resolve(&settings.root), &dm) {
        (ScanMethod::Ioctl, Some(dm)) => load::multipath_members(dm),
        _ => Vec::new(),
    };
    let scan_settings = ScanSettings {
        root: &settings.root,
        method: settings.scan,
        max_devices: settings.max_devices,
        mknod: settings.may_mknod(),
        probe: settings.probe,
        jobs: settings.jobs,
    };
    let Some(paths) = scan::usable_paths(&scan_settings, &members) else {
        round.failures = 1;
        return round;
    };
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
            Some(dm) => load::apply(dm, name, &uuid, plan.sectors, &params, settings.dry_run),
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
                        load::make_map_node(&settings.root, &info.name, info.devnum);
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
    // Names are only needed to check --expect; listing costs two ioctls a device.
    let expecting = settings.wait.as_ref().is_some_and(|w| !w.expect.is_empty());
    if expecting {
        round.devices = dm
            .and_then(|dm| dm.list().ok())
            .map(|maps| maps.into_iter().map(|m| m.name).collect())
            .unwrap_or_default();
    }
    round
}

