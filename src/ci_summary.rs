//! The run's page in CI: on GitHub Actions (`GITHUB_ACTIONS=true`), a
//! Markdown summary of the run appended to the job summary
//! (`$GITHUB_STEP_SUMMARY`), and each failure as a workflow command
//! (`::error title=…::…`) so it shows on the run page as an annotation.
//! Outside GitHub Actions nothing is written.
//!
//! Both are made from the [`Report`] the text and JSON output print, whose
//! secrets are already masked. The summary is appended, never truncating
//! what earlier steps wrote; a summary that cannot be written is a warning
//! and never changes the run's exit code.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::release::ReleaseReport;
use crate::report::Report;
use crate::smoke::SmokeReport;

/// On GitHub Actions, appends `report`'s summary to the job summary and
/// prints its failures as annotations on standard error (which the runner
/// reads for workflow commands as it reads standard output, and where they
/// stay out of a JSON document on standard output).
pub fn publish(report: &Report) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if var("GITHUB_ACTIONS").as_deref() != Some("true") {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    for line in annotations(report) {
        let _ = writeln!(stderr, "{line}");
    }
    let Some(path) = var("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut file| file.write_all(markdown(report).as_bytes()));
    if let Err(e) = appended {
        let _ = writeln!(
            stderr,
            "::warning title=greenlight::{}",
            data(&format!(
                "cannot append the job summary to {path}: {e}; the run's result is unchanged"
            ))
        );
    }
}

/// The run as Markdown: a heading with the outcome, then a table per
/// function (one section each in a fleet).
pub fn markdown(report: &Report) -> String {
    let mut out = format!(
        "### {} greenlight {}: {}\n\n",
        mark(report.exit_code),
        report.command,
        words(&report.outcome)
    );
    if report.functions.is_empty() {
        table(&mut out, report);
        return out;
    }
    if let Some(e) = &report.error {
        let _ = writeln!(out, "{}\n", cell(&e.message));
    }
    for function in &report.functions {
        let _ = writeln!(
            out,
            "#### {} {}: {}\n",
            mark(function.exit_code),
            function.function.as_deref().unwrap_or("?"),
            words(&function.outcome)
        );
        table(&mut out, function);
    }
    out
}

/// Each failure as a GitHub workflow command: one per failed function, an
/// `::error` (a held release, which waits for traffic, a `::warning`).
pub fn annotations(report: &Report) -> Vec<String> {
    let reports: Vec<&Report> = if report.functions.is_empty() {
        vec![report]
    } else {
        report.functions.iter().collect()
    };
    reports
        .into_iter()
        .filter_map(|r| {
            let e = r.error.as_ref()?;
            let level = if r.outcome == "held" {
                "warning"
            } else {
                "error"
            };
            let subject = r
                .function
                .as_deref()
                .map_or_else(String::new, |f| format!(" {f}"));
            let title = format!("greenlight {}{subject}: {}", r.command, words(&r.outcome));
            let mut text = e.message.clone();
            if let Some(hint) = &e.hint {
                text.push_str("\nhint: ");
                text.push_str(hint);
            }
            Some(format!(
                "::{level} title={}::{}",
                property(&title),
                data(&text)
            ))
        })
        .collect()
}

/// One function's table: what ran on what, the versions, the smoke tests,
/// each move and gate, how it ended and why.
fn table(out: &mut String, r: &Report) {
    out.push_str("| | |\n| --- | --- |\n");
    let alias = r.alias.as_deref().unwrap_or_default();
    if let Some(function) = &r.function {
        let region = r.region.as_deref().unwrap_or("?");
        row(
            out,
            "function",
            &format!("`{function}` in {region}, alias `{alias}`"),
        );
    }
    if let Some(versions) = versions(r) {
        row(out, "versions", &versions);
    }
    if let Some(d) = &r.deploy
        && !d.unchanged
        && !d.changes.is_empty()
    {
        row(
            out,
            "deploy",
            &format!("published version {} ({})", d.version, d.changes.join(", ")),
        );
    }
    if let Some(s) = &r.smoke {
        row(out, "smoke", &smoke(s, &format!("version {}", s.target)));
    }
    if let Some(release) = &r.release {
        release_rows(out, release, alias);
    }
    if let Some(plan) = &r.dry_run {
        let steps: Vec<String> = plan
            .steps
            .iter()
            .map(|step| match &step.call {
                Some(call) => format!("write `{call}`: {}", step.detail),
                None => step.detail.clone(),
            })
            .collect();
        let writes = crate::report::count(plan.writes(), "write");
        row(
            out,
            "plan",
            &format!("{writes}, none made\n{}", steps.join("\n")),
        );
    }
    row(
        out,
        "outcome",
        &format!(
            "{} {} (exit {})",
            mark(r.exit_code),
            words(&r.outcome),
            r.exit_code
        ),
    );
    if let Some(e) = &r.error {
        row(out, "error", &e.message);
        if let Some(cause) = &e.cause {
            row(out, "cause", cause);
        }
        if let Some(hint) = &e.hint {
            row(out, "hint", hint);
        }
    }
    out.push('\n');
}

/// The release's moves and gates, where it stands, and why it rolled back.
fn release_rows(out: &mut String, r: &ReleaseReport, alias: &str) {
    for (n, percent) in r.moves.iter().enumerate() {
        row(
            out,
            &format!("move {}", n + 1),
            &format!("{percent} % on version {}", r.version),
        );
    }
    if let Some(g) = &r.gates {
        for a in &g.alarms {
            let ok = if a.state == "ALARM" { "❌" } else { "✅" };
            row(
                out,
                "gate",
                &format!("{ok} alarm `{}`: {}", a.name, a.state),
            );
        }
        if let Some(m) = &g.metrics {
            row(out, "gate", &format!("metrics {m}"));
        }
        if let Some(s) = &g.smoke {
            row(
                out,
                "gate",
                &format!("smoke {}", smoke(s, &format!("alias `{alias}`"))),
            );
        }
    }
    if let Some(p) = &r.in_progress {
        row(
            out,
            "progress",
            &format!(
                "step {} of {} at {} %; the next `greenlight promote` will {}",
                p.step, p.of, p.percent, p.next
            ),
        );
        if let Some(why) = &p.held {
            row(out, "held", why);
        }
    }
    if let (Some(why), Some(previous)) = (&r.rolled_back, &r.previous) {
        row(
            out,
            "rollback",
            &format!("alias `{alias}` back on version {previous}: {why}"),
        );
    }
}

/// "2 → 4": where traffic was and where it went, or the version this run
/// made or found.
fn versions(r: &Report) -> Option<String> {
    if let Some(rollback) = &r.rollback {
        return Some(format!("{} → {}", rollback.from, rollback.to));
    }
    if let Some(release) = &r.release {
        return Some(match (&release.previous, release.already_live) {
            (_, true) => format!("{} (already live)", release.version),
            (Some(previous), false) => format!("{previous} → {}", release.version),
            (None, false) => format!("→ {} (alias created)", release.version),
        });
    }
    if let Some(d) = &r.deploy {
        return Some(if d.unchanged {
            format!("{} (nothing to deploy)", d.version)
        } else {
            format!("{} published, not released", d.version)
        });
    }
    let live = r.status.as_ref()?.live.as_ref()?;
    Some(format!("{} (live)", live.version))
}

/// "✅ 1 of 1 passed against version 4", then each test on its own line.
fn smoke(s: &SmokeReport, against: &str) -> String {
    let passed = s.results.iter().filter(|r| r.passed).count();
    let mut text = format!(
        "{} {passed} of {} passed against {against}",
        mark(u8::from(passed != s.results.len())),
        s.results.len()
    );
    for r in &s.results {
        match &r.failure {
            None => {
                let _ = write!(text, "\n✅ `{}`", r.name);
            }
            Some(why) => {
                let _ = write!(text, "\n❌ `{}`: {why}", r.name);
            }
        }
    }
    text
}

/// A table row; `value` made safe for one Markdown table cell.
fn row(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "| {key} | {} |", cell(value));
}

