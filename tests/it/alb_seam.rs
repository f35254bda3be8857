//! What a release through a load balancer stands on, against the emulator:
//! the ELBv2 seam reads a listener's or rule's actions and writes them back
//! whole with only two weights changed, reading them back until they read
//! as written; the shapes greenlight refuses (which plain moto accepts) are
//! refused by greenlight's own checks before any write; targets and each
//! alias's invoke permission are read from AWS.

use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, AuthenticateOidcActionConfig, TargetGroupStickinessConfig,
};
use aws_smithy_types::DateTime;
use greenlight::aws::cloudwatch::{TargetGroupMetrics, TargetGroupSample, Window};
use greenlight::aws::elbv2::Elbv2;
use greenlight::aws::lambda::{Lambda, WaitPolicy};
use greenlight::config::Config;
use greenlight::config::alb::{AlbConfig, ForwardAt};
use greenlight::error::Failure;
use greenlight::release::alb_checks::{
    alias_arn, invoke_permission, pair_weights, registered_target,
};

use crate::harness::alb::{
    Alb, alias_arn as harness_alias_arn, allow_invoke, elbv2, forward, register, target_group,
    weights_of,
};
use crate::harness::emulator::REGION;
use crate::harness::{FUNCTION, Project, default_config};

/// The seams at `endpoint` (the emulator, or a proxy in front of it).
fn seams(p: &Project, endpoint: &str) -> (Elbv2, Lambda) {
    let mut sdk = p.sdk_config(REGION).into_builder();
    sdk.set_endpoint_url(Some(endpoint.to_owned()));
    let sdk = sdk.build();
    (
        Elbv2::new(
            aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
            Duration::from_millis(50),
        ),
        Lambda::new(aws_sdk_lambda::Client::new(&sdk), WaitPolicy::default()),
    )
}

/// The `[alb]` table `table`, read as greenlight reads its config.
fn alb_config(table: &str) -> AlbConfig {
    let text = format!("{}\n{table}", default_config());
    Config::parse(Path::new("greenlight.toml"), &text)
        .expect("a valid config")
        .alb
        .expect("[alb]")
}

/// A shipped project behind a load balancer: blue 100, green 0.
fn behind_a_load_balancer() -> (Project, Alb) {
    let p = Project::new();
    p.run(&["ship"]).success();
    let alb = Alb::create(&p, [100, 0]);
    (p, alb)
}

/// The operations of the emulator's calls from the `before`-th on that
/// changed something.
fn writes(p: &Project, before: usize) -> Vec<String> {
    p.emulator
        .writes_since(before)
        .iter()
        .map(|call| call.rsplit(' ').next().unwrap_or_default().to_owned())
        .collect()
}

/// An OIDC authentication action (first) and a sticky forward to blue and
/// green with `weights` (second), as a team's listener may have them.
fn authenticated(alb: &Alb, weights: [i32; 2]) -> Vec<Action> {
    let oidc = Action::builder()
        .r#type(ActionTypeEnum::AuthenticateOidc)
        .order(1)
        .authenticate_oidc_config(
            AuthenticateOidcActionConfig::builder()
                .issuer("https://idp.example.com")
                .authorization_endpoint("https://idp.example.com/authorize")
                .token_endpoint("https://idp.example.com/token")
                .user_info_endpoint("https://idp.example.com/userinfo")
                .client_id("orders")
                .client_secret("idp-secret")
                .build(),
        )
        .build();
    let mut forward = forward(&alb.pair(weights));
    forward.order = Some(2);
    if let Some(config) = forward.forward_config.as_mut() {
        config.target_group_stickiness_config = Some(
            TargetGroupStickinessConfig::builder()
                .enabled(true)
                .duration_seconds(300)
                .build(),
        );
    }
    vec![oidc, forward]
}

