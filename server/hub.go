package server

import (
	gosync "sync"
)

// Subscriber is one connected device that frames can be delivered to.
type Subscriber interface {
	// UserID and DeviceID name who is connected.
	UserID() string
	DeviceID() string
	// Deliver queues a frame without blocking. It returns false if the
	// subscriber is gone or its queue is full (it is then being closed).
	Deliver(binary bool, data []byte) bool
}

// Broker fans frames out to the connected devices of users. The embedded
// broker is in memory (hub); an engine such as NATS can implement it for
// servers on several machines. Publish never blocks on a slow subscriber.
type Broker interface {
	Join(s Subscriber)
	Leave(s Subscriber)
	// Subscribers returns the connected devices of the given users.
	Subscribers(userIDs []string) []Subscriber
	// Publish delivers a text frame to every connected device of userIDs
	// except the one given (nil for none).
	Publish(userIDs []string, data []byte, except Subscriber)
	// Online returns the users with at least one connected device.
	Online() []string
	// Count returns how many devices of userID are connected.
	Count(userID string) int
}

// hub is the in-memory Broker: a mutex-guarded map from user to devices.
type hub struct {
	mu    gosync.Mutex
	users map[string]map[Subscriber]struct{}
}

func newHub() *hub { return &hub{users: make(map[string]map[Subscriber]struct{})} }

func (h *hub) Join(s Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.users[s.UserID()]
	if set == nil {
		set = make(map[Subscriber]struct{})
		h.users[s.UserID()] = set
	}
	set[s] = struct{}{}
}

func (h *hub) Leave(s Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.users[s.UserID()]
	delete(set, s)
	if len(set) == 0 {
		delete(h.users, s.UserID())
	}
}

func (h *hub) Subscribers(userIDs []string) []Subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	var subs []Subscriber
	for _, id := range userIDs {
		for s := range h.users[id] {
			subs = append(subs, s)
		}
	}
	return subs
}

func (h *hub) Publish(userIDs []string, data []byte, except Subscriber) {
	// Copy under the lock, deliver after it.
	for _, s := range h.Subscribers(userIDs) {
		if s != except {
			s.Deliver(false, data)
		}
	}
}

func (h *hub) Online() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]string, 0, len(h.users))
	for id := range h.users {
		ids = append(ids, id)
	}
	return ids
}

func (h *hub) Count(userID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.users[userID])
}
