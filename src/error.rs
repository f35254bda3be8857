//! Errors and exit codes.
//!
//! Every failure becomes an [`Error`]: one line saying what went wrong, an
//! optional cause (the underlying error chain) and an optional hint saying what
//! to do. The exit code is decided here and nowhere else, from the error's
//! [`Failure`] class, so scripts can rely on it:
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0 | success (including "nothing to deploy") |
//! | 1 | failed before any traffic moved: nothing changed for users (also: another runner changed the alias, so this one stopped; or the report could not be written to standard output) |
//! | 2 | usage or configuration error: nothing that changes AWS was called |
//! | 3 | traffic moved, then something failed and traffic was rolled back |
//! | 4 | the rollback itself failed: a person must act |
//! | 5 | a waiting release is held: its metric gates had too little traffic to judge the new version within `release.max_hold`; traffic stays at the current step for `promote` or `rollback` |

use std::fmt;

/// What kind of failure happened, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Failed before any traffic moved (exit 1).
    NoTrafficMoved,
    /// Usage or configuration error; nothing in AWS was changed (exit 2).
    Usage,
    /// Someone else changed the alias meanwhile; this run stopped without
    /// writing further (exit 1: this run moved no traffic after that).
    Conflict,
    /// Traffic moved, then something failed and traffic was restored (exit 3).
    RolledBack,
    /// Restoring traffic failed: the state needs a person (exit 4).
    NeedsOperator,
    /// A waiting release stopped at a step for want of traffic to judge
    /// (exit 5); the release is left in progress.
    Held,
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(self) -> u8 {
        match self {
            Failure::NoTrafficMoved | Failure::Conflict => 1,
            Failure::Usage => 2,
            Failure::RolledBack => 3,
            Failure::NeedsOperator => 4,
            Failure::Held => 5,
        }
    }
}

/// A failure with everything needed to explain it to a person.
///
/// Its texts may hold text from outside greenlight (the cause always is),
/// marked as [`crate::outside`] says: show them through
/// [`crate::outside::render`], which masks secret values in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Error {
    /// Which class of failure this is (decides the exit code).
    pub failure: Failure,
    /// One line: what went wrong, naming the file, key, value or resource at fault.
    pub message: String,
    /// The underlying cause, when there is one (for example the AWS error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// What the user can do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Shorthand for results in greenlight.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure of the given class with a one-line message.
    pub fn new(failure: Failure, message: impl Into<String>) -> Self {
        Error {
            failure,
            message: message.into(),
            cause: None,
            hint: None,
        }
    }

    /// A configuration or usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Failure::Usage, message)
    }

    /// A failure before any traffic moved (exit 1).
    pub fn no_traffic_moved(message: impl Into<String>) -> Self {
        Self::new(Failure::NoTrafficMoved, message)
    }

    /// Adds the underlying cause: text from outside greenlight (an AWS
    /// error, a `StateReason`, an OS error), marked so wherever it goes
    /// ([`crate::outside`]).
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(crate::outside::quote(&cause.to_string()));
        self
    }

    /// Adds a hint saying what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        self.failure.exit_code()
    }
}

/// Errors are printed on standard error: labels in colour only when it is
/// a terminal and `NO_COLOR` is not set (the console crate decides).
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = |text: &'static str| console::style(text).for_stderr().bold();
        write!(f, "{} {}", label("error:").red(), self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, "\n{} {cause}", label("caused by:"))?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n{} {hint}", label("hint:").cyan())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_documented_contract() {
        assert_eq!(Failure::NoTrafficMoved.exit_code(), 1);
        assert_eq!(Failure::Conflict.exit_code(), 1);
        assert_eq!(Failure::Usage.exit_code(), 2);
        assert_eq!(Failure::RolledBack.exit_code(), 3);
        assert_eq!(Failure::NeedsOperator.exit_code(), 4);
        assert_eq!(Failure::Held.exit_code(), 5);
    }

    #[test]
    fn renders_message_cause_and_hint_on_their_own_lines() {
        let err = Error::usage("greenlight.toml: bad")
            .with_cause("because")
            .with_hint("fix it");
        let shown = crate::outside::render(
            &err.to_string(),
            &crate::secrets::Redactor::default(),
            crate::outside::Sink::Plain,
        );
        assert_eq!(
            shown,
            "error: greenlight.toml: bad\ncaused by: because\nhint: fix it"
        );
    }
}
