//! The `[[smoke]]` entries: invoke the function, call it over HTTP, or run
//! a command; each with its timeout and retries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::config::{Checker, Config};
use crate::error::Result;

/// How long a smoke test may take when the config does not say.
pub const DEFAULT_SMOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a smoke test's attempt, its pause between attempts, or an
/// HTTP test's `max_latency` may be.
pub const MAX_SMOKE_WAIT: Duration = Duration::from_secs(60 * 60);

/// The most attempts a smoke test may make after a failed one.
pub const MAX_RETRIES: u32 = 10;

/// What an HTTP test's url, header values and body may hold, filled in
/// from the target under test; `{endpoint}` (the DNS colour under test) only with
/// `[dns]`, `{candidate}` (the alias on the version under test) only with
/// `release.candidate`.
pub const PLACEHOLDERS: [&str; 7] = [
    "{function}",
    "{version}",
    "{alias}",
    "{qualifier}",
    "{region}",
    "{endpoint}",
    "{candidate}",
];

/// Every `{name}` in `text` that looks like a placeholder (a name of
/// letters, digits and `_` between braces; JSON's `{"key": …}` is not one),
/// braces included.
pub fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('{').filter_map(move |(start, _)| {
        let rest = &text[start + 1..];
        let name = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
                .len();
        (name > 0 && rest[name..].starts_with('}')).then(|| &text[start..start + name + 2])
    })
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
    /// The URL, with the [`PLACEHOLDERS`] filled in (each
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
pub(super) struct RawSmoke {
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

impl Checker<'_> {
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
    pub(super) fn placeholders(&self, key: &str, http: &HttpCheck, config: &Config) -> Result<()> {
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
            for placeholder in placeholders(text) {
                if !PLACEHOLDERS.contains(&placeholder) {
                    return Err(self.bad(
                        &key,
                        shown,
                        &format!(
                            "unknown placeholder {placeholder}; the known ones are {}",
                            PLACEHOLDERS.join(", ")
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

    pub(super) fn smoke_tests(&self, dir: &Path, raw: Vec<RawSmoke>) -> Result<Vec<SmokeTest>> {
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
