//! Stage 3, smoke tests: invoke exactly one version (or alias) and judge the answers.
//!
//! In: the function, a qualifier (a version number, or the alias after a
//! release) and the `[[smoke]]` tests. Out: a [`SmokeReport`] with one result
//! per test. AWS calls: `Invoke`, once per test. Safe to repeat (as safe as
//! the function's own handling of the test payloads); changes nothing.
//!
//! A test fails on a function error (`FunctionError` set), on a response that
//! does not contain the expected keys with equal values, on an invoke error,
//! or when no answer comes within its timeout. Every test runs, so a report
//! shows all failures at once. Text taken from responses is redacted.

use std::time::Instant;

use serde_json::Value;

use crate::config::SmokeTest;
use crate::lambda::Lambda;
use crate::ui::Ui;

/// Longest excerpt of a response shown in a failure.
const EXCERPT: usize = 300;

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

/// Runs every test against `function:qualifier`.
pub async fn run(
    lambda: &Lambda,
    function: &str,
    qualifier: &str,
    tests: &[SmokeTest],
    ui: &Ui,
) -> SmokeReport {
    let mut results = Vec::with_capacity(tests.len());
    for test in tests {
        let started = Instant::now();
        let busy = ui.spinner(format_args!("smoke test {}", test.name));
        let failure = check(lambda, function, qualifier, test).await;
        drop(busy);
        results.push(SmokeResult {
            name: test.name.clone(),
            passed: failure.is_none(),
            duration_ms: started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
            failure: failure.map(|f| ui.redactor().redact(&f)),
        });
    }
    SmokeReport {
        target: qualifier.to_owned(),
        results,
    }
}

/// Invokes one test; `None` when it passed, else why it failed.
async fn check(
    lambda: &Lambda,
    function: &str,
    qualifier: &str,
    test: &SmokeTest,
) -> Option<String> {
    let payload = test.payload.to_string();
    let call = lambda.invoke(function, qualifier, payload.as_bytes());
    let answer = match tokio::time::timeout(test.timeout, call).await {
        Err(_) => {
            return Some(format!(
                "no answer within {}",
                humantime::format_duration(test.timeout)
            ));
        }
        Ok(Err(e)) => return Some(format!("{}: {}", e.message, e.cause.unwrap_or_default())),
        Ok(Ok(answer)) => answer,
    };
    let text = String::from_utf8_lossy(&answer.payload);
    if let Some(kind) = &answer.function_error {
        return Some(format!("function error ({kind}): {}", excerpt(&text)));
    }
    let expect = test.expect.as_ref()?;
    let Ok(actual) = serde_json::from_slice::<Value>(&answer.payload) else {
        return Some(format!(
            "expected a JSON response containing {}, got {}",
            excerpt(&expect.to_string()),
            excerpt(&text)
        ));
    };
    mismatch(expect, &actual, "").map(|m| format!("{m}; response was {}", excerpt(&text)))
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
            excerpt(&g.to_string())
        )),
    }
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= EXCERPT {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(EXCERPT).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            Some("expected `nested.a` = 1, got 2".to_owned())
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
            Some("expected the response = \"ok\", got \"no\"".to_owned())
        );
    }
}
