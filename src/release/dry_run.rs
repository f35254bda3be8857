//! Dry runs (`--dry-run`, `greenlight plan`): the writes a command would
//! make, worked out from reads only.
//!
//! Each command's own decision runs as usual, with its reads and checks
//! ([`deploy::decide`], [`release::prepare`], [`rollback::decide`],
//! [`reading::in_progress`]), so a dry run stops where the real command
//! would, with the same error and exit code. Then, instead of acting, it
//! lists the writes in order, each with the AWS call and why, plus what
//! happens between them (bakes, gate checks). Nothing that changes AWS is
//! called and the function is never invoked: smoke tests are listed, not run.
//! Packaging (and `[package] build`) still runs locally, since the code's
//! CodeSha256 decides whether there is code to upload.

use std::fmt;

use crate::context::Ctx;
use crate::deploy::pin;
use crate::deploy::tags::TagChange;
use crate::deploy::{self, Decision, Deployable};
use crate::error::Result;
use crate::release::clock;
use crate::release::engine::Run;
use crate::release::reading;
use crate::release::rollback::{self, Undo};
use crate::release::{self, Candidate, Start};
use crate::ui::count;

/// Stands for the version a deploy would publish, before it exists.
const NEW_VERSION: &str = "the new version";

/// What a command would do, in order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DryRun {
    /// The command planned, e.g. "ship".
    pub command: String,
    /// The writes and what happens between them.
    pub steps: Vec<PlannedStep>,
    /// True once the pin of an alias on `$LATEST` is listed (it is made once).
    #[serde(skip)]
    pub pinned: bool,
}

/// One write, or what happens between writes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlannedStep {
    /// The AWS API call that would write (e.g. `UpdateAlias`); `None` for a
    /// step that writes nothing (a bake, a check, a reason nothing moves).
    pub call: Option<String>,
    /// What it acts on and why; secrets are masked.
    pub detail: String,
}

impl DryRun {
    /// An empty plan for `command`.
    pub fn new(command: &str) -> DryRun {
        DryRun {
            command: command.to_owned(),
            ..DryRun::default()
        }
    }

    /// How many AWS writes the plan holds.
    pub fn writes(&self) -> usize {
        self.steps.iter().filter(|s| s.call.is_some()).count()
    }

    pub(crate) fn write(&mut self, call: &str, detail: impl fmt::Display) {
        self.steps.push(PlannedStep {
            call: Some(call.to_owned()),
            detail: detail.to_string(),
        });
    }

    pub(crate) fn then(&mut self, detail: impl fmt::Display) {
        self.steps.push(PlannedStep {
            call: None,
            detail: detail.to_string(),
        });
    }
}

/// The two writes [`pin::pin`] would make, listed once per plan.
pub async fn list_pin(ctx: Ctx<'_>, alias: &str, plan: &mut DryRun) -> Result<()> {
    if plan.pinned {
        return Ok(());
    }
    let name = ctx.function();
    let sha = ctx
        .lambda
        .function(name, pin::LATEST)
        .await?
        .map(|latest| latest.code_sha256)
        .unwrap_or_default();
    plan.write(
        "PublishVersion",
        format_args!(
            "$LATEST of {name} as it is (CodeSha256 {sha}): alias {alias} serves $LATEST, which an upload would change for its users at once"
        ),
    );
    plan.write(
        "UpdateAlias",
        format_args!(
            "alias {alias}: $LATEST → {} (the same code and configuration: nothing changes for users)",
            pin::PINNED
        ),
    );
    plan.pinned = true;
    Ok(())
}

/// What deploy would leave to the stages after it.
#[derive(Debug, Clone, PartialEq)]
pub enum Deployed {
    /// Nothing to deploy: the alias serves this already.
    Unchanged,
    /// A new function, whose new alias already points at its first version.
    Created,
    /// A new version would be published.
    Published,
}

