//! The wwids file: the reader must never panic and must only find WWIDs
//! the file spells out between two slashes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_boot::config::wwids;

fuzz_target!(|data: &[u8]| {
    let (w, _) = wwids::parse(data, "wwids");
    let spelled = |q: &str| {
        let needle = format!("/{q}/");
        data.windows(needle.len()).any(|win| win == needle.as_bytes())
    };
    // Query with pieces of the input itself, so matches are likely.
    for piece in data.split(|&b| b == b'/').take(16) {
        if let Ok(q) = std::str::from_utf8(piece) {
            if w.contains(q) {
                assert!(q.contains('\0') || spelled(q), "{q:?}");
            }
        }
    }
});
