package app

// Hint translation: the account's sync hints become ui hints, gathered
// for hintWindow so that bursts cost the UI one re-read. Live playback
// does not depend on them (the live router takes sync.Incoming).

import (
	"time"

	"parley/sync"
	"parley/ui"
)

// pump translates acc's sync hints into ui hints, gathering them for
// hintWindow so that bursts cost the UI one re-read.
func (m *messenger) pump(acc *account) {
	in := acc.c.Hints()
	for {
		h, ok := <-in
		if !ok {
			return
		}
		batch := []sync.Hint{h}
		t := time.NewTimer(hintWindow)
	gather:
		for {
			select {
			case h, ok := <-in:
				if !ok {
					break gather
				}
				batch = append(batch, h)
			case <-t.C:
				break gather
			}
		}
		t.Stop()
		m.forward(acc, batch)
	}
}

// forward posts the ui hints for a batch of sync hints, each once.
func (m *messenger) forward(acc *account, batch []sync.Hint) {
	var out []ui.Hint
	seen := map[ui.Hint]bool{}
	add := func(h ui.Hint) {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	countUnplayed := false
	for _, h := range batch {
		switch h := h.(type) {
		case sync.ConnectionChanged:
			wake(acc.state)
			m.mu.Lock()
			if m.acc == acc {
				m.status = m.statusOf(acc)
			}
			m.mu.Unlock()
			add(ui.Hint{Kind: ui.HintConnection})
		case sync.ConversationsChanged:
			add(ui.Hint{Kind: ui.HintConversations})
			countUnplayed = true
		case sync.ConversationChanged:
			add(ui.Hint{Kind: ui.HintConversation, Conversation: h.Conversation})
		case sync.MessageLive:
			m.mu.Lock()
			m.liveConv[h.Conversation] = time.Now()
			m.mu.Unlock()
			add(ui.Hint{Kind: ui.HintConversation, Conversation: h.Conversation})
			add(ui.Hint{Kind: ui.HintMessage, Conversation: h.Conversation, Message: h.Message})
		case sync.MessageChanged:
			add(ui.Hint{Kind: ui.HintMessage, Conversation: h.Conversation, Message: h.Message})
		case sync.MessageEnded:
			add(ui.Hint{Kind: ui.HintConversation, Conversation: h.Conversation})
			add(ui.Hint{Kind: ui.HintMessage, Conversation: h.Conversation, Message: h.Message})
		case sync.PresenceChanged:
			add(ui.Hint{Kind: ui.HintPresence})
		case sync.ErrorHint:
			m.log.Warn("sync", "op", h.Op, "err", h.Err)
		}
	}
	m.mu.Lock()
	signedIn := acc.signedIn && m.acc == acc
	m.mu.Unlock()
	if !signedIn {
		// Before sign-in completes only the connection state matters.
		if seen[ui.Hint{Kind: ui.HintConnection}] {
			m.hints.post(ui.Hint{Kind: ui.HintConnection})
		}
		return
	}
	for _, h := range out {
		m.hints.post(h)
	}
	if countUnplayed {
		m.checkUnplayed(acc)
	}
}
