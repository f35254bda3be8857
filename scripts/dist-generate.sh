#!/usr/bin/env bash
# Regenerates .github/workflows/release.yml from dist-workspace.toml with
# dist (cargo-dist 0.34: `cargo install cargo-dist --version 0.34.0 --locked`).
# release.yml is dist's output unchanged: its `uses: $/.github/workflows/…`
# lines are GitHub's self-repository form for this repository's own reusable
# workflows (build-wheels, sha256sums, publish-pypi), and the actions are
# pinned by commit in dist-workspace.toml ([dist.github-action-commits]).
# Afterwards, scripts/zizmor.sh audits the result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dist generate --mode ci
echo "release.yml regenerated; check it with: dist plan && scripts/zizmor.sh"
