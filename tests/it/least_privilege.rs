//! Least privilege: `templates/iam-policy.json` grants exactly what the
//! commands call, and without any one of its statements a named command
//! fails with an AccessDenied error that names the missing permission.
//!
//! moto's own IAM enforcement cannot judge greenlight's calls (it rejects
//! the signatures of Lambda's GET requests, checks `lambda:Invoke` where
//! AWS checks `lambda:InvokeFunction`, and CloudWatch under `monitoring:`),
//! so the proxy in front of the emulator names each call's operation and
//! plays IAM: it denies the calls whose action only a removed statement
//! grants. Every command runs against the emulator as usual.

use std::collections::{BTreeMap, BTreeSet};

use crate::harness::sdk::{create_secret, put_parameter};
use crate::harness::{Fault, FaultProxy, Project, default_config};

/// Statements whose actions AWS checks on greenlight's behalf, not as calls
/// greenlight makes: Lambda checks `iam:PassRole` when a function gets its
/// role, pulls container images with the caller's ECR permissions, and
/// with the caller's permissions looks up the VPC's subnets and security
/// groups, the file system's mount targets and the layer versions, and
/// uses a customer KMS key (a grant and encryption when the environment
/// is written, decryption when it is read back).
const CHECKED_BY_LAMBDA: [&str; 6] = [
    "HandTheExecutionRoleToLambda",
    "PullContainerImagesOnlyWithPackageImageUri",
    "DescribeTheNetworkOnlyWithVpc",
    "DescribeMountTargetsOnlyWithFileSystems",
    "UseLayerVersionsOnlyWithLayers",
    "EncryptTheEnvironmentOnlyWithKmsKey",
];

/// Statements whose calls only warn: without them the commands succeed,
/// saying what was skipped (the warning's words) and naming the missing
/// permission: the triggers of the unqualified function
/// (`crate::triggers`), and `[[notify]]` SNS topics (a notification never
/// changes a release).
const ADVISORY: [(&str, &str); 2] = [
    (
        "FindEventSourceMappingsThatRunLatest",
        "the check for triggers of the unqualified function was skipped",
    ),
    ("PublishNotificationsOnlyWithNotifySns", "was not told of"),
];

/// The IAM action an operation the proxy saw needs.
fn iam_action(op: &str) -> Option<String> {
    Some(match op {
        "MotoApi" => return None,
        "Invoke" => "lambda:InvokeFunction".to_owned(),
        "DescribeAlarms" | "GetMetricData" => format!("cloudwatch:{op}"),
        "ChangeResourceRecordSets" | "ListResourceRecordSets" | "GetChange" => {
            format!("route53:{op}")
        }
        "DescribeListeners"
        | "DescribeRules"
        | "DescribeTargetHealth"
        | "ModifyListener"
        | "ModifyRule" => format!("elasticloadbalancing:{op}"),
        "S3GET" | "S3HEAD" => "s3:GetObject".to_owned(),
        "S3PUT" => "s3:PutObject".to_owned(),
        "GetParameters" => "ssm:GetParameters".to_owned(),
        "GetSecretValue" => "secretsmanager:GetSecretValue".to_owned(),
        "Publish" => "sns:Publish".to_owned(),
        _ => format!("lambda:{op}"),
    })
}

/// The template's statements: Sid → actions.
fn policy() -> BTreeMap<String, BTreeSet<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/iam-policy.json");
    let text = std::fs::read_to_string(path).expect("read the policy");
    statements(&text)
        .into_iter()
        .map(|(sid, (actions, _))| (sid, actions.into_iter().collect()))
        .collect()
}

/// The statements of the policy document `text`: Sid → (actions,
/// resources).
fn statements(text: &str) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let doc: serde_json::Value = serde_json::from_str(text).expect("policy JSON");
    doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| {
            (
                s["Sid"].as_str().expect("Sid").to_owned(),
                (strings(&s["Action"]), strings(&s["Resource"])),
            )
        })
        .collect()
}

/// A statement's `Action` or `Resource`: one string or a list of them.
fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(one) => vec![one.clone()],
        many => many
            .as_array()
            .expect("a string or a list")
            .iter()
            .map(|a| a.as_str().expect("a string").to_owned())
            .collect(),
    }
}

/// What one command of a scenario did.
struct Step {
    command: String,
    code: i32,
    stderr: String,
    /// Standard output and standard error.
    output: String,
    actions: BTreeSet<String>,
}

/// Runs `args` through `proxy`, recording the actions its calls needed.
fn step(p: &Project, proxy: &FaultProxy, args: &[&str]) -> Step {
    let before = proxy.log().len();
    let run = p.run_via(proxy, args);
    Step {
        command: args.join(" "),
        code: run.code,
        output: run.all_output(),
        stderr: run.stderr,
        actions: proxy.log()[before..]
            .iter()
            .filter_map(|s| iam_action(&s.op))
            .collect(),
    }
}

