//! The `[watch]` table: the S3 bucket and prefix where a release left in
//! progress (`ship --no-wait`, `release --no-wait`) is recorded as a
//! snapshot for the watcher, greenlight running itself in the account on a
//! schedule (README "Scheduled canaries without a runner").
//!
//! A snapshot is what `promote` needs and nothing more: this config's own
//! document without `[package]`, `[alb]` and the function's environment
//! (neither its values nor its references), with the region the release ran
//! in. It holds no secret and no resolved environment value: of
//! `[[notify]]` only the entries the watcher can send from the account
//! (an SNS topic, a URL in SSM or Secrets Manager) are kept. A `run` smoke
//! test (a command on the runner's machine) cannot run inside Lambda, and a
//! fleet that releases `together` needs every function in one run; both are
//! refused with `[watch]` (exit 2).

use std::ops::Range;

use serde::Deserialize;
use toml::{Spanned, Table, Value};

use crate::config::{Check, Config, line_col};
use crate::error::{Error, Result};

/// The prefix snapshots go under when `[watch]` names none.
pub const DEFAULT_PREFIX: &str = "greenlight/";

/// What a bucket name must be, for messages.
pub const BUCKET_RULE: &str = "an S3 bucket name is 3 to 63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit";

/// What a prefix must be, for messages.
pub const PREFIX_RULE: &str = "a prefix is a key folder such as \"greenlight/\": not empty, ending in '/', not starting with '/', at most 512 characters";

/// The checked `[watch]` table, with the document a snapshot is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchConfig {
    /// The bucket the snapshots go to.
    pub bucket: String,
    /// The key prefix, ending in `/` (`greenlight/` by default).
    pub prefix: String,
    /// The config's document as `promote` needs it (see the module doc).
    document: Table,
    /// The `[[notify]]` entries the snapshot leaves out, as `notify[i]`:
    /// their URL is written in the config or in greenlight's environment,
    /// neither of which the watcher has.
    pub unsent: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWatch {
    bucket: Spanned<String>,
    prefix: Option<Spanned<String>>,
}

/// Where a config's `[watch]` table is checked: the file as errors name
/// it, its text (to locate values; `None` for a `[[functions]]` entry's
/// generated document) and the document itself.
pub(super) struct Place<'a> {
    /// The file, as errors name it.
    pub file: &'a str,
    /// The text the document was read from.
    pub text: &'a str,
    /// Whether `text` is the file's own (so values have a line and column).
    pub located: bool,
}

impl Place<'_> {
    fn bad(&self, key: &str, span: Option<Range<usize>>, shown: &str, why: &str) -> Error {
        let place = span
            .filter(|_| self.located)
            .map(|s| line_col(self.text, s.start))
            .map(|(line, col)| format!(":{line}:{col}"))
            .unwrap_or_default();
        Error::usage(format!("{}{place}: `{key}` = {shown}: {why}", self.file))
            .with_hint("see \"Scheduled canaries without a runner\" in README.md")
    }
}

/// Checks `raw` and keeps the document a snapshot is made of.
pub(super) fn check(raw: RawWatch, place: &Place) -> Result<WatchConfig> {
    let bucket = raw.bucket.get_ref();
    if !is_bucket_name(bucket) {
        return Err(place.bad(
            "watch.bucket",
            Some(raw.bucket.span()),
            &format!("{bucket:?}"),
            BUCKET_RULE,
        ));
    }
    let prefix = match &raw.prefix {
        None => DEFAULT_PREFIX.to_owned(),
        Some(prefix) => {
            let text = prefix.get_ref();
            if !is_prefix(text) {
                return Err(place.bad(
                    "watch.prefix",
                    Some(prefix.span()),
                    &format!("{text:?}"),
                    PREFIX_RULE,
                ));
            }
            text.clone()
        }
    };
    let mut document: Table = place
        .text
        .parse()
        .map_err(|e| Error::usage(format!("{}: {e}", place.file)))?;
    for table in ["package", "alb"] {
        document.remove(table);
    }
    if let Some(Value::Table(function)) = document.get_mut("function") {
        function.remove("environment");
        function.remove("environment_keep");
    }
    let unsent = keep_notify_from_the_account(&mut document);
    Ok(WatchConfig {
        bucket: bucket.clone(),
        prefix,
        document,
        unsent,
    })
}

/// Keeps in `document` the `[[notify]]` entries the watcher can send from
/// the account: an SNS topic, or a URL read from SSM or Secrets Manager.
/// A URL written in the config holds a token the snapshot must not hold,
/// and `{ env = … }` names greenlight's environment, which the watcher
/// does not share: those entries are left out, and named (`notify[i]`).
fn keep_notify_from_the_account(document: &mut Table) -> Vec<String> {
    let Some(Value::Array(entries)) = document.remove("notify") else {
        return Vec::new();
    };
    let in_account = |entry: &Value| {
        let reads = |key: &str| match entry.get(key) {
            Some(Value::Table(reference)) => {
                reference.contains_key("ssm") || reference.contains_key("secret")
            }
            _ => false,
        };
        entry.get("sns").is_some() || reads("webhook") || reads("slack")
    };
    let mut unsent = Vec::new();
    let mut kept = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        match in_account(&entry) {
            true => kept.push(entry),
            false => unsent.push(format!("notify[{i}]")),
        }
    }
    if !kept.is_empty() {
        document.insert("notify".to_owned(), Value::Array(kept));
    }
    unsent
}

/// Refuses what the watcher cannot do for `config`: run a `run` smoke test
/// (there is no runner's machine inside Lambda), or move a fleet together.
pub(super) fn refuse_unwatchable(config: &Config) -> Result<()> {
    if config.watch.is_none() {
        return Ok(());
    }
    let bad = |key: String, shown: String, why: &str| {
        Error::usage(format!("{}: `{key}` = {shown}: {why}", config.origin()))
            .with_hint("see \"Scheduled canaries without a runner\" in README.md")
    };
    if let Some((i, run)) = config
        .smoke
        .iter()
        .enumerate()
        .find_map(|(i, t)| match &t.check {
            Check::Command { run, .. } => Some((i, run)),
            _ => None,
        })
    {
        return Err(bad(
            format!("smoke[{i}].run"),
            format!("{run:?}"),
            "with [watch], promote also runs inside Lambda, where a command on this machine cannot run; use an `invoke` or `http` smoke test, or remove [watch]",
        ));
    }
    if config.release.together {
        return Err(bad(
            "release.together".to_owned(),
            "true".to_owned(),
            "with [watch], each function's release is promoted on its own; a fleet that moves together needs one runner for all (remove one of them)",
        ));
    }
    Ok(())
}

impl WatchConfig {
    /// The snapshot's key for `function`'s `alias` in `region`:
    /// `<prefix><region>/<function>/<alias>`.
    pub fn key(&self, region: &str, function: &str, alias: &str) -> String {
        format!("{}{region}/{function}/{alias}", self.prefix)
    }

    /// The snapshot's text: the document with `function.region` set to
    /// `region`, the one the release ran in.
    pub fn snapshot(&self, region: &str) -> String {
        let mut document = self.document.clone();
        if let Some(Value::Table(function)) = document.get_mut("function") {
            function.insert("region".to_owned(), Value::String(region.to_owned()));
        }
        document.to_string()
    }
}

/// Whether `text` is a key folder the watcher can use: not empty, ending
/// in '/', not starting with '/', at most 512 characters, no control
/// characters.
pub fn is_prefix(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('/')
        && text.ends_with('/')
        && text.len() <= 512
        && !text.chars().any(char::is_control)
}

