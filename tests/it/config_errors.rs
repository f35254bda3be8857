//! Bad input: exit 2, one clear error naming the file, key and value, and AWS untouched.

use crate::harness::{Project, default_config};

/// Runs `args` with `config` and asserts exit 2, an error mentioning
/// `needle`, a short message, and no function created in the emulator.
#[track_caller]
fn rejected(config: &str, args: &[&str], needle: &str) {
    let p = Project::with_config(config);
    let run = p.run(args).code(2);
    assert!(
        run.stderr.contains(needle),
        "expected {needle:?} in:\n{}",
        run.stderr
    );
    let error = &run.stderr[run.stderr.find("error: ").expect("an error line")..];
    assert!(error.lines().count() <= 3, "too long:\n{error}");
    assert!(
        !run.all_output().contains("panicked"),
        "{}",
        run.all_output()
    );
    assert!(p.functions().is_empty(), "nothing may be created in AWS");
}

#[test]
fn unknown_key_is_named_with_file_and_line() {
    rejected(
        &default_config().replace("memory = 256", "memroy = 256"),
        &["ship"],
        "greenlight.toml:6:1: unknown field `memroy`",
    );
}

#[test]
fn unknown_table_is_named() {
    rejected(
        &format!("{}\n[deploy]\nx = 1\n", default_config()),
        &["ship"],
        "unknown field `deploy`",
    );
}

#[test]
fn malformed_toml_is_located() {
    rejected(
        "[function\nname = \"x\"\n",
        &["status"],
        "greenlight.toml:1:",
    );
}

#[test]
fn out_of_range_values_are_named_with_the_limit() {
    rejected(
        &default_config().replace("memory = 256", "memory = 99999"),
        &["deploy"],
        "`function.memory` = 99999: Lambda accepts 128 to 10240 MB",
    );
}

#[test]
fn missing_required_name_is_named() {
    rejected(
        "[function]\nalias = \"live\"\n",
        &["status"],
        "missing field `name`",
    );
}

#[test]
fn missing_source_folder_is_named() {
    rejected(
        &default_config().replace("source = \"app\"", "source = \"nowhere\""),
        &["ship"],
        "package source",
    );
}

