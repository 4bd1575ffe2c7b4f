package app

// Notifications: "new messages" for conversations that gained messages
// waiting for the user (sync's counts, the ones the badge shows): voice
// ones unless the conversation was live just now, and text ones.

import (
	"context"
	"time"
)

// waitCount is a conversation's messages that wait for the user, as
// sync counts them (the same numbers the badge shows).
type waitCount struct{ voice, text int }

// checkUnplayed compares the waiting counts with the last ones and reports
// conversations that gained messages: voice ones unless the conversation
// was live just now (ui announced the talker), and text ones.
func (m *messenger) checkUnplayed(acc *account) {
	convs, err := acc.c.Store().Conversations(context.Background())
	if err != nil {
		return
	}
	type gain struct {
		conversation, title string
		voice, text         int
	}
	var gains []gain
	total := 0
	for _, c := range convs {
		total += c.Unplayed + c.Unread
	}
	m.unplayedChanged(acc.user, acc.server, total)
	m.mu.Lock()
	first := m.waiting == nil
	prev := m.waiting
	m.waiting = make(map[string]waitCount, len(convs))
	for _, c := range convs {
		m.waiting[c.ID] = waitCount{c.Unplayed, c.Unread}
		if first || !c.Member || c.Muted {
			continue // a muted conversation counts (above) but does not notify
		}
		g := gain{conversation: c.ID, title: c.Name, voice: c.Unplayed - prev[c.ID].voice, text: c.Unread - prev[c.ID].text}
		if t, ok := m.liveConv[c.ID]; ok && time.Since(t) < liveQuiet {
			g.voice = 0
		}
		if g.voice > 0 || g.text > 0 {
			gains = append(gains, gain{c.ID, g.title, max(g.voice, 0), max(g.text, 0)})
		}
	}
	m.mu.Unlock()
	for _, g := range gains {
		m.newMessages(g.conversation, g.title, g.voice, g.text)
	}
}