/// Every command a CI role runs on an alias release, through S3, with
/// alarm and metric gates, environment values from SSM and Secrets
/// Manager and an SNS topic told of each step, in order; stops at the
/// first failure.
fn alias_scenario(deny: &[String]) -> Vec<Step> {
    let release = "[release]\nsteps = [50]\nbake = \"1h\"\nalarms = [\"orders-errors\"]\nmin_invocations = 1\n\
                   metrics = [{ name = \"error-rate\", margin = 0.01 }, { name = \"p99-duration\", margin = \"100ms\" }]\n";
    // Tags: created with the function, then one changed and one removed.
    let config = default_config()
        .replace(
            "source = \"app\"",
            "source = \"app\"\ns3_bucket = \"artifacts\"",
        )
        .replace(
            "[package]",
            "tags = { team = \"orders\", tier = \"gold\" }\n\n[package]",
        )
        .replace(
            "environment = {",
            "environment = { DB = { ssm = \"/orders/db\" }, KEY = { secret = \"orders/key\" },",
        );
    let p = Project::with_config(&format!("{config}\n{release}"));
    let (topic, _) = crate::harness::python::topic_with_queue(&p.emulator.endpoint, "releases");
    let release = format!("{release}\n[[notify]]\nsns = \"{topic}\"\n");
    p.write("greenlight.toml", &format!("{config}\n{release}"));
    put_parameter(&p, "/orders/db", "db-value");
    create_secret(&p, "orders/key", "key-value");
    p.create_bucket("artifacts");
    p.create_alarm("orders-errors");
    let proxy = denying(&p, deny);
    let mut steps = vec![step(&p, &proxy, &["ship"])];
    if steps[0].code == 0 {
        // The p99 margin makes the gates read the alias's provisioned
        // concurrency; with some, p99 is judged by its max only (the
        // emulator has no percentiles, so a judged margin would hold).
        p.provision("live", 2);
    }
    let next = |steps: &mut Vec<Step>, args: &[&str]| {
        if steps.iter().all(|s| s.code == 0) {
            steps.push(step(&p, &proxy, args));
        }
    };
    p.change_code("v2");
    p.write(
        "greenlight.toml",
        &format!(
            "{}\n{release}",
            config
                .replace("memory = 256", "memory = 512")
                .replace("tier = \"gold\"", "stage = \"prod\"")
        ),
    );
    next(&mut steps, &["ship", "--no-wait"]);
    if steps.iter().all(|s| s.code == 0) {
        p.put_lambda_metrics("live", "2", 10.0, 0.0);
        p.put_lambda_metrics("live", "1", 10.0, 0.0);
        p.end_bake("live");
    }
    for args in [&["promote"][..], &["status"], &["rollback"]] {
        next(&mut steps, args);
    }
    // Two more versions, so prune has one to delete.
    for marker in ["v3", "v4"] {
        p.change_code(marker);
        next(&mut steps, &["deploy"]);
    }
    next(&mut steps, &["prune", "--keep", "1"]);
    steps
}

/// A container-image function: created, then found unchanged (its image is
/// read back to compare digests).
fn image_scenario(deny: &[String]) -> Vec<Step> {
    let p = Project::with_config(&crate::image::config(&crate::image::digest('a')));
    let proxy = denying(&p, deny);
    let mut steps = vec![step(&p, &proxy, &["ship"])];
    if steps[0].code == 0 {
        steps.push(step(&p, &proxy, &["deploy"]));
    }
    steps
}

/// A blue/green release by weighted DNS: the records created, then a shift.
fn dns_scenario(deny: &[String]) -> Vec<Step> {
    let p = Project::new();
    let zone = p.create_zone("example.com");
    p.write("greenlight.toml", &crate::dns::dns_config(&zone, ""));
    let proxy = denying(&p, deny);
    let mut steps = vec![step(&p, &proxy, &["ship"])];
    if steps[0].code == 0 {
        p.change_code("v2");
        steps.push(step(&p, &proxy, &["ship"]));
    }
    steps
}

