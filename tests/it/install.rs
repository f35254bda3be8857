//! The install route CI uses: `scripts/install.sh` (behind `action.yml`)
//! fetches a release archive and its `SHA256SUMS` from a release folder,
//! here served over loopback, checks the archive, and installs the binary;
//! `scripts/action-install.sh` picks the release and installs it as the
//! action's steps do; `scripts/action-run.sh` runs a command and turns its
//! report into step outputs. The Linux x86_64 archive holds the greenlight
//! these tests built (`Release::new`) or, for tests that never run it, a
//! marker file as the others do (`Release::of_markers`), so a test sees
//! which archive was installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use crate::harness::emulator::python;
use crate::harness::{Project, loopback};

/// The release tag the tests install.
const TAG: &str = "v9.9.9";
/// The archive for Linux x86_64, named as cargo-dist names it.
const ARCHIVE: &str = "greenlight-x86_64-unknown-linux-musl.tar.gz";
/// The targets the README lists, each with an archive in a release.
const TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// A release folder served over loopback: the requests it answered, and its URL.
struct Release {
    dir: tempfile::TempDir,
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

/// The archive of `target` and the binary's name in it.
fn archive_of(target: &str) -> (String, &'static str) {
    if target.contains("windows") {
        (format!("greenlight-{target}.zip"), "greenlight.exe")
    } else {
        (format!("greenlight-{target}.tar.gz"), "greenlight")
    }
}

/// What the archive of `target` holds as its binary: the greenlight under
/// test for Linux x86_64, a marker naming the target for the others.
fn binary_of(target: &str) -> Vec<u8> {
    if target == TARGETS[0] {
        std::fs::read(env!("CARGO_BIN_EXE_greenlight")).expect("read greenlight")
    } else {
        marker(target)
    }
}

/// A small script standing in for the binary of `target`, naming it.
fn marker(target: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho greenlight for {target}\n").into_bytes()
}

impl Release {
    /// A release holding an archive for each target (a folder inside, as
    /// cargo-dist packs a `.tar.gz`; the binary at the top of the `.zip`)
    /// and their `SHA256SUMS`.
    fn new() -> Release {
        Release::holding(binary_of)
    }

    /// A release whose archives all hold markers ([`marker`]): for the
    /// tests of the install itself, which never run the Linux binary
    /// (packing greenlight takes seconds).
    fn of_markers() -> Release {
        Release::holding(marker)
    }

    /// A release whose archive of each target holds `binary_of(target)`.
    fn holding(binary_of: fn(&str) -> Vec<u8>) -> Release {
        let dir = tempfile::tempdir().expect("tempdir");
        for target in TARGETS {
            let (archive, binary) = archive_of(target);
            let contents = binary_of(target);
            let member = if archive.ends_with(".zip") {
                binary.to_owned()
            } else {
                format!("greenlight-{target}/{binary}")
            };
            pack(&dir.path().join(&archive), &[(&member, &contents)]);
        }
        let (url, requests) = serve(dir.path().to_owned());
        let release = Release { dir, url, requests };
        release.write_sums();
        release
    }

    /// Writes `SHA256SUMS` for the archives now in the folder, as the
    /// release pipeline does (`scripts/sha256sums.sh`).
    fn write_sums(&self) {
        run_ok(
            Command::new("bash")
                .arg(script("sha256sums.sh"))
                .arg(self.dir.path()),
        );
    }

    /// Replaces the archive of `target` with one holding `members` (names
    /// written as given, `..` included), listed in `SHA256SUMS` with its
    /// true checksum: what a broken or hostile build would publish.
    fn replace(&self, target: &str, members: &[(&str, &[u8])]) {
        pack(&self.dir.path().join(archive_of(target).0), members);
        self.write_sums();
    }

