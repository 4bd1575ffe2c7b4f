package ui

import (
	"time"

	"fyne.io/fyne/v2/lang"
)

// PresenceState is whether a person can hear a message live.
type PresenceState int

// Presence states, from least to most present.
const (
	PresenceOffline PresenceState = iota
	PresenceOnline
	PresenceTalking // transmitting in the conversation asked about
)

// Person is a user of the server as the members panel and the user picker
// show them.
type Person struct {
	ID       string
	Name     string
	Presence PresenceState
	Me       bool // the signed-in user
}

// SignedInDevice is one device signed in to the user's account.
type SignedInDevice struct {
	ID       string
	Name     string
	Created  time.Time
	LastSeen time.Time // zero when never seen since sign-in
	Current  bool      // this computer
}

// People is the part of the Messenger about people, membership and the
// account's devices. Members reads the local store; the others ask the
// server, so ui calls them off the UI thread.
type People interface {
	// Members lists a conversation's members, with their presence in it,
	// by name.
	Members(conversation string) ([]Person, error)
	// Directory lists the server's accounts by name (ui filters them as
	// the user types).
	Directory() ([]Person, error)
	AddMembers(conversation string, userIDs []string) error
	Rename(conversation, title string) error
	Leave(conversation string) error

	Devices() ([]SignedInDevice, error)
	RevokeDevice(id string) error
}

// conversationTitle is what the window calls c: the Lobby by its name in
// the user's language, others by their title.
func conversationTitle(c Conversation) string {
	if c.Lobby {
		return lang.L("Lobby")
	}
	return c.Name
}
