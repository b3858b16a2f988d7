//! The harness of whole-probe fuzzing, shared by the cargo-fuzz target
//! `probe` (`tests/fuzz/fuzz_targets/probe.rs`) and the always-run
//! `tests/probe_fuzz.rs` (both include this file with `#[path]`).
//!
//! [`FuzzTransport`] answers every command `probe` and the checkers and
//! prioritizers it runs send (TEST UNIT READY, INQUIRY and its VPD pages,
//! REPORT TARGET PORT GROUPS, READ, GVA) with a chosen [`Reply`]: data,
//! SCSI status, host and driver status, sense bytes, the reported transfer
//! length, or a failed pass-through. [`FuzzAttributes`] stands for the
//! sysfs cache and [`FuzzPlanner`] for a configuration that may pick any
//! checker and prioritizer. [`Stream`] decodes a scenario and its replies
//! from a byte string (the fuzz target's input); [`Encoder`] writes that
//! format (seeds). [`check`] holds the properties of one probe.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::io;
use std::sync::Mutex;
use std::time::Duration;

use mpath_boot::checker::Checker;
use mpath_boot::identify::WWID_MAX;
use mpath_boot::path::{dev_name, DevNum, Hctl, PathState};
use mpath_boot::plan::{Defaults, Identity, PathPlan, Planner, PrioPlan};
use mpath_boot::prio;
use mpath_boot::probe::{Attr, Candidate, DeviceAttributes, ProbeOptions, Probed, SgNode};
use mpath_boot::transport::{Completion, ScsiTransport, TransportError};

/// More commands than this for one probe is a loop: the transport fails
/// the run at the next one. A real probe sends a handful (TUR with its
/// retries, three or four INQUIRYs, RTPG, a checker's and a prioritizer's
/// few commands).
pub const MAX_COMMANDS: usize = 1000;

/// Opcodes probing may send: all read-only. TEST UNIT READY, INQUIRY,
/// MAINTENANCE IN (REPORT TARGET PORT GROUPS), READ(10), READ(16), and
/// ontap's GET VOLUME ATTRIBUTES (0xc0).
pub const READ_ONLY_OPCODES: [u8; 6] = [0x00, 0x12, 0xa3, 0x28, 0x88, 0xc0];

pub const TUR: u8 = 0x00;
pub const INQUIRY: u8 = 0x12;
pub const MAINTENANCE_IN: u8 = 0xa3;

/// Every cached attribute, in the order the stream format gives them.
pub const ATTRS: [Attr; 6] = [
    Attr::Inquiry,
    Attr::Vpd83,
    Attr::Vpd80,
    Attr::State,
    Attr::AccessState,
    Attr::PreferredPath,
];

/// errno values a failed pass-through reports (EIO, ENOMEM, EINTR,
/// ENOTTY, ENODEV, EINVAL, ENXIO, ETIMEDOUT), by number so the fuzz crate
/// needs no libc.
pub const ERRNOS: [i32; 8] = [5, 12, 4, 25, 19, 22, 6, 110];

/// Logical block sizes a candidate may have (valid and not).
pub const BLOCK_SIZES: [u32; 10] = [512, 4096, 1024, 2048, 65536, 0, 513, 131072, 256, u32::MAX];

/// Prioritizer arguments worth trying besides fuzzed ones.
pub const PRIO_ARGS: [&str; 9] = [
    "",
    "hbtl 0:0:0:0 5 1:.:.:. 2",
    "devname sd[a-c] 10 sde 20",
    "serial SER.* 7",
    "wwn .*:.* 3",
    "preferredip=192.168.10.5",
    "hbtl ( 3",
    "devname .* -1",
    "preferredsds=DCS-NODE timeout=0x3e8",
];

/// What the reported transfer length is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transferred {
    /// The data bytes written into the buffer.
    Written,
    /// The whole buffer (as SG_IO reports with no residual count).
    Buffer,
    /// This count, whatever the buffer length (may exceed it).
    Count(usize),
    /// The buffer length plus this (at least 1): more than was asked for.
    Beyond(usize),
}

/// One answer to one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The device node could not be opened (errno).
    Open(i32),
    /// The pass-through ioctl failed (errno).
    Ioctl(i32),
    /// The device answered.
    Done {
        status: u8,
        host_status: u16,
        driver_status: u16,
        /// Kept to the 64 bytes a completion holds.
        sense: Vec<u8>,
        /// Copied into the buffer as far as it fits.
        data: Vec<u8>,
        transferred: Transferred,
    },
}

