//! What runs before the tests, and how long a ship waits: triggers of the
//! unqualified function (they run `$LATEST`, which deploy updates before
//! any test) are named by `deploy` and `status`; the candidate alias is on
//! the new version before its smoke tests; an all-at-once ship waits on
//! few AWS round trips one after another.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_lambda::types::FunctionUrlAuthType;
use serde_json::json;

use crate::harness::{FUNCTION, Fault, Project, default_config, loopback, python, sdk};

/// One trigger of each kind on `qualifier` (`None`: the unqualified
/// function): an event source mapping from a new queue `queue`, a function
/// URL, and a permission for S3. Returns the mapping's UUID, the queue's
/// ARN and the URL.
fn triggers_on(p: &Project, qualifier: Option<&str>, queue: &str) -> (String, String, String) {
    let queue_arn = python::create_queue(&p.emulator.endpoint, queue);
    let target = qualifier.map_or(FUNCTION.to_owned(), |q| format!("{FUNCTION}:{q}"));
    let qualifier = qualifier.map(str::to_owned);
    let (uuid, url) = p.aws(async |c| {
        let mapping = c
            .create_event_source_mapping()
            .function_name(&target)
            .event_source_arn(&queue_arn)
            .send()
            .await
            .expect("event source mapping");
        let url = c
            .create_function_url_config()
            .function_name(FUNCTION)
            .set_qualifier(qualifier.clone())
            .auth_type(FunctionUrlAuthType::None)
            .send()
            .await
            .expect("function URL");
        c.add_permission()
            .function_name(FUNCTION)
            .set_qualifier(qualifier)
            .statement_id(format!("s3-{queue}"))
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .source_arn("arn:aws:s3:::uploads")
            .send()
            .await
            .expect("permission");
        (mapping.uuid.expect("uuid"), url.function_url)
    });
    (uuid, queue_arn, url)
}

#[test]
fn deploy_and_status_name_each_trigger_that_runs_latest() {
    let p = Project::new();
    p.run(&["ship"]).success();
    // Triggers on the alias run tested code: never warned about.
    triggers_on(&p, Some("live"), "on-alias");
    let (uuid, queue, url) = triggers_on(&p, None, "jobs");

    p.change_code("v2");
    let deployed = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(
        deployed["triggers"],
        json!({ "unqualified": [
            { "kind": "event_source_mapping", "name": uuid, "source": queue },
            { "kind": "function_url", "name": url },
            { "kind": "permission", "name": "s3-jobs", "source": "s3.amazonaws.com from arn:aws:s3:::uploads" },
        ] })
    );

    let tail = "invokes function orders unqualified, so it runs $LATEST, which deploy updates before any test:";
    let target = "the alias ARN (arn:aws:lambda:REGION:ACCOUNT:function:orders:live)";
    let expected = [
        format!(
            "warning   event source mapping {uuid} ({queue}) {tail} map it to orders:live, {target}\n"
        ),
        format!(
            "warning   function URL {url} {tail} make the URL on alias live (Qualifier live)\n"
        ),
        format!(
            "warning   permission s3-jobs (s3.amazonaws.com from arn:aws:s3:::uploads) {tail} grant it on alias live (Qualifier live) and have the source invoke {target}\n"
        ),
        format!(
            "warning   greenlight sees only event source mappings, function URLs and resource-based permissions; a caller allowed by its own IAM policy (Step Functions, EventBridge Scheduler, another function or service with an execution role) that names the plain function ARN runs $LATEST too, unseen: have every caller invoke {target}\n"
        ),
    ];
    p.change_code("v3");
    let text = p.run(&["deploy"]).success();
    let status = p.run(&["status"]).success();
    for out in [&text.stdout, &status.stdout] {
        for line in &expected {
            assert!(out.contains(line.as_str()), "{line:?} in\n{out}");
        }
        assert_eq!(out.matches("warning").count(), 4, "{out}");
    }
    let status = p.run(&["status", "--output", "json"]).success().json();
    assert_eq!(status["triggers"], deployed["triggers"]);
    p.change_code("v4");
    let planned = p.run(&["plan"]).success();
    assert!(
        planned
            .stdout
            .contains(&format!("warning: event source mapping {uuid}")),
        "{}",
        planned.stdout
    );
}

#[test]
fn nothing_is_warned_when_every_trigger_points_at_the_alias() {
    let p = Project::new();
    p.run(&["ship"]).success();
    triggers_on(&p, Some("live"), "jobs");
    p.change_code("v2");
    let deployed = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(deployed["triggers"], json!({ "unqualified": [] }));
    let status = p.run(&["status"]).success();
    assert!(
        !status.all_output().contains("warning"),
        "{}",
        status.stdout
    );
    // A deploy that writes nothing updates no $LATEST: nothing is read.
    p.run(&["release"]).success();
    let unchanged = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(unchanged["outcome"], "nothing_to_deploy");
    assert!(unchanged.get("triggers").is_none(), "{unchanged}");
}

