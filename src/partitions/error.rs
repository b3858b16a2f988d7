//! Why a partition table was refused, and what was odd about one that was
//! accepted. Messages name sectors so an administrator can compare them
//! with `fdisk -l` or `sgdisk -p`.

use std::{fmt, io};

use super::Partition;

/// Sectors `start..end` (512-byte units, end exclusive) for messages.
struct Span(u64, u64);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sectors {}..{}", self.0, self.1)
    }
}

fn span(p: &Partition) -> Span {
    Span(p.start, p.end())
}

/// A partition table that yields no partition maps at all.
#[derive(Debug)]
pub enum PartitionError {
    /// The logical block size is not a power of two in 512..=4096.
    UnsupportedBlockSize(u32),
    /// The caller's read function failed.
    Read {
        offset: u64,
        len: usize,
        source: io::Error,
    },
    /// The table points past the end of the disk.
    ReadPastEnd {
        offset: u64,
        len: usize,
        disk_bytes: u64,
    },
    /// More bytes asked for than [`super::MAX_READ_BYTES`].
    ReadBudgetExceeded { limit: u64 },
    /// An EBR links back to one already visited.
    EbrChainLoop { sector: u64 },
    /// More EBRs than [`super::mbr::MAX_EBRS`].
    EbrChainTooLong { limit: usize },
    /// An EBR's link points outside its extended partition.
    EbrLinkOutside {
        ebr_sector: u64,
        link_sector: u64,
        extended: Partition,
    },
    /// A linked EBR lacks the 0x55AA signature.
    EbrNoSignature { sector: u64 },
    /// A logical partition is not inside its extended partition.
    LogicalOutsideExtended {
        logical: Partition,
        extended: Partition,
    },
    /// Two partitions share sectors.
    Overlap { first: Partition, second: Partition },
    /// A partition ends after the last sector of the disk.
    PastDiskEnd {
        partition: Partition,
        disk_sectors: u64,
    },
    /// Neither GPT copy is usable.
    NoValidGpt {
        primary: GptError,
        backup: GptError,
        backup_lba: u64,
    },
    /// A used GPT entry whose first LBA is after its last.
    GptEntryInverted {
        number: u32,
        first_lba: u64,
        last_lba: u64,
    },
    /// A used GPT entry outside the header's usable LBA range.
    GptEntryOutsideUsable {
        number: u32,
        first_lba: u64,
        last_lba: u64,
        first_usable: u64,
        last_usable: u64,
    },
}

impl fmt::Display for PartitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedBlockSize(size) => {
                write!(f, "unsupported logical block size {size} (expected 512..4096, a power of two)")
            }
            Self::Read { offset, len, source } => {
                write!(f, "cannot read {len} bytes at byte offset {offset}: {source}")
            }
            Self::ReadPastEnd { offset, len, disk_bytes } => write!(
                f,
                "partition table points past the disk end: {len} bytes at byte offset {offset}, disk size {disk_bytes} bytes"
            ),
            Self::ReadBudgetExceeded { limit } => {
                write!(f, "partition table needs more than {limit} bytes of reads")
            }
            Self::EbrChainLoop { sector } => write!(f, "extended partition chain loops at sector {sector}"),
            Self::EbrChainTooLong { limit } => {
                write!(f, "extended partition chain has more than {limit} EBRs")
            }
            Self::EbrLinkOutside { ebr_sector, link_sector, extended } => write!(
                f,
                "EBR at sector {ebr_sector} links to sector {link_sector}, outside extended partition {} ({})",
                extended.number,
                span(extended)
            ),
            Self::EbrNoSignature { sector } => {
                write!(f, "EBR at sector {sector} has no 0x55AA signature")
            }
            Self::LogicalOutsideExtended { logical, extended } => write!(
                f,
                "logical partition {} ({}) lies outside extended partition {} ({})",
                logical.number,
                span(logical),
                extended.number,
                span(extended)
            ),
            Self::Overlap { first, second } => write!(
                f,
                "partition {} ({}) overlaps partition {} ({})",
                second.number,
                span(second),
                first.number,
                span(first)
            ),
            Self::PastDiskEnd { partition, disk_sectors } => write!(
                f,
                "partition {} ends at sector {} beyond the disk end {disk_sectors}",
                partition.number,
                partition.end()
            ),
            Self::NoValidGpt { primary, backup, backup_lba } => write!(
                f,
                "no valid GPT: primary header at LBA 1: {primary}; backup header at LBA {backup_lba}: {backup}"
            ),
            Self::GptEntryInverted { number, first_lba, last_lba } => write!(
                f,
                "GPT partition {number} has first LBA {first_lba} after last LBA {last_lba}"
            ),
            Self::GptEntryOutsideUsable { number, first_lba, last_lba, first_usable, last_usable } => write!(
                f,
                "GPT partition {number} (LBA {first_lba}..={last_lba}) is outside the usable LBAs {first_usable}..={last_usable}"
            ),
        }
    }
}

