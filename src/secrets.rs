//! Secret values: function environment variables, and masking them in output.
//!
//! Environment values are treated as secrets everywhere: [`Environment`]'s
//! `Debug` shows only keys, nothing serialises its values, and [`Redactor`]
//! masks any value that still finds its way into free text (a function's
//! response, an AWS error message) before it is printed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// The mask printed in place of a secret value.
pub const MASK: &str = "****";

/// A function's environment variables. Values are secrets.
///
/// As the config wants it, it may also name variables to keep: those are
/// owned by another tool (Terraform, say), so they are never a difference,
/// and a configuration update copies them from the function as they are
/// ([`Environment::with_kept_from`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
    keep: BTreeSet<String>,
}

impl Environment {
    /// Wraps a map of variable names to values.
    pub fn new(vars: BTreeMap<String, String>) -> Self {
        Environment {
            vars,
            keep: BTreeSet::new(),
        }
    }

    /// This environment, leaving the variables `keep` as the function has them.
    pub fn keeping(self, keep: BTreeSet<String>) -> Self {
        Environment { keep, ..self }
    }

    /// The variable names, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// The variables, for handing to AWS. Never print what this returns.
    pub fn expose(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// Sets `key` (a value read from elsewhere: SSM, Secrets Manager, greenlight's environment).
    pub fn insert(&mut self, key: String, value: String) {
        self.vars.insert(key, value);
    }

    /// Whether a function whose environment is `current` needs this one
    /// written: the variables differ, kept ones aside.
    pub fn differs_from(&self, current: &Environment) -> bool {
        let others = current.vars.iter().filter(|(k, _)| !self.keep.contains(*k));
        !others.eq(self.vars.iter())
    }

    /// What to write over `current`: these variables, and the kept ones
    /// with the values `current` has (absent ones stay absent).
    pub fn with_kept_from(&self, current: &Environment) -> Environment {
        let mut vars = self.vars.clone();
        for key in &self.keep {
            if let Some(value) = current.vars.get(key) {
                vars.insert(key.clone(), value.clone());
            }
        }
        Environment::new(vars)
    }

    /// Describes how `other` differs from `self` by key only, e.g.
    /// `added A; changed B; removed C`; the variables `other` keeps are
    /// never removed. Values never appear.
    pub fn describe_change_to(&self, other: &Environment) -> String {
        let added: Vec<&str> = other
            .keys()
            .filter(|k| !self.vars.contains_key(*k))
            .collect();
        let removed: Vec<&str> = self
            .keys()
            .filter(|k| !other.vars.contains_key(*k) && !other.keep.contains(*k))
            .collect();
        let changed: Vec<&str> = other
            .vars
            .iter()
            .filter(|(k, v)| self.vars.get(*k).is_some_and(|old| old != *v))
            .map(|(k, _)| k.as_str())
            .collect();
        [("added", added), ("changed", changed), ("removed", removed)]
            .into_iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(what, keys)| format!("{what} {}", keys.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.vars.keys().map(|k| (k, MASK)))
            .finish()
    }
}

/// Masks secret values in text that came from outside greenlight.
///
/// One per run, shared by every function of it (a clone shares the values):
/// it learns the values of the configuration and of the environments the
/// function's versions really hold ([`Redactor::learn`]), so text from any
/// function of a fleet is masked with the values of all of them. It masks
/// only what it is given: text that came from outside greenlight, never
/// greenlight's own words.
///
/// A value is masked in the forms a response may carry it: as it is, and
/// JSON-escaped (`\"`, `\\`, `\n`, `\u00e4` in either case, `\/`, Go's
/// `\u003c`, and escaped twice, as in a JSON body inside a JSON response).
/// A value of [`SHORT`] characters or fewer is masked only where it stands
/// as a whole token: not next to a letter or digit, so the `1` in `v10`
/// stays, while `{"pin":"123"}` is masked.
#[derive(Clone, Default)]
pub struct Redactor(Arc<RwLock<Known>>);

/// Values at most this long (in characters) are masked only as whole tokens.
pub const SHORT: usize = 3;

/// What a [`Redactor`] knows.
#[derive(Default)]
struct Known {
    values: BTreeSet<String>,
    /// Every form of every value longer than [`SHORT`], longest first.
    long: Vec<String>,
    /// Every form of every shorter value, longest first.
    short: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = self.known().values.len();
        write!(f, "Redactor({known} values)")
    }
}

