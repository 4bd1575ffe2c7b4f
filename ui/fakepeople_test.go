package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"parley/server/wire"
	"parley/sync"
)

// fakePeople is the directory, membership, presence and devices of the
// fake server, with the server's rules: members are added to groups only
// (not the Lobby), only known users are added, everyone stays in the
// Lobby, and the current device cannot be revoked from the list.
type fakePeople struct {
	users    []Person            // the directory (alice is Me)
	members  map[string][]string // conversation -> user ids
	presence map[string]PresenceState
	talking  map[string]string // user id -> conversation
	devices  []SignedInDevice
	// createFails, when set, names a user the server does not know.
	createFails string
}

func newFakePeople() *fakePeople {
	return &fakePeople{
		users: []Person{{ID: "u-a", Name: "alice", Me: true}, {ID: "u-b", Name: "bob"}, {ID: "u-c", Name: "carol"},
			{ID: "u-d", Name: "dave"}, {ID: "u-e", Name: "erin"}, {ID: "u-bb", Name: "bobby"}},
		members:  map[string][]string{"lobby": {"u-a", "u-b", "u-c", "u-d", "u-e", "u-bb"}},
		presence: map[string]PresenceState{"u-a": PresenceOnline, "u-b": PresenceOnline, "u-c": PresenceOnline},
		talking:  map[string]string{},
		devices: []SignedInDevice{
			{ID: "d1", Name: "alice-laptop", Created: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC), Current: true},
			{ID: "d2", Name: "office-desktop", Created: time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC), LastSeen: time.Date(2026, 3, 13, 17, 45, 0, 0, time.UTC)},
			{ID: "d3", Name: "old-phone", Created: time.Date(2025, 11, 2, 8, 0, 0, 0, time.UTC)},
		},
	}
}

func (f *fakeMessenger) person(id string) (Person, bool) {
	for _, p := range f.people.users {
		if p.ID == id {
			return p, true
		}
	}
	return Person{}, false
}

func (f *fakeMessenger) conv(id string) (int, bool) {
	for i, c := range f.convs {
		if c.ID == id {
			return i, true
		}
	}
	return 0, false
}

func (f *fakeMessenger) Members(conv string) ([]Person, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Person
	for _, id := range f.people.members[conv] {
		p, _ := f.person(id)
		p.Presence = f.people.presence[id]
		if f.people.talking[id] == conv {
			p.Presence = PresenceTalking
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Person) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeMessenger) Directory() ([]Person, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.State != sync.StateOnline {
		return nil, fmt.Errorf("list users: %w", ErrNeedsServer)
	}
	return slices.Clone(f.people.users), nil
}

func (f *fakeMessenger) AddMembers(conv string, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.conv(conv)
	if !ok {
		return &wire.Error{Code: wire.CodeNotMember, Message: "not a member"}
	}
	if f.convs[i].Kind != sync.ConversationGroup {
		return &wire.Error{Code: wire.CodeBadRequest, Message: "members can be added to groups only"}
	}
	for _, id := range ids {
		if _, ok := f.person(id); !ok {
			return &wire.Error{Code: wire.CodeNotFound, Message: "user " + id + " not found"}
		}
		if !slices.Contains(f.people.members[conv], id) {
			f.people.members[conv] = append(f.people.members[conv], id)
		}
	}
	return nil
}

func (f *fakeMessenger) Rename(conv, title string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.conv(conv)
	if !ok {
		return &wire.Error{Code: wire.CodeNotMember, Message: "not a member"}
	}
	r := wire.ConversationRename{Conversation: conv, Title: title}
	if err := r.Validate(); err != nil {
		return err
	}
	if f.convs[i].Kind != sync.ConversationGroup {
		return &wire.Error{Code: wire.CodeBadRequest, Message: "only groups can be renamed"}
	}
	f.convs[i].Title = title
	return nil
}

func (f *fakeMessenger) Leave(conv string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.conv(conv)
	if !ok {
		return &wire.Error{Code: wire.CodeNotMember, Message: "not a member"}
	}
	if f.convs[i].Lobby {
		return &wire.Error{Code: wire.CodeBadRequest, Message: "everyone stays in the Lobby"}
	}
	f.convs = slices.Delete(f.convs, i, i+1)
	f.people.members[conv] = slices.DeleteFunc(f.people.members[conv], func(id string) bool { return id == "u-a" })
	return nil
}

func (f *fakeMessenger) Devices() ([]SignedInDevice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.State != sync.StateOnline {
		return nil, fmt.Errorf("list devices: %w", ErrNeedsServer)
	}
	return slices.Clone(f.people.devices), nil
}

func (f *fakeMessenger) RevokeDevice(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, d := range f.people.devices {
		if d.ID == id {
			if d.Current {
				return &wire.Error{Code: wire.CodeBadRequest, Message: "sign out instead"}
			}
			f.people.devices = slices.Delete(f.people.devices, i, i+1)
			return nil
		}
	}
	return &wire.Error{Code: wire.CodeNotFound, Message: "device " + id + " not found"}
}

func (f *fakeMessenger) Search(q string) ([]SearchHit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []SearchHit
	for _, c := range f.convs {
		for _, m := range f.msgs[c.ID] {
			if m.Kind == sync.KindText && strings.Contains(strings.ToLower(m.Text), strings.ToLower(q)) {
				out = append(out, SearchHit{Message: m, ConversationTitle: conversationTitle(named(c))})
			}
		}
	}
	slices.SortFunc(out, func(a, b SearchHit) int { return b.Message.Created.Compare(a.Message.Created) })
	return out, nil
}
