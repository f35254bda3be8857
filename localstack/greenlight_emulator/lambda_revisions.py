"""Lambda's RevisionIds and `PublishVersion`'s guards, which moto lacks.

Real Lambda refuses an `UpdateAlias` whose `RevisionId` is not the alias's
current one (412 PreconditionFailedException) and gives the alias a new
RevisionId on every update; moto does neither. Lambda also gives a function
a new RevisionId on every update, and refuses a `PublishVersion` or an
`UpdateFunctionConfiguration` whose `RevisionId` is not the current one, or a
`PublishVersion` whose `CodeSha256` is not the code `$LATEST` holds; moto keeps no RevisionId and ignores both guards. So two
releases racing for one alias, and someone else's upload made between
greenlight's update and its publish, are tested against the emulator.
"""

import json
import threading
import uuid
from urllib.parse import unquote

REVISION_MOVED = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def install() -> None:
    enforce_alias_revision_ids()
    track_function_revision_ids()


def enforce_alias_revision_ids() -> None:
    """Make moto's UpdateAlias honour RevisionId as Lambda does."""
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
                raise PreconditionFailedException(REVISION_MOVED)
            return update_alias(self)

    models.LambdaAlias.update = update_with_new_revision
    responses.LambdaResponse.update_alias = checked_update_alias


def track_function_revision_ids() -> None:
    """Give functions a RevisionId that each update changes, and make
    PublishVersion (with its CodeSha256) and UpdateFunctionConfiguration
    honour it, as Lambda does."""
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

    def asked_of(request) -> "tuple[dict, object]":
        """The request's JSON body, and the function it names, after refusing
        a RevisionId that is not the function's."""
        function_name = unquote(request.path.split("/")[-2])
        asked = json.loads(request.body or "{}")
        latest = request.backend.get_function(function_name)
        if asked.get("RevisionId") and asked["RevisionId"] != revision(latest):
            raise PreconditionFailedException(REVISION_MOVED)
        return asked, latest

    publish = responses.LambdaResponse.publish_version
    update_function_configuration = responses.LambdaResponse.update_function_configuration

    def checked_configuration_update(self):
        asked_of(self)
        return update_function_configuration(self)

    def checked_publish(self):
        asked, latest = asked_of(self)
        if asked.get("CodeSha256") and asked["CodeSha256"] != latest.code_sha_256:
            raise PreconditionFailedException(
                f"CodeSHA256 ({asked['CodeSha256']}) is different from current CodeSHA256 "
                f"in $LATEST ({latest.code_sha_256}). Please try again with the CodeSHA256 "
                "in $LATEST."
            )
        return publish(self)

    models.LambdaFunction.get_configuration = configuration
    for name in ("update_configuration", "update_function_code"):
        setattr(models.LambdaFunction, name, renewing(getattr(models.LambdaFunction, name)))
    responses.LambdaResponse.publish_version = checked_publish
    responses.LambdaResponse.update_function_configuration = checked_configuration_update
