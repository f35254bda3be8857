//! Where a version came from: its provenance, kept in the version's own
//! description.
//!
//! Each version greenlight publishes gets a `Description` (given to
//! `PublishVersion`; a version's description can never change after) of
//! one line:
//!
//! ```text
//! greenlight: sha=4f2c…e81a ref=main run=https://github.com/acme/orders/actions/runs/42 by=alice clean
//! ```
//!
//! read from, in order: GitHub Actions' variables (`GITHUB_SHA`,
//! `GITHUB_REF_NAME`, the run's URL from `GITHUB_SERVER_URL`,
//! `GITHUB_REPOSITORY` and `GITHUB_RUN_ID`, `GITHUB_ACTOR`), GitLab's
//! (`CI_COMMIT_SHA`, `CI_COMMIT_REF_NAME`, `CI_PIPELINE_URL`,
//! `GITLAB_USER_LOGIN`), else `git` in the config's folder (the commit, the
//! branch, and `dirty` or `clean`: whether `git status` lists any change or
//! untracked file); else there is none, and the version gets the function's
//! description, as without greenlight. Wanting it never fails a deploy.
//!
//! The line is what people read in the console and what [`Provenance::parse`]
//! reads back (`status`). Values come from outside greenlight and may be
//! hostile: control characters are dropped, and so are the invisible ones
//! and those that reorder text (bidirectional overrides and isolates,
//! zero-width characters), a white-space character is
//! written `%20` and `%` is written `%25` (so a value never holds a space),
//! and `…` is written `...`, because `…` ends a value that was cut. The
//! line fits Lambda's limit of 256 characters, counted in UTF-16 units (a
//! character beyond the Basic Multilingual Plane, as most emoji, counts
//! two), which fits however Lambda counts: when it would be longer, the
//! longest values are cut to one length, each ending in `…`, until it fits
//! (a 40-character SHA is never cut: the others are cut first, and there is
//! room for four values of more than 50).
//!
//! Calls no AWS API; when no CI variables are set, runs `git config` and
//! `git status` once each (each bounded by [`GIT_TIMEOUT`]), never running
//! a command the repository's configuration names (see [`from_git`]).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::context::Ctx;
use crate::outside;
use crate::secrets::Redactor;

/// How the line starts (as the alias's release record does).
const PREFIX: &str = "greenlight:";
/// Lambda's limit for a description.
pub const MAX_UNITS: usize = 256;
/// Ends a value that was cut to fit.
const CUT: char = '…';
/// The variables that point git at another repository, index or object
/// store than the one holding the config's folder (as `git rev-parse
/// --local-env-vars` lists them): a `git` hook that runs greenlight sets
/// `GIT_DIR` and `GIT_INDEX_FILE` for its own repository. They are not
/// passed on, as git does not pass them to a submodule's git.
const GIT_REPOSITORY_VARIABLES: [&str; 15] = [
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
];
/// How long `git status` may take before the deploy goes on without it.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a version came from, as far as greenlight could tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Provenance {
    /// The commit's SHA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The branch or tag (GitHub's `GITHUB_REF_NAME`, GitLab's
    /// `CI_COMMIT_REF_NAME`, git's branch; none on a detached HEAD).
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The CI run or pipeline that deployed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// Who triggered that run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Whether the working tree had changes the commit does not hold
    /// (known from `git` only, not from CI variables).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
}

impl Provenance {
    /// This provenance's values marked as text from outside greenlight
    /// ([`outside::quote`]), for a report: they are masked and kept from
    /// starting a workflow command where they are shown.
    pub fn marked(self) -> Provenance {
        let quote = |v: Option<String>| v.map(|v| outside::quote(&v));
        Provenance {
            commit: quote(self.commit),
            git_ref: quote(self.git_ref),
            run_url: quote(self.run_url),
            by: quote(self.by),
            dirty: self.dirty,
        }
    }

