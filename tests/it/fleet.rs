//! `[[functions]]`: a whole service in one config, against the emulator.
//! Each function is deployed, tested and released on its own: one
//! function's failure stops that function only, and the exit code is the
//! worst of them.

use std::collections::BTreeMap;

use serde_json::json;

use crate::harness::{Fault, FaultProxy, Project, ROLE, Run};

/// One `[[functions]]` entry for a Python function named `name`, with the
/// `extra` lines.
fn entry(name: &str, extra: &str) -> String {
    format!(
        "[[functions]]\nname = \"{name}\"\nruntime = \"python3.12\"\nhandler = \"index.handler\"\nrole = \"{ROLE}\"\n{extra}\n"
    )
}

/// Asserts every function of the together fleet serves `version` alone.
#[track_caller]
pub(crate) fn assert_service_on(p: &Project, version: &str) {
    for function in SERVICE {
        assert_eq!(
            p.weights_of(function, "live"),
            (version.to_owned(), Default::default()),
            "{function} serves version {version} alone"
        );
    }
}

/// Three functions: `orders` uses `app/`, `billing` and `broken` their own
/// sources; `broken`'s smoke test expects `v` = `expected` (the emulator
/// echoes the payload, `v` = "1").
fn fleet_config(expected: &str) -> String {
    let config = format!(
        "[package]\nsource = \"app\"\n\n[[smoke]]\nname = \"echo\"\npayload = {{ probe = \"ok\" }}\nexpect = {{ probe = \"ok\" }}\n\n{}{}{}",
        entry("orders", ""),
        entry("billing", "package = { source = \"billing\" }"),
        entry(
            "broken",
            &format!(
                "package = {{ source = \"broken\" }}\nsmoke = [{{ name = \"marker\", payload = {{ v = \"1\" }}, expect = {{ v = \"{expected}\" }} }}]"
            )
        ),
    );
    config
}

/// Each function's name and `field` in a fleet's JSON report.
pub(crate) fn each_function<'a>(
    report: &'a serde_json::Value,
    field: &str,
) -> Vec<(&'a str, &'a str)> {
    report["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap_or(""),
                f[field].as_str().unwrap_or(""),
            )
        })
        .collect()
}

fn fleet() -> Project {
    let p = Project::with_config(&fleet_config("1"));
    p.write(
        "billing/index.py",
        "def handler(event, context):\n    return event\n",
    );
    p.write(
        "broken/index.py",
        "def handler(event, context):\n    return event\n",
    );
    p
}

#[test]
fn one_ship_releases_every_function_and_a_failure_stops_only_its_own() {
    let p = fleet();
    let first = p.run(&["ship", "--output", "json"]).success().json();
    let outcomes = each_function(&first, "outcome");
    assert_eq!(
        outcomes,
        [
            ("orders", "already_live"),
            ("billing", "already_live"),
            ("broken", "already_live")
        ],
        "{first}"
    );
    for function in ["orders", "billing", "broken"] {
        assert_eq!(
            p.alias_of(function, "live").expect("alias").0,
            "1",
            "{function}"
        );
    }

    // New code everywhere; broken's smoke test now fails.
    p.change_code("v2");
    p.write(
        "billing/index.py",
        "# v2\ndef handler(event, context):\n    return event\n",
    );
    p.write(
        "broken/index.py",
        "# v2\ndef handler(event, context):\n    return event\n",
    );
    p.write("greenlight.toml", &fleet_config("2"));
    let second = p.run(&["ship"]).code(1);
    assert!(
        second.stdout.contains("── orders (us-east-1): released"),
        "{}",
        second.stdout
    );
    assert!(
        second
            .stdout
            .contains("── broken (us-east-1): smoke_failed"),
        "{}",
        second.stdout
    );
    assert!(
        second
            .stderr
            .contains("1 of 3 functions did not finish: broken (smoke_failed, exit 1)"),
        "{}",
        second.stderr
    );
    assert_eq!(p.alias_of("orders", "live").expect("alias").0, "2");
    assert_eq!(p.alias_of("billing", "live").expect("alias").0, "2");
    assert_eq!(
        p.alias_of("broken", "live").expect("alias").0,
        "1",
        "broken stays on 1"
    );
}

