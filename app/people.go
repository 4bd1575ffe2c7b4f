package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// Members implements ui.People: the conversation's members from the local
// store with their presence in it.
func (m *messenger) Members(conversation string) ([]ui.Person, error) {
	st, _, err := m.store()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	c, err := st.Conversation(ctx, conversation)
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", conversation, err)
	}
	pres, err := st.Presence(ctx)
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", conversation, err)
	}
	me, _ := st.Account(ctx)
	return membersOf(c, pres, me.UserID), nil
}

// membersOf joins a conversation's members with presence: talking in this
// conversation, online (or talking elsewhere), else offline.
func membersOf(c sync.Conversation, pres []sync.Presence, me string) []ui.Person {
	state := make(map[string]sync.Presence, len(pres))
	for _, p := range pres {
		state[p.User] = p
	}
	out := make([]ui.Person, 0, len(c.Members))
	for _, u := range c.Members {
		p := ui.Person{ID: u.ID, Name: u.Name, Me: u.ID == me}
		switch s := state[u.ID]; {
		case s.State == wire.PresenceTalking && s.Conversation == c.ID:
			p.Presence = ui.PresenceTalking
		case s.State == wire.PresenceTalking, s.State == wire.PresenceOnline:
			p.Presence = ui.PresenceOnline
		}
		if p.Me && p.Presence == ui.PresenceOffline {
			p.Presence = ui.PresenceOnline // this device is here; the server may not echo it
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b ui.Person) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out
}

// Directory implements ui.People: the server's accounts.
func (m *messenger) Directory() ([]ui.Person, error) {
	acc := m.current()
	if acc == nil {
		return nil, fmt.Errorf("list users: %w", ui.ErrNotSignedIn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	users, err := acc.c.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", userError(err))
	}
	me, _ := acc.c.Store().Account(ctx)
	out := make([]ui.Person, len(users))
	for i, u := range users {
		out[i] = ui.Person{ID: u.ID, Name: u.Name, Me: u.ID == me.UserID}
	}
	slices.SortFunc(out, func(a, b ui.Person) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// AddMembers implements ui.People.
func (m *messenger) AddMembers(conversation string, userIDs []string) error {
	acc := m.current()
	if acc == nil {
		return fmt.Errorf("add members: %w", ui.ErrNotSignedIn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	for _, id := range userIDs {
		if err := acc.c.AddMember(ctx, conversation, id); err != nil {
			return fmt.Errorf("add %s to %s: %w", id, conversation, userError(err))
		}
	}
	return nil
}

// Leave implements ui.People.
func (m *messenger) Leave(conversation string) error {
	acc := m.current()
	if acc == nil {
		return fmt.Errorf("leave: %w", ui.ErrNotSignedIn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if err := acc.c.Leave(ctx, conversation); err != nil {
		return fmt.Errorf("leave %s: %w", conversation, userError(err))
	}
	return nil
}

// Devices implements ui.People: the account's signed-in devices.
func (m *messenger) Devices() ([]ui.SignedInDevice, error) {
	acc := m.current()
	if acc == nil {
		return nil, fmt.Errorf("list devices: %w", ui.ErrNotSignedIn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	ds, err := acc.c.ListDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", userError(err))
	}
	out := make([]ui.SignedInDevice, len(ds))
	for i, d := range ds {
		out[i] = ui.SignedInDevice{ID: d.ID, Name: d.Name, Created: msTime(d.Created), LastSeen: msTime(d.LastSeen), Current: d.Current}
	}
	return out, nil
}

// RevokeDevice implements ui.People: another device of the account is
// signed out; its connections close with wire.CloseRevoked.
func (m *messenger) RevokeDevice(id string) error {
	acc := m.current()
	if acc == nil {
		return fmt.Errorf("revoke device: %w", ui.ErrNotSignedIn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if err := acc.c.RevokeDevice(ctx, id); err != nil {
		return fmt.Errorf("revoke device %s: %w", id, userError(err))
	}
	return nil
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Rename implements ui.People.
func (m *messenger) Rename(conversation, title string) error {
	acc := m.current()
	if acc == nil {
		return fmt.Errorf("rename: %w", ui.ErrNotSignedIn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if err := acc.c.Rename(ctx, conversation, title); err != nil {
		return fmt.Errorf("rename %s: %w", conversation, userError(err))
	}
	return nil
}
