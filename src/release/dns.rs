//! Blue/green releases by Route 53 weighted records (`[dns]`).
//!
//! Two weighted records with the same name and type, SetIdentifiers `blue`
//! and `green`, each in front of one Lambda alias. The live colour carries
//! all the weight; a release points the idle colour's alias at the new
//! version (no traffic: its weight is 0), then moves the weight to it
//! through the `[release]` steps (step % of the total, see [`crate::release::weights`]). After each
//! change greenlight waits until Route 53 reports it INSYNC and then for the
//! record's TTL, so resolvers really use the new split before the gates
//! (alarms, smoke tests through the new colour's alias) are judged. A red
//! gate, an error, SIGINT or SIGTERM puts the weights back exactly as they
//! were (exit 3; exit 4 with the fix when that write fails).
//!
//! Before anything changes: a missing zone, one record of the pair missing,
//! a record that is not weighted, or weights that are not all on one colour
//! stop the release (exit 1). When neither record exists the first release
//! creates them, all the weight on the colour it releases to (there are no
//! users yet).
//!
//! The writes of a split (the record, the weights, INSYNC, the restore)
//! are the DNS router's ([`DnsRouter`]); this module holds what the
//! records mean ([`state`]) and starts, continues and undoes releases
//! through the engine ([`crate::release::engine`]).
//!
//! A load balancer's two weighted target groups (`[alb]`) are blue/green
//! the same way: [`Colours`] names either, and everything here but reading
//! the split and making its router ([`Found`]) serves both; the ALB
//! router is [`AlbRouter`]. There is no first release through a load
//! balancer: its forward action always has weights.
//!
//! AWS calls: `ListResourceRecordSets`, `GetAlias`/`CreateAlias`/`UpdateAlias`
//! for the idle colour, `DescribeAlarms`, then per step
//! `ChangeResourceRecordSets` and `GetChange` until INSYNC.

use std::time::Duration;

use time::OffsetDateTime;

use crate::aws::elbv2::ActionList;
use crate::config::alb::AlbConfig;
use crate::config::{Config, DnsConfig};
use crate::context::Ctx;
use crate::deploy::pin;
use crate::error::{Error, Result};
use crate::record::{Action, Record};
use crate::release::clock::Settling;
use crate::release::engine::{self, Run};
use crate::release::reading::{Settled, Standing, resume};
use crate::release::rollback::{self, RollbackReport, Undo};
use crate::release::routers::alb::{self, AlbRouter};
use crate::release::routers::dns::{
    Aim, DnsRouter, Pair, aim, new_record, point, read, record_name,
};
use crate::release::routers::{AnyRouter, Coloured, Undoing};
use crate::release::weights;
use crate::release::{self, Candidate, ReleaseReport};

/// The sum of the two weights greenlight sets (Route 53 allows 0 to 255 each).
const TOTAL: i64 = 100;

/// The two colours a blue/green release moves between: a Route 53
/// weighted pair (`[dns]`) or a load balancer's two target groups
/// (`[alb]`). Everything here but reading the split and making its router
/// is the same for both.
#[derive(Clone, Copy)]
pub enum Colours<'a> {
    /// Route 53 weighted records.
    Dns(&'a DnsConfig),
    /// A load balancer's forward action.
    Alb(&'a AlbConfig),
}

/// One of the two colours: its name and its alias.
#[derive(Clone, Copy)]
pub struct ColourRef<'a> {
    name: &'static str,
    alias: &'a str,
}

impl Coloured for ColourRef<'_> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn alias(&self) -> &str {
        self.alias
    }
}

impl<'a> Colours<'a> {
    /// The colours `config` releases between, if it names two.
    pub fn of(config: &'a Config) -> Option<Self> {
        (config.dns.as_ref().map(Colours::Dns)).or_else(|| config.alb.as_ref().map(Colours::Alb))
    }

