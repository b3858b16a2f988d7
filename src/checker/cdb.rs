//! Command descriptor blocks the checkers send beyond INQUIRY and TEST UNIT
//! READY (those come from [`crate::scsi::cdb`]): READ(10) and READ(16).
//! Reads only; no checker here ever writes to a device.

/// READ(10) operation code.
const READ_10: u8 = 0x28;
/// READ(16) operation code.
const READ_16: u8 = 0x88;

/// A READ CDB: 10 bytes when the LBA and length fit, else 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadCdb {
    Read10([u8; 10]),
    Read16([u8; 16]),
}

impl ReadCdb {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            ReadCdb::Read10(b) => b,
            ReadCdb::Read16(b) => b,
        }
    }
}

/// READ of `blocks` logical blocks from `lba`. READ(10) addresses 32-bit
/// LBAs and 16-bit lengths (2 TiB with 512-byte blocks); anything larger
/// takes READ(16). The checkers read LBA 0, so they always send READ(10),
/// as multipath-tools' `sg_read` does.
pub fn read(lba: u64, blocks: u32) -> ReadCdb {
    match (u32::try_from(lba), u16::try_from(blocks)) {
        (Ok(lba), Ok(blocks)) => ReadCdb::Read10(read10(lba, blocks)),
        _ => ReadCdb::Read16(read16(lba, blocks)),
    }
}

/// READ(10): opcode, flags, LBA (4 bytes), group, length (2 bytes), control.
pub fn read10(lba: u32, blocks: u16) -> [u8; 10] {
    let [a0, a1, a2, a3] = lba.to_be_bytes();
    let [n0, n1] = blocks.to_be_bytes();
    [READ_10, 0, a0, a1, a2, a3, 0, n0, n1, 0]
}

/// READ(16): opcode, flags, LBA (8 bytes), length (4 bytes), group, control.
pub fn read16(lba: u64, blocks: u32) -> [u8; 16] {
    let a = lba.to_be_bytes();
    let n = blocks.to_be_bytes();
    [
        READ_16, 0, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], n[0], n[1], n[2], n[3], 0, 0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lba_zero_is_read10() {
        assert_eq!(
            read(0, 1),
            ReadCdb::Read10([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0])
        );
    }

    #[test]
    fn read10_fields_big_endian() {
        assert_eq!(
            read10(0x0102_0304, 0x0506),
            [0x28, 0, 1, 2, 3, 4, 0, 5, 6, 0]
        );
    }

    #[test]
    fn past_32_bit_lba_is_read16() {
        let cdb = read(0x1_0000_0000, 1);
        assert_eq!(
            cdb,
            ReadCdb::Read16([0x88, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
        );
        assert_eq!(cdb.as_bytes().len(), 16);
    }

    #[test]
    fn long_transfer_is_read16() {
        assert!(matches!(read(7, 0x1_0000), ReadCdb::Read16(_)));
        assert!(matches!(
            read(u64::from(u32::MAX), 0xffff),
            ReadCdb::Read10(_)
        ));
    }
}
