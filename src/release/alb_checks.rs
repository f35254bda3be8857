//! What greenlight refuses before a release through a load balancer changes
//! anything, judged on what the ELBv2 and Lambda seams read: pure
//! functions, no AWS call.
//!
//! The emulator accepts much of this (weights outside 0–999, six target
//! groups in one action, the same group twice, a target that may not be
//! invoked), so these checks, not ELBv2's, are what stops a release: each
//! is exit 1 (nothing changed) with the fix, except a rule that is its
//! listener's default rule, which the configuration must name as the
//! listener (exit 2).

use crate::aws::elbv2::{ActionList, Forward, MAX_TARGET_GROUPS, check_weights};
use crate::error::{Error, Result};

/// The principal a load balancer invokes Lambda functions as.
pub const ELB_PRINCIPAL: &str = "elasticloadbalancing.amazonaws.com";

/// The weights of the two target groups `pair` (blue's, green's) in the
/// forward action of `list`, in that order, when the action is one
/// greenlight can move: one forward action, at most five target groups,
/// exactly these two, each once and weighted, within 0–999 and not both 0.
pub fn pair_weights(list: &ActionList, pair: [&str; 2]) -> Result<[i32; 2]> {
    weights_of(list.arn(), list.is_default_rule(), &list.forwards(), pair)
}

/// [`pair_weights`] of the list at `place` (a listener's, or a rule's,
/// `default_rule` or not) whose forward actions are `forwards`.
fn weights_of(
    place: &str,
    default_rule: bool,
    forwards: &[Forward],
    pair: [&str; 2],
) -> Result<[i32; 2]> {
    if default_rule {
        let listener = listener_of(place);
        return Err(Error::usage(format!(
            "alb.rule_arn {place} is its listener's default rule, which ELBv2 changes only through ModifyListener"
        ))
        .with_hint(format!(
            "write `listener_arn = \"{listener}\"` under [alb] instead of rule_arn"
        )));
    }
    let refuse = |why: String, hint: &str| {
        Err(Error::no_traffic_moved(format!("{place}: {why}")).with_hint(hint.to_owned()))
    };
    let [forward] = forwards else {
        return refuse(
            format!("has {} forward actions, not one", forwards.len()),
            "greenlight moves the weights of one forward action to the target groups in [alb]; point [alb] at the listener or rule that has it",
        );
    };
    let groups = &forward.target_groups;
    if groups.len() > MAX_TARGET_GROUPS {
        return refuse(
            format!(
                "its forward action names {} target groups; ELBv2 allows at most {MAX_TARGET_GROUPS}",
                groups.len()
            ),
            "leave only the two target groups of [alb] in the forward action",
        );
    }
    for (i, group) in groups.iter().enumerate() {
        let name = &group.target_group;
        if groups[..i].iter().any(|g| g.target_group == *name) {
            return refuse(
                format!("its forward action names target group {name} twice"),
                "name each target group once in the forward action",
            );
        }
        if !pair.contains(&name.as_str()) {
            return refuse(
                format!(
                    "its forward action also sends traffic to target group {name}, which is neither alb.blue's nor alb.green's"
                ),
                "greenlight moves traffic between exactly two target groups: remove the third from the forward action, or name it in [alb]",
            );
        }
    }
    let mut weights = [0; 2];
    for ((colour, wanted), weight) in ["blue", "green"].iter().zip(pair).zip(&mut weights) {
        let found = groups.iter().find(|g| g.target_group == wanted);
        match found.and_then(|g| g.weight) {
            Some(w) => *weight = w,
            None => {
                return refuse(
                    format!(
                        "its forward action does not give alb.{colour}'s target group {wanted} a weight"
                    ),
                    "forward to both target groups with weights (ForwardConfig), the live one 100 and the other 0",
                );
            }
        }
    }
    check_weights(&weights).map_err(|why| {
        Error::no_traffic_moved(format!(
            "{place}: the weights of its forward action (blue {}, green {}) cannot be released from: {why}",
            weights[0], weights[1]
        ))
        .with_hint("set the live colour's weight to 100 and the other's to 0 (each 0 to 999)")
    })?;
    Ok(weights)
}

/// The ARN of the listener a listener rule `rule` belongs to.
fn listener_of(rule: &str) -> String {
    let listener = rule.replacen(":listener-rule/", ":listener/", 1);
    listener
        .rsplit_once('/')
        .map_or(listener.clone(), |(head, _)| head.to_owned())
}

