package sync

import (
	gosync "sync"
	"time"
)

// maxFeedPackets bounds the packets a live feed holds for a reader that is
// behind (20 s of audio). Older ones are dropped from memory only: they are
// in the store, and PacketSource.Next reads them from there.
const maxFeedPackets = 1024

// liveFeed carries a live stream's packets from the session's read loop to
// the Incoming PacketSource in memory, ahead of the store write: the
// listener's jitter buffer gets each packet as soon as it is read off the
// connection, and the SQLite write happens after that, off the live path.
// One producer (the read loop of whichever session carries the stream) and
// one consumer (the source); a mutex guards the queue and is held only to
// copy slice headers.
type liveFeed struct {
	mu       gosync.Mutex
	queue    []Packet
	attached bool          // a running session's live stream feeds it
	closed   bool          // the source was closed or the message ended
	sig      chan struct{} // cap 1: a packet was pushed, or attached changed
}

func newLiveFeed() *liveFeed { return &liveFeed{sig: make(chan struct{}, 1)} }

// push queues packets first..first+len(data)-1 that arrived at at.
func (f *liveFeed) push(first uint32, data [][]byte, at time.Time) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	for i, d := range data {
		f.queue = append(f.queue, Packet{Seq: first + uint32(i), Data: d, Arrived: at})
	}
	if over := len(f.queue) - maxFeedPackets; over > 0 {
		f.queue = append(f.queue[:0], f.queue[over:]...)
	}
	f.mu.Unlock()
	wake(f.sig)
}

// take returns the packet numbered next if it is at the head of the queue,
// discarding older ones. With skipGap, a packet after a gap is returned
// too (mid-stream: the jitter buffer conceals what is missing). ok is
// false when the queue has nothing usable.
func (f *liveFeed) take(next uint32, skipGap bool) (p Packet, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.queue) > 0 && seqBefore(f.queue[0].Seq, next) {
		f.queue = f.queue[1:]
	}
	if len(f.queue) == 0 {
		f.queue = nil // let the backing array go
		return Packet{}, false
	}
	if f.queue[0].Seq != next && !skipGap {
		return Packet{}, false
	}
	p = f.queue[0]
	f.queue = f.queue[1:]
	return p, true
}

// close drops what is queued and makes further pushes no-ops.
func (f *liveFeed) close() {
	f.mu.Lock()
	f.closed, f.attached, f.queue = true, false, nil
	f.mu.Unlock()
	wake(f.sig)
}

// setAttached records whether a running live stream feeds f: while it
// does, the source waits on the feed alone and does not read the store
// between packets (the end of the message or of the session detaches it).
func (f *liveFeed) setAttached(on bool) {
	f.mu.Lock()
	f.attached = on && !f.closed
	f.mu.Unlock()
	wake(f.sig)
}

func (f *liveFeed) isAttached() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attached
}

// seqBefore reports whether packet number a comes before b (wrap-around).
func seqBefore(a, b uint32) bool { return int32(a-b) < 0 }

// dropFeed forgets message's feed (its source closed or the message
// ended) and closes it if it is f (nil: whichever).
func (c *Client) dropFeed(message string, f *liveFeed) {
	c.mu.Lock()
	cur := c.feeds[message]
	if cur != nil && (f == nil || cur == f) {
		delete(c.feeds, message)
	}
	c.mu.Unlock()
	if f != nil {
		f.close()
	}
}
