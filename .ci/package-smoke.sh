#!/bin/sh
# package-smoke.sh checks that the packaged app starts: it unpacks the Linux
# archive into a temporary folder, starts the binary from it under a private
# Xvfb display with a fresh data folder and home, waits for the "Parley"
# window, saves a screenshot and stops the app.
#
#   ./.ci/package-smoke.sh [dist/Parley.tar.xz]
#
# The app only talks to loopback: mDNS is limited to lo (multicast is
# switched on for lo first; if that is impossible mDNS is off), audio uses
# the null backend, and no server is hosted or joined.
#
# Output: dist/package-smoke.png (the screenshot) and dist/package-smoke.log
# (the app's stderr). Fails when the window does not appear within
# PARLEY_SMOKE_TIMEOUT seconds (default 60), the app exits early, or the
# screenshot is blank.
set -eu

cd "$(dirname "$0")/.."
root=$(pwd)
archive="${1:-dist/Parley.tar.xz}"
timeout="${PARLEY_SMOKE_TIMEOUT:-60}"
shot="$root/dist/package-smoke.png"
log="$root/dist/package-smoke.log"

say() { echo "package-smoke: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

[ -f "$archive" ] || fail "no archive at $archive (run make package)"

# Tools: Xvfb, xdotool, imagemagick (import, identify), iproute2.
missing=""
for p in xvfb xdotool imagemagick iproute2 xz-utils; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	sudo=""
	[ "$(id -u)" != 0 ] && sudo="sudo"
	say "installing$missing"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

tmp=$(mktemp -d /tmp/parley-package-smoke.XXXXXX)
xvfb_pid=""
app_pid=""
stop() {
	# $1: pid. TERM, up to 5 s, then KILL.
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
	[ -n "$xvfb_pid" ] && stop "$xvfb_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Unpack, and find the binary the archive installs into bin/.
tar -xf "$archive" -C "$tmp"
bin=$(find "$tmp" -type f -path '*/bin/*' -perm -u+x | head -n 1)
[ -n "$bin" ] || fail "no executable under */bin/ in $archive"
desktop=$(find "$tmp" -name '*.desktop' | head -n 1)
[ -n "$desktop" ] || fail "no .desktop entry in $archive"
say "archive: $(cd "$tmp" && find . -type f | sort | tr '\n' ' ')"
if ldd "$bin" | grep -q 'not found'; then
	ldd "$bin" | grep 'not found' >&2
	fail "the packaged binary misses shared libraries"
fi

# A free display number.
d=90
while [ -e "/tmp/.X$d-lock" ] || [ -e "/tmp/.X11-unix/X$d" ]; do
	d=$((d + 1))
done
Xvfb ":$d" -screen 0 1280x800x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
i=0
until [ -e "/tmp/.X11-unix/X$d" ]; do
	kill -0 "$xvfb_pid" 2>/dev/null || fail "Xvfb :$d did not start: $(cat "$tmp/xvfb.log")"
	[ $i -ge 100 ] && fail "Xvfb :$d did not create its socket"
	sleep 0.1
	i=$((i + 1))
done
export DISPLAY=":$d"

# mDNS on loopback only.
mdns=lo
if ! ./.ci/lo-multicast.sh 2>/dev/null; then
	say "cannot enable multicast on lo; mDNS off"
	mdns=off
fi

mkdir -p "$tmp/home/.config" "$tmp/home/.local/share" "$tmp/home/.cache" "$tmp/data" "$tmp/runtime"
chmod 700 "$tmp/runtime"
say "starting $(basename "$bin") on :$d (data $tmp/data, mDNS $mdns, audio null)"
(
	cd "$tmp"
	exec env -u DBUS_SESSION_BUS_ADDRESS -u PULSE_SERVER \
		HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
		XDG_DATA_HOME="$tmp/home/.local/share" XDG_CACHE_HOME="$tmp/home/.cache" \
		XDG_RUNTIME_DIR="$tmp/runtime" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
		PARLEY_DATA="$tmp/data" PARLEY_MDNS_INTERFACES="$mdns" PARLEY_AUDIO=null \
		PARLEY_LOG_LEVEL=info \
		"$bin"
) >"$log" 2>&1 &
app_pid=$!

start=$(date +%s%N)
if ! wid=$(timeout "$timeout" xdotool search --sync --onlyvisible --name '^Parley' 2>/dev/null | head -n 1) || [ -z "$wid" ]; then
	tail -n 20 "$log" >&2
	kill -0 "$app_pid" 2>/dev/null || fail "the app exited before showing a window"
	fail "no window named Parley within ${timeout}s"
fi
ms=$((($(date +%s%N) - start) / 1000000))
say "window $wid \"$(xdotool getwindowname "$wid")\" after ${ms} ms"
# Let the first frames render, then check the app is still alive.
sleep 3
kill -0 "$app_pid" 2>/dev/null || { tail -n 20 "$log" >&2; fail "the app exited after showing its window"; }

import -display ":$d" -window root "$shot"
geom=$(xdotool getwindowgeometry "$wid" | awk '/Geometry/ {print $2}')
colours=$(identify -format '%k' "$shot")
mean=$(identify -format '%[fx:mean]' "$shot")
say "screenshot $shot: window $geom, $colours colours, mean $mean"
[ "$colours" -ge 16 ] || fail "the screenshot is (nearly) blank: $colours colours"
w=${geom%x*}
h=${geom#*x}
[ "$w" -ge 200 ] && [ "$h" -ge 200 ] || fail "the window is too small: $geom"

stop "$app_pid"
app_pid=""
say "ok: the packaged app started, showed its window and stopped"
