//! `/etc/multipath/bindings`: the user_friendly_names state file.
//!
//! Each line binds an alias to a WWID (`mpatha 3600...`). multipath-tools
//! 0.9.4 reads it three ways, and each is reproduced here because each
//! gives different answers on odd files:
//! - looking up the alias of a WWID (`lookup_binding`) reads the file in
//!   `fgets` pieces of at most 2047 bytes, takes the first line with that
//!   WWID and, when there is none, picks the id of a new alias while it
//!   reads (see [`Bindings::allocate`]);
//! - looking up the WWID of an alias (`rlookup_binding`) takes the first
//!   line with that alias, passing over WWIDs longer than 127 bytes;
//! - the start-up check (`check_alias_settings`) reads whole lines, drops
//!   a later line that binds an already bound alias to another WWID (or an
//!   alias a `multipaths` entry gives to another WWID) and then rewrites
//!   the file sorted by alias; on a read-only file that is fatal.
//!
//! Everything is text up to the first `#`, CR or LF (and NUL, as in C),
//! split on spaces and tabs. Parsing is pure; the file functions at the end
//! take a root directory and lock the file as multipath-tools does.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Diagnostic, MultipathEntry, Origin};

/// Where multipath-tools keeps the file unless `bindings_file` says otherwise.
pub const DEFAULT_FILE: &str = "/etc/multipath/bindings";

/// The lines multipath-tools writes at the top of a new or rewritten file
/// (data of the file format: kept byte for byte so the files stay equal).
pub const HEADER: &str = "# Multipath bindings, Version : 1.0\n\
# NOTE: this file is automatically maintained by the multipath program.\n\
# You should not need to edit this file in normal circumstances.\n\
#\n\
# Format:\n\
# alias wwid\n\
#\n";

/// `fgets(buf, LINE_MAX, f)` returns at most this many bytes per call.
const FGETS_PIECE: usize = 2047;
/// WWIDs of this length or more do not fit multipath-tools' WWID buffer.
const WWID_SIZE: usize = 128;
/// Alias ids are C `int`s.
const ID_MAX: i64 = i32::MAX as i64;
/// Seconds multipath-tools waits for the file lock before giving up.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// One non-blank line (or `fgets` piece): its first two words and whether
/// more follow.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    alias: Vec<u8>,
    wwid: Option<Vec<u8>>,
    extra: Option<Vec<u8>>,
    line: u32,
}

/// The bindings file as multipath-tools' lookups see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bindings {
    path: String,
    /// `fgets` pieces in file order: what the lookups and allocation read.
    pieces: Vec<Entry>,
    /// Whole lines in file order: what the start-up check reads.
    lines: Vec<Entry>,
}

/// The name select_alias gives a map that has no `multipaths` alias.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alias {
    /// The file already binds the WWID to this alias.
    Bound(String),
    /// A new binding: write `alias wwid` with [`append`], then use it.
    New(String),
    /// No friendly name (read-only bindings, ids used up, an alias that is
    /// not UTF-8): the map is named by its WWID.
    Wwid,
}

/// What happens to the name of a map that already exists (`alias_old`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Keep a name: `Bound` when the file agrees already (the old alias, or
    /// another alias the file gives this WWID, and then the map is
    /// renamed), `New` when a line for the old alias must be appended.
    Keep(Alias),
    /// The file binds the old alias to another WWID: 0.9.4 logs this and
    /// chooses as for a new map ([`Bindings::select`]).
    BoundElsewhere { wwid: String },
    /// The old alias is not `prefix` + letters, or may not be written:
    /// choose as for a new map.
    Reselect,
}

/// The outcome of the start-up check of the file against the
/// configuration (`check_alias_settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// Lines dropped because a `multipaths` entry gives their alias to
    /// another WWID (the other drops are reported by [`parse`]).
    pub diagnostics: Vec<Diagnostic>,
    /// A line was dropped: 0.9.4 rewrites the file to [`Checked::contents`]
    /// and aborts (`fatal configuration error`) when it cannot.
    pub needs_rewrite: bool,
    /// The file as 0.9.4 rewrites it: header, then one `alias wwid` line
    /// per kept binding, sorted by alias, without duplicates or comments.
    pub contents: Vec<u8>,
}

/// Reads the bindings file; problems are diagnostics, never panics.
pub fn parse(text: &[u8], path: &str) -> (Bindings, Vec<Diagnostic>) {
    let mut bindings = Bindings {
        path: path.to_string(),
        ..Bindings::default()
    };
    let mut diags = Vec::new();
    for (index, raw) in physical_lines(text).enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let pieces = split_fgets(raw);
        if pieces.len() > 1 {
            diags.push(diag(path, line, format!(
                "line is longer than {FGETS_PIECE} bytes; multipath-tools reads the rest as separate lines"
            )));
        }
        bindings
            .pieces
            .extend(pieces.into_iter().filter_map(|p| tokenize(p, line)));
        if let Some(entry) = tokenize(raw, line) {
            line_diagnostics(&entry, raw, path, &mut diags);
            bindings.lines.push(entry);
        }
    }
    duplicate_diagnostics(&bindings, &mut diags);
    diags.sort_by_key(|d| match d.origin {
        Origin::File { line, .. } => line,
        Origin::Builtin => 0,
    });
    (bindings, diags)
}

