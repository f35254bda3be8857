//! The DNS router: the split is the weights of a Route 53 weighted pair.
//!
//! Two weighted records with the same name and type, SetIdentifiers `blue`
//! and `green`, each in front of one Lambda alias ([`read`] checks that
//! shape). A release points the idle colour's alias at the new version,
//! then moves the weight to it. A step is two writes, the record on the
//! receiving colour's alias first, then the weights; the finish the other
//! way round, weights first, so that until all the weight has moved the
//! last canary record keeps saying a release is in progress. Every weight
//! write is conditional on the pair as last read or written (Route 53
//! refuses a batch whose DELETE differs), and before a step's record the
//! pair is read again: another runner's or a person's change stops the run
//! ([`Failure::Conflict`], exit 1). A write is in effect once Route 53 says
//! INSYNC (`Router::in_effect`) and resolvers' caches have expired
//! (`Router::caching`: the longer TTL of the two records).
//!
//! AWS calls: `ListResourceRecordSets`, `GetAlias`/`CreateAlias`/
//! `UpdateAlias` (the colours' aliases), `ChangeResourceRecordSets`,
//! `GetChange`.

use std::time::Duration;

use crate::aws::route53::{Dns, NewRecord, RecordName, WeightedRecord};
use crate::config::{Colour, DnsConfig};
use crate::context::Ctx;
use crate::error::{Error, Failure, Result};
use crate::record::{Action, Record};
use crate::release::routers::{
    Coloured, Place, Router, Split, TwoWrites, Why, colour_record, failed, planned_alias,
    planned_point, restore_failed, restored_on, serves_any, write_in_two,
};
use crate::release::weights;

/// The pair as Route 53 holds it, blue first.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The blue and green records.
    pub records: [WeightedRecord; 2],
}

impl Pair {
    /// The blue and green weights.
    pub fn weights(&self) -> [i64; 2] {
        [&self.records[0], &self.records[1]].map(|r| r.weight.unwrap_or(0))
    }
}

/// The pair's name as the Route 53 seam takes it.
pub fn record_name(dns: &DnsConfig) -> RecordName<'_> {
    RecordName {
        zone_id: &dns.zone_id,
        name: &dns.name,
        record_type: &dns.record_type,
    }
}

/// `colour`'s record as greenlight creates it, with `weight`.
pub fn new_record(colour: &Colour, weight: i64) -> NewRecord<'_> {
    NewRecord {
        set_identifier: colour.name,
        value: &colour.value,
        target_zone_id: colour.target_zone_id.as_deref(),
        weight,
    }
}

/// Reads the pair; `None` when neither record exists yet.
pub async fn read(dns_seam: &Dns, dns: &DnsConfig) -> Result<Option<Pair>> {
    let found = dns_seam.records(&record_name(dns)).await?;
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
    // Each record must point where the config says that colour is, or the
    // weights would send users to the other colour's version.
    for (record, colour) in [&blue, &green].into_iter().zip(&dns.colours) {
        if !same_host(&record.value, &colour.value) {
            let other = &dns.colours[usize::from(colour.name == "blue")];
            let swapped = if same_host(&record.value, &other.value) {
                format!(" ({}'s value: the records are swapped)", other.name)
            } else {
                String::new()
            };
            return Err(Error::no_traffic_moved(format!(
                "{} {}: the {} record points at {}{swapped}, but dns.{}.value is {}",
                dns.record_type, dns.name, colour.name, record.value, colour.name, colour.value
            ))
            .with_hint("make the records and the [dns] values agree, then run greenlight again"));
        }
    }
    Ok(Some(Pair {
        records: [blue, green],
    }))
}

/// Whether two DNS names (or CNAME targets) name the same host: case and a
/// trailing dot do not matter, nor Route 53's `dualstack.` prefix on load
/// balancer alias targets.
fn same_host(a: &str, b: &str) -> bool {
    let plain = |name: &str| {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name.strip_prefix("dualstack.")
            .map(str::to_owned)
            .unwrap_or(name)
    };
    plain(a) == plain(b)
}

/// Points `colour`'s alias at `version` (creating it), writing `record`.
pub async fn point(
    ctx: Ctx<'_>,
    colour: &impl Coloured,
    version: &str,
    record: &Record,
) -> Result<()> {
    let how = Aim {
        label: colour.name().to_owned(),
        description: record.to_string(),
        keep_if_there: false,
        over: None,
    };
    aim(ctx, colour, version, &how).await
}

/// Points `colour`'s alias back at `stable`, recording the rollback of
/// `failed`, only over `revision` when given (the alias as read with the
/// split): of two rollbacks at once, the second finds it changed
/// (`Failure::Conflict`), and then the first's rollback done
/// (`restored_on`).
pub async fn record_rollback(
    ctx: Ctx<'_>,
    colour: &impl Coloured,
    stable: &str,
    failed: &str,
    revision: Option<&str>,
) -> Result<()> {
    let how = Aim {
        label: colour.name().to_owned(),
        description: Record::now(Action::Rollback, stable, Some(failed)).to_string(),
        keep_if_there: false,
        over: revision.map(str::to_owned),
    };
    aim(ctx, colour, stable, &how).await
}

