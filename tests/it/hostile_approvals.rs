//! Hostile tests of release control (round 5): `greenlight approve` in
//! fleets released together, approvers whose names try to break or forge
//! the release record, races with `promote` and `rollback`, and what
//! `status` and `history` say while a release waits. Each test reads the
//! alias (weights and record) back from the emulator.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_lambda::types::AliasRoutingConfiguration;

use crate::canary::canary_project;
use crate::ci_summary::on_github;
use crate::fleet::{SERVICE, assert_service_on, each_function, together, together_in_two_steps};
use crate::harness::{FUNCTION, Project, Run, SECRET, spawned};

/// `function`'s alias `live`: version 1 with version 2 at `share`.
fn at(share: f64) -> (String, BTreeMap<String, f64>) {
    ("1".to_owned(), BTreeMap::from([("2".to_owned(), share)]))
}

/// `p`'s together service with `approval = [100]` added to its config.
fn with_approval(p: Project) -> Project {
    let config = std::fs::read_to_string(p.join("greenlight.toml")).expect("the config");
    p.write(
        "greenlight.toml",
        &config.replace("together = true", "together = true\napproval = [100]"),
    );
    p
}

/// The together service (api, worker, jobs; `steps = [50]`) with
/// `approval = [100]`, version 1 live, and new code for api and worker
/// only: jobs has nothing to release.
fn together_without_jobs() -> Project {
    let p = together("1");
    p.write(
        "jobs/index.py",
        "def handler(event, context):\n    return event\n",
    );
    with_approval(p)
}

#[test]
fn together_approve_moves_the_waiting_functions_when_one_has_nothing_in_progress() {
    let p = together_without_jobs();
    p.run(&["ship", "--no-wait"]).success();
    for function in ["api", "worker"] {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
        p.end_bake_of(function, "live");
    }
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(
        each_function(&held, "outcome")[..2],
        [("api", "held"), ("worker", "held")],
        "{held}"
    );
    let approved = p.run(&["approve", "--output", "json"]).code(1).json();
    assert_eq!(
        each_function(&approved, "outcome"),
        [
            ("api", "released"),
            ("worker", "released"),
            ("jobs", "nothing_in_progress")
        ],
        "{approved}"
    );
    for function in SERVICE {
        assert_eq!(
            p.weights_of(function, "live"),
            (
                if function == "jobs" { "1" } else { "2" }.to_owned(),
                BTreeMap::new()
            ),
            "{function}"
        );
    }
}

#[test]
fn together_approve_rolls_nothing_back_when_a_function_left_behind_needs_no_approval() {
    let p = with_approval(together_in_two_steps());
    p.run(&["ship", "--no-wait"]).success();
    for function in SERVICE {
        p.end_bake_of(function, "live");
    }
    // As if a crash came after api's and worker's moves to 50 % and
    // before jobs': jobs' next move (to 50 %) needs no approval.
    p.run(&["promote", "--only", "api", "--only", "worker"])
        .success();
    for function in ["api", "worker"] {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
        p.end_bake_of(function, "live");
    }
    let approved = p.run(&["approve", "--output", "json"]).code(1).json();
    let outcomes = each_function(&approved, "outcome");
    assert_eq!(
        outcomes,
        [
            ("api", "in_progress"),
            ("worker", "in_progress"),
            ("jobs", "failed")
        ],
        "{approved}"
    );
    for function in ["api", "worker"] {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
        let (_, record) = p.alias_of(function, "live").expect("alias");
        assert!(record.contains(" approved=1 "), "{function}: {record}");
    }
    assert_eq!(p.weights_of("jobs", "live"), at(0.1));
    // The next promote brings jobs level; api and worker wait for it.
    p.run(&["promote"]).success();
    for function in SERVICE {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
    }
}

/// A canary of version 2 at 10 % (`steps = [10]`, bake 1h) whose finish
/// waits for approval.
fn waiting_canary() -> Project {
    let p = canary_project("steps = [10]\nbake = \"1h\"\napproval = [100]");
    p.run(&["ship", "--no-wait"]).success();
    p
}

