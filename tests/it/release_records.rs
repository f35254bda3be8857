//! Release records and the checks before a release (issue 22 §6): a
//! settling record dated in the future is a `status` problem and stops
//! `promote`; a new release while the last one's metrics are still judged is
//! refused before any write; `status` says a step holds when `promote`
//! would hold it; a `{version}` alarm missing for the version `ship` would
//! publish stops it before the deploy. Each test reads the alias and the
//! versions back from the emulator.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::StateValue;

use crate::harness::{FUNCTION, Project, default_config};

/// A project with `[release]` = `release`, version 1 shipped and new code.
fn shipped(release: &str) -> Project {
    let p = Project::with_config(&format!("{}\n[release]\n{release}\n", default_config()));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p
}

/// Writes `description` on alias live, as a person editing it would.
pub fn describe_live(p: &Project, description: &str) {
    p.aws(async |c| {
        c.update_alias()
            .function_name(FUNCTION)
            .name("live")
            .description(description)
            .send()
            .await
    })
    .expect("edit the alias description");
}

#[test]
fn a_settling_record_dated_in_the_future_is_a_problem_and_stops_promote() {
    let p = shipped("");
    p.run(&["ship"]).success();
    let edited = "greenlight: action=release version=2 previous=1 settle=180s from=2026-01-01T00:00:00Z at=9999-12-31T23:59:59Z";
    describe_live(&p, edited);

    let status = p.run(&["status", "--output", "json"]).success();
    let doc = status.json();
    let problem = doc["status"]["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("its release finished in the future (at=9999-12-31T23:59:59Z)"),
        "{doc}"
    );
    assert!(doc["status"].get("settle_left_secs").is_none(), "{doc}");
    assert!(!status.stdout.contains("18446744073709551615"));

    let before = p.emulator.requests().len();
    let run = p.run(&["promote"]).code(1);
    assert!(
        run.stderr.contains("release record that cannot be used"),
        "{}",
        run.stderr
    );
    p.emulator
        .assert_only_reads_since(before, &["GET /2015-03-31/functions/orders/aliases/live"]);
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert_eq!(p.alias("live").expect("live").1, edited);
}

#[test]
fn a_new_release_while_the_last_ones_metrics_are_judged_is_refused_before_any_write() {
    let p = shipped(
        "steps = [10]\nbake = \"1h\"\nmin_invocations = 100\nmetrics_settle = \"10m\"\nmetrics = [{ name = \"error-rate\", max = 0.05 }]",
    );
    p.run(&["ship", "--no-wait"]).success();
    p.end_bake("live");
    // Healthy and settled: the canary step's window is judged green, and
    // the release finishes; its last step is judged 10 minutes more.
    let settled = SystemTime::now() - Duration::from_secs(15 * 60);
    p.put_lambda_metrics_at("live", "2", 200.0, 0.0, settled);
    p.put_lambda_metrics_at("live", "1", 1800.0, 0.0, settled);
    let finished = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(finished["outcome"], "released", "{finished}");
    assert!(
        finished["release"]["settle_left_secs"]
            .as_u64()
            .unwrap_or(0)
            > 60,
        "{finished}"
    );
    let record = p.alias("live").expect("live").1;
    assert!(record.contains(" settle=600s from="), "{record}");

    p.change_code("v3");
    let before = p.emulator.requests().len();
    for args in [
        &["ship", "--no-wait"][..],
        &["release", "--version", "1"][..],
    ] {
        let run = p.run(args).code(1);
        assert!(
            run.stderr
                .contains("the release of version 2 on alias live is still being judged"),
            "{}",
            run.stderr
        );
    }
    p.emulator
        .assert_only_reads_since(before, &["GET /2015-03-31/functions/orders/aliases/live"]);
    assert_eq!(p.versions(), ["1", "2"]);
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert_eq!(p.alias("live").expect("live").1, record, "still judged");
}

#[test]
fn status_says_a_step_holds_when_promote_would_hold_it() {
    let p = shipped("steps = [10]\nbake = \"1h\"\nalarms = [\"orders-v{version}\"]");
    // Made for this release, as templates/version-alarm.sh would: no data yet.
    p.create_alarm("orders-v2");
    p.set_alarm("orders-v2", StateValue::InsufficientData);
    p.run(&["ship", "--no-wait"]).success();
    p.end_bake("live");

    let status = p.run(&["status", "--output", "json"]).success().json();
    let standing = &status["status"]["in_progress"];
    let promoted = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(promoted["outcome"], "held", "{promoted}");
    let held = &promoted["release"]["in_progress"];
    assert_eq!(standing["next"], held["next"], "{status}\n{promoted}");
    assert_eq!(standing["held"], held["held"], "{status}\n{promoted}");
    assert!(
        standing["next"]
            .as_str()
            .is_some_and(|n| n.contains("once the gates can judge the new version")),
        "{status}"
    );
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]))
    );
}

#[test]
fn a_version_alarm_missing_for_the_version_ship_would_publish_stops_it_before_the_deploy() {
    let p = shipped("alarms = [\"orders-errors-v{version}\"]");
    let before = p.emulator.requests().len();
    let run = p.run(&["ship"]).code(2);
    p.emulator
        .assert_only_reads_since(before, &["GET /2015-03-31/functions/orders/versions"]);
    assert_eq!(p.versions(), ["1"]);
    assert!(
        run.stderr.contains(
            "CloudWatch alarm \"orders-errors-v2\" named in release.alarms does not exist"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("version 2, the one this deploy would publish"),
        "{}",
        run.stderr
    );

    // Made for it, as templates/version-alarm.sh would: the ship goes on.
    p.create_alarm("orders-errors-v2");
    p.run(&["ship"]).success();
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
}
