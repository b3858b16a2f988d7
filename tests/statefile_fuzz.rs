//! Deterministic fuzzing of the two state files, `bindings` and `wwids`.
//!
//! Admins edit these files by hand and old tools leave odd lines behind;
//! reading them must never panic, and the answers must keep the promises
//! the rest of mpath-boot relies on: a newly allocated alias is never one
//! the file already holds or a device already has, an appended binding is
//! found again, the start-up rewrite is stable, and the wwids reader only
//! reports WWIDs the file really spells out. Fixed-seed random files,
//! structured files and mutations feed each property.

mod fuzzing;

use fuzzing::Rng;
use mpath_boot::config::bindings::{self, Alias, Existing};
use mpath_boot::config::wwids;

const PREFIXES: &[&str] = &["mpath", "data", "", "m"];
const SEPARATORS: &[&[u8]] = &[b" ", b"\t", b"  ", b" \t"];
const TAILS: &[&[u8]] = &[b"\r", b"#x", b"\0tail", b"\xff\xfe"];
const CUSTOM: &[&str] = &["root", "mpathA", "mpath1", "swap", "mpathzzzzzzzz", "data_b"];

/// A lowercase word of 1 to `max` letters.
fn letters(rng: &mut Rng, max: usize) -> String {
    let len = 1 + rng.index(max);
    (0..len).map(|_| char::from(b'a' + rng.below(26) as u8)).collect()
}

fn wwid(rng: &mut Rng) -> String {
    format!("36{:012x}", rng.below(64))
}

/// One line of a bindings file, mostly plausible, sometimes odd.
fn bindings_line(rng: &mut Rng) -> Vec<u8> {
    let prefix = *rng.pick(PREFIXES);
    let alias = match rng.below(6) {
        0 => rng.pick(CUSTOM).to_string(),
        1 => letters(rng, 3),
        _ => format!("{prefix}{}", letters(rng, 2)),
    };
    let sep = *rng.pick(SEPARATORS);
    let mut line = alias.into_bytes();
    match rng.below(12) {
        0 => return b"# a comment mpatha 36000\n".to_vec(),
        1 => return b"\n".to_vec(),
        2 => {} // alias only
        3 => {
            line.extend_from_slice(sep);
            line.extend_from_slice(wwid(rng).as_bytes());
            line.extend_from_slice(b" extra");
        }
        4 => {
            line.extend_from_slice(sep);
            line.extend_from_slice(wwid(rng).as_bytes());
            let tail = *rng.pick(TAILS);
            line.extend_from_slice(tail);
        }
        _ => {
            line.extend_from_slice(sep);
            line.extend_from_slice(wwid(rng).as_bytes());
        }
    }
    line.push(b'\n');
    line
}

fn bindings_file(rng: &mut Rng) -> Vec<u8> {
    let mut text = Vec::new();
    if rng.chance(2) {
        text.extend_from_slice(bindings::HEADER.as_bytes());
    }
    for _ in 0..rng.index(40) {
        text.extend(bindings_line(rng));
    }
    text
}

fn mutate(rng: &mut Rng, text: &mut Vec<u8>) {
    for _ in 0..1 + rng.index(4) {
        let at = rng.index(text.len() + 1);
        match rng.below(3) {
            0 if at < text.len() => {
                text.remove(at);
            }
            1 if at < text.len() => {
                if let Some(b) = text.get_mut(at) {
                    *b = *rng.pick(&[b' ', b'\n', b'#', b'\0', b'a', b'/', 0xff, b'\t']);
                }
            }
            _ => text.insert(at, rng.byte()),
        }
    }
}

/// The first word of every line as a C reader sees it (lines shorter than
/// 2047 bytes only), for checking allocation independently.
fn first_words(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.split(|&b| b == 0).next()?;
            let line = line.split(|&b| b == b'#' || b == b'\r').next()?;
            line.split(|&b| b == b' ' || b == b'\t')
                .find(|w| !w.is_empty())
                .map(<[u8]>::to_vec)
        })
        .collect()
}

fn short_lines(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n').all(|l| l.len() < 2000)
}

