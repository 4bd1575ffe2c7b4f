#!/bin/bash
# cluster.sh runs Parley as a cluster on loopback and the tests that need
# one (make test-cluster; make test runs it):
#   one nats-server with JetStream (built from github.com/nats-io/nats-server/v2
#   into bin/tools), one private PostgreSQL (Debian's postgresql: initdb and
#   pg_ctl under a temp dir, unix socket only, run as nobody when root), and
#   three parleyd nodes (-store postgres://… -broker nats://…) sharing one
#   TLS certificate. Every process is stopped by PID when the script exits,
#   pass or fail.
#
# Usage:
#   cluster.sh [go test args…]   start everything, run the cluster tests, stop
#   cluster.sh load [args…]      start everything and run parleyload's cluster
#                                mode against it (make cluster-load; not in make test)
#   cluster.sh up                start everything and wait (Ctrl-C stops it);
#                                prints the env file the tests read
#   cluster.sh ctl ENV CMD NAME  used by the fault tests on a running cluster:
#                                CMD kill|start|stop, NAME node-a|node-b|node-c|nats|postgres
#
# PARLEY_CLUSTER_PPROF=1 serves each node's net/http/pprof on a loopback
# port of its own (the node's log says "pprof served at=…"); nats-server's
# monitoring (/varz, /jsz, /connz) is on 127.0.0.1:NATSMON.
#
# The tests read PARLEY_CLUSTER (the env file: node addresses, DSN, NATS
# URL, this script's path) and PARLEY_TEST_POSTGRES (a database of its own
# for the store tests).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/.ci/cluster.sh"
NATS_VERSION=v2.15.3
GO=${GO:-go}
export GOFLAGS=${GOFLAGS:--tags=nolibopusfile,migrated_fynedo,no_animations}

log() { echo "cluster.sh: $*" >&2; }

# pgbin finds Debian's PostgreSQL server binaries (not on PATH there).
pgbin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
	command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
	log "no PostgreSQL server binaries (apt-get install postgresql)"; exit 1
}

# as_pg runs a PostgreSQL command as its unprivileged owner when root.
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

# freeport prints a TCP port nothing listens on (127.0.0.1).
freeport() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Hltn "sport = :$p")" ] && { echo "$p"; return; }
	done
}

# waitfor CMD… retries CMD every 0.1 s for up to 30 s.
waitfor() {
	local i
	for i in $(seq 300); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# --- the components; each reads the env file written by up() ---

start_postgres() {
	local bin; bin=$(pgbin)
	as_pg "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 30 \
		-o "-k $PGDIR/sock -c listen_addresses= -p $PGPORT -c fsync=on -c synchronous_commit=on" start >/dev/null
	head -1 "$PGDIR/data/postmaster.pid" >"$STATE/pids/postgres"
}

start_nats() {
	"$ROOT/bin/tools/nats-server" -a 127.0.0.1 -p "$NATSPORT" -m "$NATSMON" -js -sd "$STATE/nats" -l "$STATE/nats.log" </dev/null >>"$STATE/nats.out" 2>&1 &
	echo $! >"$STATE/pids/nats"
	waitfor bash -c "exec 3<>/dev/tcp/127.0.0.1/$NATSPORT" || { log "nats-server did not start"; cat "$STATE/nats.log" >&2; exit 1; }
}

start_node() { # node-a|node-b|node-c
	local name=$1 port var
	var="PORT_${name#node-}"
	port=${!var}
	"$ROOT/bin/parleyd" -addr "127.0.0.1:$port" -data "$STATE/$name" -name "$name" -node "$name" -store "$DSN" ${BROKERURL:+-broker "$BROKERURL"} \
		-metrics-addr off -mdns off -log-level "${PARLEY_CLUSTER_LOG:-info}" -abandon-after 60s \
		${PARLEY_CLUSTER_PPROF:+-pprof 127.0.0.1:0} </dev/null >>"$STATE/$name.log" 2>&1 &
	echo $! >"$STATE/pids/$name"
	waitfor curl -skf "https://127.0.0.1:$port/healthz" || { log "$name did not start"; tail -20 "$STATE/$name.log" >&2; exit 1; }
}

# stop_pid NAME SIGNAL: signals the recorded process and waits for it.
stop_pid() {
	local name=$1 sig=${2:-TERM} pid i
	[ -f "$STATE/pids/$name" ] || return 0
	pid=$(cat "$STATE/pids/$name")
	rm -f "$STATE/pids/$name"
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for i in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	log "$name ($pid) still running after SIG$sig: SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

stop_component() { # NAME SIGNAL
	case $1 in
	# SIGINT is PostgreSQL's fast shutdown; SIGQUIT its immediate one (a
	# crash: recovery at the next start). SIGKILL of the postmaster would
	# leave its backends behind, so a kill is SIGQUIT.
	postgres) if [ "$2" = KILL ]; then stop_pid postgres QUIT; else stop_pid postgres INT; fi ;;
	*) stop_pid "$1" "$2" ;;
	esac
}

start_component() {
	case $1 in
	postgres) start_postgres ;;
	nats) start_nats ;;
	node-*) start_node "$1" ;;
	*) log "unknown component $1"; exit 2 ;;
	esac
}

