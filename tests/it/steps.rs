//! The separate steps: deploy, test, release, rollback and status on their own.

use serde_json::json;

use crate::harness::Project;

#[test]
fn deploy_publishes_without_moving_traffic_then_test_and_release_finish_the_job() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");

    let deployed = p.run(&["deploy"]).success();
    assert!(
        deployed.stdout.contains("published version 2"),
        "{}",
        deployed.stdout
    );
    assert_eq!(p.live_version(), "1");

    // Deploying the same thing again names the same version.
    let again = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(again["deploy"]["version"], "2");
    assert_eq!(p.versions(), ["1", "2"]);

    let tested = p.run(&["test", "--output", "json"]).success().json();
    assert_eq!(
        tested["smoke"]["target"], "2",
        "test defaults to the latest version"
    );
    assert_eq!(tested["outcome"], "smoke_passed");

    p.emulator
        .queue_invoke_results(&[json!({"probe": "wrong"})]);
    let failed = p.run(&["test", "--version", "1"]).code(1);
    assert!(
        failed.stderr.contains("against version 1"),
        "{}",
        failed.stderr
    );

    p.run(&["release", "--version", "2"]).success();
    assert_eq!(p.live_version(), "2");
    let same = p.run(&["release", "--version", "2"]).success();
    assert!(
        same.stdout.contains("already serves version 2"),
        "{}",
        same.stdout
    );
}

/// Runs a failing `greenlight test ARGS` and returns its hint; the test
/// writes nothing to AWS and leaves the alias as it was.
#[track_caller]
fn failing_test_hint(p: &Project, args: &[&str]) -> String {
    let alias = p.weights("live");
    let before = p.emulator.requests().len();
    p.emulator
        .queue_invoke_results(&[json!({"probe": "wrong"})]);
    let run = p.run(&[&["test"], args].concat()).code(1);
    let writes: Vec<String> = p.emulator.requests()[before..]
        .iter()
        .filter(|r| {
            !(r.starts_with("GET ")
                || r.starts_with("POST /2015-03-31/functions/orders/invocations"))
        })
        .cloned()
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(p.weights("live"), alias);
    let hint = run.stderr.lines().find_map(|l| l.strip_prefix("hint: "));
    hint.unwrap_or_else(|| panic!("a hint in {}", run.stderr))
        .to_owned()
}

#[test]
fn a_failing_test_says_what_users_get_of_the_version() {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10]\nbake = \"1h\"\n",
        crate::harness::default_config()
    ));
    p.run(&["ship"]).success();
    assert_eq!(
        failing_test_hint(&p, &[]),
        "version 1 is the one alias live serves: users are on it; nothing was changed"
    );
    p.change_code("v2");
    p.run(&["deploy"]).success();
    assert_eq!(
        failing_test_hint(&p, &["--version", "2"]),
        "version 2 gets no traffic from alias live; nothing was changed"
    );
    p.run(&["release", "--version", "2", "--no-wait"]).success();
    assert_eq!(
        failing_test_hint(&p, &["--version", "2"]),
        "version 2 takes 10 % of alias live's traffic (a release in progress): users reach it; nothing was changed; `greenlight rollback` stops the release"
    );
    assert_eq!(
        failing_test_hint(&p, &["--version", "1"]),
        "version 1 is the one alias live serves: users are on it; nothing was changed"
    );
}

#[test]
fn release_refuses_versions_that_do_not_exist() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let missing = p.run(&["release", "--version", "7"]).code(1);
    assert!(
        missing
            .stderr
            .contains("version 7 of function orders does not exist"),
        "{}",
        missing.stderr
    );
    let latest = p.run(&["release", "--version", "$LATEST"]).code(2);
    assert!(latest.stderr.contains("never $LATEST"), "{}", latest.stderr);
    assert_eq!(p.live_version(), "1");
}

#[test]
fn rollback_restores_the_recorded_previous_version_and_is_idempotent() {
    let p = Project::new();
    let first = p.run(&["rollback"]).code(1);
    assert!(first.stderr.contains("does not exist"), "{}", first.stderr);

    p.run(&["ship"]).success();
    let nothing = p.run(&["rollback"]).code(1);
    assert!(
        nothing.stderr.contains("no earlier version"),
        "{}",
        nothing.stderr
    );

    p.change_code("v2");
    p.run(&["ship"]).success();
    p.change_code("v3");
    p.run(&["ship"]).success();
    assert_eq!(p.live_version(), "3");

    let run = p.run(&["rollback"]).success();
    assert!(run.stdout.contains("version 3 → 2"), "{}", run.stdout);
    assert_eq!(
        p.live_version(),
        "2",
        "back on what was live before, not a guess"
    );
    let again = p.run(&["rollback"]).success();
    assert!(
        again.stdout.contains("already rolled back"),
        "{}",
        again.stdout
    );
    assert_eq!(p.live_version(), "2");
}

#[test]
fn rollback_refuses_an_alias_moved_outside_greenlight() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship"]).success();
    p.aws(async |c| {
        c.update_alias()
            .function_name("orders")
            .name("live")
            .function_version("1")
            .send()
            .await
    })
    .expect("move alias by hand");
    let run = p.run(&["rollback"]).code(1);
    assert!(
        run.stderr.contains("moved outside greenlight"),
        "{}",
        run.stderr
    );
    assert_eq!(p.live_version(), "1");
}

