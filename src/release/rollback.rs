//! Stage 5, rollback: put the alias back on the version that was live before the last release.
//!
//! In: the alias's release [`Record`] (kept in its description, so this works
//! from any machine). A release still in progress is stopped: its weight is
//! cleared, so all traffic is back on the stable version. Out: a [`RollbackReport`]. AWS calls: `GetAlias`,
//! `GetFunctionConfiguration` (the previous version still exists, and is
//! `Active`: [`crate::deploy::ready::until_active`]), and one conditional
//! `UpdateAlias`. Never guesses from version numbers: without a
//! record naming the previous version it refuses (exit 1).
//!
//! Safe to repeat: once rolled back, a second run reports so and writes nothing.
//! When the write itself fails, users may still be on the bad version, so the
//! error is exit 4 and says exactly which command restores the alias.

use crate::config::notify::Event;
use crate::context::Ctx;
use crate::error::{Error, Failure, Result};
use crate::record::{Action, Record};
use crate::release::reading::{self, Reading};
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

/// What a rollback has to do, decided from reads only (so a dry run can show it).
#[derive(Debug, Clone, PartialEq)]
pub enum Undo {
    /// A release is in progress: clear its weight, all traffic on `to`.
    StopRelease {
        /// The version being released.
        from: String,
        /// The stable version.
        to: String,
        /// The alias's RevisionId.
        revision: Option<String>,
    },
    /// Put the alias back on `to`, live before `from` was released.
    Restore {
        /// The version live now.
        from: String,
        /// The version live before it.
        to: String,
        /// The alias's RevisionId.
        revision: Option<String>,
    },
    /// The alias splits traffic in a way greenlight cannot explain: clear
    /// the split, all traffic on `to`, its main version.
    ClearSplit {
        /// The extra version taking a share now.
        from: String,
        /// The alias's main version.
        to: String,
        /// The alias's RevisionId.
        revision: Option<String>,
    },
    /// The last thing greenlight did was this rollback.
    Done(RollbackReport),
}

/// Reads the alias and its record, and decides what rolling back means.
pub async fn decide(ctx: Ctx<'_>) -> Result<Undo> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let Some(current) = ctx.lambda.alias(name, alias).await? else {
        return Err(ctx.lambda.missing(name).await?.unwrap_or_else(|| {
            Error::no_traffic_moved(format!(
                "alias {alias} of function {name} does not exist: nothing to roll back"
            ))
        }));
    };
    match reading::read(ctx, &current) {
        Reading::Releasing(run) => {
            return Ok(Undo::StopRelease {
                from: run.version().to_owned(),
                to: run.stable().to_owned(),
                revision: current.revision_id,
            });
        }
        // A split greenlight cannot explain (set by hand, or with a record
        // it cannot use): all traffic back on the alias's main version.
        Reading::Unexplained(e) => {
            let Some(from) = current.weights.keys().next() else {
                return Err(e);
            };
            return Ok(Undo::ClearSplit {
                from: from.clone(),
                to: current.version.clone(),
                revision: current.revision_id,
            });
        }
        Reading::Settled => {}
    }
    let record = Record::parse(&current.description).ok_or_else(|| {
        Error::no_traffic_moved(format!(
            "alias {alias} has no greenlight release record, so the previous version is unknown"
        ))
        .with_hint(
            "greenlight never guesses; move it explicitly with `greenlight release --version N`",
        )
    })?;
    if current.version != record.version {
        return Err(Error::no_traffic_moved(format!(
            "alias {alias} is on version {} but greenlight last put it on version {}: it was moved outside greenlight",
            current.version, record.version
        ))
        .with_hint("move it explicitly with `greenlight release --version N`"));
    }
    let previous = match (&record.action, &record.previous) {
        (Action::Rollback, Some(from)) => {
            return Ok(Undo::Done(RollbackReport {
                from: from.clone(),
                to: record.version,
                already_rolled_back: true,
            }));
        }
        (Action::Release, Some(previous)) => previous.clone(),
        (Action::Pin, _) => {
            return Err(Error::no_traffic_moved(format!(
                "alias {alias} was pinned to version {} (what $LATEST served) and no release followed: nothing to roll back",
                record.version
            )));
        }
        _ => {
            return Err(Error::no_traffic_moved(format!(
                "alias {alias} has no earlier version to roll back to (version {} was its first)",
                record.version
            )));
        }
    };
    if !is_published(&previous) {
        return Err(unpublished_previous(&format!("alias {alias}"), &previous));
    }
    if ctx.lambda.function(name, &previous).await?.is_none() {
        return Err(Error::no_traffic_moved(format!(
            "version {previous} of function {name}, live before the last release, no longer exists"
        ))
        .with_hint("release another version explicitly with `greenlight release --version N`"));
    }
    Ok(Undo::Restore {
        from: record.version,
        to: previous,
        revision: current.revision_id,
    })
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

