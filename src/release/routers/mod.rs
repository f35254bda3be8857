//! Routers: where a release's traffic split lives, and only what differs
//! between the places it can live.
//!
//! The engine ([`crate::release::engine`]) owns the steps, bakes, gates,
//! interrupts, the panic path and the rollback on red, once; a router owns
//! the writes of one kind of split: a Lambda alias's routing weights
//! ([`alias`]), Route 53 weights ([`dns`]), a load balancer's forward action
//! ([`alb`]). Models: Argo Rollouts' `TrafficRoutingReconciler`
//! (SetWeight, VerifyWeight, Type) and Flagger's router interface
//! (SetRoutes, GetRoutes).
//!
//! Dispatch is by [`AnyRouter`] (async trait methods are not
//! dyn-compatible): the engine holds one and calls the `Router` methods
//! through it.

pub mod alb;
pub mod alias;
pub mod dns;

use std::time::Duration;

use crate::aws::lambda::AliasState;
use crate::config::Colour;
use crate::config::alb::AlbColour;
use crate::config::plan::Plan;
use crate::context::Ctx;
use crate::error::{Error, Failure, Result};
use crate::record::{Action, Record};
use crate::release::weights;

/// One colour of a two-colour router (Route 53's pair, a load balancer's
/// two target groups): its name and the Lambda alias behind it.
pub trait Coloured {
    /// `blue` or `green`.
    fn name(&self) -> &'static str;
    /// The alias behind it.
    fn alias(&self) -> &str;
}

impl Coloured for Colour {
    fn name(&self) -> &'static str {
        self.name
    }
    fn alias(&self) -> &str {
        &self.alias
    }
}

impl Coloured for AlbColour {
    fn name(&self) -> &'static str {
        self.name
    }
    fn alias(&self) -> &str {
        &self.alias
    }
}

/// `e` from `doing`, said as such; a conflict as it is (it stops the run).
pub(crate) fn failed(doing: &str, e: Error) -> Error {
    if e.failure == Failure::Conflict {
        return e;
    }
    Error {
        message: format!("{doing} failed: {}", e.message),
        ..e
    }
}

/// The exit-4 error of a restore that failed with `e` after `why`: `place`
/// may still send traffic to colour `to` (version `failed`); `hint` says
/// how to set the weights by hand.
pub(crate) fn restore_failed(
    e: Error,
    why: &str,
    place: &str,
    to: &str,
    failed: &str,
    hint: String,
) -> Error {
    Error {
        failure: Failure::NeedsOperator,
        message: format!(
            "rollback failed after {why}: {place} may still send traffic to {to} (version {failed})"
        ),
        cause: Some(match e.cause {
            Some(cause) => format!("{} ({cause})", e.message),
            None => e.message,
        }),
        hint: Some(hint),
    }
}

