//! Stage 3, smoke tests: check exactly one version (or, as a gate, the
//! alias) and judge the answers.
//!
//! In: a [`Target`] and the `[[smoke]]` tests. Out: a [`SmokeReport`] with
//! one result per test, each with its duration. Three kinds of test: invoke
//! the function (`Invoke`, the only AWS call here), an HTTP request
//! ([`crate::checks::http`], e.g. a function URL or the API in front of the
//! function, with placeholders for the version, alias and endpoint), or a
//! command ([`crate::checks::command`]) that gets the target in its
//! environment. Safe to repeat; changes nothing by itself.
//!
//! An invoke test fails on a function error (unless `expect_error` asks for
//! one), on a response that does not contain the expected keys with equal
//! values, on an invoke error, or when no answer comes within its timeout;
//! a command still running at its timeout is killed with everything it
//! started.
//! A test with `retries` runs again after `retry_delay` until it passes.
//! An invocation Lambda refuses because the target is not ready yet
//! (`Pending`) is no answer, so it fails nothing and uses no retry: the
//! target is waited for until Lambda says it is `Active` (up to
//! `function.ready_timeout`), then the attempt runs again.
//! Every test runs, so a report shows all failures at once. Text taken from
//! responses, bodies, command output and errors is outside text
//! ([`crate::outside`]): masked, then cut, where it is shown.

use std::time::Instant;

use serde_json::Value;

use crate::aws::lambda::{Invoked, Lambda};
use crate::config::PLACEHOLDERS;
use crate::config::{Check, SmokeTest};
use crate::context::Ctx;
use crate::error::Error;
use crate::outside;

/// How many times one attempt waits for its target to become ready when
/// Lambda refuses to invoke it, before that refusal counts as a failure.
const READY_WAITS: u32 = 3;

/// The outcome of one smoke test.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SmokeResult {
    /// The test's name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// How long the invocation took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed: what was expected and what came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The outcome of a run of smoke tests against one target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SmokeReport {
    /// The qualifier invoked: a version number or an alias name.
    pub target: String,
    /// One result per test, in config order.
    pub results: Vec<SmokeResult>,
}

impl SmokeReport {
    /// True when every test passed (and vacuously when there are none).
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.passed)
    }

    /// The first failed test, if any.
    pub fn first_failure(&self) -> Option<&SmokeResult> {
        self.results.iter().find(|r| !r.passed)
    }
}

/// What a smoke run checks: a version before it gets traffic, or (as a gate)
/// the alias.
#[derive(Debug, Clone)]
pub struct Target {
    /// The function name.
    pub function: String,
    /// What is invoked: a version number or the alias.
    pub qualifier: String,
    /// The version under test (the one being released, when the qualifier
    /// is the alias).
    pub version: String,
    /// The alias (users' way in).
    pub alias: String,
    /// The AWS region.
    pub region: String,
    /// In DNS mode, the endpoint of the colour under test.
    pub endpoint: Option<String>,
    /// The candidate alias (`release.candidate`), which deploy pointed at
    /// the new version.
    pub candidate: Option<String>,
}

impl Target {
    /// The new `version`; in DNS mode reached through the idle colour,
    /// where deploy staged it.
    pub fn version(ctx: Ctx<'_>, version: &str) -> Target {
        let idle = ctx
            .config
            .dns
            .as_ref()
            .and_then(|d| d.colours.iter().find(|c| c.alias != ctx.alias()));
        Target::new(ctx, version, idle.map(|c| c.value.clone()))
    }

    /// The alias during the release of `version`; in DNS mode through the
    /// endpoint of the colour behind it.
    pub fn alias(ctx: Ctx<'_>, version: &str) -> Target {
        let colour = ctx
            .config
            .dns
            .as_ref()
            .and_then(|d| d.colours.iter().find(|c| c.alias == ctx.alias()));
        Target {
            version: version.to_owned(),
            ..Target::new(ctx, ctx.alias(), colour.map(|c| c.value.clone()))
        }
    }

    fn new(ctx: Ctx<'_>, qualifier: &str, endpoint: Option<String>) -> Target {
        Target {
            function: ctx.function().to_owned(),
            qualifier: qualifier.to_owned(),
            version: qualifier.to_owned(),
            alias: ctx.alias().to_owned(),
            region: ctx.lambda.region(),
            endpoint,
            candidate: ctx.config.release.candidate.clone(),
        }
    }

    /// `text` with the [`PLACEHOLDERS`] filled in.
    pub fn fill(&self, text: &str) -> String {
        let values = [
            &self.function,
            &self.version,
            &self.alias,
            &self.qualifier,
            &self.region,
            self.endpoint.as_deref().unwrap_or(""),
            self.candidate.as_deref().unwrap_or(""),
        ];
        PLACEHOLDERS
            .iter()
            .zip(values)
            .fold(text.to_owned(), |text, (placeholder, value)| {
                text.replace(placeholder, value)
            })
    }
}

