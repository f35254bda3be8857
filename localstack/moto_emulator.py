"""Start the moto AWS emulator on loopback, ready for greenlight.

Used by the test suite and by `localstack/moto.sh`. It:
  1. starts moto's server on 127.0.0.1 (port 0 picks a free one),
  2. switches Lambda to moto's Docker-free "simple" mode,
  3. creates the IAM role the examples and tests name (moto checks that a
     function's role exists),
  4. prints one line `READY <endpoint-url>` on stdout,
  5. runs until its standard input closes (the parent exited) or SIGTERM/SIGINT.

Two gaps in moto are filled, because greenlight's safety depends on them:
real Lambda refuses an `UpdateAlias` whose `RevisionId` is not the alias's
current one (412 PreconditionFailedException) and gives the alias a new
RevisionId on every update; moto does neither. `enforce_alias_revision_ids`
adds exactly that, so two releases racing for one alias are tested against
the emulator. And real Lambda names the version that ran a synchronous
invocation in the `X-Amz-Executed-Version` header, which greenlight checks
against the version under test; `report_executed_versions` adds it.
Lambda also gives a function a new RevisionId on every update and refuses a
`PublishVersion` or an `UpdateFunctionConfiguration` whose `RevisionId` is
not the current one; `track_function_revision_ids` adds that (moto keeps
none).
Route 53 refuses a change batch whose DELETE does not name a record exactly
as it is (every value), which makes a DELETE + CREATE batch a conditional
write; moto deletes by name or SetIdentifier alone. `exact_route53_deletes`
refuses as Route 53 does, so two runners racing for one record pair are
tested against the emulator.
Lambda keeps a provisioned concurrency configuration per alias
(`PutProvisionedConcurrencyConfig`, `GetProvisionedConcurrencyConfig`,
404 `ProvisionedConcurrencyConfigNotFoundException` when there is none);
moto has no such call (it answers 404 with an HTML page), so
`provisioned_concurrency` adds it, allocated at once (`READY`).
Lambda's function states are modelled by `lambda_states`, where moto answers
Active and Successful at once and keeps no SnapStart: a new function is
`Pending` for a while (`--create-pending`), an update leaves `$LATEST`
`InProgress` for a while (`--update-in-progress`) and refuses other writes
meanwhile (409 ResourceConflictException), and a version published with
SnapStart is `Pending` (`--snapstart-pending`), then `Active` (or `Failed`,
with `--version-failure CODE:REASON`); an invoke of a function or version
that is not Active is refused (409 ResourceConflictException; for a
SnapStart version still Pending, 409 SnapStartNotReadyException), as Lambda
does. With `--idle-after SECONDS` a published version not invoked for that
long is `Inactive` (`StateReasonCode` Idle); an invoke is refused and wakes
it: `Pending` for `--create-pending` seconds, then `Active`. SnapStart is stored and reported, with `OptimizationStatus` On on
published versions.

Lambda keeps a function's DeadLetterConfig, LoggingConfig (Text logs in
/aws/lambda/NAME by default; INFO levels with JSON) and FileSystemConfigs,
applies EphemeralStorage, TracingConfig and KMSKeyArn on
UpdateFunctionConfiguration and Architectures on UpdateFunctionCode; moto
drops all of these, so `function_settings` keeps them, and the settings
greenlight applies are read back as Lambda would report them.

Lambda keeps a function URL per qualifier (the unqualified function's runs
$LATEST, an alias's runs what the alias serves); moto keeps one per function
and ignores the Qualifier, so `function_urls_per_qualifier` keeps one per
qualifier, which greenlight's warning about triggers of $LATEST relies on.
CloudWatch's DescribeAlarms answers in pages (`MaxRecords`, 50 by default,
at most 100, and a `NextToken`), which moto ignores; `page_alarms` pages as
CloudWatch does, so a client that reads one page is caught.

Readiness is proven by answering requests, not assumed: step 4 happens only
after the server has served steps 2 and 3.
"""

