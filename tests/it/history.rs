//! `greenlight history` (issue 25 §2): the versions newest first, with the
//! commit each came from and what happened to each as far as AWS tells
//! (the alias, its record of the last move, the versions' times), in text
//! and JSON, `--limit`, and read-only. Each test reads the alias back.

use crate::harness::{FUNCTION, Project};
use crate::provenance::{SHA, SHA2, github, run_with};

/// `history --output json`'s versions: (version, outcome, other).
fn outcomes(doc: &serde_json::Value) -> Vec<(String, String, Option<String>)> {
    doc["history"]["versions"]
        .as_array()
        .expect("history.versions")
        .iter()
        .map(|v| {
            (
                v["version"].as_str().expect("version").to_owned(),
                v["outcome"].as_str().expect("outcome").to_owned(),
                v["other"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn row(version: &str, outcome: &str, other: Option<&str>) -> (String, String, Option<String>) {
    (
        version.to_owned(),
        outcome.to_owned(),
        other.map(str::to_owned),
    )
}

#[test]
fn released_replaced_and_never_released_versions_newest_first() {
    let p = Project::new();
    run_with(&p, &github(SHA), &["ship"]).success();
    p.change_code("v2");
    run_with(&p, &github(SHA2), &["ship"]).success();
    p.change_code("v3");
    p.run(&["deploy"]).success();
    assert_eq!(p.live_version(), "2");

    let before = p.emulator.requests().len();
    let doc = p.run(&["history", "--output", "json"]).success().json();
    p.emulator
        .assert_only_reads_since(before, &["ListVersionsByFunction", "GetAlias"]);
    assert_eq!(
        outcomes(&doc),
        [
            row("3", "never_released", None),
            row("2", "live", Some("1")),
            row("1", "replaced", Some("2")),
        ],
        "{doc}"
    );
    let versions = &doc["history"]["versions"];
    assert_eq!(versions[1]["provenance"]["commit"], SHA2);
    assert_eq!(versions[2]["provenance"]["commit"], SHA);
    assert!(
        versions[0].get("provenance").is_none(),
        "not a repository, no CI"
    );
    assert_eq!(versions[1]["share"], 1.0);
    let (_, description) = p.alias("live").expect("alias");
    let at = versions[1]["at"].as_str().expect("at");
    assert!(description.ends_with(&format!("at={at}")), "{description}");
    assert_eq!(doc["history"]["kept"], 3);
    assert_eq!(doc["history"]["record"]["action"], "release");

    let text = p.run(&["history"]).success().stdout;
    assert!(
        text.contains("history   3 of the 3 versions Lambda keeps, newest first"),
        "{text}"
    );
    assert!(
        text.contains(&format!("released at {at}, replacing version 1")),
        "{text}"
    );
    assert!(
        text.contains(&format!("replaced by version 2 at {at}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("from commit {SHA} (main), by alice")),
        "{text}"
    );

    let doc = p
        .run(&["history", "--limit", "1", "--output", "json"])
        .success()
        .json();
    assert_eq!(outcomes(&doc), [row("3", "never_released", None)]);
    assert_eq!(doc["history"]["kept"], 3);
    let refused = p.run(&["history", "--limit", "0"]).code(2);
    assert!(refused.stderr.contains("1 or more"), "{}", refused.stderr);
}

#[test]
fn a_release_in_progress_then_rolled_back() {
    let p = crate::canary::canary_project("steps = [10, 50]\nbake = \"1h\"");
    p.run(&["ship", "--no-wait"]).success();

    let doc = p.run(&["history", "--output", "json"]).success().json();
    assert_eq!(
        outcomes(&doc),
        [
            row("2", "in_progress", Some("1")),
            row("1", "live", Some("2"))
        ],
        "{doc}"
    );
    let share = doc["history"]["versions"][0]["share"]
        .as_f64()
        .expect("share");
    assert!((share - 0.1).abs() < 1e-9, "{share}");
    let text = p.run(&["history"]).success().stdout;
    assert!(
        text.contains("being released: 10 % of traffic since"),
        "{text}"
    );

    p.run(&["rollback"]).success();
    assert_eq!(p.live_version(), "1");
    let doc = p.run(&["history", "--output", "json"]).success().json();
    assert_eq!(
        outcomes(&doc),
        [
            row("2", "rolled_back", Some("1")),
            row("1", "live", Some("2"))
        ],
        "{doc}"
    );
    let text = p.run(&["history"]).success().stdout;
    assert!(text.contains("rolled back to version 1 at "), "{text}");
    assert!(text.contains("AWS keeps no reason"), "{text}");
}

#[test]
fn a_function_that_does_not_exist_has_no_history_and_one_without_versions_exists() {
    let p = Project::new();
    let doc = p.run(&["history", "--output", "json"]).success().json();
    assert_eq!(doc["history"]["exists"], false, "{doc}");
    assert_eq!(doc["history"]["versions"], serde_json::json!([]));
    assert!(p.functions().is_empty(), "nothing was created");

    // A function with no published version, made by hand, exists.
    p.run(&["deploy"]).success();
    p.aws(async |c| {
        c.delete_alias()
            .function_name(FUNCTION)
            .name("live")
            .send()
            .await?;
        c.delete_function()
            .function_name(FUNCTION)
            .qualifier("1")
            .send()
            .await?;
        Ok::<_, aws_sdk_lambda::Error>(())
    })
    .expect("delete the alias and version 1");
    assert_eq!(p.versions(), Vec::<String>::new());
    let doc = p.run(&["history", "--output", "json"]).success().json();
    assert_eq!(doc["history"]["exists"], true, "{doc}");
    assert_eq!(doc["history"]["kept"], 0);
}