/// Runs every test against `target`, each until it passes or its retries
/// are used up.
pub async fn run(ctx: Ctx<'_>, target: &Target) -> SmokeReport {
    let tests = &ctx.config.smoke;
    let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    if !tests.is_empty()
        && ctx.dry_then(format_args!(
            "invoke {} with the smoke tests ({}); a failure stops here, before any traffic moves",
            crate::planned::label(&target.qualifier),
            names.join(", ")
        ))
    {
        return SmokeReport {
            target: target.qualifier.clone(),
            results: Vec::new(),
        };
    }
    let mut results = Vec::with_capacity(tests.len());
    for test in tests {
        let started = Instant::now();
        let busy = ctx.ui.spinner(format_args!("smoke test {}", test.name));
        let mut failure = None;
        for attempt in 0..=test.retries {
            if attempt > 0 {
                tokio::time::sleep(test.retry_delay).await;
            }
            failure = attempt_when_ready(ctx, target, test).await;
            if failure.is_none() {
                break;
            }
        }
        drop(busy);
        results.push(SmokeResult {
            name: test.name.clone(),
            passed: failure.is_none(),
            duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
            failure,
        });
    }
    SmokeReport {
        target: target.qualifier.clone(),
        results,
    }
}

/// What one attempt of a test came to.
#[derive(Debug, PartialEq)]
enum Attempt {
    /// An answer, judged: `None` when it passed, else why it failed.
    Judged(Option<String>),
    /// Lambda refused to invoke the target because it is not ready yet
    /// (its message): nothing to judge.
    NotReady(String),
}

/// One attempt of one test, run again after waiting until the target is
/// `Active` while Lambda says it is not ready; `None` when it passed, else
/// why it failed.
async fn attempt_when_ready(ctx: Ctx<'_>, target: &Target, test: &SmokeTest) -> Option<String> {
    let mut waits = 0;
    loop {
        let why = match attempt_once(ctx, target, test).await {
            Attempt::Judged(failure) => return failure,
            Attempt::NotReady(why) => outside::quote(&why),
        };
        if waits == READY_WAITS {
            return Some(format!(
                "Lambda still refuses to invoke {}:{} after saying it was Active: {why}",
                target.function, target.qualifier
            ));
        }
        waits += 1;
        ctx.ui.step(format_args!(
            "{}:{} is not ready yet ({why}): waiting until Lambda says it is Active",
            target.function, target.qualifier
        ));
        let deadline = ctx.config.function.ready_timeout;
        if let Err(e) = ctx
            .lambda
            .wait_until_active(&target.function, &target.qualifier, deadline)
            .await
        {
            return Some(described(e));
        }
    }
}

/// An error as one line for a smoke test's failure.
fn described(e: Error) -> String {
    match e.cause {
        Some(cause) => format!("{}: {cause}", e.message),
        None => e.message,
    }
}

/// One attempt of one test.
async fn attempt_once(ctx: Ctx<'_>, target: &Target, test: &SmokeTest) -> Attempt {
    let checked = async {
        match &test.check {
            Check::Invoke {
                payload,
                expect,
                expect_error,
            } => {
                invoke(
                    ctx.lambda,
                    target,
                    payload,
                    expect.as_ref(),
                    expect_error.as_deref(),
                )
                .await
            }
            Check::Http(http) => {
                Attempt::Judged(crate::checks::http::check(http, target, test.timeout).await)
            }
            Check::Command { run, dir } => {
                Attempt::Judged(crate::checks::command::check(ctx, run, dir, target).await)
            }
        }
    };
    let timeout = humantime::format_duration(test.timeout);
    match tokio::time::timeout(test.timeout, checked).await {
        Ok(outcome) => outcome,
        Err(_) => Attempt::Judged(Some(match &test.check {
            // Dropping the check killed the command's process group.
            Check::Command { run, .. } => {
                format!("`{run}` still running after {timeout}: killed with its child processes")
            }
            Check::Invoke { .. } | Check::Http(_) => format!("no answer within {timeout}"),
        })),
    }
}

/// Invokes the function once and judges the answer.
async fn invoke(
    lambda: &Lambda,
    target: &Target,
    payload: &Value,
    expect: Option<&Value>,
    expect_error: Option<&str>,
) -> Attempt {
    let payload = payload.to_string();
    match lambda
        .invoke(&target.function, &target.qualifier, payload.as_bytes())
        .await
    {
        Err(e) => Attempt::Judged(Some(described(e))),
        Ok(Invoked::NotReady(why)) => Attempt::NotReady(why),
        Ok(Invoked::Answered(answer)) => {
            Attempt::Judged(judge(&answer, target, expect, expect_error))
        }
    }
}

