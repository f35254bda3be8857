#!/usr/bin/env python3
"""Fleet benchmark: one `greenlight ship` of 50 functions at Lambda's rate limit.

greenlight talks to the local moto emulator through a proxy that enforces
Lambda's quotas as documented: a token bucket of 15 requests per second
(burst 15) over the control plane (every Lambda call but GetFunction and
Invoke), one of 100 per second for GetFunction, none for invocations,
answering 429 TooManyRequestsException beyond them, as Lambda does. Two rounds on the same 50 functions: the first
ship creates them, the second ships new code to all of them (upload, wait,
publish, smoke test, alias). Each round runs twice: paced (greenlight's
default `--lambda-rate 15`) and, as the peer, unpaced (`--lambda-rate 1000`,
relying on the SDK's retries alone).

The floor for a round is (control-plane requests that reached the emulator)
/ 15 seconds: no client can make those calls faster through this proxy. The goal
is zero failures and a paced time within 1.2x of the floor.

    python3 bench/fleet.py [--greenlight target/release/greenlight] [--functions 50]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ship import REPO, ROLE, emulator_env, relay_proxy, start_emulator  # noqa: E402

RATE = 15.0
BURST = 15.0
LAMBDA_PREFIXES = ("/2015-03-31/", "/2016-08-19/", "/2017-03-31/", "/2017-10-31/", "/2018-10-31/",
                   "/2019-09-25/", "/2019-09-30/", "/2020-04-22/", "/2020-06-30/", "/2021-10-31/")


class Bucket:
    """A token bucket of `rate` requests per second, with counters."""

    def __init__(self, rate, burst):
        self.rate, self.burst = rate, burst
        self.lock = threading.Lock()
        self.reset()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                self.passed += 1
                return True
            self.throttled += 1
            return False

    def reset(self):
        with self.lock:
            self.tokens, self.at, self.passed, self.throttled = self.burst, time.monotonic(), 0, 0


class Quota:
    """Lambda's quotas: the control plane, GetFunction, and (unlimited) Invoke."""

    def __init__(self):
        self.control = Bucket(RATE, BURST)
        self.get_function = Bucket(100.0, 100.0)
        self.lock = threading.Lock()
        self.invokes = 0

    def take(self, method, path):
        rest = path.split("?")[0].partition("/functions/")[2]
        if method == "POST" and rest.endswith("/invocations"):
            with self.lock:
                self.invokes += 1
            return True
        if method == "GET" and rest and "/" not in rest:
            return self.get_function.take()
        return self.control.take()

    @property
    def passed(self):
        return self.control.passed

    @property
    def throttled(self):
        return self.control.throttled + self.get_function.throttled

    def reset(self):
        self.control.reset()
        self.get_function.reset()
        with self.lock:
            self.invokes = 0


def throttle(quota):
    """The proxy's gate: Lambda's 429 beyond the quota."""

    def gate(method, path):
        if path.startswith(LAMBDA_PREFIXES) and not quota.take(method, path):
            answer = b'{"Type":"User","message":"Rate exceeded","Reason":"CallerRateLimitExceeded"}'
            return 429, [("x-amzn-ErrorType", "TooManyRequestsException"),
                         ("Content-Type", "application/json")], answer
        return None

    return gate


def config(functions):
    entries = "".join(
        f'[[functions]]\nname = "fleet-{i:02}"\nruntime = "python3.12"\nhandler = "index.handler"\nrole = "{ROLE}"\n\n'
        for i in range(functions))
    return ('[package]\nsource = "app"\n\n[[smoke]]\nname = "echo"\npayload = { probe = "ok" }\n'
            'expect = { probe = "ok" }\n\n' + entries)


def ship(greenlight, work, env, quota, rate, jobs):
    quota.reset()
    started = time.monotonic()
    run = subprocess.run([greenlight, "ship", "--output", "json", "--lambda-rate", str(rate), "--jobs", str(jobs)],
                         cwd=work, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    report = json.loads(run.stdout) if run.stdout.strip() else {}
    failed = [f["function"] for f in report.get("functions", []) if f.get("exit_code")]
    return {"seconds": round(seconds, 2), "control_plane_requests": quota.passed,
            "get_function_requests": quota.get_function.passed, "invocations": quota.invokes,
            "throttled": quota.throttled,
            "exit_code": run.returncode, "failed_functions": len(failed),
            "floor_seconds": round(quota.passed / RATE, 2),
            "ratio_to_floor": round(seconds / (quota.passed / RATE), 3) if quota.passed else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--greenlight", default=os.path.join(REPO, "target/release/greenlight"))
    parser.add_argument("--functions", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=0, help="--jobs for greenlight (0: its default)")
    args = parser.parse_args()
    emulator, endpoint = start_emulator()
    quota = Quota()
    url = relay_proxy(endpoint, gate=throttle(quota))
    results = []
    try:
        for mode, rate in (("paced", 15), ("unpaced", 1000)):
            work = tempfile.mkdtemp(prefix=f"greenlight-fleet-{mode}-")
            try:
                os.makedirs(os.path.join(work, "app"))
                with open(os.path.join(work, "greenlight.toml"), "w") as f:
                    # Each mode ships its own 50 functions.
                    f.write(config(args.functions).replace('name = "fleet-', f'name = "{mode}-'))
                env = dict(emulator_env(url, work), AWS_ENDPOINT_URL=url)
                jobs = args.jobs or 8
                for round_name, code in (("create", "return event"), ("update", "return dict(event)")):
                    with open(os.path.join(work, "app", "index.py"), "w") as f:
                        f.write(f"def handler(event, context):\n    {code}\n")
                    result = ship(args.greenlight, work, env, quota, rate, jobs)
                    result.update(mode=mode, round=round_name, functions=args.functions, jobs=jobs)
                    results.append(result)
                    print(json.dumps(result), flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        emulator.stdin.close()
        emulator.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
