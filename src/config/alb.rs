//! `[alb]`: releases through the weighted target groups of an Application
//! Load Balancer's forward action.
//!
//! ```toml
//! [alb]
//! listener_arn = "arn:aws:elasticloadbalancing:…:listener/app/orders/…"  # or rule_arn = "…"
//! [alb.blue]
//! target_group_arn = "arn:aws:elasticloadbalancing:…:targetgroup/orders-blue/…"
//! alias = "blue"
//! [alb.green]
//! target_group_arn = "arn:aws:elasticloadbalancing:…:targetgroup/orders-green/…"
//! alias = "green"
//! ```
//!
//! In: the raw table, with where each value was written. Out: an
//! [`AlbConfig`] whose ARNs have the shape ELBv2 gives them, all in one
//! account and region, with two different target groups and two aliases of
//! their own. Any problem is a usage error (exit 2) naming the file, the
//! line and column, the key and the value. Nothing here talks to AWS.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::config::function::is_region;
use crate::config::metrics::{Measure, MetricGate, RawMetric, gate_list};
use crate::config::{is_alias_name, line_col};
use crate::error::{Error, Result};

/// The `[alb]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlb {
    listener_arn: Option<Spanned<String>>,
    rule_arn: Option<Spanned<String>>,
    blue: RawColour,
    green: RawColour,
    #[serde(default)]
    metrics: Vec<RawMetric>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColour {
    target_group_arn: Spanned<String>,
    alias: Spanned<String>,
}

/// The checked `[alb]` table: one forward action, and the two target
/// groups in it, each with one Lambda alias as its target.
#[derive(Debug, Clone, PartialEq)]
pub struct AlbConfig {
    /// Where the forward action is.
    pub action: ForwardAt,
    /// The two colours, blue first.
    pub colours: [AlbColour; 2],
    /// `alb.metrics`: thresholds on what the load balancer recorded for
    /// the new colour's target group, judged against the stable colour's
    /// (see `checks::alb_metrics`); none means no such gate.
    pub metrics: Vec<MetricGate>,
}

/// Where the forward action greenlight moves is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardAt {
    /// The default action of this listener (`listener_arn`).
    Listener(String),
    /// The action of this listener rule (`rule_arn`).
    Rule(String),
}

/// One colour of an ALB release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbColour {
    /// `blue` or `green`.
    pub name: &'static str,
    /// The target group; its one target is `alias`.
    pub target_group_arn: String,
    /// The Lambda alias registered in the target group.
    pub alias: String,
}

impl ForwardAt {
    /// The listener or rule ARN.
    pub fn arn(&self) -> &str {
        match self {
            ForwardAt::Listener(arn) | ForwardAt::Rule(arn) => arn,
        }
    }

    /// The region the load balancer is in (and so its target groups and
    /// the Lambda aliases they invoke).
    pub fn region(&self) -> &str {
        self.arn().split(':').nth(3).unwrap_or_default()
    }
}

/// What the `[alb]` table is checked against from the rest of the file.
pub struct Around<'a> {
    /// The file, as errors name it.
    pub file: &'a str,
    /// The file's text, when values can be located in it (not for the
    /// documents made for `[[functions]]` entries).
    pub text: Option<&'a str>,
    /// `function.alias`: the alias users reach without a load balancer.
    pub function_alias: &'a str,
    /// `release.candidate`, if set.
    pub candidate: Option<&'a str>,
    /// `function.region`, if set.
    pub region: Option<&'a str>,
    /// Whether the file has a `[dns]` table too.
    pub dns: bool,
}

impl Around<'_> {
    /// A usage error about `key` = `shown`, located at `span` (where the
    /// value was written) when the file's text is known.
    fn bad(&self, key: &str, span: Range<usize>, shown: &str, why: &str) -> Error {
        let place = self
            .text
            .map(|text| line_col(text, span.start))
            .map(|(line, col)| format!(":{line}:{col}"))
            .unwrap_or_default();
        Error::usage(format!("{}{place}: `{key}` = {shown}: {why}", self.file))
            .with_hint("see \"Blue/green behind an Application Load Balancer\" in README.md")
    }
}

/// The parts of an ELBv2 ARN that must agree between the listener and the
/// target groups.
#[derive(Debug, PartialEq, Eq)]
struct Home<'a> {
    partition: &'a str,
    region: &'a str,
    account: &'a str,
}

