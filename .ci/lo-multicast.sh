#!/bin/sh
# lo-multicast.sh lets mDNS tests run on the loopback interface only:
# they never touch the machine's real interfaces.
set -eu
if ! ip link show lo | grep -q MULTICAST; then
	sudo=""
	[ "$(id -u)" != 0 ] && sudo="sudo"
	$sudo ip link set lo multicast on
fi