import argparse
import json
import signal
import sys
import threading
import urllib.request

# The role greenlight's examples and tests use; any account-local role name works.
ROLE_NAME = "greenlight-example"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def enforce_alias_revision_ids() -> None:
    """Make moto's UpdateAlias honour RevisionId as Lambda does."""
    import uuid
    from urllib.parse import unquote

    from moto.awslambda import models, responses
    from moto.awslambda.exceptions import PreconditionFailedException

    lock = threading.Lock()
    update = models.LambdaAlias.update
    update_alias = responses.LambdaResponse.update_alias

    def update_with_new_revision(self, *args, **kwargs):
        update(self, *args, **kwargs)
        self.revision_id = str(uuid.uuid4())

    def checked_update_alias(self):
        function_name = unquote(self.path.rsplit("/")[-3])
        alias_name = unquote(self.path.rsplit("/", 2)[-1])
        expected = json.loads(self.body or "{}").get("RevisionId")
        with lock:
            current = self.backend.get_alias(alias_name, function_name).revision_id
            if expected and expected != current:
                raise PreconditionFailedException(
                    "The Revision Id provided does not match the latest Revision Id. "
                    "Call the GetAlias API to retrieve the latest Revision Id"
                )
            return update_alias(self)

    models.LambdaAlias.update = update_with_new_revision
    responses.LambdaResponse.update_alias = checked_update_alias


def track_function_revision_ids() -> None:
    """Give functions a RevisionId that each update changes, and make
    PublishVersion and UpdateFunctionConfiguration honour it, as Lambda
    does."""
    import uuid
    from urllib.parse import unquote

    from moto.awslambda import models, responses
    from moto.awslambda.exceptions import PreconditionFailedException

    get_configuration = models.LambdaFunction.get_configuration

    def revision(function) -> str:
        if not getattr(function, "greenlight_revision", None):
            function.greenlight_revision = str(uuid.uuid4())
        return function.greenlight_revision

    def configuration(self, *args, **kwargs):
        config = get_configuration(self, *args, **kwargs)
        config["RevisionId"] = revision(self)
        return config

    def renewing(update):
        def updated(self, *args, **kwargs):
            out = update(self, *args, **kwargs)
            self.greenlight_revision = str(uuid.uuid4())
            if isinstance(out, dict):
                out["RevisionId"] = self.greenlight_revision
            return out

        return updated

    def checked(handler):
        """`handler`, refusing a request whose RevisionId is not the function's."""

        def with_revision(self):
            function_name = unquote(self.path.split("/")[-2])
            expected = json.loads(self.body or "{}").get("RevisionId")
            latest = self.backend.get_function(function_name)
            if expected and expected != revision(latest):
                raise PreconditionFailedException(
                    "The Revision Id provided does not match the latest Revision Id. "
                    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
                )
            return handler(self)

        return with_revision

    models.LambdaFunction.get_configuration = configuration
    for name in ("update_configuration", "update_function_code"):
        setattr(models.LambdaFunction, name, renewing(getattr(models.LambdaFunction, name)))
    for name in ("publish_version", "update_function_configuration"):
        setattr(responses.LambdaResponse, name, checked(getattr(responses.LambdaResponse, name)))


