//! The settings real functions use (architecture, layers, ephemeral
//! storage, tracing, VPC, logging, dead-letter queue, KMS key, file systems,
//! tags): applied on create and when they differ, read back from the
//! emulator, never rewritten when equal, and checked before a canary.

use std::collections::BTreeMap;

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LayerVersionContentInput;

use crate::harness::sdk::zip_of;
use crate::harness::{FUNCTION, Fault, Project, default_config, planned_calls};

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:orders";
const DLQ: &str = "arn:aws:sqs:us-east-1:123456789012:orders-dlq";
const KMS: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd";
const ACCESS_POINT: &str =
    "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0";

/// Publishes a version of layer `name` (Lambda checks that layers exist).
fn publish_layer(p: &Project, name: &str) -> String {
    let zip = zip_of(name);
    let out = p
        .aws(async |c| {
            c.publish_layer_version()
                .layer_name(name)
                .content(
                    LayerVersionContentInput::builder()
                        .zip_file(Blob::new(zip))
                        .build(),
                )
                .send()
                .await
        })
        .expect("publish layer");
    out.layer_version_arn().expect("layer ARN").to_owned()
}

/// The default config with `keys` added to `[function]`.
fn config_with(keys: &str) -> String {
    default_config().replace("[package]", &format!("{keys}\n\n[package]"))
}

/// Every setting, with `layer` as the one layer.
fn every_setting(layer: &str) -> String {
    format!(
        r#"architecture = "arm64"
layers = ["{layer}"]
ephemeral_storage = 1024
tracing = "Active"
vpc = {{ subnets = ["subnet-0b2", "subnet-0a1"], security_groups = ["sg-0c3"], ipv6 = true }}
logging = {{ format = "JSON", log_group = "/custom/orders", application_level = "DEBUG", system_level = "WARN" }}
dead_letter = "{DLQ}"
kms_key = "{KMS}"
file_systems = [{{ arn = "{ACCESS_POINT}", mount_path = "/mnt/data" }}]
tags = {{ team = "orders", tier = "gold" }}"#
    )
}

fn pairs(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Architectures, layers, ephemeral storage and tracing mode, as read back.
fn basics(c: &GetFunctionConfigurationOutput) -> (Vec<&str>, Vec<&str>, Option<i32>, Option<&str>) {
    (
        c.architectures().iter().map(|a| a.as_str()).collect(),
        c.layers().iter().filter_map(|l| l.arn()).collect(),
        c.ephemeral_storage().map(|e| e.size()),
        c.tracing_config()
            .and_then(|t| t.mode())
            .map(|m| m.as_str()),
    )
}

/// Asserts that `qualifier` holds every setting of [`every_setting`].
#[track_caller]
fn assert_every_setting(p: &Project, qualifier: &str, layer: &str) {
    let c = p.version_config(qualifier);
    assert_eq!(
        basics(&c),
        (vec!["arm64"], vec![layer], Some(1024), Some("Active"))
    );
    let vpc = c.vpc_config().expect("vpc");
    let mut subnets = vpc.subnet_ids().to_vec();
    subnets.sort();
    assert_eq!(subnets, ["subnet-0a1", "subnet-0b2"]);
    assert_eq!(vpc.security_group_ids(), ["sg-0c3"]);
    assert_eq!(vpc.ipv6_allowed_for_dual_stack(), Some(true));
    let logging = c.logging_config().expect("logging");
    assert_eq!(logging.log_format().map(|f| f.as_str()), Some("JSON"));
    assert_eq!(logging.log_group(), Some("/custom/orders"));
    assert_eq!(
        logging.application_log_level().map(|l| l.as_str()),
        Some("DEBUG")
    );
    assert_eq!(logging.system_log_level().map(|l| l.as_str()), Some("WARN"));
    assert_eq!(
        c.dead_letter_config().and_then(|d| d.target_arn()),
        Some(DLQ)
    );
    assert_eq!(c.kms_key_arn(), Some(KMS));
    let mounts: Vec<(&str, &str)> = c
        .file_system_configs()
        .iter()
        .map(|f| (f.arn(), f.local_mount_path()))
        .collect();
    assert_eq!(mounts, [(ACCESS_POINT, "/mnt/data")]);
}

#[test]
fn every_setting_is_applied_on_create_and_an_unchanged_deploy_writes_nothing() {
    let p = Project::new();
    let layer = publish_layer(&p, "deps");
    p.write("greenlight.toml", &config_with(&every_setting(&layer)));
    let plan = p.run(&["plan"]).success();
    for expected in [
        "write   CreateFunction: function orders from a zip of 1 file",
        ", with architecture arm64; ",
        "; tracing Active; ",
        "; logging format JSON, log_group /custom/orders, application_level DEBUG, system_level WARN; tags team, tier",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "{expected:?} in\n{}",
            plan.stdout
        );
    }
    p.run(&["ship"]).success();
    assert_every_setting(&p, "1", &layer);
    assert_eq!(
        p.tags(),
        pairs(&[
            ("team", "orders"),
            ("tier", "gold"),
            ("greenlight:managed-tags", "team tier")
        ])
    );

    let before = p.emulator.requests().len();
    let again = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(again["deploy"]["unchanged"], true, "{again}");
    p.emulator.assert_only_reads_since(
        before,
        &[
            "GET /2015-03-31/functions/orders/configuration?Qualifier=live",
            "GET /2017-03-31/tags/",
        ],
    );
}

