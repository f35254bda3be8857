//! The `[release]` metric gates: thresholds on the new version's own
//! Lambda metrics (`metrics`, `min_invocations`, `max_hold`,
//! `metrics_settle`), the measures of `[alb] metrics` (a load balancer's
//! target groups, checked in `config::alb` with the same `gate_list`), and
//! the limits they are checked against.

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::Checker;
use crate::config::plan::{MAX_BAKE, MAX_BAKE_REASON};
use crate::error::Result;
use crate::ui::round;

/// The minimum invocations of the new version before a verdict, when the
/// config does not say: below about 100, a 1 % error rate is noise.
pub const DEFAULT_MIN_INVOCATIONS: u64 = 100;

/// The oldest data a window reaches back to: CloudWatch keeps one-minute
/// data for 15 days.
pub const MAX_WINDOW: Duration = Duration::from_secs(14 * 24 * 3600);

/// How long Lambda's metrics of a minute may take to arrive when the
/// function's timeout does not say longer: CloudWatch receives them within
/// a few minutes.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(180);

/// The longest `release.metrics_settle`.
pub const MAX_SETTLE: Duration = Duration::from_secs(3600);

/// What a `p99-duration` limit may be: no invocation lasts longer than
/// Lambda's longest timeout.
const P99_LIMIT: &str =
    "a duration such as \"800ms\" or \"2s\", at most 15m (Lambda's longest timeout)";

/// What a metric gate measures: the new version's Lambda metrics
/// (`release.metrics`), or what a load balancer recorded for the target
/// group in front of it (`alb.metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// `Errors / Invocations`, a fraction from 0 to 1.
    ErrorRate,
    /// `Throttles`, a count, of the alias as a whole: Lambda may throttle a
    /// request before it picks a version, so throttles are never the new
    /// version's own.
    Throttles,
    /// The 99th percentile of `Duration`, in milliseconds.
    P99Duration,
    /// `HTTPCode_Target_5XX_Count / RequestCount` of a target group, a
    /// fraction from 0 to 1: responses with a 5xx status from the function.
    Target5xxRate,
    /// `LambdaUserError / RequestCount` of a target group: requests the
    /// load balancer could not serve because of the function (an answer
    /// that is not an ALB response, a missing permission, throttling).
    LambdaUserErrorRate,
    /// `LambdaInternalError / RequestCount` of a target group: requests
    /// that failed inside the load balancer or Lambda.
    LambdaInternalErrorRate,
    /// The 99th percentile of a target group's `TargetResponseTime`, in
    /// milliseconds.
    TargetP99,
}

impl Measure {
    /// The measures of `release.metrics`, by their config names.
    pub const LAMBDA: [(&'static str, Measure); 3] = [
        ("error-rate", Measure::ErrorRate),
        ("throttles", Measure::Throttles),
        ("p99-duration", Measure::P99Duration),
    ];

    /// The measures of `alb.metrics`, by their config names.
    pub const ALB: [(&'static str, Measure); 4] = [
        ("target-5xx-rate", Measure::Target5xxRate),
        ("lambda-user-error-rate", Measure::LambdaUserErrorRate),
        (
            "lambda-internal-error-rate",
            Measure::LambdaInternalErrorRate,
        ),
        ("target-p99", Measure::TargetP99),
    ];

    /// The config name.
    pub fn name(self) -> &'static str {
        Measure::LAMBDA
            .iter()
            .chain(&Measure::ALB)
            .find(|(_, m)| *m == self)
            .map_or("", |(name, _)| name)
    }

    /// True for a fraction of the traffic (0 to 1).
    fn is_rate(self) -> bool {
        matches!(
            self,
            Measure::ErrorRate
                | Measure::Target5xxRate
                | Measure::LambdaUserErrorRate
                | Measure::LambdaInternalErrorRate
        )
    }

    /// True for a 99th percentile of durations, in milliseconds.
    pub fn is_p99(self) -> bool {
        matches!(self, Measure::P99Duration | Measure::TargetP99)
    }

    /// True when a `margin` over the stable version means something: not
    /// for throttles, which belong to the alias as a whole, whose count
    /// has no stable/new split to compare.
    pub fn has_margin(self) -> bool {
        self != Measure::Throttles
    }

    /// A value of this measure as people read it: `1.5 %`, `3`, `800 ms`.
    pub fn show(self, value: f64) -> String {
        if self.is_rate() {
            format!("{} %", round(value * 100.0))
        } else if self.is_p99() {
            format!("{} ms", round(value))
        } else {
            round(value)
        }
    }

    /// Reads a limit for this measure from the config: a fraction for a
    /// rate, a count for throttles, a duration for a p99. The error says
    /// what is expected.
    pub fn limit(self, value: &toml::Value) -> Result<f64, &'static str> {
        match value {
            toml::Value::Float(f) if self.is_rate() && (0.0..=1.0).contains(f) => Ok(*f),
            toml::Value::Integer(i) if self.is_rate() && (0..=1).contains(i) => Ok(*i as f64),
            _ if self.is_rate() => {
                Err("an error rate is a fraction from 0 to 1, such as 0.01 for 1 %")
            }
            toml::Value::String(s) if self.is_p99() => humantime::parse_duration(s)
                .ok()
                .filter(|d| d.as_secs() <= 900)
                .map(|d| d.as_secs_f64() * 1000.0)
                .ok_or(P99_LIMIT),
            _ if self.is_p99() => Err(P99_LIMIT),
            toml::Value::Integer(i) if *i >= 0 => Ok(*i as f64),
            _ => Err("throttles are a count of 0 or more, such as 0"),
        }
    }
}

