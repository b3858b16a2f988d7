//! Disk images for tests and fuzzing, not used at run time: a sparse
//! in-memory disk and builders for MBRs, EBR chains and GPTs, plus the
//! valid fixtures the unit tests, `tests/partitions_fuzz.rs` and the
//! cargo-fuzz target start from. The fixtures copy layouts that sfdisk and
//! sgdisk wrote on 64 MiB images.

use std::collections::BTreeMap;
use std::io;

use super::crc32::{crc32, Crc32};
use super::gpt::{ENTRY_SIZE, HEADER_SIZE, SIGNATURE as GPT_SIGNATURE};
use super::mbr::{MbrEntry, PROTECTIVE_TYPE, SIGNATURE};
use super::Partition;

const SECTOR: u64 = 512;

/// A disk of `sectors` 512-byte sectors that stores only what was written.
#[derive(Debug, Clone)]
pub struct SparseDisk {
    sectors: u64,
    data: BTreeMap<u64, Box<[u8; 512]>>,
}

impl SparseDisk {
    pub fn new(sectors: u64) -> Self {
        SparseDisk {
            sectors,
            data: BTreeMap::new(),
        }
    }

    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Writes `bytes` at byte `offset`; panics past the disk end.
    pub fn write(&mut self, offset: u64, bytes: &[u8]) {
        assert!(
            offset + bytes.len() as u64 <= self.sectors * SECTOR,
            "write past the disk end"
        );
        for (i, &byte) in bytes.iter().enumerate() {
            let at = offset + i as u64;
            self.data
                .entry(at / SECTOR)
                .or_insert_with(|| Box::new([0; 512]))[(at % SECTOR) as usize] = byte;
        }
    }

    /// Reads like a block device: fails past the disk end.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.sectors * SECTOR) {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        buf.fill(0);
        let first = offset / SECTOR;
        let last = (offset + buf.len() as u64).div_ceil(SECTOR);
        for (&sector, data) in self.data.range(first..last) {
            for (i, &byte) in data.iter().enumerate() {
                let at = sector * SECTOR + i as u64;
                if at >= offset && at < offset + buf.len() as u64 {
                    buf[(at - offset) as usize] = byte;
                }
            }
        }
        Ok(())
    }

    pub fn bytes(&self, offset: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        self.read(offset, &mut buf).expect("read inside the disk");
        buf
    }

    /// A `read` function for [`super::read_table`].
    pub fn reader(&self) -> impl FnMut(u64, &mut [u8]) -> io::Result<()> + '_ {
        move |offset, buf| self.read(offset, buf)
    }

    /// Sectors written so far, where mutations are worth aiming.
    pub fn written_sectors(&self) -> Vec<u64> {
        self.data.keys().copied().collect()
    }
}

/// Writes an MBR or EBR: up to four entries and the signature, at `offset`.
pub fn write_boot_record(disk: &mut SparseDisk, offset: u64, entries: &[MbrEntry]) {
    assert!(entries.len() <= 4);
    let mut table = [0u8; 66];
    for (slot, entry) in entries.iter().enumerate() {
        table[slot * 16..slot * 16 + 16].copy_from_slice(&entry.encode());
    }
    table[64..].copy_from_slice(&SIGNATURE);
    disk.write(offset + 446, &table);
}

/// A logical partition and its EBR; LBAs and sizes in logical blocks.
#[derive(Debug, Clone, Copy)]
pub struct Logical {
    pub ebr: u64,
    pub kind: u8,
    pub start: u64,
    pub blocks: u64,
}

/// Writes the EBR chain of the extended partition starting at LBA
/// `extended`, the way fdisk lays it out.
pub fn write_ebr_chain(
    disk: &mut SparseDisk,
    block_size: u32,
    extended: u64,
    logicals: &[Logical],
) {
    let lba32 = |value: u64| u32::try_from(value).expect("MBR LBAs are 32 bits");
    for (i, logical) in logicals.iter().enumerate() {
        let data = MbrEntry {
            boot: 0,
            kind: logical.kind,
            start: lba32(logical.start - logical.ebr),
            blocks: lba32(logical.blocks),
        };
        let link = logicals.get(i + 1).map(|next| MbrEntry {
            boot: 0,
            kind: 0x05,
            start: lba32(next.ebr - extended),
            blocks: lba32(next.start + next.blocks - next.ebr),
        });
        let entries: Vec<MbrEntry> = std::iter::once(data).chain(link).collect();
        write_boot_record(disk, logical.ebr * u64::from(block_size), &entries);
    }
}

