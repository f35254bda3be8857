//! The seam to Elastic Load Balancing (ELBv2), for releases through an
//! Application Load Balancer: read the action list of a listener's default
//! rule or of one listener rule, set the weights of target groups in its
//! forward action, and read the targets registered in a target group.
//!
//! AWS calls: `DescribeListeners`, `DescribeRules`, `DescribeTargetHealth`
//! (reads), `ModifyListener` and `ModifyRule` (writes). Knows nothing of the
//! configuration: it is given ARNs and weights.
//!
//! ELBv2 has no conditional write, and `ModifyListener` / `ModifyRule`
//! replace the whole action list. So an [`ActionList`] keeps every action
//! exactly as read (order, stickiness, authentication, every field), a write
//! sends all of it back with only the named target groups' weights changed
//! ([`ActionList::reweighted`]), and [`Elbv2::set_weights`] reads the list
//! again until it reads back as written (Argo Rollouts' `VerifyWeight`): a
//! weight change is never taken as done on the strength of the write alone.
//! [`ActionList::shape`] fingerprints everything but the weights, so a caller
//! can tell a list it wrote from one someone else changed.

use std::time::Duration;

use aws_lc_rs::digest;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::config::http::HttpResponse;
use aws_sdk_elasticloadbalancingv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum};

use crate::aws::sdk_errors::aws_error;
use crate::error::{Error, Failure, Result};

/// The weights ELBv2 accepts for one target group of a forward action.
pub const WEIGHTS: std::ops::RangeInclusive<i32> = 0..=999;
/// The most target groups one forward action may name.
pub const MAX_TARGET_GROUPS: usize = 5;

/// How long a written list may take to read back as written.
const VERIFY_DEADLINE: Duration = Duration::from_secs(30);

/// Where an action list lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Site {
    /// A listener's default actions (its default rule).
    Listener(String),
    /// One listener rule's actions.
    Rule {
        /// The rule ARN.
        arn: String,
        /// True for the listener's default rule.
        default: bool,
    },
}

/// The actions of a listener's default rule or of one listener rule,
/// exactly as ELBv2 holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionList {
    site: Site,
    actions: Vec<Action>,
}

/// One target group of a forward action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weighted {
    /// The target group ARN.
    pub target_group: String,
    /// Its weight; `None` when ELBv2 gave none (a plain `TargetGroupArn`
    /// action, which sends everything to its one group).
    pub weight: Option<i32>,
}

/// A forward action of an [`ActionList`], in plain terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// Its place in the list (0 first), as ELBv2 listed it.
    pub position: usize,
    /// Its target groups, in ELBv2's order.
    pub target_groups: Vec<Weighted>,
    /// With target group stickiness on, how long (seconds) a client stays
    /// with the group it was sent to.
    pub sticky_seconds: Option<i32>,
}

impl ActionList {
    /// The listener or rule ARN.
    pub fn arn(&self) -> &str {
        match &self.site {
            Site::Listener(arn) | Site::Rule { arn, .. } => arn,
        }
    }

    /// True when these are the actions of a listener rule that is the
    /// listener's default rule: ELBv2 changes those only through
    /// `ModifyListener`, so [`Elbv2::set_weights`] refuses to write them.
    pub fn is_default_rule(&self) -> bool {
        matches!(self.site, Site::Rule { default: true, .. })
    }

    /// The forward actions, in list order (a listener's or rule's actions
    /// end in at most one).
    pub fn forwards(&self) -> Vec<Forward> {
        self.actions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.r#type == Some(ActionTypeEnum::Forward))
            .map(|(position, action)| {
                let config = action.forward_config.as_ref();
                let mut target_groups: Vec<Weighted> = config
                    .and_then(|c| c.target_groups.as_ref())
                    .into_iter()
                    .flatten()
                    .map(|t| Weighted {
                        target_group: t.target_group_arn.clone().unwrap_or_default(),
                        weight: t.weight,
                    })
                    .collect();
                if target_groups.is_empty()
                    && let Some(arn) = &action.target_group_arn
                {
                    target_groups.push(Weighted {
                        target_group: arn.clone(),
                        weight: None,
                    });
                }
                let stickiness = config.and_then(|c| c.target_group_stickiness_config.as_ref());
                Forward {
                    position,
                    target_groups,
                    sticky_seconds: stickiness
                        .filter(|s| s.enabled == Some(true))
                        .map(|s| s.duration_seconds.unwrap_or_default()),
                }
            })
            .collect()
    }

