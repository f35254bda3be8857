//! `status`: what is live and what was deployed, read from AWS.
//!
//! In: the function and alias names. Out: a [`StatusReport`]. AWS calls:
//! `GetFunctionConfiguration($LATEST)`, `GetAlias`, `DescribeAlarms`,
//! `ListVersionsByFunction` (with `release.candidate`, that alias's
//! `GetAlias` at the same time); during a release whose step has waited
//! its bake, the gates' reads `promote` would make (`DescribeAlarms`,
//! `GetMetricData`), so what it says `promote` does next is what `promote`
//! would do. The command also checks what invokes the
//! unqualified function ([`crate::deploy::triggers`]), alongside.
//! Read-only; safe to repeat.

use std::collections::BTreeMap;

use crate::aws::cloudwatch::AlarmState;
use crate::checks::candidate::CandidateState;
use crate::checks::gates;
use crate::context::Ctx;
use crate::error::Result;
use crate::record::Record;
use crate::release::clock::{Settling, whole_seconds};
use crate::release::engine::InProgress;
use crate::release::reading;

/// How many of the newest versions status lists.
pub const RECENT_VERSIONS: usize = 5;

/// What is live and what was deployed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatusReport {
    /// False when the function does not exist yet.
    pub exists: bool,
    /// Where the alias points, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveState>,
    /// A release in progress on the alias, with what `promote` would do next
    /// (decided as `promote` decides it: once a step's wait is over, from
    /// the gates' reads, so a step `promote` would hold is said to hold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<InProgress>,
    /// Why the alias state cannot be read as a greenlight release, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The watched alarms and their states.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<AlarmState>,
    /// The newest published versions, newest first.
    pub versions: Vec<VersionSummary>,
    /// After a finished release with metric gates: seconds its last canary
    /// step's metrics are still judged (`promote` judges them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_left_secs: Option<u64>,
    /// With `[dns]`: both colours (record value and weight, alias, version).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub colours: Vec<ColourState>,
    /// With `release.candidate`: that alias and the version it points at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate: Option<CandidateState>,
}

/// One colour of a DNS release.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColourState {
    /// `blue` or `green`.
    pub colour: String,
    /// What its record points at.
    pub value: String,
    /// Its record's weight; `None` before the records exist.
    pub weight: Option<i64>,
    /// The Lambda alias behind it.
    pub alias: String,
    /// The version that alias serves, if it exists.
    pub version: Option<String>,
}

/// The alias and the release that put it there.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LiveState {
    /// The version taking the main share of traffic.
    pub version: String,
    /// Extra versions with their share of traffic (0.0 to 1.0).
    pub weights: BTreeMap<String, f64>,
    /// greenlight's record of the last move, when greenlight made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
}

/// One published version.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VersionSummary {
    /// The version number.
    pub version: String,
    /// Base64 SHA-256 of its code.
    pub code_sha256: String,
    /// When it was last modified, as Lambda reports it.
    pub last_modified: String,
    /// Where it came from, as its description says (none when it holds no provenance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::deploy::provenance::Provenance>,
}

