//! `[[functions]]`: a whole service in one config, against the emulator.
//! Each function is deployed, tested and released on its own: one
//! function's failure stops that function only, and the exit code is the
//! worst of them.

use crate::harness::{Project, ROLE};

/// Three functions: `orders` uses `app/`, `billing` and `broken` their own
/// sources; `broken`'s smoke test expects `v` = `expected` (the emulator
/// echoes the payload, `v` = "1").
fn fleet_config(expected: &str) -> String {
    let entry = |name: &str, extra: &str| {
        format!(
            "[[functions]]\nname = \"{name}\"\nruntime = \"python3.12\"\nhandler = \"index.handler\"\nrole = \"{ROLE}\"\n{extra}\n"
        )
    };
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
    let outcomes: Vec<(&str, &str)> = first["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap_or(""),
                f["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
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
