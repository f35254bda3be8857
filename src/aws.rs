//! AWS client set-up: one `SdkConfig` from the standard chain, then clients.
//!
//! Credentials and settings come from the SDK's standard chain (environment,
//! shared config and credentials files, SSO, web identity for CI OIDC,
//! instance roles); `--region`, `--profile` and `--endpoint-url` override it.
//! No AWS call is made here.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::cloudwatch::CloudWatch;
use crate::error::{Error, Result};
use crate::lambda::{Lambda, WaitPolicy};
use crate::route53::Dns;
use crate::s3::Artifacts;

/// Overrides from the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
}

/// Loads the shared AWS configuration; a usage error (exit 2) when no region is set.
pub async fn load(options: &AwsOptions) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(Error::usage("no AWS region is set")
            .with_hint("pass --region, set AWS_REGION, or give the profile a region"));
    }
    Ok(sdk)
}

/// The CloudWatch seam (alarms and metrics) for `sdk`.
pub fn cloudwatch(sdk: &SdkConfig) -> CloudWatch {
    CloudWatch::new(aws_sdk_cloudwatch::Client::new(sdk))
}

/// The S3 seam for `sdk`. With a custom endpoint (an emulator), bucket
/// names go in the path, since `bucket.127.0.0.1` does not resolve.
pub fn artifacts(sdk: &SdkConfig) -> Artifacts {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    Artifacts::new(aws_sdk_s3::Client::from_conf(config))
}

/// The Route 53 seam for `sdk`: more attempts than the SDK's default, as
/// Route 53 throttles hard (`Throttling`, `PriorRequestNotComplete`, both
/// retried with exponential backoff).
pub fn dns(sdk: &SdkConfig) -> Dns {
    let config = aws_sdk_route53::config::Builder::from(sdk)
        .retry_config(crate::route53::retries())
        .build();
    Dns::new(
        aws_sdk_route53::Client::from_conf(config),
        Duration::from_secs(2),
    )
}

/// The Lambda seam for `sdk`.
pub fn lambda(sdk: &SdkConfig) -> Lambda {
    Lambda::new(aws_sdk_lambda::Client::new(sdk), WaitPolicy::default())
}
