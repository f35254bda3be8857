//! Metric gates: the new version's own Lambda metrics, judged against
//! thresholds and against the stable version over the same window.
//!
//! In: the `[release] metrics` gates and the canary under watch (both
//! versions, the aliases that serve them, when the step began). Out: a
//! [`MetricReport`] whose verdict is healthy, unhealthy (the release rolls
//! back) or inconclusive: too little traffic to judge, which holds the step
//! instead of promoting or rolling back. AWS calls: one `GetMetricData`
//! (through [`CloudWatch::samples`](crate::aws::cloudwatch::CloudWatch::samples)),
//! and with a `p99-duration` margin, once per run, `GetProvisionedConcurrencyConfig`
//! of the aliases the canary runs through ([`Provisioned`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use time::OffsetDateTime;

use crate::aws::cloudwatch::{Sample, Served, TargetGroupSample, Window};
use crate::aws::lambda::Lambda;
use crate::config::{MAX_WINDOW, Measure, MetricGate, MetricGates};
use crate::context::Ctx;
use crate::error::Result;
use crate::ui::Ui;
use crate::ui::round;

/// How long each step's metrics settle in the release of `version`: with
/// metric gates (`release.metrics` or `alb.metrics`) and no
/// `release.metrics_settle`, from the version's own timeout (one
/// `GetFunctionConfiguration`); otherwise no read.
pub async fn settle_for(ctx: Ctx<'_>, version: &str) -> Result<Duration> {
    let release = &ctx.config.release.metrics;
    // The load balancer's gates settle alike: by the `[release]` settings.
    let alb = crate::checks::alb_metrics::gates(ctx.config);
    let gates = match &alb {
        Some(alb) if release.gates.is_empty() => alb,
        _ => release,
    };
    if gates.gates.is_empty() || gates.settle.is_some() {
        return Ok(gates.settle(None));
    }
    let timeout = ctx
        .lambda
        .function(ctx.function(), version)
        .await?
        .and_then(|v| v.timeout);
    Ok(gates.settle(timeout))
}

/// Provisioned concurrency on the aliases a canary runs through, read once
/// per run of a release, at the first check with a `p99-duration` margin.
///
/// Lambda splits an alias's provisioned concurrency between its versions by
/// weight, and advises raising it while traffic is shifted (Lambda Developer
/// Guide, "configuring-alias-routing"): the new version's small share is
/// allocated only after the weight moves, and requests beyond it spill over
/// to on-demand instances, so the canary runs colder than the stable
/// version on its warm instances. Its p99 then looks worse for no fault of
/// its code, and a margin over the stable version's p99 would roll back a
/// healthy release. So while an alias of the canary (in DNS mode, either
/// colour's) has provisioned concurrency, p99 is judged by its `max` alone.
#[derive(Debug, Default)]
pub struct Provisioned(OnceLock<Option<(String, i32)>>);

impl Provisioned {
    /// The first alias of `canary` with provisioned concurrency, and how
    /// much is requested. Read on the first call (one
    /// `GetProvisionedConcurrencyConfig` per alias), which also says on a
    /// progress line how the p99 `gate` is judged then; the same answer,
    /// and nothing said, after that.
    async fn read(
        &self,
        lambda: &Lambda,
        ui: &Ui,
        function: &str,
        canary: &Canary<'_>,
        gate: &MetricGate,
    ) -> Result<Option<&(String, i32)>> {
        if let Some(known) = self.0.get() {
            return Ok(known.as_ref());
        }
        let mut aliases = vec![canary.via, canary.stable_via];
        aliases.dedup();
        let mut found = None;
        for alias in aliases {
            if let Some(n) = lambda.provisioned_concurrency(function, alias).await? {
                found = Some((alias.to_owned(), n));
                break;
            }
        }
        if let Some((alias, n)) = &found {
            let (name, m) = (gate.measure.name(), gate.measure);
            let judged = match gate.max {
                Some(max) => format!("{name} is judged by its max ({}) only", m.show(max)),
                None => format!("{name} (a margin only) is not judged"),
            };
            ui.step(format_args!(
                "alias {alias} has provisioned concurrency ({n}): {judged}, not against the stable version's p99, \
                 since Lambda splits it by weight and the new version's share runs colder"
            ));
        }
        Ok(self.0.get_or_init(|| found).as_ref())
    }
}