/// Every property of one bindings file, for one prefix and taken set.
fn check_bindings(rng: &mut Rng, text: &[u8]) {
    let (b, diags) = bindings::parse(text, "bindings");
    let line_count = text.split(|&b| b == b'\n').count() as u32;
    for d in &diags {
        match &d.origin {
            mpath_boot::config::Origin::File { line, .. } => assert!(*line >= 1 && *line <= line_count, "{d}"),
            other => panic!("diagnostic without a line: {other:?}"),
        }
    }
    let prefix = *rng.pick(PREFIXES);
    let taken_names: Vec<String> = (0..rng.index(4)).map(|_| format!("{prefix}{}", letters(rng, 1))).collect();
    let taken = |n: &str| taken_names.iter().any(|t| t == n);
    let new_wwid = format!("new{}", rng.next());

    // Read-only never binds anything new.
    let read_only = b.select(&new_wwid, prefix, false, &taken);
    assert_eq!(read_only, Alias::Wwid, "read-only gave {read_only:?}");

    let Some(name) = b.allocate(&new_wwid, prefix, &taken) else { return };
    assert!(name.starts_with(prefix) && name.len() > prefix.len(), "{name:?} for prefix {prefix:?}");
    assert!(!taken(&name), "{name} is taken by a device");
    assert_eq!(b.wwid_of(&name), None, "{name} is bound already");
    if short_lines(text) {
        assert!(
            !first_words(text).iter().any(|w| w == name.as_bytes()),
            "{name} already appears in {:?}",
            String::from_utf8_lossy(text)
        );
    }
    assert_eq!(b.select(&new_wwid, prefix, true, &taken), Alias::New(name.clone()));

    // Appended (after a final newline), the binding is found again.
    let mut grown = text.to_vec();
    if !grown.is_empty() && !grown.ends_with(b"\n") {
        grown.push(b'\n');
    }
    grown.extend_from_slice(format!("{name} {new_wwid}\n").as_bytes());
    let (after, _) = bindings::parse(&grown, "bindings");
    assert_eq!(after.alias_of(&new_wwid), Some(name.as_str()));
    assert_eq!(after.select(&new_wwid, prefix, true, &taken), Alias::Bound(name.clone()));
    if let Some(second) = after.allocate("another", prefix, &taken) {
        assert_ne!(second, name, "the same alias was allocated twice");
    }

    // An existing map keeping a fresh name appends a line for that name.
    let old = format!("{prefix}{}", letters(rng, 2));
    if let Existing::Keep(Alias::New(kept)) = b.existing_alias(&new_wwid, &old, prefix, true) {
        assert_eq!(kept, old);
        assert_eq!(b.wwid_of(&kept), None);
    }
}

/// The start-up rewrite is stable and keeps exactly one WWID per alias.
fn check_rewrite(text: &[u8]) {
    let (b, _) = bindings::parse(text, "bindings");
    let checked = b.check(&[]);
    let (again, diags) = bindings::parse(&checked.contents, "bindings");
    assert!(!again.check(&[]).needs_rewrite, "rewrite of {:?} is not stable", String::from_utf8_lossy(text));
    assert!(
        diags.iter().all(|d| !d.message.contains("drops") && !d.message.contains("duplicate")),
        "{diags:?}"
    );
    assert!(checked.contents.starts_with(bindings::HEADER.as_bytes()));
}

#[test]
fn bindings_structured_files() {
    let mut rng = Rng(0x0b1d_1265);
    for _ in 0..3000 {
        let text = bindings_file(&mut rng);
        check_bindings(&mut rng, &text);
        check_rewrite(&text);
    }
}

#[test]
fn bindings_mutated_and_random_files() {
    let mut rng = Rng(0x5eed_b1d5);
    for round in 0..3000 {
        let text = if round % 3 == 0 {
            rng.bytes(300)
        } else {
            let mut t = bindings_file(&mut rng);
            mutate(&mut rng, &mut t);
            t
        };
        check_bindings(&mut rng, &text);
        check_rewrite(&text);
    }
}

#[test]
fn bindings_long_lines_do_not_panic() {
    let mut rng = Rng(0x10ff_11e5);
    for _ in 0..50 {
        let mut text = bindings_file(&mut rng);
        let filler = vec![*rng.pick(b"a \t#"); 2040 + rng.index(20)];
        let at = rng.index(text.len() + 1);
        text.splice(at..at, filler);
        check_bindings(&mut rng, &text);
        check_rewrite(&text);
    }
}

/// Allocating for one new WWID after another fills ids 1, 2, 3, ...
#[test]
fn sequential_allocation_counts_up() {
    let mut rng = Rng(0xa11c_a7e5);
    for _ in 0..20 {
        let prefix = *rng.pick(PREFIXES);
        let mut text = bindings::HEADER.as_bytes().to_vec();
        let mut seen = Vec::new();
        for n in 0..60 {
            let (b, _) = bindings::parse(&text, "bindings");
            let w = format!("w{n}");
            let Some(name) = b.allocate(&w, prefix, &|_| false) else { panic!("no alias for {w}") };
            assert!(!seen.contains(&name), "{name} given twice");
            let suffix = name.strip_prefix(prefix).unwrap_or_default();
            assert_eq!(suffix, devname(n + 1), "allocation {n} with prefix {prefix:?}");
            text.extend_from_slice(format!("{name} {w}\n").as_bytes());
            seen.push(name);
        }
    }
}

