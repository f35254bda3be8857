//! Progress lines for people, and the context every stage receives.
//!
//! Progress goes to standard error, so standard output holds only the final
//! summary (or the JSON document). It is shown in text mode unless `-q`; in
//! JSON mode only with `-v`. Progress lines are built from greenlight's own
//! data, never from environment values; text that comes from outside (a
//! function's response, an AWS error) goes through the [`Redactor`] first.

use std::fmt::Display;
use std::io::Write;

use crate::alarms::Alarms;
use crate::config::Config;
use crate::lambda::Lambda;
use crate::s3::Artifacts;
use crate::secrets::Redactor;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Readable text for people.
    #[default]
    Text,
    /// One JSON document on standard output.
    Json,
}

/// Prints progress.
#[derive(Debug, Clone)]
pub struct Ui {
    show_steps: bool,
    show_details: bool,
    redactor: Redactor,
}

impl Ui {
    /// A printer for the given format and verbosity (`-v` count minus `-q` count).
    pub fn new(format: OutputFormat, verbosity: i8, redactor: Redactor) -> Self {
        let show_steps = match format {
            OutputFormat::Text => verbosity >= 0,
            OutputFormat::Json => verbosity > 0,
        };
        Ui {
            show_steps,
            show_details: show_steps && verbosity > 0,
            redactor,
        }
    }

    /// A progress line, e.g. "publishing version".
    pub fn step(&self, message: impl Display) {
        if self.show_steps {
            self.print(message);
        }
    }

    /// A detail line, shown with `-v`.
    pub fn detail(&self, message: impl Display) {
        if self.show_details {
            self.print(format_args!("  {message}"));
        }
    }

    /// The redactor, for text that came from outside (responses, errors).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    fn print(&self, message: impl Display) {
        let _ = writeln!(std::io::stderr().lock(), "{message}");
    }
}

/// What every pipeline stage works with.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The checked configuration.
    pub config: &'a Config,
    /// The Lambda seam.
    pub lambda: &'a Lambda,
    /// The CloudWatch alarms seam.
    pub alarms: &'a Alarms,
    /// The S3 seam, for packages over the direct-upload limit.
    pub artifacts: &'a Artifacts,
    /// Progress output.
    pub ui: &'a Ui,
}

impl Ctx<'_> {
    /// The function name.
    pub fn function(&self) -> &str {
        &self.config.function.name
    }

    /// The alias name.
    pub fn alias(&self) -> &str {
        &self.config.function.alias
    }
}
