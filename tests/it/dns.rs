//! `[dns]`: blue/green releases by Route 53 weighted records, against moto.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::harness::fault_proxy::Seen;
use crate::harness::{Fault, Project, default_config, planned_calls, send_signal};

pub(crate) const NAME: &str = "api.example.com";

/// The writes of a `--no-wait` ship of new code after the first: the
/// publish, green created on it, then its release record and the weights.
pub(crate) const CANARY_SHIP_WRITES: [&str; 6] = [
    "UpdateFunctionCode",
    "PublishVersion",
    "CreateAlias",
    "UpdateAlias",
    "UpdateAlias",
    "ChangeResourceRecordSets",
];

pub(crate) fn dns_config(zone: &str, release: &str) -> String {
    format!(
        "{}\n[release]\n{release}\n\n[dns]\nzone_id = \"{zone}\"\nname = \"{NAME}\"\ntype = \"CNAME\"\nttl = 0\n\n[dns.blue]\nvalue = \"blue.example.com\"\nalias = \"blue\"\n\n[dns.green]\nvalue = \"green.example.com\"\nalias = \"green\"\n",
        default_config()
    )
}

pub(crate) fn weights(pairs: &[(&str, i64)]) -> BTreeMap<String, Option<i64>> {
    pairs
        .iter()
        .map(|(k, w)| (k.to_string(), Some(*w)))
        .collect()
}

/// The weights of the pair are blue `blue` and green `green`.
#[track_caller]
pub(crate) fn assert_weights(p: &Project, zone: &str, blue: i64, green: i64) {
    assert_eq!(
        p.dns_weights(zone, NAME),
        weights(&[("blue", blue), ("green", green)])
    );
}

/// Changes the code and starts `ship` (output captured), returning once
/// green carries 10 % of the weight.
fn ship_until_10_percent(p: &Project, zone: &str, marker: &str) -> std::process::Child {
    p.change_code(marker);
    until_10_percent(p, zone, p.command(&["ship"]))
}

/// Starts `command` (output captured), returning once green carries 10 %
/// of the weight.
fn until_10_percent(
    p: &Project,
    zone: &str,
    command: std::process::Command,
) -> std::process::Child {
    let child = crate::harness::spawned(command);
    p.wait_for("10 % on green", Duration::from_secs(60), || {
        p.dns_weights(zone, NAME) == weights(&[("blue", 90), ("green", 10)])
    });
    child
}

/// Sets the alarm `orders-errors` in ALARM once the gate check after the
/// last weight change (in effect) has read it green, through `proxy`.
pub(crate) fn alarm_after_the_move(p: &Project, proxy: &crate::harness::FaultProxy) {
    proxy.wait_for_answered_after(
        "ChangeResourceRecordSets",
        "DescribeAlarms",
        Duration::from_secs(60),
    );
    p.set_alarm(
        "orders-errors",
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    );
}

/// Ships the first version of `p`: the function and the records (all on blue).
pub(crate) fn shipped(p: &Project, release: &str) -> String {
    let zone = p.create_zone("example.com");
    p.write("greenlight.toml", &dns_config(&zone, release));
    let first = p.run(&["ship"]).success();
    assert!(
        first.stderr.contains("creating the weighted records"),
        "{}",
        first.stderr
    );
    assert_weights(p, &zone, 100, 0);
    assert_eq!(p.alias("blue").expect("blue alias").0, "1");
    zone
}

