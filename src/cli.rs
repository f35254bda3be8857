//! Command-line arguments (clap types only; no behaviour).
//!
//! May import: `ui` (the output format) only.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::ui::OutputFormat;

/// Ship AWS Lambda code safely: package, deploy a new version, smoke-test it,
/// then release it by moving the alias, rolling back on failure.
#[derive(Debug, Parser)]
#[command(name = "greenlight", version, about, long_about = None)]
pub struct Cli {
    /// The config file; paths in it are relative to its folder.
    #[arg(
        short,
        long,
        global = true,
        default_value = "greenlight.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,

    /// AWS region (overrides AWS_REGION and the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// AWS profile (overrides AWS_PROFILE).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// AWS endpoint URL, e.g. a local emulator (overrides AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// How long one AWS request may wait for its answer before it counts as
    /// failed and is retried (direct uploads and smoke-test invocations have
    /// their own, longer limits).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        default_value = "60s",
        value_parser = aws_timeout,
        env = "GREENLIGHT_AWS_TIMEOUT"
    )]
    pub aws_timeout: Duration,

    /// With `[[functions]]`: work on this function only (repeatable).
    #[arg(long, global = true, value_name = "NAME")]
    pub only: Vec<String>,

    /// With `[[functions]]`: how many functions are worked on at once.
    #[arg(long, global = true, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,

    /// Lambda requests per second per region, paced on this side so a
    /// fleet runs at the account's quota instead of into its throttling.
    #[arg(long, global = true, value_name = "N", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=1000), env = "GREENLIGHT_LAMBDA_RATE")]
    pub lambda_rate: u32,

    /// How to print the result.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Show more detail (repeatable). Secrets are never shown.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Show only the result, no progress.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Reads `--aws-timeout`: a duration from 1s to 1h. Shorter, every AWS
