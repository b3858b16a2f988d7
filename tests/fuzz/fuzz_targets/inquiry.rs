//! Standard INQUIRY data; the parsed strings also drive the vendor table and
//! the page 0x80 WWID, so feed them through those too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_boot::identify::{self, vendor, WWID_MAX};
use mpath_boot::scsi::inquiry;

fuzz_target!(|data: &[u8]| {
    let Ok(inq) = inquiry::parse(data) else { return };
    assert!(inq.qualifier < 8 && inq.device_type < 32 && inq.tpgs < 4);
    let _ = vendor::method_for(&inq.vendor, &inq.product);
    let page80 = data.get(36..).unwrap_or_default();
    if let Ok(w) = identify::wwid_from_vpd80(&inq.vendor, &inq.product, page80) {
        let s = w.as_str();
        assert!(!s.is_empty() && s.len() <= WWID_MAX);
        assert!(s.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'/'), "{s:?}");
    }
});