/// Text for a Markdown table cell: `|` escaped (it would end the cell) and
/// `$` (two would start math, as in `$LATEST`), HTML's `&`, `<` and `>` as
/// entities (so a response is shown, not rendered), line breaks as `<br>`.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim_end().chars() {
        match c {
            '|' => out.push_str("\\|"),
            '$' => out.push_str("\\$"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A workflow command's message: `%`, CR and LF encoded, as the runner
/// decodes them.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as [`data`], and `:` and `,`
/// encoded too (they end the value).
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// ✅ for success, ⏸️ for a held release (exit 5), ❌ for any failure.
fn mark(exit_code: u8) -> &'static str {
    match exit_code {
        0 => "✅",
        5 => "⏸️",
        _ => "❌",
    }
}

/// An outcome word for reading: `rolled_back` → "rolled back".
fn words(outcome: &str) -> String {
    outcome.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_end_early_or_render_html() {
        assert_eq!(
            cell("a | b <script> & c\r\n$LATEST\n"),
            "a \\| b &lt;script&gt; &amp; c<br>\\$LATEST"
        );
    }

    #[test]
    fn workflow_commands_encode_what_would_end_their_parts() {
        assert_eq!(data("100% done\r\nhint: x"), "100%25 done%0D%0Ahint: x");
        assert_eq!(
            property("greenlight ship: rolled back, 50%"),
            "greenlight ship%3A rolled back%2C 50%25"
        );
    }

    #[test]
    fn a_held_release_is_a_warning_and_a_fleet_annotates_each_failed_function() {
        use crate::error::{Error, Failure};
        let mut held = Report::new("ship");
        held.function = Some("orders".to_owned());
        held.fail("held", Error::new(Failure::Held, "held at 10 %"));
        let mut failed = Report::new("ship");
        failed.function = Some("billing".to_owned());
        failed.fail(
            "failed",
            Error::no_traffic_moved("boom").with_hint("fix, then ship"),
        );
        let fine = Report::new("ship");
        let mut fleet = Report::new("ship");
        fleet.fail(
            "mixed",
            Error::no_traffic_moved("2 of 3 functions did not finish"),
        );
        fleet.functions = vec![held, fine, failed];
        assert_eq!(
            annotations(&fleet),
            [
                "::warning title=greenlight ship orders%3A held::held at 10 %25",
                "::error title=greenlight ship billing%3A failed::boom%0Ahint: fix, then ship",
            ]
        );
        assert_eq!(annotations(&Report::new("status")), Vec::<String>::new());
        let page = markdown(&fleet);
        assert!(
            page.starts_with("### ❌ greenlight ship: mixed\n\n2 of 3 functions did not finish\n\n#### ⏸️ orders: held\n\n| | |\n"),
            "{page}"
        );
        assert!(
            page.contains("\n#### ❌ billing: failed\n\n| | |\n"),
            "{page}"
        );
        assert!(page.contains("| hint | fix, then ship |\n"), "{page}");
    }
}