#[test]
fn a_stepped_release_moves_the_weight_to_the_idle_colour_with_the_split_observed() {
    let p = Project::new();
    let zone = shipped(&p, "steps = [10, 50]\nbake = \"1s\"");
    p.change_code("v2");
    // The changes to 50 % and to 100 % wait at the proxy until the test
    // has seen the split before each.
    let proxy = p.proxy();
    let change = "ChangeResourceRecordSets";
    proxy.hold(change, &[2, 3]);
    let child = crate::harness::spawned(p.command_via(&proxy, &["ship"]));
    proxy.look_before_each(change, &[2, 3], Duration::from_secs(60), |n| {
        if n == 2 {
            assert_weights(&p, &zone, 90, 10);
            assert_eq!(p.alias("green").expect("green alias").0, "2");
            assert_eq!(
                p.alias("blue").expect("blue alias").0,
                "1",
                "blue still serves 90 %"
            );
        } else {
            assert_weights(&p, &zone, 50, 50);
        }
    });
    let out = child.wait_with_output().expect("ship ends");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(proxy.calls(change), 3);
    assert_weights(&p, &zone, 0, 100);

    // Green is live now: the next version goes to blue, all at once here.
    p.write("greenlight.toml", &dns_config(&zone, "steps = []"));
    p.change_code("v3");
    let staged = p.run(&["deploy"]).success();
    assert!(
        staged
            .stderr
            .contains("pointing alias blue (blue, weight 0) at version 3"),
        "{}",
        staged.stderr
    );
    assert_eq!(p.alias("blue").expect("blue alias").0, "3");
    assert_weights(&p, &zone, 0, 100);
    let third = p.run(&["ship"]).success();
    assert!(third.stdout.contains("release "), "{}", third.stdout);
    assert_weights(&p, &zone, 100, 0);
    let again = p.run(&["deploy"]).success();
    assert!(
        again.stdout.contains("nothing to deploy"),
        "{}",
        again.stdout
    );
    let status = p.run(&["status"]).success().stdout;
    for line in [
        "alias     blue → version 3",
        "blue      weight 100  blue.example.com  alias blue → version 3",
        "green     weight   0  green.example.com  alias green → version 2",
    ] {
        assert!(status.contains(line), "{line:?} in\n{status}");
    }
}

/// Waits for `child` (a ship) and asserts that the alarm rolled it back.
pub(crate) fn rolled_back_by_the_alarm(child: std::process::Child) {
    let out = child.wait_with_output().expect("ship ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("alarm orders-errors is in ALARM"),
        "{stderr}"
    );
}

#[test]
fn an_alarm_mid_release_puts_the_weights_back_exactly_with_exit_3() {
    let p = Project::new();
    p.create_alarm("orders-errors");
    let zone = shipped(
        &p,
        "steps = [10]\nbake = \"60s\"\nalarms = [\"orders-errors\"]",
    );
    let child = ship_until_10_percent(&p, &zone, "bad");
    p.set_alarm(
        "orders-errors",
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    );
    rolled_back_by_the_alarm(child);
    assert_weights(&p, &zone, 100, 0);
}

/// Issue 24 §5 for DNS: with a 5-minute bake every gate is checked every
/// 30 s, but the alarms are read every 5 s while the step bakes, so the
/// weights are back within seconds of an alarm going off.
#[test]
fn a_red_alarm_mid_long_bake_restores_the_weights_within_seconds() {
    let p = Project::new();
    p.create_alarm("orders-errors");
    let zone = shipped(
        &p,
        "steps = [10]\nbake = \"5m\"\nalarms = [\"orders-errors\"]",
    );
    p.change_code("bad");
    let proxy = p.proxy();
    let child = until_10_percent(&p, &zone, p.command_via(&proxy, &["ship"]));
    alarm_after_the_move(&p, &proxy);
    p.wait_for(
        "the weights back before the next full gate check",
        Duration::from_secs(20),
        || p.dns_weights(&zone, NAME) == weights(&[("blue", 100), ("green", 0)]),
    );
    rolled_back_by_the_alarm(child);
}

