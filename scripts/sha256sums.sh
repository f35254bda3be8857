#!/usr/bin/env bash
# Writes SHA256SUMS for the release archives in DIR (what scripts/install.sh
# and the action check each download against), after checking that there
# is exactly one archive per target in dist-workspace.toml. Run by the
# release (.github/workflows/sha256sums.yml) and by the install tests.
#
#   scripts/sha256sums.sh DIR
#
# Exit codes: 0 written; 1 an archive missing or one too many (nothing written).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:?usage: sha256sums.sh DIR}"

# The targets, from the `targets = [...]` list of dist-workspace.toml.
targets="$(sed -n '/^targets = \[/,/^\]/p' "$root/dist-workspace.toml" | grep -o '"[^"]*"' | tr -d '"')"
expected=()
for target in $targets; do
    case "$target" in
    *windows*) expected+=("greenlight-$target.zip") ;;
    *) expected+=("greenlight-$target.tar.gz") ;;
    esac
done

cd "$dir"
shopt -s nullglob
found=(greenlight-*.tar.gz greenlight-*.zip)
missing="" extra=""
for archive in "${expected[@]}"; do
    [ -f "$archive" ] || missing="$missing $archive"
done
for archive in "${found[@]}"; do
    case " ${expected[*]} " in
    *" $archive "*) ;;
    *) extra="$extra $archive" ;;
    esac
done
if [ -n "$missing$extra" ]; then
    echo "sha256sums: the archives are not one per target in dist-workspace.toml (missing:${missing:- none}; not a target:${extra:- none}); SHA256SUMS not written" >&2
    exit 1
fi
sha256sum "${expected[@]}" >SHA256SUMS.partial
mv SHA256SUMS.partial SHA256SUMS
cat SHA256SUMS
