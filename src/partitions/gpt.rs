//! GUID partition tables (UEFI spec, chapter 5), as the kernel and kpartx
//! read them: the primary header at LBA 1, or, when it or its entry array
//! is unusable, the backup header at the last LBA (with a warning).
//!
//! Partition numbers are entry indexes + 1, so unused entries (type GUID
//! all zero) leave holes. Every header field that sizes or places a read is
//! bounded before it is used; a used entry that is inverted or outside the
//! usable LBAs is an error rather than skipped, as the whole table is then
//! suspect.

use super::crc32::{crc32, Crc32};
use super::disk::Disk;
use super::{check_layout, GptError, Partition, PartitionError, PartitionTable, PartitionWarning};

pub const SIGNATURE: &[u8; 8] = b"EFI PART";
/// Size of the header fields defined by the spec; the CRC covers the size
/// the header states, which may be more (up to a logical block).
pub const HEADER_SIZE: u32 = 92;
/// The usual (and the smallest allowed) entry size.
pub const ENTRY_SIZE: u32 = 128;
/// Most entries accepted; sgdisk and sfdisk write 128.
pub const MAX_ENTRIES: u32 = 1024;
/// Largest entry array read.
pub const MAX_ENTRY_ARRAY_BYTES: u64 = 1 << 20;
const PRIMARY_LBA: u64 = 1;

/// The header fields used once the header has been checked.
#[derive(Debug, Clone, Copy)]
struct Header {
    first_usable: u64,
    last_usable: u64,
    entries_lba: u64,
    entry_count: u32,
    entry_size: u32,
    entries_crc: u32,
}

