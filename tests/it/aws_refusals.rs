//! The emulator refuses and answers as AWS does where plain moto does not
//! (`localstack/greenlight_emulator/`), each shown here: called directly
//! with the SDK where greenlight itself would never send the call, or
//! through greenlight where it would.

use std::collections::BTreeMap;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::types::{AliasRoutingConfiguration, FileSystemConfig, LoggingConfig};

use crate::harness::sdk::{self, block_on};
use crate::harness::{FUNCTION, Project, default_config};

/// An SDK call's output, or the AWS error code and HTTP status it was
/// refused with, e.g. `ValidationError (400)`.
fn answered<T, E: ProvideErrorMetadata>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<T, String> {
    result.map_err(|e| {
        format!(
            "{} ({})",
            e.as_service_error()
                .and_then(|e| e.code())
                .unwrap_or("not a service error"),
            e.raw_response().map_or(0, |r| r.status().as_u16())
        )
    })
}

#[test]
fn describe_alarms_takes_at_most_100_names_and_100_records_a_page() {
    let p = Project::with_emulator(&default_config(), &["--alarms-per-page", "2"]);
    let names: Vec<String> = (0..5).map(|i| format!("alarm-{i}")).collect();
    for name in &names {
        p.create_alarm(name);
    }
    let cloudwatch = sdk::cloudwatch(&p);
    let too_many: Vec<String> = (0..101).map(|i| format!("alarm-{i}")).collect();
    let refused = answered(block_on(
        cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(too_many))
            .send(),
    ));
    assert_eq!(refused.expect_err("101 names"), "ValidationError (400)");
    for records in [0, 101] {
        let refused = answered(block_on(
            cloudwatch.describe_alarms().max_records(records).send(),
        ));
        assert_eq!(
            refused.expect_err("MaxRecords out of range"),
            "ValidationError (400)",
            "MaxRecords {records}"
        );
    }

    // At most 2 a page, whatever MaxRecords asks: 3 pages for 5 alarms.
    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = block_on(
            cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(names.clone()))
                .max_records(100)
                .set_next_token(token)
                .send(),
        )
        .expect("a page");
        pages.push(page.metric_alarms().len());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, [2, 2, 1]);
}

#[test]
fn publish_version_refuses_a_code_sha256_that_latest_does_not_hold() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let latest = p.version_config("$LATEST");
    let publish = |sha: &str| {
        let sha = sha.to_owned();
        answered(p.aws(async |c| {
            c.publish_version()
                .function_name(FUNCTION)
                .code_sha256(sha)
                .send()
                .await
        }))
    };
    let refused = publish("c29tZW9uZSBlbHNlJ3M=").expect_err("another CodeSha256");
    assert_eq!(refused, "PreconditionFailedException (412)");
    assert_eq!(p.versions(), ["1"]);
    let same = publish(latest.code_sha256().expect("sha")).expect("the same CodeSha256");
    assert_eq!(same.version(), Some("1"), "nothing new to publish");
}

#[test]
fn log_levels_need_json_logs_and_file_systems_need_a_vpc() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let update = |logging: Option<LoggingConfig>, file_systems: Option<Vec<FileSystemConfig>>| {
        answered(p.aws(async |c| {
            c.update_function_configuration()
                .function_name(FUNCTION)
                .set_logging_config(logging)
                .set_file_system_configs(file_systems)
                .send()
                .await
        }))
    };
    let text_with_levels = LoggingConfig::builder()
        .log_format("Text".into())
        .application_log_level("DEBUG".into())
        .build();
    let refused = update(Some(text_with_levels), None).expect_err("levels with Text");
    assert_eq!(refused, "InvalidParameterValueException (400)");
    // The function's logs are Text (Lambda's default): a level alone is refused too.
    let level_alone = LoggingConfig::builder()
        .system_log_level("WARN".into())
        .build();
    let refused = update(Some(level_alone), None).expect_err("a level on Text logs");
    assert_eq!(refused, "InvalidParameterValueException (400)");
    let mount = FileSystemConfig::builder()
        .arn("arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0")
        .local_mount_path("/mnt/data")
        .build()
        .expect("file system");
    let refused = update(None, Some(vec![mount])).expect_err("a file system without a VPC");
    assert_eq!(refused, "InvalidParameterValueException (400)");

    let logging = p
        .version_config("$LATEST")
        .logging_config()
        .cloned()
        .expect("logging");
    assert_eq!(logging.log_format().map(|f| f.as_str()), Some("Text"));
    assert_eq!(logging.system_log_level(), None, "nothing was applied");
    assert!(p.version_config("$LATEST").file_system_configs().is_empty());
    let json_with_levels = LoggingConfig::builder()
        .log_format("JSON".into())
        .application_log_level("DEBUG".into())
        .build();
    update(Some(json_with_levels), None).expect("levels with JSON");
}

