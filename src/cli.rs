//! Command-line parsing: pure, so every bad argument is a tested usage error.

use core::fmt;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::FindMultipaths;
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
    /// Print the effective configuration (`-t`).
    PrintConfig,
    /// `--is-path DEV`: print whether DEV is a multipath path, for udev's
    /// `IMPORT{program}` (as `multipath -u`). The name is checked when the
    /// command runs (a bad one is exit status 1, not a usage error).
    IsPath(String),
    Help,
    Version,
}

/// Everything the command line can set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub command: Command,
    pub dry_run: bool,
    pub verbosity: u8,
    /// `-p`: beats every configuration level, as multipath's `-p`.
    pub policy: Option<Policy>,
    /// `-B`: never add to the bindings file.
    pub bindings_read_only: bool,
    /// `-q`: queue_if_no_path stays without multipathd.
    pub queue_without_daemon: bool,
    /// `--find-multipaths`: beats the configuration for this run.
    pub find_multipaths: Option<FindMultipaths>,
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
            policy: None,
            bindings_read_only: false,
            queue_without_daemon: false,
            find_multipaths: None,
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

/// One command-line option: the table below is the only list of options,
/// used by the parser and by the usage text alike.
struct OptSpec {
    short: Option<char>,
    long: &'static str,
    /// Name of the value in the usage text; `None` for a flag.
    value: Option<&'static str>,
    help: &'static str,
}

const fn opt(short: Option<char>, long: &'static str, value: Option<&'static str>, help: &'static str) -> OptSpec {
    OptSpec { short, long, value, help }
}

/// Commands first, then options, in the order the usage text shows them.
const OPTIONS: &[OptSpec] = &[
    opt(Some('l'), "list", None, "list the multipath maps the kernel holds, with paths"),
    opt(Some('f'), "flush", Some("NAME"), "remove map NAME if it is not open"),
    opt(Some('F'), "flush-all", None, "remove every multipath map that is not open"),
    opt(Some('t'), "print-config", None, "print the effective configuration (built-in defaults and hardware table merged with the files) in multipath.conf syntax, as multipath -t"),
    opt(None, "is-path", Some("DEV"), "for udev's IMPORT{program}, as multipath -u: print DM_MULTIPATH_DEVICE_PATH=1 if mpath-boot takes (or, before its first run in this boot, may take: then also MPATH_BOOT_PROVISIONAL=1) the disk DEV (sda or /dev/sda; a partition answers for its disk) into a map, else DM_MULTIPATH_DEVICE_PATH=0; judged from sysfs, the configuration and the kernel command line only, never sending a SCSI command"),
    opt(Some('h'), "help", None, "show this help"),
    opt(Some('V'), "version", None, "show the version"),
    opt(Some('d'), "dry-run", None, "print the tables that would be loaded; change nothing"),
    opt(Some('v'), "verbose", Some("N"), "0 silent, 1 maps and errors, 2 also warnings (default), 3 debug: every path taken or passed over and why, every setting's origin"),
    opt(Some('B'), "bindings-read-only", None, "never add to the bindings file: a WWID without a binding is named by its WWID (multipath -B)"),
    opt(Some('q'), "queue-without-daemon", None, "keep queue_if_no_path in the tables when no multipathd runs (multipath -q); by default it is cleared, as multipath does"),
    opt(None, "find-multipaths", Some("MODE"), "override find_multipaths for this run: off, on, strict, greedy or smart (smart acts as on)"),
    opt(Some('p'), "policy", Some("POLICY"), "path grouping policy for every map, beating the configuration: failover, multibus, group_by_prio, group_by_serial or group_by_node_name"),
    opt(None, "timeout", Some("SECONDS"), "timeout of every SCSI command (default 5)"),
    opt(Some('j'), "jobs", Some("N"), "paths probed at once (default 16)"),
    opt(Some('s'), "scan", Some("METHOD"), "sysfs, ioctl (open /dev/sg* and /dev/sd*), or auto: sysfs when mounted, else ioctl (default)"),
    opt(None, "max-devices", Some("N"), "highest sg/sd index the ioctl scan tries (default 1024)"),
    opt(None, "no-mknod", None, "never create device nodes (by default missing /dev/sg*, /dev/sd*, /dev/mapper/* nodes are made)"),
    opt(None, "no-partitions", None, "do not make <map>-part<N> partition maps"),
    opt(Some('w'), "wait", Some("SECONDS"), "rescan until the expected devices are there (each --expect NAME; else at least one map) and every map has --min-paths paths, or the time is up (exit 1)"),
    opt(Some('e'), "expect", Some("NAME"), "a map or partition map (NAME or /dev/mapper/NAME) to wait for; may be repeated"),
    opt(None, "min-paths", Some("N"), "paths every map must have before the wait ends"),
    opt(None, "cmdline", None, "take options from the kernel command line: rd.multipath=0 or mpath_boot=off (do nothing), mpath_boot.wait=S, mpath_boot.paths=N, mpath_boot.policy=P, mpath_boot.find_multipaths=MODE, mpath_boot.expect=NAME, root=/dev/mapper/NAME (expect)"),
    opt(None, "root", Some("DIR"), "find etc/, sys/, dev/, proc/, run/ under DIR (default /)"),
];

