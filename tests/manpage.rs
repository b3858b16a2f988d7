//! The manual page, `initramfs-hooks/mpath-boot.8`, on the host (no VM):
//! man-db and groff render it without a warning; it documents exactly the
//! options `mpath-boot --help` prints, the kernel command line keys
//! `src/bootargs.rs` accepts, the exit statuses `src/main.rs` returns, the
//! files and environment variables the sources name; and
//! `initramfs-hooks/install` puts it where man looks.
//!
//! Needs `man` and `lexgrog` (man-db) and `groff` (groff-base): a machine
//! without them fails these tests, it does not skip them (`.ci/run`
//! installs both packages).

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn page() -> PathBuf {
    repo().join("initramfs-hooks/mpath-boot.8")
}

fn source(path: &str) -> String {
    let file = repo().join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()))
}

/// Source text before its `#[cfg(test)]` module, so test fixtures are not
/// taken for what the program does.
fn non_test_source(path: &str) -> String {
    let text = source(path);
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Runs a tool the test needs; a missing tool fails the test, loudly.
fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(program);
    // Plain text when not writing to a terminal, whatever the caller's setting.
    command.args(args).env_remove("MAN_KEEP_FORMATTING");
    for (key, value) in env {
        command.env(key, value);
    }
    match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "`{program}` is not installed ({e}): the man page tests need man-db and groff-base \
             (apt-get install man-db groff-base; .ci/run installs them)"
        ),
        Err(e) => panic!("cannot run {program}: {e}"),
    }
}

/// The page as `man -l` shows it on an 80-column terminal, in `encoding`
/// (`UTF-8` or `ascii`), with groff's warnings on. Fails on any warning or
/// a non-zero exit. `no_hyphenation` turns automatic hyphenation off (for
/// text searches; a line may still break after a hyphen in the source).
fn render(encoding: &str, no_hyphenation: bool) -> String {
    let page = page();
    let page = page.to_str().expect("UTF-8 path");
    let mut env = vec![
        ("MANWIDTH", "80"),
        // A known locale: man-db complains on stderr about a missing one.
        ("LC_ALL", "C.UTF-8"),
        // man-db's seccomp sandbox fails in some containers; it guards
        // against hostile pages, not this one.
        ("MAN_DISABLE_SECCOMP", "1"),
    ];
    if no_hyphenation {
        env.push(("MANROFFOPT", "-rHY=0"));
    }
    // `w` is every groff warning; groff's `all` leaves out `mac` (undefined
    // macros), `di` and `reg`.
    let out = run("man", &["--warnings=w", "-E", encoding, "-l", page], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "man -l {page} failed: {:?}\n{stderr}",
        out.status
    );
    assert!(stderr.trim().is_empty(), "man -l {page} warns:\n{stderr}");
    let text = String::from_utf8(out.stdout).expect("man prints UTF-8");
    assert!(!text.trim().is_empty(), "man -l {page} printed nothing");
    plain(&text)
}

/// Drops overstrike (`x\bx`, `_\bx`) and SGR escapes, should man leave any.
fn plain(text: &str) -> String {
    let mut out: Vec<char> = Vec::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{8}' => {
                out.pop();
            }
            '\u{1b}' => {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out.into_iter().collect()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The lines of section `name` (after its heading, up to the next one).
fn section<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| *l != name);
    assert!(
        lines.next().is_some(),
        "the page has no {name} section:\n{text}"
    );
    lines
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

/// A section's text as one line: lines joined with a space, or with
/// nothing after a line that ends in a hyphen (groff broke a word there).
fn flowed(lines: &[&str]) -> String {
    let mut text = String::new();
    for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if !text.is_empty() && !text.ends_with('-') {
            text.push(' ');
        }
        text.push_str(line);
    }
    text
}

/// The tags of a section's `.TP` paragraphs: lines at the section indent
/// (7) whose next line is a deeper-indented body.
fn tags(lines: &[&str]) -> Vec<String> {
    lines
        .windows(2)
        .filter(|w| indent(w[0]) == 7 && !w[1].trim().is_empty() && indent(w[1]) >= 14)
        .map(|w| w[0].trim().to_owned())
        .collect()
}

