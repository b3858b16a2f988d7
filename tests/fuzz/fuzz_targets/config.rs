//! multipath.conf bytes through the parser, the keyword tables and the
//! printing helpers: no panic, and every message points at a real line
//! of the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_boot::config::keywords::{self, Section};
use mpath_boot::config::parse::{line_count, parse};
use mpath_boot::config::{Config, Origin};

const PATH: &str = "/etc/multipath.conf";

fuzz_target!(|data: &[u8]| {
    let (nodes, mut diagnostics) = parse(data, PATH);
    let mut config = Config::default();
    let _ = keywords::apply_file(&nodes, PATH, &mut config, &mut diagnostics);
    keywords::finish(&mut config, &mut diagnostics);
    let lines = line_count(data) as u32;
    for d in &diagnostics {
        match &d.origin {
            Origin::File { path, line } => {
                assert_eq!(path, PATH);
                assert!((1..=lines).contains(line), "line {line} of {lines}: {d}");
            }
            Origin::Builtin => panic!("diagnostic without a file: {d}"),
        }
    }
    let _ = keywords::defaults_lines(&config.defaults);
    let _ = keywords::section_lines(Section::Overrides, &config.overrides);
    for device in &config.devices {
        let _ = keywords::device_lines(device);
    }
    for entry in &config.multipaths {
        let _ = keywords::multipath_lines(entry);
    }
});
