//! `greenlight.toml`: reading and checking the configuration.
//!
//! In: the path of the file. Out: a [`Config`] whose every value has been
//! checked against what Lambda accepts, with paths resolved against the file's
//! folder. Any problem is an [`Error`] with exit code 2 that names the file,
//! the key and the value. Nothing here talks to AWS, and environment
//! references are only parsed here (reading their values is the deploy's).
//!
//! One file per table: `function` (with `settings`, the settings beyond
//! code, memory and environment, and `env`, environment references),
//! `package`, `smoke`, `release` (with `plan`, the steps, and `metrics`, the
//! metric gates), `dns` and `watch`; `functions` expands `[[functions]]` into one
//! config per function. May import: the AWS seams' plain types (a function's
//! settings in Lambda's terms), `ui`'s wording helpers and the base
//! modules; never a stage.

pub mod alb;
mod dns;
pub mod env;
mod function;
pub mod functions;
mod metrics;
pub mod notify;
mod package;
pub mod plan;
mod release;
pub mod settings;
mod smoke;
pub mod watch;

pub use dns::{Colour, DnsConfig};
pub use function::is_role_arn;
pub use function::{DEFAULT_ALIAS, DEFAULT_READY_TIMEOUT, FunctionConfig, MAX_READY_TIMEOUT};
pub use metrics::{
    DEFAULT_MIN_INVOCATIONS, DEFAULT_SETTLE, MAX_SETTLE, MAX_WINDOW, Measure, MetricGate,
    MetricGates,
};
pub use package::{PackageConfig, exclusions};
pub use release::{NoData, ReleaseConfig};
pub use smoke::{
    Check, DEFAULT_SMOKE_TIMEOUT, HttpCheck, MAX_RETRIES, MAX_SMOKE_WAIT, PLACEHOLDERS, SmokeTest,
    placeholders,
};

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use dns::RawDns;
use function::RawFunction;
use package::RawPackage;
use release::RawRelease;
use smoke::RawSmoke;

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
    pub alb: Option<alb::AlbConfig>,
    /// With `[watch]`, a release left in progress is recorded in S3 for
    /// the watcher to promote.
    pub watch: Option<watch::WatchConfig>,
    /// `[[notify]]`: who hears of the release's events.
    pub notify: Vec<notify::NotifyEntry>,
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
    alb: Option<toml::Spanned<alb::RawAlb>>,
    watch: Option<watch::RawWatch>,
    #[serde(default)]
    notify: Vec<toml::Spanned<toml::Table>>,
}

impl Config {
    /// Reads and checks every function the file at `path` describes: its
    /// `[function]`, or each entry of `[[functions]]` with the top-level
    /// tables as defaults (see [`crate::config::functions`]).
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
        match crate::config::functions::expand(&file, &text)? {
            None => Ok((vec![Self::parse(path, &text)?], false)),
            Some(entries) => {
                let configs = entries
                    .into_iter()
                    .map(|(label, doc)| Self::parse_as(path, Some(label), &doc))
                    .collect::<Result<Vec<_>>>()?;
                crate::config::functions::check_together(&file, &configs)?;
                crate::config::functions::check_dns_pairs(&file, &configs)?;
                let albs = configs
                    .iter()
                    .filter_map(|c| Some((c.function.name.as_str(), c.alb.as_ref()?)));
                alb::check_shared(&file, albs)?;
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
        let around = alb::Around {
            file: &file,
            text: entry.is_none().then_some(text),
            function_alias: raw.function.alias.as_deref().unwrap_or(DEFAULT_ALIAS),
            candidate: raw.release.as_ref().and_then(|r| r.candidate.as_deref()),
            region: raw.function.region.as_deref(),
            dns: raw.dns.is_some(),
        };
        let alb = raw.alb.map(|alb| alb::check(alb, &around)).transpose()?;
        let place = watch::Place {
            file: &file,
            text,
            located: entry.is_none(),
        };
        let watch = raw.watch.map(|w| watch::check(w, &place)).transpose()?;
        let notify = notify::check(
            raw.notify,
            &notify::Place {
                file: &file,
                text: entry.is_none().then_some(text),
            },
        )?;
        let at = Checker {
            file: &file,
            text: entry.is_none().then_some(text),
        };
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        // Two colours move their first step at once (see `release.approval`).
        let coloured = raw.dns.is_some() || alb.is_some();
        Config {
            path: path.to_path_buf(),
            entry,
            function: at.function(raw.function)?,
            package: raw.package.map(|p| at.package(&dir, p)).transpose()?,
            smoke: at.smoke_tests(&dir, raw.smoke)?,
            release: raw
                .release
                .map(|r| at.release(r, coloured, alb.is_some()))
                .transpose()?
                .unwrap_or_default(),
            dns: raw.dns.map(|d| at.dns(d)).transpose()?,
            alb,
            watch,
            notify,
        }
        .checked(&at)
    }

    /// Checks what no single table can: an image function has no runtime
    /// or handler, and an HTTP test's `{endpoint}` needs `[dns]`.
    fn checked(self, at: &Checker) -> Result<Config> {
        self.check_candidate(at)?;
        watch::refuse_unwatchable(&self)?;
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
        if image && settings.extra.snap_start == Some(true) {
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
/// Where `offset` is in `text`, as an error names it after the file
/// (`:12:3`); nothing when the text is not the file's (`None`).
pub(crate) fn place_in(text: Option<&str>, offset: usize) -> String {
    text.map(|text| line_col(text, offset))
        .map(|(line, col)| format!(":{line}:{col}"))
        .unwrap_or_default()
}

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
    /// The file's text (`None` for a `[[functions]]` entry's document).
    text: Option<&'a str>,
}

impl Checker<'_> {
    fn bad(&self, key: &str, value: impl std::fmt::Display, why: &str) -> Error {
        Error::usage(format!("{}: `{key}` = {value}: {why}", self.file))
    }

    /// As [`Checker::bad`], naming the line and column of the value at
    /// byte `offset` of the file.
    fn bad_at(&self, key: &str, offset: usize, value: impl std::fmt::Display, why: &str) -> Error {
        let place = place_in(self.text, offset);
        Error::usage(format!("{}{place}: `{key}` = {value}: {why}", self.file))
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
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A name Lambda accepts for an alias (never `$LATEST`, never a version number).
pub(crate) fn is_alias_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name.chars().all(is_word_char)
        && !name.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests;
