//! Settings Lambda refuses are exit 2 naming the key and the value before
//! any write, checked by greenlight itself (the emulator accepts most of
//! them); an environment Lambda cannot decrypt for the caller stops before
//! any write; and a write Lambda refuses never leaves `$LATEST`
//! half-updated. Each is proven on the emulator's request log and state.

use crate::harness::{FUNCTION, Fault, Project, ROLE, default_config};

const ACCESS_POINT: &str =
    "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0";
const FILE_SYSTEM: &str = "file_systems = [{ arn = \"arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0\", mount_path = \"/mnt/data\" }]";
const VPC: &str = "vpc = { subnets = [\"subnet-0a1\"], security_groups = [\"sg-0c3\"] }";

/// The default config with `keys` added to `[function]`.
fn config_with(keys: &str) -> String {
    default_config().replace("[package]", &format!("{keys}\n\n[package]"))
}

/// The default config with the environment table's first entries replaced.
fn environment(entries: &str) -> String {
    default_config().replace(
        "environment = { LOG_LEVEL = \"info\",",
        &format!("environment = {{ {entries},"),
    )
}

#[test]
fn settings_lambda_refuses_are_exit_2_naming_key_and_value_before_any_write() {
    let p = Project::new();
    p.run(&["ship"]).success();
    // Another tool's 45 tags; and provisioned concurrency on the alias.
    let others: Vec<(String, String)> = (0..45)
        .map(|i| (format!("other{i}"), "x".to_owned()))
        .collect();
    p.aws(async |c| {
        c.tag_resource()
            .resource(format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}"
            ))
            .set_tags(Some(others.into_iter().collect()))
            .send()
            .await
    })
    .expect("another tool's tags");
    p.provision("live", 2);
    p.change_code("v2");
    let big = "b".repeat(4100);
    let image = format!(
        "[function]\nname = \"{FUNCTION}\"\nrole = \"{ROLE}\"\nlayers = [\"arn:aws:lambda:us-east-1:123456789012:layer:deps:3\"]\n\n[package]\nimage_uri = \"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1\"\n"
    );
    let tags: String = (0..5).map(|i| format!("mine{i} = \"x\", ")).collect();
    let cases = [
        (
            environment("LOG_LEVEL = \"info\", AWS_REGION = \"eu-west-1\""),
            "`function.environment.AWS_REGION` = \"****\": Lambda sets this variable itself",
        ),
        (
            environment("LOG_LEVEL = \"info\", X = \"1\""),
            "`function.environment.X` = \"****\": variable names are a letter, then at least one more",
        ),
        (
            environment("LOG_LEVEL = \"info\", BIG = { env = \"BIG\" }"),
            "`function.environment` = (3 variables, references read and kept ones included): 4165 bytes as Lambda measures them",
        ),
        (
            config_with("snap_start = true").replace("python3.12", "python3.11"),
            "`function.snap_start` = true: Lambda has no SnapStart for runtime python3.11",
        ),
        (
            config_with(&format!("snap_start = true\n{FILE_SYSTEM}\n{VPC}")),
            "`function.snap_start` = true: Lambda has no SnapStart for a function with a file system",
        ),
        (
            config_with("snap_start = true\nephemeral_storage = 1024"),
            "`function.snap_start` = true: Lambda has no SnapStart with more than 512 MB of ephemeral storage",
        ),
        (
            config_with("snap_start = true"),
            "`function.snap_start` = true: alias live has provisioned concurrency (2), which Lambda does not allow on a SnapStart version",
        ),
        (
            image,
            "`function.layers` = [\"arn:aws:lambda:us-east-1:123456789012:layer:deps:3\"]: Lambda takes no layers for a container image function",
        ),
        (
            config_with(FILE_SYSTEM),
            &format!(
                "`function.file_systems` = \"{ACCESS_POINT}\": Lambda mounts a file system only in a VPC"
            ),
        ),
        (
            config_with(&format!("tags = {{ {} }}", tags.trim_end_matches(", "))),
            "`function.tags` = (5 tags): the function would have 51 tags with those other tools set and greenlight's own list, more than the 50 Lambda keeps",
        ),
    ];
    let before = p.emulator.requests().len();
    for (config, expected) in cases {
        p.write("greenlight.toml", &config);
        let refused = p.command(&["ship"]).env("BIG", &big).output().expect("run");
        let refused = crate::harness::Run::from(refused).code(2);
        assert!(
            refused.stderr.contains(expected),
            "{expected:?} in\n{}",
            refused.stderr
        );
        assert!(!refused.all_output().contains(&big), "a value printed");
        p.emulator.assert_only_reads_since(before, &[]);
    }
    assert_eq!(p.versions(), ["1"]);
    assert_eq!(p.version_config("$LATEST").memory_size(), Some(256));
}

