#!/usr/bin/env bash
# greenlight's demo, no AWS account and no Docker needed:
#   1. starts the local moto emulator (installing it into .venv the first time),
#   2. ships examples/hello: version 1 is created, smoke-tested and live,
#   3. ships a change: version 2 is smoke-tested, released, checked through the alias,
#   4. ships broken code: version 3 fails its smoke test and gets no traffic (exit 1),
#   5. shows the status: version 2 still live.
# GREENLIGHT=path/to/greenlight uses that binary instead of building one.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ -z "${GREENLIGHT:-}" ]; then
  cargo build --quiet
  GREENLIGHT="$root/target/debug/greenlight"
fi
bash localstack/moto.sh install
python="${GREENLIGHT_VENV:-$root/.venv}/bin/python"

work=$(mktemp -d)
ready="$work/emulator.out"
# The emulator stops when this script's end of the pipe closes (exit or Ctrl-C).
exec 3> >("$python" localstack/moto_emulator.py --until-stdin-closes >"$ready" 2>/dev/null)
trap 'exec 3>&-; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  grep -q '^READY ' "$ready" 2>/dev/null && break
  sleep 0.1
done
endpoint=$(sed -n 's/^READY //p' "$ready")
[ -n "$endpoint" ] || { echo "the emulator did not start" >&2; exit 1; }

export AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; }

step "1. first ship: creates the function, version 1, alias live" greenlight ship
"$GREENLIGHT" -c examples/hello/greenlight.toml ship

step "2. a new version: published, smoke-tested, released, checked through the alias" \
  "greenlight ship (with changed code)"
cp -r examples/hello "$work/hello"
printf '\n# v2: a harmless change\n' >> "$work/hello/app/index.py"
"$GREENLIGHT" -c "$work/hello/greenlight.toml" ship

step "3. broken code: its smoke test fails, so no traffic moves" \
  "greenlight -c examples/hello/greenlight-broken.toml ship"
# moto's Docker-free Lambda echoes payloads instead of running code, so queue
# the answer the broken handler gives on real Lambda (or on LocalStack).
"$python" - "$endpoint" <<'PY'
import json, sys, urllib.request
answer = {"errorMessage": "boom: the config file is missing", "errorType": "RuntimeError"}
body = json.dumps({"results": [json.dumps(answer)], "region": "us-east-1"}).encode()
request = urllib.request.Request(sys.argv[1] + "/moto-api/static/lambda-simple/response", data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(request, timeout=30).read()
PY
status=0
"$GREENLIGHT" -c examples/hello/greenlight-broken.toml ship || status=$?
echo "(exit code $status: failed before any traffic moved)"
[ "$status" -eq 1 ]

step "4. status: version 2 is still live" greenlight status
"$GREENLIGHT" -c examples/hello/greenlight.toml status