/// Runs greenlight with `args` as the approver `name` (through `USER`).
fn as_user(p: &Project, name: &str, args: &[&str]) -> Run {
    let mut command = p.command(args);
    command.env_remove("GITHUB_ACTOR").env("USER", name);
    ended(spawned(command))
}

#[test]
fn an_approver_named_after_a_secret_value_is_masked_in_the_record_and_the_output() {
    let p = waiting_canary();
    let name = format!("ci-{SECRET}");
    let approved = as_user(&p, &name, &["approve"]);
    assert_eq!(approved.code, 0, "{}", approved.all_output());
    let (_, record) = p.alias("live").expect("alias");
    assert!(!record.contains(SECRET), "{record}");
    assert!(record.contains(" by=ci-----,arn:aws:"), "{record}");
    assert!(
        !approved.all_output().contains(SECRET),
        "{}",
        approved.all_output()
    );
    let status = p.run(&["status", "--output", "json"]).success();
    assert!(!status.stdout.contains(SECRET), "{}", status.stdout);
    assert_eq!(
        status.json()["status"]["live"]["record"]["approved"]["by"]
            .as_str()
            .map(|by| by.starts_with("ci-----,arn:aws:")),
        Some(true),
        "{}",
        status.stdout
    );
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn an_approver_name_can_neither_forge_a_later_approval_nor_break_the_record() {
    let p = canary_project("steps = [10, 50]\nbake = \"1h\"\napproval = [50, 100]");
    p.run(&["ship", "--no-wait"]).success();
    // During the bake, so the approval stays in the record. Tries to approve the finish too, to move the step's start into the
    // future, and to start a workflow command on a line of its own.
    let name = format!(
        "x approved=1 approved_at=2026-01-01T00:00:00Z at=9999-01-01T00:00:00Z\n::error::forged {}",
        "n".repeat(300)
    );
    let approved = as_user(&p, &name, &["approve", "--output", "json"]);
    assert_eq!(approved.code, 0, "{}", approved.all_output());
    let (_, record) = p.alias("live").expect("alias");
    assert!(record.len() <= 256, "{record}");
    assert_eq!(record.matches("approved=").count(), 1, "{record}");
    assert!(record.contains(" approved=0 "), "{record}");
    assert!(
        record.contains(" by=x-approved-1-approved_at-2026-01-01T00:00:00Z-at-9999"),
        "{record}"
    );
    for line in approved.all_output().lines() {
        assert!(!line.trim_start().starts_with("::"), "{line}");
    }
    assert_eq!(p.weights("live"), at(0.1));
    p.end_bake("live");
    p.run(&["promote"]).success();
    assert_eq!(p.weights("live"), at(0.5));
    // The finish still waits for its own approval.
    p.end_bake("live");
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["outcome"], "held", "{held}");
    assert_eq!(held["release"]["in_progress"]["waiting_for_approval"], 100);
    assert_eq!(p.weights("live"), at(0.5));
}

