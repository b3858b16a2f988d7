//! Deterministic fuzzing of the text parsers: the kernel's multipath table
//! and status text, /proc/cmdline, /proc/self/mountinfo, /proc/misc, sysfs
//! numbers and the command line. Random and mutated inputs must give a
//! value or an error, never a panic. Fast (well under a second in release).

mod fuzzing;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use fuzzing::Rng;
use mpath_boot::path::{DevNum, Hctl};
use mpath_boot::{bootargs, cli, discover, sys::nodes, table};

const SEEDS: &[&str] = &[
    "0 1 alua 2 1 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:64 1 1",
    "2 0 0 0 2 1 A 0 1 2 8:0 A 0 0 1 E 0 1 2 8:64 F 1 0 1",
    "1 queue_if_no_path 0 1 1 round-robin 0 2 1 8:0 1000 8:16 1000",
    "root=/dev/mapper/3600a-part1 mpath_boot.wait=30 mpath_boot.paths=2 rd.multipath=0 mpath_boot.policy=multibus",
    "22 1 8:1 / /boot rw,relatime shared:1 - ext4 /dev/sda1 rw\n23 1 0:21 / /proc rw - proc proc rw\n",
    "236 device-mapper\n 58 network_throughput\n183 hw_random\n",
    "0:0:0:0",
    "8:16\n",
];

/// Words that make mutations reach deep into the parsers.
const WORDS: &[&str] = &[
    "0", "1", "2", "4294967295", "18446744073709551616", "-1", ":", "::", "=", "A", "E", "F", "D",
    "service-time", "8:0", "mpath_boot.wait=", "root=", "\"", " ", "\n", "\u{ff}", "9999999",
];

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut words: Vec<String> = seed.split(' ').map(str::to_owned).collect();
    for _ in 0..=rng.index(4) {
        let at = rng.index(words.len() + 1);
        match rng.index(4) {
            0 if !words.is_empty() => {
                words.remove(at.min(words.len() - 1));
            }
            1 => words.insert(at, WORDS[rng.index(WORDS.len())].to_owned()),
            2 if !words.is_empty() => {
                let i = at.min(words.len() - 1);
                words[i] = WORDS[rng.index(WORDS.len())].to_owned();
            }
            _ => words.truncate(at),
        }
    }
    words.join(" ")
}

fn random_text(rng: &mut Rng) -> String {
    let alphabet = b"0123456789:- =.ADEFabcxyz/\n\t\"";
    (0..rng.index(64)).map(|_| alphabet[rng.index(alphabet.len())] as char).collect()
}

fn feed(text: &str) {
    if let Ok(t) = table::parse(text) {
        // Whatever parsed must be self-consistent.
        assert!(t.same_layout(&t));
        let _ = t.devices().count();
    }
    let _ = table::parse_status(text);
    let args = bootargs::parse(text);
    assert!(args.wait_seconds.is_none_or(|w| w <= bootargs::WAIT_MAX));
    assert!(args.expect.iter().all(|e| !e.is_empty() && !e.contains('/')));
    let _ = discover::parse_mountinfo(text);
    let _ = nodes::misc_minor(text, "device-mapper");
    let _ = Hctl::parse(text);
    let _ = DevNum::parse(text);
    let _ = cli::parse(text.split(' ').map(OsString::from));
}

#[test]
fn text_parsers_never_panic() {
    let mut rng = Rng(0x005e_ed0f_7e57);
    for seed in SEEDS {
        feed(seed);
    }
    for _ in 0..20_000 {
        let seed = SEEDS[rng.index(SEEDS.len())];
        feed(&mutate(&mut rng, seed));
        feed(&random_text(&mut rng));
    }
}

#[test]
fn command_line_with_arbitrary_bytes_never_panics() {
    let mut rng = Rng(0x0a11_b17e);
    for _ in 0..5_000 {
        let args: Vec<OsString> = (0..rng.index(6))
            .map(|_| OsString::from_vec((0..rng.index(12)).map(|_| rng.next() as u8).collect()))
            .collect();
        let _ = cli::parse(args);
    }
}
