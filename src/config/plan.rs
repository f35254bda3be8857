//! The shape of a release: the traffic steps and how long each one bakes.
//!
//! `steps = [10, 50]` with `bake = "5m"` puts 10 % of traffic on the new
//! version for five minutes, then 50 % for five minutes, then 100 %. No steps
//! means all at once. CodeDeploy's preset names map onto the same shape:
//! `Canary10Percent5Minutes` is `[10]` for 5 minutes, and
//! `Linear10PercentEvery1Minute` is `[10, 20, …, 90]`, one minute each.

use std::fmt;
use std::time::Duration;

/// How traffic moves to a new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Percent of traffic on the new version at each step before 100 %,
    /// strictly increasing, each 1 to 99. Empty: all at once.
    pub steps: Vec<u8>,
    /// How long each step holds before the next.
    pub bake: Duration,
}

/// The bake when the config sets steps but no bake.
pub const DEFAULT_BAKE: Duration = Duration::from_secs(300);
/// The longest bake (and `release.max_hold`): the metric gates judge a
/// step's whole window, which reaches back at most this far.
pub const MAX_BAKE: Duration = crate::config::MAX_WINDOW;
/// Why a bake is at most [`MAX_BAKE`], for errors.
pub const MAX_BAKE_REASON: &str = "CloudWatch keeps 1-minute Lambda metrics for 15 days and a metric window spans at most 14 days";

/// The most characters Lambda keeps in an alias description, where each
/// move writes the release record (the `record` module).
pub const RECORD_LIMIT: usize = 256;

/// The version number the longest record is reckoned with: seven digits,
/// room for 9,999,999 versions of one function (a thousand deploys a day
/// for 27 years).
pub const LONGEST_VERSION: &str = "9999999";

/// How many characters a load balancer's forward-action fingerprint
/// (`shape=` in the record, `ActionList::shape` in `aws::elbv2`) has.
pub const SHAPE_LENGTH: usize = 16;

/// How many decimal digits `n` has.
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

impl Plan {
    /// The longest release record a release through this plan can write
    /// into the alias description, counted as the `record` module writes it
    /// (its tests hold the two together): a canary at its last step with
    /// every marker set (`held=`, `waiting=`, `approved=` with
    /// `approved_at=`) and, with `approvals` listed, every move's
    /// `approval=` digit, versions of [`LONGEST_VERSION`]'s seven digits,
    /// `settle` at its longest ([`crate::config::MAX_SETTLE`]) and, through a
    /// load balancer (`shaped`), the action list's fingerprint; or, for a
    /// plan without steps, a finished release still settling or, with
    /// `approvals`, a release waiting for approval before it moves if that
    /// is longer. The approver
    /// (`by=`) is not counted: it comes last and is cut to the room left.
    pub fn longest_record(&self, shaped: bool, approvals: bool) -> usize {
        let time = "2000-01-01T00:00:00Z".len();
        let version = LONGEST_VERSION.len();
        let settle = " settle=s".len() + digits(crate::config::MAX_SETTLE.as_secs());
        let head =
            "greenlight: action=".len() + " version=".len() + " previous=".len() + 2 * version;
        let at = " at=".len() + time;
        let finished = head + "release".len() + settle + " from=".len() + time + at;
        // With `[release] approval`: one digit per move (each step, then 100).
        let approval = if approvals {
            " approval=".len() + self.steps.len() + 1
        } else {
            0
        };
        let markers =
            |index: usize| " held=".len() + " waiting=".len() + " approved=".len() + 3 * index;
        let Some(last) = self.steps.len().checked_sub(1) else {
            // Waiting for approval before all traffic moves at once.
            let pending = head
                + "pending".len()
                + settle
                + approval
                + markers(1)
                + " approved_at=".len()
                + time
                + at;
            return if approvals {
                pending.max(finished)
            } else {
                finished
            };
        };
        let index = digits(last as u64);
        let listed: usize = self.steps.iter().map(|&s| digits(s.into())).sum::<usize>() + last;
        let shape = if shaped {
            " shape=".len() + SHAPE_LENGTH
        } else {
            0
        };
        let canary = head
            + "canary".len()
            + " step=".len()
            + index
            + " steps=".len()
            + listed
            + " bake=s".len()
            + digits(self.bake.as_secs())
            + settle
            + approval
            + shape
            + markers(index)
            + " approved_at=".len()
            + time
            + at;
        canary.max(finished)
    }

    /// All traffic at once, no bake.
    pub fn all_at_once() -> Plan {
        Plan {
            steps: Vec::new(),
            bake: Duration::ZERO,
        }
    }

    /// True when traffic moves in one go.
    pub fn is_all_at_once(&self) -> bool {
        self.steps.is_empty()
    }

