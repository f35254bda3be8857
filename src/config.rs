//! `greenlight.toml`: reading, checking and resolving the configuration.
//!
//! In: the path of the file. Out: a [`Config`] whose every value has been
//! checked against what Lambda accepts, with paths resolved against the file's
//! folder. Any problem is an [`Error`] with exit code 2 that names the file,
//! the key and the value. Nothing here talks to AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::env_values::{self, References};
use crate::error::{Error, Result};
use crate::extra_settings::{ExtraSettings, RawExtras, RawFileSystem, RawLogging, RawVpc};
use crate::gates::NoData;
use crate::metrics::{DEFAULT_MIN_INVOCATIONS, MAX_SETTLE, Measure, MetricGate, MetricGates};
use crate::plan::{DEFAULT_BAKE, MAX_BAKE, MAX_BAKE_REASON, Plan};
use crate::secrets::Environment;

/// The alias greenlight releases to when the config names none.
pub const DEFAULT_ALIAS: &str = "live";
/// How long a smoke test may take when the config does not say.
pub const DEFAULT_SMOKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a smoke test's attempt, its pause between attempts, or an
/// HTTP test's `max_latency` may be.
pub const MAX_SMOKE_WAIT: Duration = Duration::from_secs(60 * 60);
/// The most attempts a smoke test may make after a failed one.
pub const MAX_RETRIES: u32 = 10;
/// How long greenlight waits for a published version to become `Active`
/// when the config does not say (`function.ready_timeout`).
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The longest `function.ready_timeout` may be.
pub const MAX_READY_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// In a `[[functions]]` file, the entry this function comes from, as
    /// errors name it: `functions[2] "billing"`.
    pub entry: Option<String>,
    /// The function to ship.
    pub function: FunctionConfig,
    /// What to package, if the config says.
    pub package: Option<PackageConfig>,
    /// Smoke tests run against every new version before it gets traffic.
    pub smoke: Vec<SmokeTest>,
    /// How traffic moves and what is watched meanwhile.
    pub release: ReleaseConfig,
    /// With `[dns]`, releases shift Route 53 weights between two colours
    /// instead of moving one alias.
    pub dns: Option<DnsConfig>,
    /// With `[alb]`, releases shift the weights of a load balancer's two
    /// target groups instead.
    pub alb: Option<crate::alb_config::AlbConfig>,
}

/// The `[dns]` table: two weighted records, `blue` and `green`, with the
/// same name and type, each in front of one Lambda alias.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsConfig {
    /// The hosted zone.
    pub zone_id: String,
    /// The record name, without the trailing dot.
    pub name: String,
    /// `CNAME`, or `A`/`AAAA` alias records.
    pub record_type: String,
    /// The TTL used when greenlight creates the records.
    pub ttl: i64,
    /// The two colours, blue first.
    pub colours: [Colour; 2],
}

/// One colour of a DNS release.
#[derive(Debug, Clone, PartialEq)]
pub struct Colour {
    /// `blue` or `green`: the record's SetIdentifier.
    pub name: &'static str,
    /// The CNAME target, or the alias target's DNS name.
    pub value: String,
    /// For `A`/`AAAA` alias records: the target's hosted zone.
    pub target_zone_id: Option<String>,
    /// The Lambda alias behind this colour.
    pub alias: String,
}

/// The `[release]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseConfig {
    /// Steps and bake time; all at once by default.
    pub plan: Plan,
    /// CloudWatch alarms watched before and during every bake.
    pub alarms: Vec<String>,
    /// Thresholds on the new version's own metrics during bakes.
    pub metrics: MetricGates,
    /// What an alarm in `INSUFFICIENT_DATA` means during a step.
    pub no_data: NoData,
    /// In a `[[functions]]` file: every function makes each move only when
    /// all are ready for it, and one failing rolls them all back
    /// ([`crate::lockstep`]).
    pub together: bool,
    /// An alias deploy points at each new version before its smoke tests,
    /// so an HTTP test can reach the version through it (`{candidate}`); it
    /// never carries user traffic.
    pub candidate: Option<String>,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            plan: Plan::all_at_once(),
            alarms: Vec::new(),
            metrics: MetricGates::default(),
            no_data: NoData::Hold,
            together: false,
            candidate: None,
        }
    }
}

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
    /// ([`crate::env_values::resolve`] moves them into `settings`).
    pub environment_refs: References,
}

/// Function settings from the config; `None` means "leave as it is".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionSettings {
    /// Runtime identifier, e.g. `python3.12`.
    pub runtime: Option<String>,
    /// Handler, e.g. `index.handler`.
    pub handler: Option<String>,
    /// Execution role ARN.
    pub role: Option<String>,
    /// Memory in MB.
    pub memory: Option<i32>,
    /// Timeout in seconds.
    pub timeout: Option<i32>,
    /// Environment variables (secret values).
    pub environment: Option<Environment>,
    /// Function description.
    pub description: Option<String>,
    /// SnapStart on published versions (`true`) or off (`false`).
    pub snap_start: Option<bool>,
    /// Architecture, layers, storage, tracing, VPC, logging, DLQ, KMS key,
    /// file systems and tags ([`crate::extra_settings`]).
    pub extra: ExtraSettings,
}

/// The `[package]` table.
#[derive(Debug, Clone, Default)]
pub struct PackageConfig {
    /// A directory to zip, or a `.zip` used as it is; resolved against the config's folder.
    pub source: PathBuf,
    /// Globs (gitignore syntax, relative to `source`) left out of the zip.
    pub exclude: Vec<String>,
    /// Extra files or folders put at the top of the zip; resolved against the config's folder.
    pub include: Vec<PathBuf>,
    /// A shell command run in the config's folder before packaging.
    pub build: Option<String>,
    /// The config's folder, where `build` runs.
    pub dir: PathBuf,
    /// The bucket packages go through (needed for zips over 50 MB).
    pub s3_bucket: Option<String>,
    /// Key prefix inside `s3_bucket`.
    pub s3_prefix: String,
    /// A container image (in ECR) deployed instead of a zip. When set, there
    /// is no zip: `source`, `exclude`, `include` and the S3 keys are empty.
    pub image_uri: Option<String>,
}

/// One `[[smoke]]` entry: a check of the new version (or, as a gate, of
/// the alias) that must pass before users get it.
#[derive(Debug, Clone, PartialEq)]
pub struct SmokeTest {
    /// A name to report it by.
    pub name: String,
    /// What is checked.
    pub check: Check,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Attempts after a failed one (cold starts, slow DNS).
    pub retries: u32,
    /// The pause between attempts.
    pub retry_delay: Duration,
}

/// The kind of a smoke test: each `[[smoke]]` entry is one.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Invoke the function and match its answer.
    Invoke {
        /// The JSON request sent to the function.
        payload: serde_json::Value,
        /// Keys the JSON response must contain with equal values (nested objects as subsets).
        expect: Option<serde_json::Value>,
        /// The function must fail, with an error type or message containing this.
        expect_error: Option<String>,
    },
    /// An HTTP request, e.g. to a function URL or an API in front of the function.
    Http(HttpCheck),
    /// A command that exits 0 when the version is good.
    Command {
        /// Run with `sh -c` in the config's folder.
        run: String,
        /// The config's folder.
        dir: PathBuf,
    },
}

