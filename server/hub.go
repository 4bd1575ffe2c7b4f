package server

import (
	"context"
	"errors"
	gosync "sync"
)

// hub is the embedded Broker: one node, no network. Every Publish hands
// the delivery to the node before it returns, on the caller's goroutine,
// so deliveries from one publisher keep their order and nothing is
// copied or encoded.
type hub struct {
	mu   gosync.RWMutex
	node Node
}

func newHub() *hub { return &hub{} }

var errHubNotStarted = errors.New("hub: not started")

func (h *hub) Start(_ context.Context, n Node) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.node = n
	return nil
}

// target is the node to deliver to, nil once closed.
func (h *hub) target() (Node, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.node == nil {
		return nil, errHubNotStarted
	}
	return h.node, nil
}

func (h *hub) PublishFrame(_ context.Context, f Frame) error {
	n, err := h.target()
	if err != nil {
		return err
	}
	n.DeliverFrame(f)
	return nil
}

func (h *hub) PublishEvent(_ context.Context, ev Event) error {
	n, err := h.target()
	if err != nil {
		return err
	}
	n.DeliverEvent(ev)
	return nil
}

func (h *hub) PublishLive(_ context.Context, l Live) error {
	n, err := h.target()
	if err != nil {
		return err
	}
	n.DeliverLive(l)
	return nil
}

func (h *hub) Disconnect(_ context.Context, d Disconnect) error {
	n, err := h.target()
	if err != nil {
		return err
	}
	n.DeliverDisconnect(d)
	return nil
}

func (h *hub) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.node = nil
	return nil
}
