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
