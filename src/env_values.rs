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
//! the [`Environment`] with the text values and the [`References`]; then,
//! for the commands that deploy, [`resolve`] reads every reference once,
//! after the config is checked and before any AWS write, and puts the
//! values into the environment. Values are secrets: errors name the
//! variable and the reference, never a value. AWS calls: through
//! [`SecretStore`] only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Mutex;

use crate::config::FunctionConfig;
use crate::error::{Error, Result};
use crate::secret_store::SecretStore;
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
        if !is_env_key(&name) {
            return Err(bad(
                &key,
                &format!("{MASK:?}"),
                "variable names start with a letter and hold only letters, digits and '_'",
            ));
        }
        match value {
            toml::Value::String(value) => {
                text.insert(name, value);
            }
            toml::Value::Table(table) => {
                let source = source(&table).map_err(|why| bad(&key, &reference(&table), why))?;
                references.insert(name, source);
            }
            _ => return Err(bad(&key, MASK, SHAPES)),
        }
    }
    let mut kept = BTreeSet::new();
    for name in keep.unwrap_or_default() {
        let key = "function.environment_keep";
        if !is_env_key(&name) {
            return Err(bad(
                key,
                &format!("{name:?}"),
                "variable names start with a letter and hold only letters, digits and '_'",
            ));
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

/// The [`Source`] a table names, or why it names none.
fn source(table: &toml::Table) -> std::result::Result<Source, &'static str> {
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
        (None, Some(name), None, None) => Ok(Source::Ssm(name)),
        (None, None, Some(id), key) => Ok(Source::Secret { id, key }),
        (None, None, None, Some(_)) => {
            Err("`key` goes with `secret`: { secret = \"name-or-arn\", key = \"field\" }")
        }
        _ => Err(SHAPES),
    }
}

/// Whether `key` is a variable name Lambda accepts.
fn is_env_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What was read from SSM and Secrets Manager in this run, by region and
/// reference (`None`: not there), so a value several functions of a fleet
/// refer to is read once.
#[derive(Debug, Default)]
pub struct Fetched(Mutex<BTreeMap<(String, String), Option<String>>>);

impl Fetched {
    fn get(&self, region: &str, what: &str) -> Option<Option<String>> {
        self.lock()
            .get(&(region.to_owned(), what.to_owned()))
            .cloned()
    }

