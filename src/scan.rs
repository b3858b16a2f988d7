//! Discovery plus probing: the usable paths of this machine, found with
//! sysfs or the ioctl scan and probed concurrently.

use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::discover::protocol::{self, Protocol};
use crate::discover::{ioctl, sysfs, Discovery, ScanMethod};
use crate::parallel::{self, InFlight, JobResult};
use crate::plan::Planner;
use crate::path::{DevNum, Path, PathState};
use crate::probe::{self, Candidate, DeviceAttributes, NoAttributes, Pretested, ProbeOptions, Probed};
use crate::sys::nodes::{self, NodeKind, NodeOutcome};
use crate::sys::sg_io::{self, SgDevice, TurOutcome};
use crate::transport::{ScsiTransport, TransportError};

/// Cuts a probed path's udev properties down to those the blacklist's
/// verdict depends on (see [`ScanSettings`]).
pub type PropertyFilter = Arc<dyn Fn(&mut Vec<(String, String)>) + Send + Sync>;

/// How to scan.
#[derive(Clone)]
pub struct ScanSettings<'a> {
    pub root: &'a FsPath,
    pub method: ScanMethod,
    pub max_devices: u32,
    /// Make missing sd/sg nodes.
    pub mknod: bool,
    pub probe: ProbeOptions,
    pub jobs: usize,
    /// Chooses each path's prioritizer (shared with the probe threads).
    pub planner: Arc<dyn Planner + Send>,
    /// When the round started (for `-v3` timings).
    pub started: Option<std::time::Instant>,
    /// Keeps of a path's properties only what the blacklist's `property`
    /// verdict depends on, as soon as it is probed: a thousand paths' names
    /// would take most of a run's memory. `None` keeps every property.
    pub property_filter: Option<PropertyFilter>,
}

/// Finds and probes every path; `multipath_members` are devices already in
/// multipath maps (busy because of them, not passed over). `pass_over`
/// judges a device by its name and transport (when sysfs told it) before
/// any I/O to it (devnode blacklist, USB), returning why it is left alone.
/// `None` when discovery itself failed (reported).
pub fn usable_paths(
    settings: &ScanSettings<'_>,
    multipath_members: &[DevNum],
    pass_over: &dyn Fn(&str, Option<Protocol>) -> Option<String>,
) -> Option<Vec<Path>> {
    let method = settings.method.resolve(settings.root);
    let discovery = match method {
        ScanMethod::Ioctl => {
            debug!("no sysfs under {}: scanning sg and sd nodes", settings.root.display());
            let options = ioctl::ScanOptions {
                max_devices: settings.max_devices,
                mknod: settings.mknod,
            };
            ioctl::scan(settings.root, options, multipath_members)
        }
        _ => match sysfs::scan(settings.root) {
            Ok(d) => d,
            Err(e) => {
                error!("{e}");
                return None;
            }
        },
    };
    report_passed_over(&discovery);
    let mut protocols = discovery.protocols.into_iter();
    let (candidates, protocols): (Vec<Candidate>, Vec<Option<Protocol>>) = discovery
        .candidates
        .into_iter()
        .map(|c| (c, protocols.next()))
        .filter(|(c, protocol)| match pass_over(c.name.as_str(), *protocol) {
            Some(why) => {
                debug!("{}: passed over: {why}", c.name);
                false
            }
            None => true,
        })
        .unzip();
    if method == ScanMethod::Sysfs && settings.mknod {
        make_path_nodes(settings.root, &candidates);
    }
    let without_sg = candidates.iter().filter(|c| c.sg.is_none()).count();
    if without_sg > 0 {
        // SG_IO on a disk node waits uninterruptibly: a hung path there is
        // abandoned by the run but keeps the process from exiting.
        warn!(
            "{without_sg} path(s) have no sg device: commands go through the disk node, \
             where a command that never ends cannot be abandoned (load the sg module)"
        );
    }
    Some(probe_all(settings, method, candidates, protocols))
}

/// The transport protocol multipath-tools would name for a path.
fn protocol_name(root: &FsPath, method: ScanMethod, name: &str, known: Option<Protocol>) -> &'static str {
    match (method, known) {
        (ScanMethod::Sysfs, Some(known)) => known.name(),
        (ScanMethod::Sysfs, None) => protocol::scsi_protocol(root, name).name(),
        _ => Protocol::Unspec.name(),
    }
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

/// Descriptors for everything else (device-mapper, sysfs reads,
/// partition-table reads, stdio).
const FD_RESERVE: usize = 64;

