//! Blue/green releases by Route 53 weighted records (`[dns]`).
//!
//! Two weighted records with the same name and type, SetIdentifiers `blue`
//! and `green`, each in front of one Lambda alias. The live colour carries
//! all the weight; a release points the idle colour's alias at the new
//! version (no traffic: its weight is 0), then moves the weight to it
//! through the `[release]` steps (step % of a total of 100). After each
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

use crate::config::{Colour, Config, DnsConfig};
use crate::error::{Error, Failure, Result};
use crate::gates;
use crate::interrupt::Interrupts;
use crate::progress;
use crate::record::{Action, Record};
use crate::release::ReleaseReport;
use crate::route53::{Dns, WeightedRecord};
use crate::ui::Ctx;

/// The sum of the two weights greenlight sets (Route 53 allows 0 to 255 each).
const TOTAL: i64 = 100;

/// The pair as Route 53 holds it, blue first.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The blue and green records.
    pub records: [WeightedRecord; 2],
}

impl Pair {
    /// The colour with all the weight (0 blue, 1 green).
    pub fn live(&self, dns: &DnsConfig) -> Result<usize> {
        let weights = self.records.clone().map(|r| r.weight.unwrap_or(0));
        match weights {
            [w, 0] if w > 0 => Ok(0),
            [0, w] if w > 0 => Ok(1),
            _ => Err(Error::no_traffic_moved(format!(
                "{} splits its weight {}/{} between blue and green, so neither colour is live",
                dns.name, weights[0], weights[1]
            ))
            .with_hint("put all the weight on one colour (a release in progress is continued by `greenlight release` once it is finished or undone)")),
        }
    }

    fn weights(&self) -> [i64; 2] {
        self.records.clone().map(|r| r.weight.unwrap_or(0))
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

/// `config` with `function.alias` set to the live colour's alias (blue
/// before the records exist): what deploy, test and status look at.
pub async fn with_live_alias(config: &Config, dns_seam: &Dns) -> Result<Config> {
    let mut live = config.clone();
    if let Some(dns) = &config.dns {
        let index = match read(dns_seam, dns).await? {
            Some(pair) => pair.live(dns)?,
            None => 0,
        };
        live.function.alias = dns.colours[index].alias.clone();
    }
    Ok(live)
}

/// Releases `version` by moving all the weight to the idle colour, step by
/// step, to the end of the plan.
pub async fn release(ctx: Ctx<'_>, dns: &DnsConfig, version: &str) -> Result<ReleaseReport> {
    let dns_seam = ctx.dns;
    let plan = &ctx.config.release.plan;
    let Some(pair) = read(dns_seam, dns).await? else {
        return first_release(ctx, dns, version).await;
    };
    let live = pair.live(dns)?;
    let (from, to) = (&dns.colours[live], &dns.colours[1 - live]);
    let stable = ctx
        .lambda
        .alias(ctx.function(), &from.alias)
        .await?
        .map(|a| a.version)
        .unwrap_or_default();
    if stable == version {
        return Ok(ReleaseReport {
            version: version.to_owned(),
            previous: Some(stable),
            plan: format!("{} (DNS)", plan),
            already_live: true,
            ..Default::default()
        });
    }
    if let Some(firing) = gates::alarms(ctx).await?.into_iter().find(|a| a.is_alarm()) {
        return Err(Error::no_traffic_moved(format!(
            "alarm {} is already in ALARM before the release, so the new version's health could not be judged",
            firing.name
        ))
        .with_cause(firing.reason)
        .with_hint("wait until it is OK, or remove it from release.alarms if it does not watch this function"));
    }
    point(ctx, to, version, &stable).await?;

    let before = pair.weights();
    let mut report = ReleaseReport {
        version: version.to_owned(),
        previous: Some(stable.clone()),
        plan: format!("{plan}, {} → {} by DNS", from.name, to.name),
        ..Default::default()
    };
    ctx.ui.step(format_args!(
        "releasing version {version} on {}: weight moves from {} (version {stable})",
        to.name, from.name
    ));
    let mut run = Shift {
        ctx,
        dns_seam,
        dns,
        pair: &pair,
        live,
        interrupts: Interrupts::catch(),
        ttl: Duration::from_secs(pair.records[1 - live].ttl.unwrap_or(dns.ttl).max(0) as u64),
    };
    let steps: Vec<u8> = plan.steps.iter().copied().chain([100]).collect();
    for (k, percent) in steps.iter().enumerate() {
        let last = k + 1 == steps.len();
        let outcome = run.step(*percent, &to.alias).await;
        let outcome = match outcome {
            Ok(()) if !last => run.bake(plan.bake, &to.alias).await,
            other => other,
        };
        match outcome {
            Ok(()) => report.moves.push(*percent),
            Err(why) => {
                run.restore(before, &why).await?;
                report.rolled_back = Some(why);
                return Ok(report);
            }
        }
    }
    Ok(report)
}

/// The first release: no records yet, so nobody resolves the name. Points
/// blue's alias at `version` and creates both records, all weight on blue.
async fn first_release(ctx: Ctx<'_>, dns: &DnsConfig, version: &str) -> Result<ReleaseReport> {
    let dns_seam = ctx.dns;
    let blue = &dns.colours[0];
    point(ctx, blue, version, "").await?;
    ctx.ui.step(format_args!(
        "creating the weighted records of {}: blue {}, green 0",
        dns.name, TOTAL
    ));
    let change = dns_seam
        .create(
            dns,
            [TOTAL, 0],
            &format!("greenlight: version {version} on blue"),
        )
        .await?;
    dns_seam.wait_insync(&change).await?;
    Ok(ReleaseReport {
        version: version.to_owned(),
        plan: "first release: records created on blue".to_owned(),
        moves: vec![100],
        ..Default::default()
    })
}

/// Points `colour`'s alias at `version` (creating it), recording the release.
async fn point(ctx: Ctx<'_>, colour: &Colour, version: &str, stable: &str) -> Result<()> {
    let name = ctx.function();
    let record = Record::now(
        Action::Release,
        version,
        Some(stable).filter(|s| !s.is_empty()),
    );
    match ctx.lambda.alias(name, &colour.alias).await? {
        Some(current) if current.version == version && current.weights.is_empty() => Ok(()),
        Some(current) => {
            ctx.ui.step(format_args!(
                "pointing alias {} ({}) at version {version}",
                colour.alias, colour.name
            ));
            ctx.lambda
                .point_alias(
                    name,
                    &colour.alias,
                    version,
                    None,
                    &record.to_string(),
                    current.revision_id.as_deref(),
                )
                .await
                .map(|_| ())
        }
        None => {
            ctx.ui.step(format_args!(
                "creating alias {} ({}) on version {version}",
                colour.alias, colour.name
            ));
            ctx.lambda
                .create_alias(name, &colour.alias, version, &record.to_string())
                .await
        }
    }
}

/// Why a shift must be undone: a red gate, a failed write, an interrupt.
type Stop = String;

/// A weight shift in progress.
struct Shift<'a> {
    ctx: Ctx<'a>,
    dns_seam: &'a Dns,
    dns: &'a DnsConfig,
    pair: &'a Pair,
    live: usize,
    interrupts: Interrupts,
    ttl: Duration,
}

impl Shift<'_> {
    /// Sets `percent` of the weight on the new colour, waits until Route 53
    /// is INSYNC and the TTL has passed, then checks the gates.
    async fn step(&mut self, percent: u8, alias: &str) -> std::result::Result<(), Stop> {
        let new = i64::from(percent) * TOTAL / 100;
        let (old_record, new_record) = (
            &self.pair.records[self.live],
            &self.pair.records[1 - self.live],
        );
        self.ctx.ui.step(format_args!(
            "setting weights: {} {new}, {} {}",
            new_record.set_identifier,
            old_record.set_identifier,
            TOTAL - new
        ));
        let change = self
            .dns_seam
            .set_weights(
                self.dns,
                &[(new_record, new), (old_record, TOTAL - new)],
                &format!("greenlight: {percent} % on {}", new_record.set_identifier),
            )
            .await
            .map_err(|e| format!("changing the weights failed: {}", e.message))?;
        let busy = self.ctx.ui.spinner("waiting for Route 53 to be INSYNC");
        let synced = tokio::select! {
            synced = self.dns_seam.wait_insync(&change) => synced,
            signal = self.interrupts.recv() => return Err(format!("interrupted by {signal}")),
        };
        drop(busy);
        synced.map_err(|e| e.message)?;
        let ttl = self.ttl;
        self.pause(ttl).await?;
        self.check(alias).await
    }