/// `http = { ... }` in a `[[smoke]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCheck {
    /// The URL, with the [`crate::smoke::PLACEHOLDERS`] filled in (each
    /// one known, and `{endpoint}` only in DNS mode: checked at load).
    pub url: String,
    /// The method, `GET` by default.
    pub method: String,
    /// Request headers; their values are filled like the URL.
    pub headers: BTreeMap<String, String>,
    /// The request body, filled like the URL.
    pub body: Option<String>,
    /// The status the response must have (200 by default).
    pub status: u16,
    /// Text the response body must contain.
    pub contains: Option<String>,
    /// Keys the JSON response body must contain with equal values.
    pub json: Option<serde_json::Value>,
    /// The longest the response may take.
    pub max_latency: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    function: RawFunction,
    package: Option<RawPackage>,
    #[serde(default)]
    smoke: Vec<RawSmoke>,
    release: Option<RawRelease>,
    dns: Option<RawDns>,
    alb: Option<toml::Spanned<crate::alb_config::RawAlb>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    zone_id: String,
    name: String,
    #[serde(rename = "type")]
    record_type: Option<String>,
    ttl: Option<i64>,
    blue: RawColour,
    green: RawColour,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColour {
    value: String,
    alias: String,
    target_zone_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    steps: Option<Vec<i64>>,
    bake: Option<String>,
    preset: Option<String>,
    #[serde(default)]
    alarms: Vec<String>,
    #[serde(default)]
    metrics: Vec<RawMetric>,
    min_invocations: Option<i64>,
    max_hold: Option<String>,
    metrics_settle: Option<String>,
    insufficient_data: Option<String>,
    #[serde(default)]
    together: bool,
    candidate: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    name: String,
    max: Option<toml::Value>,
    margin: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunction {
    name: String,
    alias: Option<String>,
    region: Option<String>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    source: Option<String>,
    image_uri: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
    build: Option<String>,
    s3_bucket: Option<String>,
    #[serde(default)]
    s3_prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmoke {
    name: String,
    #[serde(default)]
    payload: Option<serde_json::Value>,
    expect: Option<serde_json::Value>,
    expect_error: Option<String>,
    timeout: Option<String>,
    retries: Option<u32>,
    retry_delay: Option<String>,
    http: Option<RawHttp>,
    run: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    url: String,
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    status: Option<u16>,
    contains: Option<String>,
    json: Option<serde_json::Value>,
    max_latency: Option<String>,
}

impl Config {
    /// Reads and checks every function the file at `path` describes: its
    /// `[function]`, or each entry of `[[functions]]` with the top-level
    /// tables as defaults (see [`crate::functions`]).
    /// The second value says whether the file uses `[[functions]]`.
    pub fn load_all(path: &Path) -> Result<(Vec<Config>, bool)> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::usage(format!("cannot read config file {}", path.display()))
                .with_cause(e)
                .with_hint(
                    "run greenlight in the folder that holds greenlight.toml, or pass -c PATH",
                )
        })?;
        let file = path.display().to_string();
        let text = utf8(&file, bytes)?;
        match crate::functions::expand(&file, &text)? {
            None => Ok((vec![Self::parse(path, &text)?], false)),
            Some(entries) => {
                let configs = entries
                    .into_iter()
                    .map(|(label, doc)| Self::parse_as(path, Some(label), &doc))
                    .collect::<Result<Vec<_>>>()?;
                crate::functions::check_together(&file, &configs)?;
                crate::functions::check_dns_pairs(&file, &configs)?;
                let albs = configs
                    .iter()
                    .filter_map(|c| Some((c.function.name.as_str(), c.alb.as_ref()?)));
                crate::alb_config::check_shared(&file, albs)?;
                Ok((configs, true))
            }
        }
    }

    /// Checks config `text` as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        Self::parse_as(path, None, text)
    }

    /// Checks config `text` from `path`: the whole file, or the document
    /// made for one `entry` of `[[functions]]` (then errors name the entry,
    /// and have no line and column: the document is generated).
    fn parse_as(path: &Path, entry: Option<String>, text: &str) -> Result<Config> {
        let file = origin(path, entry.as_deref());
        let raw: RawConfig = parse_toml(&file, text, entry.is_none())?;
        let around = crate::alb_config::Around {
            file: &file,
            text: entry.is_none().then_some(text),
            function_alias: raw.function.alias.as_deref().unwrap_or(DEFAULT_ALIAS),
            candidate: raw.release.as_ref().and_then(|r| r.candidate.as_deref()),
            region: raw.function.region.as_deref(),
            dns: raw.dns.is_some(),
        };
        let alb = raw
            .alb
            .map(|alb| crate::alb_config::check(alb, &around))
            .transpose()?;
        let at = Checker { file: &file };
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        Config {
            path: path.to_path_buf(),
            entry,
            function: at.function(raw.function)?,
            package: raw.package.map(|p| at.package(&dir, p)).transpose()?,
            smoke: at.smoke_tests(&dir, raw.smoke)?,
            release: raw
                .release
                .map(|r| at.release(r))
                .transpose()?
                .unwrap_or_default(),
            dns: raw.dns.map(|d| at.dns(d)).transpose()?,
            alb,
        }
        .checked(&at)
    }

    /// Checks what no single table can: an image function has no runtime
    /// or handler, and an HTTP test's `{endpoint}` needs `[dns]`.
    fn checked(self, at: &Checker) -> Result<Config> {
        self.check_candidate(at)?;
        for (i, test) in self.smoke.iter().enumerate() {
            if let Check::Http(http) = &test.check {
                at.placeholders(&format!("smoke[{i}].http"), http, &self)?;
            }
        }
        let image = self.package.as_ref().is_some_and(|p| p.image_uri.is_some());
        let settings = &self.function.settings;
        for (key, value) in [
            ("function.runtime", &settings.runtime),
            ("function.handler", &settings.handler),
        ] {
            if let (true, Some(value)) = (image, value) {
                return Err(at.bad(
                    key,
                    format!("{value:?}"),
                    "a container image function takes its runtime and handler from the image (remove the key, or set them in the image's ENTRYPOINT/CMD)",
                ));
            }
        }
        if let (true, Some(layers)) = (image, &settings.extra.layers)
            && !layers.is_empty()
        {
            return Err(at.bad(
                "function.layers",
                format!("{layers:?}"),
                "Lambda takes no layers for a container image function (put their files into the image, or remove the key)",
            ));
        }
        if image && settings.snap_start == Some(true) {
            return Err(at.bad(
                "function.snap_start",
                true,
                "Lambda has no SnapStart for container images (remove the key, or deploy a zip)",
            ));
        }
        Ok(self)
    }

    /// `release.candidate` is an alias name of its own: not the alias users
    /// reach (nor, with `[dns]`, either colour's).
    fn check_candidate(&self, at: &Checker) -> Result<()> {
        let Some(candidate) = &self.release.candidate else {
            return Ok(());
        };
        let shown = format!("{candidate:?}");
        if !is_alias_name(candidate) {
            return Err(at.bad("release.candidate", shown, "an alias is 1 to 128 letters, digits, '-' or '_', not only digits, and never $LATEST"));
        }
        let live = std::iter::once(&self.function.alias).chain(
            self.dns
                .iter()
                .flat_map(|d| d.colours.iter().map(|c| &c.alias)),
        );
        for alias in live {
            if alias == candidate {
                return Err(at.bad(
                    "release.candidate",
                    shown,
                    &format!("alias {alias} carries users' traffic; the candidate alias must be another one (such as \"next\"), which deploy points at each new version before its smoke tests"),
                ));
            }
        }
        Ok(())
    }

    /// The `[package]` table, or a usage error naming `command` when it is missing.
    pub fn require_package(&self, command: &str) -> Result<&PackageConfig> {
        self.package.as_ref().ok_or_else(|| {
            let hint = match &self.entry {
                None => "add `[package]` with `source = \"app\"` (a folder or a .zip)",
                Some(_) => "add `package = { source = \"app\" }` (a folder or a .zip) to the entry, or a top-level [package] with `source`",
            };
            Error::usage(format!(
                "{}: `{command}` needs a [package] table with `source`",
                self.origin()
            ))
            .with_hint(hint)
        })
    }

    /// How errors name this config: its file, and in a `[[functions]]`
    /// file the entry too (`greenlight.toml functions[2] "billing"`).
    pub fn origin(&self) -> String {
        origin(&self.path, self.entry.as_deref())
    }
}

