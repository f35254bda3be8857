//! Triggers of the unqualified function: what runs `$LATEST`, which a
//! deploy updates before any smoke test.
//!
//! A queue or stream mapped to the function's plain name, a function URL
//! made without a qualifier, or a resource-based permission granted
//! without one (S3, SNS, EventBridge, API Gateway calling the plain ARN)
//! all invoke `$LATEST`. greenlight's promise that nobody gets untested
//! code holds only for callers of the alias, so `deploy` (when it writes)
//! and `status` name each such trigger and say to point it at the alias
//! ARN. Callers whose permission lives in their own IAM policy (Step
//! Functions, EventBridge Scheduler) leave no trace on the function, so
//! the warning says that too ([`UNSEEN`]).
//!
//! AWS calls, made together: `ListEventSourceMappings`,
//! `GetFunctionUrlConfig` and `GetPolicy`, each without a qualifier.
//! Read-only. The check only warns: a read that fails (an older IAM policy
//! without these permissions, say) skips it with a note saying why, and
//! the command goes on.

use crate::aws::lambda::EventSourceMapping;
use crate::context::Ctx;
use crate::error::Error;

/// One trigger that invokes the unqualified function.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trigger {
    /// `event_source_mapping`, `function_url` or `permission`.
    pub kind: &'static str,
    /// What names it: the mapping's UUID, the URL, the statement's Sid.
    pub name: String,
    /// Where its events come from (the queue or stream, the principal and
    /// source ARN), when Lambda says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TriggerCheck {
    /// Triggers that run `$LATEST`.
    pub unqualified: Vec<Trigger>,
    /// Why the check was skipped (a read failed), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl TriggerCheck {
    /// One warning line per trigger, then what greenlight cannot see (when
    /// it found any), and one line for a skipped check.
    pub fn warnings(&self, function: &str, alias: &str) -> Vec<String> {
        let target =
            format!("the alias ARN (arn:aws:lambda:REGION:ACCOUNT:function:{function}:{alias})");
        let mut lines: Vec<String> = self
            .unqualified
            .iter()
            .map(|t| {
                let from = t
                    .source
                    .as_ref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                let (what, fix) = match t.kind {
                    "event_source_mapping" => {
                        ("event source mapping", format!("map it to {function}:{alias}, {target}"))
                    }
                    "function_url" => ("function URL", format!("make the URL on alias {alias} (Qualifier {alias})")),
                    _ => (
                        "permission",
                        format!("grant it on alias {alias} (Qualifier {alias}) and have the source invoke {target}"),
                    ),
                };
                format!(
                    "{what} {}{from} invokes function {function} unqualified, so it runs $LATEST, which deploy updates before any test: {fix}",
                    t.name
                )
            })
            .collect();
        if !lines.is_empty() {
            lines.push(format!("{UNSEEN}: have every caller invoke {target}"));
        }
        if let Some(why) = &self.skipped {
            lines.push(format!(
                "the check for triggers of the unqualified function was skipped: {why}"
            ));
        }
        lines
    }
}

/// What the check cannot see.
pub const UNSEEN: &str = "greenlight sees only event source mappings, function URLs and resource-based permissions; a caller allowed by its own IAM policy (Step Functions, EventBridge Scheduler, another function or service with an execution role) that names the plain function ARN runs $LATEST too, unseen";

/// Reads the function's event source mappings, function URL and
/// resource-based policy together, and names what invokes it unqualified.
pub async fn check(ctx: Ctx<'_>) -> TriggerCheck {
    let name = ctx.function();
    let (mappings, url, policy) = tokio::join!(
        ctx.lambda.event_source_mappings(name),
        ctx.lambda.unqualified_url(name),
        ctx.lambda.unqualified_policy(name),
    );
    let (mappings, url, policy) = match (mappings, url, policy) {
        (Ok(m), Ok(u), Ok(p)) => (m, u, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return TriggerCheck {
                unqualified: Vec::new(),
                skipped: Some(skipped(e)),
            };
        }
    };
    let mut unqualified: Vec<Trigger> = mappings
        .into_iter()
        .filter(|m| is_unqualified(&m.function_arn))
        .map(mapping)
        .collect();
    unqualified.extend(url.map(|url| Trigger {
        kind: "function_url",
        name: url,
        source: None,
    }));
    unqualified.extend(policy.iter().filter_map(permission));
    TriggerCheck {
        unqualified,
        skipped: None,
    }
}

/// Why a failed read skipped the check: its message, cause and hint.
fn skipped(e: Error) -> String {
    let mut why = e.message;
    if let Some(cause) = e.cause {
        why = format!("{why}: {cause}");
    }
    if let Some(hint) = e.hint {
        why = format!("{why} ({hint})");
    }
    why
}

fn mapping(m: EventSourceMapping) -> Trigger {
    Trigger {
        kind: "event_source_mapping",
        name: m.uuid,
        source: Some(m.source).filter(|s| !s.is_empty()),
    }
}

/// A Lambda function ARN (or a policy statement's resource) without a
/// qualifier, or with `$LATEST`: `arn:aws:lambda:region:account:function:name`.
fn is_unqualified(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() <= 7 || parts.get(7) == Some(&"$LATEST")
}

/// A statement of the unqualified function's policy as a trigger. Lambda
/// keeps a version's or an alias's permissions in that qualifier's own
/// policy; a statement whose resource is qualified is left out all the
/// same (some emulators keep every statement in one policy).
fn permission(statement: &serde_json::Value) -> Option<Trigger> {
    let resource = statement.get("Resource").and_then(|r| r.as_str());
    if resource.is_some_and(|r| !is_unqualified(r)) {
        return None;
    }
    let principal = match statement.get("Principal") {
        Some(serde_json::Value::String(p)) => Some(p.clone()),
        Some(serde_json::Value::Object(p)) => p
            .values()
            .next()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
        _ => None,
    };
    let source = statement
        .get("Condition")
        .and_then(|c| c.as_object())
        .into_iter()
        .flat_map(|c| c.values())
        .find_map(|test| test.get("AWS:SourceArn").and_then(|a| a.as_str()))
        .map(str::to_owned);
    let from = match (principal, source) {
        (Some(p), Some(s)) => Some(format!("{p} from {s}")),
        (p, s) => p.or(s),
    };
    Some(Trigger {
        kind: "permission",
        name: statement
            .get("Sid")
            .and_then(|s| s.as_str())
            .unwrap_or("(no Sid)")
            .to_owned(),
        source: from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_arns_and_statements_are_not_triggers_of_latest() {
        let base = "arn:aws:lambda:us-east-1:123456789012:function:orders";
        assert!(is_unqualified(base));
        assert!(is_unqualified(&format!("{base}:$LATEST")));
        assert!(!is_unqualified(&format!("{base}:live")));
        assert!(!is_unqualified(&format!("{base}:7")));
        let statement = |resource: &str| {
            serde_json::json!({
                "Sid": "s3-uploads",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Resource": resource,
                "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}},
            })
        };
        assert_eq!(permission(&statement(&format!("{base}:live"))), None);
        assert_eq!(
            permission(&statement(base)),
            Some(Trigger {
                kind: "permission",
                name: "s3-uploads".to_owned(),
                source: Some("s3.amazonaws.com from arn:aws:s3:::uploads".to_owned()),
            })
        );
    }
}