/// The exit code and both streams of a finished child.
fn ended(child: std::process::Child) -> Run {
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// How long a test waits for a call to reach the proxy.
const HOLD: Duration = Duration::from_secs(90);

/// On a canary whose bake is over and which waits for approval, starts
/// `approve` through a proxy that holds its `n`-th `UpdateAlias` (1: the
/// approval, 2: the move), runs `meanwhile` while it is held, then lets it
/// go; returns how approve ended.
fn approve_held_at(n: usize, meanwhile: impl FnOnce(&Project)) -> (Project, Run) {
    let p = waiting_canary();
    p.end_bake("live");
    let proxy = p.proxy();
    proxy.hold("UpdateAlias", &[n]);
    let approve = spawned(p.command_via(&proxy, &["approve"]));
    proxy.wait_until_held("UpdateAlias", n, HOLD);
    meanwhile(&p);
    proxy.release("UpdateAlias", n);
    (p, ended(approve))
}

#[test]
fn a_rollback_landing_while_approve_writes_stands_and_approve_stops() {
    for n in [1, 2] {
        let (p, approve) = approve_held_at(n, |p| {
            p.run(&["rollback"]).success();
        });
        assert_eq!(approve.code, 1, "{}", approve.all_output());
        assert!(
            approve
                .stderr
                .contains("was changed by someone else meanwhile"),
            "{}",
            approve.stderr
        );
        p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
    }
}

#[test]
fn a_promote_moving_between_approves_approval_and_its_move_finishes_the_release_once() {
    let (p, approve) = approve_held_at(2, |p| {
        let promoted = p.run(&["promote", "--output", "json"]).success().json();
        assert_eq!(promoted["outcome"], "released", "{promoted}");
    });
    assert_eq!(approve.code, 1, "{}", approve.all_output());
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn approve_killed_between_its_approval_and_its_move_leaves_the_approval_for_promote() {
    let p = waiting_canary();
    p.end_bake("live");
    let proxy = p.proxy();
    proxy.hold("UpdateAlias", &[2]);
    let mut approve = spawned(p.command_via(&proxy, &["approve"]));
    proxy.wait_until_held("UpdateAlias", 2, HOLD);
    approve.kill().expect("SIGKILL");
    let _ = approve.wait();
    // The held move stays held: the process that sent it is gone.
    let (version, record) = p.alias("live").expect("alias");
    assert_eq!((version.as_str(), p.weights("live")), ("1", at(0.1)));
    assert!(record.contains(" approved=0 approved_at="), "{record}");
    let promoted = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(promoted["outcome"], "released", "{promoted}");
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn approve_and_promote_refuse_a_split_changed_by_hand_while_waiting_writing_nothing() {
    let p = waiting_canary();
    p.end_bake("live");
    let routing = AliasRoutingConfiguration::builder()
        .set_additional_version_weights(Some([("2".to_owned(), 0.3)].into()))
        .build();
    p.aws(async |c| {
        c.update_alias()
            .function_name(FUNCTION)
            .name("live")
            .routing_config(routing)
            .send()
            .await
    })
    .expect("change the weights by hand");
    let before = p.alias("live").expect("alias");
    for command in ["approve", "promote"] {
        let refused = p.run(&[command]).code(1);
        assert!(
            refused.stderr.contains("was changed outside greenlight"),
            "{command}: {}",
            refused.stderr
        );
        assert_eq!(p.alias("live").expect("alias"), before, "{command}");
        assert_eq!(p.weights("live"), at(0.3), "{command}");
    }
}

#[test]
fn after_a_rollback_approve_finds_nothing_waiting_and_a_new_ship_cannot_take_the_approval() {
    let p = waiting_canary();
    p.end_bake("live");
    // A new ship is refused while version 2 waits: the approval can only
    // be version 2's.
    p.change_code("v3");
    let refused = p.run(&["ship", "--no-wait"]).code(1);
    assert!(
        refused
            .stderr
            .contains("the release of version 2 is in progress"),
        "{}",
        refused.stderr
    );
    p.run(&["rollback"]).success();
    let settled = p.alias("live").expect("alias");
    let late = p.run(&["approve", "--output", "json"]).code(1).json();
    assert_eq!(late["outcome"], "nothing_in_progress", "{late}");
    assert_eq!(p.alias("live").expect("alias"), settled);
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn a_late_approve_of_a_rolled_back_version_does_not_approve_the_next_one() {
    let p = waiting_canary();
    p.run(&["rollback"]).success();
    p.change_code("v3");
    p.run(&["ship", "--no-wait"]).success();
    let waiting = p.alias("live").expect("alias");
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("3".to_owned(), 0.1)]))
    );
    // The click meant for version 2 arrives after version 3 started.
    let late = as_user(&p, "alice", &["approve", "--version", "2"]);
    assert_eq!(late.code, 1, "{}", late.all_output());
    assert!(
        late.stderr.contains(
            "the release in progress is of version 3, not version 2: nothing was approved"
        ),
        "{}",
        late.stderr
    );
    assert_eq!(p.alias("live").expect("alias"), waiting, "nothing written");
    // Meant for version 3, it is recorded.
    let meant = as_user(&p, "alice", &["approve", "--version", "3"]);
    assert_eq!(meant.code, 0, "{}", meant.all_output());
    let (_, record) = p.alias("live").expect("alias");
    assert!(
        record.contains(" approved=0 approved_at=") && record.contains(" by=alice,"),
        "{record}"
    );
    p.end_bake("live");
    p.run(&["promote"]).success();
    p.assert_settled("3", "greenlight: action=release version=3 previous=1");
}

