//! multipath.conf bytes to a tree of keyword lines, the way
//! multipath-tools 0.9.4 (libmpathutil/parser.c) reads them.
//!
//! The reader works line by line, and so does this one:
//! - A line is read in pieces of at most 1023 bytes (`fgets` into a
//!   1024-byte buffer); the rest of a longer line is read as a new line.
//!   Everything after the first CR or LF, and after a NUL byte, is dropped.
//! - Outside double quotes, spaces and every byte above 0x7f separate
//!   tokens; `{` and `}` are tokens of their own even when glued to a word;
//!   `#` and `!` start a comment.
//! - Inside double quotes everything is kept (spaces, `#`, `{`) and `""`
//!   stands for one `"`. A quote left open takes the rest of the line.
//! - The value of a keyword is its first token (the text of the first
//!   quoted string when it starts with a quote); more tokens are ignored
//!   with a warning.
//! - A section keyword opens a block whether or not `{` follows it, and a
//!   line starting with `}` closes the innermost block. Only keywords that
//!   are sections *at that place* open a block: an unknown `foo {` does
//!   not, so its `}` closes the enclosing section, exactly as in
//!   multipath-tools.
//!
//! Every problem becomes a [`Diagnostic`] with the file and the physical
//! line number; the line in question is dropped and the rest is used.

use super::{Diagnostic, Origin};

/// One keyword line; sections carry their lines in `children`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub keyword: String,
    /// For a value line, `args[0]` is the value as multipath-tools takes
    /// it (quotes removed, `""` turned into `"`) and later entries are the
    /// ignored extra tokens. For a section line, the tokens after the
    /// keyword (normally `{`).
    pub args: Vec<String>,
    pub line: u32,
    /// `Some` for a section (even an empty one).
    pub children: Option<Vec<Node>>,
}

impl Node {
    /// The value of a value line (`None` for a section without tokens).
    pub fn value(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }
}

/// multipath-tools reads lines into a 1024-byte buffer: 1023 bytes of text.
pub const MAX_LINE_PIECE: usize = 1023;

/// More diagnostics than this from one file are summarised in one line:
/// a file of binary junk must not produce megabytes of messages.
const MAX_DIAGNOSTICS: usize = 200;

/// Parses one configuration file. Never fails: problems are diagnostics.
pub fn parse(bytes: &[u8], path: &str) -> (Vec<Node>, Vec<Diagnostic>) {
    let mut builder = TreeBuilder::new(path);
    for (index, raw) in physical_lines(bytes).enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        builder.physical_line(line, raw);
    }
    builder.finish()
}

/// Splits at LF; the last line may lack one. An empty file has no lines.
fn physical_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    trimmed.split(|&b| b == b'\n').filter(move |_| !empty)
}

/// The number of lines `parse` counts in `bytes` (for tests and callers
/// that check line numbers).
pub fn line_count(bytes: &[u8]) -> usize {
    physical_lines(bytes).count()
}

/// One token of a line: a quote mark or a piece of text.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Quote,
    Text(Vec<u8>),
}

impl Token {
    fn first_byte(&self) -> Option<u8> {
        match self {
            Token::Quote => None,
            Token::Text(t) => t.first().copied(),
        }
    }

    fn is_quote(&self) -> bool {
        matches!(self, Token::Quote)
    }

    /// The token as C would print it with `%s` (a quote mark is an empty
    /// string there; showing `"` is clearer).
    fn display(&self) -> String {
        match self {
            Token::Quote => "\"".into(),
            Token::Text(t) => String::from_utf8_lossy(t).into_owned(),
        }
    }
}

/// C's `isspace` in the C locale (includes vertical tab, unlike Rust's).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Outside quotes, bytes above 0x7f separate tokens like spaces.
fn is_separator(b: u8) -> bool {
    is_c_space(b) || !b.is_ascii()
}