#[test]
fn each_setting_is_updated_when_it_differs_and_tags_of_others_are_kept() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let old = publish_layer(&p, "deps");
    let new = publish_layer(&p, "more-deps");
    p.aws(async |c| {
        c.tag_resource()
            .resource(FUNCTION_ARN)
            .tags("owner", "ops")
            .send()
            .await
    })
    .expect("another tool's tag");

    // From Lambda's defaults to every setting.
    p.write("greenlight.toml", &config_with(&every_setting(&old)));
    let plan = p.run(&["plan"]).success();
    for expected in [
        ": the same code, architecture x86_64 → arm64",
        &format!("layers (none) → {old}"),
        "ephemeral_storage 512 → 1024",
        "tracing PassThrough → Active",
        "vpc (none) → subnets subnet-0a1, subnet-0b2; security groups sg-0c3; ipv6",
        "logging format Text → JSON, log_group /aws/lambda/orders → /custom/orders, application_level (none) → DEBUG, system_level (none) → WARN",
        &format!("dead_letter (none) → {DLQ}"),
        &format!("kms_key (none) → {KMS}"),
        &format!("file_systems (none) → {ACCESS_POINT} at /mnt/data"),
        "write   PublishVersion: a new version of orders",
        "write   TagResource: function orders: greenlight:managed-tags, team, tier",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "{expected:?} in\n{}",
            plan.stdout
        );
    }
    let deployed = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(deployed["deploy"]["version"], "2", "{deployed}");
    assert_every_setting(&p, "2", &old);
    assert_every_setting(&p, "$LATEST", &old);
    assert_eq!(
        basics(&p.version_config("1")),
        (vec!["x86_64"], vec![], Some(512), Some("PassThrough")),
        "version 1 keeps its own settings"
    );
    assert_eq!(
        p.tags(),
        pairs(&[
            ("owner", "ops"),
            ("team", "orders"),
            ("tier", "gold"),
            ("greenlight:managed-tags", "team tier")
        ])
    );

    // Every setting changed again, one tag dropped.
    let changed = format!(
        r#"architecture = "x86_64"
layers = ["{new}", "{old}"]
ephemeral_storage = 2048
tracing = "PassThrough"
vpc = {{ subnets = [], security_groups = [] }}
logging = {{ format = "Text" }}
dead_letter = ""
kms_key = ""
file_systems = []
tags = {{ team = "payments" }}"#
    );
    p.write("greenlight.toml", &config_with(&changed));
    let plan = p
        .run(&["deploy", "--dry-run", "--output", "json"])
        .success()
        .json();
    let calls: Vec<&str> = plan["dry_run"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["call"].as_str())
        .collect();
    assert_eq!(
        calls,
        [
            "UpdateFunctionConfiguration",
            "UpdateFunctionCode",
            "PublishVersion",
            "UntagResource",
            "TagResource"
        ]
    );
    // Lambda (and the emulator) refuses log levels with Text logs: this
    // deploy goes through only if greenlight sent none of the levels it
    // had applied before.
    let before = p.emulator.answers("UpdateFunctionConfiguration").len();
    p.run(&["deploy"]).success();
    assert_eq!(
        p.emulator.answers("UpdateFunctionConfiguration")[before..],
        [200],
        "one configuration update, accepted"
    );
    let c = p.version_config("3");
    assert_eq!(
        basics(&c),
        (
            vec!["x86_64"],
            vec![new.as_str(), old.as_str()],
            Some(2048),
            Some("PassThrough")
        ),
        "layers in the order given"
    );
    assert!(c.vpc_config().is_none_or(|v| v.subnet_ids().is_empty()));
    let logging = c.logging_config().expect("logging");
    assert_eq!(logging.log_format().map(|f| f.as_str()), Some("Text"));
    assert_eq!(
        logging.log_group(),
        Some("/custom/orders"),
        "a key not given is kept"
    );
    assert_eq!(logging.application_log_level(), None);
    assert!(
        c.dead_letter_config()
            .is_none_or(|d| d.target_arn().is_none())
    );
    assert_eq!(c.kms_key_arn(), None);
    assert!(c.file_system_configs().is_empty());
    assert_eq!(
        p.tags(),
        pairs(&[
            ("owner", "ops"),
            ("team", "payments"),
            ("greenlight:managed-tags", "team")
        ]),
        "tier (greenlight's) removed, owner (another tool's) kept"
    );

    // Only a tag changes: the tag is written, no version is published.
    p.write(
        "greenlight.toml",
        &config_with(&changed.replace("team = \"payments\"", "team = \"billing\"")),
    );
    let tagged = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(tagged["deploy"]["version"], "3", "{tagged}");
    assert_eq!(tagged["deploy"]["changes"][0], "tags (changed team)");
    assert_eq!(p.versions(), ["1", "2", "3"]);
    assert_eq!(p.tags()["team"], "billing");

    // Released, nothing differs: reads only.
    p.run(&["release"]).success();
    let before = p.emulator.requests().len();
    let again = p.run(&["deploy", "--output", "json"]).success().json();
    assert_eq!(again["deploy"]["unchanged"], true, "{again}");
    p.emulator
        .assert_only_reads_since(before, &["GET /2017-03-31/tags/"]);
}