/// The ARN of `function`'s `alias` as a target group in `target_group`
/// registers it: a load balancer invokes functions of its own account and
/// region, so they are the target group's.
pub fn alias_arn(target_group: &str, function: &str, alias: &str) -> String {
    let fields: Vec<&str> = target_group.splitn(6, ':').collect();
    let (partition, region, account) = match fields[..] {
        [_, partition, _, region, account, _] => (partition, region, account),
        _ => ("aws", "", ""),
    };
    format!("arn:{partition}:lambda:{region}:{account}:function:{function}:{alias}")
}

/// Refuses a target group whose registered targets (`targets`, as
/// `DescribeTargetHealth` lists them) are not exactly the alias
/// `alias_arn`: the version a colour serves is the version its alias points
/// at only when the alias itself is the target.
pub fn registered_target(target_group: &str, targets: &[String], alias_arn: &str) -> Result<()> {
    if targets == [alias_arn] {
        return Ok(());
    }
    let register = format!(
        "aws elbv2 register-targets --target-group-arn {target_group} --targets Id={alias_arn}"
    );
    let (why, hint) = match targets {
        [] => ("has no target registered".to_owned(), register),
        found => (
            format!("sends its traffic to {}", found.join(", ")),
            format!(
                "the target must be the alias itself, so that what the alias serves is what the colour serves: deregister {} and run `{register}`",
                found.join(", ")
            ),
        ),
    };
    Err(Error::no_traffic_moved(format!(
        "target group {target_group} {why}, not alias {alias_arn}"
    ))
    .with_hint(hint))
}

/// Refuses an alias whose resource-based policy (`statements`, as
/// `GetPolicy` on the alias gives them) does not allow the load balancer to
/// invoke it from `target_group`: every request sent to that colour would
/// fail. The error names the `aws lambda add-permission` that fixes it.
pub fn invoke_permission(
    statements: &[serde_json::Value],
    alias_arn: &str,
    target_group: &str,
) -> Result<()> {
    if statements.iter().any(|s| allows(s, target_group)) {
        return Ok(());
    }
    let mut parts = alias_arn.rsplit(':');
    let (alias, function) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let group_name = target_group.rsplit(':').next().unwrap_or_default();
    let statement_id = group_name
        .split('/')
        .nth(1)
        .map_or_else(|| "elb".to_owned(), |name| format!("elb-{name}"));
    Err(Error::no_traffic_moved(format!(
        "alias {function}:{alias} does not allow {group_name} to invoke it: every request the load balancer sends to it would fail"
    ))
    .with_hint(format!(
        "aws lambda add-permission --function-name {function} --qualifier {alias} --statement-id {statement_id} --action lambda:InvokeFunction --principal {ELB_PRINCIPAL} --source-arn {target_group}"
    )))
}

/// Whether one policy statement allows the load balancer to invoke from
/// `target_group`: `Allow`, `lambda:InvokeFunction` (or a wildcard), the
/// load balancer's service principal (or anyone), and no `AWS:SourceArn`
/// condition that `target_group` fails. Other condition keys are not
/// judged.
fn allows(statement: &serde_json::Value, target_group: &str) -> bool {
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let allow = statement.get("Effect").and_then(|e| e.as_str()) == Some("Allow");
    let action = strings(statement.get("Action"))
        .iter()
        .any(|a| ["lambda:InvokeFunction", "lambda:*", "*"].contains(&a.as_str()));
    let principal = match statement.get("Principal") {
        Some(serde_json::Value::String(any)) => any == "*",
        Some(p) => strings(p.get("Service"))
            .iter()
            .chain(&strings(p.get("AWS")))
            .any(|s| s == ELB_PRINCIPAL || s == "*"),
        None => false,
    };
    let conditions = statement
        .get("Condition")
        .and_then(|c| c.as_object())
        .into_iter()
        .flatten();
    let source_ok = conditions.into_iter().all(|(operator, keys)| {
        let like = operator.ends_with("Like");
        keys.as_object().into_iter().flatten().all(|(key, values)| {
            !key.eq_ignore_ascii_case("aws:SourceArn")
                || strings(Some(values)).iter().any(|pattern| {
                    if like {
                        glob(pattern, target_group)
                    } else {
                        pattern == target_group
                    }
                })
        })
    });
    allow && action && principal && source_ok
}