#[test]
fn a_weighted_record_sets_the_ttl_of_its_whole_set() {
    let p = Project::new();
    let zone = p.create_zone("example.com");
    let name = "api.example.com";
    p.set_weighted_cname(&zone, name, "blue", "blue.example.net", 100);
    p.set_weighted_cname(&zone, name, "green", "green.example.net", 0);
    let ttls = || -> BTreeMap<String, Option<i64>> {
        sdk::record_sets(&p, &zone, name)
            .iter()
            .map(|r| (r.set_identifier().unwrap_or_default().to_owned(), r.ttl()))
            .collect()
    };
    assert_eq!(
        ttls(),
        BTreeMap::from([("blue".to_owned(), Some(0)), ("green".to_owned(), Some(0))])
    );
    let mut green = sdk::record_sets(&p, &zone, name)
        .into_iter()
        .find(|r| r.set_identifier() == Some("green"))
        .expect("green");
    green.ttl = Some(300);
    sdk::upsert(&p, &zone, vec![green]);
    assert_eq!(
        ttls(),
        BTreeMap::from([
            ("blue".to_owned(), Some(300)),
            ("green".to_owned(), Some(300))
        ]),
        "the TTL written last applies to the whole set"
    );
}

#[test]
fn a_weighted_alias_runs_each_version_its_share_and_names_it() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["deploy"]).success();
    p.aws(async |c| {
        c.update_alias()
            .function_name(FUNCTION)
            .name("live")
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .additional_version_weights("2", 0.25)
                    .build(),
            )
            .send()
            .await
    })
    .expect("split the alias");
    let ran: Vec<String> = (0..8)
        .map(|_| p.executed_version("live").expect("X-Amz-Executed-Version"))
        .collect();
    assert_eq!(ran, ["1", "1", "1", "2", "1", "1", "1", "2"]);
}

#[test]
fn the_request_log_names_each_operation_so_an_ssm_write_is_no_read() {
    let p = Project::new();
    let before = p.emulator.calls().len();
    sdk::put_parameter(&p, "/orders/db", "value");
    block_on(sdk::ssm(&p).get_parameters().names("/orders/db").send()).expect("read");
    sdk::create_secret(&p, "orders/api", "value");
    p.aws(async |c| {
        c.get_alias()
            .function_name(FUNCTION)
            .name("live")
            .send()
            .await
    })
    .expect_err("no such function");
    assert_eq!(
        p.emulator.calls()[before..],
        [
            "POST / PutParameter",
            "POST / GetParameters",
            "POST / CreateSecret",
            "GET /2015-03-31/functions/orders/aliases/live GetAlias",
        ]
    );
    // The "no writes" check sees the writes, though they are `POST /`.
    let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        p.emulator.assert_only_reads_since(before, &[])
    }));
    assert!(check.is_err(), "PutParameter passed for a read");
    p.emulator
        .assert_only_reads_since(before + 3, &["GetAlias"]);
}

#[test]
fn a_conflict_can_be_injected_on_any_lambda_write() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.emulator.refuse_with_conflict("DeleteAlias", 2);
    let delete = || {
        answered(p.aws(async |c| {
            c.delete_alias()
                .function_name(FUNCTION)
                .name("live")
                .send()
                .await
        }))
    };
    for _ in 0..2 {
        let refused = delete().expect_err("conflict");
        assert_eq!(refused, "ResourceConflictException (409)");
    }
    delete().expect("the third call goes through");
    assert_eq!(p.alias("live"), None);
}

#[test]
fn get_parameters_answers_a_version_or_label_with_its_selector() {
    let p = Project::new();
    sdk::put_parameter(&p, "/orders/db", "first");
    sdk::put_parameter(&p, "/orders/db", "second");
    sdk::label_parameter(&p, "/orders/db", 1, "stable");
    let out = block_on(
        sdk::ssm(&p)
            .get_parameters()
            .names("/orders/db:1")
            .names("/orders/db:stable")
            .names("/orders/db")
            .names("/orders/db:9")
            .with_decryption(true)
            .send(),
    )
    .expect("get parameters");
    let mut answered: Vec<(Option<&str>, Option<&str>, Option<&str>)> = out
        .parameters()
        .iter()
        .map(|p| (p.name(), p.selector(), p.value()))
        .collect();
    answered.sort();
    assert_eq!(
        answered,
        [
            (Some("/orders/db"), None, Some("second")),
            (Some("/orders/db"), Some(":1"), Some("first")),
            (Some("/orders/db"), Some(":stable"), Some("first")),
        ]
    );
    assert_eq!(out.invalid_parameters(), ["/orders/db:9"]);
}

#[test]
fn a_p99_duration_over_its_maximum_rolls_the_canary_back() {
    let p = Project::with_config(&format!(
        "{}\n[release]\nsteps = [10]\nbake = \"1h\"\nmin_invocations = 100\nmetrics_settle = \"1s\"\n\
         metrics = [{{ name = \"p99-duration\", max = \"500ms\" }}]\n",
        default_config()
    ));
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["ship", "--no-wait"]).success();
    p.end_bake("live");
    p.put_lambda_metrics("live", "2", 200.0, 0.0);
    p.put_lambda_metrics("live", "1", 1800.0, 0.0);
    // 95 fast invocations and 5 slow ones: the 99th percentile is slow,
    // though the average (140 ms) and the median are far under 500 ms.
    let durations: Vec<f64> = (0..100)
        .map(|i| if i < 95 { 100.0 } else { 900.0 })
        .collect();
    p.put_lambda_durations("live", "2", &durations);
    let run = p.run(&["promote"]).code(3);
    assert!(
        run.stderr.contains("is 900 ms, over the maximum 500 ms"),
        "{}",
        run.stderr
    );
    p.assert_settled("1", "greenlight: action=rollback version=1 previous=2");
}
