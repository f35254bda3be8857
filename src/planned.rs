//! What a dry run records (`plan`, `--dry-run`): the writes a command
//! would make, in order, and what happens between them.
//!
//! The commands themselves run in a dry run: a context (`Ctx`) that
//! carries a [`DryRun`] makes each write site append a
//! [`PlannedStep`] instead of calling AWS, and each wait (a bake, a settle
//! window, Route 53's INSYNC) a line instead of sleeping, so a plan cannot
//! say something the command would not do.
//!
//! May import: nothing of the crate (a base module).

use std::collections::BTreeMap;
use std::fmt;

/// Stands for the version a deploy would publish, before it exists.
pub const NEW_VERSION: &str = "the new version";

/// How a plan names `version`: "version 4" for a published version,
/// otherwise as it is ([`NEW_VERSION`]).
pub fn label(version: &str) -> String {
    if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit()) {
        format!("version {version}")
    } else {
        version.to_owned()
    }
}

/// What a command would do, in order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DryRun {
    /// The command planned, e.g. "ship".
    pub command: String,
    /// The writes and what happens between them.
    pub steps: Vec<PlannedStep>,
    /// True once the pin of an alias on `$LATEST` is listed (it is made once).
    #[serde(skip)]
    pub pinned: bool,
    /// The aliases this plan has pointed (created or moved), and at what:
    /// what later reads in the same dry run would find.
    #[serde(skip)]
    pub aliases: BTreeMap<String, String>,
}

/// One write, or what happens between writes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlannedStep {
    /// The AWS API call that would write (e.g. `UpdateAlias`); `None` for a
    /// step that writes nothing (a bake, a check, a reason nothing moves).
    pub call: Option<String>,
    /// What it acts on and why; secrets are masked.
    pub detail: String,
}

impl DryRun {
    /// An empty plan for `command`.
    pub fn new(command: &str) -> DryRun {
        DryRun {
            command: command.to_owned(),
            ..DryRun::default()
        }
    }

    /// How many AWS writes the plan holds.
    pub fn writes(&self) -> usize {
        self.steps.iter().filter(|s| s.call.is_some()).count()
    }

    /// Records the write `call` would make.
    pub fn write(&mut self, call: &str, detail: impl fmt::Display) {
        self.steps.push(PlannedStep {
            call: Some(call.to_owned()),
            detail: detail.to_string(),
        });
    }

    /// Records a step that writes nothing.
    pub fn then(&mut self, detail: impl fmt::Display) {
        self.steps.push(PlannedStep {
            call: None,
            detail: detail.to_string(),
        });
    }
}
