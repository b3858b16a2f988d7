//! The only way the parsers read: whole logical blocks at block-aligned
//! offsets (so the caller may use O_DIRECT), never past the disk end, and
//! never more than [`MAX_READ_BYTES`] in total, whatever the table says.

use std::io;

use super::PartitionError;

/// Upper bound on the bytes read from one disk: the MBR and 128 EBRs of
/// 4 KiB, or a protective MBR and two GPT copies with at most 1 MiB of
/// entries each, all fit.
pub const MAX_READ_BYTES: u64 = (2 << 20) + (64 << 10);

/// The caller's read function: fill the buffer from that byte offset.
pub type ReadFn<'a> = &'a mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>;

pub(crate) struct Disk<'a> {
    read: ReadFn<'a>,
    block_size: u32,
    blocks: u64,
    budget: u64,
}

impl<'a> Disk<'a> {
    pub fn new(
        read: ReadFn<'a>,
        disk_sectors: u64,
        block_size: u32,
    ) -> Result<Self, PartitionError> {
        if !block_size.is_power_of_two() || !(512..=4096).contains(&block_size) {
            return Err(PartitionError::UnsupportedBlockSize(block_size));
        }
        let sectors_per_block = u64::from(block_size / 512);
        Ok(Disk {
            read,
            block_size,
            blocks: disk_sectors / sectors_per_block,
            budget: MAX_READ_BYTES,
        })
    }

    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    /// 512-byte sectors per logical block: table LBAs times this give
    /// device-mapper sectors.
    pub fn sectors_per_block(&self) -> u64 {
        u64::from(self.block_size / 512)
    }

    /// Whole logical blocks on the disk.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// 512-byte sectors covered by whole logical blocks.
    pub fn sectors(&self) -> u64 {
        self.blocks * self.sectors_per_block()
    }

    pub fn read_blocks(&mut self, lba: u64, count: u64) -> Result<Vec<u8>, PartitionError> {
        let block = u64::from(self.block_size);
        let disk_bytes = self.blocks * block;
        let offset = lba.saturating_mul(block);
        let len = count.saturating_mul(block);
        if lba.saturating_add(count) > self.blocks {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            return Err(PartitionError::ReadPastEnd {
                offset,
                len,
                disk_bytes,
            });
        }
        if len > self.budget {
            return Err(PartitionError::ReadBudgetExceeded {
                limit: MAX_READ_BYTES,
            });
        }
        self.budget -= len;
        // len <= MAX_READ_BYTES here, so it fits a usize.
        let mut buf = vec![0u8; len as usize];
        (self.read)(offset, &mut buf).map_err(|source| PartitionError::Read {
            offset,
            len: buf.len(),
            source,
        })?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_odd_block_sizes() {
        let mut read = |_: u64, _: &mut [u8]| Ok(());
        for size in [0, 256, 513, 8192] {
            assert!(
                matches!(Disk::new(&mut read, 100, size), Err(PartitionError::UnsupportedBlockSize(s)) if s == size)
            );
        }
    }

    #[test]
    fn bounds_and_budget() {
        let mut calls = Vec::new();
        let mut read = |offset: u64, buf: &mut [u8]| {
            calls.push((offset, buf.len()));
            Ok(())
        };
        let mut disk = Disk::new(&mut read, 1 << 30, 4096).unwrap();
        assert_eq!(disk.blocks(), (1 << 30) / 8);
        assert_eq!(disk.read_blocks(2, 1).unwrap().len(), 4096);
        assert!(matches!(
            disk.read_blocks(disk.blocks(), 1),
            Err(PartitionError::ReadPastEnd { .. })
        ));
        assert!(matches!(
            disk.read_blocks(u64::MAX, u64::MAX),
            Err(PartitionError::ReadPastEnd { .. })
        ));
        assert!(matches!(
            disk.read_blocks(0, 1 << 20),
            Err(PartitionError::ReadBudgetExceeded { .. })
        ));
        assert_eq!(calls, [(8192, 4096)]);
    }

    #[test]
    fn read_errors_name_the_offset() {
        let mut read = |_: u64, _: &mut [u8]| Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        let mut disk = Disk::new(&mut read, 100, 512).unwrap();
        let error = disk.read_blocks(3, 1).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot read 512 bytes at byte offset 1536"),
            "{error}"
        );
    }
}
