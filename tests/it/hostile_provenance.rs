//! A hostile user against provenance (issue 25 §1): credentials in CI's
//! URLs and the function's secret values never reach a version's
//! description (stored in AWS, read by anyone who may read the function)
//! nor any output, and a repository's configuration never makes greenlight
//! run a command through git. Each test reads the description back from
//! the emulator.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::harness::{Project, SECRET};
use crate::provenance::{SHA, committed, description_of, git, github, run_with};

/// Asserts that none of `values` is in `run`'s output.
fn assert_never_shown(run: &crate::harness::Run, values: &[&str]) {
    let all = run.all_output();
    for value in values {
        assert!(!all.contains(value), "{value}: {all}");
    }
}

#[test]
fn credentials_in_ci_urls_and_secret_values_never_reach_the_description() {
    let p = Project::new();
    let token = "ghs_hunter2TOKEN";
    let mut vars = github(SHA);
    vars.retain(|(k, _)| !["GITHUB_SERVER_URL", "GITHUB_ACTOR"].contains(k));
    vars.push((
        "GITHUB_SERVER_URL",
        format!("https://x-access-token:{token}@github.example/"),
    ));
    // A value of the function's environment, where a value from CI stands.
    vars.push(("GITHUB_ACTOR", format!("eve-{SECRET}")));
    let run = run_with(&p, &vars, &["deploy", "-v", "--output", "json"]).success();
    assert_eq!(
        description_of(&p, "1"),
        format!(
            "greenlight: sha={SHA} ref=main run=https://github.example/acme/orders/actions/runs/42 by=eve-****"
        )
    );
    assert_never_shown(&run, &[token, SECRET]);

    p.change_code("v2");
    let gitlab_token = "glpat-hunter2TOKEN";
    let vars = [
        ("CI_COMMIT_SHA", SHA.to_owned()),
        (
            "CI_PIPELINE_URL",
            format!(
                "https://gitlab-ci-token:{gitlab_token}@gitlab.example/acme/orders/-/pipelines/7?private_token={gitlab_token}#x"
            ),
        ),
        ("CI_COMMIT_REF_NAME", format!("feat/{SECRET}")),
    ];
    let run = run_with(&p, &vars, &["deploy", "-v"]).success();
    assert_eq!(
        description_of(&p, "2"),
        format!(
            "greenlight: sha={SHA} ref=feat/**** run=https://gitlab.example/acme/orders/-/pipelines/7"
        )
    );
    assert_never_shown(&run, &[gitlab_token, SECRET]);
}

/// Writes an executable shell script `text` at `path`.
fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write script");
    let mut mode = std::fs::metadata(path).expect("script").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    std::fs::set_permissions(path, mode).expect("chmod");
}

/// Writes an executable shell script at `path` that creates `marker`.
fn script(path: &Path, marker: &Path) {
    executable(
        path,
        &format!("#!/bin/sh\ntouch '{}'\ncat\n", marker.display()),
    );
}

/// Sets `file`'s modification time an hour back, so git no longer trusts
/// its index entry and reads the file again (through any clean filter).
fn make_stale(file: &Path) {
    let past = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(file)
        .and_then(|f| f.set_modified(past))
        .expect("set mtime");
}