#[test]
fn without_permission_to_read_the_triggers_the_deploy_goes_on_and_says_so() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    let proxy = p.proxy();
    proxy.rule("GetPolicy", 0, None, Fault::AccessDenied);
    let deployed = p.run_via(&proxy, &["deploy"]).success();
    assert!(
        deployed.stdout.contains(
            "warning   the check for triggers of the unqualified function was skipped: could not read the resource-based policy of function orders: AccessDeniedException"
        ) && deployed.stdout.contains("lacks the permission lambda:GetPolicy"),
        "{}",
        deployed.stdout
    );
    assert_eq!(p.versions(), ["1", "2"]);
}

/// Serves `/ALIAS?v=N` until the test process ends: 200 when the
/// function's alias ALIAS points at version N at the moment of the
/// request, else 409 saying where it points. Returns its base URL and the
/// number of requests answered.
fn alias_checking_server(emulator: &str) -> (String, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let (count, lambda) = (Arc::clone(&served), sdk::lambda_via(emulator));
    let base = loopback::serve(move |path| {
        let (alias, wanted) = path
            .trim_start_matches('/')
            .split_once("?v=")
            .unwrap_or((path, ""));
        let read = sdk::block_on(
            lambda
                .get_alias()
                .function_name(FUNCTION)
                .name(alias)
                .send(),
        );
        let on = read
            .ok()
            .and_then(|a| a.function_version)
            .unwrap_or_default();
        let (status, body) = if on == wanted {
            ("200 OK", format!("alias {alias} is on version {on}"))
        } else {
            (
                "409 Conflict",
                format!("alias {alias} is on version {on:?}"),
            )
        };
        count.fetch_add(1, Ordering::SeqCst);
        (status.to_owned(), body.into_bytes())
    });
    (base, served)
}

/// A project whose second smoke test, "through the candidate", asks an
/// [`alias_checking_server`] whether candidate alias `next` is on the
/// version under test; with the number of requests that server answered.
pub(crate) fn checked_through_the_candidate() -> (Project, Arc<AtomicUsize>) {
    let p = Project::new();
    let (base, served) = alias_checking_server(&p.emulator.endpoint);
    p.write(
        "greenlight.toml",
        &format!(
            "{}\n[[smoke]]\nname = \"through the candidate\"\nhttp = {{ url = \"{base}/{{candidate}}?v={{version}}\" }}\n\n[release]\ncandidate = \"next\"\n",
            default_config()
        ),
    );
    (p, served)
}

#[test]
fn the_candidate_alias_is_on_the_new_version_before_its_smoke_tests() {
    let (p, served) = checked_through_the_candidate();
    p.run(&["ship"]).success();
    assert_eq!(p.alias("next").expect("candidate made").0, "1");

    p.change_code("v2");
    let planned = p.run(&["plan", "--output", "json"]).success().json();
    let steps = planned["dry_run"]["steps"].as_array().expect("steps");
    let moves: Vec<&str> = steps
        .iter()
        .filter(|s| s["call"] == "UpdateAlias")
        .filter_map(|s| s["detail"].as_str())
        .collect();
    assert!(
        moves.len() == 2 && moves[0].starts_with("candidate alias next on the new version"),
        "{moves:?}"
    );
    assert_eq!(
        p.alias("next").expect("candidate").0,
        "1",
        "plan moved nothing"
    );
    let before = served.load(Ordering::SeqCst);
    let shipped = p.run(&["ship", "--output", "json"]).success().json();
    let smoke = &shipped["smoke"];
    assert_eq!(smoke["target"], "2");
    assert_eq!(smoke["results"][1]["name"], "through the candidate");
    assert_eq!(smoke["results"][1]["passed"], true, "{smoke}");
    // Once before traffic moved, once as the gate through the alias.
    assert_eq!(served.load(Ordering::SeqCst) - before, 2);
    assert_eq!(p.alias("next").expect("candidate").0, "2");
    assert_eq!(p.alias("live").expect("live").0, "2");

    // `test` of another version puts the candidate on it first.
    let old = p.run(&["test", "--version", "1"]).success();
    assert!(
        old.stderr
            .contains("pointing candidate alias next at version 1"),
        "{}",
        old.stderr
    );
    assert_eq!(p.alias("next").expect("candidate").0, "1");
    p.run(&["test", "--version", "2"]).success();

    let status = p.run(&["status", "--output", "json"]).success().json();
    assert_eq!(
        status["status"]["candidate"],
        json!({ "alias": "next", "version": "2" })
    );
    let text = p.run(&["status"]).success();
    assert!(
        text.stdout
            .contains("candidate alias next → version 2 (the version under test; no user traffic)"),
        "{}",
        text.stdout
    );
}

#[test]
fn an_all_at_once_ship_waits_on_at_most_8_round_trips_one_after_another() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    // Every request waits this long, so requests made together overlap
    // for certain and are counted once.
    let proxy = p.proxy();
    proxy.add_latency(Duration::from_millis(300));
    p.run_via(&proxy, &["ship"]).success();
    let trips = proxy.sequential_round_trips();
    let calls: Vec<String> = proxy.log().iter().map(|s| s.op.clone()).collect();
    assert!(
        trips <= 8,
        "{trips} round trips one after another: {calls:?}"
    );
    assert!(calls.contains(&"UpdateAlias".to_owned()), "{calls:?}");
}
