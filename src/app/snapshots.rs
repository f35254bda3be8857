//! With `[watch]`: after a command that moves traffic, keep the release's
//! snapshot in S3 in step with the release. A release left in progress by
//! `ship` or `release` (`--no-wait`, or held) writes it; a release that
//! ended, by whichever runner (`promote`, `rollback`, the watcher's own
//! `promote`, a waiting `ship`), deletes it. Nothing else is touched, and a
//! failure is reported beside the release, never in its place.

use crate::context::Ctx;
use crate::error::{Failure, Result};
use crate::report::{Report, SnapshotReport};

/// Outcomes that leave a release in progress for a later `promote`.
const IN_PROGRESS: [&str; 3] = ["in_progress", "held", "settling"];
/// Outcomes after which no release is in progress on the alias.
const ENDED: [&str; 5] = [
    "released",
    "already_live",
    "rolled_back",
    "already_rolled_back",
    "nothing_in_progress",
];

/// Writes or deletes the snapshot of `ctx`'s release (keyed by the
/// config's own `function.alias`, never a DNS colour's) as the command's
/// result `done` and `report`'s outcome say; `starts` says whether the
/// command starts releases (`ship`, `release`) rather than only continuing
/// or ending them. A rollback (exit 3) ends the release; a release held
/// (exit 5) is still in progress; any other failure leaves the snapshot as
/// it was.
pub(super) async fn follow(ctx: Ctx<'_>, starts: bool, done: &Result<()>, report: &mut Report) {
    let (Some(watch), Some(region)) = (&ctx.config.watch, report.region.clone()) else {
        return;
    };
    let (in_progress, ended) = match done {
        Ok(()) => {
            let outcome = report.outcome.as_str();
            (IN_PROGRESS.contains(&outcome), ENDED.contains(&outcome))
        }
        Err(e) => (e.failure == Failure::Held, e.failure == Failure::RolledBack),
    };
    let write = starts && in_progress;
    if !write && !ended {
        return;
    }
    let key = watch.key(&region, ctx.function(), &ctx.config.function.alias);
    let done = if write {
        for label in &watch.unsent {
            report.notify_warnings.push(format!(
                "{label} will not be told by the watcher: its URL is written in the config or read from greenlight's environment, which the snapshot does not hold; use {{ ssm = … }} or {{ secret = … }}"
            ));
        }
        let text = watch.snapshot(&region);
        ctx.artifacts
            .put_text(&watch.bucket, &key, text, "application/toml")
            .await
    } else {
        ctx.artifacts.delete(&watch.bucket, &key).await
    };
    report.snapshot = Some(SnapshotReport {
        location: format!("s3://{}/{key}", watch.bucket),
        action: if write { "written" } else { "deleted" },
        error: done.err().map(|e| match e.cause {
            Some(cause) => format!("{}: {cause}", e.message),
            None => e.message,
        }),
    });
}
