//! Verbosity-gated messages, in multipath-tools' levels.
//!
//! 0: silent; 1: one line per map, and errors; 2 (default): warnings about
//! stale or passed-over paths too; 3: debugging detail. Map lines go to
//! standard output, everything else to standard error.
//!
//! Writing never fails the work: a closed pipe (`mpath-boot -l | head -1`)
//! or a full console loses the message, never the maps (`println!` would
//! panic, and with `panic = "abort"` end the run half done).

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

/// Writes one line to standard output, ignoring write errors.
pub fn out(args: core::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{args}");
}

/// Writes text as it is to standard output, ignoring write errors.
pub fn out_text(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// Writes one line to standard error, ignoring write errors.
pub fn err(args: core::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// Writes one line of `level` (1 error, 2 warning, 3 debug) to standard
/// error with its prefix. The macros below call this, so each of their
/// call sites builds one `format_args!` rather than two (issue 11).
#[doc(hidden)]
pub fn err_at(level: u8, args: core::fmt::Arguments<'_>) {
    let prefix = match level {
        1 => "mpath-boot: error: ",
        3 => "mpath-boot: debug: ",
        _ => "mpath-boot: ",
    };
    err(format_args!("{prefix}{args}"));
}

/// An error an administrator must act on (level 1, standard error).
macro_rules! error {
    ($($arg:tt)*) => {
        if $crate::log::enabled(1) { $crate::log::err_at(1, format_args!($($arg)*)); }
    };
}

/// Something left out or passed over (level 2, standard error).
macro_rules! warn {
    ($($arg:tt)*) => {
        if $crate::log::enabled(2) { $crate::log::err_at(2, format_args!($($arg)*)); }
    };
}

/// Debugging detail (level 3, standard error).
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::enabled(3) { $crate::log::err_at(3, format_args!($($arg)*)); }
    };
}

/// A result line: one per map (level 1, standard output).
macro_rules! report {
    ($($arg:tt)*) => {
        if $crate::log::enabled(1) { $crate::log::out(format_args!($($arg)*)); }
    };
}
