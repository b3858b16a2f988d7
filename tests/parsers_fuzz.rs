//! Deterministic, dependency-free fuzzing of every device-data parser.
//!
//! Devices (and broken firmware) hand us arbitrary bytes; the parsers must
//! never panic and every WWID they accept must be a valid device-mapper name.
//! A fixed-seed xorshift generator feeds random buffers, structured random
//! pages and mutations of real-device fixtures to each parser. Runs in well
//! under a second in release builds, so it always runs with `cargo test`.

mod fuzzing;

#[path = "fuzz/shared/vpd_pages.rs"]
mod vpd_pages;

use fuzzing::Rng;
use mpath_boot::alua::{self, AccessState};
use mpath_boot::identify::{self, vendor, Wwid, WWID_MAX};
use mpath_boot::scsi::{inquiry, rtpg, sense, vpd};
use vpd_pages::SCSI_DEBUG_83;


/// qemu scsi-hd page 0x83 with serial MPATH0 and wwn 0x5000c50015ea71ac.
const QEMU_83: &[u8] = &[
    0x00, 0x83, 0x00, 22, 0x02, 0x00, 0x00, 6, b'M', b'P', b'A', b'T', b'H', b'0', 0x01, 0x03,
    0x00, 8, 0x50, 0x00, 0xc5, 0x00, 0x15, 0xea, 0x71, 0xac,
];

/// Page 0x80 with a padded serial.
const SERIAL_80: &[u8] = &[
    0x00, 0x80, 0x00, 10, b' ', b'S', b'N', b' ', b' ', b'4', b'2', b' ', 0, 0,
];

/// Standard INQUIRY of scsi_debug (36 bytes).
const INQUIRY: &[u8] = &[
    0x00, 0x00, 0x07, 0x02, 91, 0x10, 0x10, 0x0a, b'L', b'i', b'n', b'u', b'x', b' ', b' ', b' ',
    b's', b'c', b's', b'i', b'_', b'd', b'e', b'b', b'u', b'g', b' ', b' ', b' ', b' ', b' ', b' ',
    b'0', b'1', b'9', b'1',
];

/// RTPG reply, length-only format: groups 1 (A/O, PREF, 2 ports), 2
/// (standby, 1 port), 0x100 (A/NO, no ports).
const RTPG: &[u8] = &[
    0, 0, 0, 36, 0x80, 0x0f, 0x00, 0x01, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x02, 0x0f, 0x00,
    0x02, 0, 0, 0, 1, 0, 0, 0, 3, 0x01, 0x0f, 0x01, 0x00, 0, 0, 0, 0,
];

/// The same groups in the extended format.
const RTPG_EXT: &[u8] = &[
    0, 0, 0, 40, 0x10, 60, 0, 0, 0x80, 0x0f, 0x00, 0x01, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x02,
    0x0f, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 3, 0x01, 0x0f, 0x01, 0x00, 0, 0, 0, 0,
];

const FIXED_SENSE: &[u8] = &[
    0xf0, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0,
];
const DESC_SENSE: &[u8] = &[0x72, 0x02, 0x04, 0x0b, 0, 0, 0, 0];

/// Offsets of length bytes worth hammering in each fixture.
const LENGTH_BYTES_83: &[usize] = &[2, 3, 7, 35, 39, 51, 59, 71, 79, 91];

fn check_wwid(wwid: &Wwid, context: &dyn std::fmt::Debug) {
    let s = wwid.as_str();
    assert!(!s.is_empty(), "empty WWID from {context:?}");
    assert!(
        s.len() <= WWID_MAX,
        "WWID {s:?} longer than {WWID_MAX} from {context:?}"
    );
    assert!(
        s.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'/'),
        "WWID {s:?} is not a valid map name, from {context:?}"
    );
}

