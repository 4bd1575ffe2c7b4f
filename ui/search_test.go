package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"parley/sync"
)

func TestSearchJumpsToMessage(t *testing.T) {
	h := newHarness(t, true)
	seedConversations(h)
	for i := range 40 {
		h.m.put(Message{Conversation: "g1", SenderName: "carol", Kind: sync.KindText, Text: fmt.Sprintf("filler %d", i), State: sync.StateComplete})
	}
	target := h.m.put(Message{Conversation: "g1", SenderName: "carol", Kind: sync.KindText, Text: "the forklift key is in the office", State: sync.StateComplete})
	for i := range 40 {
		h.m.put(Message{Conversation: "g1", SenderName: "carol", Kind: sync.KindText, Text: fmt.Sprintf("more %d", i), State: sync.StateComplete})
	}
	s := h.u.main
	test.Type(s.search.entry, "FORKLIFT")
	if s.convList.Visible() || !s.search.content.Visible() {
		t.Fatalf("results do not replace the conversation list while searching")
	}
	if len(s.search.hits) != 1 || s.search.hits[0].Message.ID != target.ID || s.search.hits[0].ConversationTitle != "Warehouse crew" {
		t.Fatalf("hits = %+v", s.search.hits)
	}
	s.search.results.Select(0)
	if s.current != "g1" {
		t.Fatalf("open = %q, want the hit's conversation", s.current)
	}
	i, _ := s.pos(target.ID)
	if _, shown := s.msgList.visible[i]; !shown || s.jump != "" {
		t.Errorf("row %d not on screen (jump %q): the timeline did not move to the hit", i, s.jump)
	}
	test.Type(s.search.entry, "zzz")
	if len(s.search.hits) != 0 || !strings.Contains(s.search.empty.Text, "FORKLIFTzzz") {
		t.Errorf("no-hit note = %q", s.search.empty.Text)
	}
	s.search.entry.SetText("")
	if !s.convList.Visible() || s.search.content.Visible() {
		t.Errorf("clearing the search does not bring the list back")
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("a", 100) + " needle " + strings.Repeat("b", 100)
	cases := []struct{ name, text, q, want string }{
		{"short", "hello  world\nagain", "world", "hello world again"},
		{"around the match", long, "needle", "…" + strings.Repeat("a", 19) + " needle " + strings.Repeat("b", 53) + "…"},
	}
	for _, c := range cases {
		if got := snippet(c.text, c.q); got != c.want {
			t.Errorf("%s: snippet = %q, want %q", c.name, got, c.want)
		}
	}
}
