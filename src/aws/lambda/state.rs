//! What Lambda reports of a function or version, and the waits for its
//! state: [`FunctionState`], [`Readiness`], and polling until a function or
//! version is `Active` with no update in progress.

use std::time::Duration;

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationError;
use aws_sdk_lambda::types::{LastUpdateStatus, SnapStartApplyOn, State};

use super::settings::{ExtraSettings, FileSystem, Logging, Vpc};
use super::{CHOOSE_REGION, Lambda, found};
use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Result};
use crate::secrets::Environment;

/// A function's configuration at one qualifier (`$LATEST` or a version).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionState {
    /// `$LATEST` or a version number.
    pub version: String,
    /// The function ARN, qualified with the version for published versions.
    pub arn: String,
    /// Base64 SHA-256 of the code.
    pub code_sha256: String,
    /// Size of the code in bytes.
    pub code_size: i64,
    /// Runtime identifier.
    pub runtime: Option<String>,
    /// Handler.
    pub handler: Option<String>,
    /// Execution role ARN.
    pub role: Option<String>,
    /// Memory in MB.
    pub memory: Option<i32>,
    /// Timeout in seconds.
    pub timeout: Option<i32>,
    /// Environment variables (secret values).
    pub environment: Environment,
    /// Why Lambda could not show the environment, when it could not
    /// (`Environment.Error`, e.g. `KMSAccessDeniedException: …` when the
    /// caller may not decrypt it): then `environment` is empty, not the
    /// function's.
    pub environment_error: Option<String>,
    /// Description.
    pub description: String,
    /// When the code or configuration last changed (as Lambda reports it).
    pub last_modified: String,
    /// For optimistic concurrency on updates.
    pub revision_id: Option<String>,
    /// Architecture, layers, storage, tracing, VPC, logging, DLQ, KMS key,
    /// file systems and SnapStart (on when it applies to published
    /// versions, `ApplyOn` `PublishedVersions`), normalised to Lambda's
    /// defaults (tags: `None`, read with [`Lambda::tags`]).
    pub extra: ExtraSettings,
    /// Whether Lambda can invoke it now (its `State`).
    pub readiness: Readiness,
}

/// Whether Lambda can invoke a function or version now, from its `State`
/// (Developer Guide, "Lambda function states").
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Readiness {
    /// `Active` (or no state reported): it can be invoked.
    #[default]
    Active,
    /// `Pending`: Lambda is still preparing it (always with SnapStart,
    /// while it takes the snapshot; also after waking an inactive one).
    Pending,
    /// `Inactive`: idle long enough for Lambda to reclaim its resources.
    /// An invocation fails, without running any code, and wakes it
    /// (`Pending`, then `Active`).
    Inactive,
    /// `Failed`: Lambda could not make it `Active`; its `StateReasonCode`
    /// and `StateReason`, as one text.
    Failed(String),
}

impl Readiness {
    /// From a `State` and its reason code and reason, as Lambda reports them.
    fn of(
        state: Option<&State>,
        code: Option<&aws_sdk_lambda::types::StateReasonCode>,
        reason: Option<&str>,
    ) -> Readiness {
        match state {
            Some(State::Pending) => Readiness::Pending,
            Some(State::Inactive) => Readiness::Inactive,
            Some(State::Failed) => Readiness::Failed(match (code, reason) {
                (Some(code), Some(reason)) => format!("{}: {reason}", code.as_str()),
                (Some(code), None) => code.as_str().to_owned(),
                (None, reason) => reason.unwrap_or("no reason given").to_owned(),
            }),
            _ => Readiness::Active,
        }
    }
}

/// The refusal of version `version` of function `name`, which Lambda could
/// not make `Active` (`reason`: its `StateReasonCode` and `StateReason`):
/// exit 1, it gets no traffic.
pub fn failed_version(name: &str, version: &str, reason: &str) -> Error {
    not_active(&format!("version {version} of function {name}"), reason)
}

/// [`failed_version`] for `subject` (a version or an alias of a function).
fn not_active(subject: &str, reason: &str) -> Error {
    Error::no_traffic_moved(format!(
        "{subject} failed: Lambda could not make it Active"
    ))
    .with_cause(reason)
    .with_hint(format!(
        "{subject} gets no traffic; fix the cause (with SnapStart, the function's initialisation must succeed when Lambda takes the snapshot), then deploy again"
    ))
}

