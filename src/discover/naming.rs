//! Kernel names and numbers of SCSI nodes, as the sd and sg drivers assign
//! them. Needed where no sysfs (and no udev) tells them.

use crate::path::{DevName, DevNum};

/// Character major of the SCSI generic driver.
pub const SG_MAJOR: u32 = 21;

/// Block major of sd's `major_idx`-th group of 16 disks (8, 65-71, 128-135).
fn sd_major(major_idx: u32) -> u32 {
    match major_idx {
        0 => 8,
        1..=7 => 64 + major_idx,
        _ => 128 + (major_idx - 8),
    }
}

/// Device number of the `index`-th sd disk (whole disk, 16 minors each),
/// as `sd_probe` computes it, including extended minors past 256 disks.
pub fn sd_devnum(index: u32) -> DevNum {
    DevNum {
        major: sd_major((index & 0xf0) >> 4),
        minor: ((index & 0xf) << 4) | (index & 0xfff00),
    }
}

/// Kernel name of the `index`-th sd disk: sda..sdz, sdaa..sdzz, sdaaa...
pub fn sd_name(index: u32) -> DevName {
    // Letters are a bijective base-26 number.
    let mut letters = [0u8; 8];
    let mut n = u64::from(index) + 1;
    let mut len = 0;
    while n > 0 && len < letters.len() {
        n -= 1;
        letters[len] = b'a' + (n % 26) as u8;
        n /= 26;
        len += 1;
    }
    let mut name = DevName::new();
    let _ = name.push_str("sd");
    for &c in letters[..len].iter().rev() {
        let _ = name.push(c as char);
    }
    name
}

/// Device number of `/dev/sg<index>`.
pub fn sg_devnum(index: u32) -> DevNum {
    DevNum {
        major: SG_MAJOR,
        minor: index,
    }
}

/// Name `sg<index>`.
pub fn sg_name(index: u32) -> DevName {
    let mut name = DevName::new();
    let _ = core::fmt::Write::write_fmt(&mut name, format_args!("sg{index}"));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_names_follow_the_kernel() {
        let cases = [(0, "sda"), (25, "sdz"), (26, "sdaa"), (27, "sdab"), (701, "sdzz"), (702, "sdaaa")];
        for (index, name) in cases {
            assert_eq!(sd_name(index).as_str(), name, "index {index}");
        }
    }

    #[test]
    fn sd_numbers_follow_the_kernel() {
        let dn = |major, minor| DevNum { major, minor };
        assert_eq!(sd_devnum(0), dn(8, 0));
        assert_eq!(sd_devnum(1), dn(8, 16));
        assert_eq!(sd_devnum(15), dn(8, 240));
        assert_eq!(sd_devnum(16), dn(65, 0));
        assert_eq!(sd_devnum(127), dn(71, 240));
        assert_eq!(sd_devnum(128), dn(128, 0));
        assert_eq!(sd_devnum(255), dn(135, 240));
        // Past 256 disks the minors grow beyond 255 and the majors wrap.
        assert_eq!(sd_devnum(256), dn(8, 256));
        assert_eq!(sd_devnum(257), dn(8, 272));
    }

    #[test]
    fn sg_nodes() {
        assert_eq!(sg_name(12).as_str(), "sg12");
        assert_eq!(sg_devnum(12), DevNum { major: 21, minor: 12 });
    }
}
