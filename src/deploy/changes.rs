//! How a function differs from what the configuration and the artifact
//! give ([`differences`]), one [`Change`] per setting with a description
//! safe to print, and the settings to send for them ([`changed_settings`]).

use crate::aws::lambda::FunctionState;
use crate::aws::lambda::{ExtraSettings, FunctionSettings};
use crate::deploy::settings::{self, Setting};
use crate::deploy::tags::TagChange;
use std::collections::BTreeMap;

/// A setting that can differ between the config and a function.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Code,
    Runtime,
    Handler,
    Role,
    Memory,
    Timeout,
    Environment,
    Description,
    SnapStart,
    /// One of [`crate::deploy::extra_settings`] (tags apart).
    Extra(Setting),
    /// The function's tags: what to set and remove.
    Tags(TagChange),
}

/// One difference, with a description safe to print.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    field: Field,
    /// What differs, e.g. "memory 128 → 256" (environment by key only).
    pub text: String,
}

impl Change {
    /// Whether this goes with `UpdateFunctionCode`: the code, or the
    /// architecture (Lambda takes it with the code).
    pub fn is_code(&self) -> bool {
        matches!(
            self.field,
            Field::Code | Field::Extra(Setting::Architecture)
        )
    }

    /// Whether this is new code (the zip or image differs).
    pub fn is_new_code(&self) -> bool {
        self.field == Field::Code
    }

    /// The tag writes, when this is the tags: they belong to the function,
    /// not to `$LATEST`, and are made after the version is published.
    pub fn tags(&self) -> Option<&TagChange> {
        match &self.field {
            Field::Tags(change) => Some(change),
            _ => None,
        }
    }

    /// Whether this changes `$LATEST`, so a new version is published
    /// (everything but the tags).
    pub fn changes_latest(&self) -> bool {
        self.tags().is_none()
    }
}

/// How `state` of function `function` differs from the artifact and the
/// settings the config gives. `tags` are the function's, read when the
/// config manages some.
pub(super) fn differences(
    function: &str,
    desired: &FunctionSettings,
    code_differs: bool,
    state: &FunctionState,
    tags: Option<&BTreeMap<String, String>>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut push = |field, text: String| changes.push(Change { field, text });
    if code_differs {
        push(Field::Code, "code".to_owned());
    }
    let number = |n: Option<i32>| n.map(|n| n.to_string());
    let settings = [
        (
            Field::Runtime,
            "runtime",
            desired.runtime.clone(),
            state.runtime.clone(),
        ),
        (
            Field::Handler,
            "handler",
            desired.handler.clone(),
            state.handler.clone(),
        ),
        (
            Field::Role,
            "role",
            desired.role.clone(),
            state.role.clone(),
        ),
        (
            Field::Memory,
            "memory",
            number(desired.memory),
            number(state.memory),
        ),
        (
            Field::Timeout,
            "timeout",
            number(desired.timeout),
            number(state.timeout),
        ),
        (
            Field::Description,
            "description",
            desired.description.clone(),
            Some(state.description.clone()),
        ),
    ];
    for (field, key, want, have) in settings {
        if let Some(want) = want
            && have.as_deref() != Some(want.as_str())
        {
            let have = have.unwrap_or_else(|| "(none)".into());
            push(field, format!("{key} {have} → {want}"));
        }
    }
    let snap_start = state.extra.snap_start.unwrap_or(false);
    if let Some(want) = desired.extra.snap_start
        && want != snap_start
    {
        push(
            Field::SnapStart,
            format!("snap_start {snap_start} → {want}"),
        );
    }
    if let Some(env) = &desired.environment
        && env.differs_from(&state.environment)
    {
        push(
            Field::Environment,
            format!(
                "environment ({})",
                state.environment.describe_change_to(env)
            ),
        );
    }
    for (setting, text) in settings::differences(&desired.extra, &state.extra) {
        push(Field::Extra(setting), text);
    }
    if let (Some(want), Some(have)) = (&desired.extra.tags, tags)
        && let Some(change) = TagChange::between(function, want, have)
    {
        let text = change.text.clone();
        push(Field::Tags(change), text);
    }
    changes
}

/// The settings to send with `UpdateFunctionConfiguration` to `$LATEST`
/// as `have` holds it: only those listed in `changes`, partial ones
/// completed from `have`, and the variables the config keeps with the
/// values `have` has.
pub(super) fn changed_settings(
    desired: &FunctionSettings,
    changes: &[Change],
    have: &FunctionState,
) -> FunctionSettings {
    let has = |field| changes.iter().any(|c| c.field == field);
    let extras: Vec<Setting> = changes
        .iter()
        .filter_map(|c| match c.field {
            Field::Extra(setting) => Some(setting),
            _ => None,
        })
        .collect();
    let pick = |field, value: &Option<String>| value.clone().filter(|_| has(field));
    FunctionSettings {
        runtime: pick(Field::Runtime, &desired.runtime),
        handler: pick(Field::Handler, &desired.handler),
        role: pick(Field::Role, &desired.role),
        memory: desired.memory.filter(|_| has(Field::Memory)),
        timeout: desired.timeout.filter(|_| has(Field::Timeout)),
        environment: desired
            .environment
            .as_ref()
            .filter(|_| has(Field::Environment))
            .map(|env| env.with_kept_from(&have.environment)),
        description: pick(Field::Description, &desired.description),
        extra: ExtraSettings {
            snap_start: desired.extra.snap_start.filter(|_| has(Field::SnapStart)),
            ..desired.extra.to_send(&extras, &have.extra)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Environment;

    fn env(v: &str) -> Environment {
        Environment::new([("TOKEN".to_owned(), v.to_owned())].into())
    }

    #[test]
    fn only_configured_settings_are_compared() {
        let state = FunctionState {
            code_sha256: "abc".into(),
            memory: Some(128),
            ..Default::default()
        };
        assert!(
            differences("orders", &FunctionSettings::default(), false, &state, None).is_empty()
        );
        let want = FunctionSettings {
            memory: Some(256),
            ..Default::default()
        };
        let changes = differences("orders", &want, true, &state, None);
        let texts: Vec<&str> = changes.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["code", "memory 128 → 256"]);
        let send = changed_settings(&want, &changes, &state);
        assert_eq!(
            send,
            FunctionSettings {
                memory: Some(256),
                ..Default::default()
            }
        );
    }

    #[test]
    fn environment_changes_are_described_without_values() {
        let state = FunctionState {
            code_sha256: "abc".into(),
            environment: env("old-secret"),
            ..Default::default()
        };
        let want = FunctionSettings {
            environment: Some(env("new-secret")),
            ..Default::default()
        };
        let changes = differences("orders", &want, false, &state, None);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].text, "environment (changed TOKEN)");
    }
}
