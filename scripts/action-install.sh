#!/usr/bin/env bash
# The GitHub Action's install steps (action.yml), in two parts around the
# cache step that keeps the archive between runs:
#
#   action-install.sh version   which release to install: the `version` input
#                               (INPUT_VERSION), else the tag in the file
#                               action-version.txt committed beside action.yml
#                               (read through GITHUB_ACTION_PATH: github.action_ref
#                               is empty or another action's ref when this action
#                               runs inside a composite or nested action);
#                               writes version= to $GITHUB_OUTPUT
#   action-install.sh install   installs GREENLIGHT_VERSION with install.sh into the
#                               runner's tool cache and writes binary= (the path of
#                               the installed greenlight) to $GITHUB_OUTPUT; PATH is
#                               left alone (no write to GITHUB_PATH)
#
# Exit codes: those of install.sh (0 installed; 1 nothing installed; 2 bad
# arguments, among them a version that is not a release tag).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

case "${1:-}" in
version)
    file="${GITHUB_ACTION_PATH:-$(dirname "$here")}/action-version.txt"
    version="${INPUT_VERSION:-}"
    if [ -z "$version" ]; then
        [ -r "$file" ] || { echo "::error title=greenlight::$file is missing: set with: version: v0.2.0"; exit 2; }
        # One word; blank lines and spaces around it are dropped.
        version="$(tr -s '[:space:]' ' ' <"$file" | sed 's/^ //; s/ $//')"
    fi
    # A tag: v, a digit, then letters, digits and . _ + - only. It becomes
    # a step output, a cache key and a path: no space or line break.
    case "$version" in
    "" | [!v]* | v | v[!0-9]* | *[![:alnum:]._+-]*)
        echo "::error title=greenlight::the version to install must be a release tag such as v0.2.0; pin the action to a release (your-org/greenlight@v0.2.0) or set with: version: v0.2.0"
        exit 2
        ;;
    esac
    echo "version=$version" >>"${GITHUB_OUTPUT:-/dev/null}"
    ;;
install)
    dir="${RUNNER_TOOL_CACHE:?}/greenlight/${GREENLIGHT_VERSION:?}/${RUNNER_OS:-os}-${RUNNER_ARCH:-arch}"
    bash "$here/install.sh" --version "$GREENLIGHT_VERSION" --dir "$dir"
    binary="$dir/greenlight"
    [ -f "$binary" ] || binary="$dir/greenlight.exe"
    echo "binary=$binary" >>"${GITHUB_OUTPUT:-/dev/null}"
    ;;
*)
    sed -n '2,18p' "$0" >&2
    exit 2
    ;;
esac
