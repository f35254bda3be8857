#!/usr/bin/env python3
"""Scheduled promotions, the watcher vs a GitHub `schedule` workflow: delay from a bake's end to the next move, and cost.

Two parts, then the cost.

1. Measured, against the local moto emulator: the watcher's run as Lambda runs it. The built binary is
   started as a custom runtime's `bootstrap` (no arguments, AWS_LAMBDA_RUNTIME_API set, as
   tests/it/watch.rs does) against a small Runtime API in this script that hands it one event; --releases
   releases are in progress (`ship --no-wait`, `[watch]`, one alarm gate each). For each run: init (process
   start to its first `next`), handler (event handed over to answer posted), peak RSS (VmHWM once it answered),
   the AWS calls (the emulator's request log). Three kinds of run, --rounds each, alternating: `empty` (no
   snapshot under the prefix), `hold` (every bake running: what most runs do), `move` (every bake over:
   each release moves one step).

2. Simulated, with a simulated clock (nothing waits): --bakes bakes of random length, one after the
   other, each starting when its move is written. The watcher: Scheduler fires on every minute (flexible
   window off; its own delivery delay taken as 0), the run judges at once and writes the move at the end
   of its handler time (the measured `move` median). GitHub: `schedule` fires on the 5-minute marks (its
   minimum), then the runner's start-up (--runner-startup, an assumption: queueing, VM, checkout, fetching
   greenlight), then the same run. GitHub's own queueing delay is taken as 0: its documentation says
   scheduled runs may be delayed at high load and queued jobs dropped, with no bound, so GitHub's numbers
   here are a best case. Two bake distributions: continuous (uniform --bake-min to --bake-max minutes) and
   whole minutes (the same range, as configs usually say "5m").

Cost per month at one run a minute (43,200 runs in 30 days), us-east-1 list prices (PRICES below, each
with the page it is from), at the measured handler time and the configured 256 MB, for arm64 and x86_64.

    cargo build --release
    python3 bench/watch_delay.py [--greenlight target/release/greenlight] [--rounds 7] [--releases 3]
                                 [--bakes 100000] [--runner-startup 30] [--seed 1]

Runs under any Python with boto3; without it, re-runs itself with the emulator's virtualenv.
"""

import argparse
import http.server
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ship import REPO, ROLE, emulator_env, rerun_with_emulator_python, start_emulator  # noqa: E402

try:
    import boto3
except ImportError:  # the emulator's virtualenv has it
    rerun_with_emulator_python()

BUCKET = "watch-bench"
ALARM = "watch-bench-errors"
RUNS_A_MONTH = 60 * 24 * 30
MEMORY_MB = 256  # what `watch install` configures

# us-east-1 list prices, USD.
PRICES = {
    "lambda_request": (0.20 / 1e6, "AWS Lambda Pricing: $0.20 per 1M requests"),
    "gb_s_arm64": (0.0000133334, "AWS Lambda Pricing: Arm, $0.0000133334 per GB-second (first 7.5 billion)"),
    "gb_s_x86_64": (0.0000166667, "AWS Lambda Pricing: x86, $0.0000166667 per GB-second (first 6 billion)"),
    "scheduler": (1.00 / 1e6, "Amazon EventBridge Pricing: Scheduler, $1.00 per 1M invocations after 14M free a month"),
    "s3_put_list": (0.005 / 1000, "Amazon S3 Pricing: S3 Standard PUT, COPY, POST, LIST, $0.005 per 1,000"),
    "s3_get": (0.0004 / 1000, "Amazon S3 Pricing: S3 Standard GET, SELECT, $0.0004 per 1,000"),
    "cloudwatch_api": (0.01 / 1000, "Amazon CloudWatch Pricing: API requests, $0.01 per 1,000 (1M a month free)"),
    "alarm": (0.10, "Amazon CloudWatch Pricing: a standard-resolution alarm, $0.10 a month (10 free)"),
}
FREE = {"lambda_requests": 1_000_000, "gb_s": 400_000, "scheduler": 14_000_000, "cloudwatch_api": 1_000_000}


