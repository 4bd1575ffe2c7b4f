package sync

import (
	"time"

	"parley/server/wire"
)

// User is an account on the server.
type User = wire.User

// Device is a signed-in device of the current account.
type Device = wire.Device

// MessageKind is voice or text.
type MessageKind = wire.MessageKind

// MessageState is a message's life. Beside the server's states a local
// message may be StateFailed.
type MessageState = wire.MessageState

// Message kinds and states, as sync's readers compare them.
const (
	KindVoice      = wire.KindVoice
	KindText       = wire.KindText
	StateRecording = wire.StateRecording
	StateComplete  = wire.StateComplete
	StateAbandoned = wire.StateAbandoned
)

// Conversation kinds.
const (
	ConversationGroup  = wire.ConversationGroup
	ConversationDirect = wire.ConversationDirect
)

// StateFailed marks a message this device created that the server refused
// for good (for example: the account left the conversation before it was
// sent). It stays in the history so the user sees what was lost.
const StateFailed MessageState = "failed"

// Conversation is a conversation as the UI lists it.
type Conversation struct {
	ID      string
	Kind    wire.ConversationKind
	Title   string
	Lobby   bool
	Created time.Time
	// Member is false once the account left or was removed; the history
	// stays readable.
	Member  bool
	Members []User
	// Name is what the list calls it: Title, or for a conversation
	// without one the other members' names.
	Name string
	// Talking names the other members transmitting in it now.
	Talking []string
	// Unplayed counts voice messages and Unread text messages that wait
	// for this account (waitingSQL: from others, not withdrawn, not
	// played to the end or seen on any of its devices).
	Unplayed int
	Unread   int
	// Muted is set when this account muted the conversation on this
	// device (Store.SetMuted): no notifications, no live auto-play.
	Muted bool
	// LastActivity is the newest message's time, or Created.
	LastActivity time.Time
}

// Message is a message as the UI shows it.
type Message struct {
	ID           string
	Conversation string
	// Seq is the server's order in the conversation; 0 while the server
	// has not numbered the message yet (it is then Pending).
	Seq        int64
	SenderID   string
	SenderName string
	Kind       MessageKind
	Created    time.Time
	State      MessageState
	Codec      string
	Duration   time.Duration
	// Packets is the message's packet count as far as known: final once
	// State is complete or abandoned.
	Packets  uint32
	Waveform []byte
	Text     string
	// Pending is true while the message is in this device's outbox, not
	// yet fully acknowledged by the server.
	Pending bool
	// Mine is true for messages sent by this account.
	Mine bool
	// Listened and Position are this account's playback state: Listened
	// is true once it was played to the end (or marked so) on any of the
	// account's devices, or for text, seen; Position is the last position.
	Listened bool
	Position time.Duration
	// Receipts is who has this account's own message (Mine); Messages
	// and Message fill it.
	Receipts Heard
}

// Length is a voice message's length as far as known: the sender's final
// duration, or the packets so far while it is being recorded.
func (m Message) Length() time.Duration {
	return max(m.Duration, time.Duration(m.Packets)*wire.FrameDuration)
}

// Live reports a voice message the server is still receiving (a pending
// one, still in this device's outbox, is not live yet).
func (m Message) Live() bool { return m.State == StateRecording && !m.Pending }

// Lost reports a message that will never be complete: abandoned by its
// sender, or refused by the server for good.
func (m Message) Lost() bool { return m.State == StateAbandoned || m.State == StateFailed }

// Packet is one encoded audio packet of a voice message; Seq numbers the
// packets of a message from 0.
type Packet struct {
	Seq  uint32
	Data []byte
	// Arrived is when a live packet was read off the connection (zero for
	// packets read from the store).
	Arrived time.Time
}

// Playback is this account's listened state of one message.
type Playback struct {
	Listened bool
	Position time.Duration
}

// Presence is one user's presence; Conversation is set while talking.
type Presence struct {
	User         string
	State        wire.PresenceState
	Conversation string
}

// Receipt is a delivered or listened receipt of one user.
type Receipt struct {
	User     string
	Kind     wire.ReceiptKind
	Position time.Duration
	At       time.Time
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
