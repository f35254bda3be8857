#!/usr/bin/env bash
# The local AWS emulator for greenlight when there is no Docker: moto server on loopback.
#
#   localstack/moto.sh install        create .venv and install the pinned moto (once; safe to run in parallel)
#   localstack/moto.sh start [PORT] [OPTIONS]   install if needed, then serve on http://127.0.0.1:PORT
#                                     (default 4566) until Ctrl-C, with Lambda in Docker-free "simple" mode and the
#                                     example role arn:aws:iam::123456789012:role/greenlight-example created;
#                                     OPTIONS set how long Lambda states last (moto_emulator.py --help)
#
# Then point greenlight at it:  AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 \
#                               AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing greenlight ship
# GREENLIGHT_VENV chooses another virtualenv folder.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
venv=${GREENLIGHT_VENV:-$root/.venv}
python=${PYTHON:-python3}

# A subshell, so the lock (fd 9) is released when it returns: `start` execs
# the emulator next, which must not hold the lock for its whole life, or
# every later install or start with this virtualenv would wait for it.
install() (
  # One installer at a time: tests in parallel processes all call this.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv.lock"
    flock 9
  fi
  local stamp="$venv/.greenlight-requirements"
  if [ -x "$venv/bin/python" ] && cat "$here/requirements.txt" "$here/constraints.txt" | cmp -s - "$stamp"; then
    return 0
  fi
  echo "installing the moto emulator into $venv (once)..." >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$here/requirements.txt"
  cat "$here/requirements.txt" "$here/constraints.txt" > "$stamp"
)

case "${1:-}" in
  install)
    install
    ;;
  start)
    install
    exec "$venv/bin/python" "$here/moto_emulator.py" --port "${2:-4566}" "${@:3}"
    ;;
  *)
    sed -n '2,13p' "$0" >&2
    exit 2
    ;;
esac
