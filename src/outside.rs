//! Text that came from outside greenlight, and how it is shown.
//!
//! A function's response, an HTTP body, a command's output, an AWS error
//! message, a `StateReason`: such text may carry secret values, and on
//! GitHub Actions workflow commands. It is marked where it enters
//! ([`quote`], [`excerpt`], [`tail`]), travels inside greenlight's own
//! messages as it is, and is made safe where it is shown ([`render`],
//! [`pieces`]): masked with every value the run's [`Redactor`] knows by
//! then, cut after masking (so a cut never shows the start of a value), and
//! on GitHub kept from starting a workflow command. greenlight's own words
//! around it are never changed: a secret that happens to be `version` masks
//! `version` in a response, not in "failed against version 9".
//!
//! The marks are Unicode noncharacters (U+FDD0 to U+FDEF, reserved for a
//! program's internal use); they are taken out of outside text when it is
//! marked, so outside text cannot open or close a mark of its own.

use crate::secrets::Redactor;

/// Opens outside text shown whole.
const WHOLE: char = '\u{FDD0}';
/// Opens outside text of which the first [`EXCERPT`] characters are shown.
const HEAD: char = '\u{FDD1}';
/// As [`HEAD`], for text already cut when it was marked (its end is cut off).
const HEAD_CUT: char = '\u{FDD2}';
/// Opens outside text of which the last [`TAIL`] characters are shown.
const TAIL_MARK: char = '\u{FDD3}';
/// As [`TAIL_MARK`], for text already cut when it was marked (its start is cut off).
const TAIL_CUT: char = '\u{FDD4}';
/// Closes outside text.
const CLOSE: char = '\u{FDDF}';

/// How many characters of a response or body an excerpt shows, from its start.
pub const EXCERPT: usize = 300;
/// How many characters of a command's output are shown, from its end.
pub const TAIL: usize = 600;
/// How much more than it shows an excerpt or tail keeps when it is marked,
/// so that a value running across the cut is still found and masked whole:
/// more than the longest form of any value Lambda's 4 KB environment can hold
/// (escaped twice, a character may take 7).
const ROOM: usize = 32 * 1024;

/// Marks `text` as outside text, shown whole.
pub fn quote(text: &str) -> String {
    mark(WHOLE, &clean(text))
}

/// Marks `text` (trimmed) as outside text of which the first [`EXCERPT`]
/// characters are shown, after masking.
pub fn excerpt(text: &str) -> String {
    let text = clean(text.trim());
    match text.char_indices().nth(EXCERPT + ROOM) {
        Some((end, _)) => mark(HEAD_CUT, &text[..end]),
        None => mark(HEAD, &text),
    }
}

/// Marks `text` (trimmed) as outside text of which the last [`TAIL`]
/// characters are shown, after masking.
pub fn tail(text: &str) -> String {
    let text = clean(text.trim());
    match text.char_indices().rev().nth(TAIL + ROOM) {
        Some((start, _)) => mark(TAIL_CUT, &text[start..]),
        None => mark(TAIL_MARK, &text),
    }
}

fn mark(open: char, text: &str) -> String {
    let mut marked = String::with_capacity(text.len() + 6);
    marked.push(open);
    marked.push_str(text);
    marked.push(CLOSE);
    marked
}

/// `text` without the characters that mark outside text.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !is_mark(*c)).collect()
}

fn is_mark(c: char) -> bool {
    ('\u{FDD0}'..='\u{FDEF}').contains(&c)
}

/// A part of a message: greenlight's own words, or outside text already
/// masked and cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// greenlight's own words.
    Own(&'a str),
    /// Text from outside, masked and cut, ready to be shown.
    Outside(String),
}

/// `text` in its parts, the outside ones masked with what `redactor` knows
/// and cut as they were marked to be.
pub fn pieces<'a>(text: &'a str, redactor: &Redactor) -> Vec<Piece<'a>> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find(is_mark) {
        if open > 0 {
            parts.push(Piece::Own(&rest[..open]));
        }
        let kind = rest[open..].chars().next().unwrap_or(CLOSE);
        let inner = &rest[open + kind.len_utf8()..];
        // A mark left open (text cut by someone) runs to the end.
        let end = inner.find(is_mark).unwrap_or(inner.len());
        if kind != CLOSE {
            parts.push(Piece::Outside(shown(kind, &inner[..end], redactor)));
        }
        rest = match inner[end..].chars().next() {
            Some(CLOSE) => &inner[end + CLOSE.len_utf8()..],
            _ => &inner[end..],
        };
    }
    if !rest.is_empty() {
        parts.push(Piece::Own(rest));
    }
    parts
}

