package sync

import (
	"context"
	"slices"
	"testing"
	"time"

	"parley/server/wire"
)

func TestMessageLengthLiveLost(t *testing.T) {
	voice := Message{Kind: KindVoice, State: StateComplete, Duration: 3 * time.Second, Packets: 150}
	cases := []struct {
		name             string
		edit             func(*Message)
		length           time.Duration
		live, lost, done bool
	}{
		{"complete", func(*Message) {}, 3 * time.Second, false, false, true},
		{"live grows with packets", func(m *Message) { m.State, m.Duration, m.Packets = StateRecording, 0, 50 }, time.Second, true, false, false},
		{"pending is not live yet", func(m *Message) { m.State, m.Pending = StateRecording, true }, 3 * time.Second, false, false, false},
		{"abandoned", func(m *Message) { m.State = StateAbandoned }, 3 * time.Second, false, true, false},
		{"refused for good", func(m *Message) { m.State = StateFailed }, 3 * time.Second, false, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := voice
			c.edit(&m)
			if m.Length() != c.length || m.Live() != c.live || m.Lost() != c.lost {
				t.Errorf("Length %v Live %v Lost %v; want %v %v %v", m.Length(), m.Live(), m.Lost(), c.length, c.live, c.lost)
			}
		})
	}
}

// TestStoreFillsTheModel: the store's reads carry what the UI shows
// without a translation: a conversation's name and who talks in it, and
// the receipts of the account's own messages.
func TestStoreFillsTheModel(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	me, bob, carol := wire.User{ID: "u-me", Name: "me"}, wire.User{ID: "u-b", Name: "bob"}, wire.User{ID: "u-c", Name: "carol"}
	group := wire.Conversation{ID: "g", Kind: wire.ConversationGroup, Title: "Crew", Members: []wire.User{me, bob, carol}}
	direct := wire.Conversation{ID: "d", Kind: wire.ConversationDirect, Members: []wire.User{me, bob}}
	alone := wire.Conversation{ID: "a", Kind: wire.ConversationGroup, Members: []wire.User{me}}
	mine := wire.Message{ID: newMessageID(), Conversation: "g", Seq: 1, Sender: me, Kind: wire.KindVoice, State: wire.StateComplete, DurationMs: 2000, Packets: 100}
	theirs := wire.Message{ID: newMessageID(), Conversation: "g", Seq: 2, Sender: bob, Kind: wire.KindText, State: wire.StateComplete, Text: "hi"}
	evs := []wire.Event{
		{Kind: wire.EventConversation, Info: &group}, {Kind: wire.EventConversation, Info: &direct}, {Kind: wire.EventConversation, Info: &alone},
		{Kind: wire.EventMessage, Message: &mine}, {Kind: wire.EventMessage, Message: &theirs},
		{Kind: wire.EventReceipt, Receipt: &wire.Receipt{Message: mine.ID, Conversation: "g", User: bob.ID, Kind: wire.ReceiptListened, PositionMs: 2000, At: 1}},
	}
	for i := range evs {
		evs[i].Cursor = int64(i + 1)
	}
	if _, err := s.applyEvents(ctx, evs, true, int64(len(evs)), ""); err != nil {
		t.Fatal(err)
	}
	talk := wire.Presence{Users: []wire.PresenceEntry{
		{User: bob.ID, State: wire.PresenceTalking, Conversation: "g"},
		{User: me.ID, State: wire.PresenceTalking, Conversation: "d"}, // me: not listed
		{User: carol.ID, State: wire.PresenceOnline},
	}}
	if err := s.applyPresence(ctx, talk, true); err != nil {
		t.Fatal(err)
	}
	convs, err := s.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		name    string
		talking []string
	}{"g": {"Crew", []string{"bob"}}, "d": {"bob", nil}, "a": {"me", nil}}
	for _, c := range convs {
		w := want[c.ID]
		if c.Name != w.name || !slices.Equal(c.Talking, w.talking) {
			t.Errorf("conversation %s: Name %q Talking %v; want %q %v", c.ID, c.Name, c.Talking, w.name, w.talking)
		}
	}
	ms, err := s.Messages(ctx, "g", 0, 10)
	if err != nil || len(ms) != 2 {
		t.Fatalf("Messages = %v, %v", ms, err)
	}
	wantMine := Heard{Delivered: []string{"bob"}, Heard: []string{"bob"}, Others: 2}
	if r := ms[0].Receipts; !slices.Equal(r.Heard, wantMine.Heard) || !slices.Equal(r.Delivered, wantMine.Delivered) || r.Others != 2 {
		t.Errorf("own message's Receipts = %+v, want %+v", r, wantMine)
	}
	if r := ms[1].Receipts; r.Others != 0 || len(r.Delivered) != 0 {
		t.Errorf("someone else's message has Receipts %+v", r)
	}
	one, err := s.Message(ctx, mine.ID)
	if err != nil || one.Receipts.Others != 2 || !slices.Equal(one.Receipts.Heard, []string{"bob"}) {
		t.Errorf("Message(%s).Receipts = %+v, %v", mine.ID, one.Receipts, err)
	}
}
