#!/usr/bin/env bash
# Installs a prebuilt greenlight binary from a release, after checking the
# archive's SHA-256 against the release's checksum file. Used by the GitHub
# Action (action.yml) and usable on its own:
#
#   curl -fsSL https://github.com/your-org/greenlight/raw/main/scripts/install.sh |
#     bash -s -- --version v0.2.0
#
# Options (each also from the environment variable in brackets):
#   --version TAG      release tag to install, e.g. v0.2.0 (GREENLIGHT_VERSION; required)
#   --dir DIR          where the binary goes (GREENLIGHT_INSTALL_DIR; default ~/.greenlight/bin)
#   --base-url URL     where the release's files are (GREENLIGHT_RELEASE_URL;
#                      default https://github.com/$GREENLIGHT_REPO/releases/download/TAG)
#   --cache DIR        keep downloaded archives here and reuse them (GREENLIGHT_CACHE_DIR);
#                      a cached archive is checked against the checksums again before use
#
# The platform is read from uname; GREENLIGHT_INSTALL_OS and
# GREENLIGHT_INSTALL_ARCH override it (for tests, or a cross-platform cache).
#
# Exit codes: 0 installed; 1 nothing installed: a download failed, the
# checksum did not match (or SHA256SUMS gives the archive none, two, or one
# that is no SHA-256), the archive is not one greenlight binary (a member
# whose path is absolute or climbs out with `..`, a member the unpacker
# refuses, no binary, two), or a folder stands where the binary goes;
# 2 bad arguments or an unsupported platform.
set -euo pipefail

repo="${GREENLIGHT_REPO:-your-org/greenlight}"
version="${GREENLIGHT_VERSION:-}"
dir="${GREENLIGHT_INSTALL_DIR:-$HOME/.greenlight/bin}"
base_url="${GREENLIGHT_RELEASE_URL:-}"
cache="${GREENLIGHT_CACHE_DIR:-}"

fail() { # exit code, message
    echo "greenlight install: $2" >&2
    exit "$1"
}

while [ $# -gt 0 ]; do
    case "$1" in
    --version | --dir | --base-url | --cache)
        [ $# -ge 2 ] || fail 2 "$1 needs a value"
        case "$1" in
        --version) version="$2" ;;
        --dir) dir="$2" ;;
        --base-url) base_url="$2" ;;
        --cache) cache="$2" ;;
        esac
        shift 2
        ;;
    *) fail 2 "unknown option $1 (options: --version, --dir, --base-url, --cache)" ;;
    esac
done

[ -n "$version" ] || fail 2 "no version given: pass --version vX.Y.Z (a release tag), or set GREENLIGHT_VERSION"
# A tag names a folder of the cache and a path of the URL: letters, digits
# and . _ + - only (no /, no .., no spaces or line breaks).
case "$version" in
. | .. | *[![:alnum:]._+-]*) fail 2 "version \"$version\" is not a release tag (expected something like v0.2.0)" ;;
esac
base_url="${base_url:-https://github.com/$repo/releases/download/$version}"

# The release target for this platform: the names cargo-dist gives archives.
os="${GREENLIGHT_INSTALL_OS:-$(uname -s)}"
arch="${GREENLIGHT_INSTALL_ARCH:-$(uname -m)}"
case "$os/$arch" in
Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-musl ;;
Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
Darwin/arm64 | Darwin/aarch64) target=aarch64-apple-darwin ;;
Darwin/x86_64) target=x86_64-apple-darwin ;;
MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64 | Windows*/x86_64 | Windows*/X64) target=x86_64-pc-windows-msvc ;;
*) fail 2 "no prebuilt greenlight for $os/$arch (there are builds for Linux x86_64 and aarch64, macOS arm64 and x86_64, Windows x86_64); install from source instead: cargo install --locked --git https://github.com/$repo greenlight" ;;
esac
case "$target" in
*windows*) archive="greenlight-$target.zip" binary=greenlight.exe ;;
*) archive="greenlight-$target.tar.gz" binary=greenlight ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() { # url, file
    curl --fail --silent --show-error --location --retry 3 --retry-delay 1 --output "$2" "$1" ||
        fail 1 "could not download $1 (is $version a published release with a build for $target?)"
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        fail 1 "neither sha256sum nor shasum is installed: cannot check the download, so nothing was installed"
    fi
}

# The checksums always come fresh from the release, also for a cached archive.
fetch "$base_url/SHA256SUMS" "$work/SHA256SUMS"
# Read as `sha256sum -c` reads it: CRLF line ends and upper-case digits
# are fine. Two different checksums for the archive are refused: which one
# counts would depend on their order.
expected="$(awk -v name="$archive" '{ sub(/\r$/, ""); f = $2; sub(/^\*/, "", f) } f == name { print tolower($1) }' "$work/SHA256SUMS" | sort -u)"
[ -n "$expected" ] || fail 1 "SHA256SUMS of release $version lists no $archive: nothing was installed"
[ "$(echo "$expected" | wc -l)" -eq 1 ] ||
    fail 1 "SHA256SUMS of release $version lists $archive with different checksums ($(echo "$expected" | tr '\n' ' ')): nothing was installed"
