//! Stage 2, deploy: make the artifact and settings a published version, with no traffic.
//!
//! In: an [`Artifact`] and the `[function]` settings. Out: a [`DeployReport`]
//! naming the version that holds them. Traffic never moves here, with one
//! exception: the very first deploy of a function that does not exist
//! creates it, publishes version 1 and creates the alias on it (there is no
//! earlier version to protect). An alias on `$LATEST` is pinned to a version
//! of what it serves before any upload ([`crate::deploy::pin`]): users' code does not
//! change, but an upload can no longer reach them untested.
//!
//! AWS calls: `GetFunctionConfiguration` for the version the alias serves
//! (and `ListTags` when the config has `tags`); when that already matches,
//! nothing else ("nothing to deploy", no writes), and when only the tags
//! differ, only `TagResource`/`UntagResource`: no version is published, so
//! whatever sits on `$LATEST` (a console edit) is never released.
//! Otherwise `GetFunctionConfiguration($LATEST)`, the checks of what Lambda
//! would refuse ([`crate::deploy::refusals`], exit 2 before any write), then only
//! what differs: `UpdateFunctionConfiguration` first, conditional on the
//! RevisionId read (re-read and rebuilt when someone else changed
//! `$LATEST` meanwhile, kept variables taken fresh), then
//! `UpdateFunctionCode` (new code, or a new architecture); each followed by
//! polling until `LastUpdateStatus` is no longer `InProgress`. When Lambda
//! refuses the code after the configuration was applied, the configuration
//! read is written back, so `$LATEST` is never left half-updated. Then
//! `PublishVersion` guarded by the artifact's CodeSha256 and the RevisionId
//! greenlight's last write left, with the version's provenance as its
//! description ([`provenance`]: the commit, ref, CI run, who, a dirty
//! tree), and when its
//! answer says the version is not `Active` yet (SnapStart), polling it until
//! it is ([`publish`]); then `TagResource`/`UntagResource` when the tags
//! differ (they belong to the function, not a version). With the `$LATEST`
//! read, the triggers of the unqualified function are read
//! ([`crate::deploy::triggers`]), for a warning. A new function takes
//! `CreateFunction`, polling, `PublishVersion` and `CreateAlias`.
//! A version greenlight published holds its provenance, not the
//! function's description: with `function.description` in the config, the
//! function's is read from `$LATEST` to compare (one more read).
//! With `[package] s3_bucket` set, code goes through S3 first (`HeadObject`,
//! `PutObject` streamed from memory when missing): a direct upload is
//! base64 inside a JSON body, which costs several times the zip in memory.
//! Without a bucket, a zip over Lambda's 50 MB direct-upload limit is exit 2
//! before any AWS call ([`check_direct_upload`]).
//!
//! Safe to repeat: Lambda publishes no new version when `$LATEST` has not
//! changed since the last one, so a re-run names the same version.
//!
//! Lives here: the deploy (this module, `changes`: what differs and what to
//! send, `upload`: where the code goes), [`settings`] and [`tags`] (the
//! differences of the settings beyond code and of the tags),
//! [`refusals`] (what Lambda would refuse), [`env_values`] (reading the
//! environment references), [`pin`], [`provenance`], [`ready`] and
//! [`triggers`]. May import:
//! `context`, `config`, `aws`, `package`, `record`, `ui` and the base
//! modules; never `release` or above.

mod changes;
pub mod env_values;
pub mod pin;
pub mod provenance;
pub mod ready;
pub mod refusals;
pub mod settings;
pub mod tags;
pub mod triggers;
mod upload;

pub use changes::Change;
pub use upload::{check_direct_upload, staging};

use changes::{changed_settings, differences};
use std::collections::BTreeMap;
use upload::{describe, lambda_code, stage_in_s3};

