//! `localstack/moto.sh`, the emulator's launcher for people (the harness
//! starts `moto_emulator.py` itself): `start` installs moto under a lock
//! on the virtualenv, then becomes the emulator, which must not keep that
//! lock, or every later install or start with the same virtualenv waits
//! for the emulator to end. And both launchers the harness and people use
//! refuse a Python whose moto is not the pinned one, in one line, before
//! moto's own imports fail far from the cause.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::emulator::python;

/// How long the emulator may take to say it is ready, and a second install
/// may take to find everything installed: a guard against hanging the
/// suite, not a speed check.
const DEADLINE: Duration = Duration::from_secs(120);

fn launcher() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("localstack/moto.sh")
}

#[test]
fn a_started_emulator_does_not_hold_the_install_lock() {
    // The virtualenv the harness installed (moto.sh's default, or GREENLIGHT_VENV).
    let venv = python()
        .parent()
        .and_then(Path::parent)
        .expect("the virtualenv of bin/python")
        .to_owned();
    let lock = PathBuf::from(format!("{}.lock", venv.display()));

    let mut emulator = Command::new("bash")
        .arg(launcher())
        .args(["start", "0", "--until-stdin-closes"])
        .env("GREENLIGHT_VENV", &venv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start localstack/moto.sh");
    let stdout = emulator.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let ready = rx
        .recv_timeout(DEADLINE)
        .expect("the emulator never said READY");
    assert!(ready.starts_with("READY http://127.0.0.1:"), "{ready}");

    // While it serves, the lock is free: another process takes it at once.
    let free = Command::new("flock")
        .args(["--nonblock"])
        .arg(&lock)
        .arg("true")
        .status()
        .expect("run flock");
    assert!(
        free.success(),
        "the running emulator holds {}",
        lock.display()
    );
    // So a second install with the same virtualenv finishes.
    let mut second = Command::new("bash")
        .arg(launcher())
        .arg("install")
        .env("GREENLIGHT_VENV", &venv)
        .spawn()
        .expect("run moto.sh install");
    let deadline = std::time::Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second moto.sh install waited for the running emulator");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");

    drop(emulator.stdin.take());
    let ended = emulator.wait().expect("wait for the emulator");
    assert!(ended.success(), "{ended}");
}

#[test]
fn both_launchers_refuse_a_moto_that_is_not_the_pinned_one() {
    // A moto package of another version, found before the virtualenv's.
    let shadow = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(shadow.path().join("moto")).expect("moto dir");
    std::fs::write(
        shadow.path().join("moto/__init__.py"),
        "__version__ = \"0.0.1\"\n",
    )
    .expect("moto/__init__.py");
    let localstack = Path::new(env!("CARGO_MANIFEST_DIR")).join("localstack");
    let pins = std::fs::read_to_string(localstack.join("requirements.txt")).expect("pins");
    let pinned = pins
        .lines()
        .find_map(|line| line.strip_prefix("moto[server]=="))
        .expect("moto pinned in localstack/requirements.txt");
    let said = format!("has moto 0.0.1, the emulator needs the pinned {pinned}:");
    for script in ["moto_emulator.py", "emulator_forks.py"] {
        let out = Command::new(python())
            .arg(localstack.join(script))
            .env("PYTHONPATH", shadow.path())
            .stdin(Stdio::null())
            .output()
            .expect("run the launcher");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{script}: {stderr}");
        assert!(out.stdout.is_empty(), "{script} answered: {:?}", out.stdout);
        assert!(stderr.contains(&said), "{script}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{script}: {stderr}");
    }
}
