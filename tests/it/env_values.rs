//! Environment values kept outside the config: `{ env = … }`, `{ ssm = … }`
//! and `{ secret = …, key = … }` are read before any write, deployed, never
//! printed, and compared as values; `environment_keep` leaves other tools'
//! variables alone. All against the emulator.

use std::collections::BTreeMap;

use crate::harness::emulator::REGION;
use crate::harness::sdk::{create_secret, create_secret_in, put_parameter, put_parameter_in};
use crate::harness::{FUNCTION, Project, ROLE, Run, default_config};

/// Unique values that must reach the function and never any output.
pub const FROM_CI: &str = "ci-7d21-unique-env-value";
const FROM_SSM: &str = "ssm-4b90-unique-parameter-value";
const FROM_SECRET_KEY: &str = "sm-e35c-unique-json-field";
const FROM_SECRET: &str = "sm-81fa-unique-whole-secret";

/// The default config with every kind of reference in its environment.
fn config() -> String {
    default_config().replace(
        "environment = { LOG_LEVEL = \"info\",",
        "environment = { LOG_LEVEL = \"info\", FROM_CI = { env = \"CI_TOKEN\" }, \
         DB_PASSWORD = { ssm = \"/orders/db-password\" }, \
         API_KEY = { secret = \"orders/api\", key = \"key\" }, \
         WHOLE = { secret = \"orders/whole\" },",
    )
}

/// Every value [`project`]'s references resolve to (with `CI_TOKEN` set
/// to [`FROM_CI`]).
pub const VALUES: [&str; 4] = [FROM_CI, FROM_SSM, FROM_SECRET_KEY, FROM_SECRET];

/// A project whose references all have values in the emulator.
pub fn project() -> Project {
    let p = Project::with_config(&config());
    put_parameter(&p, "/orders/db-password", FROM_SSM);
    create_secret(
        &p,
        "orders/api",
        &format!(r#"{{"key": "{FROM_SECRET_KEY}", "port": 5432}}"#),
    );
    create_secret(&p, "orders/whole", FROM_SECRET);
    p
}

/// Runs `args` with `CI_TOKEN` set, as a CI job with the secret would.
fn run(p: &Project, args: &[&str]) -> Run {
    p.command(args)
        .env("CI_TOKEN", FROM_CI)
        .output()
        .expect("run")
        .into()
}

/// `function`'s environment at `qualifier`, as Lambda holds it.
pub fn environment(p: &Project, function: &str, qualifier: &str) -> BTreeMap<String, String> {
    environment_in(p, REGION, function, qualifier)
}

/// [`environment`] of a function in `region`.
fn environment_in(
    p: &Project,
    region: &str,
    function: &str,
    qualifier: &str,
) -> BTreeMap<String, String> {
    let lambda = aws_sdk_lambda::Client::new(&p.sdk_config(region));
    let config = p
        .block_on(
            lambda
                .get_function_configuration()
                .function_name(function)
                .qualifier(qualifier)
                .send(),
        )
        .expect("configuration");
    config
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.clone().into_iter().collect())
        .unwrap_or_default()
}

/// Sets the environment of `$LATEST` to `variables`, as Terraform would.
fn set_latest_environment(p: &Project, variables: BTreeMap<String, String>) {
    p.aws(async |c| {
        c.update_function_configuration()
            .function_name(FUNCTION)
            .environment(
                aws_sdk_lambda::types::Environment::builder()
                    .set_variables(Some(variables.into_iter().collect()))
                    .build(),
            )
            .send()
            .await
    })
    .expect("terraform's update");
    p.wait_until_updated();
}

#[track_caller]
fn assert_no_value_printed(outputs: &[String]) {
    for out in outputs {
        for value in VALUES {
            assert!(!out.contains(value), "{value} leaked:\n{out}");
        }
    }
}