impl std::error::Error for PartitionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why one copy (primary or backup) of a GPT is unusable.
#[derive(Debug)]
pub enum GptError {
    /// Reading the header or the entry array failed.
    Read(Box<PartitionError>),
    Signature,
    HeaderSize(u32),
    HeaderCrc {
        stored: u32,
        computed: u32,
    },
    MyLba {
        found: u64,
        expected: u64,
    },
    UsableRange {
        first: u64,
        last: u64,
        last_lba: u64,
    },
    EntrySize(u32),
    EntryArrayTooLarge {
        count: u32,
        size: u32,
    },
    EntriesPastDiskEnd {
        lba: u64,
        bytes: u64,
    },
    EntriesCrc {
        stored: u32,
        computed: u32,
    },
}

impl fmt::Display for GptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(error) => error.fmt(f),
            Self::Signature => f.write_str("no \"EFI PART\" signature"),
            Self::HeaderSize(size) => write!(f, "header size {size} is out of range"),
            Self::HeaderCrc { stored, computed } => {
                write!(f, "GPT header CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")
            }
            Self::MyLba { found, expected } => {
                write!(f, "header says it is at LBA {found}, not {expected}")
            }
            Self::UsableRange { first, last, last_lba } => write!(
                f,
                "usable LBAs {first}..={last} do not fit the disk (last LBA {last_lba})"
            ),
            Self::EntrySize(size) => {
                write!(f, "partition entry size {size} (need a multiple of 8, at least 128)")
            }
            Self::EntryArrayTooLarge { count, size } => {
                write!(f, "{count} partition entries of {size} bytes is too many")
            }
            Self::EntriesPastDiskEnd { lba, bytes } => {
                write!(f, "partition entries ({bytes} bytes at LBA {lba}) pass the disk end")
            }
            Self::EntriesCrc { stored, computed } => write!(
                f,
                "GPT partition entries CRC mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
        }
    }
}

/// Something odd about a table that was still used.
#[derive(Debug)]
pub enum PartitionWarning {
    /// The primary GPT is unusable; the backup was used, as the kernel does.
    BackupGptUsed { primary: GptError, backup_lba: u64 },
    /// An MBR boot indicator other than 0x00/0x80: like the kernel, take the
    /// sector for a boot record without a partition table (e.g. a FAT or
    /// NTFS volume on the whole disk) and create no partitions.
    NotAPartitionTable { slot: u32, boot_indicator: u8 },
}

impl fmt::Display for PartitionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BackupGptUsed { primary, backup_lba } => write!(
                f,
                "primary GPT is invalid ({primary}); using the backup GPT at LBA {backup_lba}"
            ),
            Self::NotAPartitionTable { slot, boot_indicator } => write!(
                f,
                "MBR entry {slot} has boot indicator {boot_indicator:#04x}: not a partition table, no partitions"
            ),
        }
    }
}
