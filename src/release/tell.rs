//! Telling `[[notify]]` what happened to a release ([`crate::notify`]).
//!
//! The engine calls [`tell`] right after the write that made a state
//! change: a move (`started`, `step`, `released`) after its conditional
//! write won, so only the runner whose write won tells it; a rollback
//! after its restore (`rolled_back`), or after the restore failed
//! (`rollback_failed`); a hold after the record write that marks it
//! (`held`), an approval after the record write that holds it
//! (`approved`). The notice's facts come from AWS: one
//! `GetFunctionConfiguration` of the version (its ARN names the region and
//! account, its description holds the commit and run URL), made only when
//! an entry hears of the event.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::notify::Event;
use crate::config::plan::Plan;
use crate::context::Ctx;
use crate::deploy::provenance::Provenance;
use crate::notify::Notice;

/// One state change of a release, as the engine knows it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// What happened.
    pub event: Event,
    /// The version under release.
    pub version: &'a str,
    /// The stable version.
    pub stable: &'a str,
    /// The step it is on (an index into the plan's steps), while in progress.
    pub step: Option<usize>,
    /// The release's plan, when it has steps.
    pub plan: Option<&'a Plan>,
    /// The share on `version` after the change, in percent.
    pub percent: u8,
    /// Why (a hold, a rollback).
    pub reason: Option<&'a str>,
}

/// Tells every entry that hears of `change.event` about it; a failure is
/// a warning only ([`crate::notify::Notifier::send`]).
pub async fn tell(ctx: Ctx<'_>, change: Change<'_>) {
    if !ctx.notify.wants(change.event) {
        return;
    }
    let state = ctx
        .lambda
        .function(ctx.function(), change.version)
        .await
        .ok()
        .flatten();
    let arn: Vec<String> = state
        .as_ref()
        .map(|s| s.arn.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    let provenance = state
        .as_ref()
        .and_then(|s| Provenance::parse(&s.description))
        .unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let notice = Notice {
        event: change.event,
        function: ctx.function().to_owned(),
        region: arn.get(3).cloned().filter(|r| !r.is_empty()),
        account: arn.get(4).cloned().filter(|a| !a.is_empty()),
        alias: ctx.alias().to_owned(),
        place: place(ctx),
        version: change.version.to_owned(),
        previous: Some(change.stable.to_owned()),
        step: change.step.map(|k| k + 1),
        steps: change.plan.map(|p| p.steps.len()).filter(|n| *n > 0),
        percent: change.percent,
        outcome: match change.event {
            Event::Started | Event::Step | Event::Approved => "in_progress",
            Event::Held | Event::WaitingForApproval => "held",
            Event::Released => "released",
            Event::RolledBack => "rolled_back",
            Event::RollbackFailed => "needs_operator",
        },
        reason: change.reason.map(str::to_owned),
        commit: provenance.commit,
        run_url: provenance.run_url,
        at: now
            .replace_nanosecond(0)
            .unwrap_or(now)
            .format(&Rfc3339)
            .unwrap_or_default(),
    };
    ctx.notify.send(&notice, ctx.ui).await;
}

/// What users reach, in words: the `[dns]` name, the `[alb]` listener or
/// rule, or the alias.
fn place(ctx: Ctx<'_>) -> String {
    match (&ctx.config.dns, &ctx.config.alb) {
        (Some(dns), _) => format!("DNS name {}", dns.name),
        (None, Some(alb)) => format!("load balancer {}", alb.action.arn()),
        (None, None) => format!("alias {}", ctx.alias()),
    }
}

/// The reason a manual `rollback` is told with: "manual rollback by
/// NAME" ([`who`]), or without a name when none is known.
pub fn manual_reason() -> String {
    match who() {
        Some(who) => format!("manual rollback by {who}"),
        None => "manual rollback".to_owned(),
    }
}

/// Who asked for a manual rollback: `GITHUB_ACTOR`, else `USER`.
pub fn who() -> Option<String> {
    ["GITHUB_ACTOR", "USER"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}
