//! REPORT TARGET PORT GROUPS reply (SPC-4 6.37): finds the ALUA state of the
//! port group a path belongs to.

use super::{be16, be32, ScsiDataError};
use crate::alua::AccessState;

/// Header size of the length-only reply format.
const HEADER_LEN: usize = 4;
/// Header size of the extended reply format (adds format type, implicit
/// transition time and reserved bytes).
const EXTENDED_HEADER_LEN: usize = 8;
/// Target port group descriptor size without its target port entries.
const DESCRIPTOR_LEN: usize = 8;
/// Size of one target port entry in a descriptor.
const PORT_ENTRY_LEN: usize = 4;
/// FORMAT TYPE value (byte 4 bits 6-4) of the extended header.
const FORMAT_EXTENDED: u8 = 1;

/// State of one target port group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortGroup {
    /// Target port group identifier.
    pub id: u16,
    /// Asymmetric access state.
    pub state: AccessState,
    /// PREF bit: the group is a preferred path to the LU.
    pub preferred: bool,
}

/// Finds the descriptor of port group `id` in a REPORT TARGET PORT GROUPS
/// reply; the first match wins.
///
/// `extended` says whether the command asked for the extended format. Only
/// then is byte 4 a header byte (its FORMAT TYPE decides where descriptors
/// start); in the length-only format byte 4 already belongs to the first
/// descriptor. `Ok(None)` means the reply is well formed but has no such
/// group; a descriptor running past the reply before the match is an error.
pub fn find_group(buf: &[u8], extended: bool, id: u16) -> Result<Option<PortGroup>, ScsiDataError> {
    let data_len = be32(buf, 0).ok_or(ScsiDataError::TooShort {
        what: "REPORT TARGET PORT GROUPS reply",
        len: buf.len(),
        need: HEADER_LEN,
    })?;
    let end = usize::try_from(data_len)
        .ok()
        .and_then(|n| n.checked_add(HEADER_LEN))
        .map_or(buf.len(), |claimed| claimed.min(buf.len()));
    let mut pos = if extended {
        descriptors_start(buf, end)?
    } else {
        HEADER_LEN
    };
    while pos < end {
        let (b0, group, ports) = match (buf.get(pos), be16(buf, pos + 2), buf.get(pos + 7)) {
            (Some(&b0), Some(group), Some(&ports)) if pos + DESCRIPTOR_LEN <= end => {
                (b0, group, ports)
            }
            _ => return Err(overrun(pos, pos + DESCRIPTOR_LEN, end)),
        };
        let next = pos + DESCRIPTOR_LEN + PORT_ENTRY_LEN * usize::from(ports);
        if next > end {
            return Err(overrun(pos, next, end));
        }
        if group == id {
            return Ok(Some(PortGroup {
                id: group,
                state: AccessState::from_code(b0),
                preferred: b0 & 0x80 != 0,
            }));
        }
        pos = next;
    }
    Ok(None)
}

/// Where descriptors start in a reply to an extended-format request: offset 8
/// if the device actually used the extended header, else 4 (devices may
/// ignore the requested format and answer length-only).
fn descriptors_start(buf: &[u8], end: usize) -> Result<usize, ScsiDataError> {
    // An empty length-only reply has no byte 4 to look at.
    if end <= HEADER_LEN {
        return Ok(HEADER_LEN);
    }
    let format = buf.get(HEADER_LEN).map_or(0, |b| (b >> 4) & 0x07);
    if format != FORMAT_EXTENDED {
        return Ok(HEADER_LEN);
    }
    if end < EXTENDED_HEADER_LEN {
        return Err(ScsiDataError::TooShort {
            what: "REPORT TARGET PORT GROUPS extended reply",
            len: end,
            need: EXTENDED_HEADER_LEN,
        });
    }
    Ok(EXTENDED_HEADER_LEN)
}

