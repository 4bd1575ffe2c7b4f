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

// Store is the server's durable state. The embedded implementation is
// SQLite (OpenSQLite); another engine (PostgreSQL for metadata, object
// storage for packets) implements the same interface.
//
// Every method that changes what members can see appends an event to the
// history in the same transaction and returns it with its cursor. Callers
// that publish events serialize those calls so that cursor order is
// publish order.
//
// A Store is safe for concurrent use.
type Store interface {
	// Epoch identifies this database; it is created with it and never
	// changes. ServerID identifies the server across restarts.
	Epoch() string
	ServerID() string

	// CreateUser creates an account named name (NFC) and adds it to the
	// Lobby. nameKey is the name's look-alike skeleton: ErrNameTaken if an
	// account has the same name (any case) or the same key.
	CreateUser(ctx context.Context, name, nameKey, passHash string, now time.Time) (wire.User, []wire.Event, error)
	// BackfillNameKeys sets the key of accounts stored without one (made
	// before keys existed) to key(name).
	BackfillNameKeys(ctx context.Context, key func(name string) string) error
	UserByName(ctx context.Context, name string) (u wire.User, passHash string, err error)
	Users(ctx context.Context) ([]wire.User, error)
	// User returns one account by id (ErrNotFound if there is none).
	User(ctx context.Context, id string) (wire.User, error)

	CreateDevice(ctx context.Context, userID, name string, tokenHash []byte, now time.Time) (wire.Device, error)
	DeviceByToken(ctx context.Context, tokenHash []byte, now time.Time) (wire.Device, wire.User, error)
	Devices(ctx context.Context, userID string) ([]wire.Device, error)
	RevokeDevice(ctx context.Context, userID, deviceID string) error

	// Conversations returns userID's conversations, Lobby first, without
	// their members (MemberCount set).
	Conversations(ctx context.Context, userID string) ([]wire.Conversation, error)
	// Conversation returns a conversation with all its members.
	Conversation(ctx context.Context, id string) (wire.Conversation, error)
	MemberIDs(ctx context.Context, conversationID string) ([]string, error)
	IsMember(ctx context.Context, conversationID, userID string) (bool, error)
	// CreateConversation creates c (ID, Kind, Title, Created and Members
	// set). A direct conversation is found by its directKey and returned
	// unchanged if it exists, with a nil event.
	CreateConversation(ctx context.Context, c wire.Conversation, directKey string) (wire.Conversation, *wire.Event, error)
	// AddMember and RemoveMember change a membership; they return the
	// conversation without members and an event that carries the change
	// as a delta (Added, Removed).
	AddMember(ctx context.Context, conversationID, userID string, now time.Time) (wire.Conversation, *wire.Event, error)
	RemoveMember(ctx context.Context, conversationID, userID string) (wire.Conversation, *wire.Event, error)

	// CreateMessage stores m with the conversation's next sequence number.
	// If m.ID exists it returns the stored message and a nil event.
	CreateMessage(ctx context.Context, m wire.Message) (wire.Message, *wire.Event, error)
	Message(ctx context.Context, id string) (wire.Message, error)
	// FinishMessage sets a voice message's state, packet count, duration
	// and waveform; a cancelled message's packets are deleted with it.
	FinishMessage(ctx context.Context, id string, state wire.MessageState, packets uint32, durationMs int64, waveform []uint8) (wire.Message, wire.Event, error)
	RecordingMessages(ctx context.Context) ([]wire.Message, error)

	// CommitPackets durably stores packets in one transaction; a packet
	// already stored is left as it is.
	CommitPackets(ctx context.Context, packets []PacketRecord) error
	PacketCount(ctx context.Context, messageID string) (uint32, error)
	Packets(ctx context.Context, messageID string, from uint32, limit int) ([][]byte, error)

	PutReceipt(ctx context.Context, r wire.Receipt) (wire.Event, error)

	// Events returns userID's visible events after since, at most limit;
	// with conversationID set, only that conversation's.
	Events(ctx context.Context, userID string, since int64, conversationID string, limit int) ([]wire.Event, error)
	LastCursor(ctx context.Context) (int64, error)

	Close() error
}

// PacketRecord is one packet to commit.
type PacketRecord struct {
	Message string
	Number  uint32
	Data    []byte
}
