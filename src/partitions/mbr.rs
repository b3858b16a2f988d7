//! MBR (DOS) partition tables with extended partitions, numbered the way
//! kpartx numbers them so that `<map>-part<N>` names match the booted
//! system's.
//!
//! kpartx semantics carried over:
//! - Primary entries are partitions 1-4; an entry is empty when its size is
//!   0, whatever its type (kpartx and the kernel map a type-0 entry with a
//!   size).
//! - Types 0x05, 0x0F and 0x85 are extended partitions. Each is walked as a
//!   chain of EBRs; in every EBR the first two entries are read: a
//!   non-extended entry is the next logical partition (numbers from 5 in
//!   chain order; an empty one still uses up its number, as in kpartx),
//!   start relative to that EBR; the first extended entry with a start and
//!   a size links to the next EBR, start relative to the extended partition.
//! - The extended partition itself is mapped too, but only its first 1 KiB
//!   (2 sectors, or one logical block on larger-block disks), as kpartx and
//!   the kernel do so that boot loaders could be installed there.
//!
//! Stricter than kpartx, because a wrong map is worse than none: a looping
//! chain, more than [`MAX_EBRS`] EBRs, a link or a logical partition outside
//! its extended partition, or a linked EBR without signature is an error.

use super::disk::Disk;
use super::{check_layout, Partition, PartitionError, PartitionTable, PartitionWarning};

pub const SIGNATURE: [u8; 2] = [0x55, 0xAA];
const SIGNATURE_OFFSET: usize = 510;
const TABLE_OFFSET: usize = 446;
const ENTRY_LEN: usize = 16;
/// Partition type of a protective MBR: the disk is GPT.
pub const PROTECTIVE_TYPE: u8 = 0xEE;
/// Longest EBR chain followed; kpartx gives up after 256 partitions.
pub const MAX_EBRS: usize = 128;
/// First logical partition number.
const FIRST_LOGICAL: u32 = 5;

/// One 16-byte partition entry; start and size are in logical blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MbrEntry {
    pub boot: u8,
    pub kind: u8,
    pub start: u32,
    pub blocks: u32,
}

impl MbrEntry {
    pub fn parse(raw: &[u8; ENTRY_LEN]) -> Self {
        let le32 = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        MbrEntry {
            boot: raw[0],
            kind: raw[4],
            start: le32(8),
            blocks: le32(12),
        }
    }

    /// The on-disk form, with zero CHS fields (nobody reads them).
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut raw = [0u8; ENTRY_LEN];
        raw[0] = self.boot;
        raw[4] = self.kind;
        raw[8..12].copy_from_slice(&self.start.to_le_bytes());
        raw[12..16].copy_from_slice(&self.blocks.to_le_bytes());
        raw
    }
}

pub fn has_signature(sector: &[u8]) -> bool {
    sector.get(SIGNATURE_OFFSET..SIGNATURE_OFFSET + 2) == Some(&SIGNATURE[..])
}

/// The four entries of an MBR or EBR (zeros where `sector` is short).
pub fn entries(sector: &[u8]) -> [MbrEntry; 4] {
    std::array::from_fn(|slot| {
        let at = TABLE_OFFSET + slot * ENTRY_LEN;
        let mut raw = [0u8; ENTRY_LEN];
        if let Some(bytes) = sector.get(at..at + ENTRY_LEN) {
            raw.copy_from_slice(bytes);
        }
        MbrEntry::parse(&raw)
    })
}

/// Extended partition types (DOS, Windows LBA, Linux).
pub fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0F | 0x85)
}

