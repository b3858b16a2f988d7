//! Names, UUIDs and tables of the partition maps, as kpartx makes them for
//! a multipath map (`kpartx -p -part`): `<map>-part<N>`, DM UUID
//! `part<N>-mpath-<wwid>`, a `linear` target on the multipath map. The UUID
//! is what udev rules and `multipath -F` use to find a map's partitions, so
//! it must match the booted system's exactly.

use super::Partition;

/// Longest device-mapper name (DM_NAME_LEN, 128, less the NUL).
pub const DM_NAME_MAX: usize = 127;
/// Longest device-mapper UUID (DM_UUID_LEN, 129, less the NUL).
pub const DM_UUID_MAX: usize = 128;

/// One partition map to load: a single `linear` target of `sectors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMap {
    pub name: String,
    pub uuid: String,
    pub sectors: u64,
    /// `linear` parameters: `<major:minor of the multipath map> <start>`,
    /// the form the kernel echoes back in the table.
    pub params: String,
}

/// The partition maps of multipath map `map_name` (DM UUID `mpath-<wwid>`,
/// device number `map_devnum` such as "254:0"). A partition whose name or
/// UUID would be too long for device-mapper is left out with an error
/// message.
pub fn plan(
    map_name: &str,
    wwid: &str,
    map_devnum: &str,
    parts: &[Partition],
) -> Vec<PartitionMap> {
    let mut maps = Vec::with_capacity(parts.len());
    for part in parts {
        let name = format!("{map_name}-part{}", part.number);
        let uuid = format!("part{}-mpath-{wwid}", part.number);
        if name.len() > DM_NAME_MAX {
            error!("{name}: partition map name longer than {DM_NAME_MAX} bytes, not created");
            continue;
        }
        if uuid.len() > DM_UUID_MAX {
            error!("{name}: DM UUID {uuid} longer than {DM_UUID_MAX} bytes, not created");
            continue;
        }
        let params = format!("{map_devnum} {}", part.start);
        maps.push(PartitionMap {
            name,
            uuid,
            sectors: part.sectors,
            params,
        });
    }
    maps
}

#[cfg(test)]
mod tests {
    use super::*;

    const WWID: &str = "3600140531e2f3c1e9b14b5db6e7a8f90";

    use crate::partitions::testimage::part;

    #[test]
    fn names_uuids_and_tables() {
        let maps = plan(
            "mpatha",
            WWID,
            "254:0",
            &[part(1, 2048, 32768), part(3, 34816, 40960)],
        );
        assert_eq!(
            maps,
            [
                PartitionMap {
                    name: "mpatha-part1".into(),
                    uuid: format!("part1-mpath-{WWID}"),
                    sectors: 32768,
                    params: "254:0 2048".into(),
                },
                PartitionMap {
                    name: "mpatha-part3".into(),
                    uuid: format!("part3-mpath-{WWID}"),
                    sectors: 40960,
                    params: "254:0 34816".into(),
                },
            ]
        );
    }

    #[test]
    fn names_at_the_limits() {
        // "-part5" is 6 bytes: a 121-byte map name just fits, 122 does not.
        let fits = "m".repeat(121);
        let too_long = "m".repeat(122);
        assert_eq!(
            plan(&fits, WWID, "254:0", &[part(5, 1, 1)])[0].name.len(),
            DM_NAME_MAX
        );
        assert!(plan(&too_long, WWID, "254:0", &[part(5, 1, 1)]).is_empty());
        // "part12-mpath-" is 13 bytes: a 115-byte WWID just fits.
        let wwid = "3".repeat(115);
        assert_eq!(
            plan("mpatha", &wwid, "254:0", &[part(12, 1, 1)])[0]
                .uuid
                .len(),
            DM_UUID_MAX
        );
        let maps = plan(
            "mpatha",
            &wwid,
            "254:0",
            &[part(9, 1, 1), part(12, 1, 1), part(100, 1, 1)],
        );
        let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["mpatha-part9", "mpatha-part12"]);
    }
}
