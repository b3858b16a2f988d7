//! Deterministic, dependency-free fuzzing of a whole probe
//! (`mpath_boot::probe::probe`): the always-run counterpart of the
//! cargo-fuzz target `probe` (`tests/fuzz`), sharing its harness
//! (`tests/fuzz/shared/probe_harness.rs`).
//!
//! A fixed-seed generator builds scenarios (probe options, cached sysfs
//! attributes, any checker and prioritizer) and answers every command the
//! probe sends with a device-like reply (INQUIRY pages, RTPG, READ, GVA)
//! that is often damaged: mutated bytes, odd transfer lengths, SCSI,
//! host and driver status, sense data, or a failed pass-through. Every
//! probe must return, within the command budget, sending only read-only
//! commands, with an outcome consistent with what it was told. The fuzz
//! target's byte-stream decoder and its seeds are checked here too.

mod fuzzing;

#[path = "fuzz/shared/probe_harness.rs"]
mod probe_harness;

use std::cell::RefCell;
use std::time::Duration;

use fuzzing::Rng;
use mpath_boot::path::PathState;
use mpath_boot::plan::PrioPlan;
use mpath_boot::probe::{Attr, ProbeOptions, Probed};
use mpath_boot::transport::ScsiTransport;
use probe_harness::{
    candidate, checker_names, fixtures, prio_plans, Encoder, FuzzAttributes, FuzzTransport,
    PlannerChoice, Reply, ReplySource, RtpgWithinBuffer, Scenario, Stream, StreamSource,
    Transferred, BLOCK_SIZES, ERRNOS, INQUIRY, MAINTENANCE_IN, MAX_COMMANDS, PRIO_ARGS, TUR,
};

const ROUNDS: usize = 10_000;

/// Replies to REPORT TARGET PORT GROUPS may report more bytes than the
/// buffer held: the trait allows any count, and `rtpg_priority` clamps it
/// (it did not, and panicked: the cargo-fuzz target `probe` found it).
const RTPG_COUNT_MAY_EXCEED_BUFFER: bool = true;

/// Flip, cut, extend or overwrite a few bytes of `seed`.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut buf = seed.to_vec();
    for _ in 0..1 + rng.index(3) {
        match rng.index(5) {
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
            3 if buf.len() > 4 => {
                // Length fields: the header's, or a designator's.
                let at = *rng.pick(&[2, 3, 7, 35, 39, 47]);
                let any = rng.byte();
                if let Some(b) = buf.get_mut(at) {
                    *b = *rng.pick(&[0, 1, 4, 0x7f, 0xff, any]);
                }
            }
            _ if !buf.is_empty() => {
                let i = rng.index(buf.len());
                buf[i] = *rng.pick(&[0x00, 0xff, b'0', b'1', b' ', b'/', 0x80, 0x83, 0xc0, 0xc9]);
            }
            _ => {}
        }
    }
    buf
}

fn standard_inquiry(rng: &mut Rng) -> Vec<u8> {
    let tpgs = rng.below(4) as u8;
    match rng.index(9) {
        0 => fixtures::hds_inquiry(),
        1 => fixtures::datacore_inquiry(),
        2 => fixtures::vendor_inquiry(b"DGC     ", b"RAID 5          ", tpgs),
        3 => fixtures::vendor_inquiry(b"NETAPP  ", b"LUN C-Mode      ", tpgs),
        4 => fixtures::vendor_inquiry(b"HP      ", b"MSA1000 VOLUME  ", 0),
        5 => fixtures::vendor_inquiry(b"IBM     ", b"1722-600        ", tpgs),
        6 if rng.chance(3) => {
            fixtures::standard_inquiry(tpgs, *rng.pick(&[0x05, 0x01, 0x0c, 0x1f]))
        }
        _ => fixtures::standard_inquiry(tpgs, 0),
    }
}

