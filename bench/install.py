#!/usr/bin/env python3
"""Install routes: from nothing to a working `greenlight --version`, and a ship from that install.

Builds the PyPI wheel for this machine with maturin (pyproject.toml; the `dist`
profile), then times each route a CI job would take:

  wheel     a fresh virtualenv, `pip install <wheel>` (the PyPI route, from a local file)
  archive   scripts/install.sh (what action.yml runs) from a release folder served over
            loopback: download, SHA-256 check against SHA256SUMS, unpack
  source    `cargo install --path .` into a fresh root with a fresh target folder
            (only with --source: it compiles everything, about 10 minutes on 2 cores)

and proves the wheel's binary works: `greenlight --version`, then `greenlight ship` of
examples/hello against the local emulator. Prints binary sizes for the `release` and
`dist` profiles found in the target folder (CARGO_TARGET_DIR or ./target).

    python3 bench/install.py [--source] [--keep DIR]
"""

import argparse
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

from ship import REPO, emulator_env, start_emulator

MATURIN = "maturin==1.16.0"


def run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def timed(cmd, **kw):
    start = time.perf_counter()
    out = run(cmd, **kw)
    return time.perf_counter() - start, out


def build_wheel(work):
    tools = os.path.join(work, "build-tools")
    run([sys.executable, "-m", "venv", tools])
    run([os.path.join(tools, "bin", "pip"), "install", "-q", MATURIN])
    wheels = os.path.join(work, "wheels")
    seconds, _ = timed([os.path.join(tools, "bin", "maturin"), "build", "--out", wheels], cwd=REPO)
    (wheel,) = [os.path.join(wheels, w) for w in os.listdir(wheels) if w.endswith(".whl")]
    return wheel, seconds


def wheel_route(work, wheel):
    venv = os.path.join(work, "fresh-venv")
    start = time.perf_counter()
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    run([sys.executable, "-m", "pip", "--python", os.path.join(venv, "bin", "python"), "install", "-q",
         "--no-index", wheel])
    version = run([os.path.join(venv, "bin", "greenlight"), "--version"]).stdout.strip()
    return time.perf_counter() - start, version, os.path.join(venv, "bin", "greenlight")


def archive_route(work, binary):
    """Packs `binary` as the release archive for this machine, serves the folder, runs install.sh."""
    release = os.path.join(work, "release")
    os.makedirs(release)
    target = "x86_64-unknown-linux-musl" if os.uname().machine == "x86_64" else "aarch64-unknown-linux-musl"
    archive = os.path.join(release, f"greenlight-{target}.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(binary, arcname=f"greenlight-{target}/greenlight")
    digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    with open(os.path.join(release, "SHA256SUMS"), "w") as f:
        f.write(f"{digest}  {os.path.basename(archive)}\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=release, **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        to = os.path.join(work, "archive-bin")
        start = time.perf_counter()
        run(["bash", os.path.join(REPO, "scripts", "install.sh"), "--version", "v0.0.0", "--dir", to,
             "--base-url", url])
        run([os.path.join(to, "greenlight"), "--version"])
        return time.perf_counter() - start, os.path.getsize(archive)
    finally:
        server.shutdown()


def source_route(work):
    root = os.path.join(work, "cargo-root")
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(work, "cargo-target"))
    seconds, _ = timed(["cargo", "install", "--locked", "--path", REPO, "--root", root], env=env)
    run([os.path.join(root, "bin", "greenlight"), "--version"])
    return seconds


def ship_from(binary, work):
    """`greenlight ship` of examples/hello against a fresh emulator, with the installed binary."""
    emulator, endpoint = start_emulator()
    try:
        hello = os.path.join(work, "hello")
        shutil.copytree(os.path.join(REPO, "examples", "hello"), hello)
        out = subprocess.run([binary, "ship", "--output", "json"], cwd=hello, capture_output=True, text=True,
                             env=emulator_env(endpoint, work))
        report = json.loads(out.stdout)
        # A new function: created, tested, its alias made on version 1 (already_live).
        if out.returncode != 0 or report["outcome"] not in ("released", "already_live"):
            sys.exit(f"ship from the wheel failed ({out.returncode}): {out.stdout}\n{out.stderr}")
        return report["release"]["version"]
    finally:
        emulator.stdin.close()
        emulator.wait(timeout=30)


def size(path):
    return f"{os.path.getsize(path) / 2**20:.1f} MiB" if os.path.exists(path) else "not built"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="store_true", help="also time cargo install from source")
    parser.add_argument("--keep", help="build in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="greenlight-install-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        wheel, build_seconds = build_wheel(work)
        print(f"wheel built in {build_seconds:.0f} s: {os.path.basename(wheel)}, {size(wheel)}")
        seconds, version, binary = wheel_route(work, wheel)
        print(f"wheel route: {seconds:.2f} s from nothing to `{version}`")
        print(f"ship from the wheel's binary against the emulator: released version {ship_from(binary, work)}")
        seconds, archive_size = archive_route(work, binary)
        print(f"archive route (install.sh, loopback): {seconds:.2f} s; archive {archive_size / 2**20:.1f} MiB")
        if args.source:
            print(f"source route (cargo install, fresh target): {source_route(work):.0f} s")
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        for profile in ("release", "dist"):
            print(f"binary, {profile} profile: {size(os.path.join(target, profile, 'greenlight'))}")
    finally:
        if not args.keep:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
