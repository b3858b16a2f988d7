//! `random`: a random priority from 1 to 10 for every call, as
//! multipath-tools' `random` prioritizer (which seeds `rand()` with the
//! current microseconds each time). Not reproducible by design: two runs
//! over the same devices may group paths differently.

use std::time::{SystemTime, UNIX_EPOCH};

/// Smallest value.
pub const MIN: u32 = 1;
/// Largest value.
pub const MAX: u32 = 10;

/// A priority from the clock.
pub fn priority() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    priority_from_seed(nanos)
}

/// The priority for `seed`, uniform over MIN..=MAX as seeds vary.
pub fn priority_from_seed(seed: u64) -> u32 {
    // splitmix64 finaliser: nearby seeds (consecutive clock readings) give
    // unrelated values.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // Scale like 1 + (int)(10.0 * rand() / (RAND_MAX + 1.0)).
    MIN + ((u128::from(z) * u128::from(MAX - MIN + 1)) >> 64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_in_range_is_reached_and_none_outside() {
        let mut seen = [0u32; 11];
        for seed in 0..10_000u64 {
            let v = priority_from_seed(seed);
            assert!((MIN..=MAX).contains(&v), "{v}");
            seen[v as usize] += 1;
        }
        assert_eq!(seen[0], 0);
        for (v, count) in seen.iter().enumerate().skip(1) {
            assert!(*count > 700, "value {v} drawn {count} times of 10000");
        }
        assert!((MIN..=MAX).contains(&priority()));
    }
}
