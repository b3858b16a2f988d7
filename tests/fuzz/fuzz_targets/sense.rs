//! Sense data, plus the ALUA sysfs/state decoders on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_boot::alua::{self, AccessState};
use mpath_boot::scsi::sense;

fuzz_target!(|data: &[u8]| {
    if let Some(s) = sense::parse(data) {
        assert!(s.key < 16);
    }
    if let Some(&code) = data.first() {
        let _ = AccessState::from_code(code).to_string();
    }
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = AccessState::from_sysfs(text);
        let _ = alua::preferred_from_sysfs(text);
    }
});
