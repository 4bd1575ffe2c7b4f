package app

// Hint translation: the account's sync hints become ui hints as they come.
// Nothing here waits or gathers: sync's hint queue already keeps one of
// each distinct hint while its reader is busy, and ui's hint loop is the
// one place that coalesces by time (at most 12.5 applications a second).
// Live playback does not depend on hints (the live router takes
// sync.Incoming).

import (
	"time"

	"parley/sync"
	"parley/ui"
)

// pump translates acc's sync hints into ui hints until the client closes
// its hint channel.
func (m *messenger) pump(acc *account) {
	for h := range acc.c.Hints() {
		m.forward(acc, h)
	}
}

// forward posts the ui hints for one sync hint, after the bookkeeping it
// asks for (connection status, live conversations, waiting counts).
func (m *messenger) forward(acc *account, h sync.Hint) {
	var out []ui.Hint
	countWaiting := false
	switch h := h.(type) {
	case sync.ConnectionChanged:
		wake(acc.state)
		m.mu.Lock()
		if m.acc == acc {
			m.status = m.statusOf(acc)
		}
		m.mu.Unlock()
		out = append(out, ui.Hint{Kind: ui.HintConnection})
	case sync.ConversationsChanged:
		out = append(out, ui.Hint{Kind: ui.HintConversations})
		countWaiting = true
	case sync.ConversationChanged:
		out = append(out, ui.Hint{Kind: ui.HintConversation, Conversation: h.Conversation})
	case sync.MessageLive:
		m.mu.Lock()
		m.liveConv[h.Conversation] = time.Now()
		m.mu.Unlock()
		out = append(out, ui.Hint{Kind: ui.HintConversation, Conversation: h.Conversation},
			ui.Hint{Kind: ui.HintMessage, Conversation: h.Conversation, Message: h.Message})
	case sync.MessageChanged:
		out = append(out, ui.Hint{Kind: ui.HintMessage, Conversation: h.Conversation, Message: h.Message})
	case sync.MessageEnded:
		out = append(out, ui.Hint{Kind: ui.HintConversation, Conversation: h.Conversation},
			ui.Hint{Kind: ui.HintMessage, Conversation: h.Conversation, Message: h.Message})
	case sync.PresenceChanged:
		out = append(out, ui.Hint{Kind: ui.HintPresence})
	case sync.ErrorHint:
		m.log.Warn("sync", "op", h.Op, "err", h.Err)
	}
	m.mu.Lock()
	signedIn := acc.signedIn && m.acc == acc
	m.mu.Unlock()
	if !signedIn {
		// Before sign-in completes only the connection state matters.
		if _, ok := h.(sync.ConnectionChanged); ok {
			m.hints.post(ui.Hint{Kind: ui.HintConnection})
		}
		return
	}
	for _, h := range out {
		m.hints.post(h)
	}
	if countWaiting {
		m.checkUnplayed(acc)
	}
}
