//! Many functions in one run: every selected entry of `[[functions]]`
//! goes through the same pipeline as a single function, several at once.
//!
//! In: the checked configs (one per function, see [`crate::config::functions`]).
//! Out: one [`Report`] holding each function's report, whose exit code is
//! the worst of theirs. Functions are independent: one function's failure
//! rolls back that function only, and the others finish. Up to `--jobs` run
//! at once; their Lambda requests share one pace per region
//! ([`crate::aws::pacing`]), so the run goes as fast as the account's quota allows.
//! Functions with the same source share one package
//! ([`crate::app::shared_packages`]). With `[release] together` every function
//! runs at once and they move traffic in lockstep ([`crate::lockstep`]):
//! one failing rolls them all back. Before any function goes on, each
//! learns the secret values its versions hold, so every function's output
//! is masked with the values of all ([`app::Ready::learn_secrets`]).

use futures::StreamExt;

use crate::app::{self, Company, Prepared, Shared};
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::error::{Error, Failure, Result};
use crate::lockstep::{Left, Lockstep, Member};
use crate::report::Report;

/// Keeps the functions `--only` names (all without it); the flag says
/// whether the file uses `[[functions]]`. An unknown name is exit 2.
pub fn select(cli: &Cli, configs: Vec<Config>, many: bool) -> Result<(Vec<Config>, bool)> {
    if let Command::Package { out: Some(_) } = &cli.command
        && configs.len() > 1
        && cli.only.len() != 1
    {
        return Err(Error::usage(
            "`package --out` writes one zip, but the config has several functions",
        )
        .with_hint(
            "add --only NAME, or leave out --out (each zip goes to .greenlight/<function>.zip)",
        ));
    }
    if cli.only.is_empty() {
        return Ok((configs, many));
    }
    let names: Vec<&str> = configs.iter().map(|c| c.function.name.as_str()).collect();
    if let Some(unknown) = cli.only.iter().find(|n| !names.contains(&n.as_str())) {
        return Err(Error::usage(format!(
            "--only {unknown}: {} has no function of that name",
            cli.config.display()
        ))
        .with_hint(format!("it has: {}", names.join(", "))));
    }
    let selected = configs
        .into_iter()
        .filter(|c| cli.only.contains(&c.function.name))
        .collect();
    Ok((selected, many))
}

/// Runs the command for every function in `configs`, `--jobs` at a time
/// (all at once when they release together), and reports each; the exit
/// code is the worst of theirs. First every function's part that needs no
/// AWS is done ([`app::prepare`]: checks, builds, packages): if a function's
/// configuration is wrong there (exit 2), no function calls AWS at all.
pub async fn run(cli: &Cli, configs: Vec<Config>, shared: &Shared) -> Report {
    let total = configs.len();
    let together = configs.iter().any(|c| c.release.together);
    let names: Vec<String> = configs.iter().map(|c| c.function.name.clone()).collect();
    let board = Lockstep::new(total);
    let members: Vec<Option<Member>> = (0..total)
        .map(|index| together.then(|| board.member(index, &names[index])))
        .collect();
    let mut prepared = Vec::with_capacity(total);
    for (config, member) in configs.into_iter().zip(&members) {
        prepared.push(app::prepare(cli, config, Company::Fleet(*member), shared).await);
    }
    let wrong: Vec<&str> = prepared
        .iter()
        .filter_map(|p| match p {
            Prepared::Ended(r) if r.exit_code == Failure::Usage.exit_code() => {
                r.function.as_deref()
            }
            _ => None,
        })
        .collect();
    let (reports, hint) = if wrong.is_empty() {
        // Each function's output is masked with the secret values of all.
        let prepared = futures::future::join_all(prepared.into_iter().map(|p| async move {
            match p {
                Prepared::Ready(ready) => ready.learn_secrets().await,
                ended => ended,
            }
        }))
        .await;
        let jobs = if together {
            total
        } else {
            usize::from(cli.jobs)
        };
        let reports = futures::stream::iter(prepared.into_iter().zip(&members))
            .map(|(prepared, member)| async move {
                let report = match prepared {
                    Prepared::Ended(report) => *report,
                    Prepared::Ready(ready) => ready.run(cli).await,
                };
                if let Some(member) = member {
                    member.leave(left(&report));
                }
                report
            })
            .buffered(jobs.max(1))
            .collect()
            .await;
        let hint = "each function's section says what happened to it; the others were not affected";
        (reports, hint)
    } else {
        let why = not_run(&wrong);
        let reports = prepared
            .into_iter()
            .map(|p| match p {
                Prepared::Ended(report) => *report,
                Prepared::Ready(ready) => ready.not_run(why.clone()),
            })
            .collect();
        let hint = "a configuration error stops every function before any AWS write: fix it (its function's section says what is wrong) and run again";
        (reports, hint)
    };
    summary(cli, reports, hint)
}

