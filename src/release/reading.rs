//! What an alias's weights and release record say about a release: one in
//! progress that `promote` continues, a finished one whose last step's
//! metrics still settle, none, or a state greenlight cannot continue
//! (weights set outside greenlight, an alias changed during a release, a
//! record it cannot use), which stops before anything is written. The
//! guards of alias releases live here; `rollback`, `status`, `promote` and
//! `release` all decide from these reads.
//!
//! AWS calls: `GetAlias` (by `promote`), and those of the gates' reads for
//! `status` ([`standing_of`]).

use time::OffsetDateTime;

use crate::aws::lambda::AliasState;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::record::{Action, Record};
use crate::release::ReleaseReport;
use crate::release::approver::Approver;
use crate::release::clock::Settling;
use crate::release::engine::{self, InProgress, Run};
use crate::release::routers::AnyRouter;
use crate::release::routers::alias::AliasRouter;

/// The router of a release on `alias`, as read.
pub fn router<'a>(ctx: Ctx<'a>, alias: &AliasState) -> AnyRouter<'a> {
    AnyRouter::Alias(AliasRouter::new(
        ctx,
        alias.revision_id.clone(),
        !alias.weights.is_empty(),
    ))
}

/// What an alias's weights and release record say about a release.
pub enum Reading<'a> {
    /// No release in progress, and no split: the alias serves one version.
    Settled,
    /// greenlight's release in progress, ready to continue.
    Releasing(Box<Run<'a>>),
    /// A state greenlight cannot continue: weights set outside greenlight,
    /// an alias changed during a release, or a release record greenlight
    /// cannot use (damaged or edited by hand). The error says which, and
    /// `rollback` clears a split it finds this way.
    Unexplained(Error),
}

/// Reads the release in progress on `alias`, if greenlight's record says
/// there is one, and refuses any split it does not explain.
pub fn read<'a>(ctx: Ctx<'a>, alias: &AliasState) -> Reading<'a> {
    let record = Record::parse(&alias.description);
    if let Some(pending) = record.as_ref().filter(|r| r.action == Action::Pending) {
        return read_pending(ctx, alias, pending);
    }
    let record = record.filter(|r| r.action == Action::Canary);
    let release = record
        .as_ref()
        .and_then(|r| Some((r, r.canary.as_ref()?, r.previous.as_ref()?)));
    let Some((record, canary, stable)) = release else {
        return match split(alias) {
            None => Reading::Settled,
            Some(split) => Reading::Unexplained(unexplained(
                ctx,
                alias,
                format!(
                    "alias {} splits traffic ({split}), but no greenlight release is in progress: the split was set outside greenlight",
                    ctx.alias()
                ),
            )),
        };
    };
    if let Some(problem) = record.problem(OffsetDateTime::now_utc()) {
        return Reading::Unexplained(unexplained(
            ctx,
            alias,
            format!(
                "alias {} holds a greenlight release record that cannot be used: {problem}",
                ctx.alias()
            ),
        ));
    }
    let expected_weight = canary.plan.weight(canary.step);
    let consistent = alias.version == *stable
        && alias.weights.len() == 1
        && alias
            .weights
            .get(&record.version)
            .is_some_and(|w| (w - expected_weight).abs() < 1e-6);
    if !consistent {
        return Reading::Unexplained(unexplained(
            ctx,
            alias,
            format!(
                "alias {} was changed outside greenlight during the release of version {}",
                ctx.alias(),
                record.version
            ),
        ));
    }
    let run = Run::start(
        ctx,
        router(ctx, alias),
        &record.version,
        stable,
        canary.plan.clone(),
    )
    .at_step(
        canary.step,
        record.time().unwrap_or_else(OffsetDateTime::now_utc),
    )
    .with_settle(canary.settle)
    .told(record);
    Reading::Releasing(Box::new(run))
}

/// A release pending approval before its first move (`action=pending`):
/// the alias serves its stable version alone, or it was changed outside
/// greenlight since.
fn read_pending<'a>(ctx: Ctx<'a>, alias: &AliasState, record: &Record) -> Reading<'a> {
    let stable = record.previous.as_deref();
    let problem = record.problem(OffsetDateTime::now_utc());
    let (Some(pending), Some(stable), None) = (&record.pending, stable, &problem) else {
        let why = problem.unwrap_or_else(|| "it names no stable version".to_owned());
        return Reading::Unexplained(unexplained(
            ctx,
            alias,
            format!(
                "alias {} holds a greenlight release record that cannot be used: {why}",
                ctx.alias()
            ),
        ));
    };
    if alias.version != stable || !alias.weights.is_empty() {
        return Reading::Unexplained(unexplained(
            ctx,
            alias,
            format!(
                "alias {} was changed outside greenlight while the release of version {} waited for approval",
                ctx.alias(),
                record.version
            ),
        ));
    }
    let since = record.time().unwrap_or_else(OffsetDateTime::now_utc);
    let run = Run::start(
        ctx,
        router(ctx, alias),
        &record.version,
        stable,
        pending.plan.clone(),
    )
    .pending(since)
    .with_settle(pending.settle)
    .told(record);
    Reading::Releasing(Box::new(run))
}