    /// How the place is named in messages: the record name, or the
    /// listener or rule ARN.
    pub fn name(self) -> &'a str {
        match self {
            Colours::Dns(dns) => &dns.name,
            Colours::Alb(alb) => alb.action.arn(),
        }
    }

    /// Colour `i` (0 blue, 1 green).
    pub fn colour(self, i: usize) -> ColourRef<'a> {
        match self {
            Colours::Dns(dns) => ColourRef {
                name: dns.colours[i].name,
                alias: &dns.colours[i].alias,
            },
            Colours::Alb(alb) => ColourRef {
                name: alb.colours[i].name,
                alias: &alb.colours[i].alias,
            },
        }
    }

    /// Reads the split; `None` when the pair of records does not exist yet.
    /// A shape greenlight cannot move is refused (exit 1).
    async fn read(self, ctx: Ctx<'a>) -> Result<Option<Found<'a>>> {
        Ok(match self {
            Colours::Dns(dns) => read(ctx.dns, dns)
                .await?
                .map(|pair| Found::of(Split::Dns(dns, Box::new(pair)))),
            Colours::Alb(config) => {
                let list = alb::read(ctx.elbv2, config).await?;
                let weights = alb::weights_in(&list, config)?;
                Some(Found::of(Split::Alb(config, list, weights)))
            }
        })
    }
}

/// The split as read, with what it was read for.
pub enum Split<'a> {
    /// Route 53's pair (boxed: two whole records).
    Dns(&'a DnsConfig, Box<Pair>),
    /// The forward action's list, and blue's and green's weights in it.
    Alb(&'a AlbConfig, ActionList, [i32; 2]),
}

/// The split as read, and blue's and green's alias `RevisionId` as read
/// with it ([`state`]): the condition of a restore's rollback record, so
/// that of two rollbacks at once only one records it and the other finds
/// it done (`Router::restored_by_another`).
pub struct Found<'a> {
    split: Split<'a>,
    revisions: [Option<String>; 2],
}

impl<'a> Found<'a> {
    /// `split`, its colours' aliases not read yet.
    fn of(split: Split<'a>) -> Self {
        Found {
            split,
            revisions: [None, None],
        }
    }

    /// Blue's and green's weights.
    pub fn weights(&self) -> [i64; 2] {
        match &self.split {
            Split::Dns(_, pair) => pair.weights(),
            Split::Alb(_, _, weights) => weights.map(i64::from),
        }
    }

    /// The sum of the weights a release keeps; `None` for 0/0.
    pub fn total(&self) -> Option<i64> {
        match &self.split {
            Split::Dns(_, pair) => weights::working_total(pair.weights().iter().sum()),
            Split::Alb(_, _, weights) => alb::total(*weights),
        }
    }

    /// The fingerprint of everything but the weights, where the split has
    /// one (a load balancer's action list).
    fn shape(&self) -> Option<String> {
        match &self.split {
            Split::Dns(..) => None,
            Split::Alb(_, list, _) => Some(list.shape()),
        }
    }

