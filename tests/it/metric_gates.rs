//! Metric gates against the emulator: Lambda's per-version metrics written
//! to it with `PutMetricData`, then judged by a scheduled `promote` (and a
//! waiting `release`) after the bake: a healthy canary is promoted, one
//! worse than the stable version is rolled back, and too little traffic
//! holds the step.

use std::collections::BTreeMap;

use crate::harness::{Project, default_config};

/// The error-rate gate: a ceiling, and a margin over the stable version.
const GATE: &str = "min_invocations = 100\n\
                    metrics = [{ name = \"error-rate\", max = 0.05, margin = 0.01 }]";

/// A project released with `[release]` = `release` and [`GATE`], version 1
/// live and new code for version 2.
fn gated(release: &str) -> Project {
    let p = Project::with_config(&format!(
        "{}\n[release]\n{release}\n{GATE}\n",
        default_config()
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p
}

/// A project whose version 2 sits at 10 % (bake ended), watched by [`GATE`].
fn canary_at_ten_percent() -> Project {
    let p = gated("steps = [10]\nbake = \"1h\"\nmax_hold = \"1s\"");
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