/// A release greenlight finished on `alias` whose last step's metrics are
/// still settling, if there is one: a later `promote` judges them. Its
/// record with a time greenlight cannot use (in the future, not a time) is
/// an error (exit 1), as for a release in progress.
pub fn settling<'a>(ctx: Ctx<'a>, alias: &AliasState) -> Result<Option<Run<'a>>> {
    let Some(record) = Record::parse(&alias.description).filter(|r| r.action == Action::Release)
    else {
        return Ok(None);
    };
    if let Some(problem) = record.problem(OffsetDateTime::now_utc()) {
        return Err(unexplained(
            ctx,
            alias,
            format!(
                "alias {} holds a greenlight release record that cannot be used: {problem}",
                ctx.alias()
            ),
        ));
    }
    let Some(last) = Settling::of(&record).filter(|last| !last.left().is_zero()) else {
        return Ok(None);
    };
    if alias.version != record.version || !alias.weights.is_empty() {
        return Ok(None);
    }
    let Some(stable) = record.previous.as_deref() else {
        return Ok(None);
    };
    let run = Run::start(
        ctx,
        router(ctx, alias),
        &record.version,
        stable,
        ctx.config.release.plan.clone(),
    )
    .with_settle(last.settle)
    .settling(last);
    Ok(Some(run))
}

/// For `status`: where the release on `alias` stands and what `promote`
/// would do next, decided as `promote` decides it (the gates' reads once
/// the step's wait is over, see [`Run::read_gates`]); and why the alias
/// cannot be read as greenlight's release, or its gates not read, if so.
pub async fn standing_of(ctx: Ctx<'_>, alias: &AliasState) -> (Option<InProgress>, Option<Error>) {
    let mut run = match in_progress(ctx, alias) {
        Ok(Some(run)) => run,
        Ok(None) => return (None, settling(ctx, alias).err()),
        Err(e) => return (None, Some(e)),
    };
    let unread = run.read_gates().await.err();
    (run.position(), unread)
}

/// The release in progress on `alias`, if there is one; a state greenlight
/// cannot continue is an error (exit 1), see [`Reading::Unexplained`].
pub fn in_progress<'a>(ctx: Ctx<'a>, alias: &AliasState) -> Result<Option<Run<'a>>> {
    match read(ctx, alias) {
        Reading::Settled => Ok(None),
        Reading::Releasing(run) => Ok(Some(*run)),
        Reading::Unexplained(e) => Err(e),
    }
}

/// The alias's split in words, e.g. "30 % on version 2, 70 % on version
/// 1", or `None` when it serves one version.
pub fn split(alias: &AliasState) -> Option<String> {
    if alias.weights.is_empty() {
        return None;
    }
    let extra: f64 = alias.weights.values().sum();
    let mut parts: Vec<String> = alias
        .weights
        .iter()
        .map(|(version, w)| format!("{} on version {version}", percent(*w)))
        .collect();
    parts.push(format!(
        "{} on version {}",
        percent(1.0 - extra),
        alias.version
    ));
    Some(parts.join(", "))
}

/// A share of traffic (0.0 to 1.0) as a percentage, e.g. "30 %" or "2.5 %".
fn percent(share: f64) -> String {
    let p = (share * 1000.0).round() / 10.0;
    format!("{p} %")
}

/// The error for a state greenlight cannot continue, with the way out:
/// `rollback` when there is a split to clear.
fn unexplained(ctx: Ctx<'_>, alias: &AliasState, message: String) -> Error {
    let hint = if alias.weights.is_empty() {
        "see `greenlight status`; move it explicitly with `greenlight release --version N`"
            .to_owned()
    } else {
        format!(
            "`greenlight rollback` puts all traffic back on version {main}; or clear the split yourself: aws lambda update-alias --function-name {function} --name {alias_name} --routing-config AdditionalVersionWeights={{}}",
            main = alias.version,
            function = ctx.function(),
            alias_name = ctx.alias()
        )
    };
    Error::no_traffic_moved(message).with_hint(hint)
}

/// `greenlight promote`: one step of the release in progress, if there is
/// one; with `by`, `greenlight approve` ([`engine::approve`]).
pub async fn promote(ctx: Ctx<'_>, by: Option<&Approver>) -> Result<Option<ReleaseReport>> {
    let Some(alias) = ctx.lambda.alias(ctx.function(), ctx.alias()).await? else {
        // Nothing to promote; a scheduled promote may run before the first
        // ship, so a missing function is said, not an error (exit 0).
        if let Some(missing) = ctx.lambda.missing(ctx.function()).await? {
            let hint = missing.hint.unwrap_or_default();
            ctx.ui.step(format!("{}; {hint}", missing.message));
        }
        return Ok(None);
    };
    let run = match in_progress(ctx, &alias)? {
        Some(run) => run,
        None if by.is_some() => return Ok(None),
        None => match settling(ctx, &alias)? {
            Some(run) => run,
            None => return Ok(None),
        },
    };
    match by {
        Some(by) => engine::approve(run, by).await.map(Some),
        None => engine::drive(run, false).await.map(Some),
    }
}
