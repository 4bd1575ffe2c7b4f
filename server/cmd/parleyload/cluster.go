package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"parley/server"
	"parley/server/wire"
)

// Cluster mode (-cluster ENV, the env file .ci/cluster.sh up prints): the
// fan-out scenario against a running cluster of parleyd nodes, the talker
// on the last node and every listener on another node (spread round
// robin), next to a fresh single-node parleyd (SQLite) run in the same
// invocation. Target: cross-node p99 < 2 × single-node p99, loss 0.

// clusterNodes is a running cluster: one target per node (no process of
// this tool's: the script owns them) and the nodes' PIDs for CPU.
type clusterNodes struct {
	targets []*target
	pids    []int
	natsMon string // nats-server's monitoring address (host:port), "" if unknown
}

// natsBytes returns the bytes nats-server has received and sent so far
// (its /varz in_bytes and out_bytes).
func (c *clusterNodes) natsBytes(ctx context.Context) (in, out int64, err error) {
	if c.natsMon == "" {
		return 0, 0, fmt.Errorf("nats /varz: no NATSMON in the env file")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.natsMon+"/varz", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("nats /varz: %w", err)
	}
	defer resp.Body.Close()
	var v struct {
		In  int64 `json:"in_bytes"`
		Out int64 `json:"out_bytes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, 0, fmt.Errorf("nats /varz: %w", err)
	}
	return v.In, v.Out, nil
}

// joinClusterEnv reads the env file: NODES, STATE (pids/node-*, the
// nodes' shared certificate in node-a/tls.pem).
func joinClusterEnv(path string) (*clusterNodes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-cluster: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	if env["NODES"] == "" || env["STATE"] == "" {
		return nil, fmt.Errorf("-cluster %s: no NODES or STATE", path)
	}
	if _, err := os.Stat(filepath.Join(env["STATE"], "node-a", "tls.pem")); err != nil {
		return nil, fmt.Errorf("-cluster %s: the nodes' certificate: %w", path, err)
	}
	cert, err := server.LoadCertificate(filepath.Join(env["STATE"], "node-a"), "", false)
	if err != nil || cert.Created {
		return nil, fmt.Errorf("-cluster %s: the nodes' certificate: %v", path, err)
	}
	c := &clusterNodes{}
	if env["NATSMON"] != "" {
		c.natsMon = "127.0.0.1:" + env["NATSMON"]
	}
	for i, addr := range strings.Split(env["NODES"], ",") {
		name := fmt.Sprintf("node-%c", 'a'+i)
		b, err := os.ReadFile(filepath.Join(env["STATE"], "pids", name))
		if err != nil {
			return nil, fmt.Errorf("-cluster: pid of %s: %w", name, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("-cluster: pid of %s: %w", name, err)
		}
		c.targets = append(c.targets, &target{kind: "cluster", p: &proc{name: name, addr: addr, fingerprint: cert.Fingerprint}, dialer: newDialer(cert.Fingerprint)})
		c.pids = append(c.pids, pid)
	}
	if len(c.targets) < 2 {
		return nil, fmt.Errorf("-cluster %s: %d nodes, want at least 2", path, len(c.targets))
	}
	return c, nil
}

// runClusterFanout: one talker on the last node, listeners listeners on
// the other nodes, in a group of their own (the cluster's Lobby holds
// every earlier run's accounts), or in the Lobby when there are more
// accounts than a group may have (-distinct at N = 1000).
func (e *env) runClusterFanout(ctx context.Context, c *clusterNodes, name string, listeners int, dur time.Duration) (fanoutResult, error) {
	res := fanoutResult{name: name, system: "cluster", rooms: 1, listeners: listeners}
	talkNode := c.targets[len(c.targets)-1]
	others := c.targets[:len(c.targets)-1]
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	perRoom := (listeners + e.perAccount - 1) / e.perAccount
	res.accounts = perRoom
	talkers := make([]*peer, 1)
	all := make([]*listener, 0, listeners)
	var mu gosync.Mutex
	defer func() {
		peers := append([]*peer(nil), talkers...)
		for _, l := range all {
			peers = append(peers, l.peer)
		}
		closeAll(peers)
	}()
	if _, err := register(ctx, talkNode, "talker"+run+"x", 1, talkers); err != nil {
		return res, err
	}
	accs, err := register(ctx, others[0], "listener"+run+"x", perRoom, nil)
	if err != nil {
		return res, err
	}
	var members []string
	for _, a := range accs {
		members = append(members, a.user.ID)
	}
	var conv string
	if len(members) > wire.MaxGroupMembers {
		// A group this large cannot be made: they all share the Lobby
		// (with earlier runs' accounts, offline by now).
		conv, err = lobbyOf(ctx, talkers[0])
	} else {
		conv, err = createGroup(ctx, talkers[0], "cluster "+name, members)
	}
	if err != nil {
		return res, err
	}
	tl := newTally()
	in0, out0, natsErr := c.natsBytes(ctx)
	err = connectBurst(&res, c.pids, func() error {
		return parallel(ctx, listeners, connectWidth, func(ctx context.Context, i int) error {
			l := &listener{tally: tl}
			p, err := signIn(ctx, others[i%len(others)], accs[i%perRoom].token, func(p *peer) { p.onBinary = l.onBinary })
			if err != nil {
				return fmt.Errorf("listener %d on %s: %w", i, others[i%len(others)].p.name, err)
			}
			l.peer = p
			mu.Lock()
			all = append(all, l)
			mu.Unlock()
			return nil
		})
	})
	if err != nil {
		return res, err
	}
	if natsErr == nil {
		in1, out1, err := c.natsBytes(ctx)
		natsErr = err
		res.natsIn, res.natsOut = in1-in0, out1-out0
	}
	if natsErr != nil {
		e.log("%s: %v", name, natsErr)
	}
	settle()
	if err := e.talk(ctx, true, nil, profileLabel("cluster "+name), c.pids, talkers, []string{conv}, listeners, dur, tl, &res); err != nil {
		return res, err
	}
	countPresence(&res, all)
	for _, pid := range c.pids {
		if kib, err := memKiB(pid, "VmHWM"); err == nil && kib > res.peakKiB {
			res.peakKiB = kib
		}
	}
	if loss := res.loss(); loss > 0 {
		e.log("%s across the cluster: %d lost; missing packets by number: %s", name, loss, missingByNumber(all, int(res.sent)))
	}
	res.lat = closeAndCollect(talkers, all)
	all, talkers = nil, nil
	return res, nil
}

// clusterTargets are the cluster lines of the targets table: per N, loss 0
// and cross-node p99 < 2 × the single node's in the same run.
func (r *report) clusterTargets(hit func(what string, ok bool, format string, a ...any)) {
	for _, x := range r.cluster {
		if x.system != "cluster" {
			continue
		}
		hit(fmt.Sprintf("cluster %s: loss 0", x.name), x.loss() == 0, "%d lost of %d", x.loss(), x.expected)
		hit(fmt.Sprintf("cluster %s: no packet twice", x.name), x.dups == 0, "%d duplicates", x.dups)
		for _, s := range r.cluster {
			if s.system == "parley" && s.name == x.name && s.round == x.round {
				q := ratio(ms(x.lat.q(.99)), ms(s.lat.q(.99)))
				hit(fmt.Sprintf("cluster %s: cross-node p99 < 2 × single node", x.name), q < 2 && x.received > 0,
					"%s vs %s ms = %s", f2(ms(x.lat.q(.99))), f2(ms(s.lat.q(.99))), times(q))
			}
		}
	}
}

// missingByNumber says which packet numbers (0 .. sent-1) the listeners
// missed and how many missed each, the most missed first, at most ten:
// a loss at the start or the end of a message points elsewhere than one
// spread over it.
func missingByNumber(all []*listener, sent int) string {
	missed := make(map[int]int)
	for _, l := range all {
		for n := range sent {
			if word := n / 64; word >= len(l.seen) || l.seen[word]&(1<<(n%64)) == 0 {
				missed[n]++
			}
		}
	}
	numbers := make([]int, 0, len(missed))
	for n := range missed {
		numbers = append(numbers, n)
	}
	sort.Slice(numbers, func(i, j int) bool {
		if missed[numbers[i]] != missed[numbers[j]] {
			return missed[numbers[i]] > missed[numbers[j]]
		}
		return numbers[i] < numbers[j]
	})
	var b strings.Builder
	for i, n := range numbers {
		if i == 10 {
			fmt.Fprintf(&b, " … (%d numbers in all)", len(numbers))
			break
		}
		fmt.Fprintf(&b, " #%d×%d", n, missed[n])
	}
	return strings.TrimSpace(b.String())
}
