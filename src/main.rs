//! The `greenlight` binary: parse arguments, run the command, print the report.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use greenlight::cli::{Cli, Command};
use greenlight::error::Error;
use greenlight::report::Report;
use greenlight::ui::{self, OutputFormat};

fn main() -> ExitCode {
    ui::honour_no_color();
    let cli = Cli::parse();
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
        Ok(runtime) => runtime.block_on(greenlight::app::run(&cli)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime\ncaused by: {e}");
            return ExitCode::from(1);
        }
    };
    match cli.output {
        OutputFormat::Json => print_json(&report),
        OutputFormat::Text => {
            let code = print(report.to_string().as_bytes(), report.exit_code);
            if let Some(error) = &report.error {
                let _ = writeln!(std::io::stderr().lock(), "{error}");
            }
            code
        }
    }
}

/// Prints `report` as one JSON document; the exit code is the report's.
fn print_json(report: &Report) -> ExitCode {
    let json = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
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
