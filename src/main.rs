//! mpath-boot command-line entry: parse arguments, run one command, exit.

use std::process::ExitCode;

use mpath_boot::assemble::{self, Settings};
use mpath_boot::cli::{self, Command, USAGE};
use mpath_boot::probe::ProbeOptions;
use mpath_boot::{admin, log};

fn main() -> ExitCode {
    let options = match cli::parse(std::env::args_os().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("mpath-boot: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    log::set_verbosity(options.verbosity);
    let failures = match &options.command {
        Command::Help => {
            print!("{USAGE}");
            0
        }
        Command::Version => {
            println!("mpath-boot {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Command::List => admin::list(&options.root),
        Command::Flush(name) => admin::flush(&options.root, Some(name), options.dry_run),
        Command::FlushAll => admin::flush(&options.root, None, options.dry_run),
        Command::Assemble => assemble::run(&Settings {
            root: options.root.clone(),
            policy: options.policy,
            probe: ProbeOptions {
                timeout: options.timeout,
                ..ProbeOptions::default()
            },
            jobs: options.jobs,
            dry_run: options.dry_run,
            scan: options.scan,
            max_devices: options.max_devices,
            mknod: options.mknod,
        }),
    };
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