    /// The router of a release toward colour `to` over this split; its
    /// restore records the rollback on the other colour's alias only over
    /// the `RevisionId` read with the split.
    pub fn router(self, ctx: Ctx<'a>, to: usize) -> AnyRouter<'a> {
        let [blue, green] = self.revisions;
        let back = if to == 0 { green } else { blue };
        match self.split {
            Split::Dns(dns, pair) => {
                AnyRouter::Dns(Box::new(DnsRouter::new(ctx, dns, *pair, to, back)))
            }
            Split::Alb(config, list, weights) => AnyRouter::Alb(Box::new(AlbRouter::new(
                ctx, config, list, weights, to, back,
            ))),
        }
    }
}

/// Where a DNS release stands: the weights, and the newest greenlight
/// record on either colour's alias (the record says which way a split goes,
/// which version each side runs, and for a release in progress its step and
/// when it began).
pub enum State {
    /// Neither record exists yet.
    New,
    /// All the weight on colour `live` (0 blue, 1 green).
    Live {
        /// The live colour.
        live: usize,
        /// The live colour's newest record, if greenlight wrote one.
        record: Option<Record>,
        /// The newest record of all, when it is a canary on the other
        /// colour: a release undone (its weights restored, a rollback killed
        /// before its record) or never split.
        undone: Option<Record>,
    },
    /// The weight is split: the release of `record.version` to colour `to`
    /// is in progress.
    Releasing {
        /// The colour receiving the weight.
        to: usize,
        /// Its canary record.
        record: Record,
        /// The weights are still those of the step before the record's (a
        /// crash between the record and the weights): the step is made
        /// again before anything else.
        behind: bool,
    },
    /// The weight is split for the release of `record.version` to colour
    /// `to`, but not as greenlight left it (weights changed by hand), or
    /// its record cannot be used. Nothing continues it; `rollback` puts all
    /// the weight back on the other colour; `status` reports it.
    Tampered {
        /// The colour receiving the weight.
        to: usize,
        /// Its canary record.
        record: Record,
        /// What is wrong, and the way out.
        problem: Error,
    },
}

/// Reads the split and both colours' aliases. Through a load balancer, a
/// target group whose target is not its colour's alias, or an alias the
/// load balancer may not invoke, is refused as the split is (exit 1).
pub async fn state<'a>(ctx: Ctx<'a>, colours: Colours<'a>) -> Result<(Option<Found<'a>>, State)> {
    let Some(mut found) = colours.read(ctx).await? else {
        return Ok((None, State::New));
    };
    if let Colours::Alb(config) = colours {
        alb::check(ctx, ctx.elbv2, config).await?;
    }
    let mut records = Vec::new();
    for i in 0..2 {
        let alias = ctx
            .lambda
            .alias(ctx.function(), colours.colour(i).alias)
            .await?;
        if let Some(alias) = alias {
            found.revisions[i] = alias.revision_id;
            if let Some(record) = Record::parse(&alias.description) {
                records.push((i, record));
            }
        }
    }
    // The newest record wins; in the same second, the later kind of action.
    let rank = |r: &Record| match r.action {
        Action::Create | Action::Pin => 0,
        Action::Canary => 1,
        Action::Release => 2,
        Action::Rollback => 3,
    };
    records.sort_by_key(|(_, r)| (r.time(), rank(r)));
    let weights = found.weights();
    let Some(total) = found.total() else {
        let (name, zone) = match colours {
            Colours::Dns(dns) => (&dns.name, &dns.zone_id),
            // Refused as it was read.
            Colours::Alb(_) => return Err(Error::no_traffic_moved("both weights are 0")),
        };
        return Err(Error::no_traffic_moved(format!(
            "both weighted records of {name} have weight 0, which Route 53 treats as an equal split: greenlight cannot tell which colour is live"
        ))
        .with_hint(format!(
            "in hosted zone {zone} give the colour users should be on weight 100 and the other 0, then run greenlight again"
        )));
    };
    let newest = records.last().cloned();
    let state = match weights {
        [_, 0] | [0, _] => {
            let live = usize::from(weights[0] == 0);
            // That colour's record tells how it got there (even if the
            // other's was written in the same second).
            let record = records
                .iter()
                .rev()
                .find(|(i, _)| *i == live)
                .or(records.last())
                .map(|(_, r)| r.clone());
            let undone = newest
                .filter(|(i, r)| *i != live && r.action == Action::Canary)
                .map(|(_, r)| r);
            State::Live {
                live,
                record,
                undone,
            }
        }
        // A split is a release in progress only if a canary record says so
        // (and no rollback of that release came after it), and the weights
        // are that record's step.
        _ => match records
            .iter()
            .rposition(|(_, r)| r.action == Action::Canary)
        {
            Some(at)
                if !records[at + 1..].iter().any(|(_, r)| {
                    r.action == Action::Rollback
                        && r.previous == Some(records[at].1.version.clone())
                }) =>
            {
                let (to, record) = records.swap_remove(at);
                split(colours, &found, total, to, record)
            }
            _ => {
                return Err(Error::no_traffic_moved(format!(
                    "{} splits its weight blue {}, green {}, but no greenlight release is in progress: it was changed outside greenlight",
                    colours.name(), weights[0], weights[1]
                ))
                .with_hint("put all the weight back on one colour, then release again"));
            }
        },
    };
    Ok((Some(found), state))
}