/// The home of `arn` if it is an ELBv2 ARN whose resource is `kind/…` with
/// `parts` segments after `kind`, the first `app` (an Application Load
/// Balancer's) unless it is a `targetgroup/NAME/ID`.
fn elbv2_arn<'a>(arn: &'a str, kind: &str, parts: usize) -> Option<Home<'a>> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let [
        "arn",
        partition,
        "elasticloadbalancing",
        region,
        account,
        resource,
    ] = fields[..]
    else {
        return None;
    };
    let segments: Vec<&str> = resource.split('/').collect();
    let names_ok = segments[1..]
        .iter()
        .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let app = kind == "targetgroup" || segments.get(1) == Some(&"app");
    (partition.starts_with("aws")
        && is_region(region)
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && segments[0] == kind
        && segments.len() == parts + 1
        && names_ok
        && app)
        .then_some(Home {
            partition,
            region,
            account,
        })
}

/// Checks the `[alb]` table against itself and `around`.
pub fn check(raw: Spanned<RawAlb>, around: &Around) -> Result<AlbConfig> {
    let table = raw.span();
    let raw = raw.into_inner();
    if around.dns {
        return Err(around.bad(
            "alb",
            table,
            "(a table)",
            "a release moves traffic in one place: give [alb] or [dns], not both",
        ));
    }
    let (action, key, arn) = match (raw.listener_arn, raw.rule_arn) {
        (Some(arn), None) => (
            ForwardAt::Listener(arn.get_ref().clone()),
            "alb.listener_arn",
            arn,
        ),
        (None, Some(arn)) => (ForwardAt::Rule(arn.get_ref().clone()), "alb.rule_arn", arn),
        (Some(_), Some(rule)) => {
            return Err(around.bad(
                "alb.rule_arn",
                rule.span(),
                "(with listener_arn)",
                "give one of them: the listener whose default action forwards to the two target groups, or the listener rule that does",
            ));
        }
        (None, None) => {
            return Err(around.bad(
                "alb",
                table,
                "(neither listener_arn nor rule_arn)",
                "give listener_arn (the listener whose default action forwards to the two target groups) or rule_arn (a listener rule that does)",
            ));
        }
    };
    let shown = format!("{:?}", arn.get_ref());
    let (kind, parts, example) = match action {
        ForwardAt::Listener(_) => ("listener", 4, "listener/app/NAME/ID/ID"),
        ForwardAt::Rule(_) => ("listener-rule", 5, "listener-rule/app/NAME/ID/ID/ID"),
    };
    let Some(home) = elbv2_arn(arn.get_ref(), kind, parts) else {
        return Err(around.bad(
            key,
            arn.span(),
            &shown,
            &format!("give an Application Load Balancer's ARN like arn:aws:elasticloadbalancing:REGION:ACCOUNT:{example}"),
        ));
    };
    if let Some(region) = around.region.filter(|r| *r != home.region) {
        return Err(around.bad(
            key,
            arn.span(),
            &shown,
            &format!("the load balancer is in {}, and function.region is {region}: a target group invokes Lambda functions of its own region", home.region),
        ));
    }
    let colours = [("blue", &raw.blue), ("green", &raw.green)]
        .map(|(name, raw)| colour(name, raw, &home, around));
    let [blue, green] = colours;
    let (blue, green) = (blue?, green?);
    let duplicate = [
        (
            "alb.green.target_group_arn",
            &green.target_group_arn,
            &blue.target_group_arn,
            raw.green.target_group_arn.span(),
            "target group",
        ),
        (
            "alb.green.alias",
            &green.alias,
            &blue.alias,
            raw.green.alias.span(),
            "alias",
        ),
    ];
    if let Some((key, value, _, span, what)) = duplicate.into_iter().find(|(_, g, b, ..)| g == b) {
        return Err(around.bad(
            key,
            span,
            &format!("{value:?}"),
            &format!("each colour needs its own {what} (blue's is the same)"),
        ));
    }
    let metrics = gate_list(
        raw.metrics,
        &Measure::ALB,
        "target-5xx-rate, lambda-user-error-rate, lambda-internal-error-rate or target-p99",
    )
    .map_err(|r| {
        around.bad(
            &format!("alb.metrics[{}].{}", r.index, r.key),
            r.span,
            &r.shown,
            &r.why,
        )
    })?;
    Ok(AlbConfig {
        action,
        colours: [blue, green],
        metrics,
    })
}