/// Number of options before the first non-command one in [`OPTIONS`].
const COMMAND_COUNT: usize = 7;

const USAGE_HEAD: &str = "\
Usage: mpath-boot [OPTIONS]
Assemble device-mapper multipath maps from SCSI paths, without udev or a daemon.

With no command, read /etc/multipath.conf (and conf.d, bindings, wwids) as
multipath-tools does, discover SCSI disks, coalesce paths by WWID and create
(or reload) the maps multipath would, with DM UUID mpath-<wwid>.
";

const USAGE_TAIL: &str = "\
Exit status: 0 when every WWID chosen for a map has one, 1 when some map
could not be made (or a flush was refused, or --is-path could not answer),
2 for a bad command line.
";

/// The usage text, made from [`OPTIONS`].
pub fn usage() -> String {
    let mut text = String::from(USAGE_HEAD);
    for (i, spec) in OPTIONS.iter().enumerate() {
        if i == 0 {
            text.push_str("\nCommands:\n");
        } else if i == COMMAND_COUNT {
            text.push_str("\nOptions:\n");
        }
        let short = spec.short.map(|c| format!("-{c}, ")).unwrap_or_else(|| "    ".into());
        let value = spec.value.map(|v| format!(" {v}")).unwrap_or_default();
        let head = format!("  {short}--{}{value}", spec.long);
        let mut lines = wrap(spec.help, 52).into_iter();
        let first = lines.next().unwrap_or_default();
        if head.len() < 25 {
            text.push_str(&format!("{head:<25}{first}\n"));
        } else {
            text.push_str(&format!("{head}\n{:25}{first}\n", ""));
        }
        for line in lines {
            text.push_str(&format!("{:25}{line}\n", ""));
        }
    }
    text.push('\n');
    text.push_str(USAGE_TAIL);
    text
}

/// Greedy word wrap for the usage text.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// Finds the option an argument names: `--long`, or `-x` (with the rest of
/// the argument as an inline value for options that take one).
fn lookup(flag: &str) -> Option<&'static OptSpec> {
    if let Some(long) = flag.strip_prefix("--") {
        return OPTIONS.iter().find(|s| s.long == long);
    }
    let mut chars = flag.strip_prefix('-')?.chars();
    let letter = chars.next()?;
    chars.next().is_none().then_some(())?;
    OPTIONS.iter().find(|s| s.short == Some(letter))
}

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
        let (flag, inline) = split_flag(&arg);
        let spec = lookup(&flag).ok_or_else(|| UsageError(format!("unknown argument {arg:?}")))?;
        let value = match (spec.value, inline) {
            (None, Some(_)) => return Err(UsageError(format!("{flag} takes no value"))),
            (None, None) => String::new(),
            (Some(_), Some(v)) => v,
            (Some(_), None) => args
                .next()
                .ok_or_else(|| UsageError(format!("{flag} needs a value")))?
                .into_string()
                .map_err(|a| UsageError(format!("value {a:?} of {flag} is not valid UTF-8")))?,
        };
        apply(spec.long, &flag, value, &mut options, &mut commands)?;
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
                return Err(UsageError("give at most one of -l, -f, -F, -t and --is-path".into()));
            }
        }
    }
    Ok(options)
}

