//! A small client of the Lambda Runtime API (the custom runtime's side):
//! fetch the next event, answer it, or report it failed.
//!
//! Written over the `reqwest` already in the tree rather than with the
//! `lambda_runtime` crate, which would bring its own tower/hyper stack and
//! handler framework for four plain HTTP calls.

use crate::error::{Error, Result};

/// The Runtime API's version path.
const VERSION: &str = "2018-06-01";

/// One event Lambda handed over.
#[derive(Debug)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`: what the answer is filed under.
    pub request_id: String,
    /// The event, as JSON (`null` when it is not JSON).
    pub event: serde_json::Value,
}

/// The Runtime API at one address.
pub struct Runtime {
    base: String,
    http: reqwest::Client,
}

impl Runtime {
    /// The Runtime API at `api` (`host:port`, as `AWS_LAMBDA_RUNTIME_API` says).
    pub fn new(api: &str) -> Runtime {
        Runtime {
            base: format!("http://{api}/{VERSION}/runtime"),
            http: reqwest::Client::new(),
        }
    }

    /// Waits for the next event.
    pub async fn next(&self) -> Result<Invocation> {
        let url = format!("{}/invocation/next", self.base);
        let answer = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| broken(&url, e))?;
        let request_id = answer
            .headers()
            .get("lambda-runtime-aws-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::no_traffic_moved(format!("{url} answered without a request id"))
            })?;
        let body = answer.bytes().await.map_err(|e| broken(&url, e))?;
        let event = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        Ok(Invocation { request_id, event })
    }

    /// Answers the event `request_id` with `body` (JSON).
    pub async fn respond(&self, request_id: &str, body: String) -> Result<()> {
        let url = format!("{}/invocation/{request_id}/response", self.base);
        self.send(&url, body, None).await
    }

    /// Reports the event `request_id` failed, saying `why`.
    pub async fn fail(&self, request_id: &str, why: &str) -> Result<()> {
        let url = format!("{}/invocation/{request_id}/error", self.base);
        self.post(&url, why, "ReleaseNeedsOperator").await
    }

    /// Reports that the watcher cannot start, saying `why`.
    pub async fn init_error(&self, why: &str) -> Result<()> {
        let url = format!("{}/init/error", self.base);
        self.post(&url, why, "WatcherNotConfigured").await
    }

    /// Posts an error document of `kind` saying `why` to `url`.
    async fn post(&self, url: &str, why: &str, kind: &str) -> Result<()> {
        let body = serde_json::json!({ "errorMessage": why, "errorType": kind }).to_string();
        self.send(url, body, Some(kind)).await
    }

    async fn send(&self, url: &str, body: String, error_type: Option<&str>) -> Result<()> {
        let mut request = self.http.post(url).body(body);
        if let Some(kind) = error_type {
            request = request.header("Lambda-Runtime-Function-Error-Type", kind);
        }
        let answer = request.send().await.map_err(|e| broken(url, e))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(Error::no_traffic_moved(format!(
                "{url} answered {}",
                answer.status()
            )))
        }
    }
}

fn broken(url: &str, e: reqwest::Error) -> Error {
    Error::no_traffic_moved(format!("cannot reach the Lambda Runtime API at {url}")).with_cause(e)
}
