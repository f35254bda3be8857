//! Provenance on every version (issue 25 §1): each version greenlight
//! publishes carries where it came from in its own description (GitHub
//! Actions' or GitLab's variables, else `git` in the config's folder, else
//! nothing), within Lambda's 256 characters however hostile the values;
//! `status` shows it per version. Each test reads the version's
//! description back from the emulator.

use std::path::Path;
use std::process::Command;

use crate::harness::{FUNCTION, Project, default_config};

pub const SHA: &str = "4f2c9a1e0b7d3c5a6e8f9d0c1b2a3e4f5d6c7b8a";
pub const SHA2: &str = "0000111122223333444455556666777788889999";

/// GitHub Actions' variables for a run of `sha` on `main` by alice.
pub fn github(sha: &str) -> Vec<(&'static str, String)> {
    [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SHA", sha),
        ("GITHUB_REF_NAME", "main"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/orders"),
        ("GITHUB_RUN_ID", "42"),
        ("GITHUB_ACTOR", "alice"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// Runs greenlight `args` in `p` with the variables `vars` set.
pub fn run_with(p: &Project, vars: &[(&str, String)], args: &[&str]) -> crate::harness::Run {
    let mut command = p.command(args);
    command.envs(vars.iter().map(|(k, v)| (k, v)));
    command.output().expect("run greenlight").into()
}

/// The description of `qualifier` (a version, or `$LATEST`), as Lambda holds it.
pub fn description_of(p: &Project, qualifier: &str) -> String {
    p.version_config(qualifier).description.unwrap_or_default()
}

/// Runs `git ARGS` in `dir`, which must succeed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Makes `dir` a repository on `main` with one commit of all it holds;
/// returns the commit's SHA.
pub fn committed(dir: &Path) -> String {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "first"]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn github_actions_variables_describe_the_version() {
    let p = Project::new();
    let run = run_with(&p, &github(SHA), &["deploy", "--output", "json"]).success();
    let line = format!(
        "greenlight: sha={SHA} ref=main run=https://github.com/acme/orders/actions/runs/42 by=alice"
    );
    assert_eq!(description_of(&p, "1"), line);
    let provenance = &run.json()["deploy"]["provenance"];
    assert_eq!(provenance["commit"], SHA, "{provenance}");
    assert_eq!(provenance["ref"], "main");
    assert_eq!(
        provenance["run_url"],
        "https://github.com/acme/orders/actions/runs/42"
    );
    assert_eq!(provenance["by"], "alice");
    assert!(provenance.get("dirty").is_none(), "CI variables do not say");
    // The function's own description is not the version's.
    assert_eq!(description_of(&p, "$LATEST"), "");
}

#[test]
fn gitlab_variables_describe_the_version() {
    let p = Project::new();
    let vars = [
        ("CI_COMMIT_SHA", SHA.to_owned()),
        ("CI_COMMIT_REF_NAME", "release/2.1".to_owned()),
        (
            "CI_PIPELINE_URL",
            "https://gitlab.com/acme/orders/-/pipelines/7".to_owned(),
        ),
        ("GITLAB_USER_LOGIN", "bob".to_owned()),
    ];
    run_with(&p, &vars, &["deploy"]).success();
    assert_eq!(
        description_of(&p, "1"),
        format!(
            "greenlight: sha={SHA} ref=release/2.1 run=https://gitlab.com/acme/orders/-/pipelines/7 by=bob"
        )
    );
}

#[test]
fn git_in_the_config_folder_gives_commit_branch_and_a_dirty_tree() {
    let p = Project::new();
    let dir = p.path();
    let head = committed(dir);
    p.run(&["deploy"]).success();
    assert_eq!(
        description_of(&p, "1"),
        format!("greenlight: sha={head} ref=main clean")
    );
    assert_eq!(
        git(dir, &["status", "--porcelain"]),
        "",
        "deploy wrote nothing in the tree"
    );

    // A change not committed: the version says so.
    p.change_code("v2");
    let run = p.run(&["deploy"]).success();
    assert_eq!(
        description_of(&p, "2"),
        format!("greenlight: sha={head} ref=main dirty")
    );
    assert!(
        run.stdout
            .contains(&format!("from commit {head} (main), dirty tree")),
        "{}",
        run.stdout
    );

    // Committed, on a detached HEAD: no branch to name.
    git(dir, &["commit", "-q", "-am", "second"]);
    let second = git(dir, &["rev-parse", "HEAD"]);
    git(dir, &["checkout", "-q", "--detach"]);
    p.change_code("v3");
    git(dir, &["commit", "-q", "-am", "third"]);
    let third = git(dir, &["rev-parse", "HEAD"]);
    assert_ne!(second, third);
    p.run(&["deploy"]).success();
    assert_eq!(
        description_of(&p, "3"),
        format!("greenlight: sha={third} clean")
    );
}

#[test]
fn without_ci_variables_or_git_the_deploy_goes_on_without_provenance() {
    let p = Project::with_config(&default_config().replace(
        "timeout = 10\n",
        "timeout = 10\ndescription = \"Takes orders\"\n",
    ));
    // Not a repository.
    let run = p.run(&["deploy", "-v", "--output", "json"]).success();
    assert!(
        run.json()["deploy"].get("provenance").is_none(),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("no provenance for the version's description"),
        "{}",
        run.stderr
    );
    assert_eq!(
        description_of(&p, "1"),
        "Takes orders",
        "the function's, as without greenlight"
    );

    // No git command at all.
    let empty = tempfile::tempdir().expect("tempdir");
    p.change_code("v2");
    let vars = [("PATH", empty.path().display().to_string())];
    let run = run_with(&p, &vars, &["deploy", "-v"]).success();
    assert!(
        run.stderr.contains("no git command on PATH"),
        "{}",
        run.stderr
    );
    assert_eq!(description_of(&p, "2"), "Takes orders");
    assert_eq!(p.versions(), ["1", "2"]);
}

#[test]
fn a_hostile_300_character_ref_is_cut_to_fit_and_shown_as_outside_text() {
    let p = Project::new();
    let hostile_ref = format!(
        "feat/\n::error title=x::forged\r\u{1b}[31mé{}",
        "r".repeat(300)
    );
    let mut vars = github(SHA);
    vars.retain(|(k, _)| *k != "GITHUB_REF_NAME");
    vars.push(("GITHUB_REF_NAME", hostile_ref));
    vars.push(("GITHUB_ACTOR", "eve ::warning::x 😀".to_owned()));
    let run = run_with(&p, &vars, &["deploy"]).success();
    assert_eq!(p.versions(), ["1"], "published, not refused");
    let line = description_of(&p, "1");
    assert!(line.encode_utf16().count() <= 256, "{line}");
    assert!(!line.chars().any(char::is_control), "{line:?}");
    let expected_start =
        format!("greenlight: sha={SHA} ref=feat/::error%20title=x::forged[31mérrr");
    assert!(line.starts_with(&expected_start), "{line}");
    assert!(
        line.contains("… run="),
        "the ref is cut, marked with …: {line}"
    );
    assert!(line.ends_with(" by=eve%20::warning::x%20😀"), "{line}");
    for output in [&run.stdout, &run.stderr] {
        assert!(
            !output.lines().any(|l| l.trim_start().starts_with("::")),
            "{output}"
        );
    }

    // On GitHub Actions status prints it on a line of its own making: no
    // workflow command can start, in text or JSON.
    let status = run_with(&p, &github(SHA), &["status"]).success();
    let shown = status
        .stdout
        .lines()
        .find(|l| l.contains("from commit"))
        .expect("a provenance line");
    assert!(
        shown.contains("(feat/::error title=x::forged[31mérrr")
            && shown.contains("by eve ::warning::x 😀"),
        "{shown}"
    );
    assert!(
        !status
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("::"))
    );
    let doc = run_with(&p, &github(SHA), &["status", "--output", "json"])
        .success()
        .json();
    let r = doc["status"]["versions"][0]["provenance"]["ref"]
        .as_str()
        .expect("ref");
    assert!(
        r.starts_with("feat/::error title=x::forged") && r.ends_with('…'),
        "{r}"
    );
}

#[test]
fn status_shows_each_versions_commit_in_text_and_json() {
    let p = Project::new();
    run_with(&p, &github(SHA), &["ship"]).success();
    p.change_code("v2");
    run_with(&p, &github(SHA2), &["deploy"]).success();

    let doc = p.run(&["status", "--output", "json"]).success().json();
    let versions = doc["status"]["versions"].as_array().expect("versions");
    assert_eq!(versions[0]["version"], "2");
    assert_eq!(versions[0]["provenance"]["commit"], SHA2);
    assert_eq!(versions[1]["version"], "1");
    assert_eq!(versions[1]["provenance"]["commit"], SHA);
    assert_eq!(versions[1]["provenance"]["by"], "alice");
    assert!(
        versions[1]["code_sha256"].is_string(),
        "existing fields stay"
    );

    let text = p.run(&["status"]).success().stdout;
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("version   1     live"))
        .expect("version 1 listed");
    assert_eq!(
        lines[at + 1].trim(),
        format!(
            "from commit {SHA} (main), by alice, run https://github.com/acme/orders/actions/runs/42"
        )
    );
    assert_eq!(
        description_of(&p, "2").split(' ').nth(1),
        Some(&*format!("sha={SHA2}"))
    );
}

#[test]
fn an_unchanged_deploy_publishes_nothing_and_keeps_the_first_commit() {
    // With a function description in the config, which the version's own
    // description does not hold.
    let p = Project::with_config(&default_config().replace(
        "timeout = 10\n",
        "timeout = 10\ndescription = \"Takes orders\"\n",
    ));
    run_with(&p, &github(SHA), &["ship"]).success();
    let doc = run_with(&p, &github(SHA2), &["deploy", "--output", "json"])
        .success()
        .json();
    assert_eq!(doc["outcome"], "nothing_to_deploy", "{doc}");
    assert_eq!(
        doc["deploy"]["provenance"]["commit"], SHA,
        "the version's own"
    );
    assert_eq!(p.versions(), ["1"]);
    assert!(description_of(&p, "1").contains(SHA));
    assert_eq!(description_of(&p, "$LATEST"), "Takes orders");

    // A new function description is still a change.
    let p2 = p.write(
        "greenlight.toml",
        &default_config().replace(
            "timeout = 10\n",
            "timeout = 10\ndescription = \"Takes more\"\n",
        ),
    );
    let doc = run_with(p2, &github(SHA2), &["deploy", "--output", "json"])
        .success()
        .json();
    assert_eq!(doc["outcome"], "deployed", "{doc}");
    assert_eq!(
        doc["deploy"]["changes"][0],
        "description Takes orders → Takes more"
    );
    assert_eq!(p.versions(), ["1", "2"]);
    assert!(description_of(&p, "2").contains(SHA2));
    assert_eq!(description_of(&p, "$LATEST"), "Takes more");
}

#[test]
fn the_emulator_refuses_a_description_over_256_characters_as_lambda_does() {
    let p = Project::new();
    p.run(&["deploy"]).success();
    // The error code Lambda answers a publish with `description`, if any.
    let refused = |description: String| {
        let answer = p.aws(async |c| {
            c.publish_version()
                .function_name(FUNCTION)
                .description(description)
                .send()
                .await
        });
        answer.err().map(|e| {
            e.as_service_error()
                .and_then(aws_sdk_lambda::error::ProvideErrorMetadata::code)
                .unwrap_or("not a service error")
                .to_owned()
        })
    };
    assert_eq!(
        refused("é".repeat(257)).as_deref(),
        Some("ValidationException")
    );
    assert_eq!(p.versions(), ["1"]);
    // 256 characters are accepted (nothing changed, so Lambda answers
    // with the version it has).
    assert_eq!(refused("é".repeat(256)), None);
}
