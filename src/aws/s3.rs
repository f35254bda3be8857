//! The seam to S3: put a large deployment package where Lambda can fetch it.
//!
//! Lambda takes at most 50 MB of zipped code in the request itself; larger
//! packages go through S3, and so does every package when a bucket is set
//! (the upload streams the zip from memory instead of base64-encoding it). Keys are content-addressed
//! (`<prefix><function>/<sha256 hex>.zip`), so an upload is skipped when the
//! object is already there. AWS calls: `HeadObject`, then `PutObject` when
//! missing. Safe to repeat.

use aws_sdk_s3::Client;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::aws::sdk_errors::aws_error;
use crate::error::Result;
use crate::ui::Counter;

/// How much of the zip one frame of the upload body carries.
const SLICE: usize = 1024 * 1024;

/// Lambda's limit for a zip sent in the request itself.
pub const DIRECT_UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

/// Where a package sits in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
}

/// S3, as greenlight uses it.
#[derive(Debug, Clone)]
pub struct Artifacts {
    client: Client,
}

impl Artifacts {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Artifacts { client }
    }

    /// Where the zip whose hex SHA-256 is `sha256_hex` goes in `bucket`
    /// (its content-addressed key), and whether an object of its `size` is
    /// already there (`HeadObject`).
    pub async fn locate(
        &self,
        bucket: &str,
        prefix: &str,
        function: &str,
        sha256_hex: &str,
        size: usize,
    ) -> Result<(S3Location, bool)> {
        let key = format!("{prefix}{function}/{sha256_hex}.zip");
        let head = self
            .client
            .head_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await;
        let present = match head {
            Ok(found) => found.content_length() == Some(size as i64),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => false,
            Err(e) => {
                let error = aws_error(format!("check s3://{bucket}/{key}"), e);
                return Err(match error.hint {
                    Some(_) => error,
                    None => error.with_hint(
                        "check [package] s3_bucket, its region and the permissions s3:GetObject/s3:PutObject",
                    ),
                });
            }
        };
        let location = S3Location {
            bucket: bucket.to_owned(),
            key,
        };
        Ok((location, present))
    }

    /// Makes sure `zip` (whose hex SHA-256 is `sha256_hex`) is in `bucket`
    /// under its content-addressed key; returns where, and whether it had
    /// to be uploaded.
    pub async fn ensure(
        &self,
        bucket: &str,
        prefix: &str,
        function: &str,
        sha256_hex: &str,
        zip: &Bytes,
        progress: Counter,
    ) -> Result<(S3Location, bool)> {
        let (location, present) = self
            .locate(bucket, prefix, function, sha256_hex, zip.len())
            .await?;
        if present {
            return Ok((location, false));
        }
        self.client
            .put_object()
            .bucket(bucket)
            .key(&location.key)
            .content_length(zip.len() as i64)
            .body(upload_body(zip.clone(), progress))
            .customize()
            .config_override(aws_sdk_s3::config::Builder::default().timeout_config(
                crate::aws::upload_timeouts(self.client.config().timeout_config(), zip.len()),
            ))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    format!("upload the package to s3://{bucket}/{}", location.key),
                    e,
                )
            })?;
        Ok((location, true))
    }
}

/// The zip as a request body sent in 1 MiB slices of the shared bytes (no
/// copy), reporting each slice to `progress`; rebuilt from the start when
/// the SDK retries.
fn upload_body(zip: Bytes, progress: Counter) -> ByteStream {
    ByteStream::new(SdkBody::retryable(move || {
        SdkBody::from_body_1_x(Upload {
            rest: zip.clone(),
            sent: 0,
            progress: progress.clone(),
        })
    }))
}

/// What is left to send of an upload.
struct Upload {
    rest: Bytes,
    sent: u64,
    progress: Counter,
}

impl http_body::Body for Upload {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.rest.is_empty() {
            return Poll::Ready(None);
        }
        let slice = this.rest.split_to(this.rest.len().min(SLICE));
        this.sent += slice.len() as u64;
        this.progress.set(this.sent);
        Poll::Ready(Some(Ok(Frame::data(slice))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}