/// Outside `text` marked `kind`, masked, then cut.
fn shown(kind: char, text: &str, redactor: &Redactor) -> String {
    // What a value cut off where the text was marked may have left.
    let cut_off = redactor.longest().min(text.len());
    match kind {
        HEAD | HEAD_CUT => {
            let mut end = if kind == HEAD_CUT {
                text.len() - cut_off
            } else {
                text.len()
            };
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let masked = redactor.redact_within(text, 0..end);
            match masked.char_indices().nth(EXCERPT) {
                Some((at, _)) => format!("{}…", &masked[..at]),
                None if kind == HEAD_CUT => format!("{masked}…"),
                None => masked,
            }
        }
        TAIL_MARK | TAIL_CUT => {
            let mut start = if kind == TAIL_CUT { cut_off } else { 0 };
            while !text.is_char_boundary(start) {
                start += 1;
            }
            let masked = redactor.redact_within(text, start..text.len());
            match masked.char_indices().rev().nth(TAIL) {
                Some((at, c)) => format!("…{}", &masked[at + c.len_utf8()..]),
                None if kind == TAIL_CUT => format!("…{masked}"),
                None => masked,
            }
        }
        _ => redactor.redact(text),
    }
}

/// Whether greenlight runs on GitHub Actions (`GITHUB_ACTIONS=true`), whose
/// runner reads workflow commands from what it prints.
pub fn on_github() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Where shown text goes, which decides how outside text is made safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Masked only (a job summary cell, an annotation's text).
    Plain,
    /// Lines on standard output or error; on GitHub Actions (`github`),
    /// which reads workflow commands from both, outside text is kept from
    /// starting one ([`Sink::Log`]).
    Log {
        /// Running on GitHub Actions.
        github: bool,
    },
    /// A string inside the JSON document on standard output: on GitHub,
    /// `##[` is kept from starting a command (a line break is `\n` there,
    /// so a line never starts inside a string).
    Json {
        /// Running on GitHub Actions.
        github: bool,
    },
}

/// `text` as it may be shown in `sink`: its outside parts masked and cut
/// (see [`pieces`]) and, on GitHub Actions, kept from being read as a
/// workflow command. The runner reads a command from a line that starts
/// with `::` after its leading white space, and from `##[` anywhere in a
/// line (the older form), on standard output and error alike; so in
/// outside text a line's leading `::` is written `\::`, and `##[` is
/// written `#\#[`. greenlight's own workflow commands (the CI page's
/// annotations) do not go through here.
pub fn render(text: &str, redactor: &Redactor, sink: Sink) -> String {
    let (lines, github) = match sink {
        Sink::Plain => (false, false),
        Sink::Log { github } => (true, github),
        Sink::Json { github } => (false, github),
    };
    let mut out = String::with_capacity(text.len());
    // Only white space since the last line break.
    let mut blank = true;
    for piece in pieces(text, redactor) {
        match piece {
            Piece::Own(own) => {
                out.push_str(own);
                blank = at_blank_line(own, blank);
            }
            Piece::Outside(outside) if github => {
                blank = escape_commands(&outside, lines, blank, &mut out);
            }
            Piece::Outside(outside) => out.push_str(&outside),
        }
    }
    out
}

/// Whether, after `text`, only white space has come since the last line
/// break (`blank`: whether that held before it).
fn at_blank_line(text: &str, blank: bool) -> bool {
    match text.rfind(['\n', '\r']) {
        Some(at) => text[at + 1..].chars().all(char::is_whitespace),
        None => blank && text.chars().all(char::is_whitespace),
    }
}

