//! `{ ssm = "/name:3" }` and `{ ssm = "/name:label" }`: an environment
//! value read from one version of an SSM parameter, by number or label,
//! as the README allows; the emulator answers them as SSM does (with the
//! `Selector` each answer is for).

use std::collections::BTreeMap;

use crate::harness::sdk::{label_parameter, put_parameter};
use crate::harness::{Project, default_config};

const NAME: &str = "/orders/db-password";

/// `qualifier`'s environment, as Lambda holds it.
fn environment(p: &Project, qualifier: &str) -> BTreeMap<String, String> {
    p.version_config(qualifier)
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

#[test]
fn a_parameter_is_read_at_the_version_or_label_its_reference_names() {
    let p = Project::with_config(&default_config().replace(
        "environment = { LOG_LEVEL = \"info\",",
        &format!(
            "environment = {{ LOG_LEVEL = \"info\", PINNED = {{ ssm = \"{NAME}:1\" }}, \
             LABELLED = {{ ssm = \"{NAME}:stable\" }}, NEWEST = {{ ssm = \"{NAME}\" }},"
        ),
    ));
    put_parameter(&p, NAME, "first-value");
    put_parameter(&p, NAME, "second-value");
    label_parameter(&p, NAME, 1, "stable");
    p.run(&["ship"]).success();
    let env = environment(&p, "1");
    assert_eq!(
        (&*env["PINNED"], &*env["LABELLED"], &*env["NEWEST"]),
        ("first-value", "first-value", "second-value")
    );

    // The label moves: the value it names changes, and is deployed.
    label_parameter(&p, NAME, 2, "stable");
    let doc = p.run(&["ship", "--output", "json"]).success().json();
    assert_eq!(
        doc["deploy"]["changes"],
        serde_json::json!(["environment (changed LABELLED)"]),
        "{doc}"
    );
    let env = environment(&p, "2");
    assert_eq!(
        (&*env["PINNED"], &*env["LABELLED"], &*env["NEWEST"]),
        ("first-value", "second-value", "second-value")
    );
}
