//! The output contract around the command: `--output json` holds even when
//! the command line is wrong, a report that cannot be written is never a
//! silent success, and colour follows `NO_COLOR` as no-color.org defines it.

use std::process::{Command, Stdio};

use crate::harness::{Project, Run};

#[test]
fn argument_errors_are_one_json_document_with_json_output() {
    let p = Project::new();
    let before = p.emulator.requests();
    for (args, command, message) in [
        (
            vec!["--output", "json"],
            "",
            "'greenlight' requires a subcommand but one was not provided [subcommands: package,",
        ),
        (
            vec!["--output", "json", "shipp"],
            "",
            "unrecognized subcommand 'shipp'",
        ),
        (
            vec!["ship", "--bogus", "--output", "json"],
            "ship",
            "unexpected argument '--bogus' found",
        ),
        (
            vec!["--output=json", "ship", "--jobs", "0"],
            "ship",
            "invalid value '0' for '--jobs <N>': 0 is not in 1..=256",
        ),
        (
            vec!["--output", "json", "--aws-timeout", "banana", "status"],
            "status",
            "invalid value 'banana' for '--aws-timeout <DURATION>'",
        ),
        (
            vec!["status", "--aws-timeout", "0s", "--output=json"],
            "status",
            "invalid value '0s' for '--aws-timeout <DURATION>': give a duration from 1s to 1h",
        ),
        (
            vec!["init", "--flavour", "cobol", "--output", "json"],
            "init",
            "invalid value 'cobol' for '--flavour <FLAVOUR>' [possible values: python, node, rust, custom]",
        ),
    ] {
        let run = p.run(&args).code(2);
        let doc = run.json();
        assert_eq!(doc["exit_code"], 2, "{args:?}");
        assert_eq!(doc["outcome"], "usage_error", "{args:?}");
        assert_eq!(doc["command"], command, "{args:?}");
        assert_eq!(doc["error"]["failure"], "usage", "{args:?}");
        let text = doc["error"]["message"].as_str().expect("message");
        assert!(text.starts_with(message), "{args:?}: {text}");
        assert!(!text.contains('\n'), "one line: {text:?}");
        let hint = doc["error"]["hint"].as_str().expect("hint");
        assert!(hint.ends_with("--help`"), "{args:?}: {hint}");
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
    }
    let typo = p.run(&["--output", "json", "shipp"]).json();
    assert_eq!(
        typo["error"]["hint"],
        "a similar subcommand exists: 'ship'; usage: greenlight [OPTIONS] <COMMAND>; see `greenlight --help`"
    );
    assert!(!p.join(".github").exists(), "init wrote nothing");

    // Text mode and --help / --version are as before.
    let text = p.run(&["ship", "--bogus"]).code(2);
    assert!(text.stdout.is_empty(), "{}", text.stdout);
    assert!(
        text.stderr
            .starts_with("error: unexpected argument '--bogus' found"),
        "{}",
        text.stderr
    );
    let help = p.run(&["--output", "json", "--help"]).success();
    assert!(help.stdout.contains("Usage: greenlight"), "{}", help.stdout);
    let version = p.run(&["--version", "--output", "json"]).success();
    assert!(
        version.stdout.starts_with("greenlight "),
        "{}",
        version.stdout
    );
    assert_eq!(p.emulator.requests(), before, "no AWS call at all");
}

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
    let bad_flag = to_full_disk(&p, &["status", "--jobs", "0", "--output", "json"]).code(2);
    assert!(bad_flag.stderr.starts_with(lost), "{}", bad_flag.stderr);
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
