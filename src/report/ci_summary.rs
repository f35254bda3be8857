//! The run's page in CI: on GitHub Actions (`GITHUB_ACTIONS=true`), a
//! Markdown summary of the run appended to the job summary
//! (`$GITHUB_STEP_SUMMARY`), and each failure as a workflow command
//! (`::error title=…::…`) so it shows on the run page as an annotation.
//! Outside GitHub Actions nothing is written.
//!
//! Both are made from the [`Report`] the text and JSON output print, with
//! its outside text ([`crate::outside`]) masked. In the summary, outside
//! text is shown in code spans, so Markdown or HTML in a response is shown,
//! never rendered (no image or link from outside appears on the page). The
//! summary is appended, never truncating what earlier steps wrote, and kept
//! under GitHub's 1 MiB per step ([`SUMMARY_CAP`], counting what the step
//! wrote before): what does not fit is cut at a line and the summary says
//! so. GitHub shows at most 10 error annotations per step, so more failed
//! functions than that are folded into one. A summary that cannot be
//! written is a warning and never changes the run's exit code.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::checks::smoke::SmokeReport;
use crate::outside::{self, Piece, Sink, on_github};
use crate::release::ReleaseReport;
use crate::release::engine::InProgress;
use crate::report::Report;
use crate::secrets::Redactor;

/// The most a step's job summary file may reach: GitHub refuses a step's
/// summary over 1 MiB; this leaves room below it.
pub const SUMMARY_CAP: usize = 1024 * 1024 - 64 * 1024;
/// GitHub shows at most this many annotations of each level per step.
const ANNOTATIONS_SHOWN: usize = 10;
/// A smoke cell lists its tests until it is this long, then says how many more.
const CELL_CAP: usize = 16 * 1024;

/// On GitHub Actions, appends `report`'s summary to the job summary and
/// prints its failures as annotations on standard error (which the runner
/// reads for workflow commands as it reads standard output, and where they
/// stay out of a JSON document on standard output).
pub fn publish(report: &Report) {
    if !on_github() {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    for line in annotations(report) {
        let _ = writeln!(stderr, "{line}");
    }
    let Some(path) = std::env::var("GITHUB_STEP_SUMMARY")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return;
    };
    let written_before = std::fs::metadata(&path).map_or(0, |m| m.len());
    let room = SUMMARY_CAP.saturating_sub(usize::try_from(written_before).unwrap_or(usize::MAX));
    let appended = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut file| file.write_all(capped(markdown(report), room).as_bytes()));
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
    let redactor = &report.redactor;
    let mut out = format!(
        "### {} greenlight {}: {}\n\n",
        mark(report.exit_code),
        report.command,
        words(&report.outcome)
    );
    if report.functions.is_empty() {
        table(&mut out, report, redactor);
        return out;
    }
    if let Some(e) = &report.error {
        let _ = writeln!(out, "{}\n", markdown_text(&e.message, redactor, false));
    }
    for function in &report.functions {
        let _ = writeln!(
            out,
            "#### {} {}: {}\n",
            mark(function.exit_code),
            function.function.as_deref().unwrap_or("?"),
            words(&function.outcome)
        );
        table(&mut out, function, redactor);
    }
    out
}

/// `page` cut to at most `room` bytes, at the end of a line (every line
/// stands alone: a table row, a heading, a paragraph), with a note saying
/// what did not fit. Unchanged when it fits.
fn capped(page: String, room: usize) -> String {
    if page.len() <= room {
        return page;
    }
    // The note is short; cut so that the page with it still fits.
    let keep = room.saturating_sub(512);
    let end = page[..keep.min(page.len())]
        .rfind('\n')
        .map_or(0, |at| at + 1);
    let (kept, cut) = page.split_at(end);
    let rows = cut.lines().filter(|l| l.starts_with("| ")).count();
    let sections: Vec<&str> = cut
        .lines()
        .filter_map(|l| l.strip_prefix("#### "))
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| rest))
        .filter_map(|l| l.rsplit_once(':').map(|(name, _)| name))
        .collect();
    let functions = match sections.len() {
        0 => String::new(),
        n if n <= 5 => format!(", the sections of {}", sections.join(", ")),
        n => format!(
            ", the sections of {} and {} more functions",
            sections[..5].join(", "),
            n - 5
        ),
    };
    format!(
        "{kept}\n> ✂️ The rest of this summary is cut: GitHub keeps at most 1 MiB of job summary per step, and {} more bytes ({}{functions}) would not fit. The step's log has the whole report.\n\n",
        cut.len(),
        crate::ui::count(rows, "table row"),
    )
}

