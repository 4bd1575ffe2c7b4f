package server

import (
	"log/slog"
	"time"
)

// Config configures a Server. Zero values mean the documented defaults.
type Config struct {
	// DBPath is the SQLite file; it is created if missing. Required unless
	// Store is set.
	DBPath string
	// Store replaces the embedded SQLite store (DBPath is then ignored).
	// It holds the packets too unless Packets is set.
	Store MetaStore
	// Packets replaces the Store's packet storage.
	Packets PacketStore
	// Broker replaces the embedded in-process broker (the hub) with one
	// that spans nodes; NodeID is then required.
	Broker Broker
	// Presence replaces the embedded in-process presence; with several
	// nodes it must span them too.
	Presence Presence
	// NodeID names this server among the nodes that share a Store and a
	// Broker; it must be unique and stable across restarts of the node
	// (it holds leases on recordings). Default: the store's ServerID
	// (one node).
	NodeID string
	// Name is shown to clients in the welcome and in discovery.
	Name string
	// RegistrationClosed refuses new accounts (registration is open by
	// default on a LAN).
	RegistrationClosed bool
	// AbandonAfter is how long a voice message may go without packets and
	// without its sender connected before it is marked abandoned, keeping
	// what arrived. Default 60 s.
	AbandonAfter time.Duration
	// PingInterval is the keepalive period; two missed pongs close the
	// connection. Default 30 s.
	PingInterval time.Duration
	// HelloTimeout bounds the wait for the first envelope. Default 10 s.
	HelloTimeout time.Duration
	// QueueFrames bounds each connection's outgoing queue; a client that
	// lets it fill is closed with CloseSlowConsumer. Default 1024.
	QueueFrames int
	// ControlRate and ControlBurst limit control envelopes per second per
	// connection. Defaults 200 and 2000 (a device back from a long time
	// offline drains its outbox in a burst).
	ControlRate  float64
	ControlBurst int
	// PacketRate and PacketBurst limit binary audio packets per second
	// per connection (a talker sends 50/s; resends after a reconnect burst
	// higher). Defaults 2000 and 4000.
	PacketRate  float64
	PacketBurst int
	// MaxViolations is how many rate-limit errors in a row a connection
	// gets before it is closed with CloseRateLimited. Default 100.
	MaxViolations int
	// SigninAccountBurst and SigninAccountEvery limit password sign-ins
	// per account: a burst, then one attempt per period. Defaults 10 and
	// 6 s (ten a minute). SigninAddrBurst and SigninAddrEvery limit
	// password sign-ins (and registrations) per client IP address:
	// defaults 30 and 2 s. A refused attempt gets CodeRateLimited and
	// CloseRateLimited, before any password is hashed.
	// Loopback addresses (the server's own machine: the host's app, load
	// tools) are exempt from the per-address limit unless
	// SigninLimitLoopback is set.
	SigninAccountBurst  int
	SigninAccountEvery  time.Duration
	SigninAddrBurst     int
	SigninAddrEvery     time.Duration
	SigninLimitLoopback bool
	// PasswordTime and PasswordMemoryKiB are argon2id's cost (parallelism
	// is 1; 16-byte salt, 32-byte key; the parameters are stored with
	// each hash, so changing them affects new passwords only). Defaults 2
	// passes and 19456 KiB (19 MiB), OWASP's recommendation for argon2id;
	// at most two hashes run at once.
	PasswordTime      uint32
	PasswordMemoryKiB uint32
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = "Parley"
	}
	if c.AbandonAfter <= 0 {
		c.AbandonAfter = 60 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 10 * time.Second
	}
	if c.QueueFrames <= 0 {
		c.QueueFrames = 1024
	}
	if c.ControlRate <= 0 {
		c.ControlRate = 200
	}
	if c.ControlBurst <= 0 {
		c.ControlBurst = 2000
	}
	if c.PacketRate <= 0 {
		c.PacketRate = 2000
	}
	if c.PacketBurst <= 0 {
		c.PacketBurst = 4000
	}
	if c.MaxViolations <= 0 {
		c.MaxViolations = 100
	}
	if c.SigninAccountBurst <= 0 {
		c.SigninAccountBurst = 10
	}
	if c.SigninAccountEvery <= 0 {
		c.SigninAccountEvery = 6 * time.Second
	}
	if c.SigninAddrBurst <= 0 {
		c.SigninAddrBurst = 30
	}
	if c.SigninAddrEvery <= 0 {
		c.SigninAddrEvery = 2 * time.Second
	}
	if c.PasswordTime == 0 {
		c.PasswordTime = 2
	}
	if c.PasswordMemoryKiB == 0 {
		c.PasswordMemoryKiB = 19456
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}
