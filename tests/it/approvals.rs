//! `[release] approval` (issue 25 §4) against the emulator: a release
//! that has baked with green gates holds before a listed percentage until
//! `greenlight approve`; the gates are still checked while it waits, and a
//! red one rolls back. The same engine holds alias and `[dns]` releases.
//! Each test reads the weights back.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;

use crate::canary::canary_project;
use crate::harness::loopback::recorder;
use crate::harness::{Project, default_config};

/// Version 2's weights on alias live at `share`.
fn at(share: f64) -> (String, BTreeMap<String, f64>) {
    ("1".to_owned(), BTreeMap::from([("2".to_owned(), share)]))
}

/// A release at 10 % whose bake is over, waiting for approval to finish
/// (with the alarm orders-errors, green).
fn baked_at_ten_percent(release: &str) -> Project {
    let p = canary_project(&format!("steps = [10]\nbake = \"1h\"\n{release}"));
    p.create_alarm("orders-errors");
    p.set_alarm("orders-errors", StateValue::Ok);
    p.run(&["ship", "--no-wait"]).success();
    p.end_bake("live");
    p
}

#[test]
fn a_baked_canary_waits_for_approval_on_every_promote() {
    let p = baked_at_ten_percent("approval = [100]");
    for _ in 0..2 {
        let held = p.run(&["promote", "--output", "json"]).success().json();
        assert_eq!(held["outcome"], "held", "{held}");
        assert_eq!(held["release"]["in_progress"]["waiting_for_approval"], 100);
        assert!(
            held["release"]["in_progress"]["next"]
                .as_str()
                .is_some_and(|n| n.contains("once approved")),
            "{held}"
        );
        assert!(
            held["release"]["moves"]
                .as_array()
                .is_some_and(|m| m.is_empty())
        );
        assert_eq!(p.weights("live"), at(0.1));
    }
    let text = p.run(&["promote"]).success();
    assert!(
        text.stdout
            .contains("held      waiting for approval since 2000-01-01T01:00:00Z to move to 100 %"),
        "{}",
        text.stdout
    );
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn a_red_alarm_while_waiting_for_approval_rolls_back() {
    let p = baked_at_ten_percent("approval = [100]\nalarms = [\"orders-errors\"]");
    p.run(&["promote"]).success();
    assert_eq!(p.weights("live"), at(0.1));
    p.set_alarm("orders-errors", StateValue::Alarm);
    let red = p.run(&["promote"]).code(3);
    assert!(
        red.stderr.contains("alarm orders-errors is in ALARM"),
        "{}",
        red.stderr
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn a_waiting_ship_stops_at_the_approval_in_progress() {
    let p = canary_project("steps = [10, 50]\nbake = \"1s\"\napproval = [50]");
    let shipped = p.run(&["ship", "--output", "json"]).success().json();
    assert_eq!(shipped["outcome"], "in_progress", "{shipped}");
    assert_eq!(
        shipped["release"]["in_progress"]["waiting_for_approval"],
        50
    );
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn the_wait_for_approval_is_told_once() {
    let (hook, webhook) = recorder("200 OK");
    let p = baked_at_ten_percent(&format!(
        "approval = [100]\n\n[[notify]]\nwebhook = \"{hook}/t\"\nevents = [\"waiting_for_approval\"]"
    ));
    for _ in 0..3 {
        p.run(&["promote"]).success();
    }
    let told = notices(&webhook);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["event"], "waiting_for_approval");
    assert_eq!(told[0]["outcome"], "held");
    let (version, description) = p.alias("live").expect("alias");
    assert_eq!(version, "1");
    assert!(description.contains(" waiting=0 "), "{description}");
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn a_dns_release_waits_for_approval_alike() {
    let p = Project::new();
    let zone = crate::dns::shipped(&p, "steps = [10]\nbake = \"1h\"\napproval = [100]");
    colours_held_at_ten_percent(&p);
    crate::dns::assert_weights(&p, &zone, 90, 10);
}

/// With `[dns]` or `[alb]` (`steps = [10]`, `approval = [100]`) and version
/// 1 live: ships new code, ends the bake on green, and asserts that
/// `promote` holds the release waiting for approval to finish.
pub(crate) fn colours_held_at_ten_percent(p: &Project) {
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    p.end_bake("green");
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["outcome"], "held", "{held}");
    assert_eq!(held["release"]["in_progress"]["waiting_for_approval"], 100);
}

#[test]
fn approvals_that_cannot_be_held_are_exit_2_naming_the_line() {
    for (release, why) in [
        (
            "steps = [10, 50]\napproval = [30]",
            "30 is not a percentage the release moves to",
        ),
        (
            "steps = [10, 50]\napproval = [50, 50]",
            "50 is listed twice",
        ),
    ] {
        let p = Project::with_config(&format!("{}\n[release]\n{release}\n", default_config()));
        let refused = p.run(&["plan"]).code(2);
        let line = default_config().lines().count() + 2 + release.lines().count();
        assert!(
            refused
                .stderr
                .contains(&format!("greenlight.toml:{line}:12: `release.approval` = ")),
            "{release}: {}",
            refused.stderr
        );
        assert!(refused.stderr.contains(why), "{}", refused.stderr);
    }
}

/// Starts `greenlight approve --output json` as `user` (through `USER`).
fn approve_as(p: &Project, user: &str) -> std::process::Child {
    approve_with(p, user, &["approve", "--output", "json"])
}

/// Starts greenlight with `args` as `user` (through `USER`).
fn approve_with(p: &Project, user: &str, args: &[&str]) -> std::process::Child {
    let mut command = p.command(args);
    command.env_remove("GITHUB_ACTOR").env("USER", user);
    crate::harness::spawned(command)
}

/// The exit code and the JSON report of a finished `approve`.
fn finished(child: std::process::Child) -> (i32, serde_json::Value, String) {
    let out = child.wait_with_output().expect("wait");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), report, stderr)
}

#[test]
fn approve_makes_the_move_a_baked_canary_waits_for() {
    let p = baked_at_ten_percent("approval = [100]");
    p.run(&["promote"]).success();
    assert_eq!(p.weights("live"), at(0.1));
    let (code, approved, stderr) = finished(approve_as(&p, "alice"));
    assert_eq!(code, 0, "{approved}\n{stderr}");
    assert_eq!(approved["outcome"], "released", "{approved}");
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn an_approval_during_the_bake_is_kept_and_the_next_promote_moves() {
    let p = canary_project("steps = [10]\nbake = \"1h\"\napproval = [100]");
    p.run(&["ship", "--no-wait"]).success();
    let (code, approved, stderr) = finished(approve_as(&p, "alice"));
    assert_eq!(code, 0, "{approved}\n{stderr}");
    assert_eq!(approved["outcome"], "in_progress", "{approved}");
    assert_eq!(p.weights("live"), at(0.1));
    let (_, description) = p.alias("live").expect("alias");
    assert!(
        description.contains(" approved=0 approved_at=20"),
        "{description}"
    );
    assert!(description.contains(" by=alice,arn:aws:"), "{description}");
    assert!(description.len() <= 256, "{description}");
    // Approving twice is harmless.
    let (code, again, stderr) = finished(approve_with(&p, "bob", &["approve"]));
    assert_eq!(code, 0, "{again}\n{stderr}");
    assert!(stderr.contains("already approved by alice"), "{stderr}");
    assert_eq!(p.alias("live").expect("alias").1, description);
    p.end_bake("live");
    p.run(&["promote"]).success();
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
}

#[test]
fn a_hold_survives_kill_9_and_approve_from_another_process_moves_it() {
    let p = canary_project("steps = [10, 50]\nbake = \"1h\"\napproval = [50]");
    let mut ship = crate::harness::spawned(p.command(&["ship"]));
    p.wait_for("the first step", Duration::from_secs(60), || {
        p.weights("live") == at(0.1)
    });
    ship.kill().expect("SIGKILL");
    let _ = ship.wait();
    p.end_bake("live");
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["release"]["in_progress"]["waiting_for_approval"], 50);
    assert_eq!(p.weights("live"), at(0.1));
    let (code, approved, stderr) = finished(approve_as(&p, "carol"));
    assert_eq!(code, 0, "{approved}\n{stderr}");
    assert_eq!(p.weights("live"), at(0.5));
}

#[test]
fn two_approves_at_once_write_one_approval() {
    let p = canary_project("steps = [10]\nbake = \"1h\"\napproval = [100]");
    p.run(&["ship", "--no-wait"]).success();
    let before = p.alias("live").expect("alias").1;
    let both = [approve_as(&p, "alice"), approve_as(&p, "bob")].map(finished);
    let codes: Vec<i32> = both.iter().map(|(code, _, _)| *code).collect();
    assert!(codes.contains(&0), "{both:?}");
    assert!(codes.iter().all(|c| *c == 0 || *c == 1), "{both:?}");
    let (_, description) = p.alias("live").expect("alias");
    assert_ne!(description, before);
    assert_eq!(
        description.matches(" approved=0 ").count(),
        1,
        "{description}"
    );
    let by_alice = description.contains(" by=alice,");
    assert!(
        by_alice != description.contains(" by=bob,"),
        "{description}"
    );
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn approving_when_nothing_waits_is_exit_1() {
    let p = canary_project("steps = [10, 50]\nbake = \"1h\"\napproval = [100]");
    let idle = p.run(&["approve"]).code(1);
    assert!(
        idle.stderr.contains("nothing waits for approval"),
        "{}",
        idle.stderr
    );
    p.run(&["ship", "--no-wait"]).success();
    let early = p.run(&["approve"]).code(1);
    assert!(
        early
            .stderr
            .contains("its next move, to 50 %, is not listed in `[release] approval`"),
        "{}",
        early.stderr
    );
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn status_shows_the_pending_approval_and_plan_where_approvals_sit() {
    let p = canary_project("steps = [10, 50]\nbake = \"1h\"\napproval = [50, 100]");
    let planned = p
        .run(&["plan", "--output", "json"])
        .success()
        .json()
        .to_string();
    assert!(
        planned.contains("then wait for approval: `greenlight approve` moves to 50 %"),
        "{planned}"
    );
    assert_eq!(p.versions(), ["1"], "the plan published nothing");
    let started = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert!(
        started["release"]["plan"]
            .as_str()
            .is_some_and(|plan| plan.ends_with(", approval before 50 %, 100 %")),
        "{started}"
    );
    p.end_bake("live");
    let status = p.run(&["status", "--output", "json"]).success().json();
    let standing = &status["status"]["in_progress"];
    assert_eq!(standing["waiting_for_approval"], 50, "{status}");
    assert_eq!(
        standing["waiting_since"], "2000-01-01T01:00:00Z",
        "{status}"
    );
    let text = p.run(&["status"]).success().stdout;
    assert!(
        text.contains("held      waiting for approval since 2000-01-01T01:00:00Z to move to 50 %"),
        "{text}"
    );
    assert_eq!(p.weights("live"), at(0.1));
}

/// Version 2 shipped with `release` (its first move listed in
/// `approval`) over version 1: nothing moved, and the alias's record says
/// the release waits.
fn shipped_pending(release: &str) -> Project {
    let p = canary_project(&format!("{release}\nalarms = [\"orders-errors\"]"));
    p.create_alarm("orders-errors");
    p.set_alarm("orders-errors", StateValue::Ok);
    let shipped = p.run(&["ship", "--output", "json"]).success().json();
    assert_eq!(shipped["outcome"], "in_progress", "{shipped}");
    let standing = &shipped["release"]["in_progress"];
    assert_eq!(standing["step"], 0, "{shipped}");
    assert_eq!(standing["percent"], 0, "{shipped}");
    assert!(
        shipped["release"]["moves"]
            .as_array()
            .is_some_and(|m| m.is_empty()),
        "{shipped}"
    );
    p.assert_settled("1", "greenlight: action=pending version=2 previous=1");
    p
}

#[test]
fn an_all_at_once_release_waits_for_approval_before_any_traffic_moves() {
    let p = canary_project("approval = [100]");
    let before = p.emulator.requests().len();
    let planned = p.run(&["plan"]).success().stdout;
    assert!(
        planned.contains("then wait for approval: `greenlight approve` moves to 100 %"),
        "{planned}"
    );
    assert_eq!(p.emulator.writes_since(before), Vec::<String>::new());
    drop(p);
    let p = shipped_pending("approval = [100]");
    let (_, description) = p.alias("live").expect("alias");
    assert!(!description.contains("steps="), "{description}");
    for _ in 0..2 {
        let held = p.run(&["promote", "--output", "json"]).success().json();
        assert_eq!(held["outcome"], "held", "{held}");
        assert_eq!(held["release"]["in_progress"]["waiting_for_approval"], 100);
        p.assert_settled("1", "greenlight: action=pending version=2 previous=1");
    }
    let status = p.run(&["status"]).success().stdout;
    assert!(
        status.contains("progress  releasing version 2: no traffic on it yet"),
        "{status}"
    );
    assert!(
        status.contains("held      waiting for approval since 20")
            && status.contains("to move to 100 %"),
        "{status}"
    );
    let (code, approved, stderr) = finished(approve_as(&p, "alice"));
    assert_eq!(code, 0, "{approved}\n{stderr}");
    assert_eq!(approved["outcome"], "released", "{approved}");
    assert_eq!(approved["release"]["moves"], serde_json::json!([100]));
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn a_pending_release_survives_kill_9_and_approve_from_another_process_moves_it() {
    let p = canary_project("approval = [100]");
    let mut ship = crate::harness::spawned(p.command(&["ship"]));
    p.wait_for("the pending record", Duration::from_secs(60), || {
        p.alias("live")
            .is_some_and(|(_, d)| d.contains("action=pending version=2"))
    });
    let _ = ship.kill();
    let _ = ship.wait();
    p.assert_settled("1", "greenlight: action=pending version=2 previous=1");
    let (code, approved, stderr) = finished(approve_as(&p, "carol"));
    assert_eq!(code, 0, "{approved}\n{stderr}");
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn a_red_alarm_stops_a_pending_release_without_moving_traffic() {
    let p = shipped_pending("approval = [100]");
    p.set_alarm("orders-errors", StateValue::Alarm);
    let (code, report, stderr) = finished(approve_as(&p, "alice"));
    assert_eq!(code, 3, "{report}\n{stderr}");
    assert!(
        report
            .to_string()
            .contains("alarm orders-errors is in ALARM"),
        "{report}\n{stderr}"
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn rollback_drops_a_pending_release_and_leaves_traffic_where_it_was() {
    let p = shipped_pending("approval = [100]");
    p.run(&["rollback"]).success();
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
    let idle = p.run(&["approve"]).code(1);
    assert!(
        idle.stderr.contains("nothing waits for approval"),
        "{}",
        idle.stderr
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn a_stepped_release_may_wait_for_approval_before_its_first_step() {
    let p = shipped_pending("steps = [10]\nbake = \"1h\"\napproval = [10, 100]");
    let (_, description) = p.alias("live").expect("alias");
    assert!(
        description.contains(" steps=10 bake=3600s"),
        "{description}"
    );
    let (code, approved, stderr) = finished(approve_as(&p, "alice"));
    assert_eq!(code, 0, "{approved}\n{stderr}");
    assert_eq!(approved["outcome"], "in_progress", "{approved}");
    assert_eq!(p.weights("live"), at(0.1));
    // The approval was for the first move only: 100 % waits for its own.
    p.end_bake("live");
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["release"]["in_progress"]["waiting_for_approval"], 100);
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn two_colour_releases_refuse_an_approval_of_their_first_move() {
    for (release, why) in [
        ("approval = [100]", "100 is the first move"),
        ("steps = [10, 50]\napproval = [10]", "10 is the first move"),
    ] {
        let p = Project::with_config(&crate::dns::dns_config("Z1", release));
        let refused = p.run(&["plan"]).code(2);
        let line = default_config().lines().count() + 2 + release.lines().count();
        assert!(
            refused
                .stderr
                .contains(&format!("greenlight.toml:{line}:12: `release.approval` = ")),
            "{release}: {}",
            refused.stderr
        );
        assert!(refused.stderr.contains(why), "{}", refused.stderr);
        assert!(
            refused.stderr.contains("`[dns]` or `[alb]`"),
            "{}",
            refused.stderr
        );
    }
}

#[test]
fn a_release_keeps_the_approvals_it_started_with_whatever_the_config_says_later() {
    let config = |release: &str| format!("{}\n[release]\n{release}\n", default_config());
    // Started with a wait before 100 %: removing it from the config skips nothing.
    let p = canary_project("steps = [10]\nbake = \"1h\"\napproval = [100]");
    p.run(&["ship", "--no-wait"]).success();
    let (_, description) = p.alias("live").expect("alias");
    assert!(description.contains(" approval=01 "), "{description}");
    p.write("greenlight.toml", &config("steps = [10]\nbake = \"1h\""));
    p.end_bake("live");
    let held = p.run(&["promote"]).success();
    assert!(
        held.stderr.contains(
            "the release of version 2 keeps the approvals it started with (100 %); `[release] approval` now says none, for the next release"
        ),
        "{}",
        held.stderr
    );
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["release"]["in_progress"]["waiting_for_approval"], 100);
    assert_eq!(
        held["release"]["plan"],
        "10 % → 100 %, 1h each, approval before 100 %"
    );
    assert_eq!(p.weights("live"), at(0.1));
    drop(p);
    // Started without: adding one to the config adds no wait.
    let p = canary_project("steps = [10]\nbake = \"1h\"");
    p.run(&["ship", "--no-wait"]).success();
    let (_, description) = p.alias("live").expect("alias");
    assert!(!description.contains("approval="), "{description}");
    p.write(
        "greenlight.toml",
        &config("steps = [10]\nbake = \"1h\"\napproval = [100]"),
    );
    p.end_bake("live");
    let moved = p.run(&["promote"]).success();
    assert!(
        moved.stderr.contains(
            "keeps the approvals it started with (none); `[release] approval` now says 100 %"
        ),
        "{}",
        moved.stderr
    );
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

/// The notices `webhook` received, as JSON.
pub(crate) fn notices(webhook: &crate::harness::loopback::Received) -> Vec<serde_json::Value> {
    webhook
        .lock()
        .expect("the requests")
        .iter()
        .map(|(_, body)| serde_json::from_str(body).expect("a JSON body"))
        .collect()
}

#[test]
fn an_approval_is_told_once_by_the_approve_whose_write_won() {
    let (hook, webhook) = recorder("200 OK");
    let p = canary_project(&format!(
        "steps = [10]\nbake = \"1h\"\napproval = [100]\n\n[[notify]]\nwebhook = \"{hook}/t\"\nevents = [\"approved\"]"
    ));
    p.run(&["ship", "--no-wait"]).success();
    let both = [approve_as(&p, "alice"), approve_as(&p, "bob")].map(finished);
    assert!(both.iter().any(|(code, _, _)| *code == 0), "{both:?}");
    finished(approve_as(&p, "carol"));
    let told = notices(&webhook);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["event"], "approved");
    assert_eq!(told[0]["outcome"], "in_progress");
    assert_eq!(told[0]["percent"], 10);
    assert_eq!(told[0]["step"], 1);
    let (_, description) = p.alias("live").expect("alias");
    let who = if description.contains(" by=alice,") {
        "alice"
    } else {
        "bob"
    };
    let reason = told[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with(&format!("approved by {who},arn:aws:"))
            && reason.ends_with(" to move to 100 %"),
        "{reason}"
    );
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn approve_dry_run_says_what_it_would_record_and_move_and_writes_nothing() {
    let p = baked_at_ten_percent("approval = [100]");
    p.run(&["promote"]).success();
    let before = p.emulator.requests().len();
    let description = p.alias("live").expect("alias").1;
    let (code, planned, stderr) = finished(approve_with(
        &p,
        "alice",
        &["approve", "--dry-run", "--output", "json"],
    ));
    assert_eq!(code, 0, "{planned}\n{stderr}");
    assert_eq!(planned["outcome"], "dry_run", "{planned}");
    let text = planned["dry_run"].to_string();
    assert!(
        text.contains("the move to 100 % approved by alice,arn:aws:"),
        "{text}"
    );
    assert!(text.contains("all traffic (weights cleared)"), "{text}");
    assert_eq!(p.emulator.writes_since(before), Vec::<String>::new());
    assert_eq!(p.alias("live").expect("alias").1, description);
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn prune_keeps_the_version_of_a_release_waiting_for_approval() {
    let p = shipped_pending("approval = [100]");
    for marker in ["v3", "v4"] {
        p.change_code(marker);
        p.run(&["deploy"]).success();
    }
    assert_eq!(p.versions(), ["1", "2", "3", "4"]);
    let pruned = p
        .run(&["prune", "--keep", "1", "--output", "json"])
        .success()
        .json();
    assert_eq!(p.versions(), ["1", "2", "4"], "{pruned}");
    assert!(
        pruned["prune"]["kept"]["2"]
            .as_str()
            .is_some_and(|why| why.contains("waits for approval")),
        "{pruned}"
    );
    let (code, approved, stderr) = finished(approve_as(&p, "alice"));
    assert_eq!(code, 0, "{approved}\n{stderr}");
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}