/// A split whose newest record is `record`, a canary on colour `to`: the
/// release in progress, one step behind it, or tampered with.
fn split(colours: Colours<'_>, found: &Found<'_>, total: i64, to: usize, record: Record) -> State {
    let tampered = |why: String| State::Tampered {
        to,
        problem: Error::no_traffic_moved(why).with_hint(format!(
            "`greenlight rollback` puts all the weight back on {}",
            colours.colour(1 - to).name
        )),
        record: record.clone(),
    };
    if let Some(problem) = record.problem(OffsetDateTime::now_utc()) {
        return tampered(format!(
            "{} holds a greenlight release record that cannot be used: {problem}",
            colours.colour(to).alias
        ));
    }
    let Some(canary) = &record.canary else {
        return tampered("the release record has no step".to_owned());
    };
    let weight_of = |step: usize| weights::step_weight(total, canary.plan.steps[step]);
    if let (Some(wrote), Some(now)) = (&record.shape, found.shape())
        && *wrote != now
    {
        return tampered(format!(
            "{} was changed outside greenlight during the release of version {}: its actions differ from those greenlight last wrote (fingerprint {now}, not {wrote})",
            colours.name(),
            record.version
        ));
    }
    let now = found.weights()[to];
    if now == weight_of(canary.step) {
        return State::Releasing {
            to,
            behind: false,
            record,
        };
    }
    if canary.step > 0 && now == weight_of(canary.step - 1) {
        return State::Releasing {
            to,
            behind: true,
            record,
        };
    }
    tampered(format!(
        "{} was changed outside greenlight during the release of version {}: {} has weight {now} of {total}, where step {} puts {}",
        colours.name(),
        record.version,
        colours.colour(to).name,
        canary.step + 1,
        weight_of(canary.step)
    ))
}

/// [`state`] for what moves or continues a release: a tampered pair is
/// an error (exit 1), which names the way out.
pub async fn moving<'a>(ctx: Ctx<'a>, colours: Colours<'a>) -> Result<(Option<Found<'a>>, State)> {
    match state(ctx, colours).await? {
        (_, State::Tampered { problem, .. }) => Err(problem),
        read => Ok(read),
    }
}

/// `config` with `function.alias` set to the alias users reach: the live
/// colour's (during a release, the colour the weight comes from; blue
/// before the records exist). What deploy, test and status look at.
pub async fn with_live_alias(config: &Config, ctx: Ctx<'_>) -> Result<Config> {
    let mut live = config.clone();
    if let Some(colours) = Colours::of(config) {
        let index = match state(ctx, colours).await?.1 {
            State::New => 0,
            State::Live { live, .. } => live,
            State::Releasing { to, .. } | State::Tampered { to, .. } => 1 - to,
        };
        colours
            .colour(index)
            .alias
            .clone_into(&mut live.function.alias);
    }
    Ok(live)
}

/// After a deploy: points the idle colour's alias at `version`, so it can be
/// tested through the idle endpoint before any DNS change. Its weight is 0,
/// so no user reaches it; the alias description is not a release record.
/// During a release in progress the idle colour is the one receiving weight,
/// so nothing is touched then.
pub async fn stage<'a>(ctx: Ctx<'a>, colours: Colours<'a>, version: &str) -> Result<()> {
    let State::Live { live, .. } = state(ctx, colours).await?.1 else {
        return Ok(());
    };
    let idle = colours.colour(1 - live);
    let staged = Aim {
        label: format!("{}, weight 0", idle.name),
        description: format!("greenlight: staged version {version} (no weight yet)"),
        keep_if_there: true,
        over: None,
    };
    aim(ctx, &idle, version, &staged).await
}

/// The version the live colour's alias serves: what users are on, and what
/// a rollback returns to. A missing alias is refused (exit 1) before
/// anything changes: there would be nothing to return to.
async fn live_version(ctx: Ctx<'_>, live: ColourRef<'_>) -> Result<String> {
    let serves = ctx.lambda.alias(ctx.function(), live.alias).await?;
    serves.map(|a| a.version).ok_or_else(|| {
        Error::no_traffic_moved(format!(
            "alias {} behind the live colour {} does not exist, so greenlight cannot tell which version users are on, nor return to it",
            live.alias, live.name
        ))
        .with_hint(format!(
            "create alias {} on the version {}'s endpoint serves (`aws lambda create-alias`), then release again",
            live.alias, live.name
        ))
    })
}