/// The error of a function not run because the functions `wrong` have
/// configuration errors.
fn not_run(wrong: &[&str]) -> Error {
    Error::usage(format!(
        "not run: the configuration of {} is wrong, and no function of the fleet calls AWS until every one's is right",
        wrong.join(", ")
    ))
    .with_hint("nothing in AWS was called; fix that configuration and run again")
}

/// The fleet's report: each function's, and the worst exit code of theirs,
/// with `hint` when one failed.
fn summary(cli: &Cli, reports: Vec<Report>, hint: &str) -> Report {
    let total = reports.len();
    let mut report = Report::new(cli.command.name());
    let failed: Vec<String> = reports
        .iter()
        .filter(|r| r.exit_code != 0)
        .map(|r| {
            format!(
                "{} ({}, exit {})",
                r.function.as_deref().unwrap_or("?"),
                r.outcome,
                r.exit_code
            )
        })
        .collect();
    let worst = reports
        .iter()
        .map(|r| r.exit_code)
        .max_by_key(|code| severity(*code))
        .unwrap_or(0);
    let mut outcomes: Vec<&str> = reports.iter().map(|r| r.outcome.as_str()).collect();
    outcomes.dedup();
    let outcome = match outcomes.as_slice() {
        [one] => (*one).to_owned(),
        _ => "mixed".to_owned(),
    };
    report.outcome = outcome.clone();
    if worst != 0 {
        report.fail(
            &outcome,
            Error::new(
                failure_of(worst),
                format!(
                    "{} of {total} functions did not finish: {}",
                    failed.len(),
                    failed.join(", ")
                ),
            )
            .with_hint(hint),
        );
    }
    report.functions = reports;
    report
}

/// How a function's run ended, for the others on the board. `approve`
/// never starts a release, so a function it refused or stopped before any
/// move (nothing in progress there, a next move not listed, another
/// runner's write) fails nobody: one with nothing in progress is out of
/// the count, another keeps the rest where they are (none rolls back).
fn left(report: &Report) -> Left {
    let standing = report.release.as_ref().and_then(|r| r.in_progress.as_ref());
    let refused = report.command == "approve" && report.exit_code == 1;
    match (report.exit_code, standing) {
        _ if refused && report.outcome == "nothing_in_progress" => Left::Done,
        _ if refused => Left::Stopped(
            0,
            report
                .error
                .as_ref()
                .map_or_else(|| report.outcome.clone(), |e| e.message.clone()),
        ),
        (0 | 5, Some(at)) => Left::Stopped(
            at.step.saturating_sub(1),
            match (&at.held, at.waiting_for_approval) {
                (Some(held), _) => format!("held at {} %: {held}", at.percent),
                (None, Some(next)) => format!("waiting for approval to move to {next} %"),
                (None, None) => format!(
                    "its bake at {} % has {}s left",
                    at.percent, at.bake_left_secs
                ),
            },
        ),
        (0, _) => Left::Done,
        _ => Left::Failed(
            report
                .error
                .as_ref()
                .map_or_else(|| report.outcome.clone(), |e| e.message.clone()),
        ),
    }
}

/// How bad an exit code is, for "the worst outcome": a person must act (4),
/// rolled back (3), failed before traffic moved (1), bad input (2), held
/// (5), fine (0).
fn severity(code: u8) -> u8 {
    match code {
        4 => 5,
        3 => 4,
        1 => 3,
        2 => 2,
        5 => 1,
        _ => 0,
    }
}

/// The failure class whose exit code is `code`.
fn failure_of(code: u8) -> Failure {
    match code {
        2 => Failure::Usage,
        3 => Failure::RolledBack,
        4 => Failure::NeedsOperator,
        5 => Failure::Held,
        _ => Failure::NoTrafficMoved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_exit_code_wins_and_maps_back() {
        let worst = [0, 5, 1, 3, 0]
            .into_iter()
            .max_by_key(|c| severity(*c))
            .unwrap_or(0);
        assert_eq!(worst, 3);
        for code in [1, 2, 3, 4, 5] {
            assert_eq!(failure_of(code).exit_code(), code);
        }
    }
}