stop_all() {
	local n
	for n in node-a node-b node-c; do stop_pid "$n" TERM; done
	stop_pid nats TERM
	stop_component postgres TERM
}

ctl() { # ENV CMD NAME
	# shellcheck disable=SC1090
	. "$1"
	case $2 in
	kill) stop_component "$3" KILL ;;
	stop) stop_component "$3" TERM ;;
	start) start_component "$3" ;;
	*) log "ctl: unknown command $2"; exit 2 ;;
	esac
}

up() {
	ulimit -n "$(ulimit -Hn)" # a thousand listeners over the nodes
	STATE=$(mktemp -d /tmp/parley-cluster-pg.XXXXXX)
	chmod 711 "$STATE"
	mkdir -p "$STATE/pids" "$STATE/nats"
	trap 'stop_all; rm -rf "$STATE"' EXIT
	trap 'exit 130' INT TERM

	log "building parleyd and nats-server $NATS_VERSION"
	(cd "$ROOT" && CGO_ENABLED=0 $GO build -o bin/parleyd ./server/cmd/parleyd)
	if ! "$ROOT/bin/tools/nats-server" --version 2>/dev/null | grep -qF "${NATS_VERSION#v}"; then
		(cd "$ROOT" && GOBIN="$ROOT/bin/tools" GOFLAGS= $GO install "github.com/nats-io/nats-server/v2@$NATS_VERSION")
	fi

	PGDIR="$STATE/pg"
	mkdir -p "$PGDIR/sock"
	[ "$(id -u)" = 0 ] && chown -R nobody "$PGDIR"
	chmod 700 "$PGDIR"
	PGPORT=5432
	as_pg "$(pgbin)/initdb" -D "$PGDIR/data" -U parley --auth=trust -E UTF8 --no-sync >"$STATE/initdb.log"
	NATSPORT=$(freeport)
	NATSMON=$(freeport) # monitoring (http://127.0.0.1:NATSMON/jsz), loopback
	DSN="postgres:///parley?host=$PGDIR/sock&port=$PGPORT&user=parley"
	NATSURL="nats://127.0.0.1:$NATSPORT"
	# PARLEY_CLUSTER_BROKER= (empty) runs the nodes without a broker.
	BROKERURL=${PARLEY_CLUSTER_BROKER-$NATSURL}
	PORT_a=$(freeport)
	PORT_b=$(freeport)
	PORT_c=$(freeport)
	cat >"$STATE/cluster.env" <<-EOF
		STATE=$STATE
		PGDIR=$PGDIR
		PGPORT=$PGPORT
		NATSPORT=$NATSPORT
		NATSMON=$NATSMON
		DSN='$DSN'
		NATSURL=$NATSURL
		BROKERURL=$BROKERURL
		PORT_a=$PORT_a
		PORT_b=$PORT_b
		PORT_c=$PORT_c
		NODES=127.0.0.1:$PORT_a,127.0.0.1:$PORT_b,127.0.0.1:$PORT_c
		CTL='$SELF ctl $STATE/cluster.env'
	EOF

	start_postgres
	as_pg "$(pgbin)/createdb" -h "$PGDIR/sock" -p "$PGPORT" -U parley parley
	as_pg "$(pgbin)/createdb" -h "$PGDIR/sock" -p "$PGPORT" -U parley parley_store
	start_nats
	# One certificate for the cluster: node-a makes it, the others take
	# a copy, so a client pins one fingerprint whichever node it reaches.
	start_node node-a
	for n in node-b node-c; do
		mkdir -p "$STATE/$n" && chmod 700 "$STATE/$n"
		cp "$STATE/node-a/tls.pem" "$STATE/$n/tls.pem"
	done
	start_node node-b
	start_node node-c
	log "up: nodes $PORT_a $PORT_b $PORT_c, nats $NATSPORT, postgres $PGDIR/sock (env $STATE/cluster.env)"
}

case ${1:-} in
ctl)
	shift
	ctl "$@"
	;;
load)
	shift
	up
	cd "$ROOT"
	$GO run ./server/cmd/parleyload -cluster "$STATE/cluster.env" "$@"
	;;
up)
	up
	cat "$STATE/cluster.env"
	log "running; Ctrl-C stops it"
	# wait, unlike a foreground sleep, lets a signal sent to this script
	# alone run the stopping trap at once.
	while :; do sleep 3600 & wait $!; done
	;;
*)
	up
	start=$SECONDS
	export PARLEY_CLUSTER="$STATE/cluster.env" PARLEY_TEST_CLUSTER=1
	export PARLEY_TEST_POSTGRES="postgres:///parley_store?host=$PGDIR/sock&port=$PGPORT&user=parley"
	cd "$ROOT"
	status=0
	$GO test -race -count=1 -timeout 10m ./server/pgstore/ || status=$?
	$GO test -count=1 -timeout 15m -run '^TestCluster' "$@" ./server/ || status=$?
	log "tests took $((SECONDS - start)) s"
	if [ $status != 0 ]; then
		for n in node-a node-b node-c; do echo "--- $n.log (tail)"; tail -30 "$STATE/$n.log"; done >&2
	fi
	exit $status
	;;
esac