impl Bindings {
    /// The alias the file gives `wwid`: the first line naming it wins.
    /// `None` as well for an alias that is not UTF-8.
    pub fn alias_of(&self, wwid: &str) -> Option<&str> {
        self.lookup(c_str(wwid.as_bytes()))
            .and_then(|a| std::str::from_utf8(a).ok())
    }

    /// The WWID the file binds `alias` to: the first line with that alias
    /// and a WWID shorter than 128 bytes.
    pub fn wwid_of(&self, alias: &str) -> Option<&str> {
        self.rlookup(c_str(alias.as_bytes()))
            .and_then(|w| std::str::from_utf8(w).ok())
    }

    /// The alias 0.9.4 would append for `wwid` when the file does not bind
    /// it (`None` when it does, or when no id is left).
    ///
    /// The id is not always the lowest free one. While reading, 0.9.4
    /// counts `id` up from 1 each time a line holds exactly the current
    /// id, and notes the biggest id seen and the smallest id above the
    /// current one. If the current id reached that smallest bigger id, it
    /// takes biggest + 1 instead. `taken(name)` must say whether a
    /// device-mapper device of another WWID already has the name (0.9.4's
    /// `dm_map_present` plus UUID check): such ids are passed over one by
    /// one, jumping to biggest + 1 on reaching the smallest bigger id.
    pub fn allocate(&self, wwid: &str, prefix: &str, taken: &dyn Fn(&str) -> bool) -> Option<String> {
        let wwid = c_str(wwid.as_bytes());
        if wwid.is_empty() || self.lookup(wwid).is_some() {
            return None;
        }
        let id = self.free_id(prefix, taken)?;
        Some(alias_for(prefix, id))
    }

    /// select_alias for a map without a `multipaths` alias and without an
    /// existing map: the bound alias, else a new one when `may_write`
    /// (false with `-B` or a read-only file), else the WWID.
    pub fn select(&self, wwid: &str, prefix: &str, may_write: bool, taken: &dyn Fn(&str) -> bool) -> Alias {
        let key = c_str(wwid.as_bytes());
        if key.is_empty() {
            return Alias::Wwid;
        }
        if let Some(alias) = self.lookup(key) {
            return match std::str::from_utf8(alias) {
                Ok(a) => Alias::Bound(a.to_string()),
                Err(_) => Alias::Wwid,
            };
        }
        match self.free_id(prefix, taken) {
            Some(id) if may_write => Alias::New(alias_for(prefix, id)),
            _ => Alias::Wwid,
        }
    }

    /// select_alias for a map that already exists under `old_alias`
    /// (`use_existing_alias`): the old name is kept when the file binds it
    /// to this WWID, or, when the file knows neither, when it is `prefix`
    /// plus letters and may be written. No device-mapper check here: the
    /// name belongs to this map already.
    pub fn existing_alias(&self, wwid: &str, old_alias: &str, prefix: &str, may_write: bool) -> Existing {
        let key = c_str(wwid.as_bytes());
        let old = c_str(old_alias.as_bytes());
        if let Some(bound) = self.rlookup(old) {
            if bound == key {
                return Existing::Keep(Alias::Bound(String::from_utf8_lossy(old).into_owned()));
            }
            return Existing::BoundElsewhere {
                wwid: String::from_utf8_lossy(bound).into_owned(),
            };
        }
        if let Some(alias) = self.lookup(key) {
            return match std::str::from_utf8(alias) {
                Ok(a) => Existing::Keep(Alias::Bound(a.to_string())),
                Err(_) => Existing::Reselect,
            };
        }
        match scan_devname(old, prefix.as_bytes()) {
            id if id > 0 && may_write => Existing::Keep(Alias::New(alias_for(prefix, id))),
            _ => Existing::Reselect,
        }
    }

    /// The start-up check against the `multipaths` entries (whose own
    /// alias conflicts the configuration step resolves first).
    pub fn check(&self, multipaths: &[MultipathEntry]) -> Checked {
        let mut kept: Vec<(&[u8], &[u8])> = Vec::new();
        let mut checked = Checked::default();
        for entry in &self.lines {
            let Some(wwid) = entry.wwid.as_deref() else { continue };
            if let Some(mpe_wwid) = mpe_wwid(multipaths, &entry.alias) {
                if mpe_wwid != wwid {
                    checked.diagnostics.push(diag(&self.path, entry.line, format!(
                        "alias \"{}\" for WWID {} conflicts with the multipaths entry for {}: multipath-tools drops this line",
                        lossy(&entry.alias), lossy(wwid), lossy(mpe_wwid)
                    )));
                    checked.needs_rewrite = true;
                    continue;
                }
            }
            match kept.binary_search_by(|(a, _)| (*a).cmp(entry.alias.as_slice())) {
                Ok(at) => checked.needs_rewrite |= kept.get(at).is_some_and(|(_, w)| *w != wwid),
                Err(at) => kept.insert(at, (&entry.alias, wwid)),
            }
        }
        checked.contents = render(&kept);
        checked
    }

