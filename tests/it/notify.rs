//! `[[notify]]` (issue 25 §3) against the emulator: webhooks and Slack on
//! a loopback server the test starts (each request kept), SNS on the
//! emulator (a queue subscribed to the topic, read back). Each event is
//! told once per state change however often `promote` runs, an endpoint
//! that is down changes no exit code, URLs never reach the output, and a
//! bad table is exit 2 before any AWS call. Each test reads the alias back.

use std::collections::BTreeMap;

use crate::harness::loopback::{Received, recorder};
use crate::harness::{Fault, Project, SECRET, default_config, python};
use crate::provenance::{SHA, github, run_with};

/// The token in every webhook URL: it must never be printed.
const TOKEN: &str = "t0ken-never-print";

/// The JSON bodies `received` got, oldest first.
fn bodies(received: &Received) -> Vec<serde_json::Value> {
    received
        .lock()
        .expect("the requests")
        .iter()
        .map(|(_, body)| serde_json::from_str(body).expect("a JSON body"))
        .collect()
}

/// The `event` of each notice.
fn events(notices: &[serde_json::Value]) -> Vec<String> {
    notices
        .iter()
        .map(|n| n["event"].as_str().expect("event").to_owned())
        .collect()
}

/// The default config with `[release]` = `release` and `notify` after it.
fn config(release: &str, notify: &str) -> String {
    format!("{}\n[release]\n{release}\n{notify}\n", default_config())
}

/// Version 2's weights on alias live at `share`.
fn at(share: f64) -> (String, BTreeMap<String, f64>) {
    ("1".to_owned(), BTreeMap::from([("2".to_owned(), share)]))
}

#[test]
fn a_canary_promoted_by_several_runs_tells_each_event_once() {
    let (hook, webhook) = recorder("200 OK");
    let (slack_base, slack) = recorder("200 OK");
    let slack_url = format!("{slack_base}/services/{TOKEN}");
    let p = Project::with_config(&config(
        "steps = [10, 50]\nbake = \"1h\"",
        &format!(
            "[[notify]]\nwebhook = \"{hook}/hooks/{TOKEN}\"\n\
             [[notify]]\nslack = {{ env = \"SLACK_URL\" }}\n"
        ),
    ));
    let mut vars = github(SHA);
    vars.push(("SLACK_URL", slack_url.clone()));
    let run = |args: &[&str]| {
        let run = run_with(&p, &vars, args).success();
        let output = run.all_output();
        for secret in [TOKEN, SECRET] {
            assert!(!output.contains(secret), "{secret} shown: {output}");
        }
        run
    };
    run(&["ship"]);
    assert!(
        bodies(&webhook).is_empty(),
        "creating the alias tells nothing"
    );
    p.change_code("v2");
    run(&["ship", "--no-wait"]);
    assert_eq!(p.weights("live"), at(0.1));
    for _ in 0..2 {
        run(&["promote"]);
    }
    p.end_bake("live");
    run(&["promote"]);
    run(&["promote"]);
    assert_eq!(p.weights("live"), at(0.5));
    p.end_bake("live");
    run(&["promote"]);
    run(&["promote"]);
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));

    let told = bodies(&webhook);
    assert_eq!(events(&told), ["started", "step", "released"], "{told:?}");
    for (notice, (step, percent, outcome)) in told.iter().zip([
        (Some(1), 10, "in_progress"),
        (Some(2), 50, "in_progress"),
        (None, 100, "released"),
    ]) {
        assert_eq!(notice["step"].as_u64(), step, "{notice}");
        assert_eq!(notice["percent"], percent, "{notice}");
        assert_eq!(notice["outcome"], outcome, "{notice}");
        assert_eq!(notice["function"], "orders", "{notice}");
        assert_eq!(notice["alias"], "live", "{notice}");
        assert_eq!(notice["version"], "2", "{notice}");
        assert_eq!(notice["previous"], "1", "{notice}");
        assert_eq!(notice["region"], "us-east-1", "{notice}");
        assert_eq!(notice["account"], "123456789012", "{notice}");
        assert_eq!(notice["commit"], SHA, "{notice}");
        assert_eq!(
            notice["run_url"], "https://github.com/acme/orders/actions/runs/42",
            "{notice}"
        );
    }
    let paths: Vec<String> = webhook
        .lock()
        .expect("the requests")
        .iter()
        .map(|(path, _)| path.clone())
        .collect();
    assert!(
        paths.iter().all(|p| *p == format!("/hooks/{TOKEN}")),
        "{paths:?}"
    );

    let slacked = bodies(&slack);
    assert_eq!(slacked.len(), 3, "{slacked:?}");
    let last = slacked[2]["text"].as_str().expect("a Slack text");
    for fact in ["orders version 2 is released", "alias live", SHA, "runs/42"] {
        assert!(last.contains(fact), "{fact} in {last}");
    }
    let all = format!("{told:?}{slacked:?}");
    assert!(!all.contains(SECRET), "{all}");
}

