//! The binary's command-line contract, run on the host (no device needed):
//! a bad argument gives the usage and exit status 2; help and version exit 0.

use std::process::{Command, Output};

fn mpath_boot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpath-boot"))
        .args(args)
        .output()
        .expect("run mpath-boot")
}

#[test]
fn bad_arguments_exit_2_with_the_usage() {
    for args in [&["--bogus"][..], &["-v", "9"], &["-p", "round-robin"], &["-f"], &["-l", "-F"], &["--wait", "x"]] {
        let out = mpath_boot(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("mpath-boot: "), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: mpath-boot [OPTIONS]"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_and_version_exit_0() {
    let help = mpath_boot(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for option in ["--dry-run", "--list", "--flush", "--flush-all", "--policy", "--scan", "--wait", "--cmdline"] {
        assert!(text.contains(option), "help lacks {option}");
    }
    let version = mpath_boot(&["-V"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("mpath-boot {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_root_without_sysfs_or_devices_finds_nothing_and_changes_nothing() {
    // --root points at an empty tree: the ioctl scan tries no node (no
    // mknod in a dry run), so there is nothing to do and nothing to fail.
    let root = std::env::temp_dir().join(format!("mpath-boot-cli-{}", std::process::id()));
    std::fs::create_dir_all(root.join("dev")).unwrap();
    let out = mpath_boot(&["--root", root.to_str().unwrap(), "-d", "-v2"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no multipath candidates found"));
    assert_eq!(std::fs::read_dir(root.join("dev")).unwrap().count(), 0);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_closed_stdout_loses_output_not_the_run() {
    // The reader is gone before mpath-boot writes (as `mpath-boot -t |
    // head -1` once head has exited): writes fail with EPIPE, and the run
    // must still end normally, not abort.
    let root = std::env::temp_dir().join(format!("mpath-boot-cli-pipe-{}", std::process::id()));
    std::fs::create_dir_all(root.join("dev")).unwrap();
    for args in [&["-t"][..], &["--help"], &["-V"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mpath-boot"))
            .args(args)
            .args(["--root", root.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run mpath-boot");
        drop(child.stdout.take());
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(0), "{args:?}: {status:?}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}
