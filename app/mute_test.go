package app

import (
	"testing"
	"time"

	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// TestMutedDoesNotNotify: after alice mutes the Lobby, bob's text there
// raises no notification but still counts as waiting: the first
// notification is that of his next text, in their direct conversation.
// Unmuted, the Lobby notifies again. Texts, because a voice message that
// arrives live is announced as a talker instead (liveQuiet).
func TestMutedDoesNotNotify(t *testing.T) {
	e := newNotifyEnv(t, func(host string) string { return host })
	bob, lobby := e.bobsLobby(t)
	aliceID := ""
	if acc := e.m.current(); acc != nil {
		if a, err := acc.c.Store().Account(t.Context()); err == nil {
			aliceID = a.UserID
		}
	}
	if aliceID == "" {
		t.Fatal("alice's user id unknown")
	}
	direct, err := bob.CreateConversation(t.Context(), wire.ConversationDirect, "", []string{aliceID})
	if err != nil {
		t.Fatal(err)
	}
	waitTotal := func(want int) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case got := <-e.totals:
				if got == want {
					return
				}
			case <-deadline:
				t.Fatalf("waiting total never reached %d", want)
			}
		}
	}
	waitNote := func(step, conv string) {
		t.Helper()
		select {
		case n := <-e.notes:
			if n.conversation != conv || n.n != 1 {
				t.Errorf("%s: notification %+v, want one new message in %s", step, n, conv)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no notification", step)
		}
	}
	send := func(conv, text string) {
		t.Helper()
		if _, err := bob.SendText(conv, text); err != nil {
			t.Fatal(err)
		}
	}

	waitTotal(0) // a first count after sign-in: the baseline gains are measured from
	if err := e.m.SetMuted(lobby, true); err != nil {
		t.Fatal(err)
	}
	send(lobby, "while muted")
	waitTotal(1) // counted while muted
	convs, err := e.m.Conversations()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		if c.ID == lobby && (!c.Muted || c.Unread != 1) {
			t.Errorf("muted Lobby listed as %+v, want muted with 1 unread", c)
		}
	}
	send(direct.ID, "in the direct conversation")
	waitNote("after the muted text", direct.ID) // a Lobby notification would have come first

	if err := e.m.SetMuted(lobby, false); err != nil {
		t.Fatal(err)
	}
	send(lobby, "after unmuting")
	waitNote("unmuted", lobby)
	waitTotal(3)
}

// TestMutedLiveNotPlayed: a live message in a muted conversation is not
// started by the router (the conversation is open and auto-play is on),
// but arrives complete; unmuted, the next one plays by itself.
func TestMutedLiveNotPlayed(t *testing.T) {
	e := newLiveEnv(t, livePolicy{AutoPlay: true})
	e.router.OpenConversation(e.lobby)
	if err := e.msgr.SetMuted(e.lobby, true); err != nil {
		t.Fatal(err)
	}
	muted, done := e.talk(e.talker, e.lobby, 25)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.waitHint("ann's muted message complete at bob", func() bool {
		m, err := e.msgr.Message(muted)
		return err == nil && m.State == sync.StateComplete && !m.Pending
	})
	if played, declined := e.router.counts(); played != 0 || declined != 1 {
		t.Errorf("muted: router played %d, declined %d; want 0, 1", played, declined)
	}
	if pb := e.pl.Playback(); pb.Message == muted {
		t.Errorf("the muted live message plays: %+v", pb)
	}

	if err := e.msgr.SetMuted(e.lobby, false); err != nil {
		t.Fatal(err)
	}
	unmuted, done := e.talk(e.talker, e.lobby, 50)
	e.waitHint("bob plays the unmuted live message", func() bool {
		pb := e.pl.Playback()
		return pb.Message == unmuted && pb.State == ui.PlayPlaying
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
