//! The ALB router: the split is the weights of an Application Load
//! Balancer's forward action between two target groups (`[alb]`).
//!
//! Each colour is one target group whose one target is a Lambda alias
//! (registered by its alias-qualified ARN); the live colour carries all the
//! weight. A release points the idle colour's alias at the new version (no
//! weight), then moves the weight to it, keeping the total it found.
//!
//! ELBv2 has no conditional write, so each listener write is guarded three
//! ways: the action list is read again first and must be exactly as this
//! run last read or wrote it (weights and shape, [`ActionList::shape`]);
//! the release record on the receiving colour's alias is written
//! conditionally on the `RevisionId` this run last saw, which is the lock
//! two runners cannot both take; and a write counts only once the list
//! reads back as written ([`Elbv2::set_weights`], Argo Rollouts'
//! `VerifyWeight`). Any difference is [`Failure::Conflict`] (exit 1,
//! nothing more written). A step writes the record first, then the
//! weights; the finish the weights first, so until all the weight has
//! moved the last canary record still says a release is in progress.
//!
//! Refused before anything changes ([`check`], exit 1): a forward action
//! greenlight cannot move ([`alb_checks::pair_weights`]: a third target
//! group, weights 0/0 or out of range), a target group whose target is not
//! its colour's alias, an alias the load balancer may not invoke.
//!
//! AWS calls: `DescribeListeners` or `DescribeRules`, `DescribeTargetHealth`,
//! `GetPolicy` (the colours' aliases), `GetAlias`/`UpdateAlias`,
//! `ModifyListener` or `ModifyRule`.

use std::time::Duration;

use crate::aws::elbv2::{ActionList, Elbv2, WEIGHTS};
use crate::config::alb::{AlbColour, AlbConfig, ForwardAt};
use crate::context::Ctx;
use crate::error::{Error, Failure, Result};
use crate::record::Record;
use crate::release::alb_checks;
use crate::release::routers::dns::record_rollback;
use crate::release::routers::{
    Place, Router, Split, TwoWrites, Why, colour_record, failed, planned_point, restore_failed,
    restored_on, serves_any, write_in_two,
};
use crate::release::weights;

/// The action list `[alb]` names (a listener's default actions or one
/// rule's), exactly as ELBv2 holds it.
pub async fn read(elb: &Elbv2, alb: &AlbConfig) -> Result<ActionList> {
    match &alb.action {
        ForwardAt::Listener(arn) => elb.listener_actions(arn).await,
        ForwardAt::Rule(arn) => elb.rule_actions(arn).await,
    }
}

/// Blue's and green's target groups.
fn groups(alb: &AlbConfig) -> [&str; 2] {
    alb.colours
        .each_ref()
        .map(|colour| colour.target_group_arn.as_str())
}

/// Blue's and green's weights in `list`; a forward action greenlight
/// cannot move is refused (exit 1; a default rule named as a rule, exit 2).
pub fn weights_in(list: &ActionList, alb: &AlbConfig) -> Result<[i32; 2]> {
    alb_checks::pair_weights(list, groups(alb))
}

/// The ARN a colour's target group registers its alias by.
fn target_of(ctx: Ctx<'_>, colour: &AlbColour) -> String {
    alb_checks::alias_arn(&colour.target_group_arn, ctx.function(), &colour.alias)
}

/// Refuses (exit 1, before anything changes) a colour whose target group
/// does not have exactly its alias as its one target, or whose alias the
/// load balancer may not invoke (`GetPolicy` on the alias; the error names
/// the `aws lambda add-permission` that fixes it).
pub async fn check(ctx: Ctx<'_>, elb: &Elbv2, alb: &AlbConfig) -> Result<()> {
    for colour in &alb.colours {
        let alias_arn = target_of(ctx, colour);
        let targets = elb.targets(&colour.target_group_arn).await?;
        alb_checks::registered_target(&colour.target_group_arn, &targets, &alias_arn)?;
        let policy = ctx
            .lambda
            .alias_policy(ctx.function(), &colour.alias)
            .await?;
        alb_checks::invoke_permission(&policy, &alias_arn, &colour.target_group_arn)?;
    }
    Ok(())
}

/// The sum of the weights a release keeps, given the weights it found: the
/// total found, at least 100 so every step is expressed to the percent, at
/// most what one target group may carry (999). `None` for 0/0 (refused
/// when read).
pub fn total(found: [i32; 2]) -> Option<i64> {
    weights::working_total_up_to(
        i64::from(found[0]) + i64::from(found[1]),
        i64::from(*WEIGHTS.end()),
    )
}

