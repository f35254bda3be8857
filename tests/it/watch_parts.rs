//! `watch install` and `watch remove` against what someone else made
//! under the watcher's names (README "Scheduled canaries without a
//! runner"): install takes over nothing it did not make, remove deletes
//! only what install made, and install checks what it can before it
//! writes anything.

use serde_json::json;

use crate::harness::emulator::REGION;
use crate::harness::{FUNCTION, Project, Run};
use crate::watch::{BUCKET, INSTALL, linux_binary, watched_project, watcher_function_exists};

/// The role a user made under the name install gives its execution role.
const THEIR_ROLE: &str = "greenlight-watcher-role";

/// A trust policy letting Lambda take a role.
const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Makes [`THEIR_ROLE`] as a user would, with a policy of their own;
/// returns its ARN.
fn their_role(p: &Project) -> String {
    let iam = aws_sdk_iam::Client::new(&p.sdk_config(REGION));
    let made = p
        .block_on(
            iam.create_role()
                .role_name(THEIR_ROLE)
                .assume_role_policy_document(LAMBDA_TRUST)
                .description("the orders team's own role")
                .send(),
        )
        .expect("create the user's role");
    p.block_on(
        iam.put_role_policy()
            .role_name(THEIR_ROLE)
            .policy_name("theirs")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
            .send(),
    )
    .expect("put the user's policy");
    made.role().expect("a role").arn().to_owned()
}

/// [`THEIR_ROLE`] as it is now: its description and inline policies.
fn their_role_now(p: &Project) -> Option<(String, Vec<String>)> {
    let iam = aws_sdk_iam::Client::new(&p.sdk_config(REGION));
    let role = p
        .block_on(iam.get_role().role_name(THEIR_ROLE).send())
        .ok()?;
    let policies = p
        .block_on(iam.list_role_policies().role_name(THEIR_ROLE).send())
        .expect("list the role's policies");
    Some((
        role.role()?.description().unwrap_or_default().to_owned(),
        policies.policy_names().to_vec(),
    ))
}

/// Runs `greenlight ARGS`, which must exit `code`, say `says` on standard
/// error and write nothing to AWS.
#[track_caller]
fn refused_writing_nothing(p: &Project, args: &[&str], code: i32, says: &str) -> Run {
    let before = p.emulator.calls().len();
    let refused = p.run(args).code(code);
    assert!(refused.stderr.contains(says), "{}", refused.stderr);
    assert_eq!(p.emulator.writes_since(before), Vec::<String>::new());
    refused
}

/// [`THEIR_ROLE`] as [`their_role`] made it.
fn untouched() -> Option<(String, Vec<String>)> {
    Some((
        "the orders team's own role".to_owned(),
        vec!["theirs".to_owned()],
    ))
}

#[test]
fn install_refuses_to_take_over_a_role_it_did_not_make_and_remove_leaves_it() {
    let p = watched_project("");
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    their_role(&p);
    let refused = refused_writing_nothing(
        &p,
        &INSTALL,
        1,
        "role greenlight-watcher-role already there, and greenlight did not create it",
    );
    assert!(refused.stderr.contains("--role ARN"), "{}", refused.stderr);
    assert_eq!(their_role_now(&p), untouched());

    let removed = p
        .run(&["watch", "remove", "--output", "json"])
        .success()
        .json();
    assert_eq!(removed["outcome"], "not_installed", "{removed}");
    assert_eq!(
        removed["watch"]["done"],
        json!(["left role greenlight-watcher-role: greenlight did not create it"]),
    );
    assert_eq!(their_role_now(&p), untouched());
}