#[test]
fn references_are_deployed_as_values_compared_as_values_and_never_printed() {
    let p = project();
    let mut seen = Vec::new();
    let first = run(&p, &["ship", "-vv"]);
    seen.push(first.all_output());
    let first = first.success();
    assert!(
        first
            .stderr
            .contains("DB_PASSWORD from { ssm = \"/orders/db-password\" }"),
        "-v names what was read: {}",
        first.stderr
    );
    let env = environment(&p, FUNCTION, "1");
    assert_eq!(env["FROM_CI"], FROM_CI);
    assert_eq!(env["DB_PASSWORD"], FROM_SSM);
    assert_eq!(env["API_KEY"], FROM_SECRET_KEY);
    assert_eq!(env["WHOLE"], FROM_SECRET);
    assert_eq!(env["LOG_LEVEL"], "info");

    // The same values: nothing to deploy, and nothing written.
    let before = p.emulator.requests().len();
    let again = run(&p, &["deploy", "-vv"]);
    seen.push(again.all_output());
    let again = again.success();
    assert!(
        again.stdout.contains("nothing to deploy"),
        "{}",
        again.stdout
    );
    p.emulator.assert_only_reads_since(before, &["POST /"]);

    // A rotated parameter is a change, named by key only.
    put_parameter(&p, "/orders/db-password", &format!("{FROM_SSM}-rotated"));
    for args in [
        &["plan", "-vv"][..],
        &["plan", "--output", "json", "-vv"],
        &["deploy", "--dry-run", "-vv"],
    ] {
        let planned = run(&p, args);
        seen.push(planned.all_output());
        assert!(
            planned
                .success()
                .all_output()
                .contains("changed DB_PASSWORD"),
            "{args:?}"
        );
    }
    assert_eq!(p.versions(), ["1"], "dry runs wrote nothing");
    let rotated = run(&p, &["ship", "--output", "json", "-vv"]);
    seen.push(rotated.all_output());
    let report = rotated.success().json();
    assert_eq!(
        report["deploy"]["changes"][0], "environment (changed DB_PASSWORD)",
        "{report}"
    );
    let env = environment(&p, FUNCTION, "2");
    assert_eq!(env["DB_PASSWORD"], format!("{FROM_SSM}-rotated"));
    assert_eq!(p.live_version(), "2");

    // A response that echoes resolved values is masked, not printed.
    p.change_code("leaky");
    p.emulator.queue_invoke_results(&[serde_json::json!(
        { "probe": "bad", "echo": [FROM_CI, FROM_SECRET_KEY, FROM_SECRET] }
    )]);
    let leaky = run(&p, &["ship", "-vv"]);
    seen.push(leaky.all_output());
    assert!(leaky.code(1).stdout.contains("****"));
    assert_no_value_printed(&seen);
}

#[test]
fn a_value_that_is_not_there_is_exit_2_naming_the_variable_and_reference_before_any_write() {
    let p = project();
    // A secret with no text: binary data only.
    let secrets = aws_sdk_secretsmanager::Client::new(&p.sdk_config(REGION));
    p.block_on(
        secrets
            .create_secret()
            .name("orders/binary")
            .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(FROM_SECRET))
            .send(),
    )
    .expect("create a binary secret");
    let cases = [
        (
            "{ env = \"CI_MISSING\" }",
            "`function.environment.XX` = { env = \"CI_MISSING\" }: CI_MISSING is not set",
        ),
        (
            "{ ssm = \"/orders/missing\" }",
            "`function.environment.XX` = { ssm = \"/orders/missing\" }: no SSM parameter /orders/missing in us-east-1",
        ),
        (
            "{ secret = \"orders/missing\" }",
            "`function.environment.XX` = { secret = \"orders/missing\" }: no secret orders/missing",
        ),
        (
            "{ secret = \"orders/api\", key = \"user\" }",
            "`function.environment.XX` = { secret = \"orders/api\", key = \"user\" }: the secret's JSON has no such key",
        ),
        (
            "{ secret = \"orders/whole\", key = \"user\" }",
            "the secret is not a JSON object",
        ),
        (
            "{ secret = \"orders/binary\" }",
            "`function.environment.XX` = { secret = \"orders/binary\" }: no secret orders/binary with a text value in us-east-1",
        ),
    ];
    let before = p.emulator.requests().len();
    for (reference, expected) in cases {
        let config = config().replace(
            "environment = {",
            &format!("environment = {{ XX = {reference},"),
        );
        p.write("greenlight.toml", &config);
        let text = run(&p, &["ship"]).code(2);
        assert!(text.stderr.contains(expected), "{}", text.stderr);
        let json = run(&p, &["plan", "--output", "json"]).code(2);
        let message = json.json()["error"]["message"].to_string();
        assert!(
            message.contains(&expected.replace('"', "\\\"")),
            "{message}"
        );
        assert_no_value_printed(&[text.all_output(), json.all_output()]);
    }
    assert!(p.functions().is_empty(), "nothing was written");
    let writes = p.emulator.writes_since(before);
    assert!(writes.is_empty(), "{writes:?}");
}

