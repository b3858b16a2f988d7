//! Partition tables (MBR with EBR chains, GPT) through `read_table`.
//!
//! Byte 0 holds flags. Bit 7 clear: start from valid fixture `bits 0-2`
//! and apply the rest of the input as 4-byte writes [sector, offset lo,
//! offset hi, value] (sector < 128: the n-th sector the fixture wrote,
//! else sector n - 128), then, if bit 3, recompute the GPT CRCs so the
//! checks behind them are reached. Bit 7 set: the rest is the disk image.
//! Bits 4-5 choose the logical block size (fixture's/512, 512, 4096, 1024);
//! bit 6 makes the disk one sector shorter than the image.
//!
//! Accepted tables must hold distinct, non-empty, non-overlapping
//! partitions within the disk, and no run may read more than
//! MAX_READ_BYTES.
#![no_main]

use std::cell::Cell;
use std::io;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mpath_boot::partitions::mbr;
use mpath_boot::partitions::testimage::{self, Fixture};
use mpath_boot::partitions::{read_table, MAX_READ_BYTES};

#[path = "../shared/partition_checks.rs"]
mod partition_checks;
use partition_checks::check_partitions;

fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(testimage::fixtures)
}

/// MBR slots holding extended partitions, whose 1 KiB map may share
/// sectors with their own logical partitions.
fn extended_slots(sector0: &[u8]) -> Vec<u32> {
    let entries = mbr::entries(sector0);
    if !mbr::has_signature(sector0) || entries.iter().any(|e| e.kind == mbr::PROTECTIVE_TYPE) {
        return Vec::new();
    }
    (1..)
        .zip(entries)
        .filter(|(_, e)| e.blocks != 0 && mbr::is_extended(e.kind))
        .map(|(n, _)| n)
        .collect()
}

fn exercise(
    read: &mut dyn FnMut(u64, &mut [u8]) -> io::Result<()>,
    disk_sectors: u64,
    block_size: u32,
) {
    let bytes_read = Cell::new(0u64);
    let mut counting = |offset: u64, buf: &mut [u8]| {
        bytes_read.set(bytes_read.get() + buf.len() as u64);
        read(offset, buf)
    };
    let result = read_table(&mut counting, disk_sectors, block_size);
    assert!(bytes_read.get() <= MAX_READ_BYTES);
    let mut sector0 = [0u8; 512];
    let extended = if read(0, &mut sector0).is_ok() {
        extended_slots(&sector0)
    } else {
        Vec::new()
    };
    match result {
        Ok(table) => {
            check_partitions(&table.partitions, disk_sectors, &extended, "accepted table");
            for warning in &table.warnings {
                let _ = warning.to_string();
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let shorter = u64::from(flags & 0x40 != 0);
    let block_size = |default: u32| match (flags >> 4) & 3 {
        0 => default,
        1 => 512,
        2 => 4096,
        _ => 1024,
    };
    if flags & 0x80 != 0 {
        let disk_sectors = (rest.len() as u64).div_ceil(512);
        let mut read = |offset: u64, buf: &mut [u8]| {
            let end = offset
                .checked_add(buf.len() as u64)
                .filter(|&end| end <= disk_sectors * 512);
            end.ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            buf.fill(0);
            let from = rest.get(offset as usize..).unwrap_or_default();
            let n = from.len().min(buf.len());
            buf[..n].copy_from_slice(&from[..n]);
            Ok(())
        };
        exercise(
            &mut read,
            disk_sectors.saturating_sub(shorter),
            block_size(512),
        );
        return;
    }
    let fixture = &fixtures()[usize::from(flags & 7) % fixtures().len()];
    let mut disk = fixture.disk.clone();
    let written = disk.written_sectors();
    for write in rest.chunks_exact(4) {
        let sector = match write[0] {
            n if n < 128 => written[usize::from(n) % written.len()],
            n => u64::from(n - 128),
        };
        let offset = u64::from(u16::from_le_bytes([write[1], write[2]]) % 512);
        disk.write(sector * 512 + offset, &[write[3]]);
    }
    if flags & 8 != 0 {
        testimage::refresh_gpt_crcs(&mut disk, fixture.block_size);
    }
    let disk_sectors = disk.sectors() - shorter;
    exercise(
        &mut |offset, buf| disk.read(offset, buf),
        disk_sectors,
        block_size(fixture.block_size),
    );
});
