//! Device-mapper operations, through the devicemapper crate's ioctl layer.
//!
//! Only this module talks to `/dev/mapper/control`. It knows nothing about
//! SCSI: it creates, reloads, lists and removes `multipath` maps from the
//! table text that `table` builds.

use core::fmt;

use devicemapper::{errors, DevId, DmError, DmFlags, DmName, DmOptions, DmUuid, DM};

use crate::path::DevNum;

/// Target type of multipath maps.
pub const MULTIPATH_TARGET: &str = "multipath";
/// DM UUID prefix multipath-tools uses, so multipathd adopts our maps.
pub const UUID_PREFIX: &str = "mpath-";

/// A device-mapper operation failed.
#[derive(Debug)]
pub struct MapError {
    /// What was being done, with the map name.
    pub action: String,
    /// The errno of the failing ioctl, when there was one.
    pub errno: Option<nix::errno::Errno>,
    pub detail: String,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno {
            Some(errno) => write!(f, "{}: {} ({errno:?})", self.action, errno.desc()),
            None => write!(f, "{}: {}", self.action, self.detail),
        }
    }
}

impl std::error::Error for MapError {}

fn map_error(action: impl Into<String>) -> impl FnOnce(DmError) -> MapError {
    let action = action.into();
    move |err| MapError {
        action,
        errno: errno_of(&err),
        detail: err.to_string(),
    }
}

fn errno_of(err: &DmError) -> Option<nix::errno::Errno> {
    match err {
        DmError::Core(errors::Error::Ioctl(_, _, _, errno)) => Some(**errno),
        _ => None,
    }
}

/// One device-mapper device as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapInfo {
    pub name: String,
    pub uuid: String,
    pub devnum: DevNum,
    pub open_count: i32,
    /// Targets of the active table: (start, length, type, params).
    pub targets: Vec<(u64, u64, String, String)>,
}

impl MapInfo {
    /// Total length in sectors.
    pub fn sectors(&self) -> u64 {
        self.targets.iter().map(|t| t.1).sum()
    }

    /// True for a single-target `multipath` map.
    pub fn is_multipath(&self) -> bool {
        self.targets.len() == 1 && self.targets[0].2 == MULTIPATH_TARGET
    }
}

/// A handle on the device-mapper control node.
pub struct DeviceMapper {
    dm: DM,
}

impl DeviceMapper {
    /// Opens `/dev/mapper/control`.
    pub fn open() -> Result<DeviceMapper, MapError> {
        DM::new()
            .map(|dm| DeviceMapper { dm })
            .map_err(map_error("open /dev/mapper/control"))
    }

    /// Kernel device-mapper interface version.
    pub fn version(&self) -> Result<(u32, u32, u32), MapError> {
        self.dm.version().map_err(map_error("query device-mapper version"))
    }

    fn info(&self, id: &DevId<'_>, what: &str) -> Result<Option<MapInfo>, MapError> {
        let info = match self.dm.device_info(id) {
            Ok(info) => info,
            Err(err) if errno_of(&err) == Some(nix::errno::Errno::ENXIO) => return Ok(None),
            Err(err) => return Err(map_error(format!("look up {what}"))(err)),
        };
        let name = info.name().map(|n| n.to_string()).unwrap_or_default();
        let uuid = info.uuid().map(|u| u.to_string()).unwrap_or_default();
        let device = info.device();
        let targets = match self
            .dm
            .table_status(id, DmOptions::default().set_flags(DmFlags::DM_STATUS_TABLE))
        {
            Ok((_, targets)) => targets,
            Err(err) => return Err(map_error(format!("read the table of {what}"))(err)),
        };
        Ok(Some(MapInfo {
            name,
            uuid,
            devnum: DevNum {
                major: device.major,
                minor: device.minor,
            },
            open_count: info.open_count(),
            targets,
        }))
    }

    /// The device with this DM UUID, if any.
    pub fn by_uuid(&self, uuid: &str) -> Result<Option<MapInfo>, MapError> {
        let id = DmUuid::new(uuid).map_err(map_error(format!("use UUID {uuid}")))?;
        self.info(&DevId::Uuid(id), uuid)
    }

    /// The device with this name, if any.
    pub fn by_name(&self, name: &str) -> Result<Option<MapInfo>, MapError> {
        let id = DmName::new(name).map_err(map_error(format!("use name {name}")))?;
        self.info(&DevId::Name(id), name)
    }

