package ui

import (
	"errors"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"parley/sync"
)

// fakeMuter keeps mute in the fake messenger's conversations, as the
// app's messenger keeps it in the store.
type fakeMuter struct {
	m     *fakeMessenger
	fail  error
	calls []string
}

func (f *fakeMuter) SetMuted(conv string, on bool) error {
	if f.fail != nil {
		return f.fail
	}
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	for i := range f.m.convs {
		if f.m.convs[i].ID == conv {
			f.m.convs[i].Muted = on
		}
	}
	state := "unmute "
	if on {
		state = "mute "
	}
	f.calls = append(f.calls, state+conv)
	return nil
}

// newMuteHarness is a signed-in harness with a Muter, a second
// conversation and the notifications ui raises recorded.
func newMuteHarness(t *testing.T) (*harness, *fakeMuter, *[]string) {
	h := newHarness(t, true)
	mu := &fakeMuter{m: h.m}
	var notes []string
	h.u.d.Muter = mu
	h.u.d.Notify = func(conv, text string) { notes = append(notes, conv+": "+text) }
	h.m.convs = append(h.m.convs, Conversation{ID: "d-bob", Name: "bob", Kind: sync.ConversationDirect})
	h.u.main = newMainScreen(h.u) // built with the Muter
	h.u.showMain()
	return h, mu, &notes
}

// listRow is row i of the conversation list, made and set by the list's
// own functions.
func listRow(s *mainScreen, i int) (mark *widget.Icon, badge *widget.Label) {
	o := s.convList.CreateItem()
	s.convList.UpdateItem(i, o)
	right := o.(*fyne.Container).Objects[2].(*fyne.Container)
	return right.Objects[0].(*widget.Icon), right.Objects[1].(*widget.Label)
}

// TestMuteToggle: the header's toggle mutes the open conversation through
// the Muter; the list marks it and the button offers Unmute; tapping again
// unmutes. A failing Muter shows its error and changes nothing.
func TestMuteToggle(t *testing.T) {
	h, mu, _ := newMuteHarness(t)
	s := h.u.main
	if s.current != "lobby" {
		t.Fatalf("open conversation %q, want lobby", s.current)
	}
	if !s.mute.btn.Visible() || s.mute.btn.Text != "Mute" {
		t.Fatalf("toggle visible=%v text %q, want a visible Mute", s.mute.btn.Visible(), s.mute.btn.Text)
	}
	steps := []struct {
		name      string
		fail      error
		wantCalls int
		wantMuted bool
		wantText  string
	}{
		{"mute", nil, 1, true, "Unmute"},
		{"unmute", nil, 2, false, "Mute"},
		{"mute fails", errors.New("disk full"), 2, false, "Mute"},
	}
	for _, st := range steps {
		mu.fail = st.fail
		test.Tap(s.mute.btn)
		h.u.handleHint(Hint{Kind: HintConversations}) // what the real Muter posts
		if len(mu.calls) != st.wantCalls {
			t.Errorf("%s: Muter calls %v, want %d", st.name, mu.calls, st.wantCalls)
		}
		mark, _ := listRow(s, 0)
		if mark.Visible() != st.wantMuted {
			t.Errorf("%s: list mark visible = %v, want %v", st.name, mark.Visible(), st.wantMuted)
		}
		if other, _ := listRow(s, 1); other.Visible() {
			t.Errorf("%s: bob's conversation marked muted", st.name)
		}
		if s.mute.btn.Text != st.wantText {
			t.Errorf("%s: toggle says %q, want %q", st.name, s.mute.btn.Text, st.wantText)
		}
		if banner := h.bannerText(); (st.fail != nil) != (banner != "") {
			t.Errorf("%s: banner %q", st.name, banner)
		}
	}
	if mu.calls[0] != "mute lobby" || mu.calls[1] != "unmute lobby" {
		t.Errorf("Muter calls %v", mu.calls)
	}
}

// TestMutedLook: a muted conversation shows the mark beside its badge
// (it still counts) and the header offers Unmute.
func TestMutedLook(t *testing.T) {
	h, _, _ := newMuteHarness(t)
	h.m.convs[1].Muted = true
	h.m.put(Message{Conversation: "d-bob", SenderName: "bob", Kind: sync.KindVoice, Duration: 3e9, State: sync.StateComplete})
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.main.open("d-bob")
	mark, badge := listRow(h.u.main, 1)
	if !mark.Visible() || badge.Text != "1" {
		t.Errorf("muted row: mark %v, badge %q; want the mark and 1", mark.Visible(), badge.Text)
	}
	test.AssertImageMatches(t, "main_muted.png", h.u.win.Canvas().Capture())
}

// TestMutedTalkerDoesNotNotify: in the background, a live talker raises a
// notification through Deps.Notify naming the conversation, unless the
// conversation is muted.
func TestMutedTalkerDoesNotNotify(t *testing.T) {
	h, _, notes := newMuteHarness(t)
	h.m.convs[1].Muted = true
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.ExitedForeground()
	h.u.main.messageChanged(Message{ID: "m1", Conversation: "d-bob", SenderName: "bob", Kind: sync.KindVoice, State: sync.StateRecording})
	if len(*notes) != 0 {
		t.Errorf("muted conversation notified: %v", *notes)
	}
	h.u.main.messageChanged(Message{ID: "m2", Conversation: "lobby", SenderName: "carol", Kind: sync.KindVoice, State: sync.StateRecording})
	if want := "lobby: carol is talking"; len(*notes) != 1 || (*notes)[0] != want {
		t.Errorf("notifications %q, want [%q]", *notes, want)
	}
}

// TestOpenConversation: what a notification's click asks — the window
// shows with that conversation open, from any screen.
func TestOpenConversation(t *testing.T) {
	h, _, _ := newMuteHarness(t)
	h.u.showSettings()
	h.u.win.Hide()
	h.u.OpenConversation("d-bob")
	if h.u.screen != "main" || h.u.main.current != "d-bob" {
		t.Errorf("after the click: screen %q, open %q; want main, d-bob", h.u.screen, h.u.main.current)
	}
	if h.u.main.highlight != 1 {
		t.Errorf("highlight on row %d, want bob's (1)", h.u.main.highlight)
	}
	h.u.OpenConversation("") // Parley's own note: only the window
	if h.u.main.current != "d-bob" {
		t.Errorf("an empty conversation changed the open one to %q", h.u.main.current)
	}
}
