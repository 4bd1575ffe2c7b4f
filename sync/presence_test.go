package sync

import (
	"context"
	"fmt"
	"testing"

	"parley/server/wire"
)

// TestPresenceFollowsUsers: a client's presence table follows users who
// come and go in a burst, whatever way the server merges their changes
// into frames: everyone online while connected, offline once gone.
func TestPresenceFollowsUsers(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	a := e.client("ann")
	a.waitOnline()
	ctx := context.Background()
	states := func() map[string]wire.PresenceState {
		ps, err := a.store.Presence(ctx)
		if err != nil {
			t.Fatalf("Presence: %v", err)
		}
		m := map[string]wire.PresenceState{}
		for _, p := range ps {
			m[p.User] = p.State
		}
		return m
	}
	const others = 6
	cs := make([]*testClient, others)
	for i := range cs {
		cs[i] = e.client(fmt.Sprintf("user%d", i))
	}
	ids := make([]string, others)
	for i, c := range cs {
		c.waitOnline()
		ids[i] = c.me()
	}
	a.waitFor("everyone online", func() bool {
		m := states()
		for _, id := range ids {
			if m[id] != wire.PresenceOnline {
				return false
			}
		}
		return m[a.me()] == wire.PresenceOnline
	})
	for _, c := range cs[:others/2] {
		c.close()
	}
	a.waitFor("half gone", func() bool {
		m := states()
		for i, id := range ids {
			want := wire.PresenceOnline
			if i < others/2 {
				want = wire.PresenceOffline
			}
			if m[id] != want {
				return false
			}
		}
		return true
	})
}
