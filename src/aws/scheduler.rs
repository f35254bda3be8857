//! The seam to EventBridge Scheduler, for the watcher's schedule: one
//! schedule in the default group, created or updated in place, read and
//! deleted. AWS calls: `GetSchedule`, `CreateSchedule`, `UpdateSchedule`,
//! `DeleteSchedule`. Safe to repeat.

use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::types::{
    FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState, Target,
};

use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Result};

/// What a schedule invokes, and how.
#[derive(Debug, Clone)]
pub struct ScheduleSpec<'a> {
    /// The schedule's name.
    pub name: &'a str,
    /// `rate(…)` or `cron(…)`.
    pub expression: &'a str,
    /// The target's ARN (the watcher function).
    pub target: &'a str,
    /// The role Scheduler takes to invoke it.
    pub role: &'a str,
    /// The input, with Scheduler's context placeholders.
    pub input: &'a str,
    /// The schedule's description.
    pub description: &'a str,
}

/// A schedule as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSchedule {
    /// `ENABLED` or `DISABLED`.
    pub state: String,
    /// Its description (empty when it has none).
    pub description: String,
}

/// EventBridge Scheduler, as greenlight uses it.
#[derive(Debug, Clone)]
pub struct Schedules {
    client: Client,
}

impl Schedules {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Schedules { client }
    }

    /// Makes the schedule `spec` names exist as `spec` says, enabled
    /// (flexible window off, no retries, events at most 60 s old); whether
    /// it was created.
    pub async fn ensure(&self, spec: &ScheduleSpec<'_>) -> Result<bool> {
        let name = spec.name;
        let built = |e: aws_smithy_types::error::operation::BuildError| {
            Error::usage(format!("schedule {name}: {e}"))
        };
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(built)?;
        let target = Target::builder()
            .arn(spec.target)
            .role_arn(spec.role)
            .input(spec.input)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(0)
                    .maximum_event_age_in_seconds(60)
                    .build(),
            )
            .build()
            .map_err(built)?;
        let exists = self.get(name).await?.is_some();
        // The same fields for either call.
        macro_rules! with_spec {
            ($call:expr) => {
                $call
                    .name(name)
                    .schedule_expression(spec.expression)
                    .description(spec.description)
                    .flexible_time_window(window)
                    .target(target)
                    .state(ScheduleState::Enabled)
                    .send()
            };
        }
        if exists {
            with_spec!(self.client.update_schedule())
                .await
                .map_err(|e| aws_error(format!("update schedule {name}"), e))?;
        } else {
            with_spec!(self.client.create_schedule())
                .await
                .map_err(|e| aws_error(format!("create schedule {name}"), e))?;
        }
        Ok(!exists)
    }

    /// The schedule's state and description; `None` when there is no such
    /// schedule.
    pub async fn get(&self, name: &str) -> Result<Option<FoundSchedule>> {
        match self.client.get_schedule().name(name).send().await {
            Ok(found) => Ok(Some(FoundSchedule {
                state: found.state().map_or("UNKNOWN", |s| s.as_str()).to_owned(),
                description: found.description().unwrap_or_default().to_owned(),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws_error(format!("read schedule {name}"), e)),
        }
    }

    /// Deletes the schedule; whether it was there.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        match self.client.delete_schedule().name(name).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws_error(format!("delete schedule {name}"), e)),
        }
    }
}
