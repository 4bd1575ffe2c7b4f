package app

// Notifications: "new voice message" for conversations that gained
// unplayed voice messages without being live just now.

import (
	"context"
	"time"
)

// checkUnplayed compares unplayed counts with the last ones and reports
// conversations that gained voice messages without being live just now.
func (m *messenger) checkUnplayed(acc *account) {
	convs, err := acc.c.Store().Conversations(context.Background())
	if err != nil {
		return
	}
	type gain struct {
		title string
		n     int
	}
	var gains []gain
	total := 0
	for _, c := range convs {
		total += c.Unplayed
	}
	m.unplayedChanged(acc.user, acc.server, total)
	m.mu.Lock()
	first := m.unplayed == nil
	prev := m.unplayed
	m.unplayed = make(map[string]int, len(convs))
	for _, c := range convs {
		m.unplayed[c.ID] = c.Unplayed
		if first || c.Unplayed <= prev[c.ID] {
			continue
		}
		if t, ok := m.liveConv[c.ID]; ok && time.Since(t) < liveQuiet {
			continue
		}
		gains = append(gains, gain{convTitle(c, acc.user), c.Unplayed - prev[c.ID]})
	}
	m.mu.Unlock()
	for _, g := range gains {
		m.newVoice(g.title, g.n)
	}
}
