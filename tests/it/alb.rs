//! `[alb]`: blue/green releases through an Application Load Balancer's
//! weighted target groups, against the emulator: the listener's forward
//! weights move through the steps, a red gate puts them back exactly, and
//! what greenlight cannot move safely stops before anything changes.

use std::time::Duration;

use crate::harness::alb::{Alb, COLOURS, forward};
use crate::harness::{Project, default_config, planned_calls};

/// The config of `p` releasing through `alb` with `release`.
fn alb_config(alb: &Alb, release: &str) -> String {
    format!(
        "{}\n[release]\n{release}\n\n{}",
        default_config(),
        alb.config()
    )
}

/// A project shipped once through its alias (version 1), behind a load
/// balancer whose listener forwards `weights` to blue and green (both
/// aliases on version 1), configured with `release`.
pub(crate) fn behind_a_load_balancer(weights: [i32; 2], release: &str) -> (Project, Alb) {
    let p = Project::new();
    p.run(&["ship"]).success();
    let alb = Alb::create(&p, weights);
    p.write("greenlight.toml", &alb_config(&alb, release));
    (p, alb)
}

/// The listener's forward weights are blue `blue` and green `green`.
#[track_caller]
pub fn assert_weights(p: &Project, alb: &Alb, blue: i32, green: i32) {
    let expected: Vec<(String, i32)> = alb
        .pair([blue, green])
        .iter()
        .map(|(tg, w)| ((*tg).to_owned(), *w))
        .collect();
    assert_eq!(alb.weights(p), expected);
}

/// The version each colour's alias serves.
fn colours(p: &Project) -> [String; 2] {
    COLOURS.map(|c| p.alias(c).expect("the colour's alias").0)
}

#[test]
fn a_stepped_release_moves_the_forward_weights_to_the_idle_colour_keeping_the_total() {
    let (p, alb) = behind_a_load_balancer([500, 0], "steps = [10, 50]\nbake = \"1s\"");
    p.change_code("v2");
    // The writes to 50 % and to 100 % wait at the proxy until the test has
    // seen the split before each.
    let proxy = p.proxy();
    let write = "ModifyListener";
    proxy.hold(write, &[2, 3]);
    let child = crate::harness::spawned(p.command_via(&proxy, &["ship"]));
    proxy.look_before_each(write, &[2, 3], Duration::from_secs(60), |n| {
        if n == 2 {
            assert_weights(&p, &alb, 450, 50);
            assert_eq!(colours(&p), ["1", "2"], "green serves the new version");
        } else {
            assert_weights(&p, &alb, 250, 250);
        }
    });
    let out = child.wait_with_output().expect("ship ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(proxy.calls(write), 3);
    assert_weights(&p, &alb, 0, 500);
    assert!(
        stderr.contains("pointing alias green (green, weight 0) at version 2"),
        "{stderr}"
    );

    // Green is live now: the next version goes to blue, all at once.
    p.write("greenlight.toml", &alb_config(&alb, "steps = []"));
    p.change_code("v3");
    p.run(&["ship"]).success();
    assert_weights(&p, &alb, 500, 0);
    assert_eq!(colours(&p), ["3", "2"]);
}

#[test]
fn an_alarm_mid_release_puts_the_exact_earlier_weights_back_with_exit_3() {
    let (p, alb) = behind_a_load_balancer(
        [100, 0],
        "steps = [10]\nbake = \"60s\"\nalarms = [\"orders-errors\"]",
    );
    p.create_alarm("orders-errors");
    let child = ship_until_10_percent(&p, &alb, "bad");
    p.set_alarm(
        "orders-errors",
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    );
    let out = child.wait_with_output().expect("ship ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("alarm orders-errors is in ALARM"),
        "{stderr}"
    );
    assert_weights(&p, &alb, 100, 0);
    assert_eq!(colours(&p)[0], "1", "blue still serves the version before");
}

#[test]
fn a_third_target_group_a_missing_invoke_permission_or_another_target_stop_before_any_deploy() {
    let (p, alb) = behind_a_load_balancer([100, 0], "steps = [10]\nbake = \"1s\"");
    let third = crate::harness::alb::target_group(&p, "orders-third");
    let [(blue, _), (green, _)] = alb.pair([0, 0]);
    alb.set_default_actions(&p, vec![forward(&[(blue, 100), (green, 0), (&third, 0)])]);
    p.change_code("v2");
    let run = p.run(&["ship"]).code(1);
    assert!(run.stderr.contains(&third), "{}", run.stderr);
    assert_eq!(p.versions(), ["1"], "nothing deployed");

    alb.set_default_actions(&p, vec![forward(&alb.pair([100, 0]))]);
    p.aws(async |c| {
        c.remove_permission()
            .function_name(crate::harness::FUNCTION)
            .qualifier("green")
            .statement_id(format!("elb-{}-green", crate::harness::FUNCTION))
            .send()
            .await
            .expect("remove the permission")
    });
    let run = p.run(&["ship"]).code(1);
    assert!(
        run.stderr.contains("aws lambda add-permission"),
        "{}",
        run.stderr
    );
    assert_eq!(p.versions(), ["1"], "nothing deployed");
    assert_weights(&p, &alb, 100, 0);

    // Green's target group sends its traffic to blue's alias instead.
    crate::harness::alb::allow_invoke(&p, "green", &alb.target_groups[1]);
    let green = &alb.target_groups[1];
    p.block_on(
        crate::harness::alb::elbv2(&p)
            .deregister_targets()
            .target_group_arn(green)
            .targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(crate::harness::alb::alias_arn("green"))
                    .build(),
            )
            .send(),
    )
    .expect("deregister green");
    crate::harness::alb::allow_invoke_as(&p, "blue", green, "elb-green-to-blue");
    crate::harness::alb::register(&p, green, &crate::harness::alb::alias_arn("blue"));
    let run = p.run(&["ship"]).code(1);
    assert!(
        run.stderr.contains(&format!(
            "sends its traffic to {}, not alias {}",
            crate::harness::alb::alias_arn("blue"),
            crate::harness::alb::alias_arn("green")
        )),
        "{}",
        run.stderr
    );
    assert_eq!(p.versions(), ["1"], "nothing deployed");
    assert_weights(&p, &alb, 100, 0);
}

