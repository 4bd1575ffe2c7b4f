package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/gorilla/websocket"
)

// drainWait bounds the wait, after the last packet was sent, for packets
// still on their way; what has not arrived by then is lost.
const drainWait = 5 * time.Second

// listenersPerAccount is how many listening devices share one Parley
// account (signed in with its token) by default: accounts cost an
// argon2id hash each, connections do not, and the server fans out per
// connection either way. -distinct makes it 1 (one device per user), the
// case where presence grows with the users.
const listenersPerAccount = 100

// fanoutResult is one fan-out run against one server.
type fanoutResult struct {
	name      string // "fan-out N=200", "rooms 20×(1+20)"
	system    string // parley or baseline
	rooms     int
	listeners int // per room
	sent      int64
	expected  int64
	received  int64 // distinct packets delivered
	dups      int64 // packets delivered again
	lat       dist
	cpu       float64 // server CPU % of one core while talking
	toolCPU   float64 // the load tool's CPU % of one core, same window
	machine   float64 // % of all cores busy (any process), same window
	round     int     // 1… when a run is repeated
	peakKiB   int64
	duration  time.Duration
	// The connect burst before talking: every listener dialling and
	// signing in at once (connectWidth at a time).
	connect    time.Duration // first dial → last welcome
	connectCPU float64       // server CPU % of one core over it (all nodes)
	accounts   int           // distinct listening users
	// Presence frames and bytes each listener received, from its welcome
	// to the end of the talking window (mean over listeners, and the most).
	presenceFrames, presenceBytes       float64
	presenceFramesMax, presenceBytesMax int64
	// natsIn and natsOut: bytes nats-server took in and sent over the
	// connect burst (cluster only).
	natsIn, natsOut int64
}

// connectBurst measures a run's connect phase: connect runs it; the CPU
// of the server processes pids is summed over it.
func connectBurst(res *fanoutResult, pids []int, connect func() error) error {
	meters := make([]*cpuMeter, len(pids))
	for i, pid := range pids {
		meters[i] = startCPU(pid)
	}
	start := time.Now()
	err := connect()
	res.connect = time.Since(start)
	for _, m := range meters {
		res.connectCPU += m.percent()
	}
	return err
}

// countPresence fills res's presence counts from the listeners' peers.
func countPresence(res *fanoutResult, all []*listener) {
	if len(all) == 0 {
		return
	}
	var frames, bytes int64
	for _, l := range all {
		f, b := l.peer.presenceFrames.Load(), l.peer.presenceBytes.Load()
		frames, bytes = frames+f, bytes+b
		res.presenceFramesMax, res.presenceBytesMax = max(res.presenceFramesMax, f), max(res.presenceBytesMax, b)
	}
	res.presenceFrames, res.presenceBytes = float64(frames)/float64(len(all)), float64(bytes)/float64(len(all))
}

func (r fanoutResult) loss() int64 { return r.expected - r.received }

// profileLabel turns a run name into a file name part.
func profileLabel(name string) string {
	return strings.NewReplacer(" ", "", "=", "", "×", "x", "(", "-", ")", "", "+", "p", ",", "").Replace(name)
}

