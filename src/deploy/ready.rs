//! Before traffic moves onto a version: Lambda must be able to invoke it.
//!
//! A published version is not always `Active`: it is `Pending` while Lambda
//! prepares it (always with SnapStart, while it takes the snapshot),
//! `Inactive` once idle long enough for Lambda to reclaim its resources,
//! and `Failed` when Lambda could not make it `Active`. Every command that
//! moves traffic onto a version asks here first, whatever moves it (the
//! alias or the DNS weights): a
//! `Failed` version is refused (exit 1, naming Lambda's `StateReasonCode`
//! and `StateReason`); a `Pending` one is waited for up to
//! `function.ready_timeout`, then refused with nothing moved; an `Inactive`
//! one is woken by one invocation (which Lambda refuses without running
//! any code) and waited for the same way. Neither is ever a failed test or
//! gate.
//!
//! AWS calls: `GetFunctionConfiguration` (the version), then while it is not
//! `Active` the same again, and for an `Inactive` one a single `Invoke`.
//! Changes nothing a user can see; safe to repeat.

use crate::aws::lambda::{FunctionState, Readiness, failed_version};
use crate::context::Ctx;
use crate::error::{Error, Result};

/// Fails (exit 1) when `state`, a version just read, is `Failed`: the check
/// that needs no wait, for plans and for the checks before a release.
pub fn refuse_failed(ctx: Ctx<'_>, state: &FunctionState) -> Result<()> {
    match &state.readiness {
        Readiness::Failed(reason) => Err(failed_version(ctx.function(), &state.version, reason)),
        _ => Ok(()),
    }
}

/// Returns once `version` is `Active`: reads it, refuses it when `Failed`,
/// and otherwise waits (waking it first when `Inactive`) up to
/// `function.ready_timeout`; after that, exit 1 with nothing moved.
pub async fn until_active(ctx: Ctx<'_>, version: &str) -> Result<()> {
    let name = ctx.function();
    let state = ctx.lambda.function(name, version).await?.ok_or_else(|| {
        Error::no_traffic_moved(format!(
            "version {version} of function {name} does not exist"
        ))
        .with_hint("see `greenlight status` for the published versions")
    })?;
    refuse_failed(ctx, &state)?;
    let why = match state.readiness {
        Readiness::Active | Readiness::Failed(_) => return Ok(()),
        Readiness::Pending => {
            "Pending: Lambda is still preparing it, and no traffic moves onto it before it is Active"
        }
        Readiness::Inactive => {
            "Inactive: idle long enough for Lambda to reclaim its resources; one invocation wakes it, and no traffic moves onto it before it is Active"
        }
    };
    wait(ctx, version, why).await
}

/// Says that `version` is `why` (not `Active`), then waits until it is,
/// up to `function.ready_timeout` ([`crate::aws::lambda::Lambda::wait_until_active`]:
/// `Failed` or the deadline is exit 1).
pub async fn wait(ctx: Ctx<'_>, version: &str, why: &str) -> Result<()> {
    let deadline = ctx.config.function.ready_timeout;
    ctx.ui.step(format_args!(
        "version {version} is {why}: waiting up to {}",
        humantime::format_duration(deadline)
    ));
    let _busy = ctx.ui.spinner(format_args!(
        "waiting for version {version} to become Active"
    ));
    ctx.lambda
        .wait_until_active(ctx.function(), version, deadline)
        .await
        .map(|_| ())
}
