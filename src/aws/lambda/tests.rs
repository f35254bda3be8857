//! What the emulator cannot do (it never reports conflicts or stuck
//! updates), injected at exact calls with aws-smithy-mocks.

use super::state::state_of;
use super::*;
use crate::error::Failure;
use crate::secrets::Environment;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::update_function_code::{
    UpdateFunctionCodeError, UpdateFunctionCodeOutput,
};
use aws_sdk_lambda::types::error::ResourceConflictException;
use aws_sdk_lambda::types::{LastUpdateStatus, State};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use bytes::Bytes;

fn config(status: LastUpdateStatus) -> GetFunctionConfigurationOutput {
    GetFunctionConfigurationOutput::builder()
        .state(State::Active)
        .last_update_status(status)
        .last_update_status_reason("the new image could not be pulled")
        .code_sha256("abc")
        .build()
}

#[tokio::test(start_paused = true)]
async fn conflict_while_an_update_is_in_progress_is_waited_out() {
    let update = mock!(Client::update_function_code)
        .sequence()
        .error(|| {
            UpdateFunctionCodeError::ResourceConflictException(
                ResourceConflictException::builder()
                    .message("update in progress")
                    .build(),
            )
        })
        .output(|| UpdateFunctionCodeOutput::builder().build())
        .build();
    let poll = mock!(Client::get_function_configuration)
        .sequence()
        .output(|| config(LastUpdateStatus::InProgress))
        .output(|| config(LastUpdateStatus::Successful))
        .repeatedly()
        .build();
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &poll]),
        WaitPolicy::default(),
    );

    let state = lambda
        .update_code("orders", Code::Zip(&Bytes::from_static(b"PK")), None)
        .await
        .expect("conflict is waited out");
    assert_eq!(state.code_sha256, "abc");
    assert_eq!(
        update.num_calls(),
        2,
        "the update was tried again after the conflict"
    );
}

#[tokio::test(start_paused = true)]
async fn update_stuck_in_progress_then_failed_is_an_error_with_lambdas_reason() {
    let update = mock!(Client::update_function_code)
        .then_output(|| UpdateFunctionCodeOutput::builder().build());
    let poll = mock!(Client::get_function_configuration)
        .sequence()
        .output(|| config(LastUpdateStatus::InProgress))
        .times(3)
        .output(|| config(LastUpdateStatus::Failed))
        .build();
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &poll]),
        WaitPolicy::default(),
    );

    let err = lambda
        .update_code("orders", Code::Zip(&Bytes::from_static(b"PK")), None)
        .await
        .expect_err("update failed");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.message,
        "Lambda could not apply the update of function orders"
    );
    assert_eq!(
        err.cause,
        Some(crate::outside::quote("the new image could not be pulled"))
    );
    assert_eq!(poll.num_calls(), 4);
}

#[tokio::test]
async fn a_published_version_with_other_code_is_refused() {
    use aws_sdk_lambda::operation::publish_version::PublishVersionOutput;
    // Lambda enforces the CodeSha256 guard; an emulator that does not
    // (moto) would publish other code, which greenlight must notice.
    let publish = mock!(Client::publish_version).then_output(|| {
        PublishVersionOutput::builder()
            .version("7")
            .code_sha256("theirs")
            .state(State::Pending)
            .build()
    });
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&publish]),
        WaitPolicy::default(),
    );
    let err = lambda
        .publish("orders", "ours", Some("r1"), None)
        .await
        .expect_err("other code");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.message,
        "version 7 of function orders holds code with CodeSha256 theirs, not the ours greenlight deployed: someone else changed $LATEST meanwhile"
    );
    assert_eq!(
        lambda
            .publish("orders", "theirs", None, None)
            .await
            .expect("same code"),
        Published {
            version: "7".to_owned(),
            active: false,
            description: String::new(),
        }
    );
}

fn version(state: State) -> GetFunctionConfigurationOutput {
    GetFunctionConfigurationOutput::builder()
        .version("7")
        .state(state)
        .state_reason_code(aws_sdk_lambda::types::StateReasonCode::FunctionError)
        .state_reason("the snapshot's initialisation raised an error")
        .build()
}

#[tokio::test(start_paused = true)]
async fn a_pending_version_is_waited_for_and_a_failed_one_named_with_lambdas_reason() {
    let poll = mock!(Client::get_function_configuration)
        .sequence()
        .output(|| version(State::Pending))
        .times(2)
        .output(|| version(State::Active))
        .output(|| version(State::Pending))
        .output(|| version(State::Failed))
        .build();
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&poll]),
        WaitPolicy::default(),
    );
    let active = lambda
        .wait_until_active("orders", "7", Duration::from_secs(900))
        .await
        .expect("active after two polls");
    assert_eq!((active.version.as_str(), poll.num_calls()), ("7", 3));

    let err = lambda
        .wait_until_active("orders", "7", Duration::from_secs(900))
        .await
        .expect_err("failed");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.message,
        "version 7 of function orders failed: Lambda could not make it Active"
    );
    assert_eq!(
        err.cause,
        Some(crate::outside::quote(
            "FunctionError: the snapshot's initialisation raised an error"
        ))
    );
}

fn kept(revision: &str, value: &str) -> GetFunctionConfigurationOutput {
    GetFunctionConfigurationOutput::builder()
        .state(State::Active)
        .last_update_status(LastUpdateStatus::Successful)
        .revision_id(revision)
        .environment(
            aws_sdk_lambda::types::EnvironmentResponse::builder()
                .variables("TF_OWNED", value)
                .build(),
        )
        .build()
}