/// Checks one colour's target group (an ELBv2 target group in the load
/// balancer's account and region) and alias (a name of its own).
fn colour(name: &'static str, raw: &RawColour, home: &Home, around: &Around) -> Result<AlbColour> {
    let key = |k: &str| format!("alb.{name}.{k}");
    let arn = &raw.target_group_arn;
    let shown = format!("{:?}", arn.get_ref());
    match elbv2_arn(arn.get_ref(), "targetgroup", 2) {
        None => {
            return Err(around.bad(
                &key("target_group_arn"),
                arn.span(),
                &shown,
                "give a target group's ARN like arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID",
            ));
        }
        Some(found) if found != *home => {
            return Err(around.bad(
                &key("target_group_arn"),
                arn.span(),
                &shown,
                &format!(
                    "the target group is in account {} and region {}, the load balancer in account {} and region {}: a forward action sends traffic to target groups of its own",
                    found.account, found.region, home.account, home.region
                ),
            ));
        }
        Some(_) => {}
    }
    let alias = &raw.alias;
    let shown = format!("{:?}", alias.get_ref());
    if !is_alias_name(alias.get_ref()) {
        return Err(around.bad(
            &key("alias"),
            alias.span(),
            &shown,
            "an alias is 1 to 128 letters, digits, '-' or '_', not only digits, and never $LATEST",
        ));
    }
    let taken = [
        (
            Some(around.function_alias),
            "function.alias, the alias users reach without the load balancer",
        ),
        (
            around.candidate,
            "release.candidate, which deploy points at every new version",
        ),
    ];
    if let Some((_, what)) = taken
        .iter()
        .find(|(a, _)| *a == Some(alias.get_ref().as_str()))
    {
        return Err(around.bad(
            &key("alias"),
            alias.span(),
            &shown,
            &format!("it is also {what}; each colour's target group needs an alias of its own (such as \"{name}\")"),
        ));
    }
    Ok(AlbColour {
        name,
        target_group_arn: arn.get_ref().clone(),
        alias: alias.get_ref().clone(),
    })
}

/// Refuses one forward action, or one target group, released by two
/// functions of a `[[functions]]` file: the weights say which colour users
/// reach for every function behind them, while each function's release
/// record lives in its own aliases, so one function's rollback would undo
/// another's release. `configs` are the functions' names and `[alb]`
/// tables.
pub fn check_shared<'a>(
    file: &str,
    configs: impl IntoIterator<Item = (&'a str, &'a AlbConfig)>,
) -> Result<()> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (function, alb) in configs {
        let arns = std::iter::once(alb.action.arn())
            .chain(alb.colours.iter().map(|c| c.target_group_arn.as_str()));
        for arn in arns {
            if let Some((other, _)) = seen.iter().find(|(_, a)| *a == arn) {
                return Err(Error::usage(format!(
                    "{file}: functions {other} and {function} both release through {arn}: one function's rollback would move the other's users"
                ))
                .with_hint("give each function its own listener rule and target groups; a top-level [alb] is every function's default, so put `alb = { … }` in the one entry it fronts"));
            }
            seen.push((function, arn));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTENER: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2";
    const RULE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
    const BLUE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-blue/73e2d6bc24d8a067";
    const GREEN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-green/2453ed029918f21f";

    #[test]
    fn arns_of_each_kind_are_recognised() {
        let home = Some(Home {
            partition: "aws",
            region: "eu-west-1",
            account: "123456789012",
        });
        assert_eq!(elbv2_arn(LISTENER, "listener", 4), home);
        assert_eq!(elbv2_arn(RULE, "listener-rule", 5), home);
        assert_eq!(elbv2_arn(BLUE, "targetgroup", 2), home);
        for (arn, kind, parts) in [
            (RULE, "listener", 4),
            (LISTENER, "listener-rule", 5),
            (&LISTENER.replace("/app/", "/net/"), "listener", 4),
            (&LISTENER.replace("123456789012", "1234"), "listener", 4),
            (&LISTENER.replace("eu-west-1", "europe"), "listener", 4),
            (
                &BLUE.replace("orders-blue", "orders blue"),
                "targetgroup",
                2,
            ),
            (&format!("{BLUE}/extra"), "targetgroup", 2),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:orders",
                "targetgroup",
                2,
            ),
        ] {
            assert_eq!(elbv2_arn(arn, kind, parts), None, "{arn}");
        }
    }

    #[test]
    fn shared_actions_and_target_groups_are_refused() {
        let alb = |action: &str, blue: &str, green: &str| AlbConfig {
            action: ForwardAt::Rule(action.to_owned()),
            colours: [("blue", blue), ("green", green)].map(|(name, tg)| AlbColour {
                name,
                target_group_arn: tg.to_owned(),
                alias: name.to_owned(),
            }),
            metrics: Vec::new(),
        };
        let (a, b) = (
            alb(RULE, BLUE, GREEN),
            alb(&format!("{RULE}0"), "tg-3", "tg-4"),
        );
        check_shared("g.toml", [("a", &a), ("b", &b)]).expect("separate");
        let c = alb(&format!("{RULE}1"), "tg-5", GREEN);
        let error = check_shared("g.toml", [("a", &a), ("c", &c)]).expect_err("shared");
        assert_eq!(error.exit_code(), 2);
        assert_eq!(
            error.message,
            format!(
                "g.toml: functions a and c both release through {GREEN}: one function's rollback would move the other's users"
            )
        );
    }
}