use crate::aws::lambda::FunctionSettings;
use crate::aws::lambda::{Configured, FunctionState, Published, Updated};
use crate::aws::s3::S3Location;
use crate::context::Ctx;
use crate::deploy::provenance::Provenance;
use crate::deploy::refusals::Outcome;
use crate::deploy::tags::TagChange;
use crate::deploy::triggers::TriggerCheck;
use crate::error::{Error, Result};
use crate::package::Artifact;
use crate::planned::NEW_VERSION;
use crate::record::{Action, Record};

/// What deploy did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeployReport {
    /// The version that holds the artifact and settings.
    pub version: String,
    /// True when the function did not exist and was created.
    pub created: bool,
    /// True when the alias already served this code and configuration: no
    /// version was published, and nothing was written but the function's
    /// tags when they differed (then `changes` names them).
    pub unchanged: bool,
    /// What differed from `$LATEST` and was applied (environment by key only).
    pub changes: Vec<String>,
    /// When the alias served `$LATEST`: the version greenlight published
    /// from it, as it was, and moved the alias onto before anything else
    /// ([`crate::deploy::pin`]); users' code did not change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
    /// Where `version` came from, as its description says
    /// ([`provenance`]); none when it holds no provenance (nothing was
    /// found when it was published, or greenlight did not publish it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// What a deploy puts into the function.
#[derive(Debug, Clone)]
pub enum Deployable {
    /// A zip built by the package stage.
    Zip(Artifact),
    /// A container image built and pushed elsewhere (`[package] image_uri`).
    Image(String),
}

impl Deployable {
    /// Whether `state` runs other code than this. A zip compares CodeSha256;
    /// an image compares the URI the version was deployed from (one
    /// `GetFunction`), and only when it is pinned by digest: a tag can have
    /// moved, so a tagged image is always sent and Lambda resolves it.
    async fn differs_from(&self, ctx: Ctx<'_>, state: &FunctionState) -> Result<bool> {
        match self {
            Deployable::Zip(artifact) => Ok(state.code_sha256 != artifact.code_sha256),
            Deployable::Image(uri) if uri.contains("@sha256:") => {
                let deployed = ctx.lambda.image_uri(ctx.function(), &state.version).await?;
                Ok(deployed.as_deref() != Some(uri.as_str()))
            }
            Deployable::Image(_) => Ok(true),
        }
    }

    /// The CodeSha256 `PublishVersion` must find on `$LATEST` (in `state`):
    /// ours for a zip, so nobody else's upload is published; for an image,
    /// the digest Lambda resolved when it was sent.
    fn publish_guard(&self, state: &FunctionState) -> String {
        match self {
            Deployable::Zip(artifact) => artifact.code_sha256.clone(),
            Deployable::Image(_) => state.code_sha256.clone(),
        }
    }
}

/// What deploy has to do, decided from reads only (so a dry run can show it).
#[derive(Debug, Clone)]
pub enum Decision {
    /// The alias already serves this code and configuration: nothing to write.
    Unchanged(FunctionState),
    /// The alias already serves this code and configuration, and only the
    /// function's tags differ: they are written, and nothing else (no
    /// version is published, so nothing on `$LATEST` is released).
    Retag {
        /// What the alias serves.
        served: FunctionState,
        /// The tag writes.
        tags: TagChange,
    },
    /// The function does not exist; the config has what creating it needs.
    Create,
    /// `$LATEST` (in `latest`) differs from the config: `changes` say how.
    Update {
        /// `$LATEST` as it is now.
        latest: FunctionState,
        /// What differs, in the order it is applied.
        changes: Vec<Change>,
    },
}

/// What deploy has to do, and whether the alias must be pinned first.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The alias serves `$LATEST`, which the deploy would change for its
    /// users at once: it is pinned first ([`crate::deploy::pin`]). The decision is
    /// then made against what it serves, as a pinned version would be.
    pub pin: bool,
    /// What to write.
    pub decision: Decision,
    /// When the deploy writes: what invokes the unqualified function, so
    /// would run the new code before any test (read with `$LATEST`).
    pub triggers: Option<TriggerCheck>,
}

