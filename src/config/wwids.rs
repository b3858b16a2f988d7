//! `/etc/multipath/wwids`: the WWIDs `find_multipaths` has seen as
//! multipath devices, one `/WWID/` per line.
//!
//! multipath-tools 0.9.4 does not parse this file into lines: its reader
//! (`lookup_wwid`) takes one character; if it is not `/` it skips the rest
//! of the line with `fgets` (at most 2047 bytes), otherwise it compares
//! the characters up to the next `/` with the WWID, and skips the rest of
//! the line after a mismatch. So a blank line also swallows the line after
//! it, an entry without its closing `/` can swallow the next line, text
//! after the closing `/` is ignored, and an entry of 128 bytes or more
//! never matches. [`Wwids::contains`] runs that same reader over the bytes,
//! for each query, so every such quirk gives the same answer.

use std::path::Path;

use super::bindings::{under_root, StateFile};
use super::{Diagnostic, Origin};

/// Where multipath-tools keeps the file unless `wwids_file` says otherwise.
pub const DEFAULT_FILE: &str = "/etc/multipath/wwids";

/// The lines multipath-tools writes at the top of a new file (data of the
/// file format: kept byte for byte so the files stay equal).
pub const HEADER: &str = "# Multipath wwids, Version : 1.0\n\
# NOTE: This file is automatically maintained by multipath and multipathd.\n\
# You should not need to edit this file in normal circumstances.\n\
#\n\
# Valid WWIDs:\n";

/// `fgets(buf, LINE_MAX, f)` returns at most this many bytes per call.
const FGETS_PIECE: usize = 2047;
/// Entries must be shorter than this to match (multipath-tools' WWID buffer).
const WWID_SIZE: usize = 128;

/// The wwids file, kept as bytes: its meaning depends on the query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wwids {
    text: Vec<u8>,
}

/// Keeps the bytes and reports lines the reader ignores or mishandles.
pub fn parse(text: &[u8], path: &str) -> (Wwids, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    for (index, raw) in lines.iter().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let has_next = index + 1 < lines.len();
        if let Some(message) = line_problem(raw, has_next) {
            diags.push(Diagnostic {
                origin: Origin::File { path: path.to_string(), line },
                message,
            });
        }
    }
    (Wwids { text: text.to_vec() }, diags)
}

/// What is wrong with one line, in terms of what the reader does with it.
fn line_problem(raw: &[u8], has_next: bool) -> Option<String> {
    if raw.len() > FGETS_PIECE {
        return Some(format!(
            "line is longer than {FGETS_PIECE} bytes: multipath-tools reads the rest as separate lines"
        ));
    }
    let body = raw.strip_suffix(b"\n").unwrap_or(raw);
    match body.first() {
        None if has_next => Some("blank line: multipath-tools also skips the line after it".into()),
        None | Some(b'#') => None,
        Some(b'/') => entry_problem(body.get(1..).unwrap_or_default(), raw.ends_with(b"\n") && has_next),
        Some(_) => Some("does not start with '/' or '#': ignored".into()),
    }
}

/// Problems of a `/WWID/` entry, given the text after its first slash.
fn entry_problem(rest: &[u8], has_next: bool) -> Option<String> {
    let Some(end) = rest.iter().position(|&b| b == b'/') else {
        let also = if has_next { ", and the line after it may be skipped" } else { "" };
        return Some(format!("no closing '/': entry ignored{also}"));
    };
    let wwid = rest.get(..end).unwrap_or_default();
    if wwid.len() >= WWID_SIZE {
        return Some(format!("WWID of {} bytes is longer than 127: never matches", wwid.len()));
    }
    if std::str::from_utf8(wwid).is_err() {
        return Some("WWID is not UTF-8: never matches".into());
    }
    None
}

impl Wwids {
    /// Whether 0.9.4's reader finds `wwid` (up to a NUL, as C sees it).
    pub fn contains(&self, wwid: &str) -> bool {
        let wwid = wwid.as_bytes();
        let wwid = wwid.split(|&b| b == 0).next().unwrap_or_default();
        let mut reader = Reader { text: &self.text, pos: 0 };
        loop {
            let Some(first) = reader.getc() else { return false };
            if first == b'/' {
                match reader.compare(wwid) {
                    Compare::Match => return true,
                    Compare::End => return false,
                    Compare::Differs => {}
                }
            }
            if !reader.skip_line() {
                return false;
            }
        }
    }
}

/// How one `/...` entry compares with the query.
enum Compare {
    Match,
    Differs,
    /// The file ended inside the entry.
    End,
}

