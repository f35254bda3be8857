//! SDK errors in one line for people, never as the SDK's Debug dump.
//!
//! [`credentials`] recognises the failures people meet first, in CI above
//! all, before any AWS call is even sent: no credentials anywhere, an
//! expired SSO session, a role (OIDC web identity, or a profile's
//! `role_arn`) that STS refuses to let greenlight assume. Each is named with
//! its fix. [`chain`] is any other error's causes, outermost first.

use std::error::Error as StdError;
use std::fmt::Display;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;
use aws_smithy_types::error::ErrorMetadata;

use crate::error::Error;

/// How aws-config words an expired SSO token (its error type is private).
const SSO_TOKEN_EXPIRED: &str = "SSO token has expired";

/// What went wrong getting credentials, and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialTrouble {
    /// One line: what is wrong.
    pub cause: String,
    /// One line: what to do.
    pub hint: String,
}

/// The credential failure behind `err`, if that is what stopped the call.
pub fn credentials(err: &(dyn StdError + 'static)) -> Option<CredentialTrouble> {
    let found = causes(err).find_map(|e| e.downcast_ref::<CredentialsError>())?;
    let trouble = |cause: String, hint: &str| {
        Some(CredentialTrouble {
            cause,
            hint: hint.to_owned(),
        })
    };
    if let CredentialsError::CredentialsNotLoaded(_) = found {
        return trouble(
            "no AWS credentials found (none in the environment, the shared config and credentials files, web identity, ECS or instance metadata)".to_owned(),
            "in GitHub Actions, run aws-actions/configure-aws-credentials with role-to-assume first (the job needs `permissions: id-token: write`); elsewhere set AWS_PROFILE, or run `aws configure` or `aws sso login`",
        );
    }
    let inner = || causes(found).skip(1);
    let web_identity = inner().find_map(web_identity_refusal);
    let refused = web_identity
        .clone()
        .or_else(|| inner().find_map(role_refusal));
    if let Some(refused) = refused {
        let role = match std::env::var("AWS_ROLE_ARN") {
            Ok(arn) if web_identity.is_some() => format!("role {arn}"),
            _ => "the role".to_owned(),
        };
        return trouble(
            format!("STS refused to let greenlight assume {role}: {refused}"),
            "check the role's trust policy: for GitHub Actions OIDC it must trust token.actions.githubusercontent.com with this repository and branch as `sub` (README, \"In CI\"), and the job needs `permissions: id-token: write`",
        );
    }
    let sso_expired = inner().any(|e| e.to_string().contains(SSO_TOKEN_EXPIRED));
    let sso_refused = inner().find_map(sso_refusal);
    if sso_expired || sso_refused.is_some() {
        let why = sso_refused.map_or_else(String::new, |why| format!(" ({why})"));
        return trouble(
            format!("the AWS SSO session has expired{why}"),
            "run `aws sso login` (with --profile for a named profile) and run greenlight again; in CI, use an OIDC role instead of SSO",
        );
    }
    // The provider's own words ("an error occurred while loading
    // credentials") say no more than this line does.
    let why = found.source().map_or_else(|| chain(found), chain);
    trouble(
        format!("AWS credentials could not be loaded: {why}"),
        "check the credential settings greenlight is given: AWS_PROFILE or --profile, and that profile in ~/.aws/config",
    )
}

/// `err` and its causes, outermost first, as one line: each level's own
/// words once, joined by `: `; a service's error metadata as `code: message`.
pub fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in causes(err) {
        let text = match e.downcast_ref::<ErrorMetadata>() {
            Some(meta) => metadata_words(meta),
            None => e.to_string(),
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        // Some levels repeat their source's words after their own.
        if text.is_empty() || parts.iter().any(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// `err`, then each `source()` in turn.
fn causes<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

/// STS's refusal to assume a role with a web identity (OIDC) token, as
/// `code: message`.
fn web_identity_refusal(e: &(dyn StdError + 'static)) -> Option<String> {
    e.downcast_ref::<SdkError<AssumeRoleWithWebIdentityError, HttpResponse>>()
        .and_then(|e| e.as_service_error().map(service_words))
}

/// STS's refusal to assume a profile's `role_arn`, as `code: message`.
fn role_refusal(e: &(dyn StdError + 'static)) -> Option<String> {
    e.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>()
        .and_then(|e| e.as_service_error().map(service_words))
}

/// The SSO portal's refusal of a cached token (a legacy SSO profile reads
/// the token without checking its expiry, and the portal says no).
fn sso_refusal(e: &(dyn StdError + 'static)) -> Option<String> {
    e.downcast_ref::<SdkError<GetRoleCredentialsError, HttpResponse>>()
        .and_then(SdkError::as_service_error)
        .filter(|e| e.code() == Some("UnauthorizedException"))
        .map(service_words)
}

fn service_words(e: &impl ProvideErrorMetadata) -> String {
    metadata_words(e.meta())
}

fn metadata_words(meta: &ErrorMetadata) -> String {
    match (meta.code(), meta.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        (None, Some(message)) => message.to_owned(),
        (None, None) => "an error without a code".to_owned(),
    }
}

/// Turns an SDK error into an [`Error`] (exit 1) saying what could not be done.
pub fn aws_error<E>(action: impl Display, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(trouble) = credentials(&err) {
        return Error::no_traffic_moved(format!("could not {action}: {}", trouble.cause))
            .with_hint(trouble.hint);
    }
    let service = err.as_service_error();
    // A 403 without a body (S3's answer to HEAD) is a denial all the same.
    let forbidden = err
        .raw_response()
        .is_some_and(|r| r.status().as_u16() == 403)
        .then(|| "AccessDenied".to_owned());
    let code = service
        .and_then(|e| e.code())
        .map(str::to_owned)
        .or(forbidden);
    let cause = match (&code, service.and_then(|e| e.message())) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.clone(),
        _ => chain(&err),
    };
    let hint = match code.as_deref() {
        Some("AccessDeniedException" | "AccessDenied") => Some(format!(
            "the AWS identity in use lacks the permission {}; templates/iam-policy.json (written by `greenlight init` as greenlight-iam-policy.json) lists every permission greenlight needs",
            iam_action::<E>()
        )),
        Some("ResourceNotFoundException") => {
            Some("check function.name, the alias and --region".to_owned())
        }
        Some(_) => None,
        None if matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        ) =>
        {
            Some(
                "AWS could not be reached: check the network, --endpoint-url / AWS_ENDPOINT_URL and the credentials"
                    .to_owned(),
            )
        }
        None => None,
    };
    let err = Error::no_traffic_moved(format!("could not {action}")).with_cause(cause);
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// The IAM action an SDK operation needs, from its error type's name:
/// `aws_sdk_lambda::operation::update_alias::UpdateAliasError` needs
/// `lambda:UpdateAlias`. The few whose action is named differently are
/// mapped (`Invoke` needs `lambda:InvokeFunction`, `HeadObject`
/// `s3:GetObject`).
pub fn iam_action<E>() -> String {
    let name = std::any::type_name::<E>();
    let service = name
        .strip_prefix("aws_sdk_")
        .and_then(|rest| rest.split("::").next())
        .unwrap_or("aws");
    let operation = name
        .rsplit("::")
        .next()
        .unwrap_or_default()
        .trim_end_matches("Error");
    match (service, operation) {
        ("lambda", "Invoke") => "lambda:InvokeFunction".to_owned(),
        ("s3", "HeadObject") => "s3:GetObject".to_owned(),
        _ => format!("{service}:{operation}"),
    }
}

#[cfg(test)]
mod tests {
    //! The credential errors the emulator cannot produce (a legacy SSO
    //! profile's refused token, a profile's `role_arn` refused), built as
    //! the SDK builds them: the provider's error inside the dispatch failure.

    use super::*;
    use aws_sdk_lambda::operation::get_alias::GetAliasError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;

    /// A Lambda call that failed because `provider_error` stopped its credentials.
    fn dispatch(provider_error: CredentialsError) -> SdkError<GetAliasError, HttpResponse> {
        SdkError::dispatch_failure(ConnectorError::other(Box::new(provider_error), None))
    }

    /// A Lambda call whose credential provider's call was refused: the
    /// service answered `status` with `code` and `message`, as `E`.
    fn refused<E>(
        generic: fn(ErrorMetadata) -> E,
        status: u16,
        code: &str,
        message: &str,
    ) -> SdkError<GetAliasError, HttpResponse>
    where
        E: StdError + Send + Sync + 'static,
    {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let answer = HttpResponse::new(
            status.try_into().expect("status"),
            SdkBody::from("not shown"),
        );
        dispatch(CredentialsError::provider_error(SdkError::service_error(
            generic(meta),
            answer,
        )))
    }

    #[test]
    fn a_legacy_sso_profile_whose_token_the_portal_refuses_reads_as_an_expired_session() {
        let err = refused(
            GetRoleCredentialsError::generic,
            401,
            "UnauthorizedException",
            "Session token not found or invalid",
        );
        let trouble = credentials(&err).expect("a credential failure");
        assert_eq!(
            trouble.cause,
            "the AWS SSO session has expired (UnauthorizedException: Session token not found or invalid)"
        );
        assert!(trouble.hint.contains("aws sso login"), "{}", trouble.hint);
    }

    #[test]
    fn a_profile_role_sts_refuses_is_named_with_the_refusal() {
        let err = refused(
            AssumeRoleError::generic,
            403,
            "AccessDenied",
            "not authorized to perform sts:AssumeRole",
        );
        let trouble = credentials(&err).expect("a credential failure");
        assert!(
            trouble
                .cause
                .ends_with("AccessDenied: not authorized to perform sts:AssumeRole"),
            "{}",
            trouble.cause
        );
        assert!(trouble.hint.contains("trust policy"), "{}", trouble.hint);
    }

    #[test]
    fn other_errors_are_their_causes_on_one_line_without_debug() {
        let err = dispatch(CredentialsError::invalid_configuration(
            "profile `ci` has no region\nand more",
        ));
        let trouble = credentials(&err).expect("a credential failure");
        assert_eq!(
            trouble.cause,
            "AWS credentials could not be loaded: profile `ci` has no region and more"
        );
        let plain: SdkError<GetAliasError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
        assert_eq!(credentials(&plain), None);
        let text = chain(&plain);
        assert!(!text.contains('{') && !text.contains('\n'), "{text}");
        assert!(text.ends_with("connection refused"), "{text}");
    }

    #[test]
    fn iam_actions_are_named_from_the_operation() {
        use aws_sdk_lambda::operation::invoke::InvokeError;
        use aws_sdk_lambda::operation::update_alias::UpdateAliasError;
        assert_eq!(iam_action::<UpdateAliasError>(), "lambda:UpdateAlias");
        assert_eq!(iam_action::<InvokeError>(), "lambda:InvokeFunction");
        assert_eq!(
            iam_action::<aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError>(),
            "cloudwatch:GetMetricData"
        );
        assert_eq!(
            iam_action::<aws_sdk_s3::operation::head_object::HeadObjectError>(),
            "s3:GetObject"
        );
    }
}