impl Header {
    fn array_bytes(&self) -> u64 {
        u64::from(self.entry_count) * u64::from(self.entry_size)
    }
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn le64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Checks the header in `block` (one logical block read at `my_lba`) on a
/// disk whose last LBA is `last_lba`.
fn parse_header(block: &[u8], my_lba: u64, last_lba: u64) -> Result<Header, GptError> {
    if block.len() < HEADER_SIZE as usize || &block[..8] != SIGNATURE {
        return Err(GptError::Signature);
    }
    let size = le32(block, 12);
    if size < HEADER_SIZE || size as usize > block.len() {
        return Err(GptError::HeaderSize(size));
    }
    let stored = le32(block, 16);
    let mut crc = Crc32::new();
    crc.update(&block[..16]);
    crc.update(&[0; 4]);
    crc.update(&block[20..size as usize]);
    let computed = crc.finish();
    if computed != stored {
        return Err(GptError::HeaderCrc { stored, computed });
    }
    let found = le64(block, 24);
    if found != my_lba {
        return Err(GptError::MyLba {
            found,
            expected: my_lba,
        });
    }
    let header = Header {
        first_usable: le64(block, 40),
        last_usable: le64(block, 48),
        entries_lba: le64(block, 72),
        entry_count: le32(block, 80),
        entry_size: le32(block, 84),
        entries_crc: le32(block, 88),
    };
    if header.first_usable > header.last_usable || header.last_usable > last_lba {
        return Err(GptError::UsableRange {
            first: header.first_usable,
            last: header.last_usable,
            last_lba,
        });
    }
    if header.entry_size < ENTRY_SIZE || !header.entry_size.is_multiple_of(8) {
        return Err(GptError::EntrySize(header.entry_size));
    }
    if header.entry_count > MAX_ENTRIES || header.array_bytes() > MAX_ENTRY_ARRAY_BYTES {
        return Err(GptError::EntryArrayTooLarge {
            count: header.entry_count,
            size: header.entry_size,
        });
    }
    Ok(header)
}

/// Reads and checks one GPT copy: its header and entry array.
fn read_copy(disk: &mut Disk, my_lba: u64) -> Result<(Header, Vec<u8>), GptError> {
    let last_lba = disk.blocks() - 1;
    let block = disk
        .read_blocks(my_lba, 1)
        .map_err(|e| GptError::Read(Box::new(e)))?;
    let header = parse_header(&block, my_lba, last_lba)?;
    let bytes = header.array_bytes();
    let blocks = bytes.div_ceil(u64::from(disk.block_size()));
    if header.entries_lba.saturating_add(blocks) > disk.blocks() {
        return Err(GptError::EntriesPastDiskEnd {
            lba: header.entries_lba,
            bytes,
        });
    }
    let mut entries = disk
        .read_blocks(header.entries_lba, blocks)
        .map_err(|e| GptError::Read(Box::new(e)))?;
    // bytes <= MAX_ENTRY_ARRAY_BYTES, so it fits a usize.
    entries.truncate(bytes as usize);
    let computed = crc32(&entries);
    if computed != header.entries_crc {
        return Err(GptError::EntriesCrc {
            stored: header.entries_crc,
            computed,
        });
    }
    Ok((header, entries))
}

/// Partitions of a disk with a protective MBR.
pub(crate) fn read(disk: &mut Disk) -> Result<PartitionTable, PartitionError> {
    let backup_lba = disk.blocks() - 1;
    let mut warnings = Vec::new();
    let (header, entries) = match read_copy(disk, PRIMARY_LBA) {
        Ok(copy) => copy,
        Err(primary) => match read_copy(disk, backup_lba) {
            Ok(copy) => {
                warnings.push(PartitionWarning::BackupGptUsed {
                    primary,
                    backup_lba,
                });
                copy
            }
            Err(backup) => {
                return Err(PartitionError::NoValidGpt {
                    primary,
                    backup,
                    backup_lba,
                })
            }
        },
    };
    let partitions = used_entries(&header, &entries, disk.sectors_per_block())?;
    check_layout(&partitions, disk.sectors())?;
    Ok(PartitionTable {
        partitions,
        warnings,
    })
}

/// The used entries as partitions in 512-byte sectors.
fn used_entries(
    header: &Header,
    entries: &[u8],
    per_block: u64,
) -> Result<Vec<Partition>, PartitionError> {
    let mut partitions = Vec::new();
    for (number, raw) in (1..).zip(entries.chunks_exact(header.entry_size as usize)) {
        if raw[..16].iter().all(|&b| b == 0) {
            continue;
        }
        let (first_lba, last_lba) = (le64(raw, 32), le64(raw, 40));
        if first_lba > last_lba {
            return Err(PartitionError::GptEntryInverted {
                number,
                first_lba,
                last_lba,
            });
        }
        if first_lba < header.first_usable || last_lba > header.last_usable {
            return Err(PartitionError::GptEntryOutsideUsable {
                number,
                first_lba,
                last_lba,
                first_usable: header.first_usable,
                last_usable: header.last_usable,
            });
        }
        // last_usable <= the disk's last LBA, so these cannot overflow.
        partitions.push(Partition {
            number,
            start: first_lba * per_block,
            sectors: (last_lba - first_lba + 1) * per_block,
        });
    }
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::super::testimage::{self, part, Gpt, SparseDisk};
    use super::super::{read_table, MAX_READ_BYTES};
    use super::*;

    /// sgdisk's primary header for `testimage::gpt_sgdisk()` (64 MiB).
    #[rustfmt::skip]
    const SGDISK_PRIMARY: [u8; 92] = [
        0x45, 0x46, 0x49, 0x20, 0x50, 0x41, 0x52, 0x54, 0x00, 0x00, 0x01, 0x00,
        0x5c, 0x00, 0x00, 0x00, 0x33, 0x09, 0x23, 0x8e, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xde, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x67, 0x45, 0x23, 0x01,
        0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
        0x80, 0x00, 0x00, 0x00, 0xb0, 0xb4, 0x93, 0x44,
    ];

    /// sgdisk's backup header of the same disk, at LBA 131071.
    #[rustfmt::skip]
    const SGDISK_BACKUP: [u8; 92] = [
        0x45, 0x46, 0x49, 0x20, 0x50, 0x41, 0x52, 0x54, 0x00, 0x00, 0x01, 0x00,
        0x5c, 0x00, 0x00, 0x00, 0xf6, 0xc5, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xde, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x67, 0x45, 0x23, 0x01,
        0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
        0xdf, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
        0x80, 0x00, 0x00, 0x00, 0xb0, 0xb4, 0x93, 0x44,
    ];

    /// sfdisk's primary header on a 64 MiB loop device with 4 KiB sectors
    /// for `testimage::gpt_sfdisk_4k()`.
    #[rustfmt::skip]
    const SFDISK_4K_PRIMARY: [u8; 92] = [
        0x45, 0x46, 0x49, 0x20, 0x50, 0x41, 0x52, 0x54, 0x00, 0x00, 0x01, 0x00,
        0x5c, 0x00, 0x00, 0x00, 0x75, 0x5d, 0x01, 0x1b, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x3f, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xfa, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x0c, 0x0b, 0x0a,
        0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
        0x80, 0x00, 0x00, 0x00, 0x6b, 0x27, 0xf5, 0xab,
    ];

    const LAST: u64 = 131071;

    fn read_512(disk: &SparseDisk) -> Result<PartitionTable, PartitionError> {
        read_table(&mut disk.reader(), disk.sectors(), 512)
    }

    fn written(gpt: &Gpt) -> SparseDisk {
        let mut disk = SparseDisk::new(gpt.blocks * u64::from(gpt.block_size / 512));
        gpt.write(&mut disk);
        disk
    }

    /// The sgdisk fixture with `bytes` written at byte `at` of the header
    /// at `lba`, CRCs refreshed or not.
    fn patched(lba: u64, at: u64, bytes: &[u8], refresh: bool) -> SparseDisk {
        let mut disk = testimage::gpt_with_hole().disk;
        disk.write(lba * 512 + at, bytes);
        if refresh {
            testimage::refresh_gpt_crcs(&mut disk, 512);
        }
        disk
    }

    fn both_patched(at: u64, bytes: &[u8]) -> SparseDisk {
        let mut disk = patched(1, at, bytes, false);
        disk.write(LAST * 512 + at, bytes);
        testimage::refresh_gpt_crcs(&mut disk, 512);
        disk
    }

    fn error_of(disk: &SparseDisk) -> String {
        read_512(disk).unwrap_err().to_string()
    }

    #[test]
    fn builder_reproduces_sgdisk_and_sfdisk_headers() {
        let disk = written(&testimage::gpt_sgdisk());
        assert_eq!(disk.bytes(512, 92), SGDISK_PRIMARY);
        assert_eq!(disk.bytes(LAST * 512, 92), SGDISK_BACKUP);
        let disk = written(&testimage::gpt_sfdisk_4k());
        assert_eq!(disk.bytes(4096, 92), SFDISK_4K_PRIMARY);
    }

    #[test]
    fn two_partitions_and_a_hole() {
        let table = read_512(&testimage::gpt_with_hole().disk).unwrap();
        assert_eq!(
            table.partitions,
            [part(1, 2048, 32768), part(3, 34816, 40960)]
        );
        assert!(table.warnings.is_empty());
    }

    #[test]
    fn four_k_blocks() {
        let disk = testimage::gpt_4k().disk;
        let table = read_table(&mut disk.reader(), disk.sectors(), 4096).unwrap();
        assert_eq!(
            table.partitions,
            [part(1, 2048, 32768), part(2, 34816, 40960)]
        );
        // Read as a 512-byte disk, LBA 1 holds no header and the backup is
        // not at the last 512-byte LBA either.
        assert!(matches!(
            read_512(&disk),
            Err(PartitionError::NoValidGpt { .. })
        ));
    }

    #[test]
    fn bad_primary_crc_uses_the_backup() {
        let disk = patched(1, 60, &[0xff], false);
        let table = read_512(&disk).unwrap();
        assert_eq!(
            table.partitions,
            [part(1, 2048, 32768), part(3, 34816, 40960)]
        );
        let warning = table.warnings[0].to_string();
        assert!(warning.starts_with(
            "primary GPT is invalid (GPT header CRC mismatch (stored 0x8e230933, computed 0x"
        ));
        assert!(
            warning.ends_with(")); using the backup GPT at LBA 131071"),
            "{warning}"
        );
    }

    #[test]
    fn bad_primary_and_backup_crc() {
        let mut disk = patched(1, 60, &[0xff], false);
        disk.write(LAST * 512 + 60, &[0xff]);
        let message = error_of(&disk);
        assert!(
            message.starts_with("no valid GPT: primary header at LBA 1: GPT header CRC mismatch"),
            "{message}"
        );
        assert!(
            message.contains("; backup header at LBA 131071: GPT header CRC mismatch"),
            "{message}"
        );
    }

    #[test]
    fn bad_entries_crc() {
        // Primary array only: the backup has its own copy.
        let mut disk = testimage::gpt_with_hole().disk;
        disk.write(2 * 512 + 200, &[1]);
        let table = read_512(&disk).unwrap();
        assert!(table.warnings[0]
            .to_string()
            .contains("GPT partition entries CRC mismatch"));
        assert_eq!(table.partitions.len(), 2);
        // Both arrays.
        disk.write((LAST - 32) * 512 + 200, &[1]);
        let message = error_of(&disk);
        assert!(
            message.contains("primary header at LBA 1: GPT partition entries CRC mismatch"),
            "{message}"
        );
        assert!(
            message.contains("backup header at LBA 131071: GPT partition entries CRC mismatch"),
            "{message}"
        );
    }

    #[test]
    fn wrong_my_lba_uses_the_backup() {
        let disk = patched(1, 24, &5u64.to_le_bytes(), true);
        let table = read_512(&disk).unwrap();
        assert!(table.warnings[0]
            .to_string()
            .contains("header says it is at LBA 5, not 1"));
    }

    #[test]
    fn absurd_number_of_entries() {
        let message = error_of(&both_patched(80, &u32::MAX.to_le_bytes()));
        assert!(
            message.contains(
                "primary header at LBA 1: 4294967295 partition entries of 128 bytes is too many"
            ),
            "{message}"
        );
        // 1025 entries is over the count limit, 1024 of 1032 bytes over the size limit.
        assert!(
            error_of(&both_patched(80, &1025u32.to_le_bytes())).contains("1025 partition entries")
        );
        let mut disk = both_patched(84, &1032u32.to_le_bytes());
        disk.write(512 + 80, &1024u32.to_le_bytes());
        disk.write(LAST * 512 + 80, &1024u32.to_le_bytes());
        testimage::refresh_gpt_crcs(&mut disk, 512);
        assert!(error_of(&disk).contains("1024 partition entries of 1032 bytes is too many"));
    }

    #[test]
    fn entry_sizes() {
        for size in [0u32, 8, 120, 132] {
            let message = error_of(&both_patched(84, &size.to_le_bytes()));
            assert!(
                message.contains(&format!("partition entry size {size} ")),
                "{message}"
            );
        }
        // 256-byte entries are valid (UEFI allows 128 * 2^n).
        let mut gpt = testimage::gpt_sgdisk();
        gpt.entry_size = 256;
        gpt.last_usable = LAST - 1 - gpt.entry_blocks();
        let table = read_512(&written(&gpt)).unwrap();
        assert_eq!(
            table.partitions,
            [part(1, 2048, 32768), part(3, 34816, 40960)]
        );
    }

    #[test]
    fn zero_entries_is_an_empty_table() {
        let table = read_512(&both_patched(80, &0u32.to_le_bytes())).unwrap();
        assert!(table.partitions.is_empty());
    }

    #[test]
    fn header_size_out_of_range() {
        for size in [0u32, 91, 513] {
            let message = error_of(&both_patched(12, &size.to_le_bytes()));
            assert!(
                message.contains(&format!("header size {size} is out of range")),
                "{message}"
            );
        }
    }

    #[test]
    fn usable_range_outside_the_disk() {
        let message = error_of(&both_patched(48, &LAST.wrapping_add(1).to_le_bytes()));
        assert!(
            message.contains("usable LBAs 34..=131072 do not fit the disk (last LBA 131071)"),
            "{message}"
        );
        let message = error_of(&both_patched(40, &131039u64.to_le_bytes()));
        assert!(message.contains("usable LBAs 131039..=131038"), "{message}");
    }

    #[test]
    fn entries_past_the_disk_end() {
        let message = error_of(&both_patched(72, &(LAST - 3).to_le_bytes()));
        assert!(
            message.contains("partition entries (16384 bytes at LBA 131068) pass the disk end"),
            "{message}"
        );
        let message = error_of(&both_patched(72, &u64::MAX.to_le_bytes()));
        assert!(message.contains("pass the disk end"), "{message}");
    }

    #[test]
    fn inverted_entry() {
        let mut gpt = testimage::gpt_sgdisk();
        gpt.entries[1].last_lba = gpt.entries[1].first_lba - 1;
        assert_eq!(
            error_of(&written(&gpt)),
            "GPT partition 3 has first LBA 34816 after last LBA 34815"
        );
    }

    #[test]
    fn entry_outside_the_usable_range() {
        let mut gpt = testimage::gpt_sgdisk();
        gpt.entries[0].first_lba = 33;
        assert_eq!(
            error_of(&written(&gpt)),
            "GPT partition 1 (LBA 33..=34815) is outside the usable LBAs 34..=131038"
        );
        let mut gpt = testimage::gpt_sgdisk();
        gpt.entries[1].last_lba = LAST;
        assert!(error_of(&written(&gpt)).starts_with("GPT partition 3 (LBA 34816..=131071)"));
    }

    #[test]
    fn overlapping_entries() {
        let mut gpt = testimage::gpt_sgdisk();
        gpt.entries[1].first_lba = 34815;
        assert_eq!(
            error_of(&written(&gpt)),
            "partition 3 (sectors 34815..75776) overlaps partition 1 (sectors 2048..34816)"
        );
    }

    #[test]
    fn protective_mbr_without_gpt() {
        let mut disk = SparseDisk::new(1 << 20);
        testimage::write_boot_record(
            &mut disk,
            0,
            &[super::super::mbr::MbrEntry {
                boot: 0,
                kind: 0xEE,
                start: 1,
                blocks: 100,
            }],
        );
        let message = error_of(&disk);
        assert_eq!(
            message,
            "no valid GPT: primary header at LBA 1: no \"EFI PART\" signature; \
             backup header at LBA 1048575: no \"EFI PART\" signature"
        );
    }

    #[test]
    fn hybrid_mbr_means_gpt() {
        let mut disk = testimage::gpt_with_hole().disk;
        let entry = super::super::mbr::MbrEntry {
            boot: 0x80,
            kind: 0x83,
            start: 2048,
            blocks: 100,
        };
        disk.write(446 + 16, &entry.encode());
        assert_eq!(read_512(&disk).unwrap().partitions.len(), 2);
    }

    #[test]
    fn truncated_reads_are_errors() {
        let disk = testimage::gpt_with_hole().disk;
        for limit in [0u64, 512, 1024, 2048] {
            let mut read = |offset: u64, buf: &mut [u8]| {
                if offset + buf.len() as u64 > limit {
                    return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                }
                disk.read(offset, buf)
            };
            assert!(
                read_table(&mut read, disk.sectors(), 512).is_err(),
                "limit {limit}"
            );
        }
        // A disk that ends right after the primary entry array.
        let message = read_table(&mut disk.reader(), 40, 512)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("usable LBAs 34..=131038 do not fit the disk (last LBA 39)"),
            "{message}"
        );
    }

    #[test]
    fn reads_stay_bounded() {
        // The largest arrays allowed, both with bad CRCs: everything is read.
        let mut gpt = testimage::gpt_sgdisk();
        gpt.entry_size = 1024;
        gpt.entry_count = (MAX_ENTRY_ARRAY_BYTES / 1024) as u32;
        gpt.first_usable = 2 + gpt.entry_blocks();
        gpt.last_usable = LAST - 1 - gpt.entry_blocks();
        gpt.entries.clear();
        let mut disk = written(&gpt);
        assert!(read_512(&disk).unwrap().partitions.is_empty());
        disk.write(2 * 512, &[1]);
        disk.write((LAST - gpt.entry_blocks()) * 512, &[1]);
        let mut total = 0u64;
        let mut read = |offset: u64, buf: &mut [u8]| {
            total += buf.len() as u64;
            disk.read(offset, buf)
        };
        assert!(read_table(&mut read, disk.sectors(), 512).is_err());
        assert!(
            total <= MAX_READ_BYTES && total > 2 * MAX_ENTRY_ARRAY_BYTES,
            "{total}"
        );
    }
}