/// Releases `version` by moving the weight to the idle colour step by step:
/// with `wait` to the end, otherwise one move (`promote` does the rest).
pub async fn release<'a>(
    ctx: Ctx<'a>,
    colours: Colours<'a>,
    version: &str,
    wait: bool,
) -> Result<ReleaseReport> {
    release_of(ctx, colours, Candidate::Published(version), wait).await
}

/// Releases `candidate` ([`release()`]); in a dry run it may be the version
/// `ship` would deploy, before it exists.
pub async fn release_of<'a>(
    ctx: Ctx<'a>,
    colours: Colours<'a>,
    candidate: Candidate<'_>,
    wait: bool,
) -> Result<ReleaseReport> {
    let version = candidate
        .version()
        .unwrap_or(crate::release::dry_run::NEW_VERSION);
    let plan = ctx.config.release.plan.clone();
    let (found, state) = moving(ctx, colours).await?;
    let (mut found, (live, record)) = match (found, state) {
        (_, State::New) | (None, _) => {
            if !ctx.is_dry() {
                crate::deploy::ready::until_active(ctx, version).await?;
            }
            return match colours {
                Colours::Dns(dns) => first_release(ctx, dns, version).await,
                // A forward action always has weights.
                Colours::Alb(_) => Err(Error::no_traffic_moved(format!(
                    "{} has no weights to move",
                    colours.name()
                ))),
            };
        }
        (Some(found), State::Releasing { to, record, behind }) => {
            if !candidate.may_be(&record.version) {
                return Err(release::another_in_progress(
                    &record.version,
                    colours.name(),
                ));
            }
            let run = resume(ctx, found.router(ctx, to), &record).behind(behind);
            return engine::drive(run, wait).await;
        }
        (Some(found), State::Live { live, record, .. }) => (found, (live, record)),
        (Some(_), State::Tampered { problem, .. }) => return Err(problem),
    };
    let (from, to) = (colours.colour(live), colours.colour(1 - live));
    let mut stable = live_version(ctx, from).await?;
    if candidate.version() == Some(stable.as_str()) {
        return Ok(ReleaseReport {
            version: version.to_owned(),
            previous: Some(stable),
            plan: plan.to_string(),
            already_live: true,
            ..Default::default()
        });
    }
    refuse_if_judged(colours, from, record.as_ref(), candidate)?;
    release::refuse_if_alarms_stop(ctx, candidate).await?;
    if !ctx.is_dry() {
        crate::deploy::ready::until_active(ctx, version).await?;
    }
    // The live colour on `$LATEST` would make the way back whatever was
    // uploaded last: pin it first.
    if stable == pin::LATEST
        && let Some(pinned) = pin::pin(ctx, from.alias).await?
    {
        stable = pinned.version;
        found.revisions[live] = pinned.revision;
    }
    ctx.ui.step(format_args!(
        "releasing version {version} on {}: the weight moves from {} (version {stable})",
        to.name, from.name
    ));
    let settle = release::settle_of(ctx, version).await?;
    if !ctx.is_dry() {
        past_the_second_of(record.as_ref()).await;
    }
    let record = Record::canary(version, &stable, 0, &plan).with_settle(settle);
    point(ctx, &to, version, &record).await?;
    let router = found.router(ctx, 1 - live);
    let run = Run::start(ctx, router, version, &stable, plan)
        .with_settle(settle)
        .known_active(true);
    engine::begin(run, wait).await
}

/// The longest wait for the clock to pass the second of the record a new
/// release follows (see [`past_the_second_of`]).
const MAX_TIE_WAIT: Duration = Duration::from_secs(3);

/// Waits until the clock is past the whole second of `live`, the live
/// colour's newest record, so that the release's first record reads as
/// newer. [`state`] orders the records of the two colours by their
/// whole-second times: a release of version V in the same second as the
/// rollback of V (on the other colour) would read as that rollback coming
/// after it, and the release as a split made by hand. A record further
/// ahead than [`MAX_TIE_WAIT`] (another machine's clock) is not waited for.
async fn past_the_second_of(live: Option<&Record>) {
    let Some(at) = live.and_then(Record::time) else {
        return;
    };
    let Ok(next) = OffsetDateTime::from_unix_timestamp(at.unix_timestamp().saturating_add(1))
    else {
        return;
    };
    if let Ok(left) = Duration::try_from(next - OffsetDateTime::now_utc())
        && left <= MAX_TIE_WAIT
    {
        tokio::time::sleep(left).await;
    }
}

