package ui

import (
	"fmt"
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestWindowSize(t *testing.T) {
	cases := []struct {
		name string
		w, h float64
		want fyne.Size
	}{
		{"fresh install", 0, 0, defaultWindowSize},
		{"remembered", 1200, 800, fyne.NewSize(1200, 800)},
		{"too small to be useful", 100, 800, defaultWindowSize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := windowSize(Prefs{WindowWidth: c.w, WindowHeight: c.h}); got != c.want {
				t.Errorf("windowSize = %v, want %v", got, c.want)
			}
		})
	}
}

// TestRemembersConversationAndSize: the conversation open last time opens
// at start with its row highlighted, and closing saves the window size.
func TestRemembersConversationAndSize(t *testing.T) {
	h := newHarness(t, true)
	seedConversations(h)
	h.u.main.open("d1")
	if h.set.p.LastConversation != "d1" {
		t.Fatalf("LastConversation = %q, want d1 saved on open", h.set.p.LastConversation)
	}
	h.u.win.Resize(fyne.NewSize(1000, 700))
	h.u.Close()
	if h.set.p.WindowWidth != 1000 || h.set.p.WindowHeight != 700 {
		t.Errorf("saved size = %vx%v, want 1000x700", h.set.p.WindowWidth, h.set.p.WindowHeight)
	}

	// Next start, with those settings.
	h2 := newHarness(t, true)
	h2.set.p = h.set.p
	h2.u.prefs = h.set.p
	h2.u.main.current = ""
	seedConversations(h2)
	s := h2.u.main
	if s.current != "d1" {
		t.Errorf("open at start = %q, want d1", s.current)
	}
	if s.highlight < 0 || s.highlight >= len(s.convs) || s.convs[s.highlight].ID != "d1" {
		t.Errorf("highlighted row %d, want d1's", s.highlight)
	}
	// A re-sort (new activity elsewhere) moves the highlight with it.
	h2.m.convs[0], h2.m.convs[2] = h2.m.convs[2], h2.m.convs[0]
	h2.u.handleHint(Hint{Kind: HintConversations})
	if s.convs[s.highlight].ID != s.current {
		t.Errorf("after re-sort: highlight on %s, open %s", s.convs[s.highlight].ID, s.current)
	}
}

// TestTalkHintNamesConfiguredKey: the entry's hint follows the talk key
// chosen in settings.
func TestTalkHintNamesConfiguredKey(t *testing.T) {
	h := newHarness(t, true)
	if got := h.u.main.entry.PlaceHolder; got != "Type a message, or hold F8 to talk" {
		t.Errorf("hint = %q", got)
	}
	h.u.showSettings()
	var keyBtn *widget.Button
	for _, o := range test.LaidOutObjects(h.u.win.Content()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "F8" {
			keyBtn = b
		}
	}
	if keyBtn == nil {
		t.Fatal("no talk key button in settings")
	}
	test.Tap(keyBtn)
	h.u.keys.capture(&fyne.KeyEvent{Name: fyne.KeyF9})
	if got := h.u.main.entry.PlaceHolder; got != "Type a message, or hold F9 to talk" {
		t.Errorf("hint after choosing F9 = %q", got)
	}
}

// fakePlacement is a screen on which windows sit at a position.
type fakePlacement struct {
	x, y  int
	known bool
	moves []string
}

func (p *fakePlacement) Position(fyne.Window) (int, int, bool) { return p.x, p.y, p.known }

func (p *fakePlacement) Move(_ fyne.Window, x, y int) error {
	p.x, p.y, p.known = x, y, true
	p.moves = append(p.moves, fmt.Sprintf("%d,%d", x, y))
	return nil
}

// TestRemembersPosition: where the window is when it loses focus (before
// any hide or quit) is saved, and the next start shows it there; an
// unknown position saves nothing and moves nothing.
func TestRemembersPosition(t *testing.T) {
	h := newHarness(t, true)
	pl := &fakePlacement{}
	h.u.d.Placement = pl
	h.u.ExitedForeground() // not shown anywhere known yet
	if h.set.p.WindowPlaced {
		t.Fatalf("an unknown position was saved: %+v", h.set.p)
	}
	h.u.Show()
	if len(pl.moves) != 0 {
		t.Errorf("moved with nothing remembered: %v", pl.moves)
	}
	pl.x, pl.y, pl.known = 311, 42, true // the user moved it
	h.u.ExitedForeground()
	if !h.set.p.WindowPlaced || h.set.p.WindowX != 311 || h.set.p.WindowY != 42 {
		t.Fatalf("saved position = %v %d,%d; want 311,42", h.set.p.WindowPlaced, h.set.p.WindowX, h.set.p.WindowY)
	}

	h2 := newHarness(t, true)
	pl2 := &fakePlacement{}
	h2.u.d.Placement = pl2
	h2.u.prefs = h.set.p
	h2.u.Show()
	if !slices.Equal(pl2.moves, []string{"311,42"}) {
		t.Errorf("next start moved the window %v, want to 311,42", pl2.moves)
	}
}
