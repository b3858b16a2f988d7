//! Finds and reads the configuration files under a root directory, in
//! multipath-tools 0.9.4's order (libmultipath/config.c):
//! `/etc/multipath.conf`, then every `/etc/multipath/conf.d/*.conf`.
//!
//! conf.d names are sorted by `alphasort` (strcmp order: multipath never
//! sets a locale) and a name is used when its last `.` starts exactly
//! `.conf`. Messages name the path on the target system, not the
//! root-prefixed path of the host.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{keywords, parse, Config, Diagnostic, Origin};

/// The main configuration file, relative to the root.
pub const MAIN_FILE: &str = "/etc/multipath.conf";
/// The directory of additional files, relative to the root.
pub const CONF_DIR: &str = "/etc/multipath/conf.d";
/// Bytes read from one file at most; a larger file is read up to the last
/// full line before this size, with a diagnostic.
pub const MAX_FILE_SIZE: u64 = 4 << 20;

/// Everything [`load_all`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
    /// `/etc/multipath.conf` or at least one conf.d file existed.
    pub found: bool,
    /// multipath-tools 0.9.4 would refuse to start with this
    /// configuration: /etc/multipath.conf exists but cannot be read, or
    /// one of its handlers failed (a blacklist pattern that is not a valid regex,
    /// a bad `reservation_key`).
    pub main_rejected: bool,
}

/// Reads the configuration under `root`: the config, its diagnostics, and
/// whether a configuration file existed.
pub fn load(root: &Path) -> (Config, Vec<Diagnostic>, bool) {
    let loaded = load_all(root);
    (loaded.config, loaded.diagnostics, loaded.found)
}

/// [`load`] with the verdict multipath-tools would reach on the main file.
pub fn load_all(root: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    let main = root.join(MAIN_FILE.trim_start_matches('/'));
    // multipath-tools checks with stat(): a dangling symlink is no file.
    if main.metadata().is_ok() {
        loaded.found = true;
        match read_capped(&main, MAIN_FILE, &mut loaded.diagnostics) {
            Some(bytes) => {
                let failures = apply_bytes(&bytes, MAIN_FILE, &mut loaded);
                loaded.main_rejected = failures > 0;
            }
            None => loaded.main_rejected = true,
        }
    }
    for name in conf_d_names(root, &mut loaded.diagnostics) {
        loaded.found = true;
        let shown = format!("{CONF_DIR}/{name}");
        let path = root.join(CONF_DIR.trim_start_matches('/')).join(&name);
        if let Some(bytes) = read_capped(&path, &shown, &mut loaded.diagnostics) {
            apply_bytes(&bytes, &shown, &mut loaded);
        }
    }
    keywords::finish(&mut loaded.config, &mut loaded.diagnostics);
    loaded
}

/// Parses and applies one file; returns the number of failed handlers.
fn apply_bytes(bytes: &[u8], shown: &str, loaded: &mut Loaded) -> u32 {
    let (nodes, diagnostics) = parse::parse(bytes, shown);
    loaded.diagnostics.extend(diagnostics);
    keywords::apply_file(&nodes, shown, &mut loaded.config, &mut loaded.diagnostics).handler_failures
}

fn file_problem(shown: &str, line: u32, message: String) -> Diagnostic {
    Diagnostic { origin: Origin::File { path: shown.to_owned(), line }, message }
}

/// Reads at most [`MAX_FILE_SIZE`] bytes (cut at the last newline when
/// the file is larger). `None` when the file cannot be read.
fn read_capped(path: &Path, shown: &str, diagnostics: &mut Vec<Diagnostic>) -> Option<Vec<u8>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            diagnostics.push(file_problem(shown, 0, format!("couldn't open configuration file: {e}")));
            return None;
        }
    };
    let mut bytes = Vec::new();
    match file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes) {
        Ok(_) => {}
        // A directory opens but does not read: like fgets, see no lines.
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => return Some(Vec::new()),
        Err(e) => {
            diagnostics.push(file_problem(shown, 0, format!("couldn't read configuration file: {e}")));
            return None;
        }
    }
    if bytes.len() as u64 > MAX_FILE_SIZE {
        bytes.truncate(MAX_FILE_SIZE as usize);
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(keep);
        let lines = u32::try_from(parse::line_count(&bytes)).unwrap_or(u32::MAX);
        diagnostics.push(file_problem(
            shown,
            lines.max(1),
            format!("file is larger than {MAX_FILE_SIZE} bytes; the rest after this line is ignored"),
        ));
    }
    Some(bytes)
}

/// The conf.d file names multipath-tools reads, in its order. A missing
/// directory is normal; another error is reported.
fn conf_d_names(root: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<String> {
    let dir = root.join(CONF_DIR.trim_start_matches('/'));
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            let message = format!("couldn't open configuration dir: {e}");
            diagnostics.push(file_problem(CONF_DIR, 0, message));
            return Vec::new();
        }
    };
    let mut names: Vec<Vec<u8>> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().as_bytes().to_vec())
        .filter(|name| is_conf_name(name))
        .collect();
    names.sort();
    names.into_iter().map(|n| String::from_utf8_lossy(&n).into_owned()).collect()
}

