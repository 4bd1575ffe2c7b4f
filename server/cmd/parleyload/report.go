package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is everything one invocation measured.
type report struct {
	cfg       config
	started   time.Time
	took      time.Duration
	fileLimit uint64
	fanout    []fanoutResult // baseline, parley per N
	rooms     []fanoutResult
	cluster   []fanoutResult // parley (one node, SQLite), cluster per N
	idle      []idleResult
	store     []storeResult
	catchup   []catchupResult
	micro     []microResult
	notes     []string
}

func f1(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.1f", v)
}

func f2(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func times(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

// pair finds the baseline and Parley results of one run name (the last
// round when runs were repeated).
func pair(rs []fanoutResult, name string) (base, par *fanoutResult) {
	ps := pairs(rs, name)
	if len(ps) == 0 {
		return nil, nil
	}
	return ps[len(ps)-1][0], ps[len(ps)-1][1]
}

// pairs returns the baseline and Parley results of one run name, one pair
// per round; either may be nil.
func pairs(rs []fanoutResult, name string) [][2]*fanoutResult {
	var out [][2]*fanoutResult
	byRound := map[int]int{}
	for i := range rs {
		if rs[i].name != name {
			continue
		}
		j, ok := byRound[rs[i].round]
		if !ok {
			j = len(out)
			byRound[rs[i].round] = j
			out = append(out, [2]*fanoutResult{})
		}
		if rs[i].system == "baseline" {
			out[j][0] = &rs[i]
		} else {
			out[j][1] = &rs[i]
		}
	}
	return out
}

// median returns the median of vs (NaN for none).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	vs = slices.Clone(vs)
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

func (r *report) fanoutTable(b *strings.Builder, rs []fanoutResult) {
	b.WriteString("| run | server | delivered / expected | loss | p50 ms | p90 ms | p99 ms | max ms | server CPU % | peak RSS MiB | tool CPU % | machine busy % |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	seen := map[string]bool{}
	for _, x := range rs {
		if seen[x.name] {
			continue
		}
		seen[x.name] = true
		ps := pairs(rs, x.name)
		for _, p := range ps {
			base, par := p[0], p[1]
			name := x.name
			if len(ps) > 1 {
				round := 0
				for _, v := range p {
					if v != nil {
						round = v.round
					}
				}
				name = fmt.Sprintf("%s #%d", x.name, round)
			}
			for _, v := range []*fanoutResult{base, par} {
				if v == nil {
					continue
				}
				fmt.Fprintf(b, "| %s | %s | %d / %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, v.system, v.received, v.expected, v.loss(),
					f2(ms(v.lat.q(.5))), f2(ms(v.lat.q(.9))), f2(ms(v.lat.q(.99))), f2(ms(v.lat.max())), f1(v.cpu), mib(v.peakKiB), f1(v.toolCPU), f1(v.machine))
			}
			if base != nil && par != nil {
				fmt.Fprintf(b, "| %s | **parley ÷ baseline** | | | %s | %s | %s | %s | %s | %s | | |\n", name,
					times(ratio(ms(par.lat.q(.5)), ms(base.lat.q(.5)))), times(ratio(ms(par.lat.q(.9)), ms(base.lat.q(.9)))),
					times(ratio(ms(par.lat.q(.99)), ms(base.lat.q(.99)))), times(ratio(ms(par.lat.max()), ms(base.lat.max()))),
					times(ratio(par.cpu, base.cpu)), times(ratio(float64(par.peakKiB), float64(base.peakKiB))))
			}
		}
	}
}

func medianOf(n int) string {
	if n < 2 {
		return ""
	}
	return fmt.Sprintf(" (median of %d runs)", n)
}

// goal is one line of the targets.
type goal struct {
	what, measured string
	ok             bool
}

func (r *report) targets() []goal {
	var ts []goal
	hit := func(what string, ok bool, format string, a ...any) {
		ts = append(ts, goal{what: what, measured: fmt.Sprintf(format, a...), ok: ok})
	}
	if ps := pairs(r.fanout, "fan-out N=200"); len(ps) > 0 {
		var lost, expected int64
		var p99s, cpus []float64
		var detail []string
		for _, p := range ps {
			base, par := p[0], p[1]
			if par == nil {
				continue
			}
			lost, expected = lost+par.loss(), expected+par.expected
			if base != nil {
				q := ratio(ms(par.lat.q(.99)), ms(base.lat.q(.99)))
				p99s, cpus = append(p99s, q), append(cpus, ratio(par.cpu, base.cpu))
				detail = append(detail, fmt.Sprintf("%s vs %s ms = %s", f2(ms(par.lat.q(.99))), f2(ms(base.lat.q(.99))), times(q)))
			}
		}
		hit("N=200: loss 0", lost == 0, "%d lost of %d", lost, expected)
		if len(p99s) > 0 {
			what := strings.Join(detail, "; ")
			if len(p99s) > 1 {
				what = fmt.Sprintf("median %s (%s)", times(median(p99s)), what)
			}
			hit("N=200: p99 ≤ 1.3 × baseline p99", median(p99s) <= 1.3, "%s", what)
			hit("N=200: server CPU ≤ 2 × baseline", median(cpus) <= 2, "%s%s", times(median(cpus)), medianOf(len(cpus)))
		}
	}
	if ps := pairs(r.fanout, "fan-out N=1000"); len(ps) > 0 {
		var lost, expected int64
		var p99s []float64
		for _, p := range ps {
			if par := p[1]; par != nil {
				lost, expected = lost+par.loss(), expected+par.expected
				p99s = append(p99s, ms(par.lat.q(.99)))
			}
		}
		hit("N=1000: loss 0", lost == 0, "%d lost of %d", lost, expected)
		if len(p99s) > 0 {
			hit("N=1000: p99 < 20 ms", median(p99s) < 20, "%s ms%s", f2(median(p99s)), medianOf(len(p99s)))
		}
	}
	for _, x := range r.idle {
		if x.system == "parley" {
			hit("idle: ≤ 20 KB server memory per connection", x.perConnKiB()*1024 <= 20000, "%.1f KiB (%.0f bytes) × %d connections", x.perConnKiB(), x.perConnKiB()*1024, x.conns)
		}
	}
	for i, x := range r.store {
		if i == 0 {
			hit("store: p99 ack ≤ 50 ms (200 real-time talkers, 10 000 packets/s offered)", x.ack.q(.99) <= 50*time.Millisecond, "p99 %s ms at %.0f packets/s", f2(ms(x.ack.q(.99))), x.rate)
		} else {
			hit("store: ≥ 10 000 packets/s committed (flat out)", x.rate >= 10000, "%.0f packets/s", x.rate)
		}
	}
	r.clusterTargets(hit)
	for _, x := range r.catchup {
		hit(fmt.Sprintf("catch-up of %d messages, %s: metadata < 1 s", x.messages, x.path), x.metadata < time.Second, "%s ms", f1(ms(x.metadata)))
	}
	return ts
}

func (r *report) markdown() string {
	var b strings.Builder
	mode := "full"
	if r.cfg.fanoutDur < 15*time.Second {
		mode = "quick"
	}
	fmt.Fprintf(&b, "# Parley load results\n\n%s run, %s, %d CPUs, %s/%s, %s; took %s. All traffic on 127.0.0.1; both servers are separate processes on the same machine as the load generator.\n\n",
		mode, r.started.Format("2006-01-02 15:04"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), r.took.Round(time.Second))
	if ts := r.targets(); len(ts) > 0 {
		b.WriteString("## Targets\n\n| target | measured | |\n|---|---|---|\n")
		for _, t := range ts {
			res := "**hit**"
			if !t.ok {
				res = "**missed**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", t.what, t.measured, res)
		}
		b.WriteString("\n")
	}
	if len(r.fanout) > 0 {
		fmt.Fprintf(&b, "## Fan-out: 1 talker × N listeners, one %d-byte packet per 20 ms for %s\n\n", packetBytes, r.cfg.fanoutDur)
		r.fanoutTable(&b, r.fanout)
		b.WriteString("\nLatency: talker's send → listener's read, per delivered packet (tool clock). CPU: % of one core over the talking window. Tool CPU: the load generator's own (it reads every delivered packet). Machine busy: % of all cores used by any process in the window; near 100 the figures measure contention, not the servers. Distribution plot: fanout.png.\n\n")
	}
	if len(r.cluster) > 0 {
		fmt.Fprintf(&b, "## Cluster: 1 talker on one node × N listeners on the others, one %d-byte packet per 20 ms for %s\n\n", packetBytes, r.cfg.fanoutDur)
		b.WriteString("| run | server | delivered / expected | loss | duplicates | p50 ms | p90 ms | p99 ms | max ms | server CPU % (all nodes) | peak RSS MiB (largest node) | tool CPU % | machine busy % |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, v := range r.cluster {
			system := "one node (SQLite)"
			if v.system == "cluster" {
				system = "cluster (PostgreSQL, JetStream)"
			}
			fmt.Fprintf(&b, "| %s #%d | %s | %d / %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", v.name, v.round, system, v.received, v.expected, v.loss(), v.dups,
				f2(ms(v.lat.q(.5))), f2(ms(v.lat.q(.9))), f2(ms(v.lat.q(.99))), f2(ms(v.lat.max())), f1(v.cpu), mib(v.peakKiB), f1(v.toolCPU), f1(v.machine))
		}
		b.WriteString("\nThe single node is a fresh parleyd on SQLite started by this tool; the cluster is the one .ci/cluster.sh started (its nodes share PostgreSQL and NATS JetStream, all on this machine). Cluster CPU is the sum over every node.\n\n")
	}
	r.connectTable(&b)
	if len(r.rooms) > 0 {
		fmt.Fprintf(&b, "## Many rooms: %d conversations × (1 talker + %d listeners) at once, %s\n\n", r.cfg.rooms, r.cfg.roomSize, r.cfg.roomsDur)
		r.fanoutTable(&b, r.rooms)
		b.WriteString("\n")
	}
	if len(r.idle) > 0 {
		b.WriteString("## Idle scale\n\n| server | connections | connect time s | RSS before MiB | RSS with all MiB | per connection KiB | peak RSS MiB | idle CPU % |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
		var base, par *idleResult
		for i, x := range r.idle {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", x.system, x.conns, f1(x.connectTime.Seconds()), mib(x.baseKiB), mib(x.rssKiB), f1(x.perConnKiB()), mib(x.peakKiB), f1(x.cpu))
			if x.system == "parley" {
				par = &r.idle[i]
			} else {
				base = &r.idle[i]
			}
		}
		if base != nil && par != nil {
			fmt.Fprintf(&b, "| **parley ÷ baseline** | | | | | %s | %s | |\n", times(ratio(par.perConnKiB(), base.perConnKiB())), times(ratio(float64(par.peakKiB), float64(base.peakKiB))))
		}
		b.WriteString("\nParley's connections are signed in (token hello, presence, events); the baseline's are bare WebSockets. Per connection = (RSS with all − RSS before) ÷ connections.\n\n")
	}
	if len(r.store) > 0 {
		b.WriteString("## Store: talkers each in a conversation of their own (no fan-out), every packet committed to SQLite (WAL, synchronous=FULL) before its ack\n\n")
		b.WriteString("| phase | sent | committed | committed/s | ack p50 ms | ack p90 ms | ack p99 ms | ack max ms | server CPU % | peak RSS MiB | commits | mean commit ms | packets/commit | machine busy % |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, x := range r.store {
			fmt.Fprintf(&b, "| %s | %d | %d | %.0f | %s | %s | %s | %s | %s | %s | %.0f | %s | %s | %s |\n", x.phase, x.sent, x.committed, x.rate,
				f2(ms(x.ack.q(.5))), f2(ms(x.ack.q(.9))), f2(ms(x.ack.q(.99))), f2(ms(x.ack.max())), f1(x.cpu), mib(x.peakKiB),
				x.commits, f2(x.commitMs), f1(x.commitBatch), f1(x.machine))
		}
		b.WriteString("\nAck latency: packet sent → first voice.ack whose upto covers it. committed/s = packets acked ÷ (last ack − first send). Real time offers exactly 10 000 packets/s for 200 talkers, so its rate sits just under that; flat out shows the capacity (its ack latency is mostly the queue the window allows). Commits, mean commit and packets/commit come from parleyd's /metrics: the server's own time per transaction (fsync included); an ack p99 far above it was spent queued for the CPU, in the server or in the tool. No baseline: it stores nothing.\n\n")
	}
	for _, x := range r.store {
		if len(x.errors) > 0 {
			fmt.Fprintf(&b, "Store, %s: the server answered packets with errors: %s.\n\n", x.phase, strings.Join(x.errors, ", "))
		}
	}
	if len(r.catchup) > 0 {
		b.WriteString("## Catch-up: a user who missed voice messages signs in\n\n| path | missed messages | events | sign-in ms | metadata ms | first packet of newest ms | whole newest message ms |\n|---|--:|--:|--:|--:|--:|--:|\n")
		for _, x := range r.catchup {
			ev := fmt.Sprint(x.events)
			if x.path != "raw protocol" {
				ev = "–"
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", x.path, x.messages, ev, f1(ms(x.signIn)), f1(ms(x.metadata)), f1(ms(x.firstAudio)), f1(ms(x.fullAudio)))
		}
		b.WriteString("\nRaw protocol: sync pages from cursor 0 until more=false. Sync engine: parley/sync with its SQLite cache, signing in with the password (argon2id) on a new device; metadata = syncing → caught up (events stored locally); prefetch off, so the fetch is on demand.\n\n")
	}
	if len(r.micro) > 0 {
		b.WriteString("## Micro-benchmarks\n\n| package | benchmark | ns/op | B/op | allocs/op | other |\n|---|---|--:|--:|--:|---|\n")
		for _, m := range r.micro {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", m.pkg, m.name, m.nsOp, m.bOp, m.allocs, m.other)
		}
		b.WriteString("\n")
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "Note: %s\n\n", n)
	}
	return b.String()
}

// microResult is one line of go test -bench output.
type microResult struct {
	pkg, name, nsOp, bOp, allocs, other string
}

// parseMicro reads go test -bench -benchmem output.
func parseMicro(path string) ([]microResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []microResult
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "parley/")
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 {
			continue
		}
		m := microResult{pkg: pkg, name: strings.TrimPrefix(fields[0], "Benchmark"), nsOp: "–", bOp: "–", allocs: "–"}
		var other []string
		for i := 2; i+1 < len(fields); i += 2 {
			v, unit := fields[i], fields[i+1]
			switch unit {
			case "ns/op":
				m.nsOp = v
			case "B/op":
				m.bOp = v
			case "allocs/op":
				m.allocs = v
			default:
				other = append(other, v+" "+unit)
			}
		}
		m.other = strings.Join(other, ", ")
		out = append(out, m)
	}
	return out, sc.Err()
}

// connectTable is the connect burst before each Parley fan-out run: how
// long N listeners took to sign in at once, the servers' CPU meanwhile,
// and the presence each listener was sent (snapshot and deltas) up to the
// end of the talking window.
func (r *report) connectTable(b *strings.Builder) {
	var rows []fanoutResult
	for _, x := range append(append([]fanoutResult(nil), r.fanout...), r.cluster...) {
		if x.system != "baseline" && x.connect > 0 {
			rows = append(rows, x)
		}
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("## Connect burst: every listener signs in at once (" + fmt.Sprint(connectWidth) + " at a time), then the talking window\n\n")
	b.WriteString("| run | server | listening users | devices | connect s | server CPU % (all nodes) | presence frames per listener (max) | presence KiB per listener (max) | NATS in / out MiB |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, x := range rows {
		system := "one node (SQLite)"
		if x.system == "cluster" {
			system = "cluster (PostgreSQL, JetStream)"
		}
		nats := "–"
		if x.natsIn > 0 || x.natsOut > 0 {
			nats = f1(float64(x.natsIn)/(1<<20)) + " / " + f1(float64(x.natsOut)/(1<<20))
		}
		fmt.Fprintf(b, "| %s #%d | %s | %d | %d | %s | %s | %s (%d) | %s (%s) | %s |\n", x.name, max(1, x.round), system, x.accounts, x.rooms*x.listeners,
			f2(x.connect.Seconds()), f1(x.connectCPU), f1(x.presenceFrames), x.presenceFramesMax, f1(x.presenceBytes/1024), f1(float64(x.presenceBytesMax)/1024), nats)
	}
	b.WriteString("\nConnect: first dial → last welcome. Presence: the frames of type presence each listener received from its welcome to the end of the talking window (the server's snapshot and every delta), whole frames. NATS: what nats-server received and sent over the connect burst (its /varz), all traffic of the nodes.\n\n")
}
