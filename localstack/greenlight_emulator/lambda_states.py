"""Lambda's function states, which moto answers as Active and Successful at once.

A new function is `Pending` for a while (`--create-pending`), an update
leaves `$LATEST` `InProgress` for a while (`--update-in-progress`) and
refuses other writes meanwhile (409 ResourceConflictException), and a
version published with SnapStart is `Pending` (`--snapstart-pending`), then
`Active` (or `Failed`, with `--version-failure CODE:REASON`); an invoke of
a function or version that is not Active is refused (409
ResourceConflictException; for a SnapStart version still Pending, 409
SnapStartNotReadyException), as Lambda does. With `--idle-after SECONDS` a
published version not invoked for that long is `Inactive` (`StateReasonCode`
Idle); an invoke is refused and wakes it: `Pending` for `--create-pending`
seconds, then `Active`. SnapStart, which moto keeps
none of, is stored and reported, with `OptimizationStatus` On on published
versions.
"""

import time
from urllib.parse import unquote


def install(
    create_pending: float,
    update_in_progress: float,
    snapstart_pending: float,
    version_failure: "tuple[str, str] | None",
    idle_after: "float | None" = None,
) -> None:
    """Model Lambda's function states (see the module's doc): a state lasts
    until a deadline on the function or version, read on every answer."""
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
