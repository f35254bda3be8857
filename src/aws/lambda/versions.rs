//! Published versions: publish `$LATEST` (guarded by its CodeSha256 and
//! RevisionId, with a description of its own), list them, delete one.

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::list_versions_by_function::ListVersionsByFunctionError;
use aws_sdk_lambda::operation::publish_version::PublishVersionError;
use aws_sdk_lambda::types::State;

use super::Lambda;
use super::state::{FunctionState, state_of_listed};
use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Result};

/// A version [`Lambda::publish`] made (or found).
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Its number.
    pub version: String,
    /// Lambda said in its answer that the version is `Active`. A version can
    /// be `Pending` at first (always with SnapStart, while Lambda takes the
    /// snapshot; also for some VPC and image functions), and cannot be
    /// invoked until it is `Active`: see [`Lambda::wait_until_active`].
    pub active: bool,
    /// The version's description, as Lambda answered: the one asked for,
    /// or, when Lambda returned a version published before, that one's.
    pub description: String,
}

impl Lambda {
    /// Publishes `$LATEST` as a version, only if its code is still
    /// `code_sha256` and (when given) its RevisionId still `revision_id`,
    /// as greenlight last read it: anyone else's change in between makes
    /// Lambda refuse, and nothing is published (exit 1). Returns the version
    /// and whether Lambda says it is `Active` yet; Lambda returns the
    /// existing latest version when nothing changed since it was published
    /// (with its own description). `description` is the new version's
    /// (at most 256 characters; Lambda refuses more); without one, the
    /// version takes the function's.
    pub async fn publish(
        &self,
        name: &str,
        code_sha256: &str,
        revision_id: Option<&str>,
        description: Option<&str>,
    ) -> Result<Published> {
        let out = self
            .retry_on_conflict(
                name,
                |e: SdkError<PublishVersionError, HttpResponse>| {
                    let changed = e
                        .as_service_error()
                        .is_some_and(PublishVersionError::is_precondition_failed_exception);
                    let err = aws_error(format!("publish a version of function {name}"), e);
                    if !changed {
                        return err;
                    }
                    Error {
                        message: format!(
                            "function {name} was changed by someone else while greenlight deployed it (its RevisionId or code is not what greenlight last saw): nothing was published"
                        ),
                        ..err
                    }
                    .with_hint(
                        "another deploy or a person is changing the function; check it, then deploy again",
                    )
                },
                PublishVersionError::is_resource_conflict_exception,
                || {
                    self.client
                        .publish_version()
                        .function_name(name)
                        .code_sha256(code_sha256)
                        .set_revision_id(revision_id.map(str::to_owned))
                        .set_description(description.map(str::to_owned))
                        .send()
                },
            )
            .await?;
        let active = out.state == Some(State::Active);
        let description = out.description.unwrap_or_default();
        let version = out.version.ok_or_else(|| {
            Error::no_traffic_moved(format!(
                "Lambda published function {name} without a version number"
            ))
        })?;
        // Lambda refuses a publish whose guard does not match; checked here
        // too, so a version holding other code is never tested or released
        // (some emulators ignore the guard).
        match out.code_sha256.as_deref() {
            Some(published) if published != code_sha256 => Err(Error::no_traffic_moved(format!(
                "version {version} of function {name} holds code with CodeSha256 {published}, not the {code_sha256} greenlight deployed: someone else changed $LATEST meanwhile"
            ))
            .with_hint(format!("version {version} gets no traffic; find out who else deploys this function, then deploy again"))),
            _ => Ok(Published {
                version,
                active,
                description,
            }),
        }
    }

    /// Deletes one published version.
    pub async fn delete_version(&self, name: &str, version: &str) -> Result<()> {
        self.retry_on_conflict(
            name,
            |e| aws_error(format!("delete version {version} of function {name}"), e),
            aws_sdk_lambda::operation::delete_function::DeleteFunctionError::is_resource_conflict_exception,
            || {
                self.client
                    .delete_function()
                    .function_name(name)
                    .qualifier(version)
                    .send()
            },
        )
        .await?;
        Ok(())
    }

    /// All published versions, oldest first (`$LATEST` left out).
    pub async fn versions(&self, name: &str) -> Result<Vec<FunctionState>> {
        let mut versions = self
            .listed(name)
            .await
            .map_err(|e| aws_error(format!("list versions of function {name}"), e))?;
        versions.retain(|v| v.version != "$LATEST");
        versions.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(0));
        Ok(versions)
    }

    /// `$LATEST` and every published version of `name`, as Lambda lists
    /// them (one `ListVersionsByFunction` call per 50 versions), their
    /// environments included; none when the function does not exist.
    pub async fn all_versions(&self, name: &str) -> Result<Vec<FunctionState>> {
        match self.listed(name).await {
            Ok(all) => Ok(all),
            Err(e)
                if e.as_service_error()
                    .is_some_and(ListVersionsByFunctionError::is_resource_not_found_exception) =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(aws_error(format!("list versions of function {name}"), e)),
        }
    }

    /// `$LATEST` and every published version, as Lambda lists them.
    async fn listed(
        &self,
        name: &str,
    ) -> Result<Vec<FunctionState>, SdkError<ListVersionsByFunctionError, HttpResponse>> {
        let mut pages = self
            .client
            .list_versions_by_function()
            .function_name(name)
            .into_paginator()
            .send();
        let mut versions = Vec::new();
        while let Some(page) = pages.next().await {
            versions.extend(page?.versions().iter().map(state_of_listed));
        }
        Ok(versions)
    }
}
