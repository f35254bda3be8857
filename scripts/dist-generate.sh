#!/usr/bin/env bash
# Regenerates .github/workflows/release.yml from dist-workspace.toml with
# dist (cargo-dist 0.34: `cargo install cargo-dist --version 0.34.0 --locked`),
# then fixes what dist 0.34.0 gets wrong: it writes `uses: $/.github/...` for
# the repository's own reusable workflows, where GitHub needs `./.github/...`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TMPDIR_SAVE="$(mktemp -d)"
# allow-dirty = ["ci"] (needed so the release's own check accepts the fix
# below) also stops `dist generate`: generate from a copy without it.
cp dist-workspace.toml "$TMPDIR_SAVE/dist-workspace.toml"
trap 'cp "$TMPDIR_SAVE/dist-workspace.toml" dist-workspace.toml; rm -rf "$TMPDIR_SAVE"' EXIT
sed -i '/^allow-dirty = /d' dist-workspace.toml
dist generate --mode ci
sed -i 's|uses: \$/\.github/workflows/|uses: ./.github/workflows/|' .github/workflows/release.yml
if grep -n 'uses: \$/' .github/workflows/release.yml; then
    echo "dist-generate: release.yml still has a \$/ reference" >&2
    exit 1
fi
echo "release.yml regenerated; check it with: dist plan"
