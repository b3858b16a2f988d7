//! Deterministic fuzzing of the prioritizers (`mpath_boot::prio`).
//!
//! Every parser gets random buffers and mutations of valid answers; `run`
//! gets a transport that answers each command with random data, status,
//! host/driver status and sense (or fails outright). Nothing may panic,
//! every value must lie in the prioritizer's documented range, and only
//! the prioritizers multipath-tools can leave undefined may return `Err`.

mod fuzzing;

#[path = "fuzz/shared/probe_harness.rs"]
mod probe_harness;

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use fuzzing::Rng;
use mpath_boot::path::Hctl;
use mpath_boot::prio::{
    self, datacore, emc, hds, hp_sw, iet, ontap, random, rdac, weightedpath, PrioContext, Prioritizer,
};
use mpath_boot::transport::{Completion, ScsiTransport, TransportError};
// Valid answers, shared with the probe's fuzzing: EMC page 0xc0 (owned LUN
// on its default SP, priority 4), ontap's GVA answer and proxy page 0xc1.
use probe_harness::fixtures::{emc_page, gva_answer, proxy_page};

const ROUNDS: usize = 3000;

/// A valid RDAC page 0xc9: owner, preferred (priority 6).
fn rdac_page() -> Vec<u8> {
    let mut p = vec![0u8; 0x30];
    p[1] = 0xc9;
    p[3] = 0x2c;
    p[4..7].copy_from_slice(b"vac");
    p[8] = 1;
    p[9] = 1;
    p
}

/// Hitachi INQUIRY data, LDEV 00C6 on controller 0 (priority 1).
fn hds_inquiry() -> Vec<u8> {
    let mut d = vec![b' '; 64];
    d[44..48].copy_from_slice(b"00C6");
    d[49] = b'0';
    d
}

fn datacore_inquiry() -> Vec<u8> {
    let mut d = vec![b' '; 140];
    d[112..122].copy_from_slice(b"DCS-NODE-A");
    d
}

/// Flip, cut, extend or overwrite a few bytes of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut buf = seed.to_vec();
    for _ in 0..1 + rng.index(3) {
        match rng.index(4) {
            0 if !buf.is_empty() => {
                let i = rng.index(buf.len());
                buf[i] ^= 1 << rng.index(8);
            }
            1 => {
                let keep = rng.index(buf.len() + 1);
                buf.truncate(keep);
            }
            2 => {
                let extra = rng.bytes(32);
                buf.extend_from_slice(&extra);
            }
            _ if !buf.is_empty() => {
                let i = rng.index(buf.len());
                buf[i] = *rng.pick(&[0x00, 0xff, b'0', b'1', b'F', b'a', 0x0a, 0xc0, 0xc9]);
            }
            _ => {}
        }
    }
    buf
}

fn input(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    if rng.chance(3) {
        rng.bytes(300)
    } else {
        mutate(rng, seed)
    }
}

fn random_completion(rng: &mut Rng) -> Completion {
    let mut c = Completion::default();
    if rng.chance(2) {
        c.status = *rng.pick(&[0x00, 0x01, 0x02, 0x08, 0x18, 0x22, 0x28, 0x81, 0xff]);
        c.host_status = *rng.pick(&[0, 0, 1, 3, 7, 0xffff]);
        c.driver_status = *rng.pick(&[0, 0, 0x08, 0x10, 0x28, 0xffff]);
        let sense = if rng.chance(2) {
            let key = *rng.pick(&[1u8, 2, 6, 5, 0x0f]);
            let asc = *rng.pick(&[4u8, 0x29, 0, 0xff]);
            let ascq = *rng.pick(&[2u8, 0, 1]);
            if rng.chance(2) {
                let mut fixed = vec![0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0];
                fixed.truncate(rng.index(19));
                fixed
            } else {
                vec![0x72, key, asc, ascq]
            }
        } else {
            rng.bytes(64)
        };
        let _ = c.sense.extend_from_slice(&sense[..sense.len().min(64)]);
    }
    c
}

#[test]
fn parsers_survive_random_and_mutated_input() {
    let mut rng = Rng(0x5eed_0f9a_1020_2024);
    let seeds = [emc_page(), rdac_page(), hds_inquiry(), gva_answer(), proxy_page(), datacore_inquiry()];
    for _ in 0..ROUNDS {
        if let Ok(v) = emc::priority_from_page_c0(&input(&mut rng, &seeds[0])) {
            assert!(v <= emc::MAX_PRIORITY, "emc {v}");
        }
        if let Ok(v) = rdac::priority_from_page_c9(&input(&mut rng, &seeds[1])) {
            assert!(v <= rdac::MAX_PRIORITY, "rdac {v}");
        }
        if let Ok(v) = hds::priority_from_inquiry(&input(&mut rng, &seeds[2])) {
            assert!(v <= 1, "hds {v}");
        }
        let protocol = ontap::protocol_from_gva(&input(&mut rng, &seeds[3]));
        let proxy = ontap::is_proxy_from_page_c1(&input(&mut rng, &seeds[4]));
        if let Ok(protocol) = protocol {
            let v = ontap::priority(protocol, proxy);
            assert!((1..=4).contains(&v), "ontap {v}");
        }
        let v = datacore::priority_from_inquiry(&input(&mut rng, &seeds[5]), "NODE-A");
        assert!(v <= 1);
        match hp_sw::verdict(&random_completion(&mut rng)) {
            hp_sw::Verdict::Priority(v) => assert!([0, 2, 4].contains(&v), "hp_sw {v}"),
            hp_sw::Verdict::Retry => {}
        }
        assert!((1..=10).contains(&random::priority_from_seed(rng.next())));
    }
}

