//! What a notification says: the [`Notice`], as the webhook's and SNS's
//! JSON and as a Slack message.
//!
//! Every field is always there (`null` when unknown), so a receiver reads
//! one shape: `event`, `function`, `region`, `account`, `alias`, `place`,
//! `version`, `previous`, `step`, `steps`, `percent`, `outcome`, `reason`,
//! `commit`, `run_url`, `at`. The facts come from AWS: the region and
//! account from the version's ARN, the commit and run URL from its
//! provenance description (read by `release::tell`); nothing is
//! invented when they are missing.

use serde::Serialize;

use crate::config::notify::Event;
use crate::outside::{self, Sink};
use crate::secrets::Redactor;

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// What happened.
    pub event: Event,
    /// The function.
    pub function: String,
    /// Its region, from the version's ARN.
    pub region: Option<String>,
    /// Its account, from the version's ARN.
    pub account: Option<String>,
    /// The alias users reach (with `[dns]` or `[alb]`: the live colour's
    /// when the command started).
    pub alias: String,
    /// What users reach, in words: `alias live`, `DNS name
    /// orders.example.com` or `load balancer <listener or rule ARN>`.
    pub place: String,
    /// The version being released (or rolled back from).
    pub version: String,
    /// The stable version (the one rolled back to).
    pub previous: Option<String>,
    /// The step the release is on, counting from 1 (none once finished or
    /// rolled back).
    pub step: Option<usize>,
    /// How many steps the plan has before 100 %.
    pub steps: Option<usize>,
    /// The share of traffic on `version` after the event, in percent.
    pub percent: u8,
    /// Where the release stands: `in_progress`, `held`, `released`,
    /// `rolled_back` or `needs_operator`.
    pub outcome: &'static str,
    /// Why: the hold's, the rollback's or the failed rollback's reason.
    pub reason: Option<String>,
    /// The commit the version was built from (its provenance).
    pub commit: Option<String>,
    /// The CI run that deployed it (its provenance).
    pub run_url: Option<String>,
    /// When, in RFC 3339 UTC.
    pub at: String,
}

impl Notice {
    /// This notice with its reason as it is shown: the outside text in it
    /// (an error, an alarm's reason) masked with the secret values
    /// `redactor` knows, an excerpt cut, and greenlight's marks around it
    /// taken out ([`outside::render`]).
    pub fn masked(&self, redactor: &Redactor) -> Notice {
        Notice {
            reason: self
                .reason
                .as_deref()
                .map(|r| outside::render(r, redactor, Sink::Plain)),
            ..self.clone()
        }
    }

    /// The webhook's body and the SNS message.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The SNS subject (at most 100 characters, as SNS allows).
    pub fn subject(&self) -> String {
        let subject = format!(
            "greenlight: {} {} version {}",
            self.function, self.event, self.version
        );
        subject.chars().take(100).collect()
    }

    /// The Slack message, `{"text": …}`: the same facts, for people, as
    /// plain text: Slack's control characters (`&`, `<`, `>`) escaped, so
    /// outside text in it (a reason quoting an alarm, a run URL from a
    /// version's description) cannot mention `@channel` or put a link
    /// under words of its own.
    pub fn slack(&self) -> String {
        let (name, alias, version) = (&self.function, &self.place, &self.version);
        let mut text = match self.event {
            Event::Started => format!(
                "Release of {name} version {version} started: {} % of {alias}",
                self.percent
            ),
            Event::Step => format!(
                "Release of {name} version {version} moved on: {} % of {alias}",
                self.percent
            ),
            Event::Held => format!(
                "Release of {name} version {version} is held at {} % of {alias}",
                self.percent
            ),
            Event::WaitingForApproval => format!(
                "Release of {name} version {version} is waiting for approval at {} % of {alias}: run `greenlight approve` to move on",
                self.percent
            ),
            Event::Approved => format!(
                "Release of {name} version {version} was approved at {} % of {alias}",
                self.percent
            ),
            Event::Released => {
                format!("{name} version {version} is released: 100 % of {alias}")
            }
            Event::RolledBack => format!(
                "Release of {name} version {version} was rolled back: {alias} is on version {}",
                self.previous.as_deref().unwrap_or("?")
            ),
            Event::RollbackFailed => format!(
                "ROLLBACK FAILED for {name} version {version}: {alias} may still send traffic to it; a person must act"
            ),
        };
        if let (Some(step), Some(steps)) = (self.step, self.steps) {
            text.push_str(&format!(" (step {step} of {steps})"));
        }
        if let Some(reason) = &self.reason {
            text.push_str(&format!("\nWhy: {reason}"));
        }
        let mut facts = Vec::new();
        if let Some(previous) = &self.previous {
            facts.push(format!("previous version {previous}"));
        }
        if let Some(commit) = &self.commit {
            facts.push(format!("commit {commit}"));
        }
        match (&self.region, &self.account) {
            (Some(region), Some(account)) => facts.push(format!("{region}, account {account}")),
            (Some(region), None) => facts.push(region.clone()),
            _ => {}
        }
        if !facts.is_empty() {
            text.push_str(&format!("\n{}", facts.join(" · ")));
        }
        if let Some(run) = &self.run_url {
            text.push_str(&format!("\nRun: {run}"));
        }
        let text = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        serde_json::json!({ "text": text }).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice {
            event: Event::RolledBack,
            function: "orders".to_owned(),
            region: Some("eu-west-1".to_owned()),
            account: Some("123456789012".to_owned()),
            alias: "live".to_owned(),
            place: "alias live".to_owned(),
            version: "6".to_owned(),
            previous: Some("5".to_owned()),
            step: None,
            steps: None,
            percent: 0,
            outcome: "rolled_back",
            reason: Some("alarm orders-errors is in ALARM".to_owned()),
            commit: Some("4f2c".to_owned()),
            run_url: Some("https://ci.example/runs/42".to_owned()),
            at: "2026-12-05T06:00:00Z".to_owned(),
        }
    }

    #[test]
    fn the_json_has_every_field_and_slack_the_same_facts() {
        let json: serde_json::Value = serde_json::from_str(&notice().json()).expect("json");
        for field in [
            "event", "function", "region", "account", "alias", "place", "version", "previous",
            "step", "steps", "percent", "outcome", "reason", "commit", "run_url", "at",
        ] {
            assert!(json.get(field).is_some(), "{field} in {json}");
        }
        assert_eq!(json["event"], "rolled_back");
        let slack: serde_json::Value = serde_json::from_str(&notice().slack()).expect("json");
        let text = slack["text"].as_str().expect("text");
        for fact in [
            "orders",
            "alias live is on version 5",
            "version 6",
            "version 5",
            "ALARM",
            "4f2c",
            "runs/42",
        ] {
            assert!(text.contains(fact), "{fact} in {text}");
        }
    }
}