/// The text multipath-tools sees of one read piece: cut at NUL, then at
/// the first CR/LF after any leading ones (which are spaces anyway).
fn visible_text(piece: &[u8]) -> &[u8] {
    let piece = piece.split(|&b| b == 0).next().unwrap_or(&[]);
    let start = piece
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(piece.len());
    let rest = piece.get(start..).unwrap_or(&[]);
    let end = rest
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    rest.get(..end).unwrap_or(&[])
}

/// Splits one line into tokens the way parser.c's `alloc_strvec` does.
fn tokenize(text: &[u8]) -> Vec<Token> {
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    let mut tokens = Vec::new();
    let mut i = 0;
    while at(i) != 0 && is_separator(at(i)) {
        i += 1;
    }
    if at(i) == 0 || at(i) == b'!' || at(i) == b'#' {
        return tokens;
    }
    let mut in_string = false;
    loop {
        let c = at(i);
        if c == b'"' && !(in_string && at(i + 1) == b'"') {
            i += 1;
            tokens.push(Token::Quote);
            in_string = !in_string;
        } else if !in_string && (c == b'{' || c == b'}') {
            tokens.push(Token::Text(vec![c]));
            i += 1;
        } else {
            let mut word = Vec::new();
            loop {
                let c = at(i);
                if c == 0 || c == b'"' {
                    break;
                }
                if !in_string && (is_separator(c) || matches!(c, b'!' | b'#' | b'{' | b'}')) {
                    break;
                }
                word.push(c);
                i += 1;
            }
            // Inside a string, `""` is one literal quote.
            while in_string && at(i) == b'"' && at(i + 1) == b'"' {
                word.push(b'"');
                i += 2;
                loop {
                    let c = at(i);
                    if c == 0 || c == b'"' {
                        break;
                    }
                    word.push(c);
                    i += 1;
                }
            }
            tokens.push(Token::Text(word));
        }
        while !in_string && at(i) != 0 && is_separator(at(i)) {
            i += 1;
        }
        if at(i) == 0 || (!in_string && (at(i) == b'!' || at(i) == b'#')) {
            return tokens;
        }
    }
}

/// Keywords parser.c checks for a `{` (its `is_sublevel_keyword`); note
/// that `overrides` and `protocol` are not among them.
fn is_sublevel_keyword(word: &[u8]) -> bool {
    matches!(
        word,
        b"defaults"
            | b"blacklist"
            | b"blacklist_exceptions"
            | b"devices"
            | b"device"
            | b"multipaths"
            | b"multipath"
    )
}

/// Whether `keyword` opens a block inside the open sections `context`
/// (outermost first): the sections of multipath-tools' keyword table.
fn opens_block(context: &[String], keyword: &str) -> bool {
    match context {
        [] => matches!(
            keyword,
            "defaults" | "blacklist" | "blacklist_exceptions" | "devices" | "overrides" | "multipaths"
        ),
        [outer] => matches!(
            (outer.as_str(), keyword),
            ("blacklist", "device")
                | ("blacklist_exceptions", "device")
                | ("devices", "device")
                | ("overrides", "protocol")
                | ("multipaths", "multipath")
        ),
        _ => false,
    }
}

/// What a checked line is.
enum LineKind {
    Close,
    Keyword,
}

/// Diagnostics about one line: warnings keep the line, an error drops it.
struct Checked {
    kind: Option<LineKind>,
    warnings: Vec<String>,
}

fn extra_data(tokens: &[Token], index: usize) -> Option<String> {
    tokens
        .get(index)
        .map(|t| format!("ignoring extra data starting with '{}'", t.display()))
}

