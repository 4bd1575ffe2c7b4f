#!/bin/sh
# package-windows-smoke.sh starts the Windows exe under Wine on a private
# Xvfb display, waits for the "Parley" window, saves a screenshot
# (dist/package-windows-smoke.png) and stops it. package-windows.sh runs it
# when wine is installed (Debian 12: apt-get install wine wine64).
#
#   ./.ci/package-windows-smoke.sh [dist/Parley.exe]
#
# Go 1.26 needs ProcessPrng from bcryptprimitives.dll, which Wine 8 lacks:
# a small replacement wrapping RtlGenRandom (advapi32 SystemFunction036) is
# built with the mingw compiler into the Wine prefix's system32.
# The Wine prefix is build/windows/wine (reused). The app runs with a fresh
# data folder, mDNS off and the null audio backend: no network traffic.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
exe="${1:-dist/Parley.exe}"
exe=$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")
work="${PARLEY_WIN_WORK:-$root/build/windows}"
mkdir -p "$work"
work=$(cd "$work" && pwd)
timeout="${PARLEY_SMOKE_TIMEOUT:-120}"
shot="$root/dist/package-windows-smoke.png"
log="$root/dist/package-windows-smoke.log"

say() { echo "package-windows-smoke: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

[ -f "$exe" ] || fail "no exe at $exe (run .ci/package-windows.sh)"
for c in wine wineserver Xvfb xdotool import identify x86_64-w64-mingw32-gcc; do
	command -v $c >/dev/null 2>&1 || fail "$c is missing (apt-get install wine wine64 xvfb xdotool imagemagick gcc-mingw-w64-x86-64)"
done

export WINEPREFIX="$work/wine" WINEARCH=win64 WINEDEBUG=-all
# No Mono/Gecko installer prompts (they would wait for a click forever).
export WINEDLLOVERRIDES="mscoree,mshtml="

tmp=$(mktemp -d /tmp/parley-windows-smoke.XXXXXX)
xvfb_pid=""
app_pid=""
stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	[ -n "$app_pid" ] && stop "$app_pid"
	wineserver -k 2>/dev/null || true
	[ -n "$xvfb_pid" ] && stop "$xvfb_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

d=90
while [ -e "/tmp/.X$d-lock" ] || [ -e "/tmp/.X11-unix/X$d" ]; do
	d=$((d + 1))
done
Xvfb ":$d" -screen 0 1280x800x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
i=0
until [ -e "/tmp/.X11-unix/X$d" ]; do
	kill -0 "$xvfb_pid" 2>/dev/null || fail "Xvfb :$d did not start"
	[ $i -ge 100 ] && fail "Xvfb :$d did not create its socket"
	sleep 0.1
	i=$((i + 1))
done
export DISPLAY=":$d"

if [ ! -f "$WINEPREFIX/system.reg" ]; then
	say "creating the Wine prefix $WINEPREFIX"
	wineboot -i >"$tmp/wineboot.log" 2>&1 || { cat "$tmp/wineboot.log" >&2; fail "wineboot"; }
	wineserver -w
fi
sys32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -f "$sys32/bcryptprimitives.dll" ]; then
	say "building bcryptprimitives.dll (ProcessPrng over RtlGenRandom) into $sys32"
	cat >"$tmp/bcp.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* RtlGenRandom */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
C
	printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\n  ProcessPrng\n' >"$tmp/bcp.def"
	x86_64-w64-mingw32-gcc -O2 -shared -o "$sys32/bcryptprimitives.dll" \
		"$tmp/bcp.c" "$tmp/bcp.def" -ladvapi32
fi

mkdir -p "$tmp/data"
data=$(winepath -w "$tmp/data" 2>/dev/null)
say "starting $(basename "$exe") under $(wine --version) on :$d (mDNS off, audio null)"
(
	cd "$tmp"
	exec env PARLEY_DATA="$data" PARLEY_MDNS_INTERFACES=off PARLEY_AUDIO=null \
		PARLEY_LOG_LEVEL=info LANG=C.UTF-8 \
		wine "$exe"
) >"$log" 2>&1 &
app_pid=$!

start=$(date +%s%N)
if ! wid=$(timeout "$timeout" xdotool search --sync --onlyvisible --name '^Parley' 2>/dev/null | head -n 1) || [ -z "$wid" ]; then
	tail -n 20 "$log" >&2
	kill -0 "$app_pid" 2>/dev/null || fail "the exe exited before showing a window"
	fail "no window named Parley within ${timeout}s"
fi
ms=$((($(date +%s%N) - start) / 1000000))
say "window $wid \"$(xdotool getwindowname "$wid")\" after ${ms} ms"
sleep 5
kill -0 "$app_pid" 2>/dev/null || { tail -n 20 "$log" >&2; fail "the exe exited after showing its window"; }
import -display ":$d" -window root "$shot"
geom=$(xdotool getwindowgeometry "$wid" | awk '/Geometry/ {print $2}')
colours=$(identify -format '%k' "$shot")
say "screenshot $shot: window $geom, $colours colours"
[ "$colours" -ge 16 ] || fail "the screenshot is (nearly) blank: $colours colours"
say "ok: Parley.exe started under Wine and showed its window"
