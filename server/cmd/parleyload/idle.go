package main

import (
	"context"
	"fmt"
	"time"
)

// idleAccounts is how many accounts the idle connections sign in as.
const idleAccounts = 10

// idleHold is how long the idle connections stay open while the server's
// memory and CPU are read.
const idleHold = 3 * time.Second

// idleResult is the idle-scale run against one server.
type idleResult struct {
	system      string
	conns       int
	baseKiB     int64 // server RSS before the connections
	rssKiB      int64 // with every connection open
	peakKiB     int64
	connectTime time.Duration
	cpu         float64 // server CPU % while they sit idle
}

func (r idleResult) perConnKiB() float64 {
	if r.conns == 0 {
		return 0
	}
	return float64(r.rssKiB-r.baseKiB) / float64(r.conns)
}

// runIdle opens conns authenticated connections (bare ones for the
// baseline) that then do nothing, and measures what they cost.
func (e *env) runIdle(ctx context.Context, kind string, conns int) (idleResult, error) {
	res := idleResult{system: kind, conns: conns}
	t, err := e.startTarget(ctx, kind)
	if err != nil {
		return res, err
	}
	defer t.stop()
	var accounts []account
	if kind == "parley" {
		if accounts, err = register(ctx, t, "idle", min(idleAccounts, conns), nil); err != nil {
			return res, err
		}
	}
	settle()
	res.baseKiB, _ = memKiB(t.p.pid(), "VmRSS")
	peers := make([]*peer, conns)
	defer closeAll(peers)
	start := time.Now()
	err = parallel(ctx, conns, connectWidth, func(ctx context.Context, i int) error {
		var p *peer
		var err error
		if kind == "parley" {
			p, err = signIn(ctx, t, accounts[i%len(accounts)].token, nil)
		} else {
			if p, err = dialPeer(ctx, t.dialer, t.roomURL(i%idleAccounts)); err == nil {
				p.start()
			}
		}
		if err != nil {
			return fmt.Errorf("idle connection %d: %w", i, err)
		}
		peers[i] = p
		return nil
	})
	res.connectTime = time.Since(start)
	if err != nil {
		return res, err
	}
	settle()
	cpu := startCPU(t.p.pid())
	time.Sleep(idleHold)
	res.cpu = cpu.percent()
	res.rssKiB, _ = memKiB(t.p.pid(), "VmRSS")
	res.peakKiB, _ = memKiB(t.p.pid(), "VmHWM")
	if err := t.prof.after(ctx, "idle"); err != nil {
		e.log("profile idle: %v", err)
	}
	return res, nil
}
