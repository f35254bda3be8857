//! The output contract around the command: a report that cannot be
//! written is never a silent success, and colour follows `NO_COLOR` as
//! no-color.org defines it.

use std::process::{Command, Stdio};

use crate::harness::{Project, Run};

/// Runs `args` with standard output going to `/dev/full`.
fn to_full_disk(p: &Project, args: &[&str]) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    p.command(args)
        .stdout(full)
        .output()
        .expect("run greenlight")
        .into()
}

#[test]
fn a_report_that_cannot_be_written_is_never_a_success() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let lost = "error: cannot write the report to standard output: No space left on device";
    for args in [
        vec!["status"],
        vec!["status", "--output", "json"],
        vec!["completions", "bash"],
        vec!["man"],
    ] {
        let run = to_full_disk(&p, &args).code(1);
        assert!(run.stderr.starts_with(lost), "{args:?}: {}", run.stderr);
    }
    // A command that failed keeps its own exit code.
    p.write("greenlight.toml", "[function]\nname = 5\n");
    let failed = to_full_disk(&p, &["status", "--output", "json"]).code(2);
    assert!(failed.stderr.starts_with(lost), "{}", failed.stderr);
    assert_eq!(p.versions(), ["1"], "status wrote nothing");
}

/// What `greenlight -c nowhere.toml status` shows on a terminal (a
/// pseudo-terminal from Python's `pty`) with `NO_COLOR` as given.
fn on_a_terminal(no_color: Option<&str>) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(crate::harness::emulator::python());
    command
        .args([
            "-c",
            "import pty, sys; pty.spawn(sys.argv[1:])",
            env!("CARGO_BIN_EXE_greenlight"),
            "-c",
            "nowhere.toml",
            "status",
        ])
        .current_dir(dir.path())
        .env_clear()
        .env("TERM", "xterm")
        .stdin(Stdio::null());
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let out = command.output().expect("run under a pty");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.contains("cannot read config file"), "{shown}");
    shown
}

#[test]
fn only_a_non_empty_no_color_turns_colour_off() {
    let colour = "\u{1b}[";
    assert!(on_a_terminal(None).contains(colour), "colour by default");
    assert!(on_a_terminal(Some("")).contains(colour), "NO_COLOR=\"\"");
    assert!(!on_a_terminal(Some("1")).contains(colour), "NO_COLOR=1");
}
