//! `greenlight watch install`, `status` and `remove`: the watcher's
//! function, its schedule, its roles and the alarm on its errors, in the
//! region the command runs in.
//!
//! `install` creates each part or brings it up to date in place (a second
//! install upgrades the code and settings): the function (runtime
//! `provided.al2023`, handler `bootstrap`, the binary's architecture,
//! reserved concurrency 1, `GREENLIGHT_WATCH_BUCKET`/`PREFIX`, asynchronous
//! events never retried and dropped after 60 s), the schedule
//! `rate(1 minute)` (flexible window off, no retries) with a role that may
//! only invoke the function, the alarm `NAME-errors`, and without `--role`
//! the execution role `NAME-role`. `remove` deletes them; snapshots stay.

use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use crate::aws;
use crate::aws::lambda::{Code, FunctionSettings, Lambda};
use crate::aws::scheduler::ScheduleSpec;
use crate::cli::{Cli, Command, WatchAction};
use crate::error::{Error, Result};
use crate::report::{Report, WatchReport};
use crate::secrets::Environment;
use crate::watch::code;
use crate::watch::tick::HEARTBEAT;
use crate::watch::{BUCKET_VAR, PREFIX_VAR};

/// The schedule's input: Scheduler fills in the time and id of each run.
const INPUT: &str = r#"{"scheduled_time": "<aws.scheduler.scheduled-time>", "execution_id": "<aws.scheduler.execution-id>"}"#;
/// The inline policy's name on the roles install makes.
const POLICY: &str = "greenlight-watcher";
/// How long a new role may take to become assumable by Lambda.
const ROLE_PROPAGATION: Duration = Duration::from_secs(90);
/// The pause between attempts meanwhile.
const ROLE_RETRY: Duration = Duration::from_secs(2);

/// The AWS seams the watcher's commands use.
struct Seams {
    lambda: Lambda,
    artifacts: aws::s3::Artifacts,
    cloudwatch: aws::cloudwatch::CloudWatch,
    iam: aws::iam::Iam,
    schedules: aws::scheduler::Schedules,
}

/// Runs `watch install`, `status` or `remove` and reports how it went.
pub async fn command(cli: &Cli) -> Report {
    let mut report = Report::new(cli.command.name());
    let Command::Watch { action } = &cli.command else {
        return report;
    };
    let done = crate::release::unexpected::catching(run(cli, action, &mut report)).await;
    let failed = match done {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(panic) => Some(Error::no_traffic_moved(
            crate::release::unexpected::describe(&panic),
        )),
    };
    if let Some(e) = failed {
        let outcome = if e.exit_code() == 2 {
            "usage_error"
        } else {
            "failed"
        };
        report.fail(outcome, e);
    }
    report
}

async fn run(cli: &Cli, action: &WatchAction, report: &mut Report) -> Result<()> {
    // The code is read before any AWS call: a bad --binary is exit 2.
    let code = match action {
        WatchAction::Install { binary, .. } => Some(code::code(binary.as_deref())?),
        _ => None,
    };
    let (sdk, paces) = crate::app::regions(cli).get(None).await?;
    report.region = sdk.region().map(ToString::to_string);
    let seams = Seams {
        lambda: aws::lambda(&sdk, paces),
        artifacts: aws::artifacts(&sdk),
        cloudwatch: aws::cloudwatch(&sdk),
        iam: aws::iam(&sdk),
        schedules: aws::schedules(&sdk),
    };
    match (action, code) {
        (
            WatchAction::Install {
                bucket,
                prefix,
                role,
                name,
                ..
            },
            Some((zip, architecture)),
        ) => {
            let mut watch = WatchReport {
                name: name.clone(),
                ..WatchReport::default()
            };
            let installed = install(
                &seams,
                Install {
                    name,
                    bucket,
                    prefix,
                    role: role.as_deref(),
                    zip: &zip,
                    architecture,
                },
                &mut watch,
            )
            .await;
            report.outcome = "installed".to_owned();
            report.watch = Some(watch);
            installed?;
            status(&seams, name, report).await
        }
        (WatchAction::Status { name }, _) => status(&seams, name, report).await,
        (WatchAction::Remove { name }, _) => remove(&seams, name, report).await,
        (WatchAction::Install { .. }, None) => Ok(()),
    }
}

