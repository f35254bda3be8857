//! The seam to AWS Lambda, in greenlight's own vocabulary.
//!
//! Everything the pipeline asks of Lambda goes through [`Lambda`]: read a
//! function or alias, create or update a function and wait until the update has
//! finished, publish a version, point an alias, invoke a version. Each method
//! is one or a few SDK calls; SDK types do not leak past this module.
//!
//! Lambda's state model is waited out, never taken for a failure: a new
//! function is `Pending` until it is `Active`; after an update
//! `LastUpdateStatus` is `InProgress`; a published version can itself be
//! `Pending` (always with SnapStart), or `Inactive` once idle long enough
//! for Lambda to reclaim its resources (one invocation, which Lambda
//! refuses without running code, wakes it). Writes that meet
//! `ResourceConflictException` (another update still in progress) wait for
//! the function to settle and try again, a bounded number of times; an
//! invoke Lambda refuses because its target is not ready says so
//! ([`Invoked::NotReady`]). Every wait is bounded: by [`WaitPolicy`], or for
//! a version by the caller's deadline.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::client::customize::CustomizableOperation;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::get_alias::GetAliasError;
use aws_sdk_lambda::operation::get_function::GetFunctionError;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationError;
use aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigError;
use aws_sdk_lambda::operation::get_policy::GetPolicyError;
use aws_sdk_lambda::operation::get_provisioned_concurrency_config::GetProvisionedConcurrencyConfigError;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::operation::list_versions_by_function::ListVersionsByFunctionError;
use aws_sdk_lambda::operation::publish_version::PublishVersionError;
use aws_sdk_lambda::primitives::{Blob, SdkBody};
use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, ApplicationLogLevel, Architecture, DeadLetterConfig,
    Environment as SdkEnvironment, EphemeralStorage, FileSystemConfig, FunctionCode,
    LastUpdateStatus, LogFormat, LoggingConfig, PackageType, Runtime, SnapStart, SnapStartApplyOn,
    State, SystemLogLevel, TracingConfig, TracingMode, VpcConfig,
};
use aws_smithy_types::timeout::TimeoutConfig;
use base64::Engine;
use bytes::Bytes;

use crate::config::FunctionSettings;
use crate::error::{Error, Failure, Result};
use crate::extra_settings::{self, ExtraSettings, FileSystem, Logging, TagChange, Vpc};
use crate::s3::S3Location;
use crate::secrets::Environment;

/// Where the region comes from, and how to choose another.
pub const CHOOSE_REGION: &str = "the region is function.region in the config, else --region, else AWS_REGION or the profile's: set the one you use to the function's region";

/// How many times an update is tried when another update is in progress.
const CONFLICT_ATTEMPTS: u32 = 5;

/// How many times a configuration update is made (from a fresh read of
/// `$LATEST` each time) when someone else's change moves its RevisionId.
pub const CONFIGURE_ATTEMPTS: u32 = 3;

/// Bounds for polling until Lambda has applied a change.
#[derive(Debug, Clone, Copy)]
pub struct WaitPolicy {
    /// Give up after this long.
    pub timeout: Duration,
    /// Delay before the second poll (the first is immediate).
    pub first_delay: Duration,
    /// Longest delay between polls.
    pub max_delay: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            timeout: Duration::from_secs(600),
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
        }
    }
}

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
    /// Architecture, layers, storage, tracing, VPC, logging, DLQ, KMS key
    /// and file systems, normalised to Lambda's defaults (tags: `None`,
    /// read with [`Lambda::tags`]).
    pub extra: ExtraSettings,
    /// SnapStart applies to published versions (`ApplyOn` `PublishedVersions`).
    pub snap_start: bool,
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

/// A version [`Lambda::publish`] made (or found).
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Its number.
    pub version: String,
    /// Lambda said in its answer that the version is `Active`. A version can
    /// be `Pending` at first (always with SnapStart, while Lambda takes the
    /// snapshot; also for some VPC and image functions), and cannot be
    /// invoked until it is `Active`: see [`Lambda::wait_until_active`].
    pub active: bool,
}

/// What [`Lambda::update_settings`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Updated {
    /// Lambda applied the settings: `$LATEST` after.
    Applied(Box<FunctionState>),
    /// `$LATEST` was no longer at the RevisionId given: nothing was written.
    RevisionMoved,
}

/// A configuration update [`Lambda::configure`] made.
#[derive(Debug, Clone, PartialEq)]
pub struct Configured {
    /// `$LATEST` as read just before the update, which it was made from.
    pub before: FunctionState,
    /// `$LATEST` after it.
    pub after: FunctionState,
}

/// What [`Lambda::invoke`] got back.
#[derive(Debug, Clone, PartialEq)]
pub enum Invoked {
    /// The function ran and answered.
    Answered(Invocation),
    /// Lambda refused to run it because the function or version is not
    /// ready yet (`ResourceConflictException` while it is `Pending` or
    /// `Inactive`, `SnapStartNotReadyException` while a SnapStart version
    /// is initialised, `ResourceNotReadyException` or
    /// `CodeArtifactUserPendingException` while it is being restored): no
    /// answer from the code, so nothing to judge. Lambda's message.
    NotReady(String),
}

/// An alias and where it points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AliasState {
    /// The version that takes the main share of traffic.
    pub version: String,
    /// Extra versions and their share of traffic (0.0 to 1.0).
    pub weights: BTreeMap<String, f64>,
    /// The alias description (greenlight keeps its release record here).
    pub description: String,
    /// For conditional updates.
    pub revision_id: Option<String>,
}

/// An event source mapping: a queue or stream Lambda polls to invoke the function.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSourceMapping {
    /// Its identifier.
    pub uuid: String,
    /// The ARN of the queue or stream it reads.
    pub source: String,
    /// The function ARN it invokes; qualified for a version or an alias.
    pub function_arn: String,
}

