//! The `[release]` table: steps and bakes, the alarms watched, what an alarm
//! without data means, lockstep fleets and the candidate alias.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::Checker;
use crate::config::metrics::RawMetric;
use crate::config::plan::{DEFAULT_BAKE, MAX_BAKE, MAX_BAKE_REASON, Plan, RECORD_LIMIT};
use crate::config::{MAX_SETTLE, MetricGates};
use crate::error::{Error, Result};

/// The `[release]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseConfig {
    /// Steps and bake time; all at once by default.
    pub plan: Plan,
    /// CloudWatch alarms watched before and during every bake.
    pub alarms: Vec<String>,
    /// Thresholds on the new version's own metrics during bakes.
    pub metrics: MetricGates,
    /// What an alarm in `INSUFFICIENT_DATA` means during a step.
    pub no_data: NoData,
    /// In a `[[functions]]` file: every function makes each move only when
    /// all are ready for it, and one failing rolls them all back
    /// ([`crate::lockstep`]).
    pub together: bool,
    /// An alias deploy points at each new version before its smoke tests,
    /// so an HTTP test can reach the version through it (`{candidate}`); it
    /// never carries user traffic.
    pub candidate: Option<String>,
    /// The percentages a release waits for `greenlight approve` before
    /// moving to (each one of the plan's steps, or 100 = finishing), after
    /// the step before has baked with green gates.
    pub approval: Vec<u8>,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            plan: Plan::all_at_once(),
            alarms: Vec::new(),
            metrics: MetricGates::default(),
            no_data: NoData::Hold,
            together: false,
            candidate: None,
            approval: Vec::new(),
        }
    }
}

/// What an alarm in `INSUFFICIENT_DATA` means during a canary step
/// (`release.insufficient_data`). It is both a new alarm's first state and
/// the lasting state of an alarm on a wrong metric or dimension, so it is
/// never taken for green by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoData {
    /// The default: a `{version}` alarm with no data, or any alarm that has
    /// had none since the step began, holds the step like metrics with too
    /// little traffic (a `promote` reports `held`; a waiting release stops
    /// with exit 5 after `release.max_hold`).
    Hold,
    /// No data counts as green.
    Ok,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelease {
    steps: Option<Spanned<Vec<i64>>>,
    bake: Option<String>,
    preset: Option<Spanned<String>>,
    #[serde(default)]
    alarms: Vec<String>,
    #[serde(default)]
    metrics: Vec<RawMetric>,
    min_invocations: Option<i64>,
    max_hold: Option<String>,
    metrics_settle: Option<String>,
    insufficient_data: Option<String>,
    #[serde(default)]
    together: bool,
    pub(super) candidate: Option<String>,
    approval: Option<Spanned<Vec<i64>>>,
}

