//! Options from the kernel command line, for the initramfs integrations.
//!
//! `rd.multipath=0` (dracut's convention) and `mpath_boot=off` disable
//! mpath-boot; `mpath_boot.wait=SECONDS`, `mpath_boot.policy=POLICY` and
//! `mpath_boot.paths=N` tune it; `root=/dev/mapper/NAME` names a device to
//! wait for, unless `mpath_boot.expect=NAME` (repeatable) names the devices
//! instead (for a root on LVM over multipath, whose name mpath-boot never
//! makes). A bad value never fails the boot: it is reported and the default
//! is kept.

use crate::config::FindMultipaths;
use crate::group::Policy;

/// Longest wait accepted from the command line.
pub const WAIT_MAX: u64 = 3600;

/// What the kernel command line asks of mpath-boot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootArgs {
    /// `rd.multipath=0` or `mpath_boot=off`.
    pub disabled: bool,
    pub wait_seconds: Option<u64>,
    pub policy: Option<Policy>,
    /// `mpath_boot.find_multipaths=MODE`.
    pub find_multipaths: Option<FindMultipaths>,
    /// Paths every map should have before waiting ends.
    pub min_paths: Option<usize>,
    /// Device-mapper names to wait for (`mpath_boot.expect=`, else `root=`).
    pub expect: Vec<String>,
    /// Messages about values that were ignored.
    pub ignored: Vec<String>,
}

/// Parses `/proc/cmdline` text.
pub fn parse(cmdline: &str) -> BootArgs {
    let mut args = BootArgs::default();
    let mut from_root = Vec::new();
    for word in cmdline.split_whitespace() {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k, v.trim_matches('"')),
            None => (word, ""),
        };
        let mut ignore = |why: &str| {
            args.ignored
                .push(format!("ignoring kernel command line option {word:?}: {why}; using the default"))
        };
        match key {
            "rd.multipath" => match value {
                "0" => args.disabled = true,
                "1" | "" => {}
                _ => ignore("rd.multipath takes 0 or 1"),
            },
            "mpath_boot" => match value {
                "off" | "0" | "no" => args.disabled = true,
                "on" | "1" | "yes" | "" => {}
                _ => ignore("mpath_boot takes on or off"),
            },
            "mpath_boot.wait" => match value.parse::<u64>() {
                Ok(n) if n <= WAIT_MAX => args.wait_seconds = Some(n),
                _ => ignore(&format!("the wait is a number of seconds from 0 to {WAIT_MAX}")),
            },
            "mpath_boot.policy" => match Policy::parse(value) {
                Some(p) => args.policy = Some(p),
                None => ignore("the policy is failover, multibus, group_by_prio, group_by_serial or group_by_node_name"),
            },
            "mpath_boot.find_multipaths" => match FindMultipaths::parse(value) {
                Some(mode) => args.find_multipaths = Some(mode),
                None => ignore("find_multipaths is off, on, strict, greedy or smart"),
            },
            "mpath_boot.paths" => match value.parse::<usize>() {
                Ok(n) if (1..=crate::limits::MAX_PATHS_PER_MAP).contains(&n) => args.min_paths = Some(n),
                _ => ignore(&format!(
                    "the path count is a number from 1 to {}",
                    crate::limits::MAX_PATHS_PER_MAP
                )),
            },
            "root" => {
                if let Some(name) = mapper_name(value) {
                    from_root.push(name.to_owned());
                }
            }
            "mpath_boot.expect" => {
                let name = mapper_name(value).unwrap_or(value);
                if name.is_empty() || name.contains('/') {
                    ignore("mpath_boot.expect takes a map name or /dev/mapper/NAME");
                } else {
                    args.expect.push(name.to_owned());
                }
            }
            k if k.starts_with("mpath_boot.") => ignore("unknown mpath_boot option"),
            _ => {}
        }
    }
    if args.expect.is_empty() {
        args.expect = from_root;
    }
    args
}

/// The device-mapper name in `/dev/mapper/NAME` or
/// `/dev/disk/by-id/dm-name-NAME`, if `device` is such a path.
pub fn mapper_name(device: &str) -> Option<&str> {
    let name = device
        .strip_prefix("/dev/mapper/")
        .or_else(|| device.strip_prefix("/dev/disk/by-id/dm-name-"))?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_boot_line() {
        let a = parse(
            "BOOT_IMAGE=/vmlinuz root=/dev/mapper/35000c50015ea71ac-part1 ro quiet \
             mpath_boot.wait=30 mpath_boot.paths=2 mpath_boot.policy=multibus mpath_boot.find_multipaths=greedy",
        );
        assert!(!a.disabled);
        assert_eq!(a.wait_seconds, Some(30));
        assert_eq!(a.min_paths, Some(2));
        assert_eq!(a.find_multipaths, Some(FindMultipaths::Greedy));
        assert_eq!(a.policy, Some(Policy::Multibus));
        assert_eq!(a.expect, ["35000c50015ea71ac-part1"]);
        assert!(a.ignored.is_empty());
    }

    #[test]
    fn disabling() {
        assert!(parse("rd.multipath=0").disabled);
        assert!(parse("mpath_boot=off").disabled);
        assert!(!parse("rd.multipath=1 mpath_boot=on").disabled);
    }

    #[test]
    fn bad_values_are_reported_and_ignored() {
        let a = parse(
            "mpath_boot.wait=abc mpath_boot.wait=99999 mpath_boot.policy=fast mpath_boot.find_multipaths=maybe \
             mpath_boot.paths=0 mpath_boot.bogus=1 rd.multipath=maybe mpath_boot=perhaps",
        );
        assert_eq!(a, BootArgs { ignored: a.ignored.clone(), ..BootArgs::default() });
        assert_eq!(a.ignored.len(), 8);
        assert!(a.ignored[0].contains("mpath_boot.wait=abc"));
        assert!(a.ignored.iter().all(|m| m.contains("using the default")));
    }

    #[test]
    fn root_forms() {
        assert_eq!(parse("root=/dev/disk/by-id/dm-name-mp0").expect, ["mp0"]);
        assert!(parse("root=/dev/sda1").expect.is_empty());
        assert!(parse("root=UUID=1234").expect.is_empty());
        assert!(parse("root=/dev/mapper/").expect.is_empty());
        assert!(parse("root=/dev/mapper/a/b").expect.is_empty());
    }

    #[test]
    fn explicit_expectations_replace_the_root_device() {
        let a = parse("root=/dev/mapper/vg-root mpath_boot.expect=3600a mpath_boot.expect=/dev/mapper/3600b-part2");
        assert_eq!(a.expect, ["3600a", "3600b-part2"]);
        let bad = parse("root=/dev/mapper/vg-root mpath_boot.expect=/dev/sda");
        assert_eq!(bad.expect, ["vg-root"]);
        assert_eq!(bad.ignored.len(), 1);
    }

    #[test]
    fn empty_and_odd_lines() {
        assert_eq!(parse(""), BootArgs::default());
        assert_eq!(parse("   \n"), BootArgs::default());
        assert_eq!(parse("= == =x x= \"\"").ignored.len(), 0);
    }
}