impl Lambda {
    /// The function's configuration at `qualifier`, or `None` if it does not exist.
    pub async fn function(&self, name: &str, qualifier: &str) -> Result<Option<FunctionState>> {
        let read = self
            .client
            .get_function_configuration()
            .function_name(name)
            .qualifier(qualifier)
            .send()
            .await;
        let not_found = |e: &GetFunctionConfigurationError| e.is_resource_not_found_exception();
        let action = || format!("read function {name}:{qualifier}");
        Ok(found(read, not_found, action)?.as_ref().map(state_of))
    }

    /// When function `name` does not exist in this client's region, the
    /// error saying so: the region searched and how to choose another.
    pub async fn missing(&self, name: &str) -> Result<Option<Error>> {
        if self.function(name, "$LATEST").await?.is_some() {
            return Ok(None);
        }
        let region = self.region();
        Ok(Some(
            Error::no_traffic_moved(format!("function {name} does not exist in region {region}"))
                .with_hint(format!("greenlight looked in {region}: {CHOOSE_REGION}")),
        ))
    }

    /// Polls until the function is active and no update is in progress.
    pub async fn wait_until_ready(&self, name: &str) -> Result<FunctionState> {
        self.poll_until_ready(name, None, self.waits.timeout).await
    }

    /// Polls until `qualifier` (a version, or an alias: its main version)
    /// is `Active`, for at most `timeout`. A version that ends `Failed` is
    /// an error naming Lambda's `StateReasonCode` and `StateReason`.
    pub async fn wait_until_active(
        &self,
        name: &str,
        qualifier: &str,
        timeout: Duration,
    ) -> Result<FunctionState> {
        self.poll_until_ready(name, Some(qualifier), timeout).await
    }

