// Command parleyload measures Parley's server under load, side by side
// with a bare fan-out baseline, in one invocation.
//
// It builds cmd/parleyd (CGO_ENABLED=0, unless -parleyd names a binary),
// starts it on 127.0.0.1 with a fresh data folder for every scenario,
// registers real accounts (argon2id at the server's default cost; extra
// devices sign in with their token) and drives the real protocol over TLS
// (wss://, pinned to the fingerprint parleyd logs, as a client pins it). The same
// client shapes then run against the baseline: this binary started as
// "parleyload baseline", a plain gorilla/websocket rebroadcast server with
// no authentication, no storage and no TLS (so the ratios include TLS). Both servers are measured the same way:
// CPU from /proc/PID/stat over the talking window, peak RSS from VmHWM.
//
// Scenarios (all on loopback; every process is stopped by the tool):
//
//	fanout   1 talker, N listeners, N = 10, 50, 200, 1000; 20 ms packets of 60 bytes
//	rooms    20 conversations × (1 talker + 20 listeners) at once
//	idle     10 000 authenticated idle connections; memory per connection
//	store    200 talkers at once; committed packets/s and ack latency
//	catchup  a user who missed 1 000 voice messages: sync, then the first fetch
//	cluster  with -cluster ENV only (the env file of .ci/cluster.sh up; make
//	         cluster-load): fan-out N = 200, 1000 across the cluster's nodes (talker
//	         on the last node, listeners on the others) next to a fresh single-node
//	         parleyd (SQLite) in the same run
//
// Every packet carries its send time (tool clock) in its first 8 bytes, so
// each delivered packet's latency is measured; loss is packets sent × listeners
// minus packets delivered within 5 s of the last send.
//
// Usage:
//
//	parleyload [-quick] [-cluster ENV] [-only fanout,rooms,idle,store,catchup,cluster] [-n 200,1000] [-repeat K] [-distinct] [-out DIR] [-micro FILE] [-pprof DIR] [-toolprof FILE]
//
// The results table (Markdown) is printed and written to DIR/results.md,
// the fan-out latency distributions to DIR/fanout.png.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "baseline":
		err = runBaseline(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "profiled-parleyd":
		err = runProfiledParleyd(os.Args[2:])
	default:
		err = run(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "parleyload:", err)
		os.Exit(1)
	}
}

// config is what a run measures.
type config struct {
	fanoutN     []int
	fanoutDur   time.Duration
	rooms       int
	roomSize    int
	roomsDur    time.Duration
	idleConns   int
	storeTalk   int
	storeDur    time.Duration
	storeFlat   time.Duration
	catchupMsgs int
	only        map[string]bool
	pprof       string // profile folder, "" for none
	repeat      int    // fan-out runs per N (interleaved baseline, parley)
	cluster     string // the cluster's env file, "" for none
	distinct    bool   // one device per listening user (-distinct)
}

func (c config) want(s string) bool { return len(c.only) == 0 || c.only[s] }

func fullConfig() config {
	return config{
		fanoutN: []int{10, 50, 200, 1000}, fanoutDur: 15 * time.Second,
		rooms: 20, roomSize: 20, roomsDur: 15 * time.Second,
		idleConns: 10000,
		storeTalk: 200, storeDur: 10 * time.Second, storeFlat: 5 * time.Second,
		catchupMsgs: 1000,
	}
}

func quickConfig() config {
	c := fullConfig()
	c.fanoutDur, c.roomsDur, c.storeDur, c.storeFlat = 3*time.Second, 3*time.Second, 3*time.Second, 2*time.Second
	return c
}

// env is what every scenario shares.
type env struct {
	parleyd string // binary
	self    string // this binary, for the baseline subprocess
	selfPID int
	work    string // scratch folder, removed at the end
	pprof   string // folder for server profiles; "" for none
	log     func(format string, args ...any)
	// perAccount is how many listening devices share one account
	// (listenersPerAccount, or 1 with -distinct).
	perAccount int
}

