#!/usr/bin/env bash
# Usage: .ci/nginx-source.sh SUITE DIR
#
# Unpacks the nginx.org source of the nginx that Debian's SUITE carries into
# DIR/nginx-VERSION and prints that path: the input of
# NGX_SRC=... ./build.sh test.  The release tarball is Debian's orig
# tarball, checked against the SHA-256 in the suite's Sources index (which
# apt has verified against the archive's signed Release file).
set -euo pipefail

suite=$1
dir=$2
list=/etc/apt/sources.list.d/llmr-nginx-src-$suite.sources
archive=http://deb.debian.org/debian

cat >"$list" <<END
Types: deb-src
URIs: $archive
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
END
trap 'rm -f "$list"; apt-get update -qq >/dev/null 2>&1 || true' EXIT

apt-get update -qq >/dev/null

# the newest nginx source of that suite: its pool directory and the orig
# tarball's checksum line ("sha256 size name")
rec=$(apt-cache showsrc --only-source nginx \
      | awk -v RS= 'BEGIN { best = "" }
            { if (match($0, /\nVersion: [^\n]+/)) {
                  v = substr($0, RSTART + 10, RLENGTH - 10)
                  if (best == "" || system("dpkg --compare-versions " v " gt " best) == 0) {
                      best = v; rec = $0 } } }
            END { print rec }')
pool=$(printf '%s\n' "$rec" | sed -n 's/^Directory: //p')
sum=$(printf '%s\n' "$rec" \
      | sed -n '/^Checksums-Sha256:/,/^[^ ]/p' \
      | grep -E ' nginx_[^ ]+\.orig\.tar\.[a-z]+$' | head -n 1)
[ -n "$pool" ] && [ -n "$sum" ] || { echo "no nginx source in $suite" >&2; exit 1; }

set -- $sum
sha=$1
file=$3

mkdir -p "$dir"
curl -fsS -o "$dir/$file" "$archive/$pool/$file"
echo "$sha  $dir/$file" | sha256sum -c --quiet

tar -C "$dir" -xf "$dir/$file"
src=$(tar -tf "$dir/$file" | sed -n '1s,/.*,,p')
echo "$dir/$src"