#[test]
fn remove_leaves_the_role_passed_with_role_and_deletes_what_install_made() {
    let p = watched_project("");
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    let arn = their_role(&p);
    let installed = p
        .run(&[&INSTALL[..], &["--role", &arn, "--output", "json"]].concat())
        .success()
        .json();
    assert_eq!(
        installed["watch"]["done"],
        json!([
            "created function greenlight-watcher",
            "created role greenlight-watcher-scheduler",
            "created schedule greenlight-watcher",
            "put alarm greenlight-watcher-errors",
        ]),
        "{installed}"
    );
    assert_eq!(their_role_now(&p), untouched());
    let lambda = aws_sdk_lambda::Client::new(&p.sdk_config(REGION));
    let function = p
        .block_on(
            lambda
                .get_function_configuration()
                .function_name("greenlight-watcher")
                .send(),
        )
        .expect("the watcher function");
    assert_eq!(function.role(), Some(arn.as_str()));

    // A second install with --role leaves the role as it is, too.
    p.run(&[&INSTALL[..], &["--role", &arn]].concat()).success();
    assert_eq!(their_role_now(&p), untouched());

    let removed = p.run(&["watch", "remove"]).success();
    assert!(
        removed
            .stdout
            .contains("left role greenlight-watcher-role: greenlight did not create it"),
        "{}",
        removed.stdout
    );
    assert_eq!(their_role_now(&p), untouched());
    let sdk = p.sdk_config(REGION);
    assert!(!watcher_function_exists(&p));
    let iam = aws_sdk_iam::Client::new(&sdk);
    assert!(
        p.block_on(
            iam.get_role()
                .role_name("greenlight-watcher-scheduler")
                .send()
        )
        .is_err()
    );
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    assert!(
        p.block_on(scheduler.get_schedule().name("greenlight-watcher").send())
            .is_err()
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let alarms = p
        .block_on(
            cloudwatch
                .describe_alarms()
                .alarm_names("greenlight-watcher-errors")
                .send(),
        )
        .expect("describe alarms");
    assert!(alarms.metric_alarms().is_empty());
}

#[test]
fn a_function_install_did_not_make_is_refused_not_watched_and_left() {
    let p = watched_project("");
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    // The project's own function, installed over as if it were the watcher.
    refused_writing_nothing(
        &p,
        &[&INSTALL[..], &["--name", FUNCTION]].concat(),
        1,
        &format!("function {FUNCTION} already there, and greenlight did not create it"),
    );
    let status = p
        .run(&["watch", "status", "--name", FUNCTION, "--output", "json"])
        .success()
        .json();
    assert_eq!(status["outcome"], "not_installed", "{status}");
    assert_eq!(status["watch"]["installed"], false, "{status}");
    let removed = p.run(&["watch", "remove", "--name", FUNCTION]).success();
    assert!(
        removed.stdout.contains(&format!(
            "left function {FUNCTION}: greenlight did not create it"
        )),
        "{}",
        removed.stdout
    );
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), std::collections::BTreeMap::new())
    );
}

#[test]
fn install_finds_a_missing_bucket_before_it_writes_anything() {
    let p = Project::new();
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    let before = p.emulator.calls().len();
    refused_writing_nothing(&p, &INSTALL, 1, "bucket ops-watch: there is no such bucket");
    assert!(
        p.emulator.calls()[before..]
            .iter()
            .any(|c| c.starts_with("HEAD /")),
        "{:?}",
        p.emulator.calls()
    );
    assert!(!watcher_function_exists(&p));
}

#[test]
fn names_and_roles_aws_would_refuse_are_usage_errors_before_any_call() {
    let p = Project::new();
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    let long = "w".repeat(55);
    let cases: [(Vec<&str>, &str); 5] = [
        ([&INSTALL[..], &["--name", &long]].concat(), "--name"),
        ([&INSTALL[..], &["--name", "my.watcher"]].concat(), "--name"),
        (
            [&INSTALL[..], &["--role", "watcher-role"]].concat(),
            "--role \"watcher-role\": must be an IAM role ARN",
        ),
        ([&INSTALL[..], &["--prefix", "/abs/"]].concat(), "--prefix"),
        (vec!["watch", "remove", "--name", &long], "--name"),
    ];
    let before = p.emulator.requests().len();
    for (args, says) in cases {
        let refused = p.run(&args).code(2);
        assert!(
            refused.stderr.contains(says),
            "{args:?}: {}",
            refused.stderr
        );
    }
    assert_eq!(p.emulator.requests().len(), before);
    // 54 characters is within every limit.
    let fits = "w".repeat(54);
    p.run(&["watch", "status", "--name", &fits]).success();
}

#[test]
fn install_refuses_a_bucket_in_another_region_before_it_writes_anything() {
    let p = Project::new();
    p.write_bytes("bin/greenlight", &linux_binary("one"));
    let elsewhere = p.sdk_config("eu-west-1");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&elsewhere)
            .force_path_style(true)
            .build(),
    );
    p.block_on(
        s3.create_bucket()
            .bucket(BUCKET)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                    .build(),
            )
            .send(),
    )
    .expect("create the bucket in eu-west-1");
    let refused = refused_writing_nothing(
        &p,
        &INSTALL,
        2,
        &format!(
            "--bucket {BUCKET}: the bucket is in eu-west-1, and the watcher would be in {REGION}"
        ),
    );
    assert!(
        refused.stderr.contains("--region eu-west-1"),
        "{}",
        refused.stderr
    );
}
