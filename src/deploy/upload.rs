//! Where the code goes: a zip sent in the request, or through the configured
//! bucket (uploaded once, content-addressed), or an image; and the refusal of
//! a zip too large to send directly when no bucket is set.

use crate::aws::lambda::Code;
use crate::aws::s3::{DIRECT_UPLOAD_LIMIT, S3Location};
use crate::config::PackageConfig;
use crate::context::Ctx;
use crate::deploy::Deployable;
use crate::error::{Error, Result};
use crate::package::Artifact;

/// Refuses a zip that `settings` would send directly (no bucket) although
/// it is over Lambda's direct-upload limit: exit 2, found as soon as the
/// zip is made, before any AWS call.
pub fn check_direct_upload(settings: &PackageConfig, code: &Deployable) -> Result<()> {
    match code {
        Deployable::Zip(artifact)
            if settings.s3_bucket.is_none() && artifact.bytes.len() > DIRECT_UPLOAD_LIMIT =>
        {
            Err(needs_bucket(artifact.bytes.len()))
        }
        _ => Ok(()),
    }
}

/// The error for a package too large to send directly when no bucket is set.
fn needs_bucket(size: usize) -> Error {
    Error::usage(format!(
        "the package is {}, over Lambda's 50 MB limit for uploading code directly ({DIRECT_UPLOAD_LIMIT} bytes)",
        crate::package::megabytes(size as u64)
    ))
    .with_hint("set [package] s3_bucket (and optionally s3_prefix) to deploy through S3, or shrink it with [package] exclude")
}

/// The bucket a zip goes through, with its key prefix: `None` for an image,
/// or for a zip sent directly (no bucket set: [`check_direct_upload`] let
/// it through).
pub fn staging<'a>(ctx: Ctx<'a>, code: &'a Deployable) -> Option<(&'a Artifact, &'a str, &'a str)> {
    let Deployable::Zip(artifact) = code else {
        return None;
    };
    let package = ctx.config.package.as_ref()?;
    Some((
        artifact,
        package.s3_bucket.as_deref()?,
        package.s3_prefix.as_str(),
    ))
}

/// Puts a zip into the configured bucket when there is one (see [`staging`]).
/// In a dry run the object is looked for (`HeadObject`) and the upload it
/// would need is recorded instead of made.
pub(super) async fn stage_in_s3(ctx: Ctx<'_>, code: &Deployable) -> Result<Option<S3Location>> {
    let Some((artifact, bucket, prefix)) = staging(ctx, code) else {
        return Ok(None);
    };
    if ctx.is_dry() {
        return plan_upload(ctx, artifact, bucket, prefix).await.map(Some);
    }
    let size = artifact.bytes.len();
    let meter = ctx
        .ui
        .bytes(format_args!("uploading to s3://{bucket}"), size as u64);
    let (at, uploaded) = ctx
        .artifacts
        .ensure(
            bucket,
            prefix,
            ctx.function(),
            &artifact.sha256_hex(),
            &artifact.bytes,
            meter.counter(),
        )
        .await?;
    drop(meter);
    if uploaded {
        ctx.ui.step(format_args!(
            "uploaded the package to s3://{}/{}",
            at.bucket, at.key
        ));
    } else {
        ctx.ui.step(format_args!(
            "s3://{}/{} already holds the package",
            at.bucket, at.key
        ));
    }
    Ok(Some(at))
}

/// The upload [`stage_in_s3`] would make, recorded in a dry run: none when
/// the bucket already holds the package.
async fn plan_upload(
    ctx: Ctx<'_>,
    artifact: &Artifact,
    bucket: &str,
    prefix: &str,
) -> Result<S3Location> {
    let size = artifact.bytes.len();
    let (at, present) = ctx
        .artifacts
        .locate(bucket, prefix, ctx.function(), &artifact.sha256_hex(), size)
        .await?;
    let (bucket, key) = (&at.bucket, &at.key);
    if present {
        ctx.dry_then(format_args!(
            "s3://{bucket}/{key} already holds the package: no upload"
        ));
    } else {
        ctx.dry_write(
            "PutObject",
            format_args!("s3://{bucket}/{key} ({size} bytes)"),
        );
    }
    Ok(at)
}

/// How a plan names the code: the zip's files and size, or the image.
pub(super) fn describe(code: &Deployable) -> String {
    match code {
        Deployable::Zip(artifact) => format!(
            "a zip of {}, {} bytes",
            crate::ui::count(artifact.files, "file"),
            artifact.bytes.len()
        ),
        Deployable::Image(uri) => format!("image {uri}"),
    }
}

/// The code to hand Lambda: the S3 object when there is one, else the zip
/// or the image.
pub(super) fn lambda_code<'a>(
    code: &'a Deployable,
    through_s3: Option<&'a S3Location>,
) -> Code<'a> {
    match (code, through_s3) {
        (_, Some(at)) => Code::S3(at),
        (Deployable::Zip(artifact), None) => Code::Zip(&artifact.bytes),
        (Deployable::Image(uri), None) => Code::Image(uri),
    }
}
