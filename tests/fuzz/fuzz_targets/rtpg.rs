//! REPORT TARGET PORT GROUPS replies, both header formats; the first two
//! bytes choose the port group id to look for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_boot::alua;
use mpath_boot::scsi::rtpg;

fuzz_target!(|data: &[u8]| {
    let (id, reply) = match data {
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
        _ => return,
    };
    for extended in [false, true] {
        match rtpg::find_group(reply, extended, id) {
            Ok(Some(group)) => {
                assert_eq!(group.id, id);
                let _ = alua::priority(group.state, group.preferred);
                let _ = group.state.to_string();
            }
            Ok(None) => {}
            Err(e) => drop(e.to_string()),
        }
    }
});
