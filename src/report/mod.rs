//! The result of a command, for people (`Display`) and machines (`Serialize`).
//!
//! Every command fills one [`Report`]: the sections of the stages it ran, an
//! outcome word, the exit code and, on failure, the error. `--output json`
//! prints it as one JSON document ([`Report::json`]); text mode prints the
//! summary on standard output (`Display`) and the error on standard error
//! ([`Report::error_text`]). Its texts may hold text from outside greenlight
//! (a response, an AWS error), which these three show as
//! [`crate::outside`] says: masked with every value the run's [`Redactor`]
//! learned, by the time the report is printed.
//!
//! Lives here: the report (this module) and [`ci_summary`] (the run's CI
//! page: job summary and annotations). May import every stage's report
//! types (`deploy`, `checks`, `release`, `history`), `aws` (the region hint), `record`,
//! `ui` and the base modules; never `app`.

pub mod ci_summary;

use std::fmt;

use crate::checks::smoke::SmokeReport;
use crate::deploy::DeployReport;
use crate::deploy::triggers::TriggerCheck;
use crate::error::Error;
use crate::history::HistoryReport;
use crate::outside::{self, Sink};
use crate::planned::DryRun;
use crate::record::Action;
use crate::release::ReleaseReport;
use crate::release::engine::InProgress;
use crate::release::prune::PruneReport;
use crate::release::rollback::RollbackReport;
use crate::release::status::StatusReport;
use crate::secrets::Redactor;
use crate::ui::count;

/// What `package` produced.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PackageReport {
    /// Where the zip was written, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Number of files.
    pub files: usize,
    /// Base64 SHA-256, as Lambda's CodeSha256.
    pub code_sha256: String,
    /// In a fleet: the function this package was made for, when this one
    /// shares it (same source); it was built and zipped once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<String>,
}

/// The result of one command.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// The command that ran.
    pub command: String,
    /// The function, once the config was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The alias, once the config was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The AWS region, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The package stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageReport>,
    /// The deploy stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployReport>,
    /// The smoke tests against the new version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokeReport>,
    /// The release stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseReport>,
    /// The rollback command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackReport>,
    /// The status command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusReport>,
    /// The history command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryReport>,
    /// `deploy` (when it writes) and `status`: what invokes the unqualified
    /// function, so runs `$LATEST` before any test ([`crate::deploy::triggers`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triggers: Option<TriggerCheck>,
    /// Files `init` wrote.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub written: Vec<String>,
    /// The prune command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneReport>,
    /// What a `--dry-run` or `plan` would write (nothing was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<DryRun>,
    /// With `[watch]`: the release snapshot this run wrote or deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotReport>,
    /// `[[notify]]` entries that were not told of an event (given up
    /// after a few tries, or their URL could not be read), or that the
    /// watcher will not tell: one line each, the URL masked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify_warnings: Vec<String>,
    /// `watch install`, `watch status`, `watch remove`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<WatchReport>,
    /// With `[[functions]]`: each function's own report, in config order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<Report>,
    /// One word for how it ended, e.g. `released`, `nothing_to_deploy`, `smoke_failed`.
    pub outcome: String,
    /// The process exit code.
    pub exit_code: u8,
    /// What went wrong, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    /// The run's secret values, which mask outside text where it is shown.
    #[serde(skip)]
    pub redactor: Redactor,
}

/// The watcher, as `watch install`, `status` and `remove` found and left it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WatchReport {
    /// The watcher's name (its function, schedule and alarm).
    pub name: String,
    /// Whether its function exists (after the command).
    pub installed: bool,
    /// The snapshots' bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Their prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The schedule's state: `ENABLED`, `DISABLED`, or `missing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The releases watched: `region/function/alias` of each snapshot.
    pub releases: Vec<String>,
    /// The last run's summary, from the heartbeat the watcher writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<serde_json::Value>,
    /// What this command did, in order, e.g. `created function greenlight-watcher`.
    pub done: Vec<String>,
}

