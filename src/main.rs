//! The `greenlight` binary: parse arguments, run the command, print the report.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use greenlight::cli::{Cli, Command};
use greenlight::error::Error;
use greenlight::report::Report;
use greenlight::ui::{self, OutputFormat};

fn main() -> ExitCode {
    ui::honour_no_color();
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(api) = greenlight::watch::runtime_api(&args) {
        return serve_lambda(&api);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // `--help` and `--version` print and exit 0; other argument errors
        // exit 2, with `--output json` as one JSON document.
        Err(e) if e.exit_code() == 0 || !wants_json(&args) => e.exit(),
        Err(e) => return print_json(&usage_report(&e, &args)),
    };
    // These two need no config.
    match cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "greenlight", &mut script);
            return print(&script, 0);
        }
        Command::Man => {
            let mut page = Vec::new();
            return match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print(&page, 0),
                Err(e) => {
                    eprintln!("error: cannot render the man page\ncaused by: {e}");
                    ExitCode::from(1)
                }
            };
        }
        _ => {}
    }
    let report = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async {
            match cli.command {
                Command::Watch { .. } => greenlight::watch::install::command(&cli).await,
                _ => greenlight::app::run(&cli).await,
            }
        }),
        Err(e) => {
            eprintln!("error: cannot start the async runtime\ncaused by: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match cli.output {
        OutputFormat::Json => print_json(&report),
        OutputFormat::Text => {
            let code = print(report.to_string().as_bytes(), report.exit_code);
            if let Some(error) = report.error_text() {
                let _ = writeln!(std::io::stderr().lock(), "{error}");
            }
            code
        }
    };
    greenlight::report::ci_summary::publish(&report);
    code
}

/// Serves the Lambda Runtime API at `api` as the watcher until it fails
/// (then exits 1, and Lambda starts a new process).
fn serve_lambda(api: &str) -> ExitCode {
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::no_traffic_moved("cannot start the async runtime").with_cause(e))
        .and_then(|runtime| runtime.block_on(greenlight::watch::serve(api)));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Whether the command line asks for `--output json` (as two words or as
/// `--output=json`), read without clap so it holds when parsing failed.
fn wants_json(args: &[OsString]) -> bool {
    let args: Vec<&OsString> = args
        .iter()
        .skip(1)
        .take_while(|a| a.as_os_str() != "--")
        .collect();
    args.iter().any(|a| a.as_os_str() == "--output=json")
        || args
            .windows(2)
            .any(|w| w[0].as_os_str() == "--output" && w[1].as_os_str() == "json")
}

/// The report of an argument error, shaped like every other usage error:
/// clap's first line (and its list of possible values) as the message,
/// its tips and the usage line as the hint.
fn usage_report(e: &clap::Error, args: &[OsString]) -> Report {
    let text = e.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut message = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    let mut hints = Vec::new();
    for line in lines {
        if let Some(tip) = line.strip_prefix("tip: ") {
            hints.push(tip.to_owned());
        } else if let Some(usage) = line.strip_prefix("Usage: ") {
            hints.push(format!("usage: {usage}"));
        } else if line.starts_with('[') {
            message.push(' ');
            message.push_str(line);
        }
    }
    let command = Cli::command();
    let name = command
        .get_subcommands()
        .map(clap::Command::get_name)
        .find(|name| args.iter().skip(1).any(|a| a.as_os_str() == *name))
        .unwrap_or_default();
    let help = match name {
        "" => "greenlight --help".to_owned(),
        name => format!("greenlight {name} --help"),
    };
    hints.push(format!("see `{help}`"));
    let mut report = Report::new(name);
    report.fail(
        "usage_error",
        Error::usage(message).with_hint(hints.join("; ")),
    );
    report
}

/// Prints `report` as one JSON document; the exit code is the report's.
fn print_json(report: &Report) -> ExitCode {
    let json = report
        .json()
        .and_then(|doc| serde_json::to_string_pretty(&doc));
    let json = json.unwrap_or_else(|e| {
        format!(
            "{{\"exit_code\":{},\"error\":{{\"message\":\"cannot render the report: {e}\"}}}}",
            report.exit_code
        )
    });
    print(format!("{json}\n").as_bytes(), report.exit_code)
}

/// Writes `text` to standard output and exits with `code`. When it cannot
/// be written (a full disk, a closed pipe), says so on standard error and
/// exits with `code`, or 1 when `code` is 0: nothing may pass for a success
/// whose report was lost.
fn print(text: &[u8], code: u8) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(code),
        Err(e) => {
            let error =
                Error::no_traffic_moved(format!("cannot write the report to standard output: {e}"));
            let _ = writeln!(std::io::stderr().lock(), "{error}");
            ExitCode::from(if code == 0 { error.exit_code() } else { code })
        }
    }
}
