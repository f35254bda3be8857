//! The alias router: the split is the Lambda alias's routing weights.
//!
//! A step sets `AdditionalVersionWeights = {new: share}` while the main
//! version stays on the stable one; finishing sets the main version to the
//! new one and clears the weights. Each write is one conditional
//! `UpdateAlias` (with the alias `RevisionId`) that carries the release
//! record in the alias description too, so split and record change
//! atomically, and a write is in effect at once.
//!
//! AWS calls: `GetAlias` (after a panic; a restore that failed: when
//! another run only wrote the release's record meanwhile, the restore is
//! made again at the alias's new `RevisionId`; before a run stops to wait
//! for approval, for one given meanwhile), `UpdateAlias`.

use std::time::Duration;

use crate::aws::lambda::AliasState;
use crate::context::Ctx;
use crate::error::{Error, Failure, Result};
use crate::record::{Action, Record};
use crate::release::dry_run::label;
use crate::release::routers::{Place, Router, Split, Undoing, Why, record_on, restored_on};

/// A release's split on the configured alias.
#[derive(Clone)]
pub struct AliasRouter<'a> {
    ctx: Ctx<'a>,
    /// The alias's `RevisionId` as last read or written: the condition of
    /// the next write.
    revision: Option<String>,
    /// The alias splits traffic (as read, or as this run last wrote it).
    split: bool,
}

impl<'a> AliasRouter<'a> {
    /// The router for `ctx`'s alias, read at `revision`, splitting
    /// traffic (`split`) or not.
    pub fn new(ctx: Ctx<'a>, revision: Option<String>, split: bool) -> Self {
        AliasRouter {
            ctx,
            revision,
            split,
        }
    }

    /// Points the alias back at `stable` after `failed` was released,
    /// recording the rollback, over `revision`; a failure is exit 4, with
    /// the commands that fix it (`why`: what the rollback follows).
    async fn point_back(
        &self,
        stable: &str,
        failed: &str,
        revision: Option<&str>,
        why: Why<'_>,
    ) -> Result<()> {
        let ctx = self.ctx;
        let alias = ctx.alias();
        let (name, record) = (
            ctx.function(),
            Record::now(Action::Rollback, stable, Some(failed)),
        );
        let restored = ctx
            .lambda
            .point_alias(name, alias, stable, None, &record.to_string(), revision)
            .await;
        restored.map(|_| ()).map_err(|e| Error {
            failure: Failure::NeedsOperator,
            message: format!(
                "rollback failed after {why}: alias {alias} of function {name} may still send traffic to version {failed}; version {stable} was live before"
            ),
            cause: Some(match e.cause {
                Some(cause) => format!("{}: {cause}", e.message),
                None => e.message,
            }),
            hint: Some(format!(
                "restore it now with `greenlight rollback -c {}` or `aws lambda update-alias --function-name {name} --name {alias} --function-version {stable} --routing-config AdditionalVersionWeights={{}}`",
                ctx.config.path.display()
            )),
        })
    }
}