/// Starts `ship` (output captured), returning once green carries 10 % of
/// blue and green's 100.
fn ship_until_10_percent(p: &Project, alb: &Alb, marker: &str) -> std::process::Child {
    p.change_code(marker);
    let child = crate::harness::spawned(p.command(&["ship"]));
    p.wait_for("10 % on green", Duration::from_secs(60), || {
        alb.weights(p) == alb.pair([90, 10]).map(|(t, w)| (t.to_owned(), w))
    });
    child
}

#[test]
fn sigterm_restores_the_weights_and_after_sigkill_promote_and_rollback_work_from_another_process() {
    let (p, alb) = behind_a_load_balancer([100, 0], "steps = [10, 50]\nbake = \"1h\"");
    let child = ship_until_10_percent(&p, &alb, "v2");
    crate::harness::send_signal(&child, "TERM");
    let out = child.wait_with_output().expect("ship ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert_weights(&p, &alb, 100, 0);
    assert_eq!(colours(&p)[0], "1");

    // SIGKILL leaves the split; another process continues or undoes it.
    let mut child = ship_until_10_percent(&p, &alb, "v3");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_weights(&p, &alb, 90, 10);
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert_eq!(status["status"]["colours"][1]["weight"], 10, "{status}");
    assert_eq!(status["status"]["colours"][1]["version"], "3", "{status}");
    assert!(!status["status"]["in_progress"].is_null(), "{status}");
    let text = p.run(&["status"]).success().stdout;
    let blue_line = format!(
        "blue      weight  90  {}  alias blue → version 1",
        alb.target_groups[0]
    );
    assert!(text.contains(&blue_line), "{blue_line:?} in\n{text}");

    p.end_bake("green");
    p.run(&["promote"]).success();
    assert_weights(&p, &alb, 50, 50);
    let rolled = p.run(&["rollback", "--output", "json"]).success().json();
    assert_eq!(rolled["rollback"]["from"], "3", "{rolled}");
    assert_eq!(rolled["rollback"]["to"], "1", "{rolled}");
    assert_weights(&p, &alb, 100, 0);
    let again = p.run(&["rollback", "--output", "json"]).success().json();
    assert_eq!(again["rollback"]["already_rolled_back"], true, "{again}");
}

#[test]
fn listener_weights_changed_by_hand_stop_promote_writing_nothing_until_rollback() {
    let (p, alb) = behind_a_load_balancer([100, 0], "steps = [10, 50]\nbake = \"1h\"");
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &alb, 90, 10);
    alb.set_default_actions(&p, vec![forward(&alb.pair([70, 30]))]);
    p.end_bake("green");

    let status = p.run(&["status", "--output", "json"]).success().json();
    let problem = status["status"]["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("changed outside greenlight"), "{status}");
    let proxy = p.proxy();
    for args in [&["promote"][..], &["release", "--version", "2"]] {
        let run = p.run_via(&proxy, args).code(1);
        assert!(run.stderr.contains("greenlight rollback"), "{}", run.stderr);
    }
    assert_eq!(proxy.calls("ModifyListener"), 0, "nothing written");
    assert_eq!(proxy.calls("UpdateAlias"), 0, "nothing written");
    assert_weights(&p, &alb, 70, 30);
    p.run(&["rollback"]).success();
    assert_weights(&p, &alb, 100, 0);
}

#[test]
fn actions_changed_by_hand_mid_release_stop_promote_from_another_process_until_rollback() {
    let (p, alb) = behind_a_load_balancer([100, 0], "steps = [10, 50]\nbake = \"1h\"");
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &alb, 90, 10);
    // Stickiness turned on by hand: the weights are still the step's.
    let mut actions = alb.default_actions(&p);
    actions[0]
        .forward_config
        .as_mut()
        .expect("a forward action")
        .target_group_stickiness_config = Some(
        aws_sdk_elasticloadbalancingv2::types::TargetGroupStickinessConfig::builder()
            .enabled(true)
            .duration_seconds(60)
            .build(),
    );
    alb.set_default_actions(&p, actions);
    p.end_bake("green");

    let proxy = p.proxy();
    let run = p.run_via(&proxy, &["promote"]).code(1);
    assert!(
        run.stderr
            .contains("its actions differ from those greenlight last wrote"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("greenlight rollback"), "{}", run.stderr);
    assert_eq!(proxy.calls("ModifyListener"), 0, "nothing written");
    assert_weights(&p, &alb, 90, 10);
    p.run(&["rollback"]).success();
    assert_weights(&p, &alb, 100, 0);
    let sticky = alb.default_actions(&p)[0]
        .forward_config()
        .and_then(|c| c.target_group_stickiness_config())
        .and_then(|s| s.enabled());
    assert_eq!(sticky, Some(true), "the restore keeps the rest of the list");
}

/// `plan` and the dry runs run the release's own code on a context that
/// records: the forward action's writes are listed in the order the
/// release makes them (`ModifyListener`, or `ModifyRule` for a rule), and
/// nothing is written.
#[test]
fn plan_and_dry_runs_list_the_forward_action_writes_and_make_none() {
    let (p, alb) = behind_a_load_balancer([500, 0], "steps = [10, 50]\nbake = \"1h\"");
    p.change_code("v2");
    let before = p.emulator.requests().len();
    let plan = p.run(&["plan", "--output", "json"]).success().json();
    assert_eq!(
        planned_calls(&plan),
        [
            "UpdateFunctionCode",
            "PublishVersion",
            "UpdateAlias",
            "UpdateAlias",
            "UpdateAlias",
            "ModifyListener",
            "UpdateAlias",
            "ModifyListener",
            "ModifyListener",
            "UpdateAlias"
        ],
        "{plan}"
    );
    let text = plan["dry_run"]["steps"].to_string();
    for weights in [
        "green 50, blue 450 (10 % on green)",
        "green 250, blue 250 (50 % on green)",
        "green 500, blue 0 (100 % on green)",
    ] {
        assert!(text.contains(weights), "{weights} in {text}");
    }
    assert!(text.contains(&alb.listener), "{text}");
    assert_eq!(p.emulator.writes_since(before), Vec::<String>::new());
    assert_weights(&p, &alb, 500, 0);
    assert_eq!(colours(&p), ["1", "1"], "no alias moved");

    // A release in progress: promote waits for the bake, rollback would
    // put the weights back; neither writes.
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &alb, 450, 50);
    let before = p.emulator.requests().len();
    let promote = p.run(&["promote", "--dry-run"]).success();
    assert!(
        promote.stdout.contains("promote would make no writes")
            && promote.stdout.contains("nothing moves now"),
        "{}",
        promote.stdout
    );
    let rollback = p
        .run(&["rollback", "--dry-run", "--output", "json"])
        .success()
        .json();
    assert_eq!(
        planned_calls(&rollback),
        ["ModifyListener", "UpdateAlias"],
        "{rollback}"
    );
    assert!(
        rollback["dry_run"]["steps"]
            .to_string()
            .contains("blue 500, green 0 (all the weight back on version 1)"),
        "{rollback}"
    );
    assert_eq!(p.emulator.writes_since(before), Vec::<String>::new());
    p.end_bake("green");
    let before = p.emulator.requests().len();
    let next = p
        .run(&["promote", "--dry-run", "--output", "json"])
        .success()
        .json();
    assert_eq!(
        planned_calls(&next),
        ["UpdateAlias", "ModifyListener"],
        "{next}"
    );
    assert_eq!(p.emulator.writes_since(before), Vec::<String>::new());
    assert_weights(&p, &alb, 450, 50);

    // Through a listener rule, the same writes are `ModifyRule`.
    let rule = alb.add_rule(&p, vec![forward(&alb.pair([100, 0]))]);
    let config = format!(
        "{}\n[release]\nsteps = [10]\n\n{}",
        default_config(),
        alb.config_at(&format!("rule_arn = \"{rule}\""))
    );
    p.write("greenlight.toml", &config);
    let before = p.emulator.requests().len();
    let release = p
        .run(&["release", "--version", "2", "--dry-run", "--output", "json"])
        .success()
        .json();
    let calls = planned_calls(&release);
    assert!(
        calls.contains(&"ModifyRule".to_owned()) && !calls.contains(&"ModifyListener".to_owned()),
        "{release}"
    );
    assert_eq!(p.emulator.writes_since(before), Vec::<String>::new());
}

/// Issue 25 §4 behind a load balancer: the same engine holds the release
/// for approval (the forward weights unchanged), and `approve` finishes it.
#[test]
fn a_release_behind_a_load_balancer_waits_for_approval_and_approve_finishes_it() {
    let (p, alb) =
        behind_a_load_balancer([100, 0], "steps = [10]\nbake = \"1h\"\napproval = [100]");
    crate::approvals::colours_held_at_ten_percent(&p);
    assert_weights(&p, &alb, 90, 10);
    let approved = p.run(&["approve", "--output", "json"]).success().json();
    assert_eq!(approved["outcome"], "released", "{approved}");
    assert_weights(&p, &alb, 0, 100);
}
