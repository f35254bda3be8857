//! Notifications: tell webhooks, Slack and SNS topics what happened to a
//! release (issue 25 §3).
//!
//! In: the `[[notify]]` entries ([`crate::config::notify`]) with their URLs
//! read, and each [`Notice`] the release stages send. Out: nothing the
//! release depends on: a notification that fails (a timeout, a refused
//! connection, a 5xx, an SNS error) is tried [`send::ATTEMPTS`] times within
//! about ten seconds, then given up with a one-line warning naming the
//! entry, its URL masked, and why; the release and its exit code are as
//! they would be without it. The warnings are also kept for the report
//! ([`Notifier::warnings`]).
//!
//! Which events are sent once per state change is the release stages'
//! part: a move is told after the conditional write that made it (only the
//! runner whose write won tells it), a hold after the write that marks it
//! in the release record (README "Notifications").
//!
//! AWS calls: `sns:Publish` (through [`crate::aws::sns`]); HTTP POSTs to
//! the webhooks. May import: `config`, `aws`, `ui` and the base modules.

pub mod notice;
pub mod send;

use std::sync::{Mutex, PoisonError};

use crate::aws::sns::Topics;
use crate::config::notify::{Channel, Event, NotifyEntry, masked_url, topic_region};
use crate::secrets::Redactor;
use crate::ui::Ui;

pub use notice::Notice;

/// One entry, ready to be told: its URL (or topic ARN) read.
#[derive(Debug, Clone)]
pub struct Target {
    entry: NotifyEntry,
    /// The URL or topic ARN, read. A URL is a secret: shown masked only.
    address: String,
}

impl Target {
    /// `entry`, whose URL or topic ARN is `address`.
    pub fn new(entry: NotifyEntry, address: String) -> Self {
        Target { entry, address }
    }

    /// How it is told.
    pub fn channel(&self) -> Channel {
        self.entry.channel
    }

    /// Its URL or topic ARN. A URL is a secret: never print it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// How warnings name it: `notify[1] (https://hooks.slack.com/****)`.
    pub fn name(&self) -> String {
        let shown = match self.entry.channel {
            Channel::Sns => self.address.clone(),
            Channel::Webhook | Channel::Slack => masked_url(&self.address),
        };
        format!("{} ({shown})", self.entry.label)
    }
}

/// The run's notifications: the entries to tell, and how.
#[derive(Debug, Default)]
pub struct Notifier {
    targets: Vec<Target>,
    topics: Option<Topics>,
    redactor: Redactor,
    warnings: Mutex<Vec<String>>,
}

impl Notifier {
    /// A notifier that tells no one (no `[[notify]]`, or a command that
    /// moves no traffic).
    pub fn none() -> Self {
        Notifier::default()
    }

    /// A notifier for `targets`, publishing through `topics` when any is a
    /// topic; `redactor` masks the secret values a notice's text (a reason
    /// quoting an error) may carry.
    pub fn new(targets: Vec<Target>, topics: Option<Topics>, redactor: Redactor) -> Self {
        Notifier {
            targets,
            topics,
            redactor,
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// Whether any entry hears of `event` (so nothing is read for a notice
    /// no one hears).
    pub fn wants(&self, event: Event) -> bool {
        self.targets.iter().any(|t| t.entry.hears(event))
    }

    /// Tells every entry that hears of `notice`'s event, all at once; a
    /// failure is a warning (printed as progress, and kept for the report).
    pub async fn send(&self, notice: &Notice, ui: &Ui) {
        let masked = notice.masked(&self.redactor);
        let notice = &masked;
        let told = self
            .targets
            .iter()
            .filter(|t| t.entry.hears(notice.event))
            .map(|target| async move {
                let sent = match target.entry.channel {
                    Channel::Webhook => send::post(&target.address, &notice.json()).await,
                    Channel::Slack => send::post(&target.address, &notice.slack()).await,
                    Channel::Sns => self.publish(target, notice).await,
                };
                (target, sent)
            });
        for (target, sent) in futures::future::join_all(told).await {
            match sent {
                Ok(()) => ui.detail(format_args!("told {} of {}", target.name(), notice.event)),
                Err(why) => {
                    let why = self.redactor.redact(&why).replace(&target.address, "****");
                    let line = format!(
                        "{} was not told of {}: {why}; the release is not affected",
                        target.name(),
                        notice.event
                    );
                    self.warn(&line, ui);
                }
            }
        }
    }

    async fn publish(&self, target: &Target, notice: &Notice) -> Result<(), String> {
        let Some(topics) = &self.topics else {
            return Err("no SNS client".to_owned());
        };
        let arn = &target.address;
        topics
            .publish(arn, topic_region(arn), &notice.subject(), &notice.json())
            .await
            .map_err(|e| {
                // The hint names a missing permission (AccessDenied).
                let hint = e.hint.map(|h| format!(" ({h})")).unwrap_or_default();
                match e.cause {
                    Some(cause) => format!("{}: {cause}{hint}", e.message),
                    None => format!("{}{hint}", e.message),
                }
            })
    }

    /// Says `line` as a warning now, and keeps it for the report.
    pub fn warn(&self, line: &str, ui: &Ui) {
        ui.step(format_args!("warning: {line}"));
        self.warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_owned());
    }

    /// The warnings of notifications given up so far, one line each.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