#[test]
fn records_and_configs_that_cannot_work_are_refused_before_anything_changes() {
    let p = Project::new();
    let zone = p.create_zone("example.com");
    p.create_plain_cname(&zone, NAME, "old.example.com");
    p.write("greenlight.toml", &dns_config(&zone, "steps = []"));
    let unweighted = p.run(&["ship"]).code(1);
    assert!(
        unweighted
            .stderr
            .contains("a record without a SetIdentifier (not weighted)"),
        "{}",
        unweighted.stderr
    );
    p.write("greenlight.toml", &dns_config("ZNOSUCHZONE", "steps = []"));
    let no_zone = p.run(&["ship"]).code(1);
    assert!(
        no_zone.stderr.contains("hint: check dns.zone_id"),
        "{}",
        no_zone.stderr
    );
    assert!(p.functions().is_empty(), "nothing deployed");

    let good = dns_config(&zone, "steps = []");
    for (bad, expected) in [
        (
            good.replace("type = \"CNAME\"", "type = \"TXT\""),
            "`dns.type` = \"TXT\"",
        ),
        (
            good.replace("alias = \"green\"", "alias = \"blue\""),
            "`dns.green.alias`",
        ),
        (
            good.replace("type = \"CNAME\"", "type = \"A\""),
            "`dns.blue.target_zone_id`",
        ),
        (good.replace("ttl = 0", "ttl = -5"), "`dns.ttl` = -5"),
        (
            good.replace("[dns.green]", "[dns.red]"),
            "unknown field `red`",
        ),
    ] {
        p.write("greenlight.toml", &bad);
        let refused = p.run(&["ship"]).code(2);
        assert!(
            refused.stderr.contains(expected),
            "{expected:?} in {}",
            refused.stderr
        );
    }
    p.write("greenlight.toml", &good);
    let plan = p.run(&["plan"]).code(1);
    assert!(plan.stderr.contains("not weighted"), "{}", plan.stderr);
}

#[test]
fn a_scheduled_dns_canary_is_promoted_step_by_step_and_rolled_back_after() {
    let p = Project::new();
    let zone = shipped(&p, "steps = [10, 50]\nbake = \"1h\"");
    p.change_code("v2");
    let planned = p
        .run(&["plan", "--no-wait", "--output", "json"])
        .success()
        .json();
    let calls = planned_calls(&planned);
    assert_eq!(calls, CANARY_SHIP_WRITES);
    assert_weights(&p, &zone, 100, 0);
    assert_eq!(p.versions(), ["1"], "the plan published nothing");
    let started = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(started["outcome"], "in_progress");
    assert_weights(&p, &zone, 90, 10);

    // Before the bake is over, promote checks the gates and moves nothing.
    let early = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(early["release"]["in_progress"]["percent"], 10);
    assert!(
        early["release"]["moves"]
            .as_array()
            .expect("moves")
            .is_empty()
    );
    assert_weights(&p, &zone, 90, 10);
    let status = p.run(&["status"]).success().stdout;
    assert!(status.contains("alias     blue → version 1"), "{status}");

    p.end_bake("green");
    p.run(&["promote"]).success();
    assert_weights(&p, &zone, 50, 50);
    p.end_bake("green");
    p.run(&["promote"]).success();
    assert_weights(&p, &zone, 0, 100);
    let done = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(done["outcome"], "nothing_in_progress");

    // After a finished release, rollback puts the weight back on blue.
    let rollback = p.run(&["rollback"]).success();
    assert!(
        rollback.stdout.contains("version 2 → 1"),
        "{}",
        rollback.stdout
    );
    assert_weights(&p, &zone, 100, 0);
    let again = p.run(&["rollback"]).success();
    assert!(
        again.stdout.contains("already rolled back"),
        "{}",
        again.stdout
    );
}