/// Partitions of an MBR disk whose sector 0 holds `entries`.
pub(crate) fn read(
    disk: &mut Disk,
    entries: &[MbrEntry; 4],
) -> Result<PartitionTable, PartitionError> {
    // The kernel's test: a boot sector of a whole-disk file system also ends
    // in 0x55AA but has code, not boot indicators, in the table area.
    if let Some((slot, entry)) = (1..)
        .zip(entries)
        .find(|(_, e)| e.boot != 0 && e.boot != 0x80)
    {
        let warning = PartitionWarning::NotAPartitionTable {
            slot,
            boot_indicator: entry.boot,
        };
        return Ok(PartitionTable {
            partitions: Vec::new(),
            warnings: vec![warning],
        });
    }
    let per_block = disk.sectors_per_block();
    let primaries: Vec<(Partition, &MbrEntry)> = (1..)
        .zip(entries)
        .filter(|(_, entry)| entry.blocks != 0)
        .map(|(number, entry)| {
            let start = u64::from(entry.start) * per_block;
            (
                Partition {
                    number,
                    start,
                    sectors: u64::from(entry.blocks) * per_block,
                },
                entry,
            )
        })
        .collect();
    let whole: Vec<Partition> = primaries.iter().map(|(p, _)| *p).collect();
    check_layout(&whole, disk.sectors())?;

    let mut partitions = Vec::new();
    let mut next_number = FIRST_LOGICAL;
    for (primary, entry) in primaries {
        if !is_extended(entry.kind) {
            partitions.push(primary);
            continue;
        }
        let logicals = read_chain(disk, &primary, &mut next_number)?;
        if let Some(&logical) = logicals
            .iter()
            .find(|l| l.start < primary.start || l.end() > primary.end())
        {
            return Err(PartitionError::LogicalOutsideExtended {
                logical,
                extended: primary,
            });
        }
        check_layout(&logicals, disk.sectors())?;
        let mapped = primary.sectors.min(per_block.max(2));
        partitions.push(Partition {
            sectors: mapped,
            ..primary
        });
        partitions.extend(logicals);
    }
    Ok(PartitionTable {
        partitions,
        warnings: Vec::new(),
    })
}

