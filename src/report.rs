//! Human-readable result lines (pure formatting).

use core::fmt::Write;

use crate::group::Groups;
use crate::path::Path;

/// Size in multipath-tools' style: `8.0M`, `1.5G`, `512K`.
///
/// Integer arithmetic with exactly the result of formatting
/// `sectors as f64 / 2.0`, divided by 1024 per unit, with `{:.1}` (so no
/// float formatting code in the binary): the sector count is rounded to
/// f64's 53 significant bits, the tenths to nearest, ties to even.
pub fn human_size(sectors: u64) -> String {
    let mut n = u128::from(sectors);
    let bits = 128 - n.leading_zeros();
    if bits > 53 {
        n = round_shift(n, bits - 53) << (bits - 53);
    }
    // n / 2^scale KiB, exact.
    let mut unit = 'K';
    let mut scale = 1;
    for bigger in ['M', 'G', 'T', 'P'] {
        if n < 1 << (scale + 10) {
            break;
        }
        scale += 10;
        unit = bigger;
    }
    // At most 2^64 * 10 / 2^41: u64 division is enough.
    let tenths = round_shift(n * 10, scale) as u64;
    format!("{}.{}{unit}", tenths / 10, tenths % 10)
}

/// `n / 2^shift` (shift >= 1) rounded to nearest, ties to even.
fn round_shift(n: u128, shift: u32) -> u128 {
    let (quotient, rest, half) = (n >> shift, n & ((1 << shift) - 1), 1 << (shift - 1));
    quotient + u128::from(rest > half || (rest == half && quotient & 1 == 1))
}

/// One line for a map: what was done, its name, size, handler and paths
/// with their states and priorities, group by group.
pub fn map_line(action: &str, name: &str, dm: Option<&str>, groups: &Groups, paths: &[Path], hwhandler: &str) -> String {
    let first = groups.first().and_then(|g| g.paths.first()).map(|&i| &paths[i as usize]);
    let mut line = String::new();
    let _ = write!(line, "{action}: {name}");
    if let Some(dm) = dm {
        let _ = write!(line, " {dm}");
    }
    if let Some(p) = first {
        let _ = write!(line, " {},{} size={}", p.vendor, p.product, human_size(p.sectors));
    }
    let count: usize = groups.iter().map(|g| g.paths.len()).sum();
    let _ = write!(line, " hwhandler='{hwhandler}' paths={count}");
    for (n, group) in groups.iter().enumerate() {
        let _ = write!(line, " | group {} prio={}:", n + 1, group.priority);
        for &i in &group.paths {
            let p = &paths[i as usize];
            let _ = write!(line, " {} {} {} {}", p.hctl, p.name, p.devnum, p.state);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(16384), "8.0M");
        assert_eq!(human_size(1), "0.5K");
        assert_eq!(human_size(2 * 1024 * 1024 * 3 / 2), "1.5G");
        assert!(human_size(u64::MAX).ends_with('P'));
    }

    /// The float computation this replaces, as the reference.
    fn human_size_f64(sectors: u64) -> String {
        let mut value = sectors as f64 / 2.0;
        let mut unit = 'K';
        for bigger in ['M', 'G', 'T', 'P'] {
            if value < 1024.0 {
                break;
            }
            value /= 1024.0;
            unit = bigger;
        }
        format!("{value:.1}{unit}")
    }

    #[test]
    fn sizes_match_the_float_formatting_exactly() {
        let check = |s: u64| assert_eq!(human_size(s), human_size_f64(s), "{s}");
        // Every count to 300 000 sectors (K and M tenths, ties included).
        for s in 0..300_000 {
            check(s);
        }
        for k in 0..64 {
            for d in 0..600u64 {
                let b = 1u64 << k;
                check(b.wrapping_add(d));
                check(b.wrapping_sub(d));
                check(b.wrapping_mul(5).wrapping_sub(d));
            }
        }
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x);
            check(x >> (x % 64));
        }
        assert_eq!(human_size(u64::MAX), "8388608.0P");
    }
}