/// One option as a usage head shows it: `-f, --flush NAME`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Opt {
    long: String,
    short: Option<char>,
    value: Option<String>,
}

/// Parses `-x, --long VALUE` (text after two spaces is a description).
fn parse_head(line: &str) -> Opt {
    let head = line.trim().split("  ").next().unwrap_or_default();
    let mut opt = Opt {
        long: String::new(),
        short: None,
        value: None,
    };
    for word in head.split_whitespace() {
        if let Some(long) = word.strip_prefix("--") {
            opt.long = long.to_owned();
        } else if let Some(short) = word.strip_prefix('-') {
            let short = short.trim_end_matches(',');
            assert_eq!(short.chars().count(), 1, "odd short option in {line:?}");
            opt.short = short.chars().next();
        } else {
            assert!(opt.value.is_none(), "two values in {line:?}");
            opt.value = Some(word.to_owned());
        }
    }
    assert!(!opt.long.is_empty(), "no long option in {line:?}");
    opt
}

fn help() -> String {
    let out = run(env!("CARGO_BIN_EXE_mpath-boot"), &["--help"], &[]);
    assert_eq!(out.status.code(), Some(0), "mpath-boot --help");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// Every option head of `--help` (lines that start, slightly indented, with `-`).
fn help_options(help: &str) -> BTreeSet<Opt> {
    help.lines()
        .filter(|l| (1..=6).contains(&indent(l)) && l.trim_start().starts_with('-'))
        .map(parse_head)
        .collect()
}

#[test]
fn groff_formats_the_page_without_warnings() {
    let page = page();
    let out = run(
        "groff",
        &[
            "-man",
            "-ww",
            "-wall",
            "-z",
            "-Tutf8",
            page.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "groff failed: {:?}\n{stderr}",
        out.status
    );
    assert!(stderr.trim().is_empty(), "groff warns:\n{stderr}");
}

#[test]
fn man_renders_the_page_without_warnings_in_80_columns() {
    for encoding in ["UTF-8", "ascii"] {
        let text = render(encoding, false);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{encoding}: line wider than 80 columns: {line:?}"
            );
        }
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("MPATH-BOOT(8)") && first.ends_with("MPATH-BOOT(8)"),
            "header: {first:?}"
        );
        // The footer carries the version the binary reports.
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        let version = format!("mpath-boot {}", env!("CARGO_PKG_VERSION"));
        assert!(
            last.starts_with(&version),
            "footer {last:?} lacks {version:?}"
        );
        if encoding == "ascii" {
            assert!(text.is_ascii(), "-E ascii rendered non-ASCII text");
        }
        let headings: Vec<&str> = text
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty() && !l.starts_with(' ') && *l != last)
            .collect();
        assert_eq!(
            headings,
            [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "KERNEL COMMAND LINE",
                "FILES",
                "ENVIRONMENT",
                "EXIT STATUS",
                "EXAMPLES",
                "DIFFERENCES FROM MULTIPATH",
                "SEE ALSO",
            ],
            "{encoding}: sections"
        );
        let see_also = flowed(&section(&text, "SEE ALSO"));
        for page in [
            "multipath(8)",
            "multipath.conf(5)",
            "multipathd(8)",
            "dmsetup(8)",
            "kpartx(8)",
        ] {
            assert!(see_also.contains(page), "SEE ALSO lacks {page}: {see_also}");
        }
    }
}

#[test]
fn whatis_finds_the_name_line() {
    // What mandb stores for whatis(1) and apropos(1): a malformed NAME
    // section gives nothing (and mandb a warning).
    let page = page();
    let out = run(
        "lexgrog",
        &[page.to_str().unwrap()],
        &[("LC_ALL", "C.UTF-8")],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "lexgrog: {:?} {stdout} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("\"mpath-boot - assemble device-mapper multipath maps"),
        "lexgrog: {stdout}"
    );
}

