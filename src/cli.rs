//! Command-line parsing: pure, so every bad argument is a tested usage error.

use core::fmt;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::discover::ScanMethod;
use crate::group::Policy;

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Discover paths and create or reload maps (the default).
    Assemble,
    /// List the multipath maps the kernel holds.
    List,
    /// Remove one map if it is not open.
    Flush(String),
    /// Remove every multipath map that is not open.
    FlushAll,
    Help,
    Version,
}

/// Everything the command line can set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub command: Command,
    pub dry_run: bool,
    pub verbosity: u8,
    pub policy: Policy,
    /// Timeout of every SCSI command.
    pub timeout: Duration,
    /// Paths probed at once.
    pub jobs: usize,
    /// Root under which `sys/`, `dev/`, `proc/` and `run/` are found.
    pub root: PathBuf,
    pub scan: ScanMethod,
    /// Highest sg/sd index the ioctl scan tries, plus one.
    pub max_devices: u32,
    /// Create missing device nodes.
    pub mknod: bool,
    /// Make partition maps on the maps.
    pub partitions: bool,
    /// Rescan for up to this many seconds until the expectations hold.
    pub wait_seconds: Option<u64>,
    /// Device-mapper names to wait for.
    pub expect: Vec<String>,
    /// Paths every map must have before waiting ends.
    pub min_paths: usize,
    /// Take options from the kernel command line (`<root>/proc/cmdline`).
    pub cmdline: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            command: Command::Assemble,
            dry_run: false,
            verbosity: 2,
            policy: Policy::Failover,
            timeout: Duration::from_secs(5),
            jobs: 16,
            root: PathBuf::from("/"),
            scan: ScanMethod::Auto,
            max_devices: 1024,
            mknod: true,
            partitions: true,
            wait_seconds: None,
            expect: Vec::new(),
            min_paths: 0,
            cmdline: false,
        }
    }
}

/// A bad command line; the caller prints it with the usage and exits 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub const USAGE: &str = "\
Usage: mpath-boot [OPTIONS]
Assemble device-mapper multipath maps from SCSI paths, without udev or a daemon.

With no command, discover SCSI disks, coalesce paths by WWID and create (or
reload) one map per WWID, named after the WWID with DM UUID mpath-<wwid>.

Commands:
  -l, --list             list the multipath maps the kernel holds, with paths
  -f, --flush NAME       remove map NAME if it is not open
  -F, --flush-all        remove every multipath map that is not open
  -h, --help             show this help
  -V, --version          show the version