/// Whether any colour with weight (`weighted`: each colour's alias and
/// weight) has its alias on `version`.
pub(crate) async fn serves_any<'c>(
    ctx: Ctx<'_>,
    weighted: impl IntoIterator<Item = (&'c str, i64)>,
    version: &str,
) -> Result<bool> {
    for (alias, weight) in weighted {
        if weight == 0 {
            continue;
        }
        let alias = ctx.lambda.alias(ctx.function(), alias).await?;
        if alias.is_some_and(|a| a.version == version) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// After a restore that failed: whether `alias` serves `stable` alone
/// with the record of the rollback of `failed`, as another run's rollback
/// leaves it (both read the split before either wrote).
pub(crate) async fn restored_on(ctx: Ctx<'_>, alias: &str, stable: &str, failed: &str) -> bool {
    let rolled_back = |r: &Record| {
        r.action == Action::Rollback && r.version == stable && r.previous.as_deref() == Some(failed)
    };
    colour_record(ctx, alias, stable, &rolled_back)
        .await
        .is_ok_and(|found| found.is_some())
}

/// `alias`'s release record, with its `RevisionId`, as read now: when the
/// alias `routes` as expected and `take` accepts the record; otherwise
/// `None` ([`Router::reread_record`]).
pub(crate) async fn record_on(
    ctx: Ctx<'_>,
    alias: &str,
    routes: impl FnOnce(&AliasState) -> bool,
    take: &dyn Fn(&Record) -> bool,
) -> Result<Option<(Record, Option<String>)>> {
    let Some(alias) = ctx.lambda.alias(ctx.function(), alias).await? else {
        return Ok(None);
    };
    let record = Record::parse(&alias.description).filter(|r| routes(&alias) && take(r));
    Ok(record.map(|r| (r, alias.revision_id)))
}

/// [`record_on`] an `alias` that must serve `version` alone (a colour's,
/// or an alias rolled back).
pub(crate) async fn colour_record(
    ctx: Ctx<'_>,
    alias: &str,
    version: &str,
    take: &dyn Fn(&Record) -> bool,
) -> Result<Option<(Record, Option<String>)>> {
    let alone = |a: &AliasState| a.version == version && a.weights.is_empty();
    record_on(ctx, alias, alone, take).await
}

/// In a dry run, records the write that points `colour`'s alias (its
/// name, and how messages name its colour) at `version` with `description`
/// (`call`: `CreateAlias` or `UpdateAlias`), keeping what it points at for
/// later reads ([`planned_alias`]), and returns true; otherwise false.
pub(crate) fn planned_point(
    ctx: Ctx<'_>,
    call: &str,
    colour: (&str, &str),
    version: &str,
    description: &str,
) -> bool {
    let (alias, label) = colour;
    let with = match Record::parse(description) {
        Some(record) => match (record.action, record.canary) {
            (Action::Canary, Some(canary)) => {
                format!(", with the record of step {}", canary.step + 1)
            }
            (Action::Release, _) => ", with the release record".to_owned(),
            (Action::Rollback, _) => ", with the rollback record".to_owned(),
            _ => String::new(),
        },
        None => String::new(),
    };
    ctx.record(|plan| {
        plan.write(
            call,
            format_args!(
                "alias {alias} ({label}) → {}{with}",
                crate::release::dry_run::label(version)
            ),
        );
        plan.aliases.insert(alias.to_owned(), version.to_owned());
    })
}

/// In a dry run, the version this plan has pointed `alias` at, if it has.
pub(crate) fn planned_alias(ctx: Ctx<'_>, alias: &str) -> Option<String> {
    let mut found = None;
    ctx.record(|plan| found = plan.aliases.get(alias).cloned());
    found
}

/// A router whose move is two writes: the release record on the receiving
/// colour's alias, and the weights (Route 53's pair, a load balancer's
/// forward action). [`write_in_two`] orders them.
pub(crate) trait TwoWrites {
    /// Fails (exit 1, writing nothing) when the split is no longer as this
    /// run last read or wrote it.
    async fn unchanged(&self) -> Result<()>;
    /// Points the receiving colour's alias at `version` with `record`.
    async fn record(&mut self, version: &str, record: &Record) -> Result<()>;
    /// Sets `new` on the receiving colour and the rest on the other
    /// (`what`: the move in words, for messages).
    async fn set(&mut self, new: i64, what: &str) -> Result<()>;
    /// The sum of the weights, kept through the release.
    fn total(&self) -> i64;
    /// The receiving colour's name.
    fn receiving(&self) -> &'static str;
    /// The record a step writes (a load balancer's keeps the shape of the
    /// action list it is written over).
    fn step_record(&self, record: &Record) -> Record {
        record.clone()
    }
}

/// Writes `split` through a two-write router: a step, not over a split
/// someone else changed, writes the record first and then the weights; the
/// finish the weights first and then the record, so until all the weight
/// has moved the last canary record still says a release is in progress.
pub(crate) async fn write_in_two(
    router: &mut impl TwoWrites,
    split: Split<'_>,
    record: &Record,
) -> Result<()> {
    let what = format!("{} % on {}", split.percent, router.receiving());
    if split.share.is_some() {
        router.unchanged().await?;
        let record = router.step_record(record);
        router.record(split.version, &record).await?;
        let new = weights::step_weight(router.total(), split.percent);
        router.set(new, &what).await
    } else {
        router.set(router.total(), &what).await?;
        router.record(split.version, record).await
    }
}

/// One split a release writes: `share` of the traffic on `version`, the
/// rest on `stable`; or, to finish, all of it on `version`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split<'a> {
    /// The version under release.
    pub version: &'a str,
    /// The version the rest of the traffic stays on.
    pub stable: &'a str,
    /// The share on `version` (0.0 to 1.0) during a step; `None` when the
    /// release finishes and all traffic moves.
    pub share: Option<f64>,
    /// The share in percent, for messages (100 when finishing).
    pub percent: u8,
}

impl<'a> Split<'a> {
    /// The split of step `step` of `plan` (an index into its steps): its
    /// share on `version`, the rest on `stable`.
    pub fn step(version: &'a str, stable: &'a str, plan: &Plan, step: usize) -> Self {
        Split {
            version,
            stable,
            share: Some(plan.weight(step)),
            percent: plan.steps[step],
        }
    }
}

/// How a router names itself and reaches the versions it routes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// In messages, e.g. "alias live".
    pub name: String,
    /// The alias through which the version under release is reached (smoke
    /// tests, its metrics).
    pub via: String,
    /// The alias through which the stable version is reached (its metrics).
    pub stable_via: String,
    /// Which way the traffic moves, when it moves between places, e.g.
    /// "blue → green by DNS" (for the report's plan).
    pub route: Option<String>,
}

