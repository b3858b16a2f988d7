//! mpath-boot command-line entry: parse arguments, run one command, exit.

use std::process::ExitCode;

use mpath_boot::assemble::{self, Settings, Wait};
use mpath_boot::bootargs;
use mpath_boot::cli::{self, Command};
use mpath_boot::config::select::CommandLine;
use mpath_boot::probe::ProbeOptions;
use mpath_boot::{admin, log, membership, setup};

fn main() -> ExitCode {
    let mut options = match cli::parse(std::env::args_os().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("mpath-boot: {e}\n\n{}", cli::usage());
            return ExitCode::from(2);
        }
    };
    log::set_verbosity(options.verbosity);
    // --is-path reads the kernel command line itself, and must answer even
    // when it disables mpath-boot.
    let is_path = matches!(options.command, Command::IsPath(_));
    if options.cmdline && !is_path && !apply_kernel_cmdline(&mut options) {
        return ExitCode::SUCCESS;
    }
    let failures = match &options.command {
        Command::Help => {
            log::out_text(&cli::usage());
            0
        }
        Command::Version => {
            log::out(format_args!("mpath-boot {}", env!("CARGO_PKG_VERSION")));
            0
        }
        Command::List => admin::list(&options.root),
        Command::Flush(name) => admin::flush(&options.root, Some(name), options.dry_run),
        Command::FlushAll => admin::flush(&options.root, None, options.dry_run),
        Command::PrintConfig => {
            let setup = setup::load(&options.root, command_line(&options));
            log::out_text(&mpath_boot::config::print::print(&setup.selector));
            0
        }
        Command::IsPath(device) => {
            match membership::is_path(&options.root, device, options.find_multipaths) {
                Ok(answer) => {
                    log::out_text(&answer.lines());
                    0
                }
                Err(e) => {
                    if options.verbosity > 0 {
                        eprintln!("mpath-boot: {e}");
                    }
                    1
                }
            }
        }
        Command::Assemble => assemble_and_mark(&options),
    };
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The default command; then, unless it was a dry run, the marker that
/// tells `--is-path` mpath-boot has run in this boot, whatever it made.
fn assemble_and_mark(options: &cli::Options) -> usize {
    let failures = assemble::run(
        &Settings {
            root: options.root.clone(),
            probe: ProbeOptions {
                timeout: options.timeout,
                ..ProbeOptions::default()
            },
            jobs: options.jobs,
            dry_run: options.dry_run,
            scan: options.scan,
            max_devices: options.max_devices,
            mknod: options.mknod,
            partitions: options.partitions,
            queue_without_daemon: options.queue_without_daemon,
            wait: options.wait_seconds.map(|seconds| Wait {
                seconds,
                expect: options.expect.clone(),
                min_paths: options.min_paths,
            }),
        },
        &std::sync::Arc::new(setup::load(&options.root, command_line(options))),
    );
    if !options.dry_run {
        if let Err(e) = membership::mark_assembled(&options.root) {
            if log::enabled(2) {
                eprintln!("mpath-boot: {e}");
            }
        }
    }
    failures
}

/// What the command line says that beats the configuration files.
fn command_line(options: &cli::Options) -> CommandLine {
    CommandLine {
        find_multipaths: options.find_multipaths,
        policy: options.policy,
        bindings_read_only: options.bindings_read_only,
    }
}

/// Applies `<root>/proc/cmdline` to `options`. Returns false when the
/// command line disables mpath-boot. A bad value is reported and ignored:
/// a typo must never fail a boot.
fn apply_kernel_cmdline(options: &mut cli::Options) -> bool {
    let path = options.root.join("proc/cmdline");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "mpath-boot: cannot read {}: {e}; using the defaults",
                path.display()
            );
            return true;
        }
    };
    let args = bootargs::parse(&text);
    for message in &args.ignored {
        eprintln!("mpath-boot: {message}");
    }
    if args.disabled {
        if options.verbosity > 0 {
            eprintln!("mpath-boot: disabled on the kernel command line");
        }
        return false;
    }
    // A setting given as a flag beats the same one from the kernel command
    // line: the local-block script asks for one pass (`--wait 0`) whatever
    // mpath_boot.wait= says.
    options.policy = options.policy.or(args.policy);
    options.find_multipaths = options.find_multipaths.or(args.find_multipaths);
    options.wait_seconds = options.wait_seconds.or(args.wait_seconds);
    if options.min_paths == 0 {
        options.min_paths = args.min_paths.unwrap_or(0);
    }
    options.expect.extend(args.expect);
    true
}
