//! greenlight: ship AWS Lambda code safely.
//!
//! The pipeline, in the order a release runs:
//! [`package`] → [`deploy`] → [`checks`] (smoke tests) → [`release`] (steps
//! and bakes watched by [`checks`]: alarms, metrics and smoke tests) →
//! rollback. [`app`] runs the commands; [`config`] reads `greenlight.toml`;
//! [`aws`] is the only code that calls AWS; [`record`] is the release record
//! kept in AWS; [`report`] prints what happened; [`error`] decides exit codes;
//! [`watch`] is greenlight running itself as a Lambda function on a
//! schedule, promoting what `--no-wait` left in progress; [`notify`] tells
//! webhooks, Slack and SNS what happened to a release.

pub mod app;
pub mod aws;
pub mod checks;
pub mod cli;
pub mod config;
pub mod context;
pub mod deploy;
pub mod error;
pub mod history;
pub mod interrupt;
pub mod lockstep;
pub mod notify;
pub mod outside;
pub mod package;
pub mod planned;
pub mod record;
pub mod release;
pub mod report;
pub mod secrets;
pub mod ui;
pub mod watch;