#[test]
fn only_selects_functions_and_an_unknown_name_is_exit_2() {
    let p = fleet();
    let shipped = p
        .run(&["ship", "--only", "billing", "--output", "json"])
        .success()
        .json();
    assert_eq!(
        shipped["functions"].as_array().map(Vec::len),
        Some(1),
        "{shipped}"
    );
    assert!(p.alias_of("billing", "live").is_some());
    assert!(
        p.alias_of("orders", "live").is_none(),
        "orders was not selected"
    );
    let unknown = p.run(&["ship", "--only", "payments"]).code(2);
    assert!(
        unknown
            .stderr
            .contains("--only payments: greenlight.toml has no function of that name"),
        "{}",
        unknown.stderr
    );
    assert!(
        unknown.stderr.contains("it has: orders, billing, broken"),
        "{}",
        unknown.stderr
    );
    let status = p.run(&["status", "--only", "billing"]).success();
    assert!(
        status.stdout.contains("── billing (us-east-1)"),
        "{}",
        status.stdout
    );
}

/// A service released as one: `api` and `worker` share `app/` (one build,
/// one zip), `jobs` has its own source, a smoke test whose expected `v` is
/// `expected` (the emulator echoes `v` = "1") and an alarm of its own.
fn together_config(expected: &str) -> String {
    format!(
        "[package]\nsource = \"app\"\nbuild = \"echo built >> builds.txt\"\n\n[release]\nsteps = [50]\nbake = \"60s\"\ntogether = true\n\n[[smoke]]\nname = \"echo\"\npayload = {{ probe = \"ok\" }}\nexpect = {{ probe = \"ok\" }}\n\n{}{}{}",
        entry("api", ""),
        entry("worker", ""),
        entry(
            "jobs",
            &format!(
                "package = {{ source = \"jobs\" }}\nrelease = {{ alarms = [\"jobs-errors\"] }}\nsmoke = [{{ name = \"marker\", payload = {{ v = \"1\" }}, expect = {{ v = \"{expected}\" }} }}]"
            )
        ),
    )
}

/// The together fleet, shipped once (every alias on version 1), with new
/// code in both sources.
pub(crate) fn together(expected: &str) -> Project {
    let p = Project::with_config(&together_config("1"));
    p.write(
        "jobs/index.py",
        "def handler(event, context):\n    return event\n",
    );
    p.create_alarm("jobs-errors");
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.write(
        "jobs/index.py",
        "# v2\ndef handler(event, context):\n    return event\n",
    );
    p.write("greenlight.toml", &together_config(expected));
    p
}

pub(crate) const SERVICE: [&str; 3] = ["api", "worker", "jobs"];

#[test]
fn functions_with_one_source_share_one_build_and_together_none_moves_if_one_fails() {
    let p = together("2");
    let builds = || std::fs::read_to_string(p.join("builds.txt")).unwrap_or_default();
    assert_eq!(builds().lines().count(), 2, "app built once, jobs once");

    let failed = p.run(&["ship", "--output", "json"]).code(1);
    let report = failed.json();
    assert_eq!(builds().lines().count(), 4, "again: once per source");
    let functions = report["functions"].as_array().expect("functions");
    assert_eq!(functions[1]["package"]["shared_with"], "api", "{report}");
    assert_eq!(
        functions[0]["package"]["code_sha256"],
        functions[1]["package"]["code_sha256"]
    );
    assert_eq!(functions[2]["outcome"], "smoke_failed", "{report}");
    for f in &functions[..2] {
        let message = f["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains(
                "version 2 was not released: function jobs failed: smoke test `marker` failed"
            ),
            "{report}"
        );
    }
    assert_service_on(&p, "1");
}

