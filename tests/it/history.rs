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

#[test]
fn versions_other_tools_published_are_shown_as_outside_text() {
    let p = Project::new();
    run_with(&p, &github(SHA), &["ship"]).success();
    // Anyone who may publish a version writes its description: one that
    // claims to be greenlight's, with hostile values, and another tool's.
    let forged = format!(
        "greenlight: sha=\u{202E}fedcba\u{200B} ref=%0A::error::forged by={}\u{2066}x run=::warning::y",
        crate::harness::SECRET
    );
    for description in [forged.as_str(), "Deployed by Jenkins; greenlight: sha=abc"] {
        crate::harness::sdk::upload(&p, description);
        p.wait_until_updated();
        p.aws(async |c| {
            c.publish_version()
                .function_name(FUNCTION)
                .description(description)
                .send()
                .await
        })
        .expect("publish by hand");
    }
    assert_eq!(p.versions(), ["1", "2", "3"]);

    let on_github = [("GITHUB_ACTIONS", "true".to_owned())];
    let doc = run_with(&p, &on_github, &["history", "--output", "json"])
        .success()
        .json();
    let versions = &doc["history"]["versions"];
    assert!(versions[0].get("provenance").is_none(), "{doc}");
    let forged = &versions[1]["provenance"];
    assert_eq!(forged["commit"], "fedcba", "{doc}");
    assert_eq!(forged["ref"], "%0A::error::forged");
    assert_eq!(forged["by"], "****x");
    assert_eq!(versions[2]["provenance"]["commit"], SHA);
    for output in [
        run_with(&p, &on_github, &["history"]).success(),
        run_with(&p, &on_github, &["history", "--output", "json"]).success(),
    ] {
        let all = output.all_output();
        assert!(!all.contains(crate::harness::SECRET), "{all}");
        assert!(
            !all.lines().any(|l| l.trim_start().starts_with("::")),
            "{all}"
        );
        for hidden in ['\u{202E}', '\u{200B}', '\u{2066}'] {
            assert!(!all.contains(hidden), "{all:?}");
        }
    }
}

#[test]
fn with_dns_the_live_colours_alias_tells_and_records_it_cannot_use_stop_it() {
    let p = Project::new();
    let zone = crate::dns::shipped(&p, "steps = []");
    p.change_code("v2");
    p.run(&["ship"]).success();
    crate::dns::assert_weights(&p, &zone, 0, 100);
    let doc = p.run(&["history", "--output", "json"]).success().json();
    assert_eq!(doc["alias"], "green", "{doc}");
    assert_eq!(outcomes(&doc)[0], row("2", "live", Some("1")), "{doc}");

    // The records swapped by hand: which colour is live cannot be told.
    let swapped = crate::harness::sdk::record_sets(&p, &zone, crate::dns::NAME)
        .into_iter()
        .map(|mut set| {
            let other = match set.set_identifier() {
                Some("blue") => "green.example.com",
                _ => "blue.example.com",
            };
            set.resource_records = Some(vec![
                aws_sdk_route53::types::ResourceRecord::builder()
                    .value(other)
                    .build()
                    .expect("value"),
            ]);
            set
        })
        .collect();
    crate::harness::sdk::upsert(&p, &zone, swapped);
    let before = p.emulator.requests().len();
    let run = p.run(&["history"]).code(1);
    assert!(
        run.stderr.contains("the records are swapped"),
        "{}",
        run.stderr
    );
    p.emulator.assert_only_reads_since(
        before,
        &["ListVersionsByFunction", "ListResourceRecordSets"],
    );
}

#[test]
fn many_versions_are_read_page_by_page_and_limit_bounds_the_output() {
    // Two versions a page, so that five versions and $LATEST make three.
    let p = Project::with_emulator(
        &crate::harness::default_config(),
        &["--versions-per-page", "2"],
    );
    p.run(&["ship"]).success();
    for marker in ["v2", "v3", "v4", "v5"] {
        p.change_code(marker);
        p.run(&["deploy"]).success();
    }
    assert_eq!(p.versions(), ["1", "2", "3", "4", "5"]);

    for (limit, shown) in [("50", 5), ("2", 2)] {
        let before = p.emulator.requests().len();
        let doc = p
            .run(&["history", "--limit", limit, "--output", "json"])
            .success()
            .json();
        let listed: Vec<_> = p.emulator.calls()[before..]
            .iter()
            .filter(|r| r.ends_with(" ListVersionsByFunction"))
            .cloned()
            .collect();
        // Every page, whatever --limit, read once: the listing that learns
        // the versions' secret values (as every command does) is history's.
        assert_eq!(listed.len(), 3, "{listed:?}");
        assert!(listed[2].contains("?Marker=4 "), "{listed:?}");
        let versions: Vec<_> = outcomes(&doc).into_iter().map(|(v, ..)| v).collect();
        assert_eq!(versions, ["5", "4", "3", "2", "1"][..shown], "{doc}");
        assert_eq!(doc["history"]["kept"], 5);
        assert_eq!(
            outcomes(&doc)[shown - 1].1,
            if shown == 5 { "live" } else { "never_released" }
        );
    }
}
