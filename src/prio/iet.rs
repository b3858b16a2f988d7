//! `iet`: iSCSI, preferring the paths to one portal IP address.
//!
//! `prio_args` is `preferredip=ADDRESS` (more than 7 characters). No SCSI
//! command: the portal address comes from udev's `/dev/disk/by-path`
//! links (`ip-10.0.0.1:3260-iscsi-...-lun-0 -> ../../sdc`). Priority 20
//! when some link names the path and an address that is a prefix of
//! ADDRESS, else 10; bad arguments give 0.
//!
//! The comparisons are multipath-tools' prefix tests, kept as they are:
//! the `sd[a-z]+` name in the link target need only be a prefix of the
//! path's name (a link to `sda` also matches `sdab`), and the address in
//! the link name need only be a prefix of ADDRESS.
//!
//! Without udev there is no `/dev/disk/by-path`: multipath-tools then
//! reads from a NULL directory handle and crashes; mpath-boot gives 10,
//! the value for "no link matches", and says why in the outcome.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{Outcome, PrioContext, PrioError};

/// Priority of a path to the preferred portal.
pub const PREFERRED: u32 = 20;
/// Priority of every other path.
pub const OTHER: u32 = 10;
/// Priority when `prio_args` is unusable.
pub const ON_BAD_ARGS: u32 = 0;

/// Where udev keeps the links, below the root.
pub const BY_PATH_DIR: &str = "dev/disk/by-path";

/// One directory entry: its name and, for a symbolic link, its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub name: Vec<u8>,
    pub target: Option<Vec<u8>>,
}

/// The preferred address from `prio_args` (iet.c's `preferredip=%s`).
pub fn parse_args(args: &str) -> Result<&str, PrioError> {
    let bad = |detail: String| PrioError::Args {
        prioritizer: "iet",
        detail,
    };
    let value = args
        .strip_prefix("preferredip=")
        .map(|rest| rest.trim_start_matches(is_c_space))
        .and_then(|rest| rest.split(is_c_space).next())
        .filter(|word| !word.is_empty())
        .ok_or_else(|| bad(format!("{args:?} is not \"preferredip=ADDRESS\"")))?;
    if value.len() <= 7 {
        return Err(bad(format!("preferredip {value:?} is too short (8 characters at least)")));
    }
    Ok(value)
}

/// C `isspace` in the C locale, which ends a `%s` word.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Reads `<root>/dev/disk/by-path` and computes the priority.
pub fn query(ctx: &PrioContext<'_>) -> Outcome {
    let preferred = match parse_args(ctx.args) {
        Ok(ip) => ip,
        Err(why) => return Outcome::fallback(ON_BAD_ARGS, why),
    };
    let dir = ctx.root.join(BY_PATH_DIR);
    match read_links(&dir) {
        Ok(links) => Outcome::value(priority_from_links(ctx.dev_name, preferred, &links)),
        Err(e) => Outcome::fallback(
            OTHER,
            PrioError::Unavailable(format!(
                "{}: {e} (no udev by-path links: every path gets the non-preferred priority)",
                dir.display()
            )),
        ),
    }
}

/// The entries of a by-path directory, with link targets.
pub fn read_links(dir: &Path) -> std::io::Result<Vec<Link>> {
    let mut links = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let target = std::fs::read_link(entry.path()).ok();
        links.push(Link {
            name: entry.file_name().as_bytes().to_vec(),
            target: target.map(|t| t.as_os_str().as_bytes().to_vec()),
        });
    }
    Ok(links)
}

/// 20 when a link (not hidden) points at `dev` and carries an address
/// that is a prefix of `preferred`, else 10.
pub fn priority_from_links(dev: &str, preferred: &str, links: &[Link]) -> u32 {
    let matches = |link: &Link| {
        let Some(target) = &link.target else { return false };
        if link.name.first() == Some(&b'.') {
            return false;
        }
        let names_dev = find_sd_name(target).is_some_and(|sd| dev.as_bytes().starts_with(sd));
        names_dev && find_ipv4(&link.name).is_some_and(|ip| preferred.as_bytes().starts_with(ip))
    };
    if links.iter().any(matches) {
        PREFERRED
    } else {
        OTHER
    }
}

/// Leftmost match of the POSIX ERE `sd[a-z]+` (longest at that start).
pub fn find_sd_name(text: &[u8]) -> Option<&[u8]> {
    (0..text.len()).find_map(|start| {
        let rest = text.get(start..)?;
        let letters = rest.get(2..)?.iter().take_while(|b| b.is_ascii_lowercase()).count();
        (rest.starts_with(b"sd") && letters > 0).then(|| rest.get(..2 + letters)).flatten()
    })
}

/// Leftmost match of `[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}`
/// (longest at that start).
pub fn find_ipv4(text: &[u8]) -> Option<&[u8]> {
    (0..text.len()).find_map(|start| {
        let rest = text.get(start..)?;
        ipv4_len_at(rest).and_then(|len| rest.get(..len))
    })
}