/// With `[watch]`: the release snapshot a run wrote (its release left in
/// progress) or deleted (its release ended). A failure to write or delete
/// it does not change the run's outcome: the release is as the report says,
/// and the hint says what the watcher will or will not do.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotReport {
    /// Where: `s3://bucket/prefix/region/function/alias`.
    pub location: String,
    /// `written` or `deleted`.
    pub action: &'static str,
    /// Why it could not be done, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Report {
    /// An empty report for `command`.
    pub fn new(command: &str) -> Self {
        Report {
            command: command.to_owned(),
            outcome: "ok".to_owned(),
            ..Default::default()
        }
    }

    /// Records `error`, its exit code and an outcome word.
    pub fn fail(&mut self, outcome: &str, error: Error) {
        self.exit_code = error.exit_code();
        self.outcome = outcome.to_owned();
        self.error = Some(error);
    }

    /// `text` from this report, shown in `sink` ([`outside::render`]).
    pub fn shown(&self, text: &str, sink: Sink) -> String {
        outside::render(text, &self.redactor, sink)
    }

    /// The report as one JSON document, its outside text shown as
    /// [`outside::render`] says for a JSON string.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        let mut doc = serde_json::to_value(self)?;
        let sink = Sink::Json {
            github: crate::outside::on_github(),
        };
        self.show_strings(&mut doc, sink);
        Ok(doc)
    }

    fn show_strings(&self, value: &mut serde_json::Value, sink: Sink) {
        match value {
            serde_json::Value::String(text) => *text = self.shown(text, sink),
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(|v| self.show_strings(v, sink));
            }
            serde_json::Value::Object(fields) => {
                fields.values_mut().for_each(|v| self.show_strings(v, sink));
            }
            _ => {}
        }
    }

    /// The error as printed on standard error (`error:`, `caused by:`,
    /// `hint:` lines), when there is one.
    pub fn error_text(&self) -> Option<String> {
        let error = self.error.as_ref()?;
        Some(self.shown(&error.to_string(), log_sink()))
    }
}

/// The watcher's last run, from its heartbeat: when, then a line for each
/// release (what happened, and its error on a line of its own). The
/// heartbeat's values are outside text, marked where they were read.
fn write_last_run(f: &mut fmt::Formatter<'_>, run: &serde_json::Value) -> fmt::Result {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
    let releases = run["releases"].as_array().map_or(&[][..], Vec::as_slice);
    write!(f, "last run  {}", text(&run["at"]))?;
    if let Some(id) = run["execution_id"].as_str() {
        write!(f, " (execution {id})")?;
    }
    match run["error"].as_str() {
        Some(e) => writeln!(f, ": could not list the snapshots: {e}")?,
        None if releases.is_empty() => writeln!(f, ": no release in progress")?,
        None => writeln!(f, ": {}", count(releases.len(), "release"))?,
    }
    for release in releases {
        write!(
            f,
            "          {} in {} (alias {}): {}",
            text(&release["function"]),
            text(&release["region"]),
            text(&release["alias"]),
            text(&release["outcome"])
        )?;
        let moves = release["moves"].as_array().map_or(&[][..], Vec::as_slice);
        if !moves.is_empty() {
            let moves: Vec<String> = moves
                .iter()
                .map(|m| m.as_f64().map_or("?".to_owned(), |m| format!("{m} %")))
                .collect();
            write!(f, ", moved {}", moves.join(" → "))?;
        }
        match release["exit_code"].as_i64() {
            Some(0) | None => writeln!(f)?,
            Some(code) => writeln!(f, " (exit {code})")?,
        }
        if let Some(e) = release["error"].as_str() {
            writeln!(f, "          error: {e}")?;
        }
    }
    Ok(())
}

/// Lines on standard output or error, here.
fn log_sink() -> Sink {
    Sink::Log {
        github: crate::outside::on_github(),
    }
}

/// The summary for people, its outside text masked (and on GitHub Actions
/// kept from starting a workflow command).
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown(&Raw(self).to_string(), log_sink()))
    }
}

/// A report's summary as it is made, outside text still marked.
struct Raw<'a>(&'a Report);

impl fmt::Display for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_raw(f)
    }
}

