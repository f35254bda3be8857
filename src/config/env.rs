//! Environment values that do not live in the config file.
//!
//! A value in `function.environment` is text, or a reference to where the
//! value is kept: `{ env = "NAME" }` (greenlight's own environment, e.g. a
//! CI secret), `{ ssm = "/path/name" }` (SSM Parameter Store, decrypted) or
//! `{ secret = "name-or-arn", key = "field" }` (Secrets Manager, the whole
//! text or one key of a JSON secret). `environment_keep` names variables
//! other tools own, left as the function has them
//! ([`Environment::keeping`]).
//!
//! In: the `[function]` table's `environment` and `environment_keep`. Out:
//! the [`Environment`] with the text values and the [`References`], which
//! the commands that deploy read before any AWS write (`deploy::env_values`).
//! Errors name the variable and the reference, never a value. No AWS calls.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::error::{Error, Result};
use crate::secrets::{Environment, MASK};

/// Where a variable's value is kept, instead of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `{ env = "NAME" }`: greenlight's own environment variable.
    Env(String),
    /// `{ ssm = "/path/name" }`: an SSM parameter, decrypted.
    Ssm(String),
    /// `{ secret = "name-or-arn", key = "field" }`: a Secrets Manager
    /// secret's text, or one key of it when it is a JSON object.
    Secret {
        /// The secret's name or ARN.
        id: String,
        /// The key of the JSON object to take.
        key: Option<String>,
    },
}

/// The reference as written in the config (names only, safe to print).
impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env(name) => write!(f, "{{ env = {name:?} }}"),
            Source::Ssm(name) => write!(f, "{{ ssm = {name:?} }}"),
            Source::Secret { id, key: None } => write!(f, "{{ secret = {id:?} }}"),
            Source::Secret { id, key: Some(key) } => {
                write!(f, "{{ secret = {id:?}, key = {key:?} }}")
            }
        }
    }
}

/// The variables whose values are read from elsewhere, by variable name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References(BTreeMap<String, Source>);

impl References {
    /// Whether no variable refers elsewhere.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The references, by variable name.
    pub fn into_map(self) -> BTreeMap<String, Source> {
        self.0
    }
}

/// What a config error names: the key, the value as shown, and why.
pub type Bad<'a> = &'a dyn Fn(&str, &str, &str) -> Error;

const SHAPES: &str = "a value is a string, { env = \"NAME\" }, { ssm = \"/path/name\" } or { secret = \"name-or-arn\", key = \"field\" } (key optional)";

/// Checks `function.environment` and `function.environment_keep`: the
/// environment (text values, and the kept names) and the references.
/// Errors come from `bad` and never show a text value.
pub fn from_config(
    vars: Option<BTreeMap<String, toml::Value>>,
    keep: Option<Vec<String>>,
    bad: Bad<'_>,
) -> Result<(Option<Environment>, References)> {
    let Some(vars) = vars else {
        return match keep {
            Some(_) => Err(bad(
                "function.environment_keep",
                "[…]",
                "without `function.environment` greenlight leaves the whole environment as it is; add `environment` or drop `environment_keep`",
            )),
            None => Ok((None, References::default())),
        };
    };
    let mut text = BTreeMap::new();
    let mut references = BTreeMap::new();
    for (name, value) in vars {
        let key = format!("function.environment.{name}");
        if let Some(why) = env_name_problem(&name) {
            return Err(bad(&key, &format!("{MASK:?}"), why));
        }
        match value {
            toml::Value::String(value) => {
                text.insert(name, value);
            }
            toml::Value::Table(table) => {
                let source =
                    reference_source(&table).map_err(|why| bad(&key, &reference(&table), why))?;
                references.insert(name, source);
            }
            _ => return Err(bad(&key, MASK, SHAPES)),
        }
    }
    let mut kept = BTreeSet::new();
    for name in keep.unwrap_or_default() {
        let key = "function.environment_keep";
        if let Some(why) = env_name_problem(&name) {
            return Err(bad(key, &format!("{name:?}"), why));
        }
        if text.contains_key(&name) || references.contains_key(&name) {
            return Err(bad(
                key,
                &format!("{name:?}"),
                &format!(
                    "{name} is also set in `function.environment`: a variable is either set by greenlight or kept as it is, not both"
                ),
            ));
        }
        kept.insert(name);
    }
    let environment = Environment::new(text).keeping(kept);
    Ok((Some(environment), References(references)))
}

