//! Faults the emulator cannot produce, injected at exact calls with
//! aws-smithy-mocks: a function error once traffic moved, a rollback write
//! that fails, and another runner changing the alias (moto never
//! enforces `RevisionId`).

use std::path::Path;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::operation::update_alias::{UpdateAliasError, UpdateAliasOutput};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use aws_sdk_lambda::types::error::{PreconditionFailedException, ServiceException};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

use super::*;
use crate::aws::Seams;
use crate::aws::cloudwatch::CloudWatch;
use crate::aws::lambda::{Lambda, WaitPolicy};
use crate::aws::s3::Artifacts;
use crate::config::Config;
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

/// Runs `body` with a context whose Lambda answers with `rules`.
async fn with_ctx<T>(config: &str, rules: &[&Rule], body: impl AsyncFnOnce(Ctx<'_>) -> T) -> T {
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, rules);
    with_lambda(config, client, body).await
}

/// Runs `body` with a context whose Lambda is `client`.
async fn with_lambda<T>(config: &str, client: Client, body: impl AsyncFnOnce(Ctx<'_>) -> T) -> T {
    let config = Config::parse(Path::new("greenlight.toml"), config).expect("config");
    let no_rules: &[&Rule] = &[];
    let seams = Seams {
        lambda: Lambda::new(client, WaitPolicy::default()),
        cloudwatch: CloudWatch::new(mock_client!(
            aws_sdk_cloudwatch,
            RuleMode::MatchAny,
            no_rules
        )),
        artifacts: Artifacts::new(mock_client!(aws_sdk_s3, RuleMode::MatchAny, no_rules)),
        dns: crate::aws::route53::Dns::new(
            mock_client!(aws_sdk_route53, RuleMode::MatchAny, no_rules),
            std::time::Duration::from_millis(1),
        ),
        // Never called: these contexts release through the alias.
        elbv2: crate::aws::elbv2::Elbv2::new(
            aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::Config::builder()
                    .behavior_version_latest()
                    .build(),
            ),
            std::time::Duration::from_millis(1),
        ),
    };
    let ui = Ui::new(OutputFormat::Json, 0, Redactor::default());
    let notify = crate::notify::Notifier::none();
    body(Ctx::new(&config, &seams, &ui, &notify)).await
}

fn version(v: &'static str) -> Rule {
    mock!(Client::get_function_configuration)
        .match_requests(move |r| r.qualifier() == Some(v))
        .then_output(move || {
            GetFunctionConfigurationOutput::builder()
                .version(v)
                .role("r")
                .build()
        })
}

#[tokio::test]
async fn function_error_after_release_rolls_back_and_a_failed_rollback_is_exit_4() {
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
        .match_requests(|r| r.function_version() == Some("5") && r.revision_id() == Some("r1"))
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
    let rules = [&version("5"), &alias, &invoke, &forward, &back];

    let err = with_ctx(CONFIG, &rules, async |ctx| {
        crate::release::release(ctx, "5", true).await
    })
    .await
    .expect_err("rollback failed");
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

#[tokio::test]
async fn a_panic_after_traffic_moved_still_rolls_back_with_exit_3() {
    let plan = Plan {
        steps: vec![10],
        bake: Duration::from_secs(3600),
    };
    let canary = Record::canary("5", "4", 0, &plan).to_string();
    // Before the move the alias is on 4 alone; after it, 10 % on 5.
    let alias = mock!(Client::get_alias)
        .sequence()
        .output(|| {
            GetAliasOutput::builder()
                .function_version("4")
                .revision_id("r1")
                .build()
        })
        .output(move || {
            GetAliasOutput::builder()
                .function_version("4")
                .routing_config(
                    AliasRoutingConfiguration::builder()
                        .additional_version_weights("5", 0.1)
                        .build(),
                )
                .description(canary.clone())
                .revision_id("r2")
                .build()
        })
        .repeatedly()
        .build();
    let forward = mock!(Client::update_alias)
        .match_requests(|r| r.revision_id() == Some("r1"))
        .then_output(|| UpdateAliasOutput::builder().revision_id("r2").build());
    let back = mock!(Client::update_alias)
        .match_requests(|r| r.function_version() == Some("4") && r.revision_id() == Some("r2"))
        .then_output(|| UpdateAliasOutput::builder().revision_id("r3").build());
    // Answered by the mock, then the bug panics before it is sent.
    let invoke = mock!(Client::invoke).then_output(|| InvokeOutput::builder().build());
    let rules = [
        &version("5"),
        &version("4"),
        &alias,
        &forward,
        &back,
        &invoke,
    ];
    // A bug in the gate check (the smoke test through the alias), after
    // the first move. (A panicking mock rule would poison the mock.)
    let client = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &rules, |c| c
        .interceptor(crate::aws::testing::PanicOn("Invoke")));
    let config = format!("{CONFIG}[release]\nsteps = [10]\nbake = \"1h\"\n");

    let err = with_lambda(&config, client, async |ctx| {
        crate::release::release(ctx, "5", true).await
    })
    .await
    .expect_err("rolled back");
    assert_eq!(err.exit_code(), 3, "{err}");
    assert!(
        err.message
            .contains("rolled back to version 4: greenlight failed unexpectedly (a bug: overflow adding duration to date)"),
        "{}",
        err.message
    );
    assert_eq!((forward.num_calls(), back.num_calls()), (1, 1));
}

