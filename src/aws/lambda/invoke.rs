//! Invoking a version or alias synchronously, and telling an answer from
//! Lambda's refusal to run a function that is not ready.

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;

use super::Lambda;
use crate::aws::sdk_errors::aws_error;
use crate::error::Result;

/// What [`Lambda::invoke`] got back.
#[derive(Debug, Clone, PartialEq)]
pub enum Invoked {
    /// The function ran and answered.
    Answered(Invocation),
    /// Lambda refused to run it because the function or version is not
    /// ready yet (`ResourceConflictException` while it is `Pending` or
    /// `Inactive`, `SnapStartNotReadyException` while a SnapStart version
    /// is initialised, `ResourceNotReadyException` or
    /// `CodeArtifactUserPendingException` while it is being restored): no
    /// answer from the code, so nothing to judge. Lambda's message.
    NotReady(String),
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

impl Lambda {
    /// Invokes the function at `qualifier` synchronously with `payload`.
    pub async fn invoke(&self, name: &str, qualifier: &str, payload: &[u8]) -> Result<Invoked> {
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
            .await;
        let not_ready = match out.as_ref().err().and_then(SdkError::as_service_error) {
            Some(InvokeError::ResourceConflictException(e)) => {
                Some(e.message().unwrap_or("ResourceConflictException"))
            }
            Some(InvokeError::ResourceNotReadyException(e)) => {
                Some(e.message().unwrap_or("ResourceNotReadyException"))
            }
            Some(InvokeError::SnapStartNotReadyException(e)) => {
                Some(e.message().unwrap_or("SnapStartNotReadyException"))
            }
            Some(InvokeError::CodeArtifactUserPendingException(e)) => {
                Some(e.message().unwrap_or("CodeArtifactUserPendingException"))
            }
            _ => None,
        };
        if let Some(message) = not_ready {
            return Ok(Invoked::NotReady(message.to_owned()));
        }
        let out = out.map_err(|e| aws_error(format!("invoke {name}:{qualifier}"), e))?;
        Ok(Invoked::Answered(Invocation {
            function_error: out.function_error,
            payload: out.payload.map(Blob::into_inner).unwrap_or_default(),
            executed_version: out.executed_version,
        }))
    }
}
