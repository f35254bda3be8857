//! The watcher (README "Scheduled canaries without a runner"): release
//! snapshots in S3 kept in step with the release on the emulator, and the
//! built binary run as Lambda runs it, against a local Runtime API that
//! hands it one event (the emulator's schedules never fire).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::emulator::REGION;
use crate::harness::runtime_api::RuntimeApi;
use crate::harness::{FUNCTION, Fault, Project, SECRET, default_config};

/// The bucket the tests' `[watch]` names.
pub const BUCKET: &str = "ops-watch";

/// The snapshot key of the test function's release.
pub fn snapshot_key() -> String {
    format!("greenlight/{REGION}/{FUNCTION}/live")
}

/// A project with a canary `[release]`, `[watch]` on [`BUCKET`], version 1
/// live and new code; `extra` goes into `[release]`.
pub fn watched_project(extra: &str) -> Project {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10, 50]\nbake = \"1h\"\n{extra}\n[watch]\nbucket = \"{BUCKET}\"\n",
        default_config()
    ));
    p.create_bucket(BUCKET);
    p.run(&["ship"]).success();
    p.change_code("v2");
    p
}

/// A [`watched_project`] whose `ship --no-wait` put 10 % on version 2 and
/// whose first step's bake is over.
fn first_step_baked() -> Project {
    let p = watched_project("");
    p.run(&["ship", "--no-wait"]).success();
    p.end_bake("live");
    p
}

fn share(version: &str, share: f64) -> BTreeMap<String, f64> {
    BTreeMap::from([(version.to_owned(), share)])
}

#[test]
fn ship_no_wait_writes_a_snapshot_without_secrets_and_the_last_promote_deletes_it() {
    let p = watched_project("");
    assert_eq!(
        p.s3_keys(BUCKET),
        Vec::<String>::new(),
        "a finished ship leaves none"
    );
    let started = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(started["outcome"], "in_progress");
    assert_eq!(
        started["snapshot"]["location"],
        format!("s3://{BUCKET}/{}", snapshot_key())
    );
    assert_eq!(started["snapshot"]["action"], "written");
    let snapshot = p.s3_text(BUCKET, &snapshot_key()).expect("the snapshot");
    assert!(!snapshot.contains(SECRET), "{snapshot}");
    assert!(!snapshot.contains("API_TOKEN"), "{snapshot}");
    assert!(!snapshot.contains("LOG_LEVEL"), "{snapshot}");
    assert!(!snapshot.contains("[package]"), "{snapshot}");
    assert!(
        snapshot.contains(&format!("region = \"{REGION}\"")),
        "{snapshot}"
    );
    assert!(snapshot.contains("steps = [10, 50]"), "{snapshot}");

    // A promote that leaves the release in progress keeps it.
    p.end_bake("live");
    p.run(&["promote"]).success();
    assert_eq!(p.weights("live"), ("1".to_owned(), share("2", 0.5)));
    assert!(p.s3_text(BUCKET, &snapshot_key()).is_some());

    p.end_bake("live");
    let last = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(last["outcome"], "released");
    assert_eq!(last["snapshot"]["action"], "deleted");
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert_eq!(p.s3_keys(BUCKET), Vec::<String>::new());
}

#[test]
fn release_no_wait_writes_the_snapshot_and_rollback_deletes_it() {
    let p = watched_project("");
    p.run(&["deploy"]).success();
    assert_eq!(
        p.s3_keys(BUCKET),
        Vec::<String>::new(),
        "deploy moves no traffic"
    );
    p.run(&["release", "--no-wait"]).success();
    assert_eq!(p.weights("live"), ("1".to_owned(), share("2", 0.1)));
    assert_eq!(p.s3_keys(BUCKET), [snapshot_key()]);
    p.run(&["rollback"]).success();
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
    assert_eq!(p.s3_keys(BUCKET), Vec::<String>::new());
}

