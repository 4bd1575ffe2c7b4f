package server

import (
	"slices"
	"strings"
	"testing"

	"parley/server/wire"
)

// drainUntilAnswer does a round trip on c and returns every frame that
// arrived before its answer: anything the server sent c before it
// handled the request.
func (c *client) drainUntilAnswer() []frame {
	c.t.Helper()
	call[wire.Users](c, wire.TypeUserList, nil)
	got := c.pending
	c.pending = nil
	return got
}

func mentions(frames []frame, conversation string) []frame {
	var out []frame
	for _, f := range frames {
		if f.env == nil {
			continue
		}
		switch f.env.Type {
		case wire.TypeEvent:
			if decodeAs[wire.Event](f.env).Conversation == conversation {
				out = append(out, f)
			}
		case wire.TypePresence:
			for _, e := range decodeAs[wire.Presence](f.env).Users {
				if e.Conversation == conversation {
					out = append(out, f)
				}
			}
		case wire.TypeVoiceLive:
			if decodeAs[wire.VoiceLive](f.env).Message.Conversation == conversation {
				out = append(out, f)
			}
		}
	}
	return out
}

// TestReceiptsAndPresenceReachMembersOnly: in a group of A and B, B's
// listened receipt reaches A and B's other device; C, outside the group,
// hears nothing of it, nor of A talking there.
func TestReceiptsAndPresenceReachMembersOnly(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	c := register(t, ts, "cy")
	b2 := dial(t, ts.url())
	b2.hello(wire.Auth{Mode: wire.AuthLogin, Username: "bo", Password: "password-bo", Device: "bo-phone"})

	group := call[wire.ConversationInfo](a, wire.TypeConversationCreate, wire.ConversationCreate{
		Kind: wire.ConversationGroup, Title: "pair", Members: []string{b.welcome.User.ID}}).Conversation
	if len(group.Members) != 2 {
		t.Fatalf("group members = %+v", group.Members)
	}
	msg := newID()
	call[wire.TextSent](a, wire.TypeTextSend, wire.TextSend{Conversation: group.ID, Message: msg, Text: "hello"})

	// A text has no playback position (one would be out_of_range).
	call[wire.OK](b, wire.TypeReceipt, wire.ReceiptSend{Message: msg, Kind: wire.ReceiptListened})
	isReceipt := func(f frame) bool {
		if f.env == nil || f.env.Type != wire.TypeEvent {
			return false
		}
		ev := decodeAs[wire.Event](f.env)
		return ev.Kind == wire.EventReceipt && ev.Receipt.Message == msg
	}
	for name, cl := range map[string]*client{"ana": a, "bo's phone": b2} {
		f := cl.waitFor("receipt", isReceipt)
		r := decodeAs[wire.Event](f.env).Receipt
		if r.User != b.welcome.User.ID || r.Kind != wire.ReceiptListened || r.PositionMs != 0 || r.Device != b.welcome.Device.ID {
			t.Errorf("%s got receipt %+v", name, r)
		}
	}

	voice := newID()
	a.startVoice(group.ID, voice)
	f := b.waitFor("talking", func(f frame) bool { return len(mentions([]frame{f}, group.ID)) > 0 && f.env.Type == wire.TypePresence })
	if p := entryFor(decodeAs[wire.Presence](f.env).Users, a.welcome.User.ID); p.State != wire.PresenceTalking || p.Conversation != group.ID {
		t.Errorf("bo got presence %+v", p)
	}
	if leaked := mentions(c.drainUntilAnswer(), group.ID); len(leaked) > 0 {
		t.Errorf("cy, not a member, received %v", leaked)
	}

	// C can neither read nor act on the group.
	tests := []struct {
		name string
		typ  string
		req  any
		want wire.Code
	}{
		{"sync", wire.TypeSync, wire.Sync{Conversation: group.ID}, wire.CodeNotMember},
		{"members", wire.TypeConversationMembers, wire.ConversationRef{Conversation: group.ID}, wire.CodeNotMember},
		{"fetch", wire.TypeAudioFetch, wire.AudioFetch{Message: voice}, wire.CodeNotFound},
		{"receipt", wire.TypeReceipt, wire.ReceiptSend{Message: msg, Kind: wire.ReceiptDelivered}, wire.CodeNotFound},
		{"text", wire.TypeTextSend, wire.TextSend{Conversation: group.ID, Message: newID(), Text: "hi"}, wire.CodeNotMember},
		{"add self", wire.TypeConversationAdd, wire.ConversationAdd{Conversation: group.ID, User: c.welcome.User.ID}, wire.CodeNotMember},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if e := c.callErr(tc.typ, tc.req); e.Code != tc.want {
				t.Errorf("code = %s (%s), want %s", e.Code, e.Message, tc.want)
			}
		})
	}
	page := call[wire.SyncPage](c, wire.TypeSync, wire.Sync{})
	for _, ev := range page.Events {
		if ev.Conversation == group.ID {
			t.Errorf("cy's sync includes the group's event %+v", ev)
		}
	}
}