// runFanout runs rooms rooms of one talker and listeners listeners each,
// talking for dur, against a fresh server of kind.
func (e *env) runFanout(ctx context.Context, kind, name string, rooms, listeners int, dur time.Duration) (fanoutResult, error) {
	res := fanoutResult{name: name, system: kind, rooms: rooms, listeners: listeners}
	t, err := e.startTarget(ctx, kind)
	if err != nil {
		return res, err
	}
	defer t.stop()

	tl := newTally()
	talkers := make([]*peer, rooms)
	convs := make([]string, rooms)
	all := make([]*listener, 0, rooms*listeners)
	var mu gosync.Mutex
	defer func() {
		peers := append([]*peer(nil), talkers...)
		for _, l := range all {
			peers = append(peers, l.peer)
		}
		closeAll(peers)
	}()
	addListener := func(l *listener) {
		mu.Lock()
		all = append(all, l)
		mu.Unlock()
	}

	if kind == "parley" {
		perRoom := (listeners + e.perAccount - 1) / e.perAccount
		res.accounts = rooms * perRoom
		if _, err := register(ctx, t, "talker", rooms, talkers); err != nil {
			return res, err
		}
		listenAcc, err := register(ctx, t, "listener", rooms*perRoom, nil)
		if err != nil {
			return res, err
		}
		for r := range rooms {
			if rooms == 1 {
				convs[r], err = lobbyOf(ctx, talkers[r])
			} else {
				var members []string
				for a := range perRoom {
					members = append(members, listenAcc[r*perRoom+a].user.ID)
				}
				convs[r], err = createGroup(ctx, talkers[r], fmt.Sprintf("room%d", r), members)
			}
			if err != nil {
				return res, err
			}
		}
		err = connectBurst(&res, []int{t.p.pid()}, func() error {
			return parallel(ctx, rooms*listeners, connectWidth, func(ctx context.Context, i int) error {
				r, j := i/listeners, i%listeners
				acc := listenAcc[r*perRoom+j%perRoom]
				l := &listener{tally: tl}
				p, err := signIn(ctx, t, acc.token, func(p *peer) { p.onBinary = l.onBinary })
				if err != nil {
					return fmt.Errorf("listener %d: %w", i, err)
				}
				l.peer = p
				addListener(l)
				return nil
			})
		})
		if err != nil {
			return res, err
		}
	} else {
		err = parallel(ctx, rooms*(listeners+1), connectWidth, func(ctx context.Context, i int) error {
			r, j := i/(listeners+1), i%(listeners+1)
			p, err := dialPeer(ctx, t.dialer, t.roomURL(r))
			if err != nil {
				return err
			}
			if j == listeners {
				talkers[r] = p
				p.start()
				return nil
			}
			l := &listener{tally: tl, peer: p}
			p.onBinary = l.onBinary
			p.start()
			addListener(l)
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	settle()

	if err := e.talk(ctx, kind == "parley", t.prof, profileLabel(name), []int{t.p.pid()}, talkers, convs, listeners, dur, tl, &res); err != nil {
		return res, err
	}
	countPresence(&res, all)
	res.peakKiB, _ = memKiB(t.p.pid(), "VmHWM")
	res.lat = closeAndCollect(talkers, all)
	all, talkers = nil, nil
	return res, nil
}

// talk is a run's talking window: every talker starts a voice message in
// its conversation (parley) and sends one packet per frame for dur; then
// it waits up to drainWait for the listeners' packets and ends the
// messages. It fills res's counts and the CPU of the server processes
// pids (summed) over the window.
func (e *env) talk(ctx context.Context, parley bool, prof *profiler, label string, pids []int, talkers []*peer, convs []string,
	listeners int, dur time.Duration, tl *tally, res *fanoutResult) error {
	rooms := len(talkers)
	packets := int(dur / frameInterval)
	sent := make([]int64, rooms)
	messages := make([]string, rooms)
	cpuProfile := prof.cpu(ctx, label, dur)
	serverCPU := make([]*cpuMeter, len(pids))
	for i, pid := range pids {
		serverCPU[i] = startCPU(pid)
	}
	toolCPU, machine := startCPU(e.selfPID), startMachine()
	start := time.Now()
	err := parallel(ctx, rooms, rooms, func(ctx context.Context, r int) error {
		p := talkers[r]
		stream := uint32(1)
		if parley {
			var err error
			if messages[r], stream, err = voiceStart(ctx, p, convs[r]); err != nil {
				return fmt.Errorf("talker %d: %w", r, err)
			}
		}
		tick := time.NewTicker(frameInterval)
		defer tick.Stop()
		buf := make([]byte, 0, 128)
		for n := range packets {
			if err := p.write(websocket.BinaryMessage, loadPacket(buf, stream, uint32(n))); err != nil {
				return fmt.Errorf("talker %d packet %d: %w", r, n, err)
			}
			sent[r]++
			select {
			case <-tick.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	res.cpu = 0
	for _, m := range serverCPU {
		res.cpu += m.percent()
	}
	res.toolCPU, res.machine = toolCPU.percent(), machine.percent()
	res.duration = time.Since(start)
	if err != nil {
		return err
	}
	for _, s := range sent {
		res.sent += s
	}
	res.expected = res.sent * int64(listeners)
	select {
	case <-tl.expect(res.expected):
	case <-time.After(drainWait):
	}
	res.received, res.dups = tl.got.Load(), tl.dups.Load()
	if err := errors.Join(cpuProfile(), prof.after(ctx, label)); err != nil {
		e.log("profile %s: %v", label, err)
	}
	if parley {
		for r := range rooms {
			if err := voiceEnd(ctx, talkers[r], messages[r], uint32(sent[r])); err != nil {
				return fmt.Errorf("talker %d: %w", r, err)
			}
		}
	}
	return nil
}

// closeAndCollect closes a run's connections and returns the listeners'
// latencies. Their read loops run until then: closing first lets their
// samples be read without a race.
func closeAndCollect(talkers []*peer, all []*listener) dist {
	peers := append([]*peer(nil), talkers...)
	for _, l := range all {
		peers = append(peers, l.peer)
	}
	closeAll(peers)
	samples := make([][]int64, len(all))
	for i, l := range all {
		samples[i] = l.samples
	}
	return newDist(samples...)
}
