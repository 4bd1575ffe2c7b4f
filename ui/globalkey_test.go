package ui

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// fakeGlobalKey records what Settings asked app/ for.
type fakeGlobalKey struct {
	key string
	on  bool
	n   int
}

func (g *fakeGlobalKey) Set(key string, on bool) { g.key, g.on, g.n = key, on, g.n+1 }

// TestGlobalTalkSurvivesFocusLoss: a transmission held by the global key
// goes on while another window takes the focus and ends on its release; one
// held by the window key ends with the focus (and GLFW's synthetic key-up).
func TestGlobalTalkSurvivesFocusLoss(t *testing.T) {
	f8 := &fyne.KeyEvent{Name: fyne.KeyF8}
	cases := []struct {
		name            string
		down, up        func(h *harness)
		talkingAfterOut bool
	}{
		{"global key", func(h *harness) { h.u.GlobalTalk(true) }, func(h *harness) { h.u.GlobalTalk(false) }, true},
		{"window key", func(h *harness) { h.u.main.entry.KeyDown(f8) }, func(h *harness) { h.u.main.entry.KeyUp(f8) }, false},
		{"global down twice, window up between", func(h *harness) {
			h.u.GlobalTalk(true)
			h.u.GlobalTalk(true)
		}, func(h *harness) { h.u.GlobalTalk(false) }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true)
			h.u.handleHint(Hint{Kind: HintConversations})
			c.down(h)
			if !h.u.talk.Talking() {
				t.Fatal("not talking after key down")
			}
			h.u.ExitedForeground()
			if got := h.u.talk.Talking(); got != c.talkingAfterOut {
				t.Fatalf("talking after focus moved away = %v, want %v", got, c.talkingAfterOut)
			}
			c.up(h)
			if h.u.talk.Talking() {
				t.Error("still talking after release")
			}
			if h.rec.started != 1 || len(h.rec.sent) != 1 {
				t.Errorf("started %d sent %d, want one message", h.rec.started, len(h.rec.sent))
			}
		})
	}
}

// TestGlobalKeyLost: when app/ reports the global key gone mid-hold, the
// transmission is sent (its release will never arrive) and Settings shows why.
func TestGlobalKeyLost(t *testing.T) {
	h := newHarness(t, true)
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.GlobalTalk(true)
	h.u.SetGlobalKeyStatus(GlobalKeyStatus{Note: GlobalKeyStopped})
	if h.u.talk.Talking() {
		t.Fatal("still talking after the global key went away")
	}
	if len(h.rec.sent) != 1 {
		t.Errorf("sent %d, want 1", len(h.rec.sent))
	}
}

// TestGlobalKeySetting: the Settings switch saves the pref and asks app/
// again; a new talk key is passed on too.
func TestGlobalKeySetting(t *testing.T) {
	h := newHarness(t, true)
	g := &fakeGlobalKey{}
	h.u.d.GlobalKey = g
	h.u.SetGlobalKeyStatus(GlobalKeyStatus{Note: GlobalKeyNoPortal})
	row := h.u.globalKeySetting()
	if row == nil || h.u.globalNote.Text == "" {
		t.Fatal("no status note in the settings row")
	}
	if !h.u.prefs.GlobalTalkKey {
		t.Fatal("global talk key is off in the default prefs")
	}
	check := row.(*fyne.Container).Objects[0].(*widget.Check)
	test.Tap(check) // off
	if g.n != 1 || g.on || g.key != "F8" {
		t.Errorf("Set(%q, %v) x%d, want Set(F8, false) once", g.key, g.on, g.n)
	}
	if h.set.Load().GlobalTalkKey {
		t.Error("the switch was not saved")
	}
}

// TestGlobalCancel: Escape reported by the global key withdraws the
// transmission it holds; nothing is sent, and a later release is harmless.
func TestGlobalCancel(t *testing.T) {
	h := newHarness(t, true)
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.GlobalTalk(true)
	if !h.u.talk.Talking() {
		t.Fatal("not talking after the global press")
	}
	h.u.GlobalCancel()
	if h.u.talk.Talking() {
		t.Fatal("still talking after the global cancel")
	}
	h.u.GlobalTalk(false)
	if len(h.rec.sent) != 0 {
		t.Errorf("sent %d, want 0 (withdrawn)", len(h.rec.sent))
	}
}