impl Reply {
    /// GOOD with `data`.
    pub fn good(data: &[u8]) -> Reply {
        Reply::Done {
            status: 0,
            host_status: 0,
            driver_status: 0,
            sense: Vec::new(),
            data: data.to_vec(),
            transferred: Transferred::Written,
        }
    }

    /// CHECK CONDITION with fixed-format sense.
    pub fn check_condition(key: u8, asc: u8, ascq: u8) -> Reply {
        Reply::Done {
            status: 0x02,
            host_status: 0,
            driver_status: 0x08,
            sense: fixed_sense(key, asc, ascq),
            data: Vec::new(),
            transferred: Transferred::Count(0),
        }
    }
}

pub fn fixed_sense(key: u8, asc: u8, ascq: u8) -> Vec<u8> {
    let mut s = vec![0u8; 18];
    s[0] = 0x70;
    s[2] = key;
    s[7] = 10;
    s[12] = asc;
    s[13] = ascq;
    s
}

/// Where replies come from: the fuzz input, or a seeded generator.
pub trait ReplySource {
    fn reply(&self, cdb: &[u8], buffer: usize) -> Reply;
}

/// One command as sent.
#[derive(Clone, Debug)]
pub struct Sent {
    pub cdb: Vec<u8>,
    pub buffer: usize,
    /// The pass-through failed (no completion).
    pub failed: bool,
}

/// Answers every command from `source`, checks it is read-only and
/// bounded, and records it.
pub struct FuzzTransport<S> {
    pub source: S,
    pub sent: RefCell<Vec<Sent>>,
}

impl<S: ReplySource> FuzzTransport<S> {
    pub fn new(source: S) -> FuzzTransport<S> {
        FuzzTransport {
            source,
            sent: RefCell::new(Vec::new()),
        }
    }
}

/// The property every command keeps: read-only, and never asking the
/// device for more than the buffer takes.
pub fn check_command(cdb: &[u8], buffer: usize) {
    let opcode = cdb.first().copied();
    assert!(
        opcode.is_some_and(|op| READ_ONLY_OPCODES.contains(&op)),
        "not a read-only command: {cdb:02x?}"
    );
    match cdb {
        [TUR, ..] => assert_eq!(buffer, 0, "TEST UNIT READY with a data buffer: {cdb:02x?}"),
        [INQUIRY, _, _, hi, lo, ..] => {
            let alloc = usize::from(u16::from_be_bytes([*hi, *lo]));
            assert!(
                alloc <= buffer,
                "INQUIRY asks for {alloc} bytes into {buffer}: {cdb:02x?}"
            );
        }
        [MAINTENANCE_IN, _, _, _, _, _, a, b, c, d, ..] => {
            let alloc = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
            assert!(
                alloc <= buffer,
                "RTPG asks for {alloc} bytes into {buffer}: {cdb:02x?}"
            );
        }
        _ => {}
    }
}

impl<S: ReplySource> ScsiTransport for FuzzTransport<S> {
    fn execute(
        &self,
        cdb: &[u8],
        data: &mut [u8],
        _timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let count = self.sent.borrow().len();
        if count >= MAX_COMMANDS {
            let sent = self.sent.borrow();
            let last: Vec<&[u8]> = sent
                .iter()
                .rev()
                .take(8)
                .map(|s| s.cdb.as_slice())
                .collect();
            panic!("one probe sent more than {MAX_COMMANDS} commands; the last ones: {last:02x?}");
        }
        check_command(cdb, data.len());
        let reply = self.source.reply(cdb, data.len());
        let failed = matches!(reply, Reply::Open(_) | Reply::Ioctl(_));
        self.sent.borrow_mut().push(Sent {
            cdb: cdb.to_vec(),
            buffer: data.len(),
            failed,
        });
        match reply {
            Reply::Open(errno) => Err(TransportError::Open(io::Error::from_raw_os_error(errno))),
            Reply::Ioctl(errno) => Err(TransportError::Ioctl(io::Error::from_raw_os_error(errno))),
            Reply::Done {
                status,
                host_status,
                driver_status,
                sense,
                data: bytes,
                transferred,
            } => {
                let n = bytes.len().min(data.len());
                data[..n].copy_from_slice(&bytes[..n]);
                let mut completion = Completion {
                    status,
                    host_status,
                    driver_status,
                    transferred: match transferred {
                        Transferred::Written => n,
                        Transferred::Buffer => data.len(),
                        Transferred::Count(count) => count,
                        Transferred::Beyond(extra) => data.len().saturating_add(extra.max(1)),
                    },
                    ..Completion::default()
                };
                let _ = completion
                    .sense
                    .extend_from_slice(&sense[..sense.len().min(64)]);
                Ok(completion)
            }
        }
    }
}