/// What `install` puts in place.
struct Install<'a> {
    name: &'a str,
    bucket: &'a str,
    prefix: &'a str,
    role: Option<&'a str>,
    zip: &'a Bytes,
    architecture: &'static str,
}

async fn install(seams: &Seams, it: Install<'_>, watch: &mut WatchReport) -> Result<()> {
    let name = it.name;
    if !it.prefix.ends_with('/') || it.prefix.starts_with('/') {
        return Err(Error::usage(format!(
            "--prefix {:?}: a prefix is a key folder such as \"greenlight/\", ending in '/'",
            it.prefix
        )));
    }
    let role = match it.role {
        Some(role) => role.to_owned(),
        None => {
            let role_name = format!("{name}-role");
            let (arn, created) = seams
                .iam
                .ensure_role(
                    &role_name,
                    &trust("lambda.amazonaws.com"),
                    POLICY,
                    &execution_policy(it.bucket, it.prefix),
                )
                .await?;
            watch.done.push(made(created, "role", &role_name));
            arn
        }
    };
    let settings = FunctionSettings {
        runtime: Some("provided.al2023".to_owned()),
        handler: Some("bootstrap".to_owned()),
        role: Some(role),
        memory: Some(256),
        timeout: Some(60),
        environment: Some(Environment::new(
            [
                (BUCKET_VAR.to_owned(), it.bucket.to_owned()),
                (PREFIX_VAR.to_owned(), it.prefix.to_owned()),
            ]
            .into(),
        )),
        description: Some("greenlight watcher: promotes releases left in progress".to_owned()),
        extra: crate::aws::lambda::ExtraSettings {
            architecture: Some(it.architecture.to_owned()),
            ..Default::default()
        },
    };
    let function = match seams.lambda.function(name, "$LATEST").await? {
        None => {
            let made = create_once_role_propagated(&seams.lambda, name, &settings, it.zip).await?;
            watch.done.push(format!("created function {name}"));
            made
        }
        Some(_) => {
            seams
                .lambda
                .update_code(name, Code::Zip(it.zip), Some(it.architecture))
                .await?;
            seams.lambda.update_settings(name, &settings, None).await?;
            watch.done.push(format!("updated function {name}"));
            seams
                .lambda
                .function(name, "$LATEST")
                .await?
                .ok_or_else(|| Error::no_traffic_moved(format!("function {name} vanished")))?
        }
    };
    seams.lambda.run_alone_and_never_retry(name, 60).await?;
    let scheduler_role = format!("{name}-scheduler");
    let (scheduler_arn, created) = seams
        .iam
        .ensure_role(
            &scheduler_role,
            &trust("scheduler.amazonaws.com"),
            POLICY,
            &invoke_policy(&function.arn),
        )
        .await?;
    watch.done.push(made(created, "role", &scheduler_role));
    let created = seams
        .schedules
        .ensure(&ScheduleSpec {
            name,
            expression: "rate(1 minute)",
            target: &function.arn,
            role: &scheduler_arn,
            input: INPUT,
        })
        .await?;
    watch.done.push(made(created, "schedule", name));
    let alarm = format!("{name}-errors");
    seams.cloudwatch.put_errors_alarm(&alarm, name).await?;
    watch.done.push(format!("put alarm {alarm}"));
    Ok(())
}

/// Creates the watcher function. A role IAM made seconds ago is not yet
/// assumable everywhere (Lambda refuses it: "cannot be assumed"), so that
/// refusal is retried every [`ROLE_RETRY`] for up to [`ROLE_PROPAGATION`].
async fn create_once_role_propagated(
    lambda: &Lambda,
    name: &str,
    settings: &FunctionSettings,
    zip: &Bytes,
) -> Result<crate::aws::lambda::FunctionState> {
    let deadline = tokio::time::Instant::now() + ROLE_PROPAGATION;
    loop {
        match lambda.create(name, settings, Code::Zip(zip)).await {
            Err(e)
                if e.cause
                    .as_deref()
                    .is_some_and(|c| c.contains("cannot be assumed by Lambda"))
                    && tokio::time::Instant::now() + ROLE_RETRY < deadline =>
            {
                tokio::time::sleep(ROLE_RETRY).await;
            }
            done => return done,
        }
    }
}

