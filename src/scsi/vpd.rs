//! VPD pages 0x83 (device identification) and 0x80 (unit serial number).
//!
//! Layout (SPC-4 7.8): byte 1 page code, bytes 2-3 page length N, payload at
//! 4..4+N. A page length beyond the buffer means the reply was truncated: we
//! parse what is there and report whatever runs past the end as an error.

use super::{be16, ScsiDataError};

/// Page code of the device identification VPD page.
pub const PAGE_DEVICE_ID: u8 = 0x83;
/// Page code of the unit serial number VPD page.
pub const PAGE_UNIT_SERIAL: u8 = 0x80;
/// VPD page header size; the payload starts here.
pub const HEADER_LEN: usize = 4;
/// Designator header size; the designator value starts here.
const DESIGNATOR_HEADER_LEN: usize = 4;

/// Designator association (byte 1 bits 5-4).
pub mod association {
    /// The addressed logical unit.
    pub const LOGICAL_UNIT: u8 = 0;
    /// The target port the command came through.
    pub const TARGET_PORT: u8 = 1;
    /// The SCSI target device containing the LU.
    pub const TARGET_DEVICE: u8 = 2;
}

/// Designator types (byte 1 bits 3-0).
pub mod kind {
    pub const VENDOR_SPECIFIC: u8 = 0;
    pub const T10_VENDOR_ID: u8 = 1;
    pub const EUI64: u8 = 2;
    pub const NAA: u8 = 3;
    pub const RELATIVE_TARGET_PORT: u8 = 4;
    pub const TARGET_PORT_GROUP: u8 = 5;
    pub const SCSI_NAME_STRING: u8 = 8;
}

/// One identification descriptor of page 0x83.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Designator<'a> {
    /// Offset of the designator header from the start of the page.
    pub offset: usize,
    /// Protocol identifier (byte 0 bits 7-4).
    pub protocol: u8,
    /// Code set (byte 0 bits 3-0): 1 binary, 2 ASCII, 3 UTF-8.
    pub code_set: u8,
    /// PROTOCOL IDENTIFIER VALID (byte 1 bit 7).
    pub piv: bool,
    /// Association (byte 1 bits 5-4), see [`association`].
    pub association: u8,
    /// Designator type (byte 1 bits 3-0), see [`kind`].
    pub kind: u8,
    /// Designator value (bytes 4..4+length).
    pub value: &'a [u8],
}

/// Iterator over the designators of a page 0x83.
///
/// Yields `Err` once for a designator that runs past the page end (including
/// a partial designator header) and then stops, since nothing after it can be
/// located.
#[derive(Debug, Clone)]
pub struct Designators<'a> {
    page: &'a [u8],
    pos: usize,
    end: usize,
    failed: bool,
}

impl<'a> Designators<'a> {
    /// Offset one past the last byte the iterator considers part of the page:
    /// `4 + page length`, clamped to the buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// True when the page length claims more bytes than the buffer holds.
    pub fn truncated(&self) -> bool {
        page_end(self.page) > self.page.len()
    }
}

impl<'a> Iterator for Designators<'a> {
    type Item = Result<Designator<'a>, ScsiDataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.end {
            return None;
        }
        let offset = self.pos;
        let overrun = |claimed_end| ScsiDataError::Overrun {
            what: "VPD page 0x83 designator",
            offset,
            claimed_end,
            end: self.end,
        };
        let header = match self.page.get(offset..offset + DESIGNATOR_HEADER_LEN) {
            Some(h) if offset + DESIGNATOR_HEADER_LEN <= self.end => h,
            _ => {
                self.failed = true;
                return Some(Err(overrun(offset + DESIGNATOR_HEADER_LEN)));
            }
        };
        let (b0, b1, len) = match *header {
            [b0, b1, _, len] => (b0, b1, usize::from(len)),
            _ => return None, // unreachable: the slice has 4 bytes
        };
        let value_start = offset + DESIGNATOR_HEADER_LEN;
        let value_end = value_start + len;
        let value = match self.page.get(value_start..value_end) {
            Some(v) if value_end <= self.end => v,
            _ => {
                self.failed = true;
                return Some(Err(overrun(value_end)));
            }
        };
        self.pos = value_end;
        Some(Ok(Designator {
            offset,
            protocol: b0 >> 4,
            code_set: b0 & 0x0f,
            piv: b1 & 0x80 != 0,
            association: (b1 >> 4) & 0x03,
            kind: b1 & 0x0f,
            value,
        }))
    }
}

