package ui

import (
	"testing"

	"fyne.io/fyne/v2"
)

// TestGlobalHeldWindowEscape: the Wayland portal sends only the talk
// shortcut's Activated/Deactivated, so an Escape while the shortcut is
// held reaches Parley only as a window key, and must withdraw there too;
// the release that follows sends nothing.
func TestGlobalHeldWindowEscape(t *testing.T) {
	h := newHarness(t, true)
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.GlobalTalk(true)
	if !h.u.talk.Talking() {
		t.Fatal("not talking after the global press")
	}
	if !h.u.keys.keyDown(&fyne.KeyEvent{Name: fyne.KeyEscape}) {
		t.Error("the window's Escape was not taken while talking")
	}
	if h.u.talk.Talking() {
		t.Fatal("still talking after Escape in the window")
	}
	h.u.GlobalTalk(false) // the portal's Deactivated
	if len(h.rec.sent) != 0 || len(h.rec.canceled) != 1 {
		t.Errorf("sent %d, cancelled %d; want the transmission withdrawn", len(h.rec.sent), len(h.rec.canceled))
	}
}
