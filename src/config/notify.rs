//! The `[[notify]]` tables: who hears of a release, and of which events.
//!
//! Each entry is exactly one of `webhook = "https://…"` (a JSON POST),
//! `slack = "https://hooks.slack.com/…"` (a Slack incoming webhook) or
//! `sns = "arn:aws:sns:REGION:ACCOUNT:TOPIC"`, with an optional
//! `events = [...]` filter ([`Event`]: all of them when absent). A URL
//! holds a token, so it may be a reference (`{ env = "NAME" }`,
//! `{ ssm = "/path" }`, `{ secret = "id", key = "k" }`) read when a
//! command that moves traffic starts, and it is shown masked
//! ([`masked_url`]) wherever greenlight names it, errors included.
//!
//! In: the tables as written. Out: [`NotifyEntry`]s. Any problem is exit 2
//! naming the file (and line), the key and the value (a URL masked). No
//! AWS calls.

use std::fmt;
use std::ops::Range;

use toml::{Spanned, Table, Value};

use crate::config::env::{Source, reference_source};
use crate::config::place_in;
use crate::error::{Error, Result};
use crate::secrets::MASK;

/// What happened to a release, as notifications name it. The names are a
/// stable contract (README "Notifications").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The first move of a stepped release: traffic starts to move.
    Started,
    /// A later step of a stepped release.
    Step,
    /// The gates cannot judge the new version (too little traffic): the
    /// release holds at its step.
    Held,
    /// A step has baked with green gates and the release waits for
    /// `greenlight approve` before its next move (`[release] approval`).
    WaitingForApproval,
    /// Someone approved the move a release waits for (`greenlight
    /// approve`): who, and the move, in the reason.
    Approved,
    /// All traffic is on the new version.
    Released,
    /// Traffic went back to the stable version: a red gate, an error, an
    /// interrupt, or a manual `rollback`.
    RolledBack,
    /// Putting traffic back failed: a person must act (exit 4).
    RollbackFailed,
}

impl Event {
    /// Every event, in the order a release meets them.
    pub const ALL: [Event; 8] = [
        Event::Started,
        Event::Step,
        Event::Held,
        Event::WaitingForApproval,
        Event::Approved,
        Event::Released,
        Event::RolledBack,
        Event::RollbackFailed,
    ];

    /// The event's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Started => "started",
            Event::Step => "step",
            Event::Held => "held",
            Event::WaitingForApproval => "waiting_for_approval",
            Event::Approved => "approved",
            Event::Released => "released",
            Event::RolledBack => "rolled_back",
            Event::RollbackFailed => "rollback_failed",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an entry is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A JSON POST of the notice.
    Webhook,
    /// A Slack incoming webhook: `{"text": …}`.
    Slack,
    /// An SNS topic: the notice's JSON as the message.
    Sns,
}

impl Channel {
    /// The key that names it.
    pub fn key(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Slack => "slack",
            Channel::Sns => "sns",
        }
    }
}

/// Where an entry's URL is: written in the config, or read from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// Written in the config (a URL is a secret: never shown whole).
    Text(String),
    /// A reference, read when a command that moves traffic starts.
    Reference(Source),
}

/// One checked `[[notify]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyEntry {
    /// How errors and warnings name it: `notify[0]`.
    pub label: String,
    /// How it is told.
    pub channel: Channel,
    /// Its URL or topic ARN.
    pub address: Address,
    /// The events it hears of (all when the config gives no filter).
    pub events: Vec<Event>,
    /// `exclude = ["rollback_failed"]`: the one event heard whatever
    /// `events` lists is not heard either.
    pub excludes_rollback_failed: bool,
}

impl NotifyEntry {
    /// Whether this entry hears of `event`. `rollback_failed` (a person
    /// must act) is heard whatever `events` lists, unless the entry says
    /// `exclude = ["rollback_failed"]`.
    pub fn hears(&self, event: Event) -> bool {
        self.events.contains(&event)
            || (event == Event::RollbackFailed && !self.excludes_rollback_failed)
    }
}

/// Where the `[[notify]]` tables are checked: the file as errors name it,
/// and its text when values can be located in it.
pub(super) struct Place<'a> {
    /// The file, as errors name it.
    pub file: &'a str,
    /// The file's text (`None` for a `[[functions]]` entry's document).
    pub text: Option<&'a str>,
}

impl Place<'_> {
    fn bad(&self, key: &str, span: Range<usize>, shown: &str, why: &str) -> Error {
        let place = place_in(self.text, span.start);
        Error::usage(format!("{}{place}: `{key}` = {shown}: {why}", self.file))
            .with_hint("see \"Notifications\" in README.md")
    }
}

/// The keys an entry may have (`exclude` takes only `rollback_failed`).
const KEYS: [&str; 5] = ["webhook", "slack", "sns", "events", "exclude"];

