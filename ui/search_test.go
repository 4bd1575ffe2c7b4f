package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
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

// TestSearchHitOlderThanLoaded: in a conversation of 100 000 cached
// messages, a hit far older than the pages loaded is paged in (one read
// around it, not every page in between) and shown; the window then pages
// newer as its end comes into view and joins the newest messages, which
// it follows again.
func TestSearchHitOlderThanLoaded(t *testing.T) {
	const total = 100000
	h := newHarness(t, true)
	fillHistory(h, total)
	s := openLobby(t, h)
	if s.msgs[0].Seq != total-pageSize+1 {
		t.Fatalf("opened at seq %d, want the newest page", s.msgs[0].Seq)
	}
	jump := func(seq int64) {
		t.Helper()
		hit := h.m.msgs["lobby"][seq-1]
		if hit.Seq != seq {
			t.Fatalf("message %d has seq %d", seq, hit.Seq)
		}
		start := time.Now()
		s.jumpTo(hit)
		took := time.Since(start)
		i, ok := s.pos(hit.ID)
		if !ok {
			t.Fatalf("hit at seq %d not loaded (loaded %d..%d)", seq, s.msgs[0].Seq, s.msgs[len(s.msgs)-1].Seq)
		}
		if _, shown := s.msgList.visible[i]; !shown || s.jump != "" {
			t.Errorf("hit at seq %d loaded but not on screen (jump %q)", seq, s.jump)
		}
		if len(s.msgs) > 2*pageSize { // the page around it, and the next if the end shows
			t.Errorf("jump to seq %d loaded %d messages, want a page or two around it", seq, len(s.msgs))
		}
		t.Logf("jump to seq %d of %d: %v, %d loaded", seq, total, took, len(s.msgs))
	}
	jump(7) // the far past
	if !s.detached {
		t.Error("a window of old history is not marked detached")
	}
	scrollUp(s) // older pages still load above it
	if s.msgs[0].Seq != 1 {
		t.Errorf("after scrolling up the window starts at %d, want 1", s.msgs[0].Seq)
	}

	jump(total - 100) // older than the newest page, close to it
	scrollDown := func() {
		tl := s.msgList
		tl.scroll.ScrollToOffset(fyne.NewPos(0, tl.tops[len(tl.tops)-1]))
		tl.scroll.OnScrolled(tl.scroll.Offset)
	}
	for range 4 {
		if !s.detached {
			break
		}
		scrollDown()
	}
	if s.detached {
		t.Fatal("scrolling down never joined the newest messages")
	}
	for i := 1; i < len(s.msgs); i++ {
		if s.msgs[i].Seq != s.msgs[i-1].Seq+1 {
			t.Fatalf("gap after joining: seq %d then %d", s.msgs[i-1].Seq, s.msgs[i].Seq)
		}
	}
	if last := s.msgs[len(s.msgs)-1].Seq; last != total {
		t.Errorf("joined window ends at %d, want %d", last, total)
	}
	// Talking from a window of old history brings the newest back, with
	// the new message.
	jump(50)
	s.talkBtn.MouseDown(&desktop.MouseEvent{Button: desktop.MouseButtonPrimary})
	if s.detached || s.msgs[len(s.msgs)-1].ID != h.rec.current {
		t.Errorf("talking from old history: detached %v, last shown %q, want the new message %q",
			s.detached, s.msgs[len(s.msgs)-1].ID, h.rec.current)
	}
	s.talkBtn.MouseUp(&desktop.MouseEvent{Button: desktop.MouseButtonPrimary})
	fresh := h.m.put(Message{Conversation: "lobby", SenderName: "bob", Kind: sync.KindText, Text: "new", State: sync.StateComplete})
	h.u.handleHint(Hint{Kind: HintConversation, Conversation: "lobby"})
	if _, ok := s.pos(fresh.ID); !ok {
		t.Error("a new message after joining does not show")
	}
}
