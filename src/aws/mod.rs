//! AWS client set-up: one `SdkConfig` from the standard chain, then clients.
//!
//! Credentials and settings come from the SDK's standard chain (environment,
//! shared config and credentials files, SSO, web identity for CI OIDC,
//! instance roles); `--region`, `--profile` and `--endpoint-url` override it.
//! Every client shares one retry policy ([`retries`]) and one timeout per
//! request (`--aws-timeout`), so a throttled, failing or hanging call is
//! retried with backoff instead of failing the run or blocking it forever.
//! No AWS call is made here. [`Seams`] bundles every seam a command uses,
//! made from one SDK configuration.
//!
//! The `aws` folder is the only code that calls AWS: one seam per service
//! (`lambda`, `route53`, `cloudwatch`, `s3`, `secret_store`, `sns` for
//! notifications, and for the
//! watcher `iam` and `scheduler`), `pacing` (the
//! pace of Lambda requests per region), `sdk_errors` (SDK errors in one
//! line, with their fix) and, for greenlight's own tests only, `testing`
//! (an interceptor that panics at one call). Each seam speaks greenlight's vocabulary in plain
//! types and never sees the configuration: its callers convert. May import:
//! `ui` (progress counters) and the base modules (`error`, `secrets`,
//! `outside`); nothing else.

pub mod cloudwatch;
pub mod elbv2;
pub mod iam;
pub mod lambda;
pub mod pacing;
pub mod route53;
pub mod s3;
pub mod scheduler;
pub mod sdk_errors;
pub mod secret_store;
pub mod sns;
#[doc(hidden)]
pub mod testing;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::aws::cloudwatch::CloudWatch;
use crate::aws::elbv2::Elbv2;
use crate::aws::lambda::{Lambda, WaitPolicy};
use crate::aws::pacing::{Paces, paced};
use crate::aws::route53::Dns;
use crate::aws::s3::Artifacts;
use crate::aws::secret_store::SecretStore;
use crate::error::{Error, Result};

/// Clients of one service by region, each made on first use and kept
/// (a parameter, secret or topic is reached in the region its ARN names).
#[derive(Debug)]
pub struct PerRegion<C>(std::sync::Mutex<BTreeMap<String, C>>);

impl<C> Default for PerRegion<C> {
    fn default() -> Self {
        PerRegion(std::sync::Mutex::new(BTreeMap::new()))
    }
}

impl<C: Clone> PerRegion<C> {
    /// The client for `region`, made by `make` the first time.
    pub fn get(&self, region: &str, make: impl FnOnce(Region) -> C) -> C {
        let mut clients = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| make(Region::new(region.to_owned())))
            .clone()
    }
}

/// Overrides from the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
    /// `--aws-timeout`: how long one request may wait for its answer.
    pub timeout: Duration,
}

/// Attempts per AWS call when `AWS_MAX_ATTEMPTS` does not say: enough to
/// ride out Lambda's and Route 53's throttling and brief 5xx spells.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// How long connecting to an AWS endpoint may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The limit for a synchronous invocation: Lambda's longest function
/// timeout (a smoke test's own timeout is what bounds it in practice).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The slowest upload speed allowed for before an upload counts as hung.
const MIN_UPLOAD_BYTES_PER_SEC: u64 = 1 << 20;

/// The retry policy of every client: the SDK's standard mode (exponential
/// backoff with jitter from 1 s, at most 20 s; throttling errors, 5xx,
/// timeouts and dropped connections are retried), with `AWS_MAX_ATTEMPTS`
/// attempts, 8 by default. Adaptive mode (a client-side rate limiter that
/// slows after throttling) gains nothing for one run's sequential calls.
pub fn retries() -> Result<RetryConfig> {
    let attempts = match std::env::var("AWS_MAX_ATTEMPTS") {
        Err(_) => DEFAULT_MAX_ATTEMPTS,
        Ok(text) => text
            .trim()
            .parse()
            .ok()
            .filter(|n| (1..=20).contains(n))
            .ok_or_else(|| {
                Error::usage(format!(
                    "AWS_MAX_ATTEMPTS = {text:?}: a whole number from 1 to 20"
                ))
                .with_hint("unset it for the default of 8 attempts")
            })?,
    };
    Ok(RetryConfig::standard().with_max_attempts(attempts))
}

/// Timeouts for a synchronous invocation, which lasts as long as the
/// function runs.
pub fn invoke_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(INVOKE_TIMEOUT)
        .build()
}

/// Timeouts for a request that sends `bytes`: the ordinary limit (`ordinary`,
/// the client's `--aws-timeout`) plus one second per MiB, so a slow link can
/// still send a 50 MB zip while a hung upload is still given up.
pub fn upload_timeouts(ordinary: Option<&TimeoutConfig>, bytes: usize) -> TimeoutConfig {
    let base = ordinary
        .and_then(TimeoutConfig::read_timeout)
        .unwrap_or(Duration::from_secs(60));
    let sending = Duration::from_secs(bytes as u64 / MIN_UPLOAD_BYTES_PER_SEC);
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(base + sending)
        .build()
}

