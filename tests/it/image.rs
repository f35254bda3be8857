//! Container-image functions: `[package] image_uri` deploys an image instead of a zip.

use aws_sdk_lambda::types::PackageType;

use crate::harness::{FUNCTION, Project, ROLE};

const REPOSITORY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders";

pub(crate) fn config(image: &str) -> String {
    format!(
        "[function]\nname = \"{FUNCTION}\"\nrole = \"{ROLE}\"\nmemory = 512\n\n[package]\nimage_uri = \"{image}\"\n"
    )
}

pub(crate) fn digest(fill: char) -> String {
    format!("{REPOSITORY}@sha256:{}", fill.to_string().repeat(64))
}

#[test]
fn an_image_is_created_published_and_redeployed_only_when_its_digest_changes() {
    let p = Project::with_config(&config(&digest('a')));
    let first = p.run(&["ship"]).success();
    assert!(first.stderr.contains("using image"), "{}", first.stderr);
    assert_eq!(p.alias("live").expect("alias").0, "1");
    let v1 = p.version_config("1");
    assert_eq!(v1.package_type(), Some(&PackageType::Image));
    assert_eq!(v1.runtime(), None);

    // Same digest: one read of the alias's configuration, one of its image, no writes.
    let before = p.emulator.requests().len();
    let again = p.run(&["deploy"]).success();
    assert!(
        again.stdout.contains("nothing to deploy"),
        "{}",
        again.stdout
    );
    let calls = p.emulator.assert_only_reads_since(
        before,
        &[
            "GET /2015-03-31/functions/orders/configuration?Qualifier=live",
            "GET /2015-03-31/functions/orders?Qualifier=1",
        ],
    );
    assert!(calls.len() <= 3, "{calls:?}");

    p.write("greenlight.toml", &config(&digest('b')));
    p.run(&["ship"]).success();
    assert_eq!(p.alias("live").expect("alias").0, "2");
    assert_eq!(p.versions(), ["1", "2"]);

    // A tag can move, so it is always sent; Lambda resolves it.
    p.write("greenlight.toml", &config(&format!("{REPOSITORY}:v3")));
    let tagged = p.run(&["deploy"]).success();
    assert!(
        tagged.stderr.contains("deploying image"),
        "{}",
        tagged.stderr
    );
    assert_eq!(
        p.alias("live").expect("alias").0,
        "2",
        "deploy moves no traffic"
    );
}

#[test]
fn image_configs_that_cannot_work_are_refused_before_any_call() {
    let p = Project::with_config(&config(&digest('a')));
    let package = p.run(&["package"]).code(2);
    assert!(
        package.stderr.contains("there is no zip to build"),
        "{}",
        package.stderr
    );

    let cases = [
        (
            config(&digest('a')).replace("[package]", "[package]\nsource = \"app\""),
            "`package.source` does not apply with `package.image_uri`",
        ),
        (
            config(&digest('a')).replace("memory = 512", "runtime = \"python3.12\""),
            "`function.runtime` = \"python3.12\"",
        ),
        (
            config("orders:latest"),
            "`package.image_uri` = \"orders:latest\"",
        ),
        (
            config(&format!("{REPOSITORY}@md5:abc")),
            "`package.image_uri`",
        ),
    ];
    for (text, expected) in cases {
        p.write("greenlight.toml", &text);
        let refused = p.run(&["ship"]).code(2);
        assert!(refused.stderr.contains(expected), "{}", refused.stderr);
    }
    assert!(p.functions().is_empty(), "nothing was created");
}