/// Parses a number in `range`, or says what was expected.
fn number<T>(value: &str, range: core::ops::RangeInclusive<T>, what: &str) -> Result<T, UsageError>
where
    T: core::str::FromStr + PartialOrd + fmt::Display,
{
    match value.parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(UsageError(format!(
            "{what} must be {} to {}, not {value:?}",
            range.start(),
            range.end()
        ))),
    }
}

/// Applies one option (named by its long name) to `options`.
fn apply(
    long: &str,
    flag: &str,
    value: String,
    options: &mut Options,
    commands: &mut Vec<Command>,
) -> Result<(), UsageError> {
    match long {
        "help" => commands.push(Command::Help),
        "version" => commands.push(Command::Version),
        "list" => commands.push(Command::List),
        "flush-all" => commands.push(Command::FlushAll),
        "print-config" => commands.push(Command::PrintConfig),
        "is-path" => commands.push(Command::IsPath(value)),
        "flush" => {
            if value.is_empty() || value.starts_with('-') {
                return Err(UsageError(format!("{flag} needs a map name, not {value:?}")));
            }
            commands.push(Command::Flush(value));
        }
        "dry-run" => options.dry_run = true,
        "bindings-read-only" => options.bindings_read_only = true,
        "queue-without-daemon" => options.queue_without_daemon = true,
        "no-mknod" => options.mknod = false,
        "no-partitions" => options.partitions = false,
        "cmdline" => options.cmdline = true,
        "find-multipaths" => {
            options.find_multipaths = Some(FindMultipaths::parse(&value).ok_or_else(|| {
                UsageError(format!(
                    "unknown find_multipaths mode {value:?}: use off, on, strict, greedy or smart"
                ))
            })?);
        }
        "wait" => options.wait_seconds = Some(number(&value, 0..=crate::bootargs::WAIT_MAX, "wait")?),
        "expect" => {
            let name = crate::bootargs::mapper_name(&value).unwrap_or(&value);
            if name.is_empty() || name.contains('/') {
                return Err(UsageError(format!(
                    "--expect needs a map name or /dev/mapper/NAME, not {value:?}"
                )));
            }
            options.expect.push(name.to_owned());
        }
        "min-paths" => {
            options.min_paths = number(&value, 1..=crate::limits::MAX_PATHS_PER_MAP, "min-paths")?;
        }
        "scan" => {
            options.scan = ScanMethod::parse(&value)
                .ok_or_else(|| UsageError(format!("unknown scan method {value:?}: use sysfs, ioctl or auto")))?;
        }
        "max-devices" => {
            options.max_devices = number(&value, 1..=crate::limits::MAX_PATHS as u32, "max-devices")?;
        }
        "verbose" => options.verbosity = number(&value, 0..=3, "verbosity")?,
        "policy" => {
            options.policy = Some(Policy::parse(&value).ok_or_else(|| {
                UsageError(format!(
                    "unknown policy {value:?}: use failover, multibus, group_by_prio, group_by_serial or group_by_node_name"
                ))
            })?);
        }
        "timeout" => options.timeout = Duration::from_secs(u64::from(number(&value, 1u32..=600, "timeout (seconds)")?)),
        "jobs" => options.jobs = number(&value, 1..=256, "jobs")?,
        "root" => {
            if value.is_empty() {
                return Err(UsageError("--root needs a directory".into()));
            }
            options.root = PathBuf::from(value);
        }
        // Every entry of OPTIONS is handled above.
        other => return Err(UsageError(format!("unknown argument --{other}"))),
    }
    Ok(())
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
            let takes_value = OPTIONS.iter().any(|s| s.short == Some(letter) && s.value.is_some());
            if !rest.is_empty() && takes_value {
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
            "-d", "-v3", "--policy=multibus", "--timeout", "2", "-j8", "--root", "/x", "-s", "ioctl",
            "--max-devices=64", "--no-mknod", "-B", "-q", "--find-multipaths=greedy",
        ])
        .unwrap();
        assert_eq!(o.scan, ScanMethod::Ioctl);
        assert_eq!(o.max_devices, 64);
        assert!(!o.mknod);
        assert!(o.dry_run);
        assert_eq!(o.verbosity, 3);
        assert_eq!(o.policy, Some(Policy::Multibus));
        assert!(o.bindings_read_only);
        assert!(o.queue_without_daemon);
        assert_eq!(o.find_multipaths, Some(FindMultipaths::Greedy));
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
        assert_eq!(parse_strs(&["-t"]).unwrap().command, Command::PrintConfig);
        assert!(parse_strs(&["-t", "-l"]).is_err());
        assert_eq!(parse_strs(&["--is-path", "sda"]).unwrap().command, Command::IsPath("sda".into()));
        let o = parse_strs(&["--is-path=/dev/sdb", "--root", "/r", "--find-multipaths", "strict", "-v3"]).unwrap();
        assert_eq!(o.command, Command::IsPath("/dev/sdb".into()));
        assert_eq!((o.root, o.find_multipaths, o.verbosity), (PathBuf::from("/r"), Some(FindMultipaths::Strict), 3));
        // The name is judged when the command runs (exit status 1 there).
        assert_eq!(parse_strs(&["--is-path", "../x"]).unwrap().command, Command::IsPath("../x".into()));
        assert_eq!(parse_strs(&["--is-path="]).unwrap().command, Command::IsPath(String::new()));
        assert!(parse_strs(&["--is-path"]).is_err());
        assert!(parse_strs(&["--is-path", "sda", "-l"]).is_err());
        assert_eq!(parse_strs(&["--is-path", "sda", "-h"]).unwrap().command, Command::Help);
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
            &["--timeout", "0"],
            &["--timeout", "-1"],
            &["-t", "3"],
            &["--find-multipaths", "maybe"],
            &["-B=1"],
            &["-vv"],
            &["-j", "0"],
            &["-f"],
            &["-f", "-l"],
            &["-l", "-F"],
            &["--is-path"],
            &["-t", "--is-path", "sda"],
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
    fn usage_lists_every_option_once() {
        let text = usage();
        for spec in OPTIONS {
            let needle = format!("--{}", spec.long);
            let heads = text
                .lines()
                .filter(|l| l.len() - l.trim_start().len() <= 6 && l.trim_start().starts_with('-'))
                .filter(|l| l.split_whitespace().any(|w| w.trim_end_matches(',') == needle))
                .count();
            assert_eq!(heads, 1, "{needle} heads one usage line");
        }
        assert!(text.lines().all(|l| l.len() <= 80), "usage lines fit 80 columns");
    }

    #[test]
    fn every_option_in_the_table_is_handled() {
        for spec in OPTIONS {
            let mut options = Options::default();
            let value = match spec.long {
                "find-multipaths" => "on",
                "policy" => "multibus",
                "scan" => "sysfs",
                "expect" | "flush" => "mp0",
                "root" => "/r",
                _ => "1",
            };
            let result = apply(spec.long, spec.long, value.into(), &mut options, &mut Vec::new());
            assert!(result.is_ok(), "--{} not handled: {result:?}", spec.long);
        }
    }

    #[test]
    fn non_utf8_argument_is_a_usage_error() {
        use std::os::unix::ffi::OsStringExt;
        let arg = OsString::from_vec(vec![0x2d, 0xff]);
        assert!(parse([arg]).is_err());
    }
}
