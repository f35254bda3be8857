//! DNS releases hold against other runners and against hands on the zone,
//! as alias releases do: every weight write is conditional on the pair as
//! it was read, a rolled-back release stays rolled back, a crash between a
//! step's record and its weights is made good, and what greenlight cannot
//! explain stops every command but `rollback` and `status`. Written
//! against behaviour (weights, aliases, exit codes), not internals.

use std::time::Duration;

use crate::dns::{NAME, assert_weights, shipped};
use crate::harness::{Project, sdk, spawned};

const DEADLINE: Duration = Duration::from_secs(60);

/// Version 2 at 10 % on green (`ship --no-wait`), of `[10, 50]` with `bake`.
fn at_ten_percent(bake: &str) -> (Project, String) {
    let p = Project::new();
    let zone = shipped(&p, &format!("steps = [10, 50]\nbake = \"{bake}\""));
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    assert_weights(&p, &zone, 90, 10);
    (p, zone)
}

/// `record` with its time `at` instead of its own.
fn stamped(record: &str, at: &str) -> String {
    let from = record.find(" at=").expect("at=");
    format!("{} at={at}", &record[..from])
}

/// Writes `record` as the alias description of `colour`, as a crash or
/// another machine would have left it.
fn write_record(p: &Project, colour: &str, record: &str) {
    p.aws(async |c| {
        c.update_alias()
            .function_name(crate::harness::FUNCTION)
            .name(colour)
            .description(record)
            .send()
            .await
    })
    .expect("write the release record");
}

/// The alias description (greenlight's record) of `colour`.
fn record(p: &Project, colour: &str) -> String {
    p.alias(colour).expect("alias").1
}

#[test]
fn a_rollback_is_never_undone_by_the_release_it_stopped() {
    let p = Project::new();
    let zone = shipped(&p, "steps = [10, 50]\nbake = \"1s\"");
    p.change_code("v2");
    let proxy = p.proxy();
    // The ship's first write after its first bake, the record of step 2
    // (the alias's third update: the release's record, that of step 1,
    // then this), waits at the proxy while another runner rolls back. The
    // ship has read the pair at 90/10 and goes on from there.
    proxy.hold("UpdateAlias", &[3]);
    let ship = spawned(p.command_via(&proxy, &["ship"]));
    proxy.wait_until_held("UpdateAlias", 3, DEADLINE);
    assert_eq!(proxy.calls("ChangeResourceRecordSets"), 1, "one move made");
    assert_weights(&p, &zone, 90, 10);
    p.run(&["rollback"]).success();
    assert_weights(&p, &zone, 100, 0);
    proxy.release("UpdateAlias", 3);

    let out = ship.wait_with_output().expect("ship");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changed by someone else meanwhile"),
        "{stderr}"
    );
    assert_weights(&p, &zone, 100, 0);
    assert!(
        record(&p, "blue").starts_with("greenlight: action=rollback version=1 previous=2"),
        "{}",
        record(&p, "blue")
    );
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert!(status["status"]["in_progress"].is_null(), "{status}");
    assert!(status["status"]["problem"].is_null(), "{status}");
}

/// Runs `first` and `second` through `proxy` at once; their exit codes,
/// sorted, and their standard error.
fn race(
    p: &Project,
    proxy: &crate::harness::FaultProxy,
    first: &[&str],
    second: &[&str],
) -> (Vec<i32>, String) {
    let runs = [
        spawned(p.command_via(proxy, first)),
        spawned(p.command_via(proxy, second)),
    ]
    .map(|child| child.wait_with_output().expect("greenlight"));
    let mut codes: Vec<i32> = runs.iter().map(|r| r.status.code().unwrap_or(-1)).collect();
    codes.sort_unstable();
    let stderr = runs
        .iter()
        .map(|r| String::from_utf8_lossy(&r.stderr).into_owned())
        .collect::<Vec<_>>()
        .join("\n---\n");
    (codes, stderr)
}

#[test]
fn of_two_promotes_at_once_exactly_one_moves() {
    let (p, zone) = at_ten_percent("1h");
    p.end_bake("green");
    let proxy = p.proxy();
    // Both read the release, then their writes of the step's record meet.
    proxy.barrier("UpdateAlias", 2);
    let (codes, stderr) = race(&p, &proxy, &["promote"], &["promote"]);
    assert_eq!(codes, [0, 1], "{stderr}");
    assert!(
        stderr.contains("changed by someone else meanwhile"),
        "{stderr}"
    );
    assert_weights(&p, &zone, 50, 50);
    assert_eq!(
        proxy.calls("ChangeResourceRecordSets"),
        1,
        "one weight write"
    );
}

