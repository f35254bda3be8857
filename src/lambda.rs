//! The seam to AWS Lambda, in greenlight's own vocabulary.
//!
//! Everything the pipeline asks of Lambda goes through [`Lambda`]: read a
//! function or alias, create or update a function and wait until the update has
//! finished, publish a version, point an alias, invoke a version. Each method
//! is one or a few SDK calls; SDK types do not leak past this module.
//!
//! Updates that meet `ResourceConflictException` (another update still in
//! progress) wait for the function to settle and try again, a bounded number
//! of times. Every wait is bounded by [`WaitPolicy`].

use std::collections::BTreeMap;
use std::fmt::Display;
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::client::customize::CustomizableOperation;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::get_alias::GetAliasError;
use aws_sdk_lambda::operation::get_function::GetFunctionError;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationError;
use aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigError;
use aws_sdk_lambda::operation::get_policy::GetPolicyError;
use aws_sdk_lambda::operation::get_provisioned_concurrency_config::GetProvisionedConcurrencyConfigError;
use aws_sdk_lambda::operation::publish_version::PublishVersionError;
use aws_sdk_lambda::primitives::{Blob, SdkBody};
use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, Environment as SdkEnvironment, FunctionCode, LastUpdateStatus,
    PackageType, Runtime, State,
};
use aws_smithy_types::timeout::TimeoutConfig;
use base64::Engine;
use bytes::Bytes;

use crate::config::FunctionSettings;
use crate::error::{Error, Failure, Result};
use crate::s3::S3Location;
use crate::secrets::Environment;