/// Walks the EBR chain of `extended` (in 512-byte sectors), numbering
/// logical partitions from `next_number` on.
fn read_chain(
    disk: &mut Disk,
    extended: &Partition,
    next_number: &mut u32,
) -> Result<Vec<Partition>, PartitionError> {
    let per_block = disk.sectors_per_block();
    let first = extended.start / per_block;
    let end = extended.end() / per_block;
    let mut visited: Vec<u64> = Vec::new();
    let mut logicals = Vec::new();
    let mut here = first;
    loop {
        if visited.contains(&here) {
            return Err(PartitionError::EbrChainLoop {
                sector: here * per_block,
            });
        }
        if visited.len() == MAX_EBRS {
            return Err(PartitionError::EbrChainTooLong { limit: MAX_EBRS });
        }
        visited.push(here);
        let ebr = disk.read_blocks(here, 1)?;
        if !has_signature(&ebr) {
            if here == first {
                return Ok(logicals); // an extended partition with no logical ones yet
            }
            return Err(PartitionError::EbrNoSignature {
                sector: here * per_block,
            });
        }
        let mut link = None;
        for entry in &entries(&ebr)[..2] {
            if is_extended(entry.kind) {
                if entry.start != 0 && entry.blocks != 0 && link.is_none() {
                    link = Some(first + u64::from(entry.start));
                }
                continue;
            }
            let number = *next_number;
            *next_number += 1;
            if entry.blocks != 0 {
                let start = (here + u64::from(entry.start)) * per_block;
                logicals.push(Partition {
                    number,
                    start,
                    sectors: u64::from(entry.blocks) * per_block,
                });
            }
        }
        match link {
            None => return Ok(logicals),
            Some(next) if next < end => here = next,
            Some(next) => {
                return Err(PartitionError::EbrLinkOutside {
                    ebr_sector: here * per_block,
                    link_sector: next * per_block,
                    extended: *extended,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testimage::{self, part, Logical, SparseDisk};
    use super::super::{read_table, PartitionTable};
    use super::*;

    const MIB64: u64 = 131072;

    fn read_512(disk: &SparseDisk) -> Result<PartitionTable, PartitionError> {
        read_table(&mut disk.reader(), disk.sectors(), 512)
    }

    /// The numbers of the partitions read from `disk` (512-byte sectors).
    fn numbers(disk: &SparseDisk) -> Vec<u32> {
        read_512(disk)
            .unwrap()
            .partitions
            .iter()
            .map(|p| p.number)
            .collect()
    }

    fn primary(kind: u8, start: u32, blocks: u32) -> MbrEntry {
        MbrEntry {
            boot: 0,
            kind,
            start,
            blocks,
        }
    }

    /// `sfdisk` on a 64 MiB image: label-id 0x1a2b3c4d, one bootable Linux
    /// partition from 2048 to the end. Bytes 0x1B8..0x200 of sector 0.
    const SFDISK_SINGLE: [u8; 72] = [
        0x4d, 0x3c, 0x2b, 0x1a, 0x00, 0x00, 0x80, 0x20, 0x21, 0x00, 0x83, 0x28, 0x20, 0x08, 0x00,
        0x08, 0x00, 0x00, 0x00, 0xf8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0x55, 0xaa,
    ];

    /// `sfdisk` on a 64 MiB image (label-id 0x0badcafe): 1 and 2 primary,
    /// 3 extended at 43008, logicals 5, 6, 7 of 10240 sectors each. The
    /// used entries (from 0x1BE) of the MBR and of the three EBRs.
    #[rustfmt::skip]
    const SFDISK_EXTENDED: [(u64, &[u8]); 4] = [
        (0, &[
            0x00, 0x20, 0x21, 0x00, 0x83, 0x66, 0x25, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00,
            0x00, 0x66, 0x26, 0x01, 0x82, 0xac, 0x2a, 0x02, 0x00, 0x58, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00,
            0x00, 0xac, 0x2b, 0x02, 0x05, 0x28, 0x20, 0x08, 0x00, 0xa8, 0x00, 0x00, 0x00, 0x58, 0x01, 0x00,
        ]),
        (43008, &[
            0x00, 0xcd, 0x0c, 0x02, 0x83, 0x70, 0x2d, 0x03, 0x00, 0x08, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00,
            0x00, 0x70, 0x2e, 0x03, 0x05, 0x34, 0x30, 0x04, 0x00, 0x30, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00,
        ]),
        (55296, &[
            0x00, 0x91, 0x0f, 0x03, 0x83, 0x34, 0x30, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00,
            0x00, 0x34, 0x31, 0x04, 0x05, 0xf7, 0x33, 0x04, 0x00, 0x60, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00,
        ]),
        (67584, &[
            0x00, 0x55, 0x12, 0x04, 0x8e, 0xf7, 0x33, 0x04, 0x00, 0x08, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00,
        ]),
    ];

    #[test]
    fn real_single_partition() {
        let mut disk = SparseDisk::new(MIB64);
        disk.write(0x1b8, &SFDISK_SINGLE);
        let table = read_512(&disk).unwrap();
        assert_eq!(table.partitions, [part(1, 2048, 129024)]);
    }

    #[test]
    fn real_extended_with_three_logicals() {
        let mut disk = SparseDisk::new(MIB64);
        for (sector, entries) in SFDISK_EXTENDED {
            disk.write(sector * 512 + 0x1be, entries);
            disk.write(sector * 512 + 510, &SIGNATURE);
        }
        let table = read_512(&disk).unwrap();
        assert_eq!(
            table.partitions,
            [
                part(1, 2048, 20480),
                part(2, 22528, 20480),
                part(3, 43008, 2),
                part(5, 45056, 10240),
                part(6, 57344, 10240),
                part(7, 69632, 10240),
            ]
        );
    }

    #[test]
    fn four_primaries_and_holes_keep_numbers() {
        let fixture = testimage::mbr_four_primaries();
        let mut disk = fixture.disk;
        assert_eq!(read_512(&disk).unwrap().partitions.len(), 4);
        // Empty slot 2: 1, 3, 4 remain, numbered by slot.
        disk.write(446 + 16, &[0; 16]);
        assert_eq!(numbers(&disk), [1, 3, 4]);
    }

    #[test]
    fn type_zero_with_a_size_is_a_partition_like_kpartx() {
        let mut disk = SparseDisk::new(MIB64);
        testimage::write_boot_record(&mut disk, 0, &[primary(0, 2048, 4096)]);
        assert_eq!(read_512(&disk).unwrap().partitions, [part(1, 2048, 4096)]);
    }

    #[test]
    fn bad_boot_indicator_is_no_table() {
        let mut disk = testimage::mbr_single().disk;
        disk.write(446 + 32, &[0x12]);
        let table = read_512(&disk).unwrap();
        assert!(table.partitions.is_empty());
        assert_eq!(table.warnings.len(), 1);
        assert!(table.warnings[0]
            .to_string()
            .contains("entry 3 has boot indicator 0x12"));
    }

    #[test]
    fn no_signature_is_no_table() {
        let mut disk = testimage::mbr_single().disk;
        disk.write(510, &[0x55, 0xAB]);
        assert!(read_512(&disk).unwrap().partitions.is_empty());
    }

    #[test]
    fn four_k_blocks_scale_to_512_byte_sectors() {
        let mut disk = SparseDisk::new(MIB64);
        testimage::write_boot_record(
            &mut disk,
            0,
            &[primary(0x83, 256, 1024), primary(0x0F, 2048, 4096)],
        );
        testimage::write_ebr_chain(
            &mut disk,
            4096,
            2048,
            &[Logical {
                ebr: 2048,
                kind: 0x83,
                start: 2304,
                blocks: 512,
            }],
        );
        let table = read_table(&mut disk.reader(), disk.sectors(), 4096).unwrap();
        assert_eq!(
            table.partitions,
            [part(1, 2048, 8192), part(2, 16384, 8), part(5, 18432, 4096)]
        );
    }

    #[test]
    fn empty_extended_partition_has_no_logicals() {
        let mut disk = SparseDisk::new(MIB64);
        testimage::write_boot_record(&mut disk, 0, &[primary(0x85, 2048, 8192)]);
        assert_eq!(read_512(&disk).unwrap().partitions, [part(1, 2048, 2)]);
    }

    #[test]
    fn empty_first_ebr_entry_uses_up_a_number() {
        let mut disk = testimage::mbr_extended().disk;
        // Blank out logical 5, keeping the link to the next EBR.
        disk.write(43008 * 512 + 446, &[0; 16]);
        assert_eq!(numbers(&disk), [1, 2, 3, 6, 7]);
    }

    /// The extended fixture with EBR `index` (0-based) linking to `target`
    /// (an LBA relative to the extended partition at 43008).
    fn relinked(index: usize, target: u32) -> SparseDisk {
        let mut disk = testimage::mbr_extended().disk;
        let ebr = [43008u64, 55296, 67584][index];
        disk.write(ebr * 512 + 446 + 16, &primary(0x05, target, 4096).encode());
        disk
    }

    fn error_of(disk: &SparseDisk) -> String {
        read_512(disk).unwrap_err().to_string()
    }

    #[test]
    fn ebr_pointing_to_itself() {
        assert_eq!(
            error_of(&relinked(1, 55296 - 43008)),
            "extended partition chain loops at sector 55296"
        );
    }

    #[test]
    fn ebr_pointing_to_an_earlier_one() {
        assert_eq!(
            error_of(&relinked(2, 55296 - 43008)),
            "extended partition chain loops at sector 55296"
        );
    }

    #[test]
    fn ebr_link_outside_the_extended_partition() {
        let message = error_of(&relinked(0, 88064));
        assert_eq!(
            message,
            "EBR at sector 43008 links to sector 131072, outside extended partition 3 (sectors 43008..131072)"
        );
    }

    #[test]
    fn linked_ebr_without_signature() {
        let mut disk = testimage::mbr_extended().disk;
        disk.write(55296 * 512 + 510, &[0, 0]);
        assert_eq!(
            error_of(&disk),
            "EBR at sector 55296 has no 0x55AA signature"
        );
    }

    #[test]
    fn long_chain_is_cut_off() {
        let mut disk = SparseDisk::new(MIB64);
        testimage::write_boot_record(&mut disk, 0, &[primary(0x05, 2048, 100_000)]);
        let logicals: Vec<Logical> = (0..200)
            .map(|i| Logical {
                ebr: 2048 + i * 64,
                kind: 0x83,
                start: 2048 + i * 64 + 1,
                blocks: 63,
            })
            .collect();
        testimage::write_ebr_chain(&mut disk, 512, 2048, &logicals);
        assert_eq!(
            error_of(&disk),
            "extended partition chain has more than 128 EBRs"
        );
        // 128 EBRs are fine.
        let mut disk = SparseDisk::new(MIB64);
        testimage::write_boot_record(&mut disk, 0, &[primary(0x05, 2048, 100_000)]);
        testimage::write_ebr_chain(&mut disk, 512, 2048, &logicals[..MAX_EBRS]);
        assert_eq!(
            read_512(&disk).unwrap().partitions.last().unwrap().number,
            4 + MAX_EBRS as u32
        );
    }

    #[test]
    fn logical_outside_extended() {
        let mut disk = testimage::mbr_extended().disk;
        // Logical 7 made to run 1 sector past the extended partition's end.
        let blocks = 131072 - 69632 + 1;
        disk.write(67584 * 512 + 446, &primary(0x8e, 2048, blocks).encode());
        assert_eq!(
            error_of(&disk),
            "logical partition 7 (sectors 69632..131073) lies outside extended partition 3 (sectors 43008..131072)"
        );
    }

    #[test]
    fn overlapping_logicals() {
        let mut disk = testimage::mbr_extended().disk;
        disk.write(55296 * 512 + 446, &primary(0x83, 0, 20480).encode());
        assert_eq!(
            error_of(&disk),
            "partition 7 (sectors 69632..79872) overlaps partition 6 (sectors 55296..75776)"
        );
    }

    #[test]
    fn overlapping_primaries() {
        let mut disk = SparseDisk::new(MIB64);
        testimage::write_boot_record(
            &mut disk,
            0,
            &[primary(0x83, 2048, 4096), primary(0x83, 4096, 4096)],
        );
        assert_eq!(
            error_of(&disk),
            "partition 2 (sectors 4096..8192) overlaps partition 1 (sectors 2048..6144)"
        );
    }

    #[test]
    fn primary_overlapping_the_extended_partition() {
        let mut disk = testimage::mbr_extended().disk;
        disk.write(446 + 16, &primary(0x82, 22528, 20481).encode());
        assert!(
            error_of(&disk).starts_with("partition 3 (sectors 43008..131072) overlaps partition 2")
        );
    }

    #[test]
    fn partition_past_the_disk_end() {
        let mut disk = SparseDisk::new(MIB64);
        testimage::write_boot_record(&mut disk, 0, &[primary(0x83, 2048, u32::MAX)]);
        assert_eq!(
            error_of(&disk),
            "partition 1 ends at sector 4294969343 beyond the disk end 131072"
        );
    }

    #[test]
    fn truncated_ebr_read_is_an_error() {
        let disk = testimage::mbr_extended().disk;
        let mut read = |offset: u64, buf: &mut [u8]| {
            if offset > 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
            }
            disk.read(offset, buf)
        };
        let error = read_table(&mut read, disk.sectors(), 512).unwrap_err();
        assert!(
            matches!(
                error,
                PartitionError::Read {
                    offset: 22020096,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn entries_of_a_short_sector_are_empty() {
        assert_eq!(entries(&[0x80; 100]), [MbrEntry::default(); 4]);
        assert!(!has_signature(&[0x55; 511]));
    }
}
