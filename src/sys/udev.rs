//! Is a udev daemon there to confirm device-mapper events and make
//! `/dev/mapper` nodes?
//!
//! libdevmapper (and the devicemapper crate) decide this by whether
//! `/run/udev/control` exists, but systemd-udevd leaves that socket behind
//! when it exits, and a udev without device-mapper's rules never confirms
//! a cookie: both make a cookie wait hang forever. So the socket is asked
//! (a connection is accepted only by a live daemon) and the rule that
//! confirms cookies must be installed.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// udev's control socket, a SOCK_SEQPACKET listener.
const CONTROL: &str = "run/udev/control";
/// device-mapper's udev rule that confirms cookies (`dmsetup udevcomplete`).
const NOTIFY_RULE: &str = "95-dm-notify.rules";
/// device-mapper's udev rule that names devices (`/dev/mapper/<name>`):
/// upstream's file name, and Debian's.
const NAME_RULES: [&str; 2] = ["10-dm.rules", "55-dm.rules"];
/// Where udev reads rules from, in its own order of precedence.
const RULE_DIRS: [&str; 4] = ["etc/udev/rules.d", "run/udev/rules.d", "usr/lib/udev/rules.d", "lib/udev/rules.d"];

/// What udev will do for device-mapper, as far as can be told up front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Udev {
    /// A daemon answers and device-mapper's rules are installed: it makes
    /// the nodes and confirms cookies.
    Confirms,
    /// No cookie will be confirmed; the reason says why. Nodes are ours to make.
    Absent(String),
}

impl Udev {
    /// Asks the control socket under `root` and looks for the rules, unless
    /// `DM_DISABLE_UDEV` is set.
    pub fn detect(root: &Path) -> Udev {
        // libdevmapper's switch, honoured the same way.
        if std::env::var_os("DM_DISABLE_UDEV").is_some() {
            return Udev::Absent("DM_DISABLE_UDEV is set".into());
        }
        let socket = root.join(CONTROL);
        match socket_answers(&socket) {
            Answer::NoSocket => return Udev::Absent(format!("no {}", socket.display())),
            Answer::Refused(e) => {
                return Udev::Absent(format!("{} is left over, nothing answers it ({e})", socket.display()))
            }
            Answer::Listening => {}
        }
        if !NAME_RULES.iter().any(|rule| has_rule(root, rule)) {
            return Udev::Absent(format!("udev runs without device-mapper's {}", NAME_RULES.join(" or ")));
        }
        if !has_rule(root, NOTIFY_RULE) {
            return Udev::Absent(format!("udev runs without device-mapper's {NOTIFY_RULE}"));
        }
        Udev::Confirms
    }

    pub fn confirms(&self) -> bool {
        matches!(self, Udev::Confirms)
    }
}

enum Answer {
    NoSocket,
    Refused(io::Error),
    Listening,
}

fn socket_answers(path: &Path) -> Answer {
    if std::fs::symlink_metadata(path).is_err() {
        return Answer::NoSocket;
    }
    match connect_seqpacket(path) {
        Ok(()) => Answer::Listening,
        // A listener of another socket type still means a live daemon.
        Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => Answer::Listening,
        Err(e) => Answer::Refused(e),
    }
}

/// Connects to (and at once hangs up on) a SOCK_SEQPACKET unix socket.
fn connect_seqpacket(path: &Path) -> io::Result<()> {
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; zeroed is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() || CString::new(bytes).is_err() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: addr is a valid sockaddr_un of `len` bytes; fd is ours.
    let rc = unsafe { libc::connect(fd, std::ptr::addr_of!(addr).cast(), len) };
    let result = if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
    // SAFETY: fd is ours and closed once.
    unsafe { libc::close(fd) };
    result
}

fn has_rule(root: &Path, rule: &str) -> bool {
    RULE_DIRS.iter().any(|dir| root.join(dir).join(rule).exists())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempRoot;
    use std::os::unix::net::UnixListener;

    #[test]
    fn no_socket_means_no_udev() {
        let root = TempRoot::new("udev-none");
        assert!(matches!(Udev::detect(&root.0), Udev::Absent(why) if why.contains("no ")));
    }

    #[test]
    fn a_left_over_socket_is_not_a_daemon() {
        let root = TempRoot::new("udev-stale");
        root.write("lib/udev/rules.d/10-dm.rules", "");
        root.write("lib/udev/rules.d/95-dm-notify.rules", "");
        let socket = &root.0.join(CONTROL);
        std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
        drop(UnixListener::bind(socket).unwrap());
        assert!(socket.exists());
        assert!(matches!(Udev::detect(&root.0), Udev::Absent(why) if why.contains("left over")));
    }

    #[test]
    fn a_listening_daemon_with_the_rules_confirms() {
        let root = TempRoot::new("udev-live");
        let socket = &root.0.join(CONTROL);
        std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
        // A stream listener stands in for udevd's seqpacket one.
        let _listener = UnixListener::bind(socket).unwrap();
        match Udev::detect(&root.0) {
            Udev::Absent(why) => assert!(why.contains("10-dm.rules"), "{why}"),
            Udev::Confirms => panic!("rules are missing"),
        }
        root.write("usr/lib/udev/rules.d/55-dm.rules", "");
        assert!(matches!(Udev::detect(&root.0), Udev::Absent(why) if why.contains("95-dm-notify")));
        root.write("etc/udev/rules.d/95-dm-notify.rules", "");
        assert_eq!(Udev::detect(&root.0), Udev::Confirms);
    }
}
