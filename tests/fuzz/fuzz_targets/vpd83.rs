//! Page 0x83 (and, on the same bytes, page 0x80) through every consumer:
//! no panic, and any WWID must be a valid device-mapper name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_boot::identify::{self, vendor, Wwid, WWID_MAX};
use mpath_boot::scsi::vpd;

fn check(wwid: &Wwid) {
    let s = wwid.as_str();
    assert!(!s.is_empty() && s.len() <= WWID_MAX, "bad WWID length: {s:?}");
    assert!(s.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'/'), "bad WWID: {s:?}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(iter) = vpd::designators(data) {
        for d in iter.flatten() {
            assert!(d.offset + 4 + d.value.len() <= data.len());
        }
    }
    let _ = vpd::target_port_group(data);
    let _ = vpd::relative_target_port(data);
    let _ = vpd::unit_serial(data);
    if let Ok(w) = identify::wwid_from_vpd83(data) {
        check(&w);
    }
    if let Ok(w) = vendor::storageworks_wwid(data) {
        check(&w);
    }
    if let Ok(w) = identify::wwid_from_vpd80("Linux", "scsi_debug", data) {
        check(&w);
    }
    if let Ok(w) = identify::wwid_for("QEMU", "QEMU HARDDISK", Some(data), Some(data)) {
        check(&w);
    }
    match identify::wwid_for("HP", "HSV110", Some(data), None) {
        Ok(w) => check(&w),
        Err(e) => drop(e.to_string()),
    }
});