/// A reference table from the config as written, the values of unknown
/// fields (which might be secrets) left out.
fn reference(table: &toml::Table) -> String {
    let fields: Vec<String> = table
        .iter()
        .map(|(field, value)| match value {
            toml::Value::String(s) if REFERENCE_FIELDS.contains(&field.as_str()) => {
                format!("{field} = {s:?}")
            }
            _ => format!("{field} = …"),
        })
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

/// The fields a reference table may have.
const REFERENCE_FIELDS: [&str; 4] = ["env", "ssm", "secret", "key"];

/// The [`Source`] a reference table names, or why it names none (also
/// for a `[[notify]]` URL, [`crate::config::notify`]).
pub(crate) fn reference_source(table: &toml::Table) -> std::result::Result<Source, &'static str> {
    let text = |field: &str| match table.get(field) {
        None => Ok(None),
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err("each field of a reference is a non-empty string"),
    };
    if table
        .keys()
        .any(|k| !REFERENCE_FIELDS.contains(&k.as_str()))
    {
        return Err(SHAPES);
    }
    match (text("env")?, text("ssm")?, text("secret")?, text("key")?) {
        (Some(name), None, None, None) if !name.contains(['=', '\0']) => Ok(Source::Env(name)),
        (Some(_), None, None, None) => Err("an environment variable name holds no '=' or NUL"),
        (None, Some(name), None, None) => {
            // SSM trims the ends of a name itself; greenlight does the same
            // before it checks it, so the name read is the name shown.
            let name = name.trim().to_owned();
            match ssm_name_problem(&name) {
                None => Ok(Source::Ssm(name)),
                Some(why) => Err(why),
            }
        }
        (None, None, Some(id), key) => Ok(Source::Secret { id, key }),
        (None, None, None, Some(_)) => {
            Err("`key` goes with `secret`: { secret = \"name-or-arn\", key = \"field\" }")
        }
        _ => Err(SHAPES),
    }
}

/// Why SSM would refuse `name` (a parameter name or ARN, with an optional
/// `:version` or `:label`), by Parameter Store's naming rules: letters,
/// digits, `_`, `.`, `-` and `/` between levels, a leading `/` for a
/// name in a hierarchy, at most 15 levels, at most 1011 characters.
fn ssm_name_problem(name: &str) -> Option<&'static str> {
    let arn = name.starts_with("arn:");
    let path = match arn {
        true => {
            let parts: Vec<&str> = name.splitn(6, ':').collect();
            match parts[..] {
                [_, partition, "ssm", region, account, resource]
                    if partition.starts_with("aws")
                        && !region.is_empty()
                        && account.len() == 12
                        && account.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    match resource.strip_prefix("parameter") {
                        Some(rest) if rest.starts_with('/') => rest,
                        _ => {
                            return Some(
                                "an SSM parameter ARN is arn:aws:ssm:REGION:ACCOUNT:parameter/NAME",
                            );
                        }
                    }
                }
                _ => {
                    return Some(
                        "an SSM parameter ARN is arn:aws:ssm:REGION:ACCOUNT:parameter/NAME",
                    );
                }
            }
        }
        false => name,
    };
    let (path, selector) = match path.split_once(':') {
        Some((path, selector)) => (path, Some(selector)),
        None => (path, None),
    };
    let label = |s: &str| {
        (1..=100).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    };
    if selector.is_some_and(|s| !label(s)) {
        return Some(
            "after the name, `:` takes a version number or a label (letters, digits, '_', '.', '-')",
        );
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"_.-/".contains(&b);
    if path.is_empty() || path.len() > 1011 || !path.bytes().all(allowed) {
        return Some(
            "an SSM parameter name is 1 to 1011 letters, digits, '_', '.', '-' and '/' (no spaces)",
        );
    }
    let hierarchy = path.contains('/');
    if hierarchy && !path.starts_with('/') {
        return Some("a name in a hierarchy starts with '/': \"/app/name\"");
    }
    let levels: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if hierarchy && levels.iter().any(|l| l.is_empty()) {
        return Some("a hierarchy has a name between each '/' (no '//', no '/' at the end)");
    }
    if levels.len() > 15 {
        return Some("SSM allows at most 15 levels in a hierarchy");
    }
    None
}