impl Router for AliasRouter<'_> {
    fn place(&self) -> Place {
        let alias = self.ctx.alias();
        Place {
            name: format!("alias {alias}"),
            via: alias.to_owned(),
            stable_via: alias.to_owned(),
            route: None,
        }
    }

    async fn serves(&self, version: &str) -> Result<bool> {
        let ctx = self.ctx;
        let alias = ctx.lambda.alias(ctx.function(), ctx.alias()).await?;
        Ok(alias.is_some_and(|a| a.version == version || a.weights.contains_key(version)))
    }

    async fn write(&mut self, split: Split<'_>, record: &Record) -> Result<()> {
        let ctx = self.ctx;
        // A share of 0 (a release pending approval) is the record alone:
        // no weight is written, so the stable version keeps all traffic.
        let (main, extra) = match split.share {
            Some(share) if share > 0.0 => (split.stable, Some((split.version, share))),
            Some(_) => (split.stable, None),
            None => (split.version, None),
        };
        let (new, stable) = (label(split.version), label(split.stable));
        let planned = match split.share {
            Some(_) if extra.is_none() => ctx.dry_write(
                "UpdateAlias",
                format_args!(
                    "alias {}: the release record of {new}, waiting for approval; all traffic stays on {stable}",
                    ctx.alias()
                ),
            ),
            Some(_) => ctx.dry_write(
                "UpdateAlias",
                format_args!(
                    "alias {}: {} % on {new}, {} % on {stable}",
                    ctx.alias(),
                    split.percent,
                    100 - split.percent
                ),
            ),
            None if self.split => ctx.dry_write(
                "UpdateAlias",
                format_args!(
                    "alias {} → {new}, all traffic (weights cleared)",
                    ctx.alias()
                ),
            ),
            None => ctx.dry_write(
                "UpdateAlias",
                format_args!(
                    "alias {}: {stable} → {new}, all traffic at once",
                    ctx.alias()
                ),
            ),
        };
        self.split = extra.is_some();
        if planned {
            return Ok(());
        }
        match extra {
            None if split.share.is_some() => ctx.ui.step(format_args!(
                "recording in alias {} that version {} waits for approval (all traffic stays on version {})",
                ctx.alias(),
                split.version,
                split.stable
            )),
            _ => ctx.ui.step(format_args!(
                "moving alias {}: {} % on version {} (stable {})",
                ctx.alias(),
                split.percent,
                split.version,
                split.stable
            )),
        }
        ctx.ui.detail(format_args!("release record: {record}"));
        self.revision = ctx
            .lambda
            .point_alias(
                ctx.function(),
                ctx.alias(),
                main,
                extra,
                &record.to_string(),
                self.revision.as_deref(),
            )
            .await?;
        Ok(())
    }

    async fn in_effect(&mut self) -> Result<()> {
        Ok(())
    }

    fn caching(&self) -> Duration {
        Duration::ZERO
    }

    async fn restore(&mut self, stable: &str, failed: &str, why: Why<'_>) -> Result<()> {
        let ctx = self.ctx;
        let alias = ctx.alias();
        let (said, planned) = match why {
            Why::Red(why) => (
                format!("{why}; rolling back to version {stable}"),
                format!("alias {alias} → version {stable}, all traffic"),
            ),
            Why::Asked(Undoing::Release) => (
                format!(
                    "stopping the release of version {failed}: all traffic back to version {stable}"
                ),
                format!(
                    "alias {alias} → version {stable}, all traffic (stops the release of version {failed}, clears its weight)"
                ),
            ),
            Why::Asked(Undoing::Split) => (
                format!(
                    "clearing the split of alias {alias} set outside greenlight: all traffic back to version {stable}"
                ),
                format!(
                    "alias {alias} → version {stable}, all traffic (clears the split set outside greenlight, {failed} loses its share)"
                ),
            ),
            Why::Asked(Undoing::Last) => (
                format!("moving alias {alias}: version {failed} → {stable}"),
                format!("alias {alias}: version {failed} → {stable}, all traffic"),
            ),
        };
        ctx.ui.step(said);
        if ctx.dry_write("UpdateAlias", planned) {
            return Ok(());
        }
        let restored = self
            .point_back(stable, failed, self.revision.as_deref(), why)
            .await;
        if restored.is_err()
            && let Some(revision) = still_releasing(ctx, stable, failed).await
        {
            // Another run wrote the record of this release meanwhile (say
            // `greenlight approve` during the bake): restore it as it is now.
            return self.point_back(stable, failed, Some(&revision), why).await;
        }
        restored
    }

    async fn restored_by_another(&self, stable: &str, failed: &str) -> bool {
        restored_on(self.ctx, self.ctx.alias(), stable, failed).await
    }

    /// The alias must still be on `split.stable` with `split.version` at
    /// the step's share and nothing else weighted.
    async fn reread_record(
        &mut self,
        split: Split<'_>,
        take: &dyn Fn(&Record) -> bool,
    ) -> Result<Option<Record>> {
        let ctx = self.ctx;
        let share = split.share.unwrap_or(1.0);
        let routes = |alias: &AliasState| {
            alias.version == split.stable
                && alias.weights.len() == 1
                && alias
                    .weights
                    .get(split.version)
                    .is_some_and(|w| (w - share).abs() < 1e-9)
        };
        let Some((record, revision)) = record_on(ctx, ctx.alias(), routes, take).await? else {
            return Ok(None);
        };
        self.revision = revision;
        Ok(Some(record))
    }
}

/// The alias's `RevisionId` when it still holds the release of `failed`
/// over `stable` (the main version `stable`, no other version weighted, a
/// canary record of the two): another run only wrote the record meanwhile
/// (an approval, a hold or a wait told), so restoring it is still this
/// run's to do. `None` otherwise, or when the alias cannot be read.
async fn still_releasing(ctx: Ctx<'_>, stable: &str, failed: &str) -> Option<String> {
    let routes = |a: &AliasState| a.version == stable && a.weights.keys().all(|v| v == failed);
    let same_release = |r: &Record| {
        r.action == Action::Canary && r.version == failed && r.previous.as_deref() == Some(stable)
    };
    let (_, revision) = record_on(ctx, ctx.alias(), routes, &same_release)
        .await
        .ok()??;
    revision
}
