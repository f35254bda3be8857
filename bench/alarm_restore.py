#!/usr/bin/env python3
"""Reverting on a red alarm: seconds from an alarm going to ALARM mid-bake until traffic is back on the stable version.

For each router greenlight has (the Lambda alias's canary weights, and Route 53 weighted records with
`[dns]`), against the local moto emulator: a function with a `[release]` canary (`steps = [10]`), a long
bake (--bake, default 300 s) and one CloudWatch alarm in `release.alarms`, the alarm OK. Each round
changes the code and starts `greenlight ship` in the background; the script polls AWS (boto3, every
--poll s) until the first split is in place, waits a random offset (uniform within the first
--offset-window s of the bake, at most 3/4 of the bake, so the alarm lands anywhere in greenlight's
check interval), sets the alarm to ALARM (SetAlarmState) and polls until the traffic is back exactly as
it was before the round (alias: the stable version, no routing weights; DNS: the weights as before).
The time is taken just before SetAlarmState is sent, so it includes that call and up to one --poll.
greenlight must end with exit 3 (rolled back); the alarm goes back to OK before the next round.

The peer is the same router with a short bake (--peer-bake, default 20 s), measured in the same run,
alternating with the long bake, on a function of its own. Output: one JSON line per round, then the
median and the max per router and bake.

    cargo build --release
    python3 bench/alarm_restore.py [--greenlight target/release/greenlight] [--rounds 3]
                                   [--bake 300] [--peer-bake 20] [--routers alias,dns] [--seed N]

Runs under any Python with boto3; without it, re-runs itself with the emulator's virtualenv
(localstack/moto.sh install). A router is one entry in ROUTERS: a function that writes its config
table and AWS resources and returns how to read where traffic stands.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ship import REPO, change_code, emulator_env, rerun_with_emulator_python, start_emulator, write_config  # noqa: E402,E501

try:
    import boto3
except ImportError:  # the emulator's virtualenv has it
    rerun_with_emulator_python()


class Aws:
    """boto3 clients for the emulator."""

    def __init__(self, endpoint):
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        self.lam, self.cloudwatch, self.route53 = (session.client(name, endpoint_url=endpoint)
                                                   for name in ("lambda", "cloudwatch", "route53"))

    def create_alarm(self, name):
        self.cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
        self.set_alarm(name, "OK")

    def set_alarm(self, name, state):
        self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="set by bench/alarm_restore.py")


def alias_router(aws, function):
    """The Lambda alias `live`: the step is its routing weights. Returns (config table, read)."""

    def read():
        alias = aws.lam.get_alias(FunctionName=function, Name="live")
        weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
        return alias["FunctionVersion"], tuple(sorted(weights.items()))

    return "", read


def dns_router(aws, function):
    """Route 53 weighted CNAMEs (`[dns]`, TTL 0) in a zone of the function's own."""
    zone = aws.route53.create_hosted_zone(Name="example.com", CallerReference=f"{function}-{time.time()}")
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    name = "api.example.com."
    table = (f'\n[dns]\nzone_id = "{zone_id}"\nname = "{name[:-1]}"\ntype = "CNAME"\nttl = 0\n'
             '\n[dns.blue]\nvalue = "blue.example.com"\nalias = "blue"\n'
             '\n[dns.green]\nvalue = "green.example.com"\nalias = "green"\n')

    def read():
        sets = aws.route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name,
                                                     StartRecordType="CNAME")["ResourceRecordSets"]
        return tuple(sorted((s.get("SetIdentifier", ""), s.get("Weight")) for s in sets if s["Name"] == name))

    return table, read


# The routers measured, by name. An ALB router is one more function like these: it creates the listener
# and target groups, returns the `[alb]` table and reads the forward action's weights.
ROUTERS = {"alias": alias_router, "dns": dns_router}


