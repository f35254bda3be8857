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
# checksum did not match, or the archive is not one greenlight binary
# (a member the unpacker refuses, no binary, two); 2 bad arguments or an
# unsupported platform.
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
case "$version" in
*/* | *" "*) fail 2 "version \"$version\" is not a release tag (expected something like v0.2.0)" ;;
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
expected="$(awk -v name="$archive" '{ f = $2; sub(/^\*/, "", f) } f == name { print $1; exit }' "$work/SHA256SUMS")"
[ -n "$expected" ] || fail 1 "SHA256SUMS of release $version lists no $archive: nothing was installed"

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
if [ -n "$cache" ] && [ -z "$from_cache" ]; then
    mkdir -p "$cache/$version"
    cp "$work/$archive" "$cache/$version/$archive"
fi

# An archive the unpacker refuses any member of (a path leaving the folder,
# a broken entry) is refused whole: exit 1, as for a bad checksum.
mkdir -p "$work/unpacked"
case "$archive" in
*.zip) command -v unzip >/dev/null 2>&1 ||
    fail 1 "unzip is not installed: cannot unpack $archive, so nothing was installed"
    unpack=(unzip -q "$work/$archive" -d "$work/unpacked") ;;
*) unpack=(tar -xzf "$work/$archive" -C "$work/unpacked") ;;
esac
"${unpack[@]}" >"$work/unpack.log" 2>&1 ||
    fail 1 "$archive did not unpack cleanly ($(head -n 3 "$work/unpack.log" | tr '\n' ' ')): nothing was installed"
# Exactly one file of the binary's name: with two, which one find lists
# first is chance, so neither is installed.
found=()
while IFS= read -r -d '' file; do found+=("$file"); done < <(find "$work/unpacked" -type f -name "$binary" -print0 | sort -z)
[ "${#found[@]}" -gt 0 ] || fail 1 "$archive holds no $binary: nothing was installed"
[ "${#found[@]}" -eq 1 ] ||
    fail 1 "$archive holds ${#found[@]} files named $binary (${found[*]#"$work/unpacked/"}): nothing was installed"
found="${found[0]}"

mkdir -p "$dir"
# Replace atomically, so a running greenlight or a second install never sees half a file.
cp "$found" "$dir/.$binary.partial"
chmod +x "$dir/.$binary.partial"
mv -f "$dir/.$binary.partial" "$dir/$binary"
echo "greenlight $version ($target) installed at $dir/$binary$from_cache; SHA-256 $actual checked"