/// TEST UNIT READY commands in flight at once, per probe job (`-j`), and
/// at least: 64 hung paths (one host in error recovery) must leave room
/// for the others even with a small `-j`.
const TUR_WINDOW_PER_JOB: usize = 8;
const TUR_WINDOW_MIN: usize = 128;

/// Stack of the thread sending the TEST UNIT READYs.
const DISPATCH_STACK: usize = 128 * 1024;

/// Paths per probe thread (at most `-j` threads).
const PATHS_PER_WORKER: usize = 8;

/// What the probe of one path starts from: its cached attributes and its
/// opened node, with the answer to the first TEST UNIT READY.
struct Prepared {
    attrs: Option<sysfs::SysfsAttributes>,
    /// Its node, open from its TEST UNIT READY, or why opening it failed.
    device: Option<Result<SgDevice, TransportError>>,
    /// Its TEST UNIT READY has not come back: nothing more is sent.
    still_out: bool,
    pretested: Pretested,
}

/// TEST UNIT READY commands that never came back, by path, with their
/// nodes held open: across `--wait` rounds a path keeps one descriptor and
/// one queued command, however many rounds ask for it.
static HUNG: Mutex<Vec<(crate::path::DevNum, sg_io::Pending)>> = Mutex::new(Vec::new());

/// A path whose command is still out answers nothing more this round.
struct Unanswered;

impl ScsiTransport for Unanswered {
    fn execute(&self, _: &[u8], _: &mut [u8], _: Duration) -> Result<crate::transport::Completion, TransportError> {
        Ok(sg_io::not_answered())
    }
}

/// Indices of `keys` taking one of each key in turn (keys in the order
/// they first appear, each key's indices in their own order): `[0, 0, 1]`
/// gives `[0, 2, 1]`.
fn round_robin(keys: &[u32]) -> Vec<usize> {
    // Each key, in the order it first appears, with its indices so far.
    let mut counts: Vec<(u32, usize)> = Vec::new();
    // (rank among its key's indices, the key's place, index)
    let mut ranked: Vec<(usize, usize, usize)> = Vec::with_capacity(keys.len());
    for (i, &key) in keys.iter().enumerate() {
        let k = counts.iter().position(|&(d, _)| d == key).unwrap_or_else(|| {
            counts.push((key, 0));
            counts.len() - 1
        });
        ranked.push((counts[k].1, k, i));
        counts[k].1 += 1;
    }
    ranked.sort_unstable();
    ranked.into_iter().map(|(_, _, i)| i).collect()
}

