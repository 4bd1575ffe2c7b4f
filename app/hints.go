package app

import (
	"parley/ui"
)

// hintBus is the one channel of ui hints, fed by the messenger, player,
// host and discovery adapters and drained by ui until it closes.
type hintBus struct {
	ch   chan ui.Hint
	done chan struct{}
}

// hintBuffer lets short bursts pass without making producers wait.
const hintBuffer = 512

func newHintBus() *hintBus {
	return &hintBus{ch: make(chan ui.Hint, hintBuffer), done: make(chan struct{})}
}

// post delivers h, waiting while the buffer is full, until close. Call it
// from the adapters' goroutines, never from the UI thread.
func (b *hintBus) post(h ui.Hint) {
	select {
	case b.ch <- h:
	case <-b.done:
	}
}

// tryPost delivers h if there is room: for the UI thread, which must not
// wait for the hint loop (ui re-reads after its own calls anyway).
func (b *hintBus) tryPost(h ui.Hint) {
	select {
	case b.ch <- h:
	default:
	}
}

// close releases every producer waiting in post. Idempotent.
func (b *hintBus) close() {
	select {
	case <-b.done:
	default:
		close(b.done)
	}
}