/// Where new code comes from: the zip itself, an object in S3, or an image.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    /// The zip's bytes, sent in the request (up to 50 MB); see [`zip_spliced`].
    Zip(&'a Bytes),
    /// A zip Lambda fetches from S3.
    S3(&'a S3Location),
    /// A container image URI in ECR.
    Image(&'a str),
}

/// Stands for the zip in the request the SDK serializes; [`zip_spliced`]
/// swaps in the real base64 before signing.
const ZIP_PLACEHOLDER: &[u8] = b"greenlight: the zip goes here";

/// Lambda takes a direct upload as base64 inside a JSON body. Serialized by
/// the SDK, a 45 MB zip is held four times at once (our bytes, the `Blob`'s
/// copy, the base64 text, the JSON body: 227 MiB peak). Instead the SDK
/// serializes a small placeholder, and just before signing (so the
/// signature covers the real body, on every attempt) this writes the one
/// JSON body with the zip's base64 in place of the placeholder's, from the
/// shared bytes: the zip plus its base64 (BENCHMARKS.md).
fn zip_spliced<T, E, B>(
    operation: CustomizableOperation<T, E, B>,
    zip: Option<Bytes>,
    ordinary: Option<&TimeoutConfig>,
) -> CustomizableOperation<T, E, B> {
    let Some(zip) = zip else {
        return operation;
    };
    // Sending up to 50 MB may take longer than one ordinary request may.
    let long = aws_sdk_lambda::config::Builder::default()
        .timeout_config(crate::aws::upload_timeouts(ordinary, zip.len()));
    operation
        .config_override(long)
        .mutate_request(move |request| {
            let engine = &base64::engine::general_purpose::STANDARD;
            let placeholder = engine.encode(ZIP_PLACEHOLDER);
            let Some(body) = request.body().bytes() else {
                return;
            };
            let Some(at) = body
                .windows(placeholder.len())
                .position(|w| w == placeholder.as_bytes())
            else {
                return;
            };
            let encoded = base64::encoded_len(zip.len(), true).unwrap_or(0);
            let mut spliced = Vec::with_capacity(body.len() - placeholder.len() + encoded);
            spliced.extend_from_slice(&body[..at]);
            let start = spliced.len();
            spliced.resize(start + encoded, 0);
            let written = engine
                .encode_slice(&zip, &mut spliced[start..])
                .unwrap_or(0);
            spliced.truncate(start + written);
            spliced.extend_from_slice(&body[at + placeholder.len()..]);
            let length = spliced.len();
            *request.body_mut() = SdkBody::from(spliced);
            request
                .headers_mut()
                .insert("content-length", length.to_string());
        })
}

/// What an invocation returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// Set when the function raised an error (`Unhandled` or `Handled`).
    pub function_error: Option<String>,
    /// The response payload.
    pub payload: Vec<u8>,
    /// The version that ran it, as Lambda reports it (`X-Amz-Executed-Version`).
    pub executed_version: Option<String>,
}

/// Lambda, as greenlight uses it.
#[derive(Debug, Clone)]
pub struct Lambda {
    client: Client,
    waits: WaitPolicy,
}

impl Lambda {
    /// Wraps an SDK client.
    pub fn new(client: Client, waits: WaitPolicy) -> Self {
        Lambda { client, waits }
    }

    /// The region the client talks to.
    pub fn region(&self) -> String {
        self.client
            .config()
            .region()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

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

    /// The container image URI the function runs at `qualifier` (as it was
    /// given, tag or digest); `None` for a zip function or none at all.
    pub async fn image_uri(&self, name: &str, qualifier: &str) -> Result<Option<String>> {
        let read = self
            .client
            .get_function()
            .function_name(name)
            .qualifier(qualifier)
            .send()
            .await;
        let not_found = |e: &GetFunctionError| e.is_resource_not_found_exception();
        let action = || format!("read the code of function {name}:{qualifier}");
        Ok(found(read, not_found, action)?
            .and_then(|out| out.code()?.image_uri().map(str::to_owned)))
    }

    /// The function's tags. Tags belong to the function, so `arn` may name
    /// any version or alias of it.
    pub async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let resource = unqualified(arn);
        let out = self
            .client
            .list_tags()
            .resource(&resource)
            .send()
            .await
            .map_err(|e| aws_error(format!("read the tags of {resource}"), e))?;
        Ok(out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Applies `change` to the function's tags: `TagResource` for what it
    /// sets, `UntagResource` for what it removes; each waits out an update
    /// in progress (`ResourceConflictException`) like every other write.
    pub async fn retag(&self, arn: &str, change: &TagChange) -> Result<()> {
        use aws_sdk_lambda::operation::tag_resource::TagResourceError;
        use aws_sdk_lambda::operation::untag_resource::UntagResourceError;
        let resource = unqualified(arn);
        let name = resource.rsplit(':').next().unwrap_or(&resource);
        if !change.set.is_empty() {
            self.retry_on_conflict(
                name,
                |e| aws_error(format!("tag {resource}"), e),
                TagResourceError::is_resource_conflict_exception,
                || {
                    self.client
                        .tag_resource()
                        .resource(&resource)
                        .set_tags(Some(change.set.clone().into_iter().collect()))
                        .send()
                },
            )
            .await?;
        }
        if !change.remove.is_empty() {
            self.retry_on_conflict(
                name,
                |e| aws_error(format!("remove tags from {resource}"), e),
                UntagResourceError::is_resource_conflict_exception,
                || {
                    self.client
                        .untag_resource()
                        .resource(&resource)
                        .set_tag_keys(Some(change.remove.clone()))
                        .send()
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Creates the function from `code` (unpublished) and waits until it is
    /// active. `settings` must hold the runtime, handler and role.
    pub async fn create(
        &self,
        name: &str,
        settings: &FunctionSettings,
        code: Code<'_>,
    ) -> Result<FunctionState> {
        let package_type = match code {
            Code::Image(_) => PackageType::Image,
            Code::Zip(_) | Code::S3(_) => PackageType::Zip,
        };
        let (code, zip) = match code {
            Code::Zip(zip) => (
                FunctionCode::builder().zip_file(Blob::new(ZIP_PLACEHOLDER)),
                Some(zip.clone()),
            ),
            Code::S3(at) => (
                FunctionCode::builder()
                    .s3_bucket(&at.bucket)
                    .s3_key(&at.key),
                None,
            ),
            Code::Image(uri) => (FunctionCode::builder().image_uri(uri), None),
        };
        let create = self
            .client
            .create_function()
            .function_name(name)
            .package_type(package_type);
        let create = with_settings!(create, settings)
            .set_architectures(architectures(settings.extra.architecture.as_deref()))
            .set_tags(settings.extra.tags.as_ref().map(|t| {
                extra_settings::tags_to_create(name, t)
                    .into_iter()
                    .collect()
            }))
            .code(code.build())
            .publish(false)
            .customize();
        zip_spliced(create, zip, self.client.config().timeout_config())
            .send()
            .await
            .map_err(|e| aws_error(format!("create function {name}"), e))?;
        self.wait_until_ready(name).await
    }

    /// Uploads new code to `$LATEST`, for `architecture` when given (Lambda
    /// takes it with the code), and waits until Lambda has applied it.
    pub async fn update_code(
        &self,
        name: &str,
        code: Code<'_>,
        architecture: Option<&str>,
    ) -> Result<FunctionState> {
        self.retry_on_conflict(
            name,
            |e| aws_error(format!("update the code of function {name}"), e),
            |e: &aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError| {
                e.is_resource_conflict_exception()
            },
            || {
                let update = self
                    .client
                    .update_function_code()
                    .function_name(name)
                    .set_architectures(architectures(architecture));
                let (update, zip) = match code {
                    Code::Zip(zip) => (
                        update.zip_file(Blob::new(ZIP_PLACEHOLDER)),
                        Some(zip.clone()),
                    ),
                    Code::S3(at) => (update.s3_bucket(&at.bucket).s3_key(&at.key), None),
                    Code::Image(uri) => (update.image_uri(uri), None),
                };
                zip_spliced(
                    update.customize(),
                    zip,
                    self.client.config().timeout_config(),
                )
                .send()
            },
        )
        .await?;
        self.wait_until_ready(name).await
    }

    /// Applies the settings that are `Some`, only if `$LATEST` is still at
    /// `revision_id` (when given), and waits until Lambda has applied them.
    /// [`Updated::RevisionMoved`] when someone else changed it meanwhile:
    /// nothing was written.
    pub async fn update_settings(
        &self,
        name: &str,
        settings: &FunctionSettings,
        revision_id: Option<&str>,
    ) -> Result<Updated> {
        use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError;
        let moved = std::cell::Cell::new(false);
        let sent = self
            .retry_on_conflict(
                name,
                |e: SdkError<UpdateFunctionConfigurationError, HttpResponse>| {
                    moved.set(e.as_service_error().is_some_and(
                        UpdateFunctionConfigurationError::is_precondition_failed_exception,
                    ));
                    aws_error(format!("update the configuration of function {name}"), e)
                },
                UpdateFunctionConfigurationError::is_resource_conflict_exception,
                || {
                    let update = self
                        .client
                        .update_function_configuration()
                        .function_name(name)
                        .set_revision_id(revision_id.map(str::to_owned));
                    with_settings!(update, settings).send()
                },
            )
            .await;
        match sent {
            Ok(_) => Ok(Updated::Applied(Box::new(
                self.wait_until_ready(name).await?,
            ))),
            Err(_) if moved.get() => Ok(Updated::RevisionMoved),
            Err(e) => Err(e),
        }
    }

    /// Updates the configuration of `$LATEST` (as read in `read`) with what
    /// `settings_for` makes of it, conditional on its RevisionId. When
    /// someone else changes `$LATEST` in between (Terraform rotating a
    /// variable greenlight keeps, say), Lambda refuses the write; `$LATEST`
    /// is then read again and the settings made again from what it holds
    /// now, up to [`CONFIGURE_ATTEMPTS`] times in all. Returns `$LATEST` as
    /// the update was made from, and as it is after.
    pub async fn configure(
        &self,
        name: &str,
        read: &FunctionState,
        settings_for: impl Fn(&FunctionState) -> FunctionSettings,
    ) -> Result<Configured> {
        let mut before = read.clone();
        for attempt in 1..=CONFIGURE_ATTEMPTS {
            let settings = settings_for(&before);
            match self
                .update_settings(name, &settings, before.revision_id.as_deref())
                .await?
            {
                Updated::Applied(after) => {
                    return Ok(Configured {
                        before,
                        after: *after,
                    });
                }
                Updated::RevisionMoved if attempt < CONFIGURE_ATTEMPTS => {
                    before = self.function(name, "$LATEST").await?.ok_or_else(|| {
                        Error::no_traffic_moved(format!(
                            "function {name} was deleted while greenlight updated it"
                        ))
                    })?;
                }
                Updated::RevisionMoved => break,
            }
        }
        Err(Error {
            failure: Failure::Conflict,
            ..Error::no_traffic_moved(format!(
                "function {name} kept being changed by someone else while greenlight updated its configuration ({CONFIGURE_ATTEMPTS} tries, its RevisionId moved each time): nothing was written"
            ))
        }
        .with_hint("another deploy or tool is changing the function; let it finish, then deploy again"))
    }

    /// Publishes `$LATEST` as a version, only if its code is still
    /// `code_sha256` and (when given) its RevisionId still `revision_id`,
    /// as greenlight last read it: anyone else's change in between makes
    /// Lambda refuse, and nothing is published (exit 1). Returns the version
    /// and whether Lambda says it is `Active` yet; Lambda returns the
    /// existing latest version when nothing changed since it was published.
    pub async fn publish(
        &self,
        name: &str,
        code_sha256: &str,
        revision_id: Option<&str>,
    ) -> Result<Published> {
        let out = self
            .retry_on_conflict(
                name,
                |e: SdkError<PublishVersionError, HttpResponse>| {
                    let changed = e
                        .as_service_error()
                        .is_some_and(PublishVersionError::is_precondition_failed_exception);
                    let err = aws_error(format!("publish a version of function {name}"), e);
                    if !changed {
                        return err;
                    }
                    Error {
                        message: format!(
                            "function {name} was changed by someone else while greenlight deployed it (its RevisionId or code is not what greenlight last saw): nothing was published"
                        ),
                        ..err
                    }
                    .with_hint(
                        "another deploy or a person is changing the function; check it, then deploy again",
                    )
                },
                PublishVersionError::is_resource_conflict_exception,
                || {
                    self.client
                        .publish_version()
                        .function_name(name)
                        .code_sha256(code_sha256)
                        .set_revision_id(revision_id.map(str::to_owned))
                        .send()
                },
            )
            .await?;
        let active = out.state == Some(State::Active);
        let version = out.version.ok_or_else(|| {
            Error::no_traffic_moved(format!(
                "Lambda published function {name} without a version number"
            ))
        })?;
        // Lambda refuses a publish whose guard does not match; checked here
        // too, so a version holding other code is never tested or released
        // (some emulators ignore the guard).
        match out.code_sha256.as_deref() {
            Some(published) if published != code_sha256 => Err(Error::no_traffic_moved(format!(
                "version {version} of function {name} holds code with CodeSha256 {published}, not the {code_sha256} greenlight deployed: someone else changed $LATEST meanwhile"
            ))
            .with_hint(format!("version {version} gets no traffic; find out who else deploys this function, then deploy again"))),
            _ => Ok(Published { version, active }),
        }
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

    /// The alias, or `None` if it does not exist.
    pub async fn alias(&self, name: &str, alias: &str) -> Result<Option<AliasState>> {
        let read = self
            .client
            .get_alias()
            .function_name(name)
            .name(alias)
            .send()
            .await;
        let not_found = |e: &GetAliasError| e.is_resource_not_found_exception();
        let action = || format!("read alias {name}:{alias}");
        Ok(found(read, not_found, action)?.map(|out| AliasState {
            version: out.function_version.unwrap_or_default(),
            weights: weights_of(out.routing_config.as_ref()),
            description: out.description.unwrap_or_default(),
            revision_id: out.revision_id,
        }))
    }

    /// The provisioned concurrency requested on `alias` (which Lambda
    /// splits between the alias's versions by weight), or `None` when the
    /// alias has none configured.
    pub async fn provisioned_concurrency(&self, name: &str, alias: &str) -> Result<Option<i32>> {
        let read = self
            .client
            .get_provisioned_concurrency_config()
            .function_name(name)
            .qualifier(alias)
            .send()
            .await;
        let not_found = GetProvisionedConcurrencyConfigError::is_provisioned_concurrency_config_not_found_exception;
        let action = || format!("read the provisioned concurrency of alias {name}:{alias}");
        Ok(found(read, not_found, action)?
            .and_then(|out| out.requested_provisioned_concurrent_executions)
            .filter(|n| *n > 0))
    }

    /// The function's event source mappings (queues, streams), each with
    /// the function ARN it invokes: qualified when it invokes a version or
    /// an alias.
    pub async fn event_source_mappings(&self, name: &str) -> Result<Vec<EventSourceMapping>> {
        let mut pages = self
            .client
            .list_event_source_mappings()
            .function_name(name)
            .into_paginator()
            .send();
        let mut mappings = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_error(
                    format!("list the event source mappings of function {name}"),
                    e,
                )
            })?;
            mappings.extend(
                page.event_source_mappings()
                    .iter()
                    .map(|m| EventSourceMapping {
                        uuid: m.uuid().unwrap_or_default().to_owned(),
                        source: m.event_source_arn().unwrap_or_default().to_owned(),
                        function_arn: m.function_arn().unwrap_or_default().to_owned(),
                    }),
            );
        }
        Ok(mappings)
    }

    /// The URL of the function's unqualified function URL (one that invokes
    /// `$LATEST`), or `None` when it has none.
    pub async fn unqualified_url(&self, name: &str) -> Result<Option<String>> {
        let read = self
            .client
            .get_function_url_config()
            .function_name(name)
            .send()
            .await;
        let not_found = |e: &GetFunctionUrlConfigError| e.is_resource_not_found_exception();
        let action = || format!("read the function URL of function {name}");
        Ok(found(read, not_found, action)?.map(|out| out.function_url))
    }

    /// The statements of the function's own resource-based policy (the
    /// unqualified function's, not a version's or an alias's), as JSON;
    /// none when it has no policy.
    pub async fn unqualified_policy(&self, name: &str) -> Result<Vec<serde_json::Value>> {
        self.policy(name, None).await
    }

    /// The statements of `alias`'s own resource-based policy (what allows
    /// others, such as a load balancer, to invoke the alias), as JSON; none
    /// when it has no policy.
    pub async fn alias_policy(&self, name: &str, alias: &str) -> Result<Vec<serde_json::Value>> {
        self.policy(name, Some(alias)).await
    }

    /// The statements of the resource-based policy of `name`, or of its
    /// `qualifier` (a version or alias) when given.
    async fn policy(&self, name: &str, qualifier: Option<&str>) -> Result<Vec<serde_json::Value>> {
        let read = self
            .client
            .get_policy()
            .function_name(name)
            .set_qualifier(qualifier.map(str::to_owned))
            .send()
            .await;
        let not_found = |e: &GetPolicyError| e.is_resource_not_found_exception();
        let target = qualifier.map_or_else(|| name.to_owned(), |q| format!("{name}:{q}"));
        let action = || format!("read the resource-based policy of function {target}");
        let policy = found(read, not_found, action)?.and_then(|out| out.policy);
        let statements = policy
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .map(|doc| match doc.get("Statement") {
                Some(serde_json::Value::Array(list)) => list.clone(),
                Some(one) => vec![one.clone()],
                None => Vec::new(),
            })
            .unwrap_or_default();
        Ok(statements)
    }

    /// Creates `alias` on `version` with no extra weights.
    pub async fn create_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        description: &str,
    ) -> Result<()> {
        self.retry_on_conflict(
            name,
            |e| aws_error(format!("create alias {name}:{alias}"), e),
            aws_sdk_lambda::operation::create_alias::CreateAliasError::is_resource_conflict_exception,
            || {
                self.client
                    .create_alias()
                    .function_name(name)
                    .name(alias)
                    .function_version(version)
                    .description(description)
                    .send()
            },
        )
        .await?;
        Ok(())
    }

    /// Points `alias` at `version`, with `extra` (a version and its share of
    /// traffic, 0.0 to 1.0) or with no extra weights, and writes
    /// `description`, all in one call, only if the alias is still at
    /// `revision_id`. Returns the alias's new revision. A changed revision is
    /// a [`Failure::Conflict`].
    pub async fn point_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        extra: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<Option<String>> {
        let update = || {
            self.update_alias(name, alias, version, extra, description)
                .set_revision_id(revision_id.map(str::to_owned))
                .send()
        };
        let conflict = aws_sdk_lambda::operation::update_alias::UpdateAliasError::is_resource_conflict_exception;
        let out = self
            .retry_on_conflict(name, |e| {
                let changed = e
                    .as_service_error()
                    .is_some_and(|e| e.is_precondition_failed_exception());
                let err = aws_error(format!("move alias {name}:{alias}"), e);
                if changed {
                    Error {
                        failure: Failure::Conflict,
                        message: format!(
                            "alias {alias} of function {name} was changed by someone else meanwhile; stopped without writing further"
                        ),
                        ..err
                    }
                    .with_hint("another greenlight run or a person is moving it; see `greenlight status`")
                } else {
                    err
                }
            }, conflict, update)
            .await?;
        Ok(out.revision_id)
    }

    /// An `UpdateAlias` request pointing `alias` at `version`, with `extra`
    /// (a version and its share) or no extra weights, and `description`.
    fn update_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        extra: Option<(&str, f64)>,
        description: &str,
    ) -> aws_sdk_lambda::operation::update_alias::builders::UpdateAliasFluentBuilder {
        let weights = extra.map(|(v, w)| (v.to_owned(), w)).into_iter().collect();
        let routing = AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(weights))
            .build();
        self.client
            .update_alias()
            .function_name(name)
            .name(alias)
            .function_version(version)
            .description(description)
            .routing_config(routing)
    }

    /// Invokes the function at `qualifier` synchronously with `payload`.
    pub async fn invoke(&self, name: &str, qualifier: &str, payload: &[u8]) -> Result<Invoked> {
        let out = self
            .client
            .invoke()
            .function_name(name)
            .qualifier(qualifier)
            .payload(Blob::new(payload))
            .customize()
            // A synchronous invocation lasts as long as the function runs;
            // the smoke test's own timeout bounds it.
            .config_override(
                aws_sdk_lambda::config::Builder::default()
                    .timeout_config(crate::aws::invoke_timeouts()),
            )
            .send()
            .await;
        let not_ready = match out.as_ref().err().and_then(SdkError::as_service_error) {
            Some(InvokeError::ResourceConflictException(e)) => {
                Some(e.message().unwrap_or("ResourceConflictException"))
            }
            Some(InvokeError::ResourceNotReadyException(e)) => {
                Some(e.message().unwrap_or("ResourceNotReadyException"))
            }
            Some(InvokeError::SnapStartNotReadyException(e)) => {
                Some(e.message().unwrap_or("SnapStartNotReadyException"))
            }
            Some(InvokeError::CodeArtifactUserPendingException(e)) => {
                Some(e.message().unwrap_or("CodeArtifactUserPendingException"))
            }
            _ => None,
        };
        if let Some(message) = not_ready {
            return Ok(Invoked::NotReady(message.to_owned()));
        }
        let out = out.map_err(|e| aws_error(format!("invoke {name}:{qualifier}"), e))?;
        Ok(Invoked::Answered(Invocation {
            function_error: out.function_error,
            payload: out.payload.map(Blob::into_inner).unwrap_or_default(),
            executed_version: out.executed_version,
        }))
    }

    /// Every alias of the function, with where it points.
    pub async fn aliases(&self, name: &str) -> Result<Vec<(String, AliasState)>> {
        let mut pages = self
            .client
            .list_aliases()
            .function_name(name)
            .into_paginator()
            .send();
        let mut aliases = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| aws_error(format!("list aliases of function {name}"), e))?;
            aliases.extend(page.aliases().iter().map(|a| {
                (
                    a.name().unwrap_or_default().to_owned(),
                    AliasState {
                        version: a.function_version().unwrap_or_default().to_owned(),
                        weights: weights_of(a.routing_config()),
                        description: a.description().unwrap_or_default().to_owned(),
                        revision_id: a.revision_id().map(str::to_owned),
                    },
                )
            }));
        }
        Ok(aliases)
    }

    /// Deletes one published version.
    pub async fn delete_version(&self, name: &str, version: &str) -> Result<()> {
        self.retry_on_conflict(
            name,
            |e| aws_error(format!("delete version {version} of function {name}"), e),
            aws_sdk_lambda::operation::delete_function::DeleteFunctionError::is_resource_conflict_exception,
            || {
                self.client
                    .delete_function()
                    .function_name(name)
                    .qualifier(version)
                    .send()
            },
        )
        .await?;
        Ok(())
    }

    /// All published versions, oldest first (`$LATEST` left out).
    pub async fn versions(&self, name: &str) -> Result<Vec<FunctionState>> {
        let mut versions = self
            .listed(name)
            .await
            .map_err(|e| aws_error(format!("list versions of function {name}"), e))?;
        versions.retain(|v| v.version != "$LATEST");
        versions.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(0));
        Ok(versions)
    }

    /// `$LATEST` and every published version of `name`, as Lambda lists
    /// them (one `ListVersionsByFunction` call per 50 versions), their
    /// environments included; none when the function does not exist.
    pub async fn all_versions(&self, name: &str) -> Result<Vec<FunctionState>> {
        match self.listed(name).await {
            Ok(all) => Ok(all),
            Err(e)
                if e.as_service_error()
                    .is_some_and(ListVersionsByFunctionError::is_resource_not_found_exception) =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(aws_error(format!("list versions of function {name}"), e)),
        }
    }

    /// `$LATEST` and every published version, as Lambda lists them.
    async fn listed(
        &self,
        name: &str,
    ) -> Result<Vec<FunctionState>, SdkError<ListVersionsByFunctionError, HttpResponse>> {
        let mut pages = self
            .client
            .list_versions_by_function()
            .function_name(name)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        while let Some(page) = pages.next().await {
            versions.extend(page?.versions().iter().map(state_of_listed));
        }
        Ok(versions)
    }

    /// Runs `call`, and while it fails with a conflict (an update in
    /// progress), waits for the function to settle and runs it again; any
    /// other failure is explained by `explain`.
    async fn retry_on_conflict<T, E, F, Fut>(
        &self,
        name: &str,
        explain: impl FnOnce(SdkError<E, HttpResponse>) -> Error,
        is_conflict: impl Fn(&E) -> bool,
        call: F,
    ) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(out) => return Ok(out),
                Err(e)
                    if attempt < CONFLICT_ATTEMPTS
                        && e.as_service_error().is_some_and(&is_conflict) =>
                {
                    attempt += 1;
                    self.wait_until_ready(name).await?;
                }
                Err(e) => return Err(explain(e)),
            }
        }
    }
}