/// A canary under watch: the new version and the stable one, the aliases
/// their invocations come through, and when the current step began.
#[derive(Debug, Clone, Copy)]
pub struct Canary<'a> {
    /// The version under release.
    pub version: &'a str,
    /// The alias its invocations come through.
    pub via: &'a str,
    /// The version the rest of the traffic is on.
    pub stable: &'a str,
    /// The alias the stable version's invocations come through.
    pub stable_via: &'a str,
    /// Where the window begins: when the current step began.
    pub since: OffsetDateTime,
    /// Where the window ends: `None` for now (an open window, judged as the
    /// step goes), or a time whose metrics have settled (a closed window,
    /// judged to decide the step).
    pub until: Option<OffsetDateTime>,
    /// The provisioned concurrency of `via` and `stable_via`, read once per
    /// run of the release.
    pub provisioned: &'a Provisioned,
}

/// How the metrics judged the new version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    /// Every threshold holds.
    Healthy,
    /// A threshold is broken: the release rolls back.
    Unhealthy(String),
    /// Too little data to judge: the step holds.
    Inconclusive(String),
}

/// What the metric gates read of one version over a window: its Lambda
/// metrics ([`Sample`]), or what the load balancer recorded for its
/// target group ([`TargetGroupSample`]).
pub trait Reading: Copy + fmt::Debug + PartialEq + serde::Serialize {
    /// What its traffic is counted in, for messages: `invocations`, `requests`.
    const UNIT: &'static str;
    /// Its traffic, which `release.min_invocations` applies to.
    fn traffic(&self) -> f64;
    /// The value of `measure`; `None` when there is nothing to compute it
    /// from (or the measure is not read from it).
    fn value(&self, measure: Measure) -> Option<f64>;
}

impl Reading for Sample {
    const UNIT: &'static str = "invocations";

    fn traffic(&self) -> f64 {
        self.invocations
    }

    fn value(&self, measure: Measure) -> Option<f64> {
        match measure {
            Measure::ErrorRate => rate(self.errors, self.invocations),
            Measure::Throttles => Some(self.throttles),
            Measure::P99Duration => self.p99_ms,
            _ => None,
        }
    }
}

impl Reading for TargetGroupSample {
    const UNIT: &'static str = "requests";

    fn traffic(&self) -> f64 {
        self.requests
    }

    fn value(&self, measure: Measure) -> Option<f64> {
        match measure {
            Measure::Target5xxRate => rate(self.target_5xx, self.requests),
            Measure::LambdaUserErrorRate => rate(self.lambda_user_errors, self.requests),
            Measure::LambdaInternalErrorRate => rate(self.lambda_internal_errors, self.requests),
            Measure::TargetP99 => self.p99_ms,
            _ => None,
        }
    }
}

/// `part / whole`, when there is a whole.
fn rate(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part / whole)
}

/// One check of the metric gates, of the new version's Lambda metrics
/// ([`Sample`]) or of its target group's ([`TargetGroupSample`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricReport<S = Sample> {
    /// The window's length in seconds, from the step's start (on a whole minute).
    pub window_secs: u64,
    /// The new version's metrics over the window.
    pub canary: S,
    /// The stable version's metrics over the same window.
    pub stable: S,
    /// Each gate's value for the new version, e.g. `error-rate 0.4 % (stable
    /// 0.1 %)`, or `throttles 2 on alias live` (throttles are the alias's).
    pub values: Vec<String>,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl<S> MetricReport<S> {
    /// Why the metrics are red, if they are.
    pub fn failure(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Unhealthy(why) => Some(why),
            _ => None,
        }
    }

    /// Why there is no verdict yet, if there is none.
    pub fn held(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Inconclusive(why) => Some(why),
            _ => None,
        }
    }
}

/// One line: the verdict word and each gate's values; the reasons are
/// shown where they matter (the rollback, or the held step).
impl<S: Reading> fmt::Display for MetricReport<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match &self.verdict {
            Verdict::Healthy => "healthy",
            Verdict::Unhealthy(_) => "unhealthy",
            Verdict::Inconclusive(_) => "inconclusive",
        };
        write!(
            f,
            "{verdict}: {} over {} {} in {}",
            self.values.join(", "),
            round(self.canary.traffic()),
            S::UNIT,
            humantime::format_duration(Duration::from_secs(self.window_secs))
        )
    }
}