/// Probes every candidate concurrently; returns the usable and stale paths
/// in discovery order, each with its candidate's index (stale ones are
/// reported and dropped here).
///
/// One thread opens every sg node and sends it TEST UNIT READY (sg's
/// asynchronous interface: nothing there waits on a device), so paths that
/// never answer cost one command timeout in all rather than one per path
/// and worker. Each path is handed to the probe threads as soon as its
/// answer is in, with its node still open: answered paths never wait on
/// unanswered ones, and a node is opened once per path and round.
fn probe_all(
    settings: &ScanSettings<'_>,
    method: ScanMethod,
    candidates: Vec<Candidate>,
    protocols: Vec<Option<Protocol>>,
) -> Vec<Path> {
    let count = candidates.len();
    let options = settings.probe;
    let root = settings.root;
    // A descriptor per path for its node (open from its TEST UNIT READY
    // to its probe, or while its command is out) and per probe job; with
    // room for another per path, each keeps its sysfs directory open from
    // the state read here to its probe.
    let nodes_need = count + settings.jobs + FD_RESERVE;
    let keep_dirs = raise_fd_limit(nodes_need + count) >= nodes_need + count;
    let mut nodes: Vec<Option<(std::path::PathBuf, DevNum)>> = Vec::with_capacity(count);
    let mut hosts: Vec<u32> = Vec::with_capacity(count);
    let mut slots: Vec<Mutex<Slot>> = Vec::with_capacity(count);
    {
        let mut hung = lock(&HUNG);
        // Commands given up in earlier rounds that have come back since.
        hung.retain_mut(|(_, pending)| !pending.returned());
        for (i, candidate) in candidates.into_iter().enumerate() {
            let mut attrs = (method == ScanMethod::Sysfs).then(|| sysfs::SysfsAttributes::new(root, &candidate.name));
            let usb = protocols.get(i).copied().flatten().map(|p| p == Protocol::Usb);
            let offline = attrs.as_mut().is_some_and(|a| {
                let offline = probe::is_offline(&*a);
                if !keep_dirs {
                    a.release_dir();
                }
                offline
            });
            let still_out = hung.iter().any(|(devnum, _)| *devnum == candidate.devnum);
            let mut pretested = Pretested { tur: None, usb };
            if still_out {
                // Its command of an earlier round has not come back: it is not
                // asked again (that would only queue behind it).
                pretested.tur = Some(Ok(sg_io::not_answered()));
            }
            // Only sg nodes: opening a disk node waits for the error handler.
            let node = match (&candidate.sg, offline || still_out) {
                (Some(sg), false) => Some((root.join("dev").join(sg.name.as_str()), sg.devnum)),
                _ => None,
            };
            nodes.push(node);
            hosts.push(candidate.hctl.host);
            let prepared = Prepared { attrs, device: None, still_out, pretested };
            slots.push(Mutex::new(Slot::Waiting(candidate, prepared)));
        }
    }

    // Every command after TEST UNIT READY may take its full timeout: more
    // TUR attempts, two INQUIRYs, a page-0x80 fallback and an RTPG, plus
    // slack. A job starts once its path's TEST UNIT READY is settled.
    let commands = u32::from(options.tur_attempts.max(1)) + 3;
    let budget = options.timeout * commands + Duration::from_secs(1);
    let busy = nodes.iter().filter(|n| n.is_some()).count();
    // One table from discovery to the result: a path's candidate and TEST
    // UNIT READY state, then its probed path in the same place.
    let table: Arc<Vec<Mutex<Slot>>> = Arc::new(slots);
    let (feed, jobs) = parallel::feed();
    // Not all at once: a target (or scsi_debug, 192 commands) answers a
    // flood with TASK SET FULL. Paths that never answer hold their slot
    // one timeout, the others keep flowing through the rest.
    let window = settings.jobs.saturating_mul(TUR_WINDOW_PER_JOB).max(TUR_WINDOW_MIN);
    // Host by host in turn: a host whose paths never answer (an HBA or a
    // fabric in error recovery) gets its commands out early, so its
    // timeouts run while the other hosts' paths are probed; and each HBA
    // carries its share of the flood.
    let order = round_robin(&hosts);
    drop(hosts);
    // Weak, here and in the jobs: a thread that outlives the run by a
    // moment, or a job abandoned for its budget, must not keep the table
    // from becoming the result.
    let dispatch = {
        let table = Arc::downgrade(&table);
        let started = settings.started;
        move || {
            let node_refs: Vec<Option<(&FsPath, DevNum)>> =
                nodes.iter().map(|n| n.as_ref().map(|(path, devnum)| (path.as_path(), *devnum))).collect();
            sg_io::test_unit_ready_each(&node_refs, &order, options.timeout, window, |i, outcome| {
                let table = table.upgrade();
                let mut slot = table.as_deref().and_then(|t| t.get(i)).map(lock);
                if let Some(Slot::Waiting(candidate, p)) = slot.as_deref_mut() {
                    match outcome {
                        TurOutcome::NotAsked => {}
                        TurOutcome::OpenFailed(e) => p.device = Some(Err(e)),
                        TurOutcome::Answered(answer, device) => {
                            p.pretested.tur = Some(answer);
                            p.device = device.map(Ok);
                        }
                        TurOutcome::Abandoned(pending) => {
                            p.pretested.tur = Some(Ok(sg_io::not_answered()));
                            p.still_out = true;
                            lock(&HUNG).push((candidate.devnum, pending));
                        }
                    }
                }
                drop(slot);
                // The pool outlives this thread: the send cannot fail.
                let _ = feed.send(i);
            });
            debug!(
                "timing: TEST UNIT READY of {count} paths answered: {} ms",
                started.map_or(0, |t| t.elapsed().as_millis())
            );
        }
    };
    // On its own thread, so the probes run while the answers come in; if
    // no thread can be made, all the commands go first, from this one.
    let dispatch = Arc::new(Mutex::new(Some(dispatch)));
    let take = |slot: &Mutex<Option<_>>| lock(slot).take();
    let spawned = {
        let dispatch = Arc::clone(&dispatch);
        std::thread::Builder::new()
            .stack_size(DISPATCH_STACK)
            .spawn(move || {
                if let Some(dispatch) = take(&dispatch) {
                    dispatch();
                }
            })
            .is_ok()
    };
    if !spawned {
        if let Some(dispatch) = take(&dispatch) {
            dispatch();
        }
    }
    let job_root = Arc::new(root.to_path_buf());
    let planner = Arc::clone(&settings.planner);
    let property_filter = settings.property_filter.clone();
    let job_table = Arc::downgrade(&table);
    // With the TEST UNIT READYs done, a probe is a few sysfs reads and a
    // command or two: a thread per PATHS_PER_WORKER paths, up to `-j`.
    let workers = settings.jobs.min(busy.div_ceil(PATHS_PER_WORKER)).max(1);
    let results = parallel::run_fed(count, workers, budget, jobs, move |i| {
        // The job takes its candidate out of the table and stores its path
        // there itself: a path is held once, not boxed by the probe,
        // returned through the pool and copied again.
        let taken = job_table.upgrade().as_deref().and_then(|t| t.get(i)).map(|slot| lock(slot).take_waiting());
        let Some(Some((candidate, prepared))) = taken else {
            return Stored::Skipped("probed twice in one round".into());
        };
        // Held until the probe returns, even after it is abandoned.
        let Some(_running) = InFlight::enter(format!("probe {}", candidate.devnum)) else {
            return Stored::Skipped("its probe from an earlier round has still not returned".into());
        };
        let probed = probe_one(&job_root, method, &candidate, prepared, &options, &*planner);
        let known = protocols.get(i).copied().flatten();
        let (path, stored) = match probed {
            Probed::Path(mut path) => {
                if let Some(filter) = &property_filter {
                    filter(&mut path.properties);
                }
                (Some(*path), Stored::Path)
            }
            // Kept, marked down, so find_multipaths counts it as
            // multipath-tools does; it enters no new table, but stays in a
            // live map that holds it (see assemble).
            Probed::Down(why, Some(wwid)) => (Some(down_path(&candidate, wwid)), Stored::Down(why)),
            Probed::Down(why, None) => (None, Stored::Down(why)),
            Probed::Skipped(why) => (None, Stored::Skipped(why)),
        };
        if let Some(mut path) = path {
            path.protocol = protocol_name(&job_root, method, candidate.name.as_str(), known);
            if let Some(slot) = job_table.upgrade().as_deref().and_then(|table| table.get(i)) {
                *lock(slot) = Slot::Probed(path);
            }
        }
        stored
    });
    let mut kept = vec![false; count];
    for (index, (slot, result)) in table.iter().zip(&results).enumerate() {
        let slot = lock(slot);
        let name = slot.name();
        let path = match &*slot {
            Slot::Probed(path) => Some(path),
            _ => None,
        };
        match (result, path) {
            (JobResult::Done(Stored::Path), Some(path)) => {
                debug!(
                    "{name}: {} {} wwid {} {} prio {}: {}",
                    path.hctl, path.devnum, path.wwid, path.state, path.priority, path.prio_explained
                );
                if path.state == PathState::Faulty {
                    warn!("{name}: path down ({}): it joins its map as a failed path", path.fault);
                }
                kept[index] = true;
            }
            (JobResult::Done(Stored::Down(why)), path) => {
                warn!("{name}: stale path, left out: {why}");
                kept[index] = path.is_some();
            }
            (JobResult::Done(Stored::Skipped(why)), _) => warn!("{name}: skipped: {why}"),
            (JobResult::Done(Stored::Path), None) => {}
            (JobResult::TimedOut, _) => warn!(
                "{name}: no answer within {}s, path left out",
                budget.as_secs()
            ),
            (JobResult::NotRun, _) => warn!("{name}: not probed: every probe thread hung and no new one could start"),
        }
    }
    drop(results);
    take_kept(table, &kept)
}