#[test]
fn a_listeners_whole_action_list_is_written_back_with_only_the_two_weights_changed() {
    let (p, alb) = behind_a_load_balancer();
    alb.set_default_actions(&p, authenticated(&alb, [100, 0]));
    let before_write = alb.default_actions(&p);
    let (seam, _) = seams(&p, &p.emulator.endpoint);
    let [blue, green] = &alb.target_groups;
    let config = alb_config(&alb.config());
    assert_eq!(config.action, ForwardAt::Listener(alb.listener.clone()));
    assert_eq!(
        config.colours.map(|c| c.target_group_arn),
        alb.target_groups
    );

    let list = p
        .block_on(seam.listener_actions(config.action.arn()))
        .expect("read");
    assert_eq!(
        pair_weights(&list, [blue, green]).expect("a pair"),
        [100, 0]
    );
    let before = p.emulator.calls().len();
    let written = p
        .block_on(seam.set_weights(&list, &[(blue.as_str(), 40), (green.as_str(), 60)]))
        .expect("written and read back");

    assert_eq!(writes(&p, before), ["ModifyListener"]);
    let now = alb.default_actions(&p);
    assert_eq!(weights_of(&now), [(blue.clone(), 40), (green.clone(), 60)]);
    assert_eq!(
        now[0], before_write[0],
        "the authentication action is as it was"
    );
    let mut reweighted = before_write[1].clone();
    for (tuple, weight) in reweighted
        .forward_config
        .as_mut()
        .and_then(|c| c.target_groups.as_mut())
        .expect("target groups")
        .iter_mut()
        .zip([40, 60])
    {
        tuple.weight = Some(weight);
    }
    assert_eq!(
        now[1], reweighted,
        "order and stickiness kept, weights changed"
    );
    assert_eq!(
        pair_weights(&written, [blue, green]).expect("a pair"),
        [40, 60]
    );
    assert_eq!(written.shape(), list.shape(), "only weights changed");
    assert_eq!(written.forwards()[0].sticky_seconds, Some(300));
}

#[test]
fn a_rules_action_is_written_through_modify_rule_and_the_default_rule_only_through_the_listener() {
    let (p, alb) = behind_a_load_balancer();
    let rule = alb.add_rule(&p, vec![forward(&alb.pair([100, 0]))]);
    let (seam, _) = seams(&p, &p.emulator.endpoint);
    let [blue, green] = &alb.target_groups;
    let client = elbv2(&p);
    let read_rule = |arn: &str| {
        p.block_on(client.describe_rules().rule_arns(arn).send())
            .expect("describe the rule")
            .rules()[0]
            .clone()
    };

    let config = alb_config(&alb.config_at(&format!("rule_arn = \"{rule}\"")));
    assert_eq!(config.action, ForwardAt::Rule(rule.clone()));
    let list = p.block_on(seam.rule_actions(&rule)).expect("read");
    assert!(!list.is_default_rule());
    let before = p.emulator.calls().len();
    p.block_on(seam.set_weights(&list, &[(blue.as_str(), 10), (green.as_str(), 90)]))
        .expect("written");
    assert_eq!(writes(&p, before), ["ModifyRule"]);
    let now = read_rule(&rule);
    assert_eq!(
        weights_of(now.actions()),
        [(blue.clone(), 10), (green.clone(), 90)]
    );
    assert_eq!(now.conditions()[0].values(), ["/api/*"], "conditions kept");
    assert_eq!(alb.weights(&p), [(blue.clone(), 100), (green.clone(), 0)]);

    let default = alb.default_rule(&p);
    let list = p.block_on(seam.rule_actions(&default)).expect("read");
    assert!(list.is_default_rule());
    let error = pair_weights(&list, [blue, green]).expect_err("the default rule");
    assert_eq!(error.exit_code(), 2);
    assert_eq!(
        error.hint.as_deref(),
        Some(&*format!(
            "write `listener_arn = \"{}\"` under [alb] instead of rule_arn",
            alb.listener
        ))
    );
    let before = p.emulator.calls().len();
    let refused = p
        .block_on(seam.set_weights(&list, &[(blue.as_str(), 50), (green.as_str(), 50)]))
        .expect_err("refused");
    assert_eq!(refused.exit_code(), 1);
    assert_eq!(writes(&p, before), Vec::<String>::new());
    // The emulator refuses it too, as ELBv2 does.
    let by_hand = p.block_on(
        client
            .modify_rule()
            .rule_arn(&default)
            .actions(forward(&alb.pair([50, 50])))
            .send(),
    );
    assert!(
        by_hand
            .expect_err("refused")
            .as_service_error()
            .is_some_and(|e| e.is_operation_not_permitted_exception())
    );
}

