//! The `greenlight` binary: parse arguments, run the command, print the report.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use greenlight::cli::{Cli, Command};
use greenlight::ui::{self, OutputFormat};

fn main() -> ExitCode {
    ui::honour_no_color();
    let cli = Cli::parse();
    // These two need no config.
    match cli.command {
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "greenlight", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            let man = clap_mangen::Man::new(Cli::command());
            return match man.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the man page\ncaused by: {e}");
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
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&report).unwrap_or_else(|e| {
                format!("{{\"exit_code\":{},\"error\":{{\"message\":\"cannot render the report: {e}\"}}}}", report.exit_code)
            });
            let _ = writeln!(std::io::stdout().lock(), "{json}");
        }
        OutputFormat::Text => {
            let _ = write!(std::io::stdout().lock(), "{report}");
            if let Some(error) = &report.error {
                let _ = writeln!(std::io::stderr().lock(), "{error}");
            }
        }
    }
    ExitCode::from(report.exit_code)
}
