//! The install route CI uses: `scripts/install.sh` (behind `action.yml`)
//! fetches a release archive and its `SHA256SUMS` from a release folder,
//! here served over loopback, checks the archive, and installs the binary;
//! `scripts/action-run.sh` runs a command and turns its report into step
//! outputs. The archive holds the greenlight these tests built.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use crate::harness::{Project, loopback};

/// The release tag the tests install.
const TAG: &str = "v9.9.9";
/// The archive for Linux x86_64, named as cargo-dist names it.
const ARCHIVE: &str = "greenlight-x86_64-unknown-linux-musl.tar.gz";

/// A release folder served over loopback: the requests it answered, and its URL.
struct Release {
    dir: tempfile::TempDir,
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Release {
    /// A release holding the Linux x86_64 archive of the greenlight under
    /// test (inside a folder, as cargo-dist packs it) and its `SHA256SUMS`.
    fn new() -> Release {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = dir.path().join("greenlight-x86_64-unknown-linux-musl");
        std::fs::create_dir(&inner).expect("mkdir");
        std::fs::copy(env!("CARGO_BIN_EXE_greenlight"), inner.join("greenlight")).expect("copy");
        run_ok(Command::new("tar").current_dir(dir.path()).args([
            "-czf",
            ARCHIVE,
            "greenlight-x86_64-unknown-linux-musl",
        ]));
        std::fs::remove_dir_all(&inner).expect("rm");
        let sums = run_ok(
            Command::new("sha256sum")
                .current_dir(dir.path())
                .arg(ARCHIVE),
        );
        std::fs::write(dir.path().join("SHA256SUMS"), sums.stdout).expect("write sums");
        let (url, requests) = serve(dir.path().to_owned());
        Release { dir, url, requests }
    }

    /// Runs the install script against this release.
    fn install(&self, to: &Path, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(script("install.sh"))
            .args(["--version", TAG, "--dir"])
            .arg(to)
            .args(["--base-url", &self.url])
            .env("GREENLIGHT_INSTALL_OS", "Linux")
            .env("GREENLIGHT_INSTALL_ARCH", "x86_64");
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.output().expect("run install.sh")
    }

    /// How many times `path` was asked for.
    fn fetched(&self, path: &str) -> usize {
        let requests = self.requests.lock().expect("requests");
        requests.iter().filter(|r| r.as_str() == path).count()
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{cmd:?} failed: {out:?}");
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Serves the files of `dir` (404 for anything else) until the test
/// process ends, recording each requested path.
fn serve(dir: PathBuf) -> (String, Arc<Mutex<Vec<String>>>) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let url = loopback::serve(move |path| {
        log.lock().expect("log").push(path.to_owned());
        match std::fs::read(dir.join(path.trim_start_matches('/'))) {
            Ok(body) if !path.contains("..") => ("200 OK".to_owned(), body),
            _ => ("404 Not Found".to_owned(), b"not found".to_vec()),
        }
    });
    (url, requests)
}

#[test]
fn a_good_archive_installs_a_working_greenlight() {
    let release = Release::new();
    let to = release.dir.path().join("bin");
    let out = release.install(&to, &[]);
    assert!(out.status.success(), "install failed: {}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("x86_64-unknown-linux-musl") && said.contains("SHA-256"),
        "{said}"
    );
    let version = run_ok(Command::new(to.join("greenlight")).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("greenlight {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_tampered_archive_is_refused_and_nothing_is_installed() {
    let release = Release::new();
    let archive = release.dir.path().join(ARCHIVE);
    let mut bytes = std::fs::read(&archive).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&archive, bytes).expect("write");
    let to = release.dir.path().join("bin");
    let out = release.install(&to, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("checksum mismatch for greenlight-x86_64-unknown-linux-musl.tar.gz"),
        "{err}"
    );
    assert!(err.contains("nothing was installed"), "{err}");
    assert!(
        !to.join("greenlight").exists(),
        "a tampered binary was installed"
    );
}

#[test]
fn an_archive_missing_from_the_checksums_is_refused() {
    let release = Release::new();
    std::fs::write(release.dir.path().join("SHA256SUMS"), "").expect("write");
    let to = release.dir.path().join("bin");
    let out = release.install(&to, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("lists no greenlight-x86_64-unknown-linux-musl.tar.gz"),
        "{}",
        stderr(&out)
    );
    assert!(!to.join("greenlight").exists());
}

#[test]
fn an_unsupported_platform_is_told_how_to_install_from_source() {
    let release = Release::new();
    let to = release.dir.path().join("bin");
    let out = release.install(&to, &[("GREENLIGHT_INSTALL_OS", "FreeBSD")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no prebuilt greenlight for FreeBSD/x86_64"),
        "{err}"
    );
    assert!(err.contains("cargo install --locked"), "{err}");
    assert_eq!(
        release.fetched(&format!("/{ARCHIVE}")),
        0,
        "downloaded for nothing"
    );
}

#[test]
fn a_cached_archive_is_checked_again_and_a_tampered_one_is_dropped() {
    let release = Release::new();
    let cache = release.dir.path().join("cache");
    let cache_env = [("GREENLIGHT_CACHE_DIR", cache.to_str().expect("utf-8"))];
    let to = release.dir.path().join("bin");
    assert!(release.install(&to, &cache_env).status.success());
    assert!(release.install(&to, &cache_env).status.success());
    assert_eq!(
        release.fetched(&format!("/{ARCHIVE}")),
        1,
        "the second install did not use the cache"
    );
    assert_eq!(
        release.fetched("/SHA256SUMS"),
        2,
        "checksums must be read fresh each time"
    );

    let cached = cache.join(TAG).join(ARCHIVE);
    std::fs::write(&cached, b"not the archive").expect("tamper with the cache");
    std::fs::remove_file(to.join("greenlight")).expect("rm");
    let out = release.install(&to, &cache_env);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("(cached)"), "{}", stderr(&out));
    assert!(!cached.exists(), "the bad cached archive was kept");
    assert!(!to.join("greenlight").exists());
    assert!(
        release.install(&to, &cache_env).status.success(),
        "a fresh download after the bad cache"
    );
}

/// The action's run step, with greenlight on PATH from an install, and the
/// emulator environment of `project`.
fn action_run(project: &Project, bin: &Path, command: &str, args: &str) -> (Output, String) {
    let greenlight = project.command(&[]);
    let outputs = project.path().join("github-output");
    let _ = std::fs::remove_file(&outputs);
    let mut cmd = Command::new("bash");
    cmd.arg(script("action-run.sh"))
        .current_dir(project.path())
        .env_clear();
    for (key, value) in greenlight.get_envs() {
        if let Some(value) = value {
            cmd.env(key, value);
        }
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.env("PATH", path)
        .env("COMMAND", command)
        .env("ARGS", args)
        .env("CONFIG", "greenlight.toml")
        .env("RUNNER_TEMP", project.path())
        .env("GITHUB_OUTPUT", &outputs);
    let out = cmd.output().expect("run action-run.sh");
    let written = std::fs::read_to_string(outputs).unwrap_or_default();
    (out, written)
}

/// One `name=value` output.
fn output<'a>(outputs: &'a str, name: &str) -> &'a str {
    outputs
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no output {name} in {outputs}"))
}

#[test]
fn the_action_runs_an_installed_greenlight_and_exposes_its_report() {
    let release = Release::new();
    let bin = release.dir.path().join("bin");
    assert!(release.install(&bin, &[]).status.success());
    let project = Project::new();

    let (out, outputs) = action_run(&project, &bin, "ship", "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(output(&outputs, "exit-code"), "0");
    // A new function: its alias is created on version 1, nothing was live before.
    assert_eq!(output(&outputs, "outcome"), "already_live");
    assert_eq!(output(&outputs, "version"), "1");
    assert!(
        stderr(&out).contains("smoke"),
        "progress is shown in the log: {}",
        stderr(&out)
    );
    assert_eq!(project.live_version(), "1");

    project.change_code("v2");
    let (out, outputs) = action_run(&project, &bin, "ship", "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(output(&outputs, "outcome"), "released");
    assert_eq!(output(&outputs, "version"), "2");
    assert_eq!(output(&outputs, "previous"), "1");
    let report = std::fs::read_to_string(output(&outputs, "report-file")).expect("report file");
    let report: serde_json::Value = serde_json::from_str(&report).expect("JSON report");
    assert_eq!(report["release"]["version"], "2");
    assert!(outputs.contains("report<<greenlight-report-"), "{outputs}");

    let (out, outputs) = action_run(&project, &bin, "rollback", "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(output(&outputs, "outcome"), "rolled_back");
    assert_eq!(output(&outputs, "version"), "1");
    assert_eq!(output(&outputs, "previous"), "2");
}

#[test]
fn the_action_passes_on_greenlights_exit_code() {
    let release = Release::new();
    let bin = release.dir.path().join("bin");
    assert!(release.install(&bin, &[]).status.success());
    let project = Project::new();
    project.write("greenlight.toml", "[function]\nname = 3\n");
    let (out, outputs) = action_run(&project, &bin, "ship", "--no-wait");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(output(&outputs, "exit-code"), "2");
    assert_eq!(output(&outputs, "version"), "");
    assert!(!output(&outputs, "outcome").is_empty());
}

#[test]
fn the_workflow_templates_install_the_pinned_release_and_compile_nothing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/github");
    let pin = format!("uses: your-org/greenlight@v{}", env!("CARGO_PKG_VERSION"));
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("templates") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        for compiling in ["cargo install", "cargo build", "cargo run"] {
            assert!(
                !text.contains(compiling),
                "{} compiles greenlight ({compiling})",
                path.display()
            );
        }
        let uses: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("uses: your-org/greenlight"))
            .collect();
        assert!(
            !uses.is_empty(),
            "{} does not use the action",
            path.display()
        );
        for line in uses {
            assert!(
                line.starts_with(&pin),
                "{}: {line} is not pinned to this release",
                path.display()
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 4, "a template was added or removed: check it here");
}