#[cfg(test)]
mod parse_tests {
    //! `[alb]` as read from a whole file, through [`Config::parse`].

    use std::path::Path;

    use super::*;
    use crate::config::Config;

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup";
    const LISTENER: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/orders/5f1c/6a2d";

    /// A file with `[alb]` on `LISTENER`, blue and green.
    fn file() -> String {
        format!(
            "[function]\nname = \"orders\"\n\n[alb]\nlistener_arn = \"{LISTENER}\"\n\n[alb.blue]\ntarget_group_arn = \"{TG}/orders-blue/1a\"\nalias = \"blue\"\n\n[alb.green]\ntarget_group_arn = \"{TG}/orders-green/2b\"\nalias = \"green\"\n"
        )
    }

    fn refused(text: &str) -> String {
        let error = Config::parse(Path::new("g.toml"), text).expect_err(text);
        assert_eq!(error.exit_code(), 2, "{error:?}");
        error.message
    }

    #[test]
    fn the_fingerprint_in_the_record_leaves_room_for_fewer_steps() {
        // As the README says: 16 two-digit steps baking 5m, steps 1 to 19
        // baking 1h (the record keeps the forward action's fingerprint).
        let with = |steps, bake: &str| {
            format!(
                "{}{}",
                file(),
                crate::config::tests::release_table(steps, bake)
            )
        };
        for (fits, bake) in [(10..=25, "5m"), (1..=19, "1h")] {
            Config::parse(Path::new("g.toml"), &with(fits.clone(), bake)).expect("fits");
            let one_more = with(*fits.start()..=fits.end() + 1, bake);
            let why = refused(&one_more);
            assert!(
                why.contains(&format!("through the load balancer (7-digit versions, every marker set), and Lambda keeps 256: list fewer steps (the first {} fit)", fits.len())),
                "{why}"
            );
        }
    }

    #[test]
    fn a_listener_or_a_rule_with_two_colours_is_read() {
        let config = Config::parse(Path::new("g.toml"), &file()).expect("valid");
        let alb = config.alb.expect("[alb]");
        assert_eq!(alb.action, ForwardAt::Listener(LISTENER.to_owned()));
        assert_eq!(alb.action.region(), "us-east-1");
        assert_eq!(
            alb.colours.map(|c| (c.name, c.target_group_arn, c.alias)),
            [
                ("blue", format!("{TG}/orders-blue/1a"), "blue".to_owned()),
                ("green", format!("{TG}/orders-green/2b"), "green".to_owned()),
            ]
        );
        let rule = format!("{}/7b3e", LISTENER.replace(":listener/", ":listener-rule/"));
        let text = file().replace(
            &format!("listener_arn = \"{LISTENER}\""),
            &format!("rule_arn = \"{rule}\""),
        );
        let config = Config::parse(Path::new("g.toml"), &text).expect("valid");
        assert_eq!(config.alb.expect("[alb]").action, ForwardAt::Rule(rule));
        assert_eq!(
            Config::parse(Path::new("g.toml"), "[function]\nname = \"a\"\n")
                .expect("valid")
                .alb,
            None
        );
    }

