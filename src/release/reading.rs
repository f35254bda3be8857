//! Where a release stands, for every router: the one shape each router's
//! read returns ([`Standing`]; the alias's here, the two colours' in
//! [`crate::release::dns`]), and the one `promote`, `rollback`
//! ([`crate::release::rollback`]) and `status` ([`position`]) deciding from
//! it. The alias's guards live here: weights set outside greenlight, an
//! alias changed during a release, a record it cannot use stop a release
//! before anything is written.
//!
//! AWS calls: `GetAlias`, and for `status` the gates' reads ([`position`]).

use time::OffsetDateTime;

use crate::aws::lambda::AliasState;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::record::{Action, Record};
use crate::release::ReleaseReport;
use crate::release::approver::Approver;
use crate::release::clock::Settling;
use crate::release::dns::{self, Colours};
use crate::release::engine::{self, InProgress, Run};
use crate::release::rollback::{self, RollbackReport, Undo};
use crate::release::routers::alias::AliasRouter;
use crate::release::routers::{AnyRouter, Undoing};

/// The router of a release on `alias`, as read.
pub fn router<'a>(ctx: Ctx<'a>, alias: &AliasState) -> AnyRouter<'a> {
    AnyRouter::Alias(AliasRouter::new(
        ctx,
        alias.revision_id.clone(),
        !alias.weights.is_empty(),
    ))
}

/// Where a release stands on any router, as the router's read found it.
pub enum Standing<'a> {
    /// Nothing was released here yet (no alias, no records).
    Unreleased {
        /// Why there is nothing to roll back.
        why: Error,
        /// `promote` says it (exit 0).
        said: bool,
    },
    /// No release in progress.
    Settled(Settled<'a>),
    /// greenlight's release in progress, ready to continue.
    Releasing(Box<Run<'a>>),
    /// A state greenlight cannot continue: weights set outside greenlight,
    /// a split changed during a release, or a release record it cannot use.
    Unexplained {
        /// What is wrong, and the way out (exit 1).
        problem: Error,
        /// How `rollback` puts all traffic back, when there is a split.
        clear: Option<Undo<'a>>,
    },
}

/// A router with no release in progress, as read.
pub struct Settled<'a> {
    /// A finished release whose last step's metrics still settle (a later
    /// `promote` judges them); an error when its record cannot be used.
    pub judged: Result<Option<Box<Run<'a>>>>,
    /// What `rollback` does: undo the last release, or nothing (it was
    /// rolled back); an error when there is nothing it can go back to.
    pub back: Result<Undo<'a>>,
}

/// Reads where the release stands on the router `ctx`'s configuration
/// names: the alias, or two colours (`[dns]`, `[alb]`).
pub async fn standing<'a>(ctx: Ctx<'a>) -> Result<Standing<'a>> {
    if let Some(colours) = Colours::of(ctx.config) {
        return dns::standing(ctx, colours).await;
    }
    let (name, alias) = (ctx.function(), ctx.alias());
    if let Some(current) = ctx.lambda.alias(name, alias).await? {
        return Ok(of_alias(ctx, &current));
    }
    // A scheduled promote may run before the first ship, so a missing
    // function is said, not an error (exit 0).
    Ok(match ctx.lambda.missing(name).await? {
        Some(why) => Standing::Unreleased { why, said: true },
        None => Standing::Unreleased {
            why: Error::no_traffic_moved(format!(
                "alias {alias} of function {name} does not exist: nothing to roll back"
            )),
            said: false,
        },
    })
}

/// Where the release on `alias`, as read, stands.
pub fn of_alias<'a>(ctx: Ctx<'a>, alias: &AliasState) -> Standing<'a> {
    match in_progress(ctx, alias) {
        Ok(Some(run)) => Standing::Releasing(Box::new(run)),
        // A split greenlight cannot explain: all traffic back on the
        // alias's main version.
        Err(problem) => Standing::Unexplained {
            clear: alias.weights.keys().next().map(|from| Undo::Restore {
                router: router(ctx, alias),
                from: from.clone(),
                to: alias.version.clone(),
                undoing: Undoing::Split,
                idle: false,
            }),
            problem,
        },
        Ok(None) => Standing::Settled(Settled {
            judged: settling(ctx, alias).map(|run| run.map(Box::new)),
            back: back(ctx, alias),
        }),
    }
}