/// How [`aim`] writes an alias.
pub struct Aim {
    /// How the colour is named in progress lines, e.g. "blue, weight 0".
    pub label: String,
    /// The alias description to write.
    pub description: String,
    /// Leave the alias alone when it already serves the version.
    pub keep_if_there: bool,
    /// Write only over this `RevisionId` (rather than the one read now).
    pub over: Option<String>,
}

/// Points `colour`'s alias at `version`, creating it when missing.
pub async fn aim(ctx: Ctx<'_>, colour: &impl Coloured, version: &str, how: &Aim) -> Result<()> {
    let name = ctx.function();
    let current = ctx.lambda.alias(name, colour.alias()).await?;
    // In a dry run, as this plan left it.
    let planned = planned_alias(ctx, colour.alias());
    let serves = planned.or_else(|| current.as_ref().map(|c| c.version.clone()));
    if how.keep_if_there && serves.as_deref() == Some(version) {
        return Ok(());
    }
    let call = match serves {
        Some(_) => "UpdateAlias",
        None => "CreateAlias",
    };
    if planned_point(
        ctx,
        call,
        (colour.alias(), &how.label),
        version,
        &how.description,
    ) {
        return Ok(());
    }
    match current {
        Some(current) => {
            if current.version != version {
                ctx.ui.step(format_args!(
                    "pointing alias {} ({}) at version {version}",
                    colour.alias(),
                    how.label
                ));
            }
            ctx.lambda
                .point_alias(
                    name,
                    colour.alias(),
                    version,
                    None,
                    &how.description,
                    how.over.as_deref().or(current.revision_id.as_deref()),
                )
                .await
                .map(|_| ())
        }
        None => {
            ctx.ui.step(format_args!(
                "creating alias {} ({}) on version {version}",
                colour.alias(),
                how.label
            ));
            ctx.lambda
                .create_alias(name, colour.alias(), version, &how.description)
                .await
        }
    }
}

/// The sum of the weights a release through `pair` keeps. (A total of 0
/// is refused when the pair is read; a small total is rescaled.)
pub fn total(pair: &Pair) -> i64 {
    weights::working_total(pair.weights().iter().sum()).unwrap_or(100)
}

/// A release's split on the weighted pair, moving toward one colour.
#[derive(Clone)]
pub struct DnsRouter<'a> {
    ctx: Ctx<'a>,
    dns: &'a DnsConfig,
    /// The pair as last read or written: the condition of the next write.
    pair: Pair,
    /// The colour receiving the weight (0 blue, 1 green).
    to: usize,
    /// The sum of the weights, the same before, during and after.
    total: i64,
    /// How long resolvers may cache either record.
    ttl: Duration,
    /// The last weight change, until it is INSYNC.
    change: Option<String>,
    /// The other colour's alias `RevisionId` as read with the pair: the
    /// condition of the restore's rollback record.
    back: Option<String>,
}

impl<'a> DnsRouter<'a> {
    /// The router of a shift toward colour `to` of `dns`, over `pair` as
    /// read with the other colour's alias at `back`.
    pub fn new(
        ctx: Ctx<'a>,
        dns: &'a DnsConfig,
        pair: Pair,
        to: usize,
        back: Option<String>,
    ) -> Self {
        let total = total(&pair);
        // Resolvers may cache either record: wait out the longer TTL.
        let ttl = pair
            .records
            .iter()
            .map(|r| r.ttl.unwrap_or(dns.ttl))
            .max()
            .unwrap_or(dns.ttl)
            .max(0);
        DnsRouter {
            ctx,
            dns,
            pair,
            to,
            total,
            ttl: Duration::from_secs(u64::try_from(ttl).unwrap_or(0)),
            change: None,
            back,
        }
    }
}

impl TwoWrites for DnsRouter<'_> {
    /// Fails (exit 1, writing nothing) when the pair is no longer as this
    /// run last wrote or read it: another runner or a person moved it. (The
    /// weight write itself is conditional too, see [`Dns::set_weights`].)
    async fn unchanged(&self) -> Result<()> {
        let now = read(self.ctx.dns, self.dns).await?;
        if now.is_some_and(|pair| pair.weights() == self.pair.weights()) {
            return Ok(());
        }
        Err(crate::aws::route53::changed_meanwhile(&self.dns.name))
    }

    /// Writes `record` on the receiving colour's alias; a failure other
    /// than a conflict says so.
    async fn record(&mut self, version: &str, record: &Record) -> Result<()> {
        point(self.ctx, &self.dns.colours[self.to], version, record)
            .await
            .map_err(|e| failed("recording the step", e))
    }

    /// Sets `new` on the receiving colour and the rest on the other.
    async fn set(&mut self, new: i64, what: &str) -> Result<()> {
        let (to, from) = (&self.pair.records[self.to], &self.pair.records[1 - self.to]);
        self.ctx.ui.step(format_args!(
            "setting weights: {} {new}, {} {} ({what})",
            to.set_identifier,
            from.set_identifier,
            self.total - new
        ));
        if self.ctx.dry_write(
            "ChangeResourceRecordSets",
            format_args!(
                "{}: {} {new}, {} {} ({what}), then INSYNC and the TTL ({})",
                self.dns.name,
                to.set_identifier,
                from.set_identifier,
                self.total - new,
                humantime::format_duration(self.ttl)
            ),
        ) {
            return Ok(());
        }
        let (change, now) = self
            .ctx
            .dns
            .set_weights(
                &record_name(self.dns),
                &[(to, new), (from, self.total - new)],
                &format!("greenlight: {what}"),
            )
            .await
            .map_err(|e| failed("changing the weights", e))?;
        // The pair as it is now, for the next conditional write.
        for record in now {
            let i = usize::from(record.set_identifier != self.pair.records[0].set_identifier);
            self.pair.records[i] = record;
        }
        self.change = Some(change);
        Ok(())
    }

    fn total(&self) -> i64 {
        self.total
    }

    fn receiving(&self) -> &'static str {
        self.dns.colours[self.to].name
    }
}

