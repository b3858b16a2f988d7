//! Partition tables of multipath maps, read natively so that early boot
//! can create the `<map>-part<N>` maps kpartx would create on the booted
//! system (a root file system usually lives on a partition).
//!
//! Pure logic: the caller passes a function that reads the map's bytes.
//! Reads are bounded ([`MAX_READ_BYTES`]) and every entry is checked; a
//! table that does not add up (overlaps, entries past the disk end, a
//! looping EBR chain, GPT CRC errors in both copies) is an error and gives
//! no partitions at all: a wrong partition map is worse than none.

pub mod crc32;
mod disk;
mod error;
pub mod gpt;
pub mod mbr;
pub mod plan;
#[doc(hidden)]
pub mod testimage;

pub use disk::MAX_READ_BYTES;
pub use error::{GptError, PartitionError, PartitionWarning};

use disk::Disk;

/// One partition, in 512-byte sectors as device-mapper wants them, even on
/// disks with 4 KiB logical blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// kpartx's number: the `N` of `<map>-part<N>`.
    pub number: u32,
    pub start: u64,
    pub sectors: u64,
}

impl Partition {
    /// First sector after the partition.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.sectors)
    }
}

/// The partitions to map, ordered by number, and what was odd on the way.
#[derive(Debug, Default)]
pub struct PartitionTable {
    pub partitions: Vec<Partition>,
    pub warnings: Vec<PartitionWarning>,
}

/// Reads the partition table of a disk of `disk_sectors` 512-byte sectors
/// whose logical block size is `block_size` (512 or 4096). `read` fills the
/// buffer with `buf.len()` bytes starting at byte offset `offset`, or fails.
///
/// Every read is a whole number of logical blocks at a block-aligned
/// offset. A disk without the 0x55AA boot signature has no partition table:
/// `Ok` with no partitions. A protective MBR (an entry of type 0xEE) means
/// GPT, see [`gpt`]; anything else is an MBR, see [`mbr`].
pub fn read_table(
    read: &mut dyn FnMut(u64, &mut [u8]) -> std::io::Result<()>,
    disk_sectors: u64,
    block_size: u32,
) -> Result<PartitionTable, PartitionError> {
    let mut disk = Disk::new(read, disk_sectors, block_size)?;
    if disk.blocks() == 0 {
        return Ok(PartitionTable::default());
    }
    let sector0 = disk.read_blocks(0, 1)?;
    if !mbr::has_signature(&sector0) {
        return Ok(PartitionTable::default());
    }
    let entries = mbr::entries(&sector0);
    let mut table = if entries.iter().any(|e| e.kind == mbr::PROTECTIVE_TYPE) {
        gpt::read(&mut disk)?
    } else {
        mbr::read(&mut disk, &entries)?
    };
    table.partitions.sort_by_key(|p| p.number);
    Ok(table)
}

/// Checks that no partition ends past the disk end and no two overlap.
fn check_layout(parts: &[Partition], disk_sectors: u64) -> Result<(), PartitionError> {
    if let Some(&partition) = parts.iter().find(|p| p.end() > disk_sectors) {
        return Err(PartitionError::PastDiskEnd {
            partition,
            disk_sectors,
        });
    }
    let mut by_start = parts.to_vec();
    by_start.sort_by_key(|p| (p.start, p.number));
    match by_start
        .windows(2)
        .find(|pair| pair[1].start < pair[0].end())
    {
        Some(pair) => Err(PartitionError::Overlap {
            first: pair[0],
            second: pair[1],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::testimage::{self, SparseDisk};
    use super::*;

    use super::testimage::part;

    #[test]
    fn layout_checks() {
        assert!(check_layout(&[part(1, 2048, 100), part(2, 2148, 100)], 2248).is_ok());
        let error = check_layout(&[part(2, 50, 100), part(3, 100, 200)], 1000).unwrap_err();
        assert_eq!(
            error.to_string(),
            "partition 3 (sectors 100..300) overlaps partition 2 (sectors 50..150)"
        );
        let error = check_layout(&[part(5, 900, 200)], 1000).unwrap_err();
        assert_eq!(
            error.to_string(),
            "partition 5 ends at sector 1100 beyond the disk end 1000"
        );
        // Contained, not just adjacent-overlapping.
        assert!(
            check_layout(&[part(1, 0, 1000), part(2, 10, 10), part(3, 500, 10)], 1000).is_err()
        );
    }

    #[test]
    fn blank_and_tiny_disks_have_no_partitions() {
        let disk = SparseDisk::new(1 << 20);
        let table = read_table(&mut disk.reader(), disk.sectors(), 512).unwrap();
        assert!(table.partitions.is_empty() && table.warnings.is_empty());
        let table = read_table(&mut disk.reader(), 7, 4096).unwrap();
        assert!(table.partitions.is_empty());
    }

    #[test]
    fn every_fixture_reads_as_built() {
        for fixture in testimage::fixtures() {
            let table = read_table(
                &mut fixture.disk.reader(),
                fixture.disk.sectors(),
                fixture.block_size,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
            assert_eq!(table.partitions, fixture.expected, "{}", fixture.name);
            assert!(
                table.warnings.is_empty(),
                "{}: {:?}",
                fixture.name,
                table.warnings
            );
        }
    }

    #[test]
    fn failing_first_read_is_an_error() {
        let mut read =
            |_: u64, _: &mut [u8]| Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        let error = read_table(&mut read, 1 << 20, 512).unwrap_err();
        assert!(
            matches!(
                error,
                PartitionError::Read {
                    offset: 0,
                    len: 512,
                    ..
                }
            ),
            "{error}"
        );
    }
}
