#!/bin/sh
# bench.sh is `make bench`: the Go micro-benchmarks (wire, server, audio),
# summarized, then the load scenarios of server/cmd/parleyload against a
# bare fan-out baseline. Results: bench-results/results.md (also printed),
# bench-results/fanout.png, and the raw benchmark output in
# bench-results/micro.txt.
#
# parleyd is driven over TLS (wss://, its certificate pinned by the
# fingerprint it logs); the bare baseline speaks plain ws://, so the
# "parley ÷ baseline" ratios include the cost of TLS.
#
# PARLEYLOAD_FLAGS passes flags to parleyload (e.g. -quick);
# BENCHTIME sets go test -benchtime (default 300ms).
#
# One run's tail latencies move with whatever else the machine runs (see
# the "machine busy %" column). To compare, repeat the fan-out pairs and
# read the median ratio, and profile the server (pprof on 127.0.0.1 only):
#   PARLEYLOAD_FLAGS="-only fanout -n 200,1000 -repeat 3" make bench
#   PARLEYLOAD_FLAGS="-only fanout,store -n 1000 -pprof bench-results/pprof" make bench
set -eu
cd "$(dirname "$0")/.."
out=bench-results
mkdir -p "$out"
benchtime="${BENCHTIME:-300ms}"

echo "bench: micro-benchmarks (benchtime $benchtime)" >&2
: >"$out/micro.txt"
for pkg in ./server/wire ./server ./audio; do
	tags=""
	[ "$pkg" = ./audio ] && tags="-tags=nolibopusfile"
	# A package without benchmarks, or one that cannot build here, must
	# not stop the load run: its failure is kept in micro.txt.
	if ! go test $tags -run '^$' -bench . -benchmem -benchtime "$benchtime" -count 1 "$pkg" >>"$out/micro.txt" 2>&1; then
		echo "bench: benchmarks of $pkg failed (see $out/micro.txt)" >&2
	fi
done
grep -E '^(pkg:|Benchmark)' "$out/micro.txt" >&2 || true

echo "bench: load scenarios" >&2
go build -o "$out/parleyload" ./server/cmd/parleyload
# shellcheck disable=SC2086
"$out/parleyload" -out "$out" -micro "$out/micro.txt" ${PARLEYLOAD_FLAGS:-}
rm -f "$out/parleyload"
