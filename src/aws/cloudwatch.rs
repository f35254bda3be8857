//! The seam to CloudWatch: the state of named alarms, and one version's
//! Lambda metrics over a window.
//!
//! AWS calls: `DescribeAlarms` (metric and composite alarms), in batches of
//! 100 names, every page of each, and `GetMetricData`. Read-only.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, StateValue,
};
use aws_smithy_types::DateTime;

use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Result};

/// The most names one `DescribeAlarms` call accepts.
const BATCH: usize = 100;

/// One alarm's state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AlarmState {
    /// The alarm name.
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// CloudWatch's reason for the state.
    pub reason: String,
    /// When the alarm entered its state (Unix seconds), if CloudWatch said.
    #[serde(skip)]
    pub since: Option<i64>,
}

impl AlarmState {
    /// True when the alarm is firing.
    pub fn is_alarm(&self) -> bool {
        self.state == StateValue::Alarm.as_str()
    }

    /// True when the alarm has no data to judge by (`INSUFFICIENT_DATA`).
    pub fn has_no_data(&self) -> bool {
        self.state == StateValue::InsufficientData.as_str()
    }
}

/// What Lambda recorded for one version, served through one alias, over a
/// window (throttles: for the alias).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Sample {
    /// Invocations (the sum).
    pub invocations: f64,
    /// Invocations that ended in a function error (the sum).
    pub errors: f64,
    /// Throttled requests to the alias as a whole (the sum): Lambda may
    /// throttle a request before it picks a version, so these are read
    /// without the `ExecutedVersion` dimension.
    pub throttles: f64,
    /// The 99th percentile of `Duration`, in milliseconds, when asked for and
    /// there was data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
}

/// Which version's metrics to read: Lambda's `AWS/Lambda` metrics with the
/// dimensions `FunctionName`, `Resource` (`function:alias`) and
/// `ExecutedVersion`, which Lambda publishes for invocations through an
/// alias; `Throttles` with `FunctionName` and `Resource` only (the alias's).
#[derive(Debug, Clone, Copy)]
pub struct Served<'a> {
    /// The function name.
    pub function: &'a str,
    /// The alias the invocations came through.
    pub alias: &'a str,
    /// The version that ran them.
    pub version: &'a str,
}

/// The span metrics are read over, as one period: whole minutes, because
/// Lambda's metrics have one-minute resolution.
pub struct Window {
    /// Start, on a whole minute.
    pub start: DateTime,
    /// End, on a whole minute after `start`.
    pub end: DateTime,
}

/// CloudWatch, as greenlight uses it.
#[derive(Debug, Clone)]
pub struct CloudWatch {
    client: Client,
}

impl CloudWatch {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        CloudWatch { client }
    }

    /// The states of `names`, in the same order. An alarm that does not
    /// exist is a configuration error (exit 2).
    pub async fn alarm_states(&self, names: &[String]) -> Result<Vec<AlarmState>> {
        let mut found = Vec::with_capacity(names.len());
        for batch in names.chunks(BATCH) {
            // One page holds at most MaxRecords alarms (50 by default), so
            // every page is read.
            let mut pages = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let out = page.map_err(|e| aws_error("read CloudWatch alarms", e))?;
                let metric = out.metric_alarms().iter().map(|a| {
                    (
                        a.alarm_name(),
                        a.state_value(),
                        a.state_reason(),
                        a.state_updated_timestamp(),
                    )
                });
                let composite = out.composite_alarms().iter().map(|a| {
                    (
                        a.alarm_name(),
                        a.state_value(),
                        a.state_reason(),
                        a.state_updated_timestamp(),
                    )
                });
                found.extend(metric.chain(composite).map(|(name, state, reason, since)| {
                    AlarmState {
                        name: name.unwrap_or_default().to_owned(),
                        state: state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                        reason: reason.unwrap_or_default().to_owned(),
                        since: since.map(DateTime::secs),
                    }
                }));
            }
        }
        names
            .iter()
            .map(|name| {
                found
                    .iter()
                    .find(|a| &a.name == name)
                    .cloned()
                    .ok_or_else(|| {
                        Error::usage(format!(
                            "CloudWatch alarm {name:?} named in release.alarms does not exist"
                        ))
                        .with_hint("check the name and --region, or remove it from release.alarms")
                    })
            })
            .collect()
    }

    /// What Lambda recorded for each of `served` over `window`, in the same
    /// order, in one `GetMetricData` call; the p99 duration only with `p99`.
    pub async fn samples(
        &self,
        served: &[Served<'_>],
        window: &Window,
        p99: bool,
    ) -> Result<Vec<Sample>> {
        let period = i32::try_from(window.end.secs() - window.start.secs()).unwrap_or(i32::MAX);
        let mut request = self
            .client
            .get_metric_data()
            .start_time(window.start)
            .end_time(window.end);
        for (i, s) in served.iter().enumerate() {
            // (id, metric, statistic, per version)
            let stats = [
                ("inv", "Invocations", "Sum", true),
                ("err", "Errors", "Sum", true),
                ("thr", "Throttles", "Sum", false),
                ("p99", "Duration", "p99", true),
            ];
            for (id, name, stat, per_version) in
                stats.into_iter().filter(|(id, ..)| p99 || *id != "p99")
            {
                let version = per_version.then_some(s.version);
                request = request.metric_data_queries(query(
                    &format!("{id}{i}"),
                    s,
                    version,
                    name,
                    stat,
                    period,
                ));
            }
        }
        let out = request
            .send()
            .await
            .map_err(|e| aws_error("read the Lambda metrics from CloudWatch", e))?;
        let values = |id: String| {
            out.metric_data_results()
                .iter()
                .filter(move |r| r.id() == Some(id.as_str()))
                .flat_map(|r| r.values().iter().copied())
        };
        // Sums start at +0 (f64's `Sum` starts at -0, which prints as "-0").
        let sum = |id: String| values(id).fold(0.0, |total, v| total + v);
        Ok((0..served.len())
            .map(|i| Sample {
                invocations: sum(format!("inv{i}")),
                errors: sum(format!("err{i}")),
                throttles: sum(format!("thr{i}")),
                p99_ms: values(format!("p99{i}")).reduce(f64::max),
            })
            .collect())
    }
}

