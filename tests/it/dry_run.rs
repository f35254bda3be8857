//! `plan` and `--dry-run`: the writes a command would make, and none made.

use crate::harness::{Project, SECRET, default_config};

fn calls(doc: &serde_json::Value) -> Vec<String> {
    doc["dry_run"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["call"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn plans_name_every_write_and_make_none() {
    let p = Project::new();
    let first = p.run(&["plan", "--output", "json"]).success().json();
    assert_eq!(
        calls(&first),
        ["CreateFunction", "PublishVersion", "CreateAlias"]
    );
    assert!(p.functions().is_empty(), "plan created nothing");
    p.run(&["ship"]).success();

    // New code, more memory, a new secret, and a canary release.
    p.write(
        "app/index.py",
        "def handler(event, context):\n    return event  # v2\n",
    );
    let config = default_config().replace("memory = 256", "memory = 512")
        + "\n[release]\nsteps = [10, 50]\nbake = \"5m\"\n";
    p.write(
        "greenlight.toml",
        &config.replace(SECRET, "a-brand-new-secret-value"),
    );
    let before = p.emulator.requests().len();
    let plan = p.run(&["plan"]).success();
    for expected in [
        "dry run   plan would make 6 writes; nothing was changed",
        "write   UpdateFunctionCode: function orders from a zip of 1 file",
        "the code differs: CodeSha256",
        "write   UpdateFunctionConfiguration: function orders: memory 256 → 512, environment (changed API_TOKEN)",
        "invoke the new version with the smoke tests (echo)",
        "write   UpdateAlias: alias live: 10 % on the new version, 90 % on version 1",
        "bake 5m, watching 1 smoke test through the alias",
        "write   UpdateAlias: alias live → the new version, all traffic (weights cleared)",
    ] {
        assert!(
            plan.stdout.contains(expected),
            "{expected:?} in\n{}",
            plan.stdout
        );
    }
    let no_wait = p
        .run(&["ship", "--dry-run", "--no-wait", "--output", "json"])
        .success()
        .json();
    assert_eq!(
        calls(&no_wait),
        [
            "UpdateFunctionConfiguration",
            "UpdateFunctionCode",
            "PublishVersion",
            "UpdateAlias"
        ]
    );
    assert_eq!(no_wait["outcome"], "dry_run");
    let deploy = p.run(&["deploy", "--dry-run", "-v"]).success();
    for out in [&plan.stdout, &plan.stderr, &deploy.stdout, &deploy.stderr] {
        assert!(
            !out.contains("a-brand-new-secret-value") && !out.contains(SECRET),
            "{out}"
        );
    }
    // The reads that decide the plan: what the alias serves, what
    // `$LATEST` holds, where the alias points.
    p.emulator.assert_only_reads_since(
        before,
        &[
            "GET /2015-03-31/functions/orders/configuration?Qualifier=live",
            "GET /2015-03-31/functions/orders/configuration?Qualifier=$LATEST",
            "GET /2015-03-31/functions/orders/aliases/live",
        ],
    );
    assert_eq!(p.versions(), ["1"]);
    assert_eq!(p.alias("live").expect("alias").0, "1");

    // A canary in progress: promote waits for the bake, rollback would stop it.
    p.run(&["ship", "--no-wait"]).success();
    let weights = p.weights("live");
    let before = p.emulator.requests().len();
    let promote = p.run(&["promote", "--dry-run"]).success();
    assert!(
        promote.stdout.contains("promote would make no writes")
            && promote.stdout.contains("at 10 % bakes")
            && promote.stdout.contains("nothing moves now"),
        "{}",
        promote.stdout
    );
    let rollback = p.run(&["rollback", "--dry-run"]).success();
    assert!(
        rollback
            .stdout
            .contains("write   UpdateAlias: alias live → version 1, all traffic (stops the release of version 2"),
        "{}",
        rollback.stdout
    );
    // The same refusal, and exit code, as the real command.
    let other = p.run(&["release", "--dry-run", "--version", "1"]).code(1);
    assert!(
        other
            .stderr
            .contains("the release of version 2 is in progress"),
        "{}",
        other.stderr
    );
    // Each command read the alias (the release in progress), and the
    // refused release the version it names.
    let calls = p.emulator.assert_only_reads_since(
        before,
        &[
            "GET /2015-03-31/functions/orders/aliases/live",
            "GET /2015-03-31/functions/orders/configuration?Qualifier=1",
        ],
    );
    let alias_reads = calls.iter().filter(|c| c.ends_with("/aliases/live"));
    assert!(alias_reads.count() >= 3, "{calls:?}");
    assert_eq!(p.weights("live"), weights);
}

/// The plan of `args` (a `--dry-run` command or `plan`) lists exactly the
/// writes the real command that follows makes, in order, and writes
/// nothing itself: read from the emulator's log of both runs. Returns the
/// plan's calls.
fn plan_matches_the_run(p: &Project, args: &[&str]) -> Vec<String> {
    let before = p.emulator.requests().len();
    let mut planned = args.to_vec();
    planned.extend(["--dry-run", "--output", "json"]);
    let plan = calls(&p.run(&planned).success().json());
    assert_eq!(p.emulator.writes_since(before), Vec::<String>::new());
    let before = p.emulator.requests().len();
    p.run(args).success();
    let made: Vec<String> = p
        .emulator
        .writes_since(before)
        .iter()
        .filter_map(|call| call.rsplit(' ').next().map(str::to_owned))
        // A plan says its smoke tests rather than listing their invokes.
        .filter(|call| call != "Invoke")
        .collect();
    assert_eq!(plan, made, "the plan of {args:?}, then what it wrote");
    plan
}

#[test]
fn a_deploys_plan_lists_the_writes_it_makes_in_order() {
    // Tags under [function], the code through a bucket.
    let tags = "tags = { team = \"orders\", tier = \"gold\" }";
    let config = default_config().replace(
        "[package]",
        &format!("{tags}\n\n[package]\ns3_bucket = \"artifacts\""),
    );
    let p = Project::with_config(&config);
    p.create_bucket("artifacts");
    // A new function, its tags given to CreateFunction.
    assert_eq!(
        plan_matches_the_run(&p, &["deploy"]),
        [
            "PutObject",
            "CreateFunction",
            "PublishVersion",
            "CreateAlias"
        ]
    );
    // New code, more memory, a tag changed and one removed.
    p.change_code("v2");
    let config = config.replace("memory = 256", "memory = 512");
    p.write(
        "greenlight.toml",
        &config.replace("tier = \"gold\"", "stage = \"prod\""),
    );
    assert_eq!(
        plan_matches_the_run(&p, &["deploy"]),
        [
            "PutObject",
            "UpdateFunctionConfiguration",
            "UpdateFunctionCode",
            "PublishVersion",
            "UntagResource",
            "TagResource"
        ]
    );
    assert_eq!(p.versions(), ["1", "2"]);
    assert_eq!(p.tags()["stage"], "prod");
    // Only the tags differ from $LATEST (the alias still serves version
    // 1): the publish returns version 2 again, and the tags are written.
    p.write("greenlight.toml", &config);
    assert_eq!(
        plan_matches_the_run(&p, &["deploy"]),
        ["PublishVersion", "UntagResource", "TagResource"]
    );
    assert_eq!(p.versions(), ["1", "2"]);
    assert_eq!(p.tags()["tier"], "gold");
}

#[test]
fn a_ships_plan_lists_the_writes_it_makes_in_order() {
    // The first ship of a new function: the alias is created on its
    // first version, and there is nothing to release.
    let p = Project::new();
    assert_eq!(
        plan_matches_the_run(&p, &["ship"]),
        ["CreateFunction", "PublishVersion", "CreateAlias"]
    );
    assert_eq!(p.alias("live").expect("alias").0, "1");
    // New code as a canary, left at its first step.
    p.change_code("v2");
    p.write(
        "greenlight.toml",
        &(default_config() + "\n[release]\nsteps = [10]\nbake = \"1h\"\n"),
    );
    assert_eq!(
        plan_matches_the_run(&p, &["ship", "--no-wait"]),
        ["UpdateFunctionCode", "PublishVersion", "UpdateAlias"]
    );
    assert_eq!(
        p.weights("live"),
        ("1".to_owned(), [("2".to_owned(), 0.1)].into())
    );
}

#[test]
fn a_dns_ships_plan_lists_the_writes_it_makes_in_order() {
    let p = Project::new();
    let zone = p.create_zone("example.com");
    p.write(
        "greenlight.toml",
        &crate::dns::dns_config(&zone, "steps = [10]\nbake = \"1h\""),
    );
    // The first ship: the function, its first version on blue, and the
    // weighted records created, all on blue.
    let plan = p.run(&["plan"]).success().stdout;
    assert!(
        plan.contains("write   ChangeResourceRecordSets: create the weighted CNAME records of api.example.com: blue 100, green 0"),
        "{plan}"
    );
    assert_eq!(
        plan_matches_the_run(&p, &["ship"]),
        [
            "CreateFunction",
            "PublishVersion",
            "CreateAlias",
            "UpdateAlias",
            "ChangeResourceRecordSets"
        ]
    );
    crate::dns::assert_weights(&p, &zone, 100, 0);
    assert_eq!(p.alias("blue").expect("blue alias").0, "1");
    // New code: green staged on it, then its release record and 10 % of
    // the weight.
    p.change_code("v2");
    assert_eq!(
        plan_matches_the_run(&p, &["ship", "--no-wait"]),
        crate::dns::CANARY_SHIP_WRITES
    );
    crate::dns::assert_weights(&p, &zone, 90, 10);
    assert_eq!(p.alias("green").expect("green alias").0, "2");
}

#[test]
fn an_alb_ships_plan_lists_the_writes_it_makes_in_order() {
    let (p, alb) = crate::alb::behind_a_load_balancer([500, 0], "steps = [10]\nbake = \"1h\"");
    p.change_code("v2");
    assert_eq!(
        plan_matches_the_run(&p, &["ship", "--no-wait"]),
        [
            "UpdateFunctionCode",
            "PublishVersion",
            "UpdateAlias",
            "UpdateAlias",
            "UpdateAlias",
            "ModifyListener"
        ]
    );
    crate::alb::assert_weights(&p, &alb, 450, 50);
}