/// Cached sysfs attributes, in [`ATTRS`] order; `None` is not cached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FuzzAttributes(pub [Option<Vec<u8>>; 6]);

impl FuzzAttributes {
    pub fn get(&self, attr: Attr) -> Option<&[u8]> {
        let i = ATTRS.iter().position(|a| *a == attr)?;
        self.0[i].as_deref()
    }

    pub fn with(mut self, attr: Attr, value: &[u8]) -> FuzzAttributes {
        if let Some(i) = ATTRS.iter().position(|a| *a == attr) {
            self.0[i] = Some(value.to_vec());
        }
        self
    }
}

impl DeviceAttributes for FuzzAttributes {
    /// As sysfs is read: as much as fits.
    fn read(&self, attr: Attr, buf: &mut [u8]) -> Option<usize> {
        let value = self.get(attr)?;
        let n = value.len().min(buf.len());
        buf[..n].copy_from_slice(&value[..n]);
        Some(n)
    }
}

/// The configuration's choice for every path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannerChoice {
    /// multipath-tools' built-in choice.
    Defaults,
    /// One checker and prioritizer for every path.
    Fixed {
        vpd_c9: bool,
        checker: String,
        prio: PrioPlan,
    },
}

/// Plans as chosen, checking what probing tells it and keeping the WWID.
pub struct FuzzPlanner {
    pub choice: PlannerChoice,
    pub planned: Mutex<Vec<String>>,
}

impl FuzzPlanner {
    pub fn new(choice: PlannerChoice) -> FuzzPlanner {
        FuzzPlanner {
            choice,
            planned: Mutex::new(Vec::new()),
        }
    }
}

impl Planner for FuzzPlanner {
    fn wants_vpd_c9(&self, vendor: &str, product: &str, revision: &str) -> bool {
        assert!(vendor.len() <= 8 && product.len() <= 16 && revision.len() <= 4);
        match &self.choice {
            PlannerChoice::Defaults => Defaults.wants_vpd_c9(vendor, product, revision),
            PlannerChoice::Fixed { vpd_c9, .. } => *vpd_c9,
        }
    }

    fn plan(&self, identity: &Identity<'_>) -> PathPlan {
        check_wwid(identity.wwid);
        if identity.vpd_c9_vac1 {
            assert!(
                matches!(self.choice, PlannerChoice::Fixed { vpd_c9: true, .. }),
                "page 0xc9 read without the planner asking for it"
            );
        }
        self.planned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(identity.wwid.to_owned());
        match &self.choice {
            PlannerChoice::Defaults => Defaults.plan(identity),
            PlannerChoice::Fixed { checker, prio, .. } => PathPlan {
                prio: prio.clone(),
                explained: "fuzz".into(),
                checker: checker.clone(),
            },
        }
    }
}

/// A WWID must be usable as a device-mapper name.
pub fn check_wwid(wwid: &str) {
    assert!(!wwid.is_empty(), "empty WWID");
    assert!(
        wwid.len() <= WWID_MAX,
        "WWID {wwid:?} longer than {WWID_MAX}"
    );
    assert!(
        wwid.bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b'/'),
        "WWID {wwid:?} is not a valid map name"
    );
}

/// Everything `probe` is called with, besides the transport's replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub candidate: Candidate,
    pub options: ProbeOptions,
    pub attrs: FuzzAttributes,
    pub planner: PlannerChoice,
    /// The sg node could not be opened (errno): probe gets `Err`.
    pub open_error: Option<i32>,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario {
            candidate: candidate(512, false),
            options: ProbeOptions::default(),
            attrs: FuzzAttributes::default(),
            planner: PlannerChoice::Defaults,
            open_error: None,
        }
    }
}