impl core::iter::FusedIterator for Designators<'_> {}

/// `4 + page length` as the header claims (needs a 4-byte buffer).
fn page_end(page: &[u8]) -> usize {
    HEADER_LEN + usize::from(be16(page, 2).unwrap_or(0))
}

/// Checks the 4-byte VPD header and page code; returns the payload end,
/// clamped to the buffer.
fn check_header(page: &[u8], code: u8, what: &'static str) -> Result<usize, ScsiDataError> {
    let found = match page.get(..HEADER_LEN) {
        Some(&[_, found, _, _]) => found,
        _ => {
            return Err(ScsiDataError::TooShort {
                what,
                len: page.len(),
                need: HEADER_LEN,
            })
        }
    };
    if found != code {
        return Err(ScsiDataError::WrongPageCode {
            expected: code,
            found,
        });
    }
    Ok(page_end(page).min(page.len()))
}

/// Walks the designators of a device identification page (0x83).
///
/// Fails only if the 4-byte header is missing or the page code is not 0x83;
/// problems with individual designators come out of the iterator.
pub fn designators(page: &[u8]) -> Result<Designators<'_>, ScsiDataError> {
    let end = check_header(page, PAGE_DEVICE_ID, "VPD page 0x83")?;
    Ok(Designators {
        page,
        pos: HEADER_LEN,
        end,
        failed: false,
    })
}

/// Bytes 2-3 of the value of the first target-port designator of `kind`.
fn target_port_field(page83: &[u8], wanted: u8) -> Option<u16> {
    designators(page83)
        .ok()?
        .map_while(Result::ok)
        .find(|d| {
            d.association == association::TARGET_PORT && d.kind == wanted && d.value.len() >= 4
        })
        .and_then(|d| be16(d.value, 2))
}

/// Target port group of the port this page was read through (designator
/// type 5, association target port), used to find the path's ALUA state in
/// the REPORT TARGET PORT GROUPS reply.
pub fn target_port_group(page83: &[u8]) -> Option<u16> {
    target_port_field(page83, kind::TARGET_PORT_GROUP)
}

/// Relative target port identifier (designator type 4, association target
/// port) of the port this page was read through.
pub fn relative_target_port(page83: &[u8]) -> Option<u16> {
    target_port_field(page83, kind::RELATIVE_TARGET_PORT)
}