/// The settings a deploy keeping `TF_OWNED` sends over `state`.
fn keeping(state: &FunctionState) -> FunctionSettings {
    let want = Environment::new([("A".to_owned(), "1".to_owned())].into())
        .keeping(["TF_OWNED".to_owned()].into());
    FunctionSettings {
        environment: Some(want.with_kept_from(&state.environment)),
        ..FunctionSettings::default()
    }
}

fn moved()
-> aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError {
    aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError::PreconditionFailedException(
        aws_sdk_lambda::types::error::PreconditionFailedException::builder()
            .message("The Revision Id provided does not match the latest Revision Id.")
            .build(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_kept_variable_rotated_meanwhile_is_read_again_never_written_back_stale() {
    use aws_sdk_lambda::operation::update_function_configuration::{
        UpdateFunctionConfigurationInput, UpdateFunctionConfigurationOutput,
    };
    let value = |req: &UpdateFunctionConfigurationInput| {
        req.environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get("TF_OWNED"))
            .cloned()
    };
    // Terraform rotated TF_OWNED after greenlight read r1: Lambda
    // refuses the write made from r1, and takes the one made from r2.
    let stale = mock!(Client::update_function_configuration)
        .match_requests(move |req| req.revision_id() == Some("r1"))
        .then_error(moved);
    let fresh = mock!(Client::update_function_configuration)
        .match_requests(move |req| {
            req.revision_id() == Some("r2") && value(req).as_deref() == Some("rotated")
        })
        .then_output(|| UpdateFunctionConfigurationOutput::builder().build());
    let read = mock!(Client::get_function_configuration).then_output(|| kept("r2", "rotated"));
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&stale, &fresh, &read]),
        WaitPolicy::default(),
    );
    let first = state_of(&kept("r1", "old"));
    let configured = lambda
        .configure("orders", &first, keeping)
        .await
        .expect("written from the fresh read");
    assert_eq!((stale.num_calls(), fresh.num_calls()), (1, 1));
    assert_eq!(configured.before.revision_id.as_deref(), Some("r2"));
    assert_eq!(
        configured.before.environment.expose()["TF_OWNED"],
        "rotated"
    );
}

#[tokio::test(start_paused = true)]
async fn a_configuration_that_keeps_changing_is_tried_a_bounded_number_of_times() {
    let update = mock!(Client::update_function_configuration).then_error(moved);
    let read = mock!(Client::get_function_configuration).then_output(|| kept("r2", "rotated"));
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &read]),
        WaitPolicy::default(),
    );
    let err = lambda
        .configure("orders", &state_of(&kept("r1", "old")), keeping)
        .await
        .expect_err("gives up");
    assert_eq!(update.num_calls(), CONFIGURE_ATTEMPTS as usize);
    assert_eq!((err.failure, err.exit_code()), (Failure::Conflict, 1));
    assert_eq!(
        err.message,
        "function orders kept being changed by someone else while greenlight updated its configuration (3 tries, its RevisionId moved each time): nothing was written"
    );
}

#[tokio::test(start_paused = true)]
async fn tags_wait_out_an_update_in_progress() {
    use aws_sdk_lambda::operation::tag_resource::{TagResourceError, TagResourceOutput};
    let tag = mock!(Client::tag_resource)
        .sequence()
        .error(|| {
            TagResourceError::ResourceConflictException(
                ResourceConflictException::builder()
                    .message("update in progress")
                    .build(),
            )
        })
        .output(|| TagResourceOutput::builder().build())
        .build();
    let poll = mock!(Client::get_function_configuration)
        .then_output(|| config(LastUpdateStatus::Successful));
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&tag, &poll]),
        WaitPolicy::default(),
    );
    let set = [("team".to_owned(), "orders".to_owned())].into();
    lambda
        .retag(
            "arn:aws:lambda:us-east-1:123456789012:function:orders:7",
            &set,
            &[],
        )
        .await
        .expect("tagged after the conflict");
    assert_eq!(tag.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_inactive_version_is_woken_once_then_waited_for() {
    use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
    use aws_sdk_lambda::types::error::SnapStartNotReadyException;
    let poll = mock!(Client::get_function_configuration)
        .sequence()
        .output(|| version(State::Inactive))
        .output(|| version(State::Pending))
        .output(|| version(State::Inactive))
        .output(|| version(State::Active))
        .build();
    // The wake's answer is not looked at; the next invoke is refused.
    let wake = mock!(Client::invoke)
        .sequence()
        .output(|| InvokeOutput::builder().build())
        .error(|| {
            InvokeError::SnapStartNotReadyException(
                SnapStartNotReadyException::builder()
                    .message("Lambda is initializing your function")
                    .build(),
            )
        })
        .build();
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&poll, &wake]),
        WaitPolicy::default(),
    );
    let active = lambda
        .wait_until_active("orders", "7", Duration::from_secs(900))
        .await
        .expect("woken");
    assert_eq!(active.readiness, Readiness::Active);
    assert_eq!((poll.num_calls(), wake.num_calls()), (4, 1), "woken once");

    // An invoke refused while SnapStart initialises is "not ready".
    assert_eq!(
        lambda.invoke("orders", "7", b"{}").await.expect("answered"),
        Invoked::NotReady("Lambda is initializing your function".to_owned())
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_that_never_finishes_times_out() {
    let poll = mock!(Client::get_function_configuration)
        .sequence()
        .output(|| config(LastUpdateStatus::InProgress))
        .repeatedly()
        .build();
    let waits = WaitPolicy {
        timeout: Duration::from_secs(60),
        ..WaitPolicy::default()
    };
    let lambda = Lambda::new(
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&poll]),
        waits,
    );

    let err = lambda
        .wait_until_ready("orders")
        .await
        .expect_err("times out");
    assert_eq!(err.message, "function orders was still updating after 1m");
    assert!(
        poll.num_calls() > 5,
        "polled repeatedly, {} times",
        poll.num_calls()
    );
}
