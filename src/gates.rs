//! Health gates: what must stay green while users are on a new version.
//!
//! In: the `[release] alarms` and `metrics`, and the `[[smoke]]` tests.
//! Out: a [`GateCheck`]: every alarm's state (ALARM fails the gate), the
//! verdict on the new version's own metrics during a canary step (unhealthy
//! fails the gate; inconclusive holds the step), and the smoke tests run
//! through the alias. AWS calls: `DescribeAlarms`, `GetMetricData`, and
//! `Invoke` per smoke test. Read-only apart from the invocations.

use crate::cloudwatch::AlarmState;
use crate::error::{Error, Result};
use crate::metrics::{self, Canary, MetricReport};
use crate::smoke::{self, SmokeReport};
use crate::ui::Ctx;

/// The outcome of one check of every gate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GateCheck {
    /// Each watched alarm's state.
    pub alarms: Vec<AlarmState>,
    /// The new version's metrics, during a canary step with metric gates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricReport>,
    /// The smoke tests, run through the alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokeReport>,
}

impl GateCheck {
    /// Why the gates are red, with the evidence; `None` when all are green.
    pub fn failure(&self) -> Option<String> {
        if let Some(a) = self.alarms.iter().find(|a| a.is_alarm()) {
            return Some(format!("alarm {} is in ALARM: {}", a.name, a.reason));
        }
        if let Some(why) = self.metrics.as_ref().and_then(MetricReport::failure) {
            return Some(format!("metrics: {why}"));
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

    /// Why the step must hold (the metrics cannot judge the new version
    /// yet), when the gates are otherwise green.
    pub fn held(&self) -> Option<&str> {
        self.metrics.as_ref().and_then(MetricReport::held)
    }
}

/// Reads the watched alarms only. A name with `{version}` is an alarm
/// scoped to one version (e.g. on its `ExecutedVersion` metrics, see
/// `templates/version-alarm.sh`): it is filled with `version`, and left out
/// when there is no version under release.
pub async fn alarms(ctx: Ctx<'_>, version: Option<&str>) -> Result<Vec<AlarmState>> {
    let names: Vec<String> = ctx
        .config
        .release
        .alarms
        .iter()
        .filter_map(|name| match (name.contains("{version}"), version) {
            (false, _) => Some(name.clone()),
            (true, Some(v)) => Some(name.replace("{version}", v)),
            (true, None) => None,
        })
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    ctx.cloudwatch.alarm_states(&names).await
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

/// Checks every gate: the alarms, the metrics of `canary` (during a step,
/// when the config has metric gates), then the smoke tests through the
/// alias, during the release of `version` (for the `{version}` placeholder).
pub async fn check(ctx: Ctx<'_>, version: &str, canary: Option<&Canary<'_>>) -> Result<GateCheck> {
    let alarms = alarms(ctx, Some(version)).await?;
    let metrics = match canary {
        Some(c) if !ctx.config.release.metrics.gates.is_empty() => {
            Some(metrics::measure(ctx, c).await?)
        }
        _ => None,
    };
    let smoke = if ctx.config.smoke.is_empty() {
        None
    } else {
        Some(smoke::run(ctx, &smoke::Target::alias(ctx, version)).await)
    };
    Ok(GateCheck {
        alarms,
        metrics,
        smoke,
    })
}