/// call would time out before its answer; longer, a hung call would hold a
/// release for hours before it is retried.
fn aws_timeout(text: &str) -> Result<Duration, String> {
    let wanted =
        "give a duration from 1s to 1h, such as \"60s\" (the flag or GREENLIGHT_AWS_TIMEOUT)";
    let duration = humantime::parse_duration(text).map_err(|e| format!("{e}: {wanted}"))?;
    if (Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&duration) {
        Ok(duration)
    } else {
        Err(wanted.to_owned())
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the reproducible zip and print its path, size and CodeSha256.
    Package {
        /// Where to write the zip (default: .greenlight/<function>.zip beside the config).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Package, upload, wait, and publish a new version. Moves no traffic.
    Deploy {
        /// List the writes it would make, and make none.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the smoke tests against one published version.
    Test {
        /// The version to test (default: the latest published).
        #[arg(long, value_name = "N")]
        version: Option<String>,
    },
    /// Move the alias to a version (at once or in [release] steps), check
    /// the gates, and roll back on failure.
    Release {
        /// The version to release (default: the latest published).
        #[arg(long, value_name = "N")]
        version: Option<String>,
        /// Start the release (its first step) and exit; `greenlight promote` continues it.
        #[arg(long)]
        no_wait: bool,
        /// List the writes it would make, and make none.
        #[arg(long)]
        dry_run: bool,
    },
    /// Deploy, test and release in one go.
    Ship {
        /// Start the release (its first step) and exit; `greenlight promote` continues it.
        #[arg(long)]
        no_wait: bool,
        /// List the writes it would make, and make none.
        #[arg(long)]
        dry_run: bool,
    },
    /// What `ship` would write (code upload or not and why, configuration
    /// changes with secrets masked, alias moves), making no write: `ship --dry-run`.
    Plan {
        /// Plan only the first step of the release, as `ship --no-wait` would make.
        #[arg(long)]
        no_wait: bool,
    },
    /// One step of a release in progress, for scheduled runs: check the
    /// gates, then move to the next step once the bake is over.
    Promote {
        /// List the write it would make, and make none.
        #[arg(long)]
        dry_run: bool,
    },
    /// Approve the move a release waits for (`[release] approval`): record
    /// who approved in the release record, then make the move when the
    /// bake is over and the gates are green (else the next `promote` does).
    Approve {
        /// Say what it would record and move, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Approve only the release of version N: when another version's
        /// release waits (after a rollback and a new release), exit 1 and
        /// record nothing.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        version: Option<u64>,
    },
    /// Put the alias back on the version live before the last release.
    Rollback {
        /// List the write it would make, and make none.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show what is live, how it got there, and recent versions.
    Status,
    /// List the versions, newest first, with the commit each came from and
    /// what happened to it, as far as AWS tells. Read-only.
    History {
        /// How many of the newest versions to list (default: one page of
        /// Lambda's listing).
        #[arg(long, value_name = "N", default_value_t = 50, value_parser = at_least_one)]
        limit: usize,
    },
    /// Delete old versions, keeping the newest N and every version an alias
    /// or a release record needs.
    Prune {
        /// How many of the newest versions to keep.
        #[arg(long, value_name = "N", default_value_t = 10)]
        keep: usize,
        /// List what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a starter greenlight.toml, the CI role's IAM policy and GitHub
    /// Actions workflows (never overwriting without --force).
    Init {
        /// The runtime flavour.
        #[arg(long, value_enum, default_value_t = Flavour::Python)]
        flavour: Flavour,
        /// The function name (default: the current folder's name).
        #[arg(long)]
        name: Option<String>,
        /// Run on Graviton: `architecture = "arm64"` (with `--flavour rust`,
        /// cargo-lambda builds for arm64 too; otherwise both say x86_64).
        #[arg(long)]
        arm64: bool,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script, e.g. `greenlight completions bash > /etc/bash_completion.d/greenlight`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `greenlight man > /usr/local/share/man/man1/greenlight.1`.
    Man,
    /// The watcher: greenlight as a Lambda function on a one-minute
    /// schedule, promoting the releases `--no-wait` left in progress (see
    /// "Scheduled canaries without a runner" in README.md). Reads no config.
    Watch {
        /// What to do with it.
        #[command(subcommand)]
        action: WatchAction,
    },
}

/// `greenlight watch …`.
#[derive(Debug, Subcommand)]
pub enum WatchAction {
    /// Create the watcher, or upgrade it in place: its function, schedule,
    /// roles and alarm.
    Install {
        /// The bucket of `[watch] bucket`, where the snapshots are.
        #[arg(long, value_name = "BUCKET")]
        bucket: String,
        /// The prefix of `[watch] prefix`.
        #[arg(long, value_name = "PREFIX", default_value = "greenlight/")]
        prefix: String,
        /// The watcher's execution role (default: one made with only what
        /// it needs, named NAME-role).
        #[arg(long, value_name = "ARN")]
        role: Option<String>,
        /// The watcher's name: its function, schedule and alarm.
        #[arg(long, value_name = "NAME", default_value = "greenlight-watcher")]
        name: String,
        /// The code: a Linux binary of greenlight, or a release .zip holding
        /// one (default: this binary, when it is a static Linux build).
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
    },
    /// The schedule's state, the releases watched and the last run's outcome.
    Status {
        /// The watcher's name.
        #[arg(long, value_name = "NAME", default_value = "greenlight-watcher")]
        name: String,
    },
    /// Delete the watcher: schedule, alarm, function and the roles install
    /// made. Snapshots stay (a `promote` from CI can still continue them).
    Remove {
        /// The watcher's name.
        #[arg(long, value_name = "NAME", default_value = "greenlight-watcher")]
        name: String,
    },
}

impl Command {
    /// Whether this run only plans: `plan`, or `--dry-run` on a command
    /// that writes (`prune --dry-run` lists its own).
    pub fn is_dry_run(&self) -> bool {
        match self {
            Command::Deploy { dry_run }
            | Command::Release { dry_run, .. }
            | Command::Ship { dry_run, .. }
            | Command::Promote { dry_run }
            | Command::Approve { dry_run, .. }
            | Command::Rollback { dry_run } => *dry_run,
            Command::Plan { .. } => true,
            _ => false,
        }
    }

    /// The command's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Package { .. } => "package",
            Command::Deploy { .. } => "deploy",
            Command::Test { .. } => "test",
            Command::Release { .. } => "release",
            Command::Ship { .. } => "ship",
            Command::Plan { .. } => "plan",
            Command::Promote { .. } => "promote",
            Command::Rollback { .. } => "rollback",
            Command::Approve { .. } => "approve",
            Command::Status => "status",
            Command::History { .. } => "history",
            Command::Prune { .. } => "prune",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
            Command::Init { .. } => "init",
            Command::Watch { action } => match action {
                WatchAction::Install { .. } => "watch install",
                WatchAction::Status { .. } => "watch status",
                WatchAction::Remove { .. } => "watch remove",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_timeout_is_one_second_to_one_hour() {
        let parse =
            |value: &str| Cli::try_parse_from(["greenlight", "--aws-timeout", value, "status"]);
        for (value, seconds) in [("1s", 1), ("60s", 60), ("1h", 3600)] {
            let cli = parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(cli.aws_timeout, Duration::from_secs(seconds));
        }
        for value in ["0s", "1ms", "999ms", "61m", "10000y", "banana"] {
            let error = parse(value).expect_err(value).to_string();
            assert!(error.contains("from 1s to 1h"), "{value}: {error}");
        }
    }
}

/// A count of 1 or more.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("give a whole number, 1 or more".to_owned()),
    }
}

/// The kind of function the starter config is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Flavour {
    /// Python, handler `index.handler` in `src/`.
    Python,
    /// Node.js, handler `index.handler` in `src/`.
    Node,
    /// Rust built with cargo-lambda (`bootstrap` in target/lambda/NAME).
    Rust,
    /// Any custom runtime: an executable `bootstrap` in `dist/`.
    Custom,
}