/// parser.c's `validate_config_strvec`: which lines are used, which
/// warnings they get.
fn check_line(tokens: &[Token]) -> Checked {
    let mut warnings = Vec::new();
    let drop = |message: String| Checked {
        kind: None,
        warnings: vec![message],
    };
    let Some(first) = tokens.first() else {
        return drop("can't parse option".into());
    };
    if first.first_byte() == Some(b'}') {
        warnings.extend(extra_data(tokens, 1));
        return Checked { kind: Some(LineKind::Close), warnings };
    }
    if first.first_byte() == Some(b'{') {
        return drop(format!("invalid keyword '{}'", first.display()));
    }
    if let Token::Text(word) = first {
        if is_sublevel_keyword(word) {
            match tokens.get(1) {
                None => warnings.push("missing '{'".into()),
                Some(t) if t.first_byte() != Some(b'{') => {
                    warnings.push(format!("expecting '{{', found '{}'", t.display()))
                }
                Some(_) => warnings.extend(extra_data(tokens, 2)),
            }
            return Checked { kind: Some(LineKind::Keyword), warnings };
        }
    }
    let Some(second) = tokens.get(1) else {
        return drop(format!("missing value for option '{}'", first.display()));
    };
    if !second.is_quote() {
        warnings.extend(extra_data(tokens, 2));
        return Checked { kind: Some(LineKind::Keyword), warnings };
    }
    let Some(third) = tokens.get(2) else {
        warnings.push("missing closing quotes".into());
        return Checked { kind: Some(LineKind::Keyword), warnings };
    };
    if third.is_quote() {
        warnings.extend(extra_data(tokens, 3));
        return Checked { kind: Some(LineKind::Keyword), warnings };
    }
    match tokens.get(3) {
        None => warnings.push("missing closing quotes".into()),
        Some(t) if !t.is_quote() => {
            return drop(format!("parsing error starting with '{}'", t.display()))
        }
        Some(_) => warnings.extend(extra_data(tokens, 4)),
    }
    Checked { kind: Some(LineKind::Keyword), warnings }
}

/// parser.c's `set_value`: the value of a keyword line, and the index of
/// the first token after it.
fn line_value(tokens: &[Token]) -> (Vec<u8>, usize) {
    match (tokens.get(1), tokens.get(2)) {
        (Some(Token::Text(t)), _) => (t.clone(), 2),
        (Some(Token::Quote), Some(Token::Text(t))) => {
            let next = if tokens.get(3).is_some_and(Token::is_quote) { 4 } else { 3 };
            (t.clone(), next)
        }
        (Some(Token::Quote), Some(Token::Quote)) => (Vec::new(), 3),
        _ => (Vec::new(), tokens.len()),
    }
}

/// Builds the tree from lines, keeping the stack of open sections.
struct TreeBuilder<'a> {
    path: &'a str,
    top: Vec<Node>,
    /// Open sections, outermost first.
    open: Vec<Node>,
    /// Keywords of the open sections (for `opens_block`).
    context: Vec<String>,
    diagnostics: Vec<Diagnostic>,
    suppressed: usize,
    last_line: u32,
}

impl<'a> TreeBuilder<'a> {
    fn new(path: &'a str) -> Self {
        TreeBuilder {
            path,
            top: Vec::new(),
            open: Vec::new(),
            context: Vec::new(),
            diagnostics: Vec::new(),
            suppressed: 0,
            last_line: 0,
        }
    }

    fn report(&mut self, line: u32, message: String) {
        if self.diagnostics.len() >= MAX_DIAGNOSTICS {
            self.suppressed += 1;
            return;
        }
        self.diagnostics.push(Diagnostic {
            origin: Origin::File { path: self.path.to_owned(), line },
            message,
        });
    }

    fn physical_line(&mut self, line: u32, raw: &[u8]) {
        self.last_line = line;
        if std::str::from_utf8(raw).is_err() {
            self.report(
                line,
                "line is not valid UTF-8; outside quotes, bytes above 0x7f count as spaces".into(),
            );
        }
        // fgets reads the text and its newline in 1023-byte pieces.
        let with_newline = raw.len() + 1;
        if with_newline > MAX_LINE_PIECE {
            self.report(
                line,
                format!(
                    "line is {} bytes long; multipath-tools reads it in pieces of {MAX_LINE_PIECE} bytes, each as a line of its own",
                    raw.len()
                ),
            );
        }
        for piece in raw.chunks(MAX_LINE_PIECE) {
            self.logical_line(line, visible_text(piece));
        }
    }

