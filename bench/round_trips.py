#!/usr/bin/env python3
"""Critical path: the AWS round trips an all-at-once `greenlight ship` waits for one after another.

Every request to the local moto emulator first waits --latency in a proxy, as a distant region
would add. The proxy logs when each request arrived and when it was answered; the round trips a
run waited for one after another are the longest chain of requests each of which arrived only
after the one before it was answered (requests made together count once). With the latency far
above the emulator's own time, wall time is about round trips x latency.

Peers, each through the same proxy, alternating, --rounds rounds, each with changed code: the
greenlight under test (`ship` of a function with one invoke smoke test, all at once), optionally a
--baseline greenlight (an older build, same config), and the aws-cli sequence of bench/ship.py
(update-function-code, wait function-updated-v2, publish-version, invoke, update-alias).

    python3 bench/round_trips.py [--greenlight target/release/greenlight] [--baseline OLD]
                                 [--latency 0.1] [--rounds 5]
"""

import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ship import ROLE, change_code, emulator_session, relay_proxy, write_config  # noqa: E402


class Log:
    """The requests through the proxy: (arrived, answered) times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []

    def record(self, method, path, arrived, answered):
        with self.lock:
            self.calls.append((arrived, answered))

    def take(self):
        """The calls since the last take: (requests, sequential round trips)."""
        with self.lock:
            calls, self.calls = sorted(self.calls), []
        chain = []
        for arrived, _ in calls:
            before = [n for (_, answered), n in zip(calls, chain) if answered <= arrived]
            chain.append(1 + max(before, default=0))
        return len(calls), max(chain, default=0)


def add_arguments(parser):
    parser.add_argument("--baseline", help="an older greenlight binary to measure alongside")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request")


def main():
    with emulator_session(__doc__, 5, "greenlight-round-trips-", add_arguments) as (args, aws, work, env, endpoint):
        log = Log()
        url = relay_proxy(endpoint, gate=lambda method, path: time.sleep(args.latency), record=log.record)
        env = dict(env, AWS_ENDPOINT_URL=url)
        peers = {"greenlight": os.path.abspath(args.greenlight)}
        if args.baseline:
            peers["baseline"] = os.path.abspath(args.baseline)
        for name in peers:
            write_config(os.path.join(work, f"{name}.toml"), f"rt-{name}")

        def run(commands):
            log.take()
            start = time.perf_counter()
            for cmd in commands:
                out = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"{' '.join(cmd)} failed: {out.stderr}")
            seconds = time.perf_counter() - start
            return (seconds, *log.take())

        lam = [aws, "lambda"]
        change_code(work, 0)
        for name, binary in peers.items():
            run([[binary, "-q", "-c", f"{name}.toml", "ship"]])
        run([lam + ["create-function", "--function-name", "rt-cli", "--runtime", "python3.12",
                    "--handler", "index.handler", "--role", ROLE, "--zip-file", "fileb://app.zip", "--publish"],
             lam + ["create-alias", "--function-name", "rt-cli", "--name", "live", "--function-version", "1"]])

        results = {name: [] for name in [*peers, "aws-cli"]}
        for round_ in range(1, args.rounds + 1):
            change_code(work, round_)
            for name, binary in peers.items():
                results[name].append(run([[binary, "-q", "-c", f"{name}.toml", "ship"]]))
            version = str(round_ + 1)
            results["aws-cli"].append(run([
                lam + ["update-function-code", "--function-name", "rt-cli", "--zip-file", "fileb://app.zip"],
                lam + ["wait", "function-updated-v2", "--function-name", "rt-cli"],
                lam + ["publish-version", "--function-name", "rt-cli"],
                lam + ["invoke", "--function-name", "rt-cli", "--qualifier", version,
                       "--payload", '{"probe": "ok"}',
                       os.path.join(work, "out.json")],
                lam + ["update-alias", "--function-name", "rt-cli", "--name", "live", "--function-version", version],
            ]))
        print(f"{args.rounds} rounds, {args.latency * 1000:.0f} ms added to every request, moto emulator on loopback")
        print(f"{'peer':<12} {'median wall':>12} {'requests':>9} {'round trips':>12}")
        for name, runs in results.items():
            seconds = statistics.median(r[0] for r in runs)
            requests = sorted({r[1] for r in runs})
            trips = sorted({r[2] for r in runs})
            print(f"{name:<12} {seconds:>11.3f}s {'/'.join(map(str, requests)):>9} {'/'.join(map(str, trips)):>12}")


if __name__ == "__main__":
    main()