if [ "${#expected}" -ne 64 ] || [ -n "${expected//[0-9a-f]/}" ]; then
    fail 1 "SHA256SUMS of release $version gives $archive the checksum \"$expected\", which is not a SHA-256 (64 hex digits): nothing was installed"
fi

from_cache=""
if [ -n "$cache" ] && [ -f "$cache/$version/$archive" ]; then
    cp "$cache/$version/$archive" "$work/$archive"
    from_cache=" (cached)"
else
    fetch "$base_url/$archive" "$work/$archive"
fi
actual="$(sha256_of "$work/$archive")"
if [ "$actual" != "$expected" ]; then
    [ -z "$from_cache" ] || rm -f "$cache/$version/$archive"
    fail 1 "checksum mismatch for $archive$from_cache: SHA256SUMS says $expected, the file is $actual; it is corrupt or was tampered with, so nothing was installed"
fi
# Kept under a name of its own, then renamed: a copy cut short (a full
# disk, a killed install) or a second install reading meanwhile never finds
# half an archive in the cache. The cache only saves a download: failing to
# keep the archive there fails nothing.
if [ -n "$cache" ] && [ -z "$from_cache" ]; then
    cached=""
    if ! { mkdir -p "$cache/$version" && cached="$(mktemp "$cache/$version/.$archive.XXXXXX")" &&
        cp "$work/$archive" "$cached" && mv -f "$cached" "$cache/$version/$archive"; }; then
        [ -z "$cached" ] || rm -f "$cached"
        echo "greenlight install: could not keep $archive in the cache $cache; installing all the same" >&2
    fi
fi

# An archive with a member whose path leaves the folder (absolute, or
# climbing out with `..`) is refused whole, whatever the unpacker would do
# with it (tar refuses `..` but strips a leading /, unzip the reverse), and
# so is one the unpacker refuses any member of: exit 1, as for a bad checksum.
mkdir -p "$work/unpacked"
case "$archive" in
*.zip) command -v unzip >/dev/null 2>&1 ||
    fail 1 "unzip is not installed: cannot unpack $archive, so nothing was installed"
    list=(unzip -Z1 "$work/$archive")
    unpack=(unzip -q "$work/$archive" -d "$work/unpacked") ;;
*) list=(tar -tzf "$work/$archive")
    unpack=(tar -xzf "$work/$archive" -C "$work/unpacked") ;;
esac
"${list[@]}" >"$work/members" 2>"$work/unpack.log" ||
    fail 1 "$archive did not unpack cleanly ($(head -n 3 "$work/unpack.log" | tr '\n' ' ')): nothing was installed"
leaving="$(tr '\\' / <"$work/members" | grep -E -m 1 '^/|^[A-Za-z]:|(^|/)\.\.(/|$)' || true)"
[ -z "$leaving" ] ||
    fail 1 "$archive holds a member whose path leaves the folder ($leaving): nothing was installed"
# At most one member of the binary's name, counted in the listing: with two
# (in two folders, or twice at one path, where the later would overwrite
# the earlier), which one is installed would be chance, so neither is.
named=()
while IFS= read -r member; do named+=("$member"); done < <(awk -v b="$binary" '{ n = $0; sub(/.*\//, "", n) } n == b' "$work/members")
[ "${#named[@]}" -le 1 ] ||
    fail 1 "$archive holds ${#named[@]} files named $binary (${named[*]}): nothing was installed"
"${unpack[@]}" >"$work/unpack.log" 2>&1 </dev/null ||
    fail 1 "$archive did not unpack cleanly ($(head -n 3 "$work/unpack.log" | tr '\n' ' ')): nothing was installed"
# And that one a regular file (not a link, a folder or a device).
found="$(find "$work/unpacked" -type f -name "$binary")"
[ -n "$found" ] || fail 1 "$archive holds no $binary: nothing was installed"

mkdir -p "$dir"
# A folder there would take the binary inside it (mv into a folder).
[ ! -d "$dir/$binary" ] ||
    fail 1 "$dir/$binary is a folder, so greenlight cannot be installed there: nothing was installed (remove it, or pass another --dir)"
# Replace atomically, so a running greenlight never sees half a file: a copy
# of a name no other install uses (mktemp), then one rename.
partial="$(mktemp "$dir/.$binary.XXXXXX")"
trap 'rm -rf "$work"; rm -f "$partial"' EXIT
cp "$found" "$partial"
chmod 755 "$partial"
mv -f "$partial" "$dir/$binary"
echo "greenlight $version ($target) installed at $dir/$binary$from_cache; SHA-256 $actual checked"