/// `ship --dry-run` and `plan`: deploy, smoke tests, release.
pub async fn ship(ctx: Ctx<'_>, code: &Deployable, wait: bool, plan: &mut DryRun) -> Result<()> {
    let decided = deploy::decide(ctx, code).await?;
    let settings = &ctx.config.function.settings;
    // The release's own checks come first, as in `ship`.
    if let Some(candidate) = Candidate::after(&decided, settings) {
        release::preflight(ctx, candidate).await?;
    }
    let candidate = Candidate::after(&decided, settings);
    let deployed = list_deploy(ctx, code, decided.clone(), plan).await?;
    let Some(candidate) = candidate else {
        if deployed == Deployed::Created {
            smoke(ctx, NEW_VERSION, plan);
            plan.then(format_args!(
                "alias {} already points at the first version: nothing to release",
                ctx.alias()
            ));
        }
        return Ok(());
    };
    if let Some(dns) = &ctx.config.dns {
        crate::release::dns::plan_stage(ctx, dns, NEW_VERSION, plan).await?;
    }
    smoke(ctx, NEW_VERSION, plan);
    release(ctx, candidate, wait, plan).await
}

/// `deploy --dry-run`.
pub async fn deploy(ctx: Ctx<'_>, code: &Deployable, plan: &mut DryRun) -> Result<Deployed> {
    let decided = deploy::decide(ctx, code).await?;
    list_deploy(ctx, code, decided, plan).await
}

/// The writes of a deploy `decided` on.
async fn list_deploy(
    ctx: Ctx<'_>,
    code: &Deployable,
    decided: deploy::Decided,
    plan: &mut DryRun,
) -> Result<Deployed> {
    let (name, alias) = (ctx.function(), ctx.alias());
    if decided.pin {
        list_pin(ctx, alias, plan).await?;
    }
    for warning in decided
        .triggers
        .iter()
        .flat_map(|t| t.warnings(name, alias))
    {
        plan.then(format_args!("warning: {warning}"));
    }
    crate::checks::candidate::check(ctx).await?;
    let deployed = list_writes(ctx, code, decided.decision, plan).await?;
    if let (Some(candidate), false) = (
        &ctx.config.release.candidate,
        deployed == Deployed::Unchanged,
    ) {
        plan.write(
            "UpdateAlias",
            format_args!(
                "candidate alias {candidate} on the new version, for its smoke tests (created if missing; it carries no user traffic)"
            ),
        );
    }
    Ok(deployed)
}

/// The writes of deploy `decision`, before the candidate alias's.
async fn list_writes(
    ctx: Ctx<'_>,
    code: &Deployable,
    decision: Decision,
    plan: &mut DryRun,
) -> Result<Deployed> {
    let (name, alias) = (ctx.function(), ctx.alias());
    match decision {
        Decision::Unchanged(served) => {
            plan.then(format_args!(
                "nothing to deploy: alias {alias} already serves this code and configuration (version {})",
                served.version
            ));
            Ok(Deployed::Unchanged)
        }
        Decision::Retag { served, tags } => {
            plan.then(format_args!(
                "nothing to deploy: alias {alias} already serves this code and configuration (version {}); only the function's tags differ, which publishes no version",
                served.version
            ));
            list_tags(name, &tags, plan);
            Ok(Deployed::Unchanged)
        }
        Decision::Create => {
            stage(ctx, code, plan).await?;
            let settings = ctx.config.function.settings.extra.describe();
            let with = match settings.is_empty() {
                true => String::new(),
                false => format!(", with {}", settings.join("; ")),
            };
            plan.write(
                "CreateFunction",
                format_args!("function {name} from {}{with}", describe(code)),
            );
            plan.write("PublishVersion", format_args!("version 1 of {name}"));
            await_active(ctx, plan);
            plan.write(
                "CreateAlias",
                format_args!("alias {alias} on version 1 (a new function has no users yet)"),
            );
            Ok(Deployed::Created)
        }
        Decision::Update { latest, changes } => {
            if changes.iter().any(deploy::Change::is_code) {
                stage(ctx, code, plan).await?;
            }
            let settings: Vec<&str> = changes
                .iter()
                .filter(|c| !c.is_code() && c.changes_latest())
                .map(|c| c.text.as_str())
                .collect();
            if !settings.is_empty() {
                plan.write(
                    "UpdateFunctionConfiguration",
                    format_args!(
                        "function {name}: {}, conditional on $LATEST's RevisionId (before the code: if Lambda refuses the code, this is written back)",
                        settings.join(", ")
                    ),
                );
            }
            if changes.iter().any(deploy::Change::is_code) {
                let new_code = changes.iter().any(deploy::Change::is_new_code);
                let why = match code {
                    _ if !new_code => "the same code".to_owned(),
                    Deployable::Zip(artifact) => format!(
                        "the code differs: CodeSha256 {} here, {} on $LATEST",
                        artifact.code_sha256, latest.code_sha256
                    ),
                    Deployable::Image(uri) if uri.contains("@sha256:") => {
                        "$LATEST runs another image".to_owned()
                    }
                    Deployable::Image(_) => {
                        "a tag may have moved, so a tagged image is always sent".to_owned()
                    }
                };
                let with_code = changes
                    .iter()
                    .filter(|c| c.is_code() && !c.is_new_code())
                    .map(|c| format!(", {}", c.text))
                    .collect::<String>();
                plan.write(
                    "UpdateFunctionCode",
                    format_args!("function {name} from {}: {why}{with_code}", describe(code)),
                );
            }
            let tags = changes.iter().find_map(deploy::Change::tags);
            if !changes.iter().any(deploy::Change::changes_latest) {
                plan.write(
                    "PublishVersion",
                    format_args!(
                        "nothing new: $LATEST of {name} already holds this code and configuration, so Lambda returns the version published from it"
                    ),
                );
            } else {
                plan.write(
                    "PublishVersion",
                    format_args!("a new version of {name}, guarded by the code's CodeSha256"),
                );
                await_active(ctx, plan);
            }
            if let Some(tags) = tags {
                list_tags(name, tags, plan);
            }
            Ok(Deployed::Published)
        }
    }
}

