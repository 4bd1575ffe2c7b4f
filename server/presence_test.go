package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	gosync "sync"
	"testing"

	"parley/server/wire"
)

// TestSessionPresenceMerge: what a session's writer is given to send:
// nothing before the snapshot, a user's later change replacing an
// earlier one, and a change that reached the session before the
// snapshot kept over the snapshot's older entry for that user.
func TestSessionPresenceMerge(t *testing.T) {
	on := func(u string) wire.PresenceEntry { return wire.PresenceEntry{User: u, State: wire.PresenceOnline} }
	off := func(u string) wire.PresenceEntry { return wire.PresenceEntry{User: u, State: wire.PresenceOffline} }
	talk := func(u, c string) wire.PresenceEntry {
		return wire.PresenceEntry{User: u, State: wire.PresenceTalking, Conversation: c}
	}
	type step struct {
		snapshot []wire.PresenceEntry // presenceSnapshot when set
		deltas   []wire.PresenceEntry // else deliverPresence
		take     bool                 // then takePresence, compared with want
		want     []wire.PresenceEntry
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"nothing before the snapshot", []step{
			{deltas: []wire.PresenceEntry{on("b")}, take: true, want: nil},
		}},
		{"snapshot alone, ordered by user", []step{
			{snapshot: []wire.PresenceEntry{on("c"), on("a"), on("b")}, take: true, want: []wire.PresenceEntry{on("a"), on("b"), on("c")}},
			{take: true, want: nil},
		}},
		{"a change before the snapshot wins over it", []step{
			{deltas: []wire.PresenceEntry{off("b")}},
			{snapshot: []wire.PresenceEntry{on("a"), on("b")}, take: true, want: []wire.PresenceEntry{on("a"), off("b")}},
		}},
		{"later changes replace earlier ones not yet sent", []step{
			{snapshot: []wire.PresenceEntry{on("a")}},
			{deltas: []wire.PresenceEntry{on("b")}},
			{deltas: []wire.PresenceEntry{talk("b", "C1")}},
			{deltas: []wire.PresenceEntry{on("c")}},
			{deltas: []wire.PresenceEntry{off("c")}, take: true, want: []wire.PresenceEntry{on("a"), talk("b", "C1"), off("c")}},
		}},
		{"sent changes are not sent again", []step{
			{snapshot: []wire.PresenceEntry{on("a")}, take: true, want: []wire.PresenceEntry{on("a")}},
			{deltas: []wire.PresenceEntry{on("b")}, take: true, want: []wire.PresenceEntry{on("b")}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &session{wake: make(chan struct{}, 1)}
			for i, st := range tc.steps {
				if st.snapshot != nil {
					s.presenceSnapshot(st.snapshot)
				} else if st.deltas != nil {
					s.deliverPresence(st.deltas)
				}
				if st.take {
					if got := s.takePresence(); !reflect.DeepEqual(got, st.want) {
						t.Errorf("step %d: took %+v, want %+v", i, got, st.want)
					}
				}
			}
		})
	}
}

// TestPresenceFramesPaged: presence that fits one frame is one frame; a
// snapshot too large for one is split into frames within the limit that
// together hold every entry in order.
func TestPresenceFramesPaged(t *testing.T) {
	tests := []struct {
		name      string
		entries   int
		minFrames int
		maxFrames int
	}{
		{"one change", 1, 1, 1},
		{"a thousand users", 1000, 1, 1},
		{"more than a frame holds", 4000, 2, 4}, // about 220 KB
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var entries []wire.PresenceEntry
			for i := range tc.entries {
				entries = append(entries, wire.PresenceEntry{User: fmt.Sprintf("01JUSER%019d", i), State: wire.PresenceOnline})
			}
			frames, err := presenceFrames(entries)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) < tc.minFrames || len(frames) > tc.maxFrames {
				t.Errorf("%d frames for %d entries, want %d..%d", len(frames), len(entries), tc.minFrames, tc.maxFrames)
			}
			var got []wire.PresenceEntry
			for i, b := range frames {
				if len(b) > wire.MaxFrameBytes {
					t.Errorf("frame %d: %d bytes, limit %d", i, len(b), wire.MaxFrameBytes)
				}
				env, err := wire.DecodeEnvelope(b)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				p, err := wire.Decode[wire.Presence](env)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				got = append(got, p.Users...)
			}
			if !reflect.DeepEqual(got, entries) {
				t.Errorf("frames hold %d entries, want the %d in order", len(got), len(entries))
			}
		})
	}
}

