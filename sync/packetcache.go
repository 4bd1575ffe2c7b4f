package sync

import (
	"context"
	"time"
)

// The packets a session receives are cached in few store transactions: a
// live message brings one packet per 20 ms, and one SQLite transaction per
// packet was about 30 % of a listening app's CPU (make cpu). Live playback
// does not wait for the cache (it reads the live feed from memory), so the
// cache loop gathers up to cacheBatchPackets or cacheBatchWait, whichever
// comes first, and writes them in one transaction. Each batch also tells
// the UI (MessageChanged), which re-reads the message and decodes the new
// packets for its growing waveform: that grows by whole seconds and the
// elapsed time shows seconds, so 4 batches a second are enough where 10
// (100 ms) cost the listener about 1 % of a core in transactions and
// re-reads (make cpu's profile). A reader waiting on the store (a late
// joiner, a fetch) has its packets written at once.
const (
	cacheBatchPackets = 12                     // 240 ms of live audio; a fetch's batch frames are written at once
	cacheBatchWait    = 250 * time.Millisecond // the longest a received packet waits for its transaction
	cacheQueueLen     = 256                    // frames between readLoop and cacheLoop
)

// cacheItem is one received frame's packets for the cache, or, with
// flushed set, a barrier: cacheLoop answers it once everything queued
// before it is committed.
type cacheItem struct {
	message, conversation string
	first                 uint32
	packets               [][]byte
	flushed               chan error // cap 1
}

// queueCache hands a frame's packets to cacheLoop. readLoop only; it
// waits while the queue is full (the store is slower than the network),
// as the direct write did.
func (s *session) queueCache(ctx context.Context, it cacheItem) error {
	select {
	case s.cache <- it:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// flushCache waits until every packet readLoop queued so far is in the
// store. readLoop only (voice.done: a source then reads the rest of the
// message from the store, and a fetch's waiter reads what it fetched).
func (s *session) flushCache(ctx context.Context) error {
	done := make(chan error, 1)
	if err := s.queueCache(ctx, cacheItem{flushed: done}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// cacheLoop writes what readLoop queues to the store in batches, then
// tells the message's readers and the UI. It ends when readLoop closes
// the queue (the session's end), after writing what is left, so nothing
// read off the connection is dropped on the way to the cache. Packets
// become visible to readers (watch, hints) only once committed.
func (s *session) cacheLoop(ctx context.Context) error {
	// The writes outlive the session's context: what was received is
	// written even while the session shuts down (bounded by the store's
	// busy timeout).
	wctx := context.WithoutCancel(ctx)
	var (
		pending []cacheItem
		count   int
		timer   *time.Timer
		due     <-chan time.Time
	)
	flush := func() error {
		if timer != nil {
			timer.Stop()
			timer, due = nil, nil
		}
		if len(pending) == 0 {
			return nil
		}
		batch := pending
		pending, count = nil, 0
		if err := s.c.store.putPacketBatch(wctx, batch); err != nil {
			return err
		}
		seen := make(map[string]bool, 1)
		for _, it := range batch {
			if seen[it.message] {
				continue
			}
			seen[it.message] = true
			s.c.watch.notify(it.message)
			s.c.hints.post(MessageChanged{Conversation: it.conversation, Message: it.message})
		}
		return nil
	}
	for {
		select {
		case it, ok := <-s.cache:
			if !ok {
				return flush()
			}
			if it.flushed != nil {
				err := flush()
				it.flushed <- err
				if err != nil {
					return err
				}
				continue
			}
			pending = append(pending, it)
			count += len(it.packets)
			// A source that reads this message from the store (a late
			// joiner, a fetch) gets it at once; live playback reads the
			// feed and does not wait here.
			if count >= cacheBatchPackets || s.c.watch.waiting(it.message) {
				if err := flush(); err != nil {
					return err
				}
			} else if timer == nil {
				timer = time.NewTimer(cacheBatchWait)
				due = timer.C
			}
		case <-due:
			timer, due = nil, nil
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
