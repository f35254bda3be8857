//! Routers: where a release's traffic split lives, and only what differs
//! between the places it can live.
//!
//! The engine ([`crate::release::engine`]) owns the steps, bakes, gates,
//! interrupts, the panic path and the rollback on red, once; a router owns
//! the writes of one kind of split: a Lambda alias's routing weights
//! ([`alias`]), Route 53 weights ([`dns`]), load-balancer weights next
//! (issue 24). Models: Argo Rollouts' `TrafficRoutingReconciler`
//! (SetWeight, VerifyWeight, Type) and Flagger's router interface
//! (SetRoutes, GetRoutes).
//!
//! Dispatch is by [`AnyRouter`] (async trait methods are not
//! dyn-compatible): the engine holds one and calls the `Router` methods
//! through it.

pub mod alias;
pub mod dns;

use std::time::Duration;

use crate::error::Result;
use crate::record::Record;
use crate::release::rollback::RollbackReport;

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
    /// records the rollback; `why` is said if that fails (exit 4, with the
    /// commands that fix it).
    async fn restore(&mut self, stable: &str, failed: &str, why: &str) -> Result<()>;

    /// `greenlight rollback` for this router: what the panic path runs.
    async fn rollback(&self) -> Result<RollbackReport>;
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
}

impl Router for AnyRouter<'_> {
    fn place(&self) -> Place {
        match self {
            AnyRouter::Alias(r) => r.place(),
            AnyRouter::Dns(r) => r.place(),
        }
    }

    async fn serves(&self, version: &str) -> Result<bool> {
        match self {
            AnyRouter::Alias(r) => r.serves(version).await,
            AnyRouter::Dns(r) => Box::pin(r.serves(version)).await,
        }
    }

    async fn write(&mut self, split: Split<'_>, record: &Record) -> Result<()> {
        match self {
            AnyRouter::Alias(r) => r.write(split, record).await,
            AnyRouter::Dns(r) => Box::pin(r.write(split, record)).await,
        }
    }

    async fn in_effect(&mut self) -> Result<()> {
        match self {
            AnyRouter::Alias(r) => r.in_effect().await,
            AnyRouter::Dns(r) => Box::pin(r.in_effect()).await,
        }
    }

    fn caching(&self) -> Duration {
        match self {
            AnyRouter::Alias(r) => r.caching(),
            AnyRouter::Dns(r) => r.caching(),
        }
    }

    async fn restore(&mut self, stable: &str, failed: &str, why: &str) -> Result<()> {
        match self {
            AnyRouter::Alias(r) => r.restore(stable, failed, why).await,
            AnyRouter::Dns(r) => Box::pin(r.restore(stable, failed, why)).await,
        }
    }

    async fn rollback(&self) -> Result<RollbackReport> {
        match self {
            AnyRouter::Alias(r) => r.rollback().await,
            AnyRouter::Dns(r) => Box::pin(r.rollback()).await,
        }
    }
}
