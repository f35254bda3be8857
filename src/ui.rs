//! Progress lines for people.
//!
//! Progress goes to standard error, so standard output holds only the final
//! summary (or the JSON document). It is shown in text mode unless `-q`; in
//! JSON mode only with `-v`. Long work (packaging, uploads, waits, smoke
//! tests, bakes) also gets a spinner or a bar (indicatif), drawn only when
//! standard error is a terminal and progress is shown, so logs and pipes get
//! plain lines. Colours follow `NO_COLOR` (only a non-empty value turns them
//! off: [`honour_no_color`]) and `CLICOLOR`. Progress lines are built from greenlight's own
//! data, never from environment values; text in them that came from outside
//! (a function's response, an AWS error) is shown as [`crate::outside`]
//! says: masked with what the run's [`Redactor`] knows, and on GitHub
//! Actions kept from starting a workflow command.
//!
//! May import: the base modules (`outside`, `secrets`) only.

use std::fmt::Display;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::outside::{self, Sink};
use crate::secrets::Redactor;

/// Follows `NO_COLOR` as no-color.org defines it: only a non-empty value
/// turns colour off. (The console crate, which colours errors and bars,
/// takes an empty `NO_COLOR` for a set one; without it, it would decide
/// as here: `CLICOLOR_FORCE` forces colour, otherwise a terminal that is not
/// `dumb` gets colour unless `CLICOLOR=0`.)
pub fn honour_no_color() {
    if std::env::var_os("NO_COLOR").is_none_or(|v| !v.is_empty()) {
        return;
    }
    let var = |name: &str| std::env::var(name).ok();
    let forced = var("CLICOLOR_FORCE").is_some_and(|v| v != "0");
    let wanted = |term: console::Term| {
        forced
            || (term.is_term()
                && var("TERM").is_some_and(|t| t != "dumb")
                && var("CLICOLOR").is_none_or(|v| v != "0"))
    };
    console::set_colors_enabled(wanted(console::Term::stdout()));
    console::set_colors_enabled_stderr(wanted(console::Term::stderr()));
}

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
    /// On GitHub Actions, whose runner reads workflow commands from standard error.
    github: bool,
    bars: MultiProgress,
    /// In a fleet run, the function each line is about.
    prefix: Option<String>,
}

impl Ui {
    /// A printer for the given format and verbosity (`-v` count minus `-q` count).
    pub fn new(format: OutputFormat, verbosity: i8, redactor: Redactor) -> Self {
        let show_steps = match format {
            OutputFormat::Text => verbosity >= 0,
            OutputFormat::Json => verbosity > 0,
        };
        // indicatif draws nothing when standard error is not a terminal.
        let target = if show_steps {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Ui {
            show_steps,
            show_details: show_steps && verbosity > 0,
            redactor,
            github: outside::on_github(),
            bars: MultiProgress::with_draw_target(target),
            prefix: None,
        }
    }

    /// This printer for one function of a fleet run: every line starts with
    /// `[name]`, and no bars are drawn (many functions work at once).
    pub fn for_function(mut self, name: &str) -> Self {
        self.prefix = Some(format!("[{name}] "));
        self.bars = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        self
    }

    /// This printer without progress lines: what a dry run's commands
    /// print while they record instead of writing.
    pub fn quiet(&self) -> Self {
        Ui {
            show_steps: false,
            show_details: false,
            ..self.clone()
        }
    }

    /// A spinner with the time spent, for work of unknown length.
    pub fn spinner(&self, message: impl Display) -> Activity {
        self.activity(
            ProgressBar::new_spinner(),
            "{spinner} {msg} {elapsed}",
            message,
        )
    }

    /// A bar counting `total` bytes.
    pub fn bytes(&self, message: impl Display, total: u64) -> Activity {
        self.activity(
            ProgressBar::new(total),
            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            message,
        )
    }

    /// A bar running down `length`, with the time left.
    pub fn countdown(&self, message: impl Display, length: Duration) -> Activity {
        self.activity(
            ProgressBar::new(length.as_secs().max(1)),
            "{spinner} {msg} [{clock}] {left} left",
            message,
        )
    }

    fn activity(&self, bar: ProgressBar, template: &str, message: impl Display) -> Activity {
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .progress_chars("=> ")
            // A countdown's length is in seconds and runs on the clock.
            .with_key(
                "left",
                |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                    let left = state
                        .len()
                        .unwrap_or(0)
                        .saturating_sub(state.elapsed().as_secs());
                    let _ = write!(
                        out,
                        "{}",
                        humantime::format_duration(Duration::from_secs(left))
                    );
                },
            )
            .with_key(
                "clock",
                |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                    let length = state.len().unwrap_or(1).max(1) as f64;
                    let done = (state.elapsed().as_secs_f64() / length).min(1.0);
                    let filled = (done * 30.0) as usize;
                    let _ = write!(out, "{}{}", "=".repeat(filled), " ".repeat(30 - filled));
                },
            );
        let bar = self
            .bars
            .add(bar.with_style(style).with_message(message.to_string()));
        bar.enable_steady_tick(Duration::from_millis(120));
        Activity(bar)
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

    /// The run's secret values, to learn more into ([`Redactor::learn`]).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    fn print(&self, message: impl Display) {
        let prefix = self.prefix.as_deref().unwrap_or_default();
        let sink = Sink::Log {
            github: self.github,
        };
        let line = outside::render(&format!("{prefix}{message}"), &self.redactor, sink);
        // Above any bar, which is drawn again after.
        self.bars.suspend(|| {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        });
    }
}

/// "1 file", "2 files".
pub fn count(n: usize, thing: &str) -> String {
    match n {
        1 => format!("1 {thing}"),
        n => format!("{n} {thing}s"),
    }
}

/// `value` with at most two decimals and no trailing zeros.
pub fn round(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A spinner or bar on screen until dropped (then it is cleared).
#[derive(Debug)]
pub struct Activity(ProgressBar);

impl Activity {
    /// Counts `n` more units done.
    pub fn advance(&self, n: u64) {
        self.0.inc(n);
    }

    /// A handle that counts into this activity from elsewhere (e.g. a body
    /// being sent); it does not end the activity when dropped.
    pub fn counter(&self) -> Counter {
        Counter(self.0.clone())
    }
}

/// Sets how much of an [`Activity`] is done.
#[derive(Debug, Clone)]
pub struct Counter(ProgressBar);

impl Counter {
    /// `done` units are done.
    pub fn set(&self, done: u64) {
        self.0.set_position(done);
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
