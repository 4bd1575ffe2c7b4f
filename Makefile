# Parley. `make run` starts the app, `make test` runs every test; both
# install the Debian packages they need first.

GO       ?= go
# migrated_fynedo: every UI call is on Fyne's thread (ui only touches widgets
# there, goroutines go through fyne.Do), so Fyne's per-Refresh thread check
# (runtime.Stack) is off; FyneApp.toml says the same to fyne package.
# no_animations: no blinking cursor, which repainted the whole window about
# 12 times a second while the message field had focus (see make cpu).
TAGS     := nolibopusfile,migrated_fynedo,no_animations
GOFLAGS  := -tags=$(TAGS)
export GOFLAGS
# Fyne with Parley's patch (an idle window waits for events instead of
# ticking at 60 Hz; third_party/fyne/README.md): .ci/fyne-fork.sh copies the
# pinned Fyne from the module cache into build/fyne, applies the patch and
# writes build/go.work, which every go command below uses through GOWORK.
# The fork target runs it before them; it does nothing when build/fyne is
# up to date (its stamp: Fyne's version and the patches' hash).
GOWORK   := $(CURDIR)/build/go.work
export GOWORK
BIN      := bin
# Packages that do not link Fyne run under the race detector (audio too).
CORE     := ./server/... ./sync/... ./internal/...
GUI      := ./ui/... ./assets/... ./app/...
FUZZTIME ?= 30s
# Tools the tests run, installed at pinned versions into TOOLS.
TOOLS    := $(CURDIR)/$(BIN)/tools
STATICCHECK_VERSION := v0.8.2

.PHONY: fork run test test-cluster cluster-load e2e parleyd app bench cpu package fuzz vet tidy-check staticcheck deps-build deps-test clean

deps-build:
	@./.ci/deps.sh build

deps-test:
	@./.ci/deps.sh test

fork:
	@./.ci/fyne-fork.sh

## run: build and start the desktop app.
run: deps-build fork
	$(GO) build -o $(BIN)/parley .
	./$(BIN)/parley

## parleyd: the headless server, pure Go (no cgo, no GUI, no audio).
parleyd: fork
	CGO_ENABLED=0 $(GO) build -o $(BIN)/parleyd ./server/cmd/parleyd

## test: module hygiene, vet and staticcheck, then every test; race
## detector on for the non-GUI packages. The real-time audio tests run on
## their own, so that other packages' tests do not starve the audio threads
## of a two-core machine. The private PulseAudio daemon they need is started
## and stopped by .ci/with-pulse.sh. PARLEY_TEST_PULSE=1 makes a test that
## needs PulseAudio fail, not skip, where it is missing (internal/pulsetest
## starts a daemon of its own). fyne-tests.sh runs Fyne's own tests of the
## driver on the patched Fyne (third_party/fyne).
test: deps-test fork tidy-check vet staticcheck
	@./.ci/lo-multicast.sh
	PARLEY_TEST_PULSE=1 $(GO) test -race -count=1 -timeout 20m $(CORE)
	./.ci/with-pulse.sh env PARLEY_TEST_PULSE=1 $(GO) test -race -count=1 -timeout 20m ./audio/...
	./.ci/with-pulse.sh env PARLEY_TEST_GUI=1 $(GO) test -count=1 -timeout 20m $(GUI)
	./.ci/fyne-tests.sh
	./.ci/cluster.sh
	./.ci/e2e.sh

## e2e: the end-to-end scenarios (live, later, parleyd killed, lossy
## network): two app processes, parleyd, PulseAudio, Xvfb (needs root for
## the lossy network namespace). E2E=-run=TestLive picks one.
e2e: deps-test fork
	./.ci/e2e.sh $(E2E)

## test-cluster: the cluster rig (.ci/cluster.sh, run by make test, about
## 1.5-2 minutes): nats-server with JetStream, a private PostgreSQL and
## three parleyd nodes on loopback, the PostgreSQL store's tests and the
## cluster scenarios against them; every process is stopped by PID at the
## end. CLUSTER=-run=TestClusterX picks one.
test-cluster: deps-test fork
	./.ci/cluster.sh $(CLUSTER)

## cluster-load: parleyload's cluster mode on the same rig: fan-out p99 and
## loss at N = 200 and 1000 with listeners on other nodes than the talker,
## next to a single SQLite node in the same run (results in
## bench-results/cluster/). Heavy: not part of make test. LOAD=-quick.
cluster-load: deps-test fork
	./.ci/cluster.sh load -out bench-results/cluster $(LOAD)

## tidy-check: fails when `go mod tidy` would change go.mod or go.sum.
tidy-check: fork
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'" >&2; exit 1; }

## staticcheck: honnef.co/go/tools at a pinned version, over every package.
staticcheck: fork
	@$(TOOLS)/staticcheck -version 2>/dev/null | grep -qF "($(STATICCHECK_VERSION:v%=%))" || GOBIN=$(TOOLS) GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(TOOLS)/staticcheck -tags $(TAGS) ./...

## bench: micro-benchmarks, then the load scenarios against a bare baseline
## (results in bench-results/). Not part of make test.
bench: deps-build fork
	./.ci/bench.sh

## cpu: the real app's CPU use from /proc, idle and listening to a live
## message (app/cpu_test.go; PARLEY_CPU_PROFILE=dir adds pprof profiles).
## A measurement that prints numbers, not part of make test.
cpu: deps-test fork
	./.ci/with-pulse.sh env PARLEY_CPU=1 PARLEY_TEST_GUI=1 $(GO) test -count=1 -v -run '^TestCPU$$' -timeout 15m ./app/

## package: the Linux installable archive through the fyne CLI (dist/).
package: deps-build fork
	./.ci/package.sh

## fuzz: run each fuzz target for FUZZTIME (make test runs their seed corpora).
fuzz: fork
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEnvelope$$' -fuzztime $(FUZZTIME) ./server/wire
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFrame$$' -fuzztime $(FUZZTIME) ./server/wire

vet: fork
	$(GO) vet ./...

clean:
	rm -rf $(BIN) dist build/fyne build/go.work build/go.work.sum build/.fyne-fork.lock