/// A GUID in its usual text form, in GPT's mixed-endian byte order.
pub fn guid(text: &str) -> [u8; 16] {
    let digits: Vec<u8> = text.bytes().filter(|&b| b != b'-').collect();
    assert_eq!(digits.len(), 32, "GUID {text}");
    let mut bytes: [u8; 16] = std::array::from_fn(|i| {
        let pair = std::str::from_utf8(&digits[2 * i..2 * i + 2]).expect("ASCII");
        u8::from_str_radix(pair, 16).expect("hex GUID")
    });
    bytes[0..4].reverse();
    bytes[4..6].reverse();
    bytes[6..8].reverse();
    bytes
}

pub const EFI_SYSTEM: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
pub const LINUX_FILESYSTEM: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

/// One used GPT entry.
#[derive(Debug, Clone)]
pub struct GptEntry {
    pub index: u32,
    pub type_guid: [u8; 16],
    pub unique_guid: [u8; 16],
    pub first_lba: u64,
    pub last_lba: u64,
    pub name: &'static str,
}

/// A GPT to write, in logical blocks.
#[derive(Debug, Clone)]
pub struct Gpt {
    pub block_size: u32,
    pub blocks: u64,
    pub disk_guid: [u8; 16],
    pub first_usable: u64,
    pub last_usable: u64,
    pub entry_count: u32,
    pub entry_size: u32,
    pub entries: Vec<GptEntry>,
}

impl Gpt {
    /// sgdisk's defaults: 128 entries of 128 bytes right after the header.
    pub fn new(block_size: u32, blocks: u64) -> Self {
        let mut gpt = Gpt {
            block_size,
            blocks,
            disk_guid: guid("01234567-89AB-CDEF-0123-456789ABCDEF"),
            first_usable: 0,
            last_usable: 0,
            entry_count: 128,
            entry_size: ENTRY_SIZE,
            entries: Vec::new(),
        };
        gpt.first_usable = 2 + gpt.entry_blocks();
        gpt.last_usable = blocks - 2 - gpt.entry_blocks();
        gpt
    }

    pub fn entry_blocks(&self) -> u64 {
        (u64::from(self.entry_count) * u64::from(self.entry_size))
            .div_ceil(u64::from(self.block_size))
    }

    pub fn entry_array(&self) -> Vec<u8> {
        let size = self.entry_size as usize;
        let mut array = vec![0u8; self.entry_count as usize * size];
        for entry in &self.entries {
            let raw = &mut array[entry.index as usize * size..][..size];
            raw[0..16].copy_from_slice(&entry.type_guid);
            raw[16..32].copy_from_slice(&entry.unique_guid);
            raw[32..40].copy_from_slice(&entry.first_lba.to_le_bytes());
            raw[40..48].copy_from_slice(&entry.last_lba.to_le_bytes());
            for (i, unit) in entry.name.encode_utf16().take(36).enumerate() {
                raw[56 + 2 * i..58 + 2 * i].copy_from_slice(&unit.to_le_bytes());
            }
        }
        array
    }

