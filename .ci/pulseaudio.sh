#!/bin/sh
# pulseaudio.sh starts a private PulseAudio daemon for Parley's audio tests
# when none is reachable, and prints the PULSE_SERVER value to use.
#
# The daemon runs as the current user (root is fine) with its runtime
# directory in $PARLEY_PULSE_DIR (default /tmp/parley-pulse), the native
# protocol on $PARLEY_PULSE_DIR/pulse/native, no network modules, and one
# null sink "parley_default" as the default sink. Shared memory is off:
# PulseAudio 16 aborts after a few dozen client connections with shm/memfd.
# The tests in ./audio find the daemon at the same path without any
# environment variable, and run this script themselves when it is absent.
set -eu

dir="${PARLEY_PULSE_DIR:-/tmp/parley-pulse}"
sock="$dir/pulse/native"
server="unix:$sock"

if PULSE_SERVER="$server" pactl info >/dev/null 2>&1; then
	echo "$server"
	exit 0
fi

if ! command -v pulseaudio >/dev/null 2>&1; then
	echo "pulseaudio.sh: pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils)" >&2
	exit 1
fi

mkdir -p "$dir/pulse" "$dir/config/pulse" "$dir/state"
chmod 700 "$dir"
cat >"$dir/config/pulse/daemon.conf" <<CONF
enable-shm = no
enable-memfd = no
exit-idle-time = -1
flat-volumes = no
default-sample-rate = 48000
avoid-resampling = yes
CONF

XDG_RUNTIME_DIR="$dir" XDG_CONFIG_HOME="$dir/config" XDG_STATE_HOME="$dir/state" \
HOME="$dir" PULSE_STATE_PATH="$dir/state" \
	pulseaudio --daemonize=yes --exit-idle-time=-1 -n \
	--use-pid-file=yes --system=no --disallow-exit=no \
	--log-target=file:"$dir/pulse.log" \
	--load="module-native-protocol-unix auth-anonymous=1 socket=$sock" \
	--load="module-null-sink sink_name=parley_default sink_properties=device.description=ParleyDefault rate=48000" \
	--load="module-always-sink" \
	-F /dev/null \
	--disable-shm=yes 2>"$dir/start.err" || true

i=0
while [ $i -lt 50 ]; do
	if PULSE_SERVER="$server" pactl info >/dev/null 2>&1; then
		PULSE_SERVER="$server" pactl set-default-sink parley_default >/dev/null 2>&1 || true
		echo "$server"
		exit 0
	fi
	i=$((i + 1))
	sleep 0.1
done
echo "pulseaudio.sh: daemon did not come up; see $dir/start.err and $dir/pulse.log" >&2
cat "$dir/start.err" >&2 || true
exit 1
