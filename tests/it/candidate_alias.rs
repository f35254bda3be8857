//! The candidate alias (`release.candidate`, issue 22 §4): greenlight moves
//! only a candidate alias it made itself (its description says so), and an
//! alias of that name made by anyone else stops every command before any
//! write; `{candidate}` reaches the version under test, in a release's gates
//! too; and no release, canary step or rollback moves it off that version,
//! also after a failed test (issue 23 §3). Each test reads the aliases back.

use std::collections::BTreeMap;

use aws_sdk_lambda::types::AliasRoutingConfiguration;
use serde_json::json;

use crate::harness::{FUNCTION, Project, default_config};
use crate::triggers::checked_through_the_candidate;

/// Where `alias` points, its weights, its description and its RevisionId.
fn read_alias(p: &Project, alias: &str) -> (String, BTreeMap<String, f64>, String, String) {
    let out = p
        .aws(async |c| {
            c.get_alias()
                .function_name(FUNCTION)
                .name(alias)
                .send()
                .await
        })
        .expect("get alias");
    let (version, weights) = p.weights(alias);
    (
        version,
        weights,
        out.description.unwrap_or_default(),
        out.revision_id.unwrap_or_default(),
    )
}

#[test]
fn an_alias_greenlight_did_not_make_is_never_taken_as_the_candidate() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship"]).success();
    // Someone's beta alias: version 1, with 20 % of its users on version 2.
    p.aws(async |c| {
        c.create_alias()
            .function_name(FUNCTION)
            .name("beta")
            .function_version("1")
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .additional_version_weights("2", 0.2)
                    .build(),
            )
            .description("beta users")
            .send()
            .await
    })
    .expect("create their alias");
    let theirs = read_alias(&p, "beta");
    p.write(
        "greenlight.toml",
        &format!("{}\n[release]\ncandidate = \"beta\"\n", default_config()),
    );
    p.change_code("v3");

    let before = p.emulator.requests().len();
    for args in [
        &["plan"][..],
        &["deploy"][..],
        &["ship"][..],
        &["test", "--version", "2"][..],
        &["release", "--version", "1"][..],
    ] {
        let run = p.run(args).code(1);
        assert!(
            run.stderr.contains(
                "alias beta of function orders (release.candidate) is not greenlight's candidate alias"
            ),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("choose another release.candidate"),
            "{}",
            run.stderr
        );
    }
    p.emulator
        .assert_only_reads_since(before, &["GET /2015-03-31/functions/orders/aliases/beta"]);
    assert_eq!(read_alias(&p, "beta"), theirs, "their alias is untouched");
    assert_eq!(p.versions(), ["1", "2"]);
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
}

#[test]
fn a_release_gate_reaches_the_version_under_release_through_the_candidate() {
    let (p, _) = checked_through_the_candidate();
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship"]).success();
    let (on, _, description, _) = read_alias(&p, "next");
    assert_eq!(on, "2");
    assert!(
        description.starts_with("greenlight candidate alias: version 2 is under test here"),
        "{description}"
    );

    // Back to version 1: the gates re-run the tests through the alias, and
    // `{candidate}` must reach version 1, not the newest deployed.
    let released = p
        .run(&["release", "--version", "1", "--output", "json"])
        .success()
        .json();
    let smoke = &released["release"]["gates"]["smoke"]["results"][1];
    assert_eq!(smoke["name"], "through the candidate");
    assert_eq!(smoke["passed"], true, "{released}");
    assert_eq!(p.alias("next").expect("candidate").0, "1");
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
}

#[test]
fn the_candidate_alias_is_never_moved_by_a_release_a_canary_step_or_a_rollback() {
    let p = Project::with_config(&format!(
        "{}\n[release]\ncandidate = \"next\"\nsteps = [10]\nbake = \"1h\"\n",
        default_config()
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    let candidate = read_alias(&p, "next");
    assert_eq!(candidate.0, "2");
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.1)]))
    );

    // The canary's next step finishes the release; then it is rolled back.
    p.end_bake("live");
    p.run(&["promote"]).success();
    assert_eq!(p.weights("live"), ("2".to_owned(), BTreeMap::new()));
    assert_eq!(read_alias(&p, "next"), candidate, "not moved by promote");
    p.run(&["rollback"]).success();
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
    assert_eq!(read_alias(&p, "next"), candidate, "not moved by rollback");

    // A version that fails its test: the candidate stays on it.
    p.change_code("v3");
    p.emulator
        .queue_invoke_results(&[json!({"errorMessage": "boom", "errorType": "Exception"})]);
    p.run(&["ship"]).code(1);
    let failed = read_alias(&p, "next");
    assert_eq!(failed.0, "3");
    for args in [&["promote"][..], &["rollback"][..], &["status"][..]] {
        p.run(args).success();
        assert_eq!(read_alias(&p, "next"), failed, "{args:?} moved it");
    }
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
}

#[test]
fn a_candidate_in_a_urls_host_is_warned_about() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.write(
        "greenlight.toml",
        &format!(
            "{}\n[[smoke]]\nname = \"by name\"\nhttp = {{ url = \"https://{{candidate}}.example.com/health\" }}\n\n[release]\ncandidate = \"next\"\n",
            default_config()
        ),
    );
    p.change_code("v2");
    let run = p.run(&["plan"]).success();
    assert!(
        run.stderr.contains(
            "warning: smoke test `by name`: {candidate} is in the host of https://{candidate}.example.com/health"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(p.alias("next"), None, "plan made nothing");
}