/// How errors name the config read from `path` (and its `entry` of
/// `[[functions]]`, if any).
fn origin(path: &Path, entry: Option<&str>) -> String {
    match entry {
        None => path.display().to_string(),
        Some(entry) => format!("{} {entry}", path.display()),
    }
}

/// A repository path with a `:tag` or an `@sha256:` digest, no spaces.
fn is_image_uri(uri: &str) -> bool {
    let Some((repository, reference)) = uri
        .split_once('@')
        .or_else(|| uri.rsplit_once(':').filter(|(repo, _)| repo.contains('/')))
    else {
        return false;
    };
    repository.contains('/')
        && !reference.is_empty()
        && !uri.chars().any(char::is_whitespace)
        && (!uri.contains('@') || reference.starts_with("sha256:"))
}

fn parse_toml<T: serde::de::DeserializeOwned>(file: &str, text: &str, spans: bool) -> Result<T> {
    let located = |message: &str, span: Option<std::ops::Range<usize>>| {
        let place = span
            .filter(|_| spans)
            .map(|s| line_col(text, s.start))
            .map(|(l, c)| format!(":{l}:{c}"))
            .unwrap_or_default();
        format!("{file}{place}: {message}")
    };
    let de = toml::Deserializer::parse(text)
        .map_err(|e| Error::usage(located(e.message().trim(), e.span())))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        // A value read with its place (`toml::Spanned`) adds a segment of
        // its own to the path, which is no key of the file.
        let path = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        let key = if path == "." || path.is_empty() {
            String::new()
        } else {
            format!(" (key `{path}`)")
        };
        Error::usage(located(
            &format!("{}{key}", inner.message().trim()),
            inner.span(),
        ))
        .with_hint("see the configuration reference in README.md")
    })
}

/// The config's text, or an error naming the first byte that is not UTF-8.
fn utf8(file: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let valid = String::from_utf8_lossy(&bytes[..offset]);
        let (line, col) = line_col(&valid, offset);
        Error::usage(format!(
            "{file}:{line}:{col}: the file is not UTF-8 text: byte 0x{:02x} at offset {offset} is not valid UTF-8",
            bytes[offset]
        ))
        .with_hint("save the file as UTF-8 (TOML files are UTF-8), e.g. `iconv -f latin1 -t utf-8`")
    })
}

/// The line and column (both from 1) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}

/// Checks values and builds errors that name the file and key.
struct Checker<'a> {
    file: &'a str,
}

