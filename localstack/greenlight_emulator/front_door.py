"""Every request's operation, named in the request log; conflicts on demand.

The request log (the server's stderr) is how tests check "no writes": a
line per request, `127.0.0.1 - - [date] "POST / HTTP/1.1" 200 - PutParameter`.
Its last word is the operation, named as AWS names it: from `X-Amz-Target`
(JSON protocols: SSM, Secrets Manager), from `Action` (query protocol:
CloudWatch, STS, IAM), from the path (RPC v2), or, for REST services
(Lambda, Route 53, S3), by matching the method and path against the
service's API model in botocore. So an SSM write is told from a read
although both are `POST /`. A request it cannot name is `Unknown`, which
no check counts as a read. The emulator's own API is `MotoApi`.

A test can make the emulator refuse the next calls of any operation with
Lambda's 409 `ResourceConflictException` (what Lambda answers while an
update is in progress), to test that a write is waited out and retried:
`POST /moto-api/greenlight/conflicts` with
`{"operation": "UpdateAlias", "times": 2}`. Refused calls are logged too.
"""

import io
import json
import re
import threading
from urllib.parse import parse_qs

# Where a WSGI environ holds the operation, for the request log.
OPERATION = "greenlight.operation"
CONFLICTS_PATH = "/moto-api/greenlight/conflicts"


class Operations:
    """Names the operation of a REST request from botocore's API models,
    each loaded on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.services: "dict[str, list]" = {}

    def routes(self, service: str) -> list:
        with self.lock:
            if service not in self.services:
                self.services[service] = self.load(service)
            return self.services[service]

    @staticmethod
    def load(service: str) -> list:
        """(method, path pattern, query keys, specificity, name) for each
        operation of `service`, most specific first."""
        import botocore.loaders

        try:
            model = botocore.loaders.Loader().load_service_model(service, "service-2")
        except Exception:
            return []
        routes = []
        for name, op in model["operations"].items():
            http = op.get("http", {})
            path, _, query = http.get("requestUri", "/").partition("?")
            keys = [k.partition("=")[0] for k in query.split("&") if k]
            literal = re.sub(r"\{[^}]+\}", "", path)
            pattern = re.escape(path.rstrip("/"))
            pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", pattern)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            specificity = (len(keys), len(literal))
            routes.append((http.get("method"), re.compile(pattern + "/?"), keys, specificity, name))
        routes.sort(key=lambda r: r[3], reverse=True)
        return routes

    def rest(self, service: str, method: str, path: str, query: dict) -> "str | None":
        for verb, pattern, keys, _, name in self.routes(service):
            if verb == method and pattern.fullmatch(path) and all(k in query for k in keys):
                return name
        return None


OPERATIONS = Operations()
# Signing names whose botocore model has another name.
MODEL_NAMES = {"monitoring": "cloudwatch"}


def signing_name(environ: dict) -> "str | None":
    """The service a SigV4 request was signed for (`…/us-east-1/lambda/aws4_request`)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", auth)
    return scope.group(1) if scope else None


def form_action(environ: dict) -> "str | None":
    """`Action` from a query-protocol body, leaving the body to be read again."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(size) if size else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return (parse_qs(body.decode("utf-8", "replace")).get("Action") or [None])[0]


def operation(environ: dict) -> str:
    """The AWS operation a request calls (see the module's doc)."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api"):
        return "MotoApi"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    rpc = re.fullmatch(r"/service/[^/]+/operation/([^/]+)", path)
    if rpc:
        return rpc.group(1)
    action = form_action(environ) or parse_qs(environ.get("QUERY_STRING", "")).get("Action", [None])[0]
    if action:
        return action
    service = signing_name(environ)
    if service:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        method = environ.get("REQUEST_METHOD", "")
        name = OPERATIONS.rest(MODEL_NAMES.get(service, service), method, path, query)
        # S3's CopyObject and PutObject share `PUT /{Bucket}/{Key+}`; only a
        # copy names its source, in a header.
        if name == "CopyObject" and "HTTP_X_AMZ_COPY_SOURCE" not in environ:
            return "PutObject"
        if name:
            return name
    return "Unknown"


class Conflicts:
    """How many more calls of each operation are refused with a conflict."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.left: "dict[str, int]" = {}

    def add(self, op: str, times: int) -> None:
        with self.lock:
            self.left[op] = self.left.get(op, 0) + times

    def take(self, op: str) -> bool:
        with self.lock:
            if self.left.get(op, 0) <= 0:
                return False
            self.left[op] -= 1
            return True


CONFLICTS = Conflicts()


def conflict_answer(start_response, op: str) -> list:
    body = json.dumps(
        {
            "Type": "User",
            "message": "The operation cannot be performed at this time. "
            f"An update is in progress for resource (injected for {op}).",
        }
    ).encode()
    start_response(
        "409 Conflict",
        [
            ("Content-Type", "application/json"),
            ("X-Amzn-ErrorType", "ResourceConflictException"),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


def install() -> None:
    """Put the front door before moto's dispatcher and name operations in its log."""
    from moto.moto_server import threaded_moto_server
    from werkzeug.urls import uri_to_iri

    dispatcher = threaded_moto_server.DomainDispatcherApplication
    handler = threaded_moto_server.MotoRequestHandler

    class FrontDoor(dispatcher):
        def __call__(self, environ, start_response):
            op = environ[OPERATION] = operation(environ)
            if environ.get("PATH_INFO") == CONFLICTS_PATH:
                size = int(environ.get("CONTENT_LENGTH") or 0)
                asked = json.loads(environ["wsgi.input"].read(size) or b"{}")
                CONFLICTS.add(asked["operation"], int(asked.get("times", 1)))
                start_response("200 OK", [("Content-Type", "application/json")])
                return [b"{}"]
            if CONFLICTS.take(op):
                return conflict_answer(start_response, op)
            return super().__call__(environ, start_response)

    class NamingHandler(handler):
        def log_request(self, code="-", size="-") -> None:
            environ = getattr(self, "environ", None) or {}
            line = getattr(self, "requestline", "")
            if hasattr(self, "path"):
                line = f"{self.command} {uri_to_iri(self.path)} {self.request_version}"
            self.log("info", '"%s" %s %s %s', line, code, size, environ.get(OPERATION, "Unknown"))

    threaded_moto_server.DomainDispatcherApplication = FrontDoor
    threaded_moto_server.MotoRequestHandler = NamingHandler
