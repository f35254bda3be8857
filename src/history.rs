//! `history`: the function's versions, newest first, with where each came
//! from and what happened to it, as far as AWS tells.
//!
//! In: the function and alias names and a limit. Out: a [`HistoryReport`].
//! AWS calls: `ListVersionsByFunction` (every page: Lambda lists the oldest
//! first, one call per 50 versions; the command lists them once, to learn
//! their secret values and tell their history) and `GetAlias`.
//! Read-only; safe to repeat.
//!
//! What AWS keeps, and so where this history ends: the versions Lambda
//! still has (a pruned or deleted version is gone), each with its
//! description (its provenance, [`crate::deploy::provenance`]) and its
//! `LastModified` (when `$LATEST`, which it was published from, last
//! changed: for a greenlight deploy a moment before it was published);
//! and the alias: the versions it serves now, with their shares, and
//! greenlight's record of its last move ([`crate::record`]). Only that
//! last move is kept: a version it names was replaced, rolled back from
//! or is being released; a version published after it was never
//! released; of the others AWS keeps no word (`unknown`), and no reason
//! for any rollback is kept.
//!
//! May import: `context`, `aws`, `record`, `deploy` (the provenance) and
//! the base modules.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::aws::lambda::FunctionState;
use crate::context::Ctx;
use crate::deploy::provenance::Provenance;
use crate::error::Result;
use crate::record::{Action, Record};

/// The versions, newest first, and what the alias says of them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryReport {
    /// False when the function does not exist.
    pub exists: bool,
    /// How many versions Lambda keeps (all listed when `limit` allows).
    pub kept: usize,
    /// greenlight's record of the alias's last move, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// The newest `limit` versions, newest first.
    pub versions: Vec<VersionHistory>,
}

/// One version and what happened to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VersionHistory {
    /// The version number.
    pub version: String,
    /// Lambda's `LastModified` for it.
    pub last_modified: String,
    /// Where it came from, as its description says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// What happened to it, as far as AWS tells.
    pub outcome: Outcome,
    /// Its share of the alias's traffic now (0 to 1), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// The other version the alias's record names with it: the one that
    /// replaced it, that it was rolled back to, or the stable one while it
    /// is released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
    /// When the record's move happened, when `outcome` comes from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The same, in words.
    pub what: String,
}

/// What happened to a version, as far as AWS tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The alias serves it (all traffic, or `share` of it).
    Live,
    /// Being released: a canary step of a release in progress.
    InProgress,
    /// Was live until the record's release replaced it.
    Replaced,
    /// A release of it was rolled back (the reason is not kept in AWS).
    RolledBack,
    /// Published after the alias's last move: never released.
    NeverReleased,
    /// Older than the last move the alias records: AWS keeps no word.
    Unknown,
}

impl Outcome {
    /// The word used in text and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Live => "live",
            Outcome::InProgress => "in_progress",
            Outcome::Replaced => "replaced",
            Outcome::RolledBack => "rolled_back",
            Outcome::NeverReleased => "never_released",
            Outcome::Unknown => "unknown",
        }
    }
}

/// Reads the versions (unless `listed` holds them, as listed earlier in
/// the run) and the alias, and tells the newest `limit` versions' history.
pub async fn history(
    ctx: Ctx<'_>,
    limit: usize,
    listed: Option<Vec<FunctionState>>,
) -> Result<HistoryReport> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let all = async {
        match listed {
            Some(all) => Ok(all),
            None => ctx.lambda.all_versions(name).await,
        }
    };
    let (all, served) = tokio::try_join!(all, ctx.lambda.alias(name, alias))?;
    // Lambda lists `$LATEST` whenever the function exists.
    let exists = !all.is_empty();
    let mut versions: Vec<_> = all
        .into_iter()
        .filter(|v| v.version != crate::deploy::pin::LATEST)
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<u64>().unwrap_or(0)));
    let record = served.as_ref().and_then(|a| Record::parse(&a.description));
    let shares = served.as_ref().map(|a| {
        let rest: f64 = a.weights.values().sum();
        let mut shares = a.weights.clone();
        shares.insert(a.version.clone(), 1.0 - rest);
        shares
    });
    let kept = versions.len();
    let versions = versions
        .into_iter()
        .take(limit)
        .map(|v| {
            let share = shares.as_ref().and_then(|s| s.get(&v.version).copied());
            let told = told(
                &v.version,
                &v.last_modified,
                share,
                record.as_ref(),
                served.is_some(),
            );
            VersionHistory {
                provenance: Provenance::of_version(&v.description),
                version: v.version,
                last_modified: v.last_modified,
                outcome: told.outcome,
                share,
                other: told.other,
                at: told.at,
                what: told.what,
            }
        })
        .collect();
    Ok(HistoryReport {
        exists,
        kept,
        record,
        versions,
    })
}

