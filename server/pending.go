package server

import gosync "sync"

// pendingBudget counts, per user, the bytes of voice packets held behind
// gaps (received out of order, waiting for an earlier packet), so that one
// user cannot make the server hold more than wire.MaxPendingBytes however
// many connections and messages it opens. A leaf lock: nothing is called
// while it is held.
type pendingBudget struct {
	mu    gosync.Mutex
	bytes map[string]int
	limit int
}

func newPendingBudget(limit int) *pendingBudget {
	return &pendingBudget{bytes: make(map[string]int), limit: limit}
}

// reserve takes n bytes of user's budget, or reports false if that would
// pass the limit.
func (b *pendingBudget) reserve(user string, n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bytes[user]+n > b.limit {
		return false
	}
	b.bytes[user] += n
	return true
}

// release gives n bytes back.
func (b *pendingBudget) release(user string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bytes[user] -= n; b.bytes[user] <= 0 {
		delete(b.bytes, user)
	}
}

// held returns the bytes user holds (for tests and metrics).
func (b *pendingBudget) held(user string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bytes[user]
}