/// Each failure as a GitHub workflow command: one per failed function, an
/// `::error` (a held release, which waits for traffic, a `::warning`);
/// more than GitHub shows of one level folded into one.
pub fn annotations(report: &Report) -> Vec<String> {
    let reports: Vec<&Report> = if report.functions.is_empty() {
        vec![report]
    } else {
        report.functions.iter().collect()
    };
    let failed: Vec<&Report> = reports.into_iter().filter(|r| r.error.is_some()).collect();
    let of_level = |level: &str| -> Vec<&Report> {
        failed
            .iter()
            .copied()
            .filter(|r| level_of(r) == level)
            .collect()
    };
    let mut lines = Vec::new();
    let mut folded_levels = Vec::new();
    for r in &failed {
        let level = level_of(r);
        let these = of_level(level);
        if these.len() <= ANNOTATIONS_SHOWN {
            lines.push(annotation(report, r, level));
        } else if !folded_levels.contains(&level) {
            folded_levels.push(level);
            lines.push(folded(report, level, &these));
        }
    }
    lines
}

/// A held release waits for traffic: a warning; any other failure an error.
fn level_of(r: &Report) -> &'static str {
    if r.outcome == "held" {
        "warning"
    } else {
        "error"
    }
}

/// One failed function's annotation.
fn annotation(run: &Report, r: &Report, level: &str) -> String {
    let subject = r
        .function
        .as_deref()
        .map_or_else(String::new, |f| format!(" {f}"));
    let title = format!("greenlight {}{subject}: {}", r.command, words(&r.outcome));
    let mut text = r
        .error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    if let Some(hint) = r.error.as_ref().and_then(|e| e.hint.as_ref()) {
        text.push_str("\nhint: ");
        text.push_str(hint);
    }
    let text = run.shown(&text, Sink::Plain);
    format!("::{level} title={}::{}", property(&title), data(&text))
}

/// One annotation for the failed functions `these`, one line each.
fn folded(run: &Report, level: &str, these: &[&Report]) -> String {
    let title = format!(
        "greenlight {}: {} functions {}",
        run.command,
        these.len(),
        if level == "error" { "failed" } else { "held" }
    );
    let lines: Vec<String> = these
        .iter()
        .map(|r| {
            let message = r
                .error
                .as_ref()
                .map(|e| e.message.as_str())
                .unwrap_or_default();
            format!(
                "{} ({}): {}",
                r.function.as_deref().unwrap_or("?"),
                words(&r.outcome),
                run.shown(message, Sink::Plain)
            )
        })
        .collect();
    format!(
        "::{level} title={}::{}",
        property(&title),
        data(&lines.join("\n"))
    )
}

/// One function's table: what ran on what, the versions, the smoke tests,
/// each move and gate, how it ended and why.
fn table(out: &mut String, r: &Report, redactor: &Redactor) {
    let row = |out: &mut String, key: &str, value: &str| row(out, key, value, redactor);
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
        cells(
            out,
            "smoke",
            &smoke(s, &format!("version {}", s.target), redactor),
        );
    }
    if let Some(release) = &r.release {
        release_rows(out, release, alias, redactor);
    }
    if let Some(p) = r.status.as_ref().and_then(|s| s.in_progress.as_ref()) {
        progress_rows(out, p, redactor);
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
        let writes = crate::ui::count(plan.writes(), "write");
        row(
            out,
            "plan",
            &format!("{writes}, none made\n{}", steps.join("\n")),
        );
    }
    if !r.notify_warnings.is_empty() {
        row(out, "notify", &r.notify_warnings.join("\n"));
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
fn release_rows(out: &mut String, r: &ReleaseReport, alias: &str, redactor: &Redactor) {
    let row = |out: &mut String, key: &str, value: &str| row(out, key, value, redactor);
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
        if let Some(m) = &g.alb_metrics {
            row(out, "gate", &format!("alb metrics {m}"));
        }
        if let Some(s) = &g.smoke {
            let mut lines = smoke(s, &format!("alias `{alias}`"), redactor);
            lines[0] = format!("smoke {}", lines[0]);
            cells(out, "gate", &lines);
        }
    }
    if let Some(p) = &r.in_progress {
        progress_rows(out, p, redactor);
    }
    if let (Some(why), Some(previous)) = (&r.rolled_back, &r.previous) {
        row(
            out,
            "rollback",
            &format!("alias `{alias}` back on version {previous}: {why}"),
        );
    }
}

