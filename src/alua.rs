//! ALUA asymmetric access states and the path priority multipath-tools'
//! `alua` prioritizer derives from them.

use core::fmt;

/// Asymmetric access state of a target port group (SPC-4 6.37).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessState {
    ActiveOptimized,
    ActiveNonOptimized,
    Standby,
    Unavailable,
    LbaDependent,
    Offline,
    Transitioning,
    /// A reserved state code (the low 4 bits of the descriptor byte).
    Unknown(u8),
}

impl AccessState {
    /// Decodes the ASYMMETRIC ACCESS STATE field; only the low 4 bits count,
    /// so the PREF bit may be left in `code`.
    pub fn from_code(code: u8) -> AccessState {
        match code & 0x0f {
            0x0 => AccessState::ActiveOptimized,
            0x1 => AccessState::ActiveNonOptimized,
            0x2 => AccessState::Standby,
            0x3 => AccessState::Unavailable,
            0x4 => AccessState::LbaDependent,
            0xe => AccessState::Offline,
            0xf => AccessState::Transitioning,
            other => AccessState::Unknown(other),
        }
    }

    /// Parses the scsi_dh_alua sysfs attribute `device/access_state`
    /// (surrounding whitespace, e.g. the trailing newline, is ignored).
    pub fn from_sysfs(text: &str) -> Option<AccessState> {
        Some(match text.trim() {
            "active/optimized" => AccessState::ActiveOptimized,
            "active/non-optimized" => AccessState::ActiveNonOptimized,
            "lba-dependent" => AccessState::LbaDependent,
            "standby" => AccessState::Standby,
            "unavailable" => AccessState::Unavailable,
            "offline" => AccessState::Offline,
            "transitioning" => AccessState::Transitioning,
            _ => return None,
        })
    }
}

impl fmt::Display for AccessState {
    /// Uses the sysfs spelling, so logs match what admins see in sysfs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            AccessState::ActiveOptimized => "active/optimized",
            AccessState::ActiveNonOptimized => "active/non-optimized",
            AccessState::Standby => "standby",
            AccessState::Unavailable => "unavailable",
            AccessState::LbaDependent => "lba-dependent",
            AccessState::Offline => "offline",
            AccessState::Transitioning => "transitioning",
            AccessState::Unknown(code) => return write!(f, "reserved state 0x{code:x}"),
        };
        f.write_str(name)
    }
}

/// Parses the scsi_dh_alua sysfs attribute `device/preferred_path`:
/// "1" means the port group has the PREF bit set.
pub fn preferred_from_sysfs(text: &str) -> bool {
    text.trim() == "1"
}

/// Path priority as multipath-tools 0.9.4's `alua` prioritizer computes it
/// with default arguments: active/optimized 50, active/non-optimized 10,
/// LBA dependent 5, standby 1, anything else 0; plus 80 for a preferred port
/// group, except that an active/optimized group gets no bonus (0.9.4 adds it
/// there only with the `exclusive_pref_bit` argument, see [`priority_with`]).
pub fn priority(state: AccessState, preferred: bool) -> u32 {
    priority_with(state, preferred, false)
}

/// [`priority`] with multipath-tools' `exclusive_pref_bit` prioritizer
/// argument: when set, the PREF bonus applies to active/optimized too.
pub fn priority_with(state: AccessState, preferred: bool, exclusive_pref: bool) -> u32 {
    let base = match state {
        AccessState::ActiveOptimized => 50,
        AccessState::ActiveNonOptimized => 10,
        AccessState::LbaDependent => 5,
        AccessState::Standby => 1,
        _ => 0,
    };
    let bonus = preferred && (state != AccessState::ActiveOptimized || exclusive_pref);
    if bonus {
        base + 80
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [AccessState; 7] = [
        AccessState::ActiveOptimized,
        AccessState::ActiveNonOptimized,
        AccessState::Standby,
        AccessState::Unavailable,
        AccessState::LbaDependent,
        AccessState::Offline,
        AccessState::Transitioning,
    ];

    #[test]
    fn codes() {
        let codes = [0x0, 0x1, 0x2, 0x3, 0x4, 0xe, 0xf];
        for (code, state) in codes.iter().zip(ALL) {
            assert_eq!(AccessState::from_code(*code), state);
            assert_eq!(
                AccessState::from_code(code | 0x80),
                state,
                "PREF bit ignored"
            );
        }
        assert_eq!(AccessState::from_code(5), AccessState::Unknown(5));
        assert_eq!(AccessState::from_code(0x8d), AccessState::Unknown(0xd));
    }

    #[test]
    fn sysfs_round_trip() {
        for state in ALL {
            let text = format!("{state}\n");
            assert_eq!(AccessState::from_sysfs(&text), Some(state), "{text:?}");
        }
        assert_eq!(
            AccessState::from_sysfs("  standby "),
            Some(AccessState::Standby)
        );
        assert_eq!(AccessState::from_sysfs("unknown"), None);
        assert_eq!(AccessState::from_sysfs(""), None);
        assert_eq!(AccessState::Unknown(5).to_string(), "reserved state 0x5");
    }

    #[test]
    fn preferred_path_attribute() {
        assert!(preferred_from_sysfs("1\n"));
        assert!(!preferred_from_sysfs("0\n"));
        assert!(!preferred_from_sysfs(""));
    }

    #[test]
    fn priorities() {
        let expect = [50, 10, 1, 0, 5, 0, 0];
        for (state, prio) in ALL.iter().zip(expect) {
            assert_eq!(priority(*state, false), prio, "{state}");
        }
        assert_eq!(priority(AccessState::Unknown(7), false), 0);
    }

    #[test]
    fn preferred_bonus() {
        assert_eq!(priority(AccessState::ActiveNonOptimized, true), 90);
        assert_eq!(priority(AccessState::Standby, true), 81);
        assert_eq!(priority(AccessState::Unavailable, true), 80);
        // 0.9.4 default: no bonus on an already optimized group.
        assert_eq!(priority(AccessState::ActiveOptimized, true), 50);
        assert_eq!(priority_with(AccessState::ActiveOptimized, true, true), 130);
        assert_eq!(priority_with(AccessState::ActiveOptimized, false, true), 50);
    }
}