#[test]
fn of_a_promote_and_a_rollback_at_once_one_weight_write_wins_and_rollback_converges() {
    let (p, zone) = at_ten_percent("1h");
    p.end_bake("green");
    let proxy = p.proxy();
    // Both read the pair at 90/10, then their weight writes meet: each
    // deletes the records as it read them, so only the first applies.
    proxy.barrier("ChangeResourceRecordSets", 2);
    let (codes, stderr) = race(&p, &proxy, &["promote"], &["rollback"]);
    assert!(
        stderr.contains("changed by someone else meanwhile"),
        "{stderr}"
    );
    let weights = p.dns_weights(&zone, NAME);
    if weights == crate::dns::weights(&[("blue", 50), ("green", 50)]) {
        // The promote won; the rollback says a person must look (exit 4).
        assert_eq!(codes, [0, 4], "{stderr}");
    } else {
        // The rollback won; the promote stopped, writing nothing more.
        assert_eq!(codes, [0, 1], "{stderr}");
        assert_weights(&p, &zone, 100, 0);
    }
    proxy.clear();
    p.run(&["rollback"]).success();
    assert_weights(&p, &zone, 100, 0);
}

#[test]
fn a_rolled_back_release_split_again_by_hand_is_not_resumed() {
    let (p, zone) = at_ten_percent("1h");
    p.run(&["rollback"]).success();
    // The split of the release's own step, then one that is no step: the
    // rolled-back release's record matches the first, yet neither resumes it.
    for (blue, green) in [(90, 10), (70, 30)] {
        sdk::set_dns_weights(&p, &zone, NAME, blue, green);
        p.end_bake("green");
        let hand_made = format!(
            "splits its weight blue {blue}, green {green}, but no greenlight release is in progress: it was changed outside greenlight"
        );

        let run = p.run(&["promote"]).code(1);
        assert!(run.stderr.contains(&hand_made), "{}", run.stderr);
        assert_weights(&p, &zone, blue, green);
        let status = p.run(&["status", "--output", "json"]).success().json();
        let problem = status["status"]["problem"].as_str().unwrap_or_default();
        assert!(problem.contains(&hand_made), "{status}");
        assert!(status["status"]["in_progress"].is_null(), "{status}");
    }
}