    /// lookup_binding's search: the alias of the first piece with `wwid`.
    fn lookup(&self, wwid: &[u8]) -> Option<&[u8]> {
        self.pieces
            .iter()
            .find(|e| e.wwid.as_deref() == Some(wwid))
            .map(|e| e.alias.as_slice())
    }

    /// rlookup_binding: the WWID of the first piece with `alias`.
    fn rlookup(&self, alias: &[u8]) -> Option<&[u8]> {
        self.pieces
            .iter()
            .filter_map(|e| Some((e, e.wwid.as_deref()?)))
            .filter(|(_, w)| w.len() < WWID_SIZE)
            .find(|(e, _)| e.alias == alias)
            .map(|(_, w)| w)
    }

    /// lookup_binding's id choice for a WWID the file does not bind.
    fn free_id(&self, prefix: &str, taken: &dyn Fn(&str) -> bool) -> Option<i64> {
        let mut id: i64 = 1;
        let mut biggest = 1;
        let mut smallest_bigger = ID_MAX;
        for entry in &self.pieces {
            let current = scan_devname(&entry.alias, prefix.as_bytes());
            if current == id {
                if id == ID_MAX {
                    return None;
                }
                id += 1;
            }
            biggest = biggest.max(current);
            if current > id && current < smallest_bigger {
                smallest_bigger = current;
            }
        }
        if id >= smallest_bigger {
            if biggest == ID_MAX {
                return None;
            }
            id = biggest + 1;
        }
        while taken(&alias_for(prefix, id)) {
            if id == ID_MAX {
                return None;
            }
            id += 1;
            if id == smallest_bigger {
                if biggest == ID_MAX {
                    return None;
                }
                if biggest >= smallest_bigger {
                    id = biggest + 1;
                }
            }
        }
        Some(id)
    }
}

/// The id of `prefix` + letters (`a` = 1, `z` = 26, `aa` = 27, ...), as
/// scan_devname reads it: -1 when the name is not the prefix followed by
/// 1 to 7 lowercase letters or the id would not fit an `int`. Reading
/// stops at a space or tab (possible in an old map name), which may give 0.
fn scan_devname(alias: &[u8], prefix: &[u8]) -> i64 {
    let Some(rest) = alias.strip_prefix(prefix) else { return -1 };
    if rest.is_empty() || rest.len() > 7 {
        return -1;
    }
    let last_26 = ID_MAX / 26;
    let mut n: i64 = 0;
    for &c in rest.iter().take_while(|&&c| c != b' ' && c != b'\t') {
        if !c.is_ascii_lowercase() {
            return -1;
        }
        let digit = i64::from(c - b'a');
        if n > last_26 || (n == last_26 && digit >= ID_MAX % 26) {
            return -1;
        }
        n = n * 26 + digit + 1;
    }
    n
}

/// format_devname: the letters of a positive id, bijective base 26.
fn devname(mut id: i64) -> String {
    let mut letters = Vec::new();
    while id >= 1 {
        id -= 1;
        letters.push(b'a' + (id % 26) as u8);
        id /= 26;
    }
    letters.iter().rev().map(|&b| char::from(b)).collect()
}

fn alias_for(prefix: &str, id: i64) -> String {
    format!("{prefix}{}", devname(id))
}

/// The WWID the first `multipaths` entry with this alias names.
fn mpe_wwid<'a>(multipaths: &'a [MultipathEntry], alias: &[u8]) -> Option<&'a [u8]> {
    multipaths
        .iter()
        .find(|m| m.alias.as_deref().map(str::as_bytes) == Some(alias))
        .and_then(|m| m.wwid.as_deref())
        .map(str::as_bytes)
}

/// The rewritten file: header, then `alias wwid` lines.
fn render(kept: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = HEADER.as_bytes().to_vec();
    for (alias, wwid) in kept {
        out.extend_from_slice(alias);
        out.push(b' ');
        out.extend_from_slice(wwid);
        out.push(b'\n');
    }
    out
}

/// Lines with their newline; a last line without one counts too.
fn physical_lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split_inclusive(|&b| b == b'\n')
}

/// What successive `fgets(LINE_MAX)` calls return for one line.
fn split_fgets(line: &[u8]) -> Vec<&[u8]> {
    line.chunks(FGETS_PIECE).collect()
}