/// Whether `text` matches `pattern`, in which `*` stands for any run of
/// characters and `?` for one (IAM's `ArnLike`).
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.chars().next() {
        None => text.is_empty(),
        Some('*') => (0..=text.len())
            .filter(|i| text.is_char_boundary(*i))
            .any(|i| glob(&pattern[1..], &text[i..])),
        Some(c) => {
            let mut rest = text.chars();
            match rest.next() {
                Some(t) if c == '?' || c == t => glob(&pattern[c.len_utf8()..], rest.as_str()),
                _ => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TG: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-blue/73e2";
    const ALIAS: &str = "arn:aws:lambda:us-east-1:123456789012:function:orders:blue";

    const LISTENER: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/orders/5f1c/6a2d";
    const GREEN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-green/84b1";

    /// A forward action to `groups` (ARN, weight).
    fn forward(groups: &[(&str, Option<i32>)]) -> Forward {
        Forward {
            position: 0,
            target_groups: groups
                .iter()
                .map(|(arn, weight)| crate::aws::elbv2::Weighted {
                    target_group: (*arn).to_owned(),
                    weight: *weight,
                })
                .collect(),
            sticky_seconds: None,
        }
    }

    #[test]
    fn a_forward_action_is_moved_only_between_exactly_the_two_weighted_groups() {
        let weights = |forwards: &[Forward]| weights_of(LISTENER, false, forwards, [TG, GREEN]);
        assert_eq!(
            weights(&[forward(&[(GREEN, Some(10)), (TG, Some(90))])]).expect("a pair"),
            [90, 10]
        );
        assert_eq!(
            weights(&[forward(&[(TG, Some(0)), (GREEN, Some(999))])]).expect("a pair"),
            [0, 999]
        );
        let third = TG.replace("orders-blue", "orders-third");
        let six: Vec<String> = (0..6).map(|i| format!("{TG}{i}")).collect();
        let six: Vec<(&str, Option<i32>)> = six.iter().map(|arn| (arn.as_str(), Some(1))).collect();
        let refused = [
            (vec![], "has 0 forward actions, not one"),
            (
                vec![forward(&[(TG, Some(1))]), forward(&[(GREEN, Some(1))])],
                "has 2 forward actions, not one",
            ),
            (
                vec![forward(&six)],
                "its forward action names 6 target groups; ELBv2 allows at most 5",
            ),
            (
                vec![forward(&[(TG, Some(1)), (TG, Some(1)), (GREEN, Some(0))])],
                "its forward action names target group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-blue/73e2 twice",
            ),
            (
                vec![forward(&[
                    (TG, Some(90)),
                    (GREEN, Some(10)),
                    (&third, Some(0)),
                ])],
                "its forward action also sends traffic to target group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-third/73e2, which is neither alb.blue's nor alb.green's",
            ),
            (
                vec![forward(&[(TG, None)])],
                "its forward action does not give alb.blue's target group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-blue/73e2 a weight",
            ),
            (
                vec![forward(&[(TG, Some(100))])],
                "its forward action does not give alb.green's target group",
            ),
            (
                vec![forward(&[(TG, Some(0)), (GREEN, Some(0))])],
                "the weights of its forward action (blue 0, green 0) cannot be released from: every weight is 0",
            ),
            (
                vec![forward(&[(TG, Some(1000)), (GREEN, Some(0))])],
                "the weights of its forward action (blue 1000, green 0) cannot be released from: weight 1000 is outside ELBv2's 0–999",
            ),
            (
                vec![forward(&[(TG, Some(-1)), (GREEN, Some(5))])],
                "(blue -1, green 5) cannot be released from: weight -1 is outside",
            ),
        ];
        for (forwards, wanted) in refused {
            let error = weights(&forwards).expect_err(wanted);
            assert_eq!(error.exit_code(), 1, "{wanted}");
            assert!(
                error.message.starts_with(&format!("{LISTENER}: ")),
                "{}",
                error.message
            );
            assert!(
                error.message.contains(wanted),
                "{}\nwanted: {wanted}",
                error.message
            );
        }
        let rule = format!("{}/7b3e", LISTENER.replace(":listener/", ":listener-rule/"));
        let default = weights_of(
            &rule,
            true,
            &[forward(&[(TG, Some(100)), (GREEN, Some(0))])],
            [TG, GREEN],
        )
        .expect_err("the default rule");
        assert_eq!(default.exit_code(), 2);
        assert_eq!(
            default.hint.as_deref(),
            Some(&*format!(
                "write `listener_arn = \"{LISTENER}\"` under [alb] instead of rule_arn"
            ))
        );
    }

    #[test]
    fn the_alias_arn_is_in_the_target_groups_account_and_region() {
        assert_eq!(alias_arn(TG, "orders", "blue"), ALIAS);
        assert_eq!(
            alias_arn(&TG.replace(":aws:", ":aws-cn:"), "orders", "green"),
            "arn:aws-cn:lambda:us-east-1:123456789012:function:orders:green"
        );
    }

    #[test]
    fn the_listener_of_a_rule_is_its_arn_without_the_rule() {
        assert_eq!(
            listener_of(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/orders/5f1c/6a2d/7b3e"
            ),
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/orders/5f1c/6a2d"
        );
    }

    #[test]
    fn only_the_alias_itself_is_the_right_target() {
        registered_target(TG, &[ALIAS.to_owned()], ALIAS).expect("the alias");
        let unqualified = ALIAS.trim_end_matches(":blue").to_owned();
        for targets in [
            vec![],
            vec![unqualified.clone()],
            vec![ALIAS.replace(":blue", ":green")],
            vec![ALIAS.to_owned(), unqualified],
        ] {
            let error = registered_target(TG, &targets, ALIAS).expect_err("not the alias");
            assert_eq!(error.exit_code(), 1);
            assert!(
                error.message.starts_with(&format!("target group {TG} ")),
                "{}",
                error.message
            );
            assert!(
                error.message.ends_with(&format!(", not alias {ALIAS}")),
                "{}",
                error.message
            );
            let hint = error.hint.expect("hint");
            assert!(
                hint.contains(&format!(
                    "aws elbv2 register-targets --target-group-arn {TG} --targets Id={ALIAS}"
                )),
                "{hint}"
            );
        }
    }

    /// What `aws lambda add-permission --qualifier blue --source-arn TG`
    /// writes to the alias's policy.
    fn granted() -> serde_json::Value {
        json!({
            "Sid": "elb-orders-blue",
            "Effect": "Allow",
            "Principal": { "Service": ELB_PRINCIPAL },
            "Action": "lambda:InvokeFunction",
            "Resource": ALIAS,
            "Condition": { "ArnLike": { "AWS:SourceArn": TG } }
        })
    }

    #[test]
    fn the_load_balancer_must_be_allowed_to_invoke_from_the_target_group() {
        invoke_permission(&[granted()], ALIAS, TG).expect("granted");
        let mut wildcard = granted();
        wildcard["Condition"] = json!({ "ArnLike": { "aws:sourcearn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-*" } });
        wildcard["Action"] = json!(["lambda:GetFunction", "lambda:*"]);
        invoke_permission(&[wildcard], ALIAS, TG).expect("a wildcard source and action");
        let mut anywhere = granted();
        anywhere
            .as_object_mut()
            .expect("object")
            .remove("Condition");
        invoke_permission(&[anywhere], ALIAS, TG).expect("from any source");

        let other_group = TG.replace("orders-blue", "orders-green");
        let mut refusals = vec![vec![], vec![json!({"Effect": "Allow"})]];
        for (field, value) in [
            ("Effect", json!("Deny")),
            ("Action", json!("lambda:GetFunction")),
            (
                "Principal",
                json!({ "Service": "apigateway.amazonaws.com" }),
            ),
            (
                "Condition",
                json!({ "ArnLike": { "AWS:SourceArn": other_group } }),
            ),
            (
                "Condition",
                json!({ "ArnEquals": { "AWS:SourceArn": "arn:aws:elasticloadbalancing:*" } }),
            ),
        ] {
            let mut statement = granted();
            statement[field] = value;
            refusals.push(vec![statement]);
        }
        for statements in refusals {
            let error = invoke_permission(&statements, ALIAS, TG).expect_err("not granted");
            assert_eq!(error.exit_code(), 1);
            assert_eq!(
                error.message,
                "alias orders:blue does not allow targetgroup/orders-blue/73e2 to invoke it: every request the load balancer sends to it would fail",
                "{statements:?}"
            );
            assert_eq!(
                error.hint.as_deref(),
                Some(&*format!(
                    "aws lambda add-permission --function-name orders --qualifier blue --statement-id elb-orders-blue --action lambda:InvokeFunction --principal elasticloadbalancing.amazonaws.com --source-arn {TG}"
                ))
            );
        }
    }

    #[test]
    fn globs_match_as_arn_like_does() {
        assert!(glob("arn:*:x", "arn:aws:x"));
        assert!(glob("a?c*", "abcdef"));
        assert!(glob("*", ""));
        assert!(!glob("a?c", "ac"));
        assert!(!glob("arn:aws:x", "arn:aws:xy"));
    }
}