    /// This provenance with every secret value `redactor` knows (the
    /// function's environment values) masked: a version's description is
    /// read by anyone who may call `GetFunction`, so a secret must never
    /// reach it. A commit of hexadecimal digits is kept whole (it holds no
    /// secret, and a short value could otherwise match inside it).
    pub fn masked(self, redactor: &Redactor) -> Provenance {
        let mask = |v: Option<String>| v.map(|v| redactor.redact(&v));
        Provenance {
            commit: self.commit.map(|c| match is_hex(&c) {
                true => c,
                false => redactor.redact(&c),
            }),
            git_ref: mask(self.git_ref),
            run_url: mask(self.run_url),
            by: mask(self.by),
            dirty: self.dirty,
        }
    }

    /// The provenance a version's description holds, as [`Provenance::marked`]
    /// says, when greenlight wrote it there.
    pub fn of_version(description: &str) -> Option<Provenance> {
        Provenance::parse(description).map(Provenance::marked)
    }

    /// The description line, at most [`MAX_UNITS`] UTF-16 units long.
    pub fn description(&self) -> String {
        let values: Vec<(&str, String)> = [
            ("sha", &self.commit),
            ("ref", &self.git_ref),
            ("run", &self.run_url),
            ("by", &self.by),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, encode(value.as_deref()?))))
        .collect();
        let flag = match self.dirty {
            Some(true) => " dirty",
            Some(false) => " clean",
            None => "",
        };
        let fixed =
            PREFIX.len() + flag.len() + values.iter().map(|(key, _)| key.len() + 2).sum::<usize>();
        let lengths: Vec<usize> = values.iter().map(|(_, v)| units(v)).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        // The longest length every value may keep so that all fit.
        let mut keep = longest;
        while keep > 1 && fixed + lengths.iter().map(|l| (*l).min(keep)).sum::<usize>() > MAX_UNITS
        {
            keep -= 1;
        }
        let mut line = PREFIX.to_owned();
        for (key, value) in &values {
            line.push_str(&format!(" {key}={}", cut(value, keep)));
        }
        line.push_str(flag);
        line
    }

    /// Reads a description [`Provenance::description`] wrote (values
    /// decoded, a cut one still ending in `…`); `None` for any other
    /// description, a release record's included. Words it does not know
    /// are skipped, and [`dropped`] characters dropped: anyone who may publish
    /// a version can write any description.
    pub fn parse(description: &str) -> Option<Provenance> {
        let rest = description.trim().strip_prefix(PREFIX)?;
        let mut found = Provenance::default();
        for word in rest.split(' ') {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            let value = || Some(decode(value)).filter(|v| !v.is_empty());
            match key {
                "sha" => found.commit = value(),
                "ref" => found.git_ref = value(),
                "run" => found.run_url = value(),
                "by" => found.by = value(),
                "dirty" if value().is_none() => found.dirty = Some(true),
                "clean" if value().is_none() => found.dirty = Some(false),
                _ => {}
            }
        }
        Some(found).filter(|p| *p != Provenance::default())
    }
}