class RuntimeApi:
    """A Lambda Runtime API on loopback that hands over one event; later `next` calls wait, as Lambda's do."""

    def __init__(self, event):
        self.body = json.dumps(event).encode()
        self.ready = self.answered = None
        self.answer = None
        self.done = threading.Event()
        self.stop = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if api.ready is not None:  # a second `next`: no more events
                    api.stop.wait()
                    return
                api.ready = time.monotonic()
                self.send_response(200)
                for name, value in (("Lambda-Runtime-Aws-Request-Id", "bench-1"),
                                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000)),
                                    ("Content-Type", "application/json"),
                                    ("Content-Length", str(len(api.body)))):
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(api.body)
                self.wfile.flush()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.answered = time.monotonic()
                api.answer = (self.path.rsplit("/", 1)[-1], body.decode())
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                api.done.set()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *args: None  # the watcher is killed while its next `next` waits
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.stop.set()
        self.server.shutdown()


def watcher_run(greenlight, env, prefix):
    """One run of the watcher on one event: (init s, handler s, peak RSS MiB, answer)."""
    api = RuntimeApi({"scheduled_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "execution_id": "bench"})
    run_env = dict(env, AWS_LAMBDA_RUNTIME_API=api.address, GREENLIGHT_WATCH_BUCKET=BUCKET,
                   GREENLIGHT_WATCH_PREFIX=prefix)
    cwd = tempfile.mkdtemp(prefix="greenlight-watch-run-")
    started = time.monotonic()
    proc = subprocess.Popen([greenlight], cwd=cwd, env=run_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        if not api.done.wait(120):
            sys.exit("the watcher did not answer in 120 s")
        peak = peak_rss_mib(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        api.close()
        shutil.rmtree(cwd)
    kind, body = api.answer
    if kind != "response":
        sys.exit(f"the watcher failed: {body}")
    return api.ready - started, api.answered - api.ready, peak, json.loads(body)


def peak_rss_mib(pid):
    """The process's peak resident memory so far (VmHWM, which starts again at exec; wait4's ru_maxrss
    would also count the Python that forked it)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    sys.exit(f"no VmHWM for process {pid}")


def start_releases(greenlight, env, work, aws, count):
    """`count` functions, each with a canary of 19 steps left in progress by `ship --no-wait`."""
    aws["s3"].create_bucket(Bucket=BUCKET)
    aws["cloudwatch"].put_metric_alarm(
        AlarmName=ALARM, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    aws["cloudwatch"].set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="bench")
    functions = []
    for i in range(count):
        name, folder = f"watch-bench-{i}", os.path.join(work, f"f{i}")
        os.makedirs(os.path.join(folder, "app"))
        with open(os.path.join(folder, "greenlight.toml"), "w") as f:
            f.write(f'[function]\nname = "{name}"\nruntime = "python3.12"\nhandler = "index.handler"\n'
                    f'role = "{ROLE}"\n[package]\nsource = "app"\n'
                    f'[release]\nsteps = {list(range(5, 100, 5))}\nbake = "1h"\nalarms = ["{ALARM}"]\n'
                    f'[watch]\nbucket = "{BUCKET}"\n')
        for round_, args in enumerate((["ship"], ["ship", "--no-wait"])):
            with open(os.path.join(folder, "app", "index.py"), "w") as f:
                f.write(f"# {round_}\ndef handler(event, context):\n    return event\n")
            out = subprocess.run([greenlight, "-q", *args], cwd=folder, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"greenlight {' '.join(args)} failed: {out.stderr}")
        functions.append(name)
    return functions


def end_bakes(aws, functions):
    """Backdates each release's step, as tests/it's `end_bake` does: the bake is over."""
    for name in functions:
        alias = aws["lambda"].get_alias(FunctionName=name, Name="live")
        description = alias["Description"]
        at = description.index(" at=")
        aws["lambda"].update_alias(FunctionName=name, Name="live",
                                   Description=f"{description[:at]} at=2000-01-01T00:00:00Z")


REQUEST = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d+) \S+(?: (\w+))?\s*$')

# What S3 bills each object call as (the emulator logs a PutObject as CopyObject: the same price class).
S3_CLASS = {"ListObjectsV2": "put_list", "ListObjects": "put_list", "PutObject": "put_list",
            "CopyObject": "put_list", "GetObject": "get"}


def calls_since(log_path, offset):
    """The AWS operations the emulator logged after byte `offset`, and the new offset."""
    with open(log_path) as f:
        f.seek(offset)
        text = f.read()
        end = f.tell()
    names = []
    for line in text.splitlines():
        m = REQUEST.search(line)
        if m and m.group(4) and m.group(4) != "MotoApi":
            names.append(m.group(4))
    return names, end


def measure(args):
    """Part 1: {kind: [(init, handler, rss, calls)]} over --rounds rounds of empty, hold and move."""
    work = tempfile.mkdtemp(prefix="greenlight-watch-bench-")
    log_path = os.path.join(work, "emulator.log")
    log = open(log_path, "w")
    emulator, endpoint = start_emulator(log)
    env = emulator_env(endpoint, work)
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    aws = {name: session.client(name, endpoint_url=endpoint) for name in ("lambda", "s3", "cloudwatch")}
    try:
        functions = start_releases(args.greenlight, env, work, aws, args.releases)
        runs = {"empty": [], "hold": [], "move": []}
        offset = os.path.getsize(log_path)
        for round_ in range(args.rounds):
            for kind in runs:
                if kind == "move":
                    end_bakes(aws, functions)
                    _, offset = calls_since(log_path, offset)
                init, handler, rss, answer = watcher_run(
                    args.greenlight, env, "nothing/" if kind == "empty" else "greenlight/")
                time.sleep(0.2)  # the log's last lines
                calls, offset = calls_since(log_path, offset)
                outcomes = [r.get("outcome") for r in answer["releases"]]
                moved = sum(1 for r in answer["releases"] if r.get("moves"))
                expected = {"empty": 0, "hold": 0, "move": len(functions)}[kind]
                if moved != expected or (kind != "empty" and len(outcomes) != len(functions)):
                    sys.exit(f"{kind} run {round_}: expected {expected} moves, got {answer}")
                runs[kind].append((init, handler, rss, calls))
                print(json.dumps({"round": round_, "kind": kind, "init_s": round(init, 4),
                                  "handler_s": round(handler, 4), "peak_rss_mib": round(rss, 1),
                                  "calls": len(calls), "outcomes": outcomes}))
        return runs
    finally:
        emulator.stdin.close()
        emulator.wait(timeout=30)
        log.close()
        shutil.rmtree(work)


def next_move(end, period, check_offset, run):
    """When the move after a bake ending at `end` is written: the first firing k*period whose check
    (k*period + check_offset) comes at or after `end`, plus the run."""
    k = max(0, -(-(end - check_offset) // period))
    return k * period + check_offset + run


def simulate(rng, bakes, draw, period, check_offset, run):
    """Delays (s) from each bake's end to its move, over `bakes` bakes one after the other; the first
    move is at a random phase."""
    move = rng.uniform(0, period) + check_offset + run
    delays = []
    for _ in range(bakes):
        end = move + draw()
        move = next_move(end, period, check_offset, run)
        delays.append(move - end)
    return delays


def summary(delays):
    ordered = sorted(delays)
    return {"mean": statistics.fmean(delays), "p50": ordered[len(ordered) // 2],
            "p95": ordered[int(len(ordered) * 0.95)], "max": ordered[-1]}


def monthly_cost(run_s, calls):
    """USD a month at one run a minute of `run_s` seconds making `calls`: {part: (list price, after the
    always-free tiers of Lambda, Scheduler and CloudWatch)}, and the GB-seconds."""
    price = {k: v[0] for k, v in PRICES.items()}
    gb_s = RUNS_A_MONTH * run_s * MEMORY_MB / 1024
    s3 = {cls: sum(1 for c in calls if S3_CLASS.get(c) == cls) for cls in ("put_list", "get")}
    cloudwatch = sum(1 for c in calls if c in ("DescribeAlarms", "GetMetricData"))

    def part(count, unit, free=0):
        return count * price[unit], max(0, count - free) * price[unit]

    return gb_s, {
        "Lambda requests": part(RUNS_A_MONTH, "lambda_request", FREE["lambda_requests"]),
        "GB-s arm64": part(gb_s, "gb_s_arm64", FREE["gb_s"]),
        "GB-s x86_64": part(gb_s, "gb_s_x86_64", FREE["gb_s"]),
        "Scheduler": part(RUNS_A_MONTH, "scheduler", FREE["scheduler"]),
        f"S3 LIST/PUT ({s3['put_list']}/run)": part(RUNS_A_MONTH * s3["put_list"], "s3_put_list"),
        f"S3 GET ({s3['get']}/run)": part(RUNS_A_MONTH * s3["get"], "s3_get"),
        f"CloudWatch API ({cloudwatch}/run)": part(RUNS_A_MONTH * cloudwatch, "cloudwatch_api", FREE["cloudwatch_api"]),
        "alarm": part(1, "alarm", 10),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--greenlight", default=os.path.join(REPO, "target/release/greenlight"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--releases", type=int, default=3)
    parser.add_argument("--bakes", type=int, default=100_000)
    parser.add_argument("--bake-min", type=float, default=1, help="minutes")
    parser.add_argument("--bake-max", type=float, default=30, help="minutes")
    parser.add_argument("--runner-startup", type=float, default=30,
                        help="seconds from a GitHub schedule firing to `greenlight promote` starting (an assumption)")
    parser.add_argument("--call-latency-ms", type=float, default=30,
                        help="an AWS call's latency in the region, for the cost's upper row (an assumption)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.greenlight = os.path.abspath(args.greenlight)

    runs = measure(args)
    med = {kind: {"init": statistics.median(r[0] for r in rs), "handler": statistics.median(r[1] for r in rs),
                  "rss": max(r[2] for r in rs), "calls": rs[-1][3]} for kind, rs in runs.items()}
    print(f"\n{os.cpu_count()} cores, {args.rounds} rounds, {args.releases} releases in progress, "
          f"binary {args.greenlight}, moto emulator on loopback")
    for kind, m in med.items():
        counts = {name: m["calls"].count(name) for name in sorted(set(m["calls"]))}
        print(f"{kind:5}  init {m['init'] * 1000:6.1f} ms  handler {m['handler'] * 1000:6.1f} ms  "
              f"peak RSS {m['rss']:5.1f} MiB  {len(m['calls'])} calls {counts}")

    rng = random.Random(args.seed)
    run = med["move"]["handler"]
    lo, hi = args.bake_min * 60, args.bake_max * 60
    distributions = {"continuous": lambda: rng.uniform(lo, hi),
                     "whole minutes": lambda: 60 * rng.randint(int(args.bake_min), int(args.bake_max))}
    print(f"\nsimulated: {args.bakes} bakes each, bakes {args.bake_min:g}-{args.bake_max:g} min, "
          f"run {run * 1000:.0f} ms (measured move), GitHub runner start-up {args.runner_startup:g} s (assumed), "
          "GitHub queueing 0 (best case: unbounded under load)")
    for label, draw in distributions.items():
        watcher = summary(simulate(rng, args.bakes, draw, 60, 0, run))
        github = summary(simulate(rng, args.bakes, draw, 300, args.runner_startup, run))
        for who, s in (("watcher", watcher), ("GitHub schedule", github)):
            print(f"{label:13}  {who:15}  mean {s['mean']:6.1f} s  p50 {s['p50']:6.1f} s  "
                  f"p95 {s['p95']:6.1f} s  max {s['max']:6.1f} s")
        print(f"{label:13}  ratio (GitHub / watcher): mean {github['mean'] / watcher['mean']:.1f}x, "
              f"max {github['max'] / watcher['max']:.1f}x")

    print(f"\ncost a month: {RUNS_A_MONTH} runs (one a minute, 30 days), {MEMORY_MB} MB, us-east-1; "
          "list price / after the always-free tiers (Lambda, Scheduler, CloudWatch; S3's is not counted)")
    latency = args.call_latency_ms / 1000
    for label, kind, seconds in (
            ("idle (no release in progress), warm", "empty", med["empty"]["handler"]),
            (f"{args.releases} releases holding, warm", "hold", med["hold"]["handler"]),
            (f"{args.releases} releases holding, every run cold", "hold", med["hold"]["init"] + med["hold"]["handler"]),
            (f"{args.releases} releases holding, warm, +{args.call_latency_ms:g} ms a call (assumed AWS latency)",
             "hold", med["hold"]["handler"] + latency * len(med["hold"]["calls"]))):
        gb_s, parts = monthly_cost(seconds, med[kind]["calls"])
        totals = {arch: [sum(v[i] for k, v in parts.items() if not k.startswith("GB-s") or k.endswith(arch))
                         for i in (0, 1)] for arch in ("arm64", "x86_64")}
        print(f"{label}: {seconds * 1000:.0f} ms a run, {gb_s:,.0f} GB-s a month")
        print("    " + ", ".join(f"{k} ${v[0]:.4f}/${v[1]:.4f}" for k, v in parts.items()))
        print("    total " + ", ".join(f"{arch} ${t[0]:.2f}/${t[1]:.2f}" for arch, t in totals.items()))
    print("prices: " + "; ".join(v[1] for v in PRICES.values()))


if __name__ == "__main__":
    main()
