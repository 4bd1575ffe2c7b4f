package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"parley/sync"
)

func openGroup(t *testing.T, h *harness) {
	t.Helper()
	h.m.convs = append(h.m.convs, Conversation{ID: "g1", Title: "Warehouse crew", Kind: sync.ConversationGroup})
	h.m.people.members["g1"] = []string{"u-a", "u-b", "u-c", "u-d"}
	h.m.people.talking["u-c"] = "g1"
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.main.open("g1")
}

func TestMembersPanel(t *testing.T) {
	h := newHarness(t, true)
	openGroup(t, h)
	p := h.u.main.members
	if p.visible() {
		t.Fatalf("members panel shown before asked for")
	}
	p.toggle()
	want := []struct {
		name  string
		state PresenceState
	}{{"alice", PresenceOnline}, {"bob", PresenceOnline}, {"carol", PresenceTalking}, {"dave", PresenceOffline}}
	if len(p.people) != len(want) {
		t.Fatalf("members = %+v, want %d", p.people, len(want))
	}
	for i, w := range want {
		if p.people[i].Name != w.name || p.people[i].Presence != w.state {
			t.Errorf("member %d = %s %v, want %s %v", i, p.people[i].Name, p.people[i].Presence, w.name, w.state)
		}
	}
	if got := p.heading.Text; got != "Members: 4, 3 online" {
		t.Errorf("heading = %q", got)
	}
	if !p.add.Visible() || !p.leave.Visible() {
		t.Errorf("a group offers add and leave")
	}
	test.AssertImageMatches(t, "members_panel.png", h.u.win.Canvas().Capture())

	// Presence changes arrive as hints.
	delete(h.m.people.talking, "u-c")
	h.m.people.presence["u-d"] = PresenceOnline
	h.u.handleHint(Hint{Kind: HintPresence})
	if p.people[2].Presence != PresenceOnline || p.people[3].Presence != PresenceOnline {
		t.Errorf("after presence hint: %+v", p.people)
	}

	// The Lobby: nobody leaves it, nobody is added to it.
	h.u.main.open("lobby")
	if p.add.Visible() || p.leave.Visible() {
		t.Errorf("the Lobby offers add or leave")
	}
	if len(p.people) != 6 {
		t.Errorf("lobby members = %d, want 6", len(p.people))
	}
}

func TestAddMembersWithPicker(t *testing.T) {
	h := newHarness(t, true)
	openGroup(t, h)
	p := h.u.main.members
	p.toggle()
	test.Tap(p.add)
	pk := h.u.picker
	if pk == nil {
		t.Fatal("no picker opened")
	}
	names := func() []string {
		var out []string
		for _, s := range pk.shown {
			out = append(out, s.Name)
		}
		return out
	}
	if got := strings.Join(names(), ","); got != "erin,bobby" {
		t.Errorf("offered = %s, want the people not yet members", got)
	}
	test.Type(pk.search, "ERI")
	if got := strings.Join(names(), ","); got != "erin" {
		t.Errorf("search ERI = %s, want erin", got)
	}
	pk.list.Select(0)
	test.Tap(pk.ok)
	if pk.open {
		t.Errorf("picker still open after adding")
	}
	if len(p.people) != 5 || p.people[4].Name != "erin" {
		t.Errorf("members after adding erin = %+v", p.people)
	}
}

func TestNewConversationPicker(t *testing.T) {
	h := newHarness(t, true)
	seedConversations(h)
	h.u.main.newConversation()
	pk := h.u.picker
	test.Type(pk.search, "bob")
	if len(pk.shown) != 2 {
		t.Fatalf("search bob shows %d people, want bob and bobby", len(pk.shown))
	}
	pk.list.Select(0)
	pk.list.Select(1)
	pk.title.SetText("Night shift")
	test.AssertImageMatches(t, "user_picker.png", h.u.win.Canvas().Capture())

	// The server does not know bobby: the dialog stays, with its input,
	// and names him.
	h.m.people.createFails = "bobby"
	test.Tap(pk.ok)
	if !pk.open {
		t.Fatalf("picker closed after a failed create")
	}
	if got, want := pk.note.Text, "There is no user “bobby” on this server."; got != want {
		t.Errorf("note = %q, want %q", got, want)
	}
	if pk.title.Text != "Night shift" || len(pk.chosen) != 2 || pk.search.Text != "bob" {
		t.Errorf("input lost: title %q chosen %d search %q", pk.title.Text, len(pk.chosen), pk.search.Text)
	}
	// A group name the server would refuse is caught before sending.
	pk.title.SetText(strings.Repeat("x", 65))
	test.Tap(pk.ok)
	if got := pk.note.Text; got != "A group name can be at most 64 bytes long." {
		t.Errorf("note = %q", got)
	}
	h.m.people.createFails = ""
	pk.title.SetText("Night shift")
	test.Tap(pk.ok)
	if pk.open {
		t.Errorf("picker open after a successful create")
	}
	if h.u.main.current == "lobby" || h.u.main.title.Text != "Night shift" {
		t.Errorf("open conversation = %q %q, want the new group", h.u.main.current, h.u.main.title.Text)
	}
	sel := -1
	for i, c := range h.u.main.convs {
		if c.ID == h.u.main.current {
			sel = i
		}
	}
	if sel < 0 || h.u.main.highlight != sel {
		t.Errorf("highlighted row %d, open conversation at row %d", h.u.main.highlight, sel)
	}
}

func TestLeaveGroup(t *testing.T) {
	h := newHarness(t, true)
	openGroup(t, h)
	p := h.u.main.members
	p.toggle()
	p.leaveNow(p.conv)
	if h.u.main.current != "lobby" {
		t.Errorf("after leaving, open = %q, want the Lobby", h.u.main.current)
	}
	for _, c := range h.u.main.convs {
		if c.ID == "g1" {
			t.Errorf("the group is still listed after leaving")
		}
	}
	if h.u.main.highlight != 0 {
		t.Errorf("highlight = %d, want the Lobby's row 0", h.u.main.highlight)
	}
	p.leaveNow(h.u.main.convs[0]) // the fake server refuses: everyone stays in the Lobby
	if got := h.bannerText(); got != "The server did not accept that. Check what you entered and try again." {
		t.Errorf("banner = %q", got)
	}
}

func TestRenameGroup(t *testing.T) {
	h := newHarness(t, true)
	openGroup(t, h)
	p := h.u.main.members
	p.toggle()
	if !p.rename.Visible() {
		t.Fatal("a group offers rename")
	}
	cases := []struct {
		name, title, wantTitle, wantBanner string
	}{
		{"renamed", "Night shift", "Night shift", ""},
		{"empty", "", "Night shift", "Give the group a name."},
		{"too long", strings.Repeat("x", 65), "Night shift", "A group name can be at most 64 bytes long."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.u.showError(nil)
			p.renameNow(p.conv, c.title)
			if got := h.u.main.title.Text; got != c.wantTitle {
				t.Errorf("title = %q, want %q", got, c.wantTitle)
			}
			if got := h.bannerText(); got != c.wantBanner {
				t.Errorf("banner = %q, want %q", got, c.wantBanner)
			}
		})
	}
	h.u.main.open("lobby")
	if p.rename.Visible() {
		t.Errorf("the Lobby offers rename")
	}
}