    #[test]
    fn each_problem_is_named_with_its_line_key_and_value() {
        let base = file();
        let swap = |from: &str, to: &str| {
            assert!(base.contains(from), "{from}");
            base.replace(from, to)
        };
        let listener = format!("listener_arn = \"{LISTENER}\"");
        let cases = [
            (
                swap(&listener, ""),
                "g.toml:4:1: `alb` = (neither listener_arn nor rule_arn): give listener_arn".to_owned(),
            ),
            (
                swap(&listener, &format!("{listener}\nrule_arn = \"{LISTENER}\"")),
                "g.toml:6:12: `alb.rule_arn` = (with listener_arn): give one of them".to_owned(),
            ),
            (
                swap("listener/app/", "listener/net/"),
                format!("g.toml:5:16: `alb.listener_arn` = \"{}\": give an Application Load Balancer's ARN like arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID", LISTENER.replace("/app/", "/net/")),
            ),
            (
                swap(&listener, &format!("rule_arn = \"{LISTENER}\"")),
                "g.toml:5:12: `alb.rule_arn` = ".to_owned(),
            ),
            (
                swap("orders-green/2b", "orders-green"),
                format!("g.toml:12:20: `alb.green.target_group_arn` = \"{TG}/orders-green\": give a target group's ARN like"),
            ),
            (
                swap("us-east-1:123456789012:targetgroup/orders-blue", "us-east-1:210987654321:targetgroup/orders-blue"),
                "g.toml:8:20: `alb.blue.target_group_arn` = \"arn:aws:elasticloadbalancing:us-east-1:210987654321:targetgroup/orders-blue/1a\": the target group is in account 210987654321 and region us-east-1, the load balancer in account 123456789012 and region us-east-1".to_owned(),
            ),
            (
                swap("orders-green/2b", "orders-blue/1a"),
                format!("g.toml:12:20: `alb.green.target_group_arn` = \"{TG}/orders-blue/1a\": each colour needs its own target group (blue's is the same)"),
            ),
            (
                swap("alias = \"green\"", "alias = \"blue\""),
                "g.toml:13:9: `alb.green.alias` = \"blue\": each colour needs its own alias (blue's is the same)".to_owned(),
            ),
            (
                swap("alias = \"blue\"", "alias = \"live\""),
                "g.toml:9:9: `alb.blue.alias` = \"live\": it is also function.alias".to_owned(),
            ),
            (
                swap("alias = \"blue\"", "alias = \"$LATEST\""),
                "g.toml:9:9: `alb.blue.alias` = \"$LATEST\": an alias is 1 to 128".to_owned(),
            ),
            (
                format!("{base}\n[release]\ncandidate = \"green\"\n"),
                "g.toml:13:9: `alb.green.alias` = \"green\": it is also release.candidate".to_owned(),
            ),
            (
                swap("name = \"orders\"", "name = \"orders\"\nregion = \"eu-west-1\""),
                format!("g.toml:6:16: `alb.listener_arn` = \"{LISTENER}\": the load balancer is in us-east-1, and function.region is eu-west-1"),
            ),
            (
                format!("{base}\n[dns]\nzone_id = \"Z1\"\nname = \"api.example.com\"\n[dns.blue]\nvalue = \"b.example.com\"\nalias = \"blue\"\n[dns.green]\nvalue = \"g.example.com\"\nalias = \"green\"\n"),
                "g.toml:4:1: `alb` = (a table): a release moves traffic in one place: give [alb] or [dns], not both".to_owned(),
            ),
            (
                swap("alias = \"green\"", "alias = 5"),
                "g.toml:13:9: invalid type: integer `5`, expected a string (key `alb.green.alias`)".to_owned(),
            ),
            (
                swap("alias = \"green\"", "alias = \"green\"\nweight = 1"),
                "g.toml:14:1: unknown field `weight`, expected `target_group_arn` or `alias` (key `alb.green.weight`)".to_owned(),
            ),
        ];
        for (text, wanted) in cases {
            let message = refused(&text);
            assert!(
                message.starts_with(&wanted),
                "{text}\n{message}\nwanted: {wanted}"
            );
        }
    }
}