/// A device's answer to `cdb`, before any damage.
fn device_answer(rng: &mut Rng, cdb: &[u8]) -> Vec<u8> {
    match cdb {
        [INQUIRY, evpd, page, ..] if evpd & 1 == 1 => match page {
            0x83 => match rng.index(6) {
                0 => fixtures::qemu_page83(),
                1 => fixtures::big_page83(256 + rng.index(5000)),
                2 => vec![0x00, 0x83, 0x00, 0x00],
                _ => fixtures::page83(),
            },
            0x80 => {
                let serial = *rng.pick(&[&b"SER123"[..], b"  SN 42 ", b"", b"\xff\xfe", b"/dev/x"]);
                fixtures::page80(serial)
            }
            0xc9 => fixtures::rdac_page(),
            0xc0 => fixtures::emc_page(),
            0xc1 => fixtures::proxy_page(),
            0x00 => vec![0x00, 0x00, 0x00, 0x04, 0x00, 0x80, 0x83, 0xc9],
            _ => rng.bytes(64),
        },
        [INQUIRY, ..] => standard_inquiry(rng),
        [MAINTENANCE_IN, ..] => {
            let group = *rng.pick(&[1, 1, 1, 2, 0x100]);
            let any = rng.byte();
            let state = *rng.pick(&[0, 1, 2, 3, 4, 0x0e, 0x0f, any]) & 0x8f;
            if rng.chance(4) {
                fixtures::rtpg_extended(group, state)
            } else {
                fixtures::rtpg(group, state & 0x0f, state & 0x80 != 0 || rng.chance(2))
            }
        }
        [0x28 | 0x88, ..] => vec![0u8; 4096],
        [0xc0, ..] => fixtures::gva_answer(),
        _ => Vec::new(),
    }
}

fn random_sense(rng: &mut Rng) -> Vec<u8> {
    let any = (rng.byte(), rng.byte(), rng.byte());
    let (key, asc, ascq) = *rng.pick(&[
        (0x06, 0x29, 0x00),
        (0x02, 0x04, 0x0b),
        (0x02, 0x04, 0x02),
        (0x02, 0x04, 0x01),
        (0x05, 0x20, 0x00),
        (0x05, 0x24, 0x00),
        (0x0b, 0x00, 0x00),
        (0x06, 0x2a, 0x06),
        any,
    ]);
    let mut sense = match rng.index(4) {
        0 | 1 => fixtures_sense(key, asc, ascq),
        2 => vec![*rng.pick(&[0x72, 0x73]), key, asc, ascq, 0, 0, 0, 0],
        _ => rng.bytes(80),
    };
    if rng.chance(4) {
        let keep = rng.index(sense.len() + 1);
        sense.truncate(keep);
    }
    sense
}

fn fixtures_sense(key: u8, asc: u8, ascq: u8) -> Vec<u8> {
    probe_harness::fixed_sense(key, asc, ascq)
}

/// Answers like a device, damaged now and then; `calm` scenarios damage
/// less so that probes reach the checkers and prioritizers.
struct RngSource {
    rng: RefCell<Rng>,
    calm: bool,
}

