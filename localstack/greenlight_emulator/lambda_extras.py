"""Two Lambda APIs moto lacks or gets wrong: provisioned concurrency, and
function URLs per qualifier.

Lambda keeps a provisioned concurrency configuration per alias
(`PutProvisionedConcurrencyConfig`, `GetProvisionedConcurrencyConfig`,
404 `ProvisionedConcurrencyConfigNotFoundException` when there is none);
moto has no such call (it answers 404 with an HTML page), so it is added,
allocated at once (`READY`).

Lambda keeps a function URL per qualifier (the unqualified function's runs
$LATEST, an alias's runs what the alias serves); moto keeps one per function
and ignores the Qualifier, so one is kept per qualifier here, which
greenlight's warning about triggers of $LATEST relies on.
"""

import json
from urllib.parse import unquote


def install() -> None:
    provisioned_concurrency()
    function_urls_per_qualifier()


def provisioned_concurrency() -> None:
    """Give moto Lambda's provisioned concurrency per alias or version: Put
    (answered IN_PROGRESS, as Lambda does) and Get (READY at once: moto
    runs nothing to warm), 404 ProvisionedConcurrencyConfigNotFoundException
    when none is configured."""
    from moto.awslambda import responses, urls
    from moto.awslambda.exceptions import LambdaClientError

    class NotFound(LambdaClientError):
        code = 404

        def __init__(self) -> None:
            super().__init__(
                "ProvisionedConcurrencyConfigNotFoundException",
                "No Provisioned Concurrency Config found for this function",
            )

    urls.url_paths[
        r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
    ] = responses.LambdaResponse.dispatch

    def target(self):
        function_name = unquote(self.path.split("?")[0].rstrip("/").rsplit("/", 2)[-2])
        qualifier = self.querystring.get("Qualifier", [""])[0]
        if not qualifier.isdigit():
            self.backend.get_alias(qualifier, function_name)
        configs = self.backend.__dict__.setdefault("greenlight_provisioned", {})
        return configs, (function_name, qualifier)

    def put_provisioned_concurrency_config(self):
        configs, key = target(self)
        requested = int(json.loads(self.body or "{}")["ProvisionedConcurrentExecutions"])
        configs[key] = requested
        return 202, {"status": 202}, json.dumps(
            {
                "RequestedProvisionedConcurrentExecutions": requested,
                "AllocatedProvisionedConcurrentExecutions": 0,
                "Status": "IN_PROGRESS",
            }
        )

    def get_provisioned_concurrency_config(self):
        configs, key = target(self)
        if key not in configs:
            raise NotFound()
        requested = configs[key]
        return 200, {}, json.dumps(
            {
                "RequestedProvisionedConcurrentExecutions": requested,
                "AvailableProvisionedConcurrentExecutions": requested,
                "AllocatedProvisionedConcurrentExecutions": requested,
                "Status": "READY",
            }
        )

    responses.LambdaResponse.put_provisioned_concurrency_config = (
        put_provisioned_concurrency_config
    )
    responses.LambdaResponse.get_provisioned_concurrency_config = (
        get_provisioned_concurrency_config
    )


def function_urls_per_qualifier() -> None:
    """Keep a function URL per qualifier, as Lambda does: one for the
    unqualified function (which invokes $LATEST) and one per alias, each
    with its own FunctionArn (qualified for an alias). moto keeps one URL
    per function and ignores the Qualifier, so a URL made on an alias would
    pass for one that runs $LATEST."""
    from moto.awslambda import responses
    from moto.awslambda.exceptions import GenericResourcNotFound
    from moto.awslambda.models import FunctionUrlConfig

    def target(self):
        function_name = unquote(self.path.split("?")[0].rstrip("/").rsplit("/", 2)[-2])
        qualifier = self.querystring.get("Qualifier", [None])[0]
        function = self.backend.get_function(function_name)
        if qualifier:
            self.backend.get_alias(qualifier, function_name)
        urls = self.backend.__dict__.setdefault("greenlight_function_urls", {})
        return urls, (function.function_name, qualifier), function

    def answer(config, key):
        body = config.to_dict()
        if key[1]:
            body["FunctionArn"] = f"{body['FunctionArn']}:{key[1]}"
        return json.dumps(body)

    def create_function_url_config(self):
        urls, key, function = target(self)
        urls[key] = FunctionUrlConfig(function=function, config=self.json_body)
        return 201, {"status": 201}, answer(urls[key], key)

    def get_function_url_config(self):
        urls, key, _ = target(self)
        if key not in urls:
            raise GenericResourcNotFound()
        return 200, {}, answer(urls[key], key)

    def delete_function_url_config(self):
        urls, key, _ = target(self)
        if urls.pop(key, None) is None:
            raise GenericResourcNotFound()
        return 204, {"status": 204}, "{}"

    responses.LambdaResponse.create_function_url_config = create_function_url_config
    responses.LambdaResponse.get_function_url_config = get_function_url_config
    responses.LambdaResponse.delete_function_url_config = delete_function_url_config
