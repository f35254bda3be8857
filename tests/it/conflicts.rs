//! Lambda refuses a write with 409 `ResourceConflictException` while
//! another update of the function is in progress; the README promises that
//! this is waited out and retried on any write. The emulator refuses the
//! next calls of one operation on demand ([`Emulator::refuse_with_conflict`]),
//! so each kind of write greenlight makes is shown riding it out.
//!
//! [`Emulator::refuse_with_conflict`]: crate::harness::emulator::Emulator::refuse_with_conflict

use crate::harness::{Project, Run, default_config};

/// Runs `args`, the emulator refusing the next two calls of `operation`
/// with a conflict, and asserts they were waited out: the run succeeded
/// and `operation` was answered 409, 409, then went through.
#[track_caller]
fn waited_out(p: &Project, operation: &str, args: &[&str]) -> Run {
    let before = p.emulator.answers(operation).len();
    p.emulator.refuse_with_conflict(operation, 2);
    let run = p.run(args).success();
    let answers = p.emulator.answers(operation).split_off(before);
    assert!(
        answers.len() == 3 && answers[..2] == [409, 409] && answers[2] < 300,
        "{operation} answered {answers:?}\n{}",
        run.stderr
    );
    run
}

/// The default config with `keys` added to `[function]`.
fn config_with(keys: &str) -> String {
    default_config().replace("[package]", &format!("{keys}\n\n[package]"))
}

#[test]
fn creating_the_alias_waits_out_a_conflict() {
    let p = Project::new();
    waited_out(&p, "CreateAlias", &["ship"]);
    p.assert_settled("1", "greenlight: action=create version=1");
}

#[test]
fn moving_the_alias_waits_out_a_conflict() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    waited_out(&p, "UpdateAlias", &["ship"]);
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn uploading_code_waits_out_a_conflict() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    waited_out(&p, "UpdateFunctionCode", &["deploy"]);
    assert_eq!(p.versions(), ["1", "2"]);
    assert_ne!(
        p.version_config("2").code_sha256(),
        p.version_config("1").code_sha256()
    );
}

#[test]
fn updating_the_configuration_waits_out_a_conflict() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.write(
        "greenlight.toml",
        &default_config().replace("memory = 256", "memory = 512"),
    );
    waited_out(&p, "UpdateFunctionConfiguration", &["deploy"]);
    assert_eq!(p.version_config("2").memory_size(), Some(512));
}

#[test]
fn publishing_waits_out_a_conflict() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    waited_out(&p, "PublishVersion", &["deploy"]);
    assert_eq!(p.versions(), ["1", "2"]);
}

#[test]
fn deleting_a_version_waits_out_a_conflict() {
    let p = Project::new();
    for marker in ["v1", "v2", "v3"] {
        p.change_code(marker);
        p.run(&["ship"]).success();
    }
    let run = waited_out(
        &p,
        "DeleteFunction",
        &["prune", "--keep", "0", "--output", "json"],
    );
    assert_eq!(run.json()["prune"]["deleted"], serde_json::json!(["1"]));
    assert_eq!(p.versions(), ["2", "3"]);
}

#[test]
fn tagging_waits_out_a_conflict() {
    let p = Project::with_config(&config_with("tags = { team = \"orders\" }"));
    p.run(&["ship"]).success();
    p.write(
        "greenlight.toml",
        &config_with("tags = { team = \"payments\" }"),
    );
    waited_out(&p, "TagResource", &["deploy"]);
    assert_eq!(p.tags()["team"], "payments");
}

#[test]
fn untagging_waits_out_a_conflict() {
    let p = Project::with_config(&config_with(
        "tags = { team = \"orders\", tier = \"gold\" }",
    ));
    p.run(&["ship"]).success();
    p.write(
        "greenlight.toml",
        &config_with("tags = { team = \"orders\" }"),
    );
    waited_out(&p, "UntagResource", &["deploy"]);
    assert!(!p.tags().contains_key("tier"), "{:?}", p.tags());
}
