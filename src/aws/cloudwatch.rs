//! The seam to CloudWatch: the state of named alarms, one version's Lambda
//! metrics over a window, and what a load balancer recorded for one target
//! group over a window.
//!
//! AWS calls: `DescribeAlarms` (metric and composite alarms), in batches of
//! 100 names, every page of each, and `GetMetricData`. Read-only.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
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
    /// CloudWatch's reason for the state: outside text (anyone who may
    /// call `SetAlarmState` writes it), marked so ([`crate::outside`]).
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

/// Which target group's metrics: the `AWS/ApplicationELB` metrics with the
/// dimensions `LoadBalancer` and `TargetGroup`, which a load balancer
/// publishes for the requests it sends to each target group. Their values
/// are the ends of the ARNs: `app/NAME/ID` and `targetgroup/NAME/ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupMetrics {
    /// `app/NAME/ID`.
    pub load_balancer: String,
    /// `targetgroup/NAME/ID`.
    pub target_group: String,
}

impl TargetGroupMetrics {
    /// The dimensions for `target_group` (its ARN) behind the load balancer
    /// of `listener` (the ARN of a listener, a listener rule or the load
    /// balancer itself); `None` when they are not ELBv2 ARNs of those kinds.
    pub fn new(listener: &str, target_group: &str) -> Option<TargetGroupMetrics> {
        /// The resource part of an ELBv2 ARN.
        fn resource(arn: &str) -> Option<&str> {
            let fields: Vec<&str> = arn.splitn(6, ':').collect();
            match fields[..] {
                ["arn", _, "elasticloadbalancing", _, _, resource] => Some(resource),
                _ => None,
            }
        }
        let (kind, path) = resource(listener)?.split_once('/')?;
        let parts: Vec<&str> = path.split('/').collect();
        let load_balancer = match (kind, parts.as_slice()) {
            ("loadbalancer", [_, _, _])
            | ("listener", [_, _, _, _])
            | ("listener-rule", [_, _, _, _, _]) => parts[..3].join("/"),
            _ => return None,
        };
        let target_group = resource(target_group)
            .filter(|r| r.starts_with("targetgroup/") && r.split('/').count() == 3)?;
        Some(TargetGroupMetrics {
            load_balancer,
            target_group: target_group.to_owned(),
        })
    }
}

