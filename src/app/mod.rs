//! The commands: each one runs pipeline stages in order and fills a [`Report`].
//!
//! `run` reads the config, sets up output and AWS, and runs each function's
//! command in two parts: [`prepare`] does what needs no AWS (the checks that
//! are exit 2 without reading AWS, the build, the package, the region), then
//! [`Ready::run`] the rest; a fleet does the first part for every function
//! before any starts the second ([`fleet::run`]). Every problem ends up in
//! the report as an [`Error`], whose class decides the exit code; nothing
//! here prints.
//!
//! Lives here: this module (one function or a fleet, and the report),
//! `prepare` (a function's run up to its AWS part), `commands` (each
//! command's work), `stages` (the stages of deploy and ship),
//! `notifications` (the run's `[[notify]]` notifier), [`fleet`],
//! [`shared_packages`] and [`init`]. May import every layer below it; only
//! `main.rs` imports it.

mod commands;
pub mod fleet;
pub mod init;
mod notifications;
mod prepare;
pub mod shared_packages;
mod snapshots;
mod stages;

pub use prepare::{Prepared, Ready, prepare};

use commands::Job;
use std::path::Path;

use crate::app::shared_packages::SharedPackages;
use crate::aws::{AwsOptions, Regions};
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::deploy::env_values::Fetched;
use crate::error::{Error, Failure, Result};
use crate::lockstep::Member;
use crate::release::unexpected;
use crate::report::Report;
use crate::secrets::Redactor;

/// Runs the command `cli` asks for and reports how it went: for the one
/// function of the config, or for each selected function of a
/// `[[functions]]` config ([`fleet::run`]).
pub async fn run(cli: &Cli) -> Report {
    match unexpected::catching(run_all(cli)).await {
        Ok(report) => report,
        Err(panic) => {
            let mut report = Report::new(cli.command.name());
            fail(&mut report, panicked(&panic));
            report
        }
    }
}

/// A panic outside the code that moves traffic (which rolls back on its
/// own, see [`unexpected`]): nothing was released, exit 1.
pub(super) fn panicked(panic: &str) -> Error {
    Error::no_traffic_moved(unexpected::describe(panic)).with_hint(
        "no traffic was moved by this run; see `greenlight status`, and please report the bug",
    )
}

async fn run_all(cli: &Cli) -> Report {
    let mut report = Report::new(cli.command.name());
    if let Command::Init { .. } = &cli.command {
        if let Err(e) = init_command(cli, &mut report) {
            fail(&mut report, e);
        }
        return report;
    }
    let shared = Shared {
        regions: regions(cli),
        packages: SharedPackages::default(),
        fetched: Fetched::default(),
        redactor: Redactor::default(),
    };
    let mut report = match Config::load_all(&cli.config)
        .and_then(|(configs, many)| fleet::select(cli, configs, many))
    {
        Err(e) => {
            fail(&mut report, e);
            report
        }
        Ok((mut configs, false)) if configs.len() == 1 => {
            run_one(cli, configs.remove(0), Company::Alone, &shared).await
        }
        Ok((configs, _)) => fleet::run(cli, configs, &shared).await,
    };
    report.redactor = shared.redactor;
    report
}

/// The AWS configuration per region as the command line sets it
/// (`--region`, `--profile`, `--endpoint-url`, `--aws-timeout`,
/// `--lambda-rate`), loaded when first asked for.
pub fn regions(cli: &Cli) -> Regions {
    Regions::new(
        AwsOptions {
            region: cli.region.clone(),
            profile: cli.profile.clone(),
            endpoint_url: cli.endpoint_url.clone(),
            timeout: cli.aws_timeout,
        },
        cli.lambda_rate,
    )
}

/// What the functions of one run share: AWS clients and pace per region,
/// and the packages made so far.
pub struct Shared {
    /// One AWS config and one Lambda pace per region.
    pub regions: Regions,
    /// Packages made once for functions with the same source.
    pub packages: SharedPackages,
    /// Environment values read from SSM and Secrets Manager so far.
    pub fetched: Fetched,
    /// The secret values of every function of the run: those of its
    /// configuration and those its versions hold. Outside text is masked
    /// with all of them wherever it is shown.
    pub redactor: Redactor,
}

/// Whether a function runs alone or as one of a fleet.
#[derive(Debug, Clone, Copy)]
pub enum Company<'a> {
    /// The config's only function.
    Alone,
    /// One of a `[[functions]]` fleet: progress lines carry its name; with
    /// `[release] together`, its place on the fleet's board.
    Fleet(Option<Member<'a>>),
}

/// Runs the command for one function.
pub async fn run_one(cli: &Cli, config: Config, company: Company<'_>, shared: &Shared) -> Report {
    let ready = match prepare(cli, config, company, shared).await {
        Prepared::Ended(report) => return *report,
        Prepared::Ready(ready) => ready,
    };
    // `ship` learns together with its first reads (no round trip more).
    if matches!(ready.job, Job::Ship(..)) && !cli.command.is_dry_run() {
        return ready.run(cli).await;
    }
    match ready.learn_secrets().await {
        Prepared::Ended(report) => *report,
        Prepared::Ready(ready) => ready.run(cli).await,
    }
}

/// Files `e` as the report's error and outcome.
pub(super) fn fail(report: &mut Report, e: Error) {
    let smoke_failed = report.smoke.as_ref().is_some_and(|s| !s.passed());
    let outcome = match e.failure {
        Failure::Usage => "usage_error",
        Failure::NoTrafficMoved if smoke_failed => "smoke_failed",
        Failure::NoTrafficMoved => "failed",
        Failure::Conflict => "conflict",
        Failure::RolledBack => "rolled_back",
        Failure::NeedsOperator => "rollback_failed",
        Failure::Held => "held",
    };
    report.fail(outcome, e);
}

/// `init`: writes the starter files; reads no config.
fn init_command(cli: &Cli, report: &mut Report) -> Result<()> {
    if let Command::Init {
        flavour,
        name,
        arm64,
        force,
    } = &cli.command
    {
        let dir = cli
            .config
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = name.clone().unwrap_or_else(|| default_name(dir));
        let written = init::init(dir, &name, *flavour, *arm64, *force)?;
        report.function = Some(name);
        report.written = written.iter().map(|p| p.display().to_string()).collect();
        report.outcome = "initialised".to_owned();
    }
    Ok(())
}

/// A function name from a folder's name: letters, digits, '-' and '_' kept.
fn default_name(dir: &Path) -> String {
    let folder = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let name: String = folder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "my-function".to_owned()
    } else {
        name
    }
}