impl Report {
    fn write_raw(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for function in &self.functions {
            writeln!(
                f,
                "── {} ({}): {}",
                function.function.as_deref().unwrap_or("?"),
                function.region.as_deref().unwrap_or("?"),
                function.outcome
            )?;
            write!(f, "{}", Raw(function))?;
            if let Some(e) = &function.error {
                writeln!(f, "error     {}", e.message)?;
                if let Some(hint) = &e.hint {
                    writeln!(f, "hint      {hint}")?;
                }
            }
        }
        if let Some(p) = &self.package {
            let place = p
                .path
                .as_deref()
                .map(|p| format!("{p}: "))
                .unwrap_or_default();
            writeln!(
                f,
                "package   {place}{}, {} bytes, CodeSha256 {}",
                count(p.files, "file"),
                p.size,
                p.code_sha256
            )?;
        }
        if let Some(d) = &self.deploy {
            write!(f, "deploy    ")?;
            if d.unchanged {
                // Tags belong to the function: a change to them alone
                // publishes nothing.
                let tags = match d.changes.is_empty() {
                    true => String::new(),
                    false => format!("; updated {}", d.changes.join(", ")),
                };
                writeln!(
                    f,
                    "nothing to deploy: alias {} already serves this code and configuration (version {}){tags}",
                    self.alias.as_deref().unwrap_or_default(),
                    d.version
                )?;
            } else if d.changes.is_empty() {
                writeln!(
                    f,
                    "version {} already holds this code and configuration",
                    d.version
                )?;
            } else {
                writeln!(
                    f,
                    "published version {} ({})",
                    d.version,
                    d.changes.join(", ")
                )?;
            }
            if let Some(p) = &d.provenance {
                writeln!(f, "          from {p}")?;
            }
        }
        if self.status.is_none() {
            self.write_triggers(f)?;
        }
        if let Some(s) = &self.smoke {
            write_smoke(f, "smoke     ", &format!("version {}", s.target), s)?;
        }
        if let Some(r) = &self.release {
            let alias = self.alias.as_deref().unwrap_or_default();
            write!(f, "release   ")?;
            match (&r.previous, r.already_live) {
                (_, true) => writeln!(f, "alias {alias} already serves version {}", r.version)?,
                (Some(prev), false) => writeln!(
                    f,
                    "alias {alias}: version {prev} → {} ({})",
                    r.version, r.plan
                )?,
                (None, false) => writeln!(f, "created alias {alias} on version {}", r.version)?,
            }
            if !r.moves.is_empty() {
                let moves: Vec<String> = r.moves.iter().map(|m| format!("{m} %")).collect();
                writeln!(
                    f,
                    "moved     {} on version {}",
                    moves.join(" → "),
                    r.version
                )?;
            }
            if let Some(g) = &r.gates {
                for a in &g.alarms {
                    writeln!(f, "gate      alarm {}: {}", a.name, a.state)?;
                }
                if let Some(m) = &g.metrics {
                    writeln!(f, "gate      metrics {m}")?;
                }
                if let Some(m) = &g.alb_metrics {
                    writeln!(f, "gate      alb metrics {m}")?;
                }
                if let Some(smoke) = &g.smoke {
                    write_smoke(f, "gate      ", &format!("alias {alias}"), smoke)?;
                }
            }
            if let Some(p) = &r.in_progress {
                writeln!(
                    f,
                    "progress  step {} of {}: {} % on version {}, {}; next `greenlight promote` will {}",
                    p.step,
                    p.of,
                    p.percent,
                    r.version,
                    wait_words(p),
                    p.next
                )?;
                if let Some(why) = &p.held {
                    writeln!(f, "held      {why}")?;
                }
                write_approval(f, p)?;
            }
            if let Some(left) = r.settle_left_secs {
                writeln!(
                    f,
                    "settling  the last step's metrics are judged {left}s more as they settle; `greenlight promote` judges them (red rolls back)"
                )?;
            }
            if let (Some(why), Some(prev)) = (&r.rolled_back, &r.previous) {
                writeln!(f, "rollback  alias {alias} back on version {prev}: {why}")?;
            }
        }
        if let Some(w) = &self.watch {
            for line in &w.done {
                writeln!(f, "watch     {line}")?;
            }
            match (w.installed, &w.schedule) {
                (false, _) => writeln!(f, "watcher   {}: not installed", w.name)?,
                (true, schedule) => writeln!(
                    f,
                    "watcher   {}: schedule {}, bucket s3://{}/{}",
                    w.name,
                    schedule.as_deref().unwrap_or("missing"),
                    w.bucket.as_deref().unwrap_or("?"),
                    w.prefix.as_deref().unwrap_or_default()
                )?,
            }
            for release in &w.releases {
                writeln!(f, "watching  {release}")?;
            }
            if let Some(run) = &w.last_run {
                write_last_run(f, run)?;
            }
        }
        if let Some(s) = &self.snapshot {
            match &s.error {
                None => writeln!(f, "watch     snapshot {} {}", s.location, s.action)?,
                Some(e) => writeln!(f, "watch     snapshot {} not {}: {e}", s.location, s.action)?,
            }
        }
        // `approve` with nothing in progress says so in its error.
        if self.outcome == "nothing_in_progress" && self.error.is_none() {
            writeln!(
                f,
                "promote   nothing to promote: no release in progress on alias {}",
                self.alias.as_deref().unwrap_or_default()
            )?;
        }
        if let Some(r) = &self.rollback {
            let alias = self.alias.as_deref().unwrap_or_default();
            if r.already_rolled_back {
                writeln!(
                    f,
                    "rollback  nothing to do: alias {alias} was already rolled back from version {} to {}",
                    r.from, r.to
                )?;
            } else {
                writeln!(f, "rollback  alias {alias}: version {} → {}", r.from, r.to)?;
            }
        }
        if let Some(s) = &self.status {
            self.write_status(f, s)?;
            self.write_triggers(f)?;
        }
        for line in &self.notify_warnings {
            writeln!(f, "warning   {line}")?;
        }
        if let Some(h) = &self.history {
            let function = self.function.as_deref().unwrap_or_default();
            let region = self.region.as_deref().unwrap_or_default();
            writeln!(f, "function  {function} ({region})")?;
            write!(f, "{h}")?;
        }
        for path in &self.written {
            writeln!(f, "wrote     {path}")?;
        }
        if let Some(p) = &self.prune {
            let verb = if p.dry_run { "would delete" } else { "deleted" };
            let deleted = if p.deleted.is_empty() {
                "nothing".to_owned()
            } else {
                format!("versions {}", p.deleted.join(", "))
            };
            writeln!(f, "prune     {verb} {deleted}")?;
            for (version, why) in &p.kept {
                writeln!(f, "keep      version {version}: {why}")?;
            }
        }
        if let Some(plan) = &self.dry_run {
            let writes = match plan.writes() {
                0 => "no writes".to_owned(),
                1 => "1 write".to_owned(),
                n => format!("{n} writes"),
            };
            writeln!(
                f,
                "dry run   {} would make {writes}; nothing was changed",
                plan.command
            )?;
            for step in &plan.steps {
                match &step.call {
                    Some(call) => writeln!(f, "  write   {call}: {}", step.detail)?,
                    None => writeln!(f, "          {}", step.detail)?,
                }
            }
        }
        Ok(())
    }
}

