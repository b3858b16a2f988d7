//! Pairing sg nodes with sd nodes on their SCSI address, as the original
//! 2003 tool did when it had no sysfs.
//!
//! SCSI_IOCTL_GET_IDLUN reports channel, target and LUN in 8 bits each, so
//! the pairing compares those low bytes plus the full host number. An
//! address seen twice on either side cannot be paired safely: such sd nodes
//! keep no sg partner (SG_IO then goes through the sd node itself).

use crate::path::Hctl;

/// Address as the sd side reports it (low bytes only, full host).
pub fn key(hctl: &Hctl) -> (u32, u32, u32, u64) {
    (hctl.host, hctl.channel & 0xff, hctl.target & 0xff, hctl.lun & 0xff)
}

/// For each sd address, the index of the sg address it pairs with.
/// Also returns the sd indices whose address was ambiguous.
pub fn pivot(sd: &[Hctl], sg: &[Hctl]) -> (Vec<Option<usize>>, Vec<usize>) {
    let mut sg_keys: Vec<((u32, u32, u32, u64), usize)> =
        sg.iter().enumerate().map(|(i, h)| (key(h), i)).collect();
    sg_keys.sort_unstable();
    let sd_count = |k: &(u32, u32, u32, u64)| sd.iter().filter(|h| key(h) == *k).count();
    let mut pairs = Vec::with_capacity(sd.len());
    let mut ambiguous = Vec::new();
    for (i, hctl) in sd.iter().enumerate() {
        let k = key(hctl);
        let start = sg_keys.partition_point(|(sk, _)| *sk < k);
        let matches = sg_keys[start..].iter().take_while(|(sk, _)| *sk == k).count();
        match matches {
            0 => pairs.push(None),
            1 if sd_count(&k) == 1 => pairs.push(Some(sg_keys[start].1)),
            _ => {
                pairs.push(None);
                ambiguous.push(i);
            }
        }
    }
    (pairs, ambiguous)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(host: u32, channel: u32, target: u32, lun: u64) -> Hctl {
        Hctl { host, channel, target, lun }
    }

    #[test]
    fn pairs_in_any_order() {
        let sd = [h(1, 0, 0, 1), h(0, 0, 0, 0), h(1, 0, 0, 0)];
        let sg = [h(0, 0, 0, 0), h(1, 0, 0, 0), h(1, 0, 0, 1)];
        let (pairs, ambiguous) = pivot(&sd, &sg);
        assert_eq!(pairs, [Some(2), Some(0), Some(1)]);
        assert!(ambiguous.is_empty());
    }

    #[test]
    fn holes_stay_unpaired() {
        // sg1 is a CD-ROM with no sd node; sdb has no sg node.
        let sd = [h(0, 0, 0, 0), h(0, 0, 1, 0)];
        let sg = [h(0, 0, 0, 0), h(0, 0, 2, 0)];
        let (pairs, ambiguous) = pivot(&sd, &sg);
        assert_eq!(pairs, [Some(0), None]);
        assert!(ambiguous.is_empty());
        let (pairs, _) = pivot(&sd, &[]);
        assert_eq!(pairs, [None, None]);
        assert!(pivot(&[], &sg).0.is_empty());
    }

    #[test]
    fn duplicates_are_not_paired() {
        let sd = [h(0, 0, 0, 0), h(0, 0, 0, 0), h(0, 0, 0, 1)];
        let sg = [h(0, 0, 0, 0), h(0, 0, 0, 1), h(0, 0, 0, 1)];
        let (pairs, ambiguous) = pivot(&sd, &sg);
        assert_eq!(pairs, [None, None, None]);
        assert_eq!(ambiguous, [0, 1, 2]);
    }

    #[test]
    fn only_low_bytes_of_lun_are_compared() {
        // LUN 256 and LUN 0 look alike through SCSI_IOCTL_GET_IDLUN.
        let sd = [h(0, 0, 0, 0)];
        let sg = [h(0, 0, 0, 256), h(0, 0, 0, 0)];
        let (pairs, ambiguous) = pivot(&sd, &sg);
        assert_eq!(pairs, [None]);
        assert_eq!(ambiguous, [0]);
    }
}
