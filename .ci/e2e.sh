#!/bin/sh
# e2e.sh runs the end-to-end scenarios of ./e2e (make e2e, part of make
# test): two real app processes under Xvfb, a real parleyd on 127.0.0.1,
# a private PulseAudio daemon, and for the lossy scenario a network
# namespace with nftables (root). The tests stop what they start; this
# script then sweeps, by this run's own names, whatever a crash or a
# timeout left behind: the run's network namespace and veth, and its
# PulseAudio daemon (by its PID file). Extra arguments go to go test
# (e.g. -run TestLive).
#
set -u
cd "$(dirname "$0")/.."
# The app as make builds it: Fyne with third_party/fyne's patch.
./.ci/fyne-fork.sh
export GOWORK="$PWD/build/go.work"

run="$$"
export PARLEY_E2E_RUN="$run" PARLEY_TEST_E2E=1 GOFLAGS=-tags=nolibopusfile,migrated_fynedo,no_animations

sweep() {
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^parley-e2e-$run-" || true); do
		echo "e2e.sh: removing leftover namespace $ns" >&2
		ip netns del "$ns" || true
	done
	veth="pe$((run % 100000))h"
	if ip link show "$veth" >/dev/null 2>&1; then
		echo "e2e.sh: removing leftover veth $veth" >&2
		ip link del "$veth" || true
	fi
	pidfile="/tmp/parley-pulse-e2e-$run/pulse/pid"
	if [ -f "$pidfile" ]; then
		pid="$(cat "$pidfile")"
		if kill -0 "$pid" 2>/dev/null; then
			echo "e2e.sh: stopping leftover PulseAudio $pid" >&2
			kill "$pid" || true
		fi
	fi
	rm -rf "/tmp/parley-pulse-e2e-$run"
}
trap sweep EXIT INT TERM

scenarios='TestLive|TestLater|TestServerKilled|TestLossyNetwork|TestLateJoin'
go test -count=1 -timeout 9m -v -run "^($scenarios)\$" "$@" ./e2e/
