//! The GitHub Actions files a security reviewer reads: the repository's
//! workflows, `action.yml`, and the workflows `greenlight init` writes (and
//! the fleet template), audited with zizmor (`scripts/zizmor.sh`: pinned,
//! offline, with `.github/zizmor.yml`, whose every exception gives its reason), so
//! a template never regresses.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A folder where `greenlight init` wrote its starter files.
fn initialised() -> tempfile::TempDir {
    initialised_with(&[])
}

/// A folder where `greenlight init --name orders` with `flags` wrote its
/// starter files.
fn initialised_with(flags: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(["init", "--name", "orders"])
        .args(flags)
        .current_dir(dir.path())
        .output()
        .expect("run greenlight init");
    assert!(out.status.success(), "init failed: {out:?}");
    dir
}

/// The workflows `init` wrote into `dir`, by file name.
fn workflows(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir.join(".github/workflows"))
        .expect("workflows")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&path).expect("read"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_flavour_and_architecture_gets_the_audited_workflows() {
    // zizmor audits the workflows of a default `init`; that covers every
    // variant only while they are all the same.
    let audited = workflows(initialised().path());
    assert_eq!(audited.len(), 4, "{audited:?}");
    for flavour in ["python", "node", "rust", "custom"] {
        for arm64 in [false, true] {
            let mut flags = vec!["--flavour", flavour];
            if arm64 {
                flags.push("--arm64");
            }
            let written = workflows(initialised_with(&flags).path());
            assert!(
                written == audited,
                "init {flags:?} writes other workflows than the audited ones: audit them too"
            );
        }
    }
}

/// Every workflow and action file audited: the repository's own and the
/// ones `init` wrote into `dir`.
fn audited(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![
        repo().join("action.yml"),
        repo().join("templates/github/fleet-matrix.yml"),
    ];
    for folder in [
        repo().join(".github/workflows"),
        dir.join(".github/workflows"),
    ] {
        for entry in std::fs::read_dir(folder).expect("workflows") {
            files.push(entry.expect("entry").path());
        }
    }
    files.sort();
    files
}

#[test]
fn zizmor_finds_nothing_in_the_workflows_the_action_or_what_init_writes() {
    let dir = initialised();
    let files = audited(dir.path());
    assert_eq!(files.len(), 10, "{files:?}");
    let out = Command::new("bash")
        .arg(repo().join("scripts/zizmor.sh"))
        .args(&files)
        .output()
        .expect("run scripts/zizmor.sh");
    assert!(
        out.status.success(),
        "zizmor findings (fix them, or give the reason in .github/zizmor.yml):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_action_is_pinned_to_a_commit_with_its_version_beside_it() {
    let dir = initialised();
    let dist = std::fs::read_to_string(repo().join("dist-workspace.toml")).expect("read");
    let mut checked = 0;
    for file in audited(dir.path()) {
        let text = std::fs::read_to_string(&file).expect("read");
        for line in text.lines() {
            let Some(uses) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
            else {
                continue;
            };
            // This repository's own workflows, and greenlight's action in
            // the templates (a release tag: the template is part of the
            // release it names, so it cannot hold that release's commit).
            if uses.starts_with("$/") || uses.starts_with("your-org/greenlight@v") {
                continue;
            }
            let (reference, comment) = uses.split_once(" # ").unwrap_or((uses, ""));
            let sha = reference.rsplit_once('@').map_or("", |(_, sha)| sha);
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: {uses} is not pinned to a commit",
                file.display()
            );
            // dist writes its own jobs' pins bare; their versions are beside
            // them in dist-workspace.toml.
            let comment = if comment.is_empty() {
                dist.lines()
                    .find(|l| l.contains(sha))
                    .and_then(|l| l.split_once(" # "))
                    .map_or("", |(_, version)| version)
            } else {
                comment
            };
            assert!(
                comment.starts_with('v') && comment[1..].split('.').count() == 3,
                "{}: {uses} does not name its version (# vX.Y.Z)",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} action references seen");
}

#[test]
fn the_workflows_dist_hands_every_secret_read_none() {
    // release.yml (generated by dist) calls these with `secrets: inherit`,
    // which .github/zizmor.yml accepts because they use no secret.
    for name in ["build-wheels.yml", "sha256sums.yml", "publish-pypi.yml"] {
        let text =
            std::fs::read_to_string(repo().join(".github/workflows").join(name)).expect("read");
        assert!(
            !text.contains("secrets."),
            "{name} reads a secret: release.yml hands it every secret"
        );
    }
}

#[test]
fn the_approve_button_passes_its_version_input_on_only_when_it_is_a_number() {
    let text = std::fs::read_to_string(repo().join("templates/github/approve.yml"))
        .expect("the approve template");
    let step = &text[text.find("- name: Which version").expect("the step")..];
    let script: String = step
        .lines()
        .skip_while(|l| l.trim() != "run: |")
        .skip(1)
        .take_while(|l| l.starts_with("          "))
        .map(|l| format!("{}\n", &l[10..]))
        .collect();
    for (input, code, args) in [
        ("7", 0, Some("args=--version 7")),
        ("", 0, Some("args=")),
        ("7 --dry-run", 2, None),
        ("$(touch pwned)", 2, None),
        ("-1", 2, None),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = dir.path().join("output");
        let out = Command::new("bash")
            .args(["-e", "-c", &script])
            .env("VERSION", input)
            .env("GITHUB_OUTPUT", &output)
            .current_dir(dir.path())
            .output()
            .expect("run the step");
        assert_eq!(out.status.code(), Some(code), "{input:?}: {out:?}");
        let written = std::fs::read_to_string(&output).ok();
        assert_eq!(written.as_deref().map(str::trim_end), args, "{input:?}");
        assert!(!dir.path().join("pwned").exists(), "{input:?}");
    }
}