/// Reads what the alias serves and what `$LATEST` holds, and decides;
/// refuses what Lambda would refuse ([`crate::deploy::refusals`]) before any write.
pub async fn decide(ctx: Ctx<'_>, code: &Deployable) -> Result<Decided> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let desired = &ctx.config.function.settings;
    match code {
        Deployable::Zip(artifact) => ctx
            .ui
            .detail(format_args!("local CodeSha256 {}", artifact.code_sha256)),
        Deployable::Image(uri) => ctx.ui.detail(format_args!("image {uri}")),
    }
    let served = ctx.lambda.function(name, alias).await?;
    let pin = served.as_ref().is_some_and(|s| s.version == pin::LATEST);
    let mut tags = None;
    let exists = served.is_some();
    if let Some(served) = served {
        ctx.ui.detail(format_args!(
            "alias {alias} serves version {} with CodeSha256 {}",
            served.version, served.code_sha256
        ));
        refusals::readable_environment(ctx, &served)?;
        let code_differs = code.differs_from(ctx, &served).await?;
        tags = current_tags(ctx, &served).await?;
        let compared = with_function_description(ctx, &served).await?;
        let changes = differences(name, desired, code_differs, &compared, tags.as_ref());
        let decision = match changes.iter().find_map(Change::tags) {
            _ if changes.is_empty() => Some(Decision::Unchanged(served)),
            Some(retag) if !changes.iter().any(Change::changes_latest) => {
                if let Some(have) = &tags {
                    refusals::tag_count(ctx, retag, have)?;
                }
                let tags = retag.clone();
                Some(Decision::Retag { served, tags })
            }
            _ => None,
        };
        if let Some(decision) = decision {
            let triggers = None;
            return Ok(Decided {
                pin,
                decision,
                triggers,
            });
        }
    }
    // The triggers are read with `$LATEST` when the function exists (the
    // alias's read found it), so they cost no round trip of their own.
    let (latest, triggers) = if exists {
        let read = ctx.lambda.function(name, "$LATEST");
        let (latest, triggers) = tokio::join!(read, crate::deploy::triggers::check(ctx));
        (latest?, Some(triggers))
    } else {
        (ctx.lambda.function(name, "$LATEST").await?, None)
    };
    let Some(latest) = latest else {
        check_can_create(ctx, code)?;
        let outcome = Outcome {
            have: None,
            environment: desired.environment.clone(),
            tags: None,
        };
        refusals::check(ctx, outcome).await?;
        let decision = Decision::Create;
        let triggers = None;
        return Ok(Decided {
            pin,
            decision,
            triggers,
        });
    };
    refusals::readable_environment(ctx, &latest)?;
    if tags.is_none() {
        tags = current_tags(ctx, &latest).await?;
    }
    let code_differs = code.differs_from(ctx, &latest).await?;
    let changes = differences(name, desired, code_differs, &latest, tags.as_ref());
    let outcome = Outcome {
        have: Some(&latest),
        environment: changed_settings(desired, &changes, &latest).environment,
        tags: changes.iter().find_map(Change::tags).zip(tags.as_ref()),
    };
    refusals::check(ctx, outcome).await?;
    let decision = Decision::Update { latest, changes };
    let triggers = Some(match triggers {
        Some(found) => found,
        None => crate::deploy::triggers::check(ctx).await,
    });
    Ok(Decided {
        pin,
        decision,
        triggers,
    })
}

/// `served` as compared with the config: a version greenlight published
/// holds its provenance as description, not the function's, so with
/// `function.description` in the config the function's is read from
/// `$LATEST` (one `GetFunctionConfiguration`) and compared instead.
async fn with_function_description(ctx: Ctx<'_>, served: &FunctionState) -> Result<FunctionState> {
    if ctx.config.function.settings.description.is_none()
        || Provenance::parse(&served.description).is_none()
    {
        return Ok(served.clone());
    }
    let latest = ctx.lambda.function(ctx.function(), pin::LATEST).await?;
    Ok(FunctionState {
        description: latest.map(|l| l.description).unwrap_or_default(),
        ..served.clone()
    })
}

/// The function's tags (one `ListTags`), when the config manages some;
/// `None` otherwise: tags absent from the config are left alone.
async fn current_tags(
    ctx: Ctx<'_>,
    state: &FunctionState,
) -> Result<Option<BTreeMap<String, String>>> {
    match &ctx.config.function.settings.extra.tags {
        Some(_) => Ok(Some(ctx.lambda.tags(&state.arn).await?)),
        None => Ok(None),
    }
}

/// Deploys `code` with the configured settings as a published version, as
/// [`decide`] decided, pinning an alias on `$LATEST` first.
pub async fn apply(ctx: Ctx<'_>, code: &Deployable, decided: Decided) -> Result<DeployReport> {
    let pinned = match decided.pin {
        true => pin::pin(ctx, ctx.alias()).await?.map(|p| p.version),
        false => None,
    };
    let unchanged = |served: FunctionState, changes| DeployReport {
        provenance: match &pinned {
            Some(_) => None,
            None => Provenance::of_version(&served.description),
        },
        version: pinned.clone().unwrap_or(served.version),
        created: false,
        unchanged: true,
        changes,
        pinned: None,
    };
    let nothing_to_deploy = |served: &FunctionState, also: &str| {
        ctx.dry_then(format_args!(
            "nothing to deploy: alias {} already serves this code and configuration (version {}){also}",
            ctx.alias(),
            served.version
        ))
    };
    let report = match decided.decision {
        Decision::Unchanged(served) => {
            nothing_to_deploy(&served, "");
            unchanged(served, Vec::new())
        }
        Decision::Retag { served, tags } => {
            let also = "; only the function's tags differ, which publishes no version";
            nothing_to_deploy(&served, also);
            retag(ctx, &served.arn, &tags).await?;
            unchanged(served, vec![tags.text])
        }
        Decision::Create => create(ctx, code).await?,
        Decision::Update { latest, changes } => update(ctx, code, &latest, changes).await?,
    };
    Ok(DeployReport { pinned, ..report })
}

/// Writes the tags (they belong to the function, not a version), saying
/// first why nothing is removed when greenlight's list is not its own.
async fn retag(ctx: Ctx<'_>, arn: &str, tags: &TagChange) -> Result<()> {
    if let Some(warning) = &tags.warning
        && !ctx.dry_then(format_args!("warning: {warning}"))
    {
        ctx.ui.step(format_args!("warning: {warning}"));
    }
    if plan_tags(ctx, tags) {
        return Ok(());
    }
    ctx.ui.step("updating tags");
    ctx.lambda.retag(arn, &tags.set, &tags.remove).await
}

/// In a dry run, records the tag writes [`crate::aws::lambda::Lambda::retag`]
/// would make (removals first) and returns true; otherwise false.
fn plan_tags(ctx: Ctx<'_>, tags: &TagChange) -> bool {
    if !ctx.is_dry() {
        return false;
    }
    let name = ctx.function();
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
    true
}

/// Brings `$LATEST` (as `latest` was read) to the config and publishes it.
///
/// The configuration goes first, conditional on the RevisionId read (a
/// change someone makes meanwhile is read again and built on, see
/// [`crate::aws::lambda::Lambda::configure`]), the code second: when Lambda
/// refuses the code, the configuration `$LATEST` had is written back, so a
/// refusal never leaves `$LATEST` half-updated.
async fn update(
    ctx: Ctx<'_>,
    code: &Deployable,
    latest: &FunctionState,
    changes: Vec<Change>,
) -> Result<DeployReport> {
    let name = ctx.function();
    let desired = &ctx.config.function.settings;
    // The RevisionId after greenlight's own last write: a change anyone
    // else makes before the publish makes Lambda refuse it.
    let mut revision = latest.revision_id.clone();
    let mut expected_sha = code.publish_guard(latest);
    let sends_code = changes.iter().any(Change::is_code);
    // Staged before any write: a failed upload to S3 changes nothing.
    let through_s3 = match sends_code {
        true => stage_in_s3(ctx, code).await?,
        false => None,
    };
    let configures = changed_settings(desired, &changes, latest) != FunctionSettings::default();
    let configured = if configures && !plan_configuration(ctx, &changes) {
        ctx.ui.step("updating configuration");
        let _busy = ctx
            .ui
            .spinner("waiting for Lambda to apply the configuration");
        let configured = ctx
            .lambda
            .configure(name, latest, |now| changed_settings(desired, &changes, now))
            .await?;
        revision = configured.after.revision_id.clone();
        expected_sha = code.publish_guard(&configured.before);
        Some(configured)
    } else {
        None
    };
    if sends_code && !plan_code(ctx, code, latest, &changes) {
        match send_code(ctx, code, through_s3.as_ref()).await {
            Ok(updated) => {
                expected_sha = code.publish_guard(&updated);
                revision = updated.revision_id;
            }
            Err(refused) => {
                return Err(match configured {
                    None => refused,
                    Some(configured) => put_back(ctx, &changes, configured, refused).await,
                });
            }
        }
    }
    let new = changes.iter().any(Change::changes_latest);
    let published = if ctx.is_dry() {
        let what = match new {
            true => format!("a new version of {name}, guarded by the code's CodeSha256"),
            false => format!(
                "nothing new: $LATEST of {name} already holds this code and configuration, so Lambda returns the version published from it"
            ),
        };
        plan_publish(ctx, what, new)
    } else {
        let description = provenance::read(ctx).await.map(|p| p.description());
        publish(
            ctx,
            &expected_sha,
            revision.as_deref(),
            description.as_deref(),
        )
        .await?
    };
    if let Some(tags) = changes.iter().find_map(Change::tags) {
        retag(ctx, &latest.arn, tags).await?;
    }
    Ok(DeployReport {
        provenance: Provenance::of_version(&published.description),
        version: published.version,
        created: false,
        unchanged: false,
        changes: changes.into_iter().map(|c| c.text).collect(),
        pinned: None,
    })
}

/// In a dry run, records the `UpdateFunctionConfiguration` [`update`]
/// would make for `changes` and returns true; otherwise false.
fn plan_configuration(ctx: Ctx<'_>, changes: &[Change]) -> bool {
    if !ctx.is_dry() {
        return false;
    }
    let settings: Vec<&str> = changes
        .iter()
        .filter(|c| !c.is_code() && c.changes_latest())
        .map(|c| c.text.as_str())
        .collect();
    ctx.dry_write(
        "UpdateFunctionConfiguration",
        format_args!(
            "function {}: {}, conditional on $LATEST's RevisionId (before the code: if Lambda refuses the code, this is written back)",
            ctx.function(),
            settings.join(", ")
        ),
    )
}

/// In a dry run, records the `UpdateFunctionCode` [`send_code`] would make,
/// with why `$LATEST` (as `latest` was read) needs it, and returns true;
/// otherwise false.
fn plan_code(ctx: Ctx<'_>, code: &Deployable, latest: &FunctionState, changes: &[Change]) -> bool {
    if !ctx.is_dry() {
        return false;
    }
    let why = match code {
        _ if !changes.iter().any(Change::is_new_code) => "the same code".to_owned(),
        Deployable::Zip(artifact) => format!(
            "the code differs: CodeSha256 {} here, {} on $LATEST",
            artifact.code_sha256, latest.code_sha256
        ),
        Deployable::Image(uri) if uri.contains("@sha256:") => {
            "$LATEST runs another image".to_owned()
        }
        Deployable::Image(_) => "a tag may have moved, so a tagged image is always sent".to_owned(),
    };
    let with_code = changes
        .iter()
        .filter(|c| c.is_code() && !c.is_new_code())
        .map(|c| format!(", {}", c.text))
        .collect::<String>();
    ctx.dry_write(
        "UpdateFunctionCode",
        format_args!(
            "function {} from {}: {why}{with_code}",
            ctx.function(),
            describe(code)
        ),
    )
}

/// In a dry run: records the `PublishVersion` of `what` and, for a `new`
/// version with SnapStart, the wait until it is `Active` (Lambda takes a
/// snapshot first; without it a version is usually `Active` at once), and
/// returns the version as a plan names it ([`NEW_VERSION`]).
fn plan_publish(ctx: Ctx<'_>, what: impl std::fmt::Display, new: bool) -> Published {
    ctx.dry_write("PublishVersion", what);
    if new && ctx.config.function.settings.extra.snap_start == Some(true) {
        ctx.dry_then(format_args!(
            "wait until the version is Active: with SnapStart, Lambda takes a snapshot first (up to function.ready_timeout, {})",
            humantime::format_duration(ctx.config.function.ready_timeout)
        ));
    }
    Published {
        version: NEW_VERSION.to_owned(),
        active: true,
        description: String::new(),
    }
}

/// Sends the code (from S3 when it was staged there) and waits until
/// Lambda has applied it.
async fn send_code(
    ctx: Ctx<'_>,
    code: &Deployable,
    through_s3: Option<&S3Location>,
) -> Result<FunctionState> {
    match code {
        Deployable::Zip(artifact) => ctx.ui.step(format_args!(
            "uploading code ({} bytes)",
            artifact.bytes.len()
        )),
        Deployable::Image(uri) => ctx.ui.step(format_args!("deploying image {uri}")),
    }
    let _busy = ctx
        .ui
        .spinner("sending the code, waiting for Lambda to apply it");
    ctx.lambda
        .update_code(
            ctx.function(),
            lambda_code(code, through_s3),
            ctx.config.function.settings.extra.architecture.as_deref(),
        )
        .await
}

/// After Lambda refused the code (`refused`): writes back the
/// configuration `$LATEST` had before greenlight's update, for the
/// settings that update changed (conditional on the RevisionId it left),
/// and returns the error to report: `refused`, saying `$LATEST` is as it
/// was, or, when that write fails too, what `$LATEST` holds now.
async fn put_back(
    ctx: Ctx<'_>,
    changes: &[Change],
    configured: Configured,
    refused: Error,
) -> Error {
    let name = ctx.function();
    let Configured { before, after } = configured;
    let settings = changed_settings(&settings_of(&before), changes, &before);
    ctx.ui.step(format_args!(
        "Lambda refused the code: putting back the configuration $LATEST of {name} had"
    ));
    let restored = ctx
        .lambda
        .update_settings(name, &settings, after.revision_id.as_deref())
        .await;
    let problem = match restored {
        Ok(Updated::Applied(_)) => {
            let hint = refused
                .hint
                .clone()
                .map_or_else(String::new, |h| format!("{h}; "));
            return refused.with_hint(format!(
                "{hint}greenlight put back the configuration $LATEST had, so $LATEST is as it was; no version was published"
            ));
        }
        Ok(Updated::RevisionMoved) => {
            "someone else changed $LATEST meanwhile, so greenlight did not write over it".to_owned()
        }
        Err(e) => e.to_string(),
    };
    Error::no_traffic_moved(format!(
        "could not update the code of function {name}, and could not put back the configuration $LATEST had: $LATEST holds the new configuration with the code it had"
    ))
    .with_cause(format!(
        "{}; putting the configuration back: {problem}",
        refused.cause.as_deref().unwrap_or(&refused.message)
    ))
    .with_hint("no traffic moved and no version was published; fix the cause and deploy again (deploy compares with $LATEST and sends what differs)")
}

/// The settings `state` holds, each given, as a config naming them all
/// would: what [`put_back`] writes, for the settings it changed.
fn settings_of(state: &FunctionState) -> FunctionSettings {
    FunctionSettings {
        runtime: state.runtime.clone(),
        handler: state.handler.clone(),
        role: state.role.clone(),
        memory: state.memory,
        timeout: state.timeout,
        environment: Some(state.environment.clone()),
        description: Some(state.description.clone()),
        extra: state.extra.clone(),
    }
}