/// A release's split on the forward action, moving toward one colour.
#[derive(Clone)]
pub struct AlbRouter<'a> {
    ctx: Ctx<'a>,
    alb: &'a AlbConfig,
    /// The list as last read or written: what the next write must find.
    list: ActionList,
    /// The colour receiving the weight (0 blue, 1 green).
    to: usize,
    /// The sum of the weights, the same before, during and after.
    total: i64,
    /// The receiving colour's alias `RevisionId` after this run's last
    /// record (the lock around each listener write); `None` until then.
    revision: Option<String>,
    /// The other colour's alias `RevisionId` as read with the list: the
    /// condition of the restore's rollback record.
    back: Option<String>,
}

impl<'a> AlbRouter<'a> {
    /// The router of a release toward colour `to` of `alb`, over `list` as
    /// read (with the other colour's alias at `back`), whose weights
    /// [`weights_in`] found to be `found`.
    pub fn new(
        ctx: Ctx<'a>,
        alb: &'a AlbConfig,
        list: ActionList,
        found: [i32; 2],
        to: usize,
        back: Option<String>,
    ) -> Self {
        AlbRouter {
            ctx,
            alb,
            list,
            to,
            // 0/0 was refused when the weights were read.
            total: total(found).unwrap_or(100),
            revision: None,
            back,
        }
    }

    /// The ELBv2 call that writes the action list.
    fn call(&self) -> &'static str {
        match self.alb.action {
            ForwardAt::Listener(_) => "ModifyListener",
            ForwardAt::Rule(_) => "ModifyRule",
        }
    }

    /// The weights the restore writes: everything back on the colour the
    /// weight came from.
    fn restored(&self) -> [(&str, i32); 2] {
        let (to, from) = (&self.alb.colours[self.to], &self.alb.colours[1 - self.to]);
        [
            (from.target_group_arn.as_str(), to_i32(self.total)),
            (to.target_group_arn.as_str(), 0),
        ]
    }
}

impl TwoWrites for AlbRouter<'_> {
    /// Fails (exit 1, writing nothing) when the action list is no longer
    /// exactly as this run last read or wrote it: another runner or a
    /// person changed it (its weights, or anything else in it).
    async fn unchanged(&self) -> Result<()> {
        let now = self.ctx.elbv2.reread(&self.list).await?;
        if now == self.list {
            return Ok(());
        }
        let what = if now.shape() == self.list.shape() {
            "its weights were changed"
        } else {
            "its actions were changed"
        };
        Err(Error {
            failure: Failure::Conflict,
            ..Error::no_traffic_moved(format!(
                "{}: {what} outside greenlight during the release",
                self.alb.action.arn()
            ))
            .with_hint(
                "`greenlight rollback` puts the weights back as they were before the release",
            )
        })
    }

    /// Writes `record` on the receiving colour's alias pointed at
    /// `version`, conditionally on the `RevisionId` this run last saw: the
    /// lock two runners cannot both take.
    async fn record(&mut self, version: &str, record: &Record) -> Result<()> {
        let colour = &self.alb.colours[self.to];
        let name = self.ctx.function();
        let revision = match self.revision.take() {
            Some(revision) => Some(revision),
            None => self
                .ctx
                .lambda
                .alias(name, &colour.alias)
                .await?
                .and_then(|alias| alias.revision_id),
        };
        let colour_of = (colour.alias.as_str(), colour.name);
        let description = record.to_string();
        if planned_point(self.ctx, "UpdateAlias", colour_of, version, &description) {
            return Ok(());
        }
        self.revision = self
            .ctx
            .lambda
            .point_alias(
                name,
                &colour.alias,
                version,
                None,
                &description,
                revision.as_deref(),
            )
            .await
            .map_err(|e| failed("recording the step", e))?;
        Ok(())
    }

    /// Sets `new` on the receiving colour and the rest on the other, and
    /// keeps the list as it reads back.
    async fn set(&mut self, new: i64, what: &str) -> Result<()> {
        let (to, from) = (&self.alb.colours[self.to], &self.alb.colours[1 - self.to]);
        let weights = [(to, new), (from, self.total - new)]
            .map(|(colour, weight)| (colour.target_group_arn.as_str(), to_i32(weight)));
        self.ctx.ui.step(format_args!(
            "setting weights: {} {new}, {} {} ({what})",
            to.name,
            from.name,
            self.total - new
        ));
        if self.ctx.dry_write(
            self.call(),
            format_args!(
                "{}: {} {new}, {} {} ({what}); every other part of its actions as read",
                self.alb.action.arn(),
                to.name,
                from.name,
                self.total - new
            ),
        ) {
            return Ok(());
        }
        self.list = self
            .ctx
            .elbv2
            .set_weights(&self.list, &weights)
            .await
            .map_err(|e| failed("changing the weights", e))?;
        Ok(())
    }

    fn total(&self) -> i64 {
        self.total
    }

    fn receiving(&self) -> &'static str {
        self.alb.colours[self.to].name
    }

    /// The step's record keeps the list's shape (weights aside, as it is
    /// before and after the step): any run can tell a list changed outside
    /// greenlight since.
    fn step_record(&self, record: &Record) -> Record {
        Record {
            shape: Some(self.list.shape()),
            ..record.clone()
        }
    }
}

