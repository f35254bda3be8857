//! The alias router: the split is the Lambda alias's routing weights.
//!
//! A step sets `AdditionalVersionWeights = {new: share}` while the main
//! version stays on the stable one; finishing sets the main version to the
//! new one and clears the weights. Each write is one conditional
//! `UpdateAlias` (with the alias `RevisionId`) that carries the release
//! record in the alias description too, so split and record change
//! atomically, and a write is in effect at once.
//!
//! AWS calls: `GetAlias` (after a panic, or a restore that failed: when
//! another run only wrote the release's record meanwhile, the restore is
//! made again at the alias's new `RevisionId`),
//! `UpdateAlias`.

use std::time::Duration;

use crate::context::Ctx;
use crate::error::Result;
use crate::record::Record;
use crate::release::dry_run::label;
use crate::release::rollback::{self, RollbackReport};
use crate::release::routers::{Place, Router, Split};

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

    async fn restore(&mut self, stable: &str, failed: &str, why: &str) -> Result<()> {
        self.ctx
            .ui
            .step(format_args!("{why}; rolling back to version {stable}"));
        let restored =
            rollback::restore(self.ctx, stable, failed, self.revision.as_deref(), why).await;
        if restored.is_err()
            && let Some(revision) = rollback::still_releasing(self.ctx, stable, failed).await
        {
            // Another run wrote the record of this release meanwhile (say
            // `greenlight approve` during the bake): restore it as it is now.
            return rollback::restore(self.ctx, stable, failed, Some(&revision), why).await;
        }
        restored
    }

    async fn restored_by_another(&self, stable: &str, failed: &str) -> bool {
        rollback::rolled_back_by_another(self.ctx, stable, failed).await
    }

    async fn rollback(&self) -> Result<RollbackReport> {
        rollback::rollback(self.ctx).await
    }
}
