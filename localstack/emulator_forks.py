"""Start emulators in milliseconds: fork each one from a process that has
imported moto once.

The test harness runs one of these per test process and asks it for an
emulator per test. Importing moto, boto3 and the services the tests use
costs about a second of CPU (SSM alone loads its public parameters); done
once here, each fork starts with all of it loaded and only runs
`moto_emulator.main`: its patches, its server on a free loopback port, its
set-up requests, then `READY <url>`.

Protocol, one JSON object per line:
  in:  {"start": ID, "log": PATH, "args": [launcher options]}
       {"stop": ID}
  out: ID READY <url>        (the emulator answers on <url>)
       ID FAILED <reason>    (it exited first; its log says why)

Each emulator's stderr (its request log) goes to PATH. `stop` kills it at
once: a test's emulator holds nothing worth a clean shutdown. When this
process's standard input closes (the test process ended, however it ended)
it kills every emulator it started and exits; an emulator whose parent dies
is killed by the kernel (PR_SET_PDEATHSIG), so none outlives its test run.

Forking is safe because nothing here starts a thread before it forks (checked
before every fork), and each fork draws fresh random seeds.
"""

import ctypes
import importlib
import json
import os
import random
import selectors
import signal
import sys
import threading

from greenlight_emulator import require_pinned_moto

# Before moto's own imports, which fail far from the cause under another moto.
require_pinned_moto()

import boto3  # noqa: E402

import moto_emulator  # noqa: E402
from moto.moto_api._internal import mock_random  # noqa: E402
from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: E402,F401 (loaded once)

# moto's services the tests call, loaded before any fork.
SERVICES = (
    "awslambda",
    "cloudwatch",
    "elbv2",
    "iam",
    "logs",
    "route53",
    "s3",
    "scheduler",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "sts",
)

PR_SET_PDEATHSIG = 1


def warm() -> None:
    """Loads what every emulator needs, so that forks find it loaded."""
    for service in SERVICES:
        importlib.import_module(f"moto.{service}.models")
    # Loads the IAM service model the launcher's set-up request uses.
    boto3.client(
        "iam",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def become_emulator(log: str, args: "list[str]", ready: int, zygote: int) -> None:
    """In the fork: runs the launcher with `args`, its stdout on `ready`,
    its stderr on `log`, and never returns."""
    code = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != zygote:  # the parent died before prctl took effect
            os._exit(1)
        random.seed()
        mock_random.seed()
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(ready, 1)
        os.dup2(os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), 2)
        os.close(ready)
        code = moto_emulator.main(args)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 (reported in the log, then exit)
        import traceback

        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def reply(line: str) -> None:
    os.write(1, (line + "\n").encode())


def main() -> int:
    warm()
    zygote = os.getpid()
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, None)
    started: "dict[int, int]" = {}  # id -> pid
    pending = b""
    while True:
        for key, _ in selector.select(timeout=1.0):
            if key.data is None:
                chunk = os.read(0, 65536)
                if not chunk:
                    for pid in started.values():
                        kill(pid)
                    return 0
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    request = json.loads(line)
                    if "stop" in request:
                        kill(started.pop(request["stop"], 0))
                        continue
                    if threading.active_count() != 1:
                        reply(f"{request['start']} FAILED a thread runs in the forking launcher")
                        continue
                    read, write = os.pipe()
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:
                        selector.close()
                        os.close(read)
                        become_emulator(request["log"], request["args"], write, zygote)
                    os.close(write)
                    started[request["start"]] = pid
                    selector.register(read, selectors.EVENT_READ, [request["start"], b""])
            else:
                ident, said = key.data
                chunk = os.read(key.fd, 4096)
                said += chunk
                key.data[1] = said
                if b"\n" in said or not chunk:
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    line = said.split(b"\n")[0].decode(errors="replace").strip()
                    if line.startswith("READY "):
                        reply(f"{ident} {line}")
                    else:
                        reply(f"{ident} FAILED the emulator exited before it was ready: {line!r}")
        reap()


def kill(pid: int) -> None:
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def reap() -> None:
    """Collects the exit status of emulators that ended."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    sys.exit(main())