/// One path's place in the scan's table, from discovery to the result.
enum Slot {
    /// Found, with its TEST UNIT READY state (filled in by the dispatcher).
    Waiting(Candidate, Prepared),
    /// Its probe took it: running, or finished with nothing to keep.
    Taken(crate::path::DevName),
    /// Probed: usable, or down with a known WWID.
    Probed(Path),
}

impl Slot {
    fn name(&self) -> &str {
        match self {
            Slot::Waiting(candidate, _) => candidate.name.as_str(),
            Slot::Taken(name) => name.as_str(),
            Slot::Probed(path) => path.name.as_str(),
        }
    }

    /// The candidate and its state for its probe, once.
    fn take_waiting(&mut self) -> Option<(Candidate, Prepared)> {
        let name = match self {
            Slot::Waiting(candidate, _) => candidate.name.clone(),
            _ => return None,
        };
        match core::mem::replace(self, Slot::Taken(name)) {
            Slot::Waiting(candidate, prepared) => Some((candidate, prepared)),
            _ => None,
        }
    }

    fn into_path(self) -> Option<Path> {
        match self {
            Slot::Probed(path) => Some(path),
            _ => None,
        }
    }
}

/// Locks `mutex`; a poisoned one is used as it is (its data is whole:
/// every critical section here is a plain store or take).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a probe job left in the path table, for the report after the run.
enum Stored {
    Path,
    /// A stale path: stored, marked down, when its WWID is known.
    Down(std::string::String),
    Skipped(std::string::String),
}