/// Whether S3 accepts `name` as a bucket name (the general-purpose rules).
pub fn is_bucket_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(name.chars().next())
        && edge(name.chars().last())
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(std::path::Path::new("greenlight.toml"), text)
    }

    const BASE: &str = "[function]\nname = \"orders\"\nenvironment = { TOKEN = \"s3cr3t\" }\n[package]\nsource = \"app\"\n";

    #[test]
    fn a_snapshot_keeps_only_the_notifications_sent_from_the_account() {
        let config = parse(&format!(
            "{BASE}[release]\nsteps = [10]\n[watch]\nbucket = \"ops-bucket\"\n\
             [[notify]]\nwebhook = \"https://hooks.example.com/t0ken\"\n\
             [[notify]]\nslack = {{ ssm = \"/ops/slack\" }}\n\
             [[notify]]\nslack = {{ env = \"SLACK\" }}\n\
             [[notify]]\nsns = \"arn:aws:sns:eu-west-1:123456789012:releases\"\n"
        ))
        .expect("valid");
        let watch = config.watch.as_ref().expect("[watch]");
        assert_eq!(watch.unsent, ["notify[0]", "notify[2]"]);
        let snapshot = watch.snapshot("eu-west-1");
        assert!(!snapshot.contains("t0ken"), "{snapshot}");
        let again = parse(&snapshot).expect("the snapshot is a config");
        assert_eq!(again.notify.len(), 2, "{snapshot}");
        assert_eq!(again.notify[1].channel, crate::config::notify::Channel::Sns);
    }

    #[test]
    fn a_snapshot_holds_what_promote_needs_and_no_environment() {
        let config = parse(&format!(
            "{BASE}[release]\nsteps = [10]\n[watch]\nbucket = \"ops-bucket\"\n"
        ))
        .expect("valid");
        let watch = config.watch.as_ref().expect("[watch]");
        assert_eq!(watch.prefix, DEFAULT_PREFIX);
        assert_eq!(
            watch.key("eu-west-1", "orders", "live"),
            "greenlight/eu-west-1/orders/live"
        );
        let snapshot = watch.snapshot("eu-west-1");
        assert!(!snapshot.contains("s3cr3t"), "{snapshot}");
        assert!(!snapshot.contains("[package]"), "{snapshot}");
        let again = parse(&snapshot).expect("a snapshot is a config");
        assert_eq!(again.function.region.as_deref(), Some("eu-west-1"));
        assert_eq!(again.release, config.release);
        assert!(!snapshot.contains("TOKEN"), "{snapshot}");
        assert_eq!(again.watch.as_ref().map(|w| &w.bucket), Some(&watch.bucket));
    }

    #[test]
    fn bad_values_are_refused_with_their_place() {
        for (table, key, value) in [
            ("bucket = \"Ops_Bucket\"", "watch.bucket", "\"Ops_Bucket\""),
            (
                "bucket = \"ops\"\nprefix = \"/greenlight\"",
                "watch.prefix",
                "\"/greenlight\"",
            ),
        ] {
            let e = parse(&format!("{BASE}[watch]\n{table}\n")).expect_err(table);
            let line = if key == "watch.bucket" { 7 } else { 8 };
            assert!(
                e.message.starts_with(&format!("greenlight.toml:{line}:")),
                "{}",
                e.message
            );
            assert!(
                e.message.contains(&format!("`{key}` = {value}")),
                "{}",
                e.message
            );
            assert_eq!(e.exit_code(), 2);
        }
    }

    #[test]
    fn a_run_smoke_test_is_refused_with_watch() {
        let e = parse(&format!(
            "{BASE}[[smoke]]\nname = \"cmd\"\nrun = \"true\"\n[watch]\nbucket = \"ops-bucket\"\n"
        ))
        .expect_err("run with [watch]");
        assert!(
            e.message.contains("`smoke[0].run` = \"true\""),
            "{}",
            e.message
        );
        assert_eq!(e.exit_code(), 2);
    }
}
