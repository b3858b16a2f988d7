//! The configuration as one run uses it: the files read once, merged with
//! the built-in hardware table and blacklist, and turned into a selector
//! and a compiled blacklist. Every file problem is reported here and never
//! stops the run.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::bindings;
use crate::config::blacklist::{self, Blacklist};
use crate::config::select::{CommandLine, HwMatch, PathFacts, Selector};
use crate::plan::{self, Identity, PathPlan, Planner};
use crate::config::{hwtable, load, Diagnostic, FindMultipaths};

/// Where multipath-tools keeps its state files (relative to the root).
pub const BINDINGS_FILE: &str = "/etc/multipath/bindings";
pub const WWIDS_FILE: &str = "/etc/multipath/wwids";

/// Everything a run needs from the configuration.
pub struct Setup {
    pub selector: Selector,
    pub blacklist: Blacklist,
    pub find_multipaths: FindMultipaths,
    pub allow_usb: bool,
    /// `-B`: the bindings file is never written.
    pub bindings_read_only: bool,
    pub bindings_file: String,
    pub wwids_file: String,
    pub root: PathBuf,
    /// Device entries matched per (vendor, product, revision): a SAN has few
    /// identities and many paths, and each match runs three regexes per entry.
    hardware: Mutex<Vec<(Identity3, HwMatch)>>,
}

type Identity3 = (String, String, String);

impl Setup {
    /// The device entries (built-in and user) matching an identity.
    pub fn hardware(&self, vendor: &str, product: &str, revision: &str) -> HwMatch {
        let key = (vendor.to_owned(), product.to_owned(), revision.to_owned());
        let mut seen = self.hardware.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, hw)) = seen.iter().find(|(k, _)| *k == key) {
            return hw.clone();
        }
        let hw = self.selector.device_match(vendor, product, revision);
        seen.push((key, hw.clone()));
        hw
    }
}

/// The configuration chooses each path's prioritizer and checker.
impl Planner for Setup {
    fn wants_vpd_c9(&self, vendor: &str, product: &str, revision: &str) -> bool {
        self.selector.wants_vpd_c9(&self.hardware(vendor, product, revision))
    }

    fn plan(&self, identity: &Identity<'_>) -> PathPlan {
        let hw = self.hardware(identity.vendor, identity.product, identity.revision);
        let facts = PathFacts {
            tpgs: identity.tpgs,
            access_state_readable: identity.access_state_readable,
            vpd_c9_vac1: identity.vpd_c9_vac1,
        };
        let chosen = self.selector.path_settings(&hw, identity.wwid, &facts);
        PathPlan {
            prio: plan::prio_plan(&chosen.prio.value, &chosen.prio_args),
            // Printed at -v3 only: not formatted for a thousand paths otherwise.
            explained: if crate::log::enabled(3) {
                format!("prio = {} {}", chosen.prio.value, chosen.prio.source.text())
            } else {
                String::new()
            },
            checker: chosen.checker.value.clone(),
        }
    }
}

/// Reads the files under `root` and builds the run's configuration.
pub fn load(root: &Path, command_line: CommandLine) -> Setup {
    let (config, diagnostics, file_present) = load::load(root);
    report(&diagnostics);
    if !file_present {
        debug!("no /etc/multipath.conf: built-in defaults with find_multipaths on");
    }
    let builtin = hwtable::builtin();
    let (blacklist, diagnostics) = Blacklist::new(&config, &merged_devices(&builtin, &config.devices));
    report(&diagnostics);
    let bindings_read_only = command_line.bindings_read_only;
    let bindings_file = config.defaults.bindings_file.clone().unwrap_or_else(|| BINDINGS_FILE.into());
    let wwids_file = config.defaults.wwids_file.clone().unwrap_or_else(|| WWIDS_FILE.into());
    let allow_usb = blacklist::usb_allowed(&config);
    // multipath checks the bindings file against the multipaths aliases on
    // every start and rewrites it when a line conflicts. Where it would
    // then abort (read-only file, -B), mpath-boot warns and goes on: a
    // boot must not fail over a bindings line.
    match bindings::check_file(root, &bindings_file, &config.multipaths, bindings_read_only) {
        Ok(diagnostics) => report(&diagnostics),
        Err(e) => warn!("{e}; going on with the file as it is"),
    }
    let (selector, diagnostics) = Selector::new(config, builtin, command_line, file_present);
    report(&diagnostics);
    Setup {
        find_multipaths: selector.find_multipaths(),
        selector,
        blacklist,
        allow_usb,
        bindings_read_only,
        bindings_file,
        wwids_file,
        root: root.to_path_buf(),
        hardware: Mutex::new(Vec::new()),
    }
}

/// Built-in entries then the user's: the order product_blacklist rules
/// are taken in.
fn merged_devices(builtin: &[crate::config::DeviceEntry], user: &[crate::config::DeviceEntry]) -> Vec<crate::config::DeviceEntry> {
    builtin.iter().chain(user).cloned().collect()
}

/// Configuration problems are warnings: a typo never fails a boot.
pub fn report(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        warn!("{d}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn setup_can_be_shared_with_probe_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::Setup>();
    }
}