#[test]
fn together_the_fleet_steps_only_when_every_function_is_ready() {
    let p = together("1");
    let shipped = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(shipped["outcome"], "in_progress", "{shipped}");
    let half =
        |f: &str| p.weights_of(f, "live") == ("1".to_owned(), [("2".to_owned(), 0.5)].into());
    assert!(SERVICE.iter().all(|f| half(f)), "all at the first step");

    // Two bakes are over, jobs' is not: nobody moves.
    p.end_bake_of("api", "live");
    p.end_bake_of("worker", "live");
    let early = p.run(&["promote"]).success();
    assert!(
        early
            .all_output()
            .contains("not moving: function jobs stopped"),
        "{}",
        early.all_output()
    );
    assert!(
        SERVICE.iter().all(|f| half(f)),
        "still all at the first step"
    );

    p.end_bake_of("jobs", "live");
    let done = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(done["outcome"], "released", "{done}");
    assert_service_on(&p, "2");
}

#[test]
fn together_one_red_gate_rolls_the_whole_fleet_back() {
    let p = together("1");
    let child = crate::harness::spawned(p.command(&["ship"]));
    p.wait_for(
        "every function at 50 %",
        std::time::Duration::from_secs(60),
        || {
            SERVICE
                .iter()
                .all(|f| !p.weights_of(f, "live").1.is_empty())
        },
    );
    p.set_alarm("jobs-errors", aws_sdk_cloudwatch::types::StateValue::Alarm);
    let out = child.wait_with_output().expect("ship finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("3 of 3 functions did not finish"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rolled back: function jobs failed: release of version 2 rolled back"),
        "{stdout}"
    );
    assert_service_on(&p, "1");
}

#[test]
fn functions_in_several_regions_ship_in_one_run() {
    let p = Project::with_config(&format!(
        "[package]\nsource = \"app\"\n\n{}{}",
        entry("east", ""),
        entry("west", "region = \"eu-west-1\"")
    ));
    // The function's own region wins over --region.
    let shipped = p
        .run(&["ship", "--region", "us-east-1", "--output", "json"])
        .success()
        .json();
    let regions = each_function(&shipped, "region");
    assert_eq!(
        regions,
        [("east", "us-east-1"), ("west", "eu-west-1")],
        "{shipped}"
    );
    assert_eq!(p.functions_in("eu-west-1"), ["west"]);
    assert_eq!(p.functions(), ["east"]);
    let status = p.run(&["status"]).success();
    assert!(
        status.stdout.contains("── west (eu-west-1)"),
        "{}",
        status.stdout
    );
}

#[test]
fn together_a_fleet_left_a_step_apart_is_brought_level_by_promote() {
    let p = together("1");
    p.run(&["ship", "--no-wait"]).success();
    for function in SERVICE {
        p.end_bake_of(function, "live");
    }
    // As if a crash came after api's move and before the others': api has
    // finished, worker and jobs are still at 50 %.
    p.run(&["promote", "--only", "api"]).success();
    assert_eq!(p.weights_of("api", "live").0, "2");
    assert!(!p.weights_of("jobs", "live").1.is_empty());

    let level = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(
        each_function(&level, "outcome"),
        [
            ("api", "nothing_in_progress"),
            ("worker", "released"),
            ("jobs", "released")
        ],
        "{level}"
    );
    assert_service_on(&p, "2");
}

/// The [`together`] service, version 1 live, releasing in two steps
/// (10 %, 50 %) that bake an hour each.
pub(crate) fn together_in_two_steps() -> Project {
    let p = together("1");
    p.write(
        "greenlight.toml",
        &together_config("1").replace(
            "steps = [50]\nbake = \"60s\"",
            "steps = [10, 50]\nbake = \"1h\"",
        ),
    );
    p
}

