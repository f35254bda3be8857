//! The `[function]` table: the function, its alias and region, its
//! settings, and how long a new version may take to become `Active`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::aws::lambda::FunctionSettings;
use crate::config::env::{self, References};
use crate::config::settings::{self, RawExtras, RawFileSystem, RawLogging, RawVpc};
use crate::config::{Checker, is_alias_name, is_word_char};
use crate::error::Result;

/// The alias greenlight releases to when the config names none.
pub const DEFAULT_ALIAS: &str = "live";

/// How long greenlight waits for a published version to become `Active`
/// when the config does not say (`function.ready_timeout`).
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The longest `function.ready_timeout` may be.
pub const MAX_READY_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The `[function]` table.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// The function name.
    pub name: String,
    /// The alias that carries the traffic.
    pub alias: String,
    /// The function's own AWS region; `None` uses `--region` / the profile's.
    pub region: Option<String>,
    /// Settings applied to the function when they differ.
    pub settings: FunctionSettings,
    /// How long to wait for a `Pending` version (or function) to become
    /// `Active` before it is tested (`function.ready_timeout`).
    pub ready_timeout: Duration,
    /// Environment variables whose values are read at deploy time
    /// (read when a command deploys, and moved into `settings`).
    pub environment_refs: References,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFunction {
    name: String,
    pub(super) alias: Option<String>,
    pub(super) region: Option<String>,
    runtime: Option<String>,
    handler: Option<String>,
    role: Option<String>,
    memory: Option<i64>,
    timeout: Option<i64>,
    environment: Option<BTreeMap<String, toml::Value>>,
    environment_keep: Option<Vec<String>>,
    description: Option<String>,
    snap_start: Option<bool>,
    ready_timeout: Option<String>,
    architecture: Option<String>,
    layers: Option<Vec<String>>,
    ephemeral_storage: Option<i64>,
    tracing: Option<String>,
    vpc: Option<RawVpc>,
    logging: Option<RawLogging>,
    dead_letter: Option<String>,
    kms_key: Option<String>,
    file_systems: Option<Vec<RawFileSystem>>,
    tags: Option<BTreeMap<String, String>>,
}

impl Checker<'_> {
    pub(super) fn function(&self, raw: RawFunction) -> Result<FunctionConfig> {
        if !is_function_name(&raw.name) {
            return Err(self.bad(
                "function.name",
                format!("{:?}", raw.name),
                "a function name is 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        let alias = raw.alias.unwrap_or_else(|| DEFAULT_ALIAS.to_owned());
        if !is_alias_name(&alias) {
            return Err(self.bad(
                "function.alias",
                format!("{alias:?}"),
                "an alias is 1 to 128 letters, digits, '-' or '_', not only digits, and never $LATEST",
            ));
        }
        for (key, value) in [
            ("function.runtime", &raw.runtime),
            ("function.handler", &raw.handler),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(self.bad(key, "\"\"", "must not be empty"));
            }
        }
        if let Some(role) = &raw.role
            && !is_role_arn(role)
        {
            return Err(self.bad(
                "function.role",
                format!("{role:?}"),
                "must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME",
            ));
        }
        let memory = self.in_range("function.memory", raw.memory, 128..=10240, "MB")?;
        let timeout = self.in_range("function.timeout", raw.timeout, 1..=900, "seconds")?;
        if let Some(d) = &raw.description
            && d.chars().count() > 256
        {
            return Err(self.bad("function.description", "(text)", "at most 256 characters"));
        }
        let (environment, environment_refs) =
            env::from_config(raw.environment, raw.environment_keep, &|key, value, why| {
                self.bad(key, value, why)
            })?;
        if let Some(region) = &raw.region
            && !is_region(region)
        {
            return Err(self.bad(
                "function.region",
                format!("{region:?}"),
                "a region name such as \"eu-west-1\"",
            ));
        }
        let ready_timeout = match &raw.ready_timeout {
            None => DEFAULT_READY_TIMEOUT,
            Some(text) => self.duration(
                "function.ready_timeout",
                text,
                Duration::from_secs(1)..=MAX_READY_TIMEOUT,
                "a duration from 1s to 1h, e.g. \"15m\"",
            )?,
        };
        let extra = settings::check(
            RawExtras {
                architecture: raw.architecture,
                layers: raw.layers,
                ephemeral_storage: raw.ephemeral_storage,
                tracing: raw.tracing,
                vpc: raw.vpc,
                logging: raw.logging,
                dead_letter: raw.dead_letter,
                kms_key: raw.kms_key,
                file_systems: raw.file_systems,
                snap_start: raw.snap_start,
                tags: raw.tags,
            },
            |key, value, why| self.bad(key, value, why),
        )?;
        Ok(FunctionConfig {
            name: raw.name,
            alias,
            region: raw.region,
            ready_timeout,
            settings: FunctionSettings {
                runtime: raw.runtime,
                handler: raw.handler,
                role: raw.role,
                memory,
                timeout,
                environment,
                description: raw.description,
                extra,
            },
            environment_refs,
        })
    }
}

fn is_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(is_word_char)
}

/// `eu-west-1`, `us-gov-west-1`, `ap-southeast-4`: lowercase words and a number.
pub(crate) fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `arn` has the shape of an IAM role's ARN.
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws")
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|r| !r.is_empty())
    )
}
