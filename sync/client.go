package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	gosync "sync"
	"time"

	"parley/server/wire"
)

// Config configures a Client.
type Config struct {
	// URL is the server: "wss://host:port/v1/ws", or just "host:port".
	// Plain ws:// is refused (ErrInsecure).
	URL string
	// Pins keeps the TLS fingerprint pinned per server address (trust on
	// first use, see TLSConfig). Nil keeps the pins in the account's
	// store; the app passes one PinFile shared by all its accounts.
	Pins PinStore
	// StorePath is the store file. If empty it is
	// StorePath(DataDir, server host, Username).
	StorePath string
	DataDir   string
	// Username and Password sign in when there is no stored token (or it
	// stopped working). With Register, a missing account is created.
	Username string
	Password string
	Register bool
	// DeviceName names this device in the account's device list.
	DeviceName string
	// AutoDeliver sends a delivered receipt for every message from others
	// the client receives.
	AutoDeliver bool
	// Prefetch is how many recent unplayed voice messages to download
	// ahead of playback: 0 means 20, negative disables prefetch.
	Prefetch int
	// SyncPage is the number of events asked per sync page (default 200).
	SyncPage int
	// MinBackoff and MaxBackoff bound the reconnect delay (defaults 500 ms
	// and 30 s); each failed attempt doubles it, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the client's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock that stamps what the client creates (messages,
	// receipts, delivered and seen marks). Default time.Now. Network
	// deadlines and Trace times always use the real clock.
	Now func() time.Time
	// Trace, if set, is called with the time a packet of message passed a
	// stage of the live path: TracePushed (VoiceSend.Push stored it),
	// TraceSent (handed to the connection's writer), TraceReceived (read
	// off the connection). It runs on the engine's goroutines and must
	// not block.
	Trace func(stage, message string, seq uint32, at time.Time)
}

// Stages passed to Config.Trace.
const (
	TracePushed   = "pushed"
	TraceSent     = "sent"
	TraceReceived = "received"
)

func (c *Client) trace(stage, message string, seq uint32, at time.Time) {
	if c.cfg.Trace != nil {
		c.cfg.Trace(stage, message, seq, at)
	}
}

// Timings of the connection.
const (
	handshakeTimeout = 10 * time.Second
	writeWait        = 10 * time.Second
	// readWait is how long the connection may stay silent: the server pings
	// every 30 s, and two missed pings mean it is gone.
	readWait     = 75 * time.Second
	sendQueueLen = 256
	// livePushQueue bounds server pushes waiting to be applied; beyond it
	// the client resyncs from its cursor instead.
	eventQueueLen = 1024
	incomingLen   = 16
	// defaultSyncPage is the events asked per sync page: small enough that
	// a page of long texts stays a reasonable frame.
	defaultSyncPage = 200
)

// Client is the sync engine of one account on one server. New opens the
// store (usable at once, offline); Run keeps a connection; Close stops
// everything. All methods are safe for concurrent use.
type Client struct {
	cfg   Config
	log   *slog.Logger
	store *Store

	hints    *hintQueue
	incoming chan Incoming

	ctx    context.Context // the client's life, ended by Close
	cancel context.CancelFunc
	wg     gosync.WaitGroup

	outboxWake  chan struct{} // something was queued or acked
	receiptWake chan struct{}
	redial      chan struct{} // SetURL: reconnect now

	watch watchers

	mu        gosync.Mutex
	url       string
	sess      *session
	running   bool
	signedOut bool
	state     ConnState
	stateErr  error
	fetching  map[string]bool      // messages with a fetch in flight
	fetchErr  map[string]error     // final fetch failures, reported once to a source
	announced map[string]bool      // live messages already handed to Incoming
	feeds     map[string]*liveFeed // open Incoming sources' in-memory feeds
	closeOnce gosync.Once
}

// New opens the client's store and starts its hint queue. It does not
// connect: call Run.
func New(cfg Config) (*Client, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = 20
	}
	if cfg.SyncPage <= 0 {
		cfg.SyncPage = defaultSyncPage
	}
	if cfg.DeviceName == "" {
		cfg.DeviceName = "desktop"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wsURL, err := normalizeURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	path := cfg.StorePath
	if path == "" {
		if cfg.DataDir == "" || cfg.Username == "" {
			return nil, errors.New("sync: Config needs StorePath, or DataDir and Username")
		}
		u, _ := url.Parse(wsURL)
		path = StorePath(cfg.DataDir, u.Host, cfg.Username)
	}
	store, err := OpenStore(path)
	if err != nil {
		return nil, err
	}
	if cfg.Pins == nil {
		cfg.Pins = store
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg: cfg, log: log, store: store,
		hints:       newHintQueue(),
		incoming:    make(chan Incoming, incomingLen),
		ctx:         ctx,
		cancel:      cancel,
		outboxWake:  make(chan struct{}, 1),
		receiptWake: make(chan struct{}, 1),
		redial:      make(chan struct{}, 1),
		url:         wsURL,
		fetching:    map[string]bool{},
		fetchErr:    map[string]error{},
		announced:   map[string]bool{},
		feeds:       map[string]*liveFeed{},
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.hints.run(ctx)
	}()
	return c, nil
}

func normalizeURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if !strings.Contains(s, "://") {
		s = "wss://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("server address %q: %w", s, err)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "wss":
	case "ws", "http":
		return "", fmt.Errorf("server address %q: %w", s, ErrInsecure)
	default:
		return "", fmt.Errorf("server address %q: scheme %q", s, u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/ws"
	}
	return u.String(), nil
}

// Store returns the client's store, for the UI's reads.
func (c *Client) Store() *Store { return c.store }

// Hints returns the channel of change hints. It is closed by Close. A UI
// that reads slowly gets coalesced hints; the engine never waits for it.
func (c *Client) Hints() <-chan Hint { return c.hints.out }

// Incoming delivers voice messages from others as they start arriving
// live, each with a packet source that gets the live packets from memory
// as they are read off the connection (before the store write). The
// reader must take them at once (the app's live router does) and Close
// the sources it does not play; if 16 wait unread, further ones are
// dropped (the message is still in the store and OpenMessage plays it).
func (c *Client) Incoming() <-chan Incoming { return c.incoming }

// State returns the connection state and the last connection error.
func (c *Client) State() (ConnState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.stateErr
}

func (c *Client) setState(s ConnState, err error) {
	c.mu.Lock()
	changed := c.state != s || !errors.Is(err, c.stateErr)
	c.state, c.stateErr = s, err
	c.mu.Unlock()
	if changed {
		c.hints.post(ConnectionChanged{State: s, Err: err})
	}
}

// SetURL changes the server address; a running client reconnects to it
// at once. The store stays the same (it belongs to the account).
func (c *Client) SetURL(addr string) error {
	u, err := normalizeURL(addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.url = u
	sess := c.sess
	c.mu.Unlock()
	if sess != nil {
		sess.stop(fmt.Errorf("%w: server address changed", ErrServerUnreachable))
	}
	select {
	case c.redial <- struct{}{}:
	default:
	}
	return nil
}

// Close stops Run, waits for every goroutine, closes the hint channel and
// the store. It is idempotent.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.cancel()
		c.wg.Wait()
		err = c.store.Close()
	})
	return err
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run connects and keeps the connection until ctx ends, Close is called
// or a final error (wrong password, revoked device, protocol mismatch,
// sign-out) stops it; it returns that error, or nil. Between attempts it
// waits with capped exponential backoff and jitter. Only one Run may be
// active.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("sync: Run already active")
	}
	c.running = true
	c.signedOut = false
	c.mu.Unlock()
	c.wg.Add(1)
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()

	attempt := 0
	for {
		c.setState(StateConnecting, nil)
		synced, err := c.runSession(ctx)
		if ctx.Err() != nil {
			c.setState(StateStopped, nil)
			return nil
		}
		if synced {
			attempt = 0
		}
		c.mu.Lock()
		signedOut := c.signedOut
		c.mu.Unlock()
		if signedOut {
			err = ErrSignedOut
		}
		if errors.Is(err, ErrRevoked) {
			if terr := c.store.SetToken(context.Background(), ""); terr != nil {
				c.log.Warn("forget revoked token", "err", terr)
			}
		}
		if stopsRun(err) {
			c.log.Warn("sync stopped", "err", err)
			c.setState(StateStopped, err)
			return err
		}
		if Retryable(err) {
			c.log.Info("disconnected", "err", err)
		} else {
			// Not a known final error (a local disk error, a request the
			// server refused): keep the engine alive and try again after
			// the backoff rather than stop syncing until a restart.
			c.log.Warn("session failed; retrying", "err", err)
		}
		c.setState(StateOffline, err)
		delay := backoff(c.cfg.MinBackoff, c.cfg.MaxBackoff, attempt)
		attempt++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			c.setState(StateStopped, nil)
			return nil
		case <-c.redial:
			t.Stop()
			attempt = 0
		case <-t.C:
		}
	}
}

// backoff returns the delay before attempt n (from 0): min·2ⁿ capped at
// max, of which the upper half is random ("equal jitter").
func backoff(min, max time.Duration, n int) time.Duration {
	d := max
	if n < 30 {
		if x := min << n; x > 0 && x < max {
			d = x
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}

// watchers lets packet sources wait for changes of one message.
type watchers struct {
	mu gosync.Mutex
	m  map[string]chan struct{}
}

// wait returns a channel closed at the next notify of message.
func (w *watchers) wait(message string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]chan struct{}{}
	}
	ch, ok := w.m[message]
	if !ok {
		ch = make(chan struct{})
		w.m[message] = ch
	}
	return ch
}

// waiting reports whether a source waits for message to change.
func (w *watchers) waiting(message string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.m[message]
	return ok
}

func (w *watchers) notify(message string) {
	w.mu.Lock()
	ch, ok := w.m[message]
	delete(w.m, message)
	w.mu.Unlock()
	if ok {
		close(ch)
	}
}

