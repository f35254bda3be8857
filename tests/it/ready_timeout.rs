//! `function.ready_timeout`: how long greenlight waits for a version Lambda
//! says is not `Active` yet, published by `ship` or refused to a smoke test,
//! before it gives up with exit 1, no traffic moved. The emulator keeps a
//! SnapStart version `Pending` far longer than the timeout.

use std::collections::BTreeMap;

use crate::harness::{Project, default_config};

#[test]
fn a_version_pending_past_ready_timeout_is_exit_1_and_gets_no_traffic() {
    let p = Project::with_emulator(&default_config(), &["--snapstart-pending", "600"]);
    p.run(&["ship"]).success();
    let record = p.alias("live").expect("alias live").1;
    // SnapStart on: the next version is Pending for ten minutes.
    let config = default_config().replacen(
        "[function]\n",
        "[function]\nsnap_start = true\nready_timeout = \"1s\"\n",
        1,
    );
    p.write("greenlight.toml", &config);
    p.change_code("v2");

    let shipped = p.run(&["ship", "--output", "json"]).code(1);
    let doc = shipped.json();
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(
        message, "version 2 of function orders was still Pending after 1s",
        "{doc}"
    );
    assert!(
        doc["error"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("raise function.ready_timeout")),
        "{doc}"
    );
    assert!(doc["smoke"].is_null(), "never tested: {doc}");
    assert_eq!(p.versions(), ["1", "2"]);
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
    assert_eq!(p.alias("live").expect("alias live").1, record);

    // A smoke test of the Pending version waits as long, then fails.
    let tested = p
        .run(&["test", "--version", "2", "--output", "json"])
        .code(1)
        .json();
    assert_eq!(
        tested["smoke"]["results"][0]["failure"],
        "version 2 of function orders was still Pending after 1s",
        "{tested}"
    );
    assert_eq!(p.weights("live"), ("1".to_owned(), BTreeMap::new()));
}
