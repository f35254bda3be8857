#!/usr/bin/env bash
# Audits GitHub Actions files with zizmor (pinned in
# scripts/zizmor-requirements.txt), offline, with the project's .github/zizmor.yml:
#
#   scripts/zizmor.sh [PATH...]     default: .github/workflows and action.yml
#
# zizmor is installed from PyPI on first use into a virtualenv of its own
# (.venv-tools, or GREENLIGHT_TOOLS_VENV), so the emulator's virtualenv and
# its start-up are untouched; later runs reuse it. The test suite runs this
# over the repository's workflows, action.yml and the workflows `greenlight
# init` writes (tests/it/workflow_audit.rs). Exit code: zizmor's (0 no
# findings; non-zero findings or an error).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${GREENLIGHT_TOOLS_VENV:-$root/.venv-tools}"
requirements="$root/scripts/zizmor-requirements.txt"
python="${PYTHON:-python3}"

# A subshell, so the lock is released before zizmor runs.
install() (
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$venv.lock"
        flock 9
    fi
    stamp="$venv/.greenlight-requirements"
    if [ -x "$venv/bin/zizmor" ] && cmp -s "$requirements" "$stamp"; then
        return 0
    fi
    echo "installing zizmor into $venv (once)..." >&2
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
        --require-hashes --only-binary=:all: -r "$requirements"
    cp "$requirements" "$stamp"
)

install
if [ $# -eq 0 ]; then
    set -- "$root/.github/workflows" "$root/action.yml"
fi
exec "$venv/bin/zizmor" --offline --no-progress --config "$root/.github/zizmor.yml" "$@"
