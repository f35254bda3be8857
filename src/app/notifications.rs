//! The run's [`Notifier`], built from `[[notify]]` for the commands that
//! move traffic (`ship`, `release`, `promote`, `rollback`; not their dry
//! runs): each entry's URL, read when it is a reference (SSM, Secrets
//! Manager, greenlight's environment) with the same code as environment
//! values. An entry whose URL cannot be read, or is read but is not one
//! greenlight posts to (not `https://`, or `http://` to another machine),
//! is left out with a warning: a notification never stops a release.
//! Every URL is learned by the run's [`Redactor`], so it is masked
//! wherever outside text is shown.

use std::collections::BTreeMap;

use aws_config::SdkConfig;

use crate::aws;
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::config::notify::{Address, Channel, masked_url, url_problem};
use crate::deploy::env_values::{self, Fetched};
use crate::notify::{Notifier, Target};
use crate::secrets::{Environment, Redactor};
use crate::ui::Ui;

/// Learns the URLs written in `config`'s `[[notify]]` entries into
/// `redactor` (every command: a URL is a secret wherever it turns up).
pub(super) fn learn_urls(config: &Config, redactor: &Redactor) {
    let urls = config
        .notify
        .iter()
        .filter_map(|entry| match &entry.address {
            Address::Text(url) if entry.channel != Channel::Sns => {
                Some((entry.label.clone(), url.clone()))
            }
            _ => None,
        });
    redactor.learn(&Environment::new(urls.collect()));
}

/// The notifier for `cli`'s command on `config` (none for a command that
/// moves no traffic, or a dry run).
pub(super) async fn notifier(
    cli: &Cli,
    config: &Config,
    sdk: &SdkConfig,
    redactor: &Redactor,
    ui: &Ui,
) -> Notifier {
    let moves = matches!(
        cli.command,
        Command::Ship { .. }
            | Command::Release { .. }
            | Command::Promote { .. }
            | Command::Approve { .. }
            | Command::Rollback { .. }
    );
    if !moves || cli.command.is_dry_run() || config.notify.is_empty() {
        return Notifier::none();
    }
    let store = aws::secret_store(sdk);
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let (origin, fetched) = (config.origin(), Fetched::default());
    let mut targets = Vec::new();
    let mut unread = Vec::new();
    for entry in &config.notify {
        let address = match &entry.address {
            Address::Text(text) => text.clone(),
            Address::Reference(source) => {
                let key = format!("{}.{}", entry.label, entry.channel.key());
                let one = BTreeMap::from([(key.clone(), source.clone())]);
                match env_values::read(&one, &origin, &store, &region, &fetched).await {
                    Ok(mut values) => {
                        let url = values.remove(&key).unwrap_or_default();
                        if let Some(why) = url_problem(&url) {
                            unread.push(format!(
                                "{} will not be told: the URL read for it, {}: {why}; the release is not affected",
                                entry.label,
                                masked_url(&url)
                            ));
                            continue;
                        }
                        url
                    }
                    Err(e) => {
                        unread.push(format!(
                            "{} will not be told: {}; the release is not affected",
                            entry.label, e.message
                        ));
                        continue;
                    }
                }
            }
        };
        targets.push(Target::new(entry.clone(), address));
    }
    let urls = targets
        .iter()
        .filter(|t| t.channel() != Channel::Sns)
        .map(|t| (t.name(), t.address().to_owned()));
    redactor.learn(&Environment::new(urls.collect()));
    let topics = targets
        .iter()
        .any(|t| t.channel() == Channel::Sns)
        .then(|| aws::sns::Topics::new(sdk));
    let notifier = Notifier::new(targets, topics, redactor.clone());
    for line in unread {
        notifier.warn(&line, ui);
    }
    notifier
}