/// `None` when an invocation's answer is as expected, else why not.
fn judge(
    answer: &crate::aws::lambda::Invocation,
    target: &Target,
    expect: Option<&Value>,
    expect_error: Option<&str>,
) -> Option<String> {
    // A version under test must be the one that answered (an alias may be
    // answered by either side of a split).
    if let Some(ran) = &answer.executed_version
        && target.qualifier == target.version
        && *ran != target.version
    {
        return Some(format!(
            "version {ran} answered, not version {} under test",
            target.version
        ));
    }
    let text = String::from_utf8_lossy(&answer.payload);
    match (&answer.function_error, expect_error) {
        (Some(kind), None) => {
            return Some(format!(
                "function error ({kind}): {}",
                outside::excerpt(&text)
            ));
        }
        (None, Some(wanted)) => {
            return Some(format!(
                "expected a function error containing {wanted:?}, got a normal answer: {}",
                outside::excerpt(&text)
            ));
        }
        (Some(_), Some(wanted)) if !text.contains(wanted) => {
            return Some(format!(
                "expected a function error containing {wanted:?}, got {}",
                outside::excerpt(&text)
            ));
        }
        (Some(_), Some(_)) => return None,
        (None, None) => {}
    }
    let expect = expect?;
    json_mismatch(expect, &answer.payload)
}

/// Where a JSON body fails to contain `expect`, with the body for evidence.
pub fn json_mismatch(expect: &Value, body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let Ok(actual) = serde_json::from_slice::<Value>(body) else {
        return Some(format!(
            "expected a JSON response containing {}, got {}",
            excerpt(&expect.to_string()),
            outside::excerpt(&text)
        ));
    };
    mismatch(expect, &actual, "").map(|m| format!("{m}; response was {}", outside::excerpt(&text)))
}

/// Where `actual` fails to contain `expected`, or `None` when it does.
///
/// Objects match when every expected key is present with a matching value
/// (extra keys are fine); arrays match element by element with equal length;
/// numbers compare by value (`1` equals `1.0`); everything else by equality.
pub fn mismatch(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    let at = if path.is_empty() {
        "the response".to_owned()
    } else {
        format!("`{path}`")
    };
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => want.iter().find_map(|(key, want)| {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match got.get(key) {
                Some(got) => mismatch(want, got, &child),
                None => Some(format!(
                    "expected `{child}` = {want}, but the key is missing"
                )),
            }
        }),
        (Value::Array(want), Value::Array(got)) if want.len() == got.len() => want
            .iter()
            .zip(got)
            .enumerate()
            .find_map(|(i, (w, g))| mismatch(w, g, &format!("{path}[{i}]"))),
        (Value::Number(w), Value::Number(g)) if w.as_f64() == g.as_f64() => None,
        (w, g) if w == g => None,
        (w, g) => Some(format!(
            "expected {at} = {}, got {}",
            excerpt(&w.to_string()),
            outside::excerpt(&g.to_string())
        )),
    }
}

