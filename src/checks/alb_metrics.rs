//! The load balancer's metric gates (`alb.metrics`): what an Application
//! Load Balancer recorded for the new colour's target group, judged
//! against the stable colour's over the same window, like the Lambda
//! metric gates ([`crate::checks::metrics`]).
//!
//! In: the `[alb]` table's gates (with `release.min_invocations` applied
//! to each target group's `RequestCount`) and the canary under watch,
//! whose aliases name the colours. Out: a [`MetricReport`] of
//! [`TargetGroupSample`]s: healthy, unhealthy (the release rolls back) or
//! inconclusive (too few requests: the step holds). AWS calls: one
//! `GetMetricData` of `AWS/ApplicationELB` (dimensions `LoadBalancer` and
//! `TargetGroup`). Read-only.

use crate::aws::cloudwatch::{TargetGroupMetrics, TargetGroupSample};
use crate::checks::metrics::{Canary, MetricReport, report, window_of};
use crate::config::{Config, MetricGates};
use crate::context::Ctx;
use crate::error::{Error, Result};

/// The `alb.metrics` gates of `config`, judged by the `[release]` metric
/// settings (`min_invocations` of requests, `max_hold`,
/// `metrics_settle`); `None` without `[alb]` or without gates in it.
pub fn gates(config: &Config) -> Option<MetricGates> {
    let alb = config.alb.as_ref().filter(|alb| !alb.metrics.is_empty())?;
    Some(MetricGates {
        gates: alb.metrics.clone(),
        ..config.release.metrics.clone()
    })
}

/// Reads what the load balancer recorded for the target groups of the
/// canary's colour and the stable one since the step began, and judges it
/// by `gates`.
pub async fn measure(
    ctx: Ctx<'_>,
    canary: &Canary<'_>,
    gates: &MetricGates,
) -> Result<MetricReport<TargetGroupSample>> {
    // Both checked by the config: the colours' aliases and the ARNs.
    let group = |alias: &str| {
        let alb = ctx.config.alb.as_ref()?;
        let colour = alb.colours.iter().find(|c| c.alias == alias)?;
        TargetGroupMetrics::new(alb.action.arn(), &colour.target_group_arn)
    };
    let group = |alias: &str| {
        group(alias).ok_or_else(|| {
            Error::usage(format!(
                "alias {alias} is not a colour of [alb] with a target group whose metrics can be read"
            ))
        })
    };
    let groups = [group(canary.via)?, group(canary.stable_via)?];
    let window = window_of(canary);
    let p99 = gates.gates.iter().any(|g| g.measure.is_p99());
    let samples = ctx
        .cloudwatch
        .target_group_samples(&groups, &window, p99)
        .await?;
    report(ctx, canary, gates, &window, samples[0], samples[1]).await
}