#[test]
fn together_a_function_left_a_step_behind_catches_up_at_the_first_promote_while_the_others_bake() {
    let p = together_in_two_steps();
    p.run(&["ship", "--no-wait"]).success();
    let at = |share: f64| ("1".to_owned(), BTreeMap::from([("2".to_owned(), share)]));
    for function in SERVICE {
        assert_eq!(p.weights_of(function, "live"), at(0.1), "{function}");
        p.end_bake_of(function, "live");
    }
    // As if a crash came after api's and worker's moves to 50 % and before
    // jobs': the two are at 50 % with an hour of bake ahead, jobs at 10 %.
    p.run(&["promote", "--only", "api", "--only", "worker"])
        .success();
    let leaders = ["api", "worker"];
    let records = leaders.map(|f| p.alias_of(f, "live").expect("alias").1);
    for function in leaders {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
    }
    assert_eq!(p.weights_of("jobs", "live"), at(0.1));

    let level = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(
        each_function(&level, "outcome"),
        [
            ("api", "in_progress"),
            ("worker", "in_progress"),
            ("jobs", "in_progress")
        ],
        "{level}"
    );
    let moves: Vec<&serde_json::Value> = level["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .map(|f| &f["release"]["moves"])
        .collect();
    assert_eq!(moves, [&json!([]), &json!([]), &json!([50])], "{level}");
    for function in SERVICE {
        assert_eq!(p.weights_of(function, "live"), at(0.5), "{function}");
    }
    assert_eq!(
        leaders.map(|f| p.alias_of(f, "live").expect("alias").1),
        records,
        "api and worker did not move: their records (and bakes) are as they were"
    );
}

#[test]
fn together_a_crash_before_a_functions_first_move_is_levelled_by_ship_again() {
    let p = together_in_two_steps();
    // As if a crash came after api's and worker's first moves and before
    // jobs': all three published version 2, jobs took no traffic.
    p.run(&["deploy"]).success();
    p.run(&["ship", "--no-wait", "--only", "api", "--only", "worker"])
        .success();
    let at = |share: f64| ("1".to_owned(), BTreeMap::from([("2".to_owned(), share)]));
    let leaders = ["api", "worker"];
    let records = leaders.map(|f| p.alias_of(f, "live").expect("alias").1);
    assert_eq!(
        p.weights_of("jobs", "live"),
        ("1".to_owned(), BTreeMap::new())
    );

    // jobs has no release for promote to continue; ship starts it at once.
    let promoted = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(
        each_function(&promoted, "outcome")[2],
        ("jobs", "nothing_in_progress"),
        "{promoted}"
    );
    let level = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(level["outcome"], "in_progress", "{level}");
    for function in SERVICE {
        assert_eq!(p.weights_of(function, "live"), at(0.1), "{function}");
    }
    assert_eq!(
        leaders.map(|f| p.alias_of(f, "live").expect("alias").1),
        records,
        "api and worker did not move"
    );
}

/// `[[functions]]` entries named `names`, sharing `app/` and the echo test.
fn service_of(names: &[&str], entries: &str) -> String {
    let plain: String = names.iter().map(|n| entry(n, "")).collect();
    format!(
        "[package]\nsource = \"app\"\n\n[[smoke]]\nname = \"echo\"\npayload = {{ probe = \"ok\" }}\nexpect = {{ probe = \"ok\" }}\n\n{plain}{entries}"
    )
}

#[test]
fn jobs_limits_how_many_functions_run_at_once() {
    let names = ["f1", "f2", "f3", "f4", "f5"];
    let p = Project::with_config(&service_of(&names, ""));
    let proxy = p.proxy();
    let shipped = p
        .run_via(&proxy, &["ship", "--jobs", "2", "--output", "json"])
        .success()
        .json();
    assert_eq!(shipped["functions"].as_array().map(Vec::len), Some(5));
    for name in names {
        assert_eq!(
            p.weights_of(name, "live"),
            ("1".to_owned(), Default::default())
        );
    }
    // Each function is at work from its first call's arrival to its last
    // call's answer (a part of its run, so the count is never too high).
    // Every function lists its versions first, to learn the values to mask,
    // before any function goes on: that read is not a function at work.
    let log = proxy.log();
    let spans: Vec<(std::time::Instant, std::time::Instant)> = names
        .iter()
        .map(|name| {
            let calls: Vec<_> = log
                .iter()
                .filter(|c| c.function.as_deref() == Some(*name))
                .filter(|c| c.op != "ListVersionsByFunction")
                .collect();
            let start = calls.iter().map(|c| c.at).min().expect("calls");
            let end = calls
                .iter()
                .filter_map(|c| c.answered)
                .max()
                .expect("answers");
            (start, end)
        })
        .collect();
    let at_once = spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max();
    assert_eq!(at_once, Some(2), "{spans:?}");
}

/// How each function of [`endings_config`] ends a `ship` of new code, in
/// config order: exit 0, 1, 3, 4, 5 and 2.
const ENDINGS: [(&str, i64); 6] = [
    ("fine", 0),
    ("smoke-fails", 1),
    ("rolls-back", 3),
    ("stuck", 4),
    ("held", 5),
    ("bad-input", 2),
];

/// The fleet of [`ENDINGS`]: `held` waits for traffic its metric gate
/// never gets; `bad-input`, once `broken`, watches an alarm that does not
/// exist (a configuration error only AWS can tell: the others still run).
/// The others end as [`arm`] makes them.
fn endings_config(broken: bool) -> String {
    let names = ["fine", "smoke-fails", "rolls-back", "stuck"];
    let held = entry(
        "held",
        "release = { steps = [10], bake = \"1s\", max_hold = \"1s\", metrics_settle = \"1s\", metrics = [{ name = \"error-rate\", max = 0.05 }] }",
    );
    let alarm = if broken { "\"no-such-alarm\"" } else { "" };
    let bad = entry("bad-input", &format!("release = {{ alarms = [{alarm}] }}"));
    service_of(&names, &format!("{held}{bad}"))
}

/// Faults for the next `ship`: `smoke-fails`'s smoke test of its new
/// version fails; `rolls-back`'s check through the alias after the move
/// fails; so does `stuck`'s, and then its rollback write.
fn arm(proxy: &FaultProxy) {
    proxy.clear();
    let next = |f: &str, op: &str| proxy.calls_of(f, op);
    for (function, op, skip) in [
        ("smoke-fails", "Invoke", next("smoke-fails", "Invoke")),
        ("rolls-back", "Invoke", next("rolls-back", "Invoke") + 1),
        ("stuck", "Invoke", next("stuck", "Invoke") + 1),
        ("stuck", "UpdateAlias", next("stuck", "UpdateAlias") + 1),
    ] {
        proxy.rule_for(function, op, skip, None, Fault::ServerError);
    }
}

/// Ships the functions `only` of the [`ENDINGS`] fleet through `proxy`,
/// armed, with one attempt per call; asserts each ended its own way and
/// returns the run's exit code.
#[track_caller]
fn ship_endings(p: &Project, proxy: &FaultProxy, only: &[&str]) -> i32 {
    arm(proxy);
    let mut args = vec!["ship", "--output", "json"];
    for name in only {
        args.extend(["--only", name]);
    }
    let run: Run = p
        .command_via(proxy, &args)
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run greenlight")
        .into();
    let report = run.json();
    let each: Vec<(&str, i64)> = report["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .map(|f| {
            let name = f["function"].as_str().unwrap_or_default();
            (name, f["exit_code"].as_i64().unwrap_or(-1))
        })
        .collect();
    let expected: Vec<(&str, i64)> = ENDINGS
        .into_iter()
        .filter(|(name, _)| only.is_empty() || only.contains(name))
        .collect();
    assert_eq!(each, expected, "{report}");
    assert_eq!(report["exit_code"], run.code, "{report}");
    run.code
}

