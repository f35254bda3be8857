"""Lambda's resource-based policies, one per qualifier.

Lambda keeps a resource-based policy for the unqualified function and one
for each alias and version (`AddPermission`, `GetPolicy` and
`RemovePermission` with `Qualifier`), and a caller that invokes an alias is
judged by the alias's own policy. moto keeps one policy per version object:
an alias's permission is stored on the version it points at, so it seems to
move when the alias moves, two aliases on one version share it, and the
unqualified function can show it. Load balancers invoke an alias by its
qualified ARN, so greenlight checks each colour's alias policy before moving
traffic; `policies_per_qualifier` keeps them apart as Lambda does.
"""

import json
from urllib.parse import unquote


def install() -> None:
    policies_per_qualifier()


def policy(backend, function_name: str, qualifier: "str | None"):
    """The policy of `function_name` (or of its `qualifier`), made empty
    on first use. Raises moto's not-found error for a function, version or
    alias that does not exist."""
    from moto.awslambda.policy import Policy

    function = backend.get_function(function_name)
    if qualifier:
        if qualifier.isdigit():
            backend.get_function(function.function_name, qualifier)
        elif qualifier != "$LATEST":
            backend.get_alias(qualifier, function.function_name)
    policies = backend.__dict__.setdefault("greenlight_policies", {})
    key = (function.function_name, qualifier or None)
    if key not in policies:
        policies[key] = Policy(function)
    return policies[key]


def statements(backend, function_name: str, qualifier: "str | None") -> list:
    """The statements of the policy of `function_name` (or of its
    `qualifier`); none when the function or qualifier does not exist."""
    from moto.awslambda.exceptions import LambdaClientError

    try:
        return list(policy(backend, function_name, qualifier).statements)
    except LambdaClientError:
        return []


def policies_per_qualifier() -> None:
    """Answer AddPermission, GetPolicy and RemovePermission from a policy
    per function and qualifier."""
    from moto.awslambda import responses

    def qualifier(self) -> "str | None":
        return self.querystring.get("Qualifier", [None])[0]

    def add_permission(self):
        function_name = unquote(self.path.split("?")[0].split("/")[-2])
        wanted = qualifier(self)
        statement, _ = policy(self.backend, function_name, wanted).add_statement(self.body, wanted)
        return json.dumps({"Statement": json.dumps(statement)})

    def get_policy(self):
        function_name = unquote(self.path.split("?")[0].split("/")[-2])
        return policy(self.backend, function_name, qualifier(self)).wire_format()

    def remove_permission(self):
        parts = self.path.split("?")[0].split("/")
        function_name, statement_id = unquote(parts[-3]), unquote(parts[-1])
        revision = self.querystring.get("RevisionId", [""])[0]
        policy(self.backend, function_name, qualifier(self)).del_statement(statement_id, revision)
        return 204, {"status": 204}, "{}"

    responses.LambdaResponse.add_permission = add_permission
    responses.LambdaResponse.get_policy = get_policy
    responses.LambdaResponse.remove_permission = remove_permission

