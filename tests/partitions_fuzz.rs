//! Deterministic, dependency-free fuzzing of the partition table reader.
//!
//! A multipath LUN's partition table comes from whoever wrote the disk; a
//! corrupt or hostile one must give an error, never a panic, a hang or an
//! unbounded read. A fixed-seed xorshift generator mutates the valid
//! fixtures (MBR, four primaries, extended chain, GPT, 4 KiB GPT): bit
//! flips, random bytes and sectors, length and LBA fields set to 0, 1 or
//! the maximum, sectors copied over others, GPT CRCs recomputed so the
//! deeper checks run too, odd disk sizes and failing reads. Every accepted
//! table must hold distinct, non-empty, non-overlapping partitions within
//! the disk. Runs in well under a second in release builds.

mod fuzzing;

#[path = "fuzz/shared/partition_checks.rs"]
mod partition_checks;

use std::cell::Cell;
use std::io;

use fuzzing::Rng;
use mpath_boot::partitions::mbr::{self, MbrEntry};
use mpath_boot::partitions::plan::plan;
use mpath_boot::partitions::testimage::{self, Fixture, SparseDisk};
use mpath_boot::partitions::{read_table, Partition, PartitionTable, MAX_READ_BYTES};
use partition_checks::check_partitions;


/// `rng.pick` over choices that themselves draw from `rng`.
macro_rules! pick {
    ($rng:expr, [$($choice:expr),+ $(,)?]) => {{
        let choices = [$($choice),+];
        *$rng.pick(&choices)
    }};
}

/// Byte offsets, inside their sector, of the fields that place or size
/// things: MBR/EBR entry start and size, GPT header and entry LBAs, counts.
const MBR_FIELDS: [u64; 8] = [454, 458, 470, 474, 486, 490, 502, 506];
const GPT_HEADER_FIELDS: [(u64, usize); 9] = [
    (12, 4),
    (24, 8),
    (32, 8),
    (40, 8),
    (48, 8),
    (72, 8),
    (80, 4),
    (84, 4),
    (88, 4),
];
const GPT_ENTRY_FIELDS: [(u64, usize); 2] = [(32, 8), (40, 8)];

fn interesting_value(rng: &mut Rng, disk: &SparseDisk) -> u64 {
    let sectors = disk.sectors();
    pick!(
        rng,
        [
            0,
            1,
            2,
            u64::MAX,
            u64::from(u32::MAX),
            sectors,
            sectors - 1,
            sectors / 8,
            2048,
            rng.next(),
            rng.below(sectors)
        ]
    )
}

fn write_field(disk: &mut SparseDisk, offset: u64, width: usize, value: u64) {
    if offset + width as u64 <= disk.sectors() * 512 {
        disk.write(offset, &value.to_le_bytes()[..width]);
    }
}

fn mutate(rng: &mut Rng, disk: &mut SparseDisk, block_size: u32) {
    let block = u64::from(block_size);
    let written = disk.written_sectors();
    let last_block = disk.sectors() * 512 / block - 1;
    let sector = *rng.pick(&written);
    match rng.below(9) {
        0 => {
            let at = sector * 512 + rng.below(512);
            let byte = disk.bytes(at, 1)[0] ^ (1 << rng.below(8));
            disk.write(at, &[byte]);
        }
        1 => disk.write(sector * 512 + rng.below(512), &[rng.next() as u8]),
        2 => {
            let bytes: Vec<u8> = (0..512).map(|_| rng.next() as u8).collect();
            let target = if rng.chance(2) { sector } else { rng.below(8) };
            disk.write(target * 512, &bytes);
        }
        3 => {
            let value = interesting_value(rng, disk);
            write_field(disk, sector * 512 + *rng.pick(&MBR_FIELDS), 4, value);
        }
        4 => {
            // A partition type, often an extended or protective one.
            let kind = pick!(rng, [0x00, 0x05, 0x0f, 0x85, 0xee, 0x83, rng.next() as u8]);
            disk.write(sector * 512 + 450 + 16 * rng.below(4), &[kind]);
        }
        5 => {
            let (offset, width) = *rng.pick(&GPT_HEADER_FIELDS);
            let lba = pick!(rng, [1, last_block]);
            let value = interesting_value(rng, disk);
            write_field(disk, lba * block + offset, width, value);
        }
        6 => {
            let (offset, width) = *rng.pick(&GPT_ENTRY_FIELDS);
            let entry = rng.below(4) * 128;
            let array = pick!(
                rng,
                [
                    2 * block,
                    (last_block - 32) * block,
                    (last_block - 4) * block
                ]
            );
            let value = interesting_value(rng, disk);
            write_field(disk, array + entry + offset, width, value);
        }
        7 => {
            // Copy a sector over another: duplicate EBRs and headers.
            let target = *rng.pick(&written);
            let bytes = disk.bytes(sector * 512, 512);
            disk.write(target * 512, &bytes);
        }
        _ => {
            // Relink an EBR: loops, links outside, to itself.
            let link = MbrEntry {
                boot: 0,
                kind: 0x05,
                start: rng.below(1 << 17) as u32,
                blocks: rng.below(1 << 17) as u32,
            };
            disk.write(sector * 512 + 462, &link.encode());
        }
    }
}

