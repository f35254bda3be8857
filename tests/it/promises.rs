//! Promises the README makes, where adversarial runs once broke them: an
//! alias on `$LATEST` (untested code must never reach it), release records
//! that are absurd or damaged, checks that must run before the first write,
//! splits greenlight did not make, and versions that do not hold what was
//! deployed. Every case asserts the alias and versions in the emulator.

use std::collections::BTreeMap;

use aws_sdk_lambda::types::AliasRoutingConfiguration;
use serde_json::json;

use crate::harness::{FUNCTION, Project, default_config, planned_calls, sdk};

/// A project with `[release]` set to `release`, version 1 shipped.
fn shipped(release: &str) -> Project {
    let p = Project::with_config(&format!("{}\n[release]\n{release}\n", default_config()));
    p.run(&["ship"]).success();
    p
}

/// Points `alias` at `version` with `weights` and `description`, as a
/// person in the console (or another tool) would.
fn point(p: &Project, version: &str, weights: &[(&str, f64)], description: &str) {
    let routing = AliasRoutingConfiguration::builder()
        .set_additional_version_weights(Some(
            weights.iter().map(|(v, w)| ((*v).to_owned(), *w)).collect(),
        ))
        .build();
    p.aws(async |c| {
        c.update_alias()
            .function_name(FUNCTION)
            .name("live")
            .function_version(version)
            .routing_config(routing)
            .description(description)
            .send()
            .await
    })
    .expect("update alias");
}

/// The code of `$LATEST` as it is now.
fn latest_sha(p: &Project) -> String {
    p.version_config("$LATEST").code_sha256.unwrap_or_default()
}

/// Version 1 shipped, then (as in the console) other code uploaded to
/// `$LATEST` and alias live pointed at `$LATEST`: users run that code,
/// which no version holds. Returns its CodeSha256.
fn alias_on_latest(p: &Project) -> String {
    sdk::upload(p, "edited in the console");
    let (_, description) = p.alias("live").expect("alias");
    point(p, "$LATEST", &[], &description);
    assert_eq!(p.live_version(), "$LATEST");
    latest_sha(p)
}

/// The alias's description, which holds greenlight's record.
fn record(p: &Project) -> String {
    p.alias("live").expect("alias").1
}

#[test]
fn a_failing_ship_never_reaches_users_of_an_alias_on_latest() {
    let p = shipped("");
    let served = alias_on_latest(&p);
    p.change_code("broken");
    p.emulator
        .queue_invoke_results(&[json!({"errorMessage": "boom", "errorType": "Exception"})]);

    let run = p.run(&["ship"]).code(1);
    assert!(run.stderr.contains("pinning it"), "{}", run.stderr);
    // Pinned first to version 2, exactly what users had; the broken code
    // went to version 3, which nobody reaches.
    assert_eq!(p.versions(), ["1", "2", "3"]);
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert!(
        record(&p).starts_with("greenlight: action=pin version=2 previous=$LATEST"),
        "{}",
        record(&p)
    );
    assert_eq!(p.version_config("2").code_sha256.as_deref(), Some(&*served));
    assert_ne!(p.version_config("3").code_sha256.as_deref(), Some(&*served));
}

#[test]
fn deploy_pins_an_alias_on_latest_before_uploading_and_reports_it() {
    let p = shipped("");
    let served = alias_on_latest(&p);
    p.change_code("v3");

    let doc = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(doc["deploy"]["pinned"], "2");
    assert_eq!(doc["deploy"]["version"], "3");
    assert_eq!(p.live_version(), "2");
    assert_eq!(p.version_config("2").code_sha256.as_deref(), Some(&*served));

    // Pinned once: the next deploy finds a published version.
    p.change_code("v4");
    let doc = p.run(&["deploy", "--output", "json"]).success().json();
    assert!(doc["deploy"].get("pinned").is_none(), "{doc}");
    assert_eq!(p.live_version(), "2");
}

#[test]
fn a_stepped_release_from_latest_pins_first_and_rollback_returns_to_the_pin() {
    let p = shipped("steps = [10]\nbake = \"1h\"");
    let served = alias_on_latest(&p);

    p.run(&["release", "--version", "1", "--no-wait"]).success();
    assert_eq!(
        p.weights("live"),
        ("2".to_owned(), BTreeMap::from([("1".to_owned(), 0.1)]))
    );
    assert_eq!(p.version_config("2").code_sha256.as_deref(), Some(&*served));

    p.run(&["rollback"]).success();
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert_eq!(latest_sha(&p), served, "nothing uploaded");
}