/// The default config, keeping `TF_OWNED` (Terraform's).
fn keeping_config() -> String {
    default_config().replace(
        "environment = { LOG_LEVEL = \"info\", API_TOKEN",
        "environment_keep = [\"TF_OWNED\"]\nenvironment = { LOG_LEVEL = \"info\", API_TOKEN",
    )
}

/// Terraform writes `vars` into `$LATEST`'s environment, over what version
/// `from` holds.
pub fn terraform_sets(p: &Project, from: &str, vars: &[(&str, &str)]) {
    let mut env = environment(p, FUNCTION, from);
    env.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    set_latest_environment(p, env);
}

#[test]
fn kept_variables_are_left_as_other_tools_set_them() {
    let config = keeping_config();
    let p = Project::with_config(&config);
    p.run(&["ship"]).success();
    assert!(!environment(&p, FUNCTION, "1").contains_key("TF_OWNED"));
    // Terraform sets its variable (and a stray one) on $LATEST.
    terraform_sets(&p, "1", &[("TF_OWNED", "from-terraform"), ("STRAY", "x")]);

    // Ships LOG_LEVEL = `level`, a change the deploy describes as `change`.
    let ship_log_level = |level: &str, change: &str| {
        p.write(
            "greenlight.toml",
            &config.replace("\"info\"", &format!("\"{level}\"")),
        );
        let shipped = p.run(&["ship", "--output", "json"]).success().json();
        assert_eq!(shipped["deploy"]["changes"][0], change, "{shipped}");
    };

    // The kept variable is no reason to deploy.
    let unchanged = p.run(&["deploy"]).success();
    assert!(
        unchanged.stdout.contains("nothing to deploy"),
        "{}",
        unchanged.stdout
    );

    // A real change keeps Terraform's value and removes what nobody keeps.
    ship_log_level("debug", "environment (changed LOG_LEVEL; removed STRAY)");
    let env = environment(&p, FUNCTION, "2");
    assert_eq!(env["TF_OWNED"], "from-terraform");
    assert_eq!(env["LOG_LEVEL"], "debug");
    assert!(!env.contains_key("STRAY"), "{env:?}");

    // Terraform drops its variable: the next change leaves it absent, not
    // empty and not as it was.
    let mut dropped = environment(&p, FUNCTION, "$LATEST");
    dropped.remove("TF_OWNED");
    set_latest_environment(&p, dropped);
    ship_log_level("warn", "environment (changed LOG_LEVEL)");
    let env = environment(&p, FUNCTION, "3");
    assert_eq!(env["LOG_LEVEL"], "warn");
    assert!(!env.contains_key("TF_OWNED"), "{env:?}");
}

#[test]
fn references_are_read_in_each_functions_own_region() {
    let entry = |name: &str, region: &str| {
        format!(
            "[[functions]]\nname = \"{name}\"\nregion = \"{region}\"\nruntime = \"python3.12\"\nhandler = \"index.handler\"\nrole = \"{ROLE}\"\nenvironment = {{ TOKEN = {{ ssm = \"/svc/token\" }}, KEY = {{ secret = \"svc/key\" }} }}\n"
        )
    };
    let regions = [("east", "us-east-1"), ("west", "eu-west-1")];
    let fleet = format!(
        "[package]\nsource = \"app\"\n\n{}\n{}",
        entry(regions[0].0, regions[0].1),
        entry(regions[1].0, regions[1].1)
    );
    let p = Project::with_config(&fleet);
    // The same names in both regions, with different values.
    for (_, region) in regions {
        put_parameter_in(&p, region, "/svc/token", &format!("token-of-{region}"));
        create_secret_in(&p, region, "svc/key", &format!("key-of-{region}"));
    }

    p.run(&["deploy", "--region", "us-east-1"]).success();
    for (function, region) in regions {
        let env = environment_in(&p, region, function, "1");
        assert_eq!(env["TOKEN"], format!("token-of-{region}"), "{function}");
        assert_eq!(env["KEY"], format!("key-of-{region}"), "{function}");
    }
}

