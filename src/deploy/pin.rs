//! An alias on `$LATEST` is pinned before greenlight writes anything else.
//!
//! Aliases made in the console often point at `$LATEST`, the function's
//! unpublished code. Every `UpdateFunctionCode` changes what such an alias
//! serves at once, before any smoke test, and "rolling back" to `$LATEST`
//! returns to whatever was uploaded last. So before greenlight uploads code
//! or moves traffic it pins such an alias: it publishes `$LATEST` as it is
//! (guarded by its CodeSha256 and RevisionId, so nobody else's change slips in) and moves
//! the alias onto that version (guarded by the alias's RevisionId), with an
//! `action=pin` record. Users get exactly the code and configuration they
//! had; from then on the alias is on a published version that uploads
//! cannot change, and rollback has a real version to return to.
//!
//! AWS calls: `GetAlias`, `GetFunctionConfiguration($LATEST)`,
//! `PublishVersion`, `UpdateAlias`; nothing when the alias is not on
//! `$LATEST`.

use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::record::{Action, Record};

/// The qualifier of a function's unpublished code.
pub const LATEST: &str = "$LATEST";

/// How plans and messages name the version a pin would publish.
pub const PINNED: &str = "the version pinned from $LATEST";

/// An alias moved from `$LATEST` onto a published version.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinned {
    /// The version published from `$LATEST`, which the alias serves now.
    pub version: String,
    /// The alias's RevisionId after the move.
    pub revision: Option<String>,
}

/// Pins `alias` when it serves `$LATEST`; `None` when it does not (or does
/// not exist), and nothing is written then. In a dry run the two writes are
/// listed (once per plan) and the pinned version is `$LATEST` itself, which
/// [`label`] names as the version the pin would publish.
pub async fn pin(ctx: Ctx<'_>, alias: &str) -> Result<Option<Pinned>> {
    let name = ctx.function();
    let Some(current) = ctx.lambda.alias(name, alias).await? else {
        return Ok(None);
    };
    if current.version != LATEST {
        return Ok(None);
    }
    let latest = ctx.lambda.function(name, LATEST).await?.ok_or_else(|| {
        Error::no_traffic_moved(format!(
            "alias {alias} serves $LATEST, but function {name} has no $LATEST to publish"
        ))
    })?;
    // A dry run lists the pin once, and goes on as if the alias were on
    // the version it would publish (named by `label`).
    if ctx.record(|plan| {
        if !plan.pinned {
            plan.write(
                "PublishVersion",
                format_args!(
                    "$LATEST of {name} as it is (CodeSha256 {}): alias {alias} serves $LATEST, which an upload would change for its users at once",
                    latest.code_sha256
                ),
            );
            plan.write(
                "UpdateAlias",
                format_args!(
                    "alias {alias}: $LATEST → {PINNED} (the same code and configuration: nothing changes for users)"
                ),
            );
            plan.pinned = true;
        }
    }) {
        return Ok(Some(Pinned {
            version: LATEST.to_owned(),
            revision: current.revision_id,
        }));
    }
    ctx.ui.step(format_args!(
        "alias {alias} serves $LATEST, which an upload would change for its users at once: pinning it to a version of what it serves now"
    ));
    // No provenance: greenlight did not deploy what `$LATEST` holds, so the
    // version keeps the function's description.
    let version = crate::deploy::publish(
        ctx,
        &latest.code_sha256,
        latest.revision_id.as_deref(),
        None,
    )
    .await?
    .version;
    let record = Record::now(Action::Pin, &version, Some(LATEST));
    let revision = ctx
        .lambda
        .point_alias(
            name,
            alias,
            &version,
            None,
            &record.to_string(),
            current.revision_id.as_deref(),
        )
        .await?;
    ctx.ui.step(format_args!(
        "alias {alias} pinned to version {version}: the same code and configuration as before{}",
        match latest.extra.snap_start == Some(true) {
            true => ", but users now move onto SnapStart snapshots ($LATEST runs without SnapStart; a published version is restored from a snapshot taken after initialisation)",
            false => "",
        }
    ));
    Ok(Some(Pinned { version, revision }))
}

/// How a plan names `version`: "version 4", or [`PINNED`] for `$LATEST`.
pub fn label(version: &str) -> String {
    if version == LATEST {
        PINNED.to_owned()
    } else {
        format!("version {version}")
    }
}