#[test]
fn a_hostile_repository_configuration_runs_nothing_through_git() {
    let p = Project::new();
    let dir = p.path();
    let outside = tempfile::tempdir().expect("tempdir");
    let marker = outside.path().join("ran");
    let evil = outside.path().join("evil.sh");
    script(&evil, &marker);

    // A submodule, with a filter of its own on every file.
    let sub_src = tempfile::tempdir().expect("tempdir");
    git(sub_src.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(sub_src.path().join("s.txt"), "s\n").expect("write");
    git(sub_src.path(), &["add", "-A"]);
    git(sub_src.path(), &["commit", "-q", "-m", "s"]);
    git(dir, &["init", "-q", "-b", "main"]);
    let src = sub_src.path().display().to_string();
    git(
        dir,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            &src,
            "sub",
        ],
    );
    std::fs::write(dir.join(".gitattributes"), "* filter=evil\n").expect("write");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    let head = git(dir, &["rev-parse", "HEAD"]);

    // Only now the commands: the test's own git must not run them.
    let evil = evil.display().to_string();
    for (key, value) in [
        ("filter.evil.clean", evil.as_str()),
        ("filter.evil.required", "true"),
        ("core.fsmonitor", evil.as_str()),
        ("core.pager", evil.as_str()),
        ("pager.status", "true"),
    ] {
        git(dir, &["config", key, value]);
    }
    let sub = dir.join("sub");
    // Named otherwise: the `-c` greenlight gives reaches a submodule's git too.
    git(&sub, &["config", "filter.sub.clean", &evil]);
    let sub_git = git(&sub, &["rev-parse", "--absolute-git-dir"]);
    let info = Path::new(&sub_git).join("info");
    std::fs::create_dir_all(&info).expect("info");
    std::fs::write(info.join("attributes"), "* filter=sub\n").expect("write");
    make_stale(&dir.join("app/index.py"));
    make_stale(&sub.join("s.txt"));

    p.run(&["deploy", "-v"]).success();
    assert!(!marker.exists(), "greenlight ran a command through git");
    assert_eq!(
        description_of(&p, "1"),
        format!("greenlight: sha={head} ref=main clean")
    );
}

#[test]
fn git_variables_of_another_repository_do_not_change_the_commit() {
    let p = Project::new();
    let head = committed(p.path());
    // As a `git` hook of another repository sets them when it runs greenlight.
    let other = tempfile::tempdir().expect("tempdir");
    git(other.path(), &["init", "-q", "-b", "hook"]);
    git(
        other.path(),
        &["commit", "-q", "--allow-empty", "-m", "other"],
    );
    let other_git = other.path().join(".git").display().to_string();
    let vars = [
        ("GIT_DIR", other_git.clone()),
        ("GIT_WORK_TREE", other.path().display().to_string()),
        ("GIT_INDEX_FILE", format!("{other_git}/index")),
    ];
    run_with(&p, &vars, &["deploy"]).success();
    assert_eq!(
        description_of(&p, "1"),
        format!("greenlight: sha={head} ref=main clean")
    );
}

#[test]
fn a_git_that_hangs_or_prints_garbage_never_stops_a_deploy() {
    let p = Project::new();
    let bin = tempfile::tempdir().expect("tempdir");
    let fake = bin.path().join("git");
    let path = [("PATH", bin.path().display().to_string())];
    let on_github = [("GITHUB_ACTIONS", "true".to_owned())];

    // Garbage, on both streams, and a failure.
    executable(
        &fake,
        "#!/bin/sh\nprintf '::error::forged\\n\\033]0;x\\007# branch.oid\\n'\nprintf '::error::forged\\n' >&2\nexit 1\n",
    );
    let run = run_with(
        &p,
        &[path[0].clone(), on_github[0].clone()],
        &["deploy", "-v"],
    )
    .success();
    assert!(
        !run.all_output()
            .lines()
            .any(|l| l.trim_start().starts_with("::")),
        "{}",
        run.all_output()
    );
    assert_eq!(description_of(&p, "1"), "");

    // A git that never answers, with a child holding its output open.
    let sleep = ["/usr/bin/sleep", "/bin/sleep"]
        .into_iter()
        .find(|s| Path::new(s).exists())
        .expect("a sleep command");
    let hang = format!("#!/bin/sh\n{sleep} 30 &\nexec {sleep} 600\n");
    executable(&fake, &hang);
    p.change_code("v2");
    let run = run_with(&p, &path, &["deploy", "-v"]).success();
    assert!(
        run.stderr.contains("`git config` took more than 10s"),
        "{}",
        run.stderr
    );
    assert_eq!(p.versions(), ["1", "2"]);
    assert_eq!(description_of(&p, "2"), "");
}
