#!/usr/bin/env python3
"""Alarm to restored: how long users stay on a bad version after its alarm goes off, per router.

A canary release (`steps = [50]`, `bake = "5m"`, one watched alarm) is shipped against the local moto
emulator; once traffic is split and the gate check after the move has passed, the alarm is set to
ALARM and the traffic is polled (every 20 ms) until it is all back on the stable version. With a
5-minute bake the full gate check comes every 30 s; the alarms alone are read every 5 s between
(issue 24 §5), so the time is 0-5 s plus the rollback's writes. Routers: the alias (its weights) and
DNS (Route 53 weights, TTL 0).

    python3 bench/alarm_restore.py [--greenlight target/debug/greenlight] [--rounds 5]

Needs boto3 (it is in the emulator's .venv).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import boto3

from ship import REPO, ROLE, emulator_env, start_emulator

ALARM = "bench-errors"
NAME = "api.example.com"


def config(function, dns_zone=None):
    text = (f'[function]\nname = "{function}"\nruntime = "python3.12"\nhandler = "index.handler"\n'
            f'role = "{ROLE}"\n[package]\nsource = "app"\n'
            f'[release]\nsteps = [50]\nbake = "5m"\nalarms = ["{ALARM}"]\n')
    if dns_zone:
        text += (f'\n[dns]\nzone_id = "{dns_zone}"\nname = "{NAME}"\ntype = "CNAME"\nttl = 0\n'
                 '[dns.blue]\nvalue = "blue.example.com"\nalias = "blue"\n'
                 '[dns.green]\nvalue = "green.example.com"\nalias = "green"\n')
    return text


def write_code(work, round_):
    app = os.path.join(work, "app")
    os.makedirs(app, exist_ok=True)
    with open(os.path.join(app, "index.py"), "w") as f:
        f.write(f"# round {round_}\ndef handler(event, context):\n    return event\n")


def wait_for(what, condition, deadline=120):
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.02)


def alias_split(lam, function):
    weights = lam.get_alias(FunctionName=function, Name="live").get("RoutingConfig", {}) \
        .get("AdditionalVersionWeights", {})
    return bool(weights)


def dns_split(r53, zone):
    records = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    weights = [r.get("Weight") for r in records if r["Name"].rstrip(".") == NAME]
    return len(weights) == 2 and all(w for w in weights)


def measure(args, env, work, clients, function, zone):
    """One router: ships the first version, then `rounds` releases each undone by the alarm."""
    lam, cw, r53 = clients
    with open(os.path.join(work, "greenlight.toml"), "w") as f:
        f.write(config(function, zone))
    write_code(work, 0)
    subprocess.run([args.greenlight, "-q", "ship"], cwd=work, env=env, check=True, capture_output=True)
    split = (lambda: dns_split(r53, zone)) if zone else (lambda: alias_split(lam, function))
    times = []
    for round_ in range(1, args.rounds + 1):
        cw.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="bench")
        write_code(work, round_)
        ship = subprocess.Popen([args.greenlight, "-q", "ship"], cwd=work, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for("the split", split)
        # Past the gate check right after the move (for DNS, after INSYNC: polled every 2 s), so
        # the alarm is found by the reads during the bake; at a different point of their 5 s
        # cycle each round.
        time.sleep(3 + (round_ * 1.7) % 5)
        cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="bench")
        fired = time.monotonic()
        wait_for("the traffic back", lambda: not split())
        times.append(time.monotonic() - fired)
        _, stderr = ship.communicate(timeout=120)
        if ship.returncode != 3:
            sys.exit(f"ship exited {ship.returncode}, not 3: {stderr}")
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--greenlight", default=os.path.join(REPO, "target/debug/greenlight"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    emulator, endpoint = start_emulator()
    work = tempfile.mkdtemp(prefix="greenlight-alarm-bench-")
    try:
        run(args, work, emulator_env(endpoint, work), endpoint)
    finally:
        emulator.stdin.close()
        emulator.wait(timeout=30)
        shutil.rmtree(work)


def run(args, work, env, endpoint):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name="us-east-1")
    clients = tuple(session.client(s, endpoint_url=endpoint) for s in ("lambda", "cloudwatch", "route53"))
    clients[1].put_metric_alarm(AlarmName=ALARM, MetricName="Errors", Namespace="AWS/Lambda",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    zone = clients[2].create_hosted_zone(Name="example.com", CallerReference="bench")["HostedZone"]["Id"]
    zone = zone.rsplit("/", 1)[-1]
    print(f"{os.cpu_count()} cores, {args.rounds} rounds per router, bake 5m (full gate check every 30 s)")
    for router, function, dns_zone in (("alias", "bench-alias", None), ("dns", "bench-dns", zone)):
        os.makedirs(os.path.join(work, router), exist_ok=True)
        times = measure(args, env, os.path.join(work, router), clients, function, dns_zone)
        print(f"{router:5}  alarm → restored: median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s  ({', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
