//! Gates and DNS as real AWS behaves where the plain emulator does not
//! (the launcher models it: `localstack/greenlight_emulator/`): alarms
//! answered in small pages, a function's RevisionId and CodeSha256 guarding
//! a publish, weights with odd totals, records with health checks.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;

use crate::dns::{self, NAME};
use crate::harness::{FUNCTION, Project, default_config, sdk, spawned};

const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn more_alarms_than_one_page_holds_are_all_read() {
    // 120 names: more than one DescribeAlarms call takes (100), and, at
    // 10 alarms a page, twelve pages.
    let names: Vec<String> = (0..120).map(|i| format!("orders-alarm-{i:03}")).collect();
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let p = Project::with_emulator(
        &format!("{}\n[release]\nalarms = [{list}]\n", default_config()),
        &["--alarms-per-page", "10"],
    );
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
    let pages = p.emulator.answers("DescribeAlarms");
    assert!(pages.iter().all(|status| *status == 200), "{pages:?}");

    // A red alarm on the second page stops the release.
    p.set_alarm("orders-alarm-015", StateValue::Alarm);
    p.change_code("v3");
    let stopped = p.run(&["ship"]).code(1);
    assert!(
        stopped
            .stderr
            .contains("alarm orders-alarm-015 is already in ALARM"),
        "{}",
        stopped.stderr
    );
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert_eq!(p.versions(), ["1", "2"], "nothing deployed");
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
        let child = spawned(p.command_via(&proxy, &["ship"]));
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
        p.wait_until_updated();
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
            stderr.contains("changed by someone else while greenlight deployed it"),
            "{change}: {stderr}"
        );
        // Only their version 2 exists; nothing was tested or released.
        assert_eq!(p.versions(), ["1", "2"], "{change}");
        assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
        assert_eq!(proxy.calls("Invoke"), 0, "{change}: no smoke test ran");
    }
}

#[test]
fn a_version_holding_someone_elses_upload_is_never_tested_or_released() {
    let p = Project::new();
    p.run(&["ship"]).success();
    // A configuration change alone: greenlight uploads no code, so the
    // RevisionId it publishes with is read after its own update, and only
    // the CodeSha256 of the code it built stands between their upload and
    // a published version.
    p.write(
        "greenlight.toml",
        &default_config().replace("memory = 256", "memory = 512"),
    );
    let proxy = p.proxy();
    proxy.hold("UpdateFunctionConfiguration", &[1]);
    let child = spawned(p.command_via(&proxy, &["ship"]));
    proxy.wait_until_held("UpdateFunctionConfiguration", 1, DEADLINE);
    sdk::upload(&p, "theirs");
    p.wait_until_updated();
    proxy.release("UpdateFunctionConfiguration", 1);

    let out = child.wait_with_output().expect("ship");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changed by someone else while greenlight deployed it"),
        "{stderr}"
    );
    assert_eq!(p.emulator.answers("PublishVersion").last(), Some(&412));
    assert_eq!(p.versions(), ["1"], "their code was never published");
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
    assert_eq!(proxy.calls("Invoke"), 0, "no smoke test ran");
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
    sdk::set_dns_weights(&p, &zone, NAME, 0, 0);
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
    sdk::set_dns_weights(&p, &zone, NAME, 1, 0);
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

#[test]
fn a_version_alarm_with_no_data_holds_the_step_until_it_has_some() {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10]\nbake = \"1h\"\nalarms = [\"orders-v{{version}}\"]\n",
        default_config()
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    // Made for this release, as templates/version-alarm.sh would: no data yet.
    p.create_alarm("orders-v2");
    p.set_alarm("orders-v2", StateValue::InsufficientData);
    p.run(&["ship", "--no-wait"]).success();
    let split = ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]));
    assert_eq!(p.weights("live"), split);

    p.end_bake("live");
    let held = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(held["outcome"], "held", "{held}");
    let why = held["release"]["in_progress"]["held"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("alarm orders-v2 has had no data"), "{held}");
    assert_eq!(p.weights("live"), split, "held: nothing moved");

    p.set_alarm("orders-v2", StateValue::Ok);
    p.run(&["promote"]).success();
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn an_alarm_silent_since_before_the_step_holds_a_waiting_ship_until_exit_5_unless_ok() {
    let release = "steps = [10]\nbake = \"1s\"\nmax_hold = \"1s\"\nalarms = [\"orders-errors\"]";
    let p = Project::with_config(&format!("{}\n[release]\n{release}\n", default_config()));
    p.run(&["ship"]).success();
    p.create_alarm("orders-errors");
    p.set_alarm("orders-errors", StateValue::InsufficientData);
    // The step must begin in a later second than the alarm fell silent.
    let silent = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    p.wait_for("the next second", DEADLINE, || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            > silent
    });
    p.change_code("v2");
    let run = p.run(&["ship"]).code(5);
    assert!(
        run.stderr.contains("alarm orders-errors has had no data"),
        "{}",
        run.stderr
    );
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]))
    );

    // With `insufficient_data = "ok"`, no data counts as green.
    p.write(
        "greenlight.toml",
        &format!(
            "{}\n[release]\n{release}\ninsufficient_data = \"ok\"\n",
            default_config()
        ),
    );
    p.run(&["promote"]).success();
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}
