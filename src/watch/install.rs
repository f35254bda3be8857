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
//!
//! Each part install makes carries its mark, at the end of its description
//! ([`mark`]; a schedule takes no tags, and one mark serves all five). A
//! part of one of those names without it was made by someone else: install
//! refuses to take it over (exit 1, before it writes anything), and remove
//! leaves it and says so.

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
    // The input and the code are checked before any AWS call: exit 2.
    check_input(action)?;
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
                    region: report.region.as_deref(),
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

/// The longest watcher name: its scheduler role, `NAME-scheduler`, is an
/// IAM role name (at most 64 characters, as the function's and the
/// schedule's names are).
const MAX_NAME: usize = 64 - "-scheduler".len();

/// Fails (exit 2) on input AWS would refuse, or that would make a watcher
/// that cannot work: the name (letters, digits, '-' and '_', at most
/// [`MAX_NAME`]), and for install the bucket, prefix and role.
fn check_input(action: &WatchAction) -> Result<()> {
    let (WatchAction::Install { name, .. }
    | WatchAction::Status { name }
    | WatchAction::Remove { name }) = action;
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::usage(format!(
            "--name {name:?}: a watcher's name is 1 to {MAX_NAME} letters, digits, '-' or '_' (its roles are NAME-role and NAME-scheduler, IAM names of at most 64 characters)"
        )));
    }
    let WatchAction::Install {
        bucket,
        prefix,
        role,
        ..
    } = action
    else {
        return Ok(());
    };
    if !crate::config::watch::is_bucket_name(bucket) {
        return Err(Error::usage(format!(
            "--bucket {bucket:?}: {}",
            crate::config::watch::BUCKET_RULE
        )));
    }
    if !crate::config::watch::is_prefix(prefix) {
        return Err(Error::usage(format!(
            "--prefix {prefix:?}: {}",
            crate::config::watch::PREFIX_RULE
        )));
    }
    if let Some(role) = role.as_deref().filter(|r| !crate::config::is_role_arn(r)) {
        return Err(Error::usage(format!(
            "--role {role:?}: must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME"
        )));
    }
    Ok(())
}

/// Fails unless `bucket` exists (exit 1) in `region`, the watcher's (exit
/// 2): the watcher reaches its bucket in its own region, and so do the
/// releases that write their snapshots there.
async fn check_bucket_region(seams: &Seams, bucket: &str, region: Option<&str>) -> Result<()> {
    match (seams.artifacts.bucket_region(bucket).await?, region) {
        (Some(found), Some(here)) if found != here => Err(Error::usage(format!(
            "--bucket {bucket}: the bucket is in {found}, and the watcher would be in {here}"
        ))
        .with_hint(format!(
            "install the watcher beside its bucket and the releases it promotes: `greenlight watch install --region {found} …` (one watcher per region)"
        ))),
        _ => Ok(()),
    }
}

/// What `install` puts in place.
struct Install<'a> {
    name: &'a str,
    bucket: &'a str,
    prefix: &'a str,
    role: Option<&'a str>,
    region: Option<&'a str>,
    zip: &'a Bytes,
    architecture: &'static str,
}

async fn install(seams: &Seams, it: Install<'_>, watch: &mut WatchReport) -> Result<()> {
    let name = it.name;
    // Everything is read before anything is written.
    check_bucket_region(seams, it.bucket, it.region).await?;
    let parts = survey(seams, name).await?;
    refuse_what_others_made(&parts, it.role.is_some())?;
    let role = match it.role {
        Some(role) => role.to_owned(),
        None => {
            let role_name = Kind::Role.name(name);
            let (arn, created) = seams
                .iam
                .ensure_role(
                    &role_name,
                    &described("the greenlight watcher's execution role", name),
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
        description: Some(described(
            "greenlight watcher: promotes releases left in progress",
            name,
        )),
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
    let scheduler_role = Kind::SchedulerRole.name(name);
    let (scheduler_arn, created) = seams
        .iam
        .ensure_role(
            &scheduler_role,
            &described("lets the greenlight watcher's schedule invoke it", name),
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
            description: &described("runs the greenlight watcher every minute", name),
        })
        .await?;
    watch.done.push(made(created, "schedule", name));
    let alarm = Kind::Alarm.name(name);
    let about = format!(
        "greenlight watcher {name}: a release needs a person (its rollback failed), or the watcher itself fails"
    );
    seams
        .cloudwatch
        .put_errors_alarm(&alarm, &described(&about, name), name)
        .await?;
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
/// snapshots and the heartbeat. A function of that name that install did
/// not make is no watcher: not installed.
async fn status(seams: &Seams, name: &str, report: &mut Report) -> Result<()> {
    let mut watch = report.watch.take().unwrap_or_else(|| WatchReport {
        name: name.to_owned(),
        ..WatchReport::default()
    });
    let function = seams
        .lambda
        .function(name, "$LATEST")
        .await?
        .filter(|f| f.description.ends_with(&mark(name)));
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
                .get(name)
                .await?
                .map_or_else(|| "missing".to_owned(), |s| s.state),
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
                .and_then(|text| serde_json::from_str(&text).ok())
                .map(marked);
        }
    }
    report.watch = Some(watch);
    Ok(())
}

/// `value` (the heartbeat, read from S3) with each string marked as outside
/// text ([`crate::outside`]): an `error` as an excerpt, the rest whole.
fn marked(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(crate::outside::quote(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(marked).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(text) if key == "error" => {
                        (key, Value::String(crate::outside::excerpt(&text)))
                    }
                    value => (key, marked(value)),
                })
                .collect(),
        ),
        other => other,
    }
}

