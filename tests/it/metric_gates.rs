//! Metric gates against the emulator: Lambda's per-version metrics written
//! to it with `PutMetricData`, then judged by a scheduled `promote` (and a
//! waiting `release`) after the bake: a healthy canary is promoted, one
//! worse than the stable version is rolled back, and too little traffic
//! holds the step.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::dns::{assert_weights, shipped};
use crate::harness::{Project, default_config, spawned};

const DEADLINE: Duration = Duration::from_secs(60);

/// The error-rate gate: a ceiling, and a margin over the stable version.
pub(crate) const GATE: &str = "metrics = [{ name = \"error-rate\", max = 0.05, margin = 0.01 }]";

/// A project released with `[release]` = `release` and [`GATE`], version 1
/// live and new code for version 2.
fn gated(release: &str) -> Project {
    gated_by(release, GATE, "1s")
}

/// A project released with `[release]` = `release` and the metric gates
/// `metrics`, judged from 100 invocations; version 1 live and new code for
/// version 2. Metrics settle for `settle` (a second, not the default
/// minutes, so a waiting release is quick).
fn gated_by(release: &str, metrics: &str, settle: &str) -> Project {
    let p = Project::with_config(&format!(
        "{}\n[release]\n{release}\nmin_invocations = 100\nmetrics_settle = \"{settle}\"\n{metrics}\n",
        default_config()
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p
}

/// A project whose version 2 sits at 10 % (bake ended), watched by [`GATE`].
fn canary_at_ten_percent() -> Project {
    canary_at_ten_percent_by(GATE, "1s")
}

/// A project whose version 2 sits at 10 % (bake ended), watched by
/// `metrics` that settle for `settle`.
pub(crate) fn canary_at_ten_percent_by(metrics: &str, settle: &str) -> Project {
    let p = gated_by(
        "steps = [10]\nbake = \"1h\"\nmax_hold = \"1s\"",
        metrics,
        settle,
    );
    let shipped = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(shipped["outcome"], "in_progress", "{shipped}");
    let metrics = &shipped["release"]["gates"]["metrics"];
    assert_eq!(metrics["verdict"], "inconclusive", "{shipped}");
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]))
    );
    p.end_bake("live");
    p
}