#[test]
fn a_snapshot_that_cannot_be_written_is_reported_beside_the_release() {
    // No bucket: the release still starts, and the report says the
    // watcher has nothing to go on.
    let q = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10]\nbake = \"1h\"\n[watch]\nbucket = \"missing-bucket\"\n",
        default_config()
    ));
    q.run(&["ship"]).success();
    q.change_code("v2");
    let started = q
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(started["outcome"], "in_progress");
    assert_eq!(started["snapshot"]["action"], "written");
    assert!(
        started["snapshot"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("missing-bucket")),
        "{started}"
    );
    assert_eq!(q.weights("live"), ("1".to_owned(), share("2", 0.1)));
}

/// How long one watcher run may take on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(120);

/// An event as the schedule sends it, scheduled `ago` before now.
fn event(ago: Duration) -> serde_json::Value {
    let at = OffsetDateTime::now_utc() - ago;
    json!({
        "scheduled_time": at.format(&Rfc3339).expect("a time"),
        "execution_id": "a1b2c3",
    })
}

/// Starts the built binary as Lambda starts a custom runtime's
/// `bootstrap` (no arguments, `AWS_LAMBDA_RUNTIME_API` set), in a folder
/// with no config, handing it `event`; the child is left serving.
fn start_watcher(p: &Project, event: serde_json::Value) -> (RuntimeApi, Child) {
    start_watcher_as(p.command(&[]), event)
}

