//! Blue/green releases by Route 53 weighted records (`[dns]`).
//!
//! Two weighted records with the same name and type, SetIdentifiers `blue`
//! and `green`, each in front of one Lambda alias. The live colour carries
//! all the weight; a release points the idle colour's alias at the new
//! version (no traffic: its weight is 0), then moves the weight to it
//! through the `[release]` steps (step % of the total, see [`crate::weights`]). After each
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
//! AWS calls: `ListResourceRecordSets`, `GetAlias`/`CreateAlias`/`UpdateAlias`
//! for the idle colour, `DescribeAlarms`, then per step
//! `ChangeResourceRecordSets` and `GetChange` until INSYNC.

use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::{Settling, StepClock, whole_seconds};
use crate::config::{Colour, Config, DnsConfig};
use crate::dry_run::DryRun;
use crate::error::{Error, Failure, Result};
use crate::gates;
use crate::interrupt::Interrupts;
use crate::lockstep::{self, Halt};
use crate::metrics::{Canary, Provisioned};
use crate::pin;
use crate::plan::Plan;
use crate::progress;
use crate::progress::InProgress;
use crate::record::{Action, Record};
use crate::release::{self, Candidate, ReleaseReport};
use crate::rollback::RollbackReport;
use crate::route53::{Dns, WeightedRecord};
use crate::ui::Ctx;
use crate::unexpected;
use crate::weights;

/// The sum of the two weights greenlight sets (Route 53 allows 0 to 255 each).
const TOTAL: i64 = 100;

/// The pair as Route 53 holds it, blue first.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The blue and green records.
    pub records: [WeightedRecord; 2],
}

impl Pair {
    fn weights(&self) -> [i64; 2] {
        [&self.records[0], &self.records[1]].map(|r| r.weight.unwrap_or(0))
    }
}

/// Reads the pair; `None` when neither record exists yet.
pub async fn read(dns_seam: &Dns, dns: &DnsConfig) -> Result<Option<Pair>> {
    let found = dns_seam.records(dns).await?;
    if found.is_empty() {
        return Ok(None);
    }
    let pick = |colour: &str| found.iter().find(|r| r.set_identifier == colour).cloned();
    let problem = |why: String| {
        Error::no_traffic_moved(format!("{} {}: {why}", dns.record_type, dns.name)).with_hint(
            "greenlight needs two weighted records with SetIdentifiers blue and green (or neither, and it creates them)",
        )
    };
    if let Some(other) = found
        .iter()
        .find(|r| r.set_identifier != "blue" && r.set_identifier != "green")
    {
        let id = if other.set_identifier.is_empty() {
            "a record without a SetIdentifier (not weighted)".to_owned()
        } else {
            format!("a record with SetIdentifier {:?}", other.set_identifier)
        };
        return Err(problem(format!("the zone holds {id}")));
    }
    let (Some(blue), Some(green)) = (pick("blue"), pick("green")) else {
        let missing = if pick("blue").is_none() {
            "blue"
        } else {
            "green"
        };
        return Err(problem(format!("the {missing} record does not exist")));
    };
    if let Some((managed, policy)) = [&blue, &green]
        .into_iter()
        .find_map(|r| Some((r, r.traffic_policy()?)))
    {
        return Err(problem(format!(
            "the {} record is managed by traffic policy instance {policy}: changing its weight would take it out of the policy",
            managed.set_identifier
        )));
    }
    if let Some(unweighted) = [&blue, &green].into_iter().find(|r| r.weight.is_none()) {
        return Err(problem(format!(
            "the {} record is not weighted",
            unweighted.set_identifier
        )));
    }
    Ok(Some(Pair {
        records: [blue, green],
    }))
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
        /// The newest record, if greenlight wrote one.
        record: Option<Record>,
    },
    /// The weight is split: the release of `record.version` to colour `to`
    /// is in progress.
    Releasing {
        /// The colour receiving the weight.
        to: usize,
        /// Its canary record.
        record: Record,
    },
}

