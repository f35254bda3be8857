//! Dry runs (`--dry-run`, `greenlight plan`): the writes a command would
//! make, and none made.
//!
//! Releases, promotes and rollbacks run their own code with a [`Ctx`] that
//! records ([`Ctx::dry_write`]): the router's writes, the pin and the
//! colours' aliases are listed where they would be made, and the engine
//! says its bakes, settle windows and gates instead of waiting or reading
//! them ([`crate::release::engine`]), so a plan cannot say something the
//! release would not do. Deploys run [`deploy::apply`] the same way: its
//! S3 upload, configuration, code, publish, tags and new function are
//! recorded where they would be made (the wait for a SnapStart version to
//! be `Active` is said), and so are the candidate alias
//! ([`candidate::point`]) and the smoke tests ([`smoke::run`]). Nothing that
//! changes AWS is called and the function is never invoked. Packaging (and `[package]
//! build`) still runs locally, since the code's CodeSha256 decides whether
//! there is code to upload.

use crate::checks::{candidate, smoke};
use crate::context::Ctx;
use crate::deploy::pin;
use crate::deploy::{self, Deployable};
use crate::error::Result;
use crate::release::dns::{self, Colours};
use crate::release::{self, Candidate, ReleaseReport};
use crate::ui::count;

pub use crate::planned::{DryRun, NEW_VERSION, PlannedStep};

/// How a plan names `version`: "version 4", the version a pin would
/// publish for `$LATEST`, or [`NEW_VERSION`] as it is.
pub fn label(version: &str) -> String {
    if version == pin::LATEST {
        pin::label(version)
    } else {
        crate::planned::label(version)
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
            smoke::run(ctx, &smoke::Target::version(ctx, NEW_VERSION)).await;
            // As in `ship`: the first version's release, which for DNS
            // colours creates the weighted records on blue.
            match Colours::of(ctx.config) {
                Some(colours) => {
                    let first = Candidate::Published(NEW_VERSION);
                    dns::release_of(ctx, colours, first, wait).await?;
                }
                None => {
                    ctx.dry_then(format_args!(
                        "alias {} already points at the first version: nothing to release",
                        ctx.alias()
                    ));
                }
            }
        }
        return Ok(());
    };
    let quiet = ctx.ui.quiet();
    let ctx = Ctx { ui: &quiet, ..ctx };
    if let Some(colours) = Colours::of(ctx.config) {
        dns::stage(ctx, colours, NEW_VERSION).await?;
    }
    smoke::run(ctx, &smoke::Target::version(ctx, NEW_VERSION)).await;
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

/// The writes of a deploy `decided` on: [`deploy::apply`] itself, its
/// writes recorded, after the pin and what the deploy warns of.
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
    candidate::check(ctx).await?;
    let quiet = ctx.ui.quiet();
    let report = deploy::apply(Ctx { ui: &quiet, ..ctx }, code, decided).await?;
    let deployed = match (report.unchanged, report.created) {
        (true, _) => Deployed::Unchanged,
        (false, true) => Deployed::Created,
        (false, false) => Deployed::Published,
    };
    if !report.unchanged {
        candidate::point(ctx, &report.version).await?;
    }
    Ok(deployed)
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
