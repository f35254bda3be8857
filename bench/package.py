#!/usr/bin/env python3
"""Packaging benchmark: greenlight package against Info-ZIP `zip -r` on the same tree.

Builds a realistic deployment tree (thousands of small compressible source
files, a few large text files, and incompressible binaries), then runs both
tools on it alternately, several rounds, and prints the median times, the time
ratio, the size ratio and each tool's peak memory (max RSS). Both zips are
checked with Python's zipfile.

    python3 bench/package.py [--greenlight target/release/greenlight] [--rounds 7]
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

WORDS = (
    "const function return import export default async await lambda handler event "
    "context request response status body headers json parse stringify error "
    "throw catch try if else for while of in new class extends super this null "
    "undefined true false require module exports process env log info debug"
).split()


def build_tree(root, seed=7):
    """Writes the benchmark tree; returns (files, bytes)."""
    rng = random.Random(seed)
    files = total = 0

    def write(path, data):
        nonlocal files, total
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        files += 1
        total += len(data)

    # node_modules-like: 4000 small source files of 1 to 24 KiB.
    for i in range(4000):
        package = f"pkg{i // 40:03d}"
        size = rng.randint(1, 24) * 1024
        text = []
        n = 0
        while n < size:
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + ";\n"
            text.append(line)
            n += len(line)
        write(os.path.join(root, "node_modules", package, "lib", f"file{i}.js"), "".join(text).encode())
    # A few large bundles.
    for i in range(4):
        line = " ".join(rng.choice(WORDS) for _ in range(2000)) + "\n"
        write(os.path.join(root, "dist", f"bundle{i}.js"), (line * 200).encode())
    # Incompressible binaries: a native module and compressed assets, 24 MiB in all.
    for i in range(6):
        write(os.path.join(root, "bin", f"native{i}.node"), rng.randbytes(4 * 1024 * 1024))
    write(os.path.join(root, "bootstrap"), b"#!/bin/sh\nexec node dist/bundle0.js\n")
    os.chmod(os.path.join(root, "bootstrap"), 0o755)
    return files, total


def run(cmd, cwd):
    """Runs cmd; returns (seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--greenlight", default=os.path.join(repo, "target/release/greenlight"))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not shutil.which("zip"):
        sys.exit("Info-ZIP `zip` is needed (Debian: apt-get install zip)")

    work = tempfile.mkdtemp(prefix="greenlight-bench-")
    try:
        src = os.path.join(work, "app")
        files, total = build_tree(src)
        with open(os.path.join(work, "greenlight.toml"), "w") as f:
            f.write('[function]\nname = "bench"\n[package]\nsource = "app"\n')
        print(f"tree: {files} files, {total / 2**20:.1f} MiB; {os.cpu_count()} cores; {args.rounds} rounds")

        zip_out, gl_out = os.path.join(work, "info.zip"), os.path.join(work, "greenlight.zip")
        info, ours = [], []
        for _ in range(args.rounds):
            for path in (zip_out, gl_out):
                if os.path.exists(path):
                    os.remove(path)
            info.append(run(["zip", "-q", "-r", zip_out, "."], src))
            ours.append(run([args.greenlight, "-q", "package", "--out", gl_out], work))

        for path in (zip_out, gl_out):
            with zipfile.ZipFile(path) as z:
                assert z.testzip() is None, path
                assert len([n for n in z.namelist() if not n.endswith("/")]) == files, path
        t_info = statistics.median(t for t, _ in info)
        t_ours = statistics.median(t for t, _ in ours)
        s_info, s_ours = os.path.getsize(zip_out), os.path.getsize(gl_out)
        print(f"zip -r:             median {t_info:.3f} s, {s_info / 2**20:.2f} MiB, peak RSS {max(m for _, m in info):.0f} MiB")
        print(f"greenlight package: median {t_ours:.3f} s, {s_ours / 2**20:.2f} MiB, peak RSS {max(m for _, m in ours):.0f} MiB")
        print(f"speed-up: {t_info / t_ours:.2f}x   size ratio (greenlight / zip): {s_ours / s_info:.4f}")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
