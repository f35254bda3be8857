#!/usr/bin/env python3
"""End-to-end benchmark: `greenlight ship` against the equivalent aws-cli sequence.

Both run against the same local moto emulator, on two functions with the same
code, alternately, several rounds; each round changes the code first. The
aws-cli side is the hand-rolled script greenlight replaces:

    aws lambda update-function-code --zip-file fileb://app.zip
    aws lambda wait function-updated-v2
    aws lambda publish-version
    aws lambda invoke --qualifier N (one smoke test)
    aws lambda update-alias --function-version N

The aws CLI is version 1 (PyPI `awscli`). It gets its zip built beforehand (not timed); greenlight's time includes
packaging, deploy, the smoke test, the release and the check through the alias.

    python3 bench/ship.py [--greenlight target/release/greenlight] [--rounds 7]

The aws CLI is installed into bench/.venv-awscli on first use.
"""

import argparse
import contextlib
import http.client
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE = "arn:aws:iam::123456789012:role/greenlight-example"


def aws_cli():
    venv = os.path.join(REPO, "bench", ".venv-awscli")
    aws = os.path.join(venv, "bin", "aws")
    if not os.path.exists(aws):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "awscli"], check=True)
    return aws


def emulator_python():
    """The emulator's virtualenv python (which has the pinned moto and boto3), installing it first."""
    subprocess.run(["bash", os.path.join(REPO, "localstack", "moto.sh"), "install"], check=True)
    return os.path.join(os.environ.get("GREENLIGHT_VENV", os.path.join(REPO, ".venv")), "bin", "python")


def rerun_with_emulator_python():
    """Runs this script again under the emulator's virtualenv (which has boto3), installing it first."""
    python = emulator_python()
    os.execv(python, [python, *sys.argv])


def launch_emulator(python, log=None):
    """Starts `localstack/moto_emulator.py` under `python`; returns (process, endpoint) once it says READY.
    Its request log goes to the open file `log`, if given."""
    proc = subprocess.Popen(
        [python, os.path.join(REPO, "localstack", "moto_emulator.py"), "--until-stdin-closes"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        sys.exit(f"emulator did not start: {line!r}")
    return proc, line.split()[1]


def start_emulator(log=None):
    """Starts the emulator; returns (process, endpoint). Its request log goes to the open file `log`, if given."""
    return launch_emulator(emulator_python(), log)


def emulator_env(endpoint, work):
    """The environment that points both greenlight and the aws CLI at the emulator, and at nothing else."""
    return dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
                AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_PAGER="",
                AWS_CONFIG_FILE=os.path.join(work, "none"), AWS_SHARED_CREDENTIALS_FILE=os.path.join(work, "none"))


def relay_proxy(endpoint, gate=None, record=None):
    """A threaded HTTP proxy on a free loopback port in front of the emulator at `endpoint`; returns its URL.

    `gate(method, path)` runs first for each request: it may wait (a latency), or return (status, headers,
    body) to answer in the emulator's place (a throttle). `record(method, path, arrived, answered)` runs
    once the answer has been sent (times from time.monotonic())."""

    upstream_port = int(endpoint.rsplit(":", 1)[1])

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def relay(self):
            arrived = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = gate(self.command, self.path) if gate else None
            if answer is None:
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                answer = (response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in
                                            ("connection", "content-length", "transfer-encoding", "date", "server")],
                          response.read())
                conn.close()
            status, headers, data = answer
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            if record:
                record(self.command, self.path, arrived, time.monotonic())

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = relay

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


@contextlib.contextmanager
def emulator_session(doc, rounds, prefix, add_arguments=None):
    """Parses --greenlight and --rounds (and what `add_arguments(parser)` adds), installs the aws CLI,
    starts the emulator and a work folder; yields (args, aws, work, env, endpoint) and cleans up after."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--greenlight", default=os.path.join(REPO, "target/release/greenlight"))
    parser.add_argument("--rounds", type=int, default=rounds)
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    aws = aws_cli()
    emulator, endpoint = start_emulator()
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        yield args, aws, work, emulator_env(endpoint, work), endpoint
    finally:
        emulator.stdin.close()
        emulator.wait(timeout=30)
        shutil.rmtree(work)


def write_config(path, function):
    """A greenlight.toml for `function` from the folder `app`, with one invoke smoke test."""
    with open(path, "w") as f:
        f.write(f'[function]\nname = "{function}"\nruntime = "python3.12"\nhandler = "index.handler"\n'
                f'role = "{ROLE}"\n[package]\nsource = "app"\n'
                '[[smoke]]\nname = "echo"\npayload = { probe = "ok" }\nexpect = { probe = "ok" }\n')


def change_code(work, round_):
    """New code in work/app for round `round_`, and its zip for the aws CLI in work/app.zip."""
    app = os.path.join(work, "app")
    os.makedirs(app, exist_ok=True)
    with open(os.path.join(app, "index.py"), "w") as f:
        f.write(f"# round {round_}\ndef handler(event, context):\n    return event\n")
    zip_path = os.path.join(work, "app.zip")
    if os.path.exists(zip_path):
        os.remove(zip_path)
    subprocess.run(["zip", "-q", "-r", zip_path, "."], cwd=app, check=True)


def timed(commands, cwd, env):
    start = time.perf_counter()
    for cmd in commands:
        out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed: {out.stderr}")
    return time.perf_counter() - start


def main():
    with emulator_session(__doc__, 7, "greenlight-ship-bench-") as (args, aws, work, env, _):
        write_config(os.path.join(work, "greenlight.toml"), "bench-gl")
        lam = [aws, "lambda"]
        change_code(work, 0)
        timed([[args.greenlight, "-q", "ship"]], work, env)
        timed([lam + ["create-function", "--function-name", "bench-cli", "--runtime", "python3.12",
                      "--handler", "index.handler", "--role", ROLE, "--zip-file", "fileb://app.zip", "--publish"],
               lam + ["create-alias", "--function-name", "bench-cli", "--name", "live", "--function-version", "1"]],
              work, env)

        ours, theirs = [], []
        for round_ in range(1, args.rounds + 1):
            change_code(work, round_)
            ours.append(timed([[args.greenlight, "-q", "ship"]], work, env))
            version = str(round_ + 1)
            theirs.append(timed([
                lam + ["update-function-code", "--function-name", "bench-cli", "--zip-file", "fileb://app.zip"],
                lam + ["wait", "function-updated-v2", "--function-name", "bench-cli"],
                lam + ["publish-version", "--function-name", "bench-cli"],
                lam + ["invoke", "--function-name", "bench-cli", "--qualifier", version,
                       "--payload", json.dumps({"probe": "ok"}),
                       os.path.join(work, "out.json")],
                lam + ["update-alias", "--function-name", "bench-cli", "--name", "live", "--function-version", version],
            ], work, env))
        t_ours, t_theirs = statistics.median(ours), statistics.median(theirs)
        print(f"{os.cpu_count()} cores, {args.rounds} rounds, moto emulator on loopback")
        print(f"aws-cli sequence (5 commands): median {t_theirs:.3f} s")
        print(f"greenlight ship:               median {t_ours:.3f} s")
        print(f"speed-up: {t_theirs / t_ours:.1f}x")


if __name__ == "__main__":
    main()