#[test]
fn a_canary_needs_the_same_dead_letter_queue_on_both_versions() {
    let release = "[release]\nsteps = [10]\nbake = \"1h\"\n";
    let p = Project::with_config(&format!("{}\n{release}", default_config()));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.write(
        "greenlight.toml",
        &format!(
            "{}\n{release}",
            config_with(&format!("dead_letter = \"{DLQ}\""))
        ),
    );
    let expected = format!(
        "error: version 1 and the new version have different dead-letter queues (function.dead_letter) (none and {DLQ}), and Lambda cannot split an alias's traffic between them"
    );
    let before = p.emulator.requests().len();
    let shipped = p.run(&["ship"]).code(1);
    assert!(shipped.stderr.contains(&expected), "{}", shipped.stderr);
    // Where the alias points and that version's dead-letter queue were
    // read, and nothing written.
    p.emulator.assert_only_reads_since(
        before,
        &[
            "GET /2015-03-31/functions/orders/aliases/live",
            "GET /2015-03-31/functions/orders/configuration?Qualifier=1",
        ],
    );

    // Published first, released after: the same check.
    p.run(&["deploy"]).success();
    let released = p.run(&["release"]).code(1);
    assert!(
        released
            .stderr
            .contains(&expected.replace("the new version", "version 2")),
        "{}",
        released.stderr
    );
    assert_eq!(p.live_version(), "1");
    assert!(p.weights("live").1.is_empty(), "no traffic moved");
}

/// Sets `tags` on the function as another tool (or a person) would.
fn tag_as_another_tool(p: &Project, tags: &[(&str, &str)]) {
    let tags = pairs(tags);
    p.aws(async |c| {
        c.tag_resource()
            .resource(FUNCTION_ARN)
            .set_tags(Some(tags.into_iter().collect()))
            .send()
            .await
    })
    .expect("tag as another tool");
}

#[test]
fn a_tags_only_change_writes_only_tags_and_never_releases_a_console_edit() {
    let p = Project::with_config(&config_with("tags = { team = \"orders\" }"));
    p.run(&["ship"]).success();
    // A console edit on $LATEST, never published.
    p.aws(async |c| {
        c.update_function_configuration()
            .function_name(FUNCTION)
            .timeout(99)
            .send()
            .await
    })
    .expect("console edit");
    p.wait_until_updated();

    p.write(
        "greenlight.toml",
        &config_with("tags = { team = \"billing\" }"),
    );
    let planned = p
        .run(&["ship", "--dry-run", "--output", "json"])
        .success()
        .json();
    assert_eq!(planned_calls(&planned), ["TagResource"], "{planned}");
    let before = p.emulator.requests().len();
    let shipped = p.run(&["ship", "--output", "json"]).success().json();
    assert_eq!(shipped["outcome"], "nothing_to_deploy", "{shipped}");
    assert_eq!(shipped["deploy"]["version"], "1");
    assert_eq!(shipped["deploy"]["unchanged"], true);
    assert_eq!(shipped["deploy"]["changes"][0], "tags (changed team)");
    let writes = p.emulator.writes_since(before);
    assert_eq!(writes.len(), 1, "one TagResource: {writes:?}");
    assert!(
        writes[0].starts_with("POST /2017-03-31/tags/"),
        "{writes:?}"
    );
    assert_eq!(p.versions(), ["1"], "no version published");
    assert_eq!(p.live_version(), "1");
    assert_eq!(p.tags()["team"], "billing");
    assert_eq!(p.version_config("1").timeout(), Some(10));
    assert_eq!(
        p.version_config("$LATEST").timeout(),
        Some(99),
        "the console edit stays on $LATEST, unreleased"
    );
    let text = p.run(&["deploy"]).success().stdout;
    assert!(
        text.contains(
            "nothing to deploy: alias live already serves this code and configuration (version 1)"
        ),
        "{text}"
    );
}

