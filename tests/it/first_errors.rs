//! The errors people meet first in CI, each one line naming the cause and
//! one naming the fix, never the SDK's Debug dump: no credentials, an
//! expired SSO session, an OIDC role STS will not let greenlight assume, a
//! region without the function. (`AccessDenied` on a call: `faults.rs`.)

use std::process::Command;

use crate::harness::{FUNCTION, Fault, Project, Run, SECRET};

/// `greenlight ARGS` against the project's emulator with no credentials
/// of any kind: `setup` adds the ones a test means.
fn without_credentials(p: &Project, args: &[&str], setup: impl FnOnce(&mut Command)) -> Run {
    let mut cmd = p.command(args);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    setup(&mut cmd);
    cmd.output().expect("run greenlight").into()
}

/// Asserts the run (with `-q`: no progress lines) failed before any AWS
/// write with exit 1, printing one `error:` line holding every piece of `cause` and one `hint:` line
/// holding `fix`, nothing of the SDK's internals, and nothing of `secret`.
#[track_caller]
fn explained(run: &Run, cause: &[&str], fix: &str, secret: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let [error, hint] = lines.as_slice() else {
        panic!("two lines, the error and the hint:\n{}", run.stderr);
    };
    for part in cause {
        assert!(
            error.starts_with("error: ") && error.contains(part),
            "{error}"
        );
    }
    assert!(hint.starts_with("hint: ") && hint.contains(fix), "{hint}");
    for internal in ["DispatchFailure", "ConnectorError", "{ ", "caused by"] {
        assert!(!run.stderr.contains(internal), "{internal}: {}", run.stderr);
    }
    assert!(!run.all_output().contains(secret), "{}", run.all_output());
}

#[test]
fn no_credentials_anywhere_is_named_with_how_to_give_some() {
    let p = Project::new();
    let run = without_credentials(&p, &["ship", "-q"], |_| {});
    explained(
        &run,
        &["no AWS credentials found"],
        "aws-actions/configure-aws-credentials",
        SECRET,
    );
    assert!(p.functions().is_empty(), "nothing was created");
}

#[test]
fn an_expired_sso_session_says_to_log_in_again() {
    let p = Project::new();
    p.write(
        "aws/config",
        "[profile ci]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Deployer\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
    );
    // The SDK's cache file for the session `corp`: sha1("corp").json.
    p.write(
        ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        r#"{"accessToken": "sso-token-never-print-me", "expiresAt": "2020-01-01T00:00:00Z", "region": "us-east-1", "startUrl": "https://example.awsapps.com/start"}"#,
    );
    let config = p.join("aws/config");
    let run = without_credentials(&p, &["status", "-q"], |cmd| {
        cmd.env("AWS_PROFILE", "ci").env("AWS_CONFIG_FILE", &config);
    });
    explained(
        &run,
        &["the AWS SSO session has expired"],
        "aws sso login",
        "sso-token-never-print-me",
    );
}

#[test]
fn an_oidc_role_sts_refuses_is_named_with_its_trust_policy_to_check() {
    let p = Project::new();
    let proxy = p.proxy();
    proxy.rule("AssumeRoleWithWebIdentity", 0, None, Fault::AccessDenied);
    p.write("oidc-token", "oidc-token-never-print-me");
    let role = "arn:aws:iam::123456789012:role/deployer";
    let before = p.emulator.calls();
    let mut cmd = p.command_via(&proxy, &["ship", "-q"]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ROLE_ARN", role)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", p.join("oidc-token"));
    let run: Run = cmd.output().expect("run greenlight").into();
    explained(
        &run,
        &[&format!("assume role {role}"), "AccessDenied"],
        "trust policy",
        "oidc-token-never-print-me",
    );
    // The one call made was STS's, refused: no other reached AWS.
    let calls: Vec<String> = proxy.log().into_iter().map(|c| c.op).collect();
    assert_eq!(calls, ["AssumeRoleWithWebIdentity"]);
    assert_eq!(p.emulator.calls(), before);
    assert!(p.functions().is_empty());
}

#[test]
fn a_region_without_the_function_is_named_with_how_to_choose_another() {
    let p = Project::new();
    p.run(&["deploy"]).success();
    let elsewhere = |args: &[&str]| -> Run {
        let mut cmd = p.command(args);
        cmd.env("AWS_REGION", "eu-west-3");
        cmd.output().expect("run greenlight").into()
    };
    for command in ["rollback", "test", "release"] {
        let run = elsewhere(&[command, "-q"]);
        explained(
            &run,
            &[&format!(
                "function {FUNCTION} does not exist in region eu-west-3"
            )],
            "function.region in the config, else --region, else AWS_REGION",
            SECRET,
        );
    }
    // A scheduled promote may run before the first ship: exit 0, said.
    let promote = elsewhere(&["promote"]).success();
    assert!(
        promote.stderr.contains(&format!(
            "function {FUNCTION} does not exist in region eu-west-3; greenlight looked in eu-west-3"
        )),
        "{}",
        promote.stderr
    );
    let status = elsewhere(&["status"]).success();
    assert!(
        status
            .stdout
            .contains("does not exist yet in eu-west-3: `greenlight deploy` creates it"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("function.region"),
        "{}",
        status.stdout
    );
    // In its own region, the function is found as before.
    assert_eq!(p.live_version(), "1");
    p.run(&["promote"]).success();
}