/// Length of the address pattern matched at the start of `text`.
fn ipv4_len_at(text: &[u8]) -> Option<usize> {
    let mut at = 0;
    for group in 0..4 {
        let digits = text.get(at..)?.iter().take(3).take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        at += digits;
        if group < 3 {
            // A dot must follow at once; a fourth digit means no match here.
            if text.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
    }
    Some(at)
}

/// Builds a [`Link`] from text, for tests and callers with listings.
pub fn link(name: &str, target: Option<&str>) -> Link {
    Link {
        name: name.as_bytes().to_vec(),
        target: target.map(|t| t.as_bytes().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempRoot;

    const PORTAL_A: &str = "ip-192.168.10.5:3260-iscsi-iqn.2003-01.org.linux-iscsi.t1:sn.1-lun-0";
    const PORTAL_B: &str = "ip-192.168.20.5:3260-iscsi-iqn.2003-01.org.linux-iscsi.t1:sn.1-lun-0";

    #[test]
    fn args() {
        assert_eq!(parse_args("preferredip=192.168.10.5"), Ok("192.168.10.5"));
        assert_eq!(parse_args("preferredip=  10.0.0.1 x"), Ok("10.0.0.1"));
        assert_eq!(parse_args("preferredip=\x0b10.0.0.1\x0bx"), Ok("10.0.0.1"));
        assert!(parse_args("preferredip=1.2.3.4").is_err(), "7 characters");
        assert!(parse_args("").is_err());
        assert!(parse_args("preferredip=").is_err());
        assert!(parse_args(" preferredip=10.0.0.1").is_err());
    }

    #[test]
    fn pattern_finders() {
        assert_eq!(find_sd_name(b"../../sdc"), Some(&b"sdc"[..]));
        assert_eq!(find_sd_name(b"../../sdab1"), Some(&b"sdab"[..]));
        assert_eq!(find_sd_name(b"../../nvme0n1"), None);
        assert_eq!(find_sd_name(b"sd"), None);
        assert_eq!(find_ipv4(PORTAL_A.as_bytes()), Some(&b"192.168.10.5"[..]));
        assert_eq!(find_ipv4(b"x1234.5.6.7"), Some(&b"234.5.6.7"[..]));
        assert_eq!(find_ipv4(b"1.2.3.4567"), Some(&b"1.2.3.456"[..]));
        assert_eq!(find_ipv4(b"1.2.3."), None);
        assert_eq!(find_ipv4(b""), None);
    }

    #[test]
    fn preferred_portal_wins() {
        let links = [
            link(PORTAL_A, Some("../../sdc")),
            link(PORTAL_B, Some("../../sdd")),
            link(&format!("{PORTAL_A}-part1"), Some("../../sdc1")),
        ];
        assert_eq!(priority_from_links("sdc", "192.168.10.5", &links), PREFERRED);
        assert_eq!(priority_from_links("sdd", "192.168.10.5", &links), OTHER);
        assert_eq!(priority_from_links("sdd", "192.168.20.5", &links), PREFERRED);
        assert_eq!(priority_from_links("sde", "192.168.10.5", &links), OTHER);
        // multipath-tools' prefix tests.
        assert_eq!(priority_from_links("sdcz", "192.168.10.5", &links), PREFERRED);
        assert_eq!(priority_from_links("sdc", "192.168.10.55", &links), PREFERRED);
        let hidden = [link(&format!(".{PORTAL_A}"), Some("../../sdc")), link(PORTAL_A, None)];
        assert_eq!(priority_from_links("sdc", "192.168.10.5", &hidden), OTHER);
    }

    #[test]
    fn reads_by_path_links_under_a_root() {
        let root = TempRoot::new("prio-iet");
        let dir = root.0.join(BY_PATH_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("../../sdc", dir.join(PORTAL_A)).unwrap();
        std::fs::write(dir.join("not-a-link"), b"").unwrap();
        let mut ctx = crate::prio::tests::context("preferredip=192.168.10.5", &root.0);
        assert_eq!(query(&ctx).priority, Ok(PREFERRED));
        ctx.dev_name = "sdd";
        assert_eq!(query(&ctx).priority, Ok(OTHER));
        ctx.args = "preferredip=short";
        assert_eq!(query(&ctx).priority, Ok(ON_BAD_ARGS));
    }

    #[test]
    fn no_udev_gives_the_no_match_value() {
        let root = TempRoot::new("prio-iet-none");
        let ctx = crate::prio::tests::context("preferredip=192.168.10.5", &root.0);
        let out = query(&ctx);
        assert_eq!(out.priority, Ok(OTHER));
        assert!(matches!(out.fallback, Some(PrioError::Unavailable(_))));
    }
}