/// Turns an SDK error into an [`Error`] (exit 1) saying what could not be done.
pub fn aws_error<E>(action: impl Display, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(trouble) = crate::sdk_errors::credentials(&err) {
        return Error::no_traffic_moved(format!("could not {action}: {}", trouble.cause))
            .with_hint(trouble.hint);
    }
    let service = err.as_service_error();
    // A 403 without a body (S3's answer to HEAD) is a denial all the same.
    let forbidden = err
        .raw_response()
        .is_some_and(|r| r.status().as_u16() == 403)
        .then(|| "AccessDenied".to_owned());
    let code = service
        .and_then(|e| e.code())
        .map(str::to_owned)
        .or(forbidden);
    let cause = match (&code, service.and_then(|e| e.message())) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.clone(),
        _ => crate::sdk_errors::chain(&err),
    };
    let hint = match code.as_deref() {
        Some("AccessDeniedException" | "AccessDenied") => Some(format!(
            "the AWS identity in use lacks the permission {}; templates/iam-policy.json (written by `greenlight init` as greenlight-iam-policy.json) lists every permission greenlight needs",
            iam_action::<E>()
        )),
        Some("ResourceNotFoundException") => {
            Some("check function.name, the alias and --region".to_owned())
        }
        Some(_) => None,
        None if matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        ) =>
        {
            Some(
                "AWS could not be reached: check the network, --endpoint-url / AWS_ENDPOINT_URL and the credentials"
                    .to_owned(),
            )
        }
        None => None,
    };
    let err = Error::no_traffic_moved(format!("could not {action}")).with_cause(cause);
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// The IAM action an SDK operation needs, from its error type's name:
/// `aws_sdk_lambda::operation::update_alias::UpdateAliasError` needs
/// `lambda:UpdateAlias`. The few whose action is named differently are
/// mapped (`Invoke` needs `lambda:InvokeFunction`, `HeadObject`
/// `s3:GetObject`), and ELBv2's actions are `elasticloadbalancing:`.
pub fn iam_action<E>() -> String {
    let name = std::any::type_name::<E>();
    let service = name
        .strip_prefix("aws_sdk_")
        .and_then(|rest| rest.split("::").next())
        .unwrap_or("aws");
    let operation = name
        .rsplit("::")
        .next()
        .unwrap_or_default()
        .trim_end_matches("Error");
    match (service, operation) {
        ("lambda", "Invoke") => "lambda:InvokeFunction".to_owned(),
        ("s3", "HeadObject") => "s3:GetObject".to_owned(),
        ("elasticloadbalancingv2", operation) => format!("elasticloadbalancing:{operation}"),
        _ => format!("{service}:{operation}"),
    }
}