/// For people: one line per version (number, outcome, `LastModified`),
/// what happened to it and where it came from below.
impl fmt::Display for HistoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.exists {
            return writeln!(f, "history   the function does not exist");
        }
        writeln!(
            f,
            "history   {} of the {} versions Lambda keeps, newest first; the alias records only its last move",
            self.versions.len(),
            self.kept
        )?;
        for v in &self.versions {
            writeln!(
                f,
                "version   {:<5} {:<14} {}",
                v.version,
                v.outcome.as_str(),
                v.last_modified
            )?;
            writeln!(f, "          {}", v.what)?;
            if let Some(p) = &v.provenance {
                writeln!(f, "          from {p}")?;
            }
        }
        Ok(())
    }
}

/// What the alias tells of one version.
struct Told {
    outcome: Outcome,
    other: Option<String>,
    at: Option<String>,
    what: String,
}

/// `share` in percent, for words.
fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// What the alias (its existence, `share` of its traffic, its `record`)
/// tells of `version`, last modified at `last_modified`.
fn told(
    version: &str,
    last_modified: &str,
    share: Option<f64>,
    record: Option<&Record>,
    alias_exists: bool,
) -> Told {
    let plain = |outcome, what: String| Told {
        outcome,
        other: None,
        at: None,
        what,
    };
    let Some(r) = record else {
        return match (share, alias_exists) {
            (Some(share), _) => plain(
                Outcome::Live,
                format!(
                    "live, {}; the alias holds no greenlight record",
                    percent(share)
                ),
            ),
            (None, false) => plain(
                Outcome::NeverReleased,
                "never released: the alias does not exist".to_owned(),
            ),
            (None, true) => plain(
                Outcome::Unknown,
                "the alias holds no greenlight record: AWS keeps no word of it".to_owned(),
            ),
        };
    };
    let at = &r.at;
    let previous = r.previous.as_deref().unwrap_or("?");
    let named = |outcome, other: &str, what: String| Told {
        outcome,
        other: Some(other.to_owned()).filter(|o| o != "?"),
        at: Some(at.clone()),
        what,
    };
    let is_new = r.version == version;
    let is_previous = r.previous.as_deref() == Some(version);
    match (r.action, share) {
        (Action::Canary, Some(share)) if is_new => named(
            Outcome::InProgress,
            previous,
            format!(
                "being released: {} of traffic since {at}, version {previous} stable",
                percent(share)
            ),
        ),
        (Action::Canary, Some(share)) if is_previous => named(
            Outcome::Live,
            &r.version,
            format!(
                "live: the stable version, {} while version {} is released",
                percent(share),
                r.version
            ),
        ),
        (Action::Pending, None) if is_new => named(
            Outcome::InProgress,
            previous,
            format!(
                "waiting since {at} for approval before any traffic moves, version {previous} stable"
            ),
        ),
        (Action::Pending, Some(_)) if is_previous => named(
            Outcome::Live,
            &r.version,
            format!(
                "live: the stable version while version {} waits for approval",
                r.version
            ),
        ),
        (action, Some(_)) if is_new => {
            let what = match (action, r.previous.as_deref()) {
                (Action::Release, Some(p)) => format!("released at {at}, replacing version {p}"),
                (Action::Rollback, Some(p)) => {
                    format!("rolled back to at {at}, from version {p}")
                }
                (Action::Create, _) => format!("live since the function was created at {at}"),
                (Action::Pin, _) => format!("pinned at {at} from the $LATEST the alias served"),
                _ => format!("released at {at}"),
            };
            named(Outcome::Live, previous, what)
        }
        (_, Some(share)) => plain(
            Outcome::Live,
            format!("live, {}; not named in the alias's record", percent(share)),
        ),
        (Action::Release, None) if is_previous => named(
            Outcome::Replaced,
            &r.version,
            format!("replaced by version {} at {at}", r.version),
        ),
        (Action::Rollback, None) if is_previous => named(
            Outcome::RolledBack,
            &r.version,
            format!(
                "rolled back to version {} at {at} (AWS keeps no reason: see that run's output)",
                r.version
            ),
        ),
        _ if published_after(last_modified, r) => plain(
            Outcome::NeverReleased,
            format!("published after the alias's last move ({at}): never released"),
        ),
        _ => plain(
            Outcome::Unknown,
            format!("older than the alias's last move ({at}): AWS keeps no word of it"),
        ),
    }
}

