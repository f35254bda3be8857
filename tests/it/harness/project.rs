//! A throw-away project folder with a config, code and its own emulator,
//! and a small fluent helper to run the real `greenlight` binary in it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::Region;
use aws_sdk_lambda::Client;

use super::emulator::{Emulator, REGION};
use super::fault_proxy::FaultProxy;

/// The function name every test project uses (each test has its own emulator).
pub const FUNCTION: &str = "orders";
/// The role the emulator launcher creates.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/greenlight-example";
/// A secret environment value that must never be printed.
pub const SECRET: &str = "s3cr3t-never-print-me";
/// How long greenlight waits for one AWS answer through a fault proxy that
/// hangs no call: far above any answer of a loaded emulator.
pub const PROXY_AWS_TIMEOUT: &str = "30s";
/// How long greenlight waits for one AWS answer through a fault proxy that
/// may hang calls: each hang costs this much per attempt, so it is short,
/// yet well above the emulator's slowest answers on a loaded machine.
pub const HANG_AWS_TIMEOUT: &str = "5s";

/// The default test config: a Python function with one echo smoke test.
pub fn default_config() -> String {
    format!(
        r#"[function]
name = "{FUNCTION}"
runtime = "python3.12"
handler = "index.handler"
role = "{ROLE}"
memory = 256
timeout = 10
environment = {{ LOG_LEVEL = "info", API_TOKEN = "{SECRET}" }}

[package]
source = "app"

[[smoke]]
name = "echo"
payload = {{ probe = "ok" }}
expect = {{ probe = "ok" }}
"#
    )
}

/// A project folder with an emulator.
pub struct Project {
    dir: tempfile::TempDir,
    /// The project's own emulator.
    pub emulator: Emulator,
    runtime: tokio::runtime::Runtime,
    lambda: Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    s3: aws_sdk_s3::Client,
    route53: aws_sdk_route53::Client,
}

