//! Health gates: what must stay green while users are on a new version.
//!
//! In: the `[release] alarms` and `metrics`, `[alb] metrics`, and the
//! `[[smoke]]` tests. Out: a [`GateCheck`]: every alarm's state (ALARM
//! fails the gate), the verdicts on the new version's own metrics and its
//! target group's during a canary step (unhealthy fails the gate;
//! inconclusive holds the step), and the smoke tests run
//! through the alias. AWS calls: `DescribeAlarms`, `GetMetricData`, and
//! `Invoke` per smoke test. Read-only apart from the invocations.

use time::OffsetDateTime;

use crate::aws::cloudwatch::{AlarmState, TargetGroupSample};
use crate::checks::alb_metrics;
use crate::checks::metrics::{self, Canary, MetricReport};
use crate::checks::smoke::{self, SmokeReport};
use crate::config::NoData;
use crate::context::Ctx;
use crate::error::{Error, Result};

/// The outcome of one check of every gate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GateCheck {
    /// Each watched alarm's state.
    pub alarms: Vec<AlarmState>,
    /// The new version's metrics, during a canary step with metric gates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricReport>,
    /// What the load balancer recorded for the new colour's target group
    /// and the stable colour's, during a step with `alb.metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alb_metrics: Option<MetricReport<TargetGroupSample>>,
    /// The smoke tests, run through the alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokeReport>,
    /// Why the step must hold although nothing is red, if it must: the
    /// metrics have too little traffic, or an alarm has no data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
}

impl GateCheck {
    /// A read of the alarms alone (between full checks, while a step
    /// bakes): no metrics, no smoke test, no hold.
    pub fn alarms_only(alarms: Vec<AlarmState>) -> Self {
        GateCheck {
            alarms,
            metrics: None,
            alb_metrics: None,
            smoke: None,
            held: None,
        }
    }

    /// Why the gates are red, with the evidence; `None` when all are green.
    pub fn failure(&self) -> Option<String> {
        if let Some(a) = self.alarms.iter().find(|a| a.is_alarm()) {
            return Some(alarm_failure(a));
        }
        if let Some(why) = self.metrics.as_ref().and_then(MetricReport::failure) {
            return Some(format!("metrics: {why}"));
        }
        if let Some(why) = self.alb_metrics.as_ref().and_then(MetricReport::failure) {
            return Some(format!("load balancer metrics: {why}"));
        }
        let smoke = self.smoke.as_ref()?;
        smoke.first_failure().map(|f| {
            format!(
                "smoke test `{}` failed through alias {}: {}",
                f.name,
                smoke.target,
                f.failure.as_deref().unwrap_or("failed")
            )
        })
    }

    /// Why the step must hold (the metrics or an alarm cannot judge the new
    /// version yet), when the gates are otherwise green.
    pub fn held(&self) -> Option<&str> {
        self.held.as_deref()
    }
}

/// Why the gates are red when `alarm` is in ALARM, with its reason.
pub fn alarm_failure(alarm: &AlarmState) -> String {
    format!("alarm {} is in ALARM: {}", alarm.name, alarm.reason)
}

/// The watched alarm names. A name with `{version}` is an alarm scoped to
/// one version (e.g. on its `ExecutedVersion` metrics, see
/// `templates/version-alarm.sh`): it is filled with `version`, and left out
/// when there is no version under release.
fn alarm_names(ctx: Ctx<'_>, version: Option<&str>) -> Vec<String> {
    ctx.config
        .release
        .alarms
        .iter()
        .filter_map(|name| match (name.contains("{version}"), version) {
            (false, _) => Some(name.clone()),
            (true, Some(v)) => Some(name.replace("{version}", v)),
            (true, None) => None,
        })
        .collect()
}

/// Reads the watched alarms only (see [`alarm_names`]).
pub async fn alarms(ctx: Ctx<'_>, version: Option<&str>) -> Result<Vec<AlarmState>> {
    let names = alarm_names(ctx, version);
    if names.is_empty() {
        return Ok(Vec::new());
    }
    ctx.cloudwatch.alarm_states(&names).await
}

