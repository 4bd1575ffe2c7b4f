package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"parley/server/wire"
)

// storeWindow is how many unacked packets a flat-out talker keeps in
// flight.
const storeWindow = 64

// flatOutRate caps one flat-out talker's packets per second below
// parleyd's per-connection packet limit (Config.PacketRate, 2000/s): past
// it packets are refused with rate_limited and, as this tool does not
// resend, the window would never be acked. With many talkers the cap does
// not bind (200 × 1800/s); with the smoke test's 4 it does.
const flatOutRate = 1800

// storeResult is one phase of the store scenario.
type storeResult struct {
	phase     string
	talkers   int
	sent      int64
	committed int64
	rate      float64 // committed packets per second
	ack       dist    // send -> voice.ack covering the packet
	cpu       float64
	machine   float64 // % of all cores busy (any process)
	peakKiB   int64
	duration  time.Duration
	// From parleyd's /metrics over the phase: the server's own view.
	commits     float64  // transactions
	commitMs    float64  // mean commit (fsync included), ms
	commitBatch float64  // mean packets per commit
	errors      []string // error envelopes the talkers got, code×count
}

// storeTalker is one talker's connection with its ack bookkeeping.
type storeTalker struct {
	p    *peer
	conv string

	mu      gosync.Mutex
	message string
	sentAt  []int64 // by packet number
	acked   uint32  // upto
	ackLat  []int64
	lastAck int64
	errs    map[string]int // error envelopes by code (rate_limited, …)
	wake    chan struct{}
}