/// A weight within 0–999 as ELBv2 takes it (the total never exceeds 999).
fn to_i32(weight: i64) -> i32 {
    i32::try_from(weight).unwrap_or(*WEIGHTS.end())
}

impl Router for AlbRouter<'_> {
    fn place(&self) -> Place {
        let (to, from) = (&self.alb.colours[self.to], &self.alb.colours[1 - self.to]);
        Place {
            name: self.alb.action.arn().to_owned(),
            via: to.alias.clone(),
            stable_via: from.alias.clone(),
            route: Some(format!("{} → {} by load balancer", from.name, to.name)),
        }
    }

    async fn serves(&self, version: &str) -> Result<bool> {
        let list = read(self.ctx.elbv2, self.alb).await?;
        let found = weights_in(&list, self.alb)?.map(i64::from);
        let aliases = self.alb.colours.iter().map(|c| c.alias.as_str());
        serves_any(self.ctx, aliases.zip(found), version).await
    }

    async fn write(&mut self, split: Split<'_>, record: &Record) -> Result<()> {
        // No conditional write in ELBv2: the finish, too, not over a list
        // someone else changed.
        if split.share.is_none() {
            self.unchanged().await?;
        }
        write_in_two(self, split, record).await
    }

    async fn in_effect(&mut self) -> Result<()> {
        // `set_weights` returned only once the list read back as written.
        Ok(())
    }

    fn caching(&self) -> Duration {
        Duration::ZERO
    }

    async fn restore(&mut self, stable: &str, failed: &str, why: Why<'_>) -> Result<()> {
        let why = why.to_string();
        let (to, from) = (&self.alb.colours[self.to], &self.alb.colours[1 - self.to]);
        self.ctx.ui.step(format_args!(
            "{why}; putting all the weight back on {} (version {stable})",
            from.name
        ));
        let restored = async {
            // Back over the list as it is now: a restore does not wait for
            // anyone, and keeps whatever else was changed in the list.
            let now = self.ctx.elbv2.reread(&self.list).await?;
            if weights_in(&now, self.alb)?[self.to] != 0
                && !self.ctx.dry_write(
                    self.call(),
                    format_args!(
                        "{}: {} {}, {} 0 (all the weight back on version {stable})",
                        self.alb.action.arn(),
                        from.name,
                        self.total,
                        to.name
                    ),
                )
            {
                self.list = self.ctx.elbv2.set_weights(&now, &self.restored()).await?;
            }
            record_rollback(self.ctx, from, stable, failed, self.back.as_deref()).await
        };
        restored.await.map_err(|e| {
            let hint = format!(
                "run `greenlight rollback -c {}` again, or set the forward action's weights of {} to {} {} ({}) and {} 0 ({})",
                self.ctx.config.path.display(),
                self.alb.action.arn(),
                from.name,
                self.total,
                from.target_group_arn,
                to.name,
                to.target_group_arn
);
            restore_failed(e, &why, self.alb.action.arn(), to.name, failed, hint)
        })
    }

    async fn restored_by_another(&self, stable: &str, failed: &str) -> bool {
        let Ok(now) = self.ctx.elbv2.reread(&self.list).await else {
            return false;
        };
        let back = &self.alb.colours[1 - self.to];
        weights_in(&now, self.alb).is_ok_and(|w| w[self.to] == 0)
            && restored_on(self.ctx, &back.alias, stable, failed).await
    }

    /// The action list must still be exactly as this run last wrote it, and
    /// the receiving colour's alias `split.version` alone; its `RevisionId`
    /// is then the lock of the next record.
    async fn reread_record(
        &mut self,
        split: Split<'_>,
        take: &dyn Fn(&Record) -> bool,
    ) -> Result<Option<Record>> {
        if self.ctx.elbv2.reread(&self.list).await? != self.list {
            return Ok(None);
        }
        let alias = &self.alb.colours[self.to].alias;
        let Some((record, revision)) = colour_record(self.ctx, alias, split.version, take).await?
        else {
            return Ok(None);
        };
        self.revision = revision;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_found_is_kept_within_what_one_group_carries() {
        assert_eq!(total([0, 0]), None);
        assert_eq!(total([1, 0]), Some(100));
        assert_eq!(total([100, 0]), Some(100));
        assert_eq!(total([0, 500]), Some(500));
        assert_eq!(total([999, 0]), Some(999));
        assert_eq!(total([300, 700]), Some(999));
        // A step of a total above Route 53's 255 is still exact.
        assert_eq!(weights::step_weight(500, 10), 50);
        assert_eq!(to_i32(999), 999);
        assert_eq!(to_i32(i64::MAX), 999);
    }
}
