//! The run's page on GitHub Actions: the job summary greenlight appends to
//! `$GITHUB_STEP_SUMMARY` and the annotations it prints, reviewed as
//! snapshots (`tests/it/snapshots/ci_*.snap`; see `human_output.rs` for how
//! to accept a deliberate change).

use std::path::Path;

use serde_json::json;

use crate::harness::{Project, Run, SECRET};

/// `greenlight ARGS` as a GitHub Actions step whose summary file is `summary`.
fn on_github(p: &Project, summary: &Path, args: &[&str]) -> Run {
    p.command(args)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary)
        .output()
        .expect("run greenlight")
        .into()
}

/// The workflow commands a run printed (the runner reads them from both streams).
fn annotations(run: &Run) -> String {
    let output = run.all_output();
    let lines: Vec<&str> = output.lines().filter(|l| l.starts_with("::")).collect();
    lines.join("\n")
}

/// Runs `args` on GitHub and checks what it added to the summary, and its
/// annotations, against the snapshot `name`; returns the run.
fn check(p: &Project, summary: &Path, name: &str, args: &[&str]) -> Run {
    let before = std::fs::read_to_string(summary).unwrap_or_default();
    let run = on_github(p, summary, args);
    let after = std::fs::read_to_string(summary).expect("the summary was written");
    let added = after
        .strip_prefix(&before)
        .unwrap_or_else(|| panic!("the summary was appended to, not rewritten:\n{after}"));
    let page = format!(
        "$ exit {}\n--- summary\n{added}--- annotations\n{}\n",
        run.code,
        annotations(&run)
    );
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, page);
    });
    assert!(!page.contains(SECRET), "a secret reached the page:\n{page}");
    run
}

#[test]
fn a_plan_a_release_a_failed_smoke_test_and_a_rollback_read_well_on_the_run_page() {
    let p = Project::new();
    let summary = p.join("step-summary.md");
    // Outside GitHub Actions nothing is written, even with the variable set.
    let plain = p
        .command(&["ship"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("run greenlight");
    assert!(plain.status.success());
    assert!(!summary.exists(), "a summary outside GitHub Actions");
    assert_eq!(annotations(&plain.into()), "");

    // What earlier steps wrote stays.
    p.write("step-summary.md", "## tests\n\nall green\n\n");
    p.change_code("v2");
    check(&p, &summary, "ci_0_plan_on_a_pull_request", &["plan"]).success();
    check(&p, &summary, "ci_1_released_ship", &["ship"]).success();

    p.change_code("broken");
    p.emulator.queue_invoke_results(&[json!({
        "errorMessage": format!("cannot reach the bank | token {SECRET}"),
        "errorType": "Exception"
    })]);
    check(&p, &summary, "ci_2_smoke_test_fails", &["ship"]).code(1);

    p.change_code("flaky");
    p.emulator
        .queue_invoke_results(&[json!({"probe": "ok"}), json!({"probe": "<degraded>"})]);
    check(
        &p,
        &summary,
        "ci_3_rolled_back",
        &["ship", "--output", "json"],
    )
    .code(3);
    assert_eq!(p.live_version(), "2");

    let page = std::fs::read_to_string(&summary).expect("summary");
    assert!(page.starts_with("## tests\n\nall green\n\n### "), "{page}");
    assert_eq!(page.matches("### ").count(), 4, "{page}");
}

#[test]
fn a_summary_that_cannot_be_written_is_a_warning_and_changes_no_exit_code() {
    let p = Project::new();
    p.run(&["deploy"]).success();
    // A folder cannot be appended to.
    let run = on_github(&p, p.path(), &["status"]).success();
    let warning = annotations(&run);
    assert!(
        warning.starts_with("::warning title=greenlight::cannot append the job summary to "),
        "{warning}"
    );
    assert!(
        warning.contains("the run's result is unchanged"),
        "{warning}"
    );
    assert!(
        run.stdout.contains("alias     live → version 1"),
        "{}",
        run.stdout
    );
}
