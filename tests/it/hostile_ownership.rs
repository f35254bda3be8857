//! What greenlight owns, tried as a hostile user (or bad luck) would: an
//! alias someone made with greenlight's candidate description copied in,
//! and a tag change cut off between its two writes. greenlight moves only
//! its own candidate, and never forgets a tag it set. Read back from the
//! emulator.

use std::collections::BTreeMap;

use aws_sdk_lambda::types::AliasRoutingConfiguration;

use crate::harness::{FUNCTION, Fault, Project, default_config};

/// The default config with `line` added to `[function]`.
fn config_with(line: &str) -> String {
    default_config().replacen("[function]\n", &format!("[function]\n{line}\n"), 1)
}

#[test]
fn an_alias_with_the_candidates_description_copied_in_that_splits_traffic_is_never_moved() {
    let p = Project::new();
    p.run(&["ship"]).success();
    p.change_code("v2");
    p.run(&["deploy"]).success();
    // Someone's beta alias, 20 % of its users on version 2, its
    // description copied from a greenlight candidate alias.
    let description =
        "greenlight candidate alias: version 1 is under test here; it carries no user traffic";
    p.aws(async |c| {
        c.create_alias()
            .function_name(FUNCTION)
            .name("beta")
            .function_version("1")
            .description(description)
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .additional_version_weights("2", 0.2)
                    .build(),
            )
            .send()
            .await
    })
    .expect("create beta");
    let beta = || (p.weights("beta"), p.alias("beta").expect("beta").1);
    let before = beta();
    p.write(
        "greenlight.toml",
        &format!("{}\n[release]\ncandidate = \"beta\"\n", default_config()),
    );
    p.change_code("v3");
    for args in [
        &["ship"][..],
        &["test", "--version", "2"],
        &["release", "--version", "2"],
    ] {
        let run = p.run(args).code(1);
        assert!(
            run.stderr.contains(
                "alias beta of function orders (release.candidate) is not greenlight's candidate alias: its description says greenlight made it, but it splits traffic"
            ),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(beta(), before, "beta untouched");
    assert_eq!(
        before.0,
        ("1".to_owned(), BTreeMap::from([("2".to_owned(), 0.2)]))
    );
    assert_eq!(p.versions(), ["1", "2"], "nothing published");
    assert_eq!(p.live_version(), "1");
}

#[test]
fn a_tag_change_cut_off_between_its_writes_never_orphans_a_tag_greenlight_set() {
    let p = Project::with_config(&config_with(
        "tags = { team = \"orders\", tier = \"gold\" }",
    ));
    p.run(&["ship"]).success();
    assert_eq!(p.tags()["tier"], "gold");
    p.write(
        "greenlight.toml",
        &config_with("tags = { team = \"orders\" }"),
    );
    // The removal is refused (a policy without lambda:UntagResource, a
    // runner killed between the two calls).
    let proxy = p.proxy();
    proxy.rule("UntagResource", 0, None, Fault::AccessDenied);
    p.run_via(&proxy, &["deploy"]).code(1);
    drop(proxy);
    // The next deploy, with the permission, still knows tier is its own.
    p.run(&["deploy"]).success();
    let tags = p.tags();
    assert_eq!(
        tags.get("tier"),
        None,
        "tier, which greenlight set, is removed: {tags:?}"
    );
    assert_eq!(tags["team"], "orders");
    assert_eq!(
        p.raw_tags()["greenlight:managed-tags"].split(' ').next(),
        Some("team")
    );
    assert_eq!(p.versions(), ["1"], "tags publish no version");
}