#[test]
fn a_kept_variable_rotated_during_a_deploy_is_written_back_fresh() {
    let config = keeping_config();
    let p = Project::with_config(&config);
    p.run(&["ship"]).success();
    terraform_sets(&p, "1", &[("TF_OWNED", "before-rotation")]);
    p.write(
        "greenlight.toml",
        &config.replace("memory = 256", "memory = 512"),
    );
    // Terraform rotates its variable between greenlight's read of $LATEST
    // and its configuration update: the update, made from the old read,
    // must not write the old value back.
    let proxy = p.proxy();
    proxy.hold("UpdateFunctionConfiguration", &[1]);
    let child = crate::harness::spawned(p.command_via(&proxy, &["deploy", "--output", "json"]));
    proxy.look_before_each(
        "UpdateFunctionConfiguration",
        &[1],
        std::time::Duration::from_secs(60),
        |_| terraform_sets(&p, "$LATEST", &[("TF_OWNED", "rotated")]),
    );
    let deployed: Run = child.wait_with_output().expect("wait").into();
    let deployed = deployed.success().json();
    assert_eq!(deployed["deploy"]["version"], "2", "{deployed}");
    assert_eq!(
        proxy.calls("UpdateFunctionConfiguration"),
        2,
        "refused once (RevisionId), made again from a fresh read: {:?}",
        proxy.log()
    );
    for qualifier in ["$LATEST", "2"] {
        let env = environment(&p, FUNCTION, qualifier);
        assert_eq!(env["TF_OWNED"], "rotated", "{qualifier}");
        assert_eq!(p.version_config(qualifier).memory_size(), Some(512));
    }
}

#[test]
fn a_fleet_reads_a_shared_value_once_and_asks_for_ten_parameters_a_call() {
    let names: Vec<String> = (0..11).map(|i| format!("/svc/p{i}")).collect();
    let many: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("P{i} = {{ ssm = \"{n}\" }}"))
        .collect();
    let entry = |name: &str, env: &str| {
        format!(
            "[[functions]]\nname = \"{name}\"\nruntime = \"python3.12\"\nhandler = \"index.handler\"\nrole = \"{ROLE}\"\nenvironment = {{ {env} }}\n"
        )
    };
    let shared = "SHARED = { secret = \"svc/shared\", key = \"token\" }";
    let fleet = format!(
        "[package]\nsource = \"app\"\n\n{}\n{}",
        entry("orders", &format!("{}, {shared}", many.join(", "))),
        entry(
            "billing",
            &format!("P0 = {{ ssm = \"/svc/p0\" }}, {shared}")
        ),
    );
    let p = Project::with_config(&fleet);
    for (i, name) in names.iter().enumerate() {
        put_parameter(&p, name, &format!("value-{i}"));
    }
    create_secret(&p, "svc/shared", r#"{"token": "shared-token"}"#);
    let proxy = p.proxy();
    p.run_via(&proxy, &["deploy"]).success();
    assert_eq!(proxy.calls("GetParameters"), 2, "11 names: 10, then 1");
    assert_eq!(proxy.calls("GetSecretValue"), 1, "read once for both");
    let orders = environment(&p, "orders", "1");
    assert_eq!(orders["P10"], "value-10");
    assert_eq!(orders["SHARED"], "shared-token");
    let billing = environment(&p, "billing", "1");
    assert_eq!(billing["P0"], "value-0");
    assert_eq!(billing["SHARED"], "shared-token");

    // One function's missing value stops the whole fleet before any write.
    p.change_code("v2");
    p.write(
        "greenlight.toml",
        &fleet.replace("/svc/p0\" }, SHARED", "/svc/gone\" }, SHARED"),
    );
    let before = p.emulator.requests().len();
    let run = p.run(&["deploy"]).code(2);
    assert!(
        run.all_output().contains("no SSM parameter /svc/gone"),
        "{}",
        run.all_output()
    );
    p.emulator.assert_only_reads_since(before, &["POST /"]);
}

