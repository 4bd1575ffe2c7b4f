package server

import (
	"context"
	"errors"
	"time"

	"parley/server/wire"
)

// Store errors, compared with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrNameTaken = errors.New("name taken")
	ErrConflict  = errors.New("id names something else")
)

// Store is an engine that holds both the metadata and the packets (the
// embedded SQLite store, OpenSQLite; a PostgreSQL store).
type Store interface {
	MetaStore
	PacketStore
}

// MetaStore is the server's durable state apart from audio: accounts,
// devices, conversations, messages, receipts and the event history. The
// embedded implementation is SQLite (OpenSQLite); another engine
// (PostgreSQL) implements the same interface. It holds no business rules:
// which conversation everyone joins, what time it is and who may do what
// are the server's.
//
// Every method that changes what members can see appends an event to the
// history in the same transaction and returns it with its cursor. The
// cursor rule (see Event): cursors are dense and assigned in commit order
// — take the next cursor under a lock held until the transaction commits
// (SQLite's single writer; in PostgreSQL a counter row updated in the
// transaction) — so that once cursor c is visible every cursor below it
// is visible too, and a rolled-back transaction leaves no gap.
//
// Times are given by the caller (now); a store never reads the clock.
// Errors wrap ErrNotFound, ErrNameTaken or ErrConflict where they apply
// and carry the operation.
//
// A MetaStore is safe for concurrent use by several servers (nodes) at
// once if its engine is shared.
type MetaStore interface {
	// Epoch identifies this database; it is created with it and never
	// changes. ServerID identifies the server (the cluster) across
	// restarts. Both are read once when the store opens.
	Epoch() string
	ServerID() string

	// EnsureLobby creates the Lobby (a group everyone joins, titled
	// "Lobby", with id and created) unless one exists, and returns the
	// Lobby's id. It appends no event. Called concurrently by several
	// nodes, it creates one Lobby.
	EnsureLobby(ctx context.Context, id string, created time.Time) (string, error)

	// CreateUser creates an account named name (NFC) and makes it a
	// member of the conversations join (the server passes the Lobby), in
	// one transaction; it returns one membership event per conversation.
	// nameKey is the name's look-alike skeleton: ErrNameTaken if an
	// account has the same name (any case) or the same key.
	CreateUser(ctx context.Context, name, nameKey, passHash string, join []string, now time.Time) (wire.User, []wire.Event, error)
	// BackfillNameKeys sets the key of accounts stored without one (made
	// before keys existed) to key(name).
	BackfillNameKeys(ctx context.Context, key func(name string) string) error
	// UserByName returns the account named exactly name and its password
	// hash (ErrNotFound if there is none).
	UserByName(ctx context.Context, name string) (u wire.User, passHash string, err error)
	// Users returns every account ordered by name.
	Users(ctx context.Context) ([]wire.User, error)
	// User returns one account by id (ErrNotFound if there is none).
	User(ctx context.Context, id string) (wire.User, error)

	// CreateDevice stores a new device of userID with its token's hash.
	CreateDevice(ctx context.Context, userID, name string, tokenHash []byte, now time.Time) (wire.Device, error)
	// DeviceByToken finds the unrevoked device with tokenHash and its
	// user (ErrNotFound if none) and records the sign-in at now (it may
	// skip the write while the stored time is recent).
	DeviceByToken(ctx context.Context, tokenHash []byte, now time.Time) (wire.Device, wire.User, error)
	// Devices returns userID's unrevoked devices, oldest first.
	Devices(ctx context.Context, userID string) ([]wire.Device, error)
	// RevokeDevice revokes one of userID's devices (ErrNotFound if it has
	// no such unrevoked device); its token stops working at once.
	RevokeDevice(ctx context.Context, userID, deviceID string) error

	// Conversations returns userID's conversations, Lobby first, without
	// their members (MemberCount set).
	Conversations(ctx context.Context, userID string) ([]wire.Conversation, error)
	// Conversation returns a conversation with all its members.
	Conversation(ctx context.Context, id string) (wire.Conversation, error)
	// MemberIDs returns the ids of a conversation's members.
	MemberIDs(ctx context.Context, conversationID string) ([]string, error)
	// IsMember reports whether userID is a member of conversationID.
	IsMember(ctx context.Context, conversationID, userID string) (bool, error)
	// CreateConversation creates c (ID, Kind, Title, Created and Members
	// set). A direct conversation is found by its directKey and returned
	// unchanged if it exists, with a nil event.
	CreateConversation(ctx context.Context, c wire.Conversation, directKey string) (wire.Conversation, *wire.Event, error)
	// AddMember and RemoveMember change a membership; they return the
	// conversation without members and an event that carries the change
	// as a delta (Added, Removed). RemoveMember's event is also visible to
	// the user it removed; ErrNotFound if they were not a member.
	AddMember(ctx context.Context, conversationID, userID string, now time.Time) (wire.Conversation, *wire.Event, error)
	RemoveMember(ctx context.Context, conversationID, userID string) (wire.Conversation, *wire.Event, error)
	// RenameConversation sets a conversation's title.
	RenameConversation(ctx context.Context, conversationID, title string) (wire.Conversation, *wire.Event, error)

	// CreateMessage stores m with the conversation's next sequence number.
	// If m.ID exists it returns the stored message and a nil event.
	CreateMessage(ctx context.Context, m wire.Message) (wire.Message, *wire.Event, error)
	// Message returns a message by id (ErrNotFound if there is none).
	Message(ctx context.Context, id string) (wire.Message, error)
	// FinishMessage sets a voice message's state, packet count, duration
	// and waveform (nil keeps the stored one). A state other than
	// recording also ends the message's lease. It does not touch packets:
	// the server deletes a cancelled message's packets from the
	// PacketStore afterwards.
	FinishMessage(ctx context.Context, id string, state wire.MessageState, packets uint32, durationMs int64, waveform []uint8) (wire.Message, wire.Event, error)
	// RecordingMessages returns every message in state recording.
	RecordingMessages(ctx context.Context) ([]wire.Message, error)
	// ClaimRecording gives node the lease on the recording message id
	// until until, and reports whether node holds it afterwards. The claim
	// succeeds if the message has no lease, its lease ended before now,
	// node holds it already (a renewal), or force is set (the message's
	// sender is connected to node now: the recording has moved there).
	// A node receives, commits and finishes (or abandons) a recording only
	// while it holds its lease. ErrNotFound if the message does not exist
	// or is not recording.
	ClaimRecording(ctx context.Context, id, node string, now, until time.Time, force bool) (bool, error)

	// PutReceipt stores (or replaces) a user's receipt of one kind on a
	// message.
	PutReceipt(ctx context.Context, r wire.Receipt) (wire.Event, error)

	// Events returns userID's visible events after since, at most limit,
	// in cursor order; with conversationID set, only that conversation's.
	Events(ctx context.Context, userID string, since int64, conversationID string, limit int) ([]wire.Event, error)
	// EventsAfter returns every event after since, whoever may see it, in
	// cursor order, at most limit: what a node reads when an event it was
	// due to deliver did not come through the broker.
	EventsAfter(ctx context.Context, since int64, limit int) ([]LoggedEvent, error)
	// LastCursor returns the highest cursor committed (0 for none).
	LastCursor(ctx context.Context) (int64, error)

	Close() error
}

// LoggedEvent is an event as the history holds it: Subject names a user
// who may see it besides the conversation's members (someone it removed).
type LoggedEvent struct {
	wire.Event
	Subject string
}

// PacketStore holds the audio of voice messages: packets numbered from 0
// per message. The embedded one is the SQLite store's packets table; an
// engine for large servers keeps them in object storage.
//
// A PacketStore is safe for concurrent use.
type PacketStore interface {
	// CommitPackets durably stores packets (of one or more messages) in
	// one transaction: when it returns nil every packet survives a crash
	// (the server acks them to their sender after). A packet already
	// stored is left as it is.
	CommitPackets(ctx context.Context, packets []PacketRecord) error
	// PacketCount returns how many packets of a message are stored.
	PacketCount(ctx context.Context, messageID string) (uint32, error)
	// Packets returns a message's stored packets from number from on, at
	// most limit, stopping before the first missing number.
	Packets(ctx context.Context, messageID string, from uint32, limit int) ([][]byte, error)
	// DeletePackets removes every packet of a message (it was withdrawn).
	DeletePackets(ctx context.Context, messageID string) error

	Close() error
}

// PacketRecord is one packet to commit.
type PacketRecord struct {
	Message string
	Number  uint32
	Data    []byte
}