/// Appends `text` to `out` with what would start a workflow command
/// escaped: `##[` anywhere, and with `lines` a `::` that starts a line.
/// Returns whether only white space has come since the last line break.
fn escape_commands(text: &str, lines: bool, mut blank: bool, out: &mut String) -> bool {
    for (at, c) in text.char_indices() {
        let rest = &text[at..];
        if lines && blank && rest.starts_with("::") {
            out.push('\\');
        }
        out.push(c);
        if rest.starts_with("##[") {
            out.push('\\');
        }
        // The runner splits lines at CR, LF and CR LF.
        blank = matches!(c, '\n' | '\r') || (blank && c.is_whitespace());
    }
    blank
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Environment;

    fn redactor(pairs: &[(&str, &str)]) -> Redactor {
        Redactor::for_environment(&Environment::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    #[test]
    fn only_outside_text_is_masked() {
        let r = redactor(&[("WORD", "version")]);
        let message = format!(
            "smoke test failed against version 9: {}",
            quote("wrong version")
        );
        assert_eq!(
            render(&message, &r, Sink::Plain),
            "smoke test failed against version 9: wrong ****"
        );
    }

    #[test]
    fn outside_text_cannot_forge_or_end_a_mark() {
        let r = redactor(&[("K", "hunter22")]);
        let hostile = format!("a{CLOSE} hunter22 {WHOLE}b");
        let message = format!("x {} y", quote(&hostile));
        assert_eq!(render(&message, &r, Sink::Plain), "x a **** b y");
        // A mark cut off by someone else's cutting runs to the end.
        let cut: String = quote("hunter22 and more").chars().take(12).collect();
        assert_eq!(render(&cut, &r, Sink::Plain), "**** an");
    }

    #[test]
    fn an_excerpt_is_masked_before_it_is_cut() {
        let secret = "s3cr3t-never-print-me";
        let r = redactor(&[("K", secret)]);
        let body = format!("{}{secret} and more", "x".repeat(EXCERPT - 4));
        let shown = render(&excerpt(&body), &r, Sink::Plain);
        assert_eq!(shown, format!("{}****…", "x".repeat(EXCERPT - 4)));
        assert!(!shown.contains("s3cr"), "{shown}");
        // Cut when marked too: a value running across that cut is masked whole.
        let long = format!("{}{secret}", "y".repeat(EXCERPT + ROOM - 5));
        let shown = render(&excerpt(&long), &r, Sink::Plain);
        assert_eq!(shown, format!("{}…", "y".repeat(EXCERPT)));
        let short = render(&excerpt(&format!("  {secret}  ")), &r, Sink::Plain);
        assert_eq!(short, "****");
    }

    #[test]
    fn a_tail_is_masked_before_it_is_cut() {
        let secret = "s3cr3t-never-print-me";
        let r = redactor(&[("K", secret)]);
        let output = format!("start {secret}{}\n", "z".repeat(TAIL - 3));
        let shown = render(&tail(&output), &r, Sink::Plain);
        assert_eq!(shown, format!("…***{}", "z".repeat(TAIL - 3)));
        let long = format!("{secret}{}", "w".repeat(TAIL + ROOM));
        let shown = render(&tail(&long), &r, Sink::Plain);
        assert_eq!(shown, format!("…{}", "w".repeat(TAIL)));
    }

    #[test]
    fn on_github_outside_text_starts_no_workflow_command() {
        let r = Redactor::default();
        let hostile = "ok\n::stop-commands::x\r  ::error title=forged::y\nsee ##[error]z";
        let message = format!("caused by: {}\n::warning::own", quote(hostile));
        let github = Sink::Log { github: true };
        assert_eq!(
            render(&message, &r, github),
            "caused by: ok\n\\::stop-commands::x\r  \\::error title=forged::y\nsee #\\#[error]z\n::warning::own"
        );
        // Outside text that starts a line of its own.
        let alone = format!("  {}", quote("::error::x"));
        assert_eq!(render(&alone, &r, github), "  \\::error::x");
        // Outside GitHub, and in JSON strings (no line starts there), less.
        let plain = Sink::Log { github: false };
        assert_eq!(render(&alone, &r, plain), "  ::error::x");
        let json = Sink::Json { github: true };
        assert_eq!(
            render(&quote("::a ##[b"), &r, json),
            "::a #\\#[b",
            "in JSON only ##[ can start a command"
        );
    }
}