def exact_route53_deletes() -> None:
    """Make moto refuse a DELETE whose record differs from the current one."""
    from moto.route53 import models
    from moto.route53.exceptions import Route53ClientError

    change = models.Route53Backend.change_resource_record_sets

    def normal(record: dict) -> dict:
        name = record.get("Name", "").rstrip(".").lower() + "."
        values = [
            v["Value"] if isinstance(v, dict) else v
            for v in record.get("ResourceRecords") or []
        ]
        alias = record.get("AliasTarget") or {}
        return {
            "name": name,
            "type": record.get("Type"),
            "set": record.get("SetIdentifier"),
            "weight": str(record.get("Weight")) if record.get("Weight") is not None else None,
            "ttl": str(record.get("TTL")) if record.get("TTL") is not None else None,
            "values": sorted(values),
            "health": record.get("HealthCheckId"),
            "alias": (
                str(alias.get("DNSName", "")).rstrip(".").lower(),
                alias.get("HostedZoneId"),
            )
            if alias
            else None,
        }

    def current(rrset) -> dict:
        alias = rrset.alias_target or {}
        return normal(
            {
                "Name": rrset.name,
                "Type": rrset.type,
                "SetIdentifier": rrset.set_identifier,
                "Weight": rrset.weight,
                "TTL": rrset.ttl,
                "ResourceRecords": rrset.records,
                "HealthCheckId": rrset.health_check_id,
                "AliasTarget": alias,
            }
        )

    def key(record: dict) -> tuple:
        wanted = normal(record)
        return (wanted["name"], wanted["type"], wanted["set"])

    def exact(self, zoneid, change_list):
        zone = self.get_hosted_zone(zoneid)
        deleted = set()
        for value in change_list:
            if value["Action"] != "DELETE":
                continue
            wanted = normal(value["ResourceRecordSet"])
            if not any(current(r) == wanted for r in zone.rrsets):
                raise Route53ClientError(
                    "InvalidChangeBatch",
                    f"[Tried to delete resource record set [name='{wanted['name']}', "
                    f"type='{wanted['type']}', set-identifier='{wanted['set']}'] but the "
                    "values provided do not match the current values]",
                )
            deleted.add(key(value["ResourceRecordSet"]))
        # A record deleted and created again in one batch is replaced (moto
        # would refuse the CREATE if an identical one is in its journal).
        replaced = [
            dict(value, Action="UPSERT")
            if value["Action"] == "CREATE" and key(value["ResourceRecordSet"]) in deleted
            else value
            for value in change_list
            if not (value["Action"] == "DELETE" and key(value["ResourceRecordSet"]) in {
                key(v["ResourceRecordSet"]) for v in change_list if v["Action"] == "CREATE"
            })
        ]
        return change(self, zoneid, replaced)

    models.Route53Backend.change_resource_record_sets = exact


def function_settings() -> None:
    """Keep the function settings moto drops, and report them as Lambda does."""
    from moto.awslambda import models

    kept = ("DeadLetterConfig", "LoggingConfig", "FileSystemConfigs")
    init = models.LambdaFunction.__init__
    get_configuration = models.LambdaFunction.get_configuration
    update_configuration = models.LambdaFunction.update_configuration
    update_function_code = models.LambdaFunction.update_function_code

    def created(self, *args, **kwargs):
        init(self, *args, **kwargs)
        spec = kwargs.get("spec") or args[1]
        self.greenlight_settings = {k: spec[k] for k in kept if k in spec}

    def configuration(self, *args, **kwargs):
        config = get_configuration(self, *args, **kwargs)
        settings = getattr(self, "greenlight_settings", {})
        logging = {
            "LogFormat": "Text",
            "LogGroup": f"/aws/lambda/{self.function_name}",
            **settings.get("LoggingConfig", {}),
        }
        if logging["LogFormat"] == "JSON":
            logging.setdefault("ApplicationLogLevel", "INFO")
            logging.setdefault("SystemLogLevel", "INFO")
        else:
            logging.pop("ApplicationLogLevel", None)
            logging.pop("SystemLogLevel", None)
        config["LoggingConfig"] = logging
        if settings.get("DeadLetterConfig", {}).get("TargetArn"):
            config["DeadLetterConfig"] = settings["DeadLetterConfig"]
        config["FileSystemConfigs"] = settings.get("FileSystemConfigs", [])
        return config

    def updated(self, updates):
        # A new dict, not an update in place: published versions are
        # shallow copies of $LATEST and must keep their own settings.
        settings = dict(getattr(self, "greenlight_settings", {}))
        settings.update({k: updates[k] for k in kept if k in updates})
        self.greenlight_settings = settings
        if "EphemeralStorage" in updates:
            self.ephemeral_storage = updates["EphemeralStorage"]["Size"]
        if "TracingConfig" in updates:
            self.tracing_config = updates["TracingConfig"]
        if "KMSKeyArn" in updates:
            self.kms_key_arn = updates["KMSKeyArn"] or None
        return update_configuration(self, updates)

    def code_updated(self, spec):
        if "Architectures" in spec:
            self.architectures = spec["Architectures"]
        return update_function_code(self, spec)

    models.LambdaFunction.__init__ = created
    models.LambdaFunction.get_configuration = configuration
    models.LambdaFunction.update_configuration = updated
    models.LambdaFunction.update_function_code = code_updated


