//! The output contract around the command: `--output json` holds even when
//! the command line is wrong, a report that cannot be written is never a
//! silent success (a full disk, a closed pipe), and colour follows `NO_COLOR`
//! as no-color.org defines it, `CLICOLOR` and `CLICOLOR_FORCE`.

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

/// Runs `args` with standard output going to `stdout`.
fn writing_to(p: &Project, args: &[&str], stdout: impl Into<Stdio>) -> Run {
    p.command(args)
        .stdout(stdout)
        .output()
        .expect("run greenlight")
        .into()
}

/// Runs `args` with standard output going to `/dev/full`.
fn to_full_disk(p: &Project, args: &[&str]) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    writing_to(p, args, full)
}

/// Runs `args` with standard output a pipe nobody reads: closed before
/// greenlight starts.
fn to_closed_pipe(p: &Project, args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writing_to(p, args, writer)
}

#[test]
fn a_report_that_cannot_be_written_is_never_a_success() {
    let p = Project::new();
    p.run(&["ship"]).success();
    let lost = "error: cannot write the report to standard output: No space left on device";
    let closed = "error: cannot write the report to standard output: Broken pipe";
    for args in [
        vec!["status"],
        vec!["status", "--output", "json"],
        vec!["completions", "bash"],
        vec!["man"],
    ] {
        let run = to_full_disk(&p, &args).code(1);
        assert!(run.stderr.starts_with(lost), "{args:?}: {}", run.stderr);
        let run = to_closed_pipe(&p, &args).code(1);
        assert!(run.stderr.starts_with(closed), "{args:?}: {}", run.stderr);
    }
    // A command that failed keeps its own exit code.
    p.write("greenlight.toml", "[function]\nname = 5\n");
    let failed = to_full_disk(&p, &["status", "--output", "json"]).code(2);
    assert!(failed.stderr.starts_with(lost), "{}", failed.stderr);
    let bad_flag = to_full_disk(&p, &["status", "--jobs", "0", "--output", "json"]).code(2);
    assert!(bad_flag.stderr.starts_with(lost), "{}", bad_flag.stderr);
    let failed = to_closed_pipe(&p, &["status", "--output", "json"]).code(2);
    assert!(failed.stderr.starts_with(closed), "{}", failed.stderr);
    assert_eq!(p.versions(), ["1"], "status wrote nothing");
}

/// What `greenlight -c nowhere.toml status` shows (both streams) with
/// `env` set, on a terminal (a pseudo-terminal from Python's `pty`) or,
/// with `terminal` false, through pipes.
fn shown(terminal: bool, env: &[Var]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let greenlight = env!("CARGO_BIN_EXE_greenlight");
    let mut command = if terminal {
        let mut python = Command::new(crate::harness::emulator::python());
        python.args(["-c", "import pty, sys; pty.spawn(sys.argv[1:])", greenlight]);
        python
    } else {
        Command::new(greenlight)
    };
    command
        .args(["-c", "nowhere.toml", "status"])
        .current_dir(dir.path())
        .env_clear()
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    let out = command.output().expect("run greenlight");
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("cannot read config file"), "{shown}");
    shown
}

/// An environment variable: name and value.
type Var<'a> = (&'a str, &'a str);

/// Whether [`shown`] has colour in it.
fn coloured(terminal: bool, env: &[Var]) -> bool {
    shown(terminal, env).contains("\u{1b}[")
}

#[test]
fn only_a_non_empty_no_color_turns_colour_off() {
    assert!(coloured(true, &[]), "colour by default");
    assert!(coloured(true, &[("NO_COLOR", "")]), "NO_COLOR=\"\"");
    assert!(!coloured(true, &[("NO_COLOR", "1")]), "NO_COLOR=1");
}

#[test]
fn clicolor_0_turns_colour_off_and_clicolor_force_turns_it_on_anywhere() {
    // (on a terminal, environment, colour expected)
    let cases: [(bool, &[Var], bool); 9] = [
        (true, &[("CLICOLOR", "0")], false),
        (true, &[("CLICOLOR", "1")], true),
        (true, &[("NO_COLOR", ""), ("CLICOLOR", "0")], false),
        (true, &[("CLICOLOR", "0"), ("CLICOLOR_FORCE", "1")], true),
        (false, &[], false),
        (false, &[("CLICOLOR", "1")], false),
        (false, &[("CLICOLOR_FORCE", "1")], true),
        (false, &[("CLICOLOR_FORCE", "0")], false),
        (false, &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")], true),
    ];
    for (terminal, env, expected) in cases {
        assert_eq!(
            coloured(terminal, env),
            expected,
            "terminal {terminal}, {env:?}"
        );
    }
}
