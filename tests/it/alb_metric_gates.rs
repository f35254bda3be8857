//! `alb.metrics`: the load balancer's metric gates against the emulator.
//! What ELBv2 records for each colour's target group (`AWS/ApplicationELB`,
//! written with `PutMetricData`) is judged new colour against stable
//! colour by a scheduled `promote` after the bake: a new colour over the
//! 5xx limit puts the exact earlier weights back (exit 3), a healthy one
//! is promoted, too few requests hold the step (a waiting release: exit 5).

use std::time::{Duration, SystemTime};

use crate::alb::assert_weights;
use crate::harness::alb::Alb;
use crate::harness::{Project, default_config};

/// The gates: a 5xx rate ceiling and margin, and a ceiling on the
/// requests Lambda could not answer through the load balancer.
const GATES: &str = "metrics = [{ name = \"target-5xx-rate\", max = 0.01, margin = 0.005 }, { name = \"lambda-user-error-rate\", max = 0.01 }]";

/// A project behind a load balancer (blue 100, green 0, version 1 on
/// both) whose version 2 sits on green at 10 % with its bake over, gated
/// by [`GATES`] from 100 requests. Metrics settle for a minute: after the
/// final move the last step is still judged, however slow the machine, so
/// the report's last check is of the metrics (the data is stamped five
/// minutes back).
fn green_at_ten_percent() -> (Project, Alb) {
    let p = Project::new();
    p.run(&["ship"]).success();
    let alb = Alb::create(&p, [100, 0]);
    let table = alb
        .config()
        .replacen("\n\n[alb.blue]", &format!("\n{GATES}\n\n[alb.blue]"), 1);
    p.write(
        "greenlight.toml",
        &format!(
            "{}\n[release]\nsteps = [10]\nbake = \"1h\"\nmax_hold = \"1s\"\nmin_invocations = 100\nmetrics_settle = \"1m\"\n\n{table}",
            default_config()
        ),
    );
    p.change_code("v2");
    let shipped = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(shipped["outcome"], "in_progress", "{shipped}");
    let gates = &shipped["release"]["gates"]["alb_metrics"];
    assert_eq!(gates["verdict"], "inconclusive", "{shipped}");
    assert_weights(&p, &alb, 90, 10);
    p.end_bake("green");
    (p, alb)
}

/// Records `requests` to each colour's target group (blue, green) with
/// `errors` of them answered 5xx, five minutes ago (settled).
fn put_requests(p: &Project, alb: &Alb, requests: [f64; 2], errors: [f64; 2]) {
    let settled = SystemTime::now() - Duration::from_secs(300);
    for group in 0..2 {
        alb.put_metrics(
            p,
            group,
            &[
                ("RequestCount", requests[group]),
                ("HTTPCode_Target_5XX_Count", errors[group]),
            ],
            settled,
        );
    }
}

#[test]
fn a_new_colour_over_the_5xx_limit_puts_the_exact_earlier_weights_back() {
    let (p, alb) = green_at_ten_percent();
    // 5 % of green's requests end in a 5xx, 0.1 % of blue's.
    put_requests(&p, &alb, [1800.0, 200.0], [2.0, 10.0]);
    let run = p.run(&["promote", "--output", "json"]).code(3);
    let out = run.json();
    let why = out["release"]["rolled_back"].as_str().unwrap_or_default();
    assert_eq!(
        why, "load balancer metrics: target-5xx-rate of version 2 is 5 %, over the maximum 1 %",
        "{out}"
    );
    let gates = &out["release"]["gates"]["alb_metrics"];
    assert_eq!(gates["verdict"], "unhealthy", "{out}");
    assert_eq!(gates["canary"]["requests"], 200.0, "{out}");
    assert_eq!(gates["stable"]["target_5xx"], 2.0, "{out}");
    assert_weights(&p, &alb, 100, 0);
    assert_eq!(
        p.alias("blue").expect("blue").0,
        "1",
        "blue serves version 1"
    );
}

#[test]
fn a_healthy_new_colour_is_promoted() {
    let (p, alb) = green_at_ten_percent();
    // 0.5 %: under the 1 % ceiling, 0.4 points over blue's 0.1 %.
    put_requests(&p, &alb, [1800.0, 200.0], [2.0, 1.0]);
    let text = p.run(&["promote"]).success().stdout;
    assert!(
        text.contains("gate      alb metrics healthy: target-5xx-rate 0.5 % (stable 0.11 %), lambda-user-error-rate 0 % (stable 0 %) over 200 requests in "),
        "{text}"
    );
    assert_weights(&p, &alb, 0, 100);
    assert_eq!(p.alias("green").expect("green").0, "2");
}

#[test]
fn too_few_requests_to_the_new_colour_hold_the_step() {
    let (p, alb) = green_at_ten_percent();
    // Errors, but too few requests to judge them by.
    put_requests(&p, &alb, [180.0, 20.0], [0.0, 5.0]);
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["outcome"], "held", "{held}");
    let reason = held["release"]["in_progress"]["held"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        reason,
        "too little traffic to judge: version 2 had 20 of the 100 requests needed since the step began",
        "{held}"
    );
    assert_weights(&p, &alb, 90, 10);

    // A waiting release holds for max_hold, then exits 5, the step left.
    let waited = p.run(&["release", "--version", "2"]).code(5);
    assert!(
        waited.stderr.contains("release of version 2 is held"),
        "{}",
        waited.stderr
    );
    assert_weights(&p, &alb, 90, 10);
}