/// Flip bits, cut, extend, overwrite and poke length bytes.
fn mutate(rng: &mut Rng, seed: &[u8], length_bytes: &[usize]) -> Vec<u8> {
    let mut buf = seed.to_vec();
    for _ in 0..1 + rng.index(4) {
        match rng.index(7) {
            0 => {
                if !buf.is_empty() {
                    let i = rng.index(buf.len());
                    buf[i] ^= 1 << rng.index(8);
                }
            }
            1 => {
                let keep = rng.index(buf.len() + 1);
                buf.truncate(keep);
            }
            2 => {
                let extra = rng.bytes(40);
                buf.extend_from_slice(&extra);
            }
            3 => {
                if !buf.is_empty() {
                    let i = rng.index(buf.len());
                    buf[i] = *rng.pick(&[0x00, 0xff, 0x20, 0x2f, 0x7f, 0x80]);
                }
            }
            4 => {
                let i = *rng.pick(length_bytes);
                if let Some(b) = buf.get_mut(i) {
                    *b = *rng.pick(&[0x00, 0xff, 0x01, 0x04, 0x08, 0x10]);
                }
            }
            5 => {
                if !buf.is_empty() {
                    let i = rng.index(buf.len());
                    buf[i] = rng.byte();
                }
            }
            _ => {
                // Splice: duplicate or drop a chunk, shifting later structure.
                if buf.len() > 2 {
                    let at = rng.index(buf.len());
                    let n = rng.index(12).min(buf.len() - at);
                    if rng.chance(2) {
                        buf.drain(at..at + n);
                    } else {
                        let chunk: Vec<u8> = buf[at..at + n].to_vec();
                        buf.splice(at..at, chunk);
                    }
                }
            }
        }
    }
    buf
}

/// A page 0x83 of random designators, biased towards the interesting ones.
fn random_page83(rng: &mut Rng) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..rng.index(8) {
        let any = rng.byte() & 0x0f;
        let kind = *rng.pick(&[0u8, 1, 2, 3, 3, 3, 4, 5, 8, 8, 0xa, any]);
        let assoc = if rng.chance(3) { rng.index(4) as u8 } else { 0 };
        let len = match kind {
            3 => *rng.pick(&[8usize, 16, 8, 0, 12]),
            2 => *rng.pick(&[8usize, 12, 16, 10]),
            _ => {
                let max = if rng.chance(8) { 256 } else { 40 };
                rng.index(max)
            }
        };
        let mut value: Vec<u8> = match kind {
            1 | 8 => (0..len)
                .map(|_| match rng.index(40) {
                    0 => rng.byte(),
                    1 => 0,
                    2..=8 => b' ',
                    _ => *rng.pick(b"abcXYZ019.:-_"),
                })
                .collect(),
            _ => (0..len).map(|_| rng.byte()).collect(),
        };
        if kind == 8 && len >= 4 && !rng.chance(4) {
            value[..4].copy_from_slice(*rng.pick(&[b"eui.", b"naa.", b"iqn."]));
        }
        if kind == 3 && len > 0 {
            value[0] = (*rng.pick(&[2u8, 3, 5, 6, 1]) << 4) | (value[0] & 0x0f);
        }
        body.extend_from_slice(&[
            rng.byte(),
            (rng.byte() & 0xc0) | (assoc << 4) | kind,
            0,
            len as u8,
        ]);
        body.extend_from_slice(&value);
    }
    let mut page = vec![0x00, 0x83];
    page.extend_from_slice(&(body.len() as u16).to_be_bytes());
    page.extend_from_slice(&body);
    if rng.chance(6) {
        page = mutate(rng, &page, &[2, 3, 7]);
    }
    page
}

fn printable_text(rng: &mut Rng, max: usize) -> String {
    (0..rng.index(max + 1))
        .map(|_| match rng.index(80) {
            0 => '/',
            1 => '\t',
            2 => '\u{e9}',
            3..=16 => ' ',
            _ => *rng.pick(&['A', 'z', '0', '-', '_', '(', ')']),
        })
        .collect()
}