/// Bijective base 26, written independently of the library.
fn devname(id: u64) -> String {
    let mut out = Vec::new();
    let mut n = id;
    while n > 0 {
        n -= 1;
        out.insert(0, b'a' + (n % 26) as u8);
        n /= 26;
    }
    String::from_utf8(out).unwrap_or_default()
}

fn wwids_file(rng: &mut Rng, names: &mut Vec<String>) -> Vec<u8> {
    let mut text = wwids::HEADER.as_bytes().to_vec();
    for _ in 0..rng.index(30) {
        if rng.chance(4) {
            text.extend_from_slice(b"# comment /x/\n");
        } else {
            let w = wwid(rng);
            text.extend_from_slice(format!("/{w}/\n").as_bytes());
            names.push(w);
        }
    }
    text
}

#[test]
fn wwids_well_formed_files_find_every_entry() {
    let mut rng = Rng(0x0007_71d5);
    for _ in 0..2000 {
        let mut names = Vec::new();
        let text = wwids_file(&mut rng, &mut names);
        let (w, diags) = wwids::parse(&text, "wwids");
        assert!(diags.is_empty(), "{diags:?}");
        for n in &names {
            assert!(w.contains(n), "{n} not found");
        }
        let absent = format!("absent{}", rng.next());
        assert!(!w.contains(&absent));
        let mut grown = text.clone();
        grown.extend_from_slice(format!("/{absent}/\n").as_bytes());
        assert!(wwids::parse(&grown, "wwids").0.contains(&absent));
    }
}

#[test]
fn wwids_only_reports_what_the_file_spells() {
    let mut rng = Rng(0x00de_ad77);
    for round in 0..4000 {
        let mut names = Vec::new();
        let text = if round % 3 == 0 {
            rng.bytes(400)
        } else {
            let mut t = wwids_file(&mut rng, &mut names);
            mutate(&mut rng, &mut t);
            t
        };
        let (w, _) = wwids::parse(&text, "wwids");
        let mut queries = names;
        queries.push(wwid(&mut rng));
        queries.push(String::new());
        queries.push(letters(&mut rng, 3));
        for q in &queries {
            if w.contains(q) {
                let spelled = format!("/{q}/");
                assert!(
                    text.windows(spelled.len()).any(|win| win == spelled.as_bytes()),
                    "{q:?} found in {:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }
}

struct TempRoot(std::path::PathBuf);

impl TempRoot {
    fn new(name: &str) -> TempRoot {
        let dir = std::env::temp_dir().join(format!("mpath-boot-statefuzz-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempRoot(dir)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn remember_adds_each_wwid_once_in_order() {
    let root = TempRoot::new("remember");
    let mut rng = Rng(0x4e3e_3be2);
    let mut order: Vec<String> = Vec::new();
    for _ in 0..200 {
        let w = format!("36{:04x}", rng.below(40));
        let added = wwids::remember(&root.0, wwids::DEFAULT_FILE, &w).expect("writable");
        assert_eq!(added, !order.contains(&w), "{w}");
        if added {
            order.push(w);
        }
    }
    let text = std::fs::read(root.0.join("etc/multipath/wwids")).expect("file");
    let expected: String = order.iter().map(|w| format!("/{w}/\n")).collect();
    assert_eq!(text, format!("{}{expected}", wwids::HEADER).into_bytes());
}

#[test]
fn assign_never_gives_one_alias_to_two_wwids() {
    let root = TempRoot::new("assign");
    let mut rng = Rng(0x00a5_519e);
    let mut given: Vec<(String, String)> = Vec::new();
    for _ in 0..150 {
        let w = format!("36{:04x}", rng.below(50));
        let taken_name = format!("mpath{}", letters(&mut rng, 1));
        let taken = |n: &str| n == taken_name;
        let (alias, _) = bindings::assign(&root.0, bindings::DEFAULT_FILE, &w, "mpath", false, &taken).expect("assign");
        let name = match alias {
            Alias::Bound(n) => {
                assert!(given.contains(&(w.clone(), n.clone())), "{n} bound to {w} unexpectedly");
                n
            }
            Alias::New(n) => {
                assert!(!given.iter().any(|(gw, gn)| *gw == w || *gn == n), "{n} for {w} repeats");
                assert_ne!(n, taken_name);
                given.push((w.clone(), n.clone()));
                n
            }
            Alias::Wwid => panic!("no alias for {w}"),
        };
        assert!(name.starts_with("mpath"));
    }
}
