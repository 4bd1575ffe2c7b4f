package wire

// Envelope types. Requests are sent by a client; answers and pushes by the
// server. The comment on each names its payload type.
const (
	TypeHello   = "hello"   // request: Hello -> Welcome
	TypeWelcome = "welcome" // answer: Welcome
	TypeError   = "error"   // answer or push: Error
	TypeOK      = "ok"      // answer with no data: OK

	TypeVoiceStart   = "voice.start"   // request: VoiceStart -> VoiceStarted
	TypeVoiceStarted = "voice.started" // answer: VoiceStarted
	TypeVoiceAck     = "voice.ack"     // push, and answer to voice.end: VoiceAck
	TypeVoiceEnd     = "voice.end"     // request: VoiceEnd -> VoiceAck{Complete: true}
	TypeVoiceLive    = "voice.live"    // push: VoiceLive, then packets on its stream
	TypeVoiceDone    = "voice.done"    // push: VoiceDone, ends a live or fetch stream

	TypeTextSend = "text.send" // request: TextSend -> TextSent
	TypeTextSent = "text.sent" // answer: TextSent

	TypeSync     = "sync"      // request: Sync -> SyncPage
	TypeSyncPage = "sync.page" // answer: SyncPage
	TypeEvent    = "event"     // push: Event

	TypeAudioFetch  = "audio.fetch"  // request: AudioFetch -> AudioStream, batches, VoiceDone
	TypeAudioStream = "audio.stream" // answer: AudioStream

	TypeReceipt  = "receipt"  // request: ReceiptSend -> OK; fanned out as Event
	TypePresence = "presence" // push: Presence

	TypeConversationCreate  = "conversation.create"  // request: ConversationCreate -> ConversationInfo
	TypeConversationInfo    = "conversation"         // answer: ConversationInfo
	TypeConversationList    = "conversation.list"    // request: Page (or none) -> Conversations
	TypeConversations       = "conversations"        // answer: Conversations
	TypeConversationMembers = "conversation.members" // request: MemberList -> Members
	TypeMembers             = "members"              // answer: Members
	TypeConversationAdd     = "conversation.add"     // request: ConversationAdd -> ConversationInfo
	TypeConversationLeave   = "conversation.leave"   // request: ConversationRef -> OK
	TypeConversationRename  = "conversation.rename"  // request: ConversationRename -> ConversationInfo

	TypeUserList = "user.list" // request: Page (or none) -> Users
	TypeUsers    = "users"     // answer: Users

	TypeDeviceList   = "device.list"   // request: Page (or none) -> Devices
	TypeDevices      = "devices"       // answer: Devices
	TypeDeviceRevoke = "device.revoke" // request: DeviceRevoke -> OK
)

// AuthMode says how a Hello authenticates.
type AuthMode string

// Authentication modes.
const (
	AuthRegister AuthMode = "register" // create the account, then sign in
	AuthLogin    AuthMode = "login"    // username + password
	AuthToken    AuthMode = "token"    // a device token from an earlier Welcome
)

// Hello opens a session. It must be the first envelope on a connection.
type Hello struct {
	Protocol int  `json:"protocol"`
	Auth     Auth `json:"auth"`
}

