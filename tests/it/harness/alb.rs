//! An Application Load Balancer in a project's emulator, in front of its
//! function: two Lambda target groups, `orders-blue` and `orders-green`,
//! each with its colour's alias as its one target (the load balancer
//! allowed to invoke it), and an HTTP listener whose default action
//! forwards to both with given weights. Set up as a user's infrastructure
//! would be, with the SDK; read back as ELBv2 holds it.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, ProtocolEnum, RuleCondition, TargetDescription,
    TargetGroupTuple, TargetTypeEnum,
};

use super::emulator::REGION;
use super::project::{FUNCTION, Project};
use super::python::default_subnets;

/// The colours, in the order of `[alb]` and of every weight pair here.
pub const COLOURS: [&str; 2] = ["blue", "green"];

/// The load balancer, its listener and the two target groups.
pub struct Alb {
    /// The load balancer ARN.
    pub load_balancer: String,
    /// The listener ARN (HTTP, port 80).
    pub listener: String,
    /// The target groups, blue's first.
    pub target_groups: [String; 2],
}

/// An ELBv2 client for the project's emulator.
pub fn elbv2(p: &Project) -> Client {
    Client::new(&p.sdk_config(REGION))
}

/// The ARN of `alias` of the project's function.
pub fn alias_arn(alias: &str) -> String {
    format!("arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}:{alias}")
}

/// A forward action to `groups` with their weights.
pub fn forward(groups: &[(&str, i32)]) -> Action {
    let config = groups
        .iter()
        .fold(ForwardActionConfig::builder(), |config, (arn, weight)| {
            config.target_groups(
                TargetGroupTuple::builder()
                    .target_group_arn(*arn)
                    .weight(*weight)
                    .build(),
            )
        })
        .build();
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(config)
        .build()
}

/// Lets the load balancer invoke `alias` from `target_group`, as
/// `aws lambda add-permission --qualifier ALIAS --source-arn TG` does.
pub fn allow_invoke(p: &Project, alias: &str, target_group: &str) {
    allow_invoke_as(p, alias, target_group, &format!("elb-{FUNCTION}-{alias}"));
}

/// [`allow_invoke`] with the statement ID `statement_id` (a second
/// permission on the same alias needs its own).
pub fn allow_invoke_as(p: &Project, alias: &str, target_group: &str, statement_id: &str) {
    p.aws(async |c| {
        c.add_permission()
            .function_name(FUNCTION)
            .qualifier(alias)
            .statement_id(statement_id)
            .action("lambda:InvokeFunction")
            .principal("elasticloadbalancing.amazonaws.com")
            .source_arn(target_group)
            .send()
            .await
            .expect("add permission")
    });
}

impl Alb {
    /// Creates the load balancer in front of the project's function (which
    /// must exist, with its `live` alias): the `blue` and `green` aliases
    /// on the live version where they do not exist yet, their target
    /// groups with the aliases registered, and the listener forwarding to
    /// blue and green with `weights`.
    pub fn create(p: &Project, weights: [i32; 2]) -> Alb {
        let client = elbv2(p);
        let subnets = default_subnets(&p.emulator.endpoint);
        let load_balancer = p
            .block_on(
                client
                    .create_load_balancer()
                    .name(FUNCTION)
                    .set_subnets(Some(subnets))
                    .send(),
            )
            .expect("create the load balancer")
            .load_balancers()[0]
            .load_balancer_arn()
            .expect("its ARN")
            .to_owned();
        let live = p.live_version();
        let target_groups = COLOURS.map(|colour| {
            if p.alias(colour).is_none() {
                p.aws(async |c| {
                    c.create_alias()
                        .function_name(FUNCTION)
                        .name(colour)
                        .function_version(&live)
                        .send()
                        .await
                        .expect("create the colour's alias")
                });
            }
            let group = target_group(p, &format!("{FUNCTION}-{colour}"));
            allow_invoke(p, colour, &group);
            register(p, &group, &alias_arn(colour));
            group
        });
        let pair = [0, 1].map(|i| (target_groups[i].as_str(), weights[i]));
        let listener = p
            .block_on(
                client
                    .create_listener()
                    .load_balancer_arn(&load_balancer)
                    .protocol(ProtocolEnum::Http)
                    .port(80)
                    .default_actions(forward(&pair))
                    .send(),
            )
            .expect("create the listener")
            .listeners()[0]
            .listener_arn()
            .expect("its ARN")
            .to_owned();
        Alb {
            load_balancer,
            listener,
            target_groups,
        }
    }

    /// The `[alb]` table for this load balancer's listener.
    pub fn config(&self) -> String {
        self.config_at(&format!("listener_arn = \"{}\"", self.listener))
    }