/// A blue/green release through a load balancer: one by the listener's
/// default action, then one by a listener rule's (the function shipped
/// first through its alias, the load balancer set up as a user would).
fn alb_scenario(deny: &[String]) -> Vec<Step> {
    let p = Project::new();
    p.run(&["ship"]).success();
    let alb = crate::harness::alb::Alb::create(&p, [100, 0]);
    let config = |at: &str| format!("{}\n{}", default_config(), alb.config_at(at));
    p.write(
        "greenlight.toml",
        &config(&format!("listener_arn = \"{}\"", alb.listener)),
    );
    let proxy = denying(&p, deny);
    p.change_code("v2");
    let mut steps = vec![step(&p, &proxy, &["ship"])];
    if steps[0].code == 0 {
        // Green is live after the first: the rule forwards all to green too.
        let rule = alb.add_rule(&p, vec![crate::harness::alb::forward(&alb.pair([0, 100]))]);
        p.write(
            "greenlight.toml",
            &config(&format!("rule_arn = \"{rule}\"")),
        );
        p.change_code("v3");
        steps.push(step(&p, &proxy, &["ship"]));
    }
    steps
}

/// A proxy that answers AccessDenied to every call needing one of `deny`.
fn denying(p: &Project, deny: &[String]) -> FaultProxy {
    let proxy = p.proxy();
    let ops = [
        "CreateFunction",
        "GetFunction",
        "GetFunctionConfiguration",
        "UpdateFunctionConfiguration",
        "UpdateFunctionCode",
        "PublishVersion",
        "ListVersionsByFunction",
        "CreateAlias",
        "ListAliases",
        "UpdateAlias",
        "GetAlias",
        "GetProvisionedConcurrencyConfig",
        "ListTags",
        "TagResource",
        "UntagResource",
        "ListEventSourceMappings",
        "GetFunctionUrlConfig",
        "GetPolicy",
        "DeleteFunction",
        "Invoke",
        "DescribeAlarms",
        "GetMetricData",
        "ChangeResourceRecordSets",
        "ListResourceRecordSets",
        "GetChange",
        "DescribeListeners",
        "DescribeRules",
        "DescribeTargetHealth",
        "ModifyListener",
        "ModifyRule",
        "S3GET",
        "S3HEAD",
        "S3PUT",
        "GetParameters",
        "GetSecretValue",
        "Publish",
    ];
    for op in ops {
        if iam_action(op).is_some_and(|a| deny.contains(&a)) {
            proxy.rule(op, 0, None, Fault::AccessDenied);
        }
    }
    proxy
}

#[test]
fn the_policy_grants_exactly_what_the_commands_call() {
    let steps: Vec<Step> = alias_scenario(&[])
        .into_iter()
        .chain(dns_scenario(&[]))
        .chain(alb_scenario(&[]))
        .chain(image_scenario(&[]))
        .collect();
    let mut used = BTreeSet::new();
    for s in &steps {
        assert_eq!(s.code, 0, "{}:\n{}", s.command, s.stderr);
        used.extend(s.actions.iter().cloned());
    }
    let policy = policy();
    let granted: BTreeSet<String> = policy.values().flatten().cloned().collect();
    let missing: Vec<&String> = used.difference(&granted).collect();
    assert!(missing.is_empty(), "called but not granted: {missing:?}");
    let observable: BTreeSet<String> = policy
        .iter()
        .filter(|(sid, _)| !CHECKED_BY_LAMBDA.contains(&sid.as_str()))
        .flat_map(|(_, actions)| actions.iter().cloned())
        .collect();
    let unused: Vec<&String> = observable.difference(&used).collect();
    let calls: Vec<(&str, &BTreeSet<String>)> = steps
        .iter()
        .map(|s| (s.command.as_str(), &s.actions))
        .collect();
    assert!(
        unused.is_empty(),
        "granted but never called: {unused:?}; the commands called {calls:#?}"
    );
}

#[test]
fn without_any_one_statement_a_named_command_fails_naming_the_permission() {
    let policy = policy();
    for (sid, actions) in &policy {
        if CHECKED_BY_LAMBDA.contains(&sid.as_str()) {
            continue;
        }
        let others: BTreeSet<&String> = policy
            .iter()
            .filter(|(other, _)| *other != sid)
            .flat_map(|(_, a)| a)
            .collect();
        let deny: Vec<String> = actions
            .iter()
            .filter(|a| !others.contains(a))
            .cloned()
            .collect();
        let steps = if sid.contains("Dns") {
            dns_scenario(&deny)
        } else if sid.contains("Alb") {
            alb_scenario(&deny)
        } else {
            alias_scenario(&deny)
        };
        if let Some((_, words)) = ADVISORY.iter().find(|(advisory, _)| advisory == sid) {
            let warned = steps.iter().find(|s| {
                deny.iter().any(|a| {
                    s.output.contains(words)
                        && s.output.contains(&format!("lacks the permission {a}"))
                })
            });
            assert!(
                steps.iter().all(|s| s.code == 0) && warned.is_some(),
                "without {sid}, the commands should succeed and warn naming one of {deny:?}: {:#?}",
                steps
                    .iter()
                    .map(|s| (&s.command, s.code, &s.output))
                    .collect::<Vec<_>>()
            );
            continue;
        }
        let failed = steps
            .iter()
            .find(|s| s.code != 0)
            .unwrap_or_else(|| panic!("without {sid}, every command still succeeded"));
        assert!(
            deny.iter()
                .any(|a| failed.stderr.contains(&format!("lacks the permission {a}"))),
            "without {sid}, `greenlight {}` failed without naming one of {deny:?}:\n{}",
            failed.command,
            failed.stderr
        );
        assert!(failed.stderr.contains("AccessDenied"), "{}", failed.stderr);
    }
}

