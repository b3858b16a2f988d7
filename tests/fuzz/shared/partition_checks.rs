//! What every partition table `read_table` accepts must hold, shared by the
//! cargo-fuzz target `partitions` (`tests/fuzz/fuzz_targets/partitions.rs`)
//! and the always-run `tests/partitions_fuzz.rs` (both include this file
//! with `#[path]`).

use mpath_boot::partitions::Partition;

/// `parts` have increasing numbers from 1, are non-empty, lie within
/// `disk_sectors` and do not overlap, except an extended partition (its MBR
/// slot number in `extended`) with the logical partitions (5 and up) its
/// 1 KiB map may share sectors with. `context` starts every message.
pub fn check_partitions(parts: &[Partition], disk_sectors: u64, extended: &[u32], context: &str) {
    for pair in parts.windows(2) {
        assert!(
            pair[0].number < pair[1].number,
            "{context}: numbers not increasing: {parts:?}"
        );
    }
    for (i, a) in parts.iter().enumerate() {
        assert!(a.number >= 1 && a.sectors > 0, "{context}: {a:?}");
        assert!(
            a.start
                .checked_add(a.sectors)
                .is_some_and(|end| end <= disk_sectors),
            "{context}: {a:?} past {disk_sectors}"
        );
        for b in &parts[i + 1..] {
            let container = extended.contains(&a.number) && b.number >= 5;
            if !container {
                assert!(
                    a.end() <= b.start || b.end() <= a.start,
                    "{context}: {a:?} overlaps {b:?}"
                );
            }
        }
    }
}
