//! Lambda's function states, as the emulator models them for the whole
//! suite (`localstack/greenlight_emulator/lambda_states.py`): a new function
//! is `Pending`, an update leaves `$LATEST` `InProgress` and refuses other
//! writes meanwhile, a version published with SnapStart is `Pending` (then
//! `Active`, or `Failed`), and an invoke of what is not `Active` is refused
//! with 409 `ResourceConflictException`. greenlight waits for what Lambda
//! says is ready; a `Pending` answer never counts as a failed test.
//! These tests lengthen the states (launcher options) so each wait is
//! certain to happen.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::{
    FUNCTION, Fault, Project, Upstream, default_config, planned_calls, sdk, spawned,
};

const DEADLINE: Duration = Duration::from_secs(60);

/// The default config with `line` added under `[function]`.
fn config_with(line: &str) -> String {
    default_config().replacen("[function]\n", &format!("[function]\n{line}\n"), 1)
}

/// The HTTP statuses the emulator answered to the calls of `op`, in order
/// (`None`: the proxy answered with a fault).
fn answers(proxy: &crate::harness::FaultProxy, op: &str) -> Vec<Option<u16>> {
    proxy
        .log()
        .iter()
        .filter(|c| c.op == op)
        .map(|c| match c.upstream {
            Upstream::Answered(status) => Some(status),
            _ => None,
        })
        .collect()
}

#[test]
fn ship_with_snap_start_waits_for_the_pending_version_then_passes_its_smoke_test() {
    let p = Project::with_emulator(
        &config_with("snap_start = true"),
        &["--snapstart-pending", "2"],
    );
    let proxy = p.proxy();
    let run = p.run_via(&proxy, &["ship"]).success();
    assert!(
        run.stderr.contains("version 1 is not Active yet"),
        "{}",
        run.stderr
    );
    p.change_code("v2");
    let run = p.run_via(&proxy, &["ship"]).success();
    assert!(
        run.stderr.contains("version 2 is not Active yet"),
        "{}",
        run.stderr
    );

    // Each smoke test was invoked once, on an Active version: none was
    // refused as Pending, and none failed.
    assert_eq!(answers(&proxy, "Invoke"), [Some(200), Some(200), Some(200)]);
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    let v2 = p.version_config("2");
    assert_eq!(v2.state().map(|s| s.as_str()), Some("Active"));
    assert_eq!(snap_start(&p, "2"), "PublishedVersions On");
}

#[test]
fn snap_start_is_planned_applied_when_it_differs_and_then_unchanged() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.write("greenlight.toml", &config_with("snap_start = true"));

    let plan = p.run(&["plan", "--output", "json"]).success().json();
    let steps = plan["dry_run"]["steps"].to_string();
    assert!(
        steps.contains("function orders: snap_start false → true"),
        "{steps}"
    );
    assert!(
        steps.contains("wait until the version is Active: with SnapStart"),
        "{steps}"
    );
    assert_eq!(
        planned_calls(&plan),
        [
            "UpdateFunctionConfiguration",
            "PublishVersion",
            "UpdateAlias"
        ]
    );

    let doc = p.run(&["ship", "--output", "json"]).success().json();
    assert_eq!(
        doc["deploy"]["changes"],
        serde_json::json!(["snap_start false → true"])
    );
    assert_eq!(p.live_version(), "2");
    assert_eq!(snap_start(&p, "2"), "PublishedVersions On");
    let again = p.run(&["ship"]).success();
    assert!(
        again.stdout.contains("nothing to deploy"),
        "{}",
        again.stdout
    );
    assert_eq!(p.versions(), ["1", "2"]);

    // And back: the next version has no SnapStart.
    p.write("greenlight.toml", &config_with("snap_start = false"));
    let doc = p.run(&["ship", "--output", "json"]).success().json();
    assert_eq!(
        doc["deploy"]["changes"],
        serde_json::json!(["snap_start true → false"])
    );
    assert_eq!(p.live_version(), "3");
    assert_eq!(snap_start(&p, "3"), "None Off");
    assert_eq!(
        snap_start(&p, "2"),
        "PublishedVersions On",
        "version 2 keeps its own"
    );
}

/// `ApplyOn` and `OptimizationStatus` of `qualifier`'s SnapStart, as
/// Lambda reports them, e.g. `PublishedVersions On`.
fn snap_start(p: &Project, qualifier: &str) -> String {
    let config = p.version_config(qualifier);
    let snap_start = config.snap_start().expect("SnapStart reported");
    format!(
        "{} {}",
        snap_start.apply_on().map_or("-", |a| a.as_str()),
        snap_start.optimization_status().map_or("-", |o| o.as_str())
    )
}