#[test]
fn the_fleet_exit_code_is_the_worst_in_the_order_4_3_1_2_5() {
    let p = Project::with_config(&endings_config(false));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.write("greenlight.toml", &endings_config(true));
    let proxy = p.proxy();

    // All six at once: 4 wins.
    assert_eq!(ship_endings(&p, &proxy, &[]), 4);
    let alone = |v: &str| (v.to_owned(), BTreeMap::new());
    for (function, live) in [
        ("fine", alone("2")),
        ("smoke-fails", alone("1")),
        ("rolls-back", alone("1")),
        ("stuck", alone("2")),
        (
            "held",
            ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)])),
        ),
        ("bad-input", alone("1")),
    ] {
        assert_eq!(p.weights_of(function, "live"), live, "{function}");
    }

    // Two at a time, the worse wins: 3 over 1, 1 over 2, 2 over 5, 5 over 0.
    for (pair, worst) in [
        (["smoke-fails", "rolls-back"], 3),
        (["smoke-fails", "bad-input"], 1),
        (["held", "bad-input"], 2),
        (["fine", "held"], 5),
    ] {
        assert_eq!(ship_endings(&p, &proxy, &pair), worst, "{pair:?}");
    }
}

/// An inline `[dns]` table for record `name` in `zone`, its colours
/// served by the aliases `<prefix>blue` and `<prefix>green`.
fn dns_table(zone: &str, name: &str, prefix: &str) -> String {
    format!(
        "{{ zone_id = \"{zone}\", name = \"{name}\", ttl = 0, blue = {{ value = \"{prefix}blue.example.com\", alias = \"{prefix}blue\" }}, green = {{ value = \"{prefix}green.example.com\", alias = \"{prefix}green\" }} }}"
    )
}

