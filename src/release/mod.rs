//! Stage 4, release: move users to a published version, all at once or step by step.
//!
//! In: a version that passed its smoke tests, and the `[release]` plan. Out: a
//! [`ReleaseReport`]. Before anything moves it checks the alias rules (a
//! published version, not `Failed`, not the one already live, the same
//! execution role and dead-letter queue as the stable version for a
//! weighted split), that no finished release is still judged as its last
//! step's metrics settle (moving the alias would leave them unjudged), and
//! that no watched alarm is missing or already in ALARM: a firing alarm
//! would make the new version's health impossible to judge, so the release
//! does not start (exit 1). The first move waits until the version is
//! `Active` ([`crate::deploy::ready`]). A split
//! greenlight did not make stops it too; an alias on `$LATEST` is pinned to
//! a version first ([`crate::deploy::pin`]). `ship` runs these checks before it
//! deploys ([`preflight`]), and its release starts from what they read
//! ([`release_deployed`]).
//!
//! AWS calls: `GetFunctionConfiguration` (the new version, together with
//! `GetAlias`; the stable one for a split), `DescribeAlarms`, then
//! `UpdateAlias` per step through
//! the [`engine`] and the alias router ([`routers::alias`]), or `CreateAlias` when there is no alias yet
//! (a new alias has no users, so it moves at once and is not re-checked).
//!
//! Safe to repeat: releasing the version the alias already serves changes
//! nothing, and releasing the version whose release is in progress continues it.
//!
//! The folder holds the release code, one engine for every router
//! (issue 24): this module (how a release starts), [`engine`] (steps,
//! bakes, gates, rollback on red, whatever the router), [`routers`] (where
//! a split lives: an alias, Route 53 weights, a load balancer's forward
//! action), [`reading`] (what an alias's weights and record say,
//! `promote`), [`watch`] (the waits, and the alarms read during them),
//! [`dns`] (what two colours' weights and records say, for DNS and load
//! balancers), [`rollback`], [`dry_run`] (the deploy's writes listed; the
//! release's own code records the rest in a dry run), [`status`],
//! [`clock`], [`weights`], [`unexpected`] (a panic turned into the
//! rollback path), [`tell`] (`[[notify]]` told of each state change) and
//! [`prune`]. May import: `context`, `config`, `planned`,
//! `aws`, `checks`, `deploy`, `record`, `lockstep`, `interrupt`, `ui` and
//! the base modules; never `report` or `app`.

pub mod alb_checks;
pub mod approver;
pub mod clock;
pub mod dns;
pub mod dry_run;
pub mod engine;
pub mod prune;
pub mod reading;
pub mod rollback;
pub mod routers;
pub mod status;
pub mod tell;
pub mod unexpected;
pub mod watch;
pub mod weights;

use crate::aws::lambda::AliasState;
use crate::aws::lambda::FunctionSettings;
use crate::checks::gates::GateCheck;
use crate::context::Ctx;
use crate::deploy::pin;
use crate::deploy::{Change, Decided, Decision};
use crate::error::{Error, Failure, Result};
use crate::record::{Action, Record};
use crate::release::engine::{InProgress, Run};
use crate::release::routers::AnyRouter;
use crate::release::routers::alias::AliasRouter;

/// What a release (or one promote step) did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ReleaseReport {
    /// The version being released.
    pub version: String,
    /// The stable version it replaces, if there was one.
    pub previous: Option<String>,
    /// The plan, e.g. "10 % → 50 % → 100 %, 5m each".
    pub plan: String,
    /// True when the alias already served `version`: nothing was written.
    pub already_live: bool,
    /// The traffic share on the new version after each alias move this run
    /// made, in percent; 100 means the release finished.
    pub moves: Vec<u8>,
    /// The last check of the gates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gates: Option<GateCheck>,
    /// Where the release stands when this run ends with it still in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<InProgress>,
    /// Why traffic went back to `previous`, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<String>,
    /// After the final move, with metric gates: seconds the last canary
    /// step's metrics are still judged as they settle (a later `promote`
    /// judges them; red rolls back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_left_secs: Option<u64>,
}