#[tokio::test]
async fn versions_with_different_roles_are_refused_before_anything_moves() {
    let target = version("5");
    let stable = mock!(Client::get_function_configuration)
        .match_requests(|r| r.qualifier() == Some("4"))
        .then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .version("4")
                .role("old-role")
                .build()
        });
    let alias = mock!(Client::get_alias).then_output(|| {
        GetAliasOutput::builder()
            .function_version("4")
            .revision_id("r1")
            .build()
    });
    let write = mock!(Client::update_alias).then_output(|| UpdateAliasOutput::builder().build());
    let rules = [&target, &stable, &alias, &write];
    let config = format!("{CONFIG}[release]\nsteps = [10]\n");

    let err = with_ctx(&config, &rules, async |ctx| {
        crate::release::release(ctx, "5", true).await
    })
    .await
    .expect_err("different roles");
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message
            .contains("different execution roles (old-role and r)"),
        "{}",
        err.message
    );
    assert_eq!(write.num_calls(), 0, "nothing moved");
}

#[tokio::test]
async fn another_runner_changing_the_alias_stops_promote_without_further_writes() {
    let plan = Plan {
        steps: vec![10, 50],
        bake: Duration::from_secs(1),
    };
    let mut record = Record::canary("6", "5", 0, &plan);
    record.at = "2020-01-01T00:00:00Z".to_owned(); // the bake is long over
    let description = record.to_string();
    let alias = mock!(Client::get_alias).then_output(move || {
        GetAliasOutput::builder()
            .function_version("5")
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .additional_version_weights("6", 0.1)
                    .build(),
            )
            .description(description.clone())
            .revision_id("r1")
            .build()
    });
    let invoke = mock!(Client::invoke).then_output(|| {
        InvokeOutput::builder()
            .payload(Blob::new(r#"{"probe":"ok"}"#))
            .build()
    });
    let write = mock!(Client::update_alias).then_error(|| {
        UpdateAliasError::PreconditionFailedException(
            PreconditionFailedException::builder()
                .message("The RevisionId provided does not match")
                .build(),
        )
    });
    // Version 6 is read before the move: Active (no State reported).
    let rules = [&alias, &invoke, &write, &version("6")];

    let err = with_ctx(CONFIG, &rules, async |ctx| {
        crate::release::reading::promote(ctx, None).await
    })
    .await
    .expect_err("conflict");
    assert_eq!(err.failure, Failure::Conflict);
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message.contains("changed by someone else"),
        "{}",
        err.message
    );
    assert_eq!(write.num_calls(), 1, "no rollback write after a conflict");
}

/// A dry run never waits, so it leaves SIGINT and SIGTERM as they are
/// (Ctrl-C ends a long plan at once); a real release catches them from its
/// first move on.
#[tokio::test]
async fn a_dry_run_catches_no_interrupts() {
    with_ctx(CONFIG, &[], async |ctx| {
        let plan = std::sync::Mutex::new(crate::planned::DryRun::new("release"));
        let dry = Ctx {
            dry: Some(&plan),
            ..ctx
        };
        for (ctx, caught) in [(dry, false), (ctx, true)] {
            let router = AnyRouter::Alias(crate::release::routers::alias::AliasRouter::new(
                ctx, None, false,
            ));
            let mut run = Run::start(ctx, router, "2", "1", ctx.config.release.plan.clone());
            run.catch_interrupts();
            assert_eq!(run.interrupts.is_some(), caught);
        }
    })
    .await;
}