/// Numbers of MBR slots holding extended partitions (on a non-GPT disk):
/// their 1 KiB map may share sectors with their own logical partitions.
fn extended_slots(disk: &SparseDisk) -> Vec<u32> {
    let entries = mbr::entries(&disk.bytes(0, 512));
    if entries.iter().any(|e| e.kind == mbr::PROTECTIVE_TYPE) {
        return Vec::new();
    }
    (1..)
        .zip(entries)
        .filter(|(_, e)| e.blocks != 0 && mbr::is_extended(e.kind))
        .map(|(n, _)| n)
        .collect()
}

fn check_table(table: &PartitionTable, disk_sectors: u64, extended: &[u32], context: &str) {
    let parts: &[Partition] = &table.partitions;
    check_partitions(parts, disk_sectors, extended, context);
    let maps = plan(
        "mpatha",
        "3600140531e2f3c1e9b14b5db6e7a8f90",
        "254:0",
        parts,
    );
    assert_eq!(maps.len(), parts.len(), "{context}");
    for warning in &table.warnings {
        assert!(!warning.to_string().is_empty());
    }
}

/// Runs `read_table` with a reader that counts and may start failing;
/// true if the table was accepted.
fn run(
    disk: &SparseDisk,
    disk_sectors: u64,
    block_size: u32,
    fail_from: Option<u64>,
    context: &str,
) -> bool {
    let bytes_read = Cell::new(0u64);
    let calls = Cell::new(0u32);
    let mut read = |offset: u64, buf: &mut [u8]| {
        bytes_read.set(bytes_read.get() + buf.len() as u64);
        calls.set(calls.get() + 1);
        if fail_from.is_some_and(|limit| offset + buf.len() as u64 > limit) {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        disk.read(offset, buf)
    };
    let result = read_table(&mut read, disk_sectors, block_size);
    assert!(
        bytes_read.get() <= MAX_READ_BYTES,
        "{context}: read {} bytes",
        bytes_read.get()
    );
    assert!(
        calls.get() <= 4 * 129 + 1,
        "{context}: {} reads",
        calls.get()
    );
    match result {
        Ok(table) => {
            check_table(&table, disk_sectors, &extended_slots(disk), context);
            true
        }
        Err(error) => {
            if std::env::var_os("PARTITIONS_FUZZ_VERBOSE").is_some() {
                eprintln!("{context}: {error}");
            }
            assert!(!error.to_string().is_empty());
            false
        }
    }
}

fn fuzz_fixture(rng: &mut Rng, fixture: &Fixture, rounds: usize) -> (usize, usize) {
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..rounds {
        let mut disk = fixture.disk.clone();
        let mutations = 1 + rng.below(6);
        for _ in 0..mutations {
            mutate(rng, &mut disk, fixture.block_size);
        }
        if rng.chance(2) {
            testimage::refresh_gpt_crcs(&mut disk, fixture.block_size);
        }
        let block_size = if rng.chance(16) {
            pick!(rng, [512, 1024, 4096, 3000])
        } else {
            fixture.block_size
        };
        let disk_sectors = if rng.chance(16) {
            rng.below(disk.sectors() + 1)
        } else {
            disk.sectors()
        };
        let fail_from = rng.chance(16).then(|| rng.below(disk.sectors() * 512));
        let context = format!("{} round {round}", fixture.name);
        if run(&disk, disk_sectors, block_size, fail_from, &context) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    (accepted, refused)
}

#[test]
fn fixtures_are_read_unmutated() {
    for fixture in testimage::fixtures() {
        let table = read_table(
            &mut fixture.disk.reader(),
            fixture.disk.sectors(),
            fixture.block_size,
        )
        .unwrap();
        assert_eq!(table.partitions, fixture.expected, "{}", fixture.name);
    }
}

#[test]
fn mutated_tables_never_panic_hang_or_overlap() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for fixture in testimage::fixtures() {
        let (accepted, refused) = fuzz_fixture(&mut rng, &fixture, 3000);
        // Both outcomes must be exercised, or the mutations are too weak or too wild.
        assert!(
            accepted > 100 && refused > 100,
            "{}: {accepted} accepted, {refused} refused",
            fixture.name
        );
    }
}

#[test]
fn random_boot_records_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for round in 0..3000 {
        let sectors = 1 + rng.below(1 << 16);
        let mut disk = SparseDisk::new(sectors);
        let mut sector = 0;
        // A chain of random boot records at small offsets, so links land on them.
        for _ in 0..1 + rng.below(6) {
            if sector >= sectors {
                break;
            }
            let entries: Vec<MbrEntry> = (0..4)
                .map(|_| MbrEntry {
                    boot: pick!(rng, [0, 0x80, rng.next() as u8]),
                    kind: *rng.pick(&[0x05, 0x0f, 0x85, 0x83, 0x00, 0xee]),
                    start: pick!(rng, [0, 1, 2, rng.below(64) as u32, rng.next() as u32]),
                    blocks: pick!(rng, [0, 1, 2, rng.below(64) as u32, rng.next() as u32]),
                })
                .collect();
            if sector * 512 + 512 <= sectors * 512 {
                testimage::write_boot_record(&mut disk, sector * 512, &entries);
            }
            sector += 1 + rng.below(8);
        }
        let block_size = *rng.pick(&[512, 512, 4096]);
        run(
            &disk,
            disk.sectors(),
            block_size,
            None,
            &format!("random round {round}"),
        );
    }
}