fn overrun(offset: usize, claimed_end: usize, end: usize) -> ScsiDataError {
    ScsiDataError::Overrun {
        what: "REPORT TARGET PORT GROUPS descriptor",
        offset,
        claimed_end,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three groups: 1 active/optimized + PREF with 2 ports, 2 standby with
    /// 1 port, 0x100 active/non-optimized with no ports.
    fn reply(extended: bool) -> Vec<u8> {
        let mut body = vec![
            0x80, 0x0f, 0x00, 0x01, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, // group 1
            0x02, 0x0f, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 3, // group 2
            0x01, 0x0f, 0x01, 0x00, 0, 0, 0, 0, // group 0x100
        ];
        let mut out = Vec::new();
        let header_extra = if extended { 4 } else { 0 };
        out.extend_from_slice(&((body.len() + header_extra) as u32).to_be_bytes());
        if extended {
            out.extend_from_slice(&[0x10, 60, 0, 0]);
        }
        out.append(&mut body);
        out
    }

    fn group(id: u16, state: AccessState, preferred: bool) -> Option<PortGroup> {
        Some(PortGroup {
            id,
            state,
            preferred,
        })
    }

    #[test]
    fn several_groups() {
        let buf = reply(false);
        assert_eq!(
            find_group(&buf, false, 1),
            Ok(group(1, AccessState::ActiveOptimized, true))
        );
        assert_eq!(
            find_group(&buf, false, 2),
            Ok(group(2, AccessState::Standby, false))
        );
        assert_eq!(
            find_group(&buf, false, 0x100),
            Ok(group(0x100, AccessState::ActiveNonOptimized, false))
        );
        assert_eq!(find_group(&buf, false, 3), Ok(None));
    }

    #[test]
    fn extended_format() {
        let buf = reply(true);
        assert_eq!(
            find_group(&buf, true, 2),
            Ok(group(2, AccessState::Standby, false))
        );
        assert_eq!(
            find_group(&buf, true, 0x100),
            Ok(group(0x100, AccessState::ActiveNonOptimized, false))
        );
    }

    #[test]
    fn extended_request_answered_length_only() {
        let buf = reply(false);
        // Byte 4 is 0x80 (group 1's PREF/state byte): format type 0.
        assert_eq!(
            find_group(&buf, true, 2),
            Ok(group(2, AccessState::Standby, false))
        );
    }

    #[test]
    fn length_only_request_ignores_byte4() {
        let mut buf = reply(false);
        buf[4] = 0x9f; // PREF + transitioning; bits 6-4 happen to read as 1
        assert_eq!(
            find_group(&buf, false, 1),
            Ok(group(1, AccessState::Transitioning, true))
        );
    }

    #[test]
    fn empty_reply() {
        assert_eq!(find_group(&[0, 0, 0, 0], false, 1), Ok(None));
        assert_eq!(find_group(&[0, 0, 0, 0], true, 1), Ok(None));
        assert_eq!(find_group(&[0, 0, 0, 4, 0x10, 0, 0, 0], true, 1), Ok(None));
    }

    #[test]
    fn short_header() {
        assert!(matches!(
            find_group(&[0, 0, 0], false, 1),
            Err(ScsiDataError::TooShort { need: 4, .. })
        ));
        assert!(matches!(
            find_group(&[0, 0, 0, 2, 0x10, 0], true, 1),
            Err(ScsiDataError::TooShort { need: 8, .. })
        ));
    }

    #[test]
    fn truncated_reply() {
        let buf = reply(false);
        // Group 1 complete, group 2 cut: finding group 1 still works.
        let cut = &buf[..24];
        assert_eq!(
            find_group(cut, false, 1),
            Ok(group(1, AccessState::ActiveOptimized, true))
        );
        assert_eq!(
            find_group(cut, false, 2),
            Err(ScsiDataError::Overrun {
                what: "REPORT TARGET PORT GROUPS descriptor",
                offset: 20,
                claimed_end: 28,
                end: 24
            })
        );
        // Port count pointing past the end.
        let mut bad = buf.clone();
        bad[11] = 200;
        assert!(matches!(
            find_group(&bad, false, 2),
            Err(ScsiDataError::Overrun { offset: 4, .. })
        ));
    }

    #[test]
    fn length_field_bounds_the_walk() {
        let mut buf = reply(false);
        buf[3] = 16; // only group 1
        assert_eq!(find_group(&buf, false, 2), Ok(None));
        let mut huge = reply(false);
        huge[..4].copy_from_slice(&[0xff; 4]);
        assert!(find_group(&huge, false, 0x100).unwrap().is_some());
        assert_eq!(find_group(&huge, false, 7), Ok(None));
    }
}
