//! The optional build command, run before packaging (`[package] build`).
//!
//! In: a shell command and the config's folder. It runs with `sh -c` in that
//! folder, with no input; its output is streamed to standard error, so
//! standard output stays the summary or the JSON document. A non-zero exit
//! stops the command with exit 1, before anything in AWS changes.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::ui::Ui;

/// The folder a command runs in: the config's, `.` when that is the current one.
pub fn working_dir(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// Runs `command` in `dir` and waits for it.
pub fn run(command: &str, dir: &Path, ui: &Ui) -> Result<()> {
    ui.step(format_args!("building: {command}"));
    let status = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(working_dir(dir))
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| {
            Error::no_traffic_moved(format!("cannot run the build command `{command}`"))
                .with_cause(e)
        })?;
    if status.success() {
        return Ok(());
    }
    let how = status.code().map_or_else(
        || "was killed by a signal".to_owned(),
        |c| format!("exited with {c}"),
    );
    Err(
        Error::no_traffic_moved(format!("the build command `{command}` {how}"))
            .with_hint("its output is above; fix the build, then run greenlight again"),
    )
}
