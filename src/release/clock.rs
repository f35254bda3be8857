//! When a release step may be judged and left: its bake, then the time its
//! metrics take to arrive.
//!
//! Lambda stamps a metric with the start of its invocation, and CloudWatch
//! may receive it minutes later. So with metric gates, a step that began at
//! `since` bakes for `bake`, then waits `settle` more: only then are the
//! metrics of its whole bake in, and the step is decided on the closed
//! window up to what has settled. Its last minutes of traffic (the settle
//! wait itself) are judged with the next step, whose window reaches back
//! `settle` before it began, and after the final move the last step's
//! window is judged until it has settled too ([`Settling`]). Without metric
//! gates `settle` is zero and a step is left when its bake ends.
//!
//! All arithmetic on times is checked: a time past the calendar's end
//! counts as a wait that never ends, so nothing moves on an absurd time.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::record::Record;

/// The clock of one step of a release.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepClock {
    /// When the step began (its alias move or weight change).
    pub since: OffsetDateTime,
    /// How long it bakes.
    pub bake: Duration,
    /// How long its metrics are given to arrive after the bake.
    pub settle: Duration,
    /// True for every step after the first: its window also takes in the
    /// unsettled end of the step before it.
    pub carries: bool,
}

impl StepClock {
    /// How long the step still bakes.
    pub fn bake_left(&self) -> Duration {
        left(self.since, self.bake)
    }

    /// How long until the step may be judged and left: its bake and then
    /// its settle time.
    pub fn wait_left(&self) -> Duration {
        left(self.since, self.bake.saturating_add(self.settle))
    }

    /// Of [`StepClock::wait_left`], the part after the bake.
    pub fn settle_left(&self) -> Duration {
        self.wait_left().min(self.settle)
    }

    /// What the step is doing until it may be left, for plans: "bakes", or
    /// with a settle time "waits (its bake, then its metrics' settle)".
    pub fn waiting(&self) -> &'static str {
        if self.settle.is_zero() {
            "bakes"
        } else {
            "waits (its bake, then its metrics' settle)"
        }
    }

    /// True when a step whose wait is over has held longer than
    /// `max_hold` (by default one more bake) for want of gates that can
    /// judge it.
    pub fn hold_is_over(&self, max_hold: Option<Duration>) -> bool {
        let hold = max_hold.unwrap_or(self.bake);
        left(
            self.since,
            self.bake.saturating_add(self.settle).saturating_add(hold),
        )
        .is_zero()
    }

    /// The window the step's metrics are judged over: from its start (less
    /// the unsettled end of the step before), and to now while it bakes
    /// (`None`), then only as far as has settled (an end `settle` ago).
    pub fn window(&self) -> (OffsetDateTime, Option<OffsetDateTime>) {
        let from = if self.carries {
            before(self.since, self.settle)
        } else {
            self.since
        };
        let until = (!self.settle.is_zero() && self.bake_left().is_zero())
            .then(|| before(OffsetDateTime::now_utc(), self.settle));
        (from, until)
    }
}

/// The last canary step of a finished release (its window from `from` to
/// the final move at `at`), judged until `settle` after `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settling {
    /// Where the last step's window began.
    pub from: OffsetDateTime,
    /// When all the traffic moved.
    pub at: OffsetDateTime,
    /// How long its metrics are given to arrive.
    pub settle: Duration,
}

impl Settling {
    /// The settling window a release record names, if it names one that
    /// can be used (see [`Record::problem`]: a window in the future, for
    /// one, would be waited for without end).
    pub fn of(record: &Record) -> Option<Settling> {
        let settling = record.settling.as_ref()?;
        if record.problem(OffsetDateTime::now_utc()).is_some() {
            return None;
        }
        Some(Settling {
            from: OffsetDateTime::parse(&settling.from, &Rfc3339).ok()?,
            at: record.time()?,
            settle: settling.settle,
        })
    }

    /// How long the last step's window is still judged.
    pub fn left(&self) -> Duration {
        left(self.at, self.settle)
    }
}

/// A duration in whole seconds, rounded up (a second left is never shown
/// as none).
pub fn whole_seconds(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

/// A step's wait in words, for plans: "5m", or "5m, then 3m for its
/// metrics to settle".
pub fn describe(bake: Duration, settle: Duration) -> String {
    let bake = humantime::format_duration(bake);
    if settle.is_zero() {
        bake.to_string()
    } else {
        format!(
            "{bake}, then {} for its metrics to settle",
            humantime::format_duration(settle)
        )
    }
}

/// How long until `length` after `start` has passed; a time past the
/// calendar's end counts as never.
fn left(start: OffsetDateTime, length: Duration) -> Duration {
    let end = time::Duration::try_from(length)
        .ok()
        .and_then(|length| start.checked_add(length));
    match end {
        Some(end) => Duration::try_from(end - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO),
        None => Duration::MAX,
    }
}

/// `length` before `time`, or the calendar's start.
fn before(time: OffsetDateTime, length: Duration) -> OffsetDateTime {
    time::Duration::try_from(length)
        .ok()
        .and_then(|length| time.checked_sub(length))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn ago(d: Duration) -> OffsetDateTime {
        before(OffsetDateTime::now_utc(), d)
    }

    #[test]
    fn a_step_bakes_then_settles_then_may_move_on() {
        let clock = |since| StepClock {
            since,
            bake: 5 * MINUTE,
            settle: 3 * MINUTE,
            carries: true,
        };
        let baking = clock(ago(MINUTE));
        assert!(baking.bake_left() > 3 * MINUTE);
        assert_eq!(baking.settle_left(), 3 * MINUTE);
        assert_eq!(baking.window().1, None, "an open window while it bakes");
        assert!(
            baking.window().0 < ago(3 * MINUTE),
            "the window carries the step before"
        );

        let settling = clock(ago(6 * MINUTE));
        assert!(settling.bake_left().is_zero());
        assert!(settling.settle_left() > Duration::ZERO && settling.settle_left() <= 2 * MINUTE);
        let until = settling.window().1.expect("closed once the bake is over");
        assert!(until <= ago(3 * MINUTE) && until > ago(4 * MINUTE));

        let over = clock(ago(9 * MINUTE));
        assert!(over.wait_left().is_zero());
        assert!(!over.hold_is_over(None), "one more bake to hold");
        assert!(clock(ago(14 * MINUTE)).hold_is_over(None));
    }

    #[test]
    fn without_metric_gates_a_step_is_its_bake() {
        let clock = StepClock {
            since: ago(6 * MINUTE),
            bake: 5 * MINUTE,
            settle: Duration::ZERO,
            carries: false,
        };
        assert!(clock.wait_left().is_zero());
        assert_eq!(clock.settle_left(), Duration::ZERO);
        assert_eq!(clock.window().1, None);
    }

    #[test]
    fn absurd_times_never_overflow_and_never_end() {
        let far = StepClock {
            since: OffsetDateTime::now_utc(),
            bake: Duration::from_secs(u64::MAX),
            settle: Duration::from_secs(u64::MAX),
            carries: true,
        };
        assert_eq!(far.wait_left(), Duration::MAX);
        assert!(!far.hold_is_over(Some(Duration::MAX)));
        assert_eq!(far.window().0, OffsetDateTime::UNIX_EPOCH);
        let settling = Settling {
            from: OffsetDateTime::UNIX_EPOCH,
            at: ago(MINUTE),
            settle: 3 * MINUTE,
        };
        assert!(settling.left() > MINUTE && settling.left() <= 2 * MINUTE);
    }
}
