//! One event of the watcher: drop it when its schedule time is stale, else
//! run one `greenlight promote` per release snapshot, write the heartbeat
//! and answer a summary.
//!
//! Scheduler delivers at least once and Lambda may retry, so an event can
//! come late or twice: one older than [`STALE_AFTER`] is dropped (an event
//! without `scheduled_time` is taken as current), and a duplicate that does
//! run is harmless, since each promote moves at most one step and its alias
//! writes are conditional on the state it read.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::aws::s3::Artifacts;
use crate::cli::Cli;
use crate::report::Report;

/// Events scheduled longer ago than this are dropped.
pub const STALE_AFTER: Duration = Duration::from_secs(90);

/// The heartbeat object's name under the prefix (`watch status` reads it).
pub const HEARTBEAT: &str = "heartbeat.json";

/// The exit code of a release that needs a person (a rollback failed).
const NEEDS_OPERATOR: u8 = 4;

/// What the watcher works with.
pub struct Watcher {
    /// S3 in the watcher's own region.
    pub artifacts: Artifacts,
    /// The snapshots' bucket.
    pub bucket: String,
    /// Their prefix, e.g. `greenlight/`.
    pub prefix: String,
}

/// How an event ended, for the Runtime API.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answer the summary (every release promoted, held, rolled back, or
    /// failed in a way the next tick retries).
    Done,
    /// Report an invocation error: a release needs a person (exit 4).
    NeedsOperator(String),
}

/// The answer to one event.
pub struct Answer {
    /// The JSON summary: each release's function, region, alias, outcome,
    /// exit code, the moves this run made and its error, if any.
    pub summary: Value,
    /// Whether the invocation succeeded.
    pub outcome: Outcome,
}

impl Watcher {
    /// Handles `event` at `now`.
    pub async fn tick(&self, event: &Value, now: OffsetDateTime) -> Answer {
        let scheduled = event.get("scheduled_time").and_then(Value::as_str);
        if let Some(late) = scheduled.and_then(|at| lateness(at, now))
            && late > STALE_AFTER
        {
            return Answer {
                summary: json!({
                    "dropped": "stale",
                    "scheduled_time": scheduled,
                    "late_secs": late.as_secs(),
                    "releases": [],
                }),
                outcome: Outcome::Done,
            };
        }
        let (releases, listed) = match self.artifacts.keys(&self.bucket, &self.prefix).await {
            Ok(keys) => (self.promote_all(&keys).await, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let operator: Vec<String> = releases
            .iter()
            .filter(|r| r["exit_code"] == NEEDS_OPERATOR)
            .map(|r| {
                format!(
                    "{} in {} (alias {}): {}",
                    r["function"].as_str().unwrap_or("?"),
                    r["region"].as_str().unwrap_or("?"),
                    r["alias"].as_str().unwrap_or("?"),
                    r["error"].as_str().unwrap_or("rollback failed")
                )
            })
            .collect();
        let mut summary = json!({
            "scheduled_time": scheduled,
            "execution_id": event.get("execution_id"),
            "at": now.format(&Rfc3339).unwrap_or_default(),
            "releases": releases,
        });
        if let Some(e) = listed {
            summary["error"] = json!(e);
        }
        let heartbeat = self
            .artifacts
            .put_text(
                &self.bucket,
                &format!("{}{HEARTBEAT}", self.prefix),
                summary.to_string(),
                "application/json",
            )
            .await;
        if let Err(e) = heartbeat {
            summary["heartbeat_error"] = json!(e.to_string());
        }
        let outcome = match operator.is_empty() {
            true => Outcome::Done,
            false => {
                Outcome::NeedsOperator(format!("a person must act on: {}", operator.join("; ")))
            }
        };
        Answer { summary, outcome }
    }

    /// One promote per snapshot among `keys`, one after the other; each
    /// release's failure is its own.
    async fn promote_all(&self, keys: &[String]) -> Vec<Value> {
        let mut releases = Vec::new();
        for key in keys {
            let Some((region, function, alias)) = self.release_of(key) else {
                continue;
            };
            let mut release = json!({ "function": function, "region": region, "alias": alias });
            match self.promote(key).await {
                Ok(None) => continue,
                Ok(Some(report)) => {
                    let doc = report.json().unwrap_or(Value::Null);
                    release["outcome"] = doc["outcome"].clone();
                    release["exit_code"] = json!(report.exit_code);
                    if let Some(moves) = doc["release"].get("moves") {
                        release["moves"] = moves.clone();
                    }
                    if let Some(message) = doc["error"]["message"].as_str() {
                        release["error"] = json!(message);
                    }
                }
                Err(why) => {
                    release["outcome"] = json!("failed");
                    release["exit_code"] = json!(1);
                    release["error"] = json!(why);
                }
            }
            releases.push(release);
        }
        releases
    }

    /// The region, function and alias a snapshot key names
    /// (`<prefix><region>/<function>/<alias>`); `None` for other keys.
    fn release_of<'k>(&self, key: &'k str) -> Option<(&'k str, &'k str, &'k str)> {
        let mut parts = key.strip_prefix(&self.prefix)?.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(region), Some(function), Some(alias), None)
                if [region, function, alias].iter().all(|p| !p.is_empty()) =>
            {
                Some((region, function, alias))
            }
            _ => None,
        }
    }

    /// `greenlight promote` with the snapshot at `key` as its config, run
    /// in-process; `None` when the snapshot is gone (another runner ended
    /// the release meanwhile).
    async fn promote(&self, key: &str) -> Result<Option<Report>, String> {
        let text = match self.artifacts.get_text(&self.bucket, key).await {
            Ok(Some(text)) => text,
            Ok(None) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let path = snapshot_path(key);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            return Err(format!("cannot write {}: {e}", path.display()));
        }
        let args = [
            "greenlight".as_ref(),
            "promote".as_ref(),
            "--config".as_ref(),
            path.as_os_str(),
            "--output".as_ref(),
            "json".as_ref(),
        ];
        let cli = <Cli as clap::Parser>::try_parse_from(args).map_err(|e| e.to_string())?;
        let report = crate::app::run(&cli).await;
        let _ = std::fs::remove_file(&path);
        Ok(Some(report))
    }
}

/// Where the snapshot at `key` is written for its promote to read: under
/// the temporary folder (Lambda's `/tmp`), per process.
fn snapshot_path(key: &str) -> PathBuf {
    let name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    std::env::temp_dir()
        .join(format!("greenlight-watch-{}", std::process::id()))
        .join(name)
        .join("greenlight.toml")
}

/// How long before `now` the RFC 3339 time `at` was; `None` when `at` is
/// not a time (the event is then taken as current) or lies ahead.
fn lateness(at: &str, now: OffsetDateTime) -> Option<Duration> {
    let at = OffsetDateTime::parse(at, &Rfc3339).ok()?;
    Duration::try_from(now - at).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_measured_from_the_scheduled_time() {
        let now = OffsetDateTime::parse("2026-12-05T04:00:00Z", &Rfc3339).expect("time");
        assert_eq!(
            lateness("2026-12-05T03:58:00Z", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            lateness("2026-12-05T03:59:30Z", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(lateness("2026-12-05T04:01:00Z", now), None);
        assert_eq!(lateness("soon", now), None);
    }
}