#[test]
fn a_healthy_canary_is_promoted() {
    let p = canary_at_ten_percent();
    p.put_lambda_metrics("live", "2", 200.0, 1.0);
    p.put_lambda_metrics("live", "1", 1800.0, 4.0);
    let promoted = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(promoted["outcome"], "released", "{promoted}");
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn a_canary_worse_than_the_stable_version_is_rolled_back() {
    let p = canary_at_ten_percent();
    // 4 % errors: under the 5 % ceiling, but 3.8 points over the stable 0.2 %.
    p.put_lambda_metrics("live", "2", 200.0, 8.0);
    p.put_lambda_metrics("live", "1", 2000.0, 4.0);
    let run = p.run(&["promote"]).code(3);
    assert!(
        run.stderr.contains(
            "metrics: error-rate of version 2 is 4 %, more than 1 % over the stable version 1's 0.2 %"
        ),
        "{}",
        run.stderr
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

/// Lambda may throttle a request before it picks a version, so it
/// publishes `Throttles` for the alias (`FunctionName`, `Resource`), not
/// per `ExecutedVersion`: the gate judges the alias's.
#[test]
fn throttles_are_judged_on_the_alias_as_a_whole() {
    let p = canary_at_ten_percent_by(
        "metrics = [{ name = \"error-rate\", max = 0.05 }, { name = \"throttles\", max = 0 }]",
        "1s",
    );
    p.put_lambda_metrics("live", "2", 200.0, 0.0);
    p.put_lambda_metrics("live", "1", 1800.0, 0.0);
    p.put_alias_throttles("live", 3.0, SystemTime::now() - Duration::from_secs(300));
    let run = p.run(&["promote"]).code(3);
    assert!(
        run.stderr
            .contains("metrics: throttles of alias live is 3, over the maximum 0"),
        "{}",
        run.stderr
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

/// In DNS mode each colour has its own alias: the canary's throttles are
/// the receiving colour's, the stable colour's are not held against it.
#[test]
fn in_dns_mode_throttles_are_the_receiving_colours() {
    let p = Project::new();
    let zone = shipped(
        &p,
        "steps = [10]\nbake = \"1h\"\nmin_invocations = 1\nmetrics = [{ name = \"throttles\", max = 0 }]",
    );
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &zone, 90, 10);
    // Stamped now: inside the step's window while it bakes.
    p.put_lambda_metrics_at("green", "2", 100.0, 0.0, SystemTime::now());
    p.put_alias_throttles("blue", 5.0, SystemTime::now());
    // Gates are checked as the step bakes: the stable colour's throttles are not the canary's.
    p.run(&["promote"]).success();
    assert_weights(&p, &zone, 90, 10);

    p.put_alias_throttles("green", 2.0, SystemTime::now());
    let run = p.run(&["promote"]).code(3);
    assert!(
        run.stderr
            .contains("metrics: throttles of alias green is 2, over the maximum 0"),
        "{}",
        run.stderr
    );
    assert_weights(&p, &zone, 100, 0);
}

/// Lambda splits an alias's provisioned concurrency by weight, so the
/// canary runs colder than the stable version: with some on the alias, p99
/// is judged by its `max` only, and a gate with a margin alone not at all.
/// (The emulator has no percentiles: without provisioned concurrency the
/// margin has no p99 data and holds the step.)
#[test]
fn with_provisioned_concurrency_a_p99_margin_is_not_judged() {
    // A minute to settle: the check after the move is within it, however
    // slow the machine (the data is stamped five minutes back).
    let p = canary_at_ten_percent_by(
        "metrics = [{ name = \"error-rate\", max = 0.05 }, { name = \"p99-duration\", margin = \"100ms\" }]",
        "1m",
    );
    p.put_lambda_metrics("live", "2", 200.0, 0.0);
    p.put_lambda_metrics("live", "1", 1800.0, 0.0);
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["outcome"], "held", "{held}");
    let reason = held["release"]["in_progress"]["held"].to_string();
    assert!(
        reason.contains("no p99-duration data for version 2"),
        "{held}"
    );
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]))
    );

    p.provision("live", 5);
    let reads = |calls: &[String]| {
        calls
            .iter()
            .filter(|c| {
                c.starts_with(
                    "GET /2019-09-30/functions/orders/provisioned-concurrency?Qualifier=live",
                )
            })
            .count()
    };
    let before = p.emulator.requests().len();
    let run = p.run(&["promote"]).success();
    let warning =
        "alias live has provisioned concurrency (5): p99-duration (a margin only) is not judged";
    assert_eq!(run.stderr.matches(warning).count(), 1, "{}", run.stderr);
    // Read once in the run, though the gates were checked twice (before
    // the move and, after it, the last step's window as it settles).
    let calls = p.emulator.requests().split_off(before);
    assert_eq!(reads(&calls), 1, "{calls:?}");
    assert!(
        calls.iter().filter(|c| *c == "POST /").count() >= 2,
        "{calls:?}"
    );
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn too_little_traffic_holds_the_step() {
    let p = canary_at_ten_percent();
    p.put_lambda_metrics("live", "2", 20.0, 0.0);
    p.put_lambda_metrics("live", "1", 180.0, 0.0);
    let text = p.run(&["promote"]).success();
    for line in [
        "gate      metrics inconclusive: error-rate 0 % (stable 0 %) over 20 invocations in ",
        "held      too little traffic to judge: version 2 had 20 of the 100 invocations needed",
    ] {
        assert!(text.stdout.contains(line), "{}", text.stdout);
    }
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["outcome"], "held", "{held}");
    let reason = held["release"]["in_progress"]["held"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("version 2 had 20 of the 100 invocations needed"),
        "{held}"
    );
    let at_ten = ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]));
    assert_eq!(p.weights("live"), at_ten);

    // A waiting release holds for max_hold, then stops with exit 5, the
    // release left where it is for a later promote.
    let waited = p.run(&["release", "--version", "2"]).code(5);
    assert!(
        waited.stderr.contains("release of version 2 is held"),
        "{}",
        waited.stderr
    );
    assert_eq!(p.weights("live"), at_ten);

    // Traffic arrives: the next promote finishes the release.
    p.put_lambda_metrics("live", "2", 100.0, 0.0);
    let promoted = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(promoted["outcome"], "released", "{promoted}");
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn a_waiting_ship_held_for_want_of_traffic_exits_5_and_leaves_the_step() {
    let p = gated("steps = [10]\nbake = \"1s\"\nmax_hold = \"3s\"");
    let before = p.emulator.requests().len();
    let started = std::time::Instant::now();
    // No invocations reach the emulator's metrics: no verdict, ever.
    let held = p.run(&["ship", "--output", "json"]).code(5).json();
    // The bake and max_hold count from the step's start as recorded, in
    // whole seconds: at least 1 + 3 - 1 s.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "held for the bake and max_hold: {:?}",
        started.elapsed()
    );
    assert_eq!(held["outcome"], "held", "{held}");
    assert_eq!(held["exit_code"], 5, "{held}");
    let reason = held["release"]["in_progress"]["held"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("invocations needed"), "{held}");
    // It kept reading the metrics while it held (GetMetricData, `POST /`).
    let calls = p.emulator.requests().split_off(before);
    let metric_reads = calls.iter().filter(|r| *r == "POST /").count();
    assert!(metric_reads >= 2, "{calls:?}");

    // Traffic stays at the step, a release in progress that `status` reads.
    let at_ten = ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]));
    assert_eq!(p.weights("live"), at_ten);
    let (_, record) = p.alias("live").expect("alias");
    assert!(
        record.starts_with("greenlight: action=canary version=2 previous=1 step=0"),
        "{record}"
    );
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert_eq!(status["status"]["in_progress"]["percent"], 10, "{status}");

    // `rollback` stops it.
    p.run(&["rollback"]).success();
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

