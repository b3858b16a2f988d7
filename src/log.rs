//! Verbosity-gated messages, in multipath-tools' levels.
//!
//! 0: silent; 1: one line per map, and errors; 2 (default): warnings about
//! stale or passed-over paths too; 3: debugging detail. Map lines go to
//! standard output, everything else to standard error.

use std::sync::atomic::{AtomicU8, Ordering};

static VERBOSITY: AtomicU8 = AtomicU8::new(2);

pub fn set_verbosity(level: u8) {
    VERBOSITY.store(level, Ordering::Relaxed);
}

pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

pub fn enabled(level: u8) -> bool {
    VERBOSITY.load(Ordering::Relaxed) >= level
}

/// An error an administrator must act on (level 1, standard error).
macro_rules! error {
    ($($arg:tt)*) => {
        if $crate::log::enabled(1) { eprintln!("mpath-boot: error: {}", format_args!($($arg)*)); }
    };
}

/// Something left out or passed over (level 2, standard error).
macro_rules! warn {
    ($($arg:tt)*) => {
        if $crate::log::enabled(2) { eprintln!("mpath-boot: {}", format_args!($($arg)*)); }
    };
}

/// Debugging detail (level 3, standard error).
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled(3) { eprintln!("mpath-boot: debug: {}", format_args!($($arg)*)); }
    };
}

/// A result line: one per map (level 1, standard output).
macro_rules! report {
    ($($arg:tt)*) => {
        if $crate::log::enabled(1) { println!("{}", format_args!($($arg)*)); }
    };
}
