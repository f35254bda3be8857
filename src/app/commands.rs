//! Each command's work: the local part (what a command packages or reads
//! from the command line, as a [`Job`]) and the AWS part, which runs the
//! stages the command asks for.

use crate::app::Shared;
use crate::app::snapshots;
use crate::app::stages::{
    deploy_stage, package_to_file, record_release, release_stage, shared_package, ship, smoke_stage,
};
use crate::aws::RegionalAws;
use crate::aws::lambda::{FunctionState, Lambda};
use crate::checks::candidate;
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::context::Ctx;
use crate::deploy::Deployable;
use crate::deploy::triggers;
use crate::error::{Error, Result};
use crate::release::approver::Approver;
use crate::release::dry_run::{self, DryRun};
use crate::release::{dns, prune, reading, rollback, status};
use crate::report::Report;
use crate::ui::Ui;
use crate::{deploy, release};
use std::sync::{Mutex, PoisonError};

/// A command with everything it needs that does not come from AWS.
pub(super) enum Job {
    Deploy(Deployable),
    /// The code, and whether to wait for the whole release.
    Ship(Deployable, bool),
    Test(Option<String>),
    /// The version, and whether to wait for the whole release.
    Release(Option<String>, bool),
    Promote,
    /// Who approves (`GITHUB_ACTOR` or `USER`, and the AWS caller), and
    /// the version they mean (`--version`).
    Approve(Approver),
    Rollback,
    Status,
    /// How many versions to list, and the versions once listed (by
    /// [`crate::app::prepare::Ready::learn_secrets`]).
    History(usize, Option<Vec<FunctionState>>),
    /// How many versions to keep, and whether this is a dry run.
    Prune(usize, bool),
}

/// [`prepare`]'s work: the job with what it needs that does not come from
/// AWS, and its region's AWS configuration; `None` when that was the whole
/// command (`package`).
pub(super) async fn local_part(
    cli: &Cli,
    config: &Config,
    ui: &Ui,
    shared: &Shared,
    report: &mut Report,
) -> Result<Option<(Job, RegionalAws)>> {
    let packages = &shared.packages;
    let command = cli.command.name();
    let job = match &cli.command {
        Command::Package { out } => {
            package_to_file(config, out.as_deref(), ui, report)?;
            return Ok(None);
        }
        Command::Deploy { .. } => {
            Job::Deploy(shared_package(config, command, packages, ui, report)?)
        }
        Command::Ship { no_wait, .. } | Command::Plan { no_wait } => Job::Ship(
            shared_package(config, command, packages, ui, report)?,
            !no_wait,
        ),
        Command::Test { version } => Job::Test(version.clone()),
        Command::Release {
            version, no_wait, ..
        } => Job::Release(version.clone(), !no_wait),
        Command::Promote { .. } => Job::Promote,
        Command::Approve { version, .. } => Job::Approve(Approver::of_version(*version)),
        Command::Rollback { .. } => Job::Rollback,
        Command::Status => Job::Status,
        Command::History { limit } => Job::History(*limit, None),
        Command::Prune { keep, dry_run } => Job::Prune(*keep, *dry_run),
        Command::Completions { .. }
        | Command::Man
        | Command::Init { .. }
        | Command::Watch { .. } => {
            return Err(Error::usage("this command reads no config"));
        }
    };
    let regional = shared
        .regions
        .get(config.function.region.as_deref())
        .await?;
    report.region = regional.0.region().map(ToString::to_string);
    let job = match job {
        Job::Approve(asked) => Job::Approve(
            crate::release::approver::approver(&regional.0, ui)
                .await
                .approving(asked),
        ),
        job => job,
    };
    Ok(Some((job, regional)))
}

/// [`Ready::run`]'s work: the job, from its first AWS call on.
/// `learned`: whether the function's versions' values are learned already.
pub(super) async fn aws_part(
    cli: &Cli,
    base: Ctx<'_>,
    job: Job,
    learned: bool,
    report: &mut Report,
) -> Result<()> {
    // In DNS mode the alias users reach is the live colour's. `status`
    // reports records it cannot read as its problem instead of failing;
    // `history` fails, as it would tell the live version `never_released`.
    let config = match dns::with_live_alias(base.config, base).await {
        Ok(live) => live,
        Err(_) if matches!(job, Job::Status) => base.config.clone(),
        Err(e) => return Err(e),
    };
    report.alias = Some(config.function.alias.clone());
    let ctx = Ctx {
        config: &config,
        ..base
    };

    if cli.command.is_dry_run() {
        return plan_only(ctx, job, cli.command.name(), report).await;
    }
    let moves = match job {
        Job::Ship(..) | Job::Release(..) => Some(true),
        Job::Promote | Job::Approve(_) | Job::Rollback => Some(false),
        _ => None,
    };
    let done = run_job(ctx, job, learned, report).await;
    if let Some(starts) = moves {
        // `base`: its alias is the config's own, which in DNS mode stays
        // the same while the live colour changes.
        snapshots::follow(base, starts, &done, report).await;
    }
    done
}

