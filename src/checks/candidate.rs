//! The candidate alias (`[release] candidate`): an alias greenlight points
//! at the version under test before its smoke tests, so a test that can
//! only reach the function through an alias (a function URL's qualifier
//! must be one) reaches that version, as `{candidate}` in an HTTP test.
//!
//! It is greenlight's own: greenlight creates it and says so in its
//! description ([`MARKER`]), and moves only an alias whose description says
//! so. An alias of that name made by anyone else (which may carry someone's
//! traffic) stops `deploy`, `ship`, `release`, `test` and `plan` before any
//! write ([`check`]), and is never changed.
//!
//! It never carries user traffic: users reach the release alias (or in DNS
//! mode the colours' aliases), which the config may not name as the
//! candidate. Where it points: `deploy` and `ship` put it on each version
//! they publish, `test` on the version it tests, and a release's gates on
//! the version under release before they re-run the smoke tests, each only
//! when it is elsewhere. A rollback never moves it, and nothing moves it
//! back after a failed test: it stays on the last version tested.
//!
//! AWS calls: `GetAlias`, then `UpdateAlias` (conditional on the alias's
//! RevisionId, so an alias replaced meanwhile is not overwritten) or
//! `CreateAlias` the first time; `status` reads it with `GetAlias`.

use crate::aws::lambda::AliasState;
use crate::config::Check;
use crate::context::Ctx;
use crate::error::{Error, Result};

/// How the description of greenlight's candidate alias starts: the proof
/// that greenlight made it.
pub const MARKER: &str = "greenlight candidate alias:";

/// How earlier releases of greenlight described it; still greenlight's.
const EARLIER_MARKER: &str = "greenlight: candidate version=";

/// The candidate alias and the version it points at.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CandidateState {
    /// The alias name.
    pub alias: String,
    /// The version it points at; `None` before the first deploy made it.
    pub version: Option<String>,
}

/// True when `alias` is greenlight's candidate alias: its description says
/// so, and it splits no traffic (greenlight never splits its candidate's,
/// so one that does was changed by hand, the description copied with it).
fn is_ours(alias: &AliasState) -> bool {
    says_ours(alias) && alias.weights.is_empty()
}

/// True when `alias`'s description says greenlight made it.
fn says_ours(alias: &AliasState) -> bool {
    let description = alias.description.trim_start();
    description.starts_with(MARKER) || description.starts_with(EARLIER_MARKER)
}

/// The refusal to touch `found`, an alias named `candidate` that greenlight
/// did not make: exit 1, nothing written.
fn not_ours(ctx: Ctx<'_>, candidate: &str, found: &AliasState) -> Error {
    let name = ctx.function();
    let serves = match found.weights.iter().next() {
        Some((other, share)) => format!(
            "version {} and {:.0} % on version {other}",
            found.version,
            share * 100.0
        ),
        None => format!("version {}", found.version),
    };
    let why = match says_ours(found) {
        true => {
            "its description says greenlight made it, but it splits traffic, which greenlight never does on its candidate"
        }
        false => "its description does not say greenlight made it",
    };
    Error::no_traffic_moved(format!(
        "alias {candidate} of function {name} (release.candidate) is not greenlight's candidate alias: {why}, and it serves {serves}, perhaps to someone's users; greenlight does not move it"
    ))
    .with_hint(format!(
        "choose another release.candidate (an alias name not in use), or if nobody uses alias {candidate}, delete it (`aws lambda delete-alias --function-name {name} --name {candidate}`) and greenlight makes its own"
    ))
}

/// Before anything is written: fails (exit 1) when the config names a
/// candidate alias that exists and is not greenlight's. Read-only.
pub async fn check(ctx: Ctx<'_>) -> Result<()> {
    let Some(candidate) = &ctx.config.release.candidate else {
        return Ok(());
    };
    warn(ctx);
    match ctx.lambda.alias(ctx.function(), candidate).await? {
        Some(found) if !is_ours(&found) => Err(not_ours(ctx, candidate, &found)),
        _ => Ok(()),
    }
}