/// Checks the `[[notify]]` tables.
pub(super) fn check(raw: Vec<Spanned<Table>>, place: &Place) -> Result<Vec<NotifyEntry>> {
    raw.into_iter()
        .enumerate()
        .map(|(i, table)| entry(i, table, place))
        .collect()
}

fn entry(i: usize, table: Spanned<Table>, place: &Place) -> Result<NotifyEntry> {
    let label = format!("notify[{i}]");
    let span = table.span();
    let table = table.into_inner();
    let bad = |key: &str, shown: &str, why: &str| {
        place.bad(&format!("{label}.{key}"), span.clone(), shown, why)
    };
    if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(
            key,
            MASK,
            "a [[notify]] entry has one of webhook, slack or sns, and optionally events",
        ));
    }
    let given: Vec<Channel> = [Channel::Webhook, Channel::Slack, Channel::Sns]
        .into_iter()
        .filter(|c| table.contains_key(c.key()))
        .collect();
    let channel = match given[..] {
        [one] => one,
        [] => {
            return Err(place.bad(
                &label,
                span,
                "{ … }",
                "give one of webhook = \"https://…\", slack = \"https://hooks.slack.com/…\" or sns = \"arn:aws:sns:…\"",
            ));
        }
        [first, second, ..] => {
            return Err(bad(
                second.key(),
                MASK,
                &format!(
                    "an entry has one kind: {} and {} are two; write a [[notify]] entry for each",
                    first.key(),
                    second.key()
                ),
            ));
        }
    };
    let key = channel.key();
    let address = match (channel, &table[key]) {
        (Channel::Sns, Value::String(arn)) => match topic_arn_problem(arn) {
            None => Address::Text(arn.clone()),
            Some(why) => return Err(bad(key, &format!("{arn:?}"), why)),
        },
        (Channel::Sns, _) => {
            return Err(bad(
                key,
                MASK,
                "an SNS topic ARN is a string (it is no secret: write it as it is)",
            ));
        }
        (_, Value::String(url)) => match url_problem(url) {
            None => Address::Text(url.clone()),
            Some(why) => return Err(bad(key, &masked_url(url), why)),
        },
        (_, Value::Table(reference)) => match reference_source(reference) {
            Ok(source) => Address::Reference(source),
            Err(why) => return Err(bad(key, "{ … }", why)),
        },
        _ => {
            return Err(bad(
                key,
                MASK,
                "a URL is a string, { env = \"NAME\" }, { ssm = \"/path/name\" } or { secret = \"name-or-arn\", key = \"field\" }",
            ));
        }
    };
    let named = |field: &str| -> Result<Option<Vec<Event>>> {
        let Some(value) = table.get(field) else {
            return Ok(None);
        };
        let names = value.as_array().ok_or_else(|| {
            bad(
                field,
                &value.to_string(),
                "a list of event names, e.g. [\"released\", \"rolled_back\"]",
            )
        })?;
        names
            .iter()
            .map(|name| {
                Event::ALL
                    .into_iter()
                    .find(|e| Some(e.as_str()) == name.as_str())
                    .ok_or_else(|| {
                        let known: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
                        bad(
                            field,
                            &name.to_string(),
                            &format!("not an event; the events are {}", known.join(", ")),
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    };
    let listed = named("events")?;
    let excluded = named("exclude")?.unwrap_or_default();
    if listed.as_ref().is_some_and(Vec::is_empty) {
        return Err(bad(
            "events",
            "[]",
            "an empty filter hears of nothing: list events, or remove the entry",
        ));
    }
    if let Some(other) = excluded.iter().find(|e| **e != Event::RollbackFailed) {
        return Err(bad(
            "exclude",
            &format!("[\"{other}\"]"),
            "only \"rollback_failed\" (always heard otherwise) can be excluded; list the events wanted in `events`",
        ));
    }
    Ok(NotifyEntry {
        label,
        channel,
        address,
        events: listed.unwrap_or_else(|| Event::ALL.to_vec()),
        excludes_rollback_failed: !excluded.is_empty(),
    })
}

/// Why `url` cannot be a notification URL: not a URL, not `https://`, or
/// `http://` to a host other than this machine (a token sent in clear).
pub fn url_problem(url: &str) -> Option<&'static str> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Some("not a URL: https://host/path");
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => None,
        "http" if is_loopback(&parsed) => None,
        "http" => Some(
            "plain http sends the URL's token in clear: use https:// (http:// only to this machine: localhost, 127.0.0.1, [::1])",
        ),
        _ => Some("not an https:// URL"),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `url` as greenlight shows it: the scheme and host only, the rest (where
/// webhooks keep their token) masked: `https://hooks.slack.com/****`.
pub fn masked_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or_default();
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{host}{port}/{MASK}", parsed.scheme())
        }
        Err(_) => MASK.to_owned(),
    }
}

/// Why `arn` is not an SNS topic ARN (`arn:PARTITION:sns:REGION:ACCOUNT:TOPIC`,
/// a topic name of 1 to 256 letters, digits, `-` and `_`, `.fifo` allowed).
pub fn topic_arn_problem(arn: &str) -> Option<&'static str> {
    let parts: Vec<&str> = arn.split(':').collect();
    let fits = match parts[..] {
        ["arn", partition, "sns", region, account, topic] => {
            partition.starts_with("aws")
                && !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && {
                    let name = topic.strip_suffix(".fifo").unwrap_or(topic);
                    (1..=256).contains(&topic.len())
                        && !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                }
        }
        _ => false,
    };
    (!fits).then_some(
        "an SNS topic ARN is arn:aws:sns:REGION:ACCOUNT:TOPIC (a 12-digit account, a topic name of letters, digits, '-' and '_')",
    )
}

/// The region an SNS topic ARN names.
pub fn topic_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<NotifyEntry>> {
        let config = crate::config::Config::parse(
            std::path::Path::new("greenlight.toml"),
            &format!("[function]\nname = \"orders\"\n{text}"),
        )?;
        Ok(config.notify)
    }

    #[test]
    fn entries_of_each_kind_with_and_without_a_filter() {
        let entries = parse(
            "[[notify]]\nwebhook = \"https://example.com/hook/t0ken\"\n\
             [[notify]]\nslack = { env = \"SLACK_URL\" }\nevents = [\"released\", \"rolled_back\"]\n\
             [[notify]]\nsns = \"arn:aws:sns:eu-west-1:123456789012:releases\"\nevents = [\"held\"]\nexclude = [\"rollback_failed\"]\n",
        )
        .expect("valid");
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].channel, Channel::Webhook);
        assert!(Event::ALL.iter().all(|e| entries[0].hears(*e)));
        assert_eq!(
            entries[1].address,
            Address::Reference(Source::Env("SLACK_URL".to_owned()))
        );
        assert!(entries[1].hears(Event::RollbackFailed), "always heard");
        assert!(!entries[1].hears(Event::Step));
        assert!(
            !entries[2].hears(Event::RollbackFailed),
            "excluded on purpose"
        );
        assert_eq!(
            topic_region("arn:aws:sns:eu-west-1:123456789012:releases"),
            "eu-west-1"
        );
    }

    #[test]
    fn each_bad_entry_names_its_line_key_and_a_masked_value() {
        for (entry, line, key, shown, why) in [
            (
                "webhook = \"https://a.example/x/t0ken\"\nslack = \"https://hooks.slack.com/t0ken\"",
                3,
                "notify[0].slack",
                MASK,
                "one kind",
            ),
            (
                "webhook = \"https://a.example/t0ken\"\nevents = [\"deployed\"]",
                3,
                "notify[0].events",
                "\"deployed\"",
                "not an event",
            ),
            (
                "webhook = \"http://hooks.example.com/t0ken\"",
                3,
                "notify[0].webhook",
                "http://hooks.example.com/****",
                "plain http",
            ),
            (
                "sns = \"arn:aws:sqs:eu-west-1:123456789012:q\"",
                3,
                "notify[0].sns",
                "\"arn:aws:sqs:eu-west-1:123456789012:q\"",
                "SNS topic ARN",
            ),
            (
                "webhook = \"t0ken\"",
                3,
                "notify[0].webhook",
                MASK,
                "not a URL",
            ),
            (
                "events = [\"held\"]",
                3,
                "notify[0]",
                "{ … }",
                "give one of",
            ),
            (
                "slack = \"https://hooks.slack.com/t0ken\"\nevents = []",
                3,
                "notify[0].events",
                "[]",
                "empty filter",
            ),
        ] {
            let err = parse(&format!("[[notify]]\n{entry}\n")).expect_err(entry);
            assert!(
                err.message
                    .starts_with(&format!("greenlight.toml:{line}:1: `{key}` = {shown}: ")),
                "{entry}: {}",
                err.message
            );
            assert!(err.message.contains(why), "{entry}: {}", err.message);
            assert!(!err.message.contains("t0ken"), "{}", err.message);
        }
    }

    #[test]
    fn urls_to_this_machine_may_be_plain_http() {
        assert_eq!(url_problem("http://127.0.0.1:8080/hook"), None);
        assert_eq!(url_problem("http://localhost/hook"), None);
        assert_eq!(url_problem("http://[::1]:9/hook"), None);
        assert!(url_problem("http://10.0.0.1/hook").is_some());
        assert!(url_problem("ftp://example.com/hook").is_some());
        assert_eq!(
            masked_url("https://hooks.slack.com/services/T/B/x"),
            "https://hooks.slack.com/****"
        );
        assert_eq!(
            masked_url("http://127.0.0.1:8080/t0ken"),
            "http://127.0.0.1:8080/****"
        );
    }
}