/// What a load balancer recorded for the requests it sent one target
/// group (one colour's Lambda alias) over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct TargetGroupSample {
    /// Requests sent to the target group (`RequestCount`, the sum).
    pub requests: f64,
    /// Responses with a 5xx status from the function
    /// (`HTTPCode_Target_5XX_Count`, the sum).
    pub target_5xx: f64,
    /// Invocations the load balancer could not make or use because of the
    /// function or its answer (`LambdaUserError`, the sum): a response that
    /// is not a valid ALB response, a missing permission, throttling.
    pub lambda_user_errors: f64,
    /// Invocations that failed inside Lambda (`LambdaInternalError`, the sum).
    pub lambda_internal_errors: f64,
    /// The 99th percentile of `TargetResponseTime`, in milliseconds, when
    /// asked for and there was data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
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

    /// Makes alarm `name`, described as `description`, go off when function
    /// `function` reports any `Errors` in a minute (`PutMetricAlarm`, which
    /// creates or replaces).
    pub async fn put_errors_alarm(
        &self,
        name: &str,
        description: &str,
        function: &str,
    ) -> Result<()> {
        let dimension = aws_sdk_cloudwatch::types::Dimension::builder()
            .name("FunctionName")
            .value(function)
            .build();
        self.client
            .put_metric_alarm()
            .alarm_name(name)
            .alarm_description(description)
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .dimensions(dimension)
            .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(
                aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
            )
            .treat_missing_data("notBreaching")
            .send()
            .await
            .map_err(|e| aws_error(format!("put alarm {name}"), e))?;
        Ok(())
    }

    /// The description of metric alarm `name` (empty when it has none);
    /// `None` when there is no such alarm.
    pub async fn alarm_description(&self, name: &str) -> Result<Option<String>> {
        let out = self
            .client
            .describe_alarms()
            .alarm_names(name)
            .alarm_types(AlarmType::MetricAlarm)
            .send()
            .await
            .map_err(|e| aws_error(format!("read alarm {name}"), e))?;
        Ok(out
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name() == Some(name))
            .map(|a| a.alarm_description().unwrap_or_default().to_owned()))
    }

    /// Deletes alarm `name` (done too when it was not there).
    pub async fn delete_alarm(&self, name: &str) -> Result<()> {
        self.client
            .delete_alarms()
            .alarm_names(name)
            .send()
            .await
            .map_err(|e| aws_error(format!("delete alarm {name}"), e))?;
        Ok(())
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
                        reason: crate::outside::quote(reason.unwrap_or_default()),
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
        let queries = queries(served, window, p99, |s| {
            let alias = format!("{}:{}", s.function, s.alias);
            let of_alias = vec![
                dimension("FunctionName", s.function),
                dimension("Resource", &alias),
            ];
            let mut of_version = of_alias.clone();
            of_version.push(dimension("ExecutedVersion", s.version));
            vec![
                ("inv", "Invocations", "Sum", of_version.clone()),
                ("err", "Errors", "Sum", of_version.clone()),
                ("thr", "Throttles", "Sum", of_alias),
                ("p99", "Duration", "p99", of_version),
            ]
            .into_iter()
            .map(|(id, name, stat, dimensions)| (id, ("AWS/Lambda", name, dimensions), stat))
            .collect()
        });
        let answer = self
            .answer(queries, window, "read the Lambda metrics from CloudWatch")
            .await?;
        Ok((0..served.len())
            .map(|i| Sample {
                invocations: answer.sum(&format!("inv{i}")),
                errors: answer.sum(&format!("err{i}")),
                throttles: answer.sum(&format!("thr{i}")),
                p99_ms: answer.max(&format!("p99{i}")),
            })
            .collect())
    }

    /// What the load balancer recorded for each of `groups` over `window`,
    /// in the same order, in one `GetMetricData` call; the p99 response
    /// time only with `p99`.
    pub async fn target_group_samples(
        &self,
        groups: &[TargetGroupMetrics],
        window: &Window,
        p99: bool,
    ) -> Result<Vec<TargetGroupSample>> {
        let queries = queries(groups, window, p99, |group| {
            let dimensions = vec![
                dimension("LoadBalancer", &group.load_balancer),
                dimension("TargetGroup", &group.target_group),
            ];
            [
                ("req", "RequestCount", "Sum"),
                ("5xx", "HTTPCode_Target_5XX_Count", "Sum"),
                ("usr", "LambdaUserError", "Sum"),
                ("int", "LambdaInternalError", "Sum"),
                ("p99", "TargetResponseTime", "p99"),
            ]
            .into_iter()
            .map(|(id, name, stat)| (id, ("AWS/ApplicationELB", name, dimensions.clone()), stat))
            .collect()
        });
        let answer = self
            .answer(
                queries,
                window,
                "read the load balancer's metrics from CloudWatch",
            )
            .await?;
        Ok((0..groups.len())
            .map(|i| TargetGroupSample {
                requests: answer.sum(&format!("req{i}")),
                target_5xx: answer.sum(&format!("5xx{i}")),
                lambda_user_errors: answer.sum(&format!("usr{i}")),
                lambda_internal_errors: answer.sum(&format!("int{i}")),
                // TargetResponseTime is in seconds.
                p99_ms: answer.max(&format!("p99{i}")).map(|s| s * 1000.0),
            })
            .collect())
    }

    /// `queries` over `window` in one `GetMetricData` call; `action` says
    /// what could not be done if it fails.
    async fn answer(
        &self,
        queries: Vec<MetricDataQuery>,
        window: &Window,
        action: &str,
    ) -> Result<Answer> {
        self.client
            .get_metric_data()
            .start_time(window.start)
            .end_time(window.end)
            .set_metric_data_queries(Some(queries))
            .send()
            .await
            .map(Answer)
            .map_err(|e| aws_error(action, e))
    }
}

