//! Device nodes under `<root>/dev` for environments with no udev.
//!
//! Nodes are made with mode 0600 and owner root. An existing node with the
//! right type and numbers is left alone; anything else at that name is
//! reported and never replaced.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use rustix::fs::{FileType, Mode, CWD};

use crate::path::DevNum;

/// Character (sg, control) or block (sd, dm) node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Char,
    Block,
}

/// What [`ensure`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeOutcome {
    /// A correct node was already there.
    Present,
    Created,
    /// Something else has that name; it was left untouched.
    Conflict(String),
}

/// Misc minor of device-mapper's control node when `/proc/misc` says nothing.
pub const DM_CONTROL_MINOR: u32 = 236;
const MISC_MAJOR: u32 = 10;

/// Makes sure `path` is a `kind` node for `devnum`, creating it if absent.
pub fn ensure(path: &Path, kind: NodeKind, devnum: DevNum) -> io::Result<NodeOutcome> {
    match probe(path, kind, devnum) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file_type = match kind {
                NodeKind::Char => FileType::CharacterDevice,
                NodeKind::Block => FileType::BlockDevice,
            };
            let dev = rustix::fs::makedev(devnum.major, devnum.minor);
            let make = || rustix::fs::mknodat(CWD, path, file_type, Mode::RUSR | Mode::WUSR, dev);
            // The directory is there for every node but the first.
            match make() {
                Err(rustix::io::Errno::NOENT) => {
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent)?;
                    }
                    make().map_err(io::Error::from)?;
                }
                other => other.map_err(io::Error::from)?,
            }
            Ok(NodeOutcome::Created)
        }
        other => other,
    }
}

/// The names in directory `dir`, sorted; `None` when it cannot be listed.
pub fn names_in(dir: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    Some(names)
}

/// What is at `path`: the right node, something else, or (as an error of
/// kind NotFound) nothing.
pub fn probe(path: &Path, kind: NodeKind, devnum: DevNum) -> io::Result<NodeOutcome> {
    // udev's /dev/mapper/NAME is a link to ../dm-N: judged by its target.
    let meta = match fs::symlink_metadata(path) {
        Ok(link) if link.file_type().is_symlink() => match fs::metadata(path) {
            Ok(target) => Ok(target),
            Err(_) => return Ok(NodeOutcome::Conflict(format!("{} is a dangling link", path.display()))),
        },
        other => other,
    };
    match meta {
        Ok(meta) => {
            let ft = meta.file_type();
            let right_kind = match kind {
                NodeKind::Char => ft.is_char_device(),
                NodeKind::Block => ft.is_block_device(),
            };
            let rdev = meta.rdev();
            let found = DevNum {
                major: rustix::fs::major(rdev),
                minor: rustix::fs::minor(rdev),
            };
            if right_kind && found == devnum {
                Ok(NodeOutcome::Present)
            } else if right_kind {
                Ok(NodeOutcome::Conflict(format!(
                    "{} is device {found}, not {devnum}",
                    path.display()
                )))
            } else {
                Ok(NodeOutcome::Conflict(format!(
                    "{} exists and is not a {} device node",
                    path.display(),
                    if kind == NodeKind::Char { "character" } else { "block" }
                )))
            }
        }
        Err(e) => Err(e),
    }
}

/// Removes `path` if it is the `kind` node of `devnum`; otherwise leaves it.
pub fn remove_if(path: &Path, kind: NodeKind, devnum: DevNum) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) if probe(path, kind, devnum)? == NodeOutcome::Present => {
            fs::remove_file(path)?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The minor of a misc device named `name` in `/proc/misc` text.
pub fn misc_minor(proc_misc: &str, name: &str) -> Option<u32> {
    proc_misc.lines().find_map(|line| {
        let (minor, dev) = line.trim().split_once(char::is_whitespace)?;
        (dev.trim() == name).then(|| minor.parse().ok()).flatten()
    })
}

/// Device number of `/dev/mapper/control`, from `<root>/proc/misc`.
pub fn dm_control_devnum(root: &Path) -> DevNum {
    let minor = fs::read_to_string(root.join("proc/misc"))
        .ok()
        .and_then(|text| misc_minor(&text, "device-mapper"))
        .unwrap_or(DM_CONTROL_MINOR);
    DevNum {
        major: MISC_MAJOR,
        minor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_lists_a_directory_sorted() {
        let root = crate::test_support::TempRoot::new("node-names");
        for name in ["sg10", "sda", "sg2", "mapper/control"] {
            root.write(&format!("dev/{name}"), "");
        }
        assert_eq!(names_in(&root.0.join("dev")).unwrap(), ["mapper", "sda", "sg10", "sg2"]);
        assert_eq!(names_in(&root.0.join("nowhere")), None);
    }

    #[test]
    fn a_link_is_judged_by_its_target() {
        let root = crate::test_support::TempRoot::new("node-links");
        let link = root.0.join("null-link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        let null = DevNum { major: 1, minor: 3 };
        assert_eq!(probe(&link, NodeKind::Char, null).unwrap(), NodeOutcome::Present);
        assert!(matches!(probe(&link, NodeKind::Block, null).unwrap(), NodeOutcome::Conflict(_)));
        let dangling = root.0.join("dangling");
        std::os::unix::fs::symlink(root.0.join("nowhere"), &dangling).unwrap();
        assert!(matches!(ensure(&dangling, NodeKind::Block, null).unwrap(), NodeOutcome::Conflict(why) if why.contains("dangling")));
    }

    #[test]
    fn misc_minor_lookup() {
        let text = "236 device-mapper\n 58 network_throughput\n183 hw_random\n";
        assert_eq!(misc_minor(text, "device-mapper"), Some(236));
        assert_eq!(misc_minor(text, "hw_random"), Some(183));
        assert_eq!(misc_minor(text, "nope"), None);
        assert_eq!(misc_minor("garbage\n\n x y z\n", "y z"), None);
    }

    #[test]
    fn existing_non_node_is_a_conflict_and_untouched() {
        let dir = std::env::temp_dir().join(format!("mpath-boot-nodes-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plain");
        fs::write(&file, "keep me").unwrap();
        let outcome = ensure(&file, NodeKind::Block, DevNum { major: 8, minor: 0 }).unwrap();
        assert!(matches!(outcome, NodeOutcome::Conflict(ref m) if m.contains("not a block")));
        assert!(!remove_if(&file, NodeKind::Block, DevNum { major: 8, minor: 0 }).unwrap());
        assert_eq!(fs::read_to_string(&file).unwrap(), "keep me");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn existing_null_device_is_recognised() {
        let null = Path::new("/dev/null");
        let devnum = DevNum { major: 1, minor: 3 };
        assert_eq!(ensure(null, NodeKind::Char, devnum).unwrap(), NodeOutcome::Present);
        assert!(matches!(
            ensure(null, NodeKind::Char, DevNum { major: 1, minor: 5 }).unwrap(),
            NodeOutcome::Conflict(_)
        ));
        assert!(matches!(
            ensure(null, NodeKind::Block, devnum).unwrap(),
            NodeOutcome::Conflict(_)
        ));
    }
}