/// `remove`: what install made, the schedule first (no run starts after
/// it), then the alarm, the function and the roles. A part of one of those
/// names that install did not make is left, and named.
async fn remove(seams: &Seams, name: &str, report: &mut Report) -> Result<()> {
    let mut watch = WatchReport {
        name: name.to_owned(),
        ..WatchReport::default()
    };
    let mut any = false;
    for part in survey(seams, name).await? {
        let what = format!("{} {}", part.kind.word(), part.name);
        match part.found {
            Found::Absent => {}
            Found::Theirs => watch
                .done
                .push(format!("left {what}: greenlight did not create it")),
            Found::Ours => {
                match part.kind {
                    Kind::Schedule => {
                        seams.schedules.delete(&part.name).await?;
                    }
                    Kind::Alarm => seams.cloudwatch.delete_alarm(&part.name).await?,
                    Kind::Function => {
                        seams.lambda.delete_function(&part.name).await?;
                    }
                    Kind::SchedulerRole | Kind::Role => {
                        seams.iam.delete_role(&part.name, POLICY).await?;
                    }
                }
                watch.done.push(format!("deleted {what}"));
                any = true;
            }
        }
    }
    report.outcome = if any { "removed" } else { "not_installed" }.to_owned();
    report.watch = Some(watch);
    Ok(())
}

/// One of the parts install makes, by its place in the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Schedule,
    Alarm,
    Function,
    SchedulerRole,
    Role,
}

impl Kind {
    /// What it is, in a message.
    fn word(self) -> &'static str {
        match self {
            Kind::Schedule => "schedule",
            Kind::Alarm => "alarm",
            Kind::Function => "function",
            Kind::SchedulerRole | Kind::Role => "role",
        }
    }

    /// Its name, for watcher `watcher`.
    fn name(self, watcher: &str) -> String {
        match self {
            Kind::Schedule | Kind::Function => watcher.to_owned(),
            Kind::Alarm => format!("{watcher}-errors"),
            Kind::SchedulerRole => format!("{watcher}-scheduler"),
            Kind::Role => format!("{watcher}-role"),
        }
    }
}

/// Whether a part is there, and who made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Absent,
    /// Install made it: its description ends with [`mark`].
    Ours,
    /// Someone else did.
    Theirs,
}

/// A part of the watcher as found.
struct Part {
    kind: Kind,
    name: String,
    found: Found,
}

/// The parts of watcher `name` as found, in the order remove deletes them.
/// Reads only.
async fn survey(seams: &Seams, name: &str) -> Result<Vec<Part>> {
    let schedule = seams.schedules.get(name).await?.map(|s| s.description);
    let alarm = seams
        .cloudwatch
        .alarm_description(&Kind::Alarm.name(name))
        .await?;
    let function = seams
        .lambda
        .function(name, "$LATEST")
        .await?
        .map(|f| f.description);
    let scheduler_role = seams
        .iam
        .role_description(&Kind::SchedulerRole.name(name))
        .await?;
    let role = seams.iam.role_description(&Kind::Role.name(name)).await?;
    let mark = mark(name);
    Ok([
        (Kind::Schedule, schedule),
        (Kind::Alarm, alarm),
        (Kind::Function, function),
        (Kind::SchedulerRole, scheduler_role),
        (Kind::Role, role),
    ]
    .into_iter()
    .map(|(kind, description)| Part {
        kind,
        name: kind.name(name),
        found: match description {
            None => Found::Absent,
            Some(d) if d.ends_with(&mark) => Found::Ours,
            Some(_) => Found::Theirs,
        },
    })
    .collect())
}

/// Fails (exit 1) when a part install would write is there and greenlight
/// did not make it; the execution role `NAME-role` is not written with
/// `--role` (`role_given`).
fn refuse_what_others_made(parts: &[Part], role_given: bool) -> Result<()> {
    let theirs: Vec<String> = parts
        .iter()
        .filter(|p| p.found == Found::Theirs && !(role_given && p.kind == Kind::Role))
        .map(|p| format!("{} {}", p.kind.word(), p.name))
        .collect();
    if theirs.is_empty() {
        return Ok(());
    }
    Err(Error::no_traffic_moved(format!(
        "{} already there, and greenlight did not create {}: install takes over nothing it did not make",
        theirs.join(", "),
        if theirs.len() == 1 { "it" } else { "them" }
    ))
    .with_hint(
        "choose another --name (the watcher's parts are named after it); to run the watcher as a role of your own, pass --role ARN",
    ))
}

/// Ends the description of each part install makes for watcher `name`.
fn mark(name: &str) -> String {
    format!("(made by greenlight watch install for watcher {name})")
}

/// `what`, with the mark of watcher `name`.
fn described(what: &str, name: &str) -> String {
    format!("{what} {}", mark(name))
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
/// metrics, weighted DNS), publish to the `[[notify]]` SNS topics its
/// snapshots name (written later, so any topic), S3 on its prefix only,
/// and its own logs.
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
                "Sid": "NotifySnsTopics",
                "Effect": "Allow",
                "Action": "sns:Publish",
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
