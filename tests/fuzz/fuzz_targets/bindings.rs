//! The bindings file: parsing, lookups, allocation and the start-up check
//! must never panic, and a new alias must never be one the file holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_boot::config::bindings::{self, Alias};

fuzz_target!(|data: &[u8]| {
    let (b, _) = bindings::parse(data, "bindings");
    let taken = |name: &str| name.ends_with('q');
    for prefix in ["mpath", "", "a"] {
        if let Some(name) = b.allocate("fuzz-new-wwid", prefix, &taken) {
            assert!(name.starts_with(prefix) && !taken(&name));
            assert_eq!(b.wwid_of(&name), None, "{name} is bound already");
            assert_eq!(b.select("fuzz-new-wwid", prefix, true, &taken), Alias::New(name));
        }
        // Read-only: the file's alias when it binds the WWID (the input may
        // well hold "fuzz-new-wwid"), else the WWID itself.
        let bound = b.alias_of("fuzz-new-wwid").map(|a| Alias::Bound(a.to_owned()));
        assert_eq!(b.select("fuzz-new-wwid", prefix, false, &taken), bound.unwrap_or(Alias::Wwid));
        let _ = b.existing_alias("fuzz-new-wwid", "mpathb", prefix, true);
    }
    let checked = b.check(&[]);
    let (again, _) = bindings::parse(&checked.contents, "bindings");
    assert!(!again.check(&[]).needs_rewrite);
});