#[test]
fn a_record_pair_shared_by_two_functions_is_refused_before_any_aws_call() {
    let p = Project::new();
    let zone = p.create_zone("example.com");
    let before = p.emulator.requests().len();
    let pair =
        format!("both release through the CNAME records api.example.com in hosted zone {zone}");
    let refused = |config: &str, first: &str, second: &str| {
        p.write("greenlight.toml", config);
        let run = p.run(&["ship"]).code(2);
        let error = format!("greenlight.toml: {first} and {second} {pair}");
        assert!(run.stderr.contains(&error), "{error} in:\n{}", run.stderr);
        assert!(
            run.stderr
                .contains("hint: give each function its own record name"),
            "{}",
            run.stderr
        );
    };
    // A top-level [dns] is the default of every function: api and worker
    // would share it, with or without `together`.
    let top = format!(
        "[dns]\nzone_id = \"{zone}\"\nname = \"api.example.com\"\n[dns.blue]\nvalue = \"b.example.com\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g.example.com\"\nalias = \"green\"\n"
    );
    let fleet = format!(
        "[package]\nsource = \"app\"\n\n{top}\n{}{}",
        entry("api", ""),
        entry("worker", "")
    );
    let (api, worker) = ("functions[0] \"api\"", "functions[1] \"worker\"");
    refused(&fleet, api, worker);
    let together = fleet.replace("[dns]", "[release]\nsteps = [50]\ntogether = true\n\n[dns]");
    refused(&together, api, worker);
    // Each entry its own table, other aliases and endpoints, the zone and
    // the name written differently: still one pair.
    let own = |third: &str| {
        format!(
            "[package]\nsource = \"app\"\n\n{}{}{}",
            entry(
                "api",
                &format!(
                    "dns = {}",
                    dns_table(&format!("/hostedzone/{zone}"), "API.example.com.", "a-")
                )
            ),
            entry("jobs", ""),
            entry(
                "worker",
                &format!("dns = {}", dns_table(&zone, third, "w-"))
            ),
        )
    };
    refused(&own("api.example.com"), api, "functions[2] \"worker\"");
    let calls = p.emulator.requests().split_off(before);
    assert!(calls.is_empty(), "a refused config called AWS: {calls:?}");
    assert!(p.functions().is_empty());
    assert!(p.dns_weights(&zone, "api.example.com").is_empty());

    // Two names in one zone are two pairs: both are released.
    p.write("greenlight.toml", &own("worker.example.com"));
    p.run(&["ship"]).success();
    for (name, function, alias) in [
        ("api.example.com", "api", "a-blue"),
        ("worker.example.com", "worker", "w-blue"),
    ] {
        assert_eq!(
            p.dns_weights(&zone, name),
            BTreeMap::from([
                ("blue".to_owned(), Some(100)),
                ("green".to_owned(), Some(0))
            ]),
            "{name}"
        );
        assert_eq!(p.alias_of(function, alias).expect("alias").0, "1");
    }
    assert_eq!(p.alias_of("jobs", "live").expect("alias").0, "1");
}