/// A read's output, `None` when the error says the resource does not exist,
/// or the error explained as failing to do `action`.
fn found<O, E>(
    read: std::result::Result<O, SdkError<E, HttpResponse>>,
    not_found: impl Fn(&E) -> bool,
    action: impl FnOnce() -> String,
) -> Result<Option<O>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match read {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.as_service_error().is_some_and(not_found) => Ok(None),
        Err(e) => Err(aws_error(action(), e)),
    }
}

fn sdk_environment(env: &Environment) -> SdkEnvironment {
    SdkEnvironment::builder()
        .set_variables(Some(
            env.expose()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .build()
}

/// SnapStart on published versions, or off.
fn snap_start(on: bool) -> SnapStart {
    let apply_on = match on {
        true => SnapStartApplyOn::PublishedVersions,
        false => SnapStartApplyOn::None,
    };
    SnapStart::builder().apply_on(apply_on).build()
}

/// A function ARN without its version or alias qualifier.
fn unqualified(arn: &str) -> String {
    arn.split(':').take(7).collect::<Vec<_>>().join(":")
}

/// The architecture list Lambda takes, from the config's one architecture.
fn architectures(architecture: Option<&str>) -> Option<Vec<Architecture>> {
    architecture.map(|a| vec![Architecture::from(a)])
}

fn sdk_vpc(vpc: &Vpc) -> VpcConfig {
    VpcConfig::builder()
        .set_subnet_ids(Some(vpc.subnets.clone()))
        .set_security_group_ids(Some(vpc.security_groups.clone()))
        .ipv6_allowed_for_dual_stack(vpc.ipv6)
        .build()
}

fn sdk_logging(logging: &Logging) -> LoggingConfig {
    LoggingConfig::builder()
        .set_log_format(logging.format.as_deref().map(LogFormat::from))
        .set_log_group(logging.log_group.clone())
        .set_application_log_level(
            logging
                .application_level
                .as_deref()
                .map(ApplicationLogLevel::from),
        )
        .set_system_log_level(logging.system_level.as_deref().map(SystemLogLevel::from))
        .build()
}

fn sdk_file_systems(list: &[FileSystem]) -> Vec<FileSystemConfig> {
    list.iter()
        .filter_map(|fs| {
            FileSystemConfig::builder()
                .arn(&fs.arn)
                .local_mount_path(&fs.mount_path)
                .build()
                .ok()
        })
        .collect()
}

fn weights_of(routing: Option<&AliasRoutingConfiguration>) -> BTreeMap<String, f64> {
    routing
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}

/// Sets the settings that are `Some` on a create or update-configuration
/// request builder (different types with the same setters).
macro_rules! with_settings {
    ($builder:expr, $settings:expr) => {{
        let settings: &FunctionSettings = $settings;
        $builder
            .set_runtime(settings.runtime.as_deref().map(Runtime::from))
            .set_handler(settings.handler.clone())
            .set_role(settings.role.clone())
            .set_memory_size(settings.memory)
            .set_timeout(settings.timeout)
            .set_description(settings.description.clone())
            .set_environment(settings.environment.as_ref().map(sdk_environment))
            .set_snap_start(settings.snap_start.map(snap_start))
            .set_layers(settings.extra.layers.clone())
            .set_ephemeral_storage(
                settings
                    .extra
                    .ephemeral_storage
                    .and_then(|mb| EphemeralStorage::builder().size(mb).build().ok()),
            )
            .set_tracing_config(settings.extra.tracing.as_deref().map(|mode| {
                TracingConfig::builder()
                    .mode(TracingMode::from(mode))
                    .build()
            }))
            .set_vpc_config(settings.extra.vpc.as_ref().map(sdk_vpc))
            .set_logging_config(settings.extra.logging.as_ref().map(sdk_logging))
            .set_dead_letter_config(
                settings
                    .extra
                    .dead_letter
                    .as_deref()
                    .map(|arn| DeadLetterConfig::builder().target_arn(arn).build()),
            )
            .set_kms_key_arn(settings.extra.kms_key.clone())
            .set_file_system_configs(settings.extra.file_systems.as_deref().map(sdk_file_systems))
    }};
}
use with_settings;

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
            snap_start: out
                .snap_start()
                .and_then(|s| s.apply_on())
                .is_some_and(|a| *a == SnapStartApplyOn::PublishedVersions),
            extra: ExtraSettings {
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

fn state_of(
    out: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
) -> FunctionState {
    function_state!(out)
}

fn state_of_listed(out: &aws_sdk_lambda::types::FunctionConfiguration) -> FunctionState {
    function_state!(out)
}

#[cfg(test)]
mod tests {
    //! What the emulator cannot do (it never reports conflicts or stuck
    //! updates), injected at exact calls with aws-smithy-mocks.

    use super::*;
    use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
    use aws_sdk_lambda::operation::update_function_code::{
        UpdateFunctionCodeError, UpdateFunctionCodeOutput,
    };
    use aws_sdk_lambda::types::error::ResourceConflictException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[test]
    fn iam_actions_are_named_from_the_operation() {
        use aws_sdk_lambda::operation::invoke::InvokeError;
        use aws_sdk_lambda::operation::update_alias::UpdateAliasError;
        assert_eq!(iam_action::<UpdateAliasError>(), "lambda:UpdateAlias");
        assert_eq!(iam_action::<InvokeError>(), "lambda:InvokeFunction");
        assert_eq!(
            iam_action::<aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError>(),
            "cloudwatch:GetMetricData"
        );
        assert_eq!(
            iam_action::<aws_sdk_s3::operation::head_object::HeadObjectError>(),
            "s3:GetObject"
        );
        assert_eq!(
            iam_action::<aws_sdk_elasticloadbalancingv2::operation::modify_rule::ModifyRuleError>(),
            "elasticloadbalancing:ModifyRule"
        );
    }

    fn config(status: LastUpdateStatus) -> GetFunctionConfigurationOutput {
        GetFunctionConfigurationOutput::builder()
            .state(State::Active)
            .last_update_status(status)
            .last_update_status_reason("the new image could not be pulled")
            .code_sha256("abc")
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn conflict_while_an_update_is_in_progress_is_waited_out() {
        let update = mock!(Client::update_function_code)
            .sequence()
            .error(|| {
                UpdateFunctionCodeError::ResourceConflictException(
                    ResourceConflictException::builder()
                        .message("update in progress")
                        .build(),
                )
            })
            .output(|| UpdateFunctionCodeOutput::builder().build())
            .build();
        let poll = mock!(Client::get_function_configuration)
            .sequence()
            .output(|| config(LastUpdateStatus::InProgress))
            .output(|| config(LastUpdateStatus::Successful))
            .repeatedly()
            .build();
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &poll]),
            WaitPolicy::default(),
        );

        let state = lambda
            .update_code("orders", Code::Zip(&Bytes::from_static(b"PK")), None)
            .await
            .expect("conflict is waited out");
        assert_eq!(state.code_sha256, "abc");
        assert_eq!(
            update.num_calls(),
            2,
            "the update was tried again after the conflict"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn update_stuck_in_progress_then_failed_is_an_error_with_lambdas_reason() {
        let update = mock!(Client::update_function_code)
            .then_output(|| UpdateFunctionCodeOutput::builder().build());
        let poll = mock!(Client::get_function_configuration)
            .sequence()
            .output(|| config(LastUpdateStatus::InProgress))
            .times(3)
            .output(|| config(LastUpdateStatus::Failed))
            .build();
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &poll]),
            WaitPolicy::default(),
        );

        let err = lambda
            .update_code("orders", Code::Zip(&Bytes::from_static(b"PK")), None)
            .await
            .expect_err("update failed");
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.message,
            "Lambda could not apply the update of function orders"
        );
        assert_eq!(
            err.cause,
            Some(crate::outside::quote("the new image could not be pulled"))
        );
        assert_eq!(poll.num_calls(), 4);
    }

    #[tokio::test]
    async fn a_published_version_with_other_code_is_refused() {
        use aws_sdk_lambda::operation::publish_version::PublishVersionOutput;
        // Lambda enforces the CodeSha256 guard; an emulator that does not
        // (moto) would publish other code, which greenlight must notice.
        let publish = mock!(Client::publish_version).then_output(|| {
            PublishVersionOutput::builder()
                .version("7")
                .code_sha256("theirs")
                .state(State::Pending)
                .build()
        });
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&publish]),
            WaitPolicy::default(),
        );
        let err = lambda
            .publish("orders", "ours", Some("r1"))
            .await
            .expect_err("other code");
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.message,
            "version 7 of function orders holds code with CodeSha256 theirs, not the ours greenlight deployed: someone else changed $LATEST meanwhile"
        );
        assert_eq!(
            lambda
                .publish("orders", "theirs", None)
                .await
                .expect("same code"),
            Published {
                version: "7".to_owned(),
                active: false
            }
        );
    }

    fn version(state: State) -> GetFunctionConfigurationOutput {
        GetFunctionConfigurationOutput::builder()
            .version("7")
            .state(state)
            .state_reason_code(aws_sdk_lambda::types::StateReasonCode::FunctionError)
            .state_reason("the snapshot's initialisation raised an error")
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn a_pending_version_is_waited_for_and_a_failed_one_named_with_lambdas_reason() {
        let poll = mock!(Client::get_function_configuration)
            .sequence()
            .output(|| version(State::Pending))
            .times(2)
            .output(|| version(State::Active))
            .output(|| version(State::Pending))
            .output(|| version(State::Failed))
            .build();
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&poll]),
            WaitPolicy::default(),
        );
        let active = lambda
            .wait_until_active("orders", "7", Duration::from_secs(900))
            .await
            .expect("active after two polls");
        assert_eq!((active.version.as_str(), poll.num_calls()), ("7", 3));

        let err = lambda
            .wait_until_active("orders", "7", Duration::from_secs(900))
            .await
            .expect_err("failed");
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.message,
            "version 7 of function orders failed: Lambda could not make it Active"
        );
        assert_eq!(
            err.cause,
            Some(crate::outside::quote(
                "FunctionError: the snapshot's initialisation raised an error"
            ))
        );
    }

    fn kept(revision: &str, value: &str) -> GetFunctionConfigurationOutput {
        GetFunctionConfigurationOutput::builder()
            .state(State::Active)
            .last_update_status(LastUpdateStatus::Successful)
            .revision_id(revision)
            .environment(
                aws_sdk_lambda::types::EnvironmentResponse::builder()
                    .variables("TF_OWNED", value)
                    .build(),
            )
            .build()
    }

    /// The settings a deploy keeping `TF_OWNED` sends over `state`.
    fn keeping(state: &FunctionState) -> FunctionSettings {
        let want = Environment::new([("A".to_owned(), "1".to_owned())].into())
            .keeping(["TF_OWNED".to_owned()].into());
        FunctionSettings {
            environment: Some(want.with_kept_from(&state.environment)),
            ..FunctionSettings::default()
        }
    }

    fn moved()
    -> aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError
    {
        aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError::PreconditionFailedException(
            aws_sdk_lambda::types::error::PreconditionFailedException::builder()
                .message("The Revision Id provided does not match the latest Revision Id.")
                .build(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_variable_rotated_meanwhile_is_read_again_never_written_back_stale() {
        use aws_sdk_lambda::operation::update_function_configuration::{
            UpdateFunctionConfigurationInput, UpdateFunctionConfigurationOutput,
        };
        let value = |req: &UpdateFunctionConfigurationInput| {
            req.environment()
                .and_then(|e| e.variables())
                .and_then(|v| v.get("TF_OWNED"))
                .cloned()
        };
        // Terraform rotated TF_OWNED after greenlight read r1: Lambda
        // refuses the write made from r1, and takes the one made from r2.
        let stale = mock!(Client::update_function_configuration)
            .match_requests(move |req| req.revision_id() == Some("r1"))
            .then_error(moved);
        let fresh = mock!(Client::update_function_configuration)
            .match_requests(move |req| {
                req.revision_id() == Some("r2") && value(req).as_deref() == Some("rotated")
            })
            .then_output(|| UpdateFunctionConfigurationOutput::builder().build());
        let read = mock!(Client::get_function_configuration).then_output(|| kept("r2", "rotated"));
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&stale, &fresh, &read]),
            WaitPolicy::default(),
        );
        let first = state_of(&kept("r1", "old"));
        let configured = lambda
            .configure("orders", &first, keeping)
            .await
            .expect("written from the fresh read");
        assert_eq!((stale.num_calls(), fresh.num_calls()), (1, 1));
        assert_eq!(configured.before.revision_id.as_deref(), Some("r2"));
        assert_eq!(
            configured.before.environment.expose()["TF_OWNED"],
            "rotated"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_configuration_that_keeps_changing_is_tried_a_bounded_number_of_times() {
        let update = mock!(Client::update_function_configuration).then_error(moved);
        let read = mock!(Client::get_function_configuration).then_output(|| kept("r2", "rotated"));
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &read]),
            WaitPolicy::default(),
        );
        let err = lambda
            .configure("orders", &state_of(&kept("r1", "old")), keeping)
            .await
            .expect_err("gives up");
        assert_eq!(update.num_calls(), CONFIGURE_ATTEMPTS as usize);
        assert_eq!((err.failure, err.exit_code()), (Failure::Conflict, 1));
        assert_eq!(
            err.message,
            "function orders kept being changed by someone else while greenlight updated its configuration (3 tries, its RevisionId moved each time): nothing was written"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tags_wait_out_an_update_in_progress() {
        use aws_sdk_lambda::operation::tag_resource::{TagResourceError, TagResourceOutput};
        let tag = mock!(Client::tag_resource)
            .sequence()
            .error(|| {
                TagResourceError::ResourceConflictException(
                    ResourceConflictException::builder()
                        .message("update in progress")
                        .build(),
                )
            })
            .output(|| TagResourceOutput::builder().build())
            .build();
        let poll = mock!(Client::get_function_configuration)
            .then_output(|| config(LastUpdateStatus::Successful));
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&tag, &poll]),
            WaitPolicy::default(),
        );
        let change = TagChange {
            set: [("team".to_owned(), "orders".to_owned())].into(),
            remove: Vec::new(),
            text: "tags (added team)".to_owned(),
            warning: None,
        };
        lambda
            .retag(
                "arn:aws:lambda:us-east-1:123456789012:function:orders:7",
                &change,
            )
            .await
            .expect("tagged after the conflict");
        assert_eq!(tag.num_calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_inactive_version_is_woken_once_then_waited_for() {
        use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
        use aws_sdk_lambda::types::error::SnapStartNotReadyException;
        let poll = mock!(Client::get_function_configuration)
            .sequence()
            .output(|| version(State::Inactive))
            .output(|| version(State::Pending))
            .output(|| version(State::Inactive))
            .output(|| version(State::Active))
            .build();
        // The wake's answer is not looked at; the next invoke is refused.
        let wake = mock!(Client::invoke)
            .sequence()
            .output(|| InvokeOutput::builder().build())
            .error(|| {
                InvokeError::SnapStartNotReadyException(
                    SnapStartNotReadyException::builder()
                        .message("Lambda is initializing your function")
                        .build(),
                )
            })
            .build();
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&poll, &wake]),
            WaitPolicy::default(),
        );
        let active = lambda
            .wait_until_active("orders", "7", Duration::from_secs(900))
            .await
            .expect("woken");
        assert_eq!(active.readiness, Readiness::Active);
        assert_eq!((poll.num_calls(), wake.num_calls()), (4, 1), "woken once");

        // An invoke refused while SnapStart initialises is "not ready".
        assert_eq!(
            lambda.invoke("orders", "7", b"{}").await.expect("answered"),
            Invoked::NotReady("Lambda is initializing your function".to_owned())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_update_that_never_finishes_times_out() {
        let poll = mock!(Client::get_function_configuration)
            .sequence()
            .output(|| config(LastUpdateStatus::InProgress))
            .repeatedly()
            .build();
        let waits = WaitPolicy {
            timeout: Duration::from_secs(60),
            ..WaitPolicy::default()
        };
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&poll]),
            waits,
        );

        let err = lambda
            .wait_until_ready("orders")
            .await
            .expect_err("times out");
        assert_eq!(err.message, "function orders was still updating after 1m");
        assert!(
            poll.num_calls() > 5,
            "polled repeatedly, {} times",
            poll.num_calls()
        );
    }
}