#[test]
fn options_section_documents_exactly_the_options_of_help() {
    let help = help();
    let wanted = help_options(&help);
    assert!(
        wanted.len() >= 20,
        "parsed only {} options from --help:\n{help}",
        wanted.len()
    );
    let text = render("ascii", true);
    let options = section(&text, "OPTIONS");
    let heads = tags(&options);
    let documented: Vec<Opt> = heads
        .iter()
        .filter(|t| t.starts_with('-'))
        .map(|t| parse_head(t))
        .collect();
    let documented_set: BTreeSet<Opt> = documented.iter().cloned().collect();
    assert_eq!(
        documented.len(),
        documented_set.len(),
        "an option is documented twice: {documented:?}"
    );
    let missing: Vec<&Opt> = wanted.difference(&documented_set).collect();
    let stale: Vec<&Opt> = documented_set.difference(&wanted).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "OPTIONS differs from --help (same short option, long option and value name expected)\n\
         in --help, not in the page: {missing:?}\nin the page, not in --help: {stale:?}"
    );
    // Every tag of the section is an option.
    assert!(
        heads.iter().all(|t| t.starts_with('-')),
        "non-option tags in OPTIONS: {heads:?}"
    );

    // The synopsis names only real options, and every option.
    let synopsis = flowed(&section(&text, "SYNOPSIS"));
    let mut named = BTreeSet::new();
    for word in synopsis.split_whitespace() {
        let word = word.trim_matches(|c| matches!(c, '[' | ']' | '|' | '.'));
        if word.starts_with('-') && word.len() > 1 {
            named.insert(word.to_owned());
        }
    }
    for word in &named {
        let known = wanted.iter().any(|o| {
            word.strip_prefix("--") == Some(o.long.as_str())
                || (!word.starts_with("--")
                    && o.short.map(|c| format!("-{c}")).as_deref() == Some(word.as_str()))
        });
        assert!(known, "SYNOPSIS names {word}, which --help does not know");
    }
    for opt in &wanted {
        let short = opt.short.map(|c| format!("-{c}"));
        let shown =
            named.contains(&format!("--{}", opt.long)) || short.is_some_and(|s| named.contains(&s));
        assert!(shown, "SYNOPSIS lacks --{}: {synopsis}", opt.long);
    }
}

/// What the little Rust lexer below sees: string literals (with the byte
/// offset just after them), braces, and nothing else.
#[derive(Debug)]
enum Token {
    Str(String, usize),
    Open,
    Close,
}

/// The string literals and braces of Rust source, skipping comments, char
/// literals (`'"'`) and lifetimes. Enough for this crate's sources.
fn lex(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                if bytes.get(i + 1) == Some(&b'\\') {
                    // '\n', '\'', '\u{..}': past the escaped character,
                    // then to the closing quote.
                    i += 3;
                    while i < bytes.len() && bytes[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if let Some(c) = text[i + 1..].chars().next() {
                    if text[i + 1 + c.len_utf8()..].starts_with('\'') {
                        i += 1 + c.len_utf8() + 1;
                    } else {
                        i += 1; // a lifetime
                    }
                } else {
                    i += 1;
                }
            }
            b'r' if bytes.get(i + 1).is_some_and(|&b| b == b'"' || b == b'#')
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                let open = i + 1 + hashes;
                if bytes.get(open) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let body_end = text[open + 1..]
                    .find(&close)
                    .map_or(bytes.len(), |at| open + 1 + at);
                let after = (body_end + close.len()).min(bytes.len());
                tokens.push(Token::Str(text[open + 1..body_end].to_owned(), after));
                i = after;
            }
            b'"' => {
                let mut literal = String::new();
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    if bytes[j] == b'\\' {
                        literal.push('\\');
                        j += 1;
                    }
                    let c = text[j..].chars().next().unwrap_or(' ');
                    literal.push(c);
                    j += c.len_utf8();
                }
                tokens.push(Token::Str(literal, j + 1));
                i = j + 1;
            }
            b'{' => {
                tokens.push(Token::Open);
                i += 1;
            }
            b'}' => {
                tokens.push(Token::Close);
                i += 1;
            }
            _ => i += 1,
        }
    }
    tokens
}