    fn logical_line(&mut self, line: u32, text: &[u8]) {
        let tokens = tokenize(text);
        if tokens.is_empty() {
            return;
        }
        let checked = check_line(&tokens);
        for warning in checked.warnings {
            self.report(line, warning);
        }
        match checked.kind {
            None => {}
            Some(LineKind::Close) => self.close(line),
            Some(LineKind::Keyword) => self.keyword(line, &tokens),
        }
    }

    fn close(&mut self, line: u32) {
        match self.open.pop() {
            Some(node) => {
                self.context.pop();
                self.attach(node);
            }
            None => self.report(line, "unmatched '}'".into()),
        }
    }

    fn attach(&mut self, node: Node) {
        match self.open.last_mut() {
            Some(parent) => parent.children.get_or_insert_with(Vec::new).push(node),
            None => self.top.push(node),
        }
    }

    fn keyword(&mut self, line: u32, tokens: &[Token]) {
        let keyword = match tokens.first() {
            Some(Token::Text(word)) => match String::from_utf8(word.clone()) {
                Ok(word) => word,
                Err(_) => return self.report(line, "keyword is not valid UTF-8".into()),
            },
            _ => String::new(),
        };
        if opens_block(&self.context, &keyword) {
            let args = tokens.iter().skip(1).map(Token::display).collect();
            self.context.push(keyword.clone());
            self.open.push(Node { keyword, args, line, children: Some(Vec::new()) });
            return;
        }
        let (value, next) = line_value(tokens);
        let Ok(value) = String::from_utf8(value) else {
            return self.report(
                line,
                format!("value of '{keyword}' is not valid UTF-8; line ignored"),
            );
        };
        let mut args = vec![value];
        args.extend(tokens.iter().skip(next).map(Token::display));
        self.attach(Node { keyword, args, line, children: None });
    }

