//! The default command: discover -> probe -> coalesce -> table -> load.
//!
//! This module wires the stages and the `--wait` rounds; each stage lives
//! in its own module (`scan`: discover and probe; `group`; `table`; `load`;
//! `partmaps`).

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use crate::claim::{self, Claim};
use crate::config::bindings::{self, Alias, Existing};
use crate::config::blacklist::{self, Blacklist};
use crate::config::select::{self, AliasChoice, HandlerFacts, Tpgs};
use crate::plan::Planner;
use std::sync::Arc;
use crate::config::wwids;
use crate::discover::{protocol, ScanMethod};
use crate::group;
use crate::load::{self, Action};
use crate::path::{Path, PathState};
use crate::setup::{self, Setup};
use crate::sys::blockdev;
use crate::sys::dm::{DeviceMapper, MapInfo};
use crate::sys::multipathd;
use crate::log;
use crate::partmaps::{self, PartitionOptions};
use crate::probe::ProbeOptions;
use crate::report;
use crate::scan::{self, ScanSettings};
use crate::sys::dm::UUID_PREFIX;
use crate::table;

/// Settings of one assembly run.
#[derive(Clone, Debug)]
pub struct Settings {
    pub root: PathBuf,
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
    /// `-q`: keep queue_if_no_path although no multipathd runs.
    pub queue_without_daemon: bool,
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
pub fn run(settings: &Settings, setup: &Arc<Setup>) -> usize {
    let Some(wait) = &settings.wait else {
        return run_round(settings, setup, true).failures;
    };
    let deadline = Instant::now() + Duration::from_secs(wait.seconds);
    let verbosity = log::verbosity();
    let mut first = true;
    loop {
        let round = run_round(settings, setup, first);
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

fn run_round(settings: &Settings, setup: &Arc<Setup>, first: bool) -> Round {
    let mut round = Round::default();
    let started = Instant::now();
    let dm = load::open_device_mapper(&settings.root, settings.may_mknod(), settings.dry_run);
    // The multipath maps that exist: for find_multipaths, their names, and
    // (ioctl scan) which devices they hold. Listed after the scan unless
    // the scan needs them: their tables are not kept through the probes.
    let list_multipath_maps = || match dm.as_ref().map(|dm| dm.list_where(|m| m.uuid.starts_with(UUID_PREFIX))) {
        Some(Ok(maps)) => (maps, true),
        _ => (Vec::new(), false),
    };
    let ioctl_scan = settings.scan.resolve(&settings.root) == ScanMethod::Ioctl;
    let listed_early = ioctl_scan.then(list_multipath_maps);
    let members = match &listed_early {
        Some((existing, _)) => load::members_of(existing),
        None => Vec::new(),
    };
    let scan_settings = ScanSettings {
        root: &settings.root,
        method: settings.scan,
        max_devices: settings.max_devices,
        mknod: settings.may_mknod(),
        probe: settings.probe,
        jobs: settings.jobs,
        planner: Arc::clone(setup) as Arc<dyn Planner + Send>,
        started: Some(started),
        property_filter: Some(property_filter(setup)),
    };
    let pass_over = |name: &str, known: Option<protocol::Protocol>| {
        name_verdict(&setup.blacklist, setup.allow_usb, &settings.root, name, known)
    };
    let Some(paths) = scan::usable_paths(&scan_settings, &members, &pass_over) else {
        round.failures = 1;
        return round;
    };
    let scanned = Instant::now();
    debug!("timing: scan and probe of {} paths: {} ms", paths.len(), ms(started, scanned));
    let (existing, listed): (Vec<MapInfo>, bool) = listed_early.unwrap_or_else(list_multipath_maps);
    let wwids = wwids::read(&settings.root, &setup.wwids_file);
    setup::report(&wwids.1);
    let wwids = wwids.0;
    let blacklisted: Vec<Option<String>> = paths
        .iter()
        .map(|p| {
            let identity = (p.state != PathState::Down).then(|| Identity {
                properties: &p.properties,
                vendor: p.vendor.as_str(),
                product: p.product.as_str(),
                protocol: p.protocol,
            });
            path_verdict(&setup.blacklist, identity, p.wwid.as_str())
        })
        .collect();
    // Each existing map by its WWID, looked up per path and per map.
    let mut by_wwid: Vec<(&str, &MapInfo)> =
        existing.iter().filter_map(|m| Some((m.uuid.strip_prefix(UUID_PREFIX)?, m))).collect();
    by_wwid.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let map_of = |wwid: &str| {
        let at = by_wwid.partition_point(|(w, _)| *w < wwid);
        by_wwid.get(at).filter(|(w, _)| *w == wwid).map(|(_, m)| *m)
    };
    let has_map = |wwid: &str| map_of(wwid).is_some();
    let claims = claim::decide(setup.find_multipaths, &paths, &blacklisted, &|w| wwids.contains(w), &has_map);
    for (path, claim) in paths.iter().zip(&claims) {
        match claim {
            Claim::Take(why) => debug!("{}: taken: {why}", path.name),
            Claim::PassOver(why) => debug!("{}: passed over: {why}", path.name),
        }
    }
    let chosen: Vec<bool> = claims.iter().map(Claim::is_taken).collect();
    let coalesced = match group::coalesce(&paths, &chosen) {
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
            "{}: paths differ in size ({}): no map made from them this time",
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
    let make_nodes = |dm: Option<&DeviceMapper>| settings.may_mknod() && !dm.is_some_and(DeviceMapper::udev_makes_nodes);
    // multipath clears queueing again after loading when no multipathd
    // runs (unless -q): the features below are that end state.
    let queueing_allowed = settings.queue_without_daemon || multipathd::running();
    // Maps whose partition tables are read, all at once, after the loop.
    let mut partitioned: Vec<(MapInfo, String)> = Vec::new();
    // Their nodes, opened with the first reads started (see below).
    let mut prefetched: Vec<Option<blockdev::BlockDevice>> = Vec::new();
    // WWIDs of the maps made this round, for the wwids file.
    let mut created: Vec<&str> = Vec::new();
    for plan in &coalesced.maps {
        let wwid = plan.wwid.as_str();
        let lead = &paths[plan.paths[0] as usize];
        let hw = setup.hardware(lead.vendor.as_str(), lead.product.as_str(), lead.revision.as_str());
        let map = setup.selector.map_settings(wwid, &hw);
        let current = map_of(wwid);
        let Some(name) = map_name(setup, &map.alias, wwid, current, dm.as_ref(), settings.dry_run) else {
            round.failures += 1;
            continue;
        };
        log_settings(&name, &map);
        let uuid = format!("{UUID_PREFIX}{wwid}");
        if uuid.len() > DM_UUID_MAX {
            error!("{wwid}: WWID too long for a DM UUID ({} > {DM_UUID_MAX} bytes): no map made", uuid.len());
            round.failures += 1;
            continue;
        }
        let mut plan = plan.clone();
        if let Some(current) = current {
            keep_failed_members(&settings.root, &name, &mut plan, current, &paths);
        }
        let mut attempt = 0u32;
        let (groups, hwhandler, params, outcome) = loop {
            let groups = group::groups(&plan, &paths, map.policy.value);
            let hwhandler = hardware_handler(&map, &plan, &paths);
            if hwhandler != map.hardware_handler.value.as_str() {
                // retain_attached_hw_handler / detect_prio: what the table gets.
                debug!("{name}: hardware handler in the table: \"{hwhandler}\" (attached or by TPGS)");
            }
            let features = select::table_features(&map, queueing_allowed);
            let params = table::params(&features, &hwhandler, &map.selector.value, &groups, &paths, &|p| {
                select::path_weight(&map, u32::try_from(p.priority).unwrap_or(0))
            });
            debug!("{name}: table 0 {} multipath {params}", plan.sectors);
            let outcome = match &dm {
                // The round's listing tells what exists under this UUID (only
                // this loop changes multipath maps, each UUID once); a retry
                // after a failed load asks the kernel.
                Some(dm) => {
                    let known = (listed && attempt == 0).then_some(current);
                    load::apply_multipath(dm, &name, &uuid, plan.sectors, &params, settings.dry_run, known)
                }
                // A dry run without device-mapper cannot tell what exists.
                None => Ok((Action::WouldCreate, None)),
            };
            // A path deleted since the scan fails the whole load: drop it
            // and load the paths that are left.
            if outcome.is_err() && !settings.dry_run && drop_vanished(&settings.root, &name, &mut plan, &paths) {
                attempt += 1;
                continue;
            }
            break (groups, hwhandler, params, outcome);
        };
        match outcome {
            Ok((action, info)) => {
                if first || action != Action::Unchanged {
                    let dm_name = info.as_ref().map(|i| format!("dm-{}", i.devnum.minor));
                    let shown = if name == wwid { name.clone() } else { format!("{name} ({wwid})") };
                    report!(
                        "{}",
                        report::map_line(action.as_str(), &shown, dm_name.as_deref(), &groups, &paths, &hwhandler)
                    );
                }
                if settings.dry_run {
                    report!("{name}: 0 {} multipath {params}", plan.sectors);
                }
                if action == Action::Create {
                    created.push(wwid);
                }
                round.maps.push((name.clone(), plan.paths.len()));
                if let (Some(info), Some(dm)) = (info, &dm) {
                    let node = settings.root.join("dev/mapper").join(&info.name);
                    // Asked per map: udev may stop confirming mid-run.
                    if make_nodes(Some(dm)) {
                        load::make_map_node(&node, info.devnum);
                    }
                    if settings.partitions {
                        // The first read through a new map waits for its
                        // paths' activation: started now, it runs while
                        // the next maps load.
                        prefetched.push(partmaps::start_reading(&node, info.devnum));
                        partitioned.push((info, wwid.to_owned()));
                    }
                }
            }
            Err(e) => {
                error!("{name}: {e}");
                round.failures += 1;
            }
        }
    }
    remember_wwids(setup, &created);
    let loaded = Instant::now();
    debug!("timing: names, tables and loads of {} maps: {} ms", coalesced.maps.len(), ms(scanned, loaded));
    // Done with: the partition stage's threads do not stack on top of the
    // path table (a thousand paths) and the round's listing.
    drop(by_wwid);
    drop((coalesced, chosen, claims, blacklisted, paths, existing));
    if let (Some(dm), false) = (&dm, partitioned.is_empty()) {
        let partition_options = PartitionOptions {
            dry_run: settings.dry_run,
            make_nodes: make_nodes(Some(dm)),
            mknod: settings.may_mknod(),
            report_unchanged: first,
            // Two reads (MBR, then GPT or EBRs), each up to a command timeout.
            read_budget: settings.probe.timeout * 2 + Duration::from_secs(2),
        };
        let (failures, read) = partmaps::sync_all(dm, &settings.root, &partitioned, prefetched, settings.jobs, partition_options);
        round.failures += failures;
        debug!("timing: partition maps of {} maps: {} ms", partitioned.len(), ms(loaded, Instant::now()));
        if !settings.dry_run {
            // Only where the map's own partition table was read: a table
            // mpath-boot refuses leaves the kernel's reading in place.
            let readable: Vec<&MapInfo> = partitioned.iter().zip(read).filter(|(_, ok)| *ok).map(|((m, _), _)| m).collect();
            remove_path_partitions(&settings.root, &readable);
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

/// Adds to `plan` the stale paths that the live map already holds (a path
/// multipathd keeps as failed): multipath-tools keeps a down path with a
/// WWID in its map, and dropping it would orphan it from multipathd until
/// the map is reconfigured. A device that is gone is not kept.
fn keep_failed_members(root: &std::path::Path, name: &str, plan: &mut group::MapPlan, current: &MapInfo, paths: &[Path]) {
    let Some(live) = current.is_multipath().then(|| table::parse(&current.targets[0].3).ok()).flatten() else {
        return;
    };
    let held: Vec<&str> = live.devices().collect();
    for (i, path) in paths.iter().enumerate() {
        let Ok(index) = u16::try_from(i) else { break };
        let keep = path.state == PathState::Down
            && path.wwid == plan.wwid
            && !plan.paths.contains(&index)
            && held.contains(&path.devnum.to_string().as_str())
            && blockdev::present(root, path.name.as_str(), path.devnum);
        if keep && plan.paths.push(index).is_ok() {
            debug!("{name}: {} is down but in the live map: kept", path.name);
        }
    }
}

/// Deletes the kernel's partitions of the paths of these maps, as
/// multipath-tools' udev rule does (`partx -d`, 68-del-part-nodes.rules):
/// the map's partition maps stand for them, and a file system found by
/// UUID or an LVM PV must be found there, never on one path. The disk is
/// not written; a partition in use is left (the kernel refuses).
fn remove_path_partitions(root: &std::path::Path, maps: &[&MapInfo]) {
    // One read of /proc/partitions names every path and its partitions.
    let listed = blockdev::proc_partitions(root);
    for map in maps {
        let Some(table) = map.is_multipath().then(|| table::parse(&map.targets[0].3).ok()).flatten() else {
            continue;
        };
        for devnum in table.devices() {
            let (disk, parts) = match &listed {
                Some(listed) => {
                    let Some(disk) = listed.name_of(devnum).map(str::to_owned) else { continue };
                    let parts = blockdev::partitions_listed(root, &disk, listed);
                    (disk, parts)
                }
                None => {
                    let Some(disk) = blockdev::name_of(root, devnum) else { continue };
                    let parts = blockdev::partitions_of(root, &disk);
                    (disk, parts)
                }
            };
            let mut removed = Vec::new();
            for (part, number) in parts {
                match blockdev::delete_partition(&root.join("dev").join(&disk), number) {
                    Ok(()) => removed.push(part),
                    Err(e) => warn!("{}: cannot remove the path partition {part} ({e}): it stays", map.name),
                }
            }
            if !removed.is_empty() {
                debug!("{}: removed the path partitions {} (the map's partitions stand for them)", map.name, removed.join(" "));
            }
        }
    }
}

fn ms(from: Instant, to: Instant) -> u128 {
    to.saturating_duration_since(from).as_millis()
}

/// Removes from `plan` the paths whose devices are gone (deleted since the
/// scan). True when some went and some are left to load.
fn drop_vanished(root: &std::path::Path, name: &str, plan: &mut group::MapPlan, paths: &[Path]) -> bool {
    let gone: Vec<u16> = plan
        .paths
        .iter()
        .copied()
        .filter(|&i| !blockdev::present(root, paths[i as usize].name.as_str(), paths[i as usize].devnum))
        .collect();
    if gone.is_empty() || gone.len() == plan.paths.len() {
        return false;
    }
    let names: Vec<&str> = gone.iter().map(|&i| paths[i as usize].name.as_str()).collect();
    warn!("{name}: {} vanished since the scan: loading the map without them", names.join(", "));
    plan.paths.retain(|i| !gone.contains(i));
    true
}

/// Why a device is left alone before any I/O to it, judged by its name:
/// the devnode blacklist, and USB unless `allow_usb_devices yes` (from the
/// transport discovery found, `known`, else from sysfs). `--is-path` asks
/// the same (`membership::judge`).
pub(crate) fn name_verdict(
    blacklist: &Blacklist,
    allow_usb: bool,
    root: &std::path::Path,
    name: &str,
    known: Option<protocol::Protocol>,
) -> Option<String> {
    let verdict = blacklist.devnode(name);
    if verdict.is_blacklisted() {
        return Some(verdict.to_string());
    }
    let usb = || known.map_or_else(|| protocol::is_usb(root, name), |p| p == protocol::Protocol::Usb);
    if !allow_usb && usb() {
        return Some("USB device, allow_usb_devices is no".into());
    }
    None
}

/// The scan's property filter: each probed path keeps only the property
/// names its blacklist verdict ([`path_verdict`]) depends on.
fn property_filter(setup: &Arc<Setup>) -> crate::scan::PropertyFilter {
    let setup = Arc::clone(setup);
    // Each name's answer, remembered: a thousand paths share a dozen names.
    let known: std::sync::Mutex<Vec<(String, bool)>> = std::sync::Mutex::new(Vec::new());
    Arc::new(move |properties: &mut Vec<(String, String)>| {
        // Locked per name, not per path: sixteen probe threads call this.
        let rule_matches = |name: &str| {
            let mut known = known.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((_, matches)) = known.iter().find(|(n, _)| n == name) {
                return *matches;
            }
            let matches = setup.blacklist.property_rule_matches(name);
            known.push((name.to_owned(), matches));
            matches
        };
        blacklist::keep_decisive_properties(properties, Some(blacklist::DEFAULT_UID_ATTRIBUTE), rule_matches);
    })
}

/// What the blacklist's path rules look at. `identity` is None for a
/// path that was never asked for INQUIRY data (down, or offline for
/// `--is-path`): only its WWID is judged then.
pub(crate) struct Identity<'a> {
    pub properties: &'a [(String, String)],
    pub vendor: &'a str,
    pub product: &'a str,
    pub protocol: &'a str,
}

/// Why a probed path is blacklisted, if it is: udev property, device
/// (vendor/product), protocol, then wwid rules, the order in which
/// multipath-tools' `pathinfo` checks them (so `-v3` names the same rule).
/// `--is-path` asks the same (`membership::judge`).
pub(crate) fn path_verdict(blacklist: &Blacklist, identity: Option<Identity<'_>>, wwid: &str) -> Option<String> {
    let verdict = match identity {
        Some(id) => [
            blacklist.property(id.properties),
            blacklist.device(id.vendor, id.product),
            blacklist.protocol(id.protocol),
        ]
        .into_iter()
        .find(|v| v.is_blacklisted()),
        None => None,
    };
    verdict
        .or_else(|| Some(blacklist.wwid(wwid)).filter(|v| v.is_blacklisted()))
        .map(|v| v.to_string())
}

/// The map's hardware handler: the configured one, a handler the kernel
/// already attached (retain_attached_hw_handler), or ALUA by TPGS.
fn hardware_handler(map: &select::MapSettings, plan: &group::MapPlan, paths: &[Path]) -> String {
    let facts: Vec<HandlerFacts<'_>> = plan
        .paths
        .iter()
        .map(|&i| {
            let path = &paths[i as usize];
            HandlerFacts {
                dh_state: path.handler.as_deref(),
                tpgs: tpgs_of(path),
            }
        })
        .collect();
    select::resolve_hwhandler(&map.hardware_handler, map.retain_hwhandler.value, &facts).value
}

/// TPGS as multipath-tools' `detect_alua` leaves it: supported only when
/// the device says so and its port group state could be read.
fn tpgs_of(path: &Path) -> Tpgs {
    match (path.state, path.tpgs) {
        (PathState::Down, _) => Tpgs::Unknown,
        // A failed path whose ALUA could not be read: as 0.9.4, no TPGS.
        (_, true) => Tpgs::Implicit,
        (_, false) => Tpgs::None,
    }
}

/// `-v3`: every setting of the map with where it came from.
fn log_settings(name: &str, map: &select::MapSettings) {
    if !log::enabled(3) {
        return;
    }
    debug!("{name}: path_grouping_policy = {} {}", map.policy.value.name(), map.policy.source.text());
    debug!("{name}: path_selector = \"{}\" {}", map.selector.value, map.selector.source.text());
    debug!("{name}: features = \"{}\" {}", map.features.value, map.features.source.text());
    debug!("{name}: hardware_handler = \"{}\" {}", map.hardware_handler.value, map.hardware_handler.source.text());
    if let Some(retry) = &map.no_path_retry {
        debug!("{name}: no_path_retry = {:?} {}", retry.value, retry.source.text());
    }
    debug!("{name}: rr_weight = {:?} {}", map.rr_weight.value, map.rr_weight.source.text());
    debug!("{name}: rr_min_io_rq = {} {}", map.rr_min_io_rq.value, map.rr_min_io_rq.source.text());
    for note in &map.notes {
        debug!("{name}: {}", note.message);
    }
}

/// The map's device-mapper name: a `multipaths` alias, a user-friendly
/// name from the bindings file, or the WWID (multipath-tools' select_alias).
fn map_name(
    setup: &Setup,
    choice: &AliasChoice,
    wwid: &str,
    current: Option<&MapInfo>,
    dm: Option<&DeviceMapper>,
    dry_run: bool,
) -> Option<String> {
    let prefix = match choice {
        AliasChoice::Multipaths(alias) => return Some(alias.clone()),
        AliasChoice::Wwid => return Some(wwid.to_owned()),
        AliasChoice::UserFriendly { prefix } => prefix.as_str(),
    };
    let read_only = setup.bindings_read_only || dry_run;
    if let Some(current) = current {
        let (known, diagnostics) = bindings::read(&setup.root, &setup.bindings_file);
        setup::report(&diagnostics);
        match known.existing_alias(wwid, &current.name, prefix, !read_only) {
            Existing::Keep(Alias::Bound(name)) => return Some(name),
            Existing::Keep(Alias::New(name)) => {
                if let Err(e) = bindings::append(&setup.root, &setup.bindings_file, &name, wwid) {
                    warn!("{e}");
                }
                return Some(name);
            }
            Existing::Keep(Alias::Wwid) => return Some(wwid.to_owned()),
            Existing::BoundElsewhere { wwid: other } => {
                warn!("{}: alias {} is bound to {other} in {}", wwid, current.name, setup.bindings_file);
            }
            Existing::Reselect => {}
        }
    }
    let taken = |name: &str| {
        dm.and_then(|dm| dm.by_name(name).ok().flatten())
            .is_some_and(|m| m.uuid.strip_prefix(UUID_PREFIX) != Some(wwid))
    };
    match bindings::assign(&setup.root, &setup.bindings_file, wwid, prefix, read_only, &taken) {
        Ok((alias, diagnostics)) => {
            setup::report(&diagnostics);
            Some(match alias {
                Alias::Bound(name) | Alias::New(name) => name,
                Alias::Wwid => wwid.to_owned(),
            })
        }
        Err(e) => {
            // As multipath-tools: without a usable bindings file the map
            // is named by its WWID.
            warn!("{e}: naming {wwid} by its WWID");
            Some(wwid.to_owned())
        }
    }
}

/// Records the new maps' WWIDs in the wwids file, as multipath does for
/// each map it creates (in one write, after the round's loads); a
/// read-only file system only warns.
fn remember_wwids(setup: &Setup, created: &[&str]) {
    for (wwid, result) in created.iter().zip(wwids::remember_all(&setup.root, &setup.wwids_file, created)) {
        match result {
            Ok(true) => debug!("{wwid}: added to {}", setup.wwids_file),
            Ok(false) => {}
            Err(e) => warn!("{wwid}: not recorded in {}: {e}", setup.wwids_file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(state: PathState, tpgs: bool, alua: Option<u32>, sysfs: Option<u32>) -> Path {
        Path {
            state,
            tpgs,
            alua_prio: alua,
            sysfs_prio: sysfs,
            ..Path::default()
        }
    }

    #[test]
    fn tpgs_as_detect_alua_leaves_it() {
        assert_eq!(tpgs_of(&path(PathState::Up, true, Some(50), None)), Tpgs::Implicit);
        assert_eq!(tpgs_of(&path(PathState::Up, false, None, None)), Tpgs::None);
        assert_eq!(tpgs_of(&path(PathState::Down, true, None, None)), Tpgs::Unknown);
    }

    #[test]
    fn only_vanished_paths_leave_the_plan() {
        let root = crate::test_support::TempRoot::new("vanished");
        root.write("sys/dev/block/8:0/dev", "8:0\n");
        let named = |name: &str, minor: u32| Path {
            name: name.try_into().unwrap(),
            devnum: crate::path::DevNum { major: 8, minor },
            ..Path::default()
        };
        let paths = [named("sda", 0), named("sdb", 16)];
        let mut plan = group::MapPlan {
            wwid: Default::default(),
            sectors: 8,
            paths: [0u16, 1].into_iter().collect(),
        };
        assert!(drop_vanished(&root.0, "m", &mut plan, &paths));
        assert_eq!(plan.paths.as_slice(), &[0]);
        // The last path is never dropped: a map of none is no retry.
        root.write("sys/dev/block/8:16/dev", "8:16\n");
        std::fs::remove_dir_all(root.0.join("sys/dev/block/8:0")).unwrap();
        assert!(!drop_vanished(&root.0, "m", &mut plan, &paths));
        assert_eq!(plan.paths.as_slice(), &[0]);
    }
}