#[test]
fn sigint_or_sigterm_mid_bake_restores_the_weights_and_sigkill_is_recoverable() {
    let p = Project::new();
    let zone = shipped(&p, "steps = [10]\nbake = \"1h\"");
    for (signal, marker) in [("INT", "v2"), ("TERM", "v3")] {
        let child = ship_until_10_percent(&p, &zone, marker);
        send_signal(&child, signal);
        let out = child.wait_with_output().expect("ship ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "SIG{signal}: {stderr}");
        assert!(
            stderr.contains(&format!("interrupted by SIG{signal}")),
            "{stderr}"
        );
        assert_weights(&p, &zone, 100, 0);
        assert_eq!(p.alias("blue").expect("blue alias").0, "1");
    }

    // SIGKILL leaves the split; rollback, from any machine, undoes it.
    let mut child = ship_until_10_percent(&p, &zone, "v4");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_weights(&p, &zone, 90, 10);
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert_eq!(status["status"]["colours"][1]["weight"], 10);
    p.run(&["rollback"]).success();
    assert_weights(&p, &zone, 100, 0);
}

/// Both colours' aliases, (version, description), if they exist.
fn aliases(p: &Project) -> [Option<(String, String)>; 2] {
    ["blue", "green"].map(|colour| p.alias(colour))
}

/// `ship` of new code stops with exit 1 and an error containing `why`,
/// having changed nothing: no version published, no weight moved, neither
/// alias written.
#[track_caller]
fn refused_before_anything_changes(p: &Project, zone: &str, why: &str) {
    let (versions, records, colours) = (p.versions(), p.dns_weights(zone, NAME), aliases(p));
    let refused = p.run(&["ship"]).code(1);
    assert!(
        refused.stderr.contains(why),
        "{why:?} in {}",
        refused.stderr
    );
    assert_eq!(p.versions(), versions, "a version was published");
    assert_eq!(p.dns_weights(zone, NAME), records, "a weight changed");
    assert_eq!(aliases(p), colours, "an alias was written");
}

#[test]
fn a_split_greenlight_did_not_make_or_a_foreign_record_stops_before_anything_changes() {
    let p = Project::new();
    let zone = shipped(&p, "steps = [10]\nbake = \"1h\"");
    p.change_code("v2");
    // Someone split the weight by hand, 70/30, with no release in progress.
    p.set_weighted_cname(&zone, NAME, "blue", "blue.example.com", 70);
    p.set_weighted_cname(&zone, NAME, "green", "green.example.com", 30);
    refused_before_anything_changes(
        &p,
        &zone,
        "splits its weight blue 70, green 30, but no greenlight release is in progress",
    );

    // All the weight back on blue, but a third weighted record in the set.
    p.set_weighted_cname(&zone, NAME, "blue", "blue.example.com", 100);
    p.set_weighted_cname(&zone, NAME, "green", "green.example.com", 0);
    p.set_weighted_cname(&zone, NAME, "red", "red.example.com", 0);
    refused_before_anything_changes(&p, &zone, "a record with SetIdentifier \"red\"");
}

#[test]
fn a_weight_total_other_than_100_is_kept() {
    let p = Project::new();
    let zone = shipped(&p, "steps = [10]\nbake = \"1h\"");
    p.set_weighted_cname(&zone, NAME, "blue", "blue.example.com", 200);
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &zone, 180, 20);
    p.end_bake("green");
    let done = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(done["outcome"], "released", "{done}");
    assert_weights(&p, &zone, 0, 200);
}

/// Asserts that after each weight change in `log` the gates (alarms, smoke
/// tests) were read only after Route 53 said INSYNC and `ttl` later;
/// returns where the changes are in the log.
#[track_caller]
pub(crate) fn assert_gates_waited(log: &[Seen], ttl: Duration) -> Vec<usize> {
    let changes: Vec<usize> = (0..log.len())
        .filter(|&i| log[i].op == "ChangeResourceRecordSets")
        .collect();
    let first_after = |from: usize, what: &dyn Fn(&Seen) -> bool| {
        (from..log.len())
            .find(|&i| what(&log[i]))
            .unwrap_or_else(|| panic!("nothing after call {from}: {log:?}"))
    };
    for (k, &change) in changes.iter().enumerate() {
        let insync = first_after(change, &|c| {
            c.op == "GetChange" && c.answer.contains("<Status>INSYNC</Status>")
        });
        let gate = first_after(change, &|c| c.op == "DescribeAlarms" || c.op == "Invoke");
        assert!(
            insync < gate,
            "change {k}: a gate (call {gate}) before INSYNC (call {insync}): {log:?}"
        );
        let synced = log[insync].answered.expect("INSYNC was answered");
        let waited = log[gate].at.duration_since(synced);
        assert!(
            waited >= ttl,
            "change {k}: the gates were read {waited:?} after INSYNC, within the TTL"
        );
    }
    changes
}