/// Points the candidate alias, when the config has one, at `version`,
/// creating it the first time; nothing when it is there already (in a dry
/// run, the write is recorded). An alias
/// of that name greenlight did not make is refused ([`check`]'s error) and
/// left as it is.
pub async fn point(ctx: Ctx<'_>, version: &str) -> Result<()> {
    let Some(candidate) = &ctx.config.release.candidate else {
        return Ok(());
    };
    if ctx.dry_write(
        "UpdateAlias",
        format_args!(
            "candidate alias {candidate} on {}, for its smoke tests (created if missing; it carries no user traffic)",
            crate::planned::label(version)
        ),
    ) {
        return Ok(());
    }
    let name = ctx.function();
    let description =
        format!("{MARKER} version {version} is under test here; it carries no user traffic");
    match ctx.lambda.alias(name, candidate).await? {
        None => {
            ctx.ui.step(format_args!(
                "creating candidate alias {candidate} on version {version}"
            ));
            ctx.lambda
                .create_alias(name, candidate, version, &description)
                .await
        }
        Some(found) if !is_ours(&found) => Err(not_ours(ctx, candidate, &found)),
        Some(found) if found.version == version && found.weights.is_empty() => Ok(()),
        Some(found) => {
            ctx.ui.step(format_args!(
                "pointing candidate alias {candidate} at version {version}"
            ));
            ctx.lambda
                .point_alias(
                    name,
                    candidate,
                    version,
                    None,
                    &description,
                    found.revision_id.as_deref(),
                )
                .await
                .map(|_| ())
        }
    }
}

/// Prints the [`warnings`], each as a progress line.
pub fn warn(ctx: Ctx<'_>) {
    for warning in warnings(ctx) {
        ctx.ui.step(format_args!("warning: {warning}"));
    }
}

/// What may be wrong with the config's `{candidate}` tests: a `{candidate}`
/// in an HTTP test's host. A function URL's host is an id Lambda chose
/// (`https://ID.lambda-url.REGION.on.aws/`), the same whatever version the
/// alias serves, so the alias name there reaches no function URL.
pub fn warnings(ctx: Ctx<'_>) -> Vec<String> {
    ctx.config
        .smoke
        .iter()
        .filter_map(|test| match &test.check {
            Check::Http(http) if in_host(&http.url, "{candidate}") => Some(format!(
                "smoke test `{}`: {{candidate}} is in the host of {}, but a function URL's host is an id Lambda chooses (ID.lambda-url.REGION.on.aws), not the alias name: write the candidate alias's function URL as Lambda shows it",
                test.name, http.url
            )),
            _ => None,
        })
        .collect()
}

/// True when `placeholder` is in `url`'s host (between `://` and the next
/// `/`, `?` or `#`).
fn in_host(url: &str, placeholder: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    host.contains(placeholder)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_candidate_in_the_host_is_flagged() {
        assert!(in_host(
            "https://{candidate}.example.com/health",
            "{candidate}"
        ));
        assert!(in_host("{candidate}.example.com", "{candidate}"));
        assert!(!in_host(
            "https://abc.lambda-url.eu-west-1.on.aws/{candidate}?q={candidate}",
            "{candidate}"
        ));
        assert!(!in_host(
            "https://api.example.com/#{candidate}",
            "{candidate}"
        ));
    }

    #[test]
    fn only_greenlights_descriptions_make_it_ours() {
        let with = |d: &str| AliasState {
            description: d.to_owned(),
            ..AliasState::default()
        };
        assert!(is_ours(&with(
            "greenlight candidate alias: version 3 is under test here; it carries no user traffic"
        )));
        assert!(is_ours(&with(
            "greenlight: candidate version=3 (the version under test; no user traffic)"
        )));
        assert!(!is_ours(&with("beta users")));
        assert!(!is_ours(&with("")));
        assert!(!is_ours(&with("greenlight: action=release version=3 at=x")));
        let split = AliasState {
            weights: [("4".to_owned(), 0.2)].into(),
            ..with("greenlight candidate alias: copied by hand")
        };
        assert!(!is_ours(&split), "a split candidate was changed by hand");
    }
}