/// The keys `bootargs::parse` matches: string literals that head an arm
/// of its `match key { ... }` (brace depth 1 of that block).
fn bootargs_keys() -> BTreeSet<String> {
    let text = non_test_source("src/bootargs.rs");
    let start = text
        .find("match key {")
        .expect("src/bootargs.rs has `match key {`")
        + "match key ".len();
    let rest = &text[start..];
    let mut keys = BTreeSet::new();
    let mut depth = 0usize;
    for token in lex(rest) {
        match token {
            Token::Open => depth += 1,
            Token::Close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Str(literal, after) => {
                let next = rest[after..].trim_start();
                if depth == 1 && (next.starts_with("=>") || next.starts_with('|')) {
                    keys.insert(literal);
                }
            }
        }
    }
    keys
}

#[test]
fn kernel_command_line_section_documents_exactly_the_keys_bootargs_accepts() {
    let keys = bootargs_keys();
    let help = help();
    // The scan is checked against the --help text, which lists the keys too.
    assert!(
        keys.iter().filter(|k| k.starts_with("mpath_boot.")).count() >= 1,
        "no mpath_boot.* key found in src/bootargs.rs: {keys:?}"
    );
    for key in &keys {
        assert!(
            help.contains(&format!("{key}=")),
            "--help lacks kernel key {key}: the scan of src/bootargs.rs is off?"
        );
    }
    for word in help.split(|c: char| c.is_whitespace() || c == ',') {
        if let Some((key, _)) = word.split_once('=') {
            if key.starts_with("mpath_boot") || key.starts_with("rd.") {
                assert!(
                    keys.contains(key),
                    "--help names {key}, src/bootargs.rs does not match it"
                );
            }
        }
    }

    let text = render("ascii", true);
    let section = section(&text, "KERNEL COMMAND LINE");
    let documented: Vec<String> = tags(&section)
        .iter()
        .map(|t| t.split_once('=').map_or(t.as_str(), |(k, _)| k).to_owned())
        .collect();
    let documented_set: BTreeSet<String> = documented.iter().cloned().collect();
    assert_eq!(
        documented.len(),
        documented_set.len(),
        "a key is documented twice: {documented:?}"
    );
    assert_eq!(
        documented_set, keys,
        "KERNEL COMMAND LINE tags (left) differ from the keys src/bootargs.rs accepts (right)"
    );
    // The disabling values are spelled out.
    let flowed = flowed(&section);
    for needle in ["rd.multipath=0", "mpath_boot=off"] {
        assert!(
            flowed.contains(needle),
            "KERNEL COMMAND LINE lacks {needle}"
        );
    }
}

