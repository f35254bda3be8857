//! The release record: what greenlight last did to an alias, kept in AWS.
//!
//! greenlight writes one line into the alias description each time it moves
//! the alias, e.g.
//!
//! ```text
//! greenlight: action=release version=5 previous=4 at=2026-11-22T02:10:47Z
//! ```
//!
//! so `rollback` knows the version that was live before the last release, and
//! `status` can say when and from what the live version was released, from any
//! machine. Nothing is kept on local disk and nothing is guessed from version
//! numbers. The line fits Lambda's 256-character limit for descriptions.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const PREFIX: &str = "greenlight:";

/// What greenlight did to the alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created the alias with the function's first version.
    Create,
    /// Moved the alias to a new version.
    Release,
    /// Moved the alias back to the version live before a release.
    Rollback,
}

impl Action {
    /// The word used in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Release => "release",
            Action::Rollback => "rollback",
        }
    }
}

/// One release record, as stored in the alias description.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Record {
    /// What happened.
    pub action: Action,
    /// The version the alias was moved to.
    pub version: String,
    /// The version it was moved away from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// When, in RFC 3339 UTC.
    pub at: String,
}

impl Record {
    /// A record of `action` happening now.
    pub fn now(action: Action, version: &str, previous: Option<&str>) -> Self {
        let now = OffsetDateTime::now_utc();
        let now = now.replace_nanosecond(0).unwrap_or(now);
        Record {
            action,
            version: version.to_owned(),
            previous: previous.map(str::to_owned),
            at: now.format(&Rfc3339).unwrap_or_default(),
        }
    }

    /// Reads a record from an alias description; `None` if greenlight did not write it.
    pub fn parse(description: &str) -> Option<Record> {
        let rest = description.trim().strip_prefix(PREFIX)?;
        let field = |key: &str| {
            rest.split_whitespace()
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        };
        let action = match field("action")?.as_str() {
            "create" => Action::Create,
            "release" => Action::Release,
            "rollback" => Action::Rollback,
            _ => return None,
        };
        Some(Record {
            action,
            version: field("version")?,
            previous: field("previous"),
            at: field("at").unwrap_or_default(),
        })
    }
}

impl fmt::Display for Record {
    /// The alias description form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX} action={} version={}",
            self.action.as_str(),
            self.version
        )?;
        if let Some(previous) = &self.previous {
            write!(f, " previous={previous}")?;
        }
        write!(f, " at={}", self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_description() {
        let r = Record::now(Action::Release, "5", Some("4"));
        let text = r.to_string();
        assert!(
            text.starts_with("greenlight: action=release version=5 previous=4 at=20"),
            "{text}"
        );
        assert!(text.len() <= 256);
        assert_eq!(Record::parse(&text), Some(r));
    }

    #[test]
    fn descriptions_greenlight_did_not_write_are_not_records() {
        assert_eq!(Record::parse("my alias"), None);
        assert_eq!(Record::parse("greenlight: action=explode version=1"), None);
        assert_eq!(Record::parse("greenlight: action=release"), None);
    }
}
