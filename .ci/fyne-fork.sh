#!/bin/sh
# fyne-fork.sh makes the Fyne that Parley builds against: a copy of the
# module go.mod requires, taken from the module cache, with
# third_party/fyne/*.patch applied, in build/fyne; and build/go.work, which
# replaces fyne.io/fyne/v2 with that copy. The Makefile exports
# GOWORK=build/go.work and runs this before its go commands. A go
# command run without that GOWORK builds against upstream Fyne, which works
# the same but keeps the idle window busy (third_party/fyne/README.md).
#
# A patch that no longer applies (after a Fyne upgrade) fails the build
# here, loudly: update or drop it, see the README. When build/fyne already
# is that version with those patches, made by this script (its
# .parley-stamp says so), it does nothing, so make, the scripts and the
# tests run it every time.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The module as go.mod pins it, not as a workspace would resolve it.
export GOWORK=off GOFLAGS=
go=${GO:-go}
command -v patch >/dev/null || ./.ci/deps.sh fork

$go mod download fyne.io/fyne/v2
src=$($go list -m -f '{{.Dir}}' fyne.io/fyne/v2)
version=$($go list -m -f '{{.Version}}' fyne.io/fyne/v2)
goversion=$($go list -m -f '{{.GoVersion}}')

stamp="$version $(cat third_party/fyne/*.patch .ci/fyne-fork.sh | sha256sum | cut -d' ' -f1)"
mkdir -p build
exec 9>build/.fyne-fork.lock
flock 9 # one at a time: tests may run this from several processes
if [ -f build/go.work ] && [ "$(cat build/fyne/.parley-stamp 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

tmp=$(mktemp -d build/fyne.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -R "$src/." "$tmp/"
chmod -R u+w "$tmp"
for p in third_party/fyne/*.patch; do
	if ! patch -s -p1 -N --no-backup-if-mismatch -d "$tmp" <"$p"; then
		echo "fyne-fork.sh: $p does not apply to fyne.io/fyne/v2 $version" >&2
		exit 1
	fi
done
echo "$stamp" >"$tmp/.parley-stamp"
rm -rf build/fyne
mv "$tmp" build/fyne

cat >build/go.work.tmp <<EOF
// Made by .ci/fyne-fork.sh: Fyne $version with third_party/fyne's patches.
go $goversion

use ..

replace fyne.io/fyne/v2 $version => ./fyne
EOF
mv build/go.work.tmp build/go.work
echo "fyne-fork.sh: build/fyne is fyne.io/fyne/v2 $version with $(ls third_party/fyne/*.patch | wc -l) patch(es)"