def report_executed_versions() -> None:
    """Give moto's Invoke the X-Amz-Executed-Version header Lambda sends."""
    from urllib.parse import unquote

    from moto.awslambda import responses

    invoke = responses.LambdaResponse.invoke

    def invoke_with_version(self):
        status, headers, body = invoke(self)
        if status == 200:
            function_name = unquote(self.path.rsplit("/", 2)[-2])
            qualifier = (
                self._get_param("Qualifier") or self._get_param("qualifier") or "$LATEST"
            )
            if qualifier == "$LATEST" or qualifier.isdigit():
                version = qualifier
            else:
                alias = self.backend.get_alias(qualifier, function_name)
                version = alias.function_version
            headers["x-amz-executed-version"] = version
        return status, headers, body

    responses.LambdaResponse.invoke = invoke_with_version


def page_alarms() -> None:
    """Make moto's DescribeAlarms answer in pages, as CloudWatch does."""
    from moto.cloudwatch import responses
    from moto.core.responses import ActionResult

    describe = responses.CloudWatchResponse.describe_alarms

    def paged(self):
        everything = describe(self).result
        alarms = everything["MetricAlarms"] + everything["CompositeAlarms"]
        size = min(int(self._get_param("MaxRecords") or 50), 100)
        start = int(self._get_param("NextToken") or 0)
        page = alarms[start : start + size]
        result = {
            "MetricAlarms": [a for a in page if a.rule is None],
            "CompositeAlarms": [a for a in page if a.rule is not None],
        }
        if start + size < len(alarms):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    responses.CloudWatchResponse.describe_alarms = paged


def provisioned_concurrency() -> None:
    """Give moto Lambda's provisioned concurrency per alias or version: Put
    (answered IN_PROGRESS, as Lambda does) and Get (READY at once: moto
    runs nothing to warm), 404 ProvisionedConcurrencyConfigNotFoundException
    when none is configured."""
    from urllib.parse import unquote

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