/// The PRODUCT SERIAL NUMBER field of a unit serial number page (0x80),
/// as the device sent it (padding included).
///
/// A serial cut short by a truncated reply would yield a wrong WWID, so a
/// page length beyond the buffer is an error here.
pub fn unit_serial(page80: &[u8]) -> Result<&[u8], ScsiDataError> {
    check_header(page80, PAGE_UNIT_SERIAL, "VPD page 0x80")?;
    let claimed_end = page_end(page80);
    page80
        .get(HEADER_LEN..claimed_end)
        .ok_or(ScsiDataError::Overrun {
            what: "VPD page 0x80 product serial number",
            offset: HEADER_LEN,
            claimed_end,
            end: page80.len(),
        })
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Real-device page images shared by the tests of this crate.

    /// Page 0x83 of scsi_debug host 0, channel 0, target 0, LUN 0, as built
    /// by the kernel's scsi_debug.c inquiry_vpd_83(): port group id 0x100,
    /// target_dev_id 1997, dev_id_num 2000, dev_id_str "2000".
    pub const SCSI_DEBUG_83: [u8; 116] = [
        0x00, 0x83, 0x00, 0x70, // header, page length 112
        // T10 vendor id, ASCII, LU: "Linux   scsi_debug      2000"
        0x02, 0x01, 0x00, 28, b'L', b'i', b'n', b'u', b'x', b' ', b' ', b' ', b's', b'c', b's',
        b'i', b'_', b'd', b'e', b'b', b'u', b'g', b' ', b' ', b' ', b' ', b' ', b' ', b'2', b'0',
        b'0', b'0', //
        // NAA-3 LU: 0x3333333000000000 + 2000
        0x01, 0x03, 0x00, 0x08, 0x33, 0x33, 0x33, 0x30, 0x00, 0x00, 0x07, 0xd0, //
        // relative target port 1 (SAS, PIV, target port)
        0x61, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, //
        // NAA-3 target port: 0x3222222000000000 + 1998
        0x61, 0x93, 0x00, 0x08, 0x32, 0x22, 0x22, 0x20, 0x00, 0x00, 0x07, 0xce, //
        // target port group 0x0100
        0x61, 0x95, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, //
        // NAA-3 target device: 0x3222222000000000 + 1997
        0x61, 0xa3, 0x00, 0x08, 0x32, 0x22, 0x22, 0x20, 0x00, 0x00, 0x07, 0xcd, //
        // SCSI name string, UTF-8, target device: "naa.32222220000007CD" + 4 NULs
        0x63, 0xa8, 0x00, 24, b'n', b'a', b'a', b'.', b'3', b'2', b'2', b'2', b'2', b'2', b'2',
        b'0', b'0', b'0', b'0', b'0', b'0', b'7', b'C', b'D', 0, 0, 0, 0,
    ];

    /// Page 0x83 of a qemu scsi-hd with serial MPATH0 and wwn=0x5000c50015ea71ac.
    pub const QEMU_83: [u8; 26] = [
        0x00, 0x83, 0x00, 22, // header
        0x02, 0x00, 0x00, 6, b'M', b'P', b'A', b'T', b'H', b'0', // vendor specific, ASCII
        0x01, 0x03, 0x00, 8, 0x50, 0x00, 0xc5, 0x00, 0x15, 0xea, 0x71, 0xac, // NAA-5
    ];

    /// Page 0x80 of the same scsi_debug LU: serial "2000".
    pub const SCSI_DEBUG_80: [u8; 8] = [0x00, 0x80, 0x00, 4, b'2', b'0', b'0', b'0'];
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn walks_scsi_debug_page() {
        let all: Vec<_> = designators(&SCSI_DEBUG_83)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let summary: Vec<_> = all
            .iter()
            .map(|d| (d.offset, d.association, d.kind, d.value.len()))
            .collect();
        assert_eq!(
            summary,
            [
                (4, 0, 1, 28),
                (36, 0, 3, 8),
                (48, 1, 4, 4),
                (56, 1, 3, 8),
                (68, 1, 5, 4),
                (76, 2, 3, 8),
                (88, 2, 8, 24)
            ]
        );
        let t10 = all[0];
        assert_eq!((t10.protocol, t10.code_set, t10.piv), (0, 2, false));
        assert_eq!(t10.value, b"Linux   scsi_debug      2000");
        let name = all[6];
        assert_eq!((name.protocol, name.code_set, name.piv), (6, 3, true));
    }

    #[test]
    fn target_port_fields() {
        assert_eq!(target_port_group(&SCSI_DEBUG_83), Some(0x0100));
        assert_eq!(relative_target_port(&SCSI_DEBUG_83), Some(1));
        assert_eq!(target_port_group(&QEMU_83), None);
        assert_eq!(relative_target_port(&QEMU_83), None);
        assert_eq!(target_port_group(&[]), None);
    }

    #[test]
    fn target_port_group_needs_target_port_association() {
        let mut page = SCSI_DEBUG_83;
        page[69] = 0x85; // same designator, association LU
        assert_eq!(target_port_group(&page), None);
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            designators(&[0x00, 0x83, 0x00]).unwrap_err(),
            ScsiDataError::TooShort {
                what: "VPD page 0x83",
                len: 3,
                need: 4
            }
        );
        assert_eq!(
            designators(&SCSI_DEBUG_80).unwrap_err(),
            ScsiDataError::WrongPageCode {
                expected: 0x83,
                found: 0x80
            }
        );
    }

    #[test]
    fn zero_length_page_is_empty() {
        let mut it = designators(&[0x00, 0x83, 0x00, 0x00]).unwrap();
        assert_eq!(it.end(), 4);
        assert!(it.next().is_none());
    }

    #[test]
    fn page_length_shorter_than_buffer_limits_walk() {
        let mut page = SCSI_DEBUG_83;
        page[3] = 32; // only the T10 designator
        assert_eq!(designators(&page).unwrap().count(), 1);
    }

    #[test]
    fn zero_length_designators() {
        let page = [
            0x00, 0x83, 0x00, 8, 0x01, 0x03, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00,
        ];
        let all: Vec<_> = designators(&page)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|d| d.value.is_empty()));
        assert_eq!(all[1].offset, 8);
    }

    #[test]
    fn designator_past_page_end() {
        // Page length 16: the second designator claims 8 bytes but only 4 remain.
        let page = [
            0x00, 0x83, 0x00, 16, 0x01, 0x03, 0x00, 0x04, 1, 2, 3, 4, 0x01, 0x03, 0x00, 0x08, 1, 2,
            3, 4,
        ];
        let mut it = designators(&page).unwrap();
        assert!(it.next().unwrap().is_ok());
        let err = it.next().unwrap().unwrap_err();
        assert_eq!(
            err,
            ScsiDataError::Overrun {
                what: "VPD page 0x83 designator",
                offset: 12,
                claimed_end: 24,
                end: 20
            }
        );
        assert!(err
            .to_string()
            .starts_with("VPD page 0x83 designator at offset 12 runs past the page end"));
        assert!(it.next().is_none());
    }

    #[test]
    fn truncated_buffer_parses_what_is_there() {
        let cut = &SCSI_DEBUG_83[..60];
        let mut it = designators(cut).unwrap();
        assert!(it.truncated());
        assert_eq!(it.end(), 60);
        let offsets: Vec<_> = it.by_ref().map(|r| r.map(|d| d.offset)).collect();
        assert_eq!(offsets.len(), 4);
        assert_eq!(offsets[..3], [Ok(4), Ok(36), Ok(48)]);
        assert!(matches!(
            offsets[3],
            Err(ScsiDataError::Overrun { offset: 56, .. })
        ));
    }

    #[test]
    fn partial_designator_header_is_overrun() {
        let page = [0x00, 0x83, 0x00, 2, 0x01, 0x03];
        let mut it = designators(&page).unwrap();
        assert!(matches!(
            it.next(),
            Some(Err(ScsiDataError::Overrun {
                offset: 4,
                claimed_end: 8,
                end: 6,
                ..
            }))
        ));
        assert!(it.next().is_none());
    }

    #[test]
    fn unit_serial_number() {
        assert_eq!(unit_serial(&SCSI_DEBUG_80).unwrap(), b"2000");
        assert_eq!(unit_serial(&[0, 0x80, 0, 0]).unwrap(), b"");
        assert!(matches!(
            unit_serial(&SCSI_DEBUG_80[..6]),
            Err(ScsiDataError::Overrun { .. })
        ));
        assert!(matches!(
            unit_serial(&SCSI_DEBUG_83),
            Err(ScsiDataError::WrongPageCode { .. })
        ));
        assert!(matches!(
            unit_serial(&[0, 0x80]),
            Err(ScsiDataError::TooShort { .. })
        ));
        // Extra bytes beyond the page length are ignored.
        assert_eq!(
            unit_serial(&[0, 0x80, 0, 2, b'A', b'B', b'C']).unwrap(),
            b"AB"
        );
    }
}
