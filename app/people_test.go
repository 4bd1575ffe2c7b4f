package app

import (
	"testing"

	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

func TestMembersOf(t *testing.T) {
	c := sync.Conversation{ID: "g", Members: []sync.User{{ID: "u-c", Name: "carol"}, {ID: "u-a", Name: "Alice"}, {ID: "u-b", Name: "bob"}, {ID: "u-d", Name: "dave"}}}
	pres := []sync.Presence{
		{User: "u-b", State: wire.PresenceTalking, Conversation: "g"},
		{User: "u-c", State: wire.PresenceTalking, Conversation: "other"},
		{User: "u-d", State: wire.PresenceOffline},
	}
	got := membersOf(c, pres, "u-a")
	want := []ui.Person{
		{ID: "u-a", Name: "Alice", Presence: ui.PresenceOnline, Me: true},
		{ID: "u-b", Name: "bob", Presence: ui.PresenceTalking},
		{ID: "u-c", Name: "carol", Presence: ui.PresenceOnline},
		{ID: "u-d", Name: "dave", Presence: ui.PresenceOffline},
	}
	if len(got) != len(want) {
		t.Fatalf("members = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("member %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestNewMessagesText(t *testing.T) {
	cases := []struct {
		voice, text int
		want        string
	}{
		{1, 0, "New voice message in crew"},
		{3, 0, "3 new voice messages in crew"},
		{0, 1, "New message in crew"},
		{0, 4, "4 new messages in crew"},
		{2, 1, "2 voice and 1 text messages in crew"},
	}
	for _, c := range cases {
		if got := newMessagesText("crew", c.voice, c.text); got != c.want {
			t.Errorf("newMessagesText(%d, %d) = %q, want %q", c.voice, c.text, got, c.want)
		}
	}
}