/// How a release starts, decided from reads and checks only (so a dry run
/// can show it).
pub enum Start<'a> {
    /// There is no alias yet: create it on the version.
    CreateAlias,
    /// This version's release is in progress: continue it.
    Continue(Box<Run<'a>>),
    /// The alias already serves the version alone.
    AlreadyLive {
        /// The version live before (the same one).
        previous: String,
    },
    /// Move from `stable` through the plan.
    Begin {
        /// The version users are on now; `$LATEST` when the alias serves
        /// it, which is pinned to a version before the first move.
        stable: String,
        /// The alias's RevisionId, so the first move fails if it changed.
        revision: Option<String>,
        /// The new version was read `Active`: no wait before the first move
        /// (otherwise it is waited for then, see [`crate::deploy::ready`]).
        active: bool,
    },
}

/// The version a release is of.
#[derive(Debug, Clone, Copy)]
pub enum Candidate<'v> {
    /// A published version (looked up: it must exist).
    Published(&'v str),
    /// The version `ship` is about to deploy, before it exists: the
    /// execution role it will have, and whether the deploy publishes a new
    /// version (otherwise Lambda returns the newest one, whose release may
    /// be the one in progress).
    Deploying {
        /// The config's role, or `$LATEST`'s when the config sets none.
        role: Option<&'v str>,
        /// The config's dead-letter target, or `$LATEST`'s (`""`: none).
        dead_letter: Option<&'v str>,
        /// True when the deploy changes `$LATEST`, so the version is new.
        new: bool,
    },
}

impl<'a> Candidate<'a> {
    /// The release that would follow the deploy `decided` in `ship`: the
    /// version it publishes, before it exists (`None` when nothing is
    /// published or the function is new, so nothing is released).
    pub fn after(decided: &'a Decided, settings: &'a FunctionSettings) -> Option<Candidate<'a>> {
        let Decision::Update { latest, changes } = &decided.decision else {
            return None;
        };
        Some(Candidate::Deploying {
            role: settings.role.as_deref().or(latest.role.as_deref()),
            dead_letter: settings
                .extra
                .dead_letter
                .as_deref()
                .or(latest.extra.dead_letter.as_deref()),
            new: changes.iter().any(Change::changes_latest),
        })
    }
}

impl Candidate<'_> {
    /// Whether this may be `version`, whose release is in progress: a
    /// deploy that changes nothing publishes no new version, so Lambda
    /// names the newest one, which may be it.
    pub fn may_be(&self, version: &str) -> bool {
        match self {
            Candidate::Published(v) => *v == version,
            Candidate::Deploying { new, .. } => !new,
        }
    }

    /// The version number, once published.
    pub fn version(&self) -> Option<&str> {
        match self {
            Candidate::Published(version) => Some(version),
            Candidate::Deploying { .. } => None,
        }
    }
}

/// Checks that `candidate` can be released and decides how, on reads only:
/// the version exists, no other release is in progress, the alias holds no
/// split greenlight cannot explain, the two versions share a role (for a
/// split), and no watched alarm is firing or missing.
pub async fn prepare<'a>(ctx: Ctx<'a>, candidate: Candidate<'_>) -> Result<Start<'a>> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let (routing, current) =
        tokio::try_join!(routing_of(ctx, candidate), ctx.lambda.alias(name, alias))?;
    start_from(ctx, candidate, routing, current).await
}

/// [`prepare`] on the alias state `current` already read (`ship` reads it
/// together with its deploy's first read).
pub async fn prepare_on<'a>(
    ctx: Ctx<'a>,
    candidate: Candidate<'_>,
    current: Option<AliasState>,
) -> Result<Start<'a>> {
    let routing = routing_of(ctx, candidate).await?;
    start_from(ctx, candidate, routing, current).await
}

/// What Lambda's alias routing compares for `candidate` (a published
/// version's settings are read, and it must exist).
async fn routing_of(ctx: Ctx<'_>, candidate: Candidate<'_>) -> Result<Routing> {
    Ok(match candidate {
        Candidate::Published(version) => {
            let state = check_version(ctx, version).await?;
            crate::deploy::ready::refuse_failed(ctx, &state)?;
            Routing {
                active: state.readiness == crate::aws::lambda::Readiness::Active,
                role: state.role,
                dead_letter: state.extra.dead_letter,
            }
        }
        Candidate::Deploying {
            role, dead_letter, ..
        } => Routing {
            role: role.map(str::to_owned),
            dead_letter: dead_letter.map(str::to_owned),
            active: false,
        },
    })
}

