//! Dry runs (`--dry-run`, `greenlight plan`): the writes a command would
//! make, and none made.
//!
//! Releases, promotes and rollbacks run their own code with a [`Ctx`] that
//! records ([`Ctx::dry_write`]): the router's writes, the pin and the
//! colours' aliases are listed where they would be made, and the engine
//! says its bakes, settle windows and gates instead of waiting or reading
//! them ([`crate::release::engine`]), so a plan cannot say something the
//! release would not do. The deploy's writes are listed here from its own
//! decision ([`deploy::decide`]), in the order [`deploy::apply`] makes
//! them. Nothing that changes AWS is called and the function is never
//! invoked: smoke tests are listed, not run. Packaging (and `[package]
//! build`) still runs locally, since the code's CodeSha256 decides whether
//! there is code to upload.

use crate::context::Ctx;
use crate::deploy::pin;
use crate::deploy::tags::TagChange;
use crate::deploy::{self, Decision, Deployable};
use crate::error::Result;
use crate::release::dns::{self, Colours};
use crate::release::{self, Candidate, ReleaseReport};
use crate::ui::count;

pub use crate::planned::{DryRun, PlannedStep};

/// Stands for the version a deploy would publish, before it exists.
pub const NEW_VERSION: &str = "the new version";

/// How a plan names `version`: "version 4", the version a pin would
/// publish for `$LATEST`, or [`NEW_VERSION`] as it is.
pub fn label(version: &str) -> String {
    if version == pin::LATEST || crate::release::rollback::is_published(version) {
        pin::label(version)
    } else {
        version.to_owned()
    }
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
pub async fn ship(ctx: Ctx<'_>, code: &Deployable, wait: bool) -> Result<()> {
    let decided = deploy::decide(ctx, code).await?;
    let settings = &ctx.config.function.settings;
    // The release's own checks come first, as in `ship`.
    if let Some(candidate) = Candidate::after(&decided, settings) {
        release::preflight(ctx, candidate).await?;
    }
    let candidate = Candidate::after(&decided, settings);
    let deployed = list_deploy(ctx, code, decided.clone()).await?;
    let Some(candidate) = candidate else {
        if deployed == Deployed::Created {
            smoke(ctx, NEW_VERSION);
            ctx.dry_then(format_args!(
                "alias {} already points at the first version: nothing to release",
                ctx.alias()
            ));
        }
        return Ok(());
    };
    let quiet = ctx.ui.quiet();
    let ctx = Ctx { ui: &quiet, ..ctx };
    if let Some(colours) = Colours::of(ctx.config) {
        dns::stage(ctx, colours, NEW_VERSION).await?;
    }
    smoke(ctx, NEW_VERSION);
    let released = release::release_candidate(ctx, candidate, wait).await?;
    said(ctx, &released);
    Ok(())
}

/// What a dry run's release that makes no write says.
pub fn said(ctx: Ctx<'_>, released: &ReleaseReport) {
    if released.already_live {
        ctx.dry_then(format_args!(
            "alias {} already serves version {}: nothing to release",
            ctx.alias(),
            released.version
        ));
    }
}

/// `deploy --dry-run`.
pub async fn deploy(ctx: Ctx<'_>, code: &Deployable) -> Result<Deployed> {
    let decided = deploy::decide(ctx, code).await?;
    list_deploy(ctx, code, decided).await
}

/// The writes of a deploy `decided` on.
async fn list_deploy(
    ctx: Ctx<'_>,
    code: &Deployable,
    decided: deploy::Decided,
) -> Result<Deployed> {
    let (name, alias) = (ctx.function(), ctx.alias());
    if decided.pin {
        pin::pin(ctx, alias).await?;
    }
    for warning in decided
        .triggers
        .iter()
        .flat_map(|t| t.warnings(name, alias))
    {
        ctx.dry_then(format_args!("warning: {warning}"));
    }
    crate::checks::candidate::check(ctx).await?;
    let deployed = list_writes(ctx, code, decided.decision).await?;
    if let (Some(candidate), false) = (
        &ctx.config.release.candidate,
        deployed == Deployed::Unchanged,
    ) {
        ctx.dry_write(
            "UpdateAlias",
            format_args!(
                "candidate alias {candidate} on the new version, for its smoke tests (created if missing; it carries no user traffic)"
            ),
        );
    }
    Ok(deployed)
}

/// The writes of deploy `decision`, before the candidate alias's.
async fn list_writes(ctx: Ctx<'_>, code: &Deployable, decision: Decision) -> Result<Deployed> {
    let (name, alias) = (ctx.function(), ctx.alias());
    match decision {
        Decision::Unchanged(served) => {
            ctx.dry_then(format_args!(
                "nothing to deploy: alias {alias} already serves this code and configuration (version {})",
                served.version
            ));
            Ok(Deployed::Unchanged)
        }
        Decision::Retag { served, tags } => {
            ctx.dry_then(format_args!(
                "nothing to deploy: alias {alias} already serves this code and configuration (version {}); only the function's tags differ, which publishes no version",
                served.version
            ));
            list_tags(ctx, &tags);
            Ok(Deployed::Unchanged)
        }
        Decision::Create => {
            stage(ctx, code).await?;
            let settings = ctx.config.function.settings.extra.describe();
            let with = match settings.is_empty() {
                true => String::new(),
                false => format!(", with {}", settings.join("; ")),
            };
            ctx.dry_write(
                "CreateFunction",
                format_args!("function {name} from {}{with}", describe(code)),
            );
            ctx.dry_write("PublishVersion", format_args!("version 1 of {name}"));
            await_active(ctx);
            ctx.dry_write(
                "CreateAlias",
                format_args!("alias {alias} on version 1 (a new function has no users yet)"),
            );
            Ok(Deployed::Created)
        }
        Decision::Update { latest, changes } => {
            if changes.iter().any(deploy::Change::is_code) {
                stage(ctx, code).await?;
            }
            let settings: Vec<&str> = changes
                .iter()
                .filter(|c| !c.is_code() && c.changes_latest())
                .map(|c| c.text.as_str())
                .collect();
            if !settings.is_empty() {
                ctx.dry_write(
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
                ctx.dry_write(
                    "UpdateFunctionCode",
                    format_args!("function {name} from {}: {why}{with_code}", describe(code)),
                );
            }
            let tags = changes.iter().find_map(deploy::Change::tags);
            if !changes.iter().any(deploy::Change::changes_latest) {
                ctx.dry_write(
                    "PublishVersion",
                    format_args!(
                        "nothing new: $LATEST of {name} already holds this code and configuration, so Lambda returns the version published from it"
                    ),
                );
            } else {
                ctx.dry_write(
                    "PublishVersion",
                    format_args!("a new version of {name}, guarded by the code's CodeSha256"),
                );
                await_active(ctx);
            }
            if let Some(tags) = tags {
                list_tags(ctx, tags);
            }
            Ok(Deployed::Published)
        }
    }
}

/// With SnapStart, the wait after `PublishVersion` until the version is
/// `Active` (Lambda takes its snapshot first). Without it a version is
/// usually `Active` at once, and waited for only when Lambda says otherwise.
fn await_active(ctx: Ctx<'_>) {
    if ctx.config.function.settings.extra.snap_start == Some(true) {
        ctx.dry_then(format_args!(
            "wait until the version is Active: with SnapStart, Lambda takes a snapshot first (up to function.ready_timeout, {})",
            humantime::format_duration(ctx.config.function.ready_timeout)
        ));
    }
}

/// The tag writes of a deploy, removals first ([`crate::aws::lambda::Lambda::retag`]):
/// tags belong to the function, not a version.
fn list_tags(ctx: Ctx<'_>, tags: &TagChange) {
    let name = ctx.function();
    if let Some(warning) = &tags.warning {
        ctx.dry_then(format_args!("warning: {warning}"));
    }
    let keys = |keys: Vec<&String>| {
        keys.into_iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !tags.remove.is_empty() {
        ctx.dry_write(
            "UntagResource",
            format_args!(
                "function {name}: {} (tags greenlight set earlier)",
                keys(tags.remove.iter().collect())
            ),
        );
    }
    if !tags.set.is_empty() {
        ctx.dry_write(
            "TagResource",
            format_args!("function {name}: {}", keys(tags.set.keys().collect())),
        );
    }
}

/// The S3 upload in front of a deploy, when the zip goes through a bucket.
async fn stage(ctx: Ctx<'_>, code: &Deployable) -> Result<()> {
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
        ctx.dry_then(format_args!(
            "s3://{}/{} already holds the package: no upload",
            at.bucket, at.key
        ));
    } else {
        ctx.dry_write(
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
fn smoke(ctx: Ctx<'_>, target: &str) {
    let tests = &ctx.config.smoke;
    if tests.is_empty() {
        return;
    }
    let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    ctx.dry_then(format_args!(
        "invoke {target} with the smoke tests ({}); a failure stops here, before any traffic moves",
        names.join(", ")
    ));
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

/// The gates, in words; the metric gates only apply during a `step`.
pub(crate) fn gates(ctx: Ctx<'_>, step: bool) -> String {
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