/// greenlight's own `text` (an expected value from the config) trimmed and
/// cut as long as an excerpt of outside text ([`outside::excerpt`]).
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(outside::EXCERPT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Version `v` of function orders as a smoke test's target.
    fn version_target(v: &str) -> Target {
        Target {
            function: "orders".into(),
            qualifier: v.into(),
            version: v.into(),
            alias: "live".into(),
            region: "us-east-1".into(),
            endpoint: None,
            candidate: None,
        }
    }

    /// moto never sets `FunctionError`, so a failing function is injected.
    fn failing_lambda() -> Lambda {
        use aws_sdk_lambda::operation::invoke::InvokeOutput;
        use aws_sdk_lambda::primitives::Blob;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let invoke = mock!(aws_sdk_lambda::Client::invoke).then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .function_error("Unhandled")
                .payload(Blob::new(
                    r#"{"errorMessage":"no such order","errorType":"NotFound"}"#,
                ))
                .build()
        });
        Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&invoke]),
            crate::aws::lambda::WaitPolicy::default(),
        )
    }

    #[tokio::test]
    async fn an_expected_function_error_passes_and_any_other_fails() {
        let lambda = failing_lambda();
        let target = version_target("3");
        let payload = json!({"order": "missing"});
        let expected = invoke(&lambda, &target, &payload, None, Some("NotFound")).await;
        assert_eq!(expected, Attempt::Judged(None));
        let other = invoke(&lambda, &target, &payload, None, Some("Timeout")).await;
        assert!(
            matches!(other, Attempt::Judged(Some(f)) if f.contains("expected a function error containing \"Timeout\"")),
        );
        let unexpected = invoke(&lambda, &target, &payload, None, None).await;
        assert!(
            matches!(unexpected, Attempt::Judged(Some(f)) if f.starts_with("function error (Unhandled)"))
        );
    }

    #[tokio::test]
    async fn a_target_lambda_calls_pending_is_not_ready_rather_than_failed() {
        use aws_sdk_lambda::operation::invoke::InvokeError;
        use aws_sdk_lambda::types::error::ResourceConflictException;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        // The emulator refuses an invoke of a Pending version too (tests/it
        // lambda_states); here the refusal is checked at the seam.
        let pending = mock!(aws_sdk_lambda::Client::invoke).then_error(|| {
            InvokeError::ResourceConflictException(
                ResourceConflictException::builder()
                    .message("The operation cannot be performed at this time. The function is currently in the following state: Pending")
                    .build(),
            )
        });
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&pending]),
            crate::aws::lambda::WaitPolicy::default(),
        );
        let target = version_target("3");
        let attempt = invoke(&lambda, &target, &json!({}), None, None).await;
        assert!(
            matches!(&attempt, Attempt::NotReady(why) if why.ends_with("state: Pending")),
            "{attempt:?}"
        );
    }

    #[tokio::test]
    async fn an_answer_from_another_version_fails_the_version_under_test() {
        use aws_sdk_lambda::operation::invoke::InvokeOutput;
        use aws_sdk_lambda::primitives::Blob;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        // moto names the version asked for; real Lambda could only answer
        // from another one through a misrouted qualifier, so it is injected.
        let answer = mock!(aws_sdk_lambda::Client::invoke).then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .executed_version("4")
                .payload(Blob::new(r#"{"probe":"ok"}"#))
                .build()
        });
        let lambda = Lambda::new(
            mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&answer]),
            crate::aws::lambda::WaitPolicy::default(),
        );
        let mut target = version_target("5");
        let payload = json!({"probe": "ok"});
        let failed = invoke(&lambda, &target, &payload, Some(&payload), None).await;
        assert_eq!(
            failed,
            Attempt::Judged(Some(
                "version 4 answered, not version 5 under test".to_owned()
            ))
        );
        // Through the alias during a release, either version may answer.
        target.qualifier = "live".into();
        assert_eq!(
            invoke(&lambda, &target, &payload, Some(&payload), None).await,
            Attempt::Judged(None)
        );
    }

    #[test]
    fn placeholders_are_found_and_filled_but_json_braces_are_not_placeholders() {
        use crate::config::placeholders;
        let found: Vec<&str> =
            placeholders(r#"https://{endpoint}/x?v={version}&{bogus_1}{"a": {}}{ x }{"#).collect();
        assert_eq!(found, ["{endpoint}", "{version}", "{bogus_1}"]);
        let target = Target {
            function: "orders".into(),
            qualifier: "live".into(),
            version: "3".into(),
            alias: "live".into(),
            region: "eu-west-1".into(),
            endpoint: Some("green.example.com".into()),
            candidate: Some("next".into()),
        };
        assert_eq!(
            target.fill(
                "https://{endpoint}/{function}/{qualifier}?v={version}&a={alias}&r={region}&c={candidate}"
            ),
            "https://green.example.com/orders/live?v=3&a=live&r=eu-west-1&c=next"
        );
    }

    #[test]
    fn subset_of_an_object_matches() {
        let got = json!({"probe": "ok", "extra": 1, "nested": {"a": 1, "b": 2}});
        assert_eq!(
            mismatch(&json!({"probe": "ok", "nested": {"a": 1.0}}), &got, ""),
            None
        );
    }

    #[test]
    fn mismatch_names_the_path_and_both_values() {
        let got = json!({"probe": "nope", "nested": {"a": 2}});
        assert_eq!(
            mismatch(&json!({"nested": {"a": 1}}), &got, ""),
            Some(format!(
                "expected `nested.a` = 1, got {}",
                outside::excerpt("2")
            ))
        );
        assert_eq!(
            mismatch(&json!({"missing": true}), &got, ""),
            Some("expected `missing` = true, but the key is missing".to_owned())
        );
    }

    #[test]
    fn arrays_and_scalars() {
        assert_eq!(
            mismatch(&json!([1, {"a": 1}]), &json!([1, {"a": 1, "b": 0}]), ""),
            None
        );
        assert!(mismatch(&json!([1]), &json!([1, 2]), "").is_some());
        assert_eq!(
            mismatch(&json!("ok"), &json!("no"), ""),
            Some(format!(
                "expected the response = \"ok\", got {}",
                outside::excerpt("\"no\"")
            ))
        );
    }
}
