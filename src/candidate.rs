//! The candidate alias (`[release] candidate`): an alias deploy points at
//! each new version before its smoke tests, so a test that can only reach
//! the function through an alias (a function URL's qualifier must be one)
//! reaches the version under test, as `{candidate}` in an HTTP test.
//!
//! It never carries user traffic: users reach the release alias (or in DNS
//! mode the colours' aliases), which the config may not name as the
//! candidate. A release, a rollback or a canary step does not move it: it
//! stays on the newest deployed version, also one that failed its tests or
//! was rolled back, and `status` shows where it points. AWS calls:
//! `UpdateAlias` (or `CreateAlias` the first time), not conditional,
//! since nobody's traffic depends on it; `status` reads it with `GetAlias`.

use crate::error::Result;
use crate::ui::Ctx;

/// The candidate alias and the version it points at.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CandidateState {
    /// The alias name.
    pub alias: String,
    /// The version it points at; `None` before the first deploy made it.
    pub version: Option<String>,
}

/// Points the candidate alias, when the config has one, at `version`.
pub async fn point(ctx: Ctx<'_>, version: &str) -> Result<()> {
    let Some(candidate) = &ctx.config.release.candidate else {
        return Ok(());
    };
    ctx.ui.step(format_args!(
        "pointing candidate alias {candidate} at version {version}"
    ));
    let description = format!(
        "greenlight: candidate version={version} (the version under test; no user traffic)"
    );
    ctx.lambda
        .set_alias(ctx.function(), candidate, version, &description)
        .await
}

/// Where the candidate alias points, when the config has one.
pub async fn state(ctx: Ctx<'_>) -> Result<Option<CandidateState>> {
    let Some(candidate) = &ctx.config.release.candidate else {
        return Ok(None);
    };
    let alias = ctx.lambda.alias(ctx.function(), candidate).await?;
    Ok(Some(CandidateState {
        alias: candidate.clone(),
        version: alias.map(|a| a.version),
    }))
}