/// [`start_watcher`] with `cmd`, the command that runs greenlight.
fn start_watcher_as(mut cmd: Command, event: serde_json::Value) -> (RuntimeApi, Child) {
    let api = RuntimeApi::start(event);
    cmd.current_dir(std::env::temp_dir())
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("GREENLIGHT_WATCH_BUCKET", BUCKET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("start the watcher");
    (api, child)
}

/// The watcher's answer to its event (`response` or `error`, and the
/// body as JSON), once given; then the process is stopped.
fn answer_of(api: &RuntimeApi, mut child: Child) -> (String, serde_json::Value) {
    let (kind, body) = api.answer(DEADLINE);
    child.kill().expect("stop the watcher");
    let out = child.wait_with_output().expect("wait");
    let doc = serde_json::from_str(&body).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {body}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (kind, doc)
}

/// One watcher run on `event`.
fn tick(p: &Project, event: serde_json::Value) -> (String, serde_json::Value) {
    let (api, child) = start_watcher(p, event);
    answer_of(&api, child)
}

/// The one release of a summary.
fn only_release(summary: &serde_json::Value) -> &serde_json::Value {
    let releases = summary["releases"].as_array().expect("releases");
    assert_eq!(releases.len(), 1, "{summary}");
    &releases[0]
}

#[test]
fn the_watcher_promotes_a_healthy_step_then_finishes_the_release() {
    let p = first_step_baked();
    let (kind, summary) = tick(&p, event(Duration::from_secs(5)));
    assert_eq!(kind, "response", "{summary}");
    let release = only_release(&summary);
    assert_eq!(release["function"], FUNCTION);
    assert_eq!(release["region"], REGION);
    assert_eq!(release["alias"], "live");
    assert_eq!(release["outcome"], "in_progress", "{summary}");
    assert_eq!(p.weights("live"), ("1".to_owned(), share("2", 0.5)));
    assert!(p.s3_text(BUCKET, &snapshot_key()).is_some());
    let heartbeat = p
        .s3_text(BUCKET, "greenlight/heartbeat.json")
        .expect("the heartbeat");
    let heartbeat: serde_json::Value = serde_json::from_str(&heartbeat).expect("JSON");
    assert_eq!(heartbeat["execution_id"], "a1b2c3");
    assert_eq!(heartbeat["releases"][0]["outcome"], "in_progress");

    // An event without a scheduled time is taken as current.
    p.end_bake("live");
    let (_, summary) = tick(&p, json!({}));
    assert_eq!(only_release(&summary)["outcome"], "released", "{summary}");
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert_eq!(p.s3_keys(BUCKET), ["greenlight/heartbeat.json"]);
}

#[test]
fn the_watcher_rolls_back_on_a_red_alarm_and_removes_the_snapshot() {
    let p = watched_project("alarms = [\"orders-errors\"]");
    p.create_alarm("orders-errors");
    p.run(&["ship", "--no-wait"]).success();
    assert!(p.s3_text(BUCKET, &snapshot_key()).is_some());
    p.set_alarm("orders-errors", StateValue::Alarm);
    let (kind, summary) = tick(&p, event(Duration::ZERO));
    // Rolled back is the release's outcome, not the watcher's failure.
    assert_eq!(kind, "response", "{summary}");
    let release = only_release(&summary);
    assert_eq!(release["outcome"], "rolled_back", "{summary}");
    assert_eq!(release["exit_code"], 3);
    assert!(
        release["error"]
            .as_str()
            .is_some_and(|e| e.contains("alarm orders-errors is in ALARM")),
        "{summary}"
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
    assert_eq!(p.s3_text(BUCKET, &snapshot_key()), None);
}

#[test]
fn the_watcher_removes_the_snapshot_of_a_finished_release() {
    let p = watched_project("");
    p.run(&["ship", "--no-wait"]).success();
    let snapshot = p.s3_text(BUCKET, &snapshot_key()).expect("the snapshot");
    p.end_bake("live");
    p.run(&["promote"]).success();
    p.end_bake("live");
    p.run(&["promote"]).success();
    // As if the last promote's delete had failed.
    p.put_s3_text(BUCKET, &snapshot_key(), &snapshot);
    let (kind, summary) = tick(&p, event(Duration::ZERO));
    assert_eq!(kind, "response");
    assert_eq!(
        only_release(&summary)["outcome"],
        "nothing_in_progress",
        "{summary}"
    );
    assert_eq!(p.s3_text(BUCKET, &snapshot_key()), None);
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
}

#[test]
fn the_watcher_drops_a_stale_event() {
    let p = first_step_baked();
    let (kind, summary) = tick(&p, event(Duration::from_secs(300)));
    assert_eq!(kind, "response");
    assert_eq!(summary["dropped"], "stale", "{summary}");
    assert_eq!(p.weights("live"), ("1".to_owned(), share("2", 0.1)));
    assert!(p.s3_text(BUCKET, &snapshot_key()).is_some());
}

#[test]
fn two_events_at_once_move_at_most_one_step() {
    let p = first_step_baked();
    let first = start_watcher(&p, event(Duration::ZERO));
    let second = start_watcher(&p, event(Duration::ZERO));
    let answers = [answer_of(&first.0, first.1), answer_of(&second.0, second.1)];
    assert_eq!(p.weights("live"), ("1".to_owned(), share("2", 0.5)));
    // One run made the move; the other found the bake of the new step
    // begun, or its conditional write refused (a conflict, nothing written).
    let moves: Vec<_> = answers
        .iter()
        .flat_map(|(_, s)| {
            only_release(s)["moves"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(moves, [json!(50)], "{answers:?}");
    for (kind, summary) in &answers {
        assert_eq!(kind, "response");
        let outcome = &only_release(summary)["outcome"];
        assert!(
            outcome == "in_progress" || outcome == "conflict",
            "{summary}"
        );
    }
    // The next move waits for the new step's whole bake.
    let status = p.run(&["status"]).success().stdout;
    assert!(status.contains("step 2 of 2, 50 %"), "{status}");
}

#[test]
fn a_failed_rollback_is_the_invocation_error_that_pages_a_person() {
    let p = watched_project("alarms = [\"orders-errors\"]");
    p.create_alarm("orders-errors");
    p.run(&["ship", "--no-wait"]).success();
    p.set_alarm("orders-errors", StateValue::Alarm);
    let proxy = p.proxy();
    proxy.rule("UpdateAlias", 0, None, Fault::ServerError);
    let mut cmd = p.command_via(&proxy, &[]);
    cmd.env("AWS_MAX_ATTEMPTS", "1");
    let (api, child) = start_watcher_as(cmd, event(Duration::ZERO));
    let (kind, error) = answer_of(&api, child);
    assert_eq!(kind, "error", "{error}");
    assert_eq!(error["errorType"], "ReleaseNeedsOperator");
    let message = error["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("{FUNCTION} in {REGION} (alias live)")),
        "{message}"
    );
    // Traffic stays where the failed rollback left it, and so does the
    // snapshot: the next run tries again, and reports again.
    assert_eq!(p.weights("live"), ("1".to_owned(), share("2", 0.1)));
    assert!(p.s3_text(BUCKET, &snapshot_key()).is_some());
    let heartbeat = p
        .s3_text(BUCKET, "greenlight/heartbeat.json")
        .expect("the heartbeat");
    assert!(heartbeat.contains("\"exit_code\":4"), "{heartbeat}");
}

/// `watch install` with the code at `bin/greenlight`.
pub const INSTALL: [&str; 6] = [
    "watch",
    "install",
    "--bucket",
    BUCKET,
    "--binary",
    "bin/greenlight",
];

/// A stand-in for greenlight built for Linux: an x86_64 ELF header and
/// `marker` (moto never runs the watcher's code).
pub fn linux_binary(marker: &str) -> Vec<u8> {
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.extend_from_slice(marker.as_bytes());
    elf
}

#[test]
fn watch_install_creates_the_watcher_a_second_install_upgrades_it_and_remove_deletes_it() {
    let p = watched_project("");
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    let first = p
        .run(&[&INSTALL[..], &["--output", "json"]].concat())
        .success()
        .json();
    assert_eq!(first["outcome"], "installed", "{first}");
    assert_eq!(
        first["watch"]["done"],
        json!([
            "created role greenlight-watcher-role",
            "created function greenlight-watcher",
            "created role greenlight-watcher-scheduler",
            "created schedule greenlight-watcher",
            "put alarm greenlight-watcher-errors",
        ]),
        "{first}"
    );
    let sdk = p.sdk_config(REGION);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let name = "greenlight-watcher";
    let read_function = || {
        p.block_on(
            lambda
                .get_function_configuration()
                .function_name(name)
                .send(),
        )
        .ok()
    };
    let function = read_function().expect("the watcher function");
    assert_eq!(
        function.runtime().map(|r| r.as_str()),
        Some("provided.al2023")
    );
    assert_eq!(function.handler(), Some("bootstrap"));
    let vars = function
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        vars.get("GREENLIGHT_WATCH_BUCKET").map(String::as_str),
        Some(BUCKET)
    );
    assert_eq!(
        vars.get("GREENLIGHT_WATCH_PREFIX").map(String::as_str),
        Some("greenlight/")
    );
    let first_code = function.code_sha256().map(str::to_owned);
    let concurrency = p
        .block_on(lambda.get_function_concurrency().function_name(name).send())
        .expect("concurrency");
    assert_eq!(concurrency.reserved_concurrent_executions(), Some(1));
    let invoke = p
        .block_on(
            lambda
                .get_function_event_invoke_config()
                .function_name(name)
                .send(),
        )
        .expect("event invoke config");
    assert_eq!(invoke.maximum_retry_attempts(), Some(0));
    assert_eq!(invoke.maximum_event_age_in_seconds(), Some(60));
    let schedule = p
        .block_on(scheduler.get_schedule().name(name).send())
        .expect("the schedule");
    assert_eq!(schedule.schedule_expression(), Some("rate(1 minute)"));
    assert_eq!(
        schedule.flexible_time_window().map(|w| w.mode().as_str()),
        Some("OFF")
    );
    let target = schedule.target().expect("a target");
    assert_eq!(Some(target.arn()), function.function_arn());
    assert!(
        target
            .role_arn()
            .ends_with("role/greenlight-watcher-scheduler"),
        "{target:?}"
    );
    assert!(
        target
            .input()
            .is_some_and(|i| i.contains("<aws.scheduler.scheduled-time>")),
        "{target:?}"
    );
    assert_eq!(
        target
            .retry_policy()
            .and_then(|r| r.maximum_retry_attempts()),
        Some(0)
    );
    assert_eq!(
        function.role(),
        Some(
            p.block_on(iam.get_role().role_name("greenlight-watcher-role").send())
                .expect("the execution role")
                .role()
                .expect("role")
                .arn()
        )
    );

    // The role may publish to the `[[notify]]` SNS topics snapshots name.
    let policy = p
        .block_on(
            iam.get_role_policy()
                .role_name("greenlight-watcher-role")
                .policy_name("greenlight-watcher")
                .send(),
        )
        .expect("the execution role's policy");
    // IAM returns the document URL-encoded (the emulator may not).
    let document = policy.policy_document();
    assert!(
        document.contains("sns:Publish") || document.contains("sns%3APublish"),
        "{document}"
    );

    // A second install upgrades in place.
    p.write_bytes("bin/greenlight", &linux_binary("two"));
    let second = p
        .run(&[&INSTALL[..], &["--output", "json"]].concat())
        .success()
        .json();
    assert_eq!(
        second["watch"]["done"],
        json!([
            "updated role greenlight-watcher-role",
            "updated function greenlight-watcher",
            "updated role greenlight-watcher-scheduler",
            "updated schedule greenlight-watcher",
            "put alarm greenlight-watcher-errors",
        ]),
        "{second}"
    );
    let upgraded = read_function().expect("the watcher function");
    assert_ne!(upgraded.code_sha256().map(str::to_owned), first_code);
    let listed = p
        .block_on(scheduler.list_schedules().send())
        .expect("list schedules");
    assert_eq!(listed.schedules().len(), 1);

    // Status: the schedule, the releases watched, the last run.
    p.run(&["ship", "--no-wait"]).success();
    tick(&p, json!({}));
    let status = p
        .run(&["watch", "status", "--output", "json"])
        .success()
        .json();
    assert_eq!(status["outcome"], "watching", "{status}");
    assert_eq!(status["watch"]["schedule"], "ENABLED", "{status}");
    assert_eq!(
        status["watch"]["releases"],
        json!([format!("{REGION}/{FUNCTION}/live")])
    );
    assert_eq!(
        status["watch"]["last_run"]["releases"][0]["outcome"], "in_progress",
        "{status}"
    );

    let removed = p
        .run(&["watch", "remove", "--output", "json"])
        .success()
        .json();
    assert_eq!(removed["outcome"], "removed", "{removed}");
    assert!(read_function().is_none());
    assert!(
        p.block_on(scheduler.get_schedule().name(name).send())
            .is_err()
    );
    assert!(
        p.block_on(iam.get_role().role_name("greenlight-watcher-role").send())
            .is_err()
    );
    // The release's snapshot stays for whoever continues it.
    assert!(p.s3_text(BUCKET, &snapshot_key()).is_some());
    let again = p
        .run(&["watch", "status", "--output", "json"])
        .success()
        .json();
    assert_eq!(again["outcome"], "not_installed");
}

#[test]
fn watch_install_refuses_code_lambda_cannot_run_before_any_call() {
    let p = Project::new();
    p.write("bin/greenlight", "#!/bin/sh\necho hi\n");
    let before = p.emulator.requests().len();
    let refused = p.run(&INSTALL).code(2);
    assert!(
        refused
            .stderr
            .contains("not a Linux x86_64 or arm64 executable"),
        "{}",
        refused.stderr
    );
    assert_eq!(p.emulator.requests().len(), before);
}

#[test]
fn with_dns_the_snapshot_keeps_its_key_when_the_live_colour_changes() {
    let p = Project::new();
    let zone = crate::dns::shipped(&p, "steps = [10]\nbake = \"1h\"");
    p.write(
        "greenlight.toml",
        &format!(
            "{}\n[watch]\nbucket = \"{BUCKET}\"\n",
            crate::dns::dns_config(&zone, "steps = [10]\nbake = \"1h\"")
        ),
    );
    p.create_bucket(BUCKET);
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    crate::dns::assert_weights(&p, &zone, 90, 10);
    assert_eq!(p.s3_keys(BUCKET), [snapshot_key()]);
    p.end_bake("green");
    let (_, summary) = tick(&p, json!({}));
    assert_eq!(only_release(&summary)["outcome"], "released", "{summary}");
    crate::dns::assert_weights(&p, &zone, 0, 100);
    assert_eq!(p.s3_keys(BUCKET), ["greenlight/heartbeat.json"]);
}

#[test]
fn watch_install_waits_until_lambda_can_assume_the_role_it_just_made() {
    // As on AWS, where a new role takes seconds to propagate.
    let p = Project::with_emulator(&default_config(), &["--role-propagation", "3"]);
    p.create_bucket(BUCKET);
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    let installed = p
        .run(&[&INSTALL[..], &["--output", "json"]].concat())
        .success()
        .json();
    assert_eq!(installed["outcome"], "installed", "{installed}");
    let creates = p
        .emulator
        .calls()
        .iter()
        .filter(|c| c.contains("CreateFunction"))
        .count();
    assert!(creates >= 2, "{:?}", p.emulator.calls());
    assert!(watcher_function_exists(&p));
}

/// Whether the function `greenlight-watcher` exists.
pub fn watcher_function_exists(p: &Project) -> bool {
    let lambda = aws_sdk_lambda::Client::new(&p.sdk_config(REGION));
    p.block_on(
        lambda
            .get_function_configuration()
            .function_name("greenlight-watcher")
            .send(),
    )
    .is_ok()
}

#[test]
fn watch_status_shows_the_last_run_as_lines_and_its_outside_text_made_safe() {
    let p = first_step_baked();
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    p.run(&INSTALL).success();
    tick(&p, event(Duration::ZERO));
    assert_eq!(p.weights("live"), ("1".to_owned(), share("2", 0.5)));
    let shown = p.run(&["watch", "status"]).success().stdout;
    assert!(shown.contains("last run  20"), "{shown}");
    assert!(shown.contains("(execution a1b2c3): 1 release\n"), "{shown}");
    assert!(
        shown.contains(&format!(
            "          {FUNCTION} in {REGION} (alias live): in_progress, moved 50 %\n"
        )),
        "{shown}"
    );
    assert!(!shown.contains("{\""), "raw JSON: {shown}");

    // The heartbeat is text from S3: on GitHub it starts no workflow
    // command, in text or in JSON, and JSON keeps its structure.
    let forged = json!({
        "at": "2026-12-05T04:00:00Z",
        "releases": [{
            "function": "orders\n::error::forged",
            "region": REGION,
            "alias": "live",
            "outcome": "failed",
            "exit_code": 1,
            "error": "bad ##[error]y",
        }],
    });
    p.put_s3_text(BUCKET, "greenlight/heartbeat.json", &forged.to_string());
    let on_github = [("GITHUB_ACTIONS", "true".to_owned())];
    let shown = crate::provenance::run_with(&p, &on_github, &["watch", "status"])
        .success()
        .stdout;
    assert!(
        shown.contains("          orders\n\\::error::forged in"),
        "{shown}"
    );
    assert!(!shown.contains("\n::error::forged"), "{shown}");
    assert!(
        shown.contains("(exit 1)\n          error: bad #\\#[error]y\n"),
        "{shown}"
    );
    let doc = crate::provenance::run_with(&p, &on_github, &["watch", "status", "--output", "json"])
        .success()
        .json();
    let release = &doc["watch"]["last_run"]["releases"][0];
    assert_eq!(release["function"], "orders\n::error::forged", "{doc}");
    assert_eq!(release["error"], "bad #\\#[error]y", "{doc}");
    assert_eq!(release["exit_code"], 1, "{doc}");
}