class Setup:
    """One router with one bake: its own function, folder, config and alarm."""

    def __init__(self, aws, env, root, greenlight, router, bake):
        self.aws, self.env, self.greenlight, self.router, self.bake = aws, env, greenlight, router, bake
        self.function = f"restore-{router}-{bake}"
        self.alarm = f"{self.function}-errors"
        self.work = os.path.join(root, self.function)
        os.makedirs(self.work)
        aws.create_alarm(self.alarm)
        table, self.read = ROUTERS[router](aws, self.function)
        config = os.path.join(self.work, "greenlight.toml")
        write_config(config, self.function)
        with open(config, "a") as f:
            f.write(f'\n[release]\nsteps = [10]\nbake = "{bake}s"\nalarms = ["{self.alarm}"]\n{table}')
        self.rounds = 0
        change_code(self.work, 0)
        self.ship()
        code, text = self.ended()
        if code != 0:
            self.fail(f"the first ship failed with exit {code}", text)

    def ship(self):
        """Starts `greenlight ship` in the background, its output to a file."""
        self.log = open(os.path.join(self.work, "ship.log"), "w")
        self.child = subprocess.Popen([self.greenlight, "ship"], cwd=self.work, env=self.env,
                                      stdout=self.log, stderr=subprocess.STDOUT)

    def ended(self):
        """Waits for the ship started last: its exit code and its output."""
        code = self.child.wait(timeout=120)
        self.log.close()
        with open(os.path.join(self.work, "ship.log")) as f:
            return code, f.read()

    def fail(self, why, text=None):
        if self.child.poll() is None:
            self.child.kill()
            text = self.ended()[1]
        sys.exit(f"{self.function}: {why}:\n{text}")

    def poll_until(self, what, done, deadline, poll):
        while True:
            state = self.read()
            if done(state):
                return time.monotonic(), state
            if time.monotonic() > deadline:
                self.fail(f"{what} not seen in time (last read {state})")
            time.sleep(poll)

    def round(self, rng, offset_window, poll):
        """One release stopped by the alarm: the seconds from the alarm to the traffic restored."""
        self.rounds += 1
        change_code(self.work, self.rounds)
        stable = self.read()
        self.ship()
        split_at, split = self.poll_until("the first split", lambda s: s != stable, time.monotonic() + 120, poll)
        offset = rng.uniform(0, min(offset_window, self.bake * 0.75))
        time.sleep(max(0.0, split_at + offset - time.monotonic()))
        fired = time.monotonic()
        self.aws.set_alarm(self.alarm, "ALARM")
        restored, _ = self.poll_until("the stable traffic", lambda s: s == stable, fired + self.bake + 120, poll)
        code, text = self.ended()
        self.aws.set_alarm(self.alarm, "OK")
        if code != 3 or f"alarm {self.alarm} is in ALARM" not in text:
            self.fail(f"expected exit 3 for the alarm, got {code}", text)
        return {"router": self.router, "bake_secs": self.bake, "round": self.rounds, "split": repr(split),
                "alarm_after_split_secs": round(fired - split_at, 3),
                "alarm_to_restored_secs": round(restored - fired, 3), "exit_code": code}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--greenlight", default=os.path.join(REPO, "target/release/greenlight"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bake", type=int, default=300, help="seconds, the long bake")
    parser.add_argument("--peer-bake", type=int, default=20, help="seconds, the short bake measured alongside")
    parser.add_argument("--routers", default=",".join(ROUTERS), help=f"of {', '.join(ROUTERS)}")
    parser.add_argument("--offset-window", type=float, default=60.0,
                        help="the alarm fires at a random time within this many seconds of the split")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between reads of AWS")
    parser.add_argument("--seed", type=int, help="for the random offsets")
    args = parser.parse_args()
    routers = args.routers.split(",")
    if unknown := set(routers) - set(ROUTERS):
        parser.error(f"unknown router(s) {', '.join(sorted(unknown))}: known are {', '.join(ROUTERS)}")
    rng = random.Random(args.seed)
    emulator, endpoint = start_emulator()
    root = tempfile.mkdtemp(prefix="greenlight-alarm-restore-")
    try:
        aws = Aws(endpoint)
        env = emulator_env(endpoint, root)
        setups = [Setup(aws, env, root, os.path.abspath(args.greenlight), router, bake)
                  for router in routers for bake in (args.bake, args.peer_bake)]
        results = []
        for _ in range(args.rounds):
            for setup in setups:
                result = setup.round(rng, args.offset_window, args.poll)
                results.append(result)
                print(json.dumps(result), flush=True)
        print(f"\n{os.cpu_count()} cores, {args.rounds} rounds, moto emulator on loopback, {args.greenlight}")
        print(f"{'router':<8} {'bake':>6} {'median':>9} {'max':>9}   alarm to traffic restored")
        for setup in setups:
            times = [r["alarm_to_restored_secs"] for r in results
                     if (r["router"], r["bake_secs"]) == (setup.router, setup.bake)]
            print(f"{setup.router:<8} {setup.bake:>5}s {statistics.median(times):>8.2f}s {max(times):>8.2f}s")
    finally:
        emulator.stdin.close()
        emulator.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
