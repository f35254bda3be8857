#!/usr/bin/env python3
"""How long a test waits for its emulator: a fresh `moto_emulator.py` process
against a fork of `emulator_forks.py` (what the test harness uses).

Both are timed from the request to the `READY <url>` line, which comes only
after the emulator has answered its own set-up requests, alternately, in the
same run; then one request each (CreateFunction's role lookup, an SSM
GetParameter: services the forks have loaded) so that a fork which is quick
to start but slow on its first call cannot hide. The forking launcher's own
start (imports, once per test process) is reported on its own line.

    python3 bench/emulator_start.py [--rounds 20]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from ship import REPO, emulator_python, launch_emulator

LOCALSTACK = os.path.join(REPO, "localstack")


def first_call(python_bin: str, endpoint: str) -> float:
    """Seconds one SSM GetParameter (a miss) takes against `endpoint`."""
    script = (
        "import boto3,sys,time\n"
        "c=boto3.client('ssm',endpoint_url=sys.argv[1],region_name='us-east-1',"
        "aws_access_key_id='testing',aws_secret_access_key='testing')\n"
        "t=time.monotonic()\n"
        "try: c.get_parameter(Name='/bench/none')\n"
        "except c.exceptions.ParameterNotFound: pass\n"
        "print(time.monotonic()-t)\n"
    )
    out = subprocess.run([python_bin, "-c", script, endpoint], check=True,
                         capture_output=True, text=True).stdout
    return float(out)


def fresh(python_bin: str) -> "tuple[float, float]":
    start = time.monotonic()
    proc, endpoint = launch_emulator(python_bin)
    ready = time.monotonic() - start
    call = first_call(python_bin, endpoint)
    proc.stdin.close()
    proc.wait()
    return ready, call


class Forks:
    def __init__(self, python_bin: str):
        start = time.monotonic()
        self.proc = subprocess.Popen(
            [python_bin, os.path.join(LOCALSTACK, "emulator_forks.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.next = 0
        self.logs = tempfile.TemporaryDirectory()
        self.start()  # the first answer comes once the imports are done
        self.launch = time.monotonic() - start

    def start(self) -> "tuple[int, str]":
        ident, self.next = self.next, self.next + 1
        log = os.path.join(self.logs.name, f"{ident}.log")
        self.proc.stdin.write(json.dumps({"start": ident, "log": log, "args": []}) + "\n")
        self.proc.stdin.flush()
        said = self.proc.stdout.readline().split()
        if said[:2] != [str(ident), "READY"]:
            sys.exit(f"fork did not start: {said!r}")
        return ident, said[2]

    def stop(self, ident: int) -> None:
        self.proc.stdin.write(json.dumps({"stop": ident}) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def forked(forks: Forks, python_bin: str) -> "tuple[float, float]":
    start = time.monotonic()
    ident, endpoint = forks.start()
    ready = time.monotonic() - start
    call = first_call(python_bin, endpoint)
    forks.stop(ident)
    return ready, call


def line(name: str, samples: "list[float]") -> str:
    return (f"{name:<34} median {statistics.median(samples):6.3f} s"
            f"   max {max(samples):6.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    python_bin = emulator_python()
    forks = Forks(python_bin)
    results = {"fresh": [], "forked": []}
    for _ in range(rounds):
        results["fresh"].append(fresh(python_bin))
        results["forked"].append(forked(forks, python_bin))
    forks.close()
    print(f"{rounds} rounds, alternating")
    print(f"forking launcher start (once per test process): {forks.launch:.3f} s")
    for name, samples in results.items():
        print(line(f"{name}: request to READY", [ready for ready, _ in samples]))
        print(line(f"{name}: first SSM call", [call for _, call in samples]))
    ratio = (statistics.median(r for r, _ in results["fresh"])
             / statistics.median(r for r, _ in results["forked"]))
    print(f"READY, fresh / forked (medians): {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
