//! The watcher: greenlight running itself in the account as a Lambda
//! function on a one-minute schedule, promoting the releases that
//! `ship --no-wait` and `release --no-wait` left in progress (README
//! "Scheduled canaries without a runner").
//!
//! The same binary, started by Lambda as a custom runtime's `bootstrap`
//! (`AWS_LAMBDA_RUNTIME_API` set, no arguments), serves the Lambda Runtime
//! API ([`runtime`]) and runs one [`tick`] per event: each release snapshot
//! under `s3://$GREENLIGHT_WATCH_BUCKET/$GREENLIGHT_WATCH_PREFIX` gets one
//! `greenlight promote`, run in-process through [`crate::app`] exactly as
//! the command runs. The snapshots themselves are written and deleted by
//! the commands (`app`'s `snapshots`, with `[watch]` in the config).
//!
//! Lives here: this module (the serving loop), [`runtime`] (the Runtime
//! API client), [`tick`] (one event's work), [`install`] (`greenlight
//! watch install/status/remove`) and [`code`] (what install uploads). The top layer beside
//! `main.rs`: may import `app` and every layer below it; only `main.rs`
//! imports it.

pub mod code;
pub mod install;
pub mod runtime;
pub mod tick;

use std::ffi::OsString;
use std::time::Duration;

use crate::aws::{self, AwsOptions};
use crate::error::{Error, Result};
use runtime::Runtime;
use tick::{Outcome, Watcher};

/// The environment variable naming the snapshots' bucket.
pub const BUCKET_VAR: &str = "GREENLIGHT_WATCH_BUCKET";
/// The environment variable naming their prefix (`greenlight/` when unset).
pub const PREFIX_VAR: &str = "GREENLIGHT_WATCH_PREFIX";

/// The Runtime API's address when Lambda started this process as a custom
/// runtime's `bootstrap`: `AWS_LAMBDA_RUNTIME_API` is set and `args` (the
/// whole command line) holds no argument.
pub fn runtime_api(args: &[OsString]) -> Option<String> {
    if args.len() > 1 {
        return None;
    }
    std::env::var("AWS_LAMBDA_RUNTIME_API")
        .ok()
        .filter(|api| !api.is_empty())
}

/// Serves the Runtime API at `api` until it fails: one [`tick`] per event.
/// A watcher that cannot start (no bucket set, no region) says so to the
/// Runtime API's init error and returns the error.
pub async fn serve(api: &str) -> Result<()> {
    let runtime = Runtime::new(api);
    let watcher = match watcher_from_env().await {
        Ok(watcher) => watcher,
        Err(e) => {
            runtime.init_error(&e.to_string()).await?;
            return Err(e);
        }
    };
    loop {
        let invocation = runtime.next().await?;
        let answer = watcher
            .tick(&invocation.event, time::OffsetDateTime::now_utc())
            .await;
        let summary = answer.summary.to_string();
        eprintln!("{summary}");
        match answer.outcome {
            Outcome::Done => runtime.respond(&invocation.request_id, summary).await?,
            Outcome::NeedsOperator(why) => {
                runtime.fail(&invocation.request_id, &why).await?;
            }
        }
    }
}

/// The watcher as its Lambda function's environment configures it.
async fn watcher_from_env() -> Result<Watcher> {
    let bucket = std::env::var(BUCKET_VAR)
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            Error::usage(format!("{BUCKET_VAR} is not set")).with_hint(
                "set it to the bucket of `[watch] bucket`, as `greenlight watch install` does",
            )
        })?;
    let prefix = std::env::var(PREFIX_VAR)
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| crate::config::watch::DEFAULT_PREFIX.to_owned());
    let sdk = aws::load(&AwsOptions {
        timeout: Duration::from_secs(20),
        ..AwsOptions::default()
    })
    .await?;
    Ok(Watcher {
        artifacts: aws::artifacts(&sdk),
        bucket,
        prefix,
    })
}
