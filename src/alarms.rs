//! The seam to CloudWatch alarms: read the state of named alarms.
//!
//! AWS calls: `DescribeAlarms` (metric and composite alarms), in batches of
//! 100 names. Read-only.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};

use crate::error::{Error, Result};
use crate::lambda::aws_error;

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
}

impl AlarmState {
    /// True when the alarm is firing.
    pub fn is_alarm(&self) -> bool {
        self.state == StateValue::Alarm.as_str()
    }
}

/// CloudWatch alarms, as greenlight uses them.
#[derive(Debug, Clone)]
pub struct Alarms {
    client: Client,
}

impl Alarms {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Alarms { client }
    }

    /// The states of `names`, in the same order. An alarm that does not
    /// exist is a configuration error (exit 2).
    pub async fn states(&self, names: &[String]) -> Result<Vec<AlarmState>> {
        let mut found = Vec::with_capacity(names.len());
        for batch in names.chunks(BATCH) {
            let out = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .send()
                .await
                .map_err(|e| aws_error("read CloudWatch alarms", e))?;
            let metric = out
                .metric_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
            let composite = out
                .composite_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value(), a.state_reason()));
            found.extend(
                metric
                    .chain(composite)
                    .map(|(name, state, reason)| AlarmState {
                        name: name.unwrap_or_default().to_owned(),
                        state: state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                        reason: reason.unwrap_or_default().to_owned(),
                    }),
            );
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
}
