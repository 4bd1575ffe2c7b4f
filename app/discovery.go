package app

import (
	"context"
	"errors"
	"log/slog"
	gosync "sync"

	"parley/server/discovery"
	"parley/ui"
)

// browser is ui.Discovery: an mDNS browse on the chosen interfaces, its
// latest list kept for the connect screen.
type browser struct {
	mu      gosync.Mutex
	servers []ui.Server

	cancel context.CancelFunc
	done   chan struct{}
}

// startBrowser browses until close. With mDNS disabled (no interfaces) or
// failing it lists nothing.
func startBrowser(interfaces []string, log *slog.Logger, hints *hintBus) *browser {
	b := &browser{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	lists, err := discovery.Browse(ctx, discovery.Config{Interfaces: interfaces, Logger: log})
	if err != nil {
		if !errors.Is(err, discovery.ErrDisabled) {
			log.Warn("mDNS browse", "err", err)
		}
		close(b.done)
		return b
	}
	go func() {
		defer close(b.done)
		for list := range lists { // closed once ctx ends and the browser stopped
			servers := make([]ui.Server, len(list))
			for i, s := range list {
				servers[i] = ui.Server{Name: s.Name, Address: s.Address(), Fingerprint: s.Fingerprint.Short()}
			}
			b.mu.Lock()
			b.servers = servers
			b.mu.Unlock()
			hints.post(ui.Hint{Kind: ui.HintServers})
		}
	}()
	return b
}

// Servers implements ui.Discovery.
func (b *browser) Servers() []ui.Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ui.Server(nil), b.servers...)
}

func (b *browser) close() {
	b.cancel()
	<-b.done
}
