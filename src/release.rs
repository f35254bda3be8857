//! Stage 4, release: move the alias to a published version, then check it through the alias.
//!
//! In: a version number that smoke tests have passed. Out: a
//! [`ReleaseReport`]. AWS calls: `GetFunctionConfiguration` (the version
//! exists), `GetAlias`, then `UpdateAlias` with the alias `RevisionId` (or
//! `CreateAlias` when there is none yet), writing a release [`Record`] with
//! the previous version into the alias description.
//!
//! After the move the smoke tests run once more through the alias. If one
//! fails, or SIGINT/SIGTERM arrives meanwhile, [`rollback::restore`] puts the
//! alias back on the previous version and the report says why (exit 3); if
//! that write fails the error says exactly what to run (exit 4). A new alias
//! has no previous version and no users, so it is not re-checked.
//!
//! Safe to repeat: releasing the version the alias already serves changes nothing.

use crate::error::{Error, Result};
use crate::record::{Action, Record};
use crate::rollback;
use crate::smoke::{self, SmokeReport};
use crate::ui::Ctx;

/// What release did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReleaseReport {
    /// The version released.
    pub version: String,
    /// The version the alias served before, if any.
    pub previous: Option<String>,
    /// True when the alias already served `version`: nothing was written.
    pub already_live: bool,
    /// The smoke tests run through the alias after it moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<SmokeReport>,
    /// Why traffic was moved back to `previous`, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<String>,
}

/// Moves the alias to `version`, checks it, and rolls back on failure.
pub async fn release(ctx: Ctx<'_>, version: &str) -> Result<ReleaseReport> {
    let (name, alias) = (ctx.function(), ctx.alias());
    check_version(ctx, version).await?;
    let report = |previous: Option<String>, already_live| ReleaseReport {
        version: version.to_owned(),
        previous,
        already_live,
        verification: None,
        rolled_back: None,
    };

    let Some(current) = ctx.lambda.alias(name, alias).await? else {
        ctx.ui
            .step(format_args!("creating alias {alias} on version {version}"));
        let record = Record::now(Action::Release, version, None);
        ctx.lambda
            .create_alias(name, alias, version, &record.to_string())
            .await?;
        return Ok(report(None, false));
    };
    if current.version == version && current.weights.is_empty() {
        return Ok(report(Some(current.version), true));
    }

    let previous = current.version;
    ctx.ui.step(format_args!(
        "moving alias {alias}: version {previous} → {version}"
    ));
    let record = Record::now(Action::Release, version, Some(&previous));
    ctx.ui.detail(format_args!("release record: {record}"));
    let revision = ctx
        .lambda
        .point_alias(
            name,
            alias,
            version,
            &record.to_string(),
            current.revision_id.as_deref(),
        )
        .await?;

    let mut done = report(Some(previous.clone()), false);
    if ctx.config.smoke.is_empty() {
        return Ok(done);
    }
    ctx.ui.step(format_args!(
        "checking version {version} through alias {alias}"
    ));
    let reason = tokio::select! {
        checked = smoke::run(ctx.lambda, name, alias, &ctx.config.smoke, ctx.ui.redactor()) => {
            let reason = checked.first_failure().map(|f| {
                format!("smoke test `{}` failed through alias {alias}: {}", f.name, f.failure.as_deref().unwrap_or("failed"))
            });
            done.verification = Some(checked);
            reason
        }
        signal = crate::interrupt::signalled() => Some(format!("interrupted by {signal}")),
    };
    if let Some(reason) = reason {
        ctx.ui
            .step(format_args!("{reason}; rolling back to version {previous}"));
        rollback::restore(ctx, &previous, version, revision.as_deref(), &reason).await?;
        done.rolled_back = Some(reason);
    }
    Ok(done)
}

/// Fails (exit 1) unless `version` is a published version of the function.
async fn check_version(ctx: Ctx<'_>, version: &str) -> Result<()> {
    let name = ctx.function();
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::usage(format!(
            "version {version:?} is not a published version number"
        ))
        .with_hint("greenlight releases published versions only, never $LATEST or an alias"));
    }
    match ctx.lambda.function(name, version).await? {
        Some(_) => Ok(()),
        None => Err(Error::no_traffic_moved(format!(
            "version {version} of function {name} does not exist"
        ))
        .with_hint(
            "run `greenlight deploy` to publish one, or `greenlight status` to list versions",
        )),
    }
}

#[cfg(test)]
mod tests {
    //! Faults the emulator cannot produce: a function error, and a rollback
    //! write that fails. Injected with aws-smithy-mocks.

    use std::path::Path;

    use aws_sdk_lambda::Client;
    use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
    use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
    use aws_sdk_lambda::operation::invoke::InvokeOutput;
    use aws_sdk_lambda::operation::update_alias::{UpdateAliasError, UpdateAliasOutput};
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::error::ServiceException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;
    use crate::config::Config;
    use crate::lambda::{Lambda, WaitPolicy};
    use crate::secrets::Redactor;
    use crate::ui::{OutputFormat, Ui};

    const CONFIG: &str = r#"
[function]
name = "orders"
[[smoke]]
name = "echo"
payload = { probe = "ok" }
expect = { probe = "ok" }
"#;

    #[tokio::test]
    async fn function_error_after_release_rolls_back_and_a_failed_rollback_is_exit_4() {
        let version = mock!(Client::get_function_configuration).then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .version("5")
                .build()
        });
        let alias = mock!(Client::get_alias).then_output(|| {
            GetAliasOutput::builder()
                .function_version("4")
                .revision_id("r1")
                .build()
        });
        let invoke = mock!(Client::invoke).then_output(|| {
            InvokeOutput::builder()
                .function_error("Unhandled")
                .payload(Blob::new(r#"{"errorMessage":"boom"}"#))
                .build()
        });
        let forward = mock!(Client::update_alias)
            .match_requests(|r| r.function_version() == Some("5"))
            .then_output(|| UpdateAliasOutput::builder().revision_id("r2").build());
        let back = mock!(Client::update_alias)
            .match_requests(|r| r.function_version() == Some("4") && r.revision_id() == Some("r2"))
            .then_error(|| {
                UpdateAliasError::ServiceException(
                    ServiceException::builder()
                        .message("Lambda is down")
                        .build(),
                )
            });
        let client = mock_client!(
            aws_sdk_lambda,
            RuleMode::MatchAny,
            [&version, &alias, &invoke, &forward, &back]
        );

        let config = Config::parse(Path::new("greenlight.toml"), CONFIG).expect("config");
        let lambda = Lambda::new(client, WaitPolicy::default());
        let ui = Ui::new(OutputFormat::Json, 0, Redactor::default());
        let ctx = Ctx {
            config: &config,
            lambda: &lambda,
            ui: &ui,
        };

        let err = release(ctx, "5").await.expect_err("rollback failed");
        assert_eq!(err.exit_code(), 4);
        assert!(
            err.message
                .contains("may still send traffic to version 5; version 4 was live before"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("function error (Unhandled)"),
            "{}",
            err.message
        );
        let hint = err.hint.unwrap_or_default();
        assert!(
            hint.contains(
                "aws lambda update-alias --function-name orders --name live --function-version 4"
            ),
            "{hint}"
        );
        assert_eq!((forward.num_calls(), back.num_calls()), (1, 1));
    }
}