/// Reads the function's live state and recent versions.
pub async fn status(ctx: Ctx<'_>) -> Result<StatusReport> {
    let (name, alias) = (ctx.function(), ctx.alias());
    if ctx.lambda.function(name, "$LATEST").await?.is_none() {
        return Ok(StatusReport {
            exists: false,
            live: None,
            in_progress: None,
            problem: None,
            alarms: Vec::new(),
            versions: Vec::new(),
            colours: Vec::new(),
            settle_left_secs: None,
            candidate: None,
        });
    }
    let alias_state = ctx.lambda.alias(name, alias).await?;
    // In DNS mode a colour's alias carries no weights: the split is in
    // Route 53, and `colours` reports it.
    let (in_progress, problem) = match (crate::release::dns::Colours::of(ctx.config), &alias_state)
    {
        (Some(colours), _) => {
            reading::position(crate::release::dns::standing(ctx, colours).await).await
        }
        (None, Some(alias)) => reading::position(Ok(reading::of_alias(ctx, alias))).await,
        (None, None) => (None, None),
    };
    let problem = problem.map(explained).or_else(|| {
        alias_state
            .as_ref()
            .filter(|a| a.version == crate::deploy::pin::LATEST)
            .map(|_| format!(
                "alias {alias} serves $LATEST, unpublished code that any upload changes for its users at once; the next deploy, ship or release pins it to a version of what it serves first"
            ))
    });
    let live = alias_state.map(|a| LiveState {
        record: Record::parse(&a.description),
        version: a.version,
        weights: a.weights,
    });
    let settle_left_secs = live
        .as_ref()
        .and_then(|l| l.record.as_ref())
        .and_then(Settling::of)
        .map(|last| whole_seconds(last.left()))
        .filter(|left| *left > 0);
    // Version-scoped alarms are those of the version being released, if any.
    let releasing = live
        .as_ref()
        .and_then(|l| l.record.as_ref())
        .filter(|r| r.action == crate::record::Action::Canary)
        .map(|r| r.version.clone());
    let alarms = gates::alarms(ctx, releasing.as_deref()).await?;
    let (versions, candidate) = tokio::try_join!(
        ctx.lambda.versions(name),
        crate::checks::candidate::state(ctx)
    )?;
    let versions = versions
        .into_iter()
        .rev()
        .take(RECENT_VERSIONS)
        .map(|v| VersionSummary {
            provenance: crate::deploy::provenance::Provenance::of_version(&v.description),
            version: v.version,
            code_sha256: v.code_sha256,
            last_modified: v.last_modified,
        })
        .collect();
    Ok(StatusReport {
        exists: true,
        live,
        in_progress,
        problem,
        alarms,
        versions,
        colours: colours(ctx).await?,
        settle_left_secs,
        candidate,
    })
}

/// An error as a status problem: the message, with the hint when there is one.
fn explained(e: crate::error::Error) -> String {
    match e.hint {
        Some(hint) => format!("{} ({hint})", e.message),
        None => e.message,
    }
}

/// Both colours, in DNS mode or through a load balancer (none when the
/// split cannot be read: the problem says why). A colour's `value` is what
/// its record points at, or its target group.
async fn colours(ctx: Ctx<'_>) -> Result<Vec<ColourState>> {
    // Each colour's name, alias, value and weight.
    let found: Vec<(&str, &str, String, Option<i64>)> = if let Some(dns) = &ctx.config.dns {
        let Ok(pair) = crate::release::routers::dns::read(ctx.dns, dns).await else {
            return Ok(Vec::new());
        };
        let records = pair.as_ref().map(|p| &p.records);
        dns.colours
            .iter()
            .enumerate()
            .map(|(i, colour)| {
                let record = records.map(|r| &r[i]);
                (
                    colour.name,
                    colour.alias.as_str(),
                    record.map_or_else(|| colour.value.clone(), |r| r.value.clone()),
                    record.and_then(|r| r.weight),
                )
            })
            .collect()
    } else if let Some(alb) = &ctx.config.alb {
        use crate::release::routers::alb::{read, weights_in};
        let Ok(weights) = read(ctx.elbv2, alb)
            .await
            .and_then(|list| weights_in(&list, alb))
        else {
            return Ok(Vec::new());
        };
        alb.colours
            .iter()
            .zip(weights)
            .map(|(colour, weight)| {
                (
                    colour.name,
                    colour.alias.as_str(),
                    colour.target_group_arn.clone(),
                    Some(i64::from(weight)),
                )
            })
            .collect()
    } else {
        return Ok(Vec::new());
    };
    let mut colours = Vec::new();
    for (name, alias, value, weight) in found {
        let version = ctx
            .lambda
            .alias(ctx.function(), alias)
            .await?
            .map(|a| a.version);
        colours.push(ColourState {
            colour: name.to_owned(),
            value,
            weight,
            alias: alias.to_owned(),
            version,
        });
    }
    Ok(colours)
}