/// In words, for people: `commit 4f2c… (main), by alice, dirty tree, run URL`.
impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match (&self.commit, &self.git_ref) {
            (Some(sha), Some(r)) => parts.push(format!("commit {sha} ({r})")),
            (Some(sha), None) => parts.push(format!("commit {sha}")),
            (None, Some(r)) => parts.push(format!("ref {r}")),
            (None, None) => {}
        }
        if let Some(by) = &self.by {
            parts.push(format!("by {by}"));
        }
        match self.dirty {
            Some(true) => parts.push("dirty tree (changes not in the commit)".to_owned()),
            Some(false) => parts.push("clean tree".to_owned()),
            None => {}
        }
        if let Some(run) = &self.run_url {
            parts.push(format!("run {run}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// The provenance of code deployed from the config's folder now, from
/// the first source that has one (see the module doc); `None`, said
/// with `-v`, when none has.
pub async fn read(ctx: Ctx<'_>) -> Option<Provenance> {
    let found = from_ci_or_git(ctx).await?;
    Some(found.masked(ctx.ui.redactor()))
}

/// [`read`]'s provenance before it is masked.
async fn from_ci_or_git(ctx: Ctx<'_>) -> Option<Provenance> {
    let env = |name: &str| std::env::var(name).ok();
    if let Some((found, from)) = from_ci(&env) {
        ctx.ui.detail(format_args!(
            "provenance from {from}: {}",
            found.clone().marked()
        ));
        return Some(found);
    }
    let dir = match ctx.config.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match from_git(dir).await {
        Ok(found) => {
            ctx.ui.detail(format_args!(
                "provenance from git: {}",
                found.clone().marked()
            ));
            Some(found)
        }
        Err(why) => {
            ctx.ui.detail(format_args!(
                "no provenance for the version's description (no CI variables; git: {why})"
            ));
            None
        }
    }
}

/// The provenance CI variables give (`env` reads one), and which CI.
fn from_ci(env: &dyn Fn(&str) -> Option<String>) -> Option<(Provenance, &'static str)> {
    let var = |name: &str| env(name).map(|v| clean(&v)).filter(|v| !v.is_empty());
    if let Some(sha) = var("GITHUB_SHA") {
        let run_url = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(run)) => without_credentials(&format!(
                "{}/{repo}/actions/runs/{run}",
                server.trim_end_matches('/')
            )),
            _ => None,
        };
        let found = Provenance {
            commit: Some(sha),
            git_ref: var("GITHUB_REF_NAME"),
            run_url,
            by: var("GITHUB_ACTOR"),
            dirty: None,
        };
        return Some((found, "GitHub Actions"));
    }
    let sha = var("CI_COMMIT_SHA")?;
    let found = Provenance {
        commit: Some(sha),
        git_ref: var("CI_COMMIT_REF_NAME"),
        run_url: var("CI_PIPELINE_URL").and_then(|url| without_credentials(&url)),
        by: var("GITLAB_USER_LOGIN"),
        dirty: None,
    };
    Some((found, "GitLab CI"))
}

/// `url` without what may hold a credential: the user and password
/// before the host (`https://x:TOKEN@host/…`), the query (`?token=…`) and
/// the fragment; `None` when an `@` is left after that (a password holding
/// a `/`, not written as `%2F`, looks like a path: the URL is left out
/// rather than guessed at). Stripped, not masked: the description is
/// stored in AWS, where anyone who may read the function reads it.
fn without_credentials(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..host_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    Some(format!("{scheme}{rest}")).filter(|url| !url.contains('@'))
}

/// Whether `text` is a commit's SHA as git writes it: hexadecimal digits only.
fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// The commit, branch and dirtiness of the git working tree holding
/// `dir`, from one `git status`; why not, in words, when git cannot say.
///
/// The repository is the user's, and its configuration may name commands
/// (anyone who can write `.git/config` or a submodule's can): greenlight
/// must never run them. `git status` may run three kinds: the file system
/// monitor (`core.fsmonitor`: turned off), the clean filters that
/// `.gitattributes` names (`filter.<name>.clean` or `.process`: turned
/// off, each by name, as `git config` lists them, which runs nothing) and,
/// in each submodule, `git status` again under that submodule's own
/// configuration (not run: a submodule counts as changed when it is on
/// another commit than the one recorded, not for changes inside it). It
/// takes no optional lock, so a user's git at the same time is not
/// disturbed. A pager is never started: the output is not a terminal.
async fn from_git(dir: &Path) -> Result<Provenance, String> {
    let filters = git(dir, &["config", "-z", "--get-regexp", r"^filter\."], &[]).await?;
    let mut off = Vec::new();
    for name in filter_names(&filters) {
        // `-c` ends the key at the first `=`: such a filter cannot be turned off.
        if name.contains('=') {
            return Err(format!(
                "the filter {} has a `=` in its name, and git cannot be told to skip it",
                outside::quote(name)
            ));
        }
        for key in ["clean", "smudge", "process"] {
            off.push(format!("filter.{name}.{key}="));
        }
        off.push(format!("filter.{name}.required=false"));
    }
    let status = ["status", "--porcelain=v2", "--branch"];
    let out = git(
        dir,
        &[&status[..], &["--ignore-submodules=dirty"]].concat(),
        &off,
    )
    .await?;
    git_status(&out)
}

/// The names of the filter drivers in `git config -z --get-regexp` output
/// (`filter.<name>.<key>` and a line feed, the value and a NUL, each).
fn filter_names(listed: &str) -> std::collections::BTreeSet<&str> {
    listed
        .split('\0')
        .filter_map(|entry| entry.split('\n').next()?.strip_prefix("filter."))
        .filter_map(|key| Some(key.rsplit_once('.')?.0))
        .collect()
}

/// The output of `git ARGS` run in `dir` with `-c CONFIG` for each of
/// `config` (and the file system monitor off), within [`GIT_TIMEOUT`],
/// without [`GIT_REPOSITORY_VARIABLES`];
/// why not, in words. Empty output when git lists nothing (`git config`
/// exits 1 then).
async fn git(dir: &Path, args: &[&str], config: &[String]) -> Result<String, String> {
    let mut git = tokio::process::Command::new("git");
    git.arg("-C").arg(dir).args(["-c", "core.fsmonitor=false"]);
    for c in config {
        git.arg("-c").arg(c);
    }
    for name in GIT_REPOSITORY_VARIABLES {
        git.env_remove(name);
    }
    git.arg("--no-optional-locks")
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let first = args.first().copied().unwrap_or_default();
    let out = match tokio::time::timeout(GIT_TIMEOUT, git.output()).await {
        Err(_) => return Err(format!("`git {first}` took more than {GIT_TIMEOUT:?}")),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("no git command on PATH".to_owned());
        }
        Ok(Err(e)) => return Err(format!("could not run git: {e}")),
        Ok(Ok(out)) => out,
    };
    let nothing_listed = first == "config" && out.status.code() == Some(1) && out.stdout.is_empty();
    if !out.status.success() && !nothing_listed {
        let said = String::from_utf8_lossy(&out.stderr);
        let first = said.lines().next().unwrap_or("failed").trim();
        return Err(outside::quote(first));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads `git status --porcelain=v2 --branch` output.
fn git_status(text: &str) -> Result<Provenance, String> {
    let mut found = Provenance {
        dirty: Some(false),
        ..Provenance::default()
    };
    for line in text.lines() {
        match line.strip_prefix("# ") {
            Some(header) => match header.split_once(' ') {
                Some(("branch.oid", oid)) if oid != "(initial)" => found.commit = Some(clean(oid)),
                Some(("branch.head", head)) if head != "(detached)" => {
                    found.git_ref = Some(clean(head));
                }
                _ => {}
            },
            None if !line.is_empty() => found.dirty = Some(true),
            None => {}
        }
    }
    match found.commit {
        Some(_) => Ok(found),
        None => Err("the repository has no commit yet".to_owned()),
    }
}

/// Whether `c` is dropped from a value: a control character, or one that
/// is invisible, breaks a line or reorders the text around it (the
/// bidirectional overrides, embeddings and isolates, the zero-width
/// characters, the line and paragraph separators), with
/// which a value could be shown as something it is not.
fn dropped(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

/// `value` without [`dropped`] characters, trimmed.
fn clean(value: &str) -> String {
    value
        .chars()
        .filter(|c| !dropped(*c))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// `value` as the description holds it (see the module doc).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            c if dropped(c) => {}
            '%' => out.push_str("%25"),
            c if c.is_whitespace() => out.push_str("%20"),
            CUT => out.push_str("..."),
            c => out.push(c),
        }
    }
    out
}

/// A value read from a description: `%20` and `%25` decoded, [`dropped`]
/// characters dropped.
fn decode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(c) = rest.chars().next() {
        let (decoded, len) = match rest.get(..3) {
            Some("%20") => (' ', 3),
            Some("%25") => ('%', 3),
            _ => (c, c.len_utf8()),
        };
        if !dropped(decoded) {
            out.push(decoded);
        }
        rest = &rest[len..];
    }
    out
}

