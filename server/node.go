package server

import (
	"context"
	gosync "sync"
	"time"

	"parley/server/wire"
)

// localSessions is this node's signed-in sessions by user: the only
// place that holds sessions. What the broker hands the node is delivered
// to them.
type localSessions struct {
	mu    gosync.Mutex
	users map[string]map[*session]struct{}
}

func newLocalSessions() *localSessions {
	return &localSessions{users: make(map[string]map[*session]struct{})}
}

func (l *localSessions) add(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.users[s.user.ID]
	if set == nil {
		set = make(map[*session]struct{})
		l.users[s.user.ID] = set
	}
	set[s] = struct{}{}
}

func (l *localSessions) remove(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set := l.users[s.user.ID]
	delete(set, s)
	if len(set) == 0 {
		delete(l.users, s.user.ID)
	}
}

// of returns the sessions of the given users (copied under the lock, to
// deliver to after it).
func (l *localSessions) of(userIDs []string) []*session {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*session
	for _, id := range userIDs {
		for s := range l.users[id] {
			out = append(out, s)
		}
	}
	return out
}

// all returns every session (copied under the lock).
func (l *localSessions) all() []*session {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*session
	for _, set := range l.users {
		for s := range set {
			out = append(out, s)
		}
	}
	return out
}

// device returns the sessions of one device.
func (l *localSessions) device(deviceID string) []*session {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*session
	for _, set := range l.users {
		for s := range set {
			if s.device.ID == deviceID {
				out = append(out, s)
			}
		}
	}
	return out
}

// node is the Server as a broker's Node: it delivers to local sessions.
type node struct{ srv *Server }

func (n node) DeliverFrame(f Frame) {
	to := n.srv.local.all
	if !f.Everyone {
		to = func() []*session { return n.srv.local.of(f.Users) }
	}
	for _, s := range to() {
		switch {
		case f.ExceptDevice != "" && s.device.ID == f.ExceptDevice:
		case f.Presence != nil:
			s.deliverPresence(f.Presence)
		default:
			s.Deliver(false, f.Data)
		}
	}
}

func (n node) DeliverEvent(ev Event) { n.srv.events.offer(ev) }

func (n node) DeliverLive(l Live) { n.srv.deliverLive(l) }

func (n node) DeliverDisconnect(d Disconnect) {
	for _, s := range n.srv.local.device(d.Device) {
		s.close(d.Code, d.Reason)
	}
}

// eventGapWait is how long the node waits for a missing event to come
// through the broker before it reads it from the store.
const eventGapWait = time.Second

// eventOrder delivers events to local sessions in cursor order (the
// cursor rule, see Event): an event that arrives ahead of a missing one
// waits; if the gap stays open for eventGapWait, run reads the missing
// events from the store. Events below next are duplicates and dropped.
type eventOrder struct {
	srv *Server
	// deliver hands one event to the local sessions; called in cursor
	// order with mu held, it must not block.
	deliver func(Event)

	mu    gosync.Mutex
	next  int64 // the cursor to deliver next
	ahead map[int64]Event
	gap   chan struct{} // signalled when an event waits behind a gap
}

func newEventOrder(srv *Server, last int64) *eventOrder {
	o := &eventOrder{srv: srv, next: last + 1, ahead: make(map[int64]Event), gap: make(chan struct{}, 1)}
	o.deliver = func(ev Event) {
		to := srv.local.all
		if !ev.Everyone {
			to = func() []*session { return srv.local.of(ev.Users) }
		}
		for _, s := range to() {
			s.Deliver(false, ev.Data)
		}
	}
	return o
}

// offer takes one event from the broker. It never blocks: delivery
// queues frames.
func (o *eventOrder) offer(ev Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case ev.Cursor < o.next:
		return // delivered already
	case ev.Cursor > o.next:
		o.ahead[ev.Cursor] = ev
		select {
		case o.gap <- struct{}{}:
		default:
		}
		return
	}
	o.deliverLocked(ev)
	for {
		next, ok := o.ahead[o.next]
		if !ok {
			return
		}
		delete(o.ahead, o.next)
		o.deliverLocked(next)
	}
}

func (o *eventOrder) deliverLocked(ev Event) {
	o.next = ev.Cursor + 1
	o.deliver(ev)
}

// missing returns the first missing cursor and the first waiting one, or
// ok false if no event waits.
func (o *eventOrder) missing() (from, upto int64, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ahead) == 0 {
		return 0, 0, false
	}
	upto = -1
	for c := range o.ahead {
		if upto < 0 || c < upto {
			upto = c
		}
	}
	return o.next, upto, true
}

// run fills gaps until ctx is done: once an event has waited behind a
// gap for eventGapWait, it reads the missing events from the store and
// offers them.
func (o *eventOrder) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	armed := false // the timer runs: later events ahead must not push it back
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.gap:
			if !armed {
				timer.Reset(eventGapWait)
				armed = true
			}
			continue
		case <-timer.C:
			armed = false
		}
		// Fill while that makes progress; wait again if the store does
		// not have the missing events yet.
		for {
			from, upto, ok := o.missing()
			if !ok {
				break
			}
			if !o.fill(ctx, from, upto) {
				timer.Reset(eventGapWait)
				armed = true
				break
			}
		}
	}
}

// fillBatch bounds the events one store read fills a gap with.
const fillBatch = 500

// fill reads events from .. upto-1 (at most fillBatch) from the store and
// offers them with their recipients as they are now. It reports whether
// it found any.
func (o *eventOrder) fill(ctx context.Context, from, upto int64) bool {
	srv := o.srv
	logged, err := srv.store.EventsAfter(ctx, from-1, int(min(upto-from, fillBatch)))
	if err != nil {
		if ctx.Err() == nil {
			srv.log.Error("fill event gap", "from", from, "upto", upto, "err", err)
		}
		return false
	}
	members := make(map[string][]string) // conversation -> member ids
	for _, le := range logged {
		frame, err := wire.Marshal(wire.TypeEvent, "", le.Event)
		if err != nil {
			srv.log.Error("fill event gap", "cursor", le.Cursor, "err", err)
			return false
		}
		if le.Conversation == srv.lobbyID {
			o.offer(Event{Cursor: le.Cursor, Conversation: le.Conversation, Everyone: true, Data: frame})
			continue
		}
		ids, ok := members[le.Conversation]
		if !ok {
			if ids, err = srv.store.MemberIDs(ctx, le.Conversation); err != nil {
				if ctx.Err() == nil {
					srv.log.Error("fill event gap", "cursor", le.Cursor, "err", err)
				}
				return false
			}
			members[le.Conversation] = ids
		}
		users := ids
		if le.Subject != "" {
			users = append(users[:len(users):len(users)], le.Subject)
		}
		o.offer(Event{Cursor: le.Cursor, Conversation: le.Conversation, Users: users, Data: frame})
	}
	if len(logged) == 0 {
		srv.log.Warn("event gap not in the store yet", "from", from, "upto", upto)
		return false
	}
	return true
}