/// The job's own work, from its first AWS call on.
async fn run_job(ctx: Ctx<'_>, job: Job, learned: bool, report: &mut Report) -> Result<()> {
    let (lambda, config) = (ctx.lambda, ctx.config);
    match job {
        Job::Deploy(code) => {
            let (decided, ()) =
                tokio::try_join!(deploy::decide(ctx, &code), candidate::check(ctx))?;
            deploy_stage(ctx, &code, decided, report).await.map(|_| ())
        }
        Job::Ship(code, wait) => ship(ctx, &code, wait, !learned, report).await,
        Job::Test(version) => {
            let version = version_or_latest(lambda, config, version).await?;
            candidate::warn(ctx);
            candidate::point(ctx, &version).await?;
            smoke_stage(ctx, &version, report).await
        }
        Job::Release(version, wait) => {
            let (version, ()) = tokio::try_join!(
                version_or_latest(lambda, config, version),
                candidate::check(ctx)
            )?;
            release_stage(ctx, &version, wait, None, report).await
        }
        Job::Promote => match promote(ctx, None).await? {
            None => {
                report.outcome = "nothing_in_progress".to_owned();
                Ok(())
            }
            Some(step) => record_release(step, false, report),
        },
        Job::Approve(by) => match promote(ctx, Some(&by)).await? {
            None => {
                // Exit 1, told apart from other failures (a fleet released
                // together leaves this function out of the approval).
                report.fail("nothing_in_progress", release::engine::nothing_waits(ctx));
                Ok(())
            }
            Some(step) => record_release(step, false, report),
        },
        Job::Rollback => {
            let done = rollback(ctx).await?;
            report.outcome = if done.already_rolled_back {
                "already_rolled_back"
            } else {
                "rolled_back"
            }
            .to_owned();
            report.rollback = Some(done);
            Ok(())
        }
        Job::Status => {
            let (status, triggers) = tokio::join!(status::status(ctx), triggers::check(ctx));
            report.status = Some(status?);
            report.triggers =
                Some(triggers).filter(|_| report.status.as_ref().is_some_and(|s| s.exists));
            Ok(())
        }
        Job::History(limit, listed) => {
            report.history = Some(crate::history::history(ctx, limit, listed).await?);
            Ok(())
        }
        Job::Prune(keep, dry_run) => {
            report.prune = Some(prune::prune(ctx, keep, dry_run).await?);
            report.outcome = if dry_run { "dry_run" } else { "pruned" }.to_owned();
            Ok(())
        }
    }
}

/// `promote`: one step of the release in progress, on the alias, in DNS
/// or on a load balancer; `approve` (approved `by`) records the approval
/// first.
pub(super) async fn promote(
    ctx: Ctx<'_>,
    by: Option<&Approver>,
) -> Result<Option<release::ReleaseReport>> {
    reading::promote(ctx, by).await
}

/// `rollback`: on the alias, in DNS or on a load balancer.
async fn rollback(ctx: Ctx<'_>) -> Result<rollback::RollbackReport> {
    rollback::rollback(ctx, None).await
}

/// `--dry-run` and `plan`: the writes `job` would make, making none. The
/// commands run as themselves on a context that records their writes
/// ([`Ctx::dry`]), the deploy's included.
pub(super) async fn plan_only(
    ctx: Ctx<'_>,
    job: Job,
    command: &str,
    report: &mut Report,
) -> Result<()> {
    let plan = Mutex::new(DryRun::new(command));
    let quiet = ctx.ui.quiet();
    // Nobody hears of a dry run: its notifier is `Notifier::none()`.
    let ctx = Ctx {
        dry: Some(&plan),
        ..ctx
    };
    // What the commands would print as they write is not printed.
    let quiet = Ctx { ui: &quiet, ..ctx };
    let planned = match job {
        Job::Deploy(code) => dry_run::deploy(ctx, &code).await.map(|_| ()),
        Job::Ship(code, wait) => dry_run::ship(ctx, &code, wait).await,
        Job::Release(version, wait) => {
            match version_or_latest(ctx.lambda, ctx.config, version).await {
                Ok(version) => {
                    let candidate = release::Candidate::Published(&version);
                    release::release_candidate(quiet, candidate, wait)
                        .await
                        .map(|released| dry_run::said(quiet, &released))
                }
                Err(e) => Err(e),
            }
        }
        Job::Promote => promote(quiet, None).await.map(|promoted| {
            if promoted.is_none() {
                quiet.dry_then("no release in progress: nothing to promote");
            }
        }),
        Job::Approve(by) => match promote(quiet, Some(&by)).await {
            Ok(None) => Err(release::engine::nothing_waits(ctx)),
            done => done.map(|_| ()),
        },
        Job::Rollback => rollback(quiet).await.map(|done| {
            if done.already_rolled_back {
                quiet.dry_then(format_args!(
                    "alias {} is already rolled back from version {} to {}: nothing to do",
                    quiet.alias(),
                    done.from,
                    done.to
                ));
            }
        }),
        Job::Test(_) | Job::Status | Job::History(..) | Job::Prune(..) => {
            Err(Error::usage(format!("`{command}` has no dry run")))
        }
    };
    report.dry_run = Some(plan.into_inner().unwrap_or_else(PoisonError::into_inner));
    report.outcome = "dry_run".to_owned();
    planned
}

/// `version`, or the newest published version when none is given.
pub(super) async fn version_or_latest(
    lambda: &Lambda,
    config: &Config,
    version: Option<String>,
) -> Result<String> {
    if let Some(v) = version {
        return Ok(v);
    }
    let name = &config.function.name;
    // Lambda's answer for a function that does not exist (an error, or
    // no versions) is told apart from one with no versions yet.
    let newest = match lambda.versions(name).await {
        Ok(mut versions) => versions.pop().map(|v| v.version),
        Err(e) => return Err(lambda.missing(name).await?.unwrap_or(e)),
    };
    match newest {
        Some(version) => Ok(version),
        None => Err(lambda.missing(name).await?.unwrap_or_else(|| {
            Error::no_traffic_moved(format!("function {name} has no published version"))
                .with_hint("run `greenlight deploy` first")
        })),
    }
}