    /// The 92-byte header at `my_lba`, CRCs filled in.
    pub fn header(&self, my_lba: u64, alternate_lba: u64, entries_lba: u64) -> Vec<u8> {
        let mut header = vec![0u8; HEADER_SIZE as usize];
        header[0..8].copy_from_slice(GPT_SIGNATURE);
        header[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        header[12..16].copy_from_slice(&HEADER_SIZE.to_le_bytes());
        header[24..32].copy_from_slice(&my_lba.to_le_bytes());
        header[32..40].copy_from_slice(&alternate_lba.to_le_bytes());
        header[40..48].copy_from_slice(&self.first_usable.to_le_bytes());
        header[48..56].copy_from_slice(&self.last_usable.to_le_bytes());
        header[56..72].copy_from_slice(&self.disk_guid);
        header[72..80].copy_from_slice(&entries_lba.to_le_bytes());
        header[80..84].copy_from_slice(&self.entry_count.to_le_bytes());
        header[84..88].copy_from_slice(&self.entry_size.to_le_bytes());
        header[88..92].copy_from_slice(&crc32(&self.entry_array()).to_le_bytes());
        let crc = crc32(&header);
        header[16..20].copy_from_slice(&crc.to_le_bytes());
        header
    }

    /// Protective MBR, primary header and entries, backup entries and header.
    pub fn write(&self, disk: &mut SparseDisk) {
        let block = u64::from(self.block_size);
        let last = self.blocks - 1;
        let protective = MbrEntry {
            boot: 0,
            kind: PROTECTIVE_TYPE,
            start: 1,
            blocks: u32::try_from(last).unwrap_or(u32::MAX),
        };
        write_boot_record(disk, 0, &[protective]);
        let array = self.entry_array();
        let backup_entries = last - self.entry_blocks();
        disk.write(block, &self.header(1, last, 2));
        disk.write(2 * block, &array);
        disk.write(backup_entries * block, &array);
        disk.write(last * block, &self.header(last, 1, backup_entries));
    }
}

/// Recomputes the entry array and header CRCs of both GPT headers as they
/// are on `disk`, so that fuzzers get past the CRC checks. Headers whose
/// fields make no sense are left alone.
pub fn refresh_gpt_crcs(disk: &mut SparseDisk, block_size: u32) {
    let block = u64::from(block_size);
    let blocks = disk.sectors() * SECTOR / block;
    for lba in [1, blocks.saturating_sub(1)] {
        if lba == 0 || lba >= blocks {
            continue;
        }
        let mut header = disk.bytes(lba * block, block as usize);
        let le32 = |h: &[u8], at: usize| u32::from_le_bytes(h[at..at + 4].try_into().unwrap());
        let le64 = |h: &[u8], at: usize| u64::from_le_bytes(h[at..at + 8].try_into().unwrap());
        let size = le32(&header, 12) as usize;
        if &header[..8] != GPT_SIGNATURE || !(HEADER_SIZE as usize..=block as usize).contains(&size)
        {
            continue;
        }
        let array_len = u64::from(le32(&header, 80)) * u64::from(le32(&header, 84));
        let entries_offset = le64(&header, 72).saturating_mul(block);
        if array_len <= 1 << 20
            && entries_offset.saturating_add(array_len) <= disk.sectors() * SECTOR
        {
            let array = disk.bytes(entries_offset, array_len as usize);
            header[88..92].copy_from_slice(&crc32(&array).to_le_bytes());
        }
        let mut crc = Crc32::new();
        crc.update(&header[..16]);
        crc.update(&[0; 4]);
        crc.update(&header[20..size]);
        header[16..20].copy_from_slice(&crc.finish().to_le_bytes());
        disk.write(lba * block, &header[..size]);
    }
}

/// A valid disk image and the partitions `read_table` must find on it.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: &'static str,
    pub block_size: u32,
    pub disk: SparseDisk,
    pub expected: Vec<Partition>,
}

/// 64 MiB, the size of the images the fixtures were copied from.
const DISK_SECTORS: u64 = 131072;

/// A partition as `read_table` reports it (512-byte sectors).
pub fn part(number: u32, start: u64, sectors: u64) -> Partition {
    Partition {
        number,
        start,
        sectors,
    }
}

fn primary(boot: u8, kind: u8, start: u32, blocks: u32) -> MbrEntry {
    MbrEntry {
        boot,
        kind,
        start,
        blocks,
    }
}

/// sfdisk: one bootable Linux partition from sector 2048 to the end.
pub fn mbr_single() -> Fixture {
    let mut disk = SparseDisk::new(DISK_SECTORS);
    disk.write(440, &0x1a2b_3c4du32.to_le_bytes());
    write_boot_record(&mut disk, 0, &[primary(0x80, 0x83, 2048, 129_024)]);
    Fixture {
        name: "mbr-single",
        block_size: 512,
        disk,
        expected: vec![part(1, 2048, 129_024)],
    }
}

/// Four primary partitions (Linux, swap, Linux, LVM).
pub fn mbr_four_primaries() -> Fixture {
    let mut disk = SparseDisk::new(DISK_SECTORS);
    let kinds = [0x83, 0x82, 0x83, 0x8e];
    let entries: Vec<MbrEntry> = (0..4u32)
        .map(|i| primary(0, kinds[i as usize], 2048 + i * 30720, 30720))
        .collect();
    write_boot_record(&mut disk, 0, &entries);
    let expected = (0..4u32)
        .map(|i| part(i + 1, 2048 + u64::from(i) * 30720, 30720))
        .collect();
    Fixture {
        name: "mbr-four-primaries",
        block_size: 512,
        disk,
        expected,
    }
}