impl ReplySource for RngSource {
    fn reply(&self, cdb: &[u8], buffer: usize) -> Reply {
        let mut rng = self.rng.borrow_mut();
        let rng = &mut *rng;
        let damage = if self.calm { 12 } else { 3 };
        if rng.chance(damage * 4) {
            let errno = *rng.pick(&ERRNOS);
            return if rng.chance(5) {
                Reply::Open(errno)
            } else {
                Reply::Ioctl(errno)
            };
        }
        if cdb.first() == Some(&TUR) && !rng.chance(3) {
            return match rng.index(8) {
                0 => Reply::check_condition(0x06, 0x29, 0x00),
                1 => Reply::check_condition(0x02, 0x04, 0x0b),
                2 => Reply::check_condition(0x02, 0x04, 0x02),
                3 => Reply::Done {
                    status: *rng.pick(&[0x08, 0x18, 0x28]),
                    host_status: 0,
                    driver_status: 0,
                    sense: Vec::new(),
                    data: Vec::new(),
                    transferred: Transferred::Count(0),
                },
                4 => Reply::Done {
                    status: 0,
                    host_status: *rng.pick(&[0x01, 0x03, 0x0e, 0x0f]),
                    driver_status: 0,
                    sense: Vec::new(),
                    data: Vec::new(),
                    transferred: Transferred::Count(0),
                },
                _ => Reply::good(&[]),
            };
        }
        let mut data = device_answer(rng, cdb);
        if rng.chance(damage) {
            data = if rng.chance(4) {
                rng.bytes(300)
            } else {
                mutate(rng, &data)
            };
        }
        let (mut status, mut host_status, mut driver_status, mut sense) = (0, 0, 0, Vec::new());
        if rng.chance(damage) {
            let any = rng.byte();
            status = *rng.pick(&[0x00, 0x01, 0x02, 0x02, 0x08, 0x18, 0x28, 0x81, any]);
            host_status = *rng.pick(&[0, 0, 0, 0x01, 0x03, 0x07, 0x0e, 0xffff]);
            driver_status = *rng.pick(&[0, 0, 0x08, 0x06, 0x10, 0xffff]);
            if rng.chance(2) {
                sense = random_sense(rng);
            }
        }
        let may_exceed = RTPG_COUNT_MAY_EXCEED_BUFFER || cdb.first() != Some(&MAINTENANCE_IN);
        let transferred = if rng.chance(damage) {
            match rng.index(if may_exceed { 4 } else { 2 }) {
                0 => Transferred::Buffer,
                1 => Transferred::Count(rng.index(buffer + 1)),
                2 => Transferred::Count(rng.index(70000)),
                _ => Transferred::Beyond(1 + rng.index(70000)),
            }
        } else {
            Transferred::Written
        };
        Reply::Done {
            status,
            host_status,
            driver_status,
            sense,
            data,
            transferred,
        }
    }
}