/// Loads the shared AWS configuration; a usage error (exit 2) when no region is set.
pub async fn load(options: &AwsOptions) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retries()?)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(options.timeout)
                .build(),
        );
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

/// The seams a command works with, made from one SDK configuration: what
/// a context lends out (`Ctx`).
pub struct Seams {
    /// Lambda.
    pub lambda: Lambda,
    /// CloudWatch: alarms and metrics.
    pub cloudwatch: CloudWatch,
    /// S3, for packages that go through a bucket.
    pub artifacts: Artifacts,
    /// Route 53, for `[dns]` releases.
    pub dns: Dns,
    /// ELBv2, for `[alb]` releases.
    pub elbv2: Elbv2,
}

impl Seams {
    /// Every seam for `sdk`, with `lambda` as made for it ([`lambda()`], or
    /// a client of the caller's own).
    pub fn of(sdk: &SdkConfig, lambda: Lambda) -> Self {
        Seams {
            lambda,
            cloudwatch: cloudwatch(sdk),
            artifacts: artifacts(sdk),
            dns: dns(sdk),
            elbv2: elbv2(sdk),
        }
    }
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

/// The Route 53 seam for `sdk`. Route 53 throttles hard (`Throttling`,
/// `PriorRequestNotComplete`): both are retried like any throttling.
pub fn dns(sdk: &SdkConfig) -> Dns {
    Dns::new(aws_sdk_route53::Client::new(sdk), Duration::from_secs(2))
}

/// The ELBv2 seam for `sdk`, for releases through an Application Load
/// Balancer (in the region of `sdk`: the listener's).
pub fn elbv2(sdk: &SdkConfig) -> Elbv2 {
    Elbv2::new(
        aws_sdk_elasticloadbalancingv2::Client::new(sdk),
        Duration::from_secs(1),
    )
}

/// The IAM seam for `sdk` (the watcher's roles).
pub fn iam(sdk: &SdkConfig) -> iam::Iam {
    iam::Iam::new(aws_sdk_iam::Client::new(sdk))
}

/// The EventBridge Scheduler seam for `sdk` (the watcher's schedule).
pub fn schedules(sdk: &SdkConfig) -> scheduler::Schedules {
    scheduler::Schedules::new(aws_sdk_scheduler::Client::new(sdk))
}

/// The seam to SSM Parameter Store and Secrets Manager for `sdk` (in its
/// region, and in those ARNs name).
pub fn secret_store(sdk: &SdkConfig) -> SecretStore {
    SecretStore::new(sdk)
}

/// The Lambda seam for `sdk`, its requests paced by `paces` (shared by every
/// function in the region).
pub fn lambda(sdk: &SdkConfig, paces: Arc<Paces>) -> Lambda {
    // The loaded config names no HTTP client (each SDK client makes its own
    // default), so the same default is made here to wrap.
    let http = sdk.http_client().unwrap_or_else(|| {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build_https()
    });
    let config = aws_sdk_lambda::config::Builder::from(sdk).http_client(paced(http, paces));
    Lambda::new(
        aws_sdk_lambda::Client::from_conf(config.build()),
        WaitPolicy::default(),
    )
}

/// One region's shared AWS configuration and the paces of its Lambda requests.
pub type RegionalAws = (SdkConfig, Arc<Paces>);

/// The AWS configuration of each region a run touches, loaded once, with
/// one set of Lambda [`Paces`] per region.
pub struct Regions {
    options: AwsOptions,
    lambda_rate: u32,
    /// By the region asked for (`None`: the default one).
    loaded: tokio::sync::Mutex<BTreeMap<Option<String>, RegionalAws>>,
    /// By the region the configuration resolved to, so a function naming
    /// the default region shares its quota with those that do not.
    paces: std::sync::Mutex<BTreeMap<String, Arc<Paces>>>,
}

impl Regions {
    /// Regions loaded with `options`, pacing Lambda at `lambda_rate`
    /// requests per second in each.
    pub fn new(options: AwsOptions, lambda_rate: u32) -> Regions {
        Regions {
            options,
            lambda_rate,
            loaded: tokio::sync::Mutex::new(BTreeMap::new()),
            paces: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The configuration for `region` (`None`: `--region` or the
    /// profile's), and the pace of its Lambda requests.
    pub async fn get(&self, region: Option<&str>) -> Result<RegionalAws> {
        let key = region.map(str::to_owned);
        let mut loaded = self.loaded.lock().await;
        if let Some(found) = loaded.get(&key) {
            return Ok(found.clone());
        }
        let options = AwsOptions {
            region: key.clone().or_else(|| self.options.region.clone()),
            ..self.options.clone()
        };
        let sdk = load(&options).await?;
        let resolved = sdk.region().map(ToString::to_string).unwrap_or_default();
        let paces = self
            .paces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(resolved)
            .or_insert_with(|| Paces::for_rate(self.lambda_rate))
            .clone();
        let found = (sdk, paces);
        loaded.insert(key, found.clone());
        Ok(found)
    }
}