impl Redactor {
    /// A redactor that knows the values of `env`.
    pub fn for_environment(env: &Environment) -> Self {
        let redactor = Redactor::default();
        redactor.learn(env);
        redactor
    }

    /// Learns the values of `env`, for this redactor and every clone of it.
    pub fn learn(&self, env: &Environment) {
        let fresh: Vec<&String> = {
            let known = self.known();
            env.vars
                .values()
                .filter(|v| !v.is_empty() && !known.values.contains(*v))
                .collect()
        };
        if fresh.is_empty() {
            return;
        }
        let mut guard = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let known = &mut *guard;
        for value in fresh {
            let forms = forms(value);
            if value.chars().count() <= SHORT {
                known.short.extend(forms);
            } else {
                known.long.extend(forms);
            }
            known.values.insert(value.clone());
        }
        for list in [&mut known.long, &mut known.short] {
            // Longest first, so a value that contains another is masked whole.
            list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
            list.dedup();
        }
    }

    /// The length in bytes of the longest form of a known value: text cut
    /// anywhere holds at most this much of a value it cut through.
    pub fn longest(&self) -> usize {
        let known = self.known();
        known
            .long
            .iter()
            .chain(&known.short)
            .map(String::len)
            .max()
            .unwrap_or(0)
    }

    /// `text` with every known value replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        self.redact_within(text, 0..text.len())
    }

    /// The part `range` (byte offsets) of `text`, with every known value
    /// replaced by [`MASK`]; the values are found in the whole of `text`,
    /// and one that runs across an end of `range` is masked whole.
    pub fn redact_within(&self, text: &str, range: std::ops::Range<usize>) -> String {
        let found = self.found(text);
        let mut start = range.start;
        let mut end = range.end;
        for hit in &found {
            if hit.start < start && start < hit.end {
                start = hit.start;
            }
            if hit.start < end && end < hit.end {
                end = hit.end;
            }
        }
        let mut out = String::with_capacity(end.saturating_sub(start));
        let mut at = start;
        for hit in found.iter().filter(|h| h.start >= start && h.end <= end) {
            out.push_str(&text[at..hit.start]);
            out.push_str(MASK);
            at = hit.end;
        }
        out.push_str(&text[at.min(end)..end]);
        out
    }

    /// Where known values stand in `text`: byte ranges, overlapping ones merged.
    fn found(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        let known = self.known();
        let mut hits = Vec::new();
        for (forms, whole_token) in [(&known.long, false), (&known.short, true)] {
            for form in forms.iter() {
                let mut from = 0;
                while let Some(at) = text[from..].find(form.as_str()) {
                    let (start, end) = (from + at, from + at + form.len());
                    if !whole_token || stands_alone(text, start, end) {
                        hits.push(start..end);
                    }
                    // Overlapping matches too: the next one may start inside.
                    from = start + text[start..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
        let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(hits.len());
        for hit in hits {
            match merged.last_mut() {
                Some(last) if hit.start < last.end => last.end = last.end.max(hit.end),
                _ => merged.push(hit),
            }
        }
        merged
    }

    fn known(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `text[start..end]` has no letter or digit right before or after it.
fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// How a JSON encoder writes a string: whether it writes characters beyond
/// ASCII as `\uXXXX` (and in which case), escapes `/` as `\/`, and escapes
/// `<`, `>`, `&`, U+2028 and U+2029 (Go's encoding/json).
#[derive(Clone, Copy)]
struct Escaping {
    ascii: Option<bool>,
    slash: bool,
    html: bool,
}

/// The forms `value` may take in a response: as it is, JSON-escaped as the
/// common encoders write it, and escaped twice (a JSON document carried in
/// a JSON string, as API Gateway's `body`).
fn forms(value: &str) -> BTreeSet<String> {
    let mut forms = BTreeSet::from([value.to_owned()]);
    for ascii in [None, Some(false), Some(true)] {
        for slash in [false, true] {
            for html in [false, true] {
                let style = Escaping { ascii, slash, html };
                let once = json_escaped(value, style);
                forms.insert(json_escaped(&once, style));
                forms.insert(once);
            }
        }
    }
    forms
}

/// `text` as the inside of a JSON string written in `style`.
fn json_escaped(text: &str, style: Escaping) -> String {
    let mut out = String::with_capacity(text.len());
    let unicode = |out: &mut String, c: char, upper: bool| {
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            if upper {
                out.push_str(&format!("\\u{unit:04X}"));
            } else {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    };
    let upper = style.ascii == Some(true);
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '/' if style.slash => out.push_str("\\/"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if style.html => unicode(&mut out, c, upper),
            c if c < ' ' => unicode(&mut out, c, upper),
            c if !c.is_ascii() && style.ascii.is_some() => unicode(&mut out, c, upper),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn debug_shows_keys_but_never_values() {
        let shown = format!("{:?}", env(&[("TOKEN", "s3cr3t-value")]));
        assert_eq!(shown, r#"{"TOKEN": "****"}"#);
    }

    #[test]
    fn change_description_names_keys_only() {
        let old = env(&[("A", "1"), ("B", "old-secret"), ("C", "3")]);
        let new = env(&[("A", "1"), ("B", "new-secret"), ("D", "4")]);
        let text = old.describe_change_to(&new);
        assert_eq!(text, "added D; changed B; removed C");
        assert!(!text.contains("secret"));
    }

    #[test]
    fn kept_variables_are_no_difference_and_are_written_back_as_they_are() {
        let keep = ["TF_OWNED".to_owned()].into();
        let want = env(&[("A", "1")]).keeping(keep);
        let current = env(&[("A", "1"), ("TF_OWNED", "from-terraform")]);
        assert!(!want.differs_from(&current));
        assert!(want.differs_from(&env(&[("A", "1"), ("STRAY", "x")])));
        assert!(want.differs_from(&env(&[("A", "2"), ("TF_OWNED", "t")])));
        assert_eq!(current.describe_change_to(&want), "");
        let written = want.with_kept_from(&current);
        assert_eq!(written, current, "the kept value is copied, not dropped");
        let without = want.with_kept_from(&env(&[]));
        assert_eq!(
            without,
            env(&[("A", "1")]),
            "an absent kept key stays absent"
        );
    }

    #[test]
    fn values_are_masked_in_free_text_and_short_ones_only_as_whole_tokens() {
        let r = Redactor::for_environment(&env(&[
            ("K", "hunter22"),
            ("PIN", "123"),
            ("ONE", "1"),
            ("EMPTY", ""),
        ]));
        assert_eq!(
            r.redact(r#"got hunter22, {"pin":"123"} on v10 and 1"#),
            r#"got ****, {"pin":"****"} on v10 and ****"#
        );
        assert_eq!(r.redact("1231 x123 hunter2"), "1231 x123 hunter2");
    }

    #[test]
    fn json_escaped_forms_are_masked_too() {
        let secret = "p\"w\\d\n/ä<";
        let r = Redactor::for_environment(&env(&[("K", secret)]));
        for shown in [
            secret,
            r#"p\"w\\d\n/ä<"#,
            r#"p\"w\\d\n\/\u00e4<"#,
            r#"p\"w\\d\n/\u00E4<"#,
            r#"p\"w\\d\n/ä\u003c"#,
            r#"p\\\"w\\\\d\\n/ä<"#,
        ] {
            assert_eq!(r.redact(&format!("[{shown}]")), "[****]", "{shown}");
        }
    }

    #[test]
    fn a_value_a_cut_runs_through_is_masked_whole_and_the_other_values_learned_later_too() {
        let r = Redactor::default();
        let shared = r.clone();
        shared.learn(&env(&[("A", "abcdef"), ("B", "defghi")]));
        // Overlapping values are masked as one.
        assert_eq!(r.redact("xabcdefghiy"), "x****y");
        let text = "0123abcdef789";
        assert_eq!(r.redact_within(text, 0..6), "0123****");
        assert_eq!(r.redact_within(text, 8..13), "****789");
        assert_eq!(r.longest(), "abcdef".len());
        assert_eq!(format!("{r:?}"), "Redactor(2 values)");
    }
}
