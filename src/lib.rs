//! greenlight: ship AWS Lambda code safely.
//!
//! The pipeline, in the order a release runs:
//! [`package`] → [`deploy`] → [`smoke`] → [`release`] (→ [`progress`] with
//! [`gates`]: alarms, [`metrics`] and smoke tests, for canary and linear steps) → [`rollback`].
//! [`app`] runs the commands; [`config`] reads `greenlight.toml`; [`lambda`]
//! is the only module that talks to Lambda; [`record`] keeps the release
//! record in AWS; [`error`] decides exit codes.

pub mod alb_checks;
pub mod alb_config;
pub mod app;
pub mod aws;
pub mod build;
pub mod candidate;
pub mod ci_summary;
pub mod cli;
pub mod clock;
pub mod cloudwatch;
pub mod command_check;
pub mod config;
pub mod deploy;
pub mod dns;
pub mod dry_run;
pub mod elbv2;
pub mod env_values;
pub mod error;
pub mod extra_settings;
pub mod fleet;
pub mod functions;
pub mod gates;
pub mod http_check;
pub mod init;
pub mod interrupt;
pub mod lambda;
pub mod lockstep;
pub mod metrics;
pub mod outside;
pub mod pacing;
pub mod package;
pub mod pin;
pub mod plan;
pub mod progress;
pub mod prune;
pub mod ready;
pub mod record;
pub mod refusals;
pub mod release;
pub mod report;
pub mod rollback;
pub mod route53;
pub mod s3;
pub mod sdk_errors;
pub mod secret_store;
pub mod secrets;
pub mod shared_packages;
pub mod smoke;
pub mod status;
pub mod triggers;
pub mod ui;
pub mod unexpected;
pub mod weights;
pub mod zipfile;
