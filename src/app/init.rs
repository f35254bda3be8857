//! `init`: write a starter config, the CI role's IAM policy and GitHub Actions
//! workflows from `templates/`.
//!
//! In: a runtime flavour and a function name. Out: the files written. Asks
//! nothing (flags only), so it behaves the same at a terminal and in a
//! script. It never overwrites a file unless `--force`: when any target
//! exists it writes nothing and says which (exit 2). No AWS calls.

use std::path::{Path, PathBuf};

use crate::cli::Flavour;
use crate::error::{Error, Result};

const CONFIG: &str = include_str!("../../templates/greenlight.toml");
const POLICY: &str = include_str!("../../templates/iam-policy.json");
const SHIP: &str = include_str!("../../templates/github/ship.yml");
const PROMOTE: &str = include_str!("../../templates/github/promote.yml");
const DEPLOY_COMMIT: &str = include_str!("../../templates/github/deploy-commit.yml");
const APPROVE: &str = include_str!("../../templates/github/approve.yml");

/// The starter `greenlight.toml` for `name` and `flavour`, on arm64
/// (Graviton) or x86_64. For Rust, the build asks cargo-lambda for the
/// same architecture the function runs on, so the two cannot drift apart.
pub fn config(name: &str, flavour: Flavour, arm64: bool) -> String {
    let architecture = if arm64 { "arm64" } else { "x86_64" };
    let (runtime, handler, source, build) = match flavour {
        Flavour::Python => ("python3.12", "index.handler", "src".to_owned(), None),
        Flavour::Node => ("nodejs22.x", "index.handler", "src".to_owned(), None),
        Flavour::Rust => (
            "provided.al2023",
            "bootstrap",
            format!("target/lambda/{name}"),
            Some(if arm64 {
                "cargo lambda build --release --arm64"
            } else {
                "cargo lambda build --release --x86-64"
            }),
        ),
        Flavour::Custom => ("provided.al2023", "bootstrap", "dist".to_owned(), None),
    };
    let build = match build {
        Some(command) => format!("build = \"{command}\"      # run before packaging"),
        None => "# build = \"make\"             # a command run before packaging".to_owned(),
    };
    let architecture = match (flavour, arm64) {
        (Flavour::Rust, _) | (_, true) => format!(
            "architecture = \"{architecture}\"      # x86_64 or arm64; applied with the code"
        ),
        _ => "# architecture = \"arm64\"       # x86_64 (the default) or arm64".to_owned(),
    };
    CONFIG
        .replace("{{name}}", name)
        .replace("{{runtime}}", runtime)
        .replace("{{handler}}", handler)
        .replace("{{source}}", &source)
        .replace("{{build}}", &build)
        .replace("{{architecture}}", &architecture)
}