/// The records of the two colours are ordered by their whole-second
/// times: a release of version 2 in the second of the rollback of version 2
/// (or just after a clock a moment ahead wrote it) must still read as the
/// newer, a release in progress, not as a split made by hand.
#[test]
fn a_release_in_the_second_of_the_rollback_before_it_reads_as_in_progress() {
    let (p, zone) = at_ten_percent("1h");
    p.run(&["rollback"]).success();
    assert_weights(&p, &zone, 100, 0);
    // The rollback's record stamped 2 s ahead: the release below writes its
    // first record within that second.
    let rolled_back = record(&p, "blue");
    assert!(
        rolled_back.starts_with("greenlight: action=rollback version=1 previous=2"),
        "{rolled_back}"
    );
    let ahead = (time::OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .replace_nanosecond(0)
        .expect("a whole second")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time");
    let ahead = stamped(&rolled_back, &ahead);
    write_record(&p, "blue", &ahead);

    p.run(&["release", "--version", "2", "--no-wait"]).success();
    assert_weights(&p, &zone, 90, 10);
    let promoted = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(promoted["outcome"], "in_progress", "{promoted}");
    assert_weights(&p, &zone, 90, 10);
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert_eq!(status["status"]["in_progress"]["percent"], 10, "{status}");
    assert!(status["status"]["problem"].is_null(), "{status}");
}

#[test]
fn weights_a_step_behind_their_record_are_set_again_not_skipped() {
    let (p, zone) = at_ten_percent("1h");
    // A crash after the record of step 2 and before its weights: the
    // record says 50 %, the weights are still those of 10 %.
    let step_one = record(&p, "green");
    assert!(step_one.contains(" step=0 "), "{step_one}");
    let step_two = step_one.replace(" step=0 ", " step=1 ");
    let step_two = stamped(&step_two, "2000-01-01T00:00:00Z");
    write_record(&p, "green", &step_two);
    assert_eq!(record(&p, "green"), step_two, "the crash's record");
    assert_weights(&p, &zone, 90, 10);

    let doc = p.run(&["promote", "--output", "json"]).success().json();
    assert_eq!(doc["release"]["moves"], serde_json::json!([50]), "{doc}");
    assert_weights(&p, &zone, 50, 50);
    assert_eq!(doc["release"]["in_progress"]["percent"], 50, "{doc}");
    // Step 2 made again: its record written anew (a fresh bake), then its
    // weights.
    let after = record(&p, "green");
    assert!(
        after.starts_with("greenlight: action=canary version=2 previous=1 step=1 "),
        "{after}"
    );
    assert!(!after.contains(" at=2000-01-01"), "{after}");
    assert_eq!(p.alias("green").expect("green").0, "2");
}

#[test]
fn a_missing_live_colour_alias_stops_ship_before_anything_changes() {
    let p = Project::new();
    let zone = shipped(&p, "steps = [10]\nbake = \"1h\"");
    p.aws(async |c| {
        c.delete_alias()
            .function_name(crate::harness::FUNCTION)
            .name("blue")
            .send()
            .await
    })
    .expect("delete alias blue");
    p.change_code("v2");
    let run = p.run(&["ship", "--no-wait"]).code(1);
    assert!(
        run.stderr
            .contains("alias blue behind the live colour blue does not exist"),
        "{}",
        run.stderr
    );
    assert_eq!(p.versions(), ["1"], "nothing deployed");
    assert_weights(&p, &zone, 100, 0);
}

#[test]
fn weights_changed_by_hand_during_a_release_stop_it_until_rollback() {
    let (p, zone) = at_ten_percent("1h");
    sdk::set_dns_weights(&p, &zone, NAME, 70, 30);
    p.end_bake("green");

    let status = p.run(&["status", "--output", "json"]).success().json();
    let problem = status["status"]["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("changed outside greenlight"), "{status}");
    for args in [&["promote"][..], &["release", "--version", "2"]] {
        let run = p.run(args).code(1);
        assert!(run.stderr.contains("greenlight rollback"), "{}", run.stderr);
        assert_weights(&p, &zone, 70, 30);
    }
    p.run(&["rollback"]).success();
    assert_weights(&p, &zone, 100, 0);
}

#[test]
fn a_rollback_that_died_after_its_weights_converges_on_the_next_one() {
    let (p, zone) = at_ten_percent("1h");
    // The weights are back on blue, the rollback record never written.
    sdk::set_dns_weights(&p, &zone, NAME, 100, 0);
    let (blue, green) = (record(&p, "blue"), record(&p, "green"));
    let proxy = p.proxy();

    let doc = p
        .run_via(&proxy, &["rollback", "--output", "json"])
        .success()
        .json();
    assert_eq!(doc["rollback"]["already_rolled_back"], true, "{doc}");
    assert_eq!(doc["rollback"]["from"], "2", "{doc}");
    assert_eq!(doc["rollback"]["to"], "1", "{doc}");
    // Nothing is left in progress: a later promote finds nothing to do,
    // status shows no release and no problem.
    let promote = p
        .run_via(&proxy, &["promote", "--output", "json"])
        .success()
        .json();
    assert_eq!(promote["outcome"], "nothing_in_progress", "{promote}");
    let status = p
        .run_via(&proxy, &["status", "--output", "json"])
        .success()
        .json();
    assert!(status["status"]["in_progress"].is_null(), "{status}");
    assert!(status["status"]["problem"].is_null(), "{status}");
    // And none of the three wrote anything.
    let log = proxy.log();
    assert!(
        log.iter().any(|c| c.op == "ListResourceRecordSets"),
        "{log:?}"
    );
    let writes: Vec<&str> = log
        .iter()
        .map(|c| c.op.as_str())
        .filter(|op| {
            !["Get", "List", "Describe"]
                .iter()
                .any(|r| op.starts_with(r))
        })
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_weights(&p, &zone, 100, 0);
    assert_eq!((record(&p, "blue"), record(&p, "green")), (blue, green));
}

#[test]
fn rollback_dry_run_fails_where_rollback_fails() {
    let p = Project::new();
    let zone = shipped(&p, "steps = []");
    p.change_code("v2");
    p.run(&["ship"]).success();
    assert_weights(&p, &zone, 0, 100);
    // A deploy stages version 3 on blue, the colour a rollback returns to.
    p.change_code("v3");
    p.run(&["deploy"]).success();

    let planned = p.run(&["rollback", "--dry-run"]).code(1);
    let real = p.run(&["rollback"]).code(1);
    assert_eq!(planned.stderr, real.stderr);
    assert!(
        real.stderr.contains("no longer serves version 1"),
        "{}",
        real.stderr
    );
    assert_weights(&p, &zone, 0, 100);
}

#[test]
fn status_shows_a_dns_release_in_progress_and_reports_its_gates() {
    let (p, zone) = at_ten_percent("1h");
    let status = p.run(&["status", "--output", "json"]).success().json();
    let at = &status["status"]["in_progress"];
    assert_eq!(at["version"], "2", "{status}");
    assert_eq!(at["percent"], 10, "{status}");
    assert_eq!(at["step"], 1, "{status}");
    assert!(
        at["next"]
            .as_str()
            .is_some_and(|n| n.contains("move to 50 %")),
        "{status}"
    );

    p.emulator
        .queue_invoke_results(&[serde_json::json!({"probe": "degraded"})]);
    let doc = p.run(&["promote", "--output", "json"]).code(3).json();
    let smoke = &doc["release"]["gates"]["smoke"]["results"][0];
    assert_eq!(smoke["passed"], false, "{doc}");
    // The red gate put all the weight back on blue and recorded it there.
    assert_weights(&p, &zone, 100, 0);
    assert!(
        record(&p, "blue").starts_with("greenlight: action=rollback version=1 previous=2"),
        "{}",
        record(&p, "blue")
    );
}

#[test]
fn the_gates_wait_for_the_longer_ttl_of_the_two_records() {
    let p = Project::new();
    p.create_alarm("orders-errors");
    let zone = shipped(
        &p,
        "steps = [50]\nbake = \"1s\"\nalarms = [\"orders-errors\"]",
    );
    // Blue (the colour losing weight) is cached for 3 s. Route 53 keeps one
    // TTL for a weighted set (the value written last), so green's is 3 s too.
    let sets = sdk::record_sets(&p, &zone, NAME)
        .into_iter()
        .filter(|set| set.set_identifier() == Some("blue"))
        .map(|mut set| {
            set.ttl = Some(3);
            set
        })
        .collect();
    sdk::upsert(&p, &zone, sets);
    p.change_code("v2");
    let proxy = p.proxy();
    p.run_via(&proxy, &["ship"]).success();
    assert_weights(&p, &zone, 0, 100);
    crate::dns::assert_gates_waited(&proxy.log(), Duration::from_secs(3));
}

#[test]
fn record_values_are_compared_as_dns_names_and_swapped_records_refused() {
    let p = Project::new();
    let zone = shipped(&p, "steps = []");
    // The same hosts, written otherwise: upper case and a trailing dot.
    let shout = |sets: Vec<aws_sdk_route53::types::ResourceRecordSet>, swap: bool| {
        sets.into_iter()
            .map(|mut set| {
                let mine = set.set_identifier() == Some("blue");
                let host = if mine != swap {
                    "BLUE.example.com."
                } else {
                    "GREEN.Example.com."
                };
                set.resource_records = Some(vec![
                    aws_sdk_route53::types::ResourceRecord::builder()
                        .value(host)
                        .build()
                        .expect("value"),
                ]);
                set
            })
            .collect::<Vec<_>>()
    };
    sdk::upsert(&p, &zone, shout(sdk::record_sets(&p, &zone, NAME), false));
    p.change_code("v2");
    p.run(&["ship"]).success();
    assert_weights(&p, &zone, 0, 100);

    sdk::upsert(&p, &zone, shout(sdk::record_sets(&p, &zone, NAME), true));
    p.change_code("v3");
    let run = p.run(&["ship"]).code(1);
    assert!(
        run.stderr.contains("the records are swapped"),
        "{}",
        run.stderr
    );
    assert_eq!(p.versions(), ["1", "2"], "nothing deployed");
    assert_weights(&p, &zone, 0, 100);
}

#[test]
fn a_promote_writes_no_step_record_over_weights_changed_since_it_read_them() {
    let (p, zone) = at_ten_percent("1h");
    p.end_bake("green");
    let step_one = record(&p, "green");
    let proxy = p.proxy();
    // The promote's last read of the pair before it writes the record of
    // step 2 (its third ListResourceRecordSets, after its state and its
    // gates) waits at the proxy while another runner rolls back; it then
    // reads the pair rolled back.
    proxy.hold("ListResourceRecordSets", &[3]);
    let promote = spawned(p.command_via(&proxy, &["promote"]));
    proxy.wait_until_held("ListResourceRecordSets", 3, DEADLINE);
    assert_eq!(proxy.calls("UpdateAlias"), 0, "no record written yet");
    p.run(&["rollback"]).success();
    assert_weights(&p, &zone, 100, 0);
    proxy.release("ListResourceRecordSets", 3);

    let out = promote.wait_with_output().expect("promote");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changed by someone else meanwhile"),
        "{stderr}"
    );
    // It stopped writing nothing: no record of a step over the rollback
    // (green's alias still holds step 1's), no weights.
    assert_eq!(proxy.calls("UpdateAlias"), 0, "{stderr}");
    assert_eq!(proxy.calls("ChangeResourceRecordSets"), 0, "{stderr}");
    assert_eq!(record(&p, "green"), step_one);
    assert_weights(&p, &zone, 100, 0);
}
