package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func TestReceiptText(t *testing.T) {
	own := func(kind MessageKind, r Receipts) Message {
		return Message{Mine: true, Kind: kind, State: StateComplete, Receipts: r}
	}
	cases := []struct {
		name string
		m    Message
		want string
	}{
		{"sent, nobody has it yet", own(MessageVoice, Receipts{Others: 3}), ""},
		{"delivered to some", own(MessageVoice, Receipts{Delivered: []string{"bob"}, Others: 3}), "Delivered to 1 of 3"},
		{"delivered to all", own(MessageVoice, Receipts{Delivered: []string{"bob", "carol"}, Others: 2}), "Delivered"},
		{"heard by one", own(MessageVoice, Receipts{Delivered: []string{"bob", "carol"}, Heard: []string{"carol"}, Others: 3}), "Heard by carol"},
		{"direct, heard", own(MessageVoice, Receipts{Delivered: []string{"bob"}, Heard: []string{"bob"}, Others: 1}), "Heard by everyone"},
		{"many", own(MessageVoice, Receipts{Heard: []string{"a", "b", "c", "d", "e"}, Others: 9}), "Heard by a, b, c and 2 more"},
		{"text seen", own(MessageText, Receipts{Heard: []string{"bob"}, Others: 2}), "Seen by bob"},
		{"someone else's", Message{Kind: MessageVoice, State: StateComplete, Receipts: Receipts{Heard: []string{"bob"}, Others: 1}}, ""},
		{"still pending", Message{Mine: true, State: StatePending, Receipts: Receipts{Heard: []string{"bob"}, Others: 1}}, ""},
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
	m := h.m.put(Message{Conversation: "lobby", Sender: "alice", Mine: true, Kind: MessageVoice, Duration: 4 * time.Second,
		Waveform: testWave(64), State: StateComplete, Receipts: Receipts{Delivered: []string{"bob", "carol"}, Others: 2}})
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
