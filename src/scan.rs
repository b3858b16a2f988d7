//! Discovery plus probing: the usable paths of this machine, found with
//! sysfs or the ioctl scan and probed concurrently.

use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use crate::discover::{ioctl, protocol, sysfs, Discovery, ScanMethod};
use crate::parallel::{self, InFlight, JobResult};
use crate::plan::Planner;
use crate::path::{DevNum, Path, PathState};
use crate::probe::{self, Candidate, DeviceAttributes, NoAttributes, ProbeOptions, Probed};
use crate::sys::nodes::{self, NodeKind, NodeOutcome};
use crate::sys::sg_io::SgDevice;
use crate::transport::ScsiTransport;

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
}

/// Finds and probes every path; `multipath_members` are devices already in
/// multipath maps (busy because of them, not passed over). `pass_over`
/// judges a device by its name before any I/O to it (devnode blacklist,
/// USB), returning why it is left alone. `None` when discovery itself
/// failed (reported).
pub fn usable_paths(
    settings: &ScanSettings<'_>,
    multipath_members: &[DevNum],
    pass_over: &dyn Fn(&str) -> Option<String>,
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
    let mut candidates = discovery.candidates;
    candidates.retain(|c| match pass_over(c.name.as_str()) {
        Some(why) => {
            debug!("{}: passed over: {why}", c.name);
            false
        }
        None => true,
    });
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
    let mut paths = probe_all(settings, method, candidates);
    for path in &mut paths {
        path.protocol = match method {
            ScanMethod::Sysfs => protocol::scsi_protocol(settings.root, path.name.as_str()).name(),
            _ => protocol::Protocol::Unspec.name(),
        };
    }
    Some(paths)
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
fn probe_all(settings: &ScanSettings<'_>, method: ScanMethod, candidates: Vec<Candidate>) -> Vec<Path> {
    let count = candidates.len();
    let candidates = Arc::new(candidates);
    let root = Arc::new(settings.root.to_path_buf());
    let options = settings.probe;
    // Every command may take its full timeout: TUR attempts, two INQUIRYs,
    // a page-0x80 fallback and an RTPG, plus slack for open().
    let commands = u32::from(options.tur_attempts.max(1)) + 4;
    let budget = options.timeout * commands + Duration::from_secs(2);
    let job_candidates = Arc::clone(&candidates);
    let planner = Arc::clone(&settings.planner);
    let results = parallel::run_all(count, settings.jobs, budget, move |i| {
        let candidate = &job_candidates[i];
        // Held until the probe returns, even after it is abandoned.
        let Some(_running) = InFlight::enter(format!("probe {}", candidate.devnum)) else {
            return Probed::Skipped("its probe from an earlier round has still not returned".into());
        };
        probe_one(&root, method, candidate, &options, &*planner)
    });
    let mut paths = Vec::new();
    for (candidate, result) in candidates.iter().zip(results) {
        let name = &candidate.name;
        match result {
            JobResult::Done(Probed::Path(path)) => {
                debug!(
                    "{name}: {} {} wwid {} {} prio {}: {}",
                    path.hctl, path.devnum, path.wwid, path.state, path.priority, path.prio_explained
                );
                if path.state == PathState::Faulty {
                    warn!("{name}: path down ({}): it joins its map as a failed path", path.fault);
                }
                paths.push(*path);
            }
            JobResult::Done(Probed::Down(why, wwid)) => {
                warn!("{name}: stale path, left out: {why}");
                // Kept, marked down, so find_multipaths counts it as
                // multipath-tools does; it enters no new table, but stays
                // in a live map that holds it (see assemble).
                if let Some(wwid) = wwid {
                    paths.push(Path {
                        name: candidate.name.clone(),
                        hctl: candidate.hctl,
                        devnum: candidate.devnum,
                        sectors: candidate.sectors,
                        wwid,
                        state: PathState::Down,
                        // No priority is asked of a down path: 0.9.4's PRIO_UNDEF.
                        priority: -1,
                        ..Path::default()
                    });
                }
            }
            JobResult::Done(Probed::Skipped(why)) => warn!("{name}: skipped: {why}"),
            JobResult::TimedOut => warn!(
                "{name}: no answer within {}s, path left out",
                budget.as_secs()
            ),
            JobResult::NotRun => warn!("{name}: not probed: every probe thread hung and no new one could start"),
        }
    }
    paths
}

/// Probes one path through its sg node (or its sd node when sg is absent).
/// With sysfs, cached INQUIRY data spares commands; without, all is asked.
fn probe_one(
    root: &FsPath,
    method: ScanMethod,
    candidate: &Candidate,
    options: &ProbeOptions,
    planner: &dyn Planner,
) -> Probed {
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
    probe::probe(candidate, attrs, transport, options, planner, root)
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