/// Reads the records and both colours' aliases.
pub async fn state(ctx: Ctx<'_>, dns: &DnsConfig) -> Result<(Option<Pair>, State)> {
    let Some(pair) = read(ctx.dns, dns).await? else {
        return Ok((None, State::New));
    };
    let mut records = Vec::new();
    for (i, colour) in dns.colours.iter().enumerate() {
        if let Some(alias) = ctx.lambda.alias(ctx.function(), &colour.alias).await?
            && let Some(record) = Record::parse(&alias.description)
        {
            records.push((i, record));
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
    let weights = pair.weights();
    if weights::working_total(weights[0] + weights[1]).is_none() {
        return Err(Error::no_traffic_moved(format!(
            "both weighted records of {} have weight 0, which Route 53 treats as an equal split: greenlight cannot tell which colour is live",
            dns.name
        ))
        .with_hint(format!(
            "in hosted zone {} give the colour users should be on weight 100 and the other 0, then run greenlight again",
            dns.zone_id
        )));
    }
    // With all the weight on one colour, that colour's record tells how it
    // got there (even if the other's was written in the same second).
    let live_record = |live: usize, mut records: Vec<(usize, Record)>| {
        let at = records
            .iter()
            .rposition(|(i, _)| *i == live)
            .or(records.len().checked_sub(1))?;
        Some(records.swap_remove(at).1)
    };
    let state = match weights {
        [w, 0] if w > 0 => State::Live {
            live: 0,
            record: live_record(0, records),
        },
        [0, w] if w > 0 => State::Live {
            live: 1,
            record: live_record(1, records),
        },
        // A split is a release in progress only if a canary record says so.
        _ => match records
            .into_iter()
            .rfind(|(_, r)| r.action == Action::Canary)
        {
            Some((to, record)) => State::Releasing { to, record },
            None => {
                return Err(Error::no_traffic_moved(format!(
                    "{} splits its weight blue {}, green {}, but no greenlight release is in progress: it was changed outside greenlight",
                    dns.name, weights[0], weights[1]
                ))
                .with_hint("put all the weight back on one colour, then release again"));
            }
        },
    };
    Ok((Some(pair), state))
}

/// `config` with `function.alias` set to the alias users reach: the live
/// colour's (during a release, the colour the weight comes from; blue
/// before the records exist). What deploy, test and status look at.
pub async fn with_live_alias(config: &Config, ctx: Ctx<'_>) -> Result<Config> {
    let mut live = config.clone();
    if let Some(dns) = &config.dns {
        let index = match state(ctx, dns).await?.1 {
            State::New => 0,
            State::Live { live, .. } => live,
            State::Releasing { to, .. } => 1 - to,
        };
        live.function.alias = dns.colours[index].alias.clone();
    }
    Ok(live)
}

/// After a deploy: points the idle colour's alias at `version`, so it can be
/// tested through the idle endpoint before any DNS change. Its weight is 0,
/// so no user reaches it; the alias description is not a release record.
/// During a release in progress the idle colour is the one receiving weight,
/// so nothing is touched then.
pub async fn stage(ctx: Ctx<'_>, dns: &DnsConfig, version: &str) -> Result<()> {
    let State::Live { live, .. } = state(ctx, dns).await?.1 else {
        return Ok(());
    };
    let idle = &dns.colours[1 - live];
    let staged = Aim {
        label: format!("{}, weight 0", idle.name),
        description: format!("greenlight: staged version {version} (no weight yet)"),
        keep_if_there: true,
    };
    aim(ctx, idle, version, &staged).await
}

/// Releases `version` by moving the weight to the idle colour step by step:
/// with `wait` to the end, otherwise one move (`promote` does the rest).
pub async fn release(
    ctx: Ctx<'_>,
    dns: &DnsConfig,
    version: &str,
    wait: bool,
) -> Result<ReleaseReport> {
    let plan = ctx.config.release.plan.clone();
    let (pair, state) = state(ctx, dns).await?;
    let (pair, live) = match (pair, state) {
        (_, State::New) | (None, _) => return first_release(ctx, dns, version).await,
        (Some(pair), State::Releasing { to, record }) => {
            if record.version != version {
                return Err(release::another_in_progress(&record.version, &dns.name));
            }
            let run = Shift::resume(ctx, dns, pair, to, &record)?;
            return run.drive(wait).await;
        }
        (Some(pair), State::Live { live, .. }) => (pair, live),
    };
    let (from, to) = (&dns.colours[live], &dns.colours[1 - live]);
    let mut stable = ctx
        .lambda
        .alias(ctx.function(), &from.alias)
        .await?
        .map(|a| a.version)
        .unwrap_or_default();
    if stable == version {
        return Ok(ReleaseReport {
            version: version.to_owned(),
            previous: Some(stable),
            plan: plan.to_string(),
            already_live: true,
            ..Default::default()
        });
    }
    gates::refuse_if_firing(ctx, Some(version)).await?;
    // The live colour on `$LATEST` would make the way back whatever was
    // uploaded last: pin it first.
    if stable == pin::LATEST
        && let Some(pinned) = pin::pin(ctx, &from.alias).await?
    {
        stable = pinned.version;
    }
    ctx.ui.step(format_args!(
        "releasing version {version} on {}: the weight moves from {} (version {stable})",
        to.name, from.name
    ));
    let settle = crate::metrics::settle_for(ctx, version).await?;
    let record = Record::canary(version, &stable, 0, &plan).with_settle(settle);
    point(ctx, to, version, &record).await?;
    let mut run = Shift::resume(ctx, dns, pair, 1 - live, &record)?;
    run.step = None;
    run.drive(wait).await
}

/// `ship`'s checks before it writes anything ([`release::preflight`]): no
/// release of another version in progress, no watched alarm firing or
/// missing. (The records' shape was checked when the live colour was read.)
pub async fn preflight(ctx: Ctx<'_>, dns: &DnsConfig, candidate: Candidate<'_>) -> Result<()> {
    if let (_, State::Releasing { record, .. }) = state(ctx, dns).await?
        && !candidate.may_be(&record.version)
    {
        return Err(release::another_in_progress(&record.version, &dns.name));
    }
    gates::refuse_if_firing(ctx, None).await
}

/// `promote` in DNS mode: one step of the release in progress, if any.
pub async fn promote(ctx: Ctx<'_>, dns: &DnsConfig) -> Result<Option<ReleaseReport>> {
    match state(ctx, dns).await? {
        (Some(pair), State::Releasing { to, record }) => {
            let run = Shift::resume(ctx, dns, pair, to, &record)?;
            run.drive(false).await.map(Some)
        }
        // A finished release whose last step's metrics are still settling.
        (
            Some(pair),
            State::Live {
                live,
                record: Some(record),
            },
        ) if record.action == Action::Release
            && Settling::of(&record).is_some_and(|last| !last.left().is_zero()) =>
        {
            // Judged only while the old colour still serves the version a
            // rollback would return to (a deploy since may have staged another).
            let back = &dns.colours[1 - live];
            let serves = ctx.lambda.alias(ctx.function(), &back.alias).await?;
            if serves.map(|a| a.version) != record.previous {
                return Ok(None);
            }
            let run = Shift::resume(ctx, dns, pair, live, &record)?;
            run.drive(false).await.map(Some)
        }
        _ => Ok(None),
    }
}

/// `rollback` in DNS mode: stop a release in progress, or put the weight
/// back on the colour live before the last release.
pub async fn rollback(ctx: Ctx<'_>, dns: &DnsConfig) -> Result<RollbackReport> {
    let (pair, state) = state(ctx, dns).await?;
    let nothing = || {
        Error::no_traffic_moved(format!(
            "{} has no greenlight release to roll back",
            dns.name
        ))
    };
    let (Some(pair), state) = (pair, state) else {
        return Err(nothing());
    };
    match state {
        State::New => Err(nothing()),
        State::Releasing { to, record } => {
            let run = Shift::resume(ctx, dns, pair, to, &record)?;
            run.restore("rollback requested").await?;
            Ok(RollbackReport {
                from: record.version,
                to: run.stable,
                already_rolled_back: false,
            })
        }
        State::Live { record: None, .. } => Err(nothing()),
        State::Live {
            live,
            record: Some(record),
        } => match (&record.action, &record.previous) {
            (Action::Rollback, Some(from)) => Ok(RollbackReport {
                from: from.clone(),
                to: record.version,
                already_rolled_back: true,
            }),
            // A canary record with all the weight moved: the release
            // finished but its record was not written (a crash in between).
            (Action::Release | Action::Canary, Some(previous)) => {
                let back = &dns.colours[1 - live];
                if !crate::rollback::is_published(previous) {
                    let place = format!("{} ({})", dns.name, back.name);
                    return Err(crate::rollback::unpublished_previous(&place, previous));
                }
                let serves = ctx
                    .lambda
                    .alias(ctx.function(), &back.alias)
                    .await?
                    .map(|a| a.version);
                if serves.as_deref() != Some(previous.as_str()) {
                    return Err(Error::no_traffic_moved(format!(
                        "alias {} ({}) no longer serves version {previous}, live before the last release",
                        back.alias, back.name
                    ))
                    .with_hint("release the version you want explicitly with `greenlight release --version N`"));
                }
                let run = Shift::resume(ctx, dns, pair, live, &record)?;
                run.restore("rollback requested").await?;
                Ok(RollbackReport {
                    from: record.version,
                    to: previous.clone(),
                    already_rolled_back: false,
                })
            }
            _ => Err(nothing()),
        },
    }
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
    let change = ctx
        .dns
        .create(
            dns,
            [TOTAL, 0],
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

/// Points `colour`'s alias at `version` (creating it), writing `record`.
async fn point(ctx: Ctx<'_>, colour: &Colour, version: &str, record: &Record) -> Result<()> {
    let how = Aim {
        label: colour.name.to_owned(),
        description: record.to_string(),
        keep_if_there: false,
    };
    aim(ctx, colour, version, &how).await
}

/// How [`aim`] writes an alias.
struct Aim {
    /// How the colour is named in progress lines, e.g. "blue, weight 0".
    label: String,
    /// The alias description to write.
    description: String,
    /// Leave the alias alone when it already serves the version.
    keep_if_there: bool,
}

/// Points `colour`'s alias at `version`, creating it when missing.
async fn aim(ctx: Ctx<'_>, colour: &Colour, version: &str, how: &Aim) -> Result<()> {
    let name = ctx.function();
    match ctx.lambda.alias(name, &colour.alias).await? {
        Some(current) if how.keep_if_there && current.version == version => Ok(()),
        Some(current) => {
            if current.version != version {
                ctx.ui.step(format_args!(
                    "pointing alias {} ({}) at version {version}",
                    colour.alias, how.label
                ));
            }
            ctx.lambda
                .point_alias(
                    name,
                    &colour.alias,
                    version,
                    None,
                    &how.description,
                    current.revision_id.as_deref(),
                )
                .await
                .map(|_| ())
        }
        None => {
            ctx.ui.step(format_args!(
                "creating alias {} ({}) on version {version}",
                colour.alias, how.label
            ));
            ctx.lambda
                .create_alias(name, &colour.alias, version, &how.description)
                .await
        }
    }
}

/// Why a shift must be undone: a red gate, a failed write, an interrupt.
type Stop = String;

/// A weight shift toward colour `to`.
struct Shift<'a> {
    ctx: Ctx<'a>,
    dns: &'a DnsConfig,
    pair: Pair,
    to: usize,
    version: String,
    stable: String,
    plan: Plan,
    /// The step reached (an index into the plan's steps); `None` before the
    /// first move and after the last.
    step: Option<usize>,
    /// When that step began (after the last: when all the weight moved).
    since: OffsetDateTime,
    /// How long each step's metrics settle after its bake.
    settle: Duration,
    /// After the last move: the last step's window, judged as it settles.
    settling: Option<Settling>,
    /// The sum of the weights, the same before, during and after.
    total: i64,
    interrupts: Option<Interrupts>,
    ttl: Duration,
    /// Why the metrics could not judge the new version at the last check.
    held: Option<String>,
    /// The colours' aliases' provisioned concurrency, read once in this run.
    provisioned: Provisioned,
}

impl<'a> Shift<'a> {
    /// The shift `record` (a canary record on colour `to`) describes.
    fn resume(
        ctx: Ctx<'a>,
        dns: &'a DnsConfig,
        pair: Pair,
        to: usize,
        record: &Record,
    ) -> Result<Shift<'a>> {
        let settling = Settling::of(record);
        let (step, plan, settle) = match &record.canary {
            Some(c) => (Some(c.step), c.plan.clone(), c.settle),
            None => (
                None,
                ctx.config.release.plan.clone(),
                settling.map_or(Duration::ZERO, |s| s.settle),
            ),
        };
        // Refused at 0 when the state was read; a small total is rescaled.
        let total = weights::working_total(pair.weights().iter().sum()).unwrap_or(100);
        let ttl = pair.records[to].ttl.unwrap_or(dns.ttl).max(0);
        Ok(Shift {
            ctx,
            dns,
            total,
            to,
            version: record.version.clone(),
            stable: record.previous.clone().unwrap_or_default(),
            plan,
            step,
            since: record.time().unwrap_or_else(OffsetDateTime::now_utc),
            settle,
            settling,
            interrupts: None,
            ttl: Duration::from_secs(u64::try_from(ttl).unwrap_or(0)),
            held: None,
            provisioned: Provisioned::default(),
            pair,
        })
    }

    /// Moves step by step; with `wait` to the end, otherwise until it has
    /// made one move or found the current bake unfinished. A panic on the
    /// way still ends in the rollback path ([`unexpected::end_release`]).
    async fn drive(self, wait: bool) -> Result<ReleaseReport> {
        let (ctx, dns, version) = (self.ctx, self.dns, self.version.clone());
        match unexpected::catching(self.steps(wait)).await {
            Ok(done) => done,
            Err(panic) => {
                // Traffic moved if the weight is split for this release, or
                // all of it is on a colour serving this version.
                let moved = match state(ctx, dns).await {
                    Ok((_, State::Releasing { record, .. })) => record.version == version,
                    Ok((_, State::Live { live, .. })) => {
                        let alias = &dns.colours[live].alias;
                        match ctx.lambda.alias(ctx.function(), alias).await {
                            Ok(serves) => serves.is_some_and(|a| a.version == version),
                            Err(_) => true,
                        }
                    }
                    Ok((_, State::New)) => false,
                    // Unknown: assume the worst.
                    Err(_) => true,
                };
                Err(
                    unexpected::end_release(&panic, &version, &dns.name, moved, rollback(ctx, dns))
                        .await,
                )
            }
        }
    }

    async fn steps(mut self, wait: bool) -> Result<ReleaseReport> {
        let mut report = ReleaseReport {
            version: self.version.clone(),
            previous: Some(self.stable.clone()),
            plan: format!(
                "{}, {} → {} by DNS",
                self.plan,
                self.dns.colours[1 - self.to].name,
                self.dns.colours[self.to].name
            ),
            ..Default::default()
        };
        let mut moved = false;
        loop {
            if let (None, Some(last)) = (self.step, self.settling) {
                // Finished: the last step's metrics are judged as they settle.
                if let Err(why) = self.check().await {
                    self.restore(&why).await?;
                    report.rolled_back = Some(why);
                    return Ok(report);
                }
                let left = last.left();
                if left.is_zero() || !wait {
                    report.settle_left_secs = Some(whole_seconds(left)).filter(|s| *s > 0);
                    return Ok(report);
                }
                let _bar = self
                    .ctx
                    .ui
                    .countdown("judging the last step's metrics as they settle", left);
                if let Err(why) = self
                    .pause(progress::check_interval(self.plan.bake).min(left))
                    .await
                {
                    self.restore(&why).await?;
                    report.rolled_back = Some(why);
                    return Ok(report);
                }
                continue;
            }
            if self.step.is_some() {
                // A step is under way: its gates, then its bake and settle.
                if let Err(why) = self.check().await {
                    self.restore(&why).await?;
                    report.rolled_back = Some(why);
                    return Ok(report);
                }
                let left = self.clock().wait_left();
                if !left.is_zero() && !wait {
                    report.in_progress = Some(self.position());
                    return Ok(report);
                }
                if !left.is_zero() {
                    if let Err(why) = self.bake(left).await {
                        self.restore(&why).await?;
                        report.rolled_back = Some(why);
                        return Ok(report);
                    }
                    continue;
                }
                if let Some(why) = self.held.clone() {
                    // The bake is over, but the metrics cannot judge yet.
                    let max_hold = self.ctx.config.release.metrics.max_hold;
                    if !wait || self.clock().hold_is_over(max_hold) {
                        report.in_progress = Some(self.position());
                        return Ok(report);
                    }
                    self.ctx.ui.detail(format_args!("holding: {why}"));
                    if let Err(why) = self.pause(progress::check_interval(self.plan.bake)).await {
                        self.restore(&why).await?;
                        report.rolled_back = Some(why);
                        return Ok(report);
                    }
                    continue;
                }
            }
            if moved && !wait {
                report.in_progress = Some(self.position());
                return Ok(report);
            }
            let next = self.step.map_or(0, |s| s + 1);
            match self.fleet_turn(next).await {
                Ok(()) => {}
                Err(Halt::Pause(why)) => {
                    self.ctx.ui.step(format_args!("not moving: {why}"));
                    report.in_progress = Some(self.position());
                    return Ok(report);
                }
                Err(Halt::RollBack(why)) => {
                    self.restore(&why).await?;
                    if self.step.is_none() {
                        return Err(lockstep::not_released(&self.version, &why));
                    }
                    report.rolled_back = Some(why);
                    return Ok(report);
                }
            }
            let percent = self.plan.steps.get(next).copied().unwrap_or(100);
            if let Err(why) = self.move_to(next).await {
                self.restore(&why).await?;
                report.rolled_back = Some(why);
                return Ok(report);
            }
            moved = true;
            report.moves.push(percent);
            if percent == 100 && self.settling.is_none() {
                if let Err(why) = self.check().await {
                    self.restore(&why).await?;
                    report.rolled_back = Some(why);
                }
                return Ok(report);
            }
        }
    }

    /// Moves to step `next`: writes its record, then sets the weights and
    /// waits for INSYNC and the TTL. Past the last step it finishes the
    /// other way round, weights first: until all the weight has moved, the
    /// last canary record keeps saying a release is in progress, so a fault
    /// or a crash in between leaves a split that `promote` and `rollback`
    /// both recognise.
    async fn move_to(&mut self, next: usize) -> std::result::Result<(), Stop> {
        let finished = next >= self.plan.steps.len();
        // The last step's window, judged after the finish as it settles.
        let last = self.step.map(|_| self.clock().window().0);
        let percent = self.plan.steps.get(next).copied().unwrap_or(100);
        let new = if finished {
            self.total
        } else {
            self.record(next, None).await?;
            weights::step_weight(self.total, percent)
        };
        let what = format!("{percent} % on {}", self.dns.colours[self.to].name);
        self.set(new, &what).await?;
        self.step = (!finished).then_some(next);
        self.since = OffsetDateTime::now_utc();
        if finished {
            let record = self.record(next, last).await?;
            self.settling = Settling::of(&record);
        }
        Ok(())
    }

    /// Writes the record of step `next` on the receiving colour's alias;
    /// past the last step, that of the finished release, whose last step
    /// (its window from `last`) is still judged as its metrics settle.
    async fn record(
        &self,
        next: usize,
        last: Option<OffsetDateTime>,
    ) -> std::result::Result<Record, Stop> {
        let record = if next < self.plan.steps.len() {
            Record::canary(&self.version, &self.stable, next, &self.plan).with_settle(self.settle)
        } else {
            let record = Record::now(Action::Release, &self.version, Some(&self.stable));
            match last {
                Some(from) => record.settling(from, self.settle),
                None => record,
            }
        };
        point(self.ctx, &self.dns.colours[self.to], &self.version, &record)
            .await
            .map_err(|e| format!("recording the step failed: {}", e.message))?;
        Ok(record)
    }

    /// Sets `new` on the receiving colour and the rest on the other, then
    /// waits until Route 53 is INSYNC and the record's TTL has passed.
    async fn set(&mut self, new: i64, what: &str) -> std::result::Result<(), Stop> {
        let (to, from) = (&self.pair.records[self.to], &self.pair.records[1 - self.to]);
        self.ctx.ui.step(format_args!(
            "setting weights: {} {new}, {} {} ({what})",
            to.set_identifier,
            from.set_identifier,
            self.total - new
        ));
        let change = self
            .ctx
            .dns
            .set_weights(
                self.dns,
                &[(to, new), (from, self.total - new)],
                &format!("greenlight: {what}"),
            )
            .await
            .map_err(|e| format!("changing the weights failed: {}", e.message))?;
        let busy = self.ctx.ui.spinner("waiting for Route 53 to be INSYNC");
        let synced = tokio::select! {
            synced = self.ctx.dns.wait_insync(&change) => synced,
            signal = self.interrupts.get_or_insert_with(Interrupts::catch).recv() => {
                return Err(format!("interrupted by {signal}"));
            }
        };
        drop(busy);
        synced.map_err(|e| e.message)?;
        let ttl = self.ttl;
        self.pause(ttl).await
    }

    /// The current step's clock: its bake, then its metrics' settle time.
    fn clock(&self) -> StepClock {
        StepClock {
            since: self.since,
            bake: self.plan.bake,
            settle: self.settle,
            carries: self.step.is_some_and(|k| k > 0),
        }
    }

    /// Holds the split for `left` (the bake, then the settle), checking the
    /// gates meanwhile.
    async fn bake(&mut self, left: Duration) -> std::result::Result<(), Stop> {
        let _bar = self.ctx.ui.countdown("baking", left);
        // `left` is bounded by the bake; checked all the same (never a panic).
        let ends = tokio::time::Instant::now().checked_add(left);
        loop {
            let left = ends.map_or(left, |ends| {
                ends.saturating_duration_since(tokio::time::Instant::now())
            });
            if left.is_zero() {
                return Ok(());
            }
            self.pause(progress::check_interval(self.plan.bake).min(left))
                .await?;
            self.check().await?;
        }
    }

    async fn pause(&mut self, length: Duration) -> std::result::Result<(), Stop> {
        progress::pause(&mut self.interrupts, self.ctx, length).await
    }

    /// With `[release] together`: waits, watching the gates once a step is
    /// under way, until every function is ready for move `next`.
    async fn fleet_turn(&mut self, next: usize) -> std::result::Result<(), Halt> {
        let (fleet, ui) = (self.ctx.fleet, self.ctx.ui);
        let interval = progress::check_interval(self.plan.bake);
        lockstep::await_turn(fleet, next, ui, async || {
            if let Err(why) = self.pause(interval).await {
                return Some(why);
            }
            if self.step.is_some() {
                self.check().await.err()
            } else {
                None
            }
        })
        .await
    }

    /// The gates, with the smoke tests through the receiving colour's alias.
    async fn check(&mut self) -> std::result::Result<(), Stop> {
        let mut config = self.ctx.config.clone();
        config.function.alias = self.dns.colours[self.to].alias.clone();
        let ctx = Ctx {
            config: &config,
            ..self.ctx
        };
        let window = match (self.step, self.settling) {
            (Some(_), _) => Some(self.clock().window()),
            (None, Some(last)) if !last.left().is_zero() => Some((last.from, Some(last.at))),
            (None, _) => None,
        };
        let canary = window.map(|(since, until)| Canary {
            version: &self.version,
            via: &self.dns.colours[self.to].alias,
            stable: &self.stable,
            stable_via: &self.dns.colours[1 - self.to].alias,
            since,
            until,
            provisioned: &self.provisioned,
        });
        match gates::check(ctx, &self.version, canary.as_ref()).await {
            Ok(check) => {
                self.held = check.held().map(str::to_owned);
                check.failure().map_or(Ok(()), Err)
            }
            Err(e) => Err(format!("the gates could not be checked: {}", e.message)),
        }
    }

    /// Where the release stands, for a run that leaves it in progress.
    fn position(&self) -> InProgress {
        progress::standing(
            &self.plan,
            self.step.unwrap_or(0),
            &self.clock(),
            self.held.as_deref(),
        )
    }

    /// Puts all the weight back on the colour it came from, as it was before
    /// the release, and records the rollback there.
    async fn restore(&self, why: &str) -> Result<()> {
        let (to, from) = (&self.dns.colours[self.to], &self.dns.colours[1 - self.to]);
        self.ctx.ui.step(format_args!(
            "{why}; putting all the weight back on {} (version {})",
            from.name, self.stable
        ));
        let records = [
            (&self.pair.records[1 - self.to], self.total),
            (&self.pair.records[self.to], 0),
        ];
        let restored = async {
            let change = self
                .ctx
                .dns
                .set_weights(self.dns, &records, "greenlight: rollback")
                .await?;
            self.ctx.dns.wait_insync(&change).await?;
            let record = Record::now(Action::Rollback, &self.stable, Some(&self.version));
            point(self.ctx, from, &self.stable, &record).await
        };
        restored.await.map_err(|e| Error {
            failure: Failure::NeedsOperator,
            message: format!(
                "rollback failed after {why}: {} may still send traffic to {} (version {})",
                self.dns.name, to.name, self.version
            ),
            cause: Some(e.message),
            hint: Some(format!(
                "run `greenlight rollback -c {}` again, or in Route 53 zone {} set the {} {} weights to {} {} and {} 0",
                self.ctx.config.path.display(),
                self.dns.zone_id,
                self.dns.record_type,
                self.dns.name,
                from.name,
                self.total,
                to.name
            )),
        })
    }
}

/// `deploy`'s part in a DNS dry run: the idle colour's alias on the new version.
pub async fn plan_stage(
    ctx: Ctx<'_>,
    dns: &DnsConfig,
    label: &str,
    plan: &mut DryRun,
) -> Result<()> {
    if let State::Live { live, .. } = state(ctx, dns).await?.1 {
        let idle = &dns.colours[1 - live];
        let exists = ctx
            .lambda
            .alias(ctx.function(), &idle.alias)
            .await?
            .is_some();
        plan.write(
            if exists { "UpdateAlias" } else { "CreateAlias" },
            format_args!("alias {} ({}, weight 0) → {label}", idle.alias, idle.name),
        );
    }
    Ok(())
}

/// `release --dry-run` in DNS mode.
pub async fn plan_release(
    ctx: Ctx<'_>,
    dns: &DnsConfig,
    version: Option<&str>,
    label: &str,
    wait: bool,
    plan: &mut DryRun,
) -> Result<()> {
    match state(ctx, dns).await? {
        (None, _) | (_, State::New) => {
            let blue = &dns.colours[0];
            plan.write(
                "CreateAlias",
                format_args!(
                    "alias {} (blue) on {label}, or UpdateAlias if it exists",
                    blue.alias
                ),
            );
            plan.write(
                "ChangeResourceRecordSets",
                format_args!("create the weighted {} records of {}: blue {TOTAL}, green 0 (nobody resolves the name yet)", dns.record_type, dns.name),
            );
        }
        (Some(pair), State::Releasing { to, record }) => {
            if version.is_some_and(|v| v != record.version) {
                return Err(release::another_in_progress(&record.version, &dns.name));
            }
            let run = Shift::resume(ctx, dns, pair, to, &record)?;
            run.plan_rest(wait, plan);
        }
        (Some(pair), State::Live { live, .. }) => {
            let from = &dns.colours[live];
            let stable = ctx
                .lambda
                .alias(ctx.function(), &from.alias)
                .await?
                .map(|a| a.version)
                .unwrap_or_default();
            if version == Some(stable.as_str()) {
                plan.then(format_args!(
                    "{} ({}) already serves {label}: nothing to release",
                    from.alias, from.name
                ));
                return Ok(());
            }
            if stable == pin::LATEST {
                pin::plan(ctx, &from.alias, plan).await?;
            }
            let to = &dns.colours[1 - live];
            plan.write(
                "UpdateAlias",
                format_args!(
                    "alias {} ({}) → {label}, with the release record",
                    to.alias, to.name
                ),
            );
            let record = Record::canary(
                version.unwrap_or(label),
                &stable,
                0,
                &ctx.config.release.plan,
            )
            .with_settle(crate::dry_run::settle(ctx));
            let mut run = Shift::resume(ctx, dns, pair, 1 - live, &record)?;
            run.step = None;
            run.plan_rest(wait, plan);
        }
    }
    Ok(())
}

/// `promote --dry-run` in DNS mode.
pub async fn plan_promote(ctx: Ctx<'_>, dns: &DnsConfig, plan: &mut DryRun) -> Result<()> {
    match state(ctx, dns).await? {
        (Some(pair), State::Releasing { to, record }) => {
            Shift::resume(ctx, dns, pair, to, &record)?.plan_rest(false, plan);
        }
        _ => plan.then("no release in progress: nothing to promote"),
    }
    Ok(())
}

/// `rollback --dry-run` in DNS mode.
pub async fn plan_rollback(ctx: Ctx<'_>, dns: &DnsConfig, plan: &mut DryRun) -> Result<()> {
    let (pair, state) = state(ctx, dns).await?;
    let (
        Some(pair),
        State::Releasing { to, record }
        | State::Live {
            live: to,
            record: Some(record),
        },
    ) = (pair, state)
    else {
        plan.then(format_args!(
            "{} has no greenlight release to roll back",
            dns.name
        ));
        return Ok(());
    };
    if record.action == Action::Rollback {
        plan.then("already rolled back: nothing to do");
        return Ok(());
    }
    let run = Shift::resume(ctx, dns, pair, to, &record)?;
    let from = &dns.colours[1 - to];
    plan.write(
        "ChangeResourceRecordSets",
        format_args!(
            "{}: {} {}, {} 0 (all the weight back on version {})",
            dns.name, from.name, run.total, dns.colours[to].name, run.stable
        ),
    );
    plan.write(
        "UpdateAlias",
        format_args!("alias {} ({}): the rollback record", from.alias, from.name),
    );
    Ok(())
}

impl Shift<'_> {
    /// The moves left, for a dry run: with `wait` all, otherwise what one
    /// run makes now (none while the bake lasts).
    fn plan_rest(&self, wait: bool, plan: &mut DryRun) {
        let (to, from) = (&self.dns.colours[self.to], &self.dns.colours[1 - self.to]);
        let bake = crate::clock::describe(self.plan.bake, self.settle);
        let mut next = 0;
        if let Some(step) = self.step {
            next = step + 1;
            plan.then(format_args!(
                "gates checked first; red puts all the weight back on {}",
                from.name
            ));
            let left = self.clock().wait_left();
            if !left.is_zero() {
                plan.then(format_args!(
                    "step {} of {} {} {} more{}",
                    step + 1,
                    self.plan.steps.len(),
                    self.clock().waiting(),
                    humantime::format_duration(Duration::from_secs(left.as_secs())),
                    if wait { "" } else { ": nothing moves now" }
                ));
                if !wait {
                    return;
                }
            }
        }
        for (k, percent) in self.plan.steps.iter().enumerate().skip(next) {
            plan.write(
                "UpdateAlias",
                format_args!(
                    "alias {} ({}): the record of step {}",
                    to.alias,
                    to.name,
                    k + 1
                ),
            );
            let new = weights::step_weight(self.total, *percent);
            plan.write(
                "ChangeResourceRecordSets",
                format_args!(
                    "{}: {} {new}, {} {} ({percent} %), then INSYNC and the TTL",
                    self.dns.name,
                    to.name,
                    from.name,
                    self.total - new
                ),
            );
            if !wait {
                plan.then(format_args!(
                    "then exit; `greenlight promote` continues after a {bake} bake with green gates"
                ));
                return;
            }
            plan.then(format_args!("bake {bake}, checking the gates"));
        }
        plan.write(
            "ChangeResourceRecordSets",
            format_args!(
                "{}: {} {}, {} 0 (all the weight), then INSYNC",
                self.dns.name, to.name, self.total, from.name
            ),
        );
        plan.write(
            "UpdateAlias",
            format_args!(
                "alias {} ({}): the release record, then the gates once more",
                to.alias, to.name
            ),
        );
        crate::dry_run::settled_after(self.settle, plan);
    }
}