#[test]
fn shapes_the_emulator_accepts_are_refused_by_greenlight_before_any_write() {
    let (p, alb) = behind_a_load_balancer();
    let (seam, _) = seams(&p, &p.emulator.endpoint);
    let [blue, green] = &alb.target_groups;
    let client = elbv2(&p);
    let third = target_group(&p, "orders-third");
    let read = || {
        p.block_on(seam.listener_actions(&alb.listener))
            .expect("read")
    };

    alb.set_default_actions(&p, vec![forward(&[(blue, 90), (green, 10), (&third, 0)])]);
    let error = pair_weights(&read(), [blue, green]).expect_err("a third group");
    assert_eq!(error.exit_code(), 1);
    assert_eq!(
        error.message,
        format!(
            "{}: its forward action also sends traffic to target group {third}, which is neither alb.blue's nor alb.green's",
            alb.listener
        )
    );

    alb.set_default_actions(&p, vec![forward(&alb.pair([0, 0]))]);
    let error = pair_weights(&read(), [blue, green]).expect_err("0/0");
    assert_eq!(error.exit_code(), 1);
    assert!(
        error
            .message
            .contains("(blue 0, green 0) cannot be released from: every weight is 0"),
        "{}",
        error.message
    );

    let before = p.emulator.calls().len();
    let error = p
        .block_on(seam.set_weights(&read(), &[(blue.as_str(), 1000), (green.as_str(), 0)]))
        .expect_err("out of range");
    assert_eq!(error.exit_code(), 1);
    assert!(
        error
            .message
            .ends_with("weight 1000 is outside ELBv2's 0–999"),
        "{}",
        error.message
    );
    assert_eq!(writes(&p, before), Vec::<String>::new(), "nothing sent");
    assert_eq!(
        weights_of(&alb.default_actions(&p)),
        [(blue.clone(), 0), (green.clone(), 0)]
    );

    // What ELBv2 refuses, the emulator refuses as well.
    let six: Vec<String> = (0..4)
        .map(|i| target_group(&p, &format!("orders-extra-{i}")))
        .chain([blue.clone(), green.clone()])
        .collect();
    // The error code ELBv2 answers `groups` with, if it refuses them.
    let refusal = |groups: Vec<(&str, i32)>| {
        p.block_on(
            client
                .modify_listener()
                .listener_arn(&alb.listener)
                .default_actions(forward(&groups))
                .send(),
        )
        .err()
        .map(|e| {
            aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(&e)
                .unwrap_or_default()
                .to_owned()
        })
    };
    for (refused, code) in [
        (
            six.iter().map(|arn| (arn.as_str(), 1)).collect(),
            "ValidationError",
        ),
        (
            vec![(blue.as_str(), 1000), (green.as_str(), 0)],
            "ValidationError",
        ),
        (
            vec![(blue.as_str(), -1), (green.as_str(), 1)],
            "ValidationError",
        ),
        (
            vec![(blue.as_str(), 1), (blue.as_str(), 1)],
            "InvalidLoadBalancerAction",
        ),
    ] {
        assert_eq!(refusal(refused).as_deref(), Some(code));
    }
    let five = six[..5].iter().map(|arn| (arn.as_str(), 1)).collect();
    assert_eq!(refusal(five), None, "five groups");
}