impl Checker<'_> {
    fn bad(&self, key: &str, value: impl std::fmt::Display, why: &str) -> Error {
        Error::usage(format!("{}: `{key}` = {value}: {why}", self.file))
    }

    fn function(&self, raw: RawFunction) -> Result<FunctionConfig> {
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
            env_values::from_config(raw.environment, raw.environment_keep, &|key, value, why| {
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
        let extra = crate::extra_settings::check(
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
                snap_start: raw.snap_start,
                extra,
            },
            environment_refs,
        })
    }

    /// The duration `text` at `key`, when it parses and lies in `range`;
    /// otherwise an error saying what is accepted (`what`).
    fn duration(
        &self,
        key: &str,
        text: &str,
        range: std::ops::RangeInclusive<Duration>,
        what: &str,
    ) -> Result<Duration> {
        humantime::parse_duration(text)
            .ok()
            .filter(|d| range.contains(d))
            .ok_or_else(|| self.bad(key, format!("{text:?}"), what))
    }

    fn in_range(
        &self,
        key: &str,
        value: Option<i64>,
        range: std::ops::RangeInclusive<i64>,
        unit: &str,
    ) -> Result<Option<i32>> {
        match value {
            None => Ok(None),
            Some(v) if range.contains(&v) => Ok(Some(v as i32)),
            Some(v) => Err(self.bad(
                key,
                v,
                &format!("Lambda accepts {} to {} {unit}", range.start(), range.end()),
            )),
        }
    }

    fn package(&self, dir: &Path, raw: RawPackage) -> Result<PackageConfig> {
        if raw.image_uri.is_some() {
            return self.image(dir, raw);
        }
        let Some(source) = raw.source else {
            return Err(Error::usage(format!(
                "{}: `[package]` needs `source` (a folder or a .zip file) or `image_uri`",
                self.file
            ))
            .with_hint("add `source = \"app\"` under [package]"));
        };
        if source.trim().is_empty() {
            return Err(self.bad("package.source", "\"\"", "name a folder or a .zip file"));
        }
        let source = dir.join(source);
        crate::package::exclusions(&source, &raw.exclude).map_err(|e| Error {
            message: format!("{}: {}", self.file, e.message),
            ..e
        })?;
        if let Some(bucket) = &raw.s3_bucket
            && !is_bucket_name(bucket)
        {
            return Err(self.bad(
                "package.s3_bucket",
                format!("{bucket:?}"),
                "a bucket name is 3 to 63 lowercase letters, digits, '.' or '-'",
            ));
        }
        if let Some(build) = &raw.build
            && build.trim().is_empty()
        {
            return Err(self.bad(
                "package.build",
                "\"\"",
                "give a command, or leave the key out",
            ));
        }
        Ok(PackageConfig {
            source,
            exclude: raw.exclude,
            include: raw.include.iter().map(|i| dir.join(i)).collect(),
            build: raw.build,
            dir: dir.to_path_buf(),
            s3_bucket: raw.s3_bucket,
            s3_prefix: raw.s3_prefix,
            image_uri: None,
        })
    }

    /// `[package]` for a container image: only `image_uri` and `build` apply.
    fn image(&self, dir: &Path, raw: RawPackage) -> Result<PackageConfig> {
        let image = raw.image_uri.unwrap_or_default();
        let zip_only = [
            ("package.source", raw.source.is_some()),
            ("package.exclude", !raw.exclude.is_empty()),
            ("package.include", !raw.include.is_empty()),
            ("package.s3_bucket", raw.s3_bucket.is_some()),
            ("package.s3_prefix", !raw.s3_prefix.is_empty()),
        ];
        if let Some((key, _)) = zip_only.iter().find(|(_, given)| *given) {
            return Err(Error::usage(format!(
                "{}: `{key}` does not apply with `package.image_uri`: an image function has no zip",
                self.file
            ))
            .with_hint("keep either image_uri or the zip keys (source, exclude, include, s3_bucket, s3_prefix)"));
        }
        if !is_image_uri(&image) {
            return Err(self.bad(
                "package.image_uri",
                format!("{image:?}"),
                "give an ECR image like 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1 or …/app@sha256:<digest>",
            ));
        }
        Ok(PackageConfig {
            build: raw.build,
            dir: dir.to_path_buf(),
            image_uri: Some(image),
            ..PackageConfig::default()
        })
    }

    fn dns(&self, raw: RawDns) -> Result<DnsConfig> {
        if raw.zone_id.trim().is_empty() {
            return Err(self.bad(
                "dns.zone_id",
                "\"\"",
                "give the hosted zone's id, e.g. Z0123456789ABC",
            ));
        }
        let name = raw.name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(self.bad(
                "dns.name",
                format!("{:?}", raw.name),
                "give the record's name, e.g. api.example.com",
            ));
        }
        let record_type = raw.record_type.unwrap_or_else(|| "CNAME".to_owned());
        let alias_records = match record_type.as_str() {
            "CNAME" => false,
            "A" | "AAAA" => true,
            other => {
                return Err(self.bad(
                    "dns.type",
                    format!("{other:?}"),
                    "use \"CNAME\", or \"A\"/\"AAAA\" for alias records",
                ));
            }
        };
        let ttl = raw.ttl.unwrap_or(60);
        if !(0..=86_400).contains(&ttl) {
            return Err(self.bad("dns.ttl", ttl, "give seconds, 0 to 86400"));
        }
        let colour = |name: &'static str, raw: RawColour| -> Result<Colour> {
            let key = |k: &str| format!("dns.{name}.{k}");
            if raw.value.trim().is_empty() {
                return Err(self.bad(
                    &key("value"),
                    "\"\"",
                    "give the endpoint this colour's record points at",
                ));
            }
            if !is_alias_name(&raw.alias) {
                return Err(self.bad(&key("alias"), format!("{:?}", raw.alias), "an alias is 1 to 128 letters, digits, '-' or '_', not only digits, and never $LATEST"));
            }
            match (alias_records, &raw.target_zone_id) {
                (true, None) => Err(self.bad(&key("target_zone_id"), "(missing)", "A/AAAA records are alias records: give the hosted zone of the target (e.g. the API Gateway domain's)")),
                (false, Some(zone)) => Err(self.bad(&key("target_zone_id"), format!("{zone:?}"), "only A/AAAA alias records take a target zone; remove it for a CNAME")),
                _ => Ok(Colour {
                    name,
                    value: raw.value.trim_end_matches('.').to_owned(),
                    target_zone_id: raw.target_zone_id,
                    alias: raw.alias,
                }),
            }
        };
        let colours = [colour("blue", raw.blue)?, colour("green", raw.green)?];
        if colours[0].alias == colours[1].alias {
            return Err(self.bad(
                "dns.green.alias",
                format!("{:?}", colours[1].alias),
                "each colour needs its own alias (blue's is the same)",
            ));
        }
        if colours[0].value == colours[1].value {
            return Err(self.bad(
                "dns.green.value",
                format!("{:?}", colours[1].value),
                "each colour needs its own endpoint (blue's is the same)",
            ));
        }
        Ok(DnsConfig {
            zone_id: raw.zone_id.trim().to_owned(),
            name,
            record_type,
            ttl,
            colours,
        })
    }

    fn release(&self, raw: RawRelease) -> Result<ReleaseConfig> {
        let plan = match (&raw.preset, &raw.steps, &raw.bake) {
            (Some(preset), None, None) => {
                let plan = Plan::preset(preset).ok_or_else(|| {
                    self.bad(
                        "release.preset",
                        format!("{preset:?}"),
                        "use a name like Canary10Percent5Minutes, Linear10PercentEvery1Minute or AllAtOnce",
                    )
                })?;
                if plan.bake > MAX_BAKE {
                    return Err(self.bad(
                        "release.preset",
                        format!("{preset:?}"),
                        &format!(
                            "a preset bakes 1 to {} minutes (14 days): {MAX_BAKE_REASON}",
                            MAX_BAKE.as_secs() / 60
                        ),
                    ));
                }
                plan
            }
            (Some(_), _, _) => {
                return Err(Error::usage(format!(
                    "{}: `release.preset` cannot be combined with `release.steps` or `release.bake`",
                    self.file
                ))
                .with_hint("keep either the preset or the steps and bake"));
            }
            (None, steps, bake) => Plan {
                steps: Plan::check_steps(steps.as_deref().unwrap_or_default()).map_err(|why| {
                    self.bad("release.steps", format!("{:?}", steps.as_deref().unwrap_or_default()), &why)
                })?,
                bake: match bake {
                    None => DEFAULT_BAKE,
                    Some(text) => self.duration(
                        "release.bake",
                        text,
                        Duration::from_secs(1)..=MAX_BAKE,
                        &format!("a duration from 1s to 14 days, such as \"30s\", \"5m\" or \"1h\": {MAX_BAKE_REASON}"),
                    )?,
                },
            },
        };
        let mut seen = BTreeSet::new();
        for (i, name) in raw.alarms.iter().enumerate() {
            if name.trim().is_empty() || name.len() > 255 {
                return Err(self.bad(
                    &format!("release.alarms[{i}]"),
                    format!("{name:?}"),
                    "an alarm name is 1 to 255 characters",
                ));
            }
            if !seen.insert(name) {
                return Err(self.bad(
                    &format!("release.alarms[{i}]"),
                    format!("{name:?}"),
                    "listed twice",
                ));
            }
        }
        let mut metrics = self.metric_gates(raw.metrics, raw.min_invocations, raw.max_hold)?;
        metrics.settle = raw
            .metrics_settle
            .map(|text| {
                self.duration(
                    "release.metrics_settle",
                    &text,
                    Duration::ZERO..=MAX_SETTLE,
                    "a duration of at most 1h, such as \"3m\" (how long Lambda's metrics may take to arrive; \"0s\" judges each step the moment its bake ends)",
                )
            })
            .transpose()?;
        let no_data = match raw.insufficient_data.as_deref() {
            None | Some("hold") => NoData::Hold,
            Some("ok") => NoData::Ok,
            Some(other) => {
                return Err(self.bad(
                    "release.insufficient_data",
                    format!("{other:?}"),
                    "use \"hold\" (an alarm with no data holds the step, like metrics with too little traffic) or \"ok\" (no data counts as green)",
                ));
            }
        };
        Ok(ReleaseConfig {
            plan,
            alarms: raw.alarms,
            metrics,
            no_data,
            together: raw.together,
            candidate: raw.candidate,
        })
    }

    fn metric_gates(
        &self,
        raw: Vec<RawMetric>,
        min_invocations: Option<i64>,
        max_hold: Option<String>,
    ) -> Result<MetricGates> {
        let mut gates: Vec<MetricGate> = Vec::new();
        for (i, m) in raw.into_iter().enumerate() {
            let key = |k: &str| format!("release.metrics[{i}].{k}");
            let Some(&(_, measure)) = Measure::ALL.iter().find(|(n, _)| *n == m.name) else {
                return Err(self.bad(
                    &key("name"),
                    format!("{:?}", m.name),
                    "use error-rate, throttles or p99-duration",
                ));
            };
            if gates.iter().any(|g| g.measure == measure) {
                return Err(self.bad(
                    &key("name"),
                    format!("{:?}", m.name),
                    "listed twice; give one entry with max and margin",
                ));
            }
            if let Some(margin) = m.margin.as_ref().filter(|_| !measure.has_margin()) {
                return Err(self.bad(
                    &key("margin"),
                    margin,
                    "throttles take `max` only: Lambda may throttle a request before it picks a version, so they are counted for the alias as a whole, which has no stable version's count to compare with; give a ceiling such as max = 0",
                ));
            }
            let limit = |k: &str, v: Option<toml::Value>| {
                v.map(|v| measure.limit(&v).map_err(|why| self.bad(&key(k), &v, why)))
                    .transpose()
            };
            let (max, margin) = (limit("max", m.max)?, limit("margin", m.margin)?);
            if max.is_none() && margin.is_none() {
                return Err(self.bad(
                    &key("name"),
                    format!("{:?}", m.name),
                    if measure.has_margin() {
                        "give `max` (a ceiling), `margin` (how far above the stable version) or both"
                    } else {
                        "give `max`, a ceiling on the alias's throttles in a step, such as max = 0"
                    },
                ));
            }
            gates.push(MetricGate {
                measure,
                max,
                margin,
            });
        }
        let min_invocations = match min_invocations {
            None => DEFAULT_MIN_INVOCATIONS,
            Some(n) => u64::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                self.bad(
                    "release.min_invocations",
                    n,
                    "a count of at least 1, such as 100",
                )
            })?,
        };
        let max_hold = max_hold
            .map(|text| {
                self.duration(
                    "release.max_hold",
                    &text,
                    Duration::ZERO..=MAX_BAKE,
                    &format!(
                        "a duration of at most 14 days, such as \"10m\" or \"1h\": {MAX_BAKE_REASON}"
                    ),
                )
            })
            .transpose()?;
        Ok(MetricGates {
            gates,
            min_invocations,
            max_hold,
            settle: None,
        })
    }

    fn http(&self, key: &str, raw: RawHttp) -> Result<HttpCheck> {
        let url = raw.url.trim().to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(self.bad(
                &format!("{key}.url"),
                format!("{url:?}"),
                "give an http:// or https:// URL",
            ));
        }
        let method = raw
            .method
            .unwrap_or_else(|| "GET".to_owned())
            .to_ascii_uppercase();
        if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].contains(&method.as_str())
        {
            return Err(self.bad(
                &format!("{key}.method"),
                format!("{method:?}"),
                "use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
            ));
        }
        let status = raw.status.unwrap_or(200);
        if !(100..=599).contains(&status) {
            return Err(self.bad(
                &format!("{key}.status"),
                status,
                "an HTTP status is 100 to 599",
            ));
        }
        let max_latency = raw
            .max_latency
            .map(|text| {
                self.duration(
                    &format!("{key}.max_latency"),
                    &text,
                    Duration::from_nanos(1)..=MAX_SMOKE_WAIT,
                    "a duration above 0 and at most 1h, such as \"500ms\"",
                )
            })
            .transpose()?;
        Ok(HttpCheck {
            url,
            method,
            headers: raw.headers,
            body: raw.body,
            status,
            contains: raw.contains,
            json: raw.json,
            max_latency,
        })
    }

    /// Refuses a placeholder in the url, a header value or the body of the
    /// HTTP test at `key` that would not be filled: an unknown name, or
    /// `{endpoint}` without `[dns]` (it would be empty).
    fn placeholders(&self, key: &str, http: &HttpCheck, config: &Config) -> Result<()> {
        let texts =
            std::iter::once((format!("{key}.url"), format!("{:?}", http.url), &http.url))
                .chain(http.headers.iter().map(|(name, value)| {
                    (format!("{key}.headers.{name}"), "(text)".to_owned(), value)
                }))
                .chain(
                    http.body
                        .iter()
                        .map(|body| (format!("{key}.body"), "(text)".to_owned(), body)),
                );
        for (key, shown, text) in texts {
            for placeholder in crate::smoke::placeholders(text) {
                if !crate::smoke::PLACEHOLDERS.contains(&placeholder) {
                    return Err(self.bad(
                        &key,
                        shown,
                        &format!(
                            "unknown placeholder {placeholder}; the known ones are {}",
                            crate::smoke::PLACEHOLDERS.join(", ")
                        ),
                    ));
                }
                if placeholder == "{candidate}" && config.release.candidate.is_none() {
                    return Err(self.bad(
                        &key,
                        shown,
                        "{candidate} is the candidate alias, and this config sets no release.candidate",
                    )
                    .with_hint("add `candidate = \"next\"` under [release]: deploy points that alias at each new version before its smoke tests"));
                }
                if placeholder == "{endpoint}" && config.dns.is_none() {
                    return Err(self.bad(
                        &key,
                        shown,
                        "{endpoint} is the endpoint of the DNS colour under test, and this config has no [dns] table",
                    )
                    .with_hint("give the URL itself (a function URL or the API in front), or add [dns]"));
                }
            }
        }
        Ok(())
    }

    fn smoke_tests(&self, dir: &Path, raw: Vec<RawSmoke>) -> Result<Vec<SmokeTest>> {
        let mut seen = BTreeSet::new();
        raw.into_iter()
            .enumerate()
            .map(|(i, s)| {
                let key = |field: &str| format!("smoke[{i}].{field}");
                if s.name.trim().is_empty() {
                    return Err(self.bad(&key("name"), "\"\"", "give every smoke test a name"));
                }
                if !seen.insert(s.name.clone()) {
                    return Err(self.bad(
                        &key("name"),
                        format!("{:?}", s.name),
                        "smoke test names must be unique",
                    ));
                }
                let duration = |field: &str, text: &Option<String>, default: Duration| match text {
                    None => Ok(default),
                    Some(text) => self.duration(
                        &key(field),
                        text,
                        Duration::from_nanos(1)..=MAX_SMOKE_WAIT,
                        "a duration above 0 and at most 1h, such as \"500ms\", \"30s\" or \"2m\"",
                    ),
                };
                let retries = s.retries.unwrap_or(0);
                if retries > MAX_RETRIES {
                    return Err(self.bad(
                        &key("retries"),
                        retries,
                        &format!("give 0 to {MAX_RETRIES} attempts after a failed one"),
                    ));
                }
                let timeout = duration("timeout", &s.timeout, DEFAULT_SMOKE_TIMEOUT)?;
                let retry_delay = duration("retry_delay", &s.retry_delay, Duration::from_secs(2))?;
                let invoke_keys =
                    s.payload.is_some() || s.expect.is_some() || s.expect_error.is_some();
                if invoke_keys && (s.http.is_some() || s.run.is_some()) {
                    return Err(self.bad(
                        &key("payload"),
                        "(with http or run)",
                        "payload, expect and expect_error belong to invoke tests",
                    ));
                }
                let check = match (s.http, s.run) {
                    (Some(_), Some(_)) => {
                        return Err(self.bad(
                            &key("run"),
                            "(with http)",
                            "a smoke test is one kind: invoke, http or run",
                        ));
                    }
                    (Some(http), None) => Check::Http(self.http(&key("http"), http)?),
                    (None, Some(run)) if run.trim().is_empty() => {
                        return Err(self.bad(
                            &key("run"),
                            "\"\"",
                            "give a command, e.g. \"./scripts/smoke.sh\"",
                        ));
                    }
                    (None, Some(run)) => Check::Command {
                        run,
                        dir: dir.to_path_buf(),
                    },
                    (None, None) => Check::Invoke {
                        payload: s.payload.unwrap_or_else(|| serde_json::json!({})),
                        expect: s.expect,
                        expect_error: s.expect_error,
                    },
                };
                Ok(SmokeTest {
                    name: s.name,
                    check,
                    timeout,
                    retries,
                    retry_delay,
                })
            })
            .collect()
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
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

/// A name Lambda accepts for an alias (never `$LATEST`, never a version number).
pub(crate) fn is_alias_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name.chars().all(is_word_char)
        && !name.chars().all(|c| c.is_ascii_digit())
}