/// sfdisk: 1 and 2 primary, 3 extended, logicals 5, 6, 7.
pub fn mbr_extended() -> Fixture {
    let mut disk = SparseDisk::new(DISK_SECTORS);
    disk.write(440, &0x0bad_cafeu32.to_le_bytes());
    write_boot_record(
        &mut disk,
        0,
        &[
            primary(0, 0x83, 2048, 20480),
            primary(0, 0x82, 22528, 20480),
            primary(0, 0x05, 43008, 88064),
        ],
    );
    let logicals = [
        Logical {
            ebr: 43008,
            kind: 0x83,
            start: 45056,
            blocks: 10240,
        },
        Logical {
            ebr: 55296,
            kind: 0x83,
            start: 57344,
            blocks: 10240,
        },
        Logical {
            ebr: 67584,
            kind: 0x8e,
            start: 69632,
            blocks: 10240,
        },
    ];
    write_ebr_chain(&mut disk, 512, 43008, &logicals);
    let expected = vec![
        part(1, 2048, 20480),
        part(2, 22528, 20480),
        part(3, 43008, 2),
        part(5, 45056, 10240),
        part(6, 57344, 10240),
        part(7, 69632, 10240),
    ];
    Fixture {
        name: "mbr-extended",
        block_size: 512,
        disk,
        expected,
    }
}

/// The GPT sgdisk writes for an EFI partition 1 and a root partition 3
/// (entry 2 left empty).
pub fn gpt_sgdisk() -> Gpt {
    let mut gpt = Gpt::new(512, DISK_SECTORS);
    gpt.entries = vec![
        GptEntry {
            index: 0,
            type_guid: guid(EFI_SYSTEM),
            unique_guid: guid("11111111-2222-3333-4444-555555555555"),
            first_lba: 2048,
            last_lba: 34815,
            name: "EFI",
        },
        GptEntry {
            index: 2,
            type_guid: guid(LINUX_FILESYSTEM),
            unique_guid: guid("66666666-7777-8888-9999-AAAAAAAAAAAA"),
            first_lba: 34816,
            last_lba: 75775,
            name: "root",
        },
    ];
    gpt
}

pub fn gpt_with_hole() -> Fixture {
    let mut disk = SparseDisk::new(DISK_SECTORS);
    gpt_sgdisk().write(&mut disk);
    Fixture {
        name: "gpt-with-hole",
        block_size: 512,
        disk,
        expected: vec![part(1, 2048, 32768), part(3, 34816, 40960)],
    }
}

/// The GPT sfdisk writes on a 4 KiB-sector loop device (first usable LBA
/// 256, two partitions).
pub fn gpt_sfdisk_4k() -> Gpt {
    let mut gpt = Gpt::new(4096, DISK_SECTORS / 8);
    gpt.disk_guid = guid("0A0B0C0D-1111-2222-3333-444455556666");
    gpt.first_usable = 256;
    gpt.entries = vec![
        GptEntry {
            index: 0,
            type_guid: guid(EFI_SYSTEM),
            unique_guid: guid("BD5A03B0-EBCF-0B4B-A6CC-424933F1142B"),
            first_lba: 256,
            last_lba: 4351,
            name: "",
        },
        GptEntry {
            index: 1,
            type_guid: guid(LINUX_FILESYSTEM),
            unique_guid: guid("FAA1DB9F-B1DE-9E47-BF13-A9244086A250"),
            first_lba: 4352,
            last_lba: 9471,
            name: "",
        },
    ];
    gpt
}

pub fn gpt_4k() -> Fixture {
    let mut disk = SparseDisk::new(DISK_SECTORS);
    gpt_sfdisk_4k().write(&mut disk);
    Fixture {
        name: "gpt-4k",
        block_size: 4096,
        disk,
        expected: vec![part(1, 2048, 32768), part(2, 34816, 40960)],
    }
}

pub fn fixtures() -> Vec<Fixture> {
    vec![
        mbr_single(),
        mbr_four_primaries(),
        mbr_extended(),
        gpt_with_hole(),
        gpt_4k(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_reads_see_writes_and_zeros() {
        let mut disk = SparseDisk::new(4);
        disk.write(510, &[1, 2, 3, 4]);
        assert_eq!(disk.bytes(508, 8), [0, 0, 1, 2, 3, 4, 0, 0]);
        assert_eq!(disk.written_sectors(), [0, 1]);
        assert!(disk.read(2040, &mut [0; 9]).is_err());
        assert!(disk.read(u64::MAX, &mut [0; 9]).is_err());
    }

    #[test]
    fn guid_byte_order() {
        assert_eq!(
            guid(EFI_SYSTEM),
            [
                0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e,
                0xc9, 0x3b
            ]
        );
    }
}