// sizingBroker is the hub, measuring what a networked broker would carry
// (as JSON) for each presence change and each Lobby event.
type sizingBroker struct {
	*hub
	mu    gosync.Mutex
	sizes []int // presence publications
	lobby []int // Lobby events
}

// record appends v's JSON size to *to.
func (b *sizingBroker) record(to *[]int, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	*to = append(*to, len(data))
	return nil
}

func (b *sizingBroker) PublishEvent(ctx context.Context, ev Event) error {
	var lobby struct {
		Payload struct {
			Info *wire.Conversation `json:"info"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(ev.Data, &lobby); err != nil {
		return err
	}
	if info := lobby.Payload.Info; info != nil && info.Lobby {
		if err := b.record(&b.lobby, ev); err != nil {
			return err
		}
	}
	return b.hub.PublishEvent(ctx, ev)
}

func (b *sizingBroker) PublishFrame(ctx context.Context, f Frame) error {
	if f.Presence != nil || bytes.Contains(f.Data, []byte(`"type":"presence"`)) {
		if err := b.record(&b.sizes, f); err != nil {
			return err
		}
	}
	return b.hub.PublishFrame(ctx, f)
}

// TestPresenceCostsTheChange: each user coming online is one presence
// publication the size of that change, however many are online already
// (it used to name every online user: O(N) per connect, O(N²) for a
// burst), and a watcher ends up with everyone online.
func TestPresenceCostsTheChange(t *testing.T) {
	b := &sizingBroker{hub: newHub()}
	ts := startServer(t, func(c *Config) { c.Broker, c.NodeID = b, "sizing" })
	watcher := register(t, ts, "watcher")
	const users = 12
	ids := map[string]bool{}
	for i := range users {
		c := register(t, ts, fmt.Sprintf("user%02d", i))
		ids[c.welcome.User.ID] = true
	}
	// What the watcher knows: its snapshot, then every change merged.
	known := map[string]wire.PresenceState{}
	for len(ids) > 0 {
		f := watcher.waitFor("presence", isType(wire.TypePresence))
		for _, e := range decodeAs[wire.Presence](f.env).Users {
			known[e.User] = e.State
			if e.State == wire.PresenceOnline {
				delete(ids, e.User)
			}
		}
	}
	b.mu.Lock()
	sizes := append([]int(nil), b.sizes...)
	b.mu.Unlock()
	if len(sizes) != users+1 {
		t.Fatalf("%d presence publications for %d connects, want one each: %v", len(sizes), users+1, sizes)
	}
	for i, n := range sizes {
		if n > sizes[0]+8 { // ids of one length; a few bytes of leeway
			t.Errorf("connect %d published %d bytes, the first %d: grows with who is online", i, n, sizes[0])
		}
	}
}

// TestLobbyEventsCostTheEvent: a Lobby event (here: each registration's
// "joined the Lobby") is published the size of the change, not with the
// list of every member (it used to name them all: every Lobby message
// and receipt cost as much as there are users), and still reaches the
// members online.
func TestLobbyEventsCostTheEvent(t *testing.T) {
	b := &sizingBroker{hub: newHub()}
	ts := startServer(t, func(c *Config) { c.Broker, c.NodeID = b, "sizing" })
	watcher := register(t, ts, "watcher")
	const users = 12
	for i := range users {
		c := register(t, ts, fmt.Sprintf("user%02d", i))
		watcher.waitFor("joined", func(f frame) bool {
			if f.env == nil || f.env.Type != wire.TypeEvent {
				return false
			}
			ev := decodeAs[wire.Event](f.env)
			return len(ev.Added) == 1 && ev.Added[0].ID == c.welcome.User.ID
		})
	}
	b.mu.Lock()
	sizes := append([]int(nil), b.lobby...)
	b.mu.Unlock()
	if len(sizes) < users {
		t.Fatalf("%d Lobby events published for %d registrations", len(sizes), users)
	}
	for i, n := range sizes {
		if n > sizes[0]+8 { // names of one length, a growing member count
			t.Errorf("Lobby event %d published %d bytes, the first %d: grows with the members", i, n, sizes[0])
		}
	}
}