impl Window {
    /// The window as one period, in seconds.
    fn period(&self) -> i32 {
        i32::try_from(self.end.secs() - self.start.secs()).unwrap_or(i32::MAX)
    }
}

/// What `GetMetricData` answered, read by query id.
struct Answer(GetMetricDataOutput);

impl Answer {
    /// Every value answered for the query `id`.
    fn values<'a>(&'a self, id: &'a str) -> impl Iterator<Item = f64> + 'a {
        self.0
            .metric_data_results()
            .iter()
            .filter(move |r| r.id() == Some(id))
            .flat_map(|r| r.values().iter().copied())
    }

    /// The sum of the values of `id`, starting at +0 (f64's `Sum` starts at
    /// -0, which prints as "-0").
    fn sum(&self, id: &str) -> f64 {
        self.values(id).fold(0.0, |total, v| total + v)
    }

    /// The largest value of `id`, if any.
    fn max(&self, id: &str) -> Option<f64> {
        self.values(id).reduce(f64::max)
    }
}

/// One statistic of one metric of a subject: (id, metric, statistic).
type Stat = (&'static str, MetricId, &'static str);
/// A metric: (namespace, name, dimensions).
type MetricId = (&'static str, &'static str, Vec<Dimension>);

/// The queries of `stats` for every one of `subjects` over `window` as one
/// period, each id followed by its subject's index (`inv0`); those with the
/// id `p99` only when `p99`.
fn queries<T>(
    subjects: &[T],
    window: &Window,
    p99: bool,
    stats: impl Fn(&T) -> Vec<Stat>,
) -> Vec<MetricDataQuery> {
    let period = window.period();
    subjects
        .iter()
        .enumerate()
        .flat_map(|(i, subject)| {
            stats(subject)
                .into_iter()
                .filter(|(id, ..)| p99 || *id != "p99")
                .map(move |(id, metric, stat)| query(&format!("{id}{i}"), metric, stat, period))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A metric dimension.
fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

/// One statistic of one metric (namespace, name, dimensions) over one
/// period.
fn query(id: &str, metric: MetricId, stat: &str, period: i32) -> MetricDataQuery {
    let (namespace, name, dimensions) = metric;
    let metric = Metric::builder()
        .namespace(namespace)
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

    #[test]
    fn a_target_groups_dimensions_are_the_ends_of_the_arns() {
        let arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012";
        let wanted = Some(TargetGroupMetrics {
            load_balancer: "app/orders/50dc6c495c0c9188".to_owned(),
            target_group: "targetgroup/orders-blue/73e2d6bc24d8a067".to_owned(),
        });
        let group = format!("{arn}:targetgroup/orders-blue/73e2d6bc24d8a067");
        for place in [
            format!("{arn}:loadbalancer/app/orders/50dc6c495c0c9188"),
            format!("{arn}:listener/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2"),
            format!(
                "{arn}:listener-rule/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
            ),
        ] {
            assert_eq!(TargetGroupMetrics::new(&place, &group), wanted, "{place}");
        }
        let listener = format!("{arn}:listener/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2");
        assert_eq!(
            TargetGroupMetrics::new(&listener, "targetgroup/orders-blue/73e2"),
            None
        );
        assert_eq!(
            TargetGroupMetrics::new(&format!("{arn}:listener/app/orders"), &group),
            None
        );
        assert_eq!(
            TargetGroupMetrics::new(&listener.replace("elasticloadbalancing", "lambda"), &group),
            None
        );
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
