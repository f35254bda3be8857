#!/usr/bin/env python3
"""Memory benchmark: peak RSS of `greenlight deploy` for a large artifact.

Against the local moto emulator, deploys incompressible code: a 45 MiB zip
sent directly (no bucket: base64 inside the JSON request), the same through
S3 (`[package] s3_bucket`: streamed), and a 60 MiB zip through S3. Each round changes the
code so the upload really happens. Prints the zip size, greenlight's peak RSS
(packaging included), the goal (twice the artifact plus 50 MB) and, as a peer
in the same run, the aws CLI's peak RSS for `update-function-code` with the
same zip.

    python3 bench/deploy_memory.py [--greenlight target/release/greenlight] [--rounds 3]
"""

import os
import random
import shutil
import subprocess
import sys

from ship import ROLE, emulator_session

MIB = 1024 * 1024


def peak_rss(cmd, cwd, env):
    """Runs cmd; returns its peak RSS in MiB."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    return usage.ru_maxrss / 1024


def write_code(app, size, round_):
    """Incompressible files adding up to `size` bytes, different each round."""
    shutil.rmtree(app, ignore_errors=True)
    os.makedirs(app)
    rng = random.Random(round_)
    with open(os.path.join(app, "index.py"), "w") as f:
        f.write(f"# round {round_}\ndef handler(event, context):\n    return event\n")
    chunk = 5 * MIB
    for i in range(0, size, chunk):
        with open(os.path.join(app, f"blob{i // chunk}.bin"), "wb") as f:
            f.write(rng.randbytes(min(chunk, size - i)))


def main():
    with emulator_session(__doc__, 3, "greenlight-memory-bench-") as (args, aws, work, env, _):
        app = os.path.join(work, "app")
        peak_rss([aws, "s3", "mb", "s3://bench-artifacts"], work, env)
        print(f"{os.cpu_count()} cores, {args.rounds} rounds, moto emulator on loopback")
        cases = (("direct", 45 * MIB, None), ("through S3", 45 * MIB, "bench-artifacts"),
                 ("through S3", 60 * MIB, "bench-artifacts"))
        for n, (label, size, bucket) in enumerate(cases):
            name = f"bench-{n}"
            with open(os.path.join(work, "greenlight.toml"), "w") as f:
                f.write(f'[function]\nname = "{name}"\nruntime = "python3.12"\nhandler = "index.handler"\n'
                        f'role = "{ROLE}"\n[package]\nsource = "app"\n')
                if bucket:
                    f.write(f's3_bucket = "{bucket}"\n')
            ours, theirs, zip_size = [], [], 0
            for round_ in range(args.rounds):
                write_code(app, size, round_)
                ours.append(peak_rss([args.greenlight, "-q", "deploy"], work, env))
                zip_path = os.path.join(work, "app.zip")
                peak_rss([args.greenlight, "-q", "package", "--out", zip_path], work, env)
                zip_size = os.path.getsize(zip_path)
                if not bucket:
                    theirs.append(peak_rss([aws, "lambda", "update-function-code", "--function-name", name,
                                            "--zip-file", f"fileb://{zip_path}"], work, env))
            goal = 2 * zip_size / MIB + 50
            line = (f"{label:>10}, zip {zip_size / MIB:.1f} MiB, greenlight deploy peak RSS {max(ours):.0f} MiB "
                    f"(goal <= {goal:.0f} MiB)")
            if theirs:
                line += f", aws lambda update-function-code peak RSS {max(theirs):.0f} MiB"
            print(line)


if __name__ == "__main__":
    main()