pub fn candidate(block_size: u32, handler: bool) -> Candidate {
    Candidate {
        name: dev_name("sdc").unwrap_or_default(),
        hctl: Hctl {
            host: 1,
            channel: 0,
            target: 2,
            lun: 3,
        },
        devnum: DevNum {
            major: 8,
            minor: 32,
        },
        sectors: 16384,
        sg: Some(SgNode {
            name: dev_name("sg2").unwrap_or_default(),
            devnum: DevNum {
                major: 21,
                minor: 2,
            },
        }),
        handler: if handler {
            "alua".try_into().ok()
        } else {
            None
        },
        block_size: Some(block_size),
        node_name: Default::default(),
    }
}

/// Every prioritizer plan: the ALUA ones, `const`, each vendor
/// prioritizer, and a name no prioritizer has.
pub fn prio_plans(args: &str) -> Vec<PrioPlan> {
    let mut plans = vec![PrioPlan::Alua, PrioPlan::Sysfs, PrioPlan::Const];
    plans.extend(prio::ALL.iter().map(|&prioritizer| PrioPlan::Device {
        prioritizer,
        args: args.to_owned(),
    }));
    plans.push(PrioPlan::Unknown("nosuch".into()));
    plans
}

/// Checker names: each checker, and an unknown name.
pub fn checker_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Checker::ALL.iter().map(|c| c.name()).collect();
    names.push("nosuch");
    names
}

/// Runs one probe of `scenario` with replies from `source`, checks the
/// properties, and returns the outcome and what was sent.
pub fn run<S: ReplySource>(scenario: &Scenario, source: S) -> (Probed, Vec<Sent>) {
    let transport = FuzzTransport::new(source);
    let planner = FuzzPlanner::new(scenario.planner.clone());
    let open_error = scenario
        .open_error
        .map(|errno| TransportError::Open(io::Error::from_raw_os_error(errno)));
    let opened: Result<&dyn ScsiTransport, &TransportError> = match &open_error {
        Some(e) => Err(e),
        None => Ok(&transport),
    };
    // No dev/ under this root: the iet prioritizer finds no links.
    let root = std::path::Path::new("/nonexistent/mpath-boot-probe-fuzz");
    let outcome = mpath_boot::probe::probe(
        &scenario.candidate,
        &scenario.attrs,
        opened,
        &scenario.options,
        &planner,
        root,
    );
    let sent = transport.sent.into_inner();
    let planned = planner
        .planned
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    check(scenario, &sent, &planned, &outcome);
    (outcome, sent)
}

/// `outcome` is `Probed::Down`: `what` (the device) is down.
fn assert_down(outcome: &Probed, what: &str) {
    assert!(
        matches!(outcome, Probed::Down(..)),
        "{what} not down: {outcome:?}"
    );
}

/// The properties of one probe's outcome.
pub fn check(scenario: &Scenario, sent: &[Sent], planned: &[String], outcome: &Probed) {
    let state = scenario
        .attrs
        .get(Attr::State)
        .and_then(|s| core::str::from_utf8(s.get(..s.len().min(64))?).ok())
        .map(str::trim);
    if matches!(state, Some("offline" | "transport-offline")) {
        assert_down(outcome, "offline device");
        assert!(
            sent.is_empty(),
            "commands sent to an offline device: {sent:?}"
        );
        return;
    }
    if scenario.open_error.is_some() {
        assert_down(outcome, "unopened device");
        assert!(sent.is_empty());
        return;
    }
    // TEST UNIT READY goes first; a pass-through that fails there costs
    // that one command and the path is down.
    let first = sent.first().expect("probe sent no TEST UNIT READY");
    assert_eq!(
        first.cdb.first(),
        Some(&TUR),
        "first command is not TEST UNIT READY: {sent:?}"
    );
    if first.failed {
        assert_down(outcome, "dead path");
        assert_eq!(
            sent.len(),
            1,
            "commands sent after a failed TEST UNIT READY: {sent:?}"
        );
    }
    assert!(planned.len() <= 1, "planned {} times", planned.len());
    match outcome {
        Probed::Path(path) => {
            check_wwid(path.wwid.as_str());
            assert_eq!(
                planned,
                [path.wwid.as_str().to_owned()],
                "the plan was made for another WWID"
            );
            assert_ne!(
                path.state,
                PathState::Down,
                "an unreachable path returned as usable"
            );
            // The checker's verdict and its reason go together.
            assert_eq!(
                path.state == PathState::Faulty,
                !path.fault.is_empty(),
                "state {:?} with fault {:?}",
                path.state,
                path.fault
            );
            assert_eq!(path.name, scenario.candidate.name);
            assert_eq!(path.hctl, scenario.candidate.hctl);
            assert_eq!(path.devnum, scenario.candidate.devnum);
            assert_eq!(path.sectors, scenario.candidate.sectors);
            assert_eq!(path.handler, scenario.candidate.handler);
            assert!(
                path.tpgs == path.alua_prio.is_some(),
                "tpgs without an ALUA priority: {path:?}"
            );
            assert!(
                path.priority >= -1,
                "priority {} below PRIO_UNDEF",
                path.priority
            );
        }
        Probed::Down(why, wwid) => {
            assert!(!why.is_empty(), "down without a reason");
            if let Some(wwid) = wwid {
                check_wwid(wwid.as_str());
                assert!(
                    scenario.attrs.get(Attr::Vpd83).is_some(),
                    "a down path's WWID not from the cache"
                );
            }
        }
        Probed::Skipped(why) => assert!(!why.is_empty(), "skipped without a reason"),
    }
}