/// The finished release on the live colour `live` (its newest `record`)
/// whose last step's metrics are still judged as they settle, if there is
/// one. A record greenlight cannot use (a time in the future, say) is an
/// error (exit 1): nothing is computed from it.
fn still_judged(
    colours: Colours<'_>,
    live: ColourRef<'_>,
    record: Option<&Record>,
) -> Result<Option<Settling>> {
    let Some(record) = record.filter(|r| r.action == Action::Release) else {
        return Ok(None);
    };
    if let Some(problem) = record.problem(OffsetDateTime::now_utc()) {
        return Err(Error::no_traffic_moved(format!(
            "{} ({} of {}) holds a greenlight release record that cannot be used: {problem}",
            live.alias,
            live.name,
            colours.name()
        ))
        .with_hint("see `greenlight status`; release a version explicitly with `greenlight release --version N`"));
    }
    Ok(Settling::of(record).filter(|last| !last.left().is_zero()))
}

/// Refuses (exit 1) a new release while the finished release `record` on
/// the live colour is still judged ([`still_judged`]), unless `candidate`
/// may be that very version. A record whose settle window cannot be used
/// names nothing to judge (`promote` and `status` report it): the new
/// release writes its own.
fn refuse_if_judged(
    colours: Colours<'_>,
    live: ColourRef<'_>,
    record: Option<&Record>,
    candidate: Candidate<'_>,
) -> Result<()> {
    match (still_judged(colours, live, record).ok().flatten(), record) {
        (Some(last), Some(record)) if !candidate.may_be(&record.version) => Err(
            release::still_settling(&record.version, last.left(), colours.name()),
        ),
        _ => Ok(()),
    }
}

/// `ship`'s checks before it writes anything ([`release::preflight`]): no
/// release of another version in progress, no pair changed by hand, the
/// live colour's alias there, no watched alarm firing or missing. (The
/// records' shape was checked when the live colour was read.)
pub async fn preflight<'a>(
    ctx: Ctx<'a>,
    colours: Colours<'a>,
    candidate: Candidate<'_>,
) -> Result<()> {
    match moving(ctx, colours).await?.1 {
        State::Releasing { record, .. } if !candidate.may_be(&record.version) => {
            return Err(release::another_in_progress(
                &record.version,
                colours.name(),
            ));
        }
        State::Live { live, record, .. } => {
            live_version(ctx, colours.colour(live)).await?;
            refuse_if_judged(colours, colours.colour(live), record.as_ref(), candidate)?;
        }
        _ => {}
    }
    release::refuse_if_alarms_stop(ctx, candidate).await
}

/// Where the release on `colours` stands ([`Standing`]): the release in
/// progress (or one step behind its record), a split changed by hand
/// (`rollback` puts all the weight back on the colour it came from), or
/// all the weight on one colour.
pub async fn standing<'a>(ctx: Ctx<'a>, colours: Colours<'a>) -> Result<Standing<'a>> {
    Ok(match state(ctx, colours).await? {
        (Some(found), State::Releasing { to, record, behind }) => {
            let run = resume(ctx, found.router(ctx, to), &record).behind(behind);
            Standing::Releasing(Box::new(run))
        }
        (
            Some(found),
            State::Tampered {
                to,
                record,
                problem,
            },
        ) => Standing::Unexplained {
            problem,
            clear: Some(Undo::Restore {
                router: found.router(ctx, to),
                from: record.version,
                to: record.previous.unwrap_or_default(),
                undoing: Undoing::Split,
                idle: false,
            }),
        },
        (
            Some(found),
            State::Live {
                live,
                record,
                undone,
            },
        ) => {
            let router = found.router(ctx, live);
            Standing::Settled(settled(ctx, colours, router, live, record, undone).await?)
        }
        _ => Standing::Unreleased {
            why: nothing_to_roll_back(colours),
            said: false,
        },
    })
}

/// `rollback`'s error when `colours` hold no release of greenlight's.
fn nothing_to_roll_back(colours: Colours<'_>) -> Error {
    Error::no_traffic_moved(format!(
        "{} has no greenlight release to roll back",
        colours.name()
    ))
}