    /// Reads `name` at `qualifier` (`None`: `$LATEST`) until Lambda reports
    /// it `Active` with no update in progress, backing off between reads as
    /// [`WaitPolicy`] says, for at most `timeout`. A version (or alias) that
    /// is `Inactive` is woken by one invocation, which Lambda refuses
    /// without running any code, and then waited for as it is `Pending`.
    async fn poll_until_ready(
        &self,
        name: &str,
        qualifier: Option<&str>,
        timeout: Duration,
    ) -> Result<FunctionState> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = self.waits.first_delay;
        let subject = match qualifier {
            None => format!("function {name}"),
            Some(v) if v.bytes().all(|b| b.is_ascii_digit()) => {
                format!("version {v} of function {name}")
            }
            Some(q) => format!("{name}:{q}"),
        };
        let mut woken = false;
        loop {
            let out = self
                .client
                .get_function_configuration()
                .function_name(name)
                .set_qualifier(qualifier.map(str::to_owned))
                .send()
                .await
                .map_err(|e| aws_error(format!("read {subject}"), e))?;
            let failed = |what: &str, reason: Option<&str>| {
                Error::no_traffic_moved(format!("Lambda could not apply the {what} of {subject}"))
                    .with_cause(reason.unwrap_or("no reason given"))
                    .with_hint("fix the cause, then deploy again; no version was published")
            };
            let readiness = Readiness::of(out.state(), out.state_reason_code(), out.state_reason());
            match (&readiness, out.last_update_status(), qualifier) {
                (Readiness::Failed(reason), _, Some(_)) => {
                    return Err(not_active(&subject, reason));
                }
                (Readiness::Failed(reason), _, None) => {
                    return Err(failed("new function", Some(reason)));
                }
                (_, Some(LastUpdateStatus::Failed), None) => {
                    return Err(failed("update", out.last_update_status_reason()));
                }
                (Readiness::Inactive, _, Some(qualifier)) if !woken => {
                    // Lambda refuses the invocation and starts making it
                    // Active again; its answer says nothing more.
                    woken = true;
                    let _ = self.invoke(name, qualifier, b"{}").await;
                }
                (Readiness::Pending, ..)
                | (Readiness::Inactive, _, Some(_))
                | (_, Some(LastUpdateStatus::InProgress), None) => {}
                _ => return Ok(state_of(&out)),
            }
            if tokio::time::Instant::now() + delay > deadline {
                let timeout = humantime::format_duration(timeout);
                let state = match readiness {
                    Readiness::Inactive => "Inactive",
                    _ => "Pending",
                };
                return Err(match qualifier {
                    None => Error::no_traffic_moved(format!(
                        "{subject} was still updating after {timeout}"
                    ))
                    .with_hint("check the function in the Lambda console, then deploy again"),
                    Some(_) => Error::no_traffic_moved(format!(
                        "{subject} was still {state} after {timeout}"
                    ))
                    .with_hint(
                        "Lambda is still preparing it (a SnapStart snapshot can take minutes) and it gets no traffic; raise function.ready_timeout, or check it in the Lambda console",
                    ),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(self.waits.max_delay);
        }
    }
}

/// Builds a [`FunctionState`] from any of the SDK's function-configuration
/// shapes, which share field names but not a type.
macro_rules! function_state {
    ($out:expr) => {{
        let out = $out;
        FunctionState {
            version: out.version().unwrap_or("$LATEST").to_owned(),
            arn: out.function_arn().unwrap_or_default().to_owned(),
            code_sha256: out.code_sha256().unwrap_or_default().to_owned(),
            code_size: out.code_size(),
            runtime: out.runtime().map(|r| r.as_str().to_owned()),
            handler: out.handler().map(str::to_owned),
            role: out.role().map(str::to_owned),
            memory: out.memory_size(),
            timeout: out.timeout(),
            environment: Environment::new(
                out.environment()
                    .and_then(|e| e.variables())
                    .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            ),
            environment_error: out.environment().and_then(|e| e.error()).map(|e| {
                match (e.error_code(), e.message()) {
                    (Some(code), Some(message)) => format!("{code}: {message}"),
                    (code, message) => code.or(message).unwrap_or("no reason given").to_owned(),
                }
            }),
            description: out.description().unwrap_or_default().to_owned(),
            last_modified: out.last_modified().unwrap_or_default().to_owned(),
            revision_id: out.revision_id().map(str::to_owned),
            readiness: Readiness::of(out.state(), out.state_reason_code(), out.state_reason()),
            extra: ExtraSettings {
                snap_start: Some(
                    out.snap_start()
                        .and_then(|s| s.apply_on())
                        .is_some_and(|a| *a == SnapStartApplyOn::PublishedVersions),
                ),
                architecture: out.architectures().first().map(|a| a.as_str().to_owned()),
                layers: Some(
                    out.layers()
                        .iter()
                        .filter_map(|l| l.arn().map(str::to_owned))
                        .collect(),
                ),
                ephemeral_storage: out.ephemeral_storage().map(|e| e.size()),
                tracing: out
                    .tracing_config()
                    .and_then(|t| t.mode())
                    .map(|m| m.as_str().to_owned()),
                vpc: out.vpc_config().map(|v| Vpc {
                    subnets: v.subnet_ids().to_vec(),
                    security_groups: v.security_group_ids().to_vec(),
                    ipv6: v.ipv6_allowed_for_dual_stack().unwrap_or(false),
                }),
                logging: out.logging_config().map(|l| Logging {
                    format: l.log_format().map(|f| f.as_str().to_owned()),
                    log_group: l.log_group().map(str::to_owned),
                    application_level: l.application_log_level().map(|v| v.as_str().to_owned()),
                    system_level: l.system_log_level().map(|v| v.as_str().to_owned()),
                }),
                dead_letter: out
                    .dead_letter_config()
                    .and_then(|d| d.target_arn())
                    .map(str::to_owned),
                kms_key: out.kms_key_arn().map(str::to_owned),
                file_systems: Some(
                    out.file_system_configs()
                        .iter()
                        .map(|f| FileSystem {
                            arn: f.arn().to_owned(),
                            mount_path: f.local_mount_path().to_owned(),
                        })
                        .collect(),
                ),
                tags: None,
            }
            .normalised(),
        }
    }};
}

pub(super) fn state_of(
    out: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
) -> FunctionState {
    function_state!(out)
}

pub(super) fn state_of_listed(out: &aws_sdk_lambda::types::FunctionConfiguration) -> FunctionState {
    function_state!(out)
}
