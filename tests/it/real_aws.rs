//! Gates and DNS as real AWS behaves where the plain emulator does not
//! (the launcher models it: `localstack/moto_emulator.py`): alarms answered
//! in pages, a function's RevisionId, weights with odd totals, records with
//! health checks.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use crate::dns::{self, NAME};
use crate::harness::{FUNCTION, Project, default_config, sdk};

const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn more_alarms_than_one_page_holds_are_all_read() {
    let names: Vec<String> = (0..120).map(|i| format!("orders-alarm-{i:03}")).collect();
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let p = Project::with_config(&format!(
        "{}\n[release]\nalarms = [{list}]\n",
        default_config()
    ));
    for name in &names {
        p.create_alarm(name);
    }
    p.run(&["ship"]).success();
    p.change_code("v2");

    let doc = p.run(&["ship", "--output", "json"]).success().json();
    let checked = doc["release"]["gates"]["alarms"]
        .as_array()
        .expect("alarms checked");
    assert_eq!(checked.len(), 120, "{doc}");
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
}

#[test]
fn a_change_made_between_greenlights_update_and_its_publish_is_never_published() {
    for change in ["an upload", "a configuration change"] {
        let p = Project::new();
        p.run(&["ship"]).success();
        p.change_code("ours");
        let proxy = p.proxy();
        // greenlight's publish waits at the proxy while someone else
        // changes the function and publishes too; then both go through.
        proxy.barrier("PublishVersion", 2);
        let child = p
            .command_via(&proxy, &["ship"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn greenlight");
        proxy.wait_for_calls("PublishVersion", 1, DEADLINE);
        if change == "an upload" {
            sdk::upload(&p, "theirs");
        } else {
            p.aws(async |c| {
                c.update_function_configuration()
                    .function_name(FUNCTION)
                    .description("changed by hand")
                    .send()
                    .await
            })
            .expect("their configuration change");
        }
        sdk::block_on(
            sdk::lambda_via(&proxy.endpoint)
                .publish_version()
                .function_name(FUNCTION)
                .send(),
        )
        .expect("their publish");

        let out = child.wait_with_output().expect("ship");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{change}: {stderr}");
        assert!(
            stderr.contains("changed by someone else after greenlight updated it"),
            "{change}: {stderr}"
        );
        // Only their version 2 exists; nothing was tested or released.
        assert_eq!(p.versions(), ["1", "2"], "{change}");
        assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
        assert_eq!(proxy.calls("Invoke"), 0, "{change}: no smoke test ran");
    }
}

/// Sets the pair's weights by hand (values, TTL and all else kept).
fn set_weights(p: &Project, zone: &str, blue: i64, green: i64) {
    let sets = sdk::record_sets(p, zone, NAME)
        .into_iter()
        .map(|mut set| {
            set.weight = Some(if set.set_identifier() == Some("blue") {
                blue
            } else {
                green
            });
            set
        })
        .collect();
    sdk::upsert(p, zone, sets);
}

#[test]
fn weights_of_0_0_are_refused_and_a_small_total_steps_as_planned() {
    let p = Project::new();
    let zone = dns::shipped(&p, "steps = [10]\nbake = \"1h\"");
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    dns::assert_weights(&p, &zone, 90, 10);

    // 0/0 is an equal split: neither colour is live, and no weight can be
    // computed from it (during a release or not).
    set_weights(&p, &zone, 0, 0);
    for args in [&["promote"][..], &["rollback"], &["ship"]] {
        let run = p.run(args).code(1);
        assert!(
            run.stderr.contains("Route 53 treats as an equal split"),
            "{args:?}: {}",
            run.stderr
        );
        dns::assert_weights(&p, &zone, 0, 0);
    }
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert!(
        status["status"]["problem"]
            .as_str()
            .is_some_and(|s| s.contains("weight 100")),
        "{status}"
    );
    assert_eq!(p.versions(), ["1", "2"], "nothing deployed");

    // 1/0 routes as 100/0 does, and is rescaled so 10 % is 10 %.
    set_weights(&p, &zone, 1, 0);
    p.change_code("v3");
    p.run(&["ship", "--no-wait"]).success();
    dns::assert_weights(&p, &zone, 90, 10);
    p.end_bake("green");
    p.run(&["promote"]).success();
    dns::assert_weights(&p, &zone, 0, 100);
    p.run(&["rollback"]).success();
    dns::assert_weights(&p, &zone, 100, 0);
}

#[test]
fn every_weight_change_keeps_the_records_health_checks() {
    let p = Project::new();
    let zone = dns::shipped(&p, "steps = [10]\nbake = \"1s\"");
    let check = |colour: &str| format!("00000000-0000-0000-0000-00000000000{}", colour.len());
    let sets = sdk::record_sets(&p, &zone, NAME)
        .into_iter()
        .map(|mut set| {
            set.health_check_id = set.set_identifier().map(check);
            set
        })
        .collect();
    sdk::upsert(&p, &zone, sets);
    let health_checks = || -> BTreeMap<String, Option<String>> {
        sdk::record_sets(&p, &zone, NAME)
            .iter()
            .map(|s| {
                (
                    s.set_identifier().unwrap_or_default().to_owned(),
                    s.health_check_id().map(str::to_owned),
                )
            })
            .collect()
    };
    let before = health_checks();
    assert_eq!(before["blue"].as_deref(), Some(&*check("blue")));

    p.change_code("v2");
    p.run(&["ship"]).success();
    dns::assert_weights(&p, &zone, 0, 100);
    assert_eq!(health_checks(), before, "after the release");
    p.run(&["rollback"]).success();
    dns::assert_weights(&p, &zone, 100, 0);
    assert_eq!(health_checks(), before, "after the rollback");
}