/// config.c takes a name when the text from its last `.` is `.conf`.
fn is_conf_name(name: &[u8]) -> bool {
    name.iter()
        .rposition(|&b| b == b'.')
        .and_then(|dot| name.get(dot..))
        .is_some_and(|ext| ext == b".conf")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NoPathRetry;

    use crate::test_support::TempRoot;

    /// A temp root with `etc/multipath/conf.d` made.
    fn conf_root(tag: &str) -> TempRoot {
        let root = TempRoot::new(&format!("load-{tag}"));
        std::fs::create_dir_all(root.0.join("etc/multipath/conf.d")).unwrap();
        root
    }

    fn write(root: &TempRoot, relative: &str, bytes: &[u8]) {
        std::fs::write(root.0.join(relative), bytes).unwrap();
    }

    #[test]
    fn nothing_there_is_not_an_error() {
        let root = conf_root("empty");
        let (config, diags, found) = load(&root.0);
        assert_eq!(config, Config::default());
        assert!(diags.is_empty(), "{diags:?}");
        assert!(!found);
        let (_, diags, found) = load(&root.0.join("no/such/root"));
        assert!(diags.is_empty() && !found);
    }

    #[test]
    fn conf_d_is_read_after_main_in_strcmp_order_and_filtered() {
        let root = conf_root("order");
        write(&root, "etc/multipath.conf", b"defaults {\n no_path_retry 1\n}\n");
        write(&root, "etc/multipath/conf.d/b.conf", b"defaults {\n no_path_retry 3\n}\n");
        write(&root, "etc/multipath/conf.d/B.conf", b"defaults {\n no_path_retry 2\n}\n");
        write(&root, "etc/multipath/conf.d/c.conf.bak", b"defaults {\n no_path_retry 9\n}\n");
        write(&root, "etc/multipath/conf.d/z.CONF", b"defaults {\n no_path_retry 9\n}\n");
        write(&root, "etc/multipath/conf.d/a.conf", b"defaults {\n no_path_retry queue\n bogus 1\n}\n");
        let (config, diags, found) = load(&root.0);
        assert!(found);
        // Order: main, B.conf, a.conf, b.conf: the last one wins.
        assert_eq!(config.defaults.attrs.no_path_retry, Some(NoPathRetry::Retries(3)));
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].origin,
            Origin::File { path: "/etc/multipath/conf.d/a.conf".into(), line: 3 }
        );
    }

    #[test]
    fn names_filter() {
        assert!(is_conf_name(b"x.conf"));
        assert!(is_conf_name(b".conf"));
        assert!(is_conf_name(b"a.b.conf"));
        assert!(!is_conf_name(b"x.conf~"));
        assert!(!is_conf_name(b"conf"));
        assert!(!is_conf_name(b"x.conf.d"));
    }

    #[test]
    fn origins_are_target_paths() {
        let root = conf_root("origin");
        write(&root, "etc/multipath.conf", b"blacklist {\n wwid 36\n}\n");
        let (config, _, _) = load(&root.0);
        assert_eq!(config.blacklist.wwid[0].origin, Origin::File { path: MAIN_FILE.into(), line: 2 });
    }

    #[test]
    fn oversized_file_is_cut_at_a_line_with_a_diagnostic() {
        let root = conf_root("big");
        let mut text = b"defaults {\n verbosity 2\n}\n".to_vec();
        let filler = b"# padding padding padding padding padding padding padding\n";
        while (text.len() as u64) <= MAX_FILE_SIZE + 1000 {
            text.extend_from_slice(filler);
        }
        text.extend_from_slice(b"defaults {\n verbosity 4\n}\n");
        write(&root, "etc/multipath.conf", &text);
        let loaded = load_all(&root.0);
        assert_eq!(loaded.config.defaults.verbosity, Some(2));
        assert!(loaded.diagnostics.iter().any(|d| d.message.contains("larger than")));
        assert!(!loaded.main_rejected);
    }

    #[test]
    fn unreadable_main_file_is_reported_and_rejected() {
        use std::os::unix::fs::PermissionsExt;
        let root = conf_root("unreadable");
        write(&root, "etc/multipath.conf", b"defaults {\n verbosity 2\n}\n");
        let main = root.0.join("etc/multipath.conf");
        std::fs::set_permissions(&main, std::fs::Permissions::from_mode(0o000)).unwrap();
        if File::open(&main).is_ok() {
            return; // running as root: nothing is unreadable
        }
        let loaded = load_all(&root.0);
        assert!(loaded.found);
        assert!(loaded.main_rejected);
        assert_eq!(loaded.config.defaults.verbosity, None);
        assert!(loaded.diagnostics.iter().any(|d| d.message.contains("couldn't open")));
    }

    #[test]
    fn dangling_symlink_is_no_file() {
        let root = conf_root("dangling");
        std::os::unix::fs::symlink("/nonexistent/target", root.0.join("etc/multipath.conf")).unwrap();
        let loaded = load_all(&root.0);
        assert!(!loaded.found && !loaded.main_rejected);
        assert!(loaded.diagnostics.is_empty());
    }

    #[test]
    fn bad_blacklist_regex_in_main_file_is_a_rejection_but_not_in_conf_d() {
        let root = conf_root("regex");
        write(&root, "etc/multipath/conf.d/x.conf", b"blacklist {\n devnode \"(\"\n}\n");
        let loaded = load_all(&root.0);
        assert!(!loaded.main_rejected);
        write(&root, "etc/multipath.conf", b"blacklist {\n devnode \"(\"\n}\n");
        let loaded = load_all(&root.0);
        assert!(loaded.main_rejected);
    }
}
