//! Panics are bugs, but a bug must never leave traffic half-moved.
//!
//! [`catching`] runs a future and turns a panic inside it into a value, so
//! the code that moves traffic can still take its rollback path after an
//! unexpected failure (see `engine::begin` and `dns::release`), and the
//! command as a whole still ends in a report with a documented exit code
//! (and, with `--output json`, one JSON document).

use std::panic::AssertUnwindSafe;

use futures::FutureExt;

use crate::error::{Error, Failure, Result};
use crate::release::rollback::RollbackReport;

/// Runs `work`; `Err` carries the panic's message when it panicked.
pub async fn catching<T>(work: impl Future<Output = T>) -> std::result::Result<T, String> {
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned())
        })
}

/// How a caught panic is described to the user.
pub fn describe(panic: &str) -> String {
    format!("greenlight failed unexpectedly (a bug: {panic})")
}

/// The error that ends a release of `version` on `place` (an alias or a
/// DNS name) that panicked: with no traffic `moved`, exit 1; otherwise
/// `rollback` runs with the panic as its reason (the `rollback` command's
/// own logic, which reads where the release stands in AWS and tells
/// `[[notify]]` that reason) and it is exit 3, or exit 4 if that fails.
pub async fn end_release<F: Future<Output = Result<RollbackReport>>>(
    panic: &str,
    version: &str,
    place: &str,
    moved: bool,
    rollback: impl FnOnce(String) -> F,
) -> Error {
    let why = describe(panic);
    if !moved {
        return Error::no_traffic_moved(format!(
            "the release of version {version} stopped before any traffic moved on {place}: {why}"
        ))
        .with_hint(REPORT);
    }
    // Told as the automatic rollback it is, with the panic as its reason.
    match rollback(why.clone()).await {
        Ok(back) => Error::new(
            Failure::RolledBack,
            format!(
                "release of version {version} rolled back to version {}: {why}",
                back.to
            ),
        )
        .with_hint(REPORT),
        Err(e) if e.failure == Failure::NeedsOperator => e,
        Err(e) => Error {
            failure: Failure::NeedsOperator,
            message: format!(
                "rollback failed after {why}: {place} may still send traffic to version {version}"
            ),
            cause: Some(e.message),
            hint: Some(
                "see `greenlight status`, then `greenlight rollback` or `greenlight release --version N`"
                    .to_owned(),
            ),
        },
    }
}

/// What to do about a bug.
const REPORT: &str =
    "this is a bug in greenlight: please report it with the output of `greenlight status`";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_its_message() {
        let fine = catching(async { 7 }).await;
        assert_eq!(fine, Ok(7));
        let text = catching(async {
            if fine.is_ok() {
                panic!("overflow adding duration to date");
            }
        })
        .await;
        assert_eq!(text, Err("overflow adding duration to date".to_owned()));
        let formatted = catching(async {
            if fine.is_ok() {
                panic!("bad value {}", 3);
            }
        })
        .await;
        assert_eq!(formatted, Err("bad value 3".to_owned()));
    }
}
