"""ELBv2's refusals that moto leaves out, for weighted forward actions and
Lambda targets.

moto serves listeners, rules and target groups with weighted forward
actions and Lambda targets, but refuses almost nothing ELBv2 refuses. Here
it refuses, as ELBv2 does:

- `forward_limits`: a forward action whose target group weights are outside
  0-999, that names more than 5 target groups, or one twice (on
  CreateListener, ModifyListener, CreateRule and ModifyRule; moto checks
  none of it, and does not check ModifyListener's actions at all);
- `default_rule_via_listener`: ModifyRule on a listener's default rule
  (OperationNotPermitted: it changes only through ModifyListener);
- `lambda_targets`: RegisterTargets of a second Lambda function in one
  target group (a Lambda target group has one), or of a function (or alias)
  whose resource-based policy does not let elasticloadbalancing.amazonaws.com
  invoke it from that target group (AccessDenied, the permission checked
  against the function's or alias's own policy, `lambda_policies`).

So a test that greenlight refuses such a shape first proves greenlight's
own check, not the emulator's leniency.
"""

import warnings
from fnmatch import fnmatchcase

from . import lambda_policies, when_imported

MAX_TARGET_GROUPS = 5
WEIGHTS = range(0, 1000)
ELB_PRINCIPAL = "elasticloadbalancing.amazonaws.com"


def install() -> None:
    # ELBv2's model has no AccessDenied shape (IAM's refusals are not in
    # service models), which moto would warn about on the request log.
    warnings.filterwarnings(
        "ignore", message=r".*with code AccessDenied does not match an error shape", category=UserWarning
    )
    # moto's ELBv2 (and with it EC2) is imported when its first request
    # comes, as plain moto does: importing it takes most of a second.
    when_imported("moto.elbv2.models", patch)


def patch(models) -> None:
    forward_limits(models)
    default_rule_via_listener(models)
    lambda_targets(models)


def error(code: str, message: str):
    from moto.elbv2.exceptions import ELBClientError

    return ELBClientError(code, message)


def check_forward(action) -> None:
    """Refuse a forward action outside ELBv2's limits."""
    if action.type != "forward" or "ForwardConfig" not in action.data:
        return
    groups = action.data["ForwardConfig"].get("TargetGroups") or []
    if len(groups) > MAX_TARGET_GROUPS:
        raise error(
            "ValidationError",
            f"A forward action can have at most {MAX_TARGET_GROUPS} target groups, not {len(groups)}",
        )
    arns = [g.get("TargetGroupArn") for g in groups]
    for arn in arns:
        if arns.count(arn) > 1:
            raise error(
                "InvalidLoadBalancerAction",
                f"Target group '{arn}' is specified more than once in the forward action",
            )
    for group in groups:
        weight = int(group.get("Weight", 1))
        if weight not in WEIGHTS:
            raise error(
                "ValidationError",
                f"1 validation error detected: Value '{weight}' at 'forwardConfig.targetGroups.member.weight' "
                "failed to satisfy constraint: Member must have value between 0 and 999",
            )


def forward_limits(models) -> None:
    """Check every forward action written, ModifyListener's too."""
    validate = models.ELBv2Backend._validate_actions
    modify_listener = models.ELBv2Backend.modify_listener

    def validate_with_limits(self, actions):
        validate(self, actions)
        for action in actions:
            check_forward(action)

    def modify_checked(self, arn, port=None, protocol=None, ssl_policy=None, certificates=None, actions=None):
        if actions:
            self._validate_actions([models.FakeAction(a) for a in actions])
        return modify_listener(self, arn, port, protocol, ssl_policy, certificates, actions)

    models.ELBv2Backend._validate_actions = validate_with_limits
    models.ELBv2Backend.modify_listener = modify_checked


def default_rule_via_listener(models) -> None:
    """Refuse ModifyRule on a listener's default rule."""
    modify_rule = models.ELBv2Backend.modify_rule

    def modify_not_default(self, rule_arn, conditions, actions):
        rules = self.describe_rules(listener_arn=None, rule_arns=[rule_arn])
        if rules and rules[0].is_default:
            raise error(
                "OperationNotPermitted",
                f"Default rule '{rule_arn}' cannot be modified; modify the listener's default actions instead",
            )
        return modify_rule(self, rule_arn, conditions, actions)

    models.ELBv2Backend.modify_rule = modify_not_default


def may_invoke(statements: list, target_group: str) -> bool:
    """Whether a policy lets the load balancer invoke from `target_group`."""

    def strings(value) -> list:
        return [value] if isinstance(value, str) else list(value or [])

    for statement in statements:
        principal = statement.get("Principal")
        services = strings(principal.get("Service")) if isinstance(principal, dict) else strings(principal)
        sources = [
            pattern
            for keys in (statement.get("Condition") or {}).values()
            for key, values in keys.items()
            if key.lower() == "aws:sourcearn"
            for pattern in strings(values)
        ]
        if (
            statement.get("Effect") == "Allow"
            and "lambda:InvokeFunction" in strings(statement.get("Action"))
            and (ELB_PRINCIPAL in services or "*" in services)
            and (not sources or any(fnmatchcase(target_group, p) for p in sources))
        ):
            return True
    return False


def lambda_targets(models) -> None:
    """One Lambda target per target group, and only one allowed to be
    invoked from it."""
    from moto.awslambda.utils import get_backend

    register = models.ELBv2Backend.register_targets

    def register_lambda(self, target_group_arn, instances):
        group = self.target_groups.get(target_group_arn)
        if group is None or group.target_type != "lambda":
            return register(self, target_group_arn, instances)
        ids = set(group.targets) | {t["Id"] for t in instances}
        if len(ids) > 1:
            raise error(
                "TooManyTargets",
                "You can register only one Lambda function in a target group",
            )
        # The backend Lambda's requests use (the Docker-free one, as configured).
        functions = get_backend(self.account_id, self.region_name)
        for target in instances:
            arn = target["Id"]
            parts = arn.split(":")
            name = parts[6] if len(parts) > 6 else arn
            qualifier = parts[7] if len(parts) > 7 else None
            if not may_invoke(lambda_policies.statements(functions, name, qualifier), target_group_arn):
                raise error(
                    "AccessDenied",
                    f"elasticloadbalancing principal does not have permission to invoke {arn} "
                    f"from target group {target_group_arn}",
                )
        return register(self, target_group_arn, instances)

    models.ELBv2Backend.register_targets = register_lambda