impl Report {
    /// A warning line per trigger of the unqualified function.
    fn write_triggers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(t) = &self.triggers else {
            return Ok(());
        };
        let function = self.function.as_deref().unwrap_or_default();
        for line in t.warnings(function, self.alias.as_deref().unwrap_or_default()) {
            writeln!(f, "warning   {line}")?;
        }
        Ok(())
    }

    fn write_status(&self, f: &mut fmt::Formatter<'_>, s: &StatusReport) -> fmt::Result {
        let function = self.function.as_deref().unwrap_or_default();
        let region = self.region.as_deref().unwrap_or_default();
        let alias = self.alias.as_deref().unwrap_or_default();
        writeln!(f, "function  {function} ({region})")?;
        if !s.exists {
            return writeln!(
                f,
                "          does not exist yet in {region}: `greenlight deploy` creates it\n          in another region? {}",
                crate::aws::lambda::CHOOSE_REGION
            );
        }
        match &s.live {
            None => writeln!(f, "alias     {alias}: does not exist yet")?,
            Some(live) => {
                write!(f, "alias     {alias} → version {}", live.version)?;
                for (v, w) in &live.weights {
                    write!(f, ", version {v} at {:.0} %", w * 100.0)?;
                }
                writeln!(f)?;
                if let Some(r) = &live.record {
                    let (version, previous) = (&r.version, r.previous.as_deref());
                    let what = match (&r.action, previous) {
                        (Action::Create, _) => format!("created on version {version}"),
                        (Action::Release, Some(p)) => {
                            format!("released version {version}, replacing version {p}")
                        }
                        (Action::Release, None) => format!("released version {version}"),
                        (Action::Canary, _) => format!(
                            "started the release of version {version} (stable {})",
                            previous.unwrap_or("?")
                        ),
                        (Action::Rollback, Some(p)) => {
                            format!("rolled back to version {version} from version {p}")
                        }
                        (Action::Rollback, None) => format!("rolled back to version {version}"),
                        (Action::Pin, _) => format!(
                            "pinned to version {version}, published from the $LATEST it served"
                        ),
                    };
                    writeln!(f, "last      {what} at {}", r.at)?;
                }
            }
        }
        if let Some(p) = &s.in_progress {
            let new = &p.version;
            writeln!(
                f,
                "progress  releasing version {new}: step {} of {}, {} %, {}",
                p.step,
                p.of,
                p.percent,
                wait_words(p)
            )?;
            writeln!(f, "next      `greenlight promote` will {}", p.next)?;
            write_approval(f, p)?;
        }
        if let Some(left) = s.settle_left_secs {
            writeln!(
                f,
                "settling  the last step's metrics are judged {left}s more; `greenlight promote` judges them (red rolls back)"
            )?;
        }
        for c in &s.colours {
            let weight = c
                .weight
                .map_or("no record".to_owned(), |w| format!("weight {w:>3}"));
            let version = c
                .version
                .as_deref()
                .map_or("(no alias yet)".to_owned(), |v| format!("→ version {v}"));
            writeln!(
                f,
                "{:<9} {weight}  {}  alias {} {version}",
                c.colour, c.value, c.alias
            )?;
        }
        if let Some(c) = &s.candidate {
            let at = c
                .version
                .as_deref()
                .map_or("not made yet (deploy makes it)".to_owned(), |v| {
                    format!("→ version {v}")
                });
            writeln!(
                f,
                "candidate alias {} {at} (the version under test; no user traffic)",
                c.alias
            )?;
        }
        if let Some(problem) = &s.problem {
            writeln!(f, "problem   {problem}")?;
        }
        for a in &s.alarms {
            writeln!(f, "alarm     {}: {}", a.name, a.state)?;
        }
        let live_version = s.live.as_ref().map(|l| l.version.as_str());
        for v in &s.versions {
            let mark = if Some(v.version.as_str()) == live_version {
                "live"
            } else {
                ""
            };
            writeln!(
                f,
                "version   {:<5} {mark:<4}  {}  {}",
                v.version, v.last_modified, v.code_sha256
            )?;
            if let Some(p) = &v.provenance {
                writeln!(f, "                from {p}")?;
            }
        }
        Ok(())
    }
}

