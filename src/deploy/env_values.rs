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

use crate::aws::secret_store::{SecretStore, region_of};
use crate::config::FunctionConfig;
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
                let source = source(&table).map_err(|why| bad(&key, &reference(&table), why))?;
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

/// Lambda's limit on a function's environment, in bytes.
pub const ENVIRONMENT_LIMIT: usize = 4096;

/// The size Lambda gives `env`, as its error "String measured" shows: the
/// variables as compact JSON (`{"KEY":"value",…}`), in UTF-8 bytes, names,
/// quotes and escapes included.
pub fn measured_size(env: &Environment) -> usize {
    serde_json::to_string(env.expose()).map_or(0, |json| json.len())
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
/// names and region), then each secret not read yet, each in `region` (the
/// function's) or, for an ARN, in the region the ARN names.
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
    let mut unread: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in references.values() {
        if let Source::Ssm(parameter) = source {
            let at = region_of(parameter, region);
            if fetched.get(&at, &ssm_entry(parameter)).is_none() {
                unread.entry(at).or_default().insert(parameter.clone());
            }
        }
    }
    for (at, names) in unread {
        let names: Vec<String> = names.into_iter().collect();
        let mut found = store.parameters(&at, &names).await?;
        for name in names {
            let value = found.remove(&name);
            fetched.put(&at, ssm_entry(&name), value);
        }
    }
    for (name, source) in &references {
        let value = match source {
            Source::Env(_) => continue,
            Source::Ssm(parameter) => {
                let at = region_of(parameter, region);
                fetched.get(&at, &ssm_entry(parameter)).flatten().ok_or_else(|| {
                    missing(name, source, &format!("no SSM parameter {parameter} in {at}")).with_hint(
                        "create it (a SecureString for a secret), or fix the name; greenlight reads it in the function's region, or in the one its ARN names; nothing was written",
                    )
                })?
            }
            Source::Secret { id, key } => {
                let at = region_of(id, region);
                let text = match fetched.get(&at, &secret_entry(id)) {
                    Some(text) => text,
                    None => {
                        let text = store.secret(&at, id).await?;
                        fetched.put(&at, secret_entry(id), text.clone());
                        text
                    }
                };
                let text = text.ok_or_else(|| {
                    missing(name, source, &format!("no secret {id} with a text value in {at}"))
                        .with_hint("create it in Secrets Manager (as text, not binary), or fix the name; nothing was written")
                })?;
                match key {
                    None => text,
                    Some(key) => field(&text, key).map_err(|why| {
                        missing(name, source, why).with_hint(
                            "add the key to the secret's JSON, or fix `key`; nothing was written",
                        )
                    })?,
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

    #[test]
    fn the_environment_is_measured_as_lambda_measures_it() {
        let env = Environment::new([("AB".to_owned(), "x\"y".to_owned())].into());
        assert_eq!(measured_size(&env), r#"{"AB":"x\"y"}"#.len());
        assert_eq!(measured_size(&Environment::default()), 2);
        let two = Environment::new(
            [
                ("A1".to_owned(), "é".to_owned()),
                ("B2".to_owned(), String::new()),
            ]
            .into(),
        );
        assert_eq!(measured_size(&two), r#"{"A1":"é","B2":""}"#.len());
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
