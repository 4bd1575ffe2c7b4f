package app

import (
	"io"
	"log/slog"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

func newTestBackground(t *testing.T, h *host) (*background, fyne.Window) {
	t.Helper()
	a := test.NewTempApp(t)
	win := a.NewWindow("Parley")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bg := &background{a: a, win: win, host: h, prefs: a.Preferences(), sys: &audioSys{}, notes: fyneNotifier{a}, log: log}
	bg.install()
	t.Cleanup(bg.close)
	win.Show()
	return bg, win
}

// TestCloseHides: closing hides the window and says where Parley went,
// once.
func TestCloseHides(t *testing.T) {
	bg, win := newTestBackground(t, nil)
	n := fyne.NewNotification("Parley", "Parley is still running in the system tray and keeps receiving messages. Quit it from the tray menu.")
	test.AssertNotificationSent(t, n, bg.closeWindow)
	if !bg.prefs.Bool(toldHiddenKey) {
		t.Error("the first close was not remembered")
	}
	win.Show()
	test.AssertNotificationSent(t, nil, bg.closeWindow) // the second close says nothing
}

// TestQuitWhileHosting: with the server hosted here, Quit asks first
// (a dialog on the window) instead of quitting.
func TestQuitWhileHosting(t *testing.T) {
	h := &host{dir: t.TempDir(), name: "test", listenIP: "127.0.0.1", portFlag: freePort(t),
		prefs: test.NewTempApp(t).Preferences(), log: slog.New(slog.NewTextHandler(io.Discard, nil)), hints: newHintBus()}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	bg, win := newTestBackground(t, h)
	bg.quit()
	if !bg.asking {
		t.Fatal("Quit while hosting did not ask")
	}
	if win.Canvas().Overlays().Top() == nil {
		t.Fatal("no question on the window")
	}
	bg.quit() // a second Quit while the question is up does not stack dialogs
	if n := len(win.Canvas().Overlays().List()); n != 1 {
		t.Errorf("%d overlays, want one question", n)
	}
}

// TestTrayState: the tray state and tooltip follow talking, unplayed and
// the account.
func TestTrayState(t *testing.T) {
	bg, _ := newTestBackground(t, nil)
	bg.setAccount("alice", "10.0.0.5:7447")
	if st, tip := bg.trayNow(); st != trayIdle || tip != "Parley — alice on 10.0.0.5:7447" {
		t.Errorf("idle: %v %q", st, tip)
	}
	bg.setUnplayed(3)
	if st, tip := bg.trayNow(); st != trayUnplayed || tip != "Parley — alice on 10.0.0.5:7447 — 3 unplayed" {
		t.Errorf("unplayed: %v %q", st, tip)
	}
	bg.setTalking(true)
	if st, _ := bg.trayNow(); st != trayTalking {
		t.Errorf("talking: %v", st)
	}
	bg.setTalking(false)
	bg.setUnplayed(0)
	if st, _ := bg.trayNow(); st != trayIdle {
		t.Errorf("after: %v", st)
	}
	if bg.icons[trayTalking] == bg.icons[trayIdle] || len(bg.icons[trayUnplayed].Content()) == 0 {
		t.Error("badge icons not made")
	}
}