func run(args []string) error {
	fs := flag.NewFlagSet("parleyload", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "short durations (3 s talking instead of 15 s)")
	only := fs.String("only", "", "comma-separated scenarios: fanout,rooms,idle,store,catchup (default all)")
	out := fs.String("out", "bench-results", "folder for results.md and fanout.png")
	micro := fs.String("micro", "", "go test -bench output to summarize in the results")
	parleyd := fs.String("parleyd", "", "parleyd binary (default: build ./server/cmd/parleyd with CGO_ENABLED=0)")
	repeat := fs.Int("repeat", 1, "run each fan-out N this many times (baseline and parley interleaved); targets use the median")
	ns := fs.String("n", "", "fan-out listener counts, comma-separated (default 10,50,200,1000)")
	idle := fs.Int("idle", 0, "idle connections (default 10000)")
	toolProfile := fs.String("toolprof", "", "write this tool's own CPU profile to this file (is the load generator the bottleneck?)")
	cluster := fs.String("cluster", "", "a running cluster's env file (.ci/cluster.sh up): run the cluster scenario (alone unless -only says more)")
	distinct := fs.Bool("distinct", false, "fan-out and cluster: every listener a user of its own (one device each) instead of 100 devices per account; registering costs an argon2id hash per user")
	pprofDir := fs.String("pprof", "", "profile Parley's server (CPU, allocs, mutex, block, heap) into this folder; pprof listens on 127.0.0.1 only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	cfg.cluster = *cluster
	cfg.distinct = *distinct
	if *cluster != "" && *only == "" {
		*only = "cluster"
		if *ns == "" {
			*ns = "200,1000"
		}
	}
	if *only != "" {
		cfg.only = map[string]bool{}
		for _, s := range strings.Split(*only, ",") {
			cfg.only[strings.TrimSpace(s)] = true
		}
	}
	if *ns != "" {
		cfg.fanoutN = nil
		for _, s := range strings.Split(*ns, ",") {
			var n int
			if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
				return fmt.Errorf("-n: bad count %q", s)
			}
			cfg.fanoutN = append(cfg.fanoutN, n)
		}
	}
	if *idle > 0 {
		cfg.idleConns = *idle
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.pprof = *pprofDir
	cfg.repeat = max(1, *repeat)
	if *toolProfile != "" {
		f, err := os.Create(*toolProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.pprof != "" {
		if err := os.MkdirAll(cfg.pprof, 0o755); err != nil {
			return err
		}
	}
	rep, err := measure(ctx, cfg, *parleyd, func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "parleyload: "+format+"\n", a...)
	})
	if err != nil {
		return err
	}
	if *micro != "" {
		if rep.micro, err = parseMicro(*micro); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	md := rep.markdown()
	fmt.Print(md)
	if err := os.WriteFile(filepath.Join(*out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if len(rep.fanout) > 0 {
		if err := rep.plot(filepath.Join(*out, "fanout.png")); err != nil {
			return err
		}
	}
	return nil
}

// measure runs the scenarios cfg asks for and returns their results.
func measure(ctx context.Context, cfg config, parleyd string, log func(string, ...any)) (*report, error) {
	work, err := os.MkdirTemp("", "parleyload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if parleyd == "" {
		log("building parleyd (CGO_ENABLED=0)")
		if parleyd, err = buildParleyd(ctx, work); err != nil {
			return nil, err
		}
	}
	e := &env{parleyd: parleyd, self: self, selfPID: os.Getpid(), work: work, pprof: cfg.pprof, log: log, perAccount: listenersPerAccount}
	if cfg.distinct {
		e.perAccount = 1
	}
	rep := &report{cfg: cfg, started: time.Now()}
	limit := raiseFileLimit()
	rep.fileLimit = limit

	if cfg.want("fanout") {
		for _, n := range cfg.fanoutN {
			for round := 1; round <= max(1, cfg.repeat); round++ {
				for _, kind := range []string{"baseline", "parley"} {
					log("fan-out N=%d on %s (%v, round %d)", n, kind, cfg.fanoutDur, round)
					r, err := e.runFanout(ctx, kind, fmt.Sprintf("fan-out N=%d", n), 1, n, cfg.fanoutDur)
					if err != nil {
						return nil, fmt.Errorf("fan-out N=%d on %s: %w", n, kind, err)
					}
					r.round = round
					rep.fanout = append(rep.fanout, r)
				}
			}
		}
	}
	if cfg.cluster != "" && cfg.want("cluster") {
		nodes, err := joinClusterEnv(cfg.cluster)
		if err != nil {
			return nil, err
		}
		for _, n := range cfg.fanoutN {
			for round := 1; round <= max(1, cfg.repeat); round++ {
				name := fmt.Sprintf("fan-out N=%d", n)
				log("%s on one node (SQLite), round %d", name, round)
				single, err := e.runFanout(ctx, "parley", name, 1, n, cfg.fanoutDur)
				if err != nil {
					return nil, fmt.Errorf("%s on one node: %w", name, err)
				}
				log("%s across %d nodes, round %d", name, len(nodes.targets), round)
				multi, err := e.runClusterFanout(ctx, nodes, name, n, cfg.fanoutDur)
				if err != nil {
					return nil, fmt.Errorf("%s across the cluster: %w", name, err)
				}
				single.round, multi.round = round, round
				rep.cluster = append(rep.cluster, single, multi)
			}
		}
	}
	if cfg.want("rooms") {
		for _, kind := range []string{"baseline", "parley"} {
			log("rooms %d×(1+%d) on %s (%v)", cfg.rooms, cfg.roomSize, kind, cfg.roomsDur)
			r, err := e.runFanout(ctx, kind, fmt.Sprintf("rooms %d×(1+%d)", cfg.rooms, cfg.roomSize), cfg.rooms, cfg.roomSize, cfg.roomsDur)
			if err != nil {
				return nil, fmt.Errorf("rooms on %s: %w", kind, err)
			}
			rep.rooms = append(rep.rooms, r)
		}
	}
	if cfg.want("idle") {
		conns := cfg.idleConns
		// Each connection costs the tool one descriptor and the server
		// one; keep room for everything else.
		if maxConns := int(limit) - 200; conns > maxConns {
			rep.notes = append(rep.notes, fmt.Sprintf("idle: the open-file limit (%d) allows %d connections, not %d", limit, maxConns, conns))
			conns = maxConns
		}
		for _, kind := range []string{"baseline", "parley"} {
			log("idle %d connections on %s", conns, kind)
			r, err := e.runIdle(ctx, kind, conns)
			if err != nil {
				return nil, fmt.Errorf("idle on %s: %w", kind, err)
			}
			rep.idle = append(rep.idle, r)
		}
	}
	if cfg.want("store") {
		log("store: %d talkers (%v real time, %v flat out)", cfg.storeTalk, cfg.storeDur, cfg.storeFlat)
		r, err := e.runStore(ctx, cfg.storeTalk, cfg.storeDur, cfg.storeFlat)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		rep.store = r
	}
	if cfg.want("catchup") {
		log("catch-up: %d missed messages", cfg.catchupMsgs)
		r, err := e.runCatchup(ctx, cfg.catchupMsgs)
		if err != nil {
			return nil, fmt.Errorf("catch-up: %w", err)
		}
		rep.catchup = r
	}
	rep.took = time.Since(rep.started)
	return rep, nil
}