/// A stale path as find_multipaths and live maps still count it.
fn down_path(candidate: &Candidate, wwid: crate::identify::Wwid) -> Path {
    Path {
        name: candidate.name.clone(),
        hctl: candidate.hctl,
        devnum: candidate.devnum,
        sectors: candidate.sectors,
        wwid: wwid.into(),
        state: PathState::Down,
        // No priority is asked of a down path: 0.9.4's PRIO_UNDEF.
        priority: -1,
        ..Path::default()
    }
}

/// The stored paths whose jobs finished in time (`kept`), in order. When
/// no abandoned job still holds the table, it becomes the result in place
/// (same allocation); otherwise the kept paths are copied out of it.
fn take_kept(table: Arc<Vec<Mutex<Slot>>>, kept: &[bool]) -> Vec<Path> {
    match Arc::try_unwrap(table) {
        Ok(mut table) => {
            for (slot, _) in table.iter_mut().zip(kept).filter(|(_, &keep)| !keep) {
                *slot.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()) = Slot::Taken(Default::default());
            }
            // A plain filter_map over the vector's own iterator: std then
            // collects into the same allocation (a slot is no smaller than
            // a path), where a zip would build a second table.
            table
                .into_iter()
                .filter_map(|slot| slot.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()).into_path())
                .collect()
        }
        Err(shared) => shared
            .iter()
            .zip(kept)
            .filter(|(_, &keep)| keep)
            .filter_map(|(slot, _)| match &*lock(slot) {
                Slot::Probed(path) => Some(path.clone()),
                _ => None,
            })
            .collect(),
    }
}

/// Raises the soft limit on open files towards `wanted` (up to the hard
/// limit); returns the soft limit now in force.
fn raise_fd_limit(wanted: usize) -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    let wanted = libc::rlim_t::try_from(wanted).unwrap_or(libc::rlim_t::MAX);
    if limit.rlim_cur < wanted && limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: wanted.min(limit.rlim_max), rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads one rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = raised.rlim_cur;
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

/// Probes one path through its sg node (or its sd node when sg is absent).
/// With sysfs, cached INQUIRY data spares commands; without, all is asked.
fn probe_one(
    root: &FsPath,
    method: ScanMethod,
    candidate: &Candidate,
    prepared: Prepared,
    options: &ProbeOptions,
    planner: &dyn Planner,
) -> Probed {
    let Prepared { attrs, device, still_out, pretested } = prepared;
    let sysfs_attrs = match attrs {
        Some(attrs) => Some(attrs),
        None if method == ScanMethod::Sysfs => Some(sysfs::SysfsAttributes::new(root, &candidate.name)),
        None => None,
    };
    let attrs: &dyn DeviceAttributes = match &sysfs_attrs {
        Some(attrs) => attrs,
        None => &NoAttributes,
    };
    if still_out {
        return probe::probe_pretested(candidate, attrs, Ok(&Unanswered), pretested, options, planner, root);
    }
    let opened = device.unwrap_or_else(|| {
        let dev = root.join("dev");
        let sg_node = candidate.sg.as_ref().map(|sg| dev.join(sg.name.as_str()));
        match sg_node.filter(|node| node.exists()) {
            Some(node) => SgDevice::open(&node),
            None => SgDevice::open(&dev.join(candidate.name.as_str())),
        }
    });
    let transport = opened.as_ref().map(|device| device as &dyn ScsiTransport);
    probe::probe_pretested(candidate, attrs, transport, pretested, options, planner, root)
}

