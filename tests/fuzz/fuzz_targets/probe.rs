//! A whole probe (`mpath_boot::probe::probe`) through a transport that
//! answers every command with fuzzer-chosen bytes: data, SCSI status, host
//! and driver status, sense, reported transfer length, or a failed
//! pass-through. The input is a stream (see `shared/probe_harness.rs`,
//! `Stream`): the candidate, probe options, cached sysfs attributes and
//! the configuration's checker and prioritizer first, then one reply per
//! command in the order they are sent. Probe must return (no panic, at
//! most `MAX_COMMANDS` commands, all read-only) with a consistent outcome.
//!
//! With `MPATH_FUZZ_RTPG_WITHIN_BUFFER=1` in the environment, replies to
//! REPORT TARGET PORT GROUPS never report more bytes than the buffer
//! holds: a run that looks past the known fault in src/probe.rs
//! (`rtpg_priority` trusts that count; see README.md). Without it every
//! reply may report any count.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../shared/probe_harness.rs"]
mod probe_harness;

use probe_harness::{RtpgWithinBuffer, Stream, StreamSource};

fn rtpg_within_buffer() -> bool {
    static SET: OnceLock<bool> = OnceLock::new();
    *SET.get_or_init(|| std::env::var_os("MPATH_FUZZ_RTPG_WITHIN_BUFFER").is_some_and(|v| v == "1"))
}

fuzz_target!(|data: &[u8]| {
    let stream = Stream::new(data);
    let scenario = stream.scenario();
    if rtpg_within_buffer() {
        let _ = probe_harness::run(&scenario, RtpgWithinBuffer(StreamSource(stream)));
    } else {
        let _ = probe_harness::run(&scenario, StreamSource(stream));
    }
});