/// Length in UTF-16 units.
fn units(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// `value` (encoded) in at most `keep` UTF-16 units: whole, or cut on a
/// character boundary and outside an escape, ending in [`CUT`].
fn cut(value: &str, keep: usize) -> String {
    if units(value) <= keep {
        return value.to_owned();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in value.chars() {
        if used + c.len_utf16() > keep.saturating_sub(1) {
            break;
        }
        used += c.len_utf16();
        kept.push(c);
    }
    // An escape is three characters: one cut short is left out whole.
    if let Some(at) = kept.char_indices().rev().take(2).find(|(_, c)| *c == '%') {
        kept.truncate(at.0);
    }
    kept.push(CUT);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SHA: &str = "4f2c9a1e0b7d3c5a6e8f9d0c1b2a3e4f5d6c7b8a";

    fn ci(vars: &[(&str, &str)]) -> Option<(Provenance, &'static str)> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_ci(&|name| vars.get(name).cloned())
    }

    #[test]
    fn github_actions_variables_come_first() {
        let (found, from) = ci(&[
            ("GITHUB_SHA", SHA),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_SERVER_URL", "https://github.com/"),
            ("GITHUB_REPOSITORY", "acme/orders"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_ACTOR", "alice"),
            ("CI_COMMIT_SHA", "ffff"),
        ])
        .expect("found");
        assert_eq!(from, "GitHub Actions");
        assert_eq!(
            found.description(),
            format!(
                "greenlight: sha={SHA} ref=main run=https://github.com/acme/orders/actions/runs/42 by=alice"
            )
        );
        assert_eq!(Provenance::parse(&found.description()), Some(found));
    }

    #[test]
    fn gitlab_variables_when_not_on_github() {
        let (found, from) = ci(&[
            ("GITHUB_SHA", ""),
            ("CI_COMMIT_SHA", SHA),
            ("CI_COMMIT_REF_NAME", "release/2.1"),
            (
                "CI_PIPELINE_URL",
                "https://gitlab.com/acme/orders/-/pipelines/7",
            ),
            ("GITLAB_USER_LOGIN", "bob"),
        ])
        .expect("found");
        assert_eq!(from, "GitLab CI");
        assert_eq!(found.git_ref.as_deref(), Some("release/2.1"));
        assert_eq!(found.by.as_deref(), Some("bob"));
        assert_eq!(ci(&[("GITHUB_ACTOR", "x")]), None, "no SHA, no CI source");
    }

    #[test]
    fn git_status_gives_commit_branch_and_dirtiness() {
        let clean = format!("# branch.oid {SHA}\n# branch.head main\n");
        let found = git_status(&clean).expect("found");
        assert_eq!(found.commit.as_deref(), Some(SHA));
        assert_eq!(found.git_ref.as_deref(), Some("main"));
        assert_eq!(found.dirty, Some(false));
        assert!(found.description().ends_with(" ref=main clean"));
        let dirty = format!("# branch.oid {SHA}\n# branch.head (detached)\n? new.py\n");
        let found = git_status(&dirty).expect("found");
        assert_eq!((found.git_ref, found.dirty), (None, Some(true)));
        assert!(git_status("# branch.oid (initial)\n# branch.head main\n").is_err());
    }

    #[test]
    fn hostile_values_are_cleaned_and_read_back() {
        let found = Provenance {
            commit: Some(SHA.to_owned()),
            git_ref: Some("feat/a b%20c…".to_owned()),
            run_url: None,
            by: Some("eve\n::error::forged\r\u{7}ü".to_owned()),
            dirty: Some(true),
        };
        let line = found.description();
        assert_eq!(
            line,
            format!("greenlight: sha={SHA} ref=feat/a%20b%2520c... by=eve::error::forgedü dirty")
        );
        let back = Provenance::parse(&line).expect("parsed");
        assert_eq!(back.git_ref.as_deref(), Some("feat/a b%20c..."));
        assert_eq!(back.by.as_deref(), Some("eve::error::forgedü"));
        assert_eq!(back.dirty, Some(true));
        // Hand-written: control characters are dropped on reading too.
        let forged = Provenance::parse("greenlight: by=x%20\u{1b}[31m\u{85}y").expect("parsed");
        assert_eq!(forged.by.as_deref(), Some("x [31my"));
    }

    #[test]
    fn invisible_and_reordering_characters_are_dropped() {
        let found = Provenance {
            git_ref: Some("ma\u{202E}in\u{200B}\u{2028}x\u{FEFF}".to_owned()),
            ..Provenance::default()
        };
        assert_eq!(found.description(), "greenlight: ref=mainx");
        let forged =
            Provenance::parse("greenlight: by=\u{2066}eve\u{2069}\u{200D}").expect("parsed");
        assert_eq!(forged.by.as_deref(), Some("eve"));
    }

    #[test]
    fn long_values_are_cut_to_fit_the_longest_first() {
        let long_ref = "r".repeat(300);
        let found = Provenance {
            commit: Some(SHA.to_owned()),
            git_ref: Some(long_ref),
            run_url: Some("https://ci.example/run/1".to_owned()),
            by: Some("😀".repeat(100)),
            dirty: Some(false),
        };
        let line = found.description();
        assert!(
            (MAX_UNITS - 1..=MAX_UNITS).contains(&units(&line)),
            "{line}"
        );
        let back = Provenance::parse(&line).expect("parsed");
        assert_eq!(back.commit.as_deref(), Some(SHA), "the SHA is never cut");
        assert_eq!(back.run_url, found.run_url, "a short value is kept whole");
        let r = back.git_ref.expect("ref");
        let by = back.by.expect("by");
        assert!(r.starts_with("rrr") && r.ends_with(CUT), "{r}");
        assert!(by.starts_with('😀') && by.ends_with(CUT), "{by}");
        // Cut to one length: the two differ by less than one emoji.
        assert!(units(&r).abs_diff(units(&by)) <= 1, "{r} {by}");
        assert_eq!(back.dirty, Some(false));
    }

    #[test]
    fn a_cut_never_splits_an_escape() {
        let found = Provenance {
            git_ref: Some(" ".repeat(400)),
            ..Provenance::default()
        };
        let line = found.description();
        assert!(units(&line) <= MAX_UNITS);
        let value = line.strip_prefix("greenlight: ref=").expect("ref");
        let escapes = value.strip_suffix(CUT).expect("cut");
        assert!(escapes.replace("%20", "").is_empty(), "{value}");
    }

    #[test]
    fn credentials_are_stripped_from_urls() {
        let strip = |url: &str| without_credentials(url);
        assert_eq!(
            strip("https://x:TOKEN@github.com/a/b/actions/runs/1").as_deref(),
            Some("https://github.com/a/b/actions/runs/1")
        );
        assert_eq!(
            strip("https://gitlab.com/a/-/pipelines/7?private_token=T#top").as_deref(),
            Some("https://gitlab.com/a/-/pipelines/7")
        );
        assert_eq!(
            strip("u:p@ci.example/run").as_deref(),
            Some("ci.example/run")
        );
        assert_eq!(
            strip("https://x:TO/KEN@github.com/r"),
            None,
            "not guessed at"
        );
        let (found, _) = ci(&[
            ("GITHUB_SHA", SHA),
            ("GITHUB_SERVER_URL", "https://x:TOKEN@github.com"),
            ("GITHUB_REPOSITORY", "a/b"),
            ("GITHUB_RUN_ID", "1"),
        ])
        .expect("found");
        assert!(!found.description().contains("TOKEN"));
    }

    #[test]
    fn secret_values_are_masked_but_a_hex_commit_is_kept() {
        let mut env = BTreeMap::new();
        env.insert("PIN".to_owned(), "4f2c".to_owned());
        env.insert("TOKEN".to_owned(), "hunter2".to_owned());
        let redactor = Redactor::for_environment(&crate::secrets::Environment::new(env));
        let found = Provenance {
            commit: Some(SHA.to_owned()),
            git_ref: Some("feat/hunter2".to_owned()),
            by: Some("4f2c".to_owned()),
            ..Provenance::default()
        }
        .masked(&redactor);
        assert_eq!(found.commit.as_deref(), Some(SHA));
        assert_eq!(found.git_ref.as_deref(), Some("feat/****"));
        assert_eq!(found.by.as_deref(), Some("****"));
    }

    #[test]
    fn filter_names_from_git_config() {
        let listed = "filter.lfs.clean\ngit-lfs clean -- %f\0filter.a.b.process\nx\0filter.lfs.required\ntrue\0";
        let names: Vec<&str> = filter_names(listed).into_iter().collect();
        assert_eq!(names, ["a.b", "lfs"]);
        assert!(filter_names("").is_empty());
    }

    #[test]
    fn other_descriptions_are_not_provenance() {
        assert_eq!(Provenance::parse("Takes orders"), None);
        assert_eq!(
            Provenance::parse(
                "greenlight: action=release version=5 previous=4 at=2026-11-22T02:10:47Z"
            ),
            None
        );
        assert_eq!(Provenance::parse(""), None);
    }
}
