//! `greenlight ship`: deploy → smoke → release, and every way it can end.

use serde_json::json;

use crate::harness::{Project, SECRET};

#[test]
fn first_ship_creates_the_function_publishes_version_1_and_creates_the_alias() {
    let p = Project::new();
    let run = p.run(&["ship"]).success();
    assert!(
        run.stdout.contains("published version 1 (new function)"),
        "{}",
        run.stdout
    );

    assert_eq!(p.versions(), ["1"]);
    assert_eq!(p.live_version(), "1");
    let v1 = p.version_config("1");
    assert_eq!(v1.memory_size(), Some(256));
    assert_eq!(v1.timeout(), Some(10));
    assert_eq!(v1.handler(), Some("index.handler"));

    // The code Lambda holds is exactly the zip `package` writes.
    let packaged = p.run(&["package", "--out", "out.zip"]).success();
    let (_, code_sha256) = crate::harness::python::sha256(&p.join("out.zip"));
    assert_eq!(v1.code_sha256(), Some(code_sha256.as_str()));
    assert!(
        packaged.stdout.contains(&code_sha256),
        "{}",
        packaged.stdout
    );
}

#[test]
fn unchanged_code_and_config_publish_nothing() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let again = p.run(&["ship"]).success();
    assert!(
        again.stdout.contains("nothing to deploy"),
        "{}",
        again.stdout
    );
    assert_eq!(p.versions(), ["1"]);
    assert_eq!(p.live_version(), "1");
}

#[test]
fn new_code_is_released_and_the_previous_version_recorded_in_aws() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    let run = p.run(&["ship"]).success();
    assert!(
        run.stdout.contains("alias live: version 1 → 2"),
        "{}",
        run.stdout
    );

    assert_eq!(p.versions(), ["1", "2"]);
    let (version, description) = p.alias("live").expect("alias");
    assert_eq!(version, "2");
    assert!(
        description.starts_with("greenlight: action=release version=2 previous=1 at="),
        "{description}"
    );
}

#[test]
fn failing_smoke_test_stops_before_traffic_moves() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("broken");
    p.emulator
        .queue_invoke_results(&[json!({"errorMessage": "boom", "errorType": "Exception"})]);

    let run = p.run(&["ship"]).code(1);
    let err = &run.stderr;
    assert!(
        err.contains("smoke test `echo` failed against version 2"),
        "{err}"
    );
    assert!(
        err.contains("expected `probe` = \"ok\", but the key is missing"),
        "{err}"
    );
    assert!(err.contains("\"errorMessage\":\"boom\""), "{err}");
    assert!(
        err.contains("version 2 was published but received no traffic"),
        "{err}"
    );

    // Published, but the alias never moved.
    assert_eq!(p.versions(), ["1", "2"]);
    assert_eq!(p.live_version(), "1");
}

#[test]
fn failing_check_through_the_alias_rolls_back_with_exit_3() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("flaky");
    // The version passes its own smoke test, then fails once live.
    p.emulator
        .queue_invoke_results(&[json!({"probe": "ok"}), json!({"probe": "degraded"})]);

    let run = p.run(&["ship"]).code(3);
    assert!(run.stderr.contains("rolled back"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("expected `probe` = \"ok\", got \"degraded\""),
        "{}",
        run.stderr
    );

    let (version, description) = p.alias("live").expect("alias");
    assert_eq!(version, "1");
    assert!(
        description.starts_with("greenlight: action=rollback version=1 previous=2"),
        "{description}"
    );
}

#[test]
fn json_output_is_one_document_with_versions_changes_and_smoke_results() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    let doc = p.run(&["ship", "--output", "json"]).success().json();
    assert_eq!(doc["command"], "ship");
    assert_eq!(doc["function"], "orders");
    assert_eq!(doc["outcome"], "released");
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["deploy"]["version"], "2");
    assert_eq!(doc["deploy"]["changes"], json!(["code"]));
    assert_eq!(doc["smoke"]["results"][0]["name"], "echo");
    assert_eq!(doc["smoke"]["results"][0]["passed"], true);
    assert_eq!(doc["release"]["previous"], "1");

    p.change_code("v3");
    p.emulator.queue_invoke_results(&[json!({"probe": "no"})]);
    let failed = p.run(&["ship", "--output", "json"]).code(1).json();
    assert_eq!(failed["outcome"], "smoke_failed");
    assert_eq!(failed["exit_code"], 1);
    assert_eq!(failed["smoke"]["results"][0]["passed"], false);
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("echo")
    );
}