#[test]
fn a_hand_edited_managed_tags_list_never_makes_greenlight_remove_others_tags() {
    let p = Project::with_config(&config_with("tags = { team = \"orders\" }"));
    p.run(&["ship"]).success();
    let list = p.raw_tags()["greenlight:managed-tags"].clone();
    assert!(list.starts_with("team check="), "{list}");
    // Another tool's tag, slipped into greenlight's list by hand.
    tag_as_another_tool(
        &p,
        &[
            ("owner", "ops"),
            (
                "greenlight:managed-tags",
                &list.replace("team", "owner team"),
            ),
        ],
    );

    p.write(
        "greenlight.toml",
        &config_with("tags = { tier = \"gold\" }"),
    );
    let deployed = p.run(&["deploy"]).success();
    assert!(
        deployed.stdout.contains(
            "nothing to deploy: alias live already serves this code and configuration (version 1); updated tags (added tier; removed nothing: greenlight:managed-tags was not written by greenlight)"
        ),
        "{}",
        deployed.stdout
    );
    assert!(
        deployed.stderr.contains(
            "warning: tag greenlight:managed-tags of function orders does not carry greenlight's checksum"
        ) && deployed.stderr.contains("it lists owner, team, which the config does not set"),
        "{}",
        deployed.stderr
    );
    let now = p.tags();
    assert_eq!(now.get("owner").map(String::as_str), Some("ops"), "{now:?}");
    assert_eq!(
        now.get("team").map(String::as_str),
        Some("orders"),
        "{now:?}"
    );
    assert_eq!(now["tier"], "gold");
    assert_eq!(now["greenlight:managed-tags"], "tier", "{now:?}");

    // The list is greenlight's own again: a tag dropped from the config is removed.
    p.write("greenlight.toml", &config_with("tags = {}"));
    p.run(&["deploy"]).success();
    assert_eq!(
        p.tags(),
        pairs(&[("owner", "ops"), ("team", "orders")]),
        "tier and the list removed, nothing else"
    );
}

#[test]
fn tag_writes_wait_out_an_update_in_progress() {
    let p = Project::with_config(&config_with("tags = { team = \"orders\" }"));
    p.run(&["ship"]).success();
    p.write(
        "greenlight.toml",
        &config_with("tags = { team = \"billing\" }"),
    );
    let proxy = p.proxy();
    proxy.rule("TagResource", 0, Some(1), Fault::Conflict);
    p.run_via(&proxy, &["deploy"]).success();
    assert_eq!(proxy.calls("TagResource"), 2, "{:?}", proxy.log());
    assert_eq!(p.tags()["team"], "billing");
}

#[test]
fn two_versions_of_one_layer_are_exit_2_naming_both() {
    let p = Project::new();
    let three = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3";
    let four = "arn:aws:lambda:us-east-1:123456789012:layer:deps:4";
    p.write(
        "greenlight.toml",
        &config_with(&format!("layers = [\"{three}\", \"{four}\"]")),
    );
    let before = p.emulator.requests().len();
    let refused = p.run(&["deploy"]).code(2);
    assert!(
        refused.stderr.contains(&format!(
            "`function.layers[1]` = \"{four}\": \"{three}\" is another version of the same layer, and Lambda takes one version of each layer"
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(p.emulator.requests().len(), before, "no AWS call");
}

#[test]
fn pinning_with_snap_start_says_users_move_onto_snapshots() {
    let p = Project::with_config(&config_with("snap_start = true"));
    p.run(&["ship"]).success();
    // Alias live pointed at $LATEST, as in the console.
    p.aws(async |c| {
        c.update_alias()
            .function_name(FUNCTION)
            .name("live")
            .function_version("$LATEST")
            .send()
            .await
    })
    .expect("point live at $LATEST");
    p.change_code("v2");
    let deployed = p.run(&["deploy"]).success();
    assert!(
        deployed.stderr.contains(
            "alias live pinned to version 1: the same code and configuration as before, but users now move onto SnapStart snapshots"
        ),
        "{}",
        deployed.stderr
    );
    assert_eq!(p.live_version(), "1");
}
