//! Stage 4, release: move users to a published version, all at once or step by step.
//!
//! In: a version that passed its smoke tests, and the `[release]` plan. Out: a
//! [`ReleaseReport`]. Before anything moves it checks the alias rules (a
//! published version, not the one already live, the same execution role as
//! the stable version for a weighted split) and that no watched alarm is
//! already in ALARM: a firing alarm would make the new version's health
//! impossible to judge, so the release does not start (exit 1).
//!
//! AWS calls: `GetFunctionConfiguration` (both versions), `GetAlias`,
//! `DescribeAlarms`, then `UpdateAlias` per step through
//! [`progress`](crate::progress), or `CreateAlias` when there is no alias yet
//! (a new alias has no users, so it moves at once and is not re-checked).
//!
//! Safe to repeat: releasing the version the alias already serves changes
//! nothing, and releasing the version whose release is in progress continues it.

use crate::error::{Error, Result};
use crate::gates::GateCheck;
use crate::progress::{self, InProgress, Run};
use crate::record::{Action, Record};
use crate::ui::Ctx;

/// What a release (or one promote step) did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ReleaseReport {
    /// The version being released.
    pub version: String,
    /// The stable version it replaces, if there was one.
    pub previous: Option<String>,
    /// The plan, e.g. "10 % → 50 % → 100 %, 5m each".
    pub plan: String,
    /// True when the alias already served `version`: nothing was written.
    pub already_live: bool,
    /// The traffic share on the new version after each alias move this run
    /// made, in percent; 100 means the release finished.
    pub moves: Vec<u8>,
    /// The last check of the gates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gates: Option<GateCheck>,
    /// Where the release stands when this run ends with it still in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<InProgress>,
    /// Why traffic went back to `previous`, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<String>,
}

/// How a release starts, decided from reads and checks only (so a dry run
/// can show it).
pub enum Start<'a> {
    /// There is no alias yet: create it on the version.
    CreateAlias,
    /// This version's release is in progress: continue it.
    Continue(Box<Run<'a>>),
    /// The alias already serves the version alone.
    AlreadyLive {
        /// The version live before (the same one).
        previous: String,
    },
    /// Move from `stable` through the plan.
    Begin {
        /// The version users are on now.
        stable: String,
        /// The alias's RevisionId, so the first move fails if it changed.
        revision: Option<String>,
    },
}

/// Checks that `version` can be released and decides how. With `published`
/// false (a dry run of `ship`, before deploy has published it) the version
/// itself is not looked up.
pub async fn prepare<'a>(ctx: Ctx<'a>, version: &str, published: bool) -> Result<Start<'a>> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let target = if published {
        Some(check_version(ctx, version).await?)
    } else {
        None
    };
    let plan = &ctx.config.release.plan;
    let Some(current) = ctx.lambda.alias(name, alias).await? else {
        return Ok(Start::CreateAlias);
    };
    if let Some(run) = progress::in_progress(ctx, &current)? {
        if run.version() != version {
            return Err(another_in_progress(
                run.version(),
                &format!("alias {alias}"),
            ));
        }
        return Ok(Start::Continue(Box::new(run)));
    }
    if current.version == version && current.weights.is_empty() {
        return Ok(Start::AlreadyLive {
            previous: current.version,
        });
    }
    let stable = current.version.clone();
    if !plan.is_all_at_once() && !stable.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::no_traffic_moved(format!(
            "alias {alias} points at {stable}, and Lambda splits traffic only between published versions"
        ))
        .with_hint("release this version all at once (`steps = []`) first"));
    }
    if let (false, Some(target)) = (plan.is_all_at_once(), &target) {
        check_same_role(ctx, &stable, target.role.as_deref(), version).await?;
    }
    crate::gates::refuse_if_firing(ctx, target.is_some().then_some(version)).await?;
    Ok(Start::Begin {
        stable,
        revision: current.revision_id,
    })
}

/// Releases `version`; with `wait`, to the end of the plan, otherwise only
/// its first step (the rest is left to `greenlight promote`).
pub async fn release(ctx: Ctx<'_>, version: &str, wait: bool) -> Result<ReleaseReport> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let plan = &ctx.config.release.plan;
    match prepare(ctx, version, true).await? {
        Start::CreateAlias => {
            ctx.ui
                .step(format_args!("creating alias {alias} on version {version}"));
            let record = Record::now(Action::Release, version, None);
            ctx.lambda
                .create_alias(name, alias, version, &record.to_string())
                .await?;
            Ok(ReleaseReport {
                version: version.to_owned(),
                plan: plan.to_string(),
                moves: vec![100],
                ..Default::default()
            })
        }
        Start::Continue(run) => {
            ctx.ui
                .step(format_args!("continuing the release of version {version}"));
            progress::drive(*run, wait).await
        }
        Start::AlreadyLive { previous } => Ok(ReleaseReport {
            version: version.to_owned(),
            previous: Some(previous),
            plan: plan.to_string(),
            already_live: true,
            ..Default::default()
        }),
        Start::Begin { stable, revision } => {
            let run = Run::start(ctx, version, &stable, plan.clone(), revision);
            progress::begin(run, wait).await
        }
    }
}

/// The refusal to release while the release of `version` is in progress on
/// `place` (an alias or a DNS name): exit 1, nothing moved.
pub fn another_in_progress(version: &str, place: &str) -> Error {
    Error::no_traffic_moved(format!(
        "the release of version {version} is in progress on {place}"
    ))
    .with_hint("finish it with `greenlight promote`, or undo it with `greenlight rollback`")
}

/// Fails unless `version` is a published version of the function; returns its state.
async fn check_version(ctx: Ctx<'_>, version: &str) -> Result<crate::lambda::FunctionState> {
    let name = ctx.function();
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::usage(format!(
            "version {version:?} is not a published version number"
        ))
        .with_hint("greenlight releases published versions only, never $LATEST or an alias"));
    }
    ctx.lambda.function(name, version).await?.ok_or_else(|| {
        Error::no_traffic_moved(format!(
            "version {version} of function {name} does not exist"
        ))
        .with_hint(
            "run `greenlight deploy` to publish one, or `greenlight status` to list versions",
        )
    })
}

/// Lambda splits an alias's traffic only between versions with one execution role.
async fn check_same_role(
    ctx: Ctx<'_>,
    stable: &str,
    role: Option<&str>,
    version: &str,
) -> Result<()> {
    let stable_role = ctx
        .lambda
        .function(ctx.function(), stable)
        .await?
        .and_then(|s| s.role);
    if stable_role.as_deref() == role {
        return Ok(());
    }
    Err(Error::no_traffic_moved(format!(
        "versions {stable} and {version} have different execution roles ({} and {}), and Lambda cannot split an alias's traffic between them",
        stable_role.as_deref().unwrap_or("none"),
        role.unwrap_or("none")
    ))
    .with_hint("release this version all at once (`steps = []`), then go back to steps"))
}
