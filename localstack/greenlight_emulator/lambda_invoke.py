"""Invoking through an alias, as Lambda does: by its weights, and named.

Lambda sends an alias's invocations to its versions in the shares its
routing config gives (`AdditionalVersionWeights`), and names the version
that ran a synchronous invocation in the `X-Amz-Executed-Version` header,
which greenlight checks against the version under test. moto runs the
alias's main version alone and names none. Here each alias spreads its
invocations by its weights, and the header is sent. The spread is exact
rather than random, so a test can count it: after n invocations of an
alias giving weight w to a version, floor(n * w) of them ran on it (with
w = 0.25, the 4th, 8th, … invocations).
"""

import math
import threading
from urllib.parse import unquote


def routed_version(alias) -> str:
    """The version the alias's next invocation runs on."""
    weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
    n = getattr(alias, "greenlight_invocations", 0)
    alias.greenlight_invocations = n + 1
    for version, weight in sorted(weights.items()):
        # Exact shares: w * n in floats may fall just short of a whole number.
        if math.floor((n + 1) * float(weight) + 1e-9) > math.floor(n * float(weight) + 1e-9):
            return version
    return alias.function_version


def install() -> None:
    from moto.awslambda import responses

    invoke = responses.LambdaResponse.invoke
    lock = threading.Lock()

    def invoke_routed(self):
        function_name = unquote(self.path.rsplit("/", 2)[-2])
        version = (self.querystring.get("Qualifier") or ["$LATEST"])[0]
        if version != "$LATEST" and not version.isdigit():
            alias = self.backend.get_alias(version, function_name)
            with lock:
                version = routed_version(alias)
            # The rest of the call (state checks, moto) sees the version.
            self.querystring["Qualifier"] = [version]
        status, headers, body = invoke(self)
        if status == 200:
            headers["x-amz-executed-version"] = version
        return status, headers, body

    responses.LambdaResponse.invoke = invoke_routed
