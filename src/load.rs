//! Loading multipath maps into device-mapper: create, or reload when the
//! paths changed, or leave alone; and the nodes no udev will make.

use std::path::Path as FsPath;

use crate::path::DevNum;
use crate::sys::dm::{DeviceMapper, MapError, MapInfo, MULTIPATH_TARGET, UUID_PREFIX};
use crate::sys::nodes::{self, NodeKind, NodeOutcome};
use crate::table;

/// Opens device-mapper, making `/dev/mapper/control` first if it is
/// missing (never in a dry run).
pub fn open_device_mapper(root: &FsPath, mknod: bool, dry_run: bool) -> Option<DeviceMapper> {
    let control = root.join("dev/mapper/control");
    if mknod && !control.exists() {
        match nodes::ensure(&control, NodeKind::Char, nodes::dm_control_devnum(root)) {
            Ok(NodeOutcome::Conflict(why)) => warn!("{why}"),
            Ok(_) => {}
            Err(e) => error!("cannot create {}: {e}", control.display()),
        }
    }
    match DeviceMapper::open(root) {
        Ok(dm) => Some(dm),
        Err(e) if dry_run => {
            debug!("{e}: dry run goes on without checking existing maps");
            None
        }
        Err(e) => {
            error!("{e} (is dm-multipath loaded?)");
            None
        }
    }
}

/// What [`apply`] did to a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Reload,
    /// Renamed to the wanted name (and reloaded if its table differed).
    Rename,
    Unchanged,
    WouldCreate,
    WouldReload,
    WouldRename,
}

impl Action {
    /// The word the report line starts with.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Reload => "reload",
            Action::Rename => "rename",
            Action::Unchanged => "unchanged",
            Action::WouldCreate => "would create",
            Action::WouldReload => "would reload",
            Action::WouldRename => "would rename",
        }
    }
}

/// A single-target map as it should be.
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'a> {
    pub name: &'a str,
    pub uuid: &'a str,
    pub sectors: u64,
    pub target: &'a str,
    pub params: &'a str,
}

/// Creates the map, or reloads it when it exists (found by DM UUID) with
/// another table, or renames it when it exists under another name (a new
/// alias, as multipath's ACT_RENAME), or leaves it alone when `same` says
/// its table is the wanted one. Returns what was done and the map as the
/// kernel now has it. Multipath maps and their partition maps both go
/// through here.
pub fn apply(
    dm: &DeviceMapper,
    wanted: &Wanted<'_>,
    dry_run: bool,
    same: &dyn Fn(&MapInfo) -> bool,
) -> Result<(Action, Option<MapInfo>), MapError> {
    apply_known(dm, wanted, dry_run, same, None)
}

/// [`apply`], when the caller already holds the device with the wanted
/// UUID as the kernel listed it this round (`known`: `Some(None)` when
/// there is none), sparing the look-up.
pub fn apply_known(
    dm: &DeviceMapper,
    wanted: &Wanted<'_>,
    dry_run: bool,
    same: &dyn Fn(&MapInfo) -> bool,
    known: Option<Option<&MapInfo>>,
) -> Result<(Action, Option<MapInfo>), MapError> {
    let Wanted { name, uuid, sectors, target, params } = *wanted;
    let current = match known {
        Some(known) => known.cloned(),
        None => dm.by_uuid(uuid)?,
    };
    if let Some(existing) = current {
        let unchanged = same(&existing);
        let renamed = existing.name != name;
        if renamed && dm.by_name(name)?.is_some() {
            return Err(MapError {
                action: format!("rename {} to {name}", existing.name),
                errno: None,
                detail: "a device-mapper device of that name exists already; left untouched".into(),
            });
        }
        match (unchanged, renamed, dry_run) {
            (true, false, _) => return Ok((Action::Unchanged, Some(existing))),
            (_, true, true) => return Ok((Action::WouldRename, Some(existing))),
            (false, false, true) => return Ok((Action::WouldReload, Some(existing))),
            _ => {}
        }
        if renamed {
            dm.rename(&existing.name, name)?;
        }
        if !unchanged {
            dm.reload(name, sectors, target, params)?;
        }
        let action = if renamed { Action::Rename } else { Action::Reload };
        return Ok((action, dm.by_uuid(uuid)?));
    }
    let name_taken = |dm: &DeviceMapper| -> Result<Option<MapError>, MapError> {
        Ok(dm.by_name(name)?.map(|other| MapError {
            action: format!("create {name}"),
            errno: None,
            detail: format!(
                "a device-mapper device of that name exists with UUID {:?}; left untouched",
                other.uuid
            ),
        }))
    };
    // With the round's listing in hand the kernel is not asked first: it
    // refuses a name that is taken (EBUSY), and only then is it asked whose.
    if dry_run || known.is_none() {
        if let Some(taken) = name_taken(dm)? {
            return Err(taken);
        }
    }
    if dry_run {
        return Ok((Action::WouldCreate, None));
    }
    let devnum = match dm.create(name, uuid, sectors, target, params) {
        Ok(devnum) => devnum,
        Err(e) if e.errno == Some(nix::errno::Errno::EBUSY) => return Err(name_taken(dm)?.unwrap_or(e)),
        Err(e) => return Err(e),
    };
    // As the kernel now has it: no need to ask.
    let info = MapInfo {
        name: name.to_owned(),
        uuid: uuid.to_owned(),
        devnum,
        open_count: 0,
        targets: vec![(0, sectors, target.to_owned(), params.to_owned())],
    };
    Ok((Action::Create, Some(info)))
}

/// [`apply`] for a multipath map: unchanged when the kernel's table has
/// the same layout (the kernel echoes tables in a normalised form).
pub fn apply_multipath(
    dm: &DeviceMapper,
    name: &str,
    uuid: &str,
    sectors: u64,
    params: &str,
    dry_run: bool,
    known: Option<Option<&MapInfo>>,
) -> Result<(Action, Option<MapInfo>), MapError> {
    let wanted = Wanted {
        name,
        uuid,
        sectors,
        target: MULTIPATH_TARGET,
        params,
    };
    apply_known(dm, &wanted, dry_run, &|existing| is_same_map(existing, sectors, params), known)
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

/// Devices that are paths of the multipath maps given.
pub fn members_of(maps: &[MapInfo]) -> Vec<DevNum> {
    maps.iter()
        .filter(|m| m.is_multipath() && m.uuid.starts_with(UUID_PREFIX))
        .filter_map(|m| table::parse(&m.targets[0].3).ok())
        .flat_map(|t| t.devices().filter_map(DevNum::parse).collect::<Vec<_>>())
        .collect()
}

/// Makes a map's node `node` (`/dev/mapper/<name>`) where no udev will.
pub fn make_map_node(node: &FsPath, devnum: DevNum) {
    match nodes::ensure(node, NodeKind::Block, devnum) {
        Ok(NodeOutcome::Created) => debug!("created {}", node.display()),
        Ok(NodeOutcome::Present) => {}
        Ok(NodeOutcome::Conflict(why)) => warn!("{why}"),
        Err(e) => error!("cannot create {}: {e}", node.display()),
    }
}
