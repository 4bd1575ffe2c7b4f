#!/bin/sh
# deps.sh installs the Debian packages a make target needs, only those
# missing, through sudo when not root. Usage: deps.sh build|test|package|fork
set -eu

build="gcc pkg-config libgl1-mesa-dev xorg-dev libwayland-dev libxkbcommon-dev libopus-dev libopusfile-dev libspeexdsp-dev"
case "${1:-build}" in
build) want="$build" ;;
test) want="$build xvfb xdotool x11-utils dbus-daemon dbus-bin imagemagick pulseaudio pulseaudio-utils espeak-ng sox opus-tools ffmpeg iproute2 nftables fonts-droid-fallback postgresql curl" ;;
package) want="$build xz-utils" ;;
fork) want="patch" ;;
*) echo "deps.sh: unknown set $1" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo="sudo"
fi
echo "deps.sh: installing$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing
