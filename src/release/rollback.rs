//! Stage 5, rollback: put traffic back on the version that was live before
//! the last release, whatever the router.
//!
//! In: where the release stands ([`reading::standing`], kept in AWS, so
//! this works from any machine). A release in progress is stopped, a split
//! greenlight cannot explain cleared, a finished release undone to the
//! version its record names as live before (still there, made `Active`:
//! [`crate::deploy::ready::until_active`]); never guessed from version
//! numbers (exit 1). Out: a [`RollbackReport`]. The writes are the
//! router's (`Router::restore`, conditional).
//!
//! Safe to repeat: once rolled back, a second run (also one at the same
//! time) reports so and tells nothing. When the write fails, users may
//! still be on the bad version: exit 4, naming the command that restores it.

use crate::config::notify::Event;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::release::reading::{self, Standing};
use crate::release::routers::{AnyRouter, Router, Undoing, Why};
use crate::release::tell::{self, Change};

/// What rollback did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RollbackReport {
    /// The version traffic moved away from.
    pub from: String,
    /// The version traffic is on now.
    pub to: String,
    /// True when the alias was already rolled back: nothing was written.
    pub already_rolled_back: bool,
}

/// What a rollback has to do, decided from reads only (so a dry run
/// shows it, or fails as the rollback would).
pub enum Undo<'a> {
    /// Put all traffic back on `to` through `router`.
    Restore {
        /// The split, as read.
        router: AnyRouter<'a>,
        /// The version traffic moves away from.
        from: String,
        /// The version traffic goes back to.
        to: String,
        /// What is undone (how the router says it).
        undoing: Undoing,
        /// `to` has been idle since the release it undoes: it is checked to
        /// exist still, and made `Active` first.
        idle: bool,
    },
    /// The last thing greenlight did was this rollback.
    Done(RollbackReport),
}

/// Reads where the release stands, and decides what rolling back means.
pub async fn decide(ctx: Ctx<'_>) -> Result<Undo<'_>> {
    let undo = match reading::standing(ctx).await? {
        Standing::Unreleased { why, .. } => return Err(why),
        Standing::Releasing(run) => Undo::Restore {
            from: run.version().to_owned(),
            to: run.stable().to_owned(),
            router: run.into_router(),
            undoing: Undoing::Release,
            idle: false,
        },
        Standing::Unexplained { problem, clear } => clear.ok_or(problem)?,
        Standing::Settled(settled) => settled.back?,
    };
    if let Undo::Restore { to, idle: true, .. } = &undo {
        let name = ctx.function();
        if ctx.lambda.function(name, to).await?.is_none() {
            return Err(Error::no_traffic_moved(format!(
                "version {to} of function {name}, live before the last release, no longer exists"
            ))
            .with_hint(
                "release another version explicitly with `greenlight release --version N`",
            ));
        }
        if !ctx.is_dry() {
            crate::deploy::ready::until_active(ctx, to).await?;
        }
    }
    Ok(undo)
}

/// The refusal to roll `place` back to `previous`, which is not a published
/// version: `$LATEST` then holds whatever was uploaded since (an older
/// greenlight recorded it so).
pub fn unpublished_previous(place: &str, previous: &str) -> Error {
    Error::no_traffic_moved(format!(
        "{place} served {previous} before the last release, and {previous} now holds other code: greenlight does not roll back to it"
    ))
    .with_hint(
        "release a published version explicitly with `greenlight release --version N` (see `greenlight status`)",
    )
}

/// True for a published version number (not `$LATEST`, not an alias).
pub fn is_published(version: &str) -> bool {
    !version.is_empty() && version.chars().all(|c| c.is_ascii_digit())
}

/// Puts traffic back on the version recorded as live before the last
/// release, whatever the router, told to `[[notify]]` with the reason
/// `automatic` (greenlight's own, on its panic path) or else as a manual
/// rollback. A run whose write finds the release
/// already rolled back the same way by another run (both read it before
/// either wrote) reports that rollback, as a second `rollback` would, and
/// tells nothing.
pub async fn rollback(ctx: Ctx<'_>, automatic: Option<String>) -> Result<RollbackReport> {
    let (mut router, from, to, undoing) = match decide(ctx).await? {
        Undo::Done(report) => return Ok(report),
        Undo::Restore {
            router,
            from,
            to,
            undoing,
            ..
        } => (router, from, to, undoing),
    };
    let restored = router.restore(&to, &from, Why::Asked(undoing)).await;
    let already = restored.is_err() && router.restored_by_another(&to, &from).await;
    if !already {
        if !ctx.is_dry() {
            let reason = automatic.unwrap_or_else(tell::manual_reason);
            tell_rollback(ctx, &from, &to, &restored, reason).await;
        }
        restored?;
    }
    Ok(RollbackReport {
        from,
        to,
        already_rolled_back: already,
    })
}

/// Tells `[[notify]]` of a `rollback` from `from` to `to` that `restored`
/// or not: `rolled_back`, or `rollback_failed`, with `why` it was made.
async fn tell_rollback(ctx: Ctx<'_>, from: &str, to: &str, restored: &Result<()>, why: String) {
    let (event, reason) = match restored {
        Ok(()) => (Event::RolledBack, why),
        Err(e) => (Event::RollbackFailed, format!("{why}: {}", e.message)),
    };
    let change = Change {
        event,
        version: from,
        stable: to,
        step: None,
        plan: None,
        percent: if restored.is_ok() { 0 } else { 100 },
        reason: Some(&reason),
    };
    tell::tell(ctx, change).await;
}