#[test]
fn targets_and_each_aliases_invoke_permission_are_read_from_aws() {
    let (p, alb) = behind_a_load_balancer();
    let (seam, lambda) = seams(&p, &p.emulator.endpoint);
    let [blue, green] = &alb.target_groups;
    let blue_alias = alias_arn(blue, FUNCTION, "blue");
    assert_eq!(blue_alias, harness_alias_arn("blue"));

    let targets = p.block_on(seam.targets(blue)).expect("targets");
    assert_eq!(targets, std::slice::from_ref(&blue_alias));
    registered_target(blue, &targets, &blue_alias).expect("the alias is the target");
    let error =
        registered_target(blue, &targets, &harness_alias_arn("green")).expect_err("not green");
    assert_eq!(error.exit_code(), 1);

    let policy = |alias: &str| {
        p.block_on(lambda.alias_policy(FUNCTION, alias))
            .expect("policy")
    };
    invoke_permission(&policy("blue"), &blue_alias, blue)
        .expect("blue may be invoked from blue's group");
    let error =
        invoke_permission(&policy("blue"), &blue_alias, green).expect_err("not from green's");
    assert_eq!(error.exit_code(), 1);

    // Each alias has its own policy: moving blue to another version keeps
    // it, and green's (on the same version before) never showed blue's.
    p.change_code("v2");
    p.run(&["deploy"]).success();
    p.aws(async |c| {
        c.update_alias()
            .function_name(FUNCTION)
            .name("blue")
            .function_version("2")
            .send()
            .await
            .expect("move blue")
    });
    invoke_permission(&policy("blue"), &blue_alias, blue).expect("kept on the alias");
    let green_alias = harness_alias_arn("green");
    invoke_permission(&policy("green"), &green_alias, blue)
        .expect_err("green's policy has only green's statement");

    p.aws(async |c| {
        c.remove_permission()
            .function_name(FUNCTION)
            .qualifier("blue")
            .statement_id(format!("elb-{FUNCTION}-blue"))
            .send()
            .await
            .expect("remove the permission")
    });
    let statements = policy("blue");
    assert_eq!(statements, Vec::<serde_json::Value>::new());
    let error = invoke_permission(&statements, &blue_alias, blue).expect_err("no permission");
    assert_eq!(
        error.message,
        format!(
            "alias {FUNCTION}:blue does not allow {} to invoke it: every request the load balancer sends to it would fail",
            blue.rsplit(':').next().unwrap_or_default()
        )
    );
    assert_eq!(
        error.hint.as_deref(),
        Some(&*format!(
            "aws lambda add-permission --function-name {FUNCTION} --qualifier blue --statement-id elb-orders-blue --action lambda:InvokeFunction --principal elasticloadbalancing.amazonaws.com --source-arn {blue}"
        ))
    );
    // The emulator refuses to register a target the load balancer may not
    // invoke, as ELBv2 does.
    let unqualified = blue_alias.trim_end_matches(":blue").to_owned();
    let refused = p.block_on(
        elbv2(&p)
            .register_targets()
            .target_group_arn(target_group(&p, "orders-spare"))
            .targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(&unqualified)
                    .build(),
            )
            .send(),
    );
    let refused = refused.expect_err("no permission");
    assert_eq!(
        refused
            .as_service_error()
            .and_then(|e| aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(e)),
        Some("AccessDenied")
    );
    allow_invoke(&p, "blue", blue);
    invoke_permission(&policy("blue"), &blue_alias, blue).expect("the hint's fix");
}

#[test]
fn a_target_other_than_the_alias_and_missing_resources_are_named() {
    let (p, alb) = behind_a_load_balancer();
    let (seam, _) = seams(&p, &p.emulator.endpoint);
    let plain = target_group(&p, "orders-plain");
    let function = harness_alias_arn("blue")
        .trim_end_matches(":blue")
        .to_owned();
    p.aws(async |c| {
        c.add_permission()
            .function_name(FUNCTION)
            .statement_id("elb-plain")
            .action("lambda:InvokeFunction")
            .principal("elasticloadbalancing.amazonaws.com")
            .source_arn(&plain)
            .send()
            .await
            .expect("permission on the function")
    });
    register(&p, &plain, &function);
    let targets = p.block_on(seam.targets(&plain)).expect("targets");
    let expected = alias_arn(&plain, FUNCTION, "blue");
    let error =
        registered_target(&plain, &targets, &expected).expect_err("the function, not the alias");
    assert_eq!(
        error.message,
        format!("target group {plain} sends its traffic to {function}, not alias {expected}")
    );

    let gone = alb.target_groups[0].replace("orders-blue", "orders-gone");
    let error = p.block_on(seam.targets(&gone)).expect_err("no such group");
    assert_eq!(
        (error.exit_code(), error.message),
        (2, format!("target group {gone} does not exist"))
    );
    let gone = format!("{}0", alb.listener);
    let error = p
        .block_on(seam.listener_actions(&gone))
        .expect_err("no such listener");
    assert_eq!(
        (error.exit_code(), error.message),
        (2, format!("listener {gone} does not exist"))
    );
    let gone = format!("{}0", alb.default_rule(&p));
    let error = p
        .block_on(seam.rule_actions(&gone))
        .expect_err("no such rule");
    assert_eq!(
        (error.exit_code(), error.message),
        (2, format!("listener rule {gone} does not exist"))
    );
}

