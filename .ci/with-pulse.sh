#!/bin/sh
# with-pulse.sh runs a command with Parley's private PulseAudio daemon
# (.ci/pulseaudio.sh) up, and stops the daemon afterwards, by PID, if this
# script started it, whether the command passed or not. A daemon that was
# already running is left alone. Usage: with-pulse.sh command [args...]
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
dir="${PARLEY_PULSE_DIR:-/tmp/parley-pulse}"
server="unix:$dir/pulse/native"

started=""
if ! PULSE_SERVER="$server" pactl info >/dev/null 2>&1; then
	"$here/pulseaudio.sh" >/dev/null
	started=1
fi

stop() {
	[ -n "$started" ] || return 0
	pidfile="$dir/pulse/pid"
	if [ -f "$pidfile" ]; then
		pid="$(cat "$pidfile")"
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$pidfile"
	fi
}
trap stop EXIT INT TERM

PULSE_SERVER="$server" "$@"