/// Publishes `$LATEST` (guarded as [`crate::aws::lambda::Lambda::publish`]
/// says, with `description`, e.g. its provenance) and, when Lambda answers
/// that the version is not `Active` yet (`Pending`: always with SnapStart,
/// while the snapshot is taken), waits until it is, up to
/// `function.ready_timeout`: a version is never tested or released before
/// Lambda can invoke it.
pub async fn publish(
    ctx: Ctx<'_>,
    code_sha256: &str,
    revision_id: Option<&str>,
    description: Option<&str>,
) -> Result<Published> {
    let name = ctx.function();
    ctx.ui.step("publishing version");
    let published = ctx
        .lambda
        .publish(name, code_sha256, revision_id, description)
        .await?;
    if !published.active {
        let why = "not Active yet (Lambda is preparing it; SnapStart takes a snapshot first)";
        crate::deploy::ready::wait(ctx, &published.version, why).await?;
    }
    Ok(published)
}

/// Creating a function needs a role, and for a zip a runtime and a handler.
fn check_can_create(ctx: Ctx<'_>, code: &Deployable) -> Result<()> {
    let name = ctx.function();
    let settings = &ctx.config.function.settings;
    let image = matches!(code, Deployable::Image(_));
    let missing: Vec<&str> = [
        ("runtime", &settings.runtime, !image),
        ("handler", &settings.handler, !image),
        ("role", &settings.role, true),
    ]
    .into_iter()
    .filter(|(_, v, needed)| *needed && v.is_none())
    .map(|(k, _, _)| k)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "function {name} does not exist, and creating it needs function.{} in the config",
        missing.join(", function.")
    ))
    .with_hint("add the missing keys under [function], or check the function name and --region"))
}

async fn create(ctx: Ctx<'_>, code: &Deployable) -> Result<DeployReport> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let settings = &ctx.config.function.settings;
    let through_s3 = stage_in_s3(ctx, code).await?;
    let published = if plan_create(ctx, code) {
        plan_publish(ctx, format_args!("version 1 of {name}"), true)
    } else {
        ctx.ui.step(format_args!("creating function {name}"));
        let busy = ctx
            .ui
            .spinner("waiting for the new function to become active");
        let created = ctx
            .lambda
            .create(name, settings, lambda_code(code, through_s3.as_ref()))
            .await?;
        drop(busy);
        let description = provenance::read(ctx).await.map(|p| p.description());
        publish(
            ctx,
            &code.publish_guard(&created),
            created.revision_id.as_deref(),
            description.as_deref(),
        )
        .await?
    };
    let version = published.version;
    let planned = ctx.record(|plan| {
        plan.write(
            "CreateAlias",
            format_args!("alias {alias} on version 1 (a new function has no users yet)"),
        );
        // What a release that follows in this plan finds on the alias.
        plan.aliases.insert(alias.to_owned(), version.clone());
    });
    if !planned {
        ctx.ui
            .step(format_args!("creating alias {alias} on version {version}"));
        let record = Record::now(Action::Create, &version, None);
        ctx.lambda
            .create_alias(name, alias, &version, &record.to_string())
            .await?;
    }
    Ok(DeployReport {
        version,
        created: true,
        unchanged: false,
        changes: vec!["new function".to_owned()],
        pinned: None,
        provenance: Provenance::of_version(&published.description),
    })
}

/// In a dry run, records the `CreateFunction` [`create`] would make and
/// returns true; otherwise false.
fn plan_create(ctx: Ctx<'_>, code: &Deployable) -> bool {
    let settings = ctx.config.function.settings.extra.describe();
    let with = match settings.is_empty() {
        true => String::new(),
        false => format!(", with {}", settings.join("; ")),
    };
    ctx.dry_write(
        "CreateFunction",
        format_args!("function {} from {}{with}", ctx.function(), describe(code)),
    )
}