#[test]
fn missing_config_file_says_where_it_looked() {
    let p = Project::new();
    let run = p.run(&["-c", "elsewhere.toml", "status"]).code(2);
    assert!(
        run.stderr
            .contains("cannot read config file elsewhere.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_config_that_is_not_utf8_names_the_byte_and_says_to_save_it_as_utf8() {
    let p = Project::new();
    let text = default_config();
    let mut latin1 = text.clone().into_bytes();
    latin1.extend_from_slice(b"# caf\xe9\n");
    p.write_bytes("greenlight.toml", &latin1);
    let before = p.emulator.requests();
    let run = p.run(&["ship"]).code(2);
    let line = text.lines().count() + 1;
    let offset = text.len() + 5;
    assert_eq!(
        run.stderr,
        format!(
            "error: greenlight.toml:{line}:6: the file is not UTF-8 text: byte 0xe9 at offset {offset} is not valid UTF-8\n\
             hint: save the file as UTF-8 (TOML files are UTF-8), e.g. `iconv -f latin1 -t utf-8`\n"
        )
    );
    assert_eq!(p.emulator.requests(), before, "no AWS call at all");
}

#[test]
fn creating_a_function_needs_runtime_handler_and_role() {
    let config = default_config()
        .lines()
        .filter(|l| !l.starts_with("runtime") && !l.starts_with("role"))
        .collect::<Vec<_>>()
        .join("\n");
    rejected(&config, &["ship"], "function.runtime, function.role");
}

#[test]
fn bad_flags_are_usage_errors() {
    let p = Project::new();
    let run = p.run(&["ship", "--output", "yaml"]).code(2);
    assert!(
        run.stderr.contains("invalid value 'yaml'"),
        "{}",
        run.stderr
    );
    p.run(&["launch"]).code(2);
}

#[test]
fn no_region_anywhere_is_a_usage_error() {
    let p = Project::new();
    let out = p
        .command(&["status"])
        .env_remove("AWS_REGION")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error: no AWS region is set"), "{stderr}");
    assert!(stderr.contains("hint: pass --region"), "{stderr}");
}

#[test]
fn errors_are_one_json_document_with_json_output() {
    let config = default_config().replace("timeout = 10", "timeout = 0");
    let p = Project::with_config(&config);
    let doc = p.run(&["ship", "--output", "json"]).code(2).json();
    assert_eq!(doc["outcome"], "usage_error");
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(
        doc["error"]["message"],
        "greenlight.toml: `function.timeout` = 0: Lambda accepts 1 to 900 seconds"
    );
    assert!(p.functions().is_empty());
}

/// Bad input, many kinds, against one emulator that already runs version 1:
/// every case is exit 2 with a short error naming the key, no panic, and no
/// request that changes AWS (the request log shows reads at most).
#[test]
fn every_kind_of_bad_input_is_exit_2_and_writes_nothing() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let base = default_config();
    let swap = |from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        base.replace(from, to)
    };
    let add = |section: &str, lines: &str| swap(section, &format!("{section}\n{lines}"));
    let long = "x".repeat(65);
    // Two functions, `a` and `b`, with `first` and `second` added to them.
    let fleet = |first: &str, second: &str| {
        format!(
            "[package]\nsource = \"app\"\n\n[[functions]]\nname = \"a\"\n{first}\n\n[[functions]]\nname = \"b\"\n{second}\n"
        )
    };
    let cases: Vec<(String, &str)> = vec![
        (swap("memory = 256", "memory = 99999"), "function.memory"),
        (swap("memory = 256", "memory = 64"), "function.memory"),
        (swap("memory = 256", "memory = \"big\""), "function.memory"),
        (swap("timeout = 10", "timeout = 0"), "function.timeout"),
        (swap("timeout = 10", "timeout = 901"), "function.timeout"),
        (
            swap("name = \"orders\"", "name = \"bad name\""),
            "function.name",
        ),
        (
            swap("name = \"orders\"", &format!("name = \"{long}\"")),
            "function.name",
        ),
        (add("[function]", "alias = \"$LATEST\""), "function.alias"),
        (add("[function]", "alias = \"123\""), "function.alias"),
        (
            swap("role = \"arn:", "role = \"not-an-arn:"),
            "function.role",
        ),
        (
            swap("LOG_LEVEL = \"info\"", "\"1X\" = \"v\""),
            "function.environment",
        ),
        (
            add(
                "[function]",
                &format!("description = \"{}\"", "d".repeat(300)),
            ),
            "function.description",
        ),
        (
            add("[function]", "snap_start = \"yes\""),
            "function.snap_start",
        ),
        (
            fleet("snap_start = 1", ""),
            "functions[0] \"a\": invalid type: integer `1`, expected a boolean (key `function.snap_start`)",
        ),
        (
            add("[function]", "ready_timeout = \"2h\""),
            "function.ready_timeout",
        ),
        (
            swap("runtime = \"python3.12\"", "runtime = 5"),
            "function.runtime",
        ),
        (swap("memory = 256", "memroy = 256"), "memroy"),
        (format!("{base}\n[deploy]\nx = 1\n"), "deploy"),
        (
            swap("name = \"orders\"", "name = \"orders"),
            "greenlight.toml:",
        ),
        (String::new(), "function"),
        ("[function]\n".to_owned(), "name"),
        (swap("source = \"app\"", "source = \"nowhere\""), "nowhere"),
        (swap("source = \"app\"", "source = \"\""), "package.source"),
        (
            add("source = \"app\"", "exclude = [\"[\"]"),
            "package.exclude",
        ),
        (
            add("source = \"app\"", "s3_bucket = \"Bad_Bucket\""),
            "package.s3_bucket",
        ),
        (add("source = \"app\"", "build = \"\""), "package.build"),
        (
            add("source = \"app\"", "image_uri = \"1.dkr.ecr.x/app:v1\""),
            "package.source",
        ),
        (add("[[smoke]]", "timeout = \"soon\""), "smoke[0].timeout"),
        (
            format!("{base}\n[[smoke]]\nname = \"echo\"\n"),
            "smoke[1].name",
        ),
        (swap("name = \"echo\"", "name = \"\""), "smoke[0].name"),
        (
            add("[[smoke]]", "http = { url = \"ftp://x\" }"),
            "smoke[0].payload",
        ),
        (
            add("[[smoke]]", "retry_delay = \"0s\""),
            "smoke[0].retry_delay",
        ),
        (
            format!("{base}\n[[functions]]\nname = \"billing\"\n"),
            "`[function]` and `[[functions]]` cannot both be given",
        ),
        (
            fleet("", "").replace("[[functions]]\nname = \"b\"", "[[functions]]\nname = \"a\""),
            "`functions[1].name` = \"a\": listed twice",
        ),
        (
            "functions = 5\n".to_owned(),
            "`functions` must be an array of tables",
        ),
        (
            "functions = []\n".to_owned(),
            "`[[functions]]` lists no function",
        ),
        (
            fleet("release = { together = true }", ""),
            "`functions[0].release.together`",
        ),
        (
            fleet("", "release = { steps = [50] }").replace(
                "[package]",
                "[release]\nsteps = [10]\ntogether = true\n[package]",
            ),
            "with `[release] together`, every function moves through the same steps",
        ),
        (fleet("region = \"mars\"", ""), "function.region"),
        (
            format!(
                "{base}\n[[smoke]]\nname = \"health\"\nhttp = {{ url = \"https://x/{{bogus}}\" }}\n"
            ),
            "`smoke[1].http.url` = \"https://x/{bogus}\": unknown placeholder {bogus}; the known ones are {function}, {version}, {alias}, {qualifier}, {region}, {endpoint}",
        ),
        (
            format!(
                "{base}\n[[smoke]]\nname = \"health\"\nhttp = {{ url = \"https://{{endpoint}}/health\" }}\n"
            ),
            "`smoke[1].http.url` = \"https://{endpoint}/health\": {endpoint} is the endpoint of the DNS colour under test, and this config has no [dns] table",
        ),
        (
            // `a` has its own [dns], `b` has none: b's smoke test cannot be filled.
            format!(
                "{}\n[[smoke]]\nname = \"health\"\nhttp = {{ url = \"https://{{endpoint}}/health\" }}\n",
                fleet(
                    "dns = { zone_id = \"Z1\", name = \"a.example.com\", blue = { value = \"b\", alias = \"blue\" }, green = { value = \"g\", alias = \"green\" } }",
                    "",
                )
            ),
            "greenlight.toml functions[1] \"b\": `smoke[0].http.url` = \"https://{endpoint}/health\": {endpoint} is the endpoint",
        ),
        (
            format!("{base}\n[release]\nsteps = [50, 10]\n"),
            "release.steps",
        ),
        (format!("{base}\n[release]\nsteps = [0]\n"), "release.steps"),
        (
            format!("{base}\n[release]\nsteps = [100]\n"),
            "release.steps",
        ),
        (
            format!("{base}\n[release]\nsteps = [-5]\n"),
            "release.steps",
        ),
        (
            format!("{base}\n[release]\nsteps = [10]\nbake = \"soon\"\n"),
            "release.bake",
        ),
        (
            format!("{base}\n[release]\nsteps = [10]\nbake = \"0s\"\n"),
            "release.bake",
        ),
        (
            format!("{base}\n[release]\nsteps = [10]\nbake = \"10000y\"\n"),
            "`release.bake` = \"10000y\": a duration from 1s to 14 days",
        ),
        (
            format!("{base}\n[release]\npreset = \"Canary10Percent9999999999999Minutes\"\n"),
            "`release.preset` = \"Canary10Percent9999999999999Minutes\": a preset bakes 1 to 20160 minutes",
        ),
        (
            format!("{base}\n[release]\nmax_hold = \"15days\"\n"),
            "`release.max_hold` = \"15days\": a duration of at most 14 days",
        ),
        (
            format!("{base}\n[release]\nmetrics = [{{ name = \"p99-duration\", max = \"1h\" }}]\n"),
            "`release.metrics[0].max` = \"1h\": a duration such as \"800ms\" or \"2s\", at most 15m (Lambda's longest timeout)",
        ),
        (
            add("[[smoke]]", "timeout = \"2h\""),
            "`smoke[0].timeout` = \"2h\": a duration above 0 and at most 1h",
        ),
        (
            add("[[smoke]]", "retry_delay = \"61m\""),
            "`smoke[0].retry_delay` = \"61m\"",
        ),
        (
            add("[[smoke]]", "retries = 11"),
            "`smoke[0].retries` = 11: give 0 to 10",
        ),
        (
            format!(
                "{base}\n[[smoke]]\nname = \"slow\"\nhttp = {{ url = \"http://x\", max_latency = \"2h\" }}\n"
            ),
            "`smoke[1].http.max_latency` = \"2h\"",
        ),
        (
            add("[function]", "architecture = \"arm\""),
            "`function.architecture` = \"arm\": Lambda accepts \"x86_64\", \"arm64\"",
        ),
        (
            add("[function]", "ephemeral_storage = 100"),
            "`function.ephemeral_storage` = 100: Lambda accepts 512 to 10240 MB",
        ),
        (
            add("[function]", "tracing = \"On\""),
            "`function.tracing` = \"On\": Lambda accepts \"Active\", \"PassThrough\"",
        ),
        (
            add("[function]", "layers = [\"deps:3\"]"),
            "`function.layers[0]` = \"deps:3\": a layer version ARN",
        ),
        (
            add(
                "[function]",
                "vpc = { subnets = [\"subnet-0a\"], security_groups = [] }",
            ),
            "`function.vpc` = (subnets and security_groups): give both",
        ),
        (
            add(
                "[function]",
                "vpc = { subnets = [\"net-1\"], security_groups = [\"sg-1\"] }",
            ),
            "`function.vpc.subnets` = \"net-1\"",
        ),
        (
            add(
                "[function]",
                "vpc = { subnets = [], security_groups = [], vpc_id = \"vpc-1\" }",
            ),
            "unknown field `vpc_id`",
        ),
        (
            add("[function]", "logging = { format = \"XML\" }"),
            "`function.logging.format` = \"XML\": Lambda accepts \"Text\", \"JSON\"",
        ),
        (
            add("[function]", "logging = { application_level = \"DEBUG\" }"),
            "`function.logging` = (levels): log levels need format = \"JSON\"",
        ),
        (
            add("[function]", "dead_letter = \"arn:aws:s3:::bucket\""),
            "`function.dead_letter` = \"arn:aws:s3:::bucket\": an SQS queue or SNS topic ARN",
        ),
        (
            add("[function]", "kms_key = \"alias/orders\""),
            "`function.kms_key` = \"alias/orders\": a KMS key ARN",
        ),
        (
            add(
                "[function]",
                "file_systems = [{ arn = \"fsap-1\", mount_path = \"/mnt/data\" }]",
            ),
            "`function.file_systems[0].arn` = \"fsap-1\"",
        ),
        (
            add(
                "[function]",
                "file_systems = [{ arn = \"arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1\", mount_path = \"/data\" }]",
            ),
            "`function.file_systems[0].mount_path` = \"/data\"",
        ),
        (
            add("[function]", "tags = { \"aws:team\" = \"orders\" }"),
            "`function.tags.aws:team` = \"orders\": a tag key is",
        ),
        (
            add("[function]", "tags = { \"my team\" = \"orders\" }"),
            "`function.tags.my team` = \"orders\": a tag key is",
        ),
        (
            add(
                "[function]",
                "tags = { \"greenlight:managed-tags\" = \"x\" }",
            ),
            "greenlight keeps this tag itself",
        ),
        (
            fleet("tracing = \"On\"", ""),
            "greenlight.toml functions[0] \"a\": `function.tracing` = \"On\"",
        ),
        (
            format!("{base}\n[release]\npreset = \"Fast\"\n"),
            "release.preset",
        ),
        (
            format!("{base}\n[release]\npreset = \"AllAtOnce\"\nsteps = [10]\n"),
            "release",
        ),
        (
            format!("{base}\n[release]\nalarms = \"orders-errors\"\n"),
            "release.alarms",
        ),
        (
            format!("{base}\n[release]\nmetrics = [{{ name = \"errors\", max = 1 }}]\n"),
            "`release.metrics[0].name` = \"errors\": use error-rate, throttles or p99-duration",
        ),
        (
            format!("{base}\n[release]\nmetrics = [{{ name = \"error-rate\", max = 2.5 }}]\n"),
            "`release.metrics[0].max` = 2.5: an error rate is a fraction from 0 to 1",
        ),
        (
            format!("{base}\n[release]\nmetrics = [{{ name = \"p99-duration\", margin = 800 }}]\n"),
            "`release.metrics[0].margin` = 800: a duration such as",
        ),
        (
            format!("{base}\n[release]\nmetrics = [{{ name = \"throttles\" }}]\n"),
            "`release.metrics[0].name` = \"throttles\": give `max`, a ceiling on the alias's throttles",
        ),
        (
            // Throttles are the alias's, so there is no stable version's to compare.
            format!(
                "{base}\n[release]\nmetrics = [{{ name = \"error-rate\", max = 0.1 }}, {{ name = \"throttles\", max = 5, margin = 2 }}]\n"
            ),
            "`release.metrics[1].margin` = 2: throttles take `max` only: Lambda may throttle a request before it picks a version",
        ),
        (
            format!(
                "{base}\n[release]\nmetrics = [{{ name = \"throttles\", max = 0 }}, {{ name = \"throttles\", max = 1 }}]\n"
            ),
            "`release.metrics[1].name` = \"throttles\": listed twice",
        ),
        (
            format!("{base}\n[release]\nmin_invocations = 0\n"),
            "`release.min_invocations` = 0",
        ),
        (
            format!("{base}\n[release]\nmax_hold = \"a while\"\n"),
            "release.max_hold",
        ),
        (
            format!("{base}\n[release]\nmetrics_settle = \"2h\"\n"),
            "`release.metrics_settle` = \"2h\": a duration of at most 1h",
        ),
        (
            format!("{base}\n[release]\ninsufficient_data = \"maybe\"\n"),
            "`release.insufficient_data` = \"maybe\": use \"hold\"",
        ),
        (
            format!("{base}\n[release]\nmetrics = [{{ name = \"throttles\", maximum = 0 }}]\n"),
            "unknown field `maximum`",
        ),
        (
            format!(
                "{base}\n[dns]\nzone_id = \"Z1\"\nname = \"a.example.com\"\ntype = \"TXT\"\n[dns.blue]\nvalue = \"b\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g\"\nalias = \"green\"\n"
            ),
            "dns.type",
        ),
        (
            format!(
                "{base}\n[dns]\nzone_id = \"Z1\"\nname = \"a.example.com\"\n[dns.blue]\nvalue = \"b\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g\"\nalias = \"blue\"\n"
            ),
            "dns.green.alias",
        ),
    ];
    let before = p.emulator.requests().len();
    for (i, (config, needle)) in cases.iter().enumerate() {
        p.write("greenlight.toml", config);
        let run = p.run(&["ship"]);
        assert_eq!(run.code, 2, "case {i} ({needle}):\n{}", run.stderr);
        assert!(
            run.stderr.contains(needle),
            "case {i}: {needle:?} in\n{}",
            run.stderr
        );
        let error = &run.stderr[run.stderr.find("error: ").expect("an error line")..];
        assert!(error.lines().count() <= 3, "case {i} too long:\n{error}");
        assert!(!run.all_output().contains("panicked"), "case {i}");
    }
    let calls = p.emulator.assert_only_reads_since(before, &[]);
    assert!(calls.is_empty(), "a config error called AWS: {calls:?}");
    p.write("greenlight.toml", &base);
    for args in [
        vec!["--output", "yaml", "ship"],
        vec!["prune", "--keep", "many"],
        vec!["release", "--version", "$LATEST"],
        vec!["release", "--version", "99"],
        vec!["shipp"],
    ] {
        let run = p.run(&args);
        assert!(matches!(run.code, 1 | 2), "{args:?}: {}", run.stderr);
        assert!(!run.all_output().contains("panicked"), "{args:?}");
    }
    for (args, timeout) in [
        (vec!["--aws-timeout", "0s", "ship"], None),
        (vec!["ship", "--aws-timeout=1ms"], None),
        (vec!["ship"], Some("0s")),
        (vec!["ship"], Some("2h")),
    ] {
        let mut command = p.command(&args);
        if let Some(timeout) = timeout {
            command.env("GREENLIGHT_AWS_TIMEOUT", timeout);
        }
        let run = crate::harness::Run::from(command.output().expect("run"));
        assert_eq!(run.code, 2, "{args:?} {timeout:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("give a duration from 1s to 1h"),
            "{args:?} {timeout:?}: {}",
            run.stderr
        );
    }
    // The log is read: it holds the read of the version that does not exist.
    p.emulator.assert_only_reads_since(
        before,
        &["GET /2015-03-31/functions/orders/configuration?Qualifier=99"],
    );
    assert_eq!(p.versions(), ["1"]);
    assert_eq!(p.alias("live").expect("alias").0, "1");
}

#[test]
fn a_bad_environment_reference_or_keep_is_named() {
    rejected(
        &default_config().replace(
            "environment = {",
            "environment = { XX = { vault = \"db\" },",
        ),
        &["ship"],
        "`function.environment.XX` = { vault = … }: a value is a string, { env = \"NAME\" }",
    );
    rejected(
        &default_config().replace(
            "memory = 256",
            "memory = 256\nenvironment_keep = [\"API_TOKEN\"]",
        ),
        &["status"],
        "`function.environment_keep` = \"API_TOKEN\": API_TOKEN is also set in `function.environment`",
    );
}
