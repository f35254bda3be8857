"""Start the moto AWS emulator on loopback, ready for greenlight.

Used by the test suite and by `localstack/moto.sh`. It:
  1. starts moto's server on 127.0.0.1 (port 0 picks a free one),
  2. switches Lambda to moto's Docker-free "simple" mode,
  3. creates the IAM role the examples and tests name (moto checks that a
     function's role exists),
  4. prints one line `READY <endpoint-url>` on stdout,
  5. runs until its standard input closes (the parent exited) or SIGTERM/SIGINT.

moto accepts much that AWS refuses and lacks some of what greenlight's
safety depends on; the `greenlight_emulator` package beside this file fills
those gaps, one module per AWS service gap (its docstring lists them).
Each request is logged on stderr with the operation it called:
`127.0.0.1 - - [date] "GET /path HTTP/1.1" 200 - GetAlias`.

Readiness is proven by answering requests, not assumed: step 4 happens only
after the server has served steps 2 and 3.
"""

import argparse
import json
import signal
import sys
import threading
import urllib.request

from greenlight_emulator import (
    require_pinned_moto,
    cloudwatch,
    elbv2,
    front_door,
    lambda_descriptions,
    lambda_pages,
    lambda_extras,
    lambda_invoke,
    lambda_policies,
    lambda_revisions,
    lambda_roles,
    lambda_settings,
    lambda_states,
    route53,
    ssm,
)

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


def versions_page_size(text: str) -> int:
    """A page size of versions, 1 to 50."""
    value = int(text)
    if not 1 <= value <= 50:
        raise argparse.ArgumentTypeError(f"{text}: give 1 to 50")
    return value


def page_size(text: str) -> int:
    """A page size, 1 to 100."""
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text}: give 1 to 100")
    return value


def main(argv: "list[str] | None" = None) -> int:
    """Runs the emulator with the options `argv` (default: the command line)."""
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
    parser.add_argument("--role-propagation", type=seconds, default=0, metavar="SECONDS",
                        help="CreateFunction refuses a role IAM created less than this long ago "
                        "(cannot be assumed yet), as AWS does while a new role propagates")
    parser.add_argument("--alarms-per-page", type=page_size, default=100, metavar="N",
                        help="the most alarms one DescribeAlarms page holds, whatever "
                        "MaxRecords asks (CloudWatch may answer fewer), so paging is exercised")
    parser.add_argument("--versions-per-page", type=versions_page_size, default=50, metavar="N",
                        help="the most versions one ListVersionsByFunction page holds (Lambda: "
                        "50), whatever MaxItems asks, so paging is exercised")
    args = parser.parse_args(argv)

    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    lambda_revisions.install()
    lambda_settings.install()
    lambda_descriptions.install()
    lambda_roles.install(args.role_propagation)
    lambda_pages.install(args.versions_per_page)
    lambda_extras.install()
    lambda_states.install(
        args.create_pending,
        args.update_in_progress,
        args.snapstart_pending,
        args.version_failure,
        args.idle_after,
    )
    lambda_invoke.install()
    lambda_policies.install()
    elbv2.install()
    route53.install()
    cloudwatch.install(args.alarms_per_page)
    ssm.install()
    front_door.install()

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
    require_pinned_moto()
    sys.exit(main())
