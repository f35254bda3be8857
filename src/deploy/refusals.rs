//! What Lambda would refuse in a deploy, found on reads before any write.
//!
//! Lambda checks some settings only against each other or against what the
//! function already holds: SnapStart and its runtime, file systems,
//! ephemeral storage and the alias's provisioned concurrency; a file
//! system and its VPC; the environment's size once references are read and
//! kept variables copied; the function's tag count with other tools' tags.
//! Refused by Lambda, they would fail one write after another had already
//! changed `$LATEST`. So [`crate::deploy::decide`] checks them here, from
//! what it read, and a refusal is exit 2 naming the key and the value,
//! with nothing written. What the config alone decides is checked when it
//! is read ([`crate::config`]).
//!
//! And what greenlight must not work from: an environment Lambda could not
//! decrypt for the caller (`Environment.Error`) reads as empty, so a
//! deploy would see every variable as changed and drop the kept ones;
//! that stops with exit 1 ([`readable_environment`]).
//!
//! AWS calls: `GetProvisionedConcurrencyConfig` of the alias (and, with
//! `[dns]`, of both colours' aliases), only when SnapStart would be on.

use std::collections::BTreeMap;

use crate::aws::lambda::ExtraSettings;
use crate::aws::lambda::FunctionState;
use crate::context::Ctx;
use crate::deploy::env_values::{ENVIRONMENT_LIMIT, measured_size};
use crate::deploy::settings::{self, Refused};
use crate::deploy::tags::TagChange;
use crate::error::{Error, Result};
use crate::secrets::Environment;

/// What a deploy would leave the function with, to check as Lambda would.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    /// The function as it is (`None`: it is created).
    pub have: Option<&'a FunctionState>,
    /// The environment written, kept variables copied in (`None`: the
    /// environment is not written).
    pub environment: Option<Environment>,
    /// The tag writes, and the function's tags before them.
    pub tags: Option<(&'a TagChange, &'a BTreeMap<String, String>)>,
}

/// A refusal: exit 2 naming the config, the key and the value.
fn bad(ctx: Ctx<'_>, key: &str, value: &str, why: &str) -> Error {
    Error::usage(format!("{}: `{key}` = {value}: {why}", ctx.config.origin()))
        .with_hint("change the config (or the function); greenlight checked before writing, so nothing was written")
}

/// Refuses (exit 2, before any write) tag writes `change` that would leave
/// the function (tagged `have`) with more tags than Lambda keeps.
pub fn tag_count(ctx: Ctx<'_>, change: &TagChange, have: &BTreeMap<String, String>) -> Result<()> {
    let Some(count) = change.too_many(have) else {
        return Ok(());
    };
    let given = ctx.config.function.settings.extra.tags.as_ref();
    Err(bad(
        ctx,
        "function.tags",
        &format!("({} tags)", given.map_or(0, BTreeMap::len)),
        &format!(
            "the function would have {count} tags with those other tools set and greenlight's own list, more than the 50 Lambda keeps (tags starting with aws: do not count): set fewer here, or remove some the function has"
        ),
    ))
}

/// Refuses (exit 2, before any write) what Lambda would refuse in
/// `outcome`, a deploy that changes `$LATEST` (or creates the function):
/// the config's settings over those `outcome.have` holds.
pub async fn check(ctx: Ctx<'_>, outcome: Outcome<'_>) -> Result<()> {
    let desired = &ctx.config.function.settings;
    let bad = |key: &str, value: &str, why: &str| bad(ctx, key, value, why);
    if let Some(env) = &outcome.environment {
        let size = measured_size(env);
        if size > ENVIRONMENT_LIMIT {
            let count = env.keys().count();
            return Err(bad(
                "function.environment",
                &format!("({count} variables, references read and kept ones included)"),
                &format!(
                    "{size} bytes as Lambda measures them (the variables as compact JSON), over its limit of {ENVIRONMENT_LIMIT} bytes for a function's environment; keep large values out of it (the function can read them from SSM or Secrets Manager when it runs)"
                ),
            ));
        }
    }
    let defaults = ExtraSettings::default().normalised();
    let have_extra = outcome.have.map_or(&defaults, |h| &h.extra);
    let runtime = desired
        .runtime
        .as_deref()
        .or(outcome.have.and_then(|h| h.runtime.as_deref()));
    let snap_start = desired.extra.snap_start.unwrap_or(
        outcome
            .have
            .is_some_and(|h| h.extra.snap_start == Some(true)),
    );
    let extra = desired.extra.over(have_extra);
    if let Some(Refused { key, value, why }) =
        settings::refused_together(runtime, snap_start, &extra)
    {
        return Err(bad(key, &value, &why));
    }
    if let Some((change, have)) = outcome.tags {
        tag_count(ctx, change, have)?;
    }
    if snap_start && outcome.have.is_some() {
        for alias in aliases(ctx) {
            if let Some(units) = ctx
                .lambda
                .provisioned_concurrency(ctx.function(), alias)
                .await?
            {
                return Err(bad(
                    "function.snap_start",
                    "true",
                    &format!(
                        "alias {alias} has provisioned concurrency ({units}), which Lambda does not allow on a SnapStart version: remove it from the alias, or turn SnapStart off"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The aliases a new version may be released through: the alias, and with
/// `[dns]` or `[alb]` both colours'.
fn aliases<'a>(ctx: Ctx<'a>) -> Vec<&'a str> {
    let mut aliases = vec![ctx.config.function.alias.as_str()];
    let dns = ctx
        .config
        .dns
        .iter()
        .flat_map(|d| &d.colours)
        .map(|c| c.alias.as_str());
    let alb = ctx
        .config
        .alb
        .iter()
        .flat_map(|a| &a.colours)
        .map(|c| c.alias.as_str());
    for alias in dns.chain(alb) {
        if !aliases.contains(&alias) {
            aliases.push(alias);
        }
    }
    aliases
}

/// Stops (exit 1, before any write) when the config manages the
/// environment but Lambda could not show `state`'s to the caller: greenlight
/// would compare with an empty one, publish every time and drop every
/// variable it keeps.
pub fn readable_environment(ctx: Ctx<'_>, state: &FunctionState) -> Result<()> {
    let (Some(_), Some(error)) = (
        &ctx.config.function.settings.environment,
        &state.environment_error,
    ) else {
        return Ok(());
    };
    Err(Error::no_traffic_moved(format!(
        "cannot read the environment of function {}:{}: Lambda shows an error instead of its variables, and greenlight neither compares with nor writes over variables it cannot read",
        ctx.function(),
        state.version
    ))
    .with_cause(error)
    .with_hint(
        "give the identity greenlight runs as kms:Decrypt on the KMS key that encrypts the environment (function.kms_key, or the key the function names); nothing was written",
    ))
}