    /// Checks steps: each 1 to 99 and strictly increasing. The error says why.
    pub fn check_steps(steps: &[i64]) -> Result<Vec<u8>, String> {
        let mut previous = 0;
        steps
            .iter()
            .map(|&s| {
                if !(1..=99).contains(&s) {
                    Err(format!("step {s} is not a percentage from 1 to 99 (100 % is the end of every release)"))
                } else if s <= previous {
                    Err(format!("steps must increase, but {s} follows {previous}"))
                } else {
                    previous = s;
                    Ok(s as u8)
                }
            })
            .collect()
    }

    /// The plan a CodeDeploy-style preset name stands for, e.g.
    /// `Canary10Percent5Minutes`, `Linear20PercentEvery2Minutes`, `AllAtOnce`.
    /// The bake is not bounded here: a huge number of minutes saturates
    /// (never overflows), for the caller to refuse against [`MAX_BAKE`].
    pub fn preset(name: &str) -> Option<Plan> {
        if name == "AllAtOnce" {
            return Some(Plan::all_at_once());
        }
        let minutes = |text: &str| -> Option<Duration> {
            let digits = text
                .strip_suffix("Minutes")
                .or_else(|| text.strip_suffix("Minute"))?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Only digits: a number too large for u64 is just very large.
            let n: u64 = digits.parse().unwrap_or(u64::MAX);
            (n > 0).then(|| Duration::from_secs(n.saturating_mul(60)))
        };
        let percent =
            |text: &str| -> Option<u8> { text.parse().ok().filter(|p| (1..=99).contains(p)) };
        if let Some(rest) = name.strip_prefix("Canary") {
            let (p, m) = rest.split_once("Percent")?;
            return Some(Plan {
                steps: vec![percent(p)?],
                bake: minutes(m)?,
            });
        }
        let rest = name.strip_prefix("Linear")?;
        let (p, m) = rest.split_once("PercentEvery")?;
        let p = percent(p)?;
        Some(Plan {
            steps: (1..).map(|k| k * p).take_while(|s| *s < 100).collect(),
            bake: minutes(m)?,
        })
    }

    /// The traffic share of step `index` as Lambda's weight (0.0 to 1.0).
    pub fn weight(&self, index: usize) -> f64 {
        f64::from(self.steps[index]) / 100.0
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all_at_once() {
            return write!(f, "all at once");
        }
        let steps: Vec<String> = self.steps.iter().map(|s| format!("{s} %")).collect();
        write!(
            f,
            "{} → 100 %, {} each",
            steps.join(" → "),
            humantime::format_duration(self.bake)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_map_onto_steps_and_bakes() {
        assert_eq!(
            Plan::preset("Canary10Percent5Minutes"),
            Some(Plan {
                steps: vec![10],
                bake: Duration::from_secs(300)
            })
        );
        assert_eq!(
            Plan::preset("Linear10PercentEvery1Minute"),
            Some(Plan {
                steps: vec![10, 20, 30, 40, 50, 60, 70, 80, 90],
                bake: Duration::from_secs(60)
            })
        );
        assert_eq!(
            Plan::preset("Linear25PercentEvery2Minutes").map(|p| p.steps),
            Some(vec![25, 50, 75])
        );
        assert_eq!(Plan::preset("AllAtOnce"), Some(Plan::all_at_once()));
        assert_eq!(
            Plan::preset("Canary10Percent9999999999999Minutes").map(|p| p.bake),
            Some(Duration::from_secs(9_999_999_999_999 * 60))
        );
        assert_eq!(
            Plan::preset("Canary10Percent99999999999999999999999Minutes").map(|p| p.bake),
            Some(Duration::from_secs(u64::MAX)),
            "saturates instead of overflowing"
        );
        for bad in [
            "Canary10Percent+5Minutes",
            "Canary10PercentMinutes",
            "Canary0Percent5Minutes",
            "Canary10Percent0Minutes",
            "Linear10Percent",
            "Blue",
        ] {
            assert_eq!(Plan::preset(bad), None, "{bad}");
        }
    }

    #[test]
    fn steps_must_be_percentages_that_increase() {
        assert_eq!(Plan::check_steps(&[10, 50]), Ok(vec![10, 50]));
        assert!(
            Plan::check_steps(&[50, 10])
                .expect_err("rejected")
                .contains("must increase")
        );
        assert!(Plan::check_steps(&[10, 10]).is_err());
        assert!(
            Plan::check_steps(&[100])
                .expect_err("rejected")
                .contains("1 to 99")
        );
        assert!(Plan::check_steps(&[0]).is_err());
        assert!(Plan::check_steps(&[-5]).is_err());
    }

    #[test]
    fn reads_as_a_schedule() {
        let plan = Plan {
            steps: vec![10, 50],
            bake: Duration::from_secs(300),
        };
        assert_eq!(plan.to_string(), "10 % → 50 % → 100 %, 5m each");
        assert_eq!(plan.weight(0), 0.1);
    }
}