#[test]
fn commands_that_deploy_nothing_read_no_reference() {
    let p = project();
    run(&p, &["ship"]).success();
    p.change_code("v2");
    run(&p, &["deploy"]).success();
    // Without CI_TOKEN, a scheduled `promote`, `status`, `test`, a
    // `release`, a `rollback` and a `prune` still work: they do not write
    // the environment.
    let proxy = p.proxy();
    let steps: [(&[&str], &str); 6] = [
        (&["status"], "1"),
        (&["promote"], "1"),
        (&["test"], "1"),
        (&["release"], "2"),
        (&["rollback"], "1"),
        (&["prune", "--keep", "1"], "1"),
    ];
    for (args, live) in steps {
        p.run_via(&proxy, args).success();
        assert_eq!(p.live_version(), live, "after {args:?}");
    }
    assert_eq!(
        p.versions(),
        ["1", "2"],
        "prune kept the live and the newest"
    );
    assert_eq!(proxy.calls("GetParameters"), 0);
    assert_eq!(proxy.calls("GetSecretValue"), 0);
}

#[test]
fn a_number_in_a_secrets_json_is_deployed_as_it_is_written() {
    let p = Project::with_config(&default_config().replace(
        "environment = { LOG_LEVEL = \"info\",",
        "environment = { LOG_LEVEL = \"info\", BIG = { secret = \"orders/numbers\", key = \"big\" }, \
         SCI = { secret = \"orders/numbers\", key = \"sci\" },",
    ));
    create_secret(
        &p,
        "orders/numbers",
        r#"{"big": 98765432109876543210, "sci": 1E3}"#,
    );
    p.run(&["deploy"]).success();
    let env = environment(&p, FUNCTION, "1");
    assert_eq!(
        (env["BIG"].as_str(), env["SCI"].as_str()),
        ("98765432109876543210", "1E3")
    );
}

#[test]
fn an_arn_is_read_in_the_region_it_names_and_ssm_names_are_trimmed_and_checked() {
    let p = Project::new();
    // The same name in the function's region holds another value: the
    // ARN's region must be the one read.
    put_parameter(&p, "/orders/db-password", "us-east-1-value-never-deployed");
    put_parameter_in(&p, "eu-west-1", "/orders/db-password", FROM_SSM);
    let secret = create_secret_in(
        &p,
        "eu-west-1",
        "orders/api",
        &format!(r#"{{"key": "{FROM_SECRET_KEY}"}}"#),
    );
    put_parameter(&p, "/orders/local", FROM_CI);
    let parameter = "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/db-password";
    let references = format!(
        "environment = {{ LOG_LEVEL = \"info\", DB_PASSWORD = {{ ssm = \"{parameter}\" }}, \
         API_KEY = {{ secret = \"{secret}\", key = \"key\" }}, LOCAL = {{ ssm = \"  /orders/local \" }},"
    );
    p.write(
        "greenlight.toml",
        &default_config().replace("environment = { LOG_LEVEL = \"info\",", &references),
    );
    let shipped = run(&p, &["ship"]);
    shipped.success();
    let env = environment(&p, FUNCTION, "live");
    assert_eq!(env["DB_PASSWORD"], FROM_SSM);
    assert_eq!(env["API_KEY"], FROM_SECRET_KEY);
    assert_eq!(env["LOCAL"], FROM_CI, "the name's blanks trimmed");

    // A name SSM would refuse is exit 2 when the config is read: no call.
    p.write(
        "greenlight.toml",
        &default_config().replace(
            "environment = { LOG_LEVEL = \"info\",",
            "environment = { LOG_LEVEL = \"info\", DB_PASSWORD = { ssm = \"orders/db password\" },",
        ),
    );
    let before = p.emulator.requests().len();
    let refused = run(&p, &["plan"]).code(2);
    assert!(
        refused.stderr.contains(
            "`function.environment.DB_PASSWORD` = { ssm = \"orders/db password\" }: an SSM parameter name is 1 to 1011 letters"
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(p.emulator.requests().len(), before, "no AWS call");
}