/// Why a step of the release of `version` must hold for an alarm with no
/// data, under [`NoData::Hold`]: a `{version}` alarm in `INSUFFICIENT_DATA`
/// (made for this release, it has seen nothing yet), or any alarm that has
/// been in it since the step began at `since` (it cannot judge this step).
fn no_data(
    ctx: Ctx<'_>,
    alarms: &[AlarmState],
    version: &str,
    since: OffsetDateTime,
) -> Option<String> {
    if ctx.config.release.no_data == NoData::Ok {
        return None;
    }
    let scoped: Vec<String> = ctx
        .config
        .release
        .alarms
        .iter()
        .filter(|n| n.contains("{version}"))
        .map(|n| n.replace("{version}", version))
        .collect();
    let silent = alarms.iter().find(|a| {
        a.has_no_data()
            && (scoped.contains(&a.name) || a.since.is_some_and(|t| t <= since.unix_timestamp()))
    })?;
    Some(format!(
        "alarm {} has had no data (INSUFFICIENT_DATA) since the step began, so it cannot judge the new version yet",
        silent.name
    ))
}

/// Before a release moves anything: an alarm already in ALARM would make the
/// new version's health impossible to judge, so the release does not start
/// (exit 1). `version` as in [`alarms`].
pub async fn refuse_if_firing(ctx: Ctx<'_>, version: Option<&str>) -> Result<()> {
    let Some(firing) = alarms(ctx, version)
        .await?
        .into_iter()
        .find(|a| a.is_alarm())
    else {
        return Ok(());
    };
    Err(Error::no_traffic_moved(format!(
        "alarm {} is already in ALARM before the release, so the new version's health could not be judged",
        firing.name
    ))
    .with_cause(firing.reason)
    .with_hint("wait until it is OK, or remove it from release.alarms if it does not watch this function"))
}

/// The gates' reads, no smoke test: every alarm, the metrics of `canary`
/// (during a step, when the config has metric gates), and whether the step
/// must hold because they cannot judge the new version yet. `promote`
/// decides on these (with the smoke tests, [`check`]), and `status` says
/// from them what `promote` would do.
pub async fn read(ctx: Ctx<'_>, version: &str, canary: Option<&Canary<'_>>) -> Result<GateCheck> {
    let alarms = alarms(ctx, Some(version)).await?;
    // Boxed: the release's future stays small enough for a thread's stack.
    let metrics = match canary {
        Some(c) if !ctx.config.release.metrics.gates.is_empty() => {
            Some(Box::pin(metrics::measure(ctx, c)).await?)
        }
        _ => None,
    };
    let alb_metrics = match (canary, alb_metrics::gates(ctx.config)) {
        (Some(c), Some(gates)) => Some(Box::pin(alb_metrics::measure(ctx, c, &gates)).await?),
        _ => None,
    };
    let held = metrics
        .as_ref()
        .and_then(MetricReport::held)
        .or_else(|| alb_metrics.as_ref().and_then(MetricReport::held))
        .map(str::to_owned)
        .or_else(|| no_data(ctx, &alarms, version, canary?.since));
    Ok(GateCheck {
        alarms,
        metrics,
        alb_metrics,
        smoke: None,
        held,
    })
}

/// Checks every gate: [`read`], then the smoke tests through the alias,
/// during the release of `version` (for the `{version}` placeholder). With
/// `release.candidate`, that alias is put on `version` first (meanwhile),
/// so a `{candidate}` test reaches the version under release.
pub async fn check(ctx: Ctx<'_>, version: &str, canary: Option<&Canary<'_>>) -> Result<GateCheck> {
    if ctx.config.smoke.is_empty() {
        return read(ctx, version, canary).await;
    }
    let (mut check, ()) = tokio::try_join!(
        read(ctx, version, canary),
        crate::checks::candidate::point(ctx, version)
    )?;
    check.smoke = Some(smoke::run(ctx, &smoke::Target::alias(ctx, version)).await);
    Ok(check)
}
