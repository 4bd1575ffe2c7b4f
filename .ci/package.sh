#!/bin/sh
# package.sh builds the Linux installable archive dist/Parley.tar.xz with the
# fyne CLI, then checks that the packaged app starts (.ci/package-smoke.sh).
# `make package` runs it after installing the build packages.
#
# The archive holds usr/local/bin/parley, the .desktop entry, the icon and a
# Makefile: `tar -xf Parley.tar.xz && cd parley && sudo make install`.
# Like every cgo Fyne app the binary needs the system's libraries: it links
# libopus0 libspeexdsp1 libgl1 libx11-6 libwayland-client0 and GLFW loads
# libxrandr2 libxcursor1 libxinerama1 libxi6 libxxf86vm1 libxkbcommon0 at
# start (all present on a Debian desktop; libopus0 and libspeexdsp1 may have
# to be installed).
#
# Environment:
#   PARLEY_PACKAGE_SMOKE=0   skip the smoke start of the packaged app
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
# The app as make builds it: Fyne with third_party/fyne's patch.
./.ci/fyne-fork.sh
export GOWORK="$PWD/build/go.work"
fyne_version=v1.7.4

say() { echo "package: $*" >&2; }
now() { date +%s; }

if [ ! -f main.go ]; then
	say "no main.go: the desktop app does not exist yet, nothing to package"
	exit 1
fi

# xz-utils for the archive (the Makefile installed the build packages).
./.ci/deps.sh package

# The fyne CLI, installed into GOBIN or GOPATH/bin when missing.
gobin=$(go env GOBIN)
[ -z "$gobin" ] && gobin="$(go env GOPATH)/bin"
fyne="$gobin/fyne"
if ! "$fyne" version 2>/dev/null | grep -q "cli version: $fyne_version"; then
	say "installing fyne.io/tools/cmd/fyne@$fyne_version into $gobin"
	(cd / && GOFLAGS= CGO_ENABLED=1 go install "fyne.io/tools/cmd/fyne@$fyne_version")
fi

# fyne package increments [Details] Build in FyneApp.toml on every run;
# the checked-in file (and the build number) stays as it is.
tmp=$(mktemp -d)
cp FyneApp.toml "$tmp/FyneApp.toml"
restore() {
	cp "$tmp/FyneApp.toml" "$root/FyneApp.toml"
	rm -f "$root/fyne_metadata_init.go"
	rm -rf "$tmp"
}
trap restore EXIT
trap 'exit 130' INT TERM

mkdir -p dist
rm -f Parley.tar.xz dist/Parley.tar.xz
t=$(now)
say "fyne package -os linux --release --tags nolibopusfile,no_animations"
"$fyne" package -os linux --release --tags nolibopusfile,no_animations
mv Parley.tar.xz dist/Parley.tar.xz
secs=$(($(now) - t))
size=$(du -k dist/Parley.tar.xz | cut -f1)
say "dist/Parley.tar.xz: $size KiB, built and packaged in $secs s"

if [ "${PARLEY_PACKAGE_SMOKE:-1}" != 0 ]; then
	./.ci/package-smoke.sh dist/Parley.tar.xz
fi