    fn finish(mut self) -> (Vec<Node>, Vec<Diagnostic>) {
        if !self.open.is_empty() {
            let line = self.last_line.max(1);
            self.report(line, "missing '}' at end of file".into());
            while let Some(node) = self.open.pop() {
                self.attach(node);
            }
        }
        if self.suppressed > 0 {
            let line = self.last_line.max(1);
            let message = format!("{} more problems in this file not shown", self.suppressed);
            self.diagnostics.push(Diagnostic {
                origin: Origin::File { path: self.path.to_owned(), line },
                message,
            });
        }
        (self.top, self.diagnostics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        tokenize(line.as_bytes()).iter().map(Token::display).collect()
    }

    fn tree(text: &str) -> (Vec<Node>, Vec<Diagnostic>) {
        parse(text.as_bytes(), "/etc/multipath.conf")
    }

    fn line_of(d: &Diagnostic) -> u32 {
        match d.origin {
            Origin::File { line, .. } => line,
            Origin::Builtin => panic!("diagnostic without a file: {d}"),
        }
    }

    #[test]
    fn tokens_split_on_braces_comments_and_high_bytes() {
        assert_eq!(texts("devices{"), ["devices", "{"]);
        assert_eq!(texts("  }extra"), ["}", "extra"]);
        assert_eq!(texts("a b # c d"), ["a", "b"]);
        assert_eq!(texts("a!b"), ["a"]);
        assert_eq!(texts("# all comment"), Vec::<String>::new());
        assert_eq!(texts("! all comment"), Vec::<String>::new());
        assert_eq!(tokenize(b"a\xffb").len(), 2);
        assert_eq!(texts("a\x0bb"), ["a", "b"]);
    }

    #[test]
    fn quoted_strings_keep_spaces_hashes_and_doubled_quotes() {
        assert_eq!(texts(r#"k "a # {b}" x"#), ["k", "\"", "a # {b}", "\"", "x"]);
        assert_eq!(texts(r#"k "say ""hi""""#), ["k", "\"", "say \"hi\"", "\""]);
        assert_eq!(texts(r#"k """#), ["k", "\"", "\""]);
        assert_eq!(texts(r#"k "open # to the end"#), ["k", "\"", "open # to the end"]);
    }

    #[test]
    fn values_follow_set_value() {
        let (nodes, diags) = tree("defaults {\n alias_prefix \"my pfx\"\n prio \"\"\n verbosity 2 3\n}\n");
        let kids = nodes[0].children.as_ref().unwrap();
        assert_eq!(kids[0].value(), Some("my pfx"));
        assert_eq!(kids[1].value(), Some(""));
        assert_eq!(kids[2].args, ["2", "3"]);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].message.contains("extra data starting with '3'"));
        assert_eq!(line_of(&diags[0]), 4);
    }

    #[test]
    fn unterminated_quote_takes_rest_of_line_with_warning() {
        let (nodes, diags) = tree("defaults {\n  prio_args \"a b }\n}\n");
        let kids = nodes[0].children.as_ref().unwrap();
        assert_eq!(kids[0].value(), Some("a b }"));
        assert!(diags.iter().any(|d| d.message.contains("missing closing quotes") && line_of(d) == 2));
        assert_eq!(nodes.len(), 1);
    }

    #[test]
    fn nesting_builds_sections_and_subsections() {
        let text = "devices {\n device {\n  vendor \"X\"\n }\n device {\n }\n}\nmultipaths {\n multipath {\n wwid 1\n }\n}\n";
        let (nodes, diags) = tree(text);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(nodes.len(), 2);
        let devices = nodes[0].children.as_ref().unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(devices[0].line, 2);
        assert_eq!(devices[0].children.as_ref().unwrap()[0].value(), Some("X"));
        assert_eq!(devices[1].children.as_deref(), Some(&[][..]));
        assert_eq!(nodes[1].children.as_ref().unwrap()[0].keyword, "multipath");
    }

    #[test]
    fn section_without_brace_still_opens_with_warning() {
        let (nodes, diags) = tree("devices\n{\ndevice {\n}\n}\n");
        assert!(diags.iter().any(|d| d.message.contains("missing '{'") && line_of(d) == 1));
        assert!(diags.iter().any(|d| d.message.contains("invalid keyword '{'") && line_of(d) == 2));
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].children.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn overrides_alone_on_a_line_is_dropped_as_multipath_tools_does() {
        let (nodes, diags) = tree("overrides\n{\nno_path_retry fail\n}\n");
        assert!(diags.iter().any(|d| d.message.contains("missing value for option 'overrides'")));
        assert!(diags.iter().any(|d| d.message.contains("unmatched '}'") && line_of(d) == 4));
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].keyword, "no_path_retry");
    }

    #[test]
    fn unknown_block_does_not_open_a_section() {
        let (nodes, _) = tree("defaults {\n foo {\n  bar 1\n }\n polling_interval 5\n}\n");
        let kids = nodes[0].children.as_ref().unwrap();
        assert_eq!(kids.iter().map(|n| n.keyword.as_str()).collect::<Vec<_>>(), ["foo", "bar"]);
        assert_eq!(nodes[1].keyword, "polling_interval");
    }

    #[test]
    fn one_line_block_is_not_closed_on_its_line() {
        let (nodes, diags) = tree("blacklist {\n device { vendor \"X\" }\n}\n");
        assert!(diags.iter().any(|d| d.message.contains("extra data starting with 'vendor'")));
        assert!(diags.iter().any(|d| d.message.contains("missing '}'")));
        let blacklist = nodes[0].children.as_ref().unwrap();
        assert_eq!(blacklist[0].children.as_deref(), Some(&[][..]));
    }

    #[test]
    fn unbalanced_braces_are_reported_and_rest_used() {
        let (nodes, diags) = tree("}\ndefaults {\n verbosity 3\n");
        assert!(diags.iter().any(|d| d.message == "unmatched '}'" && line_of(d) == 1));
        assert!(diags.iter().any(|d| d.message.contains("missing '}'") && line_of(d) == 3));
        assert_eq!(nodes[0].children.as_ref().unwrap()[0].value(), Some("3"));
    }

    #[test]
    fn crlf_and_cr_end_the_line() {
        let (nodes, diags) = parse(b"defaults {\r\n verbosity 2\rjunk here\r\n}\r\n", "f");
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(nodes[0].children.as_ref().unwrap()[0].args, ["2"]);
    }

    #[test]
    fn nul_ends_the_line() {
        let (nodes, _) = parse(b"defaults {\n verbosity 1\0 9 9\n}\n", "f");
        assert_eq!(nodes[0].children.as_ref().unwrap()[0].args, ["1"]);
    }

    #[test]
    fn binary_garbage_is_reported_not_fatal() {
        let mut bytes = b"defaults {\n".to_vec();
        bytes.extend_from_slice(b"\xff\xfe\x00\x80garbage\n");
        bytes.extend_from_slice(b"prio \"\xc3\x28\"\n");
        bytes.extend_from_slice(b"verbosity 2\n}\n");
        let (nodes, diags) = parse(&bytes, "f");
        assert!(diags.iter().any(|d| line_of(d) == 2 && d.message.contains("UTF-8")));
        assert!(diags.iter().any(|d| line_of(d) == 3 && d.message.contains("line ignored")));
        let kids = nodes[0].children.as_ref().unwrap();
        assert_eq!(kids.last().unwrap().args, ["2"]);
        assert!(kids.iter().all(|k| k.keyword != "prio"));
    }

    #[test]
    fn long_line_is_read_in_pieces() {
        let mut text = String::from("defaults {\n prio_args \"");
        text.push_str(&"a".repeat(2000));
        text.push_str("\"\n verbosity 2\n}\n");
        let (nodes, diags) = tree(&text);
        assert!(diags.iter().any(|d| line_of(d) == 2 && d.message.contains("pieces")));
        let kids = nodes[0].children.as_ref().unwrap();
        let prio_args = kids.iter().find(|k| k.keyword == "prio_args").unwrap();
        assert_eq!(prio_args.value().unwrap().len(), MAX_LINE_PIECE - " prio_args \"".len());
        assert!(kids.iter().any(|k| k.keyword == "verbosity"));
    }

    #[test]
    fn a_megabyte_of_junk_gives_bounded_diagnostics_on_real_lines() {
        let mut junk = Vec::with_capacity(1 << 20);
        let mut x: u32 = 12345;
        for _ in 0..(1 << 20) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            junk.push((x >> 16) as u8);
        }
        let lines = line_count(&junk) as u32;
        let (_, diags) = parse(&junk, "junk");
        assert!(diags.len() <= MAX_DIAGNOSTICS + 1);
        assert!(diags.iter().all(|d| (1..=lines).contains(&line_of(d))));
    }

    #[test]
    fn bindings_like_line_is_a_missing_value_or_unknown_keyword() {
        let (nodes, diags) = tree("mpatha 3600a0b80001234\nmpathb\n");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].keyword, "mpatha");
        assert!(diags.iter().any(|d| line_of(d) == 2 && d.message.contains("missing value")));
    }

    #[test]
    fn empty_input_has_no_nodes_and_no_lines() {
        assert_eq!(tree(""), (Vec::new(), Vec::new()));
        assert_eq!(line_count(b""), 0);
        assert_eq!(line_count(b"a"), 1);
        assert_eq!(line_count(b"a\n"), 1);
        assert_eq!(line_count(b"a\n\n"), 2);
    }
}