impl Router for DnsRouter<'_> {
    fn place(&self) -> Place {
        Place {
            name: self.dns.name.clone(),
            via: self.dns.colours[self.to].alias.clone(),
            stable_via: self.dns.colours[1 - self.to].alias.clone(),
            route: Some(format!(
                "{} → {} by DNS",
                self.dns.colours[1 - self.to].name,
                self.dns.colours[self.to].name
            )),
        }
    }

    async fn serves(&self, version: &str) -> Result<bool> {
        let Some(pair) = read(self.ctx.dns, self.dns).await? else {
            return Ok(false);
        };
        let aliases = self.dns.colours.iter().map(|c| c.alias.as_str());
        serves_any(self.ctx, aliases.zip(pair.weights()), version).await
    }

    async fn write(&mut self, split: Split<'_>, record: &Record) -> Result<()> {
        write_in_two(self, split, record).await
    }

    async fn in_effect(&mut self) -> Result<()> {
        match self.change.take() {
            Some(change) => self.ctx.dns.wait_insync(&change).await,
            None => Ok(()),
        }
    }

    fn caching(&self) -> Duration {
        self.ttl
    }

    async fn restore(&mut self, stable: &str, failed: &str, why: Why<'_>) -> Result<()> {
        let why = why.to_string();
        let (to, from) = (&self.dns.colours[self.to], &self.dns.colours[1 - self.to]);
        self.ctx.ui.step(format_args!(
            "{why}; putting all the weight back on {} (version {stable})",
            from.name
        ));
        let records = [
            (&self.pair.records[1 - self.to], self.total),
            (&self.pair.records[self.to], 0),
        ];
        let planned = self.ctx.dry_write(
            "ChangeResourceRecordSets",
            format_args!(
                "{}: {} {}, {} 0 (all the weight back on version {stable}), then INSYNC",
                self.dns.name, from.name, self.total, to.name
            ),
        );
        let restored = async {
            if !planned {
                match self
                    .ctx
                    .dns
                    .set_weights(&record_name(self.dns), &records, "greenlight: rollback")
                    .await
                {
                    Ok((change, _)) => self.ctx.dns.wait_insync(&change).await?,
                    // Someone else changed the pair; if they put all the
                    // weight back on the old colour, only the record is left
                    // (another rollback's, if it was one, takes the lock).
                    Err(e) if e.failure == Failure::Conflict => {
                        match read(self.ctx.dns, self.dns).await? {
                            Some(pair) if pair.weights()[self.to] == 0 => {}
                            _ => return Err(e),
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            record_rollback(self.ctx, from, stable, failed, self.back.as_deref()).await
        };
        restored.await.map_err(|e| {
            let hint = format!(
                "run `greenlight rollback -c {}` again, or in Route 53 zone {} set the {} {} weights to {} {} and {} 0",
                self.ctx.config.path.display(),
                self.dns.zone_id,
                self.dns.record_type,
                self.dns.name,
                from.name,
                self.total,
                to.name
);
            restore_failed(e, &why, &self.dns.name, to.name, failed, hint)
        })
    }

    async fn restored_by_another(&self, stable: &str, failed: &str) -> bool {
        let Ok(Some(pair)) = read(self.ctx.dns, self.dns).await else {
            return false;
        };
        let back = &self.dns.colours[1 - self.to];
        pair.weights()[self.to] == 0 && restored_on(self.ctx, &back.alias, stable, failed).await
    }

    /// The pair must still hold the weights this run last wrote, and the
    /// receiving colour's alias `split.version` alone. (Each record write
    /// is made over the alias's `RevisionId` as read just before it: there
    /// is no condition to take.)
    async fn reread_record(
        &mut self,
        split: Split<'_>,
        take: &dyn Fn(&Record) -> bool,
    ) -> Result<Option<Record>> {
        let now = read(self.ctx.dns, self.dns).await?;
        if now.is_none_or(|pair| pair.weights() != self.pair.weights()) {
            return Ok(None);
        }
        let alias = &self.dns.colours[self.to].alias;
        let found = colour_record(self.ctx, alias, split.version, take).await?;
        Ok(found.map(|(record, _)| record))
    }
}