/// The part C string functions see: up to the first NUL.
fn c_str(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

/// The words of a line before `#`, CR or LF; `None` for a blank line.
fn tokenize(raw: &[u8], line: u32) -> Option<Entry> {
    let text = c_str(raw);
    let text = text
        .split(|&b| b == b'#' || b == b'\n' || b == b'\r')
        .next()
        .unwrap_or_default();
    let mut words = text
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty());
    let alias = words.next()?.to_vec();
    let wwid = words.next().map(<[u8]>::to_vec);
    let extra = words.next().map(<[u8]>::to_vec);
    Some(Entry { alias, wwid, extra, line })
}

/// Messages for one line on its own (the start-up check's wording of what
/// it does, plus what mpath-boot cannot use).
fn line_diagnostics(entry: &Entry, raw: &[u8], path: &str, diags: &mut Vec<Diagnostic>) {
    let line = entry.line;
    if raw.contains(&0) {
        diags.push(diag(path, line, "NUL byte: multipath-tools ignores the rest of the line".into()));
    }
    match &entry.wwid {
        None => diags.push(diag(path, line, format!(
            "missing WWID for alias \"{}\": line ignored (its alias id still counts as used)",
            lossy(&entry.alias)
        ))),
        Some(w) if w.len() >= WWID_SIZE => diags.push(diag(path, line, format!(
            "WWID of {} bytes is longer than 127: multipath-tools never finds this alias by name",
            w.len()
        ))),
        Some(_) => {}
    }
    if let Some(extra) = &entry.extra {
        diags.push(diag(path, line, format!("extra text \"{}\" after the WWID ignored", lossy(extra))));
    }
    let words_utf8 = std::str::from_utf8(&entry.alias).is_ok()
        && entry.wwid.as_deref().is_none_or(|w| std::str::from_utf8(w).is_ok());
    if !words_utf8 {
        diags.push(diag(path, line, "not UTF-8: this binding never names a map here".into()));
    }
}

/// Messages for aliases and WWIDs bound more than once.
fn duplicate_diagnostics(bindings: &Bindings, diags: &mut Vec<Diagnostic>) {
    use std::collections::HashMap;
    let path = bindings.path.as_str();
    let mut by_alias: HashMap<&[u8], (u32, &[u8])> = HashMap::new();
    let mut by_wwid: HashMap<&[u8], (u32, &[u8])> = HashMap::new();
    for entry in &bindings.lines {
        let Some(wwid) = entry.wwid.as_deref() else { continue };
        let alias = entry.alias.as_slice();
        if let Some(&(first_line, first_wwid)) = by_alias.get(alias) {
            let message = if first_wwid == wwid {
                format!("duplicate of line {first_line} for alias \"{}\"", lossy(alias))
            } else {
                format!(
                    "alias \"{}\" is bound to {} on line {first_line}: multipath-tools drops this binding to {} and rewrites the file (fatal if it cannot)",
                    lossy(alias), lossy(first_wwid), lossy(wwid)
                )
            };
            diags.push(diag(path, entry.line, message));
        } else if let Some(&(first_line, first_alias)) = by_wwid.get(wwid) {
            diags.push(diag(path, entry.line, format!(
                "WWID {} is already bound to \"{}\" on line {first_line}: the first line wins",
                lossy(wwid), lossy(first_alias)
            )));
        }
        by_alias.entry(alias).or_insert((entry.line, wwid));
        by_wwid.entry(wwid).or_insert((entry.line, alias));
    }
}

fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

fn diag(path: &str, line: u32, message: String) -> Diagnostic {
    Diagnostic {
        origin: Origin::File { path: path.to_string(), line },
        message,
    }
}

// ---------------------------------------------------------------------------
// The file itself.

