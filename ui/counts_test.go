package ui

import (
	"testing"
	"time"

	"parley/sync"
)

// TestTextMessagesBadgeAndAreSeen: a text from someone else counts in the
// badge like voice; opening its conversation while the window has focus
// marks it seen, and not before.
func TestTextMessagesBadgeAndAreSeen(t *testing.T) {
	h := newHarness(t, true)
	h.m.convs = append(h.m.convs, Conversation{ID: "g1", Title: "Warehouse crew", Kind: sync.ConversationGroup})
	h.m.put(Message{Conversation: "g1", SenderName: "carol", Kind: sync.KindText, Text: "Truck is here", State: sync.StateComplete})
	h.m.put(Message{Conversation: "g1", SenderName: "carol", Kind: sync.KindVoice, Duration: 3 * time.Second, Waveform: testWave(8), State: sync.StateComplete})
	h.m.put(Message{Conversation: "g1", SenderName: "alice", Mine: true, Kind: sync.KindText, Text: "coming", State: sync.StateComplete})
	h.u.handleHint(Hint{Kind: HintConversations})
	s := h.u.main
	badge := func() int {
		for _, c := range s.convs {
			if c.ID == "g1" {
				return c.Unplayed + c.Unread
			}
		}
		t.Fatalf("g1 not listed")
		return 0
	}
	if got := badge(); got != 2 {
		t.Fatalf("badge = %d, want 2 (one voice, one text; own text not counted)", got)
	}
	h.u.ExitedForeground()
	s.open("g1")
	if h.m.seenCalls != 0 {
		t.Errorf("text marked seen while the window is in the background")
	}
	h.u.EnteredForeground()
	if h.m.seenCalls != 1 {
		t.Errorf("MarkSeen calls = %d after focus returned, want 1", h.m.seenCalls)
	}
	h.u.handleHint(Hint{Kind: HintConversations})
	if got := badge(); got != 1 {
		t.Errorf("badge after reading = %d, want 1 (the voice message is still unplayed)", got)
	}
	h.u.reloadMessages()
	if h.m.seenCalls != 1 {
		t.Errorf("MarkSeen called again with nothing waiting: %d calls", h.m.seenCalls)
	}
}