/// One threshold on the new version's metrics (for throttles, on its
/// alias's).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricGate {
    /// What is measured.
    pub measure: Measure,
    /// The highest value allowed for the new version.
    pub max: Option<f64>,
    /// How far the new version may be above the stable version, measured
    /// over the same window; never for throttles ([`Measure::has_margin`]).
    pub margin: Option<f64>,
}

/// The `[release]` metric settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricGates {
    /// The thresholds; none means no metric gate.
    pub gates: Vec<MetricGate>,
    /// Invocations of the new version (and, for margins, of the stable one)
    /// needed before a verdict.
    pub min_invocations: u64,
    /// How long a step whose bake is over may wait for enough traffic
    /// before a waiting release gives up (exit 5, the release left as it is).
    pub max_hold: Option<Duration>,
    /// `release.metrics_settle`: how long a step's metrics are given to
    /// arrive before the step is judged; `None` for the default.
    pub settle: Option<Duration>,
}

impl Default for MetricGates {
    fn default() -> Self {
        MetricGates {
            gates: Vec::new(),
            min_invocations: DEFAULT_MIN_INVOCATIONS,
            max_hold: None,
            settle: None,
        }
    }
}

impl MetricGates {
    /// How long each step's metrics settle before the step is judged and
    /// left, for a function whose timeout is `timeout` seconds. Lambda
    /// stamps a metric with its invocation's start, and CloudWatch may
    /// receive it minutes later ("if your function has a 10-minute timeout,
    /// look more than 10 minutes in the past", Lambda Developer Guide): by
    /// default 3 minutes, or the timeout and one minute when longer. Zero
    /// without metric gates: nothing is waited for then.
    pub fn settle(&self, timeout: Option<i32>) -> Duration {
        if self.gates.is_empty() {
            return Duration::ZERO;
        }
        self.settle.unwrap_or_else(|| {
            let timeout = u64::try_from(timeout.unwrap_or(0)).unwrap_or(0);
            DEFAULT_SETTLE.max(Duration::from_secs(timeout + 60))
        })
    }

    /// The p99 gate (`p99-duration`, `target-p99`), when it has a margin
    /// over the stable version.
    pub fn p99_margin(&self) -> Option<&MetricGate> {
        self.gates
            .iter()
            .find(|g| g.measure.is_p99() && g.margin.is_some())
    }

    /// These gates with a p99 judged by its `max` alone (and left out when
    /// it has none), for a canary whose p99 cannot fairly be compared with
    /// the stable version's (provisioned concurrency, see `checks::metrics`).
    pub fn p99_by_max_only(&self) -> MetricGates {
        let gates = self
            .gates
            .iter()
            .filter_map(|g| match g.measure.is_p99() {
                true => g.max.map(|_| MetricGate {
                    margin: None,
                    ..g.clone()
                }),
                false => Some(g.clone()),
            })
            .collect();
        MetricGates {
            gates,
            ..self.clone()
        }
    }
}

