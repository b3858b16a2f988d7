//! mpath-boot command-line entry: parse arguments, run one command, exit.

use std::process::ExitCode;

use mpath_boot::assemble::{self, Settings, Wait};
use mpath_boot::bootargs;
use mpath_boot::cli::{self, Command};
use mpath_boot::config::select::CommandLine;
use mpath_boot::probe::ProbeOptions;
use mpath_boot::{admin, log, setup};

fn main() -> ExitCode {
    let mut options = match cli::parse(std::env::args_os().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("mpath-boot: {e}\n\n{}", cli::usage());
            return ExitCode::from(2);
        }
    };
    log::set_verbosity(options.verbosity);
    if options.cmdline && !apply_kernel_cmdline(&mut options) {
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
        Command::Assemble => assemble::run(&Settings {
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
        }, &std::sync::Arc::new(setup::load(&options.root, command_line(&options)))),
    };
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
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
            eprintln!("mpath-boot: cannot read {}: {e}; using the defaults", path.display());
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
    if let Some(policy) = args.policy {
        options.policy = Some(policy);
    }
    if let Some(mode) = args.find_multipaths {
        options.find_multipaths = Some(mode);
    }
    if let Some(n) = args.min_paths {
        options.min_paths = n;
    }
    if let Some(seconds) = args.wait_seconds {
        options.wait_seconds = Some(seconds);
    }
    options.expect.extend(args.expect);
    true
}