/// The statements of the policy `greenlight init --name orders` writes:
/// Sid → (actions, resources).
fn init_policy() -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(["init", "--name", "orders"])
        .current_dir(dir.path())
        .output()
        .expect("run greenlight init");
    assert!(out.status.success(), "{out:?}");
    let text =
        std::fs::read_to_string(dir.path().join("greenlight-iam-policy.json")).expect("policy");
    statements(&text)
}

#[test]
fn init_writes_the_statements_the_settings_lambda_checks_need() {
    let policy = init_policy();
    let statement = |sid: &str| -> (Vec<String>, Vec<String>) {
        policy
            .get(sid)
            .cloned()
            .unwrap_or_else(|| panic!("no statement {sid} in {policy:?}"))
    };
    assert_eq!(
        statement("DescribeTheNetworkOnlyWithVpc"),
        (
            vec![
                "ec2:DescribeSecurityGroups".to_owned(),
                "ec2:DescribeSubnets".to_owned(),
                "ec2:DescribeVpcs".to_owned()
            ],
            vec!["*".to_owned()]
        )
    );
    let (actions, _) = statement("DescribeMountTargetsOnlyWithFileSystems");
    assert_eq!(actions, ["elasticfilesystem:DescribeMountTargets"]);
    assert_eq!(
        statement("UseLayerVersionsOnlyWithLayers"),
        (
            vec!["lambda:GetLayerVersion".to_owned()],
            vec!["arn:aws:lambda:*:123456789012:layer:*:*".to_owned()]
        )
    );
    let (actions, _) = statement("EncryptTheEnvironmentOnlyWithKmsKey");
    assert_eq!(actions, ["kms:CreateGrant", "kms:Encrypt", "kms:Decrypt"]);
    // GetFunction returns a tagged function's tags only to a caller allowed
    // lambda:ListTags, on the function and on its versions.
    let (actions, resources) = statement("ReadFunctionAndAlias");
    assert!(
        actions.contains(&"lambda:ListTags".to_owned()),
        "{actions:?}"
    );
    assert_eq!(
        resources,
        [
            "arn:aws:lambda:*:123456789012:function:orders",
            "arn:aws:lambda:*:123456789012:function:orders:*"
        ]
    );
}

/// With `[alb]`, a release reads the listener (or rule) and the target
/// groups' targets, moves the weights with ModifyListener or ModifyRule,
/// and reads each colour's alias policy (GetPolicy, in the read statement,
/// on the function's aliases too).
#[test]
fn init_writes_the_statements_a_load_balancer_release_needs() {
    let policy = init_policy();
    let statement = |sid: &str| {
        policy
            .get(sid)
            .cloned()
            .unwrap_or_else(|| panic!("no statement {sid}"))
    };
    assert_eq!(
        statement("ReadTheLoadBalancerOnlyWithAlb"),
        (
            vec![
                "elasticloadbalancing:DescribeListeners".to_owned(),
                "elasticloadbalancing:DescribeRules".to_owned(),
                "elasticloadbalancing:DescribeTargetHealth".to_owned()
            ],
            // ELBv2's Describe actions take no resource.
            vec!["*".to_owned()]
        )
    );
    assert_eq!(
        statement("ShiftLoadBalancerWeightsOnlyWithAlb"),
        (
            vec![
                "elasticloadbalancing:ModifyListener".to_owned(),
                "elasticloadbalancing:ModifyRule".to_owned()
            ],
            vec![
                "arn:aws:elasticloadbalancing:*:123456789012:listener/app/my-load-balancer/*"
                    .to_owned(),
                "arn:aws:elasticloadbalancing:*:123456789012:listener-rule/app/my-load-balancer/*"
                    .to_owned()
            ]
        )
    );
    let (actions, resources) = statement("ReadFunctionAndAlias");
    assert!(
        actions.contains(&"lambda:GetPolicy".to_owned()),
        "{actions:?}"
    );
    assert!(
        resources.contains(&"arn:aws:lambda:*:123456789012:function:orders:*".to_owned()),
        "GetPolicy on the colours' aliases: {resources:?}"
    );
}