/// Where a release in progress stands: its step, a hold, and a wait for
/// approval.
fn progress_rows(out: &mut String, p: &InProgress, redactor: &Redactor) {
    let row = |out: &mut String, key: &str, value: &str| row(out, key, value, redactor);
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
    if let Some(percent) = p.waiting_for_approval {
        let since = p.waiting_since.as_deref().unwrap_or("?");
        row(
            out,
            "approval",
            &format!(
                "waiting since {since} to move to {percent} %: `greenlight approve` moves on (the gates are still checked meanwhile)"
            ),
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

/// The lines of a smoke cell, made for a table cell: "✅ 1 of 1 passed
/// against version 4", then each test, until the cell is [`CELL_CAP`] long.
fn smoke(s: &SmokeReport, against: &str, redactor: &Redactor) -> Vec<String> {
    let passed = s.results.iter().filter(|r| r.passed).count();
    let mut lines = vec![markdown_text(
        &format!(
            "{} {passed} of {} passed against {against}",
            mark(u8::from(passed != s.results.len())),
            s.results.len()
        ),
        redactor,
        true,
    )];
    let mut length = 0;
    for (n, r) in s.results.iter().enumerate() {
        let line = match &r.failure {
            None => format!("✅ `{}`", r.name),
            Some(why) => format!("❌ `{}`: {why}", r.name),
        };
        let line = markdown_text(&line, redactor, true);
        length += line.len();
        if length > CELL_CAP {
            lines.push(format!(
                "… {} more (the step's log lists every test)",
                crate::ui::count(s.results.len() - n, "test")
            ));
            break;
        }
        lines.push(line);
    }
    lines
}

/// A table row; `value` made safe for one Markdown table cell.
fn row(out: &mut String, key: &str, value: &str, redactor: &Redactor) {
    cells(out, key, &[markdown_text(value, redactor, true)]);
}

/// A table row of lines already made for a cell, one under the other.
fn cells(out: &mut String, key: &str, lines: &[String]) {
    let _ = writeln!(out, "| {key} | {} |", lines.join("<br>"));
}

/// `text` as Markdown on one line (in a table cell when `in_table`):
/// greenlight's own words escaped so they stay text ([`own_text`]), the
/// outside parts masked, each of their lines in a code span ([`code`]),
/// line breaks as `<br>`.
fn markdown_text(text: &str, redactor: &Redactor, in_table: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in outside::pieces(text.trim_end(), redactor) {
        match piece {
            Piece::Own(own) => out.push_str(&own_text(own)),
            Piece::Outside(outside) => {
                // Markdown ends a line at CR as at LF: a lone CR left
                // inside a code span would end it and the table row.
                let lines: Vec<String> = outside
                    .split(['\r', '\n'])
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| code(l, in_table))
                    .collect();
                out.push_str(&lines.join("<br>"));
            }
        }
    }
    out
}

/// greenlight's own text for Markdown on one line: `|` escaped (it would end
/// a table cell) and `$` (two would start math, as in `$LATEST`), HTML's
/// `&`, `<` and `>` as entities, line breaks as `<br>`.
fn own_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

/// `line` as a Markdown code span, shown as it is: opened and closed by
/// more backticks than any run of them in it, with a space inside each end
/// (which Markdown takes off), and in a table cell `|` escaped (a table
/// row ends at any other).
fn code(line: &str, in_table: bool) -> String {
    let longest = line.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let line = if in_table {
        line.replace('|', "\\|")
    } else {
        line.to_owned()
    };
    format!("{fence} {line} {fence}")
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
    fn cells_cannot_end_early_or_render_html_or_markdown_from_outside() {
        let redactor = Redactor::default();
        assert_eq!(
            markdown_text("a | b <script> & c\r\n$LATEST\n", &redactor, true),
            "a \\| b &lt;script&gt; &amp; c<br>\\$LATEST"
        );
        let body = "![x](https://e.example/i.png) `a` ``b`` | <b>\n\n[link](https://e.example)";
        let text = format!("response was {}", outside::quote(body));
        assert_eq!(
            markdown_text(&text, &redactor, true),
            "response was ``` ![x](https://e.example/i.png) `a` ``b`` \\| <b> ```<br>` [link](https://e.example) `"
        );
        assert_eq!(
            markdown_text(&outside::quote("a|b"), &redactor, false),
            "` a|b `"
        );
    }

    #[test]
    fn a_summary_too_long_for_github_is_cut_at_a_line_and_says_what_was_cut() {
        let mut page = String::from("### ❌ greenlight test: mixed\n\n");
        for n in 0..100 {
            let _ = write!(
                page,
                "#### ❌ fn{n}: failed\n\n| | |\n| --- | --- |\n| error | {} |\n\n",
                "x".repeat(100)
            );
        }
        assert_eq!(capped(page.clone(), page.len()), page);
        let cut = capped(page.clone(), 4096);
        assert!(cut.len() <= 4096, "{}", cut.len());
        let (kept, note) = cut.split_once("\n> ✂️").expect("a note");
        assert!(page.starts_with(kept) && kept.ends_with('\n'), "{kept}");
        assert!(
            note.contains("GitHub keeps at most 1 MiB of job summary per step")
                && note.contains("the sections of fn")
                && note.contains("more functions"),
            "{note}"
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
        // More failures than GitHub shows fold into one annotation.
        fleet.functions = (0..11)
            .map(|n| {
                let mut r = Report::new("test");
                r.function = Some(format!("fn{n}"));
                r.fail("failed", Error::no_traffic_moved(format!("boom {n}")));
                r
            })
            .collect();
        let folded = annotations(&fleet);
        assert_eq!(folded.len(), 1, "{folded:?}");
        assert!(
            folded[0].starts_with("::error title=greenlight ship%3A 11 functions failed::fn0 (failed): boom 0%0Afn1 (failed): boom 1%0A"),
            "{}",
            folded[0]
        );
    }
}