/// Writes the starter files into `dir`; returns their paths.
pub fn init(
    dir: &Path,
    name: &str,
    flavour: Flavour,
    arm64: bool,
    force: bool,
) -> Result<Vec<PathBuf>> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            Error::usage(format!("--name {name:?} is not a Lambda function name"))
                .with_hint("use 1 to 64 letters, digits, '-' or '_'"),
        );
    }
    let files = [
        ("greenlight.toml", config(name, flavour, arm64)),
        (
            "greenlight-iam-policy.json",
            POLICY.replace("my-function", name),
        ),
        (".github/workflows/greenlight-ship.yml", SHIP.to_owned()),
        (
            ".github/workflows/greenlight-promote.yml",
            PROMOTE.to_owned(),
        ),
        (
            ".github/workflows/greenlight-deploy-commit.yml",
            DEPLOY_COMMIT.to_owned(),
        ),
        (
            ".github/workflows/greenlight-approve.yml",
            APPROVE.to_owned(),
        ),
    ];
    let existing: Vec<&str> = files
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| dir.join(p).exists())
        .collect();
    if !force && !existing.is_empty() {
        return Err(Error::usage(format!(
            "{} already exist(s); nothing was written",
            existing.join(", ")
        ))
        .with_hint("pass --force to overwrite them"));
    }
    let mut written = Vec::new();
    for (relative, contents) in files {
        let path = dir.join(relative);
        let failed = |e: std::io::Error| {
            Error::usage(format!("cannot write {}", path.display())).with_cause(e)
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        std::fs::write(&path, contents).map_err(failed)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use clap::ValueEnum;

    #[test]
    fn every_flavour_gives_a_config_that_passes_validation() {
        for flavour in Flavour::value_variants() {
            for arm64 in [false, true] {
                let text = config("orders-api", *flavour, arm64);
                let parsed = Config::parse(Path::new("greenlight.toml"), &text)
                    .unwrap_or_else(|e| panic!("{flavour:?}: {e}"));
                assert_eq!(parsed.function.name, "orders-api");
                assert!(!text.contains("{{"), "{flavour:?} left a placeholder");
                let architecture = parsed.function.settings.extra.architecture;
                let expected = match (flavour, arm64) {
                    (_, true) => Some("arm64"),
                    (Flavour::Rust, false) => Some("x86_64"),
                    _ => None,
                };
                assert_eq!(architecture.as_deref(), expected, "{flavour:?} {arm64}");
            }
        }
    }

    #[test]
    fn the_starters_watch_table_is_valid_once_uncommented() {
        let text = config("orders-api", Flavour::Python, false)
            .replace("# [watch]\n# bucket", "[watch]\nbucket");
        let parsed = Config::parse(Path::new("greenlight.toml"), &text).expect("valid");
        assert_eq!(
            parsed.watch.map(|w| w.bucket).as_deref(),
            Some("my-ops-bucket")
        );
    }

    #[test]
    fn rust_builds_for_the_architecture_the_function_runs_on() {
        let build = |arm64| {
            let text = config("x", Flavour::Rust, arm64);
            let config = Config::parse(Path::new("greenlight.toml"), &text).expect("valid");
            let build = config.package.and_then(|p| p.build).expect("a build");
            (build, config.function.settings.extra.architecture)
        };
        assert_eq!(
            build(true),
            (
                "cargo lambda build --release --arm64".to_owned(),
                Some("arm64".to_owned())
            )
        );
        assert_eq!(
            build(false),
            (
                "cargo lambda build --release --x86-64".to_owned(),
                Some("x86_64".to_owned())
            )
        );
    }

    /// Whether `text` matches the IAM resource `pattern` (`*`: any run of
    /// characters).
    fn matches(pattern: &str, text: &str) -> bool {
        let mut parts = pattern.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = text.strip_prefix(first) else {
            return false;
        };
        let mut parts: Vec<&str> = parts.collect();
        let last = parts.pop();
        for part in parts {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        last.is_none_or(|last| rest.ends_with(last))
    }

    #[test]
    fn the_configs_example_references_are_ones_the_policy_lets_ci_read() {
        let policy: serde_json::Value =
            serde_json::from_str(&POLICY.replace("my-function", "orders")).expect("JSON");
        let read = policy["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .find(|s| s["Sid"] == "ReadEnvironmentValuesOnlyWithReferences")
            .expect("the statement");
        let resources: Vec<&str> = read["Resource"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|r| r.as_str())
            .collect();
        let config = config("orders", Flavour::Python, false);
        let example = config
            .lines()
            .find(|l| l.contains("ssm = "))
            .expect("the example");
        let quoted = |key: &str| {
            let at = example.find(key).expect(key) + key.len();
            example[at..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        // As ARNs: a parameter's without its leading /, a secret's with the
        // six characters Secrets Manager adds.
        let parameter = format!(
            "arn:aws:ssm:us-east-1:123456789012:parameter/{}",
            quoted("ssm = \"").trim_start_matches('/')
        );
        let secret = format!(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{}-AbCdEf",
            quoted("secret = \"")
        );
        for arn in [parameter, secret] {
            assert!(
                resources.iter().any(|r| matches(r, &arn)),
                "{arn} is not under {resources:?}"
            );
        }
    }

    #[test]
    fn the_policy_stays_valid_json() {
        let policy = POLICY.replace("my-function", "orders");
        let value: serde_json::Value = serde_json::from_str(&policy).expect("JSON");
        assert_eq!(value["Version"], "2012-10-17");
    }
}
