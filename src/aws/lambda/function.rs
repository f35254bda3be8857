//! Creating a function and updating `$LATEST`: its code (a zip sent in the
//! request, an S3 object or an image) and its configuration, each waited
//! out until Lambda has applied it.

use aws_sdk_lambda::client::customize::CustomizableOperation;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::get_function::GetFunctionError;
use aws_sdk_lambda::primitives::{Blob, SdkBody};
use aws_sdk_lambda::types::{FunctionCode, PackageType};
use aws_smithy_types::timeout::TimeoutConfig;
use base64::Engine;
use bytes::Bytes;

use super::settings::{FunctionSettings, architectures, with_settings};
use super::state::FunctionState;
use super::tags::tags_to_create;
use super::{CONFIGURE_ATTEMPTS, Lambda, found};
use crate::aws::s3::S3Location;
use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Failure, Result};

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

impl Lambda {
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
            .set_architectures(architectures(settings.extra.architecture.as_deref()))
            .set_tags(
                settings
                    .extra
                    .tags
                    .as_ref()
                    .map(|t| tags_to_create(name, t).into_iter().collect()),
            )
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
}