fn write_smoke(
    f: &mut fmt::Formatter<'_>,
    label: &str,
    target: &str,
    s: &SmokeReport,
) -> fmt::Result {
    let passed = s.results.iter().filter(|r| r.passed).count();
    writeln!(
        f,
        "{label}{passed} of {} passed against {target}",
        s.results.len()
    )?;
    for r in &s.results {
        match &r.failure {
            None => writeln!(f, "            ok     {} ({} ms)", r.name, r.duration_ms)?,
            Some(why) => writeln!(
                f,
                "            FAILED {} ({} ms): {why}",
                r.name, r.duration_ms
            )?,
        }
    }
    Ok(())
}

/// How long a step still waits, in words: "bake 40s left", with the
/// settle time after it when there are metric gates.
fn wait_words(p: &crate::release::engine::InProgress) -> String {
    if p.settle_left_secs == 0 {
        format!("bake {}s left", p.bake_left_secs)
    } else {
        format!(
            "bake {}s left, then {}s for its metrics to settle",
            p.bake_left_secs, p.settle_left_secs
        )
    }
}

/// The line for a release waiting for approval, if it waits.
fn write_approval(f: &mut fmt::Formatter<'_>, p: &InProgress) -> fmt::Result {
    let Some(percent) = p.waiting_for_approval else {
        return Ok(());
    };
    let since = p.waiting_since.as_deref().unwrap_or("?");
    writeln!(
        f,
        "held      waiting for approval since {since} to move to {percent} %: `greenlight approve` moves on (the gates are still checked meanwhile)"
    )
}