    fn put(&self, region: &str, what: String, value: Option<String>) {
        self.lock().insert((region.to_owned(), what), value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Option<String>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where `fetched` files a parameter and a secret.
fn ssm_entry(name: &str) -> String {
    format!("ssm:{name}")
}

fn secret_entry(id: &str) -> String {
    format!("secret:{id}")
}

/// Reads the values `function`'s environment refers to and puts them into
/// its environment: greenlight's own variables first (no AWS call), then
/// the SSM parameters not read yet in this run (one `GetParameters` per 10
/// names), then each secret not read yet, all in `region` (the function's).
/// A value that is not there is exit 2 naming the variable and the
/// reference (`origin` names the config). Returns what was read, by name
/// only, for `-v`.
pub async fn resolve(
    function: &mut FunctionConfig,
    origin: &str,
    store: &SecretStore,
    region: &str,
    fetched: &Fetched,
) -> Result<String> {
    let references = std::mem::take(&mut function.environment_refs).0;
    let missing = |name: &str, source: &Source, why: &str| {
        Error::usage(format!(
            "{origin}: `function.environment.{name}` = {source}: {why}"
        ))
    };
    let mut values = BTreeMap::new();
    for (name, source) in &references {
        if let Source::Env(var) = source {
            let value = std::env::var(var).map_err(|e| {
                let why = match e {
                    std::env::VarError::NotPresent => format!("{var} is not set"),
                    std::env::VarError::NotUnicode(_) => format!("{var} is not valid UTF-8"),
                };
                missing(name, source, &why).with_hint(format!(
                    "set {var} in greenlight's environment (in CI, from a secret); nothing was written"
                ))
            })?;
            values.insert(name.clone(), value);
        }
    }
    let unread: BTreeSet<String> = references
        .values()
        .filter_map(|s| match s {
            Source::Ssm(p) if fetched.get(region, &ssm_entry(p)).is_none() => Some(p.clone()),
            _ => None,
        })
        .collect();
    if !unread.is_empty() {
        let unread: Vec<String> = unread.into_iter().collect();
        let mut found = store.parameters(&unread).await?;
        for name in unread {
            let value = found.remove(&name);
            fetched.put(region, ssm_entry(&name), value);
        }
    }
    for (name, source) in &references {
        let value = match source {
            Source::Env(_) => continue,
            Source::Ssm(parameter) => fetched.get(region, &ssm_entry(parameter)).flatten().ok_or_else(|| {
                missing(name, source, &format!("no SSM parameter {parameter} in {region}")).with_hint(
                    "create it (a SecureString for a secret), or fix the name; greenlight reads it in the function's region; nothing was written",
                )
            })?,
            Source::Secret { id, key } => {
                let text = match fetched.get(region, &secret_entry(id)) {
                    Some(text) => text,
                    None => {
                        let text = store.secret(id).await?;
                        fetched.put(region, secret_entry(id), text.clone());
                        text
                    }
                };
                let text = text.ok_or_else(|| {
                    missing(name, source, &format!("no secret {id} with a text value in {region}"))
                        .with_hint("create it in Secrets Manager (as text, not binary), or fix the name; nothing was written")
                })?;
                match key {
                    None => text,
                    Some(key) => field(&text, key)
                        .map_err(|why| missing(name, source, why).with_hint("add the key to the secret's JSON, or fix `key`; nothing was written"))?,
                }
            }
        };
        values.insert(name.clone(), value);
    }
    let environment = function
        .settings
        .environment
        .get_or_insert_with(Environment::default);
    for (name, value) in values {
        environment.insert(name, value);
    }
    let read: Vec<String> = references
        .iter()
        .map(|(name, source)| format!("{name} from {source}"))
        .collect();
    Ok(format!("environment values read: {}", read.join(", ")))
}

/// The value at `key` of the JSON object `text`: a string as it is, a
/// number or a boolean as the secret writes it (`98765432109876543210`
/// and `1E3` stay so, never going through a float).
fn field(text: &str, key: &str) -> std::result::Result<String, &'static str> {
    let object: BTreeMap<String, &serde_json::value::RawValue> = serde_json::from_str(text)
        .map_err(|_| "the secret is not a JSON object, so it has no keys")?;
    let raw = object
        .get(key)
        .ok_or("the secret's JSON has no such key")?
        .get();
    match raw.as_bytes().first() {
        Some(b'"') => serde_json::from_str(raw).map_err(|_| "the key's string cannot be read"),
        Some(b'-' | b'0'..=b'9' | b't' | b'f') => Ok(raw.to_owned()),
        _ => Err("the key holds no string, number or boolean"),
    }
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
            r#"environment = { A = "text", B = { env = "CI_B" }, C = { ssm = "/p/c" }, D = { secret = "s", key = "k" }, E = { secret = "arn:aws:secretsmanager:eu-west-1:1:secret:s" } }"#,
        )
        .expect("valid");
        assert_eq!(env.expect("environment").keys().collect::<Vec<_>>(), ["A"]);
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
                r#"environment = { A = 5 }"#,
                "`function.environment.A` = ****",
            ),
            (r#"environment = { A = { ssm = "" } }"#, "non-empty string"),
            (
                r#"environment = { A = { value = "topsecret" } }"#,
                "{ value = … }",
            ),
            (
                r#"environment = { A = { env = "X", ssm = "/y" } }"#,
                "a value is a string",
            ),
            (
                r#"environment = { A = { key = "k" } }"#,
                "`key` goes with `secret`",
            ),
            (r#"environment = { A = { env = "X=Y" } }"#, "no '='"),
            (
                "environment = { A = \"topsecret\" }\nenvironment_keep = [\"A\"]",
                "A is also set",
            ),
            (
                "environment = {}\nenvironment_keep = [\"1A\"]",
                "`function.environment_keep` = \"1A\"",
            ),
            (
                "environment_keep = [\"A\"]",
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
    fn a_json_secret_gives_one_key() {
        let text = r#"{"password": "pw-1", "port": 5432, "on": true, "nested": {}}"#;
        assert_eq!(field(text, "password"), Ok("pw-1".to_owned()));
        assert_eq!(field(text, "port"), Ok("5432".to_owned()));
        assert_eq!(field(text, "on"), Ok("true".to_owned()));
        assert!(field(text, "nested").is_err());
        assert_eq!(
            field(text, "user"),
            Err("the secret's JSON has no such key")
        );
        assert!(field("plain text", "user").is_err());
        let numbers = r#"{"big": 98765432109876543210, "e": 1E3, "neg": -0.50, "n": null, "esc": "a\"b\u00e4"}"#;
        assert_eq!(field(numbers, "big"), Ok("98765432109876543210".to_owned()));
        assert_eq!(field(numbers, "e"), Ok("1E3".to_owned()));
        assert_eq!(field(numbers, "neg"), Ok("-0.50".to_owned()));
        assert!(field(numbers, "n").is_err());
        assert_eq!(field(numbers, "esc"), Ok("a\"bä".to_owned()));
    }
}