/// One entry of `release.metrics` or `alb.metrics` as written, with where
/// each value was written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetric {
    name: Spanned<String>,
    max: Option<Spanned<toml::Value>>,
    margin: Option<Spanned<toml::Value>>,
}

/// Why a list of metric gates is refused: entry `index`'s `key` (`name`,
/// `max` or `margin`), written at `span` as `shown`.
pub(super) struct Refusal {
    pub index: usize,
    pub key: &'static str,
    pub span: Range<usize>,
    pub shown: String,
    pub why: String,
}

/// Checks a list of metric gates whose names are those of `measures`
/// (`names` lists them for the error).
pub(super) fn gate_list(
    raw: Vec<RawMetric>,
    measures: &[(&str, Measure)],
    names: &str,
) -> std::result::Result<Vec<MetricGate>, Refusal> {
    let mut gates: Vec<MetricGate> = Vec::new();
    for (index, m) in raw.into_iter().enumerate() {
        let refuse = |key, span: Range<usize>, shown: String, why: &str| Refusal {
            index,
            key,
            span,
            shown,
            why: why.to_owned(),
        };
        let name = format!("{:?}", m.name.get_ref());
        let Some(&(_, measure)) = measures.iter().find(|(n, _)| n == m.name.get_ref()) else {
            return Err(refuse("name", m.name.span(), name, &format!("use {names}")));
        };
        if gates.iter().any(|g| g.measure == measure) {
            return Err(refuse(
                "name",
                m.name.span(),
                name,
                "listed twice; give one entry with max and margin",
            ));
        }
        if let Some(margin) = m.margin.as_ref().filter(|_| !measure.has_margin()) {
            return Err(refuse(
                "margin",
                margin.span(),
                margin.get_ref().to_string(),
                "throttles take `max` only: Lambda may throttle a request before it picks a version, so they are counted for the alias as a whole, which has no stable version's count to compare with; give a ceiling such as max = 0",
            ));
        }
        let limit = |key, v: Option<Spanned<toml::Value>>| {
            v.map(|v| {
                measure
                    .limit(v.get_ref())
                    .map_err(|why| refuse(key, v.span(), v.get_ref().to_string(), why))
            })
            .transpose()
        };
        let (max, margin) = (limit("max", m.max)?, limit("margin", m.margin)?);
        if max.is_none() && margin.is_none() {
            return Err(refuse(
                "name",
                m.name.span(),
                name,
                if measure.has_margin() {
                    "give `max` (a ceiling), `margin` (how far above the stable version) or both"
                } else {
                    "give `max`, a ceiling on the alias's throttles in a step, such as max = 0"
                },
            ));
        }
        gates.push(MetricGate {
            measure,
            max,
            margin,
        });
    }
    Ok(gates)
}

impl Checker<'_> {
    pub(super) fn metric_gates(
        &self,
        raw: Vec<RawMetric>,
        min_invocations: Option<i64>,
        max_hold: Option<String>,
    ) -> Result<MetricGates> {
        let gates = gate_list(
            raw,
            &Measure::LAMBDA,
            "error-rate, throttles or p99-duration",
        )
        .map_err(|r| {
            self.bad(
                &format!("release.metrics[{}].{}", r.index, r.key),
                r.shown,
                &r.why,
            )
        })?;
        let min_invocations = match min_invocations {
            None => DEFAULT_MIN_INVOCATIONS,
            Some(n) => u64::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                self.bad(
                    "release.min_invocations",
                    n,
                    "a count of at least 1, such as 100",
                )
            })?,
        };
        let max_hold = max_hold
            .map(|text| {
                self.duration(
                    "release.max_hold",
                    &text,
                    Duration::ZERO..=MAX_BAKE,
                    &format!(
                        "a duration of at most 14 days, such as \"10m\" or \"1h\": {MAX_BAKE_REASON}"
                    ),
                )
            })
            .transpose()?;
        Ok(MetricGates {
            gates,
            min_invocations,
            max_hold,
            settle: None,
        })
    }
}
