package server

import (
	"context"

	"parley/server/wire"
)

// Broker carries what one node of a cluster tells every node: events and
// other text frames for users' devices, the live packets of voice messages
// being recorded, and disconnects. A node never holds another node's
// sessions: each node hands its broker a Node at Start, and the broker
// hands that Node everything published anywhere in the cluster, this
// node's own publications included. The node then delivers to its local
// sessions whatever the broker hands it; the embedded hub is the case
// with no network (Publish calls the Node before it returns).
//
// Subjects are per conversation (Event.Conversation, Live.Conversation):
// an engine may key streams and filters on them. Frame and Disconnect
// are not tied to a conversation.
//
// Guarantees every engine must give:
//   - Per message (Live.Message), Live deliveries reach each node in the
//     order they were published by one publisher (packets in number
//     order, the start before them, the done after them). Redelivery is
//     allowed; the node drops what it has (by packet number, by cursor).
//   - Events may reach a node in any order and more than once; the node
//     puts them in cursor order (see Event).
//   - A publish error means the delivery may not have reached every node;
//     the caller logs it: durable state is in the Store, and clients
//     recover missed pushes with sync and audio.fetch.
//   - Node methods are called one at a time per publisher, must not block
//     on a session (they queue with Deliver) and must not call back into
//     Publish synchronously.
//
// A Broker is safe for concurrent use.
type Broker interface {
	// Start makes the broker deliver to n from now on, until Close. It is
	// called once, before any Publish.
	Start(ctx context.Context, n Node) error
	// PublishFrame delivers a text frame to every connected device of
	// users, on any node, except the device named exceptDevice ("" for
	// none). Presence and other pushes that are not history use it.
	PublishFrame(ctx context.Context, f Frame) error
	// PublishEvent delivers a history event to its recipients' devices on
	// every node. It returns once the engine has accepted it (for a
	// persistent engine: once stored).
	PublishEvent(ctx context.Context, ev Event) error
	// PublishLive delivers one step of a message being recorded to every
	// node: its start (with the members to announce it to), one packet,
	// or its end.
	PublishLive(ctx context.Context, l Live) error
	// Disconnect closes every connection of a device, on any node, with a
	// WebSocket close code (a revoked device: wire.CloseRevoked).
	Disconnect(ctx context.Context, d Disconnect) error
	// Close stops delivering; after it returns no Node method runs. It is
	// idempotent.
	Close() error
}

// Node is what a Broker delivers to: one server's local sessions. Its
// methods queue frames and return; they never block on a client.
type Node interface {
	DeliverFrame(f Frame)
	DeliverEvent(ev Event)
	DeliverLive(l Live)
	DeliverDisconnect(d Disconnect)
}

// Frame is a text frame (an encoded wire envelope, Data) or presence
// changes (Presence) for the connected devices of Users, or of every
// signed-in device when Everyone is set. Presence is not encoded here:
// each node merges it into what every recipient's writer has still to
// send, so a burst of changes reaches a client in a few frames
// (wire.Presence). Everyone keeps a change that concerns all users (who
// is online: everyone shares the Lobby) as small as the change itself
// however many users there are.
type Frame struct {
	Users        []string             `json:"users,omitempty"`
	Everyone     bool                 `json:"everyone,omitempty"`
	ExceptDevice string               `json:"except,omitempty"`
	Data         []byte               `json:"data,omitempty"`
	Presence     []wire.PresenceEntry `json:"presence,omitempty"`
}

// Event is a history event on its way to the devices of Users (the
// conversation's members when it was stored, and someone it removed), or
// of everyone.
// Data is its encoded wire envelope (type event).
//
// Cursor rule (every Store and Broker together): cursors are dense (1,
// 2, 3, … without gaps) and assigned in commit order (under a lock held
// until commit), so a reader who sees cursor c committed will find every
// cursor below c committed too. A node delivers events to its sessions
// in cursor order: it holds an event that arrives ahead of a missing one
// and, if the missing one does not arrive within a bound, reads it from
// the Store (Store.EventsAfter). So a client never receives c+1 before c
// and sync {since} never skips an event that commits later.
//
// An event of the Lobby sets Everyone instead of naming its members:
// every user is in the Lobby and stays, so every signed-in device is a
// recipient, and the event stays the size of the change however many
// users there are.
type Event struct {
	Cursor       int64    `json:"cursor"`
	Conversation string   `json:"conversation"`
	Users        []string `json:"users,omitempty"`
	Everyone     bool     `json:"everyone,omitempty"`
	Data         []byte   `json:"data"`
}

// LiveKind says what a Live carries.
type LiveKind uint8

// Live kinds.
const (
	// LiveStart: a voice message started recording (Info and Members
	// set). Nodes announce it with voice.live to the members' devices
	// except SenderDevice.
	LiveStart LiveKind = iota + 1
	// LivePacket: packet Number (Data) of Message; packets are published
	// contiguously from 0.
	LivePacket
	// LiveDone: the message finished (Info is its final form).
	LiveDone
)

// Live is one step of a message being recorded, published by the node
// that owns the recording (the node its sender is connected to).
type Live struct {
	Kind         LiveKind      `json:"kind"`
	Conversation string        `json:"conversation"`
	Message      string        `json:"message"`
	Info         *wire.Message `json:"info,omitempty"`
	SenderDevice string        `json:"sender_device,omitempty"`
	Members      []string      `json:"members,omitempty"`
	Number       uint32        `json:"number,omitempty"`
	Data         []byte        `json:"data,omitempty"`
}

// Disconnect asks every node to close the connections of Device.
type Disconnect struct {
	Device string `json:"device"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}