/// Runs every page-0x83 consumer on `page`; returns whether a WWID came out.
fn exercise_page83(rng: &mut Rng, page: &[u8]) -> bool {
    if let Ok(iter) = vpd::designators(page) {
        let mut last_end = vpd::HEADER_LEN;
        for item in iter {
            match item {
                Ok(d) => {
                    assert!(d.offset >= last_end && d.offset + 4 + d.value.len() <= page.len());
                    assert!(d.association < 4 && d.kind < 16 && d.protocol < 16 && d.code_set < 16);
                    last_end = d.offset + 4 + d.value.len();
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
    let _ = vpd::target_port_group(page);
    let _ = vpd::relative_target_port(page);
    let mut ok = false;
    match identify::wwid_from_vpd83(page) {
        Ok(w) => {
            check_wwid(&w, &page);
            ok = true;
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match vendor::storageworks_wwid(page) {
        Ok(w) => {
            check_wwid(&w, &page);
            assert_eq!(w.len(), 32);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let (v, p) = *rng.pick(&[
        ("Linux", "scsi_debug"),
        ("COMPAQ", "HSV110 (C)COMPAQ"),
        ("QEMU", "QEMU HARDDISK"),
    ]);
    match identify::wwid_for(v, p, Some(page), rng.chance(2).then_some(SERIAL_80)) {
        Ok(w) => check_wwid(&w, &page),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    ok
}

fn exercise_page80(rng: &mut Rng, page: &[u8]) -> bool {
    if let Ok(serial) = vpd::unit_serial(page) {
        assert!(serial.len() + vpd::HEADER_LEN <= page.len());
    }
    let vendor_name = printable_text(rng, 10);
    let product = printable_text(rng, 18);
    let mut ok = false;
    match identify::wwid_from_vpd80(&vendor_name, &product, page) {
        Ok(w) => {
            check_wwid(&w, &(&vendor_name, &product, page));
            ok = true;
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match identify::wwid_for(&vendor_name, &product, None, Some(page)) {
        Ok(w) => check_wwid(&w, &page),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = vendor::method_for(&vendor_name, &product);
    ok
}

fn exercise_rtpg(rng: &mut Rng, buf: &[u8]) {
    for extended in [false, true] {
        let any = rng.next() as u16;
        let id = *rng.pick(&[1u16, 2, 0x100, any]);
        match rtpg::find_group(buf, extended, id) {
            Ok(Some(group)) => {
                assert_eq!(group.id, id);
                let _ = alua::priority(group.state, group.preferred);
                let _ = group.state.to_string();
            }
            Ok(None) => {}
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

fn exercise_inquiry(buf: &[u8]) {
    if let Ok(inq) = inquiry::parse(buf) {
        assert!(inq.qualifier < 8 && inq.device_type < 32 && inq.tpgs < 4);
        for s in [
            inq.vendor.as_str(),
            inq.product.as_str(),
            inq.revision.as_str(),
        ] {
            assert!(s.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        }
        let _ = vendor::method_for(&inq.vendor, &inq.product);
    }
}

fn exercise_sense(buf: &[u8]) {
    if let Some(s) = sense::parse(buf) {
        assert!(s.key < 16);
    }
}

#[test]
fn parsers_survive_random_and_mutated_input() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut wwids_83 = 0;
    let mut wwids_80 = 0;
    for round in 0..40_000 {
        // Pure noise, fed to everything.
        let noise = rng.bytes(if round % 16 == 0 { 600 } else { 64 });
        exercise_page83(&mut rng, &noise);
        exercise_page80(&mut rng, &noise);
        exercise_rtpg(&mut rng, &noise);
        exercise_inquiry(&noise);
        exercise_sense(&noise);

        // Noise with a plausible header, so it gets past the page-code check.
        let mut headed = noise;
        if headed.len() >= 4 {
            headed[1] = *rng.pick(&[0x83, 0x80]);
            exercise_page83(&mut rng, &headed);
            exercise_page80(&mut rng, &headed);
        }

        // Mutated fixtures.
        let seed83 = *rng.pick(&[SCSI_DEBUG_83, QEMU_83]);
        let page = mutate(&mut rng, seed83, LENGTH_BYTES_83);
        wwids_83 += usize::from(exercise_page83(&mut rng, &page));
        let page = mutate(&mut rng, SERIAL_80, &[2, 3]);
        wwids_80 += usize::from(exercise_page80(&mut rng, &page));
        let seed = *rng.pick(&[RTPG, RTPG_EXT]);
        let reply = mutate(&mut rng, seed, &[0, 1, 2, 3, 4, 11, 23, 27, 35]);
        exercise_rtpg(&mut rng, &reply);
        exercise_inquiry(&mutate(&mut rng, INQUIRY, &[0, 5]));
        let seed = *rng.pick(&[FIXED_SENSE, DESC_SENSE]);
        exercise_sense(&mutate(&mut rng, seed, &[0, 7]));

        // Structured random pages reach the formatting code more often.
        let page = random_page83(&mut rng);
        wwids_83 += usize::from(exercise_page83(&mut rng, &page));
    }
    // The run must actually reach the success paths, not just reject input.
    eprintln!("WWIDs accepted: {wwids_83} from page 0x83, {wwids_80} from page 0x80");
    assert!(wwids_83 > 10_000, "only {wwids_83} page 0x83 WWIDs");
    assert!(wwids_80 > 5_000, "only {wwids_80} page 0x80 WWIDs");
}

#[test]
fn sysfs_and_codes_never_panic() {
    let mut rng = Rng(42);
    for code in 0..=255u8 {
        let state = AccessState::from_code(code);
        let _ = state.to_string();
        for preferred in [false, true] {
            assert!(alua::priority(state, preferred) <= 130);
        }
    }
    for _ in 0..5_000 {
        let text = printable_text(&mut rng, 24);
        let _ = AccessState::from_sysfs(&text);
        let _ = alua::preferred_from_sysfs(&text);
    }
}

#[test]
fn fixtures_still_give_the_measured_wwids() {
    // Guards the fuzz seeds themselves: if these drift, the mutations above
    // stop exploring the neighbourhood of real devices.
    assert_eq!(
        identify::wwid_from_vpd83(SCSI_DEBUG_83).unwrap().as_str(),
        "1Linux_scsi_debug_2000"
    );
    assert_eq!(
        identify::wwid_from_vpd83(QEMU_83).unwrap().as_str(),
        "35000c50015ea71ac"
    );
    assert_eq!(
        identify::wwid_from_vpd80("HP", "MSA", SERIAL_80)
            .unwrap()
            .as_str(),
        "SHP_MSA_SN_42"
    );
    assert!(rtpg::find_group(RTPG, false, 2).unwrap().is_some());
    assert!(rtpg::find_group(RTPG_EXT, true, 0x100).unwrap().is_some());
}

/// VPD page 0x89 as libata builds it: IDENTIFY DEVICE at byte 60, with
/// serial (words 10-19), revision (23-26), model (27-46) as ATA strings
/// and a WWN in words 108-111.
fn ata_page89() -> Vec<u8> {
    let mut page = vec![0u8; 572];
    page[..4].copy_from_slice(&[0x00, 0x89, 0x02, 0x38]);
    page[56] = 0xec;
    let data = &mut page[60..];
    for (word, len, text) in [
        (10usize, 20usize, &b"     WD-WCC6Y1234567"[..]),
        (23, 8, b"01.01A01"),
        (27, 40, b"WDC WD10EZEX-08WN4A0"),
    ] {
        let mut padded = text.to_vec();
        padded.resize(len, b' ');
        for (i, pair) in padded.chunks(2).enumerate() {
            data[(word + i) * 2] = pair[1];
            data[(word + i) * 2 + 1] = pair[0];
        }
    }
    data[216..224].copy_from_slice(&[0x00, 0x50, 0x14, 0xee, 0x34, 0x12, 0x78, 0x56]);
    page
}

#[test]
fn ata_identify_data_never_panics_and_names_are_map_names() {
    use identify::ata::{identify_from_vpd89, AtaId};
    let seed = ata_page89();
    let id = AtaId::from_vpd89(&seed).expect("seed parses");
    assert_eq!(id.id_serial(), "WDC_WD10EZEX-08WN4A0_WD-WCC6Y1234567");
    assert_eq!(id.wwn, Some(0x5000_ee14_1234_5678));
    let mut rng = Rng(0x000a_7a1d_0089);
    let (mut named, mut refused) = (0, 0);
    let length_bytes = [2usize, 3, 60 + 20, 60 + 54, 60 + 93, 60 + 216];
    for round in 0..20_000 {
        let page = match round % 4 {
            0 => rng.bytes(700),
            1 => {
                // A page header over random IDENTIFY data of any length.
                let mut p = vec![0x00, 0x89, 0x02, 0x38];
                p.extend((0..rng.index(600)).map(|_| rng.byte()));
                p
            }
            _ => mutate(&mut rng, &seed, &length_bytes),
        };
        if let Some(data) = identify_from_vpd89(&page) {
            assert!(data.len() >= 94 && data.len() <= 512, "{} bytes", data.len());
        }
        let Some(id) = AtaId::from_vpd89(&page) else {
            continue;
        };
        for text in [&id.model, &id.serial, &id.revision] {
            assert!(!text.contains(|c: char| c.is_ascii_whitespace()), "{text:?} from {page:02x?}");
        }
        // Through the WWID rule, with nothing from page 0x83.
        let mut props = Vec::new();
        match identify::ata_wwid("ATA", &mut props, || Some(id.clone())) {
            Some(Ok(wwid)) => {
                check_wwid(&wwid, &page);
                named += 1;
            }
            Some(Err(_)) => refused += 1,
            None => assert!(id.id_serial().is_empty(), "unnamed {id:?}"),
        }
    }
    assert!(named > 5_000, "only {named} pages named a disk ({refused} refused)");
}
