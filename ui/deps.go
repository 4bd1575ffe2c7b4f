package ui

import (
	"io"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"

	"parley/sync"
)

// ConnStatus is what the connection indicator shows. State is sync's
// connection state; before sign-in the app reports an offline client as
// connecting, and a stopped one (signed out, or no server) as stopped.
type ConnStatus struct {
	State  sync.ConnState
	Server string // host:port
	User   string // signed-in username, empty when signed out
	Err    error  // last error, if any (shown through userMessage)
}

// Conversation is one row of the conversation list: sync's conversation,
// read from the local store.
type Conversation = sync.Conversation

// Message is one entry of a conversation: sync's message, with its
// receipts filled for the user's own messages.
type Message = sync.Message

// Server is a Parley server found on the local network.
type Server struct {
	Name    string // advertised instance name
	Address string // host:port
	// Fingerprint is the short certificate fingerprint the server
	// advertises, for comparison ("" if none); the pin decides trust.
	Fingerprint string
}

// Messenger is the UI's view of the sync engine: the local store (the UI's
// source of truth) plus the few requests that go to the server.
//
// Read methods (Status, Conversations, Messages, Message) read the local store
// and may be called from any goroutine; ui calls them off the UI thread when a
// Hint arrives. Methods that may touch the network (Connect, SignIn, SignUp,
// SignOut, Create*) are called from a goroutine ui starts, never on the UI
// thread. SendText and MarkListened only write the local outbox and must return
// quickly.
type Messenger interface {
	Status() ConnStatus
	Conversations() ([]Conversation, error) // those the account is in: Lobby first, then most recent first
	// Messages returns up to limit messages of a conversation, oldest
	// first: with before == 0 the newest ones followed by those not yet
	// numbered by the server (pending); otherwise the newest with
	// Seq < before (page backwards with before = the first Seq returned).
	Messages(conversation string, before int64, limit int) ([]Message, error)
	Message(id string) (Message, error)

	Connect(address string) error
	SignIn(username, password string) error
	SignUp(username, password string) error
	SignOut() error

	SendText(conversation, text string) (Message, error)
	MarkListened(message string, position time.Duration, done bool) error
	// MarkSeen marks the conversation's text messages from others as seen.
	// It only writes the local store and outbox.
	MarkSeen(conversation string) error
	CreateDirect(username string) (Conversation, error)
	CreateGroup(title string, members []string) (Conversation, error)

	People
	Searcher

	// ExportOpus writes a voice message as an Ogg Opus file to w. It may
	// fetch missing packets from the server, so ui calls it off the UI thread.
	ExportOpus(message string, w io.Writer) error
}

// Recorder captures and sends one voice transmission at a time.
// Every method is called on the UI thread and must return quickly (keep the
// device warm; encode and send on the recorder's own goroutines).
type Recorder interface {
	// Start begins a transmission to conversation and returns the new message id.
	Start(conversation string) (message string, err error)
	// Stop ends the transmission; what was said is sent (or kept in the outbox).
	Stop() error
	// Cancel ends the transmission and discards it.
	Cancel() error
	// Level is the current input level, 0..1, for a meter.
	Level() float32
}

// PlayState is the state of the player.
type PlayState int

// Player states.
const (
	PlayStopped PlayState = iota
	PlayPlaying
	PlayPaused
	PlayFinished
)

// LiveEdge, as a start position, asks the player to join a live message at
// its newest packet instead of from the start.
const LiveEdge time.Duration = -1

// Playback is what the player is doing now.
type Playback struct {
	Message  string
	State    PlayState
	Position time.Duration
	Speed    float64
}

// Player plays one stored or live message at a time (mixing of several live
// talkers is the audio engine's business). Methods are called on the UI thread
// and must return quickly; the player reports progress with HintPlayback.
type Player interface {
	Play(message string, from time.Duration, speed float64) error
	Pause() error
	Seek(position time.Duration) error
	SetSpeed(speed float64) error
	Playback() Playback
}

// Device is an audio device offered in settings. ID "" is the system default.
type Device struct {
	ID   string
	Name string
}

// Devices lists audio devices for the settings screen.
type Devices interface {
	Inputs() ([]Device, error)
	Outputs() ([]Device, error)
}

// Discovery lists Parley servers found on the LAN (by mDNS); it reports
// changes with HintServers.
type Discovery interface {
	Servers() []Server
}

// Host runs the bundled server in-process. Start and Stop may take a moment;
// ui calls them off the UI thread. It reports changes with HintHost.
type Host interface {
	Running() bool
	Address() string // host:port clients can use, "" when stopped
	Start() error
	Stop() error
}

// Cue names a short sound the app may play.
type Cue int

// Cues.
const (
	CueTalkStart Cue = iota
	CueTalkStop
	CueTalkCancel
	CueMessage
)

// HintKind says what changed. ui re-reads through the interfaces on a hint,
// so hints may be coalesced or repeated without losing anything.
type HintKind int

// Hint kinds.
const (
	HintConnection    HintKind = iota // Messenger.Status changed
	HintConversations                 // the conversation list (membership, order, counts) changed
	HintConversation                  // messages of Hint.Conversation changed
	HintMessage                       // Hint.Message changed (e.g. live growth, state)
	HintPresence                      // who is talking / online changed
	HintServers                       // Discovery.Servers changed
	HintHost                          // Host.Running changed
	HintPlayback                      // Player.Playback changed
)

// Hint is a small change notification.
type Hint struct {
	Kind         HintKind
	Conversation string
	Message      string
}

// Deps is everything ui needs from the rest of the app. Messenger, Recorder,
// Player and Settings are required; Discovery, Host and Devices may be nil.
type Deps struct {
	Messenger Messenger
	Recorder  Recorder
	Player    Player
	Discovery Discovery
	Host      Host
	Devices   Devices
	Settings  Settings

	// Hints delivers change notifications; ui drains it until Close.
	Hints <-chan Hint
	// Cue, if set, is called on the UI thread to play a short sound.
	Cue func(Cue)
	// Focus, if set, is told on the UI thread which conversation the
	// window shows ("" for none). The app's live router starts live
	// playback by itself and uses it for its policy; ui only displays
	// what the Player reports.
	Focus func(conversation string)
	// MaxTalk caps one transmission; zero means DefaultMaxTalk.
	MaxTalk time.Duration
	// GlobalKey, if set, runs the talk key from other windows.
	GlobalKey GlobalKey
	// Files, if set, sends audio files (file button, drag and drop).
	Files FileSender
	// Logger, if set, records the full error behind each message shown.
	Logger *slog.Logger
	// Placement, if set, reads and sets the window's position on the
	// screen (Fyne 2.8 has no API for it).
	Placement WindowPlacement
	// Muter, if set, mutes conversations (the header's Mute toggle).
	Muter Muter
	// Notify, if set, raises a notification about a conversation (UI
	// thread); otherwise ui uses Fyne's, which cannot be clicked.
	Notify func(conversation, text string)
}

// WindowPlacement reads and sets where a window is on the screen, in
// screen pixels, for the position to be remembered across starts. Both
// are called on the UI thread and must return quickly.
type WindowPlacement interface {
	// Position is where w's frame is; ok is false when it is not known
	// (not shown yet, or a platform without positions).
	Position(w fyne.Window) (x, y int, ok bool)
	// Move puts w's frame at x, y (kept on the screen).
	Move(w fyne.Window, x, y int) error
}

// DefaultMaxTalk is the longest transmission when Deps.MaxTalk is zero.
const DefaultMaxTalk = 5 * time.Minute