/// A release whose steps wait `settle` for their metrics after a 1 s bake,
/// judged on an error-rate ceiling of 5 % with a single invocation enough.
fn settling(steps: &str, settle: &str) -> Project {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = {steps}\nbake = \"1s\"\nmetrics_settle = \"{settle}\"\n\
         min_invocations = 1\nmetrics = [{{ name = \"error-rate\", max = 0.05 }}]\n",
        default_config()
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p
}

/// When the step (or the release) recorded on alias live began.
fn recorded_at(p: &Project) -> std::time::SystemTime {
    let (_, record) = p.alias("live").expect("alias");
    let at = record.split(" at=").nth(1).expect("at=");
    let at = time::OffsetDateTime::parse(
        at.split_whitespace().next().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("an RFC 3339 time");
    std::time::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(at.unix_timestamp()).expect("after 1970"))
}

#[test]
fn errors_that_arrive_after_the_bake_are_judged_before_the_step_is_left() {
    // Ten seconds to settle: the step still waits when the test lets the
    // first read after the bake go (it holds each read only for a moment).
    let p = settling("[50]", "10s");
    let proxy = p.proxy();
    let read = "GetMetricData";
    // Each read of the metrics waits at the proxy until the test lets it
    // go: the ship makes its next check only then, so nothing here races it.
    proxy.hold(read, &[1]);
    let ship = spawned(p.command_via(&proxy, &["ship"]));
    proxy.wait_until_held(read, 1, DEADLINE);
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.5)]))
    );
    // Healthy traffic in the bake: enough to judge, so the step is never
    // held for want of data.
    let step_began = recorded_at(&p);
    p.put_lambda_metrics_at("live", "2", 100.0, 0.0, step_began);
    // The reads go one by one until one is made after the bake (1 s from
    // the recorded start, as greenlight counts it) is over.
    let bake_end = step_began + Duration::from_secs(1);
    let mut n = 1;
    loop {
        let over = SystemTime::now() >= bake_end;
        proxy.hold(read, &[n + 1]);
        proxy.release(read, n);
        n += 1;
        proxy.wait_until_held(read, n, DEADLINE);
        if over {
            break;
        }
    }
    // Late data: errors stamped in the bake, arriving after it.
    p.put_lambda_metrics_at("live", "2", 100.0, 100.0, step_began);
    proxy.release(read, n);

    let out = ship.wait_with_output().expect("ship");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("error-rate of version 2 is 50 %"),
        "{stderr}"
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
    // Judged in the step: the alias moved to 50 % and back, never to
    // version 2 alone.
    let moves: Vec<serde_json::Value> = proxy
        .log()
        .iter()
        .filter(|c| c.op == "UpdateAlias")
        .map(|c| serde_json::from_str(&c.answer).expect("UpdateAlias answer"))
        .map(|alias: serde_json::Value| {
            serde_json::json!([
                alias["FunctionVersion"],
                alias["RoutingConfig"]["AdditionalVersionWeights"]
            ])
        })
        .collect();
    assert_eq!(
        moves,
        [
            serde_json::json!(["1", {"2": 0.5}]),
            serde_json::json!(["1", {}])
        ]
    );
}

