//! The output contract around the command: colour follows `NO_COLOR` as
//! no-color.org defines it.

use std::process::{Command, Stdio};

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