/// Reads a scenario and replies from a byte string; bytes past its end
/// read as zero, and once it is used up every command fails (EIO).
///
/// Format: flags (bit 0 `serial`, bit 1 open error with an errno byte
/// after it, bit 2 an `alua` handler), TUR attempts, block size index,
/// timeout seconds, planner (bit 7 clear: built-in defaults; else bit 0
/// wants page 0xc9, then checker index, prioritizer index, argument index
/// (past [`PRIO_ARGS`]: that many bytes of text follow)); then for each
/// of [`ATTRS`] a byte (bit 0: cached, then a big-endian u16 length and
/// the bytes). Then one reply per command: a byte `k`; `k >= 0xf0` is a
/// failed pass-through (bit 3: open, else ioctl; errno index in bits 0-2);
/// otherwise bit 0: status byte and host and driver status (u16) follow,
/// bit 1: a sense length byte and sense follow, bit 2: a u16 data length
/// and data follow, bits 3-4 the transfer length: written, buffer, a u16
/// count, or beyond the buffer by 1 + a u16.
pub struct Stream<'a> {
    data: &'a [u8],
    pos: Cell<usize>,
}

impl<'a> Stream<'a> {
    pub fn new(data: &'a [u8]) -> Stream<'a> {
        Stream {
            data,
            pos: Cell::new(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pos.get() >= self.data.len()
    }

    pub fn byte(&self) -> u8 {
        let b = self.data.get(self.pos.get()).copied().unwrap_or(0);
        self.pos.set(self.pos.get() + 1);
        b
    }

    pub fn u16(&self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    pub fn take(&self, n: usize) -> &'a [u8] {
        let start = self.pos.get().min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.pos.set(self.pos.get().saturating_add(n));
        &self.data[start..end]
    }

    fn errno(&self, index: u8) -> i32 {
        ERRNOS[usize::from(index) % ERRNOS.len()]
    }

    pub fn scenario(&self) -> Scenario {
        let flags = self.byte();
        let open_error = (flags & 2 != 0).then(|| self.errno(self.byte()));
        let tur_attempts = self.byte();
        let block_size = BLOCK_SIZES[usize::from(self.byte()) % BLOCK_SIZES.len()];
        let timeout = Duration::from_secs(u64::from(self.byte()));
        let planner = self.planner();
        let mut attrs = FuzzAttributes::default();
        for slot in attrs.0.iter_mut() {
            if self.byte() & 1 != 0 {
                let len = usize::from(self.u16());
                *slot = Some(self.take(len).to_vec());
            }
        }
        Scenario {
            candidate: candidate(block_size, flags & 4 != 0),
            options: ProbeOptions {
                timeout,
                tur_attempts,
                serial: flags & 1 != 0,
            },
            attrs,
            planner,
            open_error,
        }
    }

    fn planner(&self) -> PlannerChoice {
        let kind = self.byte();
        if kind & 0x80 == 0 {
            return PlannerChoice::Defaults;
        }
        let names = checker_names();
        let checker = names[usize::from(self.byte()) % names.len()].to_owned();
        let prio_index = usize::from(self.byte());
        let args_index = usize::from(self.byte());
        let args = match PRIO_ARGS.get(args_index) {
            Some(args) => (*args).to_owned(),
            None => {
                String::from_utf8_lossy(self.take((args_index - PRIO_ARGS.len()) % 64)).into_owned()
            }
        };
        let plans = prio_plans(&args);
        PlannerChoice::Fixed {
            vpd_c9: kind & 1 != 0,
            checker,
            prio: plans[prio_index % plans.len()].clone(),
        }
    }

    pub fn reply(&self) -> Reply {
        if self.is_empty() {
            return Reply::Ioctl(ERRNOS[0]);
        }
        let k = self.byte();
        if k >= 0xf0 {
            let errno = self.errno(k & 7);
            return if k & 8 != 0 {
                Reply::Open(errno)
            } else {
                Reply::Ioctl(errno)
            };
        }
        let (status, host_status, driver_status) = if k & 1 != 0 {
            (self.byte(), self.u16(), self.u16())
        } else {
            (0, 0, 0)
        };
        let sense = if k & 2 != 0 {
            let n = usize::from(self.byte());
            self.take(n).to_vec()
        } else {
            Vec::new()
        };
        let data = if k & 4 != 0 {
            let n = usize::from(self.u16());
            self.take(n).to_vec()
        } else {
            Vec::new()
        };
        let transferred = match (k >> 3) & 3 {
            0 => Transferred::Written,
            1 => Transferred::Buffer,
            2 => Transferred::Count(usize::from(self.u16())),
            _ => Transferred::Beyond(1 + usize::from(self.u16())),
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

/// The fuzz input as a reply source: one reply per command, in order.
pub struct StreamSource<'a>(pub Stream<'a>);

impl ReplySource for StreamSource<'_> {
    fn reply(&self, _cdb: &[u8], _buffer: usize) -> Reply {
        self.0.reply()
    }
}

/// Keeps the count of a REPORT TARGET PORT GROUPS reply within the
/// buffer; other replies pass unchanged. For runs beside a known fault:
/// src/probe.rs (`rtpg_priority`) slices its buffer with the reported
/// count unclamped and panics on a larger one.
pub struct RtpgWithinBuffer<S>(pub S);

impl<S: ReplySource> ReplySource for RtpgWithinBuffer<S> {
    fn reply(&self, cdb: &[u8], buffer: usize) -> Reply {
        match self.0.reply(cdb, buffer) {
            Reply::Done {
                status,
                host_status,
                driver_status,
                sense,
                data,
                transferred,
            } if cdb.first() == Some(&MAINTENANCE_IN) => Reply::Done {
                status,
                host_status,
                driver_status,
                sense,
                data,
                transferred: match transferred {
                    Transferred::Count(n) if n > buffer => Transferred::Buffer,
                    Transferred::Beyond(_) => Transferred::Buffer,
                    other => other,
                },
            },
            other => other,
        }
    }
}

/// Writes the [`Stream`] format.
#[derive(Default)]
pub struct Encoder(pub Vec<u8>);

impl Encoder {
    fn u16(&mut self, v: usize) {
        let v = u16::try_from(v).expect("length fits the format");
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn errno_index(errno: i32) -> u8 {
        ERRNOS
            .iter()
            .position(|&e| e == errno)
            .expect("errno in ERRNOS") as u8
    }

    /// The scenario header. Prioritizer arguments must be one of
    /// [`PRIO_ARGS`] or shorter than 64 bytes.
    pub fn scenario(mut self, s: &Scenario) -> Encoder {
        let flags = u8::from(s.options.serial)
            | if s.open_error.is_some() { 2 } else { 0 }
            | if s.candidate.handler.is_some() { 4 } else { 0 };
        self.0.push(flags);
        if let Some(errno) = s.open_error {
            self.0.push(Self::errno_index(errno));
        }
        self.0.push(s.options.tur_attempts);
        let block = BLOCK_SIZES
            .iter()
            .position(|&b| Some(b) == s.candidate.block_size)
            .expect("block size in BLOCK_SIZES");
        self.0.push(block as u8);
        self.0
            .push(u8::try_from(s.options.timeout.as_secs()).unwrap_or(u8::MAX));
        match &s.planner {
            PlannerChoice::Defaults => self.0.push(0),
            PlannerChoice::Fixed {
                vpd_c9,
                checker,
                prio,
            } => {
                self.0.push(0x80 | u8::from(*vpd_c9));
                let names = checker_names();
                let c = names
                    .iter()
                    .position(|n| n == checker)
                    .expect("known checker name");
                self.0.push(c as u8);
                let args = match prio {
                    PrioPlan::Device { args, .. } => args.as_str(),
                    _ => "",
                };
                let p = prio_plans(args)
                    .iter()
                    .position(|p| p == prio)
                    .expect("a listed plan");
                self.0.push(p as u8);
                match PRIO_ARGS.iter().position(|a| *a == args) {
                    Some(i) => self.0.push(i as u8),
                    None => {
                        assert!(args.len() < 64);
                        self.0.push((PRIO_ARGS.len() + args.len()) as u8);
                        self.0.extend_from_slice(args.as_bytes());
                    }
                }
            }
        }
        for value in &s.attrs.0 {
            match value {
                None => self.0.push(0),
                Some(bytes) => {
                    self.0.push(1);
                    self.u16(bytes.len());
                    self.0.extend_from_slice(bytes);
                }
            }
        }
        self
    }

    /// The next command's reply (`Count` and `Beyond` up to the u16 range).
    pub fn reply(mut self, reply: &Reply) -> Encoder {
        match reply {
            Reply::Open(errno) => self.0.push(0xf8 | Self::errno_index(*errno)),
            Reply::Ioctl(errno) => self.0.push(0xf0 | Self::errno_index(*errno)),
            Reply::Done {
                status,
                host_status,
                driver_status,
                sense,
                data,
                transferred,
            } => {
                let full = *status != 0 || *host_status != 0 || *driver_status != 0;
                let mode = match transferred {
                    Transferred::Written => 0,
                    Transferred::Buffer => 1,
                    Transferred::Count(_) => 2,
                    Transferred::Beyond(_) => 3,
                };
                let k = u8::from(full)
                    | if sense.is_empty() { 0 } else { 2 }
                    | if data.is_empty() { 0 } else { 4 }
                    | mode << 3;
                self.0.push(k);
                if full {
                    self.0.push(*status);
                    self.u16(usize::from(*host_status));
                    self.u16(usize::from(*driver_status));
                }
                if !sense.is_empty() {
                    self.0.push(u8::try_from(sense.len()).expect("sense fits"));
                    self.0.extend_from_slice(sense);
                }
                if !data.is_empty() {
                    self.u16(data.len());
                    self.0.extend_from_slice(data);
                }
                match transferred {
                    Transferred::Count(count) => self.u16(*count),
                    Transferred::Beyond(extra) => self.u16(extra.max(&1) - 1),
                    _ => {}
                }
            }
        }
        self
    }
}

/// Device answers to build seeds and generated replies from.
pub mod fixtures {
    /// Standard INQUIRY of scsi_debug, 96 bytes, with the TPGS field.
    pub fn standard_inquiry(tpgs: u8, device_type: u8) -> Vec<u8> {
        let mut d = vec![0u8; 96];
        d[0] = device_type;
        d[2] = 0x07;
        d[3] = 0x02;
        d[4] = 91;
        d[5] = tpgs << 4;
        d[8..16].copy_from_slice(b"Linux   ");
        d[16..32].copy_from_slice(b"scsi_debug      ");
        d[32..36].copy_from_slice(b"0191");
        d
    }

    /// Standard INQUIRY with another vendor and product.
    pub fn vendor_inquiry(vendor: &[u8; 8], product: &[u8; 16], tpgs: u8) -> Vec<u8> {
        let mut d = standard_inquiry(tpgs, 0);
        d[8..16].copy_from_slice(vendor);
        d[16..32].copy_from_slice(product);
        d
    }

    /// scsi_debug-like page 0x83: T10 vendor id, NAA-3 LU, target port
    /// group 1.
    pub fn page83() -> Vec<u8> {
        let mut designators = Vec::new();
        designators.extend_from_slice(&[0x02, 0x01, 0x00, 28]);
        designators.extend_from_slice(b"Linux   scsi_debug      2000");
        designators.extend_from_slice(&[0x01, 0x03, 0x00, 0x08]);
        designators.extend_from_slice(&0x3333_3330_0000_07d0u64.to_be_bytes());
        designators.extend_from_slice(&[0x01, 0x95, 0x00, 0x04, 0, 0, 0, 1]);
        let mut page = vec![0x00, 0x83];
        page.extend_from_slice(&(designators.len() as u16).to_be_bytes());
        page.extend_from_slice(&designators);
        page
    }

    /// qemu scsi-hd page 0x83: vendor-specific serial, NAA-5.
    pub fn qemu_page83() -> Vec<u8> {
        vec![
            0x00, 0x83, 0x00, 22, 0x02, 0x00, 0x00, 6, b'M', b'P', b'A', b'T', b'H', b'0', 0x01,
            0x03, 0x00, 8, 0x50, 0x00, 0xc5, 0x00, 0x15, 0xea, 0x71, 0xac,
        ]
    }

    /// Page 0x80 with `serial`.
    pub fn page80(serial: &[u8]) -> Vec<u8> {
        let mut p = vec![0x00, 0x80, 0x00, serial.len() as u8];
        p.extend_from_slice(serial);
        p
    }

    /// Page 0x83 padded past the first allocation length (asked again).
    pub fn big_page83(len: usize) -> Vec<u8> {
        let mut page = page83();
        while page.len() + 4 < len {
            let pad = (len - page.len() - 4).min(200);
            page.extend_from_slice(&[0x02, 0x00, 0x00, pad as u8]);
            page.extend(std::iter::repeat_n(b'x', pad));
        }
        let n = (page.len() - 4) as u16;
        page[2..4].copy_from_slice(&n.to_be_bytes());
        page
    }

    /// RTPG reply (length-only format) with port group `group`.
    pub fn rtpg(group: u16, state: u8, pref: bool) -> Vec<u8> {
        let mut d = vec![0u8; 4];
        d.extend_from_slice(&[state | if pref { 0x80 } else { 0 }, 0x0f]);
        d.extend_from_slice(&group.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        let len = (d.len() - 4) as u32;
        d[..4].copy_from_slice(&len.to_be_bytes());
        d
    }

    /// RTPG reply in the extended header format.
    pub fn rtpg_extended(group: u16, state: u8) -> Vec<u8> {
        let mut d = vec![0u8, 0, 0, 0, 0x10, 60, 0, 0];
        d.extend_from_slice(&[state, 0x0f]);
        d.extend_from_slice(&group.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        let len = (d.len() - 4) as u32;
        d[..4].copy_from_slice(&len.to_be_bytes());
        d
    }

    /// EMC page 0xc0: an owned LUN on its default SP.
    pub fn emc_page() -> Vec<u8> {
        let mut p = vec![0u8; 64];
        p[1] = 0xc0;
        p[4] = 2;
        p[5] = 1;
        p[8] = 1;
        p[27] = 3;
        p[28] = 4;
        p[30] = 4;
        p
    }

    /// RDAC page 0xc9 (`vac1`): owner, preferred.
    pub fn rdac_page() -> Vec<u8> {
        let mut p = vec![0u8; 0x30];
        p[1] = 0xc9;
        p[3] = 0x2c;
        p[4..8].copy_from_slice(b"vac1");
        p[8] = 1;
        p[9] = 1;
        p
    }

    /// Hitachi INQUIRY data: LDEV 00C6 on controller 0.
    pub fn hds_inquiry() -> Vec<u8> {
        let mut d = vendor_inquiry(b"HITACHI ", b"DF600F          ", 0);
        d.resize(64, b' ');
        d[44..48].copy_from_slice(b"00C6");
        d[49] = b'0';
        d
    }

    /// ontap GVA answer.
    pub fn gva_answer() -> Vec<u8> {
        let mut a = vec![0u8; 32];
        a[3] = 24;
        a[4..8].copy_from_slice(&[0x0a, 0x98, 0x0a, 0x01]);
        a[8] = 0x41;
        a[12..18].copy_from_slice(b"ism_sn");
        a
    }

    /// ontap proxy page 0xc1.
    pub fn proxy_page() -> Vec<u8> {
        let mut p = vec![0u8; 24];
        p[1] = 0xc1;
        p[8..14].copy_from_slice(&[0x0a, 0x98, 0x0a, 0x00, 0xc1, 0x00]);
        p[19] = 2;
        p
    }

    /// DataCore INQUIRY with a node name.
    pub fn datacore_inquiry() -> Vec<u8> {
        let mut d = vendor_inquiry(b"DataCore", b"SANmelody       ", 0);
        d.resize(140, b' ');
        d[112..122].copy_from_slice(b"DCS-NODE-A");
        d
    }
}