/// [`prepare`]'s decision, from the candidate's routing settings and the alias.
async fn start_from<'a>(
    ctx: Ctx<'a>,
    candidate: Candidate<'_>,
    routing: Routing,
    current: Option<AliasState>,
) -> Result<Start<'a>> {
    let alias = ctx.alias();
    let plan = &ctx.config.release.plan;
    let Some(current) = current else {
        return Ok(Start::CreateAlias);
    };
    if let Some(run) = reading::in_progress(ctx, &current)? {
        if !candidate.may_be(run.version()) {
            return Err(another_in_progress(
                run.version(),
                &format!("alias {alias}"),
            ));
        }
        return Ok(Start::Continue(Box::new(run)));
    }
    if candidate.version() == Some(current.version.as_str()) {
        return Ok(Start::AlreadyLive {
            previous: current.version,
        });
    }
    // A record whose settle window cannot be used names nothing to judge
    // (`promote` and `status` report it): this release writes its own.
    if let Ok(Some(last)) = reading::settling(ctx, &current)
        && !candidate.may_be(last.version())
    {
        return Err(still_settling(
            last.version(),
            last.settle_left(),
            &format!("alias {alias}"),
        ));
    }
    // An alias on `$LATEST` is pinned before the first move (see
    // `release`); its checks read `$LATEST`, which the pinned version copies.
    let stable = current.version.clone();
    if !plan.is_all_at_once() {
        let label = candidate
            .version()
            .map_or("the new version".to_owned(), |v| format!("version {v}"));
        check_routable(ctx, &stable, &routing, &label).await?;
    }
    refuse_if_alarms_stop(ctx, candidate).await?;
    Ok(Start::Begin {
        stable,
        revision: current.revision_id,
        active: routing.active,
    })
}

/// Before a release of `candidate` starts: every watched alarm exists
/// (exit 2) and none is firing (exit 1), `{version}` alarms for the version
/// [`alarm_version`] names, so `ship` checks them before it deploys.
pub async fn refuse_if_alarms_stop(ctx: Ctx<'_>, candidate: Candidate<'_>) -> Result<()> {
    let version = alarm_version(ctx, candidate).await?;
    let checked = crate::checks::gates::refuse_if_firing(ctx, version.as_deref()).await;
    match (checked, candidate, version) {
        (Err(e), Candidate::Deploying { .. }, Some(v)) if e.failure == Failure::Usage => Err(e
            .with_hint(format!(
                "{{version}} alarms are checked for version {v}, the one this deploy would publish (Lambda numbers versions one after another): create them first (templates/version-alarm.sh), or `greenlight deploy`, create them, then `greenlight release --version N`"
            ))),
        (checked, ..) => checked,
    }
}

/// The version `{version}` alarms are checked for: the candidate's, or
/// before `ship` deploys, the one its deploy will publish. Lambda numbers
/// versions one after another, so that is one after the newest (or the
/// newest, when the deploy changes nothing); a number skipped because
/// newer versions were deleted is caught by the check after publishing.
/// `None` when no watched alarm names `{version}` (nothing is read then).
async fn alarm_version(ctx: Ctx<'_>, candidate: Candidate<'_>) -> Result<Option<String>> {
    let scoped = ctx
        .config
        .release
        .alarms
        .iter()
        .any(|a| a.contains("{version}"));
    match candidate {
        Candidate::Published(version) => Ok(Some(version.to_owned())),
        Candidate::Deploying { .. } if !scoped => Ok(None),
        Candidate::Deploying { new, .. } => {
            let versions = ctx.lambda.versions(ctx.function()).await?;
            let newest = versions
                .last()
                .and_then(|v| v.version.parse::<u64>().ok())
                .unwrap_or(0);
            let next = if new || newest == 0 {
                newest + 1
            } else {
                newest
            };
            Ok(Some(next.to_string()))
        }
    }
}