    /// This list with the weight of each target group in `weights` set,
    /// and nothing else changed. Each must be named in the `ForwardConfig`
    /// of exactly one forward action; otherwise an error (exit 1) says
    /// which is not, and nothing is made.
    pub fn reweighted(&self, weights: &[(&str, i32)]) -> Result<ActionList> {
        let mut actions = self.actions.clone();
        for (target_group, weight) in weights {
            let mut tuples = actions
                .iter_mut()
                .filter(|a| a.r#type == Some(ActionTypeEnum::Forward))
                .filter_map(|a| a.forward_config.as_mut())
                .flat_map(|c| c.target_groups.iter_mut().flatten())
                .filter(|t| t.target_group_arn.as_deref() == Some(*target_group));
            match (tuples.next(), tuples.next()) {
                (Some(tuple), None) => tuple.weight = Some(*weight),
                (found, _) => {
                    let why = if found.is_some() {
                        "names it more than once"
                    } else {
                        "does not name it with a weight"
                    };
                    return Err(Error::no_traffic_moved(format!(
                        "cannot set the weight of target group {target_group} in {}: its forward action {why}",
                        self.arn()
                    )));
                }
            }
        }
        Ok(ActionList {
            site: self.site.clone(),
            actions,
        })
    }

    /// A fingerprint (16 hex digits) of every action with every forward
    /// weight left out: equal for two reads of a list whose weights alone
    /// differ, different once anything else changed (an action added or
    /// reordered, a target group swapped, stickiness changed). Computed
    /// from the SDK's view of the actions, so a greenlight built with
    /// another SDK release may compute another one for the same list.
    pub fn shape(&self) -> String {
        let mut actions = self.actions.clone();
        for tuple in actions
            .iter_mut()
            .filter_map(|a| a.forward_config.as_mut())
            .flat_map(|c| c.target_groups.iter_mut().flatten())
        {
            tuple.weight = None;
        }
        let text = format!("{:?}|{actions:?}", self.site);
        let sum = digest::digest(&digest::SHA256, text.as_bytes());
        sum.as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The actions as `ModifyListener` / `ModifyRule` take them back: as
    /// read, except that an `authenticate-oidc` action whose client secret
    /// ELBv2 did not show (it never does) keeps the one it has.
    fn to_send(&self) -> Vec<Action> {
        let mut actions = self.actions.clone();
        for oidc in actions
            .iter_mut()
            .filter_map(|a| a.authenticate_oidc_config.as_mut())
            .filter(|c| c.client_secret.is_none())
        {
            oidc.use_existing_client_secret = Some(true);
        }
        actions
    }

    /// The weights of every forward action's target groups, as text for
    /// messages: `targetgroup/orders-blue/… 90, targetgroup/orders-green/… 10`.
    fn weights_text(&self) -> String {
        self.forwards()
            .iter()
            .flat_map(|f| &f.target_groups)
            .map(|t| {
                let name = t.target_group.rsplit(':').next().unwrap_or_default();
                match t.weight {
                    Some(w) => format!("{name} {w}"),
                    None => format!("{name} (no weight)"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Refuses weights ELBv2 would refuse, or that would route nowhere: each
/// must be within [`WEIGHTS`], and not all may be 0.
pub fn check_weights(weights: &[i32]) -> std::result::Result<(), String> {
    if let Some(w) = weights.iter().find(|w| !WEIGHTS.contains(w)) {
        return Err(format!(
            "weight {w} is outside ELBv2's {}–{}",
            WEIGHTS.start(),
            WEIGHTS.end()
        ));
    }
    if weights.iter().all(|w| *w == 0) {
        return Err("every weight is 0, so no target group would get traffic".to_owned());
    }
    Ok(())
}

/// ELBv2, as greenlight uses it.
#[derive(Debug, Clone)]
pub struct Elbv2 {
    client: Client,
    poll: Duration,
}

impl Elbv2 {
    /// Wraps an SDK client; `poll` is the pause between reads while a
    /// written list does not yet read back as written.
    pub fn new(client: Client, poll: Duration) -> Self {
        Elbv2 { client, poll }
    }

    /// The default actions of the listener `arn`. A listener that does not
    /// exist is a configuration error (exit 2).
    pub async fn listener_actions(&self, arn: &str) -> Result<ActionList> {
        let out = self
            .client
            .describe_listeners()
            .listener_arns(arn)
            .send()
            .await
            .map_err(|e| {
                read_error("listener", arn, e, |e| {
                    e.is_listener_not_found_exception() || e.is_load_balancer_not_found_exception()
                })
            })?;
        let listener = out
            .listeners()
            .iter()
            .find(|l| l.listener_arn() == Some(arn))
            .ok_or_else(|| missing("listener", arn))?;
        Ok(ActionList {
            site: Site::Listener(arn.to_owned()),
            actions: listener.default_actions().to_vec(),
        })
    }

    /// The actions of the listener rule `arn`. A rule that does not exist
    /// is a configuration error (exit 2).
    pub async fn rule_actions(&self, arn: &str) -> Result<ActionList> {
        let out = self
            .client
            .describe_rules()
            .rule_arns(arn)
            .send()
            .await
            .map_err(|e| {
                read_error("listener rule", arn, e, |e| {
                    e.is_rule_not_found_exception() || e.is_listener_not_found_exception()
                })
            })?;
        let rule = out
            .rules()
            .iter()
            .find(|r| r.rule_arn() == Some(arn))
            .ok_or_else(|| missing("listener rule", arn))?;
        Ok(ActionList {
            site: Site::Rule {
                arn: arn.to_owned(),
                default: rule.is_default() == Some(true),
            },
            actions: rule.actions().to_vec(),
        })
    }

    /// The action list read again, from where `list` was read.
    pub async fn reread(&self, list: &ActionList) -> Result<ActionList> {
        match &list.site {
            Site::Listener(arn) => self.listener_actions(arn).await,
            Site::Rule { arn, .. } => self.rule_actions(arn).await,
        }
    }

    /// Sets the weights of the target groups in `weights` in the forward
    /// action of `list` (as read), sending back every action as it was
    /// otherwise, then reads the list again until it reads back exactly as
    /// written. Returns the list as read back.
    ///
    /// Refused before anything is sent (exit 1): weights ELBv2 would refuse
    /// ([`check_weights`]), a target group the forward action does not
    /// name, the listener's default rule given as a rule. ELBv2 has no
    /// conditional write, so the caller compares `list` with what is there
    /// first; should the list read back otherwise (someone wrote in
    /// between), a [`Failure::Conflict`] (exit 1) says what it reads.
    pub async fn set_weights(
        &self,
        list: &ActionList,
        weights: &[(&str, i32)],
    ) -> Result<ActionList> {
        let values: Vec<i32> = weights.iter().map(|(_, w)| *w).collect();
        check_weights(&values).map_err(|why| {
            Error::no_traffic_moved(format!("cannot write the weights of {}: {why}", list.arn()))
        })?;
        let wanted = list.reweighted(weights)?;
        let actions = Some(wanted.to_send());
        let action = || format!("change the weights of {}", list.arn());
        match &list.site {
            Site::Listener(arn) => {
                self.client
                    .modify_listener()
                    .listener_arn(arn)
                    .set_default_actions(actions)
                    .send()
                    .await
                    .map_err(|e| aws_error(action(), e))?;
            }
            Site::Rule { default: true, arn } => return Err(default_rule(arn)),
            Site::Rule { arn, .. } => {
                self.client
                    .modify_rule()
                    .rule_arn(arn)
                    .set_actions(actions)
                    .send()
                    .await
                    .map_err(|e| aws_error(action(), e))?;
            }
        }
        self.verify(list, &wanted).await
    }

    /// Reads the list until it equals `wanted` (written over `before`):
    /// while it still reads as `before`, the write has not reached every
    /// reader yet, so it is read again, for at most [`VERIFY_DEADLINE`];
    /// anything else is someone else's write, a conflict at once.
    async fn verify(&self, before: &ActionList, wanted: &ActionList) -> Result<ActionList> {
        let deadline = tokio::time::Instant::now() + VERIFY_DEADLINE;
        loop {
            let now = self.reread(wanted).await?;
            match readback(before, wanted, &now) {
                Readback::AsWritten => return Ok(now),
                Readback::Changed => return Err(changed_meanwhile(wanted, &now)),
                Readback::NotYet if tokio::time::Instant::now() >= deadline => {
                    return Err(Error::no_traffic_moved(format!(
                        "{} still reads as before {} after the weights were written ({} wanted)",
                        wanted.arn(),
                        humantime::format_duration(VERIFY_DEADLINE),
                        wanted.weights_text()
                    )));
                }
                Readback::NotYet => tokio::time::sleep(self.poll).await,
            }
        }
    }

    /// The IDs of the targets registered in the target group `arn` (for a
    /// Lambda target group, function ARNs as registered). A target group
    /// that does not exist is a configuration error (exit 2).
    pub async fn targets(&self, arn: &str) -> Result<Vec<String>> {
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| {
                read_error("target group", arn, e, |e| {
                    e.is_target_group_not_found_exception()
                })
            })?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target().and_then(|t| t.id()).map(str::to_owned))
            .collect())
    }
}

/// What a list read after a write says about it.
#[derive(Debug, PartialEq, Eq)]
enum Readback {
    /// It reads as written: the write is in effect.
    AsWritten,
    /// It still reads as before the write.
    NotYet,
    /// It reads as neither: someone else wrote.
    Changed,
}

/// What `now`, read after `wanted` was written over `before`, says.
fn readback(before: &ActionList, wanted: &ActionList, now: &ActionList) -> Readback {
    if now.actions == wanted.actions {
        Readback::AsWritten
    } else if now.actions == before.actions {
        Readback::NotYet
    } else {
        Readback::Changed
    }
}

/// The error of a write that reads back as neither written nor as it was:
/// someone else wrote meanwhile (exit 1, write nothing more).
fn changed_meanwhile(wanted: &ActionList, now: &ActionList) -> Error {
    let what = if now.shape() == wanted.shape() {
        format!("its weights read {}", now.weights_text())
    } else {
        "its actions were changed".to_owned()
    };
    Error::new(
        Failure::Conflict,
        format!(
            "{} was changed by someone else while greenlight wrote its weights ({} wanted; {what}); stopped without writing further",
            wanted.arn(),
            wanted.weights_text()
        ),
    )
    .with_hint("another greenlight run or a person is changing the load balancer; see `greenlight status`")
}

/// The error of a read of the `what` `arn` that failed with `e`: when
/// `gone` says it does not exist, a configuration error (exit 2, see
/// [`missing`]); otherwise the AWS error.
fn read_error<E>(
    what: &str,
    arn: &str,
    e: SdkError<E, HttpResponse>,
    gone: impl Fn(&E) -> bool,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if e.as_service_error().is_some_and(gone) {
        missing(what, arn).with_cause(crate::aws::sdk_errors::chain(&e))
    } else {
        aws_error(format!("read {what} {arn}"), e)
    }
}

/// The error for a listener, rule or target group named in `[alb]` that
/// ELBv2 does not have: a configuration error (exit 2).
fn missing(what: &str, arn: &str) -> Error {
    Error::usage(format!("{what} {arn} does not exist"))
        .with_hint("check the ARNs in [alb] and the region greenlight runs in")
}

/// The error for a write to the listener's default rule given as a rule.
fn default_rule(arn: &str) -> Error {
    Error::no_traffic_moved(format!(
        "{arn} is its listener's default rule, which ELBv2 changes only through ModifyListener"
    ))
    .with_hint("name the listener in [alb] with listener_arn instead of rule_arn")
}

#[cfg(test)]
mod tests {
    use aws_sdk_elasticloadbalancingv2::types::{
        AuthenticateOidcActionConfig, ForwardActionConfig, TargetGroupStickinessConfig,
        TargetGroupTuple,
    };

    use super::*;

    const BLUE: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-blue/1";
    const GREEN: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-green/2";

    fn tuple(arn: &str, weight: i32) -> TargetGroupTuple {
        TargetGroupTuple::builder()
            .target_group_arn(arn)
            .weight(weight)
            .build()
    }

    /// An OIDC action (secret not shown, as ELBv2 reads it), then a sticky
    /// forward to blue and green.
    fn list(blue: i32, green: i32) -> ActionList {
        let oidc = Action::builder()
            .r#type(ActionTypeEnum::AuthenticateOidc)
            .order(1)
            .authenticate_oidc_config(
                AuthenticateOidcActionConfig::builder()
                    .issuer("https://idp")
                    .client_id("c")
                    .build(),
            )
            .build();
        let forward = Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .order(2)
            .forward_config(
                ForwardActionConfig::builder()
                    .target_groups(tuple(BLUE, blue))
                    .target_groups(tuple(GREEN, green))
                    .target_group_stickiness_config(
                        TargetGroupStickinessConfig::builder()
                            .enabled(true)
                            .duration_seconds(300)
                            .build(),
                    )
                    .build(),
            )
            .build();
        ActionList {
            site: Site::Listener("arn:listener".to_owned()),
            actions: vec![oidc, forward],
        }
    }

    #[test]
    fn reweighting_changes_the_named_weights_and_nothing_else() {
        let read = list(90, 10);
        let written = read
            .reweighted(&[(BLUE, 50), (GREEN, 50)])
            .expect("both named");
        assert_eq!(written, list(50, 50));
        assert_eq!(
            written.forwards(),
            vec![Forward {
                position: 1,
                target_groups: vec![
                    Weighted {
                        target_group: BLUE.to_owned(),
                        weight: Some(50)
                    },
                    Weighted {
                        target_group: GREEN.to_owned(),
                        weight: Some(50)
                    },
                ],
                sticky_seconds: Some(300),
            }]
        );
        let third = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/3";
        let refused = read.reweighted(&[(third, 1)]).expect_err("not named");
        assert_eq!(refused.exit_code(), 1);
        assert!(
            refused.message.contains("does not name it"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn the_shape_leaves_out_the_weights_only() {
        assert_eq!(list(90, 10).shape(), list(0, 100).shape());
        // As long as the release record's worst case counts it
        // (`config::plan::SHAPE_LENGTH`).
        assert_eq!(list(90, 10).shape().len(), 16);
        let mut unsticky = list(90, 10);
        unsticky.actions[1]
            .forward_config
            .as_mut()
            .and_then(|c| c.target_group_stickiness_config.as_mut())
            .expect("stickiness")
            .enabled = Some(false);
        assert_ne!(unsticky.shape(), list(90, 10).shape());
        let mut reordered = list(90, 10);
        reordered.actions.reverse();
        assert_ne!(reordered.shape(), list(90, 10).shape());
    }

    #[test]
    fn an_oidc_action_is_sent_back_keeping_its_secret() {
        let sent = list(90, 10).to_send();
        let oidc = sent[0].authenticate_oidc_config.as_ref().expect("oidc");
        assert_eq!(oidc.use_existing_client_secret, Some(true));
        assert_eq!(sent[1], list(90, 10).actions[1]);
    }

    #[test]
    fn a_read_after_a_write_is_in_effect_not_yet_or_someone_elses() {
        let (before, wanted) = (list(90, 10), list(50, 50));
        assert_eq!(
            readback(&before, &wanted, &list(50, 50)),
            Readback::AsWritten
        );
        assert_eq!(readback(&before, &wanted, &list(90, 10)), Readback::NotYet);
        assert_eq!(readback(&before, &wanted, &list(0, 100)), Readback::Changed);
        let error = changed_meanwhile(&wanted, &list(0, 100));
        assert_eq!(error.exit_code(), 1);
        assert_eq!(
            error.message,
            "arn:listener was changed by someone else while greenlight wrote its weights (targetgroup/orders-blue/1 50, targetgroup/orders-green/2 50 wanted; its weights read targetgroup/orders-blue/1 0, targetgroup/orders-green/2 100); stopped without writing further"
        );
    }

    #[test]
    fn weights_outside_elbv2s_range_or_all_zero_are_refused() {
        assert_eq!(check_weights(&[999, 0]), Ok(()));
        assert_eq!(check_weights(&[0, 1]), Ok(()));
        assert_eq!(
            check_weights(&[1000, 0]),
            Err("weight 1000 is outside ELBv2's 0–999".to_owned())
        );
        assert!(check_weights(&[-1, 5]).is_err());
        assert_eq!(
            check_weights(&[0, 0]),
            Err("every weight is 0, so no target group would get traffic".to_owned())
        );
    }
}