#[test]
fn the_run_page_of_status_and_promote_says_the_release_waits_for_approval() {
    let p = waiting_canary();
    p.end_bake("live");
    let page = p.join("summary.md");
    for command in ["promote", "status"] {
        on_github(&p, &page, &[command]).success();
        let text = std::fs::read_to_string(&page).expect("the run page");
        assert!(
            text.contains(
                "| approval | waiting since 2000-01-01T01:00:00Z to move to 100 %: `greenlight approve` moves on (the gates are still checked meanwhile) |"
            ),
            "{command}: {text}"
        );
        assert!(
            text.contains("| progress | step 1 of 1 at 10 %"),
            "{command}: {text}"
        );
        std::fs::remove_file(&page).expect("remove the page");
    }
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn together_a_function_approved_early_waits_for_the_others_approval_and_says_so() {
    let p = with_approval(together("1"));
    p.run(&["ship", "--no-wait"]).success();
    // api is approved during its bake; the others are not.
    p.run(&["approve", "--only", "api"]).success();
    for function in SERVICE {
        p.end_bake_of(function, "live");
    }
    let promoted = p.run(&["promote"]).success();
    assert!(
        promoted
            .all_output()
            .contains("not moving: function worker stopped: waiting for approval to move to 100 %"),
        "{}",
        promoted.all_output()
    );
    for function in SERVICE {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
    }
    let approved = p.run(&["approve", "--output", "json"]).success().json();
    assert_eq!(approved["outcome"], "released", "{approved}");
    assert_service_on(&p, "2");
}

#[test]
fn together_an_approval_losing_a_race_keeps_the_others_where_they_are_approved() {
    let p = with_approval(together("1"));
    p.run(&["ship", "--no-wait"]).success();
    for function in SERVICE {
        p.end_bake_of(function, "live");
    }
    let proxy = p.proxy();
    proxy.hold("UpdateAlias", &[1]);
    let approve = spawned(p.command_via(&proxy, &["approve", "--output", "json"]));
    proxy.wait_until_held("UpdateAlias", 1, HOLD);
    let loser = proxy
        .log()
        .into_iter()
        .find(|c| c.op == "UpdateAlias" && c.n == 1)
        .and_then(|c| c.function)
        .expect("the held approval's function");
    // Another write to that alias lands first (its record, as it was).
    p.end_bake_of(&loser, "live");
    proxy.release("UpdateAlias", 1);
    let approved = ended(approve);
    assert_eq!(approved.code, 1, "{}", approved.all_output());
    let report = approved.json();
    for (function, outcome) in each_function(&report, "outcome") {
        let expected = if function == loser {
            "conflict"
        } else {
            "in_progress"
        };
        assert_eq!(outcome, expected, "{function}: {report}");
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
        let (_, record) = p.alias_of(function, "live").expect("alias");
        assert_eq!(
            record.contains(" approved=0 "),
            function != loser,
            "{function}: {record}"
        );
    }
    // Approving again approves the one left and moves them all.
    p.run(&["approve"]).success();
    assert_service_on(&p, "2");
}

#[test]
fn status_during_the_bake_says_the_next_move_waits_for_approval_and_then_that_it_has_it() {
    let p = waiting_canary();
    let next = |p: &Project| {
        let status = p.run(&["status", "--output", "json"]).success().json();
        status["status"]["in_progress"]["next"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        next(&p),
        "finish at 100 % once the bake is over and the move is approved (`greenlight approve`), if the gates are green"
    );
    as_user(&p, "alice", &["approve"]);
    let (_, record) = p.alias("live").expect("alias");
    let approved_at = record
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("approved_at="))
        .expect("approved_at");
    assert_eq!(
        next(&p),
        format!(
            "finish at 100 % once the bake is over (approved at {approved_at}), if the gates are green"
        )
    );
    let text = p.run(&["status"]).success().stdout;
    assert!(
        text.contains(&format!(
            "next      `greenlight promote` will finish at 100 % once the bake is over (approved at {approved_at})"
        )),
        "{text}"
    );
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn together_functions_with_different_approvals_are_refused_before_any_aws_call() {
    let p = with_approval(together("1"));
    let config = std::fs::read_to_string(p.join("greenlight.toml")).expect("the config");
    p.write(
        "greenlight.toml",
        &config.replace(
            "release = { alarms = [\"jobs-errors\"] }",
            "release = { alarms = [\"jobs-errors\"], approval = [] }",
        ),
    );
    let before = p.alias_of("jobs", "live").expect("alias");
    for command in ["ship", "promote", "approve"] {
        let refused = p.run(&[command]).code(2);
        assert!(
            refused.stderr.contains(
                "with `[release] together`, every function waits for the same approvals, but api has [100] and jobs has []"
            ),
            "{command}: {}",
            refused.stderr
        );
    }
    assert_eq!(p.alias_of("jobs", "live").expect("alias"), before);
    assert_service_on(&p, "1");
}

/// Version 1 live, version 2's code ready, a release in one step (10 %,
/// bake 1h) whose finish waits for approval, watched by the alarm
/// orders-errors (green).
fn watched_by_an_alarm() -> Project {
    let p = canary_project(
        "steps = [10]\nbake = \"1h\"\napproval = [100]\nalarms = [\"orders-errors\"]",
    );
    p.create_alarm("orders-errors");
    p.set_alarm("orders-errors", StateValue::Ok);
    p
}

#[test]
fn a_red_alarm_after_an_approval_given_while_ship_bakes_still_rolls_back() {
    let p = watched_by_an_alarm();
    let ship = spawned(p.command(&["ship"]));
    p.wait_for("the first step", HOLD, || p.weights("live") == at(0.1));
    // Approved during the bake, from another machine.
    let approved = as_user(&p, "alice", &["approve"]);
    assert_eq!(approved.code, 0, "{}", approved.all_output());
    p.set_alarm("orders-errors", StateValue::Alarm);
    let shipped = ended(ship);
    assert_eq!(shipped.code, 3, "{}", shipped.all_output());
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn approving_a_release_whose_alarm_went_red_rolls_it_back_instead_of_moving() {
    let p = watched_by_an_alarm();
    p.run(&["ship", "--no-wait"]).success();
    p.end_bake("live");
    p.set_alarm("orders-errors", StateValue::Alarm);
    let approved = p.run(&["approve", "--output", "json"]).code(3).json();
    assert_eq!(approved["outcome"], "rolled_back", "{approved}");
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn an_approver_name_with_a_comma_cannot_pass_for_another_callers_arn() {
    let p = waiting_canary();
    let approved = as_user(
        &p,
        "alice,arn:aws:iam::999999999999:role/admin",
        &["approve"],
    );
    assert_eq!(approved.code, 0, "{}", approved.all_output());
    let status = p.run(&["status", "--output", "json"]).success().json();
    let by = status["status"]["live"]["record"]["approved"]["by"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The first comma separates the name from the caller's ARN, as STS gave it.
    assert_eq!(
        by.split_once(','),
        Some((
            "alice-arn:aws:iam::999999999999:role/admin",
            "arn:aws:sts::123456789012:user/moto"
        )),
        "{by}"
    );
    assert_eq!(p.weights("live"), at(0.1));
}