/// What rolling back the last release on `current`, with none in
/// progress, means: the version its record names as live before.
/// Never guessed from version numbers: without such a record it is an
/// error (exit 1).
fn back<'a>(ctx: Ctx<'a>, current: &AliasState) -> Result<Undo<'a>> {
    let alias = ctx.alias();
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
    if !rollback::is_published(&previous) {
        return Err(rollback::unpublished_previous(
            &format!("alias {alias}"),
            &previous,
        ));
    }
    Ok(Undo::Restore {
        router: router(ctx, current),
        from: record.version,
        to: previous,
        undoing: Undoing::Last,
        idle: true,
    })
}

/// The release in progress on `alias`, if greenlight's record says there
/// is one; a split it does not explain is refused (exit 1, with the way
/// out), see [`Standing::Unexplained`].
pub fn in_progress<'a>(ctx: Ctx<'a>, alias: &AliasState) -> Result<Option<Run<'a>>> {
    let record = Record::parse(&alias.description).filter(|r| r.action == Action::Canary);
    let release = record
        .as_ref()
        .and_then(|r| Some((r, r.canary.as_ref()?, r.previous.as_ref()?)));
    let Some((record, canary, stable)) = release else {
        return match split(alias) {
            None => Ok(None),
            Some(split) => Err(unexplained(
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
        return Err(unexplained(
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
        return Err(unexplained(
            ctx,
            alias,
            format!(
                "alias {} was changed outside greenlight during the release of version {}",
                ctx.alias(),
                record.version
            ),
        ));
    }
    Ok(Some(resume(ctx, router(ctx, alias), record)))
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
    let settles = Settling::of(&record).is_some_and(|last| !last.left().is_zero());
    if !settles
        || alias.version != record.version
        || !alias.weights.is_empty()
        || record.previous.is_none()
    {
        return Ok(None);
    }
    Ok(Some(resume(ctx, router(ctx, alias), &record)))
}

/// For `status`: where the release `standing` read stands and what
/// `promote` would do next, decided as `promote` decides it (the gates'
/// reads once the step's wait is over, see [`Run::read_gates`]); and why
/// it cannot be read as greenlight's release, or its gates not read, if so.
pub async fn position(standing: Result<Standing<'_>>) -> (Option<InProgress>, Option<Error>) {
    match standing {
        Err(problem) | Ok(Standing::Unexplained { problem, .. }) => (None, Some(problem)),
        Ok(Standing::Releasing(mut run)) => {
            let unread = run.read_gates().await.err();
            (run.position(), unread)
        }
        Ok(Standing::Settled(settled)) => (None, settled.judged.err()),
        Ok(Standing::Unreleased { .. }) => (None, None),
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
/// one, on any router; with `by`, `greenlight approve` ([`engine::approve`]).
/// Without `by`, a finished release whose last step's metrics still settle
/// is judged.
pub async fn promote(ctx: Ctx<'_>, by: Option<&Approver>) -> Result<Option<ReleaseReport>> {
    let run = match standing(ctx).await? {
        Standing::Unreleased { why, said } => {
            if said {
                let hint = why.hint.unwrap_or_default();
                ctx.ui.step(format!("{}; {hint}", why.message));
            }
            return Ok(None);
        }
        Standing::Releasing(run) => *run,
        Standing::Unexplained { problem, .. } => return Err(problem),
        _ if by.is_some() => return Ok(None),
        Standing::Settled(settled) => match settled.judged? {
            Some(run) => *run,
            None => return Ok(None),
        },
    };
    match by {
        Some(by) => engine::approve(run, by).await.map(Some),
        None => engine::drive(run, false).await.map(Some),
    }
}

/// The release `record` describes (a canary record, or a finished
/// release's whose last step is still judged), driven through `router`.
pub fn resume<'a>(ctx: Ctx<'a>, router: AnyRouter<'a>, record: &Record) -> Run<'a> {
    let stable = record.previous.clone().unwrap_or_default();
    match &record.canary {
        Some(canary) => Run::start(ctx, router, &record.version, &stable, canary.plan.clone())
            .with_settle(canary.settle)
            .at_step(
                canary.step,
                record.time().unwrap_or_else(OffsetDateTime::now_utc),
            )
            .told(record),
        None => {
            let run = Run::start(
                ctx,
                router,
                &record.version,
                &stable,
                ctx.config.release.plan.clone(),
            );
            match Settling::of(record) {
                Some(last) => run.with_settle(last.settle).settling(last),
                None => run,
            }
        }
    }
}