/// How many times an update is tried when another update is in progress.
const CONFLICT_ATTEMPTS: u32 = 5;

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
    /// Description.
    pub description: String,
    /// When the code or configuration last changed (as Lambda reports it).
    pub last_modified: String,
    /// For optimistic concurrency on updates.
    pub revision_id: Option<String>,
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
            .code(code.build())
            .publish(false)
            .customize();
        zip_spliced(create, zip, self.client.config().timeout_config())
            .send()
            .await
            .map_err(|e| aws_error(format!("create function {name}"), e))?;
        self.wait_until_ready(name).await
    }

    /// Uploads new code to `$LATEST` and waits until Lambda has applied it.
    pub async fn update_code(&self, name: &str, code: Code<'_>) -> Result<FunctionState> {
        self.retry_on_conflict(
            name,
            |e| aws_error(format!("update the code of function {name}"), e),
            |e: &aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError| {
                e.is_resource_conflict_exception()
            },
            || {
                let update = self.client.update_function_code().function_name(name);
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

    /// Applies the settings that are `Some` and waits until Lambda has applied them.
    pub async fn update_settings(
        &self,
        name: &str,
        settings: &FunctionSettings,
    ) -> Result<FunctionState> {
        self.retry_on_conflict(
            name,
            |e| aws_error(format!("update the configuration of function {name}"), e),
            |e: &aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError| {
                e.is_resource_conflict_exception()
            },
            || {
                let update = self
                    .client
                    .update_function_configuration()
                    .function_name(name);
                with_settings!(update, settings)
                    .send()
            },
        )
        .await?;
        self.wait_until_ready(name).await
    }

    /// Publishes `$LATEST` as a version, only if its code is still
    /// `code_sha256` and (when given) its RevisionId still `revision_id`,
    /// as greenlight last read it: anyone else's change in between makes
    /// Lambda refuse, and nothing is published (exit 1). Returns the version
    /// number; Lambda returns the existing latest version when nothing
    /// changed since it was published.
    pub async fn publish(
        &self,
        name: &str,
        code_sha256: &str,
        revision_id: Option<&str>,
    ) -> Result<String> {
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
                            "function {name} was changed by someone else after greenlight updated it (its RevisionId moved): nothing was published"
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
            _ => Ok(version),
        }
    }

    /// Polls until the function is active and no update is in progress.
    pub async fn wait_until_ready(&self, name: &str) -> Result<FunctionState> {
        let deadline = tokio::time::Instant::now() + self.waits.timeout;
        let mut delay = self.waits.first_delay;
        loop {
            let out = self
                .client
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| aws_error(format!("read function {name}"), e))?;
            let failed = |what: &str, reason: Option<&str>| {
                Error::no_traffic_moved(format!(
                    "Lambda could not apply the {what} of function {name}"
                ))
                .with_cause(reason.unwrap_or("no reason given"))
                .with_hint("fix the cause, then deploy again; no version was published")
            };
            match (out.state(), out.last_update_status()) {
                (Some(State::Failed), _) => return Err(failed("new function", out.state_reason())),
                (_, Some(LastUpdateStatus::Failed)) => {
                    return Err(failed("update", out.last_update_status_reason()));
                }
                (Some(State::Pending), _) | (_, Some(LastUpdateStatus::InProgress)) => {}
                _ => return Ok(state_of(&out)),
            }
            if tokio::time::Instant::now() + delay > deadline {
                return Err(Error::no_traffic_moved(format!(
                    "function {name} was still updating after {}",
                    humantime::format_duration(self.waits.timeout)
                ))
                .with_hint("check the function in the Lambda console, then deploy again"));
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
        let read = self.client.get_policy().function_name(name).send().await;
        let not_found = |e: &GetPolicyError| e.is_resource_not_found_exception();
        let action = || format!("read the resource-based policy of function {name}");
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
        self.client
            .create_alias()
            .function_name(name)
            .name(alias)
            .function_version(version)
            .description(description)
            .send()
            .await
            .map_err(|e| aws_error(format!("create alias {name}:{alias}"), e))?;
        Ok(())
    }

    /// Points `alias` at `version` alone, creating it when it does not
    /// exist; unconditional, so only for an alias that carries no user
    /// traffic (the candidate alias).
    pub async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        description: &str,
    ) -> Result<()> {
        let updated = self
            .update_alias(name, alias, version, None, description)
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                self.create_alias(name, alias, version, description).await
            }
            Err(e) => Err(aws_error(format!("move alias {name}:{alias}"), e)),
        }
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
        let out = self
            .update_alias(name, alias, version, extra, description)
            .set_revision_id(revision_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| {
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
            })?;
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
    pub async fn invoke(&self, name: &str, qualifier: &str, payload: &[u8]) -> Result<Invocation> {
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
            .await
            .map_err(|e| aws_error(format!("invoke {name}:{qualifier}"), e))?;
        Ok(Invocation {
            function_error: out.function_error,
            payload: out.payload.map(Blob::into_inner).unwrap_or_default(),
            executed_version: out.executed_version,
        })
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
        self.client
            .delete_function()
            .function_name(name)
            .qualifier(version)
            .send()
            .await
            .map_err(|e| aws_error(format!("delete version {version} of function {name}"), e))?;
        Ok(())
    }

    /// All published versions, oldest first (`$LATEST` left out).
    pub async fn versions(&self, name: &str) -> Result<Vec<FunctionState>> {
        let mut pages = self
            .client
            .list_versions_by_function()
            .function_name(name)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| aws_error(format!("list versions of function {name}"), e))?;
            versions.extend(
                page.versions()
                    .iter()
                    .filter(|v| v.version() != Some("$LATEST"))
                    .map(state_of_listed),
            );
        }
        versions.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(0));
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
        _ => DisplayErrorContext(&err).to_string(),
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
/// `s3:GetObject`).
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
            description: out.description().unwrap_or_default().to_owned(),
            last_modified: out.last_modified().unwrap_or_default().to_owned(),
            revision_id: out.revision_id().map(str::to_owned),
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
            .update_code("orders", Code::Zip(&Bytes::from_static(b"PK")))
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
            .update_code("orders", Code::Zip(&Bytes::from_static(b"PK")))
            .await
            .expect_err("update failed");
        assert_eq!(err.exit_code(), 1);
        assert_eq!(
            err.message,
            "Lambda could not apply the update of function orders"
        );
        assert_eq!(
            err.cause.as_deref(),
            Some("the new image could not be pulled")
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
            "7"
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
