package sync

import (
	"context"
	"slices"
	"testing"
	"time"

	"parley/server/wire"
)

func TestFrameMsIsWireFrameDuration(t *testing.T) {
	if got := wire.FrameDuration.Milliseconds(); got != frameMs {
		t.Fatalf("wire.FrameDuration = %d ms, playedUpsertSQL assumes %d", got, frameMs)
	}
}

// TestWaitingCounts checks the one definition of unplayed (voice) and
// unread (text) through what the badge reads (Conversations), what the
// bubble reads (Message.Listened) and Waiting, message by message.
func TestWaitingCounts(t *testing.T) {
	ctx := context.Background()
	bob := wire.User{ID: "u-b", Name: "bob"}
	me := wire.User{ID: "u-me", Name: "me"}
	voice := func(state wire.MessageState, dur int64, packets uint32, from wire.User) wire.Message {
		return wire.Message{Sender: from, Kind: wire.KindVoice, State: state, DurationMs: dur, Packets: packets}
	}
	text := func(from wire.User) wire.Message {
		return wire.Message{Sender: from, Kind: wire.KindText, State: wire.StateComplete, Text: "hi"}
	}
	type receipt struct {
		user   string
		pos    int64
		remote bool // from another device (an event) instead of this one's outbox
	}
	cases := []struct {
		name     string
		msg      wire.Message
		receipts []receipt
		waits    bool
	}{
		{"voice unheard", voice(wire.StateComplete, 5000, 250, bob), nil, true},
		{"voice partly played here", voice(wire.StateComplete, 5000, 250, bob), []receipt{{"u-me", 100, false}}, true},
		{"voice partly played on another device", voice(wire.StateComplete, 5000, 250, bob), []receipt{{"u-me", 2500, true}}, true},
		{"voice played to the end", voice(wire.StateComplete, 5000, 250, bob), []receipt{{"u-me", 5000, false}}, false},
		{"voice played to the end elsewhere", voice(wire.StateComplete, 5000, 250, bob), []receipt{{"u-me", 5000, true}}, false},
		{"voice played, then its start replayed", voice(wire.StateComplete, 5000, 250, bob), []receipt{{"u-me", 5000, false}, {"u-me", 300, false}}, false},
		{"voice live, heard to the live edge", voice(wire.StateRecording, 0, 50, bob), []receipt{{"u-me", 1000, false}}, false},
		{"voice live, partly heard", voice(wire.StateRecording, 0, 50, bob), []receipt{{"u-me", 400, false}}, true},
		{"voice heard by bob only", voice(wire.StateComplete, 5000, 250, me), []receipt{{"u-b", 5000, true}}, false},
		{"voice withdrawn by its sender", voice(wire.StateCancelled, 2000, 100, bob), nil, false},
		{"voice abandoned before any audio", voice(wire.StateAbandoned, 0, 0, bob), nil, false},
		{"voice abandoned with audio", voice(wire.StateAbandoned, 800, 40, bob), nil, true},
		{"own voice", voice(wire.StateComplete, 5000, 250, me), nil, false},
		{"text unread", text(bob), nil, true},
		{"text seen", text(bob), []receipt{{"u-me", 0, false}}, false},
		{"text seen on another device", text(bob), []receipt{{"u-me", 0, true}}, false},
		{"own text", text(me), nil, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openTestStore(t)
			signIn(t, s, "e1")
			conv := wire.Conversation{ID: "c", Kind: wire.ConversationGroup, Title: "g", Members: []wire.User{me, bob}}
			m := c.msg
			m.ID, m.Conversation, m.Seq, m.Created = newMessageID(), "c", 1, int64(i+1)
			evs := []wire.Event{{Cursor: 1, Kind: wire.EventConversation, Info: &conv}, {Cursor: 2, Kind: wire.EventMessage, Message: &m}}
			if _, err := s.applyEvents(ctx, evs, true, 2, ""); err != nil {
				t.Fatal(err)
			}
			for j, r := range c.receipts {
				if r.remote || r.user != "u-me" {
					rc := wire.Receipt{Message: m.ID, Conversation: "c", User: r.user, Kind: wire.ReceiptListened, PositionMs: r.pos, At: int64(10 + j)}
					if _, err := s.applyEvents(ctx, []wire.Event{{Cursor: int64(3 + j), Kind: wire.EventReceipt, Receipt: &rc}}, true, int64(3+j), ""); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := s.queueReceipt(ctx, m.ID, wire.ReceiptListened, r.pos, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			cs, err := s.Conversations(ctx)
			if err != nil || len(cs) != 1 {
				t.Fatalf("Conversations = %v, %v", cs, err)
			}
			wantVoice, wantText := 0, 0
			if c.waits && m.Kind == wire.KindVoice {
				wantVoice = 1
			}
			if c.waits && m.Kind == wire.KindText {
				wantText = 1
			}
			if cs[0].Unplayed != wantVoice || cs[0].Unread != wantText {
				t.Errorf("badge: unplayed %d unread %d, want %d %d", cs[0].Unplayed, cs[0].Unread, wantVoice, wantText)
			}
			got, err := s.Message(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The bubble of a message from someone else shows unplayed
			// exactly when the badge counts it (withdrawn and empty ones
			// show no bubble to play).
			shown := m.Sender.ID != me.ID && m.State != wire.StateCancelled && !(m.Kind == wire.KindVoice && m.Packets == 0)
			if shown && got.Listened == c.waits {
				t.Errorf("bubble: Listened = %v, want %v", got.Listened, !c.waits)
			}
			ids, err := s.Waiting(ctx, "c", m.Kind, 10)
			if err != nil {
				t.Fatal(err)
			}
			if (len(ids) == 1) != c.waits {
				t.Errorf("Waiting = %v, want waiting %v", ids, c.waits)
			}
		})
	}
}

func TestQueueSeen(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	signIn(t, s, "e1")
	me, bob := wire.User{ID: "u-me", Name: "me"}, wire.User{ID: "u-b", Name: "bob"}
	conv := wire.Conversation{ID: "c", Kind: wire.ConversationGroup, Title: "g", Members: []wire.User{me, bob}}
	evs := []wire.Event{{Cursor: 1, Kind: wire.EventConversation, Info: &conv}}
	var newestText string
	for i, from := range []wire.User{bob, bob, me, bob} {
		m := wire.Message{ID: newMessageID(), Conversation: "c", Seq: int64(i + 1), Sender: from, Kind: wire.KindText, State: wire.StateComplete, Text: "t"}
		evs = append(evs, wire.Event{Cursor: int64(i + 2), Kind: wire.EventMessage, Message: &m})
		newestText = m.ID
	}
	voice := wire.Message{ID: newMessageID(), Conversation: "c", Seq: 9, Sender: bob, Kind: wire.KindVoice, State: wire.StateComplete, DurationMs: 1000, Packets: 50}
	evs = append(evs, wire.Event{Cursor: 9, Kind: wire.EventMessage, Message: &voice})
	if _, err := s.applyEvents(ctx, evs, true, 9, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{3, 0} {
		n, err := s.queueSeen(ctx, "c", time.Now())
		if err != nil || n != want {
			t.Errorf("queueSeen = %d, %v; want %d", n, err, want)
		}
	}
	cs, _ := s.Conversations(ctx)
	if cs[0].Unread != 0 || cs[0].Unplayed != 1 {
		t.Errorf("after seen: unread %d unplayed %d, want 0 and 1 (voice is not seen by reading)", cs[0].Unread, cs[0].Unplayed)
	}
	// One receipt, "seen up to" the newest text, however many were seen.
	rs, err := s.queuedReceipts(ctx, 10)
	if err != nil || len(rs) != 1 || rs[0].Message != newestText {
		t.Errorf("queued receipts = %+v, %v; want one, for the newest text %s", rs, err, newestText)
	}
}

// TestSeenUpTo: one listened receipt on a text covers the conversation's
// earlier texts: the sender sees them all seen, and the reader's other
// devices count them read; voice messages are not covered.
func TestSeenUpTo(t *testing.T) {
	ctx := context.Background()
	me, bob := wire.User{ID: "u-me", Name: "me"}, wire.User{ID: "u-b", Name: "bob"}
	conv := wire.Conversation{ID: "c", Kind: wire.ConversationGroup, Title: "g", Members: []wire.User{me, bob}}
	history := func(from wire.User) ([]wire.Event, []string) {
		evs := []wire.Event{{Kind: wire.EventConversation, Info: &conv}}
		var ids []string
		for i := range 5 {
			m := wire.Message{ID: newMessageID(), Conversation: "c", Seq: int64(i + 1), Sender: from, Kind: wire.KindText, State: wire.StateComplete, Text: "t"}
			if i == 1 {
				m.Kind, m.Text, m.DurationMs, m.Packets = wire.KindVoice, "", 1000, 50
			}
			evs = append(evs, wire.Event{Kind: wire.EventMessage, Message: &m})
			ids = append(ids, m.ID)
		}
		return evs, ids
	}
	apply := func(s *Store, evs ...wire.Event) {
		t.Helper()
		for i := range evs {
			evs[i].Cursor = int64(i + 1)
		}
		if _, err := s.applyEvents(ctx, evs, true, int64(len(evs)), ""); err != nil {
			t.Fatal(err)
		}
	}
	seenAt := func(msg string, user wire.User) wire.Event {
		return wire.Event{Kind: wire.EventReceipt, Receipt: &wire.Receipt{Message: msg, Conversation: "c", User: user.ID, Kind: wire.ReceiptListened, At: 9}}
	}

	t.Run("sender", func(t *testing.T) {
		s := openTestStore(t)
		signIn(t, s, "e1")
		evs, ids := history(me)
		apply(s, append(evs, seenAt(ids[3], bob))...) // bob saw up to the fourth
		got, err := s.Heard(ctx, "c", "")
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			seen := slices.Contains(got[id].Heard, "bob")
			if want := i != 1 && i <= 3; seen != want { // the voice message (1) and the fifth are not seen
				t.Errorf("message %d: seen by bob %v, want %v", i, seen, want)
			}
		}
		ms, err := s.Messages(ctx, "c", 0, 10)
		if err != nil || len(ms) != 5 || !slices.Equal(ms[0].Receipts.Heard, []string{"bob"}) {
			t.Errorf("the first text's receipts in Messages: %+v, %v", ms, err)
		}
	})
	t.Run("reader's other device", func(t *testing.T) {
		s := openTestStore(t)
		signIn(t, s, "e1")
		evs, ids := history(bob)
		apply(s, append(evs, seenAt(ids[3], me))...) // seen on another device
		cs, err := s.Conversations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].Unread != 1 || cs[0].Unplayed != 1 {
			t.Errorf("unread %d unplayed %d; want 1 (the fifth text) and 1 (the voice message)", cs[0].Unread, cs[0].Unplayed)
		}
	})
}