/// `status`: the function's bucket and prefix, the schedule's state, the
/// snapshots and the heartbeat.
async fn status(seams: &Seams, name: &str, report: &mut Report) -> Result<()> {
    let mut watch = report.watch.take().unwrap_or_else(|| WatchReport {
        name: name.to_owned(),
        ..WatchReport::default()
    });
    let function = seams.lambda.function(name, "$LATEST").await?;
    if report.outcome == "ok" {
        report.outcome = if function.is_some() {
            "watching"
        } else {
            "not_installed"
        }
        .to_owned();
    }
    if let Some(function) = function {
        watch.installed = true;
        let env = function.environment.expose();
        watch.bucket = env.get(BUCKET_VAR).cloned();
        watch.prefix = Some(
            env.get(PREFIX_VAR)
                .cloned()
                .unwrap_or_else(|| crate::config::watch::DEFAULT_PREFIX.to_owned()),
        );
        watch.schedule = Some(
            seams
                .schedules
                .state(name)
                .await?
                .unwrap_or_else(|| "missing".to_owned()),
        );
        if let (Some(bucket), Some(prefix)) = (&watch.bucket, &watch.prefix) {
            watch.releases = seams
                .artifacts
                .keys(bucket, prefix)
                .await?
                .iter()
                .filter_map(|k| k.strip_prefix(prefix.as_str()))
                .filter(|k| k.matches('/').count() == 2)
                .map(str::to_owned)
                .collect();
            watch.last_run = seams
                .artifacts
                .get_text(bucket, &format!("{prefix}{HEARTBEAT}"))
                .await?
                .and_then(|text| serde_json::from_str(&text).ok());
        }
    }
    report.watch = Some(watch);
    Ok(())
}

/// `remove`: the schedule first (no run starts after it), then the
/// alarm, the function and the roles install makes.
async fn remove(seams: &Seams, name: &str, report: &mut Report) -> Result<()> {
    let mut watch = WatchReport {
        name: name.to_owned(),
        ..WatchReport::default()
    };
    let mut any = false;
    if seams.schedules.delete(name).await? {
        watch.done.push(format!("deleted schedule {name}"));
        any = true;
    }
    let alarm = format!("{name}-errors");
    seams.cloudwatch.delete_alarm(&alarm).await?;
    if seams.lambda.delete_function(name).await? {
        watch.done.push(format!("deleted function {name}"));
        any = true;
    }
    for role in [format!("{name}-scheduler"), format!("{name}-role")] {
        if seams.iam.delete_role(&role, POLICY).await? {
            watch.done.push(format!("deleted role {role}"));
            any = true;
        }
    }
    report.outcome = if any { "removed" } else { "not_installed" }.to_owned();
    report.watch = Some(watch);
    Ok(())
}

fn made(created: bool, what: &str, name: &str) -> String {
    format!(
        "{} {what} {name}",
        if created { "created" } else { "updated" }
    )
}

/// A trust policy letting `service` take the role.
fn trust(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string()
}

/// What the watcher may do: what `promote` calls (read the function and
/// its alias, move the alias, invoke for the smoke gates, read alarms and
/// metrics, weighted DNS), S3 on its prefix only, and its own logs.
fn execution_policy(bucket: &str, prefix: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Promote",
                "Effect": "Allow",
                "Action": [
                    "lambda:GetFunctionConfiguration", "lambda:GetFunction",
                    "lambda:GetAlias", "lambda:ListVersionsByFunction", "lambda:ListAliases",
                    "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias",
                    "lambda:InvokeFunction",
                    "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData",
                    "route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets",
                    "route53:GetChange",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ListSnapshots",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{bucket}"),
                "Condition": { "StringLike": { "s3:prefix": [format!("{prefix}*")] } },
            },
            {
                "Sid": "SnapshotsAndHeartbeat",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/{prefix}*"),
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            },
        ],
    })
    .to_string()
}

/// What the schedule's role may do: invoke the watcher, nothing else.
fn invoke_policy(function_arn: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": [function_arn, format!("{function_arn}:*")],
        }],
    })
    .to_string()
}
