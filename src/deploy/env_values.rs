//! Reading the environment values the configuration refers to.
//!
//! The configuration holds references (`{ env = "NAME" }`, `{ ssm = … }`,
//! `{ secret = …, key = … }`: [`crate::config::env`]); for the commands that
//! deploy, [`resolve`] reads every reference once, after the config is
//! checked and before any AWS write, and puts the values into the
//! function's environment. Values are secrets: errors name the variable and
//! the reference, never a value. AWS calls: through [`SecretStore`] only.
//! Also here: the size Lambda gives an environment, against its limit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::aws::secret_store::{SecretStore, region_of};
use crate::config::FunctionConfig;
use crate::config::env::Source;
use crate::error::{Error, Result};
use crate::secrets::Environment;

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
    let references = std::mem::take(&mut function.environment_refs).into_map();
    let key = |name: &str| format!("function.environment.{name}");
    let keyed = references
        .iter()
        .map(|(name, source)| (key(name), source.clone()))
        .collect();
    let mut values = read(&keyed, origin, store, region, fetched).await?;
    let environment = function
        .settings
        .environment
        .get_or_insert_with(Environment::default);
    for name in references.keys() {
        if let Some(value) = values.remove(&key(name)) {
            environment.insert(name.clone(), value);
        }
    }
    let read: Vec<String> = references
        .iter()
        .map(|(name, source)| format!("{name} from {source}"))
        .collect();
    Ok(format!("environment values read: {}", read.join(", ")))
}

/// Reads the values `references` name (by the config key each is written
/// at, which errors name), as [`resolve`] says: greenlight's own variables,
/// then SSM (one call per 10 names and region), then Secrets Manager,
/// each read once in this run (`fetched`). Also for `[[notify]]` URLs.
pub async fn read(
    references: &BTreeMap<String, Source>,
    origin: &str,
    store: &SecretStore,
    region: &str,
    fetched: &Fetched,
) -> Result<BTreeMap<String, String>> {
    let missing = |name: &str, source: &Source, why: &str| {
        Error::usage(format!("{origin}: `{name}` = {source}: {why}"))
    };
    let mut values = BTreeMap::new();
    for (name, source) in references {
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
    for (name, source) in references {
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
    Ok(values)
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