/// The refusal to start a release on `place` while the finished release of
/// `version` is still judged as its last step's metrics settle (`left`):
/// a new release would leave them unjudged. Exit 1, nothing written.
pub fn still_settling(version: &str, left: std::time::Duration, place: &str) -> Error {
    Error::no_traffic_moved(format!(
        "the release of version {version} on {place} is still being judged: its last step's metrics settle for {} more, and a new release now would leave them unjudged",
        humantime::format_duration(std::time::Duration::from_secs(
            crate::release::clock::whole_seconds(left)
        ))
    ))
    .with_hint(
        "`greenlight promote` judges them (outcome `settling`; a breach rolls back); release again once `greenlight status` shows no settle_left_secs",
    )
}

/// Before `ship` writes anything: the checks its release would make, on
/// reads only, so a release that cannot start (a missing alarm, a release
/// in progress, a split set by hand, different roles) stops before the
/// deploy, as `plan` does.
pub async fn preflight(ctx: Ctx<'_>, candidate: Candidate<'_>) -> Result<()> {
    match crate::release::dns::Colours::of(ctx.config) {
        Some(colours) => crate::release::dns::preflight(ctx, colours, candidate).await,
        None => prepare(ctx, candidate).await.map(|_| ()),
    }
}

/// Releases `version`; with `wait`, to the end of the plan, otherwise only
/// its first step (the rest is left to `greenlight promote`).
pub async fn release(ctx: Ctx<'_>, version: &str, wait: bool) -> Result<ReleaseReport> {
    let start = prepare(ctx, Candidate::Published(version)).await?;
    release_from(ctx, version, wait, start).await
}

/// Releases `candidate` on the alias, in DNS or on a load balancer. In a
/// dry run ([`Ctx::is_dry`]) the candidate may be the version `ship` would
/// deploy, named [`dry_run::NEW_VERSION`] before it exists.
pub async fn release_candidate(
    ctx: Ctx<'_>,
    candidate: Candidate<'_>,
    wait: bool,
) -> Result<ReleaseReport> {
    match dns::Colours::of(ctx.config) {
        Some(colours) => dns::release_of(ctx, colours, candidate, wait).await,
        None => {
            let start = prepare(ctx, candidate).await?;
            let version = candidate.version().unwrap_or(dry_run::NEW_VERSION);
            release_from(ctx, version, wait, start).await
        }
    }
}

/// How long each step's metrics settle in the release of `version` ([`crate::checks::metrics::settle_for`]);
/// in a dry run of a version not yet published, with the function's
/// timeout as the config gives it.
pub async fn settle_of(ctx: Ctx<'_>, version: &str) -> Result<std::time::Duration> {
    if ctx.is_dry() && !rollback::is_published(version) {
        return Ok(dry_run::settle(ctx));
    }
    crate::checks::metrics::settle_for(ctx, version).await
}

/// Releases `version`, which `ship` has just deployed, from where its
/// checks before the deploy found the alias (`checked`): a release that
/// begins there needs no second read of the version or the alias (the
/// alias `RevisionId` read then still guards the first move: a change
/// since makes it a conflict, exit 1), only the alarms again, now with
/// the version known. Any other start is decided afresh.
pub async fn release_deployed<'a>(
    ctx: Ctx<'a>,
    version: &str,
    wait: bool,
    checked: Option<Start<'a>>,
) -> Result<ReleaseReport> {
    let start = match checked {
        // The deploy has just published it and waited until it was Active.
        Some(Start::Begin {
            stable, revision, ..
        }) if stable != version => {
            crate::checks::gates::refuse_if_firing(ctx, Some(version)).await?;
            Start::Begin {
                stable,
                revision,
                active: true,
            }
        }
        _ => prepare(ctx, Candidate::Published(version)).await?,
    };
    release_from(ctx, version, wait, start).await
}