// Auth is a Hello's credentials. Register and login name a new device
// (Device) and get a new token; token mode reuses an existing device.
type Auth struct {
	Mode     AuthMode `json:"mode"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	Token    string   `json:"token,omitempty"`
	Device   string   `json:"device,omitempty"`
}

// Welcome answers a successful Hello. Token is set only for register and
// login: the client keeps it and the server keeps only its hash. Epoch
// changes when the server's database is created anew; a client that sees
// a new epoch resyncs from cursor 0 and resends its outbox. Cursor is the
// newest event cursor on the server, for progress display.
type Welcome struct {
	Protocol   int    `json:"protocol"`
	User       User   `json:"user"`
	Device     Device `json:"device"`
	Token      string `json:"token,omitempty"`
	ServerID   string `json:"server_id"`
	ServerName string `json:"server_name"`
	Epoch      string `json:"epoch"`
	Cursor     int64  `json:"cursor"`
}

// OK answers a request that returns no data.
type OK struct{}

// User is an account as other users see it.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Device is one signed-in device of the current user.
type Device struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Created  int64  `json:"created"`             // unix ms
	LastSeen int64  `json:"last_seen,omitempty"` // unix ms
	Current  bool   `json:"current,omitempty"`   // the device of this connection
}

// ConversationKind is a conversation's shape.
type ConversationKind string

// Conversation kinds. The Lobby is a group with Lobby set.
const (
	ConversationGroup  ConversationKind = "group"
	ConversationDirect ConversationKind = "direct"
)

// Conversation is a conversation and, where the list is bounded, its
// members. Members is the full list only in the answer to (and the event
// of) conversation.create, whose members are bounded by MaxGroupMembers;
// everywhere else (conversation.list, conversation.add, membership
// events) it is omitted, so that no frame grows with the Lobby: the list
// is read page by page with conversation.members and kept up to date
// with the Added/Removed deltas of conversation events. MemberCount is
// the current number of members.
type Conversation struct {
	ID          string           `json:"id"`
	Kind        ConversationKind `json:"kind"`
	Title       string           `json:"title,omitempty"`
	Lobby       bool             `json:"lobby,omitempty"`
	Created     int64            `json:"created"` // unix ms
	Members     []User           `json:"members,omitempty"`
	MemberCount int              `json:"member_count,omitempty"`
}

// MessageKind is voice or text.
type MessageKind string

// Message kinds.
const (
	KindVoice MessageKind = "voice"
	KindText  MessageKind = "text"
)

// MessageState is a message's life: voice messages are recording until
// voice.end, or abandoned after their sender vanished (keeping the packets
// that arrived), or cancelled when their sender withdrew them (the packets
// are deleted and devices remove the message); text messages are complete
// at once.
type MessageState string

// Message states.
const (
	StateRecording MessageState = "recording"
	StateComplete  MessageState = "complete"
	StateAbandoned MessageState = "abandoned"
	StateCancelled MessageState = "cancelled"
)

// Message is a stored message. Seq orders messages within a conversation;
// every device shows them by Seq. ID is the client-made ULID.
type Message struct {
	ID           string       `json:"id"`
	Conversation string       `json:"conversation"`
	Seq          int64        `json:"seq"`
	Sender       User         `json:"sender"`
	Kind         MessageKind  `json:"kind"`
	Created      int64        `json:"created"` // unix ms, server clock
	State        MessageState `json:"state"`
	Codec        string       `json:"codec,omitempty"`
	DurationMs   int64        `json:"duration_ms,omitempty"`
	Packets      uint32       `json:"packets,omitempty"`
	Waveform     []uint8      `json:"waveform,omitempty"` // base64 in JSON
	Text         string       `json:"text,omitempty"`
}

// CodecOpus is the only codec: Opus, 48 kHz mono, 20 ms packets.
const CodecOpus = "opus"

// VoiceStart begins (or, with an id already stored, resumes) a voice
// message.
type VoiceStart struct {
	Conversation string `json:"conversation"`
	Message      string `json:"message"`
	Codec        string `json:"codec"`
}

// VoiceStarted answers VoiceStart with the stream id for this connection's
// binary frames and how many packets are already stored. If State is not
// recording the message is closed and takes no packets.
type VoiceStarted struct {
	Message string       `json:"message"`
	Stream  uint32       `json:"stream"`
	Upto    uint32       `json:"upto"`
	Seq     int64        `json:"seq"`
	State   MessageState `json:"state"`
}

// VoiceAck says packets 0..Upto-1 of Message are committed. Complete is
// set when the message has been ended.
type VoiceAck struct {
	Message  string `json:"message"`
	Upto     uint32 `json:"upto"`
	Complete bool   `json:"complete,omitempty"`
}

// VoiceEnd ends a voice message with its final packet count, duration and
// waveform summary (one byte per point, 0 silent .. 255 loudest). With
// Cancel set it withdraws a message still being recorded instead: it ends
// cancelled, its packets are deleted, and live listeners get voice.done
// with StateCancelled (they may have heard part of it already).
type VoiceEnd struct {
	Message    string  `json:"message"`
	Packets    uint32  `json:"packets"`
	DurationMs int64   `json:"duration_ms"`
	Waveform   []uint8 `json:"waveform,omitempty"`
	Cancel     bool    `json:"cancel,omitempty"`
}

// VoiceLive announces a message being recorded; its packets follow on
// Stream as they arrive, from packet From (0 unless the device connected
// while the message was already under way; audio.fetch gets the start).
type VoiceLive struct {
	Message Message `json:"message"`
	Stream  uint32  `json:"stream"`
	From    uint32  `json:"from,omitempty"`
}

// VoiceDone ends a live or fetch stream. State is complete or abandoned
// for a finished message; a stream ends with State recording only when the
// server stops it early (shutdown).
type VoiceDone struct {
	Message    string       `json:"message"`
	Stream     uint32       `json:"stream"`
	State      MessageState `json:"state"`
	Packets    uint32       `json:"packets"`
	DurationMs int64        `json:"duration_ms,omitempty"`
	Waveform   []uint8      `json:"waveform,omitempty"`
}

// TextSend sends a text message; Message is the client-made ULID.
type TextSend struct {
	Conversation string `json:"conversation"`
	Message      string `json:"message"`
	Text         string `json:"text"`
}

// TextSent answers TextSend with the stored message.
type TextSent struct {
	Message Message `json:"message"`
}

// Sync asks for the events after Since. With Conversation set it returns
// only that conversation's events (a client that was just added to a
// conversation fetches its history this way, from 0).
type Sync struct {
	Since        int64  `json:"since"`
	Limit        int    `json:"limit,omitempty"` // 0 or > MaxSyncPage means MaxSyncPage
	Conversation string `json:"conversation,omitempty"`
}

// SyncPage is one page of events in cursor order. Next is the cursor to
// ask from; More says whether another page follows. A page holds at most
// the events asked for and always fits in MaxFrameBytes.
type SyncPage struct {
	Events []Event `json:"events"`
	Next   int64   `json:"next"`
	More   bool    `json:"more"`
}

// EventKind says what an Event carries.
type EventKind string

// Event kinds.
const (
	// EventMessage: a message was created or changed state; Message is
	// its current form.
	EventMessage EventKind = "message"
	// EventReceipt: a receipt was recorded; Receipt is set.
	EventReceipt EventKind = "receipt"
	// EventConversation: a conversation was created or its members
	// changed. Info is its current form; at creation Info.Members is the
	// full list, after that Info has no members and Added and Removed say
	// who joined and who left. A device that finds itself in Added of a
	// conversation it did not know the members of reads them with
	// conversation.members.
	EventConversation EventKind = "conversation"
)

// Event is one change in the history a user can see.
type Event struct {
	Cursor       int64         `json:"cursor"`
	Kind         EventKind     `json:"kind"`
	Conversation string        `json:"conversation"`
	Message      *Message      `json:"message,omitempty"`
	Receipt      *Receipt      `json:"receipt,omitempty"`
	Info         *Conversation `json:"info,omitempty"`
	Added        []User        `json:"added,omitempty"`   // EventConversation: who joined
	Removed      []string      `json:"removed,omitempty"` // EventConversation: user ids of who left
}

// MessageEvent is the event that carries a message as it now is.
func MessageEvent(m Message) Event {
	return Event{Kind: EventMessage, Conversation: m.Conversation, Message: &m}
}

// ConversationEvent is the event that carries a conversation's
// information as it now is.
func ConversationEvent(c Conversation) Event {
	return Event{Kind: EventConversation, Conversation: c.ID, Info: &c}
}

// AudioFetch asks for a voice message's packets from packet From on.
type AudioFetch struct {
	Message string `json:"message"`
	From    uint32 `json:"from"`
}

// AudioStream answers AudioFetch: packets follow on Stream as batches
// (stored ones) and single packets (live tail), then VoiceDone. Packets is
// how many were stored when the fetch began.
type AudioStream struct {
	Message string       `json:"message"`
	Stream  uint32       `json:"stream"`
	From    uint32       `json:"from"`
	State   MessageState `json:"state"`
	Packets uint32       `json:"packets"`
}

// ReceiptKind is delivered or listened.
type ReceiptKind string

// Receipt kinds.
const (
	ReceiptDelivered ReceiptKind = "delivered"
	ReceiptListened  ReceiptKind = "listened"
)

// ReceiptSend records that the current user received or listened to a
// message. For listened, PositionMs is the playback position reached;
// the last position sent is the one kept (a re-listen may move it back).
// On a text message listened means seen, up to it: it covers the
// conversation's earlier texts too, so a client sends one for the newest
// text it showed, not one per text.
type ReceiptSend struct {
	Message    string      `json:"message"`
	Kind       ReceiptKind `json:"kind"`
	PositionMs int64       `json:"position_ms,omitempty"`
}

// Receipt is a recorded receipt, fanned out to the other members and to
// the user's other devices.
type Receipt struct {
	Message      string      `json:"message"`
	Conversation string      `json:"conversation"`
	User         string      `json:"user"`
	Device       string      `json:"device,omitempty"`
	Kind         ReceiptKind `json:"kind"`
	PositionMs   int64       `json:"position_ms,omitempty"`
	At           int64       `json:"at"` // unix ms
}

// PresenceState is a user's presence.
type PresenceState string

// Presence states. Talking is per conversation.
const (
	PresenceOnline  PresenceState = "online"
	PresenceOffline PresenceState = "offline"
	PresenceTalking PresenceState = "talking"
)

// Presence is pushed after the welcome (a snapshot of the users online)
// and then as deltas. A snapshot too large for one frame comes as several
// presence frames in a row: the first replaces what the client knew, the
// following ones add to it, as deltas do.
//
// A delta names only the users whose presence changed. The server may
// merge changes that wait to be sent: one frame may carry several users,
// each at most once with its latest state (a user who came and went
// before the frame left may appear only as offline), and changes that
// reached the server before the snapshot was sent may be folded into it.
// A client applies each entry as it comes; the result is the same as if
// every change had come alone. Online and offline reach every user (all
// share the Lobby); talking reaches the conversation's members only.
type Presence struct {
	Users []PresenceEntry `json:"users"`
}

// PresenceEntry is one user's presence; Conversation is set for talking.
type PresenceEntry struct {
	User         string        `json:"user"`
	State        PresenceState `json:"state"`
	Conversation string        `json:"conversation,omitempty"`
}

// ConversationCreate creates a group (Title, Members) or opens the direct
// conversation with the one user in Members (an existing one is returned,
// not duplicated). The creator is always a member.
type ConversationCreate struct {
	Kind    ConversationKind `json:"kind"`
	Title   string           `json:"title,omitempty"`
	Members []string         `json:"members"` // user ids
}

// ConversationInfo answers conversation.create and conversation.add.
type ConversationInfo struct {
	Conversation Conversation `json:"conversation"`
}

// ConversationRef names a conversation.
type ConversationRef struct {
	Conversation string `json:"conversation"`
}

// ConversationAdd adds a user to a group.
type ConversationAdd struct {
	Conversation string `json:"conversation"`
	User         string `json:"user"`
}

// ConversationRename gives a group (not the Lobby) a new title; every
// member gets the conversation event.
type ConversationRename struct {
	Conversation string `json:"conversation"`
	Title        string `json:"title"`
}

// # Lists
//
// Every list that grows with the server (conversation.list,
// conversation.members, user.list, device.list) is paged: the request
// carries From (0 for the first page; the previous answer's Next after
// that) and the answer as many items from there as fit in one frame,
// with More set while items remain. A page is cut by size, so it always
// fits in MaxFrameBytes.

// Page asks for one page of a list, from item From (0 for the first).
type Page struct {
	From int `json:"from,omitempty"`
}

// MemberList asks for a page of a conversation's members.
type MemberList struct {
	Conversation string `json:"conversation"`
	From         int    `json:"from,omitempty"`
}

// Conversations is a page of the current user's conversations, Lobby
// first, without their members (see Conversation).
type Conversations struct {
	Conversations []Conversation `json:"conversations"`
	Next          int            `json:"next,omitempty"`
	More          bool           `json:"more,omitempty"`
}

// Members is a page of a conversation's members, in the order they
// joined.
type Members struct {
	Conversation string `json:"conversation"`
	Members      []User `json:"members"`
	Next         int    `json:"next,omitempty"`
	More         bool   `json:"more,omitempty"`
}

// Users is a page of the server's accounts, by name.
type Users struct {
	Users []User `json:"users"`
	Next  int    `json:"next,omitempty"`
	More  bool   `json:"more,omitempty"`
}

// Devices is a page of the current user's signed-in devices, oldest
// first.
type Devices struct {
	Devices []Device `json:"devices"`
	Next    int      `json:"next,omitempty"`
	More    bool     `json:"more,omitempty"`
}

// DeviceRevoke signs a device of the current user out; its token stops
// working and its connections close with CloseRevoked.
type DeviceRevoke struct {
	Device string `json:"device"`
}