/// Rolls the alias back to the version recorded as live before the last
/// release. A run whose write finds the alias already rolled back the same
/// way by another run (both read it before either wrote) reports that
/// rollback, as a second `rollback` would, and tells nothing.
pub async fn rollback(ctx: Ctx<'_>) -> Result<RollbackReport> {
    let alias = ctx.alias();
    let (from, to, revision, planned) = match decide(ctx).await? {
        Undo::Done(report) => return Ok(report),
        Undo::StopRelease { from, to, revision } => {
            ctx.ui.step(format_args!(
                "stopping the release of version {from}: all traffic back to version {to}"
            ));
            let planned = format!(
                "alias {alias} → version {to}, all traffic (stops the release of version {from}, clears its weight)"
            );
            (from, to, revision, planned)
        }
        Undo::ClearSplit { from, to, revision } => {
            ctx.ui.step(format_args!(
                "clearing the split of alias {alias} set outside greenlight: all traffic back to version {to}"
            ));
            let planned = format!(
                "alias {alias} → version {to}, all traffic (clears the split set outside greenlight, {from} loses its share)"
            );
            (from, to, revision, planned)
        }
        Undo::Restore { from, to, revision } => {
            // Idle since the release it undoes, it may be Inactive.
            if !ctx.is_dry() {
                crate::deploy::ready::until_active(ctx, &to).await?;
            }
            ctx.ui
                .step(format_args!("moving alias {alias}: version {from} → {to}"));
            let planned = format!("alias {alias}: version {from} → {to}, all traffic");
            (from, to, revision, planned)
        }
    };
    if ctx.dry_write("UpdateAlias", planned) {
        return Ok(RollbackReport {
            from,
            to,
            already_rolled_back: false,
        });
    }
    let restored = restore(ctx, &to, &from, revision.as_deref(), "rollback requested").await;
    if restored.is_err() && rolled_back_by_another(ctx, &to, &from).await {
        return Ok(RollbackReport {
            from,
            to,
            already_rolled_back: true,
        });
    }
    tell_manual(ctx, &from, &to, &restored).await;
    restored?;
    Ok(RollbackReport {
        from,
        to,
        already_rolled_back: false,
    })
}

/// After a restore of `ctx`'s alias that failed: whether another run rolled
/// the release of `failed` back to `stable` meanwhile (both read the alias
/// before either wrote), so all traffic is on `stable` with that rollback
/// recorded. Its rollback stands, and that run told it.
pub async fn rolled_back_by_another(ctx: Ctx<'_>, stable: &str, failed: &str) -> bool {
    let Ok(Some(alias)) = ctx.lambda.alias(ctx.function(), ctx.alias()).await else {
        return false;
    };
    alias.version == stable
        && alias.weights.is_empty()
        && Record::parse(&alias.description).is_some_and(|r| {
            r.action == Action::Rollback
                && r.version == stable
                && r.previous.as_deref() == Some(failed)
        })
}

/// The alias's `RevisionId` when it still holds the release of `failed`
/// over `stable` (the main version `stable`, no other version weighted, a
/// canary record of the two): another run only wrote the record meanwhile
/// (an approval, a hold or a wait told), so restoring it is still this
/// run's to do. `None` otherwise, or when the alias cannot be read.
pub async fn still_releasing(ctx: Ctx<'_>, stable: &str, failed: &str) -> Option<String> {
    let alias = ctx.lambda.alias(ctx.function(), ctx.alias()).await.ok()??;
    let same = alias.version == stable
        && alias.weights.keys().all(|v| v == failed)
        && Record::parse(&alias.description).is_some_and(|r| {
            r.action == Action::Canary
                && r.version == failed
                && r.previous.as_deref() == Some(stable)
        });
    alias.revision_id.filter(|_| same)
}

/// Tells `[[notify]]` of a manual `rollback` from `from` to `to` that
/// `restored` or not: `rolled_back`, or `rollback_failed`, with the reason
/// "manual rollback" and by whom when known, or greenlight's own reason
/// on its panic path ([`tell::rollback_reason`]).
pub async fn tell_manual(ctx: Ctx<'_>, from: &str, to: &str, restored: &Result<()>) {
    let manual = tell::rollback_reason();
    let (event, reason) = match restored {
        Ok(()) => (Event::RolledBack, manual),
        Err(e) => (Event::RollbackFailed, format!("{manual}: {}", e.message)),
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

/// Points the alias back at `stable` after `failed` was released, recording
/// the rollback. A failure here is exit 4, with the commands that fix it.
pub async fn restore(
    ctx: Ctx<'_>,
    stable: &str,
    failed: &str,
    revision_id: Option<&str>,
    why: &str,
) -> Result<()> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let record = Record::now(Action::Rollback, stable, Some(failed));
    match ctx
        .lambda
        .point_alias(name, alias, stable, None, &record.to_string(), revision_id)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => Err(Error {
            failure: Failure::NeedsOperator,
            message: format!(
                "rollback failed after {why}: alias {alias} of function {name} may still send traffic to version {failed}; version {stable} was live before"
            ),
            cause: Some(match e.cause {
                Some(cause) => format!("{}: {cause}", e.message),
                None => e.message,
            }),
            hint: Some(format!(
                "restore it now with `greenlight rollback -c {}` or `aws lambda update-alias --function-name {name} --name {alias} --function-version {stable} --routing-config AdditionalVersionWeights={{}}`",
                ctx.config.path.display()
            )),
        }),
    }
}