/// Releases `version` from `start`, as [`prepare`] decided it.
async fn release_from<'a>(
    ctx: Ctx<'a>,
    version: &str,
    wait: bool,
    start: Start<'a>,
) -> Result<ReleaseReport> {
    let (name, alias) = (ctx.function(), ctx.alias());
    let plan = &ctx.config.release.plan;
    match start {
        Start::CreateAlias => {
            let planned = ctx.dry_write(
                "CreateAlias",
                format_args!(
                    "alias {alias} on {} (a new alias has no users yet)",
                    dry_run::label(version)
                ),
            );
            if !planned {
                crate::deploy::ready::until_active(ctx, version).await?;
                ctx.ui
                    .step(format_args!("creating alias {alias} on version {version}"));
                let record = Record::now(Action::Release, version, None);
                ctx.lambda
                    .create_alias(name, alias, version, &record.to_string())
                    .await?;
            }
            Ok(ReleaseReport {
                version: version.to_owned(),
                plan: plan.to_string(),
                moves: vec![100],
                ..Default::default()
            })
        }
        Start::Continue(run) => {
            ctx.ui
                .step(format_args!("continuing the release of version {version}"));
            engine::drive(*run, wait).await
        }
        Start::AlreadyLive { previous } => Ok(ReleaseReport {
            version: version.to_owned(),
            previous: Some(previous),
            plan: plan.to_string(),
            already_live: true,
            ..Default::default()
        }),
        Start::Begin {
            mut stable,
            mut revision,
            active,
        } => {
            if stable == pin::LATEST
                && let Some(pinned) = pin::pin(ctx, alias).await?
            {
                (stable, revision) = (pinned.version, pinned.revision);
            }
            let settle = settle_of(ctx, version).await?;
            let router = AnyRouter::Alias(AliasRouter::new(ctx, revision, false));
            let run = Run::start(ctx, router, version, &stable, plan.clone())
                .with_settle(settle)
                .known_active(active);
            engine::begin(run, wait).await
        }
    }
}

/// The refusal to release while the release of `version` is in progress on
/// `place` (an alias or a DNS name): exit 1, nothing moved.
pub fn another_in_progress(version: &str, place: &str) -> Error {
    Error::no_traffic_moved(format!(
        "the release of version {version} is in progress on {place}"
    ))
    .with_hint("finish it with `greenlight promote`, or undo it with `greenlight rollback`")
}

/// Fails unless `version` is a published version of the function; returns its state.
async fn check_version(ctx: Ctx<'_>, version: &str) -> Result<crate::aws::lambda::FunctionState> {
    let name = ctx.function();
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::usage(format!(
            "version {version:?} is not a published version number"
        ))
        .with_hint("greenlight releases published versions only, never $LATEST or an alias"));
    }
    ctx.lambda.function(name, version).await?.ok_or_else(|| {
        Error::no_traffic_moved(format!(
            "version {version} of function {name} does not exist"
        ))
        .with_hint(
            "run `greenlight deploy` to publish one, or `greenlight status` to list versions",
        )
    })
}

/// What Lambda requires to be the same on both versions of a split alias,
/// and whether the new version was read `Active`.
struct Routing {
    /// Read `Active` (a published version only).
    active: bool,
    /// The execution role.
    role: Option<String>,
    /// The dead-letter target (`""` or `None`: none).
    dead_letter: Option<String>,
}

/// Lambda splits an alias's traffic only between versions with one execution
/// role and one dead-letter configuration; `routing` is that of `version`
/// (a label such as "version 5").
async fn check_routable(
    ctx: Ctx<'_>,
    stable: &str,
    routing: &Routing,
    version: &str,
) -> Result<()> {
    let state = ctx.lambda.function(ctx.function(), stable).await?;
    let (stable_role, stable_dlq) = state
        .map(|s| (s.role, s.extra.dead_letter))
        .unwrap_or_default();
    let none = |v: Option<&str>| v.filter(|v| !v.is_empty()).unwrap_or("none").to_owned();
    let differs = if stable_role != routing.role {
        Some((
            "execution roles",
            none(stable_role.as_deref()),
            none(routing.role.as_deref()),
        ))
    } else if none(stable_dlq.as_deref()) != none(routing.dead_letter.as_deref()) {
        Some((
            "dead-letter queues (function.dead_letter)",
            none(stable_dlq.as_deref()),
            none(routing.dead_letter.as_deref()),
        ))
    } else {
        None
    };
    let Some((what, theirs, ours)) = differs else {
        return Ok(());
    };
    Err(Error::no_traffic_moved(format!(
        "{} and {version} have different {what} ({theirs} and {ours}), and Lambda cannot split an alias's traffic between them",
        crate::deploy::pin::label(stable),
    ))
    .with_hint("release this version all at once (`steps = []`), then go back to steps"))
}