fn random_text(rng: &mut Rng, max: usize) -> String {
    let bytes: Vec<u8> = (0..rng.index(max + 1))
        .map(|_| *rng.pick(b"abcsd0123:. *()[]\\^$|?+-=/\t\n\xc3\xa9"))
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn random_attrs(rng: &mut Rng) -> FuzzAttributes {
    let mut attrs = FuzzAttributes::default();
    if rng.chance(2) {
        return attrs;
    }
    if rng.chance(2) {
        let d = standard_inquiry(rng);
        attrs = attrs.with(
            Attr::Inquiry,
            &if rng.chance(4) { mutate(rng, &d) } else { d },
        );
    }
    if rng.chance(2) {
        let p = if rng.chance(3) {
            fixtures::qemu_page83()
        } else {
            fixtures::page83()
        };
        attrs = attrs.with(
            Attr::Vpd83,
            &if rng.chance(4) { mutate(rng, &p) } else { p },
        );
    }
    if rng.chance(4) {
        attrs = attrs.with(Attr::Vpd80, &mutate(rng, &fixtures::page80(b"SER123")));
    }
    if rng.chance(3) {
        let any = random_text(rng, 20);
        let state = *rng.pick(&[
            "running\n",
            "running\n",
            "offline\n",
            "transport-offline\n",
            "blocked\n",
            &any,
        ]);
        attrs = attrs.with(Attr::State, state.as_bytes());
    }
    if rng.chance(3) {
        let any = random_text(rng, 24);
        let state = *rng.pick(&[
            "active/optimized\n",
            "active/non-optimized\n",
            "standby\n",
            "unavailable\n",
            "lba-dependent\n",
            "offline\n",
            "transitioning\n",
            &any,
        ]);
        attrs = attrs.with(Attr::AccessState, state.as_bytes());
    }
    if rng.chance(3) {
        let any = random_text(rng, 4);
        attrs = attrs.with(
            Attr::PreferredPath,
            rng.pick(&["0\n", "1\n", &any]).as_bytes(),
        );
    }
    attrs
}

fn random_planner(rng: &mut Rng) -> PlannerChoice {
    if rng.chance(3) {
        return PlannerChoice::Defaults;
    }
    let args = if rng.chance(4) {
        random_text(rng, 40)
    } else {
        (*rng.pick(&PRIO_ARGS)).to_owned()
    };
    PlannerChoice::Fixed {
        vpd_c9: rng.chance(3),
        checker: (*rng.pick(&checker_names())).to_owned(),
        prio: rng.pick(&prio_plans(&args)).clone(),
    }
}

fn random_scenario(rng: &mut Rng) -> Scenario {
    let block_size = if rng.chance(8) {
        *rng.pick(&BLOCK_SIZES)
    } else {
        *rng.pick(&[512, 4096])
    };
    Scenario {
        candidate: candidate(block_size, rng.chance(4)),
        options: ProbeOptions {
            timeout: Duration::from_secs(*rng.pick(&[0, 1, 5, 30])),
            tur_attempts: if rng.chance(40) {
                rng.byte()
            } else {
                *rng.pick(&[0, 1, 3, 3, 3, 5])
            },
            serial: rng.chance(3),
        },
        attrs: random_attrs(rng),
        planner: random_planner(rng),
        open_error: rng.chance(40).then(|| *rng.pick(&ERRNOS)),
    }
}

/// What the rounds reached, so a generator that stops covering an
/// outcome fails the test instead of passing quietly.
#[derive(Default, Debug)]
struct Reached {
    up: usize,
    ghost: usize,
    faulty: usize,
    alua: usize,
    checkers: std::collections::BTreeSet<String>,
    prioritizers: std::collections::BTreeSet<String>,
    down: usize,
    down_with_wwid: usize,
    skipped: usize,
    rtpg_sent: usize,
    vpd_asked_again: usize,
    max_commands: usize,
}

#[test]
fn random_device_answers_never_break_a_probe() {
    let mut rng = Rng(0x5eed_0091_0001);
    let mut reached = Reached::default();
    for round in 0..ROUNDS {
        let scenario = random_scenario(&mut rng);
        let source = RngSource {
            rng: RefCell::new(Rng(rng.next() | 1)),
            calm: round % 2 == 0,
        };
        let (outcome, sent) = probe_harness::run(&scenario, source);
        reached.max_commands = reached.max_commands.max(sent.len());
        reached.rtpg_sent += usize::from(sent.iter().any(|s| s.cdb[0] == MAINTENANCE_IN));
        let vpd83_asks = sent
            .iter()
            .filter(|s| s.cdb[..3] == [INQUIRY, 1, 0x83])
            .count();
        reached.vpd_asked_again += usize::from(vpd83_asks >= 2);
        match outcome {
            Probed::Path(path) => {
                match path.state {
                    PathState::Ghost => reached.ghost += 1,
                    PathState::Faulty => reached.faulty += 1,
                    _ => reached.up += 1,
                }
                reached.alua += usize::from(path.tpgs);
                // The checker the plan chose for this usable path.
                let checker = match &scenario.planner {
                    PlannerChoice::Fixed { checker, .. } => checker.clone(),
                    PlannerChoice::Defaults => "tur".to_owned(),
                };
                reached.checkers.insert(checker);
                if let PlannerChoice::Fixed {
                    prio: PrioPlan::Device { prioritizer, .. },
                    ..
                } = &scenario.planner
                {
                    reached.prioritizers.insert(prioritizer.name().to_owned());
                }
            }
            Probed::Down(_, wwid) => {
                reached.down += 1;
                reached.down_with_wwid += usize::from(wwid.is_some());
            }
            Probed::Skipped(_) => reached.skipped += 1,
        }
    }
    let r = &reached;
    assert!(
        r.up > ROUNDS / 10 && r.ghost > 0 && r.faulty > 0 && r.alua > 0,
        "{r:?}"
    );
    assert!(r.down > 0 && r.down_with_wwid > 0 && r.skipped > 0, "{r:?}");
    assert!(r.rtpg_sent > 0 && r.vpd_asked_again > 0, "{r:?}");
    assert_eq!(
        r.checkers.len(),
        checker_names().len(),
        "checkers reaching a usable path: {r:?}"
    );
    assert_eq!(r.prioritizers.len(), mpath_boot::prio::ALL.len(), "{r:?}");
    assert!(r.max_commands < MAX_COMMANDS);
}

/// The seeds of the fuzz target: a scenario, the replies in command
/// order, and what probing them must give.
struct Seed {
    name: &'static str,
    scenario: Scenario,
    replies: Vec<Reply>,
}

fn fixed(checker: &str, prio: PrioPlan, vpd_c9: bool) -> PlannerChoice {
    PlannerChoice::Fixed {
        vpd_c9,
        checker: checker.to_owned(),
        prio,
    }
}

fn device(prioritizer: &str, args: &str) -> PrioPlan {
    mpath_boot::plan::prio_plan(prioritizer, args)
}

fn seeds() -> Vec<Seed> {
    let good = Reply::good;
    let alua_std = fixtures::standard_inquiry(1, 0);
    let plain_std = fixtures::standard_inquiry(0, 0);
    let cached = FuzzAttributes::default()
        .with(Attr::Inquiry, &alua_std)
        .with(Attr::Vpd83, &fixtures::page83())
        .with(Attr::State, b"running\n")
        .with(Attr::AccessState, b"active/optimized\n")
        .with(Attr::PreferredPath, b"0\n");
    vec![
        Seed {
            name: "alua-no-sysfs",
            scenario: Scenario::default(),
            replies: vec![
                good(&[]),
                good(&alua_std),
                good(&fixtures::page83()),
                good(&fixtures::rtpg(1, 1, true)),
            ],
        },
        Seed {
            name: "alua-sysfs-cached",
            scenario: Scenario {
                attrs: cached.clone(),
                ..Scenario::default()
            },
            replies: vec![good(&[]), good(&fixtures::rtpg(1, 1, false))],
        },
        Seed {
            name: "offline-with-cached-wwid",
            scenario: Scenario {
                attrs: cached.with(Attr::State, b"offline\n"),
                ..Scenario::default()
            },
            replies: vec![],
        },
        Seed {
            name: "unit-attention-then-ghost-page80",
            scenario: Scenario {
                options: ProbeOptions {
                    serial: true,
                    ..ProbeOptions::default()
                },
                ..Scenario::default()
            },
            replies: vec![
                Reply::check_condition(0x06, 0x29, 0x00),
                Reply::check_condition(0x02, 0x04, 0x0b),
                good(&plain_std),
                good(&[0x00, 0x83, 0x00, 0x00]),
                good(&fixtures::page80(b"SER123")),
                good(&fixtures::page80(b"SER123")),
            ],
        },
        Seed {
            name: "large-page83-asked-again",
            scenario: Scenario::default(),
            replies: vec![
                good(&[]),
                good(&plain_std),
                good(&fixtures::big_page83(600)),
                good(&fixtures::big_page83(600)),
            ],
        },
        Seed {
            name: "rdac-c9",
            scenario: Scenario {
                planner: fixed("rdac", device("rdac", ""), true),
                ..Scenario::default()
            },
            replies: vec![
                good(&[]),
                good(&fixtures::vendor_inquiry(
                    b"IBM     ",
                    b"1722-600        ",
                    0,
                )),
                good(&fixtures::page83()),
                good(&fixtures::rdac_page()),
                good(&fixtures::rdac_page()),
                good(&fixtures::rdac_page()),
            ],
        },
        Seed {
            name: "emc-clariion",
            scenario: Scenario {
                planner: fixed("emc_clariion", device("emc", ""), false),
                ..Scenario::default()
            },
            replies: vec![
                good(&[]),
                good(&fixtures::vendor_inquiry(
                    b"DGC     ",
                    b"RAID 5          ",
                    0,
                )),
                good(&fixtures::page83()),
                good(&fixtures::emc_page()),
                good(&vec![0u8; 512]),
                good(&fixtures::emc_page()),
            ],
        },
        Seed {
            name: "hp-sw-passive-port",
            scenario: Scenario {
                planner: fixed("hp_sw", device("hp_sw", ""), false),
                ..Scenario::default()
            },
            replies: vec![
                Reply::check_condition(0x02, 0x04, 0x02),
                good(&fixtures::vendor_inquiry(
                    b"HP      ",
                    b"MSA1000 VOLUME  ",
                    0,
                )),
                good(&fixtures::page83()),
                // TEST UNIT READY failed: does it answer INQUIRY now?
                good(&fixtures::vendor_inquiry(
                    b"HP      ",
                    b"MSA1000 VOLUME  ",
                    0,
                )),
                // hp_sw: page 0x80, then TEST UNIT READY (NOT READY: ghost).
                good(&fixtures::page80(b"SER123")),
                Reply::check_condition(0x02, 0x04, 0x02),
                // The hp_sw prioritizer's TEST UNIT READY.
                Reply::check_condition(0x02, 0x04, 0x02),
            ],
        },
        Seed {
            name: "ontap-gva",
            scenario: Scenario {
                planner: fixed("tur", device("ontap", ""), false),
                ..Scenario::default()
            },
            replies: vec![
                good(&[]),
                good(&fixtures::vendor_inquiry(
                    b"NETAPP  ",
                    b"LUN C-Mode      ",
                    0,
                )),
                good(&fixtures::page83()),
                good(&fixtures::gva_answer()),
            ],
        },
        Seed {
            name: "readsector0-4k-weightedpath",
            scenario: Scenario {
                candidate: candidate(4096, true),
                planner: fixed(
                    "readsector0",
                    device("weightedpath", "hbtl 1:0:2:3 7"),
                    false,
                ),
                ..Scenario::default()
            },
            replies: vec![
                good(&[]),
                good(&plain_std),
                good(&fixtures::qemu_page83()),
                Reply::check_condition(0x06, 0x29, 0x00),
                Reply::Done {
                    status: 0,
                    host_status: 0,
                    driver_status: 0,
                    sense: Vec::new(),
                    data: Vec::new(),
                    transferred: Transferred::Buffer,
                },
            ],
        },
        Seed {
            name: "datacore-preferred-node",
            scenario: Scenario {
                planner: fixed(
                    "tur",
                    device("datacore", "preferredsds=DCS-NODE timeout=0x3e8"),
                    false,
                ),
                ..Scenario::default()
            },
            replies: vec![
                good(&[]),
                good(&fixtures::datacore_inquiry()),
                good(&fixtures::page83()),
                good(&fixtures::datacore_inquiry()),
            ],
        },
        Seed {
            name: "hds-directio",
            scenario: Scenario {
                planner: fixed("directio", device("hds", ""), false),
                ..Scenario::default()
            },
            replies: vec![
                good(&[]),
                good(&fixtures::hds_inquiry()),
                good(&fixtures::page83()),
                good(&vec![0u8; 512]),
                good(&fixtures::hds_inquiry()),
            ],
        },
    ]
}

fn encode(seed: &Seed) -> Vec<u8> {
    let mut e = Encoder::default().scenario(&seed.scenario);
    for reply in &seed.replies {
        e = e.reply(reply);
    }
    e.0
}

/// The seed files are the encodings of [`seeds`]: rewrite them with
/// `MPATH_BLESS_PROBE_SEEDS=1` after changing the format or the seeds.
#[test]
fn fuzz_seeds_are_the_encoded_scenarios_and_probe_as_expected() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds/probe");
    let bless = std::env::var_os("MPATH_BLESS_PROBE_SEEDS").is_some();
    for seed in seeds() {
        let bytes = encode(&seed);
        let file = dir.join(seed.name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&file, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            on_disk, bytes,
            "{} is stale: rerun with MPATH_BLESS_PROBE_SEEDS=1",
            seed.name
        );

        // The stream gives back the scenario and the replies.
        let stream = Stream::new(&bytes);
        assert_eq!(stream.scenario(), seed.scenario, "{}", seed.name);
        let decoded: Vec<Reply> = seed.replies.iter().map(|_| stream.reply()).collect();
        assert_eq!(decoded, seed.replies, "{}", seed.name);
        assert!(stream.is_empty(), "{}", seed.name);

        // Each seed reaches what it was written for.
        let stream = Stream::new(&bytes);
        let scenario = stream.scenario();
        let (outcome, sent) = probe_harness::run(&scenario, StreamSource(stream));
        let path = match (&outcome, seed.name) {
            (Probed::Down(_, wwid), "offline-with-cached-wwid") => {
                assert_eq!(
                    wwid.as_ref().map(|w| w.as_str()),
                    Some("1Linux_scsi_debug_2000")
                );
                assert!(sent.is_empty());
                continue;
            }
            (Probed::Path(path), _) => path,
            (other, name) => panic!("{name}: {other:?} after {sent:?}"),
        };
        assert_eq!(
            sent.len(),
            seed.replies.len(),
            "{}: every reply used",
            seed.name
        );
        match seed.name {
            "alua-no-sysfs" => {
                assert_eq!(path.wwid.as_str(), "1Linux_scsi_debug_2000");
                assert_eq!(path.priority, 90);
            }
            "alua-sysfs-cached" => assert_eq!(path.priority, 10),
            "unit-attention-then-ghost-page80" => {
                assert_eq!(path.state, PathState::Ghost);
                assert_eq!(path.wwid.as_str(), "SLinux_scsi_debug_SER123");
                assert_eq!(path.serial.as_str(), "SER123");
            }
            "hp-sw-passive-port" => assert_eq!(path.state, PathState::Ghost),
            // The server name contains the preferred one.
            "datacore-preferred-node" => assert_eq!(path.priority, 1),
            _ => assert_eq!(path.state, PathState::Up, "{}", seed.name),
        }
    }
}