    /// Holds the split for `bake`, checking the gates meanwhile.
    async fn bake(&mut self, bake: Duration, alias: &str) -> std::result::Result<(), Stop> {
        let ends = tokio::time::Instant::now() + bake;
        let _bar = self.ctx.ui.countdown("baking", bake);
        loop {
            let left = ends.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.pause(progress::check_interval(bake).min(left)).await?;
            self.check(alias).await?;
        }
    }

    async fn pause(&mut self, length: Duration) -> std::result::Result<(), Stop> {
        tokio::select! {
            () = tokio::time::sleep(length) => Ok(()),
            signal = self.interrupts.recv() => Err(format!("interrupted by {signal}")),
        }
    }

    async fn check(&mut self, alias: &str) -> std::result::Result<(), Stop> {
        let mut config = self.ctx.config.clone();
        config.function.alias = alias.to_owned();
        let ctx = Ctx {
            config: &config,
            ..self.ctx
        };
        match gates::check(ctx).await {
            Ok(check) => match check.failure() {
                Some(why) => Err(why),
                None => Ok(()),
            },
            Err(e) => Err(format!("the gates could not be checked: {}", e.message)),
        }
    }

    /// Puts the weights back exactly as they were before the release.
    async fn restore(&self, before: [i64; 2], why: &str) -> Result<()> {
        self.ctx.ui.step(format_args!(
            "{why}; putting the weights back (blue {}, green {})",
            before[0], before[1]
        ));
        let [blue, green] = &self.pair.records;
        let restored = async {
            let change = self
                .dns_seam
                .set_weights(
                    self.dns,
                    &[(blue, before[0]), (green, before[1])],
                    "greenlight: rollback",
                )
                .await?;
            self.dns_seam.wait_insync(&change).await
        };
        restored.await.map_err(|e| Error {
            failure: Failure::NeedsOperator,
            message: format!(
                "rollback failed after {why}: {} may still send traffic to the new colour; the weights were blue {}, green {} before",
                self.dns.name, before[0], before[1]
            ),
            cause: Some(e.message),
            hint: Some(format!(
                "restore them now: in Route 53 zone {}, set the weights of {} {} to blue {} and green {}",
                self.dns.zone_id, self.dns.record_type, self.dns.name, before[0], before[1]
            )),
        })
    }
}
