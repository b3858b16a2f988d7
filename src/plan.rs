//! What to run on one path once its identity is known: which prioritizer
//! (and checker) the configuration selects. The probe threads ask a
//! [`Planner`]; the configuration's answer lives in `setup`, and
//! [`Defaults`] gives multipath-tools' built-in choice without one.

use crate::config::select::Tpgs;
use crate::prio::Prioritizer;

/// What probing has learnt of a path when the plan is made.
#[derive(Clone, Copy, Debug)]
pub struct Identity<'a> {
    pub vendor: &'a str,
    pub product: &'a str,
    pub revision: &'a str,
    pub wwid: &'a str,
    /// ALUA support as multipath-tools' `detect_alua` leaves it.
    pub tpgs: Tpgs,
    /// scsi_dh_alua's `access_state` can be read.
    pub access_state_readable: bool,
    /// VPD page 0xC9 starts with `vac1` (an RDAC array).
    pub vpd_c9_vac1: bool,
}

/// How a path's priority is obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrioPlan {
    /// REPORT TARGET PORT GROUPS (else scsi_dh_alua's sysfs state).
    Alua,
    /// scsi_dh_alua's state (the device's own answer first; same values).
    Sysfs,
    Const,
    /// A vendor prioritizer with its `prio_args`.
    Device { prioritizer: Prioritizer, args: String },
    /// A name no prioritizer has: multipath-tools' "no prio selected".
    Unknown(String),
}

/// The configuration's choices for one path, with where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPlan {
    pub prio: PrioPlan,
    /// E.g. `prio = sysfs (setting: storage device autodetected)`, for `-v3`.
    pub explained: String,
    /// The `path_checker` selected (`tur`, `rdac`, ...).
    pub checker: String,
}

/// Chooses per path; shared by the probe threads.
pub trait Planner: Sync {
    /// Whether the choice depends on VPD page 0xC9 (RDAC detection).
    fn wants_vpd_c9(&self, vendor: &str, product: &str, revision: &str) -> bool;
    fn plan(&self, identity: &Identity<'_>) -> PathPlan;
}

/// multipath-tools' built-in choice with no configuration at all:
/// `detect_prio` finds ALUA (`sysfs` when scsi_dh_alua's state can be
/// read), else the constant priority; the `tur` checker.
pub struct Defaults;

impl Planner for Defaults {
    fn wants_vpd_c9(&self, _vendor: &str, _product: &str, _revision: &str) -> bool {
        false
    }

    fn plan(&self, identity: &Identity<'_>) -> PathPlan {
        let prio = match (identity.tpgs.supported(), identity.access_state_readable) {
            (true, true) => PrioPlan::Sysfs,
            (true, false) => PrioPlan::Alua,
            (false, _) => PrioPlan::Const,
        };
        PathPlan {
            explained: format!("prio = {} (built-in)", prio_name(&prio)),
            prio,
            checker: "tur".into(),
        }
    }
}

/// The prioritizer's name as the configuration spells it.
pub fn prio_name(prio: &PrioPlan) -> &str {
    match prio {
        PrioPlan::Alua => "alua",
        PrioPlan::Sysfs => "sysfs",
        PrioPlan::Const => "const",
        PrioPlan::Device { prioritizer, .. } => prioritizer.name(),
        PrioPlan::Unknown(name) => name,
    }
}

/// The plan for a prioritizer name from the configuration.
pub fn prio_plan(name: &str, args: &str) -> PrioPlan {
    match name {
        "alua" => PrioPlan::Alua,
        "sysfs" => PrioPlan::Sysfs,
        "const" => PrioPlan::Const,
        other => match Prioritizer::from_name(other) {
            Some(prioritizer) => PrioPlan::Device {
                prioritizer,
                args: args.to_owned(),
            },
            None => PrioPlan::Unknown(other.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(tpgs: Tpgs, access: bool) -> Identity<'static> {
        Identity {
            vendor: "Linux",
            product: "scsi_debug",
            revision: "0191",
            wwid: "3x",
            tpgs,
            access_state_readable: access,
            vpd_c9_vac1: false,
        }
    }

    #[test]
    fn defaults_detect_alua_then_sysfs() {
        assert_eq!(Defaults.plan(&identity(Tpgs::Implicit, true)).prio, PrioPlan::Sysfs);
        assert_eq!(Defaults.plan(&identity(Tpgs::Implicit, false)).prio, PrioPlan::Alua);
        assert_eq!(Defaults.plan(&identity(Tpgs::None, true)).prio, PrioPlan::Const);
        assert_eq!(Defaults.plan(&identity(Tpgs::None, false)).checker, "tur");
    }

    #[test]
    fn names_map_to_plans() {
        assert_eq!(prio_plan("alua", ""), PrioPlan::Alua);
        assert_eq!(prio_plan("const", "x"), PrioPlan::Const);
        assert_eq!(
            prio_plan("emc", ""),
            PrioPlan::Device {
                prioritizer: Prioritizer::Emc,
                args: String::new()
            }
        );
        assert_eq!(prio_plan("nosuch", ""), PrioPlan::Unknown("nosuch".into()));
        for name in ["alua", "sysfs", "const", "emc", "ontap", "nosuch"] {
            assert_eq!(prio_name(&prio_plan(name, "")), name);
        }
    }
}