def lambda_states(
    create_pending: float,
    update_in_progress: float,
    snapstart_pending: float,
    version_failure: "tuple[str, str] | None",
    idle_after: "float | None" = None,
) -> None:
    """Model Lambda's function states (see the module's doc): a state lasts
    until a deadline on the function or version, read on every answer."""
    import time
    from urllib.parse import unquote

    from moto.awslambda import models, responses
    from moto.awslambda.exceptions import LambdaClientError

    class ResourceConflict(LambdaClientError):
        code = 409

        def __init__(self, message: str) -> None:
            super().__init__(
                "ResourceConflictException",
                f"The operation cannot be performed at this time. {message}",
            )

    class SnapStartNotReady(LambdaClientError):
        code = 409

        def __init__(self) -> None:
            super().__init__(
                "SnapStartNotReadyException",
                "Lambda is initializing your function. You can invoke the function "
                "when the function state becomes Active.",
            )

    def pending(fn) -> bool:
        return getattr(fn, "greenlight_pending_until", 0.0) > time.monotonic()

    def updating(fn) -> bool:
        return getattr(fn, "greenlight_updating_until", 0.0) > time.monotonic()

    def idle(fn) -> bool:
        """A published version not invoked (nor published, nor woken) for
        `idle_after` seconds, as Lambda reclaims an idle one's resources."""
        if idle_after is None or str(fn.version) == "$LATEST":
            return False
        return time.monotonic() - getattr(fn, "greenlight_used_at", time.monotonic()) > idle_after

    def state(fn) -> str:
        if pending(fn):
            return "Pending"
        if getattr(fn, "greenlight_failure", None):
            return "Failed"
        return "Inactive" if idle(fn) else "Active"

    init = models.LambdaFunction.__init__
    get_configuration = models.LambdaFunction.get_configuration
    update_configuration = models.LambdaFunction.update_configuration
    publish_version = models.LambdaStorage.publish_version

    def created(self, account_id, spec, *args, **kwargs):
        init(self, account_id, spec, *args, **kwargs)
        self.greenlight_snap_start = (spec.get("SnapStart") or {}).get("ApplyOn", "None")
        self.greenlight_pending_until = time.monotonic() + create_pending

    def configuration(self, *args, **kwargs):
        config = get_configuration(self, *args, **kwargs)
        config["State"] = state(self)
        if config["State"] == "Pending":
            config["StateReasonCode"] = "Creating"
            config["StateReason"] = "The function is being created."
        elif config["State"] == "Failed":
            config["StateReasonCode"], config["StateReason"] = self.greenlight_failure
        elif config["State"] == "Inactive":
            config["StateReasonCode"] = "Idle"
            config["StateReason"] = "The function is inactive because it has been idle."
        if "LastUpdateStatus" in config and updating(self):
            config["LastUpdateStatus"] = "InProgress"
            config["LastUpdateStatusReason"] = "The function is being updated."
        apply_on = getattr(self, "greenlight_snap_start", "None")
        published = str(self.version) != "$LATEST"
        config["SnapStart"] = {
            "ApplyOn": apply_on,
            "OptimizationStatus": "On" if apply_on == "PublishedVersions" and published else "Off",
        }
        return config

    def configured(self, config_updates, *args, **kwargs):
        if "SnapStart" in config_updates:
            self.greenlight_snap_start = (config_updates["SnapStart"] or {}).get("ApplyOn", "None")
        return update_configuration(self, config_updates, *args, **kwargs)

    def publishing(self, name_or_arn, *args, **kwargs):
        before = {id(v) for group in self._functions.values() for v in group["versions"]}
        fn = publish_version(self, name_or_arn, *args, **kwargs)
        if fn is not None and id(fn) not in before:
            snap_start = getattr(fn, "greenlight_snap_start", "None") == "PublishedVersions"
            fn.greenlight_updating_until = 0.0
            fn.greenlight_pending_until = time.monotonic() + snapstart_pending if snap_start else 0.0
            fn.greenlight_failure = version_failure if snap_start else None
            fn.greenlight_used_at = time.monotonic()
        return fn

    def name_of(request) -> str:
        """`NAME` from `…/functions/NAME/code` (or `/configuration`, `/versions`)."""
        return unquote(request.path.split("?")[0].rstrip("/").rsplit("/", 2)[-2])

    def refusing_while_busy(handler, busy_for: float):
        """`handler` for a write to `$LATEST`: refused while the function
        is Pending or an update is in progress; then, for an update, the
        function stays InProgress for `busy_for` seconds."""

        def write(self):
            latest = self.backend.get_function(name_of(self))
            if pending(latest):
                raise ResourceConflict("The function is currently in the following state: Pending")
            if updating(latest):
                raise ResourceConflict(
                    f"An update is in progress for resource: {latest.function_arn}"
                )
            if not busy_for:
                return handler(self)
            before = getattr(latest, "greenlight_updating_until", 0.0)
            latest.greenlight_updating_until = time.monotonic() + busy_for
            try:
                return handler(self)
            except Exception:
                latest.greenlight_updating_until = before
                raise

        return write

    invoke = responses.LambdaResponse.invoke

    def invoke_when_active(self):
        function_name = unquote(self.path.rsplit("/", 2)[-2])
        qualifier = self._get_param("Qualifier") or self._get_param("qualifier")
        fn = self.backend.get_function(function_name, qualifier)
        now = state(fn)
        if now == "Inactive":
            # Refused; Lambda sets its resources up again, as for a new function.
            fn.greenlight_pending_until = time.monotonic() + create_pending
            fn.greenlight_used_at = fn.greenlight_pending_until
        if now == "Pending" and getattr(fn, "greenlight_snap_start", "None") == "PublishedVersions" \
                and str(fn.version) != "$LATEST":
            raise SnapStartNotReady()
        if now != "Active":
            raise ResourceConflict(f"The function is currently in the following state: {now}")
        fn.greenlight_used_at = time.monotonic()
        return invoke(self)

    models.LambdaFunction.__init__ = created
    models.LambdaFunction.get_configuration = configuration
    models.LambdaFunction.update_configuration = configured
    models.LambdaStorage.publish_version = publishing
    for name, busy_for in (
        ("update_function_code", update_in_progress),
        ("update_function_configuration", update_in_progress),
        ("publish_version", 0.0),
    ):
        handler = getattr(responses.LambdaResponse, name)
        setattr(responses.LambdaResponse, name, refusing_while_busy(handler, busy_for))
    responses.LambdaResponse.invoke = invoke_when_active