#[test]
fn after_the_final_move_the_last_steps_metrics_are_judged_as_they_settle() {
    let p = settling("[50]", "15s");
    let ship = spawned(p.command(&["ship"]));
    p.wait_for("50 % on version 2", DEADLINE, || {
        p.weights("live") == ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.5)]))
    });
    let step_began = recorded_at(&p);
    p.put_lambda_metrics_at("live", "2", 100.0, 0.0, step_began);
    p.wait_for("all traffic on version 2", DEADLINE, || {
        p.weights("live") == ("2".to_owned(), BTreeMap::new())
    });
    // Errors of the last step's final seconds, arriving after the finish.
    let finished = recorded_at(&p);
    p.put_lambda_metrics_at("live", "2", 100.0, 90.0, finished - Duration::from_secs(1));

    let out = ship.wait_with_output().expect("ship");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("error-rate of version 2"), "{stderr}");
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn a_scheduled_promote_judges_the_last_step_until_it_has_settled() {
    // A minute to settle: the promotes below come well within it.
    let p = settling("[50]", "1m");
    p.run(&["ship", "--no-wait"]).success();
    p.put_lambda_metrics("live", "2", 100.0, 0.0);
    p.end_bake("live");
    let finished = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(finished["outcome"], "released", "{finished}");
    assert!(
        finished["release"]["settle_left_secs"].as_u64().is_some(),
        "{finished}"
    );
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert!(
        status["status"]["settle_left_secs"].as_u64().is_some(),
        "{status}"
    );

    // Still settling: the next promote judges the last step, green.
    let judged = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(judged["outcome"], "settling", "{judged}");
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));

    // Late errors of that step: the next promote rolls back.
    p.put_lambda_metrics("live", "2", 100.0, 60.0);
    let run = p.run(&["promote"]).code(3);
    assert!(
        run.stderr.contains("error-rate of version 2"),
        "{}",
        run.stderr
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn once_settled_a_finished_release_is_left_alone() {
    let p = settling("[50]", "1s");
    p.run(&["ship", "--no-wait"]).success();
    p.put_lambda_metrics("live", "2", 100.0, 0.0);
    p.end_bake("live");
    p.run(&["promote"]).success();
    p.wait_for("the settle time to pass", DEADLINE, || {
        let status = p.run(&["status", "--output", "json"]).json();
        status["status"].get("settle_left_secs").is_none()
    });
    // Errors now are not the release's to judge: nothing in progress.
    p.put_lambda_metrics("live", "2", 100.0, 60.0);
    let done = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(done["outcome"], "nothing_in_progress", "{done}");
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn plan_names_the_settle_wait() {
    let p = settling("[10, 50]", "3m");
    let plan = p.run(&["plan", "--output", "json"]).success().json();
    let text = plan["dry_run"]["steps"].to_string();
    assert!(
        text.contains("bake 1s, then 3m for its metrics to settle"),
        "{text}"
    );
    assert!(
        text.contains("the last step's metrics are judged for 3m more as they settle"),
        "{text}"
    );
}