/// Reads `file` under `root`; a missing file is an empty one.
pub fn read(root: &Path, file: &str) -> (Bindings, Vec<Diagnostic>) {
    let path = under_root(root, file);
    match std::fs::read(&path) {
        Ok(text) => parse(&text, file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => parse(b"", file),
        Err(e) => {
            let (bindings, _) = parse(b"", file);
            let message = format!("cannot read {}: {e}; using no bindings", path.display());
            let origin = Origin::File { path: file.to_string(), line: 0 };
            (bindings, vec![Diagnostic { origin, message }])
        }
    }
}

/// Appends `alias wwid` as allocate_binding does: the file (and its
/// directories) created as open_file creates them, locked, one write at
/// the end, cut back if that write is short.
pub fn append(root: &Path, file: &str, alias: &str, wwid: &str) -> Result<(), String> {
    let mut state = StateFile::open(root, file, HEADER)?;
    state.append_line(format!("{alias} {wwid}\n").as_bytes())
}

/// select_alias for a new map, done on the file as 0.9.4 does: the file
/// is opened (created with its header when empty), locked, read, and the
/// new binding appended under the same lock. `read_only` is `-B`.
pub fn assign(
    root: &Path,
    file: &str,
    wwid: &str,
    prefix: &str,
    read_only: bool,
    taken: &dyn Fn(&str) -> bool,
) -> Result<(Alias, Vec<Diagnostic>), String> {
    let mut state = StateFile::open(root, file, HEADER)?;
    let (bindings, diags) = parse(&state.contents()?, file);
    let alias = bindings.select(wwid, prefix, state.writable && !read_only, taken);
    if let Alias::New(name) = &alias {
        state.append_line(format!("{name} {}\n", wwid_text(wwid)).as_bytes())?;
    }
    Ok((alias, diags))
}

/// check_alias_settings on the file: rewrites it when a line must go.
/// `Err` is 0.9.4's "fatal configuration error" (a line must go but the
/// file is read-only or `-B` is given, or the rewrite failed).
pub fn check_file(
    root: &Path,
    file: &str,
    multipaths: &[MultipathEntry],
    read_only: bool,
) -> Result<Vec<Diagnostic>, String> {
    let Ok(mut state) = StateFile::open(root, file, HEADER) else {
        // 0.9.4 passes the check when the file cannot be opened.
        return Ok(Vec::new());
    };
    let (bindings, mut diags) = parse(&state.contents()?, file);
    let checked = bindings.check(multipaths);
    diags.extend(checked.diagnostics.iter().cloned());
    if !checked.needs_rewrite {
        return Ok(diags);
    }
    if !state.writable || read_only {
        return Err(format!("bad settings in read-only bindings file {file}"));
    }
    rewrite(&state.path, &checked.contents)?;
    drop(state);
    Ok(diags)
}

/// fix_bindings_file: a private temporary file next to the old one, then
/// a rename over it.
fn rewrite(path: &Path, contents: &[u8]) -> Result<(), String> {
    let temp = temp_name(path);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .map_err(|e| format!("cannot create {}: {e}", temp.display()))?;
    let written = out.write_all(contents);
    drop(out);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("failed to write new bindings file {}: {e}", temp.display()));
    }
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot rename {} to {}: {e}", temp.display(), path.display())
    })
}

/// `<file>.XXXXXX` with six characters unlikely to exist already.
fn temp_name(path: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mix = u64::from(nanos) ^ (u64::from(std::process::id()) << 20);
    let suffix: String = (0..6)
        .map(|i| char::from(b'a' + ((mix >> (i * 5)) % 26) as u8))
        .collect();
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{suffix}"));
    PathBuf::from(name)
}

/// The WWID as C's `%s` prints it: up to the first NUL.
fn wwid_text(wwid: &str) -> &str {
    wwid.split('\0').next().unwrap_or_default()
}

/// `file` (an absolute path as configured) inside `root`.
pub(crate) fn under_root(root: &Path, file: &str) -> PathBuf {
    root.join(file.trim_start_matches('/'))
}

/// A state file opened the way multipath-tools' open_file opens it.
pub(crate) struct StateFile {
    file: File,
    path: PathBuf,
    /// False on a read-only file system: no lock, no header, no writes.
    pub(crate) writable: bool,
}

impl StateFile {
    /// Creates missing directories (0700) and the file (0600); falls back
    /// to reading on a read-only file system; takes a write lock (fcntl,
    /// 30 s at most); writes `header` into an empty file and syncs it. An
    /// empty file that cannot be written is an error, as in 0.9.4.
    pub(crate) fn open(root: &Path, file: &str, header: &str) -> Result<StateFile, String> {
        let path = under_root(root, file);
        if let Some(dir) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot make directory {}: {e}", dir.display()))?;
        }
        let (file, writable) = open_rw_or_ro(&path)?;
        let state = StateFile { file, path, writable };
        if writable {
            lock(&state.file, &state.path)?;
        }
        let size = state
            .file
            .metadata()
            .map_err(|e| format!("cannot stat {}: {e}", state.path.display()))?
            .len();
        if size == 0 {
            state.write_header(header)?;
        }
        Ok(state)
    }

    fn write_header(&self, header: &str) -> Result<(), String> {
        if !self.writable {
            return Err(format!("{} is empty and read-only", self.path.display()));
        }
        let mut file = &self.file;
        if file.write(header.as_bytes()).ok() != Some(header.len()) {
            let _ = self.file.set_len(0);
            return Err(format!("cannot write header to {}", self.path.display()));
        }
        let _ = self.file.sync_all();
        Ok(())
    }

    /// The whole file, from its start.
    pub(crate) fn contents(&mut self) -> Result<Vec<u8>, String> {
        let mut text = Vec::new();
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.read_to_end(&mut text))
            .map_err(|e| format!("cannot read {}: {e}", self.path.display()))?;
        Ok(text)
    }

    /// One write at the end of the file; a short write is cut back off.
    pub(crate) fn append_line(&mut self, line: &[u8]) -> Result<(), String> {
        if !self.writable {
            return Err(format!("{} is on a read-only file system", self.path.display()));
        }
        let offset = self
            .file
            .seek(SeekFrom::End(0))
            .map_err(|e| format!("cannot seek to the end of {}: {e}", self.path.display()))?;
        match self.file.write(line) {
            Ok(n) if n == line.len() => Ok(()),
            outcome => {
                let _ = self.file.set_len(offset);
                let why = outcome.err().map_or_else(|| "short write".to_string(), |e| e.to_string());
                Err(format!("cannot write to {}: {why}", self.path.display()))
            }
        }
    }
}