/// Whether a version last modified at `last_modified` (Lambda's
/// `2026-12-05T03:13:14.123+0000`) was published after the record's move.
fn published_after(last_modified: &str, record: &Record) -> bool {
    let Some(moved) = record.time() else {
        return false;
    };
    // Lambda writes the offset without a colon, which RFC 3339 wants.
    let text = match last_modified.len().checked_sub(2) {
        Some(at) if !last_modified[..at].ends_with(':') && last_modified.is_char_boundary(at) => {
            format!("{}:{}", &last_modified[..at], &last_modified[at..])
        }
        _ => last_modified.to_owned(),
    };
    let parsed = OffsetDateTime::parse(&text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(last_modified, &Rfc3339));
    parsed.is_ok_and(|published| published > moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> Record {
        Record::parse(text).expect("a record")
    }

    #[test]
    fn the_last_release_names_the_live_and_the_replaced_version() {
        let r = record("greenlight: action=release version=5 previous=4 at=2026-12-01T12:00:00Z");
        let live = told(
            "5",
            "2026-12-01T11:59:00.000+0000",
            Some(1.0),
            Some(&r),
            true,
        );
        assert_eq!(live.outcome, Outcome::Live);
        assert_eq!(live.other.as_deref(), Some("4"));
        let replaced = told("4", "2026-11-30T10:00:00.000+0000", None, Some(&r), true);
        assert_eq!(replaced.outcome, Outcome::Replaced);
        assert_eq!(replaced.at.as_deref(), Some("2026-12-01T12:00:00Z"));
        let after = told("6", "2026-12-01T12:30:00.000+0000", None, Some(&r), true);
        assert_eq!(after.outcome, Outcome::NeverReleased);
        let before = told("3", "2026-11-01T12:30:00.000+0000", None, Some(&r), true);
        assert_eq!(before.outcome, Outcome::Unknown);
    }

    #[test]
    fn a_canary_and_a_rollback() {
        let r = record(
            "greenlight: action=canary version=6 previous=5 step=0 steps=10,50 bake=300s at=2026-12-01T12:00:00Z",
        );
        let canary = told(
            "6",
            "2026-12-01T11:00:00.000+0000",
            Some(0.1),
            Some(&r),
            true,
        );
        assert_eq!(
            (canary.outcome, canary.other.as_deref()),
            (Outcome::InProgress, Some("5"))
        );
        let stable = told(
            "5",
            "2026-11-01T11:00:00.000+0000",
            Some(0.9),
            Some(&r),
            true,
        );
        assert_eq!(stable.outcome, Outcome::Live);
        let r = record("greenlight: action=rollback version=5 previous=6 at=2026-12-01T12:10:00Z");
        let back = told("6", "2026-12-01T11:00:00.000+0000", None, Some(&r), true);
        assert_eq!(
            (back.outcome, back.other.as_deref()),
            (Outcome::RolledBack, Some("5"))
        );
    }

    #[test]
    fn a_release_pending_approval_is_in_progress_with_the_stable_one_live() {
        let r = record("greenlight: action=pending version=6 previous=5 at=2026-12-01T12:00:00Z");
        let pending = told("6", "2026-12-01T11:00:00.000+0000", None, Some(&r), true);
        assert_eq!(
            (pending.outcome, pending.other.as_deref()),
            (Outcome::InProgress, Some("5"))
        );
        assert!(pending.what.contains("waiting since"), "{}", pending.what);
        let stable = told(
            "5",
            "2026-11-01T11:00:00.000+0000",
            Some(1.0),
            Some(&r),
            true,
        );
        assert_eq!(
            (stable.outcome, stable.other.as_deref()),
            (Outcome::Live, Some("6"))
        );
    }

    #[test]
    fn without_a_record_or_an_alias() {
        assert_eq!(
            told("2", "x", None, None, false).outcome,
            Outcome::NeverReleased
        );
        assert_eq!(told("2", "x", None, None, true).outcome, Outcome::Unknown);
        assert_eq!(told("2", "x", Some(1.0), None, true).outcome, Outcome::Live);
    }

    #[test]
    fn lambda_and_rfc_3339_times_both_read() {
        let r = record("greenlight: action=release version=1 at=2026-12-01T12:00:00Z");
        assert!(published_after("2026-12-01T12:00:01.000+0000", &r));
        assert!(published_after("2026-12-01T12:00:01.5+00:00", &r));
        assert!(!published_after("2026-12-01T11:59:59.000+0000", &r));
        assert!(!published_after("not a time", &r));
    }
}