Options:
  -d, --dry-run          print the tables that would be loaded; change nothing
  -v, --verbose N        0 silent, 1 maps and errors, 2 also warnings
                         (default), 3 debug
  -p, --policy POLICY    failover (default), multibus or group_by_prio
  -t, --timeout SECONDS  timeout of every SCSI command (default 5)
  -j, --jobs N           paths probed at once (default 16)
  -s, --scan METHOD      sysfs, ioctl (open /dev/sg* and /dev/sd*), or auto:
                         sysfs when mounted, else ioctl (default)
      --max-devices N    highest sg/sd index the ioctl scan tries (default
                         1024)
      --no-mknod         never create device nodes (by default missing
                         /dev/sg*, /dev/sd*, /dev/mapper/* nodes are made)
      --no-partitions    do not make <map>-part<N> partition maps
  -w, --wait SECONDS     rescan until the expected devices are there (each
                         --expect NAME; else at least one map) and every map
                         has --min-paths paths, or the time is up (exit 1)
  -e, --expect NAME      a map or partition map (NAME or /dev/mapper/NAME)
                         to wait for; may be repeated
      --min-paths N      paths every map must have before the wait ends
      --cmdline          take options from the kernel command line:
                         rd.multipath=0 or mpath_boot=off (do nothing),
                         mpath_boot.wait=S, mpath_boot.paths=N,
                         mpath_boot.policy=P, root=/dev/mapper/NAME (expect)
      --root DIR         find sys/, dev/, proc/, run/ under DIR (default /)

Exit status: 0 when every WWID with a usable path has a map, 1 when some
map could not be made (or a flush was refused), 2 for a bad command line.
";

/// Parses the arguments after the program name.
pub fn parse<I>(args: I) -> Result<Options, UsageError>
where
    I: IntoIterator<Item = OsString>,
{
    let mut options = Options::default();
    let mut commands = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|a| UsageError(format!("argument {a:?} is not valid UTF-8")))?;
        // Accept `--opt=value`, `-v2` and `-v 2` forms.
        let (flag, inline) = split_flag(&arg);
        let mut value = |name: &str| -> Result<String, UsageError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => args
                    .next()
                    .ok_or_else(|| UsageError(format!("{name} needs a value")))?
                    .into_string()
                    .map_err(|a| UsageError(format!("value {a:?} of {name} is not valid UTF-8"))),
            }
        };
        let takes_value = matches!(
            flag.as_str(),
            "-f" | "--flush" | "-v" | "--verbose" | "-p" | "--policy" | "-t" | "--timeout" | "-j"
                | "--jobs" | "--root" | "-s" | "--scan" | "--max-devices" | "-w" | "--wait" | "-e"
                | "--expect" | "--min-paths"
        );
        if inline.is_some() && !takes_value {
            return Err(UsageError(format!("{flag} takes no value")));
        }
        match flag.as_str() {
            "-h" | "--help" => commands.push(Command::Help),
            "-V" | "--version" => commands.push(Command::Version),
            "-l" | "--list" => commands.push(Command::List),
            "-F" | "--flush-all" => commands.push(Command::FlushAll),
            "-f" | "--flush" => {
                let name = value(&flag)?;
                if name.is_empty() || name.starts_with('-') {
                    return Err(UsageError(format!("{flag} needs a map name, not {name:?}")));
                }
                commands.push(Command::Flush(name));
            }
            "-d" | "--dry-run" => options.dry_run = true,
            "--no-mknod" => options.mknod = false,
            "--no-partitions" => options.partitions = false,
            "--cmdline" => options.cmdline = true,
            "-w" | "--wait" => {
                let v = value(&flag)?;
                options.wait_seconds = match v.parse::<u64>() {
                    Ok(n) if n <= crate::bootargs::WAIT_MAX => Some(n),
                    _ => {
                        return Err(UsageError(format!(
                            "wait must be 0 to {} seconds, not {v:?}",
                            crate::bootargs::WAIT_MAX
                        )))
                    }
                };
            }
            "-e" | "--expect" => {
                let v = value(&flag)?;
                let name = crate::bootargs::mapper_name(&v).unwrap_or(&v);
                if name.is_empty() || name.contains('/') {
                    return Err(UsageError(format!("--expect needs a map name or /dev/mapper/NAME, not {v:?}")));
                }
                options.expect.push(name.to_owned());
            }
            "--min-paths" => {
                let v = value(&flag)?;
                options.min_paths = match v.parse::<usize>() {
                    Ok(n) if (1..=crate::limits::MAX_PATHS_PER_MAP).contains(&n) => n,
                    _ => {
                        return Err(UsageError(format!(
                            "min-paths must be 1 to {}, not {v:?}",
                            crate::limits::MAX_PATHS_PER_MAP
                        )))
                    }
                };
            }
            "-s" | "--scan" => {
                let v = value(&flag)?;
                options.scan = ScanMethod::parse(&v)
                    .ok_or_else(|| UsageError(format!("unknown scan method {v:?}: use sysfs, ioctl or auto")))?;
            }
            "--max-devices" => {
                let v = value(&flag)?;
                options.max_devices = match v.parse::<u32>() {
                    Ok(n) if (1..=crate::limits::MAX_PATHS as u32).contains(&n) => n,
                    _ => {
                        return Err(UsageError(format!(
                            "max-devices must be 1 to {}, not {v:?}",
                            crate::limits::MAX_PATHS
                        )))
                    }
                };
            }
            "-v" | "--verbose" => {
                let v = value(&flag)?;
                options.verbosity = match v.parse::<u8>() {
                    Ok(n) if n <= 3 => n,
                    _ => return Err(UsageError(format!("verbosity must be 0 to 3, not {v:?}"))),
                };
            }
            "-p" | "--policy" => {
                let v = value(&flag)?;
                options.policy = Policy::parse(&v).ok_or_else(|| {
                    UsageError(format!(
                        "unknown policy {v:?}: use failover, multibus or group_by_prio"
                    ))
                })?;
            }
            "-t" | "--timeout" => {
                let v = value(&flag)?;
                options.timeout = match v.parse::<u32>() {
                    Ok(n) if (1..=600).contains(&n) => Duration::from_secs(u64::from(n)),
                    _ => return Err(UsageError(format!("timeout must be 1 to 600 seconds, not {v:?}"))),
                };
            }
            "-j" | "--jobs" => {
                let v = value(&flag)?;
                options.jobs = match v.parse::<usize>() {
                    Ok(n) if (1..=256).contains(&n) => n,
                    _ => return Err(UsageError(format!("jobs must be 1 to 256, not {v:?}"))),
                };
            }
            "--root" => {
                let v = value(&flag)?;
                if v.is_empty() {
                    return Err(UsageError("--root needs a directory".into()));
                }
                options.root = PathBuf::from(v);
            }
            _ => return Err(UsageError(format!("unknown argument {arg:?}"))),
        }
    }
    match commands.len() {
        0 => {}
        1 => options.command = commands.remove(0),
        _ => {
            // --help and --version win, as with most tools.
            if let Some(c) = commands
                .iter()
                .find(|c| matches!(c, Command::Help | Command::Version))
            {
                options.command = c.clone();
            } else {
                return Err(UsageError("give at most one of -l, -f and -F".into()));
            }
        }
    }
    Ok(options)
}

/// Splits `--name=value` and `-xVALUE` into flag and inline value.
fn split_flag(arg: &str) -> (String, Option<String>) {
    if let Some(rest) = arg.strip_prefix("--") {
        return match rest.split_once('=') {
            Some((name, value)) => (format!("--{name}"), Some(value.to_owned())),
            None => (arg.to_owned(), None),
        };
    }
    let mut chars = arg.chars();
    if chars.next() == Some('-') {
        if let Some(letter) = chars.next() {
            let rest: String = chars.collect();
            if !rest.is_empty() && "vpftjswe".contains(letter) {
                return (format!("-{letter}"), Some(rest));
            }
        }
    }
    (arg.to_owned(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Options, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn no_arguments_assembles_with_defaults() {
        assert_eq!(parse_strs(&[]).unwrap(), Options::default());
    }

    #[test]
    fn all_options() {
        let o = parse_strs(&[
            "-d", "-v3", "--policy=multibus", "-t", "2", "-j8", "--root", "/x", "-s", "ioctl",
            "--max-devices=64", "--no-mknod",
        ])
        .unwrap();
        assert_eq!(o.scan, ScanMethod::Ioctl);
        assert_eq!(o.max_devices, 64);
        assert!(!o.mknod);
        assert!(o.dry_run);
        assert_eq!(o.verbosity, 3);
        assert_eq!(o.policy, Policy::Multibus);
        assert_eq!(o.timeout, Duration::from_secs(2));
        assert_eq!(o.jobs, 8);
        assert_eq!(o.root, PathBuf::from("/x"));
        let o = parse_strs(&[
            "-w", "30", "--expect", "/dev/mapper/mp0-part1", "-e", "mp1", "--min-paths", "2",
            "--no-partitions", "--cmdline",
        ])
        .unwrap();
        assert_eq!(o.wait_seconds, Some(30));
        assert_eq!(o.expect, ["mp0-part1", "mp1"]);
        assert_eq!(o.min_paths, 2);
        assert!(!o.partitions);
        assert!(o.cmdline);
    }

    #[test]
    fn commands() {
        assert_eq!(parse_strs(&["-l"]).unwrap().command, Command::List);
        assert_eq!(parse_strs(&["-F"]).unwrap().command, Command::FlushAll);
        assert_eq!(parse_strs(&["-f", "mp0"]).unwrap().command, Command::Flush("mp0".into()));
        assert_eq!(parse_strs(&["--flush=mp0"]).unwrap().command, Command::Flush("mp0".into()));
        assert_eq!(parse_strs(&["-l", "--help"]).unwrap().command, Command::Help);
        assert_eq!(parse_strs(&["-V"]).unwrap().command, Command::Version);
        assert_eq!(parse_strs(&["-v", "0"]).unwrap().verbosity, 0);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        for bad in [
            &["-x"][..],
            &["-v"],
            &["-v", "4"],
            &["-v", "x"],
            &["-p", "round-robin"],
            &["-t", "0"],
            &["-t", "-1"],
            &["-j", "0"],
            &["-f"],
            &["-f", "-l"],
            &["-l", "-F"],
            &["--root="],
            &["--dry-run=yes"],
            &["--scan", "udev"],
            &["--max-devices", "0"],
            &["--max-devices", "99999"],
            &["--no-mknod=1"],
            &["--wait", "x"],
            &["--wait", "3601"],
            &["--expect", "/dev/sda"],
            &["--expect", ""],
            &["--min-paths", "0"],
            &["--cmdline=/proc/cmdline"],
            &["extra"],
        ] {
            assert!(parse_strs(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn non_utf8_argument_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt;
        let arg = OsString::from_vec(vec![0x2d, 0xff]);
        assert!(parse([arg]).is_err());
    }
}
