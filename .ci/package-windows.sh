#!/bin/sh
# package-windows.sh cross-builds the Windows release exe (dist/Parley.exe)
# from a Debian 12 amd64 machine. It is for release builders: neither
# `make package` nor `make test` runs it.
#
#   ./.ci/package-windows.sh
#
# Steps (each skipped when its result is already there):
#  1. Debian packages: the mingw-w64 C/C++ cross compilers, xz-utils, and
#     for the smoke start Wine 8 (wine, wine64), xvfb, xdotool, imagemagick.
#  2. libopus for x86_64-w64-mingw32, static, from the Debian source package
#     of opus (1.3.1 in bookworm). Debian ships no mingw libopus, and the
#     opus 1.1.2 copy inside layeh.com/gopus is too old for hraban/opus.v2.
#     The source is fetched with `apt-get source --download-only opus`
#     through a temporary deb-src entry for the machine's own Debian mirror;
#     the entry is removed again (and the apt lists refreshed) on exit.
#     CFLAGS carries -D_FORTIFY_SOURCE=0: with fortify on, the final link
#     fails on __memcpy_chk, which mingw's runtime does not provide.
#  2b. libspeexdsp the same way, static, from the Debian source package of
#     speexdsp (1.2.1 in bookworm), into the same prefix: the microphone
#     clean-up (audio/preprocess_speex.go) links it with -tags speexdsp.
#  3. The fyne CLI (fyne.io/tools/cmd/fyne@v1.7.4), built for this machine.
#  4. fyne package -os windows --release --tags nolibopusfile,speexdsp,no_animations with
#     CGO_ENABLED=1 GOOS=windows GOARCH=amd64 and the mingw CC/CXX, against
#     the static libopus through PKG_CONFIG_PATH. Result: one self-contained
#     exe (no DLLs besides Windows' own), moved to dist/Parley.exe.
#  5. A smoke start of the exe under Wine and Xvfb, with the talk key's
#     keyboard hook checked: .ci/package-windows-smoke.sh.
#
# Work files live in build/windows/ (ignored by git): the opus sources,
# the install prefix build/windows/opus/, and build.log.
#
# Environment:
#   PARLEY_WIN_WORK   work folder (default build/windows)
#   PARLEY_WIN_SMOKE  0 skips the Wine smoke start
#   PARLEY_WIN_FRESH  1 rebuilds every Go package (go build -a): Go's build
#                     cache does not notice a rebuilt libopus.a.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
# The app as make builds it: Fyne with third_party/fyne's patch.
./.ci/fyne-fork.sh
export GOWORK="$PWD/build/go.work"
work="${PARLEY_WIN_WORK:-$root/build/windows}"
mkdir -p "$work" "$root/dist"
work=$(cd "$work" && pwd)
prefix="$work/opus"
target=x86_64-w64-mingw32
fyne_version=v1.7.4

sudo=""
[ "$(id -u)" != 0 ] && sudo="sudo"

say() { echo "package-windows: $*" >&2; }
now() { date +%s; }
t0=$(now)

# 1. Cross compilers.
missing=""
pkgs="gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 xz-utils pkg-config"
[ "${PARLEY_WIN_SMOKE:-1}" = 0 ] || pkgs="$pkgs wine wine64 xvfb xdotool imagemagick"
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	say "installing$missing"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

# 2. Static libopus for the target.
srclist=/etc/apt/sources.list.d/parley-opus-src.sources
cleanup_src() {
	if [ -f "$srclist" ]; then
		say "removing the temporary deb-src entry"
		$sudo rm -f "$srclist"
		$sudo apt-get update -qq || true
	fi
}
trap cleanup_src EXIT INT TERM

if [ ! -f "$prefix/lib/libopus.a" ]; then
	t=$(now)
	mkdir -p "$work/src"
	if ! ls "$work"/src/opus_*.orig.tar.* >/dev/null 2>&1; then
		# The machine's Debian mirror and release, for a matching deb-src entry.
		mirror=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk '{print $2}' | grep '/debian/*$' | head -n 1)
		if [ -z "$mirror" ]; then
			mirror=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null |
				awk '{print $2}' | grep '/debian/*$' | head -n 1)
		fi
		mirror="${mirror:-http://deb.debian.org/debian}"
		. /etc/os-release
		say "temporary deb-src entry: $mirror $VERSION_CODENAME main"
		printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$mirror" "$VERSION_CODENAME" | $sudo tee "$srclist" >/dev/null
		$sudo apt-get update -qq
		(cd "$work/src" && apt-get source --download-only opus)
		cleanup_src
	fi
	orig=$(ls "$work"/src/opus_*.orig.tar.* | head -n 1)
	say "building libopus from $(basename "$orig") for $target"
	rm -rf "$work/opus-build"
	mkdir -p "$work/opus-build"
	tar -xf "$orig" -C "$work/opus-build" --strip-components=1
	(
		cd "$work/opus-build"
		./configure --host=$target --prefix="$prefix" \
			--disable-shared --enable-static --disable-doc --disable-extra-programs \
			CFLAGS="-O2 -D_FORTIFY_SOURCE=0"
		make -j"$(nproc)"
		make install
	) >"$work/opus-build.log" 2>&1 || {
		tail -n 30 "$work/opus-build.log" >&2
		say "libopus build failed; full log in $work/opus-build.log"
		exit 1
	}
	say "libopus ready in $prefix ($(($(now) - t)) s)"