#[test]
fn each_weight_change_waits_for_insync_then_the_records_ttl_before_the_gates() {
    let p = Project::new();
    p.create_alarm("orders-errors");
    let zone = p.create_zone("example.com");
    let release = "steps = [50]\nbake = \"1s\"\nalarms = [\"orders-errors\"]";
    let config = dns_config(&zone, release);
    // The records are created with a 3 s TTL; the config's ttl is 0 after
    // that, and the waits must use the records' own.
    p.write("greenlight.toml", &config.replace("ttl = 0", "ttl = 3"));
    p.run(&["ship"]).success();
    p.write("greenlight.toml", &config);
    p.change_code("v2");
    let proxy = p.proxy();
    // Route 53 answers the first poll of the first change: still PENDING.
    let pending = Fault::Rewrite {
        from: "<Status>INSYNC</Status>",
        to: "<Status>PENDING</Status>",
    };
    proxy.rule("GetChange", 0, Some(1), pending);
    p.run_via(&proxy, &["ship"]).success();
    assert_weights(&p, &zone, 0, 100);

    let log = proxy.log();
    let changes = assert_gates_waited(&log, Duration::from_secs(3));
    assert_eq!(changes.len(), 2, "50 %, then 100 %: {log:?}");
    // The first change was polled again after its PENDING answer.
    let polls: Vec<&str> = log[changes[0]..changes[1]]
        .iter()
        .filter(|c| c.op == "GetChange")
        .map(|c| {
            if c.answer.contains("PENDING") {
                "PENDING"
            } else {
                "INSYNC"
            }
        })
        .collect();
    assert_eq!(polls, ["PENDING", "INSYNC"], "{log:?}");
}

#[test]
fn a_records_are_alias_records_to_each_colours_target() {
    let p = Project::new();
    let zone = p.create_zone("example.com");
    let config = dns_config(&zone, "steps = []")
        .replace("type = \"CNAME\"", "type = \"A\"")
        .replace(
            "value = \"blue.example.com\"",
            "value = \"d-blue.execute-api.us-east-1.amazonaws.com\"\ntarget_zone_id = \"Z1UJRXOUMOOFQ8\"",
        )
        .replace(
            "value = \"green.example.com\"",
            "value = \"d-green.execute-api.us-east-1.amazonaws.com\"\ntarget_zone_id = \"Z1UJRXOUMOOFQ8\"",
        );
    p.write("greenlight.toml", &config);
    p.run(&["ship"]).success();
    assert_weights(&p, &zone, 100, 0);
    p.change_code("v2");
    p.run(&["ship"]).success();
    assert_weights(&p, &zone, 0, 100);
    let status = p.run(&["status"]).success().stdout;
    assert!(
        status.contains("green     weight 100  d-green.execute-api.us-east-1.amazonaws.com  alias green → version 2"),
        "{status}"
    );
}

#[test]
fn metric_gates_judge_each_colours_own_traffic() {
    let p = Project::new();
    let release =
        "steps = [10]\nbake = \"1h\"\nmetrics = [{ name = \"error-rate\", margin = 0.01 }]";
    let zone = shipped(&p, release);
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &zone, 90, 10);
    p.end_bake("green");

    // Version 2 serves through green, version 1 through blue.
    p.put_lambda_metrics("green", "2", 20.0, 0.0);
    p.put_lambda_metrics("blue", "1", 2000.0, 2.0);
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["outcome"], "held", "{held}");
    assert_weights(&p, &zone, 90, 10);

    p.put_lambda_metrics("green", "2", 180.0, 10.0);
    let run = p.run(&["promote"]).code(3);
    assert!(
        run.stderr.contains(
            "error-rate of version 2 is 5 %, more than 1 % over the stable version 1's 0.1 %"
        ),
        "{}",
        run.stderr
    );
    assert_weights(&p, &zone, 100, 0);
}

#[test]
fn a_dns_release_judges_its_last_step_until_its_metrics_have_settled() {
    let p = Project::new();
    let release = "steps = [10]\nbake = \"1h\"\nmetrics_settle = \"3m\"\nmin_invocations = 1\n\
                   metrics = [{ name = \"error-rate\", max = 0.05 }]";
    let zone = shipped(&p, release);
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &zone, 90, 10);
    p.put_lambda_metrics("green", "2", 100.0, 0.0);
    p.end_bake("green");
    p.run(&["promote"]).success();
    assert_weights(&p, &zone, 0, 100);

    let judged = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(judged["outcome"], "settling", "{judged}");
    assert_weights(&p, &zone, 0, 100);

    // Late errors of the last step: all the weight goes back to blue.
    p.put_lambda_metrics("green", "2", 100.0, 60.0);
    let run = p.run(&["promote"]).code(3);
    assert!(
        run.stderr.contains("error-rate of version 2"),
        "{}",
        run.stderr
    );
    assert_weights(&p, &zone, 100, 0);
}
