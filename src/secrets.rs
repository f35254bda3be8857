//! Secret values: function environment variables, and masking them in output.
//!
//! Environment values are treated as secrets everywhere: [`Environment`]'s
//! `Debug` shows only keys, nothing serialises its values, and [`Redactor`]
//! masks any value that still finds its way into free text (a function's
//! response, an AWS error message) before it is printed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The mask printed in place of a secret value.
pub const MASK: &str = "****";

/// Values shorter than this are not masked inside free text: masking every
/// "1" or "on" would garble output without protecting anything.
const MIN_MASKED_LEN: usize = 4;

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

    /// Sets `key` (a value read from elsewhere, see [`crate::env_values`]).
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

/// Masks known secret values in text before it is shown.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for the values of `env`.
    pub fn for_environment(env: &Environment) -> Self {
        let mut secrets: Vec<String> = env
            .vars
            .values()
            .filter(|v| v.len() >= MIN_MASKED_LEN)
            .cloned()
            .collect();
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every known secret value replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |acc, secret| {
            acc.replace(secret.as_str(), MASK)
        })
    }
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
    fn redactor_masks_values_in_free_text() {
        let r = Redactor::for_environment(&env(&[("K", "hunter22"), ("SHORT", "on")]));
        assert_eq!(r.redact("got hunter22 and on"), "got **** and on");
    }
}