/// The window from the minute `since` falls in to the end of the minute
/// `until` falls in, reaching back at most 14 days from `until`.
pub fn window(since: OffsetDateTime, until: OffsetDateTime) -> Window {
    let floor = |t: OffsetDateTime| t.unix_timestamp() - t.unix_timestamp().rem_euclid(60);
    let end = floor(until) + 60;
    let oldest = floor(until - MAX_WINDOW);
    let start = floor(since).clamp(oldest, end - 60);
    Window {
        start: aws_smithy_types::DateTime::from_secs(start),
        end: aws_smithy_types::DateTime::from_secs(end),
    }
}

/// Reads both versions' metrics since the step began and judges them;
/// with provisioned concurrency on the canary's aliases, p99 by its `max`
/// only (see [`Provisioned`]).
pub async fn measure(ctx: Ctx<'_>, canary: &Canary<'_>) -> Result<MetricReport> {
    let gates = &ctx.config.release.metrics;
    let window = window_of(canary);
    let served = [
        (canary.version, canary.via),
        (canary.stable, canary.stable_via),
    ]
    .map(|(version, alias)| Served {
        function: ctx.function(),
        alias,
        version,
    });
    let p99 = gates.gates.iter().any(|g| g.measure.is_p99());
    let samples = ctx.cloudwatch.samples(&served, &window, p99).await?;
    report(ctx, canary, gates, &window, samples[0], samples[1]).await
}

/// The window `canary` is judged over: from the minute its step began to
/// its end, or now.
pub fn window_of(canary: &Canary<'_>) -> Window {
    window(
        canary.since,
        canary.until.unwrap_or_else(OffsetDateTime::now_utc),
    )
}

/// The report of `gates` on `new` and `stable`, read over `window`: each
/// gate's values, and the verdict; with provisioned concurrency on the
/// canary's aliases, p99 judged by its `max` only (see [`Provisioned`]).
pub async fn report<S: Reading>(
    ctx: Ctx<'_>,
    canary: &Canary<'_>,
    gates: &MetricGates,
    window: &Window,
    new: S,
    stable: S,
) -> Result<MetricReport<S>> {
    let warm = match gates.p99_margin() {
        Some(gate) => canary
            .provisioned
            .read(ctx.lambda, ctx.ui, ctx.function(), canary, gate)
            .await?
            .is_some(),
        None => false,
    };
    let judged = if warm {
        Cow::Owned(gates.p99_by_max_only())
    } else {
        Cow::Borrowed(gates)
    };
    Ok(MetricReport {
        window_secs: u64::try_from(window.end.secs() - window.start.secs()).unwrap_or(0),
        values: gates
            .gates
            .iter()
            .map(|g| {
                let show = |v: Option<f64>| v.map_or("no data".to_owned(), |v| g.measure.show(v));
                let (name, value) = (g.measure.name(), show(new.value(g.measure)));
                match g.measure {
                    Measure::Throttles => format!("{name} {value} on alias {}", canary.via),
                    _ => format!("{name} {value} (stable {})", show(stable.value(g.measure))),
                }
            })
            .collect(),
        verdict: judge(&judged, canary, &new, &stable),
        canary: new,
        stable,
    })
}

/// The verdict on `new` (and `stable`, for margins). Clear evidence of harm
/// wins over missing data: one broken threshold is unhealthy even when
/// another gate cannot be judged yet.
pub fn judge<S: Reading>(gates: &MetricGates, canary: &Canary<'_>, new: &S, stable: &S) -> Verdict {
    let (min, unit) = (gates.min_invocations as f64, S::UNIT);
    if new.traffic() < min {
        return Verdict::Inconclusive(format!(
            "too little traffic to judge: version {} had {} of the {} {unit} needed since the step began",
            canary.version,
            round(new.traffic()),
            gates.min_invocations
        ));
    }
    let mut inconclusive = None;
    for gate in &gates.gates {
        let (m, name) = (gate.measure, gate.measure.name());
        let Some(value) = new.value(m) else {
            inconclusive
                .get_or_insert_with(|| format!("no {name} data for {} yet", owner(m, canary)));
            continue;
        };
        if let Some(max) = gate.max.filter(|max| value > *max) {
            return Verdict::Unhealthy(format!(
                "{name} of {} is {}, over the maximum {}",
                owner(m, canary),
                m.show(value),
                m.show(max)
            ));
        }
        let Some(margin) = gate.margin else { continue };
        match stable.value(m).filter(|_| stable.traffic() >= min) {
            Some(base) if value > base + margin => {
                return Verdict::Unhealthy(format!(
                    "{name} of version {} is {}, more than {} over the stable version {}'s {}",
                    canary.version,
                    m.show(value),
                    m.show(margin),
                    canary.stable,
                    m.show(base)
                ));
            }
            Some(_) => {}
            None => {
                inconclusive.get_or_insert_with(|| {
                    format!(
                        "too little traffic on the stable version {} to compare {name}: {} of the {} {unit} needed",
                        canary.stable,
                        round(stable.traffic()),
                        gates.min_invocations
                    )
                });
            }
        }
    }
    inconclusive.map_or(Verdict::Healthy, Verdict::Inconclusive)
}