func (s *storeTalker) onText(env wire.Envelope) {
	if env.Type == wire.TypeError {
		var e wire.Error
		json.Unmarshal(env.Payload, &e)
		s.mu.Lock()
		if s.errs == nil {
			s.errs = map[string]int{}
		}
		s.errs[string(e.Code)]++
		s.mu.Unlock()
		return
	}
	if env.Type != wire.TypeVoiceAck {
		return
	}
	at := nowNs()
	var a wire.VoiceAck
	if json.Unmarshal(env.Payload, &a) != nil {
		return
	}
	s.mu.Lock()
	if a.Message == s.message {
		for n := s.acked; n < a.Upto && int(n) < len(s.sentAt); n++ {
			s.ackLat = append(s.ackLat, at-s.sentAt[n])
		}
		if a.Upto > s.acked {
			s.acked = a.Upto
			s.lastAck = at
		}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// runStore registers talkers accounts, each with a conversation of its
// own (so nothing fans out), and has them all talk at once: first in real
// time (one packet per 20 ms each), then flat out with storeWindow packets
// in flight each.
func (e *env) runStore(ctx context.Context, talkers int, realTime, flatOut time.Duration) ([]storeResult, error) {
	t, err := e.startTarget(ctx, "parley")
	if err != nil {
		return nil, err
	}
	defer t.stop()
	peers := make([]*peer, talkers)
	defer closeAll(peers)
	ts := make([]*storeTalker, talkers)
	_, err = register(ctx, t, "store", talkers, peers, func(i int, p *peer) {
		ts[i] = &storeTalker{p: p, wake: make(chan struct{}, 1)}
		p.onText = ts[i].onText
	})
	if err != nil {
		return nil, err
	}
	for i, s := range ts {
		if s.conv, err = createGroup(ctx, s.p, fmt.Sprintf("store%d", i), nil); err != nil {
			return nil, err
		}
	}
	settle()
	var out []storeResult
	for _, phase := range []struct {
		name   string
		dur    time.Duration
		paced  bool
		window int
	}{
		{fmt.Sprintf("%d talkers, real time", talkers), realTime, true, 0},
		{fmt.Sprintf("%d talkers, flat out (%d in flight each)", talkers, storeWindow), flatOut, false, storeWindow},
	} {
		r, err := e.storePhase(ctx, t, ts, phase.name, phase.dur, phase.paced, phase.window)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (e *env) storePhase(ctx context.Context, t *target, ts []*storeTalker, name string, dur time.Duration, paced bool, window int) (storeResult, error) {
	res := storeResult{phase: name, talkers: len(ts)}
	// Start every message first, so the measured window holds packets only.
	streams := make([]uint32, len(ts))
	err := parallel(ctx, len(ts), connectWidth, func(ctx context.Context, i int) error {
		s := ts[i]
		id, stream, err := voiceStart(ctx, s.p, s.conv)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.message, s.sentAt, s.acked, s.ackLat = id, s.sentAt[:0], 0, s.ackLat[:0]
		s.mu.Unlock()
		streams[i] = stream
		return nil
	})
	if err != nil {
		return res, err
	}
	before, _ := scrapeMetrics(ctx, t)
	label := profileLabel("store " + strings.Fields(name)[2])
	cpuProfile := t.prof.cpu(ctx, label, dur)
	cpu, machine := startCPU(t.p.pid()), startMachine()
	start := time.Now()
	deadline := start.Add(dur)
	err = parallel(ctx, len(ts), len(ts), func(ctx context.Context, i int) error {
		s := ts[i]
		buf := make([]byte, 0, 128)
		var tick *time.Ticker
		if paced {
			tick = time.NewTicker(frameInterval)
			defer tick.Stop()
		}
		limit := rate.NewLimiter(flatOutRate, window)
		for n := uint32(0); time.Now().Before(deadline); n++ {
			if !paced {
				for {
					s.mu.Lock()
					inFlight := n - s.acked
					s.mu.Unlock()
					if int(inFlight) < window {
						break
					}
					if !time.Now().Before(deadline) {
						return nil // the window's acks are waited for below
					}
					select {
					case <-s.wake:
					case <-time.After(time.Second):
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
			if !paced {
				if err := limit.Wait(ctx); err != nil {
					return err
				}
			}
			frame := loadPacket(buf, streams[i], n)
			s.mu.Lock()
			s.sentAt = append(s.sentAt, nowNs())
			s.mu.Unlock()
			if err := s.p.write(websocket.BinaryMessage, frame); err != nil {
				return err
			}
			if paced {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.cpu, res.machine = cpu.percent(), machine.percent()
	if err := errors.Join(cpuProfile(), t.prof.after(ctx, label)); err != nil {
		e.log("profile %s: %v", label, err)
	}
	// Wait for the last acks, then end the messages.
	err = parallel(ctx, len(ts), connectWidth, func(ctx context.Context, i int) error {
		s := ts[i]
		give := time.Now().Add(10 * time.Second)
		for {
			s.mu.Lock()
			done := int(s.acked) >= len(s.sentAt)
			s.mu.Unlock()
			if done || time.Now().After(give) {
				break
			}
			select {
			case <-s.wake:
			case <-time.After(100 * time.Millisecond):
			}
		}
		s.mu.Lock()
		n := s.acked
		s.mu.Unlock()
		return voiceEnd(ctx, s.p, s.message, n)
	})
	var last int64
	samples := make([][]int64, len(ts))
	for i, s := range ts {
		s.mu.Lock()
		res.sent += int64(len(s.sentAt))
		res.committed += int64(s.acked)
		last = max(last, s.lastAck)
		samples[i] = append([]int64(nil), s.ackLat...)
		s.mu.Unlock()
	}
	res.ack = newDist(samples...)
	for _, s := range ts {
		s.mu.Lock()
		for code, n := range s.errs {
			res.errors = append(res.errors, fmt.Sprintf("%s×%d", code, n))
		}
		s.errs = nil
		s.mu.Unlock()
	}
	res.duration = time.Duration(last) - start.Sub(epoch)
	if res.duration > 0 {
		res.rate = float64(res.committed) / res.duration.Seconds()
	}
	res.peakKiB, _ = memKiB(t.p.pid(), "VmHWM")
	if after, merr := scrapeMetrics(ctx, t); merr == nil && before != nil {
		d := func(name string) float64 { return after[name] - before[name] }
		res.commits = d("parley_store_commit_seconds_count")
		if res.commits > 0 {
			res.commitMs = 1000 * d("parley_store_commit_seconds_sum") / res.commits
			res.commitBatch = d("parley_store_commit_packets_sum") / res.commits
		}
	}
	return res, err
}

// scrapeMetrics reads parleyd's Prometheus text at /metrics (series
// without labels only).
func scrapeMetrics(ctx context.Context, t *target) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.p.metricsAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}