#[test]
fn exit_status_section_lists_exactly_the_statuses_main_returns() {
    let main = non_test_source("src/main.rs");
    let mut returned = BTreeSet::new();
    if main.contains("ExitCode::SUCCESS") {
        returned.insert(0u8);
    }
    if main.contains("ExitCode::FAILURE") {
        returned.insert(1u8);
    }
    for (at, _) in main.match_indices("ExitCode::from(") {
        let digits: String = main[at + "ExitCode::from(".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        returned.insert(
            digits
                .parse()
                .unwrap_or_else(|_| panic!("ExitCode::from with a non-literal in src/main.rs")),
        );
    }
    assert!(
        returned.len() >= 2,
        "statuses found in src/main.rs: {returned:?}"
    );

    let text = render("ascii", true);
    let section = section(&text, "EXIT STATUS");
    let documented: BTreeSet<u8> = section
        .iter()
        .filter(|l| indent(l) == 7)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(
        documented, returned,
        "EXIT STATUS (left) vs the statuses src/main.rs returns (right)"
    );
    // And --help's summary names the same ones.
    let help = help();
    let summary = &help[help
        .find("Exit status:")
        .expect("--help has an exit status summary")..];
    for status in &returned {
        assert!(
            summary.contains(&format!("{status} ")),
            "--help's exit status summary lacks {status}"
        );
    }
}

/// Every `*.rs` file under `src/`.
fn source_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn files_and_environment_sections_name_what_the_sources_use() {
    let mut files = Vec::new();
    source_files(&repo().join("src"), &mut files);
    files.sort();
    let mut paths = BTreeSet::new();
    let mut variables = BTreeSet::new();
    for file in &files {
        let relative = file
            .strip_prefix(repo())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let text = non_test_source(&relative);
        for token in lex(&text) {
            let Token::Str(literal, _) = token else {
                continue;
            };
            let path = literal.trim_start_matches('/');
            let under = ["etc/", "proc/", "sys/", "run/", "dev/", "usr/", "lib/"]
                .iter()
                .any(|p| path.starts_with(p));
            let plain = path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-./*".contains(c));
            if under && plain {
                paths.insert(format!("/{path}"));
            }
        }
        for call in ["env::var_os(\"", "env::var(\""] {
            for (at, _) in text.match_indices(call) {
                let name: String = text[at + call.len()..]
                    .chars()
                    .take_while(|&c| c != '"')
                    .collect();
                variables.insert(name);
            }
        }
    }
    // Not files mpath-boot reads: the default prkeys_file only -t prints,
    // and the prefixes of device names accepted in arguments (OPTIONS).
    for not_read in [
        "/etc/multipath/prkeys",
        "/dev/mapper/",
        "/dev/disk/by-id/dm-name-",
    ] {
        assert!(
            paths.remove(not_read),
            "{not_read} no longer in the sources: update this test"
        );
    }
    for needed in [
        "/etc/multipath.conf",
        "/etc/multipath/conf.d",
        "/etc/multipath/bindings",
        "/etc/multipath/wwids",
        "/proc/cmdline",
    ] {
        assert!(
            paths.contains(needed),
            "the source scan missed {needed}: {paths:?}"
        );
    }

    let text = render("ascii", true);
    let files_section = section(&text, "FILES");
    let flowed_files = flowed(&files_section);
    for path in &paths {
        assert!(
            flowed_files.contains(path.as_str()),
            "FILES does not mention {path}, which src/ uses"
        );
    }
    let file_tags = tags(&files_section);
    for tag in [
        "/etc/multipath.conf",
        "/etc/multipath/conf.d/*.conf",
        "/etc/multipath/bindings",
        "/etc/multipath/wwids",
    ] {
        assert!(
            file_tags.iter().any(|t| t == tag),
            "FILES has no entry {tag}: {file_tags:?}"
        );
    }
    for keyword in ["bindings_file", "wwids_file", "config_dir"] {
        assert!(
            flowed_files.contains(keyword),
            "FILES does not explain the {keyword} keyword"
        );
    }

    assert!(
        variables.contains("DM_DISABLE_UDEV"),
        "the source scan missed DM_DISABLE_UDEV: {variables:?}"
    );
    let environment = tags(&section(&text, "ENVIRONMENT"));
    let documented: BTreeSet<String> = environment.into_iter().collect();
    assert_eq!(
        documented, variables,
        "ENVIRONMENT (left) vs the variables src/ reads (right)"
    );
}

#[test]
fn install_puts_the_page_in_man8() {
    let dest = std::env::temp_dir().join(format!("mpath-boot-manpage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(&dest).unwrap();
    let script = repo().join("initramfs-hooks/install");
    let out = Command::new("sh")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_mpath-boot"))
        .env("DESTDIR", &dest)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "install failed: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = dest.join("usr/share/man/man8/mpath-boot.8");
    let bytes =
        std::fs::read(&installed).unwrap_or_else(|e| panic!("{}: {e}", installed.display()));
    assert_eq!(
        bytes,
        std::fs::read(page()).unwrap(),
        "installed page differs from the source"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&installed).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o644, "mode of {}", installed.display());
    std::fs::remove_dir_all(&dest).unwrap();
}