/// What a value of `measure` belongs to in `canary`: the alias the
/// new version's traffic comes through for throttles, otherwise the
/// new version itself.
fn owner(measure: Measure, canary: &Canary<'_>) -> String {
    match measure {
        Measure::Throttles => format!("alias {}", canary.via),
        _ => format!("version {}", canary.version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static UNREAD: Provisioned = Provisioned(OnceLock::new());

    const CANARY: Canary<'static> = Canary {
        version: "7",
        via: "live",
        stable: "6",
        stable_via: "live",
        since: OffsetDateTime::UNIX_EPOCH,
        until: None,
        provisioned: &UNREAD,
    };

    fn sample(invocations: f64, errors: f64) -> Sample {
        Sample {
            invocations,
            errors,
            ..Sample::default()
        }
    }

    fn gates(gates: Vec<MetricGate>) -> MetricGates {
        MetricGates {
            gates,
            ..MetricGates::default()
        }
    }

    fn error_rate(max: Option<f64>, margin: Option<f64>) -> MetricGate {
        MetricGate {
            measure: Measure::ErrorRate,
            max,
            margin,
        }
    }

    #[test]
    fn too_little_traffic_is_inconclusive_even_with_errors() {
        let g = gates(vec![error_rate(Some(0.01), None)]);
        let v = judge(&g, &CANARY, &sample(99.0, 50.0), &sample(1000.0, 0.0));
        assert!(
            matches!(&v, Verdict::Inconclusive(why) if why.contains("99 of the 100 invocations")),
            "{v:?}"
        );
    }

    #[test]
    fn absolute_and_relative_thresholds() {
        let g = gates(vec![error_rate(Some(0.05), Some(0.01))]);
        let healthy = judge(&g, &CANARY, &sample(200.0, 2.0), &sample(2000.0, 10.0));
        assert_eq!(healthy, Verdict::Healthy);
        let over_max = judge(&g, &CANARY, &sample(200.0, 20.0), &sample(2000.0, 200.0));
        assert!(
            matches!(&over_max, Verdict::Unhealthy(why) if why.contains("10 %, over the maximum 5 %")),
            "{over_max:?}"
        );
        let worse = judge(&g, &CANARY, &sample(200.0, 6.0), &sample(2000.0, 10.0));
        assert!(
            matches!(&worse, Verdict::Unhealthy(why) if why.contains("3 %, more than 1 % over the stable version 6's 0.5 %")),
            "{worse:?}"
        );
    }

    #[test]
    fn a_margin_needs_traffic_on_the_stable_version_but_harm_wins() {
        let g = gates(vec![
            error_rate(None, Some(0.01)),
            MetricGate {
                measure: Measure::Throttles,
                max: Some(0.0),
                margin: None,
            },
        ]);
        let quiet_stable = judge(&g, &CANARY, &sample(200.0, 0.0), &sample(10.0, 0.0));
        assert!(
            matches!(&quiet_stable, Verdict::Inconclusive(why) if why.contains("stable version 6")),
            "{quiet_stable:?}"
        );
        let throttled = Sample {
            throttles: 3.0,
            ..sample(200.0, 0.0)
        };
        let v = judge(&g, &CANARY, &throttled, &sample(10.0, 0.0));
        assert!(
            matches!(&v, Verdict::Unhealthy(why) if why.contains("throttles")),
            "{v:?}"
        );
    }

    #[test]
    fn p99_without_data_is_inconclusive_and_over_the_limit_is_red() {
        let g = gates(vec![MetricGate {
            measure: Measure::P99Duration,
            max: Some(800.0),
            margin: None,
        }]);
        let none = judge(&g, &CANARY, &sample(500.0, 0.0), &sample(500.0, 0.0));
        assert!(matches!(none, Verdict::Inconclusive(_)), "{none:?}");
        let slow = Sample {
            p99_ms: Some(912.345),
            ..sample(500.0, 0.0)
        };
        let v = judge(&g, &CANARY, &slow, &sample(500.0, 0.0));
        assert!(
            matches!(&v, Verdict::Unhealthy(why) if why.contains("912.35 ms, over the maximum 800 ms")),
            "{v:?}"
        );
    }

    #[test]
    fn with_provisioned_concurrency_p99_is_judged_by_its_max_only() {
        let p99 = |max, margin| MetricGate {
            measure: Measure::P99Duration,
            max,
            margin,
        };
        let timed = |invocations, p99_ms| Sample {
            p99_ms: Some(p99_ms),
            ..sample(invocations, 0.0)
        };
        let (stable, cold) = (timed(5000.0, 200.0), timed(500.0, 900.0));
        let g = gates(vec![
            error_rate(Some(0.05), None),
            p99(Some(1000.0), Some(100.0)),
        ]);
        // A cold canary, worse than the warm stable version but under the max.
        let v = judge(&g, &CANARY, &cold, &stable);
        assert!(
            matches!(&v, Verdict::Unhealthy(why) if why.contains("900 ms, more than 100 ms over the stable version 6's 200 ms")),
            "{v:?}"
        );
        let by_max = g.p99_by_max_only();
        assert_eq!(judge(&by_max, &CANARY, &cold, &stable), Verdict::Healthy);
        let slow = judge(&by_max, &CANARY, &timed(500.0, 1200.0), &stable);
        assert!(
            matches!(&slow, Verdict::Unhealthy(why) if why.contains("1200 ms, over the maximum 1000 ms")),
            "{slow:?}"
        );
        // A p99 margin alone leaves nothing to judge p99 by: the gate goes,
        // the others stay.
        let margin_only = gates(vec![error_rate(Some(0.05), None), p99(None, Some(100.0))]);
        assert_eq!(
            margin_only.p99_by_max_only().gates,
            vec![error_rate(Some(0.05), None)]
        );
        // A target group's p99 alike.
        let target = gates(vec![MetricGate {
            measure: Measure::TargetP99,
            max: None,
            margin: Some(100.0),
        }]);
        assert_eq!(target.p99_margin(), target.gates.first());
        assert_eq!(target.p99_by_max_only().gates, vec![]);
    }

    /// In DNS mode the canary and the stable version come through two
    /// aliases: both are read (here the second has provisioned
    /// concurrency), once per run. Scripted answers; one alias against the
    /// emulator is in tests/it/metric_gates.rs.
    #[tokio::test]
    async fn provisioned_concurrency_is_read_once_on_either_colours_alias() {
        use aws_sdk_lambda::Client;
        use aws_sdk_lambda::operation::get_provisioned_concurrency_config::{
            GetProvisionedConcurrencyConfigError, GetProvisionedConcurrencyConfigOutput,
        };
        use aws_sdk_lambda::types::error::ProvisionedConcurrencyConfigNotFoundException;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};

        let green = mock!(Client::get_provisioned_concurrency_config)
            .match_requests(|r| r.qualifier() == Some("green"))
            .then_error(|| {
                GetProvisionedConcurrencyConfigError::ProvisionedConcurrencyConfigNotFoundException(
                    ProvisionedConcurrencyConfigNotFoundException::builder().build(),
                )
            });
        let blue = mock!(Client::get_provisioned_concurrency_config)
            .match_requests(|r| r.qualifier() == Some("blue"))
            .then_output(|| {
                GetProvisionedConcurrencyConfigOutput::builder()
                    .requested_provisioned_concurrent_executions(5)
                    .build()
            });
        let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&green, &blue]);
        let lambda = Lambda::new(client, crate::aws::lambda::WaitPolicy::default());
        let ui = Ui::new(
            crate::ui::OutputFormat::Json,
            0,
            crate::secrets::Redactor::default(),
        );
        let provisioned = Provisioned::default();
        let canary = Canary {
            via: "green",
            stable_via: "blue",
            provisioned: &provisioned,
            ..CANARY
        };
        let gate = MetricGate {
            measure: Measure::P99Duration,
            max: None,
            margin: Some(100.0),
        };
        for _ in 0..2 {
            let found = provisioned
                .read(&lambda, &ui, "orders", &canary, &gate)
                .await
                .expect("read");
            assert_eq!(found, Some(&("blue".to_owned(), 5)));
        }
        assert_eq!((green.num_calls(), blue.num_calls()), (1, 1));

        // None on either alias: none, and still read once.
        let unprovisioned = Provisioned::default();
        let alias_mode = Canary {
            via: "green",
            stable_via: "green",
            provisioned: &unprovisioned,
            ..CANARY
        };
        for _ in 0..2 {
            let found = unprovisioned
                .read(&lambda, &ui, "orders", &alias_mode, &gate)
                .await
                .expect("read");
            assert_eq!(found, None);
        }
        assert_eq!((green.num_calls(), blue.num_calls()), (2, 1));
    }

    #[test]
    fn limits_are_read_per_measure() {
        let f = toml::Value::Float(0.01);
        assert_eq!(Measure::ErrorRate.limit(&f), Ok(0.01));
        assert!(Measure::ErrorRate.limit(&toml::Value::Float(1.5)).is_err());
        assert!(Measure::Throttles.limit(&f).is_err());
        assert_eq!(
            Measure::P99Duration.limit(&toml::Value::String("800ms".into())),
            Ok(800.0)
        );
        assert!(
            Measure::P99Duration
                .limit(&toml::Value::Integer(800))
                .is_err()
        );
    }

    #[test]
    fn a_target_groups_rates_are_of_its_requests_and_judged_like_lambdas() {
        assert_eq!(
            Measure::Target5xxRate.limit(&toml::Value::Float(0.01)),
            Ok(0.01)
        );
        assert!(Measure::TargetP99.limit(&toml::Value::Float(0.01)).is_err());
        let group = |requests, target_5xx, lambda_user_errors| TargetGroupSample {
            requests,
            target_5xx,
            lambda_user_errors,
            ..TargetGroupSample::default()
        };
        let g = gates(vec![
            MetricGate {
                measure: Measure::Target5xxRate,
                max: Some(0.05),
                margin: Some(0.01),
            },
            MetricGate {
                measure: Measure::LambdaUserErrorRate,
                max: Some(0.0),
                margin: None,
            },
        ]);
        let stable = group(2000.0, 10.0, 0.0);
        assert_eq!(
            judge(&g, &CANARY, &group(200.0, 2.0, 0.0), &stable),
            Verdict::Healthy
        );
        let worse = judge(&g, &CANARY, &group(200.0, 6.0, 0.0), &stable);
        assert!(
            matches!(&worse, Verdict::Unhealthy(why) if why == "target-5xx-rate of version 7 is 3 %, more than 1 % over the stable version 6's 0.5 %"),
            "{worse:?}"
        );
        let refused = judge(&g, &CANARY, &group(200.0, 0.0, 1.0), &stable);
        assert!(
            matches!(&refused, Verdict::Unhealthy(why) if why.starts_with("lambda-user-error-rate of version 7 is 0.5 %")),
            "{refused:?}"
        );
        let quiet = judge(&g, &CANARY, &group(99.0, 50.0, 0.0), &stable);
        assert!(
            matches!(&quiet, Verdict::Inconclusive(why) if why.contains("99 of the 100 requests needed")),
            "{quiet:?}"
        );
        // A Lambda sample has no target group's values, nor the reverse.
        assert_eq!(sample(100.0, 1.0).value(Measure::Target5xxRate), None);
        assert_eq!(group(100.0, 1.0, 0.0).value(Measure::ErrorRate), None);
    }

    #[test]
    fn the_window_is_whole_minutes_from_the_step_and_at_most_14_days() {
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(s).expect("time");
        let w = window(at(1_000_030), at(1_000_500));
        assert_eq!((w.start.secs(), w.end.secs()), (1_000_020, 1_000_560));
        let fresh = window(at(1_000_500), at(1_000_500));
        assert_eq!(fresh.end.secs() - fresh.start.secs(), 60);
        let old = window(at(0), at(2_000_000));
        assert_eq!(old.end.secs() - old.start.secs(), 14 * 24 * 3600 + 60);
    }
}
