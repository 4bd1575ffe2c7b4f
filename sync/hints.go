package sync

import (
	"context"
	gosync "sync"
)

// Hint tells the UI what to re-read from the Store. Hints are small and
// coalesced: a UI that reads slowly gets each distinct hint once, with
// the latest value, never a backlog. The concrete types are
// ConversationsChanged, ConversationChanged, MessageLive, MessageChanged,
// MessageEnded, PresenceChanged, ConnectionChanged, SyncProgress and ErrorHint.
type Hint interface {
	hintKey() string
}

// ConversationsChanged: the list of conversations, their members, unplayed
// counts or last activity changed.
type ConversationsChanged struct{}

// ConversationChanged: messages, receipts or playback state of one
// conversation changed.
type ConversationChanged struct{ Conversation string }

// MessageLive: a voice message started arriving live. The matching packet
// source is on Client.Incoming.
type MessageLive struct{ Conversation, Message string }

// MessageChanged: packets of a message arrived (live growth or a fetch).
// Conversation may be empty.
type MessageChanged struct{ Conversation, Message string }

// MessageEnded: a voice message finished (complete or abandoned).
type MessageEnded struct{ Conversation, Message string }

// PresenceChanged: some user's presence changed; re-read Store.Presence.
type PresenceChanged struct{}

// ConnState is the client's connection state.
type ConnState int

// Connection states.
const (
	StateOffline    ConnState = iota // not connected; retrying unless Err is final
	StateConnecting                  // dialing or signing in
	StateSyncing                     // signed in, catching up
	StateOnline                      // signed in and caught up
	StateStopped                     // Run returned (Err says why)
)

func (s ConnState) String() string {
	switch s {
	case StateOffline:
		return "offline"
	case StateConnecting:
		return "connecting"
	case StateSyncing:
		return "syncing"
	case StateOnline:
		return "online"
	case StateStopped:
		return "stopped"
	}
	return "unknown"
}

// ConnectionChanged: the connection state changed. Err is the reason for
// offline or stopped states (check Retryable).
type ConnectionChanged struct {
	State ConnState
	Err   error
}

// SyncProgress: a catch-up is at Cursor of Total (server cursors).
type SyncProgress struct {
	Cursor, Total int64
	Done          bool
}

// ErrorHint: something the user did could not be done (for example a
// message the server refused for good).
type ErrorHint struct {
	Op  string
	Err error
}

func (ConversationsChanged) hintKey() string  { return "convs" }
func (h ConversationChanged) hintKey() string { return "conv:" + h.Conversation }
func (h MessageLive) hintKey() string         { return "live:" + h.Message }
func (h MessageEnded) hintKey() string        { return "ended:" + h.Message }
func (h MessageChanged) hintKey() string      { return "msg:" + h.Message }
func (PresenceChanged) hintKey() string       { return "presence" }
func (ConnectionChanged) hintKey() string     { return "conn" }
func (SyncProgress) hintKey() string          { return "progress" }
func (h ErrorHint) hintKey() string           { return "error:" + h.Op }

// maxPendingHints bounds the coalescing set; beyond it everything
// collapses into one ConversationsChanged plus the latest per kind.
const maxPendingHints = 1024

// hintQueue coalesces hints between the engine (post, never blocks) and
// the UI (the out channel).
type hintQueue struct {
	out   chan Hint
	wake  chan struct{}
	mu    gosync.Mutex
	order []string
	byKey map[string]Hint
}

func newHintQueue() *hintQueue {
	return &hintQueue{out: make(chan Hint), wake: make(chan struct{}, 1), byKey: map[string]Hint{}}
}

// post queues h, replacing a queued hint with the same key. It never
// blocks.
func (q *hintQueue) post(h Hint) {
	k := h.hintKey()
	q.mu.Lock()
	if _, ok := q.byKey[k]; !ok {
		if len(q.order) >= maxPendingHints {
			q.collapseLocked()
		}
		q.order = append(q.order, k)
	}
	q.byKey[k] = h
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// collapseLocked drops per-message and per-conversation hints for one
// "everything changed" hint.
func (q *hintQueue) collapseLocked() {
	keep := map[string]Hint{}
	var order []string
	for _, k := range q.order {
		switch q.byKey[k].(type) {
		case ConversationChanged, MessageLive, MessageEnded, MessageChanged:
			continue
		}
		keep[k] = q.byKey[k]
		order = append(order, k)
	}
	k := ConversationsChanged{}.hintKey()
	if _, ok := keep[k]; !ok {
		order = append(order, k)
	}
	keep[k] = ConversationsChanged{}
	q.order, q.byKey = order, keep
}

func (q *hintQueue) pop() (Hint, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return nil, false
	}
	k := q.order[0]
	q.order = q.order[1:]
	h := q.byKey[k]
	delete(q.byKey, k)
	return h, true
}

// run delivers hints to out until ctx ends, then closes out.
func (q *hintQueue) run(ctx context.Context) {
	defer close(q.out)
	for {
		h, ok := q.pop()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		select {
		case q.out <- h:
		case <-ctx.Done():
			return
		}
	}
}