#[test]
fn fuzz_stream_inputs_never_break_a_probe() {
    let mut rng = Rng(0x5eed_0091_0002);
    let seeds: Vec<Vec<u8>> = seeds().iter().map(encode).collect();
    for _ in 0..ROUNDS / 2 {
        let input = if rng.chance(4) {
            rng.bytes(600)
        } else {
            let seed = rng.pick(&seeds).clone();
            let mut input = mutate(&mut rng, &seed);
            // Mutate past the header too, where the replies are.
            for _ in 0..rng.index(6) {
                if !input.is_empty() {
                    let i = rng.index(input.len());
                    input[i] = rng.byte();
                }
            }
            input
        };
        let stream = Stream::new(&input);
        let scenario = stream.scenario();
        if RTPG_COUNT_MAY_EXCEED_BUFFER {
            let _ = probe_harness::run(&scenario, StreamSource(stream));
        } else {
            let _ = probe_harness::run(&scenario, RtpgWithinBuffer(StreamSource(stream)));
        }
    }
}

/// The harness's loop detector: the command after the budget fails.
#[test]
#[should_panic(expected = "more than 1000 commands")]
fn a_probe_sending_without_end_is_caught() {
    struct Busy;
    impl ReplySource for Busy {
        fn reply(&self, _: &[u8], _: usize) -> Reply {
            Reply::check_condition(0x06, 0x29, 0x00)
        }
    }
    let t = FuzzTransport::new(Busy);
    for _ in 0..=MAX_COMMANDS {
        let _ = t.execute(&[TUR, 0, 0, 0, 0, 0], &mut [], Duration::from_secs(1));
    }
}

