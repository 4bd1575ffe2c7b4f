package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"parley/sync"
)

func TestReceiptText(t *testing.T) {
	own := func(kind sync.MessageKind, r sync.Heard) Message {
		return Message{Mine: true, Kind: kind, State: sync.StateComplete, Receipts: r}
	}
	cases := []struct {
		name string
		m    Message
		want string
	}{
		{"sent, nobody has it yet", own(sync.KindVoice, sync.Heard{Others: 3}), ""},
		{"delivered to some", own(sync.KindVoice, sync.Heard{Delivered: []string{"bob"}, Others: 3}), "Delivered to 1 of 3"},
		{"delivered to all", own(sync.KindVoice, sync.Heard{Delivered: []string{"bob", "carol"}, Others: 2}), "Delivered"},
		{"heard by one", own(sync.KindVoice, sync.Heard{Delivered: []string{"bob", "carol"}, Heard: []string{"carol"}, Others: 3}), "Heard by carol"},
		{"direct, heard", own(sync.KindVoice, sync.Heard{Delivered: []string{"bob"}, Heard: []string{"bob"}, Others: 1}), "Heard by everyone"},
		{"many", own(sync.KindVoice, sync.Heard{Heard: []string{"a", "b", "c", "d", "e"}, Others: 9}), "Heard by a, b, c and 2 more"},
		{"text seen", own(sync.KindText, sync.Heard{Heard: []string{"bob"}, Others: 2}), "Seen by bob"},
		{"someone else's", Message{Kind: sync.KindVoice, State: sync.StateComplete, Receipts: sync.Heard{Heard: []string{"bob"}, Others: 1}}, ""},
		{"still pending", Message{Mine: true, State: sync.StateComplete, Pending: true, Receipts: sync.Heard{Heard: []string{"bob"}, Others: 1}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := receiptText(c.m); got != c.want {
				t.Errorf("receiptText = %q, want %q", got, c.want)
			}
		})
	}
}

// TestHeardByUpdatesLive: bob's receipt arrives as a conversation hint and
// alice's bubble says so.
func TestHeardByUpdatesLive(t *testing.T) {
	h := newHarness(t, true)
	h.u.handleHint(Hint{Kind: HintConversations})
	m := h.m.put(Message{Conversation: "lobby", SenderName: "alice", Mine: true, Kind: sync.KindVoice, Duration: 4 * time.Second,
		Waveform: testWave(64), State: sync.StateComplete, Receipts: sync.Heard{Delivered: []string{"bob", "carol"}, Others: 2}})
	h.u.handleHint(Hint{Kind: HintConversation, Conversation: "lobby"})
	posOf := func(id string) int { i, _ := h.u.main.pos(id); return i }
	row := func() string { return h.u.main.msgs[posOf(m.ID)].Receipts.Heard[0] }
	h.m.update(m.ID, func(x *Message) { x.Receipts.Heard = []string{"bob"} })
	h.u.handleHint(Hint{Kind: HintConversation, Conversation: "lobby"})
	if got := row(); got != "bob" {
		t.Fatalf("heard = %q", got)
	}
	b := newVoiceBubble(&bubbleActions{})
	b.Set(bubbleView{Msg: h.u.main.msgs[posOf(m.ID)], Speed: 1})
	if got := b.state.Text; got != "Heard by bob" {
		t.Errorf("bubble label = %q, want Heard by bob", got)
	}
	w := test.NewWindow(b)
	defer w.Close()
	w.Resize(fyne.NewSize(520, 90))
	test.AssertImageMatches(t, "bubble_heard_by.png", w.Canvas().Capture())
}