// TestPresenceOnlineOffline: a second user's arrival and departure reach
// the first; the snapshot after welcome lists who is online.
func TestPresenceOnlineOffline(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	snap := a.waitFor("snapshot", isType(wire.TypePresence))
	if u := decodeAs[wire.Presence](snap.env).Users; len(u) != 1 || u[0].User != a.welcome.User.ID {
		t.Errorf("snapshot = %+v", u)
	}
	b := register(t, ts, "bo")
	state := func(want wire.PresenceState) {
		t.Helper()
		a.waitFor(string(want), func(f frame) bool {
			if f.env == nil || f.env.Type != wire.TypePresence {
				return false
			}
			u := decodeAs[wire.Presence](f.env).Users
			return len(u) == 1 && u[0].User == b.welcome.User.ID && u[0].State == want
		})
	}
	state(wire.PresenceOnline)
	b.close()
	state(wire.PresenceOffline)
}

// TestConversations: direct conversations are not duplicated; groups
// take members and lose them when they leave; the Lobby cannot be left.
func TestConversations(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	d1 := call[wire.ConversationInfo](a, wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationDirect, Members: []string{b.welcome.User.ID}}).Conversation
	d2 := call[wire.ConversationInfo](b, wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationDirect, Members: []string{a.welcome.User.ID}}).Conversation
	if d1.ID != d2.ID {
		t.Errorf("direct conversation duplicated: %s and %s", d1.ID, d2.ID)
	}
	g := call[wire.ConversationInfo](a, wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationGroup, Title: "g", Members: []string{}}).Conversation
	g = call[wire.ConversationInfo](a, wire.TypeConversationAdd, wire.ConversationAdd{Conversation: g.ID, User: b.welcome.User.ID}).Conversation
	if g.MemberCount != 2 || g.Members != nil {
		t.Fatalf("after add: %d members, list %+v; want a count of 2 and no list", g.MemberCount, g.Members)
	}
	if m := call[wire.Members](a, wire.TypeConversationMembers, wire.MemberList{Conversation: g.ID}); len(m.Members) != 2 || m.More {
		t.Fatalf("members after add: %+v", m)
	}
	if e := a.callErr(wire.TypeConversationAdd, wire.ConversationAdd{Conversation: g.ID, User: "nobody"}); e.Code != wire.CodeNotFound {
		t.Errorf("adding an unknown user: %s, want %s", e.Code, wire.CodeNotFound)
	}
	call[wire.OK](b, wire.TypeConversationLeave, wire.ConversationRef{Conversation: g.ID})
	ev := b.waitFor("leave event", func(f frame) bool {
		return f.env != nil && f.env.Type == wire.TypeEvent && decodeAs[wire.Event](f.env).Conversation == g.ID &&
			slices.Equal(decodeAs[wire.Event](f.env).Removed, []string{b.welcome.User.ID})
	})
	_ = ev
	if e := b.callErr(wire.TypeConversationLeave, wire.ConversationRef{Conversation: b.lobby().ID}); e.Code != wire.CodeBadRequest {
		t.Errorf("leaving the Lobby: %s", e.Code)
	}
	convs := call[wire.Conversations](b, wire.TypeConversationList, nil).Conversations
	if len(convs) != 2 || !convs[0].Lobby {
		t.Errorf("bo's conversations = %+v, want Lobby then the direct one", convs)
	}
}

// TestConversationRename: a member renames a group and every member gets
// the event; the Lobby, direct conversations, non-members and bad titles
// are refused with typed codes.
func TestConversationRename(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	c := register(t, ts, "cy")
	g := call[wire.ConversationInfo](a, wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationGroup, Title: "g", Members: []string{b.welcome.User.ID}}).Conversation
	got := call[wire.ConversationInfo](b, wire.TypeConversationRename, wire.ConversationRename{Conversation: g.ID, Title: "Night shift"}).Conversation
	if got.Title != "Night shift" || got.ID != g.ID || len(got.Members) != 2 {
		t.Errorf("renamed = %+v", got)
	}
	a.waitFor("rename event", func(f frame) bool {
		return f.env != nil && f.env.Type == wire.TypeEvent && decodeAs[wire.Event](f.env).Info != nil &&
			decodeAs[wire.Event](f.env).Info.Title == "Night shift"
	})
	d := call[wire.ConversationInfo](a, wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationDirect, Members: []string{b.welcome.User.ID}}).Conversation
	cases := []struct {
		name string
		by   *client
		req  wire.ConversationRename
		want wire.Code
	}{
		{"the Lobby", a, wire.ConversationRename{Conversation: a.lobby().ID, Title: "x"}, wire.CodeBadRequest},
		{"a direct conversation", a, wire.ConversationRename{Conversation: d.ID, Title: "x"}, wire.CodeBadRequest},
		{"not a member", c, wire.ConversationRename{Conversation: g.ID, Title: "x"}, wire.CodeNotMember},
		{"empty title", a, wire.ConversationRename{Conversation: g.ID, Title: ""}, wire.CodeInvalidName},
		{"bidi override in the title", a, wire.ConversationRename{Conversation: g.ID, Title: "abc\u202e"}, wire.CodeInvalidName},
		{"title too long", a, wire.ConversationRename{Conversation: g.ID, Title: strings.Repeat("x", wire.MaxNameBytes+1)}, wire.CodeTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if e := tc.by.callErr(wire.TypeConversationRename, tc.req); e.Code != tc.want {
				t.Errorf("code = %s, want %s", e.Code, tc.want)
			}
		})
	}
}

// entryFor returns user's entry in a presence frame's users (zero if it
// has none): the server merges changes, so a frame may name several.
func entryFor(users []wire.PresenceEntry, user string) wire.PresenceEntry {
	for _, e := range users {
		if e.User == user {
			return e
		}
	}
	return wire.PresenceEntry{}
}