/// One statistic of one Lambda metric of `served`'s alias, over one
/// period: of `version` alone (`ExecutedVersion`) when given.
fn query(
    id: &str,
    served: &Served<'_>,
    version: Option<&str>,
    name: &str,
    stat: &str,
    period: i32,
) -> MetricDataQuery {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let alias = format!("{}:{}", served.function, served.alias);
    let mut dimensions = vec![
        dimension("FunctionName", served.function),
        dimension("Resource", &alias),
    ];
    dimensions.extend(version.map(|v| dimension("ExecutedVersion", v)));
    let metric = Metric::builder()
        .namespace("AWS/Lambda")
        .metric_name(name)
        .set_dimensions(Some(dimensions))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build()
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn result(id: &str, values: &[f64]) -> MetricDataResult {
        values
            .iter()
            .fold(MetricDataResult::builder().id(id), |b, v| b.values(*v))
            .build()
    }

    /// The p99 query and its reading, exactly, against a scripted answer
    /// (a breach end to end, against the emulator's percentiles, is in
    /// `tests/it/aws_refusals.rs`).
    #[tokio::test]
    async fn reads_sums_and_the_worst_p99_per_version_in_one_call() {
        let rule = mock!(Client::get_metric_data)
            .match_requests(|r| {
                let queries = r.metric_data_queries();
                let p99 = queries.iter().find(|q| q.id() == Some("p990"));
                let stat = p99.and_then(|q| q.metric_stat());
                let dims: Vec<_> = stat
                    .and_then(|s| s.metric())
                    .map(|m| m.dimensions().iter().filter_map(|d| d.value()).collect())
                    .unwrap_or_default();
                queries.len() == 8
                    && stat.and_then(|s| s.stat()) == Some("p99")
                    && stat.and_then(|s| s.period()) == Some(300)
                    && dims == ["orders", "orders:live", "7"]
            })
            .then_output(|| {
                GetMetricDataOutput::builder()
                    .metric_data_results(result("inv0", &[150.0, 50.0]))
                    .metric_data_results(result("err0", &[3.0]))
                    .metric_data_results(result("p990", &[700.0, 912.5]))
                    .metric_data_results(result("inv1", &[1000.0]))
                    .build()
            });
        let cloudwatch = CloudWatch::new(mock_client!(
            aws_sdk_cloudwatch,
            RuleMode::MatchAny,
            [&rule]
        ));
        let served = ["7", "6"].map(|version| Served {
            function: "orders",
            alias: "live",
            version,
        });
        let window = Window {
            start: DateTime::from_secs(600),
            end: DateTime::from_secs(900),
        };
        let samples = cloudwatch
            .samples(&served, &window, true)
            .await
            .expect("samples");
        assert_eq!(
            samples,
            vec![
                Sample {
                    invocations: 200.0,
                    errors: 3.0,
                    throttles: 0.0,
                    p99_ms: Some(912.5),
                },
                Sample {
                    invocations: 1000.0,
                    ..Sample::default()
                },
            ]
        );
        assert_eq!(rule.num_calls(), 1);
    }
}