#[test]
fn a_write_someone_else_changes_before_it_reads_back_is_a_conflict() {
    let (p, alb) = behind_a_load_balancer();
    let proxy = p.proxy();
    // The second read is the one after the write.
    proxy.hold("DescribeListeners", &[2]);
    let (seam, _) = seams(&p, &proxy.endpoint);
    let (listener, [blue, green]) = (alb.listener.clone(), alb.target_groups.clone());
    let writer = std::thread::spawn(move || {
        crate::harness::sdk::block_on(async {
            let list = seam.listener_actions(&listener).await?;
            seam.set_weights(&list, &[(blue.as_str(), 50), (green.as_str(), 50)])
                .await
        })
    });
    proxy.look_before_each("DescribeListeners", &[2], Duration::from_secs(60), |_| {
        assert_eq!(alb.weights(&p)[0].1, 50, "greenlight's write went first");
        alb.set_default_actions(&p, vec![forward(&alb.pair([0, 100]))]);
    });
    let error = writer.join().expect("the writer").expect_err("a conflict");
    assert_eq!(error.failure, Failure::Conflict);
    assert_eq!(error.exit_code(), 1);
    assert!(
        error
            .message
            .contains("was changed by someone else while greenlight wrote its weights"),
        "{}",
        error.message
    );
    let [blue, green] = &alb.target_groups;
    assert_eq!(
        alb.weights(&p),
        [(blue.clone(), 0), (green.clone(), 100)],
        "the other write stands"
    );
    assert_eq!(proxy.calls("ModifyListener"), 1, "nothing written after");
}

#[test]
fn each_target_groups_metrics_are_read_by_the_dimensions_the_load_balancer_publishes() {
    let (p, alb) = behind_a_load_balancer();
    let settled = SystemTime::now() - Duration::from_secs(300);
    for (group, values) in [
        vec![
            ("RequestCount", 900.0),
            ("HTTPCode_Target_5XX_Count", 2.0),
            ("TargetResponseTime", 0.120),
            ("TargetResponseTime", 0.480),
        ],
        vec![
            ("RequestCount", 100.0),
            ("LambdaUserError", 3.0),
            ("LambdaInternalError", 1.0),
            ("TargetResponseTime", 1.5),
        ],
    ]
    .iter()
    .enumerate()
    {
        alb.put_metrics(&p, group, values, settled);
    }
    let groups: Vec<TargetGroupMetrics> = alb
        .target_groups
        .iter()
        .map(|group| TargetGroupMetrics::new(&alb.listener, group).expect("ELBv2 ARNs"))
        .collect();
    let now = DateTime::from(SystemTime::now()).secs() / 60 * 60 + 60;
    let window = Window {
        start: DateTime::from_secs(now - 900),
        end: DateTime::from_secs(now),
    };
    let cloudwatch = greenlight::aws::cloudwatch(&p.sdk_config(REGION));
    let samples = p
        .block_on(cloudwatch.target_group_samples(&groups, &window, true))
        .expect("samples");
    assert_eq!(
        samples,
        [
            TargetGroupSample {
                requests: 900.0,
                target_5xx: 2.0,
                p99_ms: Some(480.0),
                ..TargetGroupSample::default()
            },
            TargetGroupSample {
                requests: 100.0,
                lambda_user_errors: 3.0,
                lambda_internal_errors: 1.0,
                p99_ms: Some(1500.0),
                ..TargetGroupSample::default()
            },
        ]
    );
}