    /// Every device-mapper device, sorted by name.
    pub fn list(&self) -> Result<Vec<MapInfo>, MapError> {
        let devices = self.dm.list_devices().map_err(map_error("list maps"))?;
        let mut maps = Vec::new();
        for (name, _, _) in devices {
            // A device removed between list and info is simply gone.
            if let Some(info) = self.by_name(&name.to_string())? {
                maps.push(info);
            }
        }
        maps.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(maps)
    }

    /// Status text (`dmsetup status`) of a map's targets.
    pub fn status(&self, name: &str) -> Result<Vec<(u64, u64, String, String)>, MapError> {
        let id = DmName::new(name).map_err(map_error(format!("use name {name}")))?;
        self.dm
            .table_status(&DevId::Name(id), DmOptions::default())
            .map(|(_, targets)| targets)
            .map_err(map_error(format!("read the status of {name}")))
    }

    /// Creates and activates a map with one `target` (`multipath`,
    /// `linear`). A device created but not loaded is removed again, leaving
    /// nothing behind.
    pub fn create(&self, name: &str, uuid: &str, sectors: u64, target: &str, params: &str) -> Result<DevNum, MapError> {
        let dm_name = DmName::new(name).map_err(map_error(format!("use name {name}")))?;
        let dm_uuid = DmUuid::new(uuid).map_err(map_error(format!("use UUID {uuid}")))?;
        let info = self
            .dm
            .device_create(dm_name, Some(dm_uuid), DmOptions::default())
            .map_err(map_error(format!("create {name}")))?;
        let id = DevId::Name(dm_name);
        let table = [(0, sectors, target.to_owned(), params.to_owned())];
        let loaded = self
            .dm
            .table_load(&id, &table, DmOptions::default())
            .map_err(map_error(format!("load the table of {name}")))
            .and_then(|_| {
                self.dm
                    .device_suspend(&id, DmOptions::default())
                    .map_err(map_error(format!("activate {name}")))
            });
        if let Err(err) = loaded {
            let _ = self.dm.device_remove(&id, DmOptions::default());
            return Err(err);
        }
        let device = info.device();
        Ok(DevNum {
            major: device.major,
            minor: device.minor,
        })
    }

    /// Replaces the table of a live map: load, suspend without flushing
    /// queued I/O, resume. A load the kernel refuses leaves the map as it was.
    pub fn reload(&self, name: &str, sectors: u64, target: &str, params: &str) -> Result<(), MapError> {
        let dm_name = DmName::new(name).map_err(map_error(format!("use name {name}")))?;
        let id = DevId::Name(dm_name);
        let table = [(0, sectors, target.to_owned(), params.to_owned())];
        self.dm
            .table_load(&id, &table, DmOptions::default())
            .map_err(map_error(format!("load the new table of {name}")))?;
        let suspended = self.dm.device_suspend(
            &id,
            DmOptions::default().set_flags(DmFlags::DM_SUSPEND | DmFlags::DM_NOFLUSH),
        );
        if let Err(err) = suspended {
            let _ = self.dm.table_clear(&id);
            return Err(map_error(format!("suspend {name}"))(err));
        }
        self.dm
            .device_suspend(&id, DmOptions::default().set_flags(DmFlags::DM_NOFLUSH))
            .map(|_| ())
            .map_err(map_error(format!("resume {name}")))
    }

    /// Renames a map (multipath's ACT_RENAME, when its alias changed).
    pub fn rename(&self, old: &str, new: &str) -> Result<(), MapError> {
        let old_name = DmName::new(old).map_err(map_error(format!("use name {old}")))?;
        let new_name = DmName::new(new).map_err(map_error(format!("use name {new}")))?;
        self.dm
            .device_rename(old_name, &DevId::Name(new_name))
            .map(|_| ())
            .map_err(map_error(format!("rename {old} to {new}")))
    }

    /// Removes a map. The kernel refuses (EBUSY) while it is open.
    pub fn remove(&self, name: &str) -> Result<(), MapError> {
        let dm_name = DmName::new(name).map_err(map_error(format!("use name {name}")))?;
        self.dm
            .device_remove(&DevId::Name(dm_name), DmOptions::default())
            .map(|_| ())
            .map_err(map_error(format!("remove {name}")))
    }
}
