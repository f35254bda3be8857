//! Two `rollback` runs at once on a two-colour release (`[dns]`, `[alb]`),
//! or two `promote` runs rolling back on one red alarm, against the
//! emulator: the run whose restore lands second finds the release rolled
//! back by the other (the rollback record on the colour's
//! alias is written only over the `RevisionId` read with the split, so
//! only one run records it). It reports that rollback (`rollback`: exit 0,
//! `already_rolled_back`; `promote`: exit 3, not 4) and tells nothing: `rolled_back` once, by the run
//! that made it, and no `rollback_failed`. As for the alias
//! (`hostile_notify`); each test reads the weights and the record back.

use std::time::Duration;

use crate::alb::behind_a_load_balancer;
use crate::dns::{alarm_after_the_move, assert_weights, rolled_back_by_the_alarm, shipped};
use crate::harness::loopback::{Received, recorder};
use crate::harness::{FaultProxy, Project, spawned};
use crate::hostile_notify::events;

/// `[release]` in two steps gated by the alarm `orders-errors`, telling
/// a webhook at `hook` of rollbacks.
fn release_telling(hook: &str) -> String {
    format!(
        "steps = [10, 50]\nbake = \"1h\"\nalarms = [\"orders-errors\"]\n\n[[notify]]\nwebhook = \"{hook}/hooks/race\"\nevents = [\"rolled_back\", \"rollback_failed\"]\n"
    )
}

/// Starts `command` (`rollback` or `promote`) through `proxy`, held at its
/// first call of `op` (its first write), while the same command runs in
/// full; checks the held run ends with `code`, having told `webhook`
/// nothing (`rolled_back` once in all), and returns its JSON.
fn late(
    p: &Project,
    proxy: &FaultProxy,
    (command, code): (&str, i32),
    op: &str,
    webhook: &Received,
) -> serde_json::Value {
    proxy.hold(op, &[1]);
    let late = spawned(p.command_via(proxy, &[command, "--output", "json"]));
    proxy.look_before_each(op, &[1], Duration::from_secs(90), |_| {
        p.run(&[command]).code(code);
    });
    let out = late.wait_with_output().expect("the late run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stdout}\n{stderr}");
    assert_eq!(events(webhook), ["rolled_back"], "{stderr}");
    serde_json::from_str(&stdout).expect("JSON")
}

/// The late `rollback` reports the other's rollback (exit 0).
fn late_rollback(p: &Project, proxy: &FaultProxy, op: &str, webhook: &Received) {
    let doc = late(p, proxy, ("rollback", 0), op, webhook);
    assert_eq!(doc["rollback"]["already_rolled_back"], true, "{doc}");
}

/// The alias description (greenlight's record) of `colour`, without its time.
fn record_of(p: &Project, colour: &str) -> String {
    let record = p.alias(colour).expect("the colour's alias").1;
    record.split(" at=").next().unwrap_or_default().to_owned()
}

/// Version 2 released to 10 % on green by DNS, telling the webhook it
/// returns of rollbacks; the zone.
fn dns_at_ten_percent() -> (Project, String, Received) {
    let (hook, webhook) = recorder("200 OK");
    let p = Project::new();
    p.create_alarm("orders-errors");
    let zone = shipped(&p, &release_telling(&hook));
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &zone, 90, 10);
    (p, zone, webhook)
}

/// All the weight is back on blue, whose alias serves version 1 with the
/// record of the rollback of version 2.
#[track_caller]
fn back_on_blue(p: &Project, zone: &str) {
    assert_weights(p, zone, 100, 0);
    assert_eq!(p.alias("blue").expect("blue").0, "1");
    assert_eq!(
        record_of(p, "blue"),
        "greenlight: action=rollback version=1 previous=2"
    );
}

#[test]
fn two_dns_rollbacks_at_once_tell_rolled_back_once() {
    let (p, zone, webhook) = dns_at_ten_percent();
    let proxy = p.proxy();
    late_rollback(&p, &proxy, "ChangeResourceRecordSets", &webhook);
    back_on_blue(&p, &zone);
}

#[test]
fn two_dns_promotes_rolling_back_at_once_tell_rolled_back_once() {
    let (p, zone, webhook) = dns_at_ten_percent();
    p.set_alarm(
        "orders-errors",
        aws_sdk_cloudwatch::types::StateValue::Alarm,
    );
    let proxy = p.proxy();
    let doc = late(
        &p,
        &proxy,
        ("promote", 3),
        "ChangeResourceRecordSets",
        &webhook,
    );
    assert_eq!(doc["exit_code"], 3, "{doc}");
    back_on_blue(&p, &zone);
}

#[test]
fn two_alb_rollbacks_at_once_tell_rolled_back_once() {
    let (hook, webhook) = recorder("200 OK");
    let (p, alb) = behind_a_load_balancer([100, 0], &release_telling(&hook));
    p.create_alarm("orders-errors");
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    crate::alb::assert_weights(&p, &alb, 90, 10);
    let proxy = p.proxy();
    late_rollback(&p, &proxy, "ModifyListener", &webhook);
    crate::alb::assert_weights(&p, &alb, 100, 0);
    assert_eq!(p.alias("blue").expect("blue").0, "1");
    assert_eq!(
        record_of(&p, "blue"),
        "greenlight: action=rollback version=1 previous=2"
    );
}

/// A release whose live colour serves `$LATEST` pins it first (a write to
/// that colour's alias); a red alarm after the first move then still
/// records the rollback there over the alias as the pin left it: exit 3,
/// all the weight back on blue, not exit 4.
#[test]
fn a_release_that_pinned_the_live_colour_still_records_its_rollback() {
    let (p, zone, webhook) = dns_at_ten_percent();
    p.run(&["rollback"]).success();
    assert_weights(&p, &zone, 100, 0);
    p.aws(async |c| {
        c.update_alias()
            .function_name(crate::harness::FUNCTION)
            .name("blue")
            .function_version("$LATEST")
            .send()
            .await
    })
    .expect("blue on $LATEST");
    let proxy = p.proxy();
    let child = spawned(p.command_via(&proxy, &["release", "--version", "2"]));
    alarm_after_the_move(&p, &proxy);
    rolled_back_by_the_alarm(child);
    assert_weights(&p, &zone, 100, 0);
    let (serves, record) = p.alias("blue").expect("blue");
    assert_ne!(serves, "$LATEST", "pinned");
    assert!(
        record.starts_with(&format!(
            "greenlight: action=rollback version={serves} previous=2"
        )),
        "{record}"
    );
    assert_eq!(events(&webhook), ["rolled_back", "rolled_back"]);
}
