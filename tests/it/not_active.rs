//! No traffic moves onto a version Lambda cannot invoke (issue 22 §3):
//! `release`, `promote`'s next step and a DNS release check the version's
//! `State` first. `Failed` is exit 1 before any move, naming Lambda's
//! reason; `Pending` is waited for up to `function.ready_timeout` (then exit
//! 1, nothing moved); `Inactive` is woken by one invocation and waited for.
//! Each test reads the alias (or the weights) and the version's state back
//! from the emulator, at the moment of the move where it matters.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_lambda::types::{SnapStart, SnapStartApplyOn};

use crate::dns::{assert_weights, shipped as dns_shipped};
use crate::harness::{FUNCTION, Project, default_config, sdk};

const DEADLINE: Duration = Duration::from_secs(90);

/// How a refusal of the `Failed` version 2 names it: the version, and
/// Lambda's `StateReasonCode` and `StateReason` (`--version-failure`).
const FAILED: [&str; 2] = [
    "version 2 of function orders failed: Lambda could not make it Active",
    "FunctionError: the init phase raised an error",
];

/// The default config with `line` added under `[function]`.
fn config_with(line: &str) -> String {
    default_config().replacen("[function]\n", &format!("[function]\n{line}\n"), 1)
}

/// The `State` the emulator reports for `version`.
fn state(p: &Project, version: &str) -> String {
    p.version_config(version)
        .state()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

/// As another tool would: turns SnapStart on, uploads other code and
/// publishes it (version 2). With SnapStart the version is `Pending` while
/// the emulator "takes the snapshot" (`--snapstart-pending`), or ends
/// `Failed` (`--version-failure`).
fn publish_with_snap_start(p: &Project) {
    p.aws(async |c| {
        c.update_function_configuration()
            .function_name(FUNCTION)
            .snap_start(
                SnapStart::builder()
                    .apply_on(SnapStartApplyOn::PublishedVersions)
                    .build(),
            )
            .send()
            .await
    })
    .expect("turn SnapStart on");
    p.wait_until_updated();
    sdk::upload(p, "theirs");
    p.wait_until_updated();
    p.aws(async |c| c.publish_version().function_name(FUNCTION).send().await)
        .expect("their publish");
}

#[test]
fn a_pending_version_is_waited_for_before_the_first_move_and_refused_after_ready_timeout() {
    let p = Project::with_emulator(
        &config_with("ready_timeout = \"1s\""),
        &["--snapstart-pending", "20"],
    );
    p.run(&["ship"]).success();
    publish_with_snap_start(&p);
    assert_eq!(state(&p, "2"), "Pending");

    // Still Pending when ready_timeout runs out: exit 1, nothing moved.
    let proxy = p.proxy();
    let run = p.run_via(&proxy, &["release", "--version", "2"]).code(1);
    assert!(
        run.stderr
            .contains("version 2 of function orders was still Pending after 1s"),
        "{}",
        run.stderr
    );
    assert_eq!(proxy.calls("UpdateAlias"), 0);
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));

    // With time enough, the release waits: the alias moves only once
    // version 2 is Active (seen at the move, held at the proxy).
    p.write("greenlight.toml", &config_with("ready_timeout = \"90s\""));
    let proxy = p.proxy();
    proxy.hold("UpdateAlias", &[1]);
    let child = crate::harness::spawned(p.command_via(&proxy, &["release", "--version", "2"]));
    proxy.look_before_each("UpdateAlias", &[1], DEADLINE, |_| {
        assert_eq!(
            state(&p, "2"),
            "Active",
            "the alias moves onto an Active version"
        );
    });
    let out = child.wait_with_output().expect("release");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("version 2 is Pending"), "{stderr}");
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
}

#[test]
fn a_failed_version_is_refused_before_any_move_naming_lambdas_reason() {
    let p = Project::with_emulator(
        &default_config(),
        &[
            "--version-failure",
            "FunctionError:the init phase raised an error",
        ],
    );
    p.run(&["ship"]).success();
    publish_with_snap_start(&p);
    p.wait_for("version 2 to end Failed", DEADLINE, || {
        state(&p, "2") == "Failed"
    });
    let proxy = p.proxy();

    for args in [
        &["release", "--version", "2", "--dry-run"][..],
        &["release", "--version", "2"][..],
    ] {
        let run = p.run_via(&proxy, args).code(1);
        assert!(
            FAILED.iter().all(|named| run.stderr.contains(named)),
            "{}",
            run.stderr
        );
    }
    assert_eq!(proxy.calls("UpdateAlias"), 0, "nothing moved");
    assert_eq!(proxy.calls("Invoke"), 0, "a Failed version is never tested");
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
}

#[test]
fn promote_wakes_an_inactive_version_before_its_next_step() {
    let p = Project::with_emulator(
        &format!(
            "{}\n[release]\nsteps = [10, 50]\nbake = \"1h\"\n",
            default_config()
        ),
        &["--idle-after", "5"],
    );
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    let ten = ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]));
    assert_eq!(p.weights("live"), ten);
    // Nobody invokes version 2 (the alias's invocations run version 1):
    // Lambda reclaims it.
    p.wait_for("version 2 to become Inactive", DEADLINE, || {
        state(&p, "2") == "Inactive"
    });
    p.end_bake("live");

    let proxy = p.proxy();
    proxy.hold("UpdateAlias", &[1]);
    let child = crate::harness::spawned(p.command_via(&proxy, &["promote"]));
    proxy.look_before_each("UpdateAlias", &[1], DEADLINE, |_| {
        assert_eq!(state(&p, "2"), "Active", "woken before the step");
    });
    let out = child.wait_with_output().expect("promote");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("version 2 is Inactive"), "{stderr}");
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.5)]))
    );
}

#[test]
fn a_dns_release_of_a_failed_version_moves_no_weight_and_points_no_alias() {
    let p = Project::with_emulator(
        &default_config(),
        &[
            "--version-failure",
            "FunctionError:the init phase raised an error",
        ],
    );
    let zone = dns_shipped(&p, "");
    publish_with_snap_start(&p);
    p.wait_for("version 2 to end Failed", DEADLINE, || {
        state(&p, "2") == "Failed"
    });
    let proxy = p.proxy();

    let run = p.run_via(&proxy, &["release", "--version", "2"]).code(1);
    assert!(
        FAILED.iter().all(|named| run.stderr.contains(named)),
        "{}",
        run.stderr
    );
    assert_eq!(proxy.calls("ChangeResourceRecordSets"), 0);
    assert_eq!(proxy.calls("UpdateAlias") + proxy.calls("CreateAlias"), 0);
    assert_weights(&p, &zone, 100, 0);
    assert_eq!(p.alias("blue").expect("blue").0, "1");
    assert_eq!(p.alias("green"), None, "green was never pointed at it");
}