/// With SnapStart, the wait after `PublishVersion` until the version is
/// `Active` (Lambda takes its snapshot first). Without it a version is
/// usually `Active` at once, and waited for only when Lambda says otherwise.
fn await_active(ctx: Ctx<'_>, plan: &mut DryRun) {
    if ctx.config.function.settings.extra.snap_start == Some(true) {
        plan.then(format_args!(
            "wait until the version is Active: with SnapStart, Lambda takes a snapshot first (up to function.ready_timeout, {})",
            humantime::format_duration(ctx.config.function.ready_timeout)
        ));
    }
}

/// The tag writes of a deploy, removals first ([`crate::aws::lambda::Lambda::retag`]):
/// tags belong to the function, not a version.
fn list_tags(name: &str, tags: &TagChange, plan: &mut DryRun) {
    if let Some(warning) = &tags.warning {
        plan.then(format_args!("warning: {warning}"));
    }
    let keys = |keys: Vec<&String>| {
        keys.into_iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !tags.remove.is_empty() {
        plan.write(
            "UntagResource",
            format_args!(
                "function {name}: {} (tags greenlight set earlier)",
                keys(tags.remove.iter().collect())
            ),
        );
    }
    if !tags.set.is_empty() {
        plan.write(
            "TagResource",
            format_args!("function {name}: {}", keys(tags.set.keys().collect())),
        );
    }
}

/// The S3 upload in front of a deploy, when the zip goes through a bucket.
async fn stage(ctx: Ctx<'_>, code: &Deployable, plan: &mut DryRun) -> Result<()> {
    let Some((artifact, bucket, prefix)) = deploy::staging(ctx, code) else {
        return Ok(());
    };
    let (at, present) = ctx
        .artifacts
        .locate(
            bucket,
            prefix,
            ctx.function(),
            &artifact.sha256_hex(),
            artifact.bytes.len(),
        )
        .await?;
    if present {
        plan.then(format_args!(
            "s3://{}/{} already holds the package: no upload",
            at.bucket, at.key
        ));
    } else {
        plan.write(
            "PutObject",
            format_args!(
                "s3://{}/{} ({} bytes)",
                at.bucket,
                at.key,
                artifact.bytes.len()
            ),
        );
    }
    Ok(())
}

fn describe(code: &Deployable) -> String {
    match code {
        Deployable::Zip(artifact) => format!(
            "a zip of {}, {} bytes",
            count(artifact.files, "file"),
            artifact.bytes.len()
        ),
        Deployable::Image(uri) => format!("image {uri}"),
    }
}

/// The smoke tests against `target` (listed, not run).
fn smoke(ctx: Ctx<'_>, target: &str, plan: &mut DryRun) {
    let tests = &ctx.config.smoke;
    if tests.is_empty() {
        return;
    }
    let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    plan.then(format_args!(
        "invoke {target} with the smoke tests ({}); a failure stops here, before any traffic moves",
        names.join(", ")
    ));
}

/// `release --dry-run`: of a published version, or in `ship` of the
/// version its deploy would publish.
pub async fn release(
    ctx: Ctx<'_>,
    candidate: Candidate<'_>,
    wait: bool,
    plan: &mut DryRun,
) -> Result<()> {
    let alias = ctx.alias();
    let version = match candidate {
        Candidate::Published(version) => Some(version),
        Candidate::Deploying { .. } => None,
    };
    let label = version.map_or(NEW_VERSION.to_owned(), |v| format!("version {v}"));
    if let Some(dns) = &ctx.config.dns {
        return crate::release::dns::plan_release(ctx, dns, version, &label, wait, plan).await;
    }
    let start = release::prepare(ctx, candidate).await?;
    match start {
        Start::CreateAlias => plan.write(
            "CreateAlias",
            format_args!("alias {alias} on {label} (a new alias has no users yet)"),
        ),
        Start::AlreadyLive { previous } => plan.then(format_args!(
            "alias {alias} already serves version {previous}: nothing to release"
        )),
        Start::Continue(run) => remaining(ctx, &run, &label, wait, plan),
        Start::Begin { stable, .. } => {
            if stable == pin::LATEST {
                list_pin(ctx, alias, plan).await?;
            }
            let steps = &ctx.config.release.plan.steps;
            if steps.is_empty() {
                plan.write(
                    "UpdateAlias",
                    format_args!(
                        "alias {alias}: {} → {label}, all traffic at once",
                        pin::label(&stable)
                    ),
                );
                gates_after(ctx, plan);
                return Ok(());
            }
            moves(ctx, &stable, &label, 0, wait, plan);
        }
    }
    Ok(())
}

/// `promote --dry-run`: the one move promote would make now, if any.
pub async fn promote(ctx: Ctx<'_>, plan: &mut DryRun) -> Result<()> {
    if let Some(dns) = &ctx.config.dns {
        return crate::release::dns::plan_promote(ctx, dns, plan).await;
    }
    let run = match ctx.lambda.alias(ctx.function(), ctx.alias()).await? {
        Some(alias) => reading::in_progress(ctx, &alias)?,
        None => None,
    };
    let Some(run) = run else {
        plan.then("no release in progress: nothing to promote");
        return Ok(());
    };
    let label = format!("version {}", run.version());
    remaining(ctx, &run, &label, false, plan);
    Ok(())
}

/// `rollback --dry-run`.
pub async fn rollback(ctx: Ctx<'_>, plan: &mut DryRun) -> Result<()> {
    if let Some(dns) = &ctx.config.dns {
        return crate::release::dns::plan_rollback(ctx, dns, plan).await;
    }
    let alias = ctx.alias();
    match rollback::decide(ctx).await? {
        Undo::StopRelease { from, to, .. } => plan.write(
            "UpdateAlias",
            format_args!(
                "alias {alias} → version {to}, all traffic (stops the release of version {from}, clears its weight)"
            ),
        ),
        Undo::ClearSplit { from, to, .. } => plan.write(
            "UpdateAlias",
            format_args!(
                "alias {alias} → version {to}, all traffic (clears the split set outside greenlight, {from} loses its share)"
            ),
        ),
        Undo::Restore { from, to, .. } => plan.write(
            "UpdateAlias",
            format_args!("alias {alias}: version {from} → {to}, all traffic"),
        ),
        Undo::Done(done) => plan.then(format_args!(
            "alias {alias} is already rolled back from version {} to {}: nothing to do",
            done.from, done.to
        )),
    }
    Ok(())
}

/// What is left of a release in progress: with `wait` all of it, otherwise
/// the one move `promote` would make now (none while the bake lasts).
fn remaining(ctx: Ctx<'_>, run: &Run<'_>, label: &str, wait: bool, plan: &mut DryRun) {
    let step = run.step().unwrap_or(0);
    let percent = run.plan().steps.get(step).copied().unwrap_or(100);
    let left = run.clock().wait_left();
    plan.then(format_args!(
        "gates checked first: {}; red rolls back to version {}",
        gates(ctx, true),
        run.stable()
    ));
    if !left.is_zero() {
        plan.then(format_args!(
            "step {} of {} at {percent} % {} {} more{}",
            step + 1,
            run.plan().steps.len(),
            run.clock().waiting(),
            humantime::format_duration(std::time::Duration::from_secs(left.as_secs())),
            if wait { "" } else { ": nothing moves now" }
        ));
        if !wait {
            return;
        }
    }
    moves(ctx, run.stable(), label, step + 1, wait, plan);
}

/// How long each step's metrics settle in a release planned now: the
/// function's timeout as the config gives it (the version's own is read
/// when the release starts).
pub(crate) fn settle(ctx: Ctx<'_>) -> std::time::Duration {
    ctx.config
        .release
        .metrics
        .settle(ctx.config.function.settings.timeout)
}

/// The alias moves from step `from` (an index into the plan's steps) to the
/// end; without `wait` only the first of them.
fn moves(ctx: Ctx<'_>, stable: &str, label: &str, from: usize, wait: bool, plan: &mut DryRun) {
    let alias = ctx.alias();
    let release = &ctx.config.release.plan;
    let settle = settle(ctx);
    let bake = clock::describe(release.bake, settle);
    for percent in release.steps.iter().skip(from) {
        plan.write(
            "UpdateAlias",
            format_args!(
                "alias {alias}: {percent} % on {label}, {} % on {}",
                100 - percent,
                pin::label(stable)
            ),
        );
        if !wait {
            plan.then(format_args!(
                "then exit; `greenlight promote` continues after a {bake} bake with green gates ({})",
                gates(ctx, true)
            ));
            return;
        }
        plan.then(format_args!("bake {bake}, watching {}", gates(ctx, true)));
    }
    plan.write(
        "UpdateAlias",
        format_args!("alias {alias} → {label}, all traffic (weights cleared)"),
    );
    gates_after(ctx, plan);
    settled_after(settle, plan);
}

/// After the final move, the last step's metrics are judged as they settle.
pub(crate) fn settled_after(settle: std::time::Duration, plan: &mut DryRun) {
    if !settle.is_zero() {
        plan.then(format_args!(
            "then the last step's metrics are judged for {} more as they settle; red rolls back",
            humantime::format_duration(settle)
        ));
    }
}

fn gates_after(ctx: Ctx<'_>, plan: &mut DryRun) {
    plan.then(format_args!(
        "then {}; a failure rolls back",
        gates(ctx, false)
    ));
}

/// The gates, in words; the metric gates only apply during a `step`.
fn gates(ctx: Ctx<'_>, step: bool) -> String {
    let alarms = &ctx.config.release.alarms;
    let metrics = &ctx.config.release.metrics;
    let smoke = ctx.config.smoke.len();
    let mut parts = Vec::new();
    if !alarms.is_empty() {
        parts.push(format!("alarms {}", alarms.join(", ")));
    }
    if step && !metrics.gates.is_empty() {
        let names: Vec<&str> = metrics.gates.iter().map(|g| g.measure.name()).collect();
        parts.push(format!(
            "metrics {} (held until the new version has {} invocations)",
            names.join(", "),
            metrics.min_invocations
        ));
    }
    if smoke > 0 {
        parts.push(format!("{} through the alias", count(smoke, "smoke test")));
    }
    if parts.is_empty() {
        "no gates configured".to_owned()
    } else {
        parts.join(" and ")
    }
}