    /// Runs the install script against this release, on Linux x86_64
    /// unless `env` says otherwise.
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

/// Writes the archive `path` (`.zip` or `.tar.gz`) holding `members`, with
/// Python's `zipfile` and `tarfile`, which keep every name as given.
fn pack(path: &Path, members: &[(&str, &[u8])]) {
    let script = "import io, sys, tarfile, zipfile\n\
        out, pairs = sys.argv[1], sys.argv[2:]\n\
        members = [(pairs[i], open(pairs[i + 1], 'rb').read()) for i in range(0, len(pairs), 2)]\n\
        if out.endswith('.zip'):\n\
        \x20   with zipfile.ZipFile(out, 'w') as z:\n\
        \x20       for name, data in members:\n\
        \x20           info = zipfile.ZipInfo(name)\n\
        \x20           info.external_attr = 0o755 << 16\n\
        \x20           z.writestr(info, data)\n\
        else:\n\
        \x20   with tarfile.open(out, 'w:gz') as t:\n\
        \x20       for name, data in members:\n\
        \x20           info = tarfile.TarInfo(name)\n\
        \x20           info.size, info.mode = len(data), 0o755\n\
        \x20           t.addfile(info, io.BytesIO(data))\n";
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(python());
    cmd.args(["-c", script]).arg(path);
    for (i, (name, data)) in members.iter().enumerate() {
        let file = scratch.path().join(i.to_string());
        std::fs::write(&file, data).expect("write member");
        cmd.arg(name).arg(file);
    }
    run_ok(&mut cmd);
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
fn the_release_checksums_list_one_archive_per_target_or_none() {
    let release = Release::of_markers();
    let sums = std::fs::read_to_string(release.dir.path().join("SHA256SUMS")).expect("sums");
    let listed: Vec<&str> = sums
        .lines()
        .map(|l| l.split_whitespace().nth(1).expect("a name"))
        .collect();
    let expected: Vec<String> = TARGETS.iter().map(|t| archive_of(t).0).collect();
    assert_eq!(listed, expected);

    std::fs::remove_file(release.dir.path().join(ARCHIVE)).expect("rm");
    std::fs::write(release.dir.path().join("greenlight-extra.tar.gz"), "x").expect("write");
    let out = Command::new("bash")
        .arg(script("sha256sums.sh"))
        .arg(release.dir.path())
        .output()
        .expect("run sha256sums.sh");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "(missing: {ARCHIVE}; not a target: greenlight-extra.tar.gz)"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(release.dir.path().join("SHA256SUMS")).expect("sums"),
        sums,
        "a partial SHA256SUMS was written"
    );
}

#[test]
fn a_tampered_archive_is_refused_and_nothing_is_installed() {
    let release = Release::of_markers();
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
    let release = Release::of_markers();
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
    let release = Release::of_markers();
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
    let release = Release::of_markers();
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

#[test]
fn each_listed_platform_installs_its_own_archive() {
    let release = Release::of_markers();
    // What `uname -s` and `uname -m` say on each platform, GitHub's
    // runners first (Windows: Git Bash), then the other spellings.
    let platforms = [
        ("Linux", "x86_64", "x86_64-unknown-linux-musl"),
        ("Linux", "aarch64", "aarch64-unknown-linux-musl"),
        ("Darwin", "arm64", "aarch64-apple-darwin"),
        ("Darwin", "x86_64", "x86_64-apple-darwin"),
        ("MINGW64_NT-10.0-20348", "x86_64", "x86_64-pc-windows-msvc"),
        ("Linux", "amd64", "x86_64-unknown-linux-musl"),
        ("Linux", "arm64", "aarch64-unknown-linux-musl"),
        ("Darwin", "aarch64", "aarch64-apple-darwin"),
        ("MSYS_NT-10.0-20348", "x86_64", "x86_64-pc-windows-msvc"),
    ];
    for (i, (os, arch, target)) in platforms.into_iter().enumerate() {
        let to = release.dir.path().join(format!("bin-{i}"));
        let before: Vec<usize> = TARGETS
            .iter()
            .map(|t| release.fetched(&format!("/{}", archive_of(t).0)))
            .collect();
        let out = release.install(
            &to,
            &[
                ("GREENLIGHT_INSTALL_OS", os),
                ("GREENLIGHT_INSTALL_ARCH", arch),
            ],
        );
        assert!(out.status.success(), "{os}/{arch}: {}", stderr(&out));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains(&format!("({target})")), "{os}/{arch}: {said}");
        let (archive, binary) = archive_of(target);
        for (t, count) in TARGETS.iter().zip(before) {
            let wanted = usize::from(*t == target);
            assert_eq!(
                release.fetched(&format!("/{}", archive_of(t).0)),
                count + wanted,
                "{os}/{arch} should download {archive} alone"
            );
        }
        let installed: Vec<String> = std::fs::read_dir(&to)
            .expect("install dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(installed, [binary], "{os}/{arch}");
        assert_eq!(
            std::fs::read(to.join(binary)).expect("installed binary"),
            marker(target),
            "{os}/{arch} installed another archive's binary"
        );
    }
}

#[test]
fn an_archive_tar_cannot_read_whole_is_exit_1_and_nothing_is_installed() {
    let release = Release::of_markers();
    let target = TARGETS[0];
    release.replace(
        target,
        &[(
            "greenlight-x86_64-unknown-linux-musl/greenlight",
            &[7; 4096],
        )],
    );
    // Cut short, and listed with the checksum of what is left: a broken
    // build, not a download error.
    let archive = release.dir.path().join(ARCHIVE);
    let bytes = std::fs::read(&archive).expect("read");
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).expect("write");
    release.write_sums();
    let to = release.dir.path().join("bin");
    let out = release.install(&to, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{ARCHIVE} did not unpack cleanly ("))
            && err.contains("nothing was installed"),
        "{err}"
    );
    assert!(!to.exists(), "something was installed");
}

#[test]
fn an_archive_holding_two_binaries_is_refused() {
    let release = Release::of_markers();
    for target in [TARGETS[0], TARGETS[4]] {
        let (archive, binary) = archive_of(target);
        let first = format!("a/{binary}");
        let second = format!("b/{binary}");
        release.replace(
            target,
            &[(first.as_str(), b"one"), (second.as_str(), b"two")],
        );
        let to = release.dir.path().join(format!("bin-{target}"));
        let platform = if target.contains("windows") {
            "MINGW64_NT-10.0"
        } else {
            "Linux"
        };
        let out = release.install(&to, &[("GREENLIGHT_INSTALL_OS", platform)]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "{archive} holds 2 files named {binary} (a/{binary} b/{binary})"
            )) && err.contains("nothing was installed"),
            "{err}"
        );
        assert!(!to.exists(), "{target}: one of the two was installed");
    }
}

/// Runs `scripts/action-install.sh STEP` as the action's steps do, with
/// `env`; returns its result and what it wrote to `$GITHUB_OUTPUT`.
fn action_install(step: &str, runner: &Path, env: &[(&str, &str)]) -> (Output, String) {
    let outputs = runner.join(format!("github-output-{step}"));
    let _ = std::fs::remove_file(&outputs);
    let mut cmd = Command::new("bash");
    cmd.arg(script("action-install.sh"))
        .arg(step)
        .env_remove("INPUT_VERSION")
        .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_PATH", runner.join("github-path"))
        .env("RUNNER_TOOL_CACHE", runner.join("tool-cache"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("GREENLIGHT_INSTALL_OS", "Linux")
        .env("GREENLIGHT_INSTALL_ARCH", "x86_64");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("run action-install.sh");
    (out, std::fs::read_to_string(outputs).unwrap_or_default())
}

/// The action's install steps against `release`: the version (the file
/// beside action.yml), then the install; returns the binary's path.
fn action_installs(release: &Release) -> PathBuf {
    let runner = release.dir.path();
    let (out, outputs) = action_install("version", runner, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let version = output(&outputs, "version").to_owned();
    let (out, outputs) = action_install(
        "install",
        runner,
        &[
            ("GREENLIGHT_VERSION", &version),
            ("GREENLIGHT_RELEASE_URL", &release.url),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    PathBuf::from(output(&outputs, "binary"))
}

/// The action's run step with the installed `binary` and the emulator
/// environment of `project`.
fn action_run(project: &Project, binary: &Path, command: &str, args: &str) -> (Output, String) {
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
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GREENLIGHT", binary)
        .env("COMMAND", command)
        .env("ARGS", args)
        .env("CONFIG", "greenlight.toml")
        .env("RUNNER_TEMP", project.path())
        .env("GITHUB_OUTPUT", &outputs);
    let out = cmd.output().expect("run action-run.sh");
    let written = std::fs::read_to_string(outputs).unwrap_or_default();
    (out, written)
}

/// The JSON report the run step's `report-file` output names.
fn report(outputs: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(output(outputs, "report-file")).expect("report file");
    serde_json::from_str(&text).expect("JSON report")
}

/// One `name=value` output.
fn output<'a>(outputs: &'a str, name: &str) -> &'a str {
    outputs
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no output {name} in {outputs}"))
}

#[test]
fn the_action_installs_the_release_named_beside_action_yml() {
    let release = Release::new();
    let runner = release.dir.path();
    let (out, outputs) = action_install("version", runner, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        output(&outputs, "version"),
        format!("v{}", env!("CARGO_PKG_VERSION")),
        "action-version.txt must name the release of this crate's version"
    );
    let (_, outputs) = action_install("version", runner, &[("INPUT_VERSION", "v1.2.3")]);
    assert_eq!(output(&outputs, "version"), "v1.2.3");
    let (out, outputs) = action_install("version", runner, &[("INPUT_VERSION", "main")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(outputs.is_empty(), "{outputs}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("::error title=greenlight::"),
        "{out:?}"
    );

    let binary = action_installs(&release);
    assert_eq!(
        binary,
        runner.join(format!(
            "tool-cache/greenlight/v{}/Linux-X64/greenlight",
            env!("CARGO_PKG_VERSION")
        ))
    );
    let version = run_ok(Command::new(&binary).arg("--version"));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("greenlight {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        !runner.join("github-path").exists(),
        "the action changed PATH for later steps"
    );
}

#[test]
fn the_action_runs_an_installed_greenlight_and_exposes_its_report() {
    let release = Release::new();
    let binary = action_installs(&release);
    let project = Project::new();

    let (out, outputs) = action_run(&project, &binary, "ship", "");
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
    assert_eq!(
        project.weights("live"),
        ("1".to_owned(), Default::default())
    );

    project.change_code("v2");
    let (out, outputs) = action_run(&project, &binary, "ship", "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(output(&outputs, "exit-code"), "0");
    assert_eq!(output(&outputs, "outcome"), "released");
    assert_eq!(output(&outputs, "version"), "2");
    assert_eq!(output(&outputs, "previous"), "1");
    assert_eq!(
        project.weights("live"),
        ("2".to_owned(), Default::default())
    );
    let report = report(&outputs);
    assert_eq!(report["release"]["version"], "2");
    assert!(outputs.contains("report<<greenlight-report-"), "{outputs}");

    let (out, outputs) = action_run(&project, &binary, "rollback", "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(output(&outputs, "exit-code"), "0");
    assert_eq!(output(&outputs, "outcome"), "rolled_back");
    assert_eq!(output(&outputs, "version"), "1");
    assert_eq!(output(&outputs, "previous"), "2");
    assert_eq!(
        project.weights("live"),
        ("1".to_owned(), Default::default())
    );
}

#[test]
fn the_action_passes_on_greenlights_exit_code() {
    let release = Release::new();
    let binary = action_installs(&release);
    let project = Project::new();
    project.write("greenlight.toml", "[function]\nname = 3\n");
    let (out, outputs) = action_run(&project, &binary, "ship", "--no-wait");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(output(&outputs, "exit-code"), "2");
    assert_eq!(output(&outputs, "outcome"), "usage_error");
    assert_eq!(output(&outputs, "version"), "");
}

#[test]
fn the_actions_args_are_split_into_words_never_expanded_as_file_names() {
    let release = Release::new();
    let binary = action_installs(&release);
    let project = Project::new();
    // `*` would expand to app and greenlight.toml.
    let (out, outputs) = action_run(&project, &binary, "ship", "--only *  --no-wait");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report = report(&outputs);
    assert_eq!(
        report["error"]["message"],
        "--only *: greenlight.toml has no function of that name"
    );
    assert_eq!(
        project.functions(),
        Vec::<String>::new(),
        "nothing deployed"
    );
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
    assert_eq!(checked, 5, "a template was added or removed: check it here");
}

/// Installs the archive of `target` from `release` into `to`, on that
/// target's platform.
fn install_for(release: &Release, target: &str, to: &Path) -> Output {
    let os = if target.contains("windows") {
        "MINGW64_NT-10.0"
    } else {
        "Linux"
    };
    release.install(to, &[("GREENLIGHT_INSTALL_OS", os)])
}

#[test]
fn a_member_whose_path_leaves_the_folder_is_refused_in_either_kind_of_archive() {
    // tar refuses `..` but strips a leading /, unzip does the reverse:
    // neither may decide, each such archive is refused whole.
    let release = Release::of_markers();
    for target in [TARGETS[0], TARGETS[4]] {
        let (archive, binary) = archive_of(target);
        for leaving in [
            format!("../{binary}"),
            format!("/tmp/{binary}"),
            format!("a/../../{binary}"),
        ] {
            release.replace(target, &[(leaving.as_str(), b"outside")]);
            let to = release.dir.path().join("bin");
            let out = install_for(&release, target, &to);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{leaving}: {err}");
            assert!(
                err.contains(&format!(
                    "{archive} holds a member whose path leaves the folder ({leaving}): nothing was installed"
                )),
                "{leaving}: {err}"
            );
            assert!(!to.exists(), "{leaving}: something was installed");
        }
    }
}

#[test]
fn one_path_twice_in_an_archive_is_two_binaries_and_refused() {
    // The later member would overwrite the earlier: which one is installed
    // would depend on their order.
    let release = Release::of_markers();
    for target in [TARGETS[0], TARGETS[4]] {
        let (archive, binary) = archive_of(target);
        let path = if target.contains("windows") {
            binary.to_owned()
        } else {
            format!("greenlight-{target}/{binary}")
        };
        release.replace(target, &[(&path, b"one"), (&path, b"two")]);
        let to = release.dir.path().join("bin");
        let out = install_for(&release, target, &to);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!(
                "{archive} holds 2 files named {binary} ({path} {path})"
            )),
            "{err}"
        );
        assert!(!to.exists(), "{target}: one of the two was installed");
    }
}

#[test]
fn the_checksum_list_is_read_as_sha256sum_reads_it_and_never_by_line_order() {
    let release = Release::of_markers();
    let sums = release.dir.path().join("SHA256SUMS");
    let written = std::fs::read_to_string(&sums).expect("sums");
    let line = written
        .lines()
        .find(|l| l.ends_with(ARCHIVE))
        .expect("the archive's line")
        .to_owned();
    let other = format!("{}  {ARCHIVE}", "0".repeat(64));
    let installs = |list: &str| {
        std::fs::write(&sums, list).expect("write sums");
        let to = release.dir.path().join("bin");
        let _ = std::fs::remove_dir_all(&to);
        let out = release.install(&to, &[]);
        (out, to.join("greenlight").exists())
    };
    // `sha256sum -c` takes CRLF line ends and upper-case digits.
    for list in [
        written.replace('\n', "\r\n"),
        written.replace(&line[..64], &line[..64].to_uppercase()),
    ] {
        let (out, installed) = installs(&list);
        assert!(
            out.status.success() && installed,
            "{list:?}: {}",
            stderr(&out)
        );
    }
    // A second, different checksum for the archive: refused, whichever
    // line comes first.
    for list in [format!("{line}\n{other}\n"), format!("{other}\n{line}\n")] {
        let (out, installed) = installs(&list);
        assert_eq!(out.status.code(), Some(1), "{list:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("lists {ARCHIVE} with different checksums")),
            "{}",
            stderr(&out)
        );
        assert!(!installed, "{list:?}");
    }
    let (out, installed) = installs(&format!("{line}\n{line}\n"));
    assert!(
        out.status.success() && installed,
        "the same line twice: {}",
        stderr(&out)
    );
    let (out, installed) = installs(&format!("abc123  {ARCHIVE}\n"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the checksum \"abc123\", which is not a SHA-256"),
        "{}",
        stderr(&out)
    );
    assert!(!installed);
}

#[test]
fn a_folder_or_a_link_in_the_install_folder_is_never_written_through() {
    let release = Release::of_markers();
    let to = release.dir.path().join("bin");
    // A folder where the binary goes: `mv` would put the binary inside it
    // and report an install that did not happen.
    std::fs::create_dir_all(to.join("greenlight")).expect("mkdir");
    let out = release.install(&to, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("bin/greenlight is a folder, so greenlight cannot be installed there"),
        "{}",
        stderr(&out)
    );
    let inside: Vec<_> = std::fs::read_dir(to.join("greenlight"))
        .expect("the folder")
        .collect();
    assert!(inside.is_empty(), "written into the folder: {inside:?}");

    // A link left at the name an earlier install copied through: another
    // file is never written through it.
    std::fs::remove_dir(to.join("greenlight")).expect("rmdir");
    let precious = release.dir.path().join("precious");
    std::fs::write(&precious, "keep me").expect("write");
    std::os::unix::fs::symlink(&precious, to.join(".greenlight.partial")).expect("symlink");
    let out = release.install(&to, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&precious).expect("read"), "keep me");
    assert_eq!(
        std::fs::read(to.join("greenlight")).expect("installed"),
        marker(TARGETS[0])
    );
}

#[test]
fn a_version_that_is_no_release_tag_is_exit_2_before_any_download() {
    let release = Release::of_markers();
    for version in ["..", "v1/../..", "v1\nx", "v1 2", "v1$(id)"] {
        let to = release.dir.path().join("bin");
        let out = Command::new("bash")
            .arg(script("install.sh"))
            .args(["--version", version, "--dir"])
            .arg(&to)
            .args(["--base-url", &release.url])
            .output()
            .expect("run install.sh");
        assert_eq!(out.status.code(), Some(2), "{version:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is not a release tag"),
            "{version:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(release.fetched("/SHA256SUMS"), 0, "downloaded for nothing");
}

#[test]
fn the_action_takes_one_release_tag_from_its_input_or_its_file_and_nothing_else() {
    let runner = tempfile::tempdir().expect("tempdir");
    let beside = runner.path().join("action");
    std::fs::create_dir_all(&beside).expect("mkdir");
    let path = beside.to_str().expect("utf-8");
    let from_file = |text: &str| {
        std::fs::write(beside.join("action-version.txt"), text).expect("write");
        action_install("version", runner.path(), &[("GITHUB_ACTION_PATH", path)])
    };
    for text in ["v0.1.0\n\n", "v0.1.0\r\n", "\n  v0.1.0 \n"] {
        let (out, outputs) = from_file(text);
        assert!(out.status.success(), "{text:?}: {out:?}");
        assert_eq!(outputs, "version=v0.1.0\n", "{text:?}");
    }
    for text in ["", "latest", "v0.1.0 v0.2.0\n", "v0.1.0\n# a note\n"] {
        let (out, outputs) = from_file(text);
        assert_eq!(out.status.code(), Some(2), "{text:?}");
        assert_eq!(outputs, "", "{text:?}");
    }
    // An input with a line break would add outputs of its own.
    for input in ["v1.2.3\nbinary=/tmp/evil", "v1.2.3 ", "v1;id", "v1$(id)"] {
        let (out, outputs) = action_install(
            "version",
            runner.path(),
            &[("GITHUB_ACTION_PATH", path), ("INPUT_VERSION", input)],
        );
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        assert_eq!(outputs, "", "{input:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.starts_with("::error title=greenlight::") && !said.contains("evil"),
            "{said}"
        );
    }
}

#[test]
fn a_cache_write_cut_short_never_fails_this_install_or_the_next() {
    // A full disk (or a killed install) stops the copy into the cache
    // half-way: `cp` here writes half the archive there and fails.
    let release = Release::of_markers();
    let cache = release.dir.path().join("cache");
    let shims = release.dir.path().join("shims");
    std::fs::create_dir_all(&shims).expect("mkdir");
    let shim = shims.join("cp");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nfor last; do :; done\ncase \"$last\" in\n{}/*) head -c 100 \"$1\" >\"$last\"; echo 'cp: No space left on device' >&2; exit 1 ;;\nesac\nexec /bin/cp \"$@\"\n",
            cache.display()
        ),
    )
    .expect("write the shim");
    let mut mode = std::fs::metadata(&shim).expect("shim").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    std::fs::set_permissions(&shim, mode).expect("chmod");
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cache_dir = cache.to_str().expect("utf-8");

    let to = release.dir.path().join("bin");
    let cut = release.install(&to, &[("GREENLIGHT_CACHE_DIR", cache_dir), ("PATH", &path)]);
    assert!(cut.status.success(), "{}", stderr(&cut));
    assert!(
        stderr(&cut).contains(&format!("could not keep {ARCHIVE} in the cache")),
        "{}",
        stderr(&cut)
    );
    assert_eq!(
        std::fs::read(to.join("greenlight")).expect("installed"),
        marker(TARGETS[0])
    );
    let cached = cache.join(TAG).join(ARCHIVE);
    assert!(!cached.exists(), "half an archive kept in the cache");

    std::fs::remove_dir_all(&to).expect("rm");
    let next = release.install(&to, &[("GREENLIGHT_CACHE_DIR", cache_dir)]);
    assert!(next.status.success(), "{}", stderr(&next));
    assert_eq!(
        release.fetched(&format!("/{ARCHIVE}")),
        2,
        "downloaded again"
    );
    assert_eq!(
        std::fs::read(&cached).expect("cached now"),
        std::fs::read(release.dir.path().join(ARCHIVE)).expect("the archive")
    );
}