func (w *watchers) notifyAll() {
	w.mu.Lock()
	m := w.m
	w.m = nil
	w.mu.Unlock()
	for _, ch := range m {
		close(ch)
	}
}

// session returns the current signed-in session, or nil.
func (c *Client) session() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// Incoming is a voice message from another user starting to arrive live.
// Arrived is when its voice.live announcement was read.
type Incoming struct {
	Message Message
	Source  *PacketSource
	Arrived time.Time
}

// PacketSource yields a voice message's packets in order: cached ones at
// once, then those still arriving (live or fetched), then io.EOF when the
// message is complete. It is not safe for concurrent calls, except Close.
// A live source (from Incoming) takes live packets from memory; once one
// has been read it skips over a gap in the live stream instead of waiting
// for the missing packet (the jitter buffer conceals it).
type PacketSource struct {
	c       *Client
	message string
	next    uint32
	feed    *liveFeed // live sources only
	fed     bool      // a packet came from the feed
}

// Close releases a live source's in-memory feed. Next still works (from
// the store). Idempotent; safe to call concurrently with Next.
func (p *PacketSource) Close() {
	if p.feed != nil {
		p.c.dropFeed(p.message, p.feed)
	}
}

// OpenMessage returns a source of a voice message's packets from packet
// from on. Packets not cached are fetched from the server (with the live
// tail while the message is still recording); while offline the source
// waits for the connection.
func (c *Client) OpenMessage(ctx context.Context, id string, from uint32) (*PacketSource, error) {
	m, err := c.store.Message(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Kind != wire.KindVoice {
		return nil, fmt.Errorf("open message %s: not a voice message", id)
	}
	return &PacketSource{c: c, message: id, next: from}, nil
}

// Message returns the source's message id.
func (p *PacketSource) Message() string { return p.message }

// Next returns the next packet, blocking until it is available, the
// message ends (io.EOF), ctx ends or the client is closed (ErrClosed).
func (p *PacketSource) Next(ctx context.Context) (Packet, error) {
	c := p.c
	var fed <-chan struct{}
	if p.feed != nil {
		fed = p.feed.sig
	}
	for {
		if p.feed != nil {
			if pk, ok := p.feed.take(p.next, p.fed); ok {
				p.next, p.fed = pk.Seq+1, true
				return pk, nil
			}
			if p.fed && p.feed.isAttached() {
				// Between live packets: wait for the next one without
				// reading the store (voice.done or the session's end
				// detaches the feed and wakes us).
				select {
				case <-fed:
					continue
				case <-ctx.Done():
					return Packet{}, ctx.Err()
				case <-c.ctx.Done():
					return Packet{}, ErrClosed
				}
			}
		}
		// Waiting on the store (not on the feed) is what makes the cache
		// loop write this message's packets at once (watchers.waiting).
		changed := c.watch.wait(p.message)
		data, ok, err := c.store.packet(ctx, p.message, p.next)
		if err != nil {
			return Packet{}, err
		}
		if ok {
			pk := Packet{Seq: p.next, Data: data}
			if p.feed != nil {
				// It arrived while the store was read: the feed's copy
				// carries the arrival time.
				if fp, ok := p.feed.take(p.next, false); ok {
					pk = fp
				}
			}
			p.next++
			return pk, nil
		}
		m, err := c.store.Message(ctx, p.message)
		if err != nil {
			return Packet{}, err
		}
		if m.State == wire.StateCancelled { // withdrawn: nothing more to play
			return Packet{}, io.EOF
		}
		switch m.State {
		case wire.StateComplete, wire.StateAbandoned, StateFailed:
			if p.next >= m.Packets {
				return Packet{}, io.EOF
			}
		}
		if err := c.takeFetchErr(p.message); err != nil {
			return Packet{}, err
		}
		if !m.Pending {
			c.ensureFetch(p.message, p.next)
		}
		select {
		case <-changed:
		case <-fed:
		case <-ctx.Done():
			return Packet{}, ctx.Err()
		case <-c.ctx.Done():
			return Packet{}, ErrClosed
		}
	}
}

func (c *Client) takeFetchErr(message string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.fetchErr[message]
	delete(c.fetchErr, message)
	return err
}

// ensureFetch starts fetching a message from packet from unless a fetch
// is in flight or a live stream will bring that packet.
func (c *Client) ensureFetch(message string, from uint32) {
	c.mu.Lock()
	s := c.sess
	if s == nil || c.fetching[message] || s.liveCovers(message, from) {
		c.mu.Unlock()
		return
	}
	c.fetching[message] = true
	c.mu.Unlock()
	s.goFunc(func(ctx context.Context) error {
		err := s.fetch(ctx, message, from)
		c.mu.Lock()
		delete(c.fetching, message)
		var we *wire.Error
		if errors.As(err, &we) && !we.Code.Retry() {
			c.fetchErr[message] = err
		}
		c.mu.Unlock()
		c.watch.notify(message)
		if err != nil && ctx.Err() == nil {
			c.log.Debug("fetch failed", "message", message, "err", err)
		}
		return nil // a failed fetch does not end the session
	})
}