#[test]
fn an_environment_lambda_cannot_decrypt_stops_before_any_write() {
    let p = Project::with_config(&default_config().replace(
        "environment = {",
        "environment_keep = [\"TF_OWNED\"]\nenvironment = {",
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    // The caller may not use the function's KMS key: Lambda answers
    // Environment.Error instead of the variables.
    let proxy = p.proxy();
    proxy.rule(
        "GetFunctionConfiguration",
        0,
        None,
        Fault::Rewrite {
            from: "\"Variables\": {",
            to: "\"Error\": {\"ErrorCode\": \"KMSAccessDeniedException\", \"Message\": \"Lambda was unable to decrypt the environment variables because KMS access was denied.\"}, \"Unread\": {",
        },
    );
    let before = p.emulator.requests().len();
    let stopped = p.run_via(&proxy, &["ship"]).code(1);
    for expected in [
        "error: cannot read the environment of function orders:1: Lambda shows an error instead of its variables",
        "caused by: KMSAccessDeniedException: Lambda was unable to decrypt the environment variables because KMS access was denied.",
        "kms:Decrypt on the KMS key that encrypts the environment",
    ] {
        assert!(
            stopped.stderr.contains(expected),
            "{expected:?} in\n{}",
            stopped.stderr
        );
    }
    p.emulator.assert_only_reads_since(
        before,
        &["GET /2015-03-31/functions/orders/configuration?Qualifier=live"],
    );
    assert_eq!(p.versions(), ["1"]);
    let latest = p.version_config("$LATEST");
    let env = latest
        .environment()
        .and_then(|e| e.variables())
        .expect("variables");
    assert_eq!(env.len(), 2, "{env:?}");
}

#[test]
fn a_write_lambda_refuses_never_leaves_latest_half_updated() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let code = |q: &str| p.version_config(q).code_sha256().map(str::to_owned);
    let before = code("$LATEST");
    p.change_code("v2");
    p.write(
        "greenlight.toml",
        &default_config().replace("memory = 256", "memory = 512"),
    );
    // Lambda refuses the first write, then (the configuration applied) the
    // second: either way $LATEST is as it was.
    for refused in ["UpdateFunctionConfiguration", "UpdateFunctionCode"] {
        let proxy = p.proxy();
        proxy.rule(refused, 0, Some(1), Fault::AccessDenied);
        let failed = p.run_via(&proxy, &["deploy"]).code(1);
        let latest = p.version_config("$LATEST");
        assert_eq!(
            (latest.memory_size(), code("$LATEST")),
            (Some(256), before.clone()),
            "{refused} refused: $LATEST as it was\n{}",
            failed.stderr
        );
        assert_eq!(p.versions(), ["1"], "{refused}");
        if refused == "UpdateFunctionCode" {
            assert!(
                failed.stderr.contains(
                    "greenlight put back the configuration $LATEST had, so $LATEST is as it was; no version was published"
                ),
                "{}",
                failed.stderr
            );
            assert_eq!(
                proxy.calls("UpdateFunctionConfiguration"),
                2,
                "applied, then put back"
            );
        }
    }
    p.run(&["deploy"]).success();
    assert_eq!(p.version_config("2").memory_size(), Some(512));
    assert_ne!(code("2"), before);
}