/// The harness's read-only check refuses a write.
#[test]
#[should_panic(expected = "not a read-only command")]
fn a_write_command_is_caught() {
    let t = FuzzTransport::new(RngSource {
        rng: RefCell::new(Rng(1)),
        calm: true,
    });
    let _ = t.execute(
        &[0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0],
        &mut [0u8; 512],
        Duration::from_secs(1),
    );
}

/// An RTPG completion that reports more bytes than the buffer holds (the
/// trait allows it; the checkers and prioritizers clamp the count) must not
/// break the probe (`rtpg_priority` once sliced `buf[..completion.transferred]`,
/// index 4097 of 4096).
#[test]
fn an_rtpg_count_beyond_the_buffer_is_not_trusted() {
    let replies = [
        Reply::good(&[]),
        Reply::good(&fixtures::standard_inquiry(1, 0)),
        Reply::good(&fixtures::page83()),
        Reply::Done {
            status: 0,
            host_status: 0,
            driver_status: 0,
            sense: Vec::new(),
            data: fixtures::rtpg(1, 1, true),
            transferred: Transferred::Beyond(1),
        },
    ];
    let mut e = Encoder::default().scenario(&Scenario::default());
    for reply in &replies {
        e = e.reply(reply);
    }
    let stream = Stream::new(&e.0);
    let scenario = stream.scenario();
    let (outcome, sent) = probe_harness::run(&scenario, StreamSource(stream));
    assert_eq!(sent.len(), 4);
    assert!(
        matches!(outcome, Probed::Path(ref p) if p.wwid.as_str() == "1Linux_scsi_debug_2000"),
        "{outcome:?}"
    );
}
