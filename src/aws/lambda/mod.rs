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
//!
//! One file per concern: `state` (what Lambda reports, and the waits for
//! it), `function` (create, update code and configuration), `versions`,
//! `aliases`, `invoke`, `invokers` (what else invokes the function), `tags`,
//! `watcher` (what only the watcher's own function needs) and `settings` (a function's settings in Lambda's terms, to and from the
//! SDK's types). It does not know the configuration: callers hand it
//! [`FunctionSettings`].

mod aliases;
mod function;
mod invoke;
mod invokers;
mod settings;
mod state;
mod tags;
mod versions;
mod watcher;

pub use aliases::AliasState;
pub use function::{Code, Configured, Updated};
pub use invoke::{Invocation, Invoked};
pub use invokers::EventSourceMapping;
pub use settings::{ExtraSettings, FileSystem, FunctionSettings, Logging, Vpc};
pub use state::{FunctionState, Readiness, failed_version};
pub use tags::{MANAGED_TAGS, MAX_TAGS, managed_keys, managed_value};
pub use versions::Published;

use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Result};

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

/// A function ARN without its version or alias qualifier.
fn unqualified(arn: &str) -> String {
    arn.split(':').take(7).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests;