/// The dimensions Lambda gives the metrics of `version` invoked through `alias`.
fn version_dimensions(alias: &str, version: &str) -> [(&'static str, String); 3] {
    [
        ("FunctionName", FUNCTION.to_owned()),
        ("Resource", format!("{FUNCTION}:{alias}")),
        ("ExecutedVersion", version.to_owned()),
    ]
}

/// The AWS calls a `--dry-run`/`plan` JSON document lists, in order.
pub fn planned_calls(doc: &serde_json::Value) -> Vec<String> {
    doc["dry_run"]["steps"]
        .as_array()
        .expect("dry_run.steps")
        .iter()
        .filter_map(|s| s["call"].as_str().map(str::to_owned))
        .collect()
}

/// Starts `command` in the background, its output captured.
pub fn spawned(mut command: Command) -> std::process::Child {
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn greenlight")
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Sends `signal` (e.g. `"INT"`, `"TERM"`) to `child`.
#[track_caller]
pub fn send_signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {}", child.id());
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(self, expected: i32) -> Run {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts exit 0.
    #[track_caller]
    pub fn success(self) -> Run {
        self.code(0)
    }

    /// Standard output parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Both streams together, for "never printed" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Project {
    /// A project with the default config and a one-file Python app.
    pub fn new() -> Project {
        Project::with_config(&default_config())
    }

    /// A project with `config` as greenlight.toml and a one-file Python app.
    pub fn with_config(config: &str) -> Project {
        Project::with_emulator(config, &[])
    }

    /// [`Project::with_config`], its emulator started with launcher
    /// `options` ([`Emulator::start_with`]).
    pub fn with_emulator(config: &str, options: &[&str]) -> Project {
        let emulator = Emulator::start_with(options);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let sdk = super::sdk::config_in(&emulator.endpoint, REGION);
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build();
        let project = Project {
            dir: tempfile::tempdir().expect("tempdir"),
            emulator,
            runtime,
            lambda: Client::new(&sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            route53: aws_sdk_route53::Client::new(&sdk),
        };
        project.write("greenlight.toml", config);
        project.write(
            "app/index.py",
            "def handler(event, context):\n    return event\n",
        );
        project
    }

    /// The project folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file of bytes (creating folders) relative to the project.
    pub fn write_bytes(&self, relative: &str, contents: &[u8]) -> &Project {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
        self
    }

    /// Writes a file (creating folders) relative to the project.
    pub fn write(&self, relative: &str, contents: &str) -> &Project {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
        self
    }

    /// Changes the app's code, so the next deploy has something new.
    pub fn change_code(&self, marker: &str) -> &Project {
        self.write(
            "app/index.py",
            &format!("# {marker}\ndef handler(event, context):\n    return event\n"),
        )
    }

    /// Runs `greenlight ARGS` in the project against its emulator, with a
    /// clean environment (no real AWS settings leak in).
    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("run greenlight").into()
    }

    /// Runs `greenlight ARGS` through `proxy` (see [`Project::command_via`]).
    pub fn run_via(&self, proxy: &FaultProxy, args: &[&str]) -> Run {
        self.command_via(proxy, args)
            .output()
            .expect("run greenlight")
            .into()
    }

    /// The command `run` executes, for tests that need to drive it themselves.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_at(&self.emulator.endpoint, args)
    }

    /// The command that runs `greenlight ARGS` through `proxy`. While the
    /// proxy may leave a call unanswered ([`FaultProxy::may_hang`]), one AWS
    /// call is given up after [`HANG_AWS_TIMEOUT`], so each injected hang
    /// costs little; otherwise after [`PROXY_AWS_TIMEOUT`], so that a slow
    /// answer on a loaded machine is never taken for a hang.
    pub fn command_via(&self, proxy: &FaultProxy, args: &[&str]) -> Command {
        let mut cmd = self.command_at(&proxy.endpoint, args);
        let timeout = if proxy.may_hang() {
            HANG_AWS_TIMEOUT
        } else {
            PROXY_AWS_TIMEOUT
        };
        cmd.env("GREENLIGHT_AWS_TIMEOUT", timeout);
        cmd
    }

    /// The command that runs `greenlight ARGS` against `endpoint`, with a
    /// clean environment (no real AWS settings leak in).
    fn command_at(&self, endpoint: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_greenlight"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd
    }

    /// A fault-injecting proxy in front of this project's emulator.
    pub fn proxy(&self) -> FaultProxy {
        FaultProxy::start(&self.emulator.endpoint)
    }

    /// Runs an SDK call against the emulator.
    pub fn aws<T>(&self, call: impl AsyncFnOnce(&Client) -> T) -> T {
        self.runtime.block_on(call(&self.lambda))
    }

    /// Where the alias points and its description, or `None` if it does not exist.
    pub fn alias(&self, alias: &str) -> Option<(String, String)> {
        self.alias_of(FUNCTION, alias)
    }

    /// Where `function`'s alias points and its description, if it exists:
    /// `None` only when Lambda says it does not (`ResourceNotFound`); any
    /// other error fails the test.
    #[track_caller]
    pub fn alias_of(&self, function: &str, alias: &str) -> Option<(String, String)> {
        let found = self.aws(async |c| {
            c.get_alias()
                .function_name(function)
                .name(alias)
                .send()
                .await
        });
        match found {
            Ok(a) => Some((
                a.function_version.unwrap_or_default(),
                a.description.unwrap_or_default(),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                None
            }
            Err(e) => panic!(
                "reading alias {alias} of {function}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            ),
        }
    }

    /// The version the `live` alias points to.
    #[track_caller]
    pub fn live_version(&self) -> String {
        self.alias("live").expect("alias live exists").0
    }

    /// The function's tags, greenlight's list by its keys alone: the
    /// checksum that ends it (`check=` and 16 hex digits) is checked for
    /// its shape and left out.
    #[track_caller]
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.raw_tags();
        if let Some(list) = tags.get_mut("greenlight:managed-tags") {
            let (keys, check) = list.rsplit_once(' ').expect("keys and a checksum");
            let hex = check.strip_prefix("check=").expect("check=");
            assert!(
                hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
                "{list}"
            );
            *list = keys.to_owned();
        }
        tags
    }

    /// The function's tags, as Lambda holds them.
    pub fn raw_tags(&self) -> BTreeMap<String, String> {
        let arn = format!("arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}");
        let out = self
            .aws(async |c| c.list_tags().resource(arn).send().await)
            .expect("list tags");
        out.tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Invokes the function's `qualifier` once; the version Lambda says
    /// ran it (`X-Amz-Executed-Version`).
    pub fn executed_version(&self, qualifier: &str) -> Option<String> {
        self.aws(async |c| {
            c.invoke()
                .function_name(FUNCTION)
                .qualifier(qualifier)
                .payload(aws_sdk_lambda::primitives::Blob::new("{}"))
                .send()
                .await
        })
        .expect("invoke")
        .executed_version
    }

    /// Published version numbers, oldest first.
    pub fn versions(&self) -> Vec<String> {
        let pages = self
            .aws(async |c| {
                c.list_versions_by_function()
                    .function_name(FUNCTION)
                    .into_paginator()
                    .send()
                    .collect::<Result<Vec<_>, _>>()
                    .await
            })
            .expect("list versions");
        pages
            .iter()
            .flat_map(|page| page.versions())
            .filter_map(|v| v.version().map(str::to_owned))
            .filter(|v| v != "$LATEST")
            .collect()
    }

    /// Names of all functions in the emulator.
    pub fn functions(&self) -> Vec<String> {
        self.functions_in(REGION)
    }

    /// Names of all functions in the emulator's `region`.
    pub fn functions_in(&self, region: &str) -> Vec<String> {
        let config = self
            .lambda
            .config()
            .to_builder()
            .region(Region::new(region.to_owned()))
            .build();
        let client = Client::from_conf(config);
        let out = self
            .runtime
            .block_on(client.list_functions().send())
            .expect("list functions");
        out.functions()
            .iter()
            .filter_map(|f| f.function_name().map(str::to_owned))
            .collect()
    }

    /// The configuration of one version (or `$LATEST`).
    pub fn version_config(
        &self,
        qualifier: &str,
    ) -> aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput {
        self.aws(async |c| {
            c.get_function_configuration()
                .function_name(FUNCTION)
                .qualifier(qualifier)
                .send()
                .await
        })
        .expect("get function configuration")
    }

    /// The alias's main version and its extra weights, e.g. `("1", {"2": 0.1})`.
    pub fn weights(&self, alias: &str) -> (String, BTreeMap<String, f64>) {
        self.weights_of(FUNCTION, alias)
    }

    /// `function`'s alias: its main version and its extra weights.
    pub fn weights_of(&self, function: &str, alias: &str) -> (String, BTreeMap<String, f64>) {
        let out = self
            .aws(async |c| {
                c.get_alias()
                    .function_name(function)
                    .name(alias)
                    .send()
                    .await
            })
            .expect("get alias");
        let weights = out
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        (out.function_version.unwrap_or_default(), weights)
    }

    /// Asserts the alias serves `version` alone (no extra weights) and its
    /// release record starts with `record`.
    #[track_caller]
    pub fn assert_settled(&self, version: &str, record: &str) {
        assert_eq!(self.weights("live"), (version.to_owned(), BTreeMap::new()));
        let (_, description) = self.alias("live").expect("alias");
        assert!(description.starts_with(record), "{description}");
    }

    /// Moves the release record's step start into the past, as if the bake
    /// had passed, leaving the alias's versions and weights as they are.
    pub fn end_bake(&self, alias: &str) {
        self.end_bake_of(FUNCTION, alias);
    }

    /// [`Project::end_bake`] for `function`'s alias.
    pub fn end_bake_of(&self, function: &str, alias: &str) {
        let (_, description) = self.alias_of(function, alias).expect("alias");
        let at = description.find(" at=").expect("record has at=");
        let backdated = format!("{} at=2000-01-01T00:00:00Z", &description[..at]);
        self.aws(async |c| {
            c.update_alias()
                .function_name(function)
                .name(alias)
                .description(backdated)
                .send()
                .await
        })
        .expect("backdate the release record");
    }

    /// Waits until Lambda has applied the last update of `$LATEST`
    /// (`LastUpdateStatus` no longer `InProgress`), as a person or tool
    /// writing again must.
    #[track_caller]
    pub fn wait_until_updated(&self) {
        self.wait_for("the update of $LATEST", Duration::from_secs(60), || {
            self.version_config("$LATEST").last_update_status()
                != Some(&aws_sdk_lambda::types::LastUpdateStatus::InProgress)
        });
    }

    /// Polls `condition` every 20 ms until it holds, failing after `deadline`.
    #[track_caller]
    pub fn wait_for(&self, what: &str, deadline: Duration, condition: impl Fn() -> bool) {
        let start = Instant::now();
        while !condition() {
            assert!(start.elapsed() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Creates a public hosted zone; returns its id (without `/hostedzone/`).
    pub fn create_zone(&self, name: &str) -> String {
        let out = self
            .runtime
            .block_on(
                self.route53
                    .create_hosted_zone()
                    .name(name)
                    .caller_reference(name)
                    .send(),
            )
            .expect("create hosted zone");
        let id = out.hosted_zone().expect("zone").id();
        id.trim_start_matches("/hostedzone/").to_owned()
    }

    /// The record sets named `name` in `zone`: SetIdentifier (or "") → weight.
    pub fn dns_weights(&self, zone: &str, name: &str) -> BTreeMap<String, Option<i64>> {
        super::sdk::record_sets(self, zone, name)
            .iter()
            .map(|r| {
                (
                    r.set_identifier().unwrap_or_default().to_owned(),
                    r.weight(),
                )
            })
            .collect()
    }

    /// Writes one plain (not weighted) CNAME record.
    pub fn create_plain_cname(&self, zone: &str, name: &str, value: &str) {
        self.write_cname(zone, name, value, 60, None);
    }

    /// Creates or replaces the weighted CNAME record `name` with
    /// SetIdentifier `set` and `weight`, pointing at `value`, as a person
    /// (or another tool) would, outside greenlight.
    pub fn set_weighted_cname(&self, zone: &str, name: &str, set: &str, value: &str, weight: i64) {
        self.write_cname(zone, name, value, 0, Some((set, weight)));
    }

    /// Upserts one CNAME record, weighted with (SetIdentifier, weight) or not.
    fn write_cname(
        &self,
        zone: &str,
        name: &str,
        value: &str,
        ttl: i64,
        weighted: Option<(&str, i64)>,
    ) {
        use aws_sdk_route53::types::{
            Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
        };
        let record = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(ttl)
            .set_set_identifier(weighted.map(|(set, _)| set.to_owned()))
            .set_weight(weighted.map(|(_, weight)| weight))
            .resource_records(
                ResourceRecord::builder()
                    .value(value)
                    .build()
                    .expect("value"),
            )
            .build()
            .expect("record");
        let change = Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(record)
            .build()
            .expect("change");
        self.runtime
            .block_on(
                self.route53
                    .change_resource_record_sets()
                    .hosted_zone_id(zone)
                    .change_batch(
                        ChangeBatch::builder()
                            .changes(change)
                            .build()
                            .expect("batch"),
                    )
                    .send(),
            )
            .expect("write record");
    }

    /// Creates a CloudWatch alarm named `name` (state OK).
    pub fn create_alarm(&self, name: &str) {
        self.runtime
            .block_on(
                self.cloudwatch
                    .put_metric_alarm()
                    .alarm_name(name)
                    .namespace("AWS/Lambda")
                    .metric_name("Errors")
                    .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
                    .period(60)
                    .evaluation_periods(1)
                    .threshold(1.0)
                    .comparison_operator(
                        aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
                    )
                    .send(),
            )
            .expect("create alarm");
        self.set_alarm(name, aws_sdk_cloudwatch::types::StateValue::Ok);
    }

    /// Forces an alarm into `state`.
    pub fn set_alarm(&self, name: &str, state: aws_sdk_cloudwatch::types::StateValue) {
        self.runtime
            .block_on(
                self.cloudwatch
                    .set_alarm_state()
                    .alarm_name(name)
                    .state_value(state)
                    .state_reason("set by the test")
                    .send(),
            )
            .expect("set alarm state");
    }

    /// Records, as Lambda would, `invocations` of `version` through `alias`
    /// of which `errors` failed (`AWS/Lambda` with the `FunctionName`,
    /// `Resource` and `ExecutedVersion` dimensions), timestamped five
    /// minutes ago: data that has settled (greenlight judges a step's
    /// metrics only once they have had time to arrive).
    pub fn put_lambda_metrics(&self, alias: &str, version: &str, invocations: f64, errors: f64) {
        let settled = std::time::SystemTime::now() - Duration::from_secs(300);
        self.put_lambda_metrics_at(alias, version, invocations, errors, settled);
    }

    /// [`Project::put_lambda_metrics`], stamped `at` (the invocations' start).
    pub fn put_lambda_metrics_at(
        &self,
        alias: &str,
        version: &str,
        invocations: f64,
        errors: f64,
        at: std::time::SystemTime,
    ) {
        self.put_metrics(
            "AWS/Lambda",
            &version_dimensions(alias, version),
            &[("Invocations", invocations), ("Errors", errors)],
            at,
        );
    }

    /// Records, as Lambda does, `throttles` throttled requests to `alias`
    /// stamped `at`: `Throttles` with the `FunctionName` and `Resource`
    /// dimensions only (a throttled request may never be given a version).
    pub fn put_alias_throttles(&self, alias: &str, throttles: f64, at: std::time::SystemTime) {
        let dimensions = [
            ("FunctionName", FUNCTION.to_owned()),
            ("Resource", format!("{FUNCTION}:{alias}")),
        ];
        self.put_metrics("AWS/Lambda", &dimensions, &[("Throttles", throttles)], at);
    }

    /// Records, as Lambda would, the `Duration` in milliseconds of each of
    /// `durations` invocations of `version` through `alias`, stamped as
    /// [`Project::put_lambda_metrics`] stamps its data.
    pub fn put_lambda_durations(&self, alias: &str, version: &str, durations: &[f64]) {
        let settled = std::time::SystemTime::now() - Duration::from_secs(300);
        let values: Vec<(&str, f64)> = durations.iter().map(|d| ("Duration", *d)).collect();
        self.put_metrics(
            "AWS/Lambda",
            &version_dimensions(alias, version),
            &values,
            settled,
        );
    }

    /// Writes `values` (metric name, value) to `namespace` with
    /// `dimensions`, stamped `at`, as the service would publish them.
    pub fn put_metrics(
        &self,
        namespace: &str,
        dimensions: &[(&str, String)],
        values: &[(&str, f64)],
        at: std::time::SystemTime,
    ) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
        let dimensions: Vec<Dimension> = dimensions
            .iter()
            .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
            .collect();
        let data = values.iter().map(|(name, value)| {
            MetricDatum::builder()
                .metric_name(*name)
                .set_dimensions(Some(dimensions.clone()))
                .value(*value)
                .timestamp(at.into())
                .build()
        });
        self.runtime
            .block_on(
                self.cloudwatch
                    .put_metric_data()
                    .namespace(namespace)
                    .set_metric_data(Some(data.collect()))
                    .send(),
            )
            .expect("put metric data");
    }

    /// Configures `executions` of provisioned concurrency on `alias`.
    pub fn provision(&self, alias: &str, executions: i32) {
        self.aws(async |c| {
            c.put_provisioned_concurrency_config()
                .function_name(FUNCTION)
                .qualifier(alias)
                .provisioned_concurrent_executions(executions)
                .send()
                .await
        })
        .expect("put provisioned concurrency");
    }

    /// Creates an S3 bucket.
    pub fn create_bucket(&self, bucket: &str) {
        self.runtime
            .block_on(self.s3.create_bucket().bucket(bucket).send())
            .expect("create bucket");
    }

    /// The object keys in `bucket`.
    pub fn s3_keys(&self, bucket: &str) -> Vec<String> {
        let out = self
            .runtime
            .block_on(self.s3.list_objects_v2().bucket(bucket).send())
            .expect("list objects");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }

    /// Writes `text` to `s3://bucket/key`.
    pub fn put_s3_text(&self, bucket: &str, key: &str, text: &str) {
        self.runtime
            .block_on(
                self.s3
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(text.as_bytes().to_vec().into())
                    .send(),
            )
            .expect("put object");
    }

    /// The text of `s3://bucket/key`, or `None` when there is no such object.
    pub fn s3_text(&self, bucket: &str, key: &str) -> Option<String> {
        self.runtime.block_on(async {
            let got = self.s3.get_object().bucket(bucket).key(key).send().await;
            match got {
                Ok(got) => {
                    let bytes = got.body.collect().await.expect("read the object");
                    Some(String::from_utf8(bytes.to_vec()).expect("UTF-8 text"))
                }
                Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
                Err(e) => panic!("get s3://{bucket}/{key}: {e:?}"),
            }
        })
    }

    /// A path inside the project.
    pub fn join(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }
}

/// SDK settings and calls for tests that need a client the project does
/// not hold (another service, another region).
impl Project {
    /// The SDK settings of this project's emulator in `region`.
    pub fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        super::sdk::config_in(&self.emulator.endpoint, region)
    }

    /// Runs `call` (an SDK call) to completion.
    pub fn block_on<T>(&self, call: impl Future<Output = T>) -> T {
        self.runtime.block_on(call)
    }
}
