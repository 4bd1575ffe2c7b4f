#!/bin/sh
# package-windows-smoke.sh starts the Windows exe under Wine on a private
# Xvfb display, hosting a server on 127.0.0.1 and signed up on it, waits
# for the "Parley" window, saves a screenshot
# (dist/package-windows-smoke.png), checks the talk key of the low-level
# keyboard hook (below) and stops it. package-windows.sh runs it when wine
# is installed (Debian 12: apt-get install wine wine64).
#
# The talk key check (app/hotkey/hook_windows.go, WH_KEYBOARD_LL): F8 held
# starts a transmission through the hook and its release sends it; Escape
# while F8 is held withdraws it (the hook passes it on as a cancel, so it
# works whichever window has the focus). Done with Parley's window focused
# and with Wine's notepad focused ("another window"). Wine runs low-level
# hooks only for keys that reach one of its own windows: with a non-Wine X
# client focused, Wine sees no key at all, so that case cannot be shown
# here.
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
		PARLEY_HOST=1 PARLEY_HOST_ADDR=127.0.0.1 PARLEY_HOST_PORT="$(shuf -i 20000-60000 -n 1)" \
		PARLEY_USER=alice PARLEY_PASSWORD="correct horse battery" PARLEY_SIGNUP=1 \
		PARLEY_LOG_LEVEL=debug LANG=C.UTF-8 \
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

# count RE: how many log lines match. wait_log RE N WHAT: until more than
# N lines match (the log is a file: polled).
count() { grep -cE "$1" "$log" || true; }
wait_log() {
	i=0
	until [ "$(count "$1")" -gt "$2" ]; do
		kill -0 "$app_pid" 2>/dev/null || { tail -n 30 "$log" >&2; fail "the exe exited while waiting for $3"; }
		[ $i -ge 300 ] && { tail -n 30 "$log" >&2; fail "no $3 within 30 s"; }
		sleep 0.1
		i=$((i + 1))
	done
}
start_re='msg="talk key edge from other windows".*down=true'
stop_re='msg="talk key edge from other windows".*down=false'
cancel_re='msg="escape while the global talk key is held"'
wait_log 'msg="global talk key".*via="Windows keyboard hook"' 0 "keyboard hook"
wait_log 'msg="conversation shown"' 0 "open conversation"
# hold_and_escape WINDOW WHAT: F8 down, Escape, F8 up: withdrawn.
# hold WINDOW WHAT: F8 held for a second, then up: sent.
hold_and_escape() {
	xdotool windowfocus --sync "$1"
	n=$(count "$start_re") c=$(count 'msg="talk cancel"')
	xdotool keydown F8
	wait_log "$start_re" "$n" "talk start from the hook ($2)"
	xdotool key Escape
	wait_log 'msg="talk cancel"' "$c" "withdrawal by Escape ($2)"
	[ "$(count "$cancel_re")" -gt 0 ] || fail "Escape was not the hook's cancel ($2)"
	n=$(count "$stop_re")
	xdotool keyup F8
	wait_log "$stop_re" "$n" "talk key release ($2)"
	say "$2: F8 held, Escape withdrew the transmission through the hook"
}
hold() {
	xdotool windowfocus --sync "$1"
	n=$(count "$start_re") s=$(count 'msg="talk stop"')
	xdotool keydown F8
	wait_log "$start_re" "$n" "talk start from the hook ($2)"
	sleep 1 # the user holds the key this long
	xdotool keyup F8
	wait_log 'msg="talk stop"' "$s" "talk stop ($2)"
	say "$2: F8 held 1 s and released: sent"
}
hold_and_escape "$wid" "Parley's window focused"
hold "$wid" "Parley's window focused"
(cd "$tmp" && exec wine notepad) >"$tmp/notepad.log" 2>&1 &
notepad_pid=$!
if ! np=$(timeout 60 xdotool search --sync --onlyvisible --name 'Notepad' 2>/dev/null | head -n 1) || [ -z "$np" ]; then
	cat "$tmp/notepad.log" >&2
	fail "Wine's notepad did not open (the other window of the talk key check)"
fi
hold_and_escape "$np" "Wine's notepad focused"
hold "$np" "Wine's notepad focused"
kill "$notepad_pid" 2>/dev/null || true
xdotool windowfocus --sync "$wid"
sleep 2 # let the window repaint after the focus changes
kill -0 "$app_pid" 2>/dev/null || { tail -n 20 "$log" >&2; fail "the exe exited after showing its window"; }
import -display ":$d" -window root "$shot"
geom=$(xdotool getwindowgeometry "$wid" | awk '/Geometry/ {print $2}')
colours=$(identify -format '%k' "$shot")
say "screenshot $shot: window $geom, $colours colours"
[ "$colours" -ge 16 ] || fail "the screenshot is (nearly) blank: $colours colours"
say "ok: Parley.exe started under Wine and showed its window"
