//! `prune`: delete old versions, never one that serves or may serve traffic.
//!
//! In: how many of the newest versions to keep. Out: a [`PruneReport`]
//! naming every version deleted and every version kept, with the reason.
//! AWS calls: `ListVersionsByFunction`, `ListAliases`, then `DeleteFunction`
//! (with the version as qualifier) per version pruned; none with `--dry-run`.
//!
//! Never deleted, whatever `--keep` says: a version any alias points to,
//! including through routing weights (so both sides of a release in
//! progress), the version a release record names as the one to roll
//! back to, and the version of a release waiting for approval before its
//! first move (`action=pending`: no alias points to it yet). Safe to repeat.

use std::collections::BTreeMap;

use crate::context::Ctx;
use crate::error::Result;
use crate::record::{Action, Record};

/// What prune did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PruneReport {
    /// True when nothing was deleted because of `--dry-run`.
    pub dry_run: bool,
    /// Versions deleted (or that would be), oldest first.
    pub deleted: Vec<String>,
    /// Versions kept, with why.
    pub kept: BTreeMap<String, String>,
}

/// Deletes all but the `keep` newest versions, sparing every protected one.
pub async fn prune(ctx: Ctx<'_>, keep: usize, dry_run: bool) -> Result<PruneReport> {
    let name = ctx.function();
    let versions: Vec<String> = ctx
        .lambda
        .versions(name)
        .await?
        .into_iter()
        .map(|v| v.version)
        .collect();
    let mut kept = BTreeMap::new();
    for (alias, state) in ctx.lambda.aliases(name).await? {
        kept.insert(state.version.clone(), format!("alias {alias} points to it"));
        for version in state.weights.keys() {
            kept.insert(version.clone(), format!("alias {alias} sends it traffic"));
        }
        let record = Record::parse(&state.description);
        if let Some(pending) = record.as_ref().filter(|r| r.action == Action::Pending) {
            kept.entry(pending.version.clone()).or_insert_with(|| {
                format!("its release on alias {alias} waits for approval before its first move")
            });
        }
        if let Some(previous) = record.and_then(|r| r.previous) {
            kept.entry(previous)
                .or_insert_with(|| format!("`greenlight rollback` of alias {alias} returns to it"));
        }
    }
    for version in versions.iter().rev().take(keep) {
        kept.entry(version.clone())
            .or_insert_with(|| format!("one of the {keep} newest"));
    }
    kept.retain(|v, _| versions.contains(v));
    let deleted: Vec<String> = versions
        .into_iter()
        .filter(|v| !kept.contains_key(v))
        .collect();
    if !dry_run {
        for version in &deleted {
            ctx.ui.step(format_args!("deleting version {version}"));
            ctx.lambda.delete_version(name, version).await?;
        }
    }
    Ok(PruneReport {
        dry_run,
        deleted,
        kept,
    })
}