/// Makes the sd and sg nodes of the paths sysfs found, where missing.
/// `/dev` is listed once; a name already there is not examined (that was
/// a stat per node): devtmpfs, udev or an earlier run made it, and the sd
/// and sg names fix their device numbers. An sg node is checked when the
/// dispatcher opens it (`sg_io::test_unit_ready_each`).
fn make_path_nodes(root: &FsPath, candidates: &[Candidate]) {
    let dev = root.join("dev");
    let present = nodes::names_in(&dev);
    let missing = |name: &str| present.as_ref().is_none_or(|names| names.binary_search_by(|n| n.as_str().cmp(name)).is_err());
    for c in candidates {
        let mut wanted = vec![(c.name.as_str(), NodeKind::Block, c.devnum)];
        if let Some(sg) = &c.sg {
            wanted.push((sg.name.as_str(), NodeKind::Char, sg.devnum));
        }
        for (name, kind, devnum) in wanted.into_iter().filter(|(name, _, _)| missing(name)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::dev_name;

    #[test]
    fn test_unit_ready_goes_to_the_hosts_in_turn() {
        // Hosts 3, 3, 3, 5, 5, 4: one of each host in turn, each host's
        // paths in discovery order.
        assert_eq!(round_robin(&[3, 3, 3, 5, 5, 4]), [0, 3, 5, 1, 4, 2]);
        // The last host's paths, all at the end of discovery, come early.
        let hosts: Vec<u32> = (0..20).map(|i| if i < 16 { i % 4 } else { 9 }).collect();
        let order = round_robin(&hosts);
        let first_ten: Vec<u32> = order[..10].iter().map(|&i| hosts[i]).collect();
        assert_eq!(first_ten, [0, 1, 2, 3, 9, 0, 1, 2, 3, 9]);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>(), "a permutation");
        assert!(round_robin(&[]).is_empty());
    }

    fn table(names: &[Option<&str>]) -> Arc<Vec<Mutex<Slot>>> {
        let slots = names
            .iter()
            .map(|name| {
                Mutex::new(match name {
                    Some(name) => Slot::Probed(Path { name: dev_name(name).unwrap(), ..Path::default() }),
                    None => Slot::Taken(dev_name("sdz").unwrap()),
                })
            })
            .collect();
        Arc::new(slots)
    }

    fn candidate(name: &str) -> Candidate {
        Candidate {
            name: dev_name(name).unwrap(),
            hctl: Default::default(),
            devnum: Default::default(),
            sectors: 2048,
            sg: None,
            handler: None,
            block_size: Some(512),
            node_name: Default::default(),
        }
    }

    fn names(paths: &[Path]) -> Vec<&str> {
        paths.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn kept_paths_in_order_from_an_unshared_table() {
        let slots = table(&[Some("sda"), None, Some("sdc"), Some("sdd")]);
        // sdd's job ran out of its budget: stored late, not kept.
        let paths = take_kept(slots, &[true, false, true, false]);
        assert_eq!(names(&paths), ["sda", "sdc"]);
    }

    #[test]
    fn kept_paths_copied_while_an_abandoned_job_holds_the_table() {
        let slots = table(&[Some("sda"), Some("sdb"), None]);
        let held = Arc::clone(&slots);
        let paths = take_kept(slots, &[false, true, false]);
        assert_eq!(names(&paths), ["sdb"]);
        // The late job can still store into its slot; nothing reads it.
        *lock(&held[2]) = Slot::Probed(Path::default());
    }

    #[test]
    fn a_slot_gives_its_candidate_to_one_probe_and_keeps_its_name() {
        let prepared = Prepared { attrs: None, device: None, still_out: false, pretested: Pretested::default() };
        let mut slot = Slot::Waiting(candidate("sdq"), prepared);
        let (taken, _) = slot.take_waiting().unwrap();
        assert_eq!(taken.name.as_str(), "sdq");
        assert!(slot.take_waiting().is_none());
        assert_eq!(slot.name(), "sdq");
        assert!(slot.into_path().is_none());
    }

    #[test]
    fn a_slot_holds_a_path_in_place() {
        // take_kept turns the table into the result in its own allocation
        // only when a slot is at least as large as a path.
        assert!(core::mem::size_of::<Mutex<Slot>>() >= core::mem::size_of::<Path>());
        assert_eq!(core::mem::align_of::<Mutex<Slot>>(), core::mem::align_of::<Path>());
    }

    #[test]
    fn a_down_path_keeps_its_identity_and_no_priority() {
        let candidate = candidate("sdq");
        let path = down_path(&candidate, "36001405abc".try_into().unwrap());
        assert_eq!((path.name.as_str(), path.sectors, path.wwid.as_str()), ("sdq", 2048, "36001405abc"));
        assert_eq!((path.state, path.priority), (PathState::Down, -1));
    }
}