fn is_role_arn(arn: &str) -> bool {
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

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("dir/greenlight.toml"), text)
    }

    fn message(text: &str) -> String {
        parse(text).expect_err("config should be rejected").message
    }

    #[test]
    fn full_example_parses_with_defaults() {
        let cfg = parse(
            r#"
[function]
name = "orders"
runtime = "python3.12"
handler = "index.handler"
role = "arn:aws:iam::123456789012:role/orders"
memory = 256
timeout = 10
environment = { LOG_LEVEL = "info" }

[package]
source = "app"

[[smoke]]
name = "echo"
payload = { probe = "ok" }
expect = { probe = "ok" }
"#,
        )
        .expect("valid config");
        assert_eq!(cfg.function.alias, "live");
        assert_eq!(cfg.function.settings.memory, Some(256));
        assert_eq!(cfg.package.expect("package").source, Path::new("dir/app"));
        assert_eq!(cfg.smoke[0].timeout, DEFAULT_SMOKE_TIMEOUT);
        assert!(
            matches!(&cfg.smoke[0].check, Check::Invoke { expect: Some(e), .. } if *e == serde_json::json!({"probe": "ok"})),
            "{:?}",
            cfg.smoke[0].check
        );
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let msg = message("[function]\nname = \"a\"\nmemroy = 5\n");
        assert!(
            msg.starts_with("dir/greenlight.toml:3:1: unknown field `memroy`"),
            "{msg}"
        );
        assert!(msg.contains("function.memroy"), "{msg}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let msg = message("[function]\nname = \"a\"\nmemory = \"big\"\n");
        assert!(msg.contains("function.memory"), "{msg}");
    }

    #[test]
    fn values_lambda_would_reject_are_refused() {
        let cases = [
            ("name = \"bad name\"", "function.name"),
            ("name = \"a\"\nalias = \"$LATEST\"", "function.alias"),
            ("name = \"a\"\nalias = \"42\"", "function.alias"),
            ("name = \"a\"\nmemory = 64", "function.memory"),
            ("name = \"a\"\ntimeout = 901", "function.timeout"),
            ("name = \"a\"\nrole = \"orders\"", "function.role"),
            (
                "name = \"a\"\nenvironment = { \"1X\" = \"v\" }",
                "function.environment.1X",
            ),
        ];
        for (body, key) in cases {
            let msg = message(&format!("[function]\n{body}\n"));
            assert!(msg.contains(&format!("`{key}`")), "{body}: {msg}");
        }
    }

    #[test]
    fn smoke_names_must_be_unique_and_timeouts_durations() {
        let base = "[function]\nname = \"a\"\n";
        let dup = message(&format!(
            "{base}[[smoke]]\nname = \"x\"\n[[smoke]]\nname = \"x\"\n"
        ));
        assert!(dup.contains("smoke[1].name"), "{dup}");
        let bad = message(&format!(
            "{base}[[smoke]]\nname = \"x\"\ntimeout = \"soon\"\n"
        ));
        assert!(bad.contains("smoke[0].timeout"), "{bad}");
    }

    #[test]
    fn smoke_tests_are_one_kind_each_with_checked_http_fields() {
        let base = "[function]\nname = \"a\"\n[[smoke]]\nname = \"x\"\n";
        let cfg = parse(&format!(
            "{base}http = {{ url = \"https://example.com/health?v={{version}}\", method = \"post\", status = 204, max_latency = \"500ms\" }}\nretries = 2\nretry_delay = \"1s\"\n"
        ))
        .expect("http test");
        let Check::Http(http) = &cfg.smoke[0].check else {
            panic!("an http test: {:?}", cfg.smoke[0].check);
        };
        assert_eq!((http.method.as_str(), http.status), ("POST", 204));
        assert_eq!(http.max_latency, Some(Duration::from_millis(500)));
        assert_eq!(cfg.smoke[0].retries, 2);
        let cases = [
            ("http = { url = \"ftp://x\" }", "smoke[0].http.url"),
            (
                "http = { url = \"http://x\", status = 700 }",
                "smoke[0].http.status",
            ),
            (
                "http = { url = \"http://x\", method = \"BREW\" }",
                "smoke[0].http.method",
            ),
            (
                "http = { url = \"http://x\", max_latency = \"fast\" }",
                "smoke[0].http.max_latency",
            ),
            (
                "http = { url = \"http://x\" }\nrun = \"true\"",
                "smoke[0].run",
            ),
            ("run = \"true\"\npayload = {}", "smoke[0].payload"),
            ("run = \" \"", "smoke[0].run"),
            ("retry_delay = \"0s\"", "smoke[0].retry_delay"),
        ];
        for (body, key) in cases {
            let msg = message(&format!("{base}{body}\n"));
            assert!(msg.contains(&format!("`{key}`")), "{body}: {msg}");
        }
    }

    #[test]
    fn snap_start_and_ready_timeout_are_checked() {
        let cfg = parse("[function]\nname = \"a\"\nsnap_start = true\nready_timeout = \"20m\"\n")
            .expect("valid");
        assert_eq!(cfg.function.settings.snap_start, Some(true));
        assert_eq!(cfg.function.ready_timeout, Duration::from_secs(20 * 60));
        let default = parse("[function]\nname = \"a\"\n").expect("valid");
        assert_eq!(default.function.settings.snap_start, None);
        assert_eq!(default.function.ready_timeout, DEFAULT_READY_TIMEOUT);
        let refused = [
            ("snap_start = \"yes\"\n", "function.snap_start"),
            (
                "ready_timeout = \"2h\"\n",
                "`function.ready_timeout` = \"2h\": a duration from 1s to 1h",
            ),
            ("ready_timeout = \"0s\"\n", "`function.ready_timeout`"),
            (
                "snap_start = true\n[package]\nimage_uri = \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1\"\n",
                "`function.snap_start` = true: Lambda has no SnapStart for container images",
            ),
        ];
        for (body, wanted) in refused {
            let msg = message(&format!("[function]\nname = \"a\"\n{body}"));
            assert!(msg.contains(wanted), "{body}: {msg}");
        }
    }

    #[test]
    fn durations_and_retries_are_bounded() {
        let function = "[function]\nname = \"a\"\n";
        let smoke = format!("{function}[[smoke]]\nname = \"x\"\n");
        let release = format!("{function}[release]\n");
        let accepted = [
            format!("{release}steps = [10]\nbake = \"14days\"\nmax_hold = \"14days\"\n"),
            format!("{release}preset = \"Canary10Percent20160Minutes\"\n"),
            format!("{release}max_hold = \"0s\"\n"),
            format!("{smoke}timeout = \"1h\"\nretry_delay = \"1h\"\nretries = 10\n"),
            format!("{smoke}http = {{ url = \"http://x\", max_latency = \"1h\" }}\n"),
            format!("{release}metrics = [{{ name = \"p99-duration\", max = \"15m\" }}]\n"),
        ];
        for text in accepted {
            parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
        let refused = [
            (
                format!("{release}steps = [10]\nbake = \"10000y\"\n"),
                "`release.bake` = \"10000y\": a duration from 1s to 14 days",
            ),
            (
                format!("{release}steps = [10]\nbake = \"14days 1s\"\n"),
                "CloudWatch keeps 1-minute Lambda metrics for 15 days",
            ),
            (
                format!("{release}steps = [10]\nbake = \"999ms\"\n"),
                "`release.bake`",
            ),
            (
                format!("{release}preset = \"Canary10Percent9999999999999Minutes\"\n"),
                "`release.preset` = \"Canary10Percent9999999999999Minutes\": a preset bakes 1 to 20160 minutes (14 days): CloudWatch",
            ),
            (
                format!("{release}preset = \"Linear10PercentEvery20161Minutes\"\n"),
                "`release.preset`",
            ),
            (
                format!("{release}max_hold = \"15days\"\n"),
                "`release.max_hold` = \"15days\": a duration of at most 14 days",
            ),
            (
                format!("{smoke}timeout = \"2h\"\n"),
                "`smoke[0].timeout` = \"2h\": a duration above 0 and at most 1h",
            ),
            (
                format!("{smoke}retry_delay = \"61m\"\n"),
                "`smoke[0].retry_delay`",
            ),
            (
                format!("{smoke}retries = 11\n"),
                "`smoke[0].retries` = 11: give 0 to 10 attempts after a failed one",
            ),
            (
                format!("{smoke}http = {{ url = \"http://x\", max_latency = \"3601s\" }}\n"),
                "`smoke[0].http.max_latency` = \"3601s\"",
            ),
            (
                format!("{release}metrics = [{{ name = \"p99-duration\", max = \"16m\" }}]\n"),
                "`release.metrics[0].max` = \"16m\": a duration such as \"800ms\" or \"2s\", at most 15m (Lambda's longest timeout)",
            ),
        ];
        for (text, wanted) in refused {
            let error = parse(&text).expect_err(&text);
            assert_eq!(error.exit_code(), 2);
            assert!(error.message.contains(wanted), "{text}: {}", error.message);
        }
    }

    #[test]
    fn http_placeholders_must_be_known_and_endpoint_needs_dns() {
        let base = "[function]\nname = \"a\"\n[[smoke]]\nname = \"x\"\n";
        let dns = "[dns]\nzone_id = \"Z1\"\nname = \"api.example.com\"\n[dns.blue]\nvalue = \"b.example.com\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g.example.com\"\nalias = \"green\"\n";
        let every = "https://{endpoint}/{function}/{qualifier}?v={version}&a={alias}&r={region}";
        let http = |fields: &str| format!("{base}http = {{ url = \"{every}\", {fields} }}\n");
        let filled = http(
            r#"headers = { X-Version = "{version}" }, body = '{"at": "{region}", "q": "{ id }"}'"#,
        );
        parse(&format!("{filled}{dns}")).unwrap_or_else(|e| panic!("{e}"));

        let known = "the known ones are {function}, {version}, {alias}, {qualifier}, {region}, {endpoint}, {candidate}";
        for (text, wanted) in [
            (
                format!("{base}http = {{ url = \"https://x/{{bogus}}\" }}\n"),
                format!(
                    "`smoke[0].http.url` = \"https://x/{{bogus}}\": unknown placeholder {{bogus}}; {known}"
                ),
            ),
            (
                format!(
                    "{}{dns}",
                    http(r#"headers = { Authorization = "Bearer {token}" }"#)
                ),
                format!(
                    "`smoke[0].http.headers.Authorization` = (text): unknown placeholder {{token}}; {known}"
                ),
            ),
            (
                format!("{}{dns}", http(r#"body = '{"v": "{versoin}"}'"#)),
                format!("`smoke[0].http.body` = (text): unknown placeholder {{versoin}}; {known}"),
            ),
            (
                filled,
                format!(
                    "`smoke[0].http.url` = \"{every}\": {{endpoint}} is the endpoint of the DNS colour under test, and this config has no [dns] table"
                ),
            ),
        ] {
            let error = parse(&text).expect_err(&text);
            assert_eq!(error.exit_code(), 2);
            assert_eq!(error.message, format!("dir/greenlight.toml: {wanted}"));
            assert!(
                !error.message.contains("Bearer"),
                "header values are not shown"
            );
        }
    }

    #[test]
    fn a_file_that_is_not_utf8_is_named_with_the_byte() {
        let error =
            utf8("g.toml", b"[function]\nname = \"caf\xe9\"\n".to_vec()).expect_err("latin-1");
        assert_eq!(error.exit_code(), 2);
        assert_eq!(
            error.message,
            "g.toml:2:12: the file is not UTF-8 text: byte 0xe9 at offset 22 is not valid UTF-8"
        );
        assert!(
            error
                .hint
                .is_some_and(|h| h.starts_with("save the file as UTF-8"))
        );
        assert_eq!(utf8("g.toml", b"a = 1".to_vec()).expect("utf-8"), "a = 1");
    }

    #[test]
    fn environment_values_never_appear_in_errors() {
        let err =
            parse("[function]\nname = \"a\"\nenvironment = { \"bad-key\" = \"topsecret\" }\n")
                .expect_err("bad key");
        assert!(!err.to_string().contains("topsecret"));
    }

    #[test]
    fn release_steps_bake_alarms_and_presets() {
        let base = "[function]\nname = \"a\"\n[release]\n";
        let cfg = parse(&format!(
            "{base}steps = [10, 50]\nbake = \"30s\"\nalarms = [\"errors\"]\n"
        ))
        .expect("valid");
        assert_eq!(cfg.release.plan.steps, vec![10, 50]);
        assert_eq!(cfg.release.plan.bake, Duration::from_secs(30));
        assert_eq!(cfg.release.alarms, vec!["errors".to_owned()]);
        let preset =
            parse(&format!("{base}preset = \"Canary10Percent5Minutes\"\n")).expect("valid");
        assert_eq!(preset.release.plan.steps, vec![10]);
        assert!(
            parse("[function]\nname = \"a\"\n")
                .expect("valid")
                .release
                .plan
                .is_all_at_once()
        );

        for (body, key) in [
            ("steps = [50, 10]", "release.steps"),
            ("steps = [10, 100]", "release.steps"),
            ("steps = [10]\nbake = \"soon\"", "release.bake"),
            ("preset = \"Fast\"", "release.preset"),
            ("alarms = [\"a\", \"a\"]", "release.alarms[1]"),
        ] {
            let msg = message(&format!("{base}{body}\n"));
            assert!(msg.contains(&format!("`{key}`")), "{body}: {msg}");
        }
        let both = message(&format!("{base}preset = \"AllAtOnce\"\nsteps = [10]\n"));
        assert!(both.contains("cannot be combined"), "{both}");
    }

    #[test]
    fn the_candidate_is_an_alias_of_its_own_and_needed_by_its_placeholder() {
        let base = "[function]\nname = \"a\"\n";
        let smoke =
            "[[smoke]]\nname = \"url\"\nhttp = { url = \"https://x.example/{candidate}\" }\n";
        let cfg = parse(&format!("{base}{smoke}[release]\ncandidate = \"next\"\n")).expect("valid");
        assert_eq!(cfg.release.candidate.as_deref(), Some("next"));
        let live = message(&format!("{base}[release]\ncandidate = \"live\"\n"));
        assert!(
            live.contains("`release.candidate` = \"live\": alias live carries users' traffic"),
            "{live}"
        );
        let bad = message(&format!("{base}[release]\ncandidate = \"42\"\n"));
        assert!(
            bad.contains("`release.candidate` = \"42\": an alias is"),
            "{bad}"
        );
        let dns = "[dns]\nzone_id = \"Z1\"\nname = \"api.example.com\"\n[dns.blue]\nvalue = \"b.example.com\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g.example.com\"\nalias = \"green\"\n";
        let colour = message(&format!("{base}{dns}[release]\ncandidate = \"green\"\n"));
        assert!(
            colour.contains("alias green carries users' traffic"),
            "{colour}"
        );
        let missing = message(&format!("{base}{smoke}"));
        assert!(
            missing.contains(
                "{candidate} is the candidate alias, and this config sets no release.candidate"
            ),
            "{missing}"
        );
    }

    #[test]
    fn shipped_configs_are_valid() {
        for (path, text) in [
            (
                "examples/hello/greenlight.toml",
                include_str!("../examples/hello/greenlight.toml"),
            ),
            (
                "examples/hello/greenlight-broken.toml",
                include_str!("../examples/hello/greenlight-broken.toml"),
            ),
        ] {
            Config::parse(Path::new(path), text).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn role_arns_are_recognised() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/x"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/x"));
        assert!(!is_role_arn("arn:aws:iam::12345:role/x"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/x"));
    }

    /// The kept corpus (`tests/corpus/config`): inputs that once found, or
    /// could find, edge cases. Each must be refused or accepted, never panic.
    #[test]
    fn the_corpus_parses_without_a_panic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/config");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("corpus") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            let text = String::from_utf8_lossy(&bytes);
            if let Err(e) = parse(&text) {
                assert_eq!(e.exit_code(), 2, "{}: {e}", path.display());
                assert!(e.message.lines().count() <= 2, "{}: {e}", path.display());
            }
            seen += 1;
        }
        assert!(seen >= 10, "the corpus is there: {seen} files");
    }

    /// A TOML value of any kind a user might type.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            "[a-zA-Z0-9_.$*/:{}\\[\\] -]{0,12}".prop_map(|s| format!("{s:?}")),
            prop::collection::vec(0_i64..=120, 0..4).prop_map(|v| format!("{v:?}")),
            Just("{ probe = \"ok\" }".to_owned()),
            Just("\"5m\"".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text: refused with exit 2 or accepted, never a panic.
        #[test]
        fn any_text_is_refused_or_accepted(text in "\\PC{0,200}") {
            if let Err(e) = parse(&text) {
                prop_assert_eq!(e.exit_code(), 2);
            }
        }

        /// Configs built from the real tables and keys (and some wrong ones)
        /// with values of every type: refused with exit 2 naming a key, or
        /// accepted with every documented invariant holding.
        #[test]
        fn structured_configs_keep_their_invariants(
            fields in prop::collection::vec(
                (
                    prop::sample::select(vec!["function", "package", "release", "dns", "dns.blue", "smoke"]),
                    prop::sample::select(vec![
                        "name", "alias", "memory", "timeout", "role", "source", "steps", "bake",
                        "preset", "alarms", "zone_id", "value", "type", "ttl", "payload", "http", "run", "retries",
                    ]),
                    value(),
                ),
                0..8,
            )
        ) {
            let mut text = String::from("[function]\nname = \"orders\"\n");
            for (table, key, value) in &fields {
                let header = if *table == "smoke" { "[[smoke]]\nname = \"s\"".to_owned() } else { format!("[{table}]") };
                text.push_str(&format!("{header}\n{key} = {value}\n"));
            }
            match parse(&text) {
                Err(e) => prop_assert_eq!(e.exit_code(), 2),
                Ok(cfg) => {
                    prop_assert!(cfg.function.settings.memory.is_none_or(|m| (128..=10240).contains(&m)));
                    prop_assert!(cfg.function.settings.timeout.is_none_or(|t| (1..=900).contains(&t)));
                    let steps = &cfg.release.plan.steps;
                    prop_assert!(steps.windows(2).all(|w| w[0] < w[1]));
                    prop_assert!(steps.iter().all(|p| (1..=99).contains(p)));
                    prop_assert!(cfg.function.alias != "$LATEST");
                }
            }
        }

        /// Any exclude glob: a usage error or a working matcher, never a panic.
        #[test]
        fn any_exclude_glob_is_refused_or_compiled(globs in prop::collection::vec("\\PC{0,16}", 0..4)) {
            if let Err(e) = crate::package::exclusions(Path::new("app"), &globs) {
                prop_assert_eq!(e.exit_code(), 2);
            }
        }
    }
}