/// All the weight on colour `live` (`router` moving toward it), whose
/// newest record is `record`: the finished release whose last step is
/// still judged, and the way back from it, to the version before on the
/// other colour while that colour still serves it. `undone` when the
/// newest record of all is a canary on the other colour: the release was
/// undone (a rollback killed before its record) or never split.
async fn settled<'a>(
    ctx: Ctx<'a>,
    colours: Colours<'a>,
    router: AnyRouter<'a>,
    live: usize,
    record: Option<Record>,
    undone: Option<Record>,
) -> Result<Settled<'a>> {
    let back = colours.colour(1 - live);
    let previous = match &record {
        // A canary record with all the weight moved: the release finished
        // but its record was not written (a crash in between).
        Some(r) if matches!(r.action, Action::Release | Action::Canary) => r.previous.clone(),
        _ => None,
    };
    let serves = match &previous {
        Some(_) => (ctx.lambda.alias(ctx.function(), back.alias).await?).map(|a| a.version),
        None => None,
    };
    // Judged only while the old colour still serves the version a rollback
    // would return to (a deploy since may have staged another).
    let judged = still_judged(colours, colours.colour(live), record.as_ref()).map(|last| {
        let record = record
            .as_ref()
            .filter(|_| last.is_some() && serves == previous);
        record.map(|r| Box::new(resume(ctx, router.clone(), r)))
    });
    let back = match (undone, record, previous) {
        (Some(canary), ..) => Ok(Undo::Done(RollbackReport {
            from: canary.version,
            to: canary.previous.unwrap_or_default(),
            already_rolled_back: true,
        })),
        (None, Some(record), _)
            if record.action == Action::Rollback && record.previous.is_some() =>
        {
            Ok(Undo::Done(RollbackReport {
                from: record.previous.unwrap_or_default(),
                to: record.version,
                already_rolled_back: true,
            }))
        }
        (None, Some(_), Some(previous)) if !rollback::is_published(&previous) => {
            Err(rollback::unpublished_previous(
                &format!("{} ({})", colours.name(), back.name),
                &previous,
            ))
        }
        (None, Some(record), Some(previous)) if serves.as_ref() == Some(&previous) => {
            Ok(Undo::Restore {
                router,
                from: record.version,
                to: previous,
                undoing: Undoing::Last,
                idle: false,
            })
        }
        (None, Some(_), Some(previous)) => Err(Error::no_traffic_moved(format!(
            "alias {} ({}) no longer serves version {previous}, live before the last release",
            back.alias, back.name
        ))
        .with_hint(
            "release the version you want explicitly with `greenlight release --version N`",
        )),
        _ => Err(nothing_to_roll_back(colours)),
    };
    Ok(Settled { judged, back })
}

/// The first release: no records yet, so nobody resolves the name. Points
/// blue's alias at `version` and creates both records, all weight on blue.
async fn first_release(ctx: Ctx<'_>, dns: &DnsConfig, version: &str) -> Result<ReleaseReport> {
    let blue = &dns.colours[0];
    point(
        ctx,
        blue,
        version,
        &Record::now(Action::Release, version, None),
    )
    .await?;
    ctx.ui.step(format_args!(
        "creating the weighted records of {}: blue {TOTAL}, green 0",
        dns.name
    ));
    let planned = ctx.dry_write(
        "ChangeResourceRecordSets",
        format_args!(
            "create the weighted {} records of {}: blue {TOTAL}, green 0 (nobody resolves the name yet), then INSYNC",
            dns.record_type, dns.name
        ),
    );
    if planned {
        return Ok(ReleaseReport {
            version: version.to_owned(),
            moves: vec![100],
            ..Default::default()
        });
    }
    let change = ctx
        .dns
        .create(
            &record_name(dns),
            dns.ttl,
            [new_record(blue, TOTAL), new_record(&dns.colours[1], 0)],
            &format!("greenlight: version {version} on blue"),
        )
        .await?;
    ctx.dns.wait_insync(&change).await?;
    Ok(ReleaseReport {
        version: version.to_owned(),
        plan: "first release: records created, all on blue".to_owned(),
        moves: vec![100],
        ..Default::default()
    })
}