#[test]
fn mutations_of_valid_answers_sometimes_still_parse() {
    // Guards the fuzz inputs: with no valid answer reached, the range
    // checks above would test nothing.
    let mut rng = Rng(77);
    let ok = (0..ROUNDS)
        .filter(|_| emc::priority_from_page_c0(&mutate(&mut rng, &emc_page())).is_ok())
        .count();
    assert!(ok > ROUNDS / 20, "only {ok} mutated EMC pages parsed");
    assert_eq!(emc::priority_from_page_c0(&emc_page()), Ok(4));
    assert_eq!(rdac::priority_from_page_c9(&rdac_page()), Ok(6));
    assert_eq!(hds::priority_from_inquiry(&hds_inquiry()), Ok(1));
}

fn printable(rng: &mut Rng, max: usize) -> String {
    let len = rng.index(max + 1);
    (0..len)
        .map(|_| *rng.pick(b" \t=.:0123456789abcdefsdpreferdsiptmoun-()[]*^$\\"))
        .map(char::from)
        .collect()
}

#[test]
fn argument_parsers_never_panic() {
    let mut rng = Rng(0xa5a5_1234);
    let stems = ["preferredsds=", "timeout=", "preferredip=", "hbtl ", "devname ", "serial ", "wwn "];
    for _ in 0..ROUNDS {
        let args = format!("{}{}", rng.pick(&stems), printable(&mut rng, 40));
        if let Ok(a) = datacore::parse_args(&args) {
            assert!(a.preferred_sds.len() >= 2);
            assert!((500..=20000).contains(&a.timeout.as_millis()));
        }
        if let Ok(ip) = iet::parse_args(&args) {
            assert!(ip.len() > 7 && !ip.contains(' '));
        }
        let _ = weightedpath::c_atoi(&args);
        let name = printable(&mut rng, 30);
        let _ = iet::find_ipv4(name.as_bytes());
        let _ = iet::find_sd_name(name.as_bytes());
        let links = [iet::link(&name, Some(&printable(&mut rng, 20)))];
        assert!([10, 20].contains(&iet::priority_from_links("sdc", &args, &links)));
    }
}

/// Answers every command with random data and completion, or fails.
struct FuzzTransport {
    rng: RefCell<Rng>,
    seeds: Vec<Vec<u8>>,
}

impl ScsiTransport for FuzzTransport {
    fn execute(&self, _cdb: &[u8], data: &mut [u8], _timeout: Duration) -> Result<Completion, TransportError> {
        let mut rng = self.rng.borrow_mut();
        if rng.chance(8) {
            return Err(TransportError::Ioctl(std::io::Error::from_raw_os_error(libc::EIO)));
        }
        let seed = rng.pick(&self.seeds).clone();
        let answer = input(&mut rng, &seed);
        let n = answer.len().min(data.len());
        data[..n].copy_from_slice(&answer[..n]);
        let mut completion = random_completion(&mut rng);
        // Sometimes claim more than was written, as a confused HBA might.
        completion.transferred = if rng.chance(10) { n + rng.index(1000) } else { n };
        Ok(completion)
    }
}

#[test]
fn run_stays_in_range_whatever_the_device_says() {
    let transport = FuzzTransport {
        rng: RefCell::new(Rng(0xdead_beef_cafe)),
        seeds: vec![emc_page(), rdac_page(), hds_inquiry(), gva_answer(), proxy_page(), datacore_inquiry()],
    };
    let mut rng = Rng(42);
    let args_by_prio = |p: Prioritizer| match p {
        Prioritizer::Datacore => vec!["preferredsds=NODE-A", "timeout=600 preferredsds=DCS", "x"],
        Prioritizer::Iet => vec!["preferredip=192.168.1.1", ""],
        Prioritizer::WeightedPath => vec!["devname sd 5", "hbtl 1:.*:.*:.* -2", "wwn undef 7", "serial ("],
        _ => vec![""],
    };
    let mut nonzero = std::collections::HashSet::new();
    for round in 0..ROUNDS / 3 {
        for p in prio::ALL {
            let choices = args_by_prio(p);
            let args = choices[rng.index(choices.len())];
            let ctx = PrioContext {
                args,
                dev_name: "sdq",
                hctl: Hctl {
                    host: 1,
                    channel: 0,
                    target: rng.below(4) as u32,
                    lun: 0,
                },
                serial: "S1",
                wwn: weightedpath::WwnNames::not_fc(""),
                root: Path::new("/nonexistent-root-for-prio-fuzz"),
            };
            let timeout = Duration::from_millis(round as u64 % 3);
            let outcome = prio::run_explained(p, &transport, timeout, &ctx);
            match &outcome.priority {
                Ok(v) => {
                    if *v > 0 {
                        nonzero.insert(p);
                    }
                    assert!(p.value_range().contains(v), "{p} gave {v}");
                    assert!(*v <= i32::MAX as u32);
                }
                Err(e) => {
                    assert!(p.can_be_undefined(), "{p} returned Err({e})");
                    assert!(outcome.fallback.is_none());
                    assert!(!e.to_string().is_empty());
                }
            }
            assert!(prio::run(p, &transport, timeout, &ctx).is_ok() || p.can_be_undefined());
        }
    }
    // The random answers must reach real values, or the checks above
    // only ever saw failures.
    for p in prio::ALL {
        assert!(nonzero.contains(&p), "{p} never gave a non-zero value");
    }
}
