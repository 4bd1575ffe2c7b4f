package app

// Per-conversation mute: a muted conversation neither notifies nor plays
// live by itself; it still receives, and its messages still count as
// unplayed. The choice is kept in the account's store (sync.Store.SetMuted:
// one per server and account on this device); the protocol has no place
// for per-member settings, so it does not follow the user to other
// devices. The live router keeps a copy of the set, so that deciding
// about a live message reads no disk.

import (
	"context"
	"errors"
	"fmt"

	"parley/ui"
)

// errLiveConversationMuted: the conversation of a live message is muted.
var errLiveConversationMuted = errors.New("the conversation is muted")

// SetMuted implements ui.Muter: it mutes or unmutes conversation for the
// signed-in account. It writes the local store only.
func (m *messenger) SetMuted(conversation string, muted bool) error {
	acc := m.current()
	if acc == nil {
		return fmt.Errorf("mute %s: %w", conversation, ui.ErrNotSignedIn)
	}
	if err := acc.c.Store().SetMuted(context.Background(), conversation, muted); err != nil {
		return err
	}
	m.log.Info("conversation muted", "conversation", conversation, "muted", muted)
	m.loadMuted(acc)
	m.hints.post(ui.Hint{Kind: ui.HintConversations})
	return nil
}

// loadMuted hands acc's muted conversations to the live router.
func (m *messenger) loadMuted(acc *account) {
	if m.router == nil {
		return
	}
	set, err := acc.c.Store().Muted(context.Background())
	if err != nil {
		m.log.Warn("muted conversations", "user", acc.user, "err", err)
		return
	}
	m.router.setMutedConversations(set)
}

// setMutedConversations replaces the set of muted conversations (the
// router keeps set; the caller must not change it afterwards).
func (r *liveRouter) setMutedConversations(set map[string]bool) {
	r.mu.Lock()
	r.mutedConvs = set
	r.mu.Unlock()
}