fi

# 2b. Static libspeexdsp for the target (same deb-src dance as opus).
if [ ! -f "$prefix/lib/libspeexdsp.a" ]; then
	t=$(now)
	mkdir -p "$work/src"
	if ! ls "$work"/src/speexdsp_*.orig.tar.* >/dev/null 2>&1; then
		mirror=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk '{print $2}' | grep '/debian/*$' | head -n 1)
		mirror="${mirror:-http://deb.debian.org/debian}"
		. /etc/os-release
		if [ ! -f "$srclist" ]; then
			printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
				"$mirror" "$VERSION_CODENAME" | $sudo tee "$srclist" >/dev/null
			$sudo apt-get update -qq
		fi
		(cd "$work/src" && apt-get source --download-only speexdsp)
		cleanup_src
	fi
	orig=$(ls "$work"/src/speexdsp_*.orig.tar.* | head -n 1)
	say "building libspeexdsp from $(basename "$orig") for $target"
	rm -rf "$work/speexdsp-build"
	mkdir -p "$work/speexdsp-build"
	tar -xf "$orig" -C "$work/speexdsp-build" --strip-components=1
	(
		cd "$work/speexdsp-build"
		[ -x ./configure ] || ./autogen.sh
		./configure --host=$target --prefix="$prefix" \
			--disable-shared --enable-static --disable-examples \
			CFLAGS="-O2 -D_FORTIFY_SOURCE=0"
		make -j"$(nproc)"
		make install
	) >"$work/speexdsp-build.log" 2>&1 || {
		tail -n 30 "$work/speexdsp-build.log" >&2
		say "libspeexdsp build failed; full log in $work/speexdsp-build.log"
		exit 1
	}
	say "libspeexdsp ready in $prefix ($(($(now) - t)) s)"
fi
trap - EXIT INT TERM
cleanup_src

# 3. The fyne CLI, for this machine (no GOOS/GOARCH here).
gobin=$(go env GOBIN)
[ -z "$gobin" ] && gobin="$(go env GOPATH)/bin"
fyne="$gobin/fyne"
if ! "$fyne" version 2>/dev/null | grep -q "cli version: $fyne_version"; then
	say "installing fyne.io/tools/cmd/fyne@$fyne_version"
	(cd / && GOFLAGS= go install "fyne.io/tools/cmd/fyne@$fyne_version")
fi

# 4. The exe.
if [ ! -f "$root/main.go" ]; then
	say "no main.go yet: libopus and the fyne CLI are ready, nothing to package"
	exit 1
fi
goflags="${GOFLAGS:-}"
[ "${PARLEY_WIN_FRESH:-0}" = 1 ] && goflags="$goflags -a"
# fyne package bumps [Details] Build in FyneApp.toml; keep the checked-in file.
cp FyneApp.toml "$work/FyneApp.toml.orig"
restore() { cp "$work/FyneApp.toml.orig" "$root/FyneApp.toml"; rm -f "$root/fyne.syso" "$root/fyne_metadata_init.go"; }
trap restore EXIT INT TERM
rm -f "$root/Parley.exe" "$root/parley.exe"
t=$(now)
say "fyne package -os windows --release --tags nolibopusfile,speexdsp,no_animations (log: $work/build.log)"
if ! env CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
	CC=$target-gcc CXX=$target-g++ \
	PKG_CONFIG_PATH="$prefix/lib/pkgconfig" GOFLAGS="$goflags" \
	"$fyne" package -os windows --release --tags nolibopusfile,speexdsp,no_animations >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	say "fyne package failed; full log in $work/build.log"
	exit 1
fi
mv -f "$root/Parley.exe" "$root/dist/Parley.exe"
size=$(du -k "$root/dist/Parley.exe" | cut -f1)
say "dist/Parley.exe: $size KiB, packaged in $(($(now) - t)) s (total $(($(now) - t0)) s)"
if command -v $target-objdump >/dev/null 2>&1; then
	say "DLLs it imports: $($target-objdump -p "$root/dist/Parley.exe" | awk '/DLL Name/ {print $3}' | sort -u | tr '\n' ' ')"
fi

# 5. Optional: start the exe under Wine and Xvfb (PARLEY_WIN_SMOKE=0 skips).
if [ "${PARLEY_WIN_SMOKE:-1}" = 0 ]; then
	say "no Wine smoke start (PARLEY_WIN_SMOKE=0)"
	exit 0
fi
./.ci/package-windows-smoke.sh "$root/dist/Parley.exe"
