//! The reference: Debian 12's multipath-tools 0.9.4 run in the same guest as
//! mpath-boot, so tests can compare the tables both load for the same devices.
//!
//! `tests/vm/reference-kit.sh` builds the guest-root overlay; put
//! [`reference_overlay`] in `VmConfig::overlays`, add [`script`] to the guest
//! script (after the paths exist), then read the tables with
//! [`parse_dmsetup_table`] from `run.section_ok(SECTION_TABLE)`. The last
//! step flushes the maps and stops udevd, so mpath-boot can run afterwards in
//! the same guest on the same paths.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Guest script: `run-multipath.sh [version|up|assemble|table|down]...`
/// (no argument: all steps in that order).
pub const RUN_REFERENCE: &str = "/reference/run-multipath.sh";

/// The upstream version the reference is pinned to.
pub const VERSION: &str = "0.9.4";

/// Section names used by [`script`].
pub const SECTION_VERSION: &str = "reference-version";
pub const SECTION_UP: &str = "reference-up";
pub const SECTION_ASSEMBLE: &str = "reference-assemble";
pub const SECTION_TABLE: &str = "reference-table";
pub const SECTION_DOWN: &str = "reference-down";

/// The overlay built by tests/vm/reference-kit.sh: `reference/root` in the
/// VM kit directory (`$MPATH_VM_KIT`, default `target/vm-kit`). Runs the
/// script once per process if the overlay is missing (it is idempotent and
/// takes seconds); panics if it is still missing after that.
pub fn reference_overlay() -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let kit = std::env::var_os("MPATH_VM_KIT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/vm-kit"));
    let root = kit.join("reference/root");
    let ready = || {
        root.join("reference/run-multipath.sh").is_file() && root.join("sbin/multipath").is_file()
    };
    if !ready() {
        BUILT.get_or_init(|| {
            let _ = Command::new(repo.join("tests/vm/reference-kit.sh")).status();
        });
    }
    assert!(
        ready(),
        "reference kit missing at {}: run tests/vm/reference-kit.sh",
        root.display()
    );
    root
}

/// Guest shell lines running the reference, one `section` per step: start
/// udevd and settle, `multipath -v2`, `dmsetup table`, then flush the maps and
/// stop udevd (removing /run/udev). Stops the guest script if a step fails.
pub fn script() -> String {
    [
        (SECTION_VERSION, "version"),
        (SECTION_UP, "up"),
        (SECTION_ASSEMBLE, "assemble"),
        (SECTION_TABLE, "table"),
        (SECTION_DOWN, "down"),
    ]
    .iter()
    .map(|(section, step)| format!("section {section} {RUN_REFERENCE} {step} || exit 90\n"))
    .collect()
}

/// Parses `dmsetup table` output ("name: start length target args", one line
/// per target) into (name, table) pairs in output order. A map with several
/// targets gets its lines joined with '\n'. Trailing blanks (dmsetup prints
/// one) are dropped; "No devices found" gives an empty list.
pub fn parse_dmsetup_table(out: &str) -> Vec<(String, String)> {
    let mut maps: Vec<(String, String)> = Vec::new();
    for line in out.lines().map(str::trim_end) {
        if line.is_empty() || line == "No devices found" {
            continue;
        }
        let (name, table) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("not a dmsetup table line: {line:?}"));
        match maps.last_mut() {
            Some((last, t)) if last == name => {
                t.push('\n');
                t.push_str(table);
            }
            _ => maps.push((name.to_string(), table.to_string())),
        }
    }
    maps
}

/// Timing lines ("reference: ... took ...s") the guest script printed.
pub fn timings(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.starts_with("reference: "))
        .collect()
}

/// Indents a tool's output for a failure message, each line marked `|`.
pub fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    |{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Ends a scenario test: first any scenario whose reference result was not
/// what the scenario expects (`bad_reference`, with `context` before it),
/// then any difference between mpath-boot and the reference.
pub fn assert_same_as_reference(
    name: &str,
    guest_log: &std::path::Path,
    context: &str,
    bad_reference: &str,
    differences: &str,
) {
    assert!(
        bad_reference.is_empty(),
        "{name}: reference results (see {}):\n{context}{bad_reference}",
        guest_log.display()
    );
    assert!(
        differences.is_empty(),
        "{name}: mpath-boot differs from multipath-tools {VERSION} (see {}):\n{differences}",
        guest_log.display()
    );
}
