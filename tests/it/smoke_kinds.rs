//! HTTP and command smoke tests, against a real HTTP server on loopback and
//! real shell commands.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::harness::{FUNCTION, Project, ROLE, loopback};

/// Serves, until the test process ends: `/ok` (JSON), `/down` (503),
/// `/slow` (answers after 400 ms), `/flaky` (503 on the first request, then
/// 200) and `/v/N` ("version N"). Returns its base URL.
fn server() -> String {
    let flaky = AtomicUsize::new(0);
    loopback::serve(move |path| {
        let (status, body) = match path {
            "/ok" => (
                "200 OK",
                r#"{"status":"ok","checks":{"db":"up"}}"#.to_owned(),
            ),
            "/down" => ("503 Service Unavailable", "maintenance".to_owned()),
            "/slow" => {
                std::thread::sleep(Duration::from_millis(400));
                ("200 OK", "ok".to_owned())
            }
            "/flaky" if flaky.fetch_add(1, Ordering::SeqCst) == 0 => {
                ("503 Service Unavailable", "cold".to_owned())
            }
            "/flaky" => ("200 OK", "warm".to_owned()),
            p if p.starts_with("/v/") => ("200 OK", format!("version {}", &p[3..])),
            _ => ("404 Not Found", "no such page".to_owned()),
        };
        (status.to_owned(), body.into_bytes())
    })
}

fn config(smoke: &str) -> String {
    format!(
        "[function]\nname = \"{FUNCTION}\"\nruntime = \"python3.12\"\nhandler = \"index.handler\"\nrole = \"{ROLE}\"\n\n[package]\nsource = \"app\"\n\n{smoke}"
    )
}

#[test]
fn http_checks_report_expected_versus_actual() {
    let base = server();
    let passing = format!(
        "[[smoke]]\nname = \"health\"\nhttp = {{ url = \"{base}/ok\", contains = \"ok\", json = {{ checks = {{ db = \"up\" }} }}, max_latency = \"5s\" }}\n\n\
         [[smoke]]\nname = \"placeholders\"\nhttp = {{ url = \"{base}/v/{{version}}\", contains = \"version 1\" }}\n\n\
         [[smoke]]\nname = \"cold start\"\nhttp = {{ url = \"{base}/flaky\" }}\nretries = 2\nretry_delay = \"50ms\"\n"
    );
    let p = Project::with_config(&config(&passing));
    let shipped = p.run(&["ship", "--output", "json"]).success().json();
    let results = shipped["smoke"]["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["passed"] == true), "{results:?}");
    assert!(results.iter().all(|r| r["duration_ms"].is_u64()));

    for (http, expected) in [
        (
            format!("{{ url = \"{base}/down\" }}"),
            "expected status 200, got 503; body was maintenance",
        ),
        (
            format!("{{ url = \"{base}/ok\", contains = \"degraded\" }}"),
            "expected the body to contain \"degraded\", got {\"status\":\"ok\"",
        ),
        (
            format!("{{ url = \"{base}/ok\", json = {{ status = \"down\" }} }}"),
            "expected `status` = \"down\", got \"ok\"",
        ),
        (
            format!("{{ url = \"{base}/slow\", max_latency = \"100ms\" }}"),
            "more than max_latency 100ms",
        ),
    ] {
        p.write(
            "greenlight.toml",
            &config(&format!("[[smoke]]\nname = \"check\"\nhttp = {http}\n")),
        );
        let failed = p.run(&["test", "--version", "1"]).code(1);
        assert!(
            failed.stderr.contains(expected),
            "{expected:?} in\n{}",
            failed.stderr
        );
    }

    // Through the alias (the gate after a release), {version} is still the
    // version being released.
    p.write(
        "greenlight.toml",
        &config(&format!(
            "[[smoke]]\nname = \"version\"\nhttp = {{ url = \"{base}/v/{{version}}\", contains = \"version 2\" }}\n"
        )),
    );
    p.change_code("v2");
    let released = p.run(&["ship", "--output", "json"]).success().json();
    assert_eq!(
        released["release"]["gates"]["smoke"]["results"][0]["passed"],
        true
    );
}

#[test]
fn command_checks_get_the_target_and_show_their_output_when_they_fail() {
    let passing = "[[smoke]]\nname = \"script\"\nrun = \"test \\\"$GREENLIGHT_VERSION\\\" = 1 && test \\\"$GREENLIGHT_FUNCTION\\\" = orders && test \\\"$GREENLIGHT_ALIAS\\\" = live && test -n \\\"$GREENLIGHT_ARN\\\" && test \\\"$GREENLIGHT_REGION\\\" = us-east-1\"\n";
    let p = Project::with_config(&config(passing));
    p.run(&["ship"]).success();

    p.write(
        "greenlight.toml",
        &config("[[smoke]]\nname = \"script\"\nrun = \"echo checking; echo boom >&2; exit 3\"\n"),
    );
    let failed = p.run(&["test", "--version", "1"]).code(1);
    assert!(
        failed.stderr.contains("exited 3: checking\nboom"),
        "{}",
        failed.stderr
    );

    p.write(
        "greenlight.toml",
        &config("[[smoke]]\nname = \"script\"\nrun = \"sleep 5\"\ntimeout = \"300ms\"\n"),
    );
    let slow = p.run(&["test", "--version", "1"]).code(1);
    assert!(
        slow.stderr
            .contains("`sleep 5` still running after 300ms: killed with its child processes"),
        "{}",
        slow.stderr
    );
}

/// Whether process `pid` still runs (a zombie waiting for a parent that
/// does not reap it counts as gone).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}

#[test]
fn a_command_killed_at_its_timeout_takes_its_children_with_it() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let run = "sleep 30 & echo $! > pidfile; wait";
    p.write(
        "greenlight.toml",
        &config(&format!(
            "[[smoke]]\nname = \"script\"\nrun = \"{run}\"\ntimeout = \"1s\"\n"
        )),
    );
    let killed = p.run(&["test"]).code(1);
    assert!(
        killed.stderr.contains(&format!(
            "`{run}` still running after 1s: killed with its child processes"
        )),
        "{}",
        killed.stderr
    );
    let pid =
        std::fs::read_to_string(p.join("pidfile")).expect("the command wrote its child's pid");
    let pid = pid.trim();
    assert!(!pid.is_empty());
    p.wait_for(
        "the background sleep to be killed",
        Duration::from_secs(10),
        || !running(pid),
    );
    assert_eq!(p.live_version(), "1");
}