#[test]
fn a_held_release_promoted_three_times_tells_held_once() {
    let (hook, webhook) = recorder("200 OK");
    let p = crate::metric_gates::canary_at_ten_percent_by(
        &format!(
            "{}\n[[notify]]\nwebhook = \"{hook}/{TOKEN}\"\nevents = [\"held\"]\n",
            crate::metric_gates::GATE
        ),
        "1s",
    );
    p.put_lambda_metrics("live", "2", 20.0, 0.0);
    p.put_lambda_metrics("live", "1", 180.0, 0.0);
    for _ in 0..3 {
        let held = p.run(&["promote", "--output", "json"]).success().json();
        assert_eq!(held["outcome"], "held", "{held}");
    }
    let told = bodies(&webhook);
    assert_eq!(events(&told), ["held"], "{told:?}");
    assert_eq!(told[0]["percent"], 10);
    assert_eq!(told[0]["outcome"], "held");
    assert!(
        told[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("20 of the 100 invocations needed")),
        "{told:?}"
    );
    let (version, description) = p.alias("live").expect("alias");
    assert_eq!(version, "1");
    assert!(description.contains(" held=0 "), "{description}");
    assert_eq!(p.weights("live"), at(0.1));
}

#[test]
fn an_endpoint_that_is_down_changes_no_exit_code_and_is_named_masked() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let (failing, answered) = recorder("500 Internal Server Error");
    let p = Project::with_config(&config(
        "steps = []",
        &format!(
            "[[notify]]\nwebhook = \"http://{closed}/{TOKEN}\"\n\
             [[notify]]\nslack = \"{failing}/{TOKEN}\"\n"
        ),
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    let run = p.run(&["ship", "--output", "json"]).success();
    let doc = run.json();
    assert_eq!(doc["outcome"], "released", "{doc}");
    assert_eq!(p.live_version(), "2");
    let warnings = doc["notify_warnings"].to_string();
    for line in [
        format!("notify[0] (http://{closed}/****) was not told of released: could not connect"),
        format!(
            "notify[1] ({failing}/****) was not told of released: it answered HTTP 500 (3 tries)"
        ),
    ] {
        assert!(warnings.contains(&line), "{line} in {warnings}");
    }
    assert_eq!(answered.lock().expect("the requests").len(), 3);
    assert!(!run.all_output().contains(TOKEN), "{}", run.all_output());

    p.change_code("v3");
    let text = p.run(&["ship"]).success();
    assert!(
        text.stdout.contains(&format!(
            "warning   notify[0] (http://{closed}/****) was not told"
        )),
        "{}",
        text.stdout
    );
    assert!(!text.all_output().contains(TOKEN), "{}", text.all_output());
    assert_eq!(p.live_version(), "3");
}

#[test]
fn sns_and_a_webhook_hear_of_a_manual_rollback() {
    let (hook, webhook) = recorder("200 OK");
    let p = Project::new();
    let (topic, queue) = python::topic_with_queue(&p.emulator.endpoint, "releases");
    p.write(
        "greenlight.toml",
        &config(
            "steps = []",
            &format!(
                "[[notify]]\nsns = \"{topic}\"\n\
                 [[notify]]\nwebhook = \"{hook}/{TOKEN}\"\nevents = [\"rolled_back\"]\n"
            ),
        ),
    );
    p.run(&["ship"]).success();
    p.change_code("v2");
    run_with(&p, &github(SHA), &["ship"]).success();
    assert_eq!(p.live_version(), "2");
    run_with(&p, &github(SHA), &["rollback"]).success();
    assert_eq!(p.live_version(), "1");

    let published: Vec<serde_json::Value> = python::drain_queue(&p.emulator.endpoint, &queue)
        .iter()
        .map(|m| serde_json::from_str(m).expect("the webhook's JSON"))
        .collect();
    assert_eq!(
        events(&published),
        ["released", "rolled_back"],
        "{published:?}"
    );
    assert_eq!(published[0]["commit"], SHA);
    let told = bodies(&webhook);
    assert_eq!(events(&told), ["rolled_back"], "{told:?}");
    for notice in [&published[1], &told[0]] {
        assert_eq!(notice["version"], "2", "{notice}");
        assert_eq!(notice["previous"], "1", "{notice}");
        assert_eq!(notice["reason"], "manual rollback by alice", "{notice}");
    }
}

#[test]
fn bad_notify_tables_are_exit_2_before_any_aws_call() {
    let p = Project::new();
    p.run(&["ship"]).success();
    for (notify, shown) in [
        (
            format!(
                "[[notify]]\nwebhook = \"https://a.example/{TOKEN}\"\nsns = \"arn:aws:sns:us-east-1:123456789012:t\""
            ),
            "`notify[0].sns` = ****: an entry has one kind",
        ),
        (
            format!("[[notify]]\nwebhook = \"https://a.example/{TOKEN}\"\nevents = [\"approval\"]"),
            "`notify[0].events` = \"approval\": not an event",
        ),
        (
            format!("[[notify]]\nslack = \"http://hooks.example.com/{TOKEN}\""),
            "`notify[0].slack` = http://hooks.example.com/****: plain http",
        ),
        (
            "[[notify]]\nsns = \"arn:aws:sns:us-east-1:1234:t\"".to_owned(),
            "`notify[0].sns` = \"arn:aws:sns:us-east-1:1234:t\": an SNS topic ARN is",
        ),
    ] {
        p.write("greenlight.toml", &config("steps = []", &notify));
        let before = p.emulator.requests().len();
        let run = p.run(&["rollback"]).code(2);
        assert!(run.stderr.contains(shown), "{shown} in {}", run.stderr);
        assert!(run.stderr.contains("greenlight.toml:"), "{}", run.stderr);
        assert!(!run.all_output().contains(TOKEN), "{}", run.all_output());
        assert_eq!(p.emulator.requests().len(), before, "no AWS call");
    }
    assert_eq!(p.live_version(), "1");
}

#[test]
fn a_failed_rollback_is_told_through_a_filter_unless_excluded() {
    let (hook, heard) = recorder("200 OK");
    let (quiet_base, quiet) = recorder("200 OK");
    let p = Project::with_config(&config(
        "steps = [10]\nbake = \"1s\"",
        &format!(
            "[[notify]]\nwebhook = \"{hook}/{TOKEN}\"\nevents = [\"released\"]\n\
             [[notify]]\nwebhook = \"{quiet_base}/{TOKEN}\"\nevents = [\"released\"]\nexclude = [\"rollback_failed\"]\n"
        ),
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    // The first step's write goes through; the move to 100 % and the
    // restore after it fail.
    let proxy = p.proxy();
    proxy.rule("UpdateAlias", 1, None, Fault::ServerError);
    let run: crate::harness::Run = p
        .command_via(&proxy, &["ship"])
        .env("AWS_MAX_ATTEMPTS", "2")
        .output()
        .expect("run greenlight")
        .into();
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(p.weights("live"), at(0.1));

    let told = bodies(&heard);
    assert_eq!(events(&told), ["rollback_failed"], "{told:?}");
    assert_eq!(told[0]["outcome"], "needs_operator");
    assert_eq!(told[0]["percent"], 10);
    assert_eq!(told[0]["version"], "2");
    assert!(
        told[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("then the rollback failed")),
        "{told:?}"
    );
    assert!(bodies(&quiet).is_empty(), "excluded on purpose");
}

#[test]
fn urls_are_read_from_references_and_one_that_cannot_be_is_left_out_with_a_warning() {
    let (slack_base, slack) = recorder("200 OK");
    let p = Project::with_config(&config(
        "steps = []",
        "[[notify]]\nslack = { ssm = \"/ops/slack\" }\n\
         [[notify]]\nwebhook = { env = \"GREENLIGHT_TEST_UNSET_HOOK\" }\n",
    ));
    crate::harness::sdk::put_parameter(&p, "/ops/slack", &format!("{slack_base}/{TOKEN}"));
    p.run(&["ship"]).success();
    p.change_code("v2");
    let run = p.run(&["ship", "--output", "json"]).success();
    assert_eq!(p.live_version(), "2");
    let doc = run.json();
    assert_eq!(doc["outcome"], "released", "{doc}");
    let warnings = doc["notify_warnings"].to_string();
    assert!(
        warnings.contains("notify[1] will not be told")
            && warnings.contains("GREENLIGHT_TEST_UNSET_HOOK is not set"),
        "{warnings}"
    );
    let told = bodies(&slack);
    assert_eq!(told.len(), 1, "{told:?}");
    let text = told[0]["text"].as_str().expect("a Slack text");
    assert!(text.contains("orders version 2 is released"), "{text}");
    assert!(!run.all_output().contains(TOKEN), "{}", run.all_output());
}

#[test]
fn a_dns_release_and_its_manual_rollback_are_told() {
    let (hook, webhook) = recorder("200 OK");
    let p = Project::new();
    let zone = crate::dns::shipped(
        &p,
        &format!("steps = [10]\nbake = \"1s\"\n\n[[notify]]\nwebhook = \"{hook}/{TOKEN}\"\n"),
    );
    assert!(
        bodies(&webhook).is_empty(),
        "the first release tells nothing"
    );
    p.change_code("v2");
    run_with(&p, &github(SHA), &["ship"]).success();
    crate::dns::assert_weights(&p, &zone, 0, 100);
    run_with(&p, &github(SHA), &["rollback"]).success();
    crate::dns::assert_weights(&p, &zone, 100, 0);

    let told = bodies(&webhook);
    assert_eq!(
        events(&told),
        ["started", "released", "rolled_back"],
        "{told:?}"
    );
    for notice in &told {
        assert_eq!(notice["version"], "2", "{notice}");
        assert_eq!(notice["previous"], "1", "{notice}");
        assert_eq!(notice["commit"], SHA, "{notice}");
    }
    assert_eq!(told[2]["reason"], "manual rollback by alice");
    // Users reach the DNS name, whichever colour's alias carries the version.
    let place = format!("DNS name {}", crate::dns::NAME);
    for notice in &told {
        assert_eq!(notice["place"], place.as_str(), "{notice}");
    }
}

#[test]
fn the_watchers_snapshot_keeps_only_entries_told_from_the_account() {
    let (hook, webhook) = recorder("200 OK");
    let p = crate::watch::watched_project(&format!(
        "\n[[notify]]\nwebhook = \"{hook}/{TOKEN}\"\n\
         [[notify]]\nslack = {{ ssm = \"/ops/slack\" }}\n"
    ));
    crate::harness::sdk::put_parameter(&p, "/ops/slack", &format!("{hook}/slack/{TOKEN}"));
    let started = p
        .run(&["ship", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(started["snapshot"]["action"], "written", "{started}");
    let warnings = started["notify_warnings"].to_string();
    assert!(
        warnings.contains("notify[0] will not be told by the watcher"),
        "{warnings}"
    );
    assert!(!warnings.contains("notify[1]"), "{warnings}");
    let snapshot = p
        .s3_text(crate::watch::BUCKET, &crate::watch::snapshot_key())
        .expect("the snapshot");
    assert!(!snapshot.contains(TOKEN), "{snapshot}");
    assert!(snapshot.contains("/ops/slack"), "{snapshot}");
    // This run tells both entries itself.
    assert_eq!(bodies(&webhook).len(), 2);
    assert_eq!(p.weights("live"), at(0.1));
}

/// `plan` and the dry runs run the release's own code with its writes
/// recorded: nobody hears of the moves they list.
#[test]
fn dry_runs_tell_nobody() {
    let (hook, webhook) = recorder("200 OK");
    let p = Project::with_config(&config(
        "steps = [10, 50]\nbake = \"1h\"",
        &format!("[[notify]]\nwebhook = \"{hook}/hooks/{TOKEN}\"\n"),
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    for args in [&["plan"][..], &["ship", "--dry-run", "--no-wait"]] {
        p.run(args).success();
    }
    assert!(bodies(&webhook).is_empty(), "{:?}", bodies(&webhook));
    p.run(&["ship", "--no-wait"]).success();
    assert_eq!(p.weights("live"), at(0.1));
    p.end_bake("live");
    for args in [
        &["promote", "--dry-run"][..],
        &["release", "--dry-run"],
        &["rollback", "--dry-run"],
    ] {
        p.run(args).success();
    }
    assert_eq!(events(&bodies(&webhook)), ["started"]);
    assert_eq!(p.weights("live"), at(0.1), "nothing moved");
}
