package app

// Account lifecycle: the goroutines of the signed-in account (sync's Run,
// the hint pump, the live router), started and stopped as one.

import (
	"context"

	"parley/sync"
	"parley/ui"
)

// startAccount makes c the current account and starts its goroutines.
func (m *messenger) startAccount(c *sync.Client, server, user string, signedIn bool) *account {
	ctx, cancel := context.WithCancel(context.Background())
	acc := &account{c: c, server: server, user: user, cancel: cancel, state: make(chan struct{}, 1), signedIn: signedIn,
		waves: newLiveWaves(m.log)}
	m.mu.Lock()
	m.acc = acc
	m.waiting = nil
	m.mu.Unlock()
	m.loadMuted(acc) // before the router reads its first live message
	acc.wg.Add(3)
	go func() {
		defer acc.wg.Done()
		err := c.Run(ctx)
		if err != nil {
			m.log.Info("sync stopped", "user", user, "err", err)
		}
		wake(acc.state)
	}()
	go func() {
		defer acc.wg.Done()
		m.pump(acc)
	}()
	go func() {
		defer acc.wg.Done()
		if m.router != nil {
			m.router.run(ctx, c.Incoming())
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case in := <-c.Incoming():
				in.Source.Close()
			}
		}
	}()
	return acc
}

// stopAccount stops and closes the current account, if any, and waits for
// its goroutines.
func (m *messenger) stopAccount() {
	m.mu.Lock()
	acc := m.acc
	m.acc = nil
	if acc != nil {
		m.status = ui.ConnStatus{State: sync.StateStopped, Server: m.server}
	}
	m.mu.Unlock()
	if acc == nil {
		return
	}
	acc.cancel()
	if err := acc.c.Close(); err != nil { // closes Hints: the pump ends
		m.log.Warn("close account store", "user", acc.user, "err", err)
	}
	acc.wg.Wait()
}

// Close stops the current account. Idempotent.
func (m *messenger) Close() error {
	m.stopAccount()
	return nil
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