/// Why a router puts all traffic back (`Router::restore`).
#[derive(Debug, Clone, Copy)]
pub enum Why<'w> {
    /// The engine's rollback of a release on red (a gate, an error, an
    /// interrupt): the reason, said as given.
    Red(&'w str),
    /// `greenlight rollback` (or the panic path), undoing what it read.
    Asked(Undoing),
}

/// What a rollback asked for ([`Why::Asked`]) undoes: each kind has its
/// own words where a router says them (the alias router).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Undoing {
    /// A release in progress: it stops, its share cleared.
    Release,
    /// A split greenlight cannot explain (made by hand, or with a record it
    /// cannot use).
    Split,
    /// The last release, finished: back to the version live before it.
    Last,
}

impl std::fmt::Display for Why<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Red(why) => f.write_str(why),
            Why::Asked(_) => f.write_str("rollback requested"),
        }
    }
}

/// What differs between the places a split can live.
pub(crate) trait Router {
    /// How it is named, and the aliases that reach each version.
    fn place(&self) -> Place;

    /// True when `version` takes any traffic now (unknown counts as true):
    /// after a panic, whether there is anything to roll back.
    async fn serves(&self, version: &str) -> Result<bool>;

    /// Writes `split` together with its release `record`, conditionally:
    /// a change by anyone else since the last read or write is
    /// `Failure::Conflict` (exit 1, nothing more is written).
    async fn write(&mut self, split: Split<'_>, record: &Record) -> Result<()>;

    /// Waits until the last write is applied (an alias at once; Route 53
    /// once INSYNC).
    async fn in_effect(&mut self) -> Result<()>;

    /// How long after `Router::in_effect` users may still be sent by the
    /// split before (Route 53: resolvers' caches, the records' TTL); the
    /// gates judge a split only after it, and the caller waits it out
    /// watching the alarms.
    fn caching(&self) -> Duration;

    /// Puts all traffic back on `stable` after `failed` was released, and
    /// records the rollback; `why` is said, and if that fails (exit 4, with
    /// the commands that fix it). In a dry run the writes are recorded.
    async fn restore(&mut self, stable: &str, failed: &str, why: Why<'_>) -> Result<()>;

    /// After a [`Router::restore`] that failed: whether another run put all
    /// traffic back on `stable` meanwhile and recorded it (its rollback
    /// stands, and it told it).
    async fn restored_by_another(&self, stable: &str, failed: &str) -> bool;

    /// Reads the release record again during the step `split` (as this run
    /// last wrote it), for what another run wrote into it meanwhile (say
    /// `greenlight approve`). When the split is still `split` and `take`
    /// accepts the record, returns it and takes the place as it is now as
    /// the condition of the next write; otherwise `None`, and the next write
    /// still finds the change (`Failure::Conflict`).
    async fn reread_record(
        &mut self,
        split: Split<'_>,
        take: &dyn Fn(&Record) -> bool,
    ) -> Result<Option<Record>>;
}

/// The router a release drives. The DNS router's futures are large (two
/// writes, a wait, a restore): they are boxed, so the release's own future
/// stays small enough for a thread's stack. A clone is a second handle on the same
/// place (for the panic path, which reads again before it writes).
#[derive(Clone)]
pub enum AnyRouter<'a> {
    /// A Lambda alias's routing weights.
    Alias(alias::AliasRouter<'a>),
    /// A Route 53 weighted pair's weights.
    Dns(Box<dns::DnsRouter<'a>>),
    /// A load balancer forward action's target group weights.
    Alb(Box<alb::AlbRouter<'a>>),
}

impl Router for AnyRouter<'_> {
    fn place(&self) -> Place {
        match self {
            AnyRouter::Alias(r) => r.place(),
            AnyRouter::Dns(r) => r.place(),
            AnyRouter::Alb(r) => r.place(),
        }
    }

    async fn serves(&self, version: &str) -> Result<bool> {
        match self {
            AnyRouter::Alias(r) => r.serves(version).await,
            AnyRouter::Dns(r) => Box::pin(r.serves(version)).await,
            AnyRouter::Alb(r) => Box::pin(r.serves(version)).await,
        }
    }

    async fn write(&mut self, split: Split<'_>, record: &Record) -> Result<()> {
        match self {
            AnyRouter::Alias(r) => r.write(split, record).await,
            AnyRouter::Dns(r) => Box::pin(r.write(split, record)).await,
            AnyRouter::Alb(r) => Box::pin(r.write(split, record)).await,
        }
    }

    async fn in_effect(&mut self) -> Result<()> {
        match self {
            AnyRouter::Alias(r) => r.in_effect().await,
            AnyRouter::Dns(r) => Box::pin(r.in_effect()).await,
            AnyRouter::Alb(r) => Box::pin(r.in_effect()).await,
        }
    }

    fn caching(&self) -> Duration {
        match self {
            AnyRouter::Alias(r) => r.caching(),
            AnyRouter::Dns(r) => r.caching(),
            AnyRouter::Alb(r) => r.caching(),
        }
    }

    async fn restore(&mut self, stable: &str, failed: &str, why: Why<'_>) -> Result<()> {
        match self {
            AnyRouter::Alias(r) => r.restore(stable, failed, why).await,
            AnyRouter::Dns(r) => Box::pin(r.restore(stable, failed, why)).await,
            AnyRouter::Alb(r) => Box::pin(r.restore(stable, failed, why)).await,
        }
    }

    async fn restored_by_another(&self, stable: &str, failed: &str) -> bool {
        match self {
            AnyRouter::Alias(r) => r.restored_by_another(stable, failed).await,
            AnyRouter::Dns(r) => Box::pin(r.restored_by_another(stable, failed)).await,
            AnyRouter::Alb(r) => Box::pin(r.restored_by_another(stable, failed)).await,
        }
    }

    async fn reread_record(
        &mut self,
        split: Split<'_>,
        take: &dyn Fn(&Record) -> bool,
    ) -> Result<Option<Record>> {
        match self {
            AnyRouter::Alias(r) => r.reread_record(split, take).await,
            AnyRouter::Dns(r) => Box::pin(r.reread_record(split, take)).await,
            AnyRouter::Alb(r) => Box::pin(r.reread_record(split, take)).await,
        }
    }
}