/// The variables Lambda sets itself and refuses in a function's
/// configuration (Developer Guide, "Defined runtime environment variables").
const RESERVED: [&str; 16] = [
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Why Lambda would refuse `key` as a variable name: its pattern is
/// `[a-zA-Z][a-zA-Z0-9_]+` (so two characters at least, and `_HANDLER`
/// and `_X_AMZN_TRACE_ID` are out), and the runtime's own are reserved.
fn env_name_problem(key: &str) -> Option<&'static str> {
    let mut chars = key.chars();
    let shaped = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && key.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !shaped {
        return Some(
            "variable names are a letter, then at least one more letter, digit or '_' (Lambda's pattern [a-zA-Z][a-zA-Z0-9_]+)",
        );
    }
    RESERVED.contains(&key).then_some(
        "Lambda sets this variable itself and refuses it in a function's configuration (a reserved name): use another name",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(Option<Environment>, References)> {
        #[derive(serde::Deserialize)]
        struct Raw {
            environment: Option<BTreeMap<String, toml::Value>>,
            environment_keep: Option<Vec<String>>,
        }
        let raw: Raw = toml::from_str(text).expect("toml");
        let bad =
            |key: &str, value: &str, why: &str| Error::usage(format!("`{key}` = {value}: {why}"));
        from_config(raw.environment, raw.environment_keep, &bad)
    }

    #[test]
    fn text_and_the_three_references_are_read() {
        let (env, refs) = parse(
            r#"environment = { AA = "text", BB = { env = "CI_B" }, CC = { ssm = "/p/c" }, DD = { secret = "s", key = "k" }, EE = { secret = "arn:aws:secretsmanager:eu-west-1:1:secret:s" } }"#,
        )
        .expect("valid");
        assert_eq!(env.expect("environment").keys().collect::<Vec<_>>(), ["AA"]);
        let shown: Vec<String> = refs.0.values().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                r#"{ env = "CI_B" }"#,
                r#"{ ssm = "/p/c" }"#,
                r#"{ secret = "s", key = "k" }"#,
                r#"{ secret = "arn:aws:secretsmanager:eu-west-1:1:secret:s" }"#,
            ]
        );
    }

    #[test]
    fn bad_references_and_keeps_are_refused_without_showing_values() {
        let cases = [
            (
                r#"environment = { AA = 5 }"#,
                "`function.environment.AA` = ****",
            ),
            (r#"environment = { AA = { ssm = "" } }"#, "non-empty string"),
            (
                r#"environment = { AA = { value = "topsecret" } }"#,
                "{ value = … }",
            ),
            (
                r#"environment = { AA = { env = "X", ssm = "/y" } }"#,
                "a value is a string",
            ),
            (
                r#"environment = { AA = { key = "k" } }"#,
                "`key` goes with `secret`",
            ),
            (r#"environment = { AA = { env = "X=Y" } }"#, "no '='"),
            (
                "environment = { AA = \"topsecret\" }\nenvironment_keep = [\"AA\"]",
                "AA is also set",
            ),
            (
                "environment = {}\nenvironment_keep = [\"1A\"]",
                "`function.environment_keep` = \"1A\"",
            ),
            (
                "environment_keep = [\"AA\"]",
                "without `function.environment`",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.message.contains(expected), "{text}: {}", err.message);
            assert!(!err.message.contains("topsecret"), "{}", err.message);
            assert!(!err.message.contains('\n'), "one line: {}", err.message);
        }
    }

    #[test]
    fn names_lambda_refuses_are_refused() {
        for (name, expected) in [
            ("A", "[a-zA-Z][a-zA-Z0-9_]+"),
            ("_HANDLER", "[a-zA-Z][a-zA-Z0-9_]+"),
            ("1X", "[a-zA-Z][a-zA-Z0-9_]+"),
            ("MY-VAR", "[a-zA-Z][a-zA-Z0-9_]+"),
            ("AWS_REGION", "reserved"),
            ("AWS_LAMBDA_FUNCTION_NAME", "reserved"),
            ("LAMBDA_TASK_ROOT", "reserved"),
        ] {
            for text in [
                format!("environment = {{ {name:?} = \"topsecret\" }}"),
                format!("environment = {{}}\nenvironment_keep = [{name:?}]"),
            ] {
                let err = parse(&text).expect_err(&text);
                assert!(err.message.contains(name), "{text}: {}", err.message);
                assert!(err.message.contains(expected), "{text}: {}", err.message);
                assert!(!err.message.contains("topsecret"), "{}", err.message);
            }
        }
        for ok in ["AB", "a1", "AWS_REGION_NAME", "TZ", "LANG"] {
            assert!(env_name_problem(ok).is_none(), "{ok}");
        }
    }

    #[test]
    fn ssm_names_are_trimmed_and_checked_as_ssm_does() {
        let (_, refs) =
            parse(r#"environment = { AA = { ssm = "  /orders/db  " } }"#).expect("valid");
        assert_eq!(refs.0["AA"], Source::Ssm("/orders/db".to_owned()));
        for ok in [
            "/orders/db",
            "plain",
            "/orders/db:3",
            "/orders/db:current",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/db",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/plain:2",
            "/aws/service/global-infrastructure/current-region",
        ] {
            assert_eq!(ssm_name_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("/orders/my db", "no spaces"),
            ("orders/db", "starts with '/'"),
            ("/orders//db", "no '//'"),
            ("/orders/db/", "no '//'"),
            ("/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", "15 levels"),
            ("/orders/db:", "a version number or a label"),
            ("/orders/db:a b", "a version number or a label"),
            ("/orders/$db", "no spaces"),
            ("arn:aws:ssm:eu-west-1:123:parameter/db", "ARN is"),
            (
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
                "ARN is",
            ),
        ] {
            let problem = ssm_name_problem(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(problem.contains(why), "{bad}: {problem}");
            let text = format!("environment = {{ AA = {{ ssm = {bad:?} }} }}");
            let err = parse(&text).expect_err(&text);
            assert!(
                err.message.contains("`function.environment.AA`"),
                "{}",
                err.message
            );
        }
    }
}