impl Checker<'_> {
    /// Checks the `[release]` table; `coloured` with `[dns]` or `[alb]`,
    /// `shaped` when releases go through a load balancer (its records keep
    /// the forward action's fingerprint).
    pub(super) fn release(
        &self,
        raw: RawRelease,
        coloured: bool,
        shaped: bool,
    ) -> Result<ReleaseConfig> {
        let preset = raw.preset.as_ref().map(Spanned::get_ref);
        let steps = raw.steps.as_ref().map(|s| s.get_ref().as_slice());
        let plan = match (preset, steps, &raw.bake) {
            (Some(preset), None, None) => {
                let plan = Plan::preset(preset).ok_or_else(|| {
                    self.bad(
                        "release.preset",
                        format!("{preset:?}"),
                        "use a name like Canary10Percent5Minutes, Linear10PercentEvery1Minute or AllAtOnce",
                    )
                })?;
                if plan.bake > MAX_BAKE {
                    return Err(self.bad(
                        "release.preset",
                        format!("{preset:?}"),
                        &format!(
                            "a preset bakes 1 to {} minutes (14 days): {MAX_BAKE_REASON}",
                            MAX_BAKE.as_secs() / 60
                        ),
                    ));
                }
                plan
            }
            (Some(_), _, _) => {
                return Err(Error::usage(format!(
                    "{}: `release.preset` cannot be combined with `release.steps` or `release.bake`",
                    self.file
                ))
                .with_hint("keep either the preset or the steps and bake"));
            }
            (None, steps, bake) => Plan {
                steps: Plan::check_steps(steps.unwrap_or_default()).map_err(|why| {
                    self.bad("release.steps", format!("{:?}", steps.unwrap_or_default()), &why)
                })?,
                bake: match bake {
                    None => DEFAULT_BAKE,
                    Some(text) => self.duration(
                        "release.bake",
                        text,
                        Duration::from_secs(1)..=MAX_BAKE,
                        &format!("a duration from 1s to 14 days, such as \"30s\", \"5m\" or \"1h\": {MAX_BAKE_REASON}"),
                    )?,
                },
            },
        };
        self.record_fits(&plan, &raw, shaped)?;
        let mut seen = BTreeSet::new();
        for (i, name) in raw.alarms.iter().enumerate() {
            if name.trim().is_empty() || name.len() > 255 {
                return Err(self.bad(
                    &format!("release.alarms[{i}]"),
                    format!("{name:?}"),
                    "an alarm name is 1 to 255 characters",
                ));
            }
            if !seen.insert(name) {
                return Err(self.bad(
                    &format!("release.alarms[{i}]"),
                    format!("{name:?}"),
                    "listed twice",
                ));
            }
        }
        let mut metrics = self.metric_gates(raw.metrics, raw.min_invocations, raw.max_hold)?;
        metrics.settle = raw
            .metrics_settle
            .map(|text| {
                self.duration(
                    "release.metrics_settle",
                    &text,
                    Duration::ZERO..=MAX_SETTLE,
                    "a duration of at most 1h, such as \"3m\" (how long Lambda's metrics may take to arrive; \"0s\" judges each step the moment its bake ends)",
                )
            })
            .transpose()?;
        let no_data = match raw.insufficient_data.as_deref() {
            None | Some("hold") => NoData::Hold,
            Some("ok") => NoData::Ok,
            Some(other) => {
                return Err(self.bad(
                    "release.insufficient_data",
                    format!("{other:?}"),
                    "use \"hold\" (an alarm with no data holds the step, like metrics with too little traffic) or \"ok\" (no data counts as green)",
                ));
            }
        };
        let approval = match raw.approval {
            Some(listed) => self.approval(&plan, listed, coloured)?,
            None => Vec::new(),
        };
        Ok(ReleaseConfig {
            approval,
            plan,
            alarms: raw.alarms,
            metrics,
            no_data,
            together: raw.together,
            candidate: raw.candidate,
        })
    }

    /// Refuses a plan whose release record could outgrow the characters
    /// Lambda keeps in an alias description ([`Plan::longest_record`]): AWS
    /// would refuse a step's `UpdateAlias` halfway through the release.
    /// The error names `raw`'s key that set the plan.
    fn record_fits(&self, plan: &Plan, raw: &RawRelease, shaped: bool) -> Result<()> {
        let approvals = raw.approval.is_some();
        let longest = plan.longest_record(shaped, approvals);
        if longest <= RECORD_LIMIT {
            return Ok(());
        }
        let fit = (1..plan.steps.len())
            .rev()
            .find(|&n| {
                let first = Plan {
                    steps: plan.steps[..n].to_vec(),
                    bake: plan.bake,
                };
                first.longest_record(shaped, approvals) <= RECORD_LIMIT
            })
            .unwrap_or(0);
        let through = match (shaped, approvals) {
            (true, true) => " and their approvals through the load balancer",
            (true, false) => " through the load balancer",
            (false, true) => " and their approvals",
            (false, false) => "",
        };
        let (key, at, shown) = match (&raw.preset, &raw.steps) {
            (Some(p), _) => (
                "release.preset",
                p.span().start,
                format!("{:?}", p.get_ref()),
            ),
            (None, Some(s)) => (
                "release.steps",
                s.span().start,
                format!("{:?}", s.get_ref()),
            ),
            (None, None) => ("release.steps", 0, "[]".to_owned()),
        };
        Err(self.bad_at(
            key,
            at,
            shown,
            &format!(
                "the release record greenlight writes into the alias description with each move could reach {longest} characters with these {} steps{through} (7-digit versions, every marker set), and Lambda keeps {RECORD_LIMIT}: list fewer steps (the first {fit} fit)",
                plan.steps.len()
            ),
        ))
    }

    /// Checks `release.approval`: each a percentage the release moves to
    /// (one of `plan`'s steps, or 100), listed once. The first move (the
    /// first step, or 100 for an all-at-once release) waits before any
    /// traffic moves, which only an alias release records (`coloured`: with
    /// `[dns]` or `[alb]` the receiving colour's alias is pointed at the new
    /// version with the first step's record).
    fn approval(&self, plan: &Plan, listed: Spanned<Vec<i64>>, coloured: bool) -> Result<Vec<u8>> {
        let at = listed.span().start;
        let listed = listed.into_inner();
        let bad = |why: String| self.bad_at("release.approval", at, format!("{listed:?}"), &why);
        let first = plan.steps.first().copied().unwrap_or(100);
        let mut seen = BTreeSet::new();
        for &p in &listed {
            let known = p == 100 || plan.steps.iter().any(|&s| i64::from(s) == p);
            if !known {
                let steps: Vec<String> = plan.steps.iter().map(u8::to_string).collect();
                return Err(bad(format!(
                    "{p} is not a percentage the release moves to: list steps of `release.steps` ({}) or 100 (finishing)",
                    steps.join(", ")
                )));
            }
            if coloured && p == i64::from(first) {
                return Err(bad(format!(
                    "{p} is the first move, which a `[dns]` or `[alb]` release makes at once after its smoke tests: approval holds before a later step or 100 (finishing); add `release.steps` (e.g. [10]) to hold before 100"
                )));
            }
            if !seen.insert(p) {
                return Err(bad(format!("{p} is listed twice")));
            }
        }
        Ok(seen.into_iter().map(|p| p as u8).collect())
    }
}
