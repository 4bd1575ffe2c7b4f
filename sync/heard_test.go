package sync

import (
	"context"
	"slices"
	"testing"

	"parley/server/wire"
)

func TestHeard(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	me, bob, carol := wire.User{ID: "u-me", Name: "me"}, wire.User{ID: "u-b", Name: "bob"}, wire.User{ID: "u-c", Name: "carol"}
	conv := wire.Conversation{ID: "c", Kind: wire.ConversationGroup, Title: "g", Members: []wire.User{me, bob, carol}}
	mine := wire.Message{ID: newMessageID(), Conversation: "c", Seq: 1, Sender: me, Kind: wire.KindVoice, State: wire.StateComplete, DurationMs: 2000, Packets: 100}
	text := wire.Message{ID: newMessageID(), Conversation: "c", Seq: 2, Sender: me, Kind: wire.KindText, State: wire.StateComplete, Text: "hi"}
	theirs := wire.Message{ID: newMessageID(), Conversation: "c", Seq: 3, Sender: bob, Kind: wire.KindVoice, State: wire.StateComplete, DurationMs: 1000, Packets: 50}
	rc := func(msg string, u wire.User, kind wire.ReceiptKind, pos int64, at int64) wire.Event {
		return wire.Event{Kind: wire.EventReceipt, Receipt: &wire.Receipt{Message: msg, Conversation: "c", User: u.ID, Kind: kind, PositionMs: pos, At: at}}
	}
	evs := []wire.Event{
		{Kind: wire.EventConversation, Info: &conv},
		{Kind: wire.EventMessage, Message: &mine}, {Kind: wire.EventMessage, Message: &text}, {Kind: wire.EventMessage, Message: &theirs},
		rc(mine.ID, bob, wire.ReceiptDelivered, 0, 1),
		rc(mine.ID, carol, wire.ReceiptDelivered, 0, 2),
		rc(mine.ID, bob, wire.ReceiptListened, 2000, 3),     // to the end
		rc(mine.ID, carol, wire.ReceiptListened, 500, 4),    // a quarter
		rc(text.ID, carol, wire.ReceiptListened, 0, 5),      // seen
		rc(theirs.ID, carol, wire.ReceiptListened, 1000, 6), // not mine: not reported
		rc(mine.ID, me, wire.ReceiptListened, 2000, 7),      // my own other device
	}
	for i := range evs {
		evs[i].Cursor = int64(i + 1)
	}
	if _, err := s.applyEvents(ctx, evs, true, int64(len(evs)), ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.Heard(ctx, "c", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		id        string
		delivered []string
		heard     []string
	}{
		{"voice", mine.ID, []string{"bob", "carol"}, []string{"bob"}},
		{"text", text.ID, []string{"carol"}, []string{"carol"}},
		{"someone else's", theirs.ID, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := got[c.id]
			if !slices.Equal(h.Delivered, c.delivered) || !slices.Equal(h.Heard, c.heard) {
				t.Errorf("Heard = %+v, want delivered %v heard %v", h, c.delivered, c.heard)
			}
		})
	}
	one, err := s.Heard(ctx, "c", text.ID)
	if err != nil || len(one) != 1 {
		t.Errorf("Heard of one message = %v, %v", one, err)
	}
}