#[test]
fn one_function_without_a_package_source_stops_the_fleet_before_any_aws_call() {
    // No top-level [package]: each entry names its own source, and the
    // third names none (or one that is not there).
    let fleet_with = |third: &str| {
        format!(
            "{}{}{}",
            entry("orders", "package = { source = \"app\" }"),
            entry("billing", "package = { source = \"app\" }"),
            entry("payments", third),
        )
    };
    let p = Project::with_config(&fleet_with(""));
    let before = p.emulator.requests().len();
    for args in [
        &["ship", "--output", "json"][..],
        &["ship", "--jobs", "1", "--output", "json"],
        &["deploy", "--output", "json"],
        &["plan", "--output", "json"],
    ] {
        let run = p.run(args).code(2);
        let report = run.json();
        let errors: Vec<&str> = report["functions"]
            .as_array()
            .expect("functions")
            .iter()
            .map(|f| f["error"]["message"].as_str().unwrap_or_default())
            .collect();
        let command = args[0];
        assert_eq!(
            errors,
            [
                "not run: the configuration of payments is wrong, and no function of the fleet calls AWS until every one's is right";
                2
            ]
            .into_iter()
            .chain([format!(
                "greenlight.toml functions[2] \"payments\": `{command}` needs a [package] table with `source`"
            )
            .as_str()])
            .collect::<Vec<_>>(),
            "{args:?}: {report}"
        );
        assert_eq!(report["outcome"], "usage_error", "{report}");
    }
    let missing = p.run(&["ship"]).code(2);
    assert!(
        missing
            .stderr
            .contains("hint: a configuration error stops every function before any AWS write"),
        "{}",
        missing.stderr
    );
    // A source that is not there is found before AWS too.
    p.write(
        "greenlight.toml",
        &fleet_with("package = { source = \"nowhere\" }"),
    );
    let nowhere = p.run(&["ship"]).code(2);
    assert!(
        nowhere.stdout.contains("package source")
            && nowhere.stdout.contains("nowhere cannot be read"),
        "{}",
        nowhere.stdout
    );
    // So is a zip over Lambda's direct-upload limit without a bucket.
    p.write_bytes("big/model.bin", &crate::package::noise(51 * 1024 * 1024));
    p.write(
        "greenlight.toml",
        &fleet_with("package = { source = \"big\" }"),
    );
    let big = p.run(&["ship"]).code(2);
    assert!(
        big.stdout
            .contains("over Lambda's 50 MB limit for uploading code directly"),
        "{}",
        big.stdout
    );
    // So is a function without a region when there is no default one.
    let region = "region = \"us-east-1\"";
    p.write(
        "greenlight.toml",
        &fleet_with(&format!("package = {{ source = \"app\" }}\n{region}"))
            .replace("name = \"orders\"", &format!("name = \"orders\"\n{region}")),
    );
    let no_region: crate::harness::Run = p
        .command(&["ship"])
        .env_remove("AWS_REGION")
        .output()
        .expect("run")
        .into();
    let no_region = no_region.code(2);
    for expected in [
        "── billing (?): usage_error",
        "error     no AWS region is set",
        "── payments (us-east-1): usage_error",
        "error     not run: the configuration of billing is wrong",
    ] {
        assert!(
            no_region.stdout.contains(expected),
            "{expected} in:\n{}",
            no_region.stdout
        );
    }

    let calls = p.emulator.requests().split_off(before);
    assert!(calls.is_empty(), "AWS was called: {calls:?}");
    assert!(p.functions().is_empty(), "no function may be created");
}