def seconds(text: str) -> float:
    """A duration in seconds, 0 or more."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: not a duration in seconds")
    return value


def failure(text: str) -> "tuple[str, str]":
    """`CODE:REASON`, e.g. `FunctionError:the init phase raised an error`."""
    code, _, reason = text.partition(":")
    if not code or not reason:
        raise argparse.ArgumentTypeError(f"{text}: give CODE:REASON")
    return code, reason


def function_urls_per_qualifier() -> None:
    """Keep a function URL per qualifier, as Lambda does: one for the
    unqualified function (which invokes $LATEST) and one per alias, each
    with its own FunctionArn (qualified for an alias). moto keeps one URL
    per function and ignores the Qualifier, so a URL made on an alias would
    pass for one that runs $LATEST."""
    from urllib.parse import unquote

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--until-stdin-closes",
        action="store_true",
        help="stop when standard input reaches end of file (for test harnesses)",
    )
    states = parser.add_argument_group("Lambda states (seconds each lasts)")
    states.add_argument("--create-pending", type=seconds, default=0.3, metavar="SECONDS",
                        help="a new function is Pending this long")
    states.add_argument("--update-in-progress", type=seconds, default=0.3, metavar="SECONDS",
                        help="$LATEST is InProgress this long after an update")
    states.add_argument("--snapstart-pending", type=seconds, default=0.3, metavar="SECONDS",
                        help="a version published with SnapStart is Pending this long")
    states.add_argument("--version-failure", type=failure, metavar="CODE:REASON",
                        help="a version published with SnapStart ends Failed, with this reason")
    states.add_argument("--idle-after", type=seconds, metavar="SECONDS",
                        help="a published version not invoked for this long is Inactive; an "
                        "invoke is refused and wakes it (Pending for --create-pending)")
    args = parser.parse_args()

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    enforce_alias_revision_ids()
    function_settings()
    track_function_revision_ids()
    report_executed_versions()
    exact_route53_deletes()
    page_alarms()
    provisioned_concurrency()
    lambda_states(
        args.create_pending,
        args.update_in_progress,
        args.snapstart_pending,
        args.version_failure,
        args.idle_after,
    )
    function_urls_per_qualifier()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    request = urllib.request.Request(
        f"{endpoint}/moto-api/config",
        data=json.dumps({"lambda": {"use_docker": False}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=30).read()

    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.create_role(
        RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY)
    )

    print(f"READY {endpoint}", flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.until_stdin_closes:
        threading.Thread(
            target=lambda: (sys.stdin.read(), stop.set()), daemon=True
        ).start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
