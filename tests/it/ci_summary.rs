//! The run's page on GitHub Actions: the job summary greenlight appends to
//! `$GITHUB_STEP_SUMMARY` and the annotations it prints, reviewed as
//! snapshots (`tests/it/snapshots/ci_*.snap`; see `human_output.rs` for how
//! to accept a deliberate change).

use std::path::Path;

use serde_json::json;

use crate::harness::{Project, Run, SECRET};

/// `greenlight ARGS` as a GitHub Actions step whose summary file is `summary`.
pub fn on_github(p: &Project, summary: &Path, args: &[&str]) -> Run {
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

/// The workflow commands GitHub's runner would read from `output`, as its
/// `ActionCommand` parses them: a line (split at CR, LF or CR LF) that
/// starts with `::` after its leading white space and holds a second `::`,
/// or a `##[` anywhere with a `]` after it (the older form).
pub fn workflow_commands(output: &str) -> Vec<String> {
    output
        .split(['\r', '\n'])
        .filter_map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("::") && trimmed[2..].contains("::") {
                return Some(trimmed.to_owned());
            }
            let at = line.find("##[")?;
            line[at..].contains(']').then(|| line[at..].to_owned())
        })
        .collect()
}

/// Asserts that every workflow command in `output` is one of greenlight's
/// own annotations, and that there is at least one.
#[track_caller]
pub fn assert_only_own_commands(output: &str) {
    let commands = workflow_commands(output);
    assert!(
        !commands.is_empty(),
        "greenlight's annotation is missing:\n{output}"
    );
    for command in &commands {
        assert!(
            command.starts_with("::error title=greenlight ")
                || command.starts_with("::warning title=greenlight "),
            "a command from outside: {command:?}\n{output}"
        );
    }
}

#[test]
fn outside_text_starts_no_workflow_command_and_renders_no_markdown_on_the_run_page() {
    let hostile = "::stop-commands::pwned\r\n::error title=forged::x\n  ::warning::y ##[error]z ![img](https://e.example/i.png) [link](https://e.example)";
    let base = crate::harness::loopback::serve(move |_| {
        (
            "500 Internal Server Error".to_owned(),
            hostile.as_bytes().to_vec(),
        )
    });
    let p = Project::with_config(&format!(
        "{}\n[[smoke]]\nname = \"hostile\"\nhttp = {{ url = \"{base}/\" }}\n",
        crate::harness::default_config()
    ));
    p.run(&["deploy"]).success();
    let summary = p.join("summary.md");
    let text = on_github(&p, &summary, &["test", "-v"]).code(1);
    assert_only_own_commands(&text.all_output());
    assert!(
        text.stderr
            .contains("::error title=greenlight test orders%3A smoke failed::"),
        "{}",
        text.stderr
    );
    assert!(
        text.stdout.contains("\\::error title=forged::x"),
        "shown, escaped: {}",
        text.stdout
    );
    let json = on_github(&p, &summary, &["test", "--output", "json"]).code(1);
    assert_only_own_commands(&json.all_output());
    assert!(
        json.json()["smoke"]["results"][1]["failure"]
            .as_str()
            .is_some_and(|f| f.contains("#\\#[error]z"))
    );

    // In the summary, outside text stands in code spans.
    let page = std::fs::read_to_string(&summary).expect("the summary");
    assert!(
        page.contains(
            "body was ` ::stop-commands::pwned `<br>` ::error title=forged::x `<br>`   ::warning::y ##[error]z ![img](https://e.example/i.png) [link](https://e.example) ` |"
        ),
        "{page}"
    );
    assert_eq!(p.live_version(), "1");
}

#[test]
fn a_failed_versions_state_reason_starts_no_workflow_command() {
    let p = Project::with_emulator(
        &crate::harness::default_config(),
        &[
            "--version-failure",
            "FunctionError:the snapshot failed\n::stop-commands::pwned\n::error title=forged::x ##[error]y",
        ],
    );
    p.run(&["ship"]).success();
    p.write(
        "greenlight.toml",
        &crate::harness::default_config().replacen(
            "[function]\n",
            "[function]\nsnap_start = true\n",
            1,
        ),
    );
    p.change_code("v2");
    let summary = p.join("summary.md");
    let run = on_github(&p, &summary, &["ship"]).code(1);
    let output = run.all_output();
    assert_only_own_commands(&output);
    assert!(
        run.stderr.contains("caused by: FunctionError: the snapshot failed\n\\::stop-commands::pwned\n\\::error title=forged::x #\\#[error]y"),
        "{}",
        run.stderr
    );
    assert_eq!(p.live_version(), "1");
}

#[test]
fn the_summary_stays_under_githubs_limit_and_says_what_was_cut() {
    const GITHUB_LIMIT: usize = 1024 * 1024;
    let p = Project::new();
    p.run(&["deploy"]).success();
    // Earlier commands of the step wrote almost all greenlight lets a
    // step's summary reach (64 KiB under GitHub's limit).
    let earlier = format!(
        "## earlier\n\n{}\n",
        "x".repeat(GITHUB_LIMIT - 64 * 1024 - 800)
    );
    p.write("summary.md", &earlier);
    p.emulator
        .queue_invoke_results(&[json!({"errorMessage": "y".repeat(280)})]);
    let summary = p.join("summary.md");
    on_github(&p, &summary, &["test"]).code(1);
    let page = std::fs::read_to_string(&summary).expect("the summary");
    assert!(page.len() < GITHUB_LIMIT, "{} bytes", page.len());
    let added = page.strip_prefix(&earlier).expect("appended");
    assert!(
        added.starts_with("### ❌ greenlight test: smoke failed\n"),
        "{added}"
    );
    assert!(
        added.contains("> ✂️ The rest of this summary is cut: GitHub keeps at most 1 MiB of job summary per step, and ")
            && added.contains(" (4 table rows) would not fit. The step's log has the whole report.\n"),
        "{added}"
    );
}

#[test]
fn more_failed_functions_than_github_shows_fold_into_one_annotation() {
    let functions: String = (0..11)
        .map(|n| {
            format!(
                "[[functions]]\nname = \"fn{n}\"\nruntime = \"python3.12\"\nhandler = \"index.handler\"\nrole = \"{}\"\n\n",
                crate::harness::ROLE
            )
        })
        .collect();
    let p = Project::with_config(&format!("[package]\nsource = \"app\"\n\n{functions}"));
    let summary = p.join("summary.md");
    // No function exists yet: each one's `test` fails.
    let run = on_github(&p, &summary, &["test"]).code(1);
    let commands = workflow_commands(&run.all_output());
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert!(
        commands[0].starts_with("::error title=greenlight test%3A 11 functions failed::fn0 (failed): function fn0 does not exist"),
        "{}",
        commands[0]
    );
    assert!(p.functions().is_empty());
}