#[test]
fn settings_are_applied_before_publishing_and_secrets_never_printed() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let config = crate::harness::default_config()
        .replace("memory = 256", "memory = 512")
        .replace(SECRET, &format!("{SECRET}-rotated"));
    p.write("greenlight.toml", &config);

    let run = p.run(&["ship", "-vv"]).success();
    assert!(run.stdout.contains("memory 256 → 512"), "{}", run.stdout);
    assert!(
        run.stdout.contains("environment (changed API_TOKEN)"),
        "{}",
        run.stdout
    );

    let v2 = p.version_config("2");
    assert_eq!(v2.memory_size(), Some(512));
    let env = v2
        .environment()
        .and_then(|e| e.variables())
        .expect("environment");
    assert_eq!(
        env.get("API_TOKEN").map(String::as_str),
        Some(format!("{SECRET}-rotated").as_str())
    );
    assert_eq!(p.live_version(), "2");

    let json = p.run(&["status", "--output", "json", "-v"]).success();
    for output in [run.all_output(), json.all_output()] {
        assert!(!output.contains(SECRET), "secret leaked:\n{output}");
    }
}

#[test]
fn a_response_that_echoes_a_secret_is_masked() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("leaky");
    p.emulator
        .queue_invoke_results(&[json!({"probe": "bad", "token": SECRET})]);
    let run = p.run(&["ship", "--output", "json"]).code(1);
    assert!(!run.all_output().contains(SECRET), "{}", run.all_output());
    assert!(run.stdout.contains("****"), "{}", run.stdout);
}

#[test]
fn an_unchanged_deploy_makes_at_most_3_api_calls_and_no_writes() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let before = p.emulator.requests().len();
    assert!(
        before > 5,
        "the log sees the first ship: {:?}",
        p.emulator.requests()
    );
    let run = p.run(&["deploy"]).success();
    assert!(run.stdout.contains("nothing to deploy"), "{}", run.stdout);
    // One read decides it: the configuration of the version the alias serves.
    let calls = p.emulator.assert_only_reads_since(
        before,
        &["GET /2015-03-31/functions/orders/configuration?Qualifier=live"],
    );
    assert!(calls.len() <= 3, "{calls:?}");
}

/// Issue 6's secrets check: a unique environment value, secret key and
/// session token never appear in any stream of any command, in text, JSON,
/// `-vv`, dry runs, failures and a response that echoes the secret; nor do
/// the values read from greenlight's environment, SSM and Secrets Manager.
/// Each command must end as it should (a command that failed early would
/// print nothing to leak), and the secret must really be in the function.
#[test]
fn no_command_prints_a_secret_in_any_stream() {
    let p = crate::env_values::project();
    let (key, token) = ("sk-3c1f-unique-secret-key", "tok-9a7e-unique-session-token");
    let mut seen = Vec::new();
    let mut run = |args: &[&str], expected: i32| {
        let run: crate::harness::Run = p
            .command(args)
            .env("AWS_SECRET_ACCESS_KEY", key)
            .env("AWS_SESSION_TOKEN", token)
            .env("CI_TOKEN", crate::env_values::FROM_CI)
            .output()
            .expect("run")
            .into();
        let output = run.all_output();
        run.code(expected);
        seen.push(output);
    };
    run(&["ship", "-vv"], 0);
    assert_eq!(p.live_version(), "1");
    p.change_code("v2");
    for args in [
        &["plan", "-vv"][..],
        &["plan", "--output", "json", "-vv"],
        &["deploy", "--dry-run", "-vv"],
        &["status", "-vv"],
        &["status", "--output", "json"],
        &["ship", "--output", "json", "-vv"],
        &["test", "-vv"],
        &["rollback", "--dry-run", "-vv"],
        &["prune", "--dry-run", "-vv"],
    ] {
        run(args, 0);
    }
    assert_eq!(p.versions(), ["1", "2"], "only the ship published");
    assert_eq!(p.live_version(), "2");
    p.change_code("v3");
    p.emulator
        .queue_invoke_results(&[json!({"probe": "bad", "echo": SECRET})]);
    run(&["ship", "-vv", "--output", "json"], 1);
    assert_eq!(p.versions(), ["1", "2", "3"]);
    assert_eq!(p.live_version(), "2", "the failed smoke test moved nothing");
    let env = p.version_config("3").environment.expect("environment");
    assert_eq!(
        env.variables()
            .and_then(|v| v.get("API_TOKEN"))
            .map(String::as_str),
        Some(SECRET),
        "the secret is in the function"
    );
    assert!(
        seen.last().is_some_and(|out| out.contains("****")),
        "masked, not dropped"
    );
    for out in &seen {
        for secret in [SECRET, key, token]
            .iter()
            .chain(&crate::env_values::VALUES)
        {
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
    }
}
