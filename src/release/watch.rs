//! The waits of a release (bakes, settle waits, Route 53's INSYNC and TTL)
//! and what ends them early.
//!
//! A wait ends at once, with why the release must be undone, on SIGINT or
//! SIGTERM, on another function's failure in a lockstep fleet, or on a
//! watched alarm in ALARM: the alarms are read every [`ALARM_INTERVAL`]
//! whatever the bake, so traffic comes back within seconds of a red alarm
//! (`DescribeAlarms` is cheap). The full gate check (metrics, smoke tests,
//! holds for want of data) keeps its own, coarser [`check_interval`] and is
//! made by the release loops between waits.
//!
//! AWS calls: `DescribeAlarms` only.

use std::time::Duration;

use tokio::time::Instant;

use crate::checks::gates::{self, GateCheck};
use crate::context::Ctx;
use crate::interrupt::Interrupts;
use crate::lockstep;

/// The alarms are read at least this often while a release waits.
pub const ALARM_INTERVAL: Duration = Duration::from_secs(5);

/// The full gate check is made at least this often during a bake...
const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// ...and at most this often.
const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How often every gate (metrics and smoke tests too) is checked during a
/// bake of `bake`: a tenth of it, between 1 s and 30 s.
pub fn check_interval(bake: Duration) -> Duration {
    (bake / 10).clamp(MIN_CHECK_INTERVAL, MAX_CHECK_INTERVAL)
}

/// Why a wait ended early: the release must be undone.
#[derive(Debug)]
pub struct Stopped {
    /// Why, as the rollback says it.
    pub why: String,
    /// The alarm read that found one in ALARM, when that ended it: the
    /// gates the rollback reports ([`GateCheck::alarms_only`]).
    pub read: Option<GateCheck>,
}

impl From<String> for Stopped {
    fn from(why: String) -> Self {
        Stopped { why, read: None }
    }
}

/// Waits `length` during the release of `version`; why it must be undone
/// if an interrupt, another function's failure or a red alarm comes first.
pub async fn pause(
    interrupts: &mut Option<Interrupts>,
    ctx: Ctx<'_>,
    version: &str,
    length: Duration,
) -> Result<(), Stopped> {
    let ends = Instant::now().checked_add(length);
    watching(interrupts, ctx, version, ends, tokio::time::sleep(length)).await
}

/// Runs `work` (a wait of the release of `version` that ends by itself,
/// e.g. until Route 53 is INSYNC) and its answer; why the release must be
/// undone if an interrupt, another function's failure or a red alarm comes
/// first.
pub async fn until<T>(
    interrupts: &mut Option<Interrupts>,
    ctx: Ctx<'_>,
    version: &str,
    work: impl Future<Output = T>,
) -> Result<T, Stopped> {
    watching(interrupts, ctx, version, None, work).await
}

/// [`until`] for a wait that ends at `ends` (none: unknown): no alarm read
/// is started at its very end, where the caller checks the gates itself.
async fn watching<T>(
    interrupts: &mut Option<Interrupts>,
    ctx: Ctx<'_>,
    version: &str,
    ends: Option<Instant>,
    work: impl Future<Output = T>,
) -> Result<T, Stopped> {
    tokio::select! {
        done = work => Ok(done),
        signal = interrupts.get_or_insert_with(Interrupts::catch).recv() => {
            Err(format!("interrupted by {signal}").into())
        }
        why = lockstep::failure(ctx.fleet) => Err(why.into()),
        stopped = red_alarm(ctx, version, ends) => Err(stopped),
    }
}

/// Reads the watched alarms every [`ALARM_INTERVAL`] before `ends`;
/// resolves with why, and the read, once one is in ALARM. A failed read is
/// no verdict: the next full gate check reads them again and decides.
async fn red_alarm(ctx: Ctx<'_>, version: &str, ends: Option<Instant>) -> Stopped {
    if ctx.config.release.alarms.is_empty() {
        return std::future::pending().await;
    }
    loop {
        let next = Instant::now() + ALARM_INTERVAL;
        if ends.is_some_and(|ends| next >= ends) {
            return std::future::pending().await;
        }
        tokio::time::sleep_until(next).await;
        match gates::alarms(ctx, Some(version)).await {
            Ok(alarms) => {
                if let Some(why) = alarms
                    .iter()
                    .find(|a| a.is_alarm())
                    .map(gates::alarm_failure)
                {
                    let read = Some(GateCheck::alarms_only(alarms));
                    return Stopped { why, read };
                }
            }
            Err(e) => ctx.ui.detail(format_args!(
                "reading the alarms failed ({}); the next gate check reads them again",
                e.message
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_check_is_a_tenth_of_the_bake_between_1_and_30_seconds() {
        assert_eq!(check_interval(Duration::from_secs(300)), MAX_CHECK_INTERVAL);
        assert_eq!(
            check_interval(Duration::from_secs(3600)),
            MAX_CHECK_INTERVAL
        );
        assert_eq!(
            check_interval(Duration::from_secs(20)),
            Duration::from_secs(2)
        );
        assert_eq!(check_interval(Duration::ZERO), MIN_CHECK_INTERVAL);
        assert!(ALARM_INTERVAL < MAX_CHECK_INTERVAL);
    }
}