    /// The `[alb]` table with `at` (`listener_arn = …` or `rule_arn = …`)
    /// naming where the forward action is.
    pub fn config_at(&self, at: &str) -> String {
        let [blue, green] = &self.target_groups;
        format!(
            "[alb]\n{at}\n\n[alb.blue]\ntarget_group_arn = \"{blue}\"\nalias = \"blue\"\n\n[alb.green]\ntarget_group_arn = \"{green}\"\nalias = \"green\"\n"
        )
    }

    /// Blue's and green's weights with their target groups, for `actions`.
    pub fn pair(&self, weights: [i32; 2]) -> [(&str, i32); 2] {
        [0, 1].map(|i| (self.target_groups[i].as_str(), weights[i]))
    }

    /// The listener's default actions, as ELBv2 holds them.
    pub fn default_actions(&self, p: &Project) -> Vec<Action> {
        p.block_on(
            elbv2(p)
                .describe_listeners()
                .listener_arns(&self.listener)
                .send(),
        )
        .expect("describe the listener")
        .listeners()[0]
            .default_actions()
            .to_vec()
    }

    /// The target groups and weights of the listener's forward action.
    pub fn weights(&self, p: &Project) -> Vec<(String, i32)> {
        weights_of(&self.default_actions(p))
    }

    /// Replaces the listener's default actions by hand, as a person (or
    /// Terraform) would.
    pub fn set_default_actions(&self, p: &Project, actions: Vec<Action>) {
        p.block_on(
            elbv2(p)
                .modify_listener()
                .listener_arn(&self.listener)
                .set_default_actions(Some(actions))
                .send(),
        )
        .expect("modify the listener");
    }

    /// Adds a listener rule (priority 10, path `/api/*`) whose action is
    /// `actions`; returns its ARN.
    pub fn add_rule(&self, p: &Project, actions: Vec<Action>) -> String {
        let condition = RuleCondition::builder()
            .field("path-pattern")
            .values("/api/*")
            .build();
        p.block_on(
            elbv2(p)
                .create_rule()
                .listener_arn(&self.listener)
                .priority(10)
                .conditions(condition)
                .set_actions(Some(actions))
                .send(),
        )
        .expect("create the rule")
        .rules()[0]
            .rule_arn()
            .expect("its ARN")
            .to_owned()
    }

    /// Records, as the load balancer does, `values` (`AWS/ApplicationELB`
    /// metric names and values) for target group `group` (0 blue, 1
    /// green) stamped `at`: with the dimensions `LoadBalancer` and
    /// `TargetGroup`, the ends of their ARNs.
    pub fn put_metrics(
        &self,
        p: &Project,
        group: usize,
        values: &[(&str, f64)],
        at: std::time::SystemTime,
    ) {
        let load_balancer = self
            .load_balancer
            .split_once(":loadbalancer/")
            .expect("a load balancer ARN")
            .1;
        let group = self.target_groups[group].rsplit(':').next();
        let dimensions = [
            ("LoadBalancer", load_balancer.to_owned()),
            ("TargetGroup", group.expect("a resource").to_owned()),
        ];
        p.put_metrics("AWS/ApplicationELB", &dimensions, values, at);
    }

    /// The ARN of the listener's default rule.
    pub fn default_rule(&self, p: &Project) -> String {
        p.block_on(
            elbv2(p)
                .describe_rules()
                .listener_arn(&self.listener)
                .send(),
        )
        .expect("describe the rules")
        .rules()
        .iter()
        .find(|r| r.is_default() == Some(true))
        .and_then(|r| r.rule_arn())
        .expect("a default rule")
        .to_owned()
    }
}

/// The target groups and weights of the forward action in `actions`.
pub fn weights_of(actions: &[Action]) -> Vec<(String, i32)> {
    actions
        .iter()
        .filter_map(|a| a.forward_config())
        .flat_map(|c| c.target_groups())
        .map(|t| {
            (
                t.target_group_arn().unwrap_or_default().to_owned(),
                t.weight().unwrap_or_default(),
            )
        })
        .collect()
}

/// Creates a Lambda target group `name`, with no target; returns its ARN.
pub fn target_group(p: &Project, name: &str) -> String {
    p.block_on(
        elbv2(p)
            .create_target_group()
            .name(name)
            .target_type(TargetTypeEnum::Lambda)
            .send(),
    )
    .expect("create the target group")
    .target_groups()[0]
        .target_group_arn()
        .expect("its ARN")
        .to_owned()
}

/// Registers `target` (a function or alias ARN) in `target_group`.
pub fn register(p: &Project, target_group: &str, target: &str) {
    p.block_on(
        elbv2(p)
            .register_targets()
            .target_group_arn(target_group)
            .targets(TargetDescription::builder().id(target).build())
            .send(),
    )
    .expect("register the target");
}