/// A cursor with the two stdio calls the reader uses.
struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    /// `fgetc`.
    fn getc(&mut self) -> Option<u8> {
        let c = self.text.get(self.pos).copied()?;
        self.pos += 1;
        Some(c)
    }

    /// `fgets(LINE_MAX)` into a scratch buffer: up to and including the
    /// next newline, at most 2047 bytes; false when nothing was left.
    fn skip_line(&mut self) -> bool {
        let rest = self.text.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            return false;
        }
        let window = rest.get(..FGETS_PIECE).unwrap_or(rest);
        let taken = window.iter().position(|&b| b == b'\n').map_or(window.len(), |i| i + 1);
        self.pos += taken;
        true
    }

    /// Reads the entry after its opening slash, stopping (and leaving the
    /// rest of the line unread) at the first difference.
    fn compare(&mut self, wwid: &[u8]) -> Compare {
        let mut count = 0;
        loop {
            let Some(c) = self.getc() else { return Compare::End };
            if c == b'/' {
                return if count == wwid.len() { Compare::Match } else { Compare::Differs };
            }
            if count >= WWID_SIZE - 1 || wwid.get(count) != Some(&c) {
                return Compare::Differs;
            }
            count += 1;
        }
    }
}

/// Reads `file` under `root`; a missing file is an empty one.
pub fn read(root: &Path, file: &str) -> (Wwids, Vec<Diagnostic>) {
    let path = under_root(root, file);
    match std::fs::read(&path) {
        Ok(text) => parse(&text, file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => parse(b"", file),
        Err(e) => {
            let message = format!("cannot read {}: {e}; using no WWIDs", path.display());
            let origin = Origin::File { path: file.to_string(), line: 0 };
            (Wwids::default(), vec![Diagnostic { origin, message }])
        }
    }
}

/// remember_wwid: adds `/WWID/` unless the reader already finds it.
/// `Ok(true)` when added, `Ok(false)` when present. The file is opened
/// as 0.9.4 opens it (directories 0700, file 0600, header when empty,
/// locked). `Err` on a read-only file system (or any other failure):
/// callers treat it as a warning, as 0.9.4 does.
pub fn remember(root: &Path, file: &str, wwid: &str) -> Result<bool, String> {
    remember_all(root, file, &[wwid]).pop().unwrap_or(Ok(false))
}

/// [`remember`] for each WWID in turn, with the file opened, locked and
/// read once and the new lines appended in one write: a round that makes
/// a thousand maps does not read the growing file a thousand times. The
/// file ends as calling [`remember`] for each would leave it; one result
/// per WWID, in order.
pub fn remember_all(root: &Path, file: &str, wwids: &[&str]) -> Vec<Result<bool, String>> {
    if wwids.is_empty() {
        return Vec::new();
    }
    let opened = StateFile::open(root, file, HEADER).and_then(|mut state| {
        let text = state.contents()?;
        Ok((state, text))
    });
    let (mut state, text) = match opened {
        Ok(opened) => opened,
        Err(e) => return wwids.iter().map(|_| Err(e.clone())).collect(),
    };
    // The reader runs over the file as each earlier WWID left it.
    let mut known = Wwids { text };
    let mut lines = Vec::new();
    let mut results: Vec<Result<bool, String>> = wwids
        .iter()
        .map(|wwid| {
            let wwid = wwid.split('\0').next().unwrap_or_default();
            if known.contains(wwid) {
                return Ok(false);
            }
            if !state.writable {
                return Err(format!("wwids file {file} is read-only: cannot add {wwid}"));
            }
            if wwid.len() >= WWID_SIZE {
                return Err(format!("WWID {wwid} is too long for the wwids file"));
            }
            let line = format!("/{wwid}/\n");
            known.text.extend_from_slice(line.as_bytes());
            lines.extend_from_slice(line.as_bytes());
            Ok(true)
        })
        .collect();
    if !lines.is_empty() {
        if let Err(e) = state.append_line(&lines) {
            for result in results.iter_mut().filter(|r| matches!(r, Ok(true))) {
                *result = Err(e.clone());
            }
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wwids(text: &[u8]) -> Wwids {
        parse(text, "wwids").0
    }

    #[test]
    fn finds_entries_after_the_header() {
        let text = format!("{HEADER}/3600a/\n/3600b/\n");
        let w = wwids(text.as_bytes());
        assert!(w.contains("3600a"));
        assert!(w.contains("3600b"));
        assert!(!w.contains("3600"));
        assert!(!w.contains("3600ab"));
        assert!(parse(text.as_bytes(), "wwids").1.is_empty());
    }

    #[test]
    fn blank_line_swallows_the_next_line() {
        let w = wwids(b"/a/\n\n/b/\n/c/\n");
        assert!(w.contains("a"));
        assert!(!w.contains("b"), "the line after a blank one is skipped");
        assert!(w.contains("c"));
        let diags = parse(b"/a/\n\n/b/\n", "wwids").1;
        assert!(diags.iter().any(|d| d.origin == Origin::File { path: "wwids".into(), line: 2 }));
    }

    #[test]
    fn missing_closing_slash_depends_on_the_query() {
        let w = wwids(b"/abc\n/def/\n");
        // "xyz" differs at once, the rest of line 1 is skipped, line 2 read.
        assert!(w.contains("def"));
        // "abc" matches up to the newline, then the reader skips line 2.
        let w2 = wwids(b"/abc\n/abc/\n");
        assert!(!w2.contains("abc"));
    }

    #[test]
    fn text_after_the_entry_and_comments_are_ignored() {
        let w = wwids(b"# /x/\n/a/ trailing\n  /b/\n");
        assert!(!w.contains("x"));
        assert!(w.contains("a"));
        assert!(!w.contains("b"), "an indented entry is not read");
    }

    #[test]
    fn entries_of_128_bytes_never_match() {
        let ok = "w".repeat(127);
        let long = "w".repeat(128);
        assert!(wwids(format!("/{ok}/\n").as_bytes()).contains(&ok));
        assert!(!wwids(format!("/{long}/\n").as_bytes()).contains(&long));
    }

    #[test]
    fn long_line_is_read_in_pieces() {
        // One fgetc plus one fgets of 2047 bytes: the next read starts a
        // "line" at byte 2048 even though no newline came.
        let mut text = vec![b'#'; 2048];
        text.extend_from_slice(b"/hidden/\n");
        assert!(wwids(&text).contains("hidden"));
        text.insert(0, b'#');
        assert!(!wwids(&text).contains("hidden"));
    }

    use crate::test_support::TempRoot;

    #[test]
    fn remember_creates_the_file_with_its_header_and_adds_once() {
        let root = TempRoot::new("wwids-remember");
        assert_eq!(remember(&root.0, DEFAULT_FILE, "3600a"), Ok(true));
        assert_eq!(remember(&root.0, DEFAULT_FILE, "3600a"), Ok(false));
        assert_eq!(remember(&root.0, DEFAULT_FILE, "3600b"), Ok(true));
        let path = under_root(&root.0, DEFAULT_FILE);
        let text = std::fs::read_to_string(&path).expect("written");
        assert_eq!(text, format!("{HEADER}/3600a/\n/3600b/\n"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o077, 0, "file is private: {mode:o}");
        let (read_back, diags) = read(&root.0, DEFAULT_FILE);
        assert!(read_back.contains("3600b") && diags.is_empty());
    }

    #[test]
    fn remembering_together_leaves_the_file_as_one_at_a_time() {
        // A file whose last entry lacks its newline: both ways append
        // right after it, as 0.9.4 does.
        let start = format!("{HEADER}/3600a/\n/3600b/");
        let batch = ["3600c", "3600a", "3600c", "3600b", "3600d"];
        let one = TempRoot::new("wwids-one");
        let all = TempRoot::new("wwids-all");
        for root in [&one, &all] {
            std::fs::create_dir_all(root.0.join("etc/multipath")).unwrap();
            std::fs::write(root.0.join("etc/multipath/wwids"), &start).unwrap();
        }
        let singly: Vec<_> = batch.iter().map(|w| remember(&one.0, DEFAULT_FILE, w)).collect();
        let together = remember_all(&all.0, DEFAULT_FILE, &batch);
        assert_eq!(singly, together);
        // The first 3600c lands on 3600b's line, where the reader never
        // looks, so the second is added again: the quirk, both ways.
        assert_eq!(together, [Ok(true), Ok(false), Ok(true), Ok(false), Ok(true)]);
        let read = |root: &TempRoot| std::fs::read(root.0.join("etc/multipath/wwids")).unwrap();
        assert_eq!(read(&one), read(&all));
        assert!(remember_all(&all.0, DEFAULT_FILE, &[]).is_empty());
    }

    #[test]
    fn remember_rejects_overlong_wwids_and_reads_missing_as_empty() {
        let root = TempRoot::new("long");
        assert!(remember(&root.0, "/etc/multipath/wwids", &"x".repeat(128)).is_err());
        let (w, diags) = read(&root.0, "/nonexistent/wwids");
        assert!(!w.contains("x") && diags.is_empty());
    }
}