#[test]
fn status_shows_live_version_record_and_recent_versions() {
    let p = Project::new();
    let before = p.run(&["status"]).success();
    assert!(
        before.stdout.contains("does not exist yet"),
        "{}",
        before.stdout
    );

    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship"]).success();
    let text = p.run(&["status"]).success().stdout;
    assert!(text.contains("alias     live → version 2"), "{text}");
    assert!(
        text.contains("released version 2, replacing version 1 at "),
        "{text}"
    );
    assert!(text.contains("version   2     live  "), "{text}");

    let doc = p.run(&["status", "--output", "json"]).success().json();
    assert_eq!(doc["status"]["live"]["version"], "2");
    assert_eq!(doc["status"]["live"]["record"]["previous"], "1");
    assert_eq!(doc["status"]["versions"][0]["version"], "2");
    assert_eq!(doc["status"]["versions"][1]["version"], "1");
}

#[test]
fn smoke_test_times_out_when_lambda_does_not_answer() {
    let p = Project::new();
    p.write(
        "greenlight.toml",
        &crate::harness::default_config().replace("expect = {", "timeout = \"1s\"\nexpect = {"),
    );
    // Lambda takes the invocation and never answers.
    let proxy = p.proxy();
    proxy.rule("Invoke", 0, None, crate::harness::Fault::Hang);
    let run = p.run_via(&proxy, &["test", "--version", "1"]).code(1);
    assert!(run.stderr.contains("no answer within 1s"), "{}", run.stderr);
}

#[test]
fn prune_keeps_the_newest_the_live_and_the_rollback_target() {
    let p = Project::new();
    p.run(&["ship"]).success();
    for marker in ["v2", "v3", "v4"] {
        p.change_code(marker);
        p.run(&["ship"]).success();
    }
    p.change_code("v5");
    p.run(&["deploy"]).success();
    assert_eq!(p.versions(), ["1", "2", "3", "4", "5"]);

    let plan = p
        .run(&["prune", "--keep", "1", "--dry-run", "--output", "json"])
        .success()
        .json();
    assert_eq!(plan["prune"]["deleted"], serde_json::json!(["1", "2"]));
    assert_eq!(plan["prune"]["kept"]["4"], "alias live points to it");
    assert_eq!(
        plan["prune"]["kept"]["3"],
        "`greenlight rollback` of alias live returns to it"
    );
    assert_eq!(plan["prune"]["kept"]["5"], "one of the 1 newest");
    assert_eq!(p.versions().len(), 5, "a dry run deletes nothing");

    let run = p.run(&["prune", "--keep", "1"]).success();
    assert!(
        run.stdout.contains("deleted versions 1, 2"),
        "{}",
        run.stdout
    );
    assert_eq!(p.versions(), ["3", "4", "5"]);
    assert_eq!(p.live_version(), "4");
    p.run(&["rollback"]).success();
    assert_eq!(p.live_version(), "3");
}

#[test]
fn completions_and_the_man_page_need_no_config() {
    let p = Project::new();
    let run = p
        .run(&["-c", "missing.toml", "completions", "bash"])
        .success();
    assert!(run.stdout.contains("_greenlight()"), "{}", run.stdout);
    for command in ["ship", "promote", "rollback", "prune"] {
        assert!(run.stdout.contains(command), "{command} missing");
    }
    p.run(&["completions", "tcsh"]).code(2);

    let man = p.run(&["-c", "missing.toml", "man"]).success();
    assert!(man.stdout.starts_with(".ie"), "roff: {}", man.stdout);
    for section in [".SH NAME", ".SH SUBCOMMANDS", "plan", "rollback"] {
        assert!(man.stdout.contains(section), "{section} missing");
    }
}

#[test]
fn init_writes_a_valid_config_and_workflows_and_never_overwrites_without_force() {
    let p = Project::new();
    let run = p
        .run(&[
            "-c",
            "svc/greenlight.toml",
            "init",
            "--flavour",
            "rust",
            "--arm64",
            "--name",
            "orders-api",
        ])
        .success();
    for file in [
        "svc/greenlight.toml",
        "svc/greenlight-iam-policy.json",
        "svc/.github/workflows/greenlight-ship.yml",
        "svc/.github/workflows/greenlight-promote.yml",
        "svc/.github/workflows/greenlight-deploy-commit.yml",
        "svc/.github/workflows/greenlight-approve.yml",
    ] {
        assert!(p.join(file).is_file(), "{file} missing: {}", run.stdout);
    }
    let config = std::fs::read_to_string(p.join("svc/greenlight.toml")).expect("config");
    // cargo-lambda builds for the architecture the function runs on.
    assert!(
        config.contains("build = \"cargo lambda build --release --arm64\""),
        "{config}"
    );
    assert!(config.contains("architecture = \"arm64\""), "{config}");
    // The generated config passes validation as written.
    let status = p.run(&["-c", "svc/greenlight.toml", "status"]).success();
    assert!(status.stdout.contains("orders-api"), "{}", status.stdout);

    std::fs::write(p.join("svc/greenlight.toml"), "# mine\n").expect("edit");
    let refused = p.run(&["-c", "svc/greenlight.toml", "init"]).code(2);
    assert!(
        refused.stderr.contains("already exist"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read_to_string(p.join("svc/greenlight.toml")).expect("config"),
        "# mine\n"
    );
    p.run(&[
        "-c",
        "svc/greenlight.toml",
        "init",
        "--force",
        "--name",
        "orders-api",
    ])
    .success();
    assert!(
        std::fs::read_to_string(p.join("svc/greenlight.toml"))
            .expect("config")
            .contains("python3.12")
    );
}
