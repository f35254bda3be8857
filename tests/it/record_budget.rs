//! The release record's 256 characters: Lambda refuses an alias
//! `Description` longer than that (the emulator too, as it does), so
//! greenlight refuses, when it reads the config, a plan whose record could
//! outgrow it (exit 2, no AWS call), and the longest plan it accepts goes
//! through every step. Each test reads the alias back.

use std::collections::BTreeMap;

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

use crate::canary::canary_project;
use crate::harness::{FUNCTION, Project, default_config};

/// `[release]` with steps 1 % to `n` %, each baking an hour, and approval
/// before finishing.
fn plan(n: u8) -> String {
    let steps: Vec<String> = (1..=n).map(|s| s.to_string()).collect();
    format!(
        "steps = [{}]\nbake = \"1h\"\napproval = [100]",
        steps.join(", ")
    )
}

/// The most steps of [`plan`] greenlight accepts: with hourly bakes,
/// 7-digit versions, every marker set and one approval digit per move, a
/// 17th step's record is 254 characters long (see
/// `config::plan::Plan::longest_record`).
const MOST: u8 = 17;

/// The error code of an AWS answer.
fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    e.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .unwrap_or("not a service error")
        .to_owned()
}

#[test]
fn the_emulator_refuses_an_alias_description_over_256_characters_as_lambda_does() {
    let p = Project::new();
    p.run(&["deploy"]).success();
    let create = |name: &str, description: String| {
        p.aws(async |c| {
            c.create_alias()
                .function_name(FUNCTION)
                .name(name)
                .function_version("1")
                .description(description)
                .send()
                .await
        })
        .map_or_else(|e| Some(code_of(&e)), |_| None)
    };
    assert_eq!(
        create("long", "é".repeat(257)),
        Some("ValidationException".to_owned())
    );
    assert_eq!(p.alias("long"), None);
    assert_eq!(create("fits", "é".repeat(256)), None);
    let update = |description: String| {
        p.aws(async |c| {
            c.update_alias()
                .function_name(FUNCTION)
                .name("fits")
                .description(description)
                .send()
                .await
        })
        .map_or_else(|e| Some(code_of(&e)), |_| None)
    };
    assert_eq!(
        update("x".repeat(257)),
        Some("ValidationException".to_owned())
    );
    assert_eq!(p.alias("fits").map(|(_, d)| d), Some("é".repeat(256)));
    assert_eq!(update("x".repeat(256)), None);
    assert_eq!(p.alias("fits").map(|(_, d)| d), Some("x".repeat(256)));
}

#[test]
fn the_longest_plan_greenlight_accepts_goes_through_every_step() {
    let p = canary_project(&plan(MOST));
    p.run(&["ship", "--no-wait"]).success();
    for step in 1..MOST {
        p.end_bake("live");
        p.run(&["promote"]).success();
        let share = f64::from(step + 1) / 100.0;
        assert_eq!(
            p.weights("live"),
            ("1".to_owned(), BTreeMap::from([("2".to_owned(), share)]))
        );
    }
    // An approval during the last bake fills the record: the approver's
    // name is cut to the room left, up to the 256 characters Lambda keeps.
    let mut approve = p.command(&["approve"]);
    approve
        .env_remove("GITHUB_ACTOR")
        .env("USER", "a".repeat(200));
    let out = approve.output().expect("run approve");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let (_, description) = p.alias("live").expect("alias");
    let last = MOST - 1;
    assert!(
        description.contains(&format!(" step={last} steps=1,2,3,"))
            && description.contains(&format!(" approved={last} approved_at=")),
        "{description}"
    );
    assert!(description.contains(" by=aaaa"), "{description}");
    assert_eq!(description.chars().count(), 256, "{description}");
    p.end_bake("live");
    p.run(&["promote"]).success();
    p.assert_settled("2", "greenlight: action=release version=2 previous=1");
}

#[test]
fn one_step_more_is_refused_before_any_aws_call() {
    let p = canary_project("steps = [10]");
    let release = plan(MOST + 1);
    p.write(
        "greenlight.toml",
        &format!("{}\n[release]\n{release}\n", default_config()),
    );
    let before = p.emulator.requests();
    let refused = p.run(&["ship", "--no-wait"]).code(2);
    let line = default_config().lines().count() + 3;
    assert!(
        refused.stderr.contains(&format!(
            "greenlight.toml:{line}:9: `release.steps` = [1, 2, 3,"
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains(&format!("list fewer steps (the first {MOST} fit)")),
        "{}",
        refused.stderr
    );
    assert_eq!(p.emulator.requests(), before, "no AWS call at all");
    assert_eq!(p.live_version(), "1");
}