/// Read-write with create (mode 0600); read-only on EROFS.
fn open_rw_or_ro(path: &Path) -> Result<(File, bool), String> {
    let rw = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path);
    match rw {
        Ok(f) => Ok((f, true)),
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => File::open(path)
            .map(|f| (f, false))
            .map_err(|e| format!("cannot open {} read-only: {e}", path.display())),
        Err(e) => Err(format!("cannot open {}: {e}", path.display())),
    }
}

/// A whole-file POSIX write lock (F_WRLCK from offset 0, length 0), as
/// 0.9.4 takes with F_SETLKW under a 30-second alarm; polled here so no
/// signal handler is needed. Released when the file is closed.
fn lock(file: &File, path: &Path) -> Result<(), String> {
    use rustix::fs::{fcntl_lock, FlockOperation};
    use rustix::io::Errno;
    let deadline = Instant::now() + LOCK_TIMEOUT;
    loop {
        match fcntl_lock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(Errno::ACCESS | Errno::AGAIN) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(Errno::ACCESS | Errno::AGAIN) => {
                return Err(format!("{} is locked. Giving up.", path.display()));
            }
            Err(e) => return Err(format!("cannot lock {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTHING_TAKEN: &dyn Fn(&str) -> bool = &|_| false;

    fn bindings(text: &str) -> Bindings {
        parse(text.as_bytes(), "bindings").0
    }

    fn next_alias(text: &str, prefix: &str) -> Option<String> {
        bindings(text).allocate("3600new", prefix, NOTHING_TAKEN)
    }

    /// A file binding `prefix` + each of `letters`, in that order.
    fn file_of(prefix: &str, ids: &[i64]) -> String {
        ids.iter().map(|&id| format!("{} 3600{id}\n", alias_for(prefix, id))).collect()
    }

    #[test]
    fn devname_counts_in_bijective_base_26() {
        assert_eq!(devname(1), "a");
        assert_eq!(devname(26), "z");
        assert_eq!(devname(27), "aa");
        assert_eq!(devname(702), "zz");
        assert_eq!(devname(703), "aaa");
        for id in [1, 26, 27, 702, 703, 18278, 18279, 123_456_789, ID_MAX] {
            assert_eq!(scan_devname(alias_for("mpath", id).as_bytes(), b"mpath"), id);
        }
    }

    #[test]
    fn scan_rejects_what_is_not_prefix_and_letters() {
        for bad in ["mpath", "mpathA", "mpath1", "mpatha1", "root", "mpat", "mpathabcdefgh"] {
            assert_eq!(scan_devname(bad.as_bytes(), b"mpath"), -1, "{bad}");
        }
        // One past INT_MAX does not fit.
        let too_big = alias_for("mpath", ID_MAX + 1);
        assert_eq!(scan_devname(too_big.as_bytes(), b"mpath"), -1);
        // An old map name with a space: reading stops there.
        assert_eq!(scan_devname(b"mpathb x", b"mpath"), 2);
        assert_eq!(scan_devname(b"mpath x", b"mpath"), 0);
    }

    #[test]
    fn allocation_sequences() {
        assert_eq!(next_alias("", "mpath").as_deref(), Some("mpatha"));
        assert_eq!(next_alias(HEADER, "mpath").as_deref(), Some("mpatha"));
        assert_eq!(next_alias("mpatha w1\nmpathb w2\n", "mpath").as_deref(), Some("mpathc"));
        // Out of order but complete: still the next one.
        assert_eq!(next_alias("mpathc w3\nmpatha w1\nmpathb w2\n", "mpath").as_deref(), Some("mpathd"));
        let all_letters: Vec<i64> = (1..=26).collect();
        assert_eq!(next_alias(&file_of("mpath", &all_letters), "mpath").as_deref(), Some("mpathaa"));
    }

    #[test]
    fn a_gap_is_filled_only_when_seen_before_the_bigger_ids() {
        // mpathb is free and comes first after mpatha: taken.
        assert_eq!(next_alias("mpatha w1\nmpathc w3\n", "mpath").as_deref(), Some("mpathb"));
        // 0.9.4: b then d then a; id climbs to 2 = smallest id seen above
        // it, so it jumps to biggest + 1 although mpathc is free.
        assert_eq!(next_alias("mpathb w2\nmpathd w4\nmpatha w1\n", "mpath").as_deref(), Some("mpathe"));
        // No mpatha at all: the lowest id is free and chosen.
        assert_eq!(next_alias("mpathb w2\nmpathd w4\n", "mpath").as_deref(), Some("mpatha"));
    }

    #[test]
    fn prefix_and_custom_names() {
        let text = "mpatha w1\ndataa w2\nroot w3\nmpathA w4\nmpath7 w5\n";
        assert_eq!(next_alias(text, "data").as_deref(), Some("datab"));
        assert_eq!(next_alias(text, "mpath").as_deref(), Some("mpathb"));
        // An empty prefix makes every short lowercase alias an id.
        assert_eq!(next_alias("a w1\nb w2\nroot w3\n", "").as_deref(), Some("c"));
    }

    #[test]
    fn a_line_without_wwid_still_uses_its_id() {
        assert_eq!(next_alias("mpatha\nmpathb w2\n", "mpath").as_deref(), Some("mpathc"));
    }

    #[test]
    fn taken_names_are_passed_over() {
        let taken = |n: &str| n == "mpatha" || n == "mpathb";
        assert_eq!(bindings("").allocate("w", "mpath", &taken).as_deref(), Some("mpathc"));
        // Passing over the gap reaches the smallest bigger id: biggest + 1.
        let taken_b = |n: &str| n == "mpathb";
        assert_eq!(
            bindings("mpatha w1\nmpathc w3\n").allocate("w", "mpath", &taken_b).as_deref(),
            Some("mpathd")
        );
    }

    #[test]
    fn bound_wwids_are_not_allocated_again() {
        let b = bindings("mpatha w1\nmpathb w2\n");
        assert_eq!(b.allocate("w2", "mpath", NOTHING_TAKEN), None);
        assert_eq!(b.select("w2", "mpath", true, NOTHING_TAKEN), Alias::Bound("mpathb".into()));
        assert_eq!(b.select("w3", "mpath", true, NOTHING_TAKEN), Alias::New("mpathc".into()));
    }

    #[test]
    fn ids_run_out_at_int_max() {
        let max = alias_for("mpath", ID_MAX);
        let text = format!("mpathb w2\n{max} wmax\nmpatha w1\n");
        assert_eq!(next_alias(&text, "mpath"), None);
        assert_eq!(bindings(&text).select("w", "mpath", true, NOTHING_TAKEN), Alias::Wwid);
        // INT_MAX seen but no gap to jump from: the low ids stay usable.
        assert_eq!(next_alias(&format!("{max} wmax\n"), "mpath").as_deref(), Some("mpatha"));
    }

    #[test]
    fn read_only_mode_names_unbound_maps_by_wwid() {
        let b = bindings("mpatha w1\n");
        assert_eq!(b.select("w1", "mpath", false, NOTHING_TAKEN), Alias::Bound("mpatha".into()));
        assert_eq!(b.select("w2", "mpath", false, NOTHING_TAKEN), Alias::Wwid);
        assert_eq!(b.select("", "mpath", true, NOTHING_TAKEN), Alias::Wwid);
    }

    #[test]
    fn lookups_take_the_first_line() {
        let b = bindings("# c\nmpatha w1 extra\n\nmpathb w1\nmpatha w2\r\nx\twtab # note\n");
        assert_eq!(b.alias_of("w1"), Some("mpatha"));
        assert_eq!(b.wwid_of("mpatha"), Some("w1"));
        assert_eq!(b.alias_of("w2"), Some("mpatha"));
        assert_eq!(b.alias_of("wtab"), Some("x"));
        assert_eq!(b.alias_of("w9"), None);
        // rlookup passes over WWIDs of 128 bytes or more.
        let long = "w".repeat(128);
        let b = bindings(&format!("mpatha {long}\nmpatha short\n"));
        assert_eq!(b.wwid_of("mpatha"), Some("short"));
        assert_eq!(b.alias_of(&long), Some("mpatha"));
    }

    #[test]
    fn diagnostics_name_each_odd_line() {
        let text = b"mpatha w1\nmpathb\nmpathc w3 extra\nmpatha w1\nmpatha w9\nmpathd w1\nmpath\xffe w5\n";
        let (_, diags) = parse(text, "b");
        let lines: Vec<u32> = diags
            .iter()
            .filter_map(|d| match d.origin {
                Origin::File { line, .. } => Some(line),
                Origin::Builtin => None,
            })
            .collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7], "{diags:?}");
        assert!(diags.iter().any(|d| d.message.contains("missing WWID")));
        assert!(diags.iter().any(|d| d.message.contains("extra")));
        assert!(diags.iter().any(|d| d.message.contains("drops this binding")));
        assert!(diags.iter().any(|d| d.message.contains("first line wins")));
        assert!(diags.iter().any(|d| d.message.contains("UTF-8")));
        assert!(parse(format!("{HEADER}mpatha w1\n").as_bytes(), "b").1.is_empty());
    }

    #[test]
    fn a_long_line_is_read_in_pieces() {
        // The second fgets piece starts with "mpathb": it holds an id.
        let mut text = format!("mpatha w1 {}", "x".repeat(FGETS_PIECE - 10));
        assert_eq!(text.len(), FGETS_PIECE);
        text.push_str("mpathb\n");
        let (b, diags) = parse(text.as_bytes(), "b");
        assert_eq!(b.allocate("w", "mpath", NOTHING_TAKEN).as_deref(), Some("mpathc"));
        assert!(diags.iter().any(|d| d.message.contains("longer")));
    }

    #[test]
    fn nul_ends_the_line_as_in_c() {
        let b = bindings("mpatha\0 w1\nmpathb w2\0junk\n");
        assert_eq!(b.alias_of("w1"), None);
        assert_eq!(b.alias_of("w2"), Some("mpathb"));
        assert_eq!(b.allocate("w", "mpath", NOTHING_TAKEN).as_deref(), Some("mpathc"));
    }

    #[test]
    fn existing_alias_rules() {
        let b = bindings("mpatha w1\nmpathb w2\n");
        assert_eq!(b.existing_alias("w1", "mpatha", "mpath", true), Existing::Keep(Alias::Bound("mpatha".into())));
        assert_eq!(b.existing_alias("w3", "mpatha", "mpath", true), Existing::BoundElsewhere { wwid: "w1".into() });
        // The file binds the WWID to another alias: that alias wins (rename).
        assert_eq!(b.existing_alias("w2", "mpathz", "mpath", true), Existing::Keep(Alias::Bound("mpathb".into())));
        // Unknown to the file: kept when it is prefix + letters and writable.
        assert_eq!(b.existing_alias("w4", "mpathk", "mpath", true), Existing::Keep(Alias::New("mpathk".into())));
        assert_eq!(b.existing_alias("w4", "mpathk", "mpath", false), Existing::Reselect);
        assert_eq!(b.existing_alias("w4", "mydisk", "mpath", true), Existing::Reselect);
    }

    #[test]
    fn check_drops_conflicts_and_sorts() {
        let b = bindings("mpathb w2\nmpatha w1\nmpatha w1\nmpathc\n");
        let checked = b.check(&[]);
        assert!(!checked.needs_rewrite, "duplicates alone are not rewritten");
        let b = bindings("mpathb w2\nmpatha w1\nmpathb w9 extra\n");
        let checked = b.check(&[]);
        assert!(checked.needs_rewrite);
        assert_eq!(checked.contents, format!("{HEADER}mpatha w1\nmpathb w2\n").into_bytes());
        let mpe = MultipathEntry {
            wwid: Some("w7".into()),
            alias: Some("mpatha".into()),
            ..MultipathEntry::default()
        };
        let checked = b.check(&[mpe]);
        assert_eq!(checked.contents, format!("{HEADER}mpathb w2\n").into_bytes());
        assert_eq!(checked.diagnostics.len(), 1);
    }

    use crate::test_support::TempRoot;

    #[test]
    fn append_creates_directory_file_and_header() {
        use std::os::unix::fs::PermissionsExt;
        let root = TempRoot::new("bindings-append");
        append(&root.0, DEFAULT_FILE, "mpatha", "3600a").expect("append");
        append(&root.0, DEFAULT_FILE, "mpathb", "3600b").expect("append");
        let path = under_root(&root.0, DEFAULT_FILE);
        let text = std::fs::read_to_string(&path).expect("written");
        assert_eq!(text, format!("{HEADER}mpatha 3600a\nmpathb 3600b\n"));
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o077, 0, "file mode {mode:o}");
        let dir_mode = std::fs::metadata(path.parent().expect("dir")).expect("stat").permissions().mode();
        assert_eq!(dir_mode & 0o077, 0, "directory mode {dir_mode:o}");
        let (b, diags) = read(&root.0, DEFAULT_FILE);
        assert!(diags.is_empty());
        assert_eq!(b.alias_of("3600b"), Some("mpathb"));
    }

    #[test]
    fn assign_binds_once_and_honours_read_only() {
        let root = TempRoot::new("bindings-assign");
        let assign_to = |wwid: &str, read_only| {
            assign(&root.0, DEFAULT_FILE, wwid, "mpath", read_only, NOTHING_TAKEN).expect("assign").0
        };
        assert_eq!(assign_to("w1", false), Alias::New("mpatha".into()));
        assert_eq!(assign_to("w1", false), Alias::Bound("mpatha".into()));
        assert_eq!(assign_to("w2", true), Alias::Wwid);
        assert_eq!(assign_to("w2", false), Alias::New("mpathb".into()));
        let (b, _) = read(&root.0, DEFAULT_FILE);
        assert_eq!(b.wwid_of("mpathb"), Some("w2"));
    }

    #[test]
    fn check_file_rewrites_or_fails_when_read_only() {
        let root = TempRoot::new("bindings-check");
        let path = under_root(&root.0, DEFAULT_FILE);
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        std::fs::write(&path, "mpathb w2\nmpathb w3\n").expect("write");
        assert!(check_file(&root.0, DEFAULT_FILE, &[], true).is_err());
        let diags = check_file(&root.0, DEFAULT_FILE, &[], false).expect("fixed");
        assert!(!diags.is_empty());
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, format!("{HEADER}mpathb w2\n"));
        let (missing, diags) = read(&root.0, "/etc/other/bindings");
        assert_eq!(missing, parse(b"", "/etc/other/bindings").0);
        assert!(diags.is_empty());
    }
}
