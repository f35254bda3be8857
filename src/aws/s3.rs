//! The seam to S3: put a large deployment package where Lambda can fetch
//! it, and keep the small text objects of the watcher (release snapshots,
//! its heartbeat).
//!
//! Lambda takes at most 50 MB of zipped code in the request itself; larger
//! packages go through S3, and so does every package when a bucket is set
//! (the upload streams the zip from memory instead of base64-encoding it). Keys are content-addressed
//! (`<prefix><function>/<sha256 hex>.zip`), so an upload is skipped when the
//! object is already there. AWS calls: `HeadObject`, then `PutObject` when
//! missing. Safe to repeat.
//!
//! Text objects: `PutObject`, `GetObject`, `ListObjectsV2` (every page) and
//! `DeleteObject` (deleting a missing key succeeds, as S3 answers); the
//! watcher's bucket is checked with `HeadBucket`.

use aws_sdk_s3::Client;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Result};
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

/// Small text objects: the watcher's snapshots and heartbeat.
impl Artifacts {
    /// The region of `bucket` (`HeadBucket`'s `x-amz-bucket-region`, also
    /// on S3's 301 answer from another region's endpoint; `None` when S3
    /// does not say). Fails (exit 1) when there is no such bucket or this
    /// identity cannot reach it.
    pub async fn bucket_region(&self, bucket: &str) -> Result<Option<String>> {
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(found) => Ok(found.bucket_region().map(str::to_owned)),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Err(
                Error::no_traffic_moved(format!("bucket {bucket}: there is no such bucket"))
                    .with_hint("create it, or give the bucket of `[watch] bucket`"),
            ),
            Err(e) => {
                let elsewhere = e
                    .raw_response()
                    .filter(|r| r.status().as_u16() == 301)
                    .and_then(|r| r.headers().get("x-amz-bucket-region"))
                    .map(str::to_owned);
                match elsewhere {
                    Some(region) => Ok(Some(region)),
                    None => Err(aws_error(format!("reach bucket {bucket}"), e)),
                }
            }
        }
    }

    /// Writes `text` to `s3://bucket/key` (JSON or TOML, as `content_type` says).
    pub async fn put_text(
        &self,
        bucket: &str,
        key: &str,
        text: String,
        content_type: &str,
    ) -> Result<()> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(text.into_bytes()))
            .send()
            .await
            .map_err(|e| aws_error(format!("write s3://{bucket}/{key}"), e))?;
        Ok(())
    }

    /// The text of `s3://bucket/key`; `None` when there is no such object.
    pub async fn get_text(&self, bucket: &str, key: &str) -> Result<Option<String>> {
        let got = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(got) => got,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(aws_error(format!("read s3://{bucket}/{key}"), e)),
        };
        let bytes = got.body.collect().await.map_err(|e| {
            crate::error::Error::no_traffic_moved(format!("read s3://{bucket}/{key}")).with_cause(e)
        })?;
        Ok(Some(
            String::from_utf8_lossy(&bytes.into_bytes()).into_owned(),
        ))
    }

    /// Every key under `prefix` in `bucket`, in S3's order.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error(format!("list s3://{bucket}/{prefix}"), e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// Deletes `s3://bucket/key` (done too when it was not there).
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| aws_error(format!("delete s3://{bucket}/{key}"), e))?;
        Ok(())
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