#[test]
fn plan_lists_the_pin_and_writes_nothing() {
    let p = shipped("steps = [10]\nbake = \"1h\"");
    alias_on_latest(&p);
    p.change_code("v3");
    let before = p.emulator.requests().len();

    let doc = p.run(&["plan", "--output", "json"]).success().json();
    let calls = planned_calls(&doc);
    assert_eq!(
        calls[..4],
        [
            "PublishVersion",
            "UpdateAlias",
            "UpdateFunctionCode",
            "PublishVersion"
        ],
        "{doc}"
    );
    let text = doc["dry_run"]["steps"].to_string();
    assert!(
        text.contains("10 % on the new version, 90 % on the version pinned from $LATEST"),
        "{text}"
    );
    let requests = &p.emulator.requests()[before..];
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")),
        "{requests:?}"
    );
    assert_eq!(p.live_version(), "$LATEST");
}

#[test]
fn rollback_never_returns_to_latest_recorded_by_an_older_greenlight() {
    let p = shipped("");
    let old = "greenlight: action=release version=1 previous=$LATEST at=2026-01-01T00:00:00Z";
    point(&p, "1", &[], old);

    let run = p.run(&["rollback"]).code(1);
    assert!(
        run.stderr
            .contains("served $LATEST before the last release, and $LATEST now holds other code"),
        "{}",
        run.stderr
    );
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
    assert_eq!(record(&p), old);
}

#[test]
fn an_absurd_release_record_is_reported_and_rollback_clears_it() {
    for (what, edit) in [
        ("a time in year 9999", " at=9999-12-31T23:59:59Z"),
        (
            "a bake no clock can hold",
            " bake=99999999999999999999999s at=2026-01-01T00:00:00Z",
        ),
    ] {
        let p = shipped("steps = [10]\nbake = \"1h\"");
        p.change_code("v2");
        p.run(&["ship", "--no-wait"]).success();
        let canary = record(&p);
        let cut = if edit.starts_with(" bake") {
            canary.find(" bake=").expect("bake")
        } else {
            canary.find(" at=").expect("at")
        };
        point(&p, "1", &[("2", 0.1)], &format!("{}{edit}", &canary[..cut]));

        let status = p.run(&["status", "--output", "json"]).success().json();
        let problem = status["status"]["problem"].as_str().unwrap_or_default();
        assert!(problem.contains("greenlight rollback"), "{what}: {status}");
        p.run(&["status"]).success();

        let promote = p.run(&["promote", "--output", "json"]).code(1);
        assert_eq!(promote.json()["exit_code"], 1, "{what}");
        assert_eq!(
            p.weights("live"),
            ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)])),
            "{what}: promote moved nothing"
        );

        p.run(&["rollback"]).success();
        p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
    }
}

#[test]
fn a_split_set_outside_greenlight_stops_every_command_until_rollback_clears_it() {
    let p = shipped("steps = [10]\nbake = \"1h\"");
    p.change_code("v2");
    p.run(&["deploy"]).success();
    let created = record(&p);
    point(&p, "1", &[("2", 0.3)], &created);
    let split = "splits traffic (30 % on version 2, 70 % on version 1)";

    p.change_code("v3");
    for args in [&["plan"][..], &["ship"], &["promote"], &["release"]] {
        let run = p.run(args).code(1);
        assert!(run.stderr.contains(split), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("greenlight rollback"), "{}", run.stderr);
    }
    // Nothing was deployed or moved.
    assert_eq!(p.versions(), ["1", "2"]);
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.3)]))
    );
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert!(
        status["status"]["problem"]
            .as_str()
            .is_some_and(|s| s.contains(split)),
        "{status}"
    );

    p.run(&["rollback"]).success();
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}

#[test]
fn a_missing_alarm_stops_ship_before_any_write() {
    let p = shipped("steps = [10]\nalarms = [\"nonexistent-alarm\"]");
    p.change_code("v2");
    let before = p.emulator.requests().len();
    let run = p.run(&["ship"]).code(2);
    assert!(run.stderr.contains("nonexistent-alarm"), "{}", run.stderr);
    // The alarm was looked for, and nothing of any kind written.
    p.emulator
        .assert_only_reads_since(before, &["DescribeAlarms"]);
    assert_eq!(p.versions(), ["1"]);
}

#[test]
fn the_emulator_names_the_version_that_answered_as_lambda_does() {
    // greenlight checks ExecutedVersion against the version under test;
    // this proves the emulator reports it, so that check runs in every test.
    let p = shipped("");
    assert_eq!(p.executed_version("1").as_deref(), Some("1"));
    assert_eq!(p.executed_version("live").as_deref(), Some("1"));
}
