package sync

import (
	"context"
	"path/filepath"
	"testing"

	"parley/server/wire"
)

// TestMuted: a muted conversation says so in Conversations and Muted,
// still counts what waits, and stays muted when the store is reopened;
// each step is applied to the state the previous one left.
func TestMuted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "client.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	signIn(t, s, "e1")
	var evs []wire.Event
	for i, id := range []string{"a", "b"} {
		conv := wire.Conversation{ID: id, Kind: wire.ConversationGroup, Title: id, Members: []wire.User{{ID: "u-me", Name: "me"}, {ID: "u-b", Name: "bob"}}}
		m := wire.Message{ID: newMessageID(), Conversation: id, Seq: 1, Sender: wire.User{ID: "u-b", Name: "bob"}, Kind: wire.KindVoice, State: wire.StateComplete, Packets: 2, Created: int64(i)}
		evs = append(evs, wire.Event{Cursor: int64(2*i + 1), Kind: wire.EventConversation, Info: &conv},
			wire.Event{Cursor: int64(2*i + 2), Kind: wire.EventMessage, Message: &m})
	}
	if _, err := s.applyEvents(ctx, evs, true, 4, ""); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		do     func() error
		muted  map[string]bool
		reopen bool
	}{
		{"nothing muted", func() error { return nil }, map[string]bool{}, false},
		{"mute a", func() error { return s.SetMuted(ctx, "a", true) }, map[string]bool{"a": true}, false},
		{"mute a again", func() error { return s.SetMuted(ctx, "a", true) }, map[string]bool{"a": true}, false},
		{"reopened", func() error { return nil }, map[string]bool{"a": true}, true},
		{"mute b", func() error { return s.SetMuted(ctx, "b", true) }, map[string]bool{"a": true, "b": true}, false},
		{"unmute a", func() error { return s.SetMuted(ctx, "a", false) }, map[string]bool{"b": true}, false},
		{"unmute a again", func() error { return s.SetMuted(ctx, "a", false) }, map[string]bool{"b": true}, true},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.reopen {
			s.Close()
			if s, err = OpenStore(path); err != nil {
				t.Fatalf("%s: reopen: %v", st.name, err)
			}
		}
		got, err := s.Muted(ctx)
		if err != nil {
			t.Fatalf("%s: Muted: %v", st.name, err)
		}
		if len(got) != len(st.muted) {
			t.Errorf("%s: Muted = %v, want %v", st.name, got, st.muted)
		}
		convs, err := s.Conversations(ctx)
		if err != nil || len(convs) != 2 {
			t.Fatalf("%s: Conversations = %v, %v", st.name, convs, err)
		}
		for _, c := range convs {
			if c.Muted != st.muted[c.ID] || got[c.ID] != st.muted[c.ID] {
				t.Errorf("%s: %s muted = %v (Muted: %v), want %v", st.name, c.ID, c.Muted, got[c.ID], st.muted[c.ID])
			}
			if c.Unplayed != 1 {
				t.Errorf("%s: %s unplayed = %d, want 1 (muted still counts)", st.name, c.ID, c.Unplayed)
			}
		}
	}
}