#[test]
fn a_version_that_ends_failed_exits_1_naming_lambdas_reason_and_moves_nothing() {
    let p = Project::with_emulator(
        &default_config(),
        &[
            "--version-failure",
            "FunctionError:the init phase raised an error while taking the snapshot",
        ],
    );
    p.run(&["ship"]).success();
    p.write("greenlight.toml", &config_with("snap_start = true"));
    p.change_code("v2");
    let proxy = p.proxy();

    let run = p.run_via(&proxy, &["ship"]).code(1);
    assert!(
        run.stderr
            .contains("version 2 of function orders failed: Lambda could not make it Active"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("FunctionError: the init phase raised an error while taking the snapshot"),
        "{}",
        run.stderr
    );
    assert_eq!(proxy.calls("Invoke"), 0, "a Failed version is never tested");
    assert_eq!(proxy.calls("UpdateAlias"), 0);
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
}

#[test]
fn creating_a_function_waits_through_pending_before_publishing() {
    let p = Project::with_emulator(&default_config(), &["--create-pending", "2"]);
    let proxy = p.proxy();
    p.run_via(&proxy, &["ship"]).success();
    // Published once, after the function was Active: a publish while it
    // was Pending would have been refused with a 409.
    assert_eq!(answers(&proxy, "PublishVersion"), [Some(201)]);
    assert_eq!(p.live_version(), "1");
}

#[test]
fn an_update_refused_while_another_is_in_progress_is_waited_out() {
    let p = Project::with_emulator(&default_config(), &["--update-in-progress", "3"]);
    p.run(&["ship"]).success();
    p.change_code("ours");
    let proxy = p.proxy();
    // greenlight's upload waits at the proxy while someone else uploads:
    // when it goes on, that update is still in progress.
    proxy.hold("UpdateFunctionCode", &[1]);
    let child = spawned(p.command_via(&proxy, &["ship"]));
    proxy.wait_until_held("UpdateFunctionCode", 1, DEADLINE);
    sdk::upload(&p, "theirs");
    proxy.release("UpdateFunctionCode", 1);

    let out = child.wait_with_output().expect("ship");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        answers(&proxy, "UpdateFunctionCode"),
        [Some(409), Some(200)]
    );
    assert_eq!(p.live_version(), "2");
    p.run(&["package", "--out", "out.zip"]).success();
    let (_, ours) = crate::harness::python::sha256(&p.join("out.zip"));
    assert_eq!(p.version_config("2").code_sha256(), Some(ours.as_str()));
}

#[test]
fn a_smoke_test_or_gate_refused_as_not_ready_is_waited_out_not_failed() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    let proxy = p.proxy();
    // The smoke test of version 2 and then the gate's test through the
    // alias are each refused once with 409 ResourceConflictException, as
    // Lambda refuses a Pending target; the tests allow no retry.
    proxy.rule("Invoke", 0, Some(1), Fault::Conflict);
    proxy.rule("Invoke", 2, Some(1), Fault::Conflict);
    let run = p.run_via(&proxy, &["ship"]).success();
    assert!(run.stderr.contains("is not ready yet"), "{}", run.stderr);
    assert_eq!(
        answers(&proxy, "Invoke"),
        [None, Some(200), None, Some(200)]
    );
    assert_eq!(proxy.faults(), 2);
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
}

#[test]
fn testing_a_version_still_pending_waits_until_lambda_can_invoke_it() {
    let p = Project::with_emulator(
        &config_with("snap_start = true"),
        &["--snapstart-pending", "5"],
    );
    p.run(&["ship"]).success();
    // Another tool publishes version 2 with SnapStart: Pending for 5 s.
    sdk::upload(&p, "theirs");
    p.wait_until_updated();
    let published = p
        .aws(async |c| c.publish_version().function_name(FUNCTION).send().await)
        .expect("their publish");
    assert_eq!(published.state().map(|s| s.as_str()), Some("Pending"));
    let proxy = p.proxy();

    let run = p.run_via(&proxy, &["test", "--version", "2"]).success();
    // Invoked until it answered: every refusal was Lambda's 409 for a
    // Pending version (how many depends on how soon the test ran), and
    // none counted against the test, which allows no retry.
    let invokes = answers(&proxy, "Invoke");
    let (last, refused) = invokes.split_last().expect("invoked");
    assert_eq!(*last, Some(200), "{invokes:?}");
    assert!(refused.iter().all(|a| *a == Some(409)), "{invokes:?}");
    assert_eq!(
        run.stderr.contains("orders:2 is not ready yet"),
        !refused.is_empty(),
        "{}",
        run.stderr
    );
    assert_eq!(
        p.version_config("2").state().map(|s| s.as_str()),
        Some("Active")
    );
}
