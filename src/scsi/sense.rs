//! Sense data (SPC-4 4.5): just the key/ASC/ASCQ triple, which is all the
//! path checker needs to tell "not ready" from "unit attention" from failure.

/// Sense key with additional sense code and qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sense {
    pub key: u8,
    pub asc: u8,
    pub ascq: u8,
}

/// Byte 7 of fixed-format sense: number of bytes following it.
const FIXED_ADDITIONAL_LEN: usize = 7;
const FIXED_ASC: usize = 12;
const FIXED_ASCQ: usize = 13;

/// Parses fixed (0x70/0x71) or descriptor (0x72/0x73) format sense data.
///
/// Returns `None` for any other response code or a buffer too short to hold
/// the sense key. In fixed format ASC/ASCQ are reported as 0 unless both the
/// additional sense length and the buffer cover them.
pub fn parse(buf: &[u8]) -> Option<Sense> {
    let response_code = buf.first()? & 0x7f;
    match response_code {
        0x70 | 0x71 => {
            let key = buf.get(2)? & 0x0f;
            // Bytes the device says are valid: 8 header bytes + additional length.
            let valid = buf
                .get(FIXED_ADDITIONAL_LEN)
                .map_or(0, |&n| FIXED_ADDITIONAL_LEN + 1 + usize::from(n));
            let byte = |at: usize| {
                if at < valid {
                    buf.get(at).copied().unwrap_or(0)
                } else {
                    0
                }
            };
            Some(Sense {
                key,
                asc: byte(FIXED_ASC),
                ascq: byte(FIXED_ASCQ),
            })
        }
        0x72 | 0x73 => Some(Sense {
            key: buf.get(1)? & 0x0f,
            asc: *buf.get(2)?,
            ascq: *buf.get(3)?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UNIT ATTENTION, POWER ON OCCURRED (29h/00h), fixed format, 18 bytes.
    const FIXED_UA: [u8; 18] = [
        0xf0, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0,
    ];

    #[test]
    fn fixed_format() {
        assert_eq!(
            parse(&FIXED_UA),
            Some(Sense {
                key: 6,
                asc: 0x29,
                ascq: 0
            })
        );
        let mut deferred = FIXED_UA;
        deferred[0] = 0x71;
        deferred[2] = 0x02; // NOT READY
        deferred[12] = 0x04;
        deferred[13] = 0x0b; // LU not accessible, target port in standby state
        assert_eq!(
            parse(&deferred),
            Some(Sense {
                key: 2,
                asc: 4,
                ascq: 0x0b
            })
        );
    }

    #[test]
    fn fixed_format_additional_length_not_covering_asc() {
        let mut short = FIXED_UA;
        short[7] = 4; // valid through byte 11 only
        assert_eq!(
            parse(&short),
            Some(Sense {
                key: 6,
                asc: 0,
                ascq: 0
            })
        );
        short[7] = 5; // covers ASC, not ASCQ
        assert_eq!(parse(&short).map(|s| (s.asc, s.ascq)), Some((0x29, 0)));
    }

    #[test]
    fn fixed_format_buffer_shorter_than_additional_length() {
        assert_eq!(
            parse(&FIXED_UA[..13]),
            Some(Sense {
                key: 6,
                asc: 0x29,
                ascq: 0
            })
        );
        assert_eq!(parse(&FIXED_UA[..3]).map(|s| s.key), Some(6));
    }

    #[test]
    fn descriptor_format() {
        let buf = [0x72, 0x05, 0x24, 0x00, 0, 0, 0, 0];
        assert_eq!(
            parse(&buf),
            Some(Sense {
                key: 5,
                asc: 0x24,
                ascq: 0
            })
        );
        let buf = [0x73, 0x0e, 0x1d, 0x00];
        assert_eq!(parse(&buf).map(|s| s.key), Some(0x0e));
    }

    #[test]
    fn short_or_unknown() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[0x70]), None);
        assert_eq!(parse(&[0x70, 0]), None);
        assert_eq!(parse(&[0x72, 5, 0x24]), None);
        assert_eq!(parse(&[0x7f, 5, 0x24, 0, 0, 0, 0, 0]), None);
        assert_eq!(parse(&[0x00; 18]), None);
    }
}
