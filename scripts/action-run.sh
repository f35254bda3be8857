#!/usr/bin/env bash
# The GitHub Action's run step (action.yml): runs one greenlight command with
# a JSON report, shows progress in the log, and turns the report into step
# outputs. Reads COMMAND, ARGS (split on whitespace, never expanded as file
# names), CONFIG, and GREENLIGHT (the binary; default greenlight on PATH); writes
# exit-code, outcome, version, previous, report and report-file to
# $GITHUB_OUTPUT. Exits with greenlight's own exit code.
set -uo pipefail

report="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/greenlight-report-$$.json"
# ARGS is split into words and nothing else: no file-name expansion, so
# `--only *` passes `*` on (to be refused as no function of that name).
set -f
# shellcheck disable=SC2206 # splitting on whitespace is the point
words=($ARGS)
set +f
"${GREENLIGHT:-greenlight}" -c "$CONFIG" "$COMMAND" ${words[@]+"${words[@]}"} --output json -v >"$report"
code=$?

field() { # a jq path into the report, empty when absent
    if command -v jq >/dev/null 2>&1; then
        jq -r "$1 // empty" "$report" 2>/dev/null
    elif command -v python3 >/dev/null 2>&1; then
        python3 - "$report" "$1" <<'PY'
import json, sys
try:
    value = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(0)
for alternative in sys.argv[2].split(" // "):
    v = value
    for key in alternative.strip(". ").split("."):
        v = v.get(key) if isinstance(v, dict) else None
    if v not in (None, ""):
        print(v)
        break
PY
    fi
}

{
    echo "exit-code=$code"
    echo "outcome=$(field '.outcome')"
    echo "version=$(field '.release.version // .deploy.version // .rollback.to')"
    echo "previous=$(field '.release.previous // .rollback.from')"
    echo "report-file=$report"
    delimiter="greenlight-report-$RANDOM$RANDOM"
    echo "report<<$delimiter"
    cat "$report"
    echo
    echo "$delimiter"
} >>"${GITHUB_OUTPUT:-/dev/null}"
exit "$code"
