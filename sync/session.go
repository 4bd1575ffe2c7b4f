package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"parley/server/wire"
)

// session is one signed-in WebSocket connection. readLoop is its only
// reader and writeLoop its only writer (fed by out); cacheLoop writes the
// packets readLoop receives to the store in batches and ends after it;
// applyLoop syncs history and applies pushed events in cursor order; the outbox, receipt
// and prefetch loops start once the first sync is done. Every goroutine
// is tracked by wg and ends with ctx.
type session struct {
	c       *Client
	conn    *websocket.Conn
	welcome wire.Welcome

	ctx    context.Context
	cancel context.CancelCauseFunc
	out    chan outFrame
	events chan wire.Event
	// overflow is set when a pushed event was dropped because events was
	// full; applyLoop then syncs from its cursor again.
	overflow atomic.Bool
	prefetch chan struct{}
	cache    chan cacheItem // readLoop -> cacheLoop (packetcache.go)

	mu        gosync.Mutex
	closed    bool
	wg        gosync.WaitGroup
	nextID    uint64
	pending   map[string]chan wire.Envelope
	fetchDone map[string]chan struct{} // audio.fetch request id -> done
	streams   map[uint32]*inStream

	synced       atomic.Bool // the first sync finished
	presenceSeen bool        // readLoop only
	cursor       int64       // applyLoop only
}

// inStream is an incoming stream (voice.live or audio.fetch).
type inStream struct {
	message      string
	conversation string
	live         bool
	first        int64         // first packet number seen, -1 before any
	done         chan struct{} // fetch: closed at voice.done
	feed         *liveFeed     // live: the Incoming source's feed, if open
}

type outFrame struct {
	binary bool
	data   []byte
}

// runSession dials, signs in and serves one connection until it fails or
// ctx ends. synced reports whether it got as far as a finished sync (the
// reconnect backoff starts over only then).
func (c *Client) runSession(ctx context.Context) (synced bool, err error) {
	c.mu.Lock()
	wsURL := c.url
	c.mu.Unlock()
	if wsURL == "" {
		return false, fmt.Errorf("%w: no server address", ErrServerUnreachable)
	}
	conn, welcome, err := c.connect(ctx, wsURL)
	if err != nil {
		return false, err
	}
	epochChanged, err := c.store.applyWelcome(ctx, welcome)
	if err != nil {
		conn.Close()
		return false, fmt.Errorf("%w: %v", ErrServerUnreachable, err)
	}
	if epochChanged {
		c.log.Warn("server database was replaced: resyncing and resending the outbox", "epoch", welcome.Epoch)
		c.hints.post(ConversationsChanged{})
	}
	sctx, cancel := context.WithCancelCause(ctx)
	s := &session{
		c: c, conn: conn, welcome: welcome,
		ctx: sctx, cancel: cancel,
		out:       make(chan outFrame, sendQueueLen),
		events:    make(chan wire.Event, eventQueueLen),
		prefetch:  make(chan struct{}, 1),
		cache:     make(chan cacheItem, cacheQueueLen),
		pending:   map[string]chan wire.Envelope{},
		fetchDone: map[string]chan struct{}{},
		streams:   map[uint32]*inStream{},
	}
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	c.log.Info("connected", "server", welcome.ServerName, "user", welcome.User.Name, "device", welcome.Device.ID)
	c.setState(StateSyncing, nil)
	c.watch.notifyAll() // waiting sources may fetch now

	s.goFunc(s.writeLoop)
	s.goFunc(s.cacheLoop)
	s.goFunc(s.readLoop)
	s.goFunc(s.applyLoop)
	<-sctx.Done()

	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	for _, st := range s.streams { // readLoop has ended: no lock needed
		if st.feed != nil {
			st.feed.setAttached(false) // sources read the store, fetch, wait
		}
	}
	c.mu.Lock()
	c.sess = nil
	c.fetching = map[string]bool{}
	c.mu.Unlock()
	c.watch.notifyAll()
	if err := c.store.clearPresence(context.Background()); err == nil {
		c.hints.post(PresenceChanged{})
	}
	return s.synced.Load(), context.Cause(sctx)
}

// goFunc runs fn on a goroutine owned by the session; an error from fn
// ends the session.
func (s *session) goFunc(fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := fn(s.ctx); err != nil {
			s.stop(err)
		}
	}()
}

// stop ends the session with cause err.
func (s *session) stop(err error) { s.cancel(err) }

// connect dials and signs in: with the stored token if there is one,
// else (or if it stopped working) with the password, registering the
// account first when Config.Register is set.
func (c *Client) connect(ctx context.Context, wsURL string) (*websocket.Conn, wire.Welcome, error) {
	token, err := c.store.Token(ctx)
	if err != nil {
		return nil, wire.Welcome{}, err
	}
	if token != "" {
		conn, w, err := c.hello(ctx, wsURL, wire.Auth{Mode: wire.AuthToken, Token: token})
		if err == nil || !errors.Is(err, ErrTokenInvalid) {
			return conn, w, err
		}
		c.log.Info("stored token no longer valid")
		if err := c.store.SetToken(ctx, ""); err != nil {
			return nil, wire.Welcome{}, err
		}
		if c.cfg.Password == "" {
			return nil, wire.Welcome{}, err
		}
	}
	if c.cfg.Username == "" || c.cfg.Password == "" {
		return nil, wire.Welcome{}, ErrNoCredentials
	}
	auth := wire.Auth{Mode: wire.AuthLogin, Username: c.cfg.Username, Password: c.cfg.Password, Device: c.cfg.DeviceName}
	if c.cfg.Register {
		// The server's own rules, checked before anything is sent.
		if err := wire.CheckName("username", auth.Username); err != nil {
			return nil, wire.Welcome{}, authError(err.(*wire.Error))
		}
		if err := wire.CheckPassword(auth.Username, auth.Password); err != nil {
			return nil, wire.Welcome{}, authError(err.(*wire.Error))
		}
		reg := auth
		reg.Mode = wire.AuthRegister
		conn, w, err := c.hello(ctx, wsURL, reg)
		if err == nil || !errors.Is(err, ErrUsernameTaken) {
			return conn, w, err
		}
	}
	return c.hello(ctx, wsURL, auth)
}

// hello dials and sends one hello; it returns the connection only with a
// welcome.
func (c *Client) hello(ctx context.Context, wsURL string, auth wire.Auth) (*websocket.Conn, wire.Welcome, error) {
	addr, err := PinAddress(wsURL)
	if err != nil {
		return nil, wire.Welcome{}, err
	}
	// The pin is checked inside the TLS handshake: a changed certificate
	// fails the dial before the upgrade request, so neither the hello nor
	// the password below is ever written to that server.
	dialer := websocket.Dialer{HandshakeTimeout: handshakeTimeout, Proxy: nil,
		TLSClientConfig: TLSConfig(c.cfg.Pins, addr, c.log)}
	dctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	conn, _, err := dialer.DialContext(dctx, wsURL, nil)
	if err != nil {
		var fe *FingerprintError
		if errors.As(err, &fe) {
			return nil, wire.Welcome{}, fmt.Errorf("dial %s: %w", wsURL, fe)
		}
		return nil, wire.Welcome{}, fmt.Errorf("%w: dial %s: %v", ErrServerUnreachable, wsURL, err)
	}
	// Every server frame fits in wire.MaxFrameBytes (lists are paged by
	// size, membership changes are deltas).
	conn.SetReadLimit(wire.MaxFrameBytes)
	fail := func(err error) (*websocket.Conn, wire.Welcome, error) {
		conn.Close()
		return nil, wire.Welcome{}, err
	}
	b, err := wire.Marshal(wire.TypeHello, "hello", wire.Hello{Protocol: wire.ProtocolVersion, Auth: auth})
	if err != nil {
		return fail(err)
	}
	conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fail(fmt.Errorf("%w: send hello: %v", ErrServerUnreachable, err))
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	conn.SetReadDeadline(time.Now().Add(handshakeTimeout))
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return fail(readError("hello", err))
		}
		if typ != websocket.TextMessage {
			continue
		}
		env, err := wire.DecodeEnvelope(data)
		if err != nil {
			return fail(fmt.Errorf("%w: hello answer: %v", ErrProtocolMismatch, err))
		}
		switch env.Type {
		case wire.TypeWelcome:
			w, err := wire.Decode[wire.Welcome](env)
			if err != nil {
				return fail(fmt.Errorf("%w: welcome: %v", ErrProtocolMismatch, err))
			}
			if w.Protocol != 0 && w.Protocol != wire.ProtocolVersion {
				return fail(fmt.Errorf("%w: server speaks %d", ErrProtocolMismatch, w.Protocol))
			}
			conn.SetReadDeadline(time.Time{})
			return conn, w, nil
		case wire.TypeError:
			e, err := wire.Decode[wire.Error](env)
			if err != nil {
				return fail(fmt.Errorf("%w: hello error: %v", ErrProtocolMismatch, err))
			}
			return fail(authError(&e))
		}
		// Anything else before the welcome is ignored.
	}
}

// readError classifies a read failure.
func readError(op string, err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if !wire.CloseRetry(ce.Code) {
			return fmt.Errorf("%s: %w", op, closeError(ce.Code, ce.Text))
		}
		return fmt.Errorf("%w: %s: closed %d %s", ErrServerUnreachable, op, ce.Code, ce.Text)
	}
	return fmt.Errorf("%w: %s: %v", ErrServerUnreachable, op, err)
}

func (s *session) writeLoop(ctx context.Context) error {
	defer s.conn.Close() // unblocks readLoop
	for {
		select {
		case f := <-s.out:
			typ := websocket.TextMessage
			if f.binary {
				typ = websocket.BinaryMessage
			}
			s.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := s.conn.WriteMessage(typ, f.data); err != nil {
				return fmt.Errorf("%w: write: %v", ErrServerUnreachable, err)
			}
		case <-ctx.Done():
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return nil
		}
	}
}

// send queues a frame for writeLoop.
func (s *session) send(ctx context.Context, f outFrame) error {
	select {
	case s.out <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return fmt.Errorf("%w: %v", ErrServerUnreachable, context.Cause(s.ctx))
	}
}

func (s *session) newID() string {
	s.nextID++
	return "r" + strconv.FormatUint(s.nextID, 10)
}

// request sends a request and waits for its answer. An error answer is
// returned as *RequestError.
func (s *session) request(ctx context.Context, typ string, payload any) (wire.Envelope, error) {
	return s.requestWith(ctx, typ, payload, nil)
}

// requestWith is request; a non-nil fetchDone registers an audio.fetch.
func (s *session) requestWith(ctx context.Context, typ string, payload any, fetchDone chan struct{}) (wire.Envelope, error) {
	ch := make(chan wire.Envelope, 1)
	s.mu.Lock()
	id := s.newID()
	s.pending[id] = ch
	if fetchDone != nil {
		s.fetchDone[id] = fetchDone
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		delete(s.fetchDone, id)
		s.mu.Unlock()
	}()
	b, err := wire.Marshal(typ, id, payload)
	if err != nil {
		return wire.Envelope{}, fmt.Errorf("%s: %w", typ, err)
	}
	if err := s.send(ctx, outFrame{data: b}); err != nil {
		return wire.Envelope{}, fmt.Errorf("%s: %w", typ, err)
	}
	select {
	case env := <-ch:
		if env.Type == wire.TypeError {
			e, err := wire.Decode[wire.Error](env)
			if err != nil {
				return env, fmt.Errorf("%s: %w", typ, err)
			}
			return env, &RequestError{Op: typ, Err: &e}
		}
		return env, nil
	case <-ctx.Done():
		return wire.Envelope{}, fmt.Errorf("%s: %w", typ, ctx.Err())
	case <-s.ctx.Done():
		return wire.Envelope{}, fmt.Errorf("%s: %w", typ, ErrServerUnreachable)
	}
}

// call sends a request and decodes its answer as T.
func call[T any](ctx context.Context, s *session, typ string, payload any) (T, error) {
	env, err := s.request(ctx, typ, payload)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := wire.Decode[T](env)
	if err != nil {
		return v, fmt.Errorf("%s answer %s: %w", typ, env.Type, err)
	}
	return v, nil
}

func (s *session) readLoop(ctx context.Context) error {
	defer close(s.cache) // cacheLoop writes what is left and ends
	s.conn.SetReadDeadline(time.Now().Add(readWait))
	s.conn.SetPingHandler(func(data string) error {
		s.conn.SetReadDeadline(time.Now().Add(readWait))
		err := s.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		var ne net.Error
		if err == websocket.ErrCloseSent || errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	for {
		typ, data, err := s.conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return readError("read", err)
		}
		s.conn.SetReadDeadline(time.Now().Add(readWait))
		switch typ {
		case websocket.TextMessage:
			err = s.handleText(ctx, data)
		case websocket.BinaryMessage:
			err = s.handleBinary(ctx, data, time.Now())
		}
		if err != nil {
			return err
		}
	}
}

func (s *session) handleText(ctx context.Context, data []byte) error {
	env, err := wire.DecodeEnvelope(data)
	if err != nil {
		s.c.log.Warn("bad frame from server", "err", err)
		return nil
	}
	if env.ID != "" {
		s.mu.Lock()
		ch, ok := s.pending[env.ID]
		done := s.fetchDone[env.ID]
		s.mu.Unlock()
		if ok {
			if env.Type == wire.TypeAudioStream && done != nil {
				// Register before the stream's frames, which follow.
				as, err := wire.Decode[wire.AudioStream](env)
				if err == nil {
					conv, _ := s.c.store.messageConversation(ctx, as.Message)
					s.mu.Lock()
					s.streams[as.Stream] = &inStream{message: as.Message, conversation: conv, first: -1, done: done}
					s.mu.Unlock()
				}
			}
			ch <- env // buffered, one answer per request
			return nil
		}
		if env.Type != wire.TypeVoiceAck {
			return nil // an answer nobody waits for any more
		}
	}
	switch env.Type {
	case wire.TypeEvent:
		ev, err := wire.Decode[wire.Event](env)
		if err != nil {
			return nil
		}
		select {
		case s.events <- ev:
		default:
			s.overflow.Store(true)
		}
	case wire.TypeVoiceLive:
		vl, err := wire.Decode[wire.VoiceLive](env)
		if err != nil {
			return nil
		}
		return s.handleLive(ctx, vl)
	case wire.TypeVoiceDone:
		vd, err := wire.Decode[wire.VoiceDone](env)
		if err != nil {
			return nil
		}
		return s.handleDone(ctx, vd)
	case wire.TypeVoiceAck:
		ack, err := wire.Decode[wire.VoiceAck](env)
		if err != nil {
			return nil
		}
		if err := s.c.store.ackVoice(ctx, ack.Message, ack.Upto); err != nil {
			return err
		}
		wake(s.c.outboxWake)
	case wire.TypePresence:
		p, err := wire.Decode[wire.Presence](env)
		if err != nil {
			return nil
		}
		if err := s.c.store.applyPresence(ctx, p, !s.presenceSeen); err != nil {
			return err
		}
		s.presenceSeen = true
		s.c.hints.post(PresenceChanged{})
	case wire.TypeError:
		e, _ := wire.Decode[wire.Error](env)
		s.c.log.Warn("server error", "code", e.Code, "message", e.Message, "ref", e.Ref)
		if e.Code == wire.CodeStreamUnknown || e.Code == wire.CodeMessageClosed {
			wake(s.c.outboxWake)
		}
	}
	return nil
}

func (s *session) handleLive(ctx context.Context, vl wire.VoiceLive) error {
	arrived := time.Now()
	c := s.c
	m := vl.Message
	if err := c.store.putMessage(ctx, m); err != nil {
		return err
	}
	st := &inStream{message: m.ID, conversation: m.Conversation, live: true, first: -1}
	s.mu.Lock()
	s.streams[vl.Stream] = st
	s.mu.Unlock()
	c.watch.notify(m.ID)
	c.hints.post(MessageLive{Conversation: m.Conversation, Message: m.ID})
	c.hints.post(ConversationChanged{Conversation: m.Conversation})
	c.hints.post(ConversationsChanged{})
	if m.Sender.ID == s.welcome.User.ID {
		return nil // our own voice, from another device
	}
	if err := s.announce(ctx, st, m.ID, arrived); err != nil {
		return err
	}
	if c.cfg.AutoDeliver {
		if err := c.store.queueDelivered(ctx, m.ID, s.welcome.User.ID, c.cfg.Now()); err != nil {
			return err
		}
		wake(c.receiptWake)
	}
	return nil
}

// announce hands a live message to Incoming with a source fed from
// memory, once per message (a reconnect's new stream feeds the source
// already handed out).
func (s *session) announce(ctx context.Context, st *inStream, message string, arrived time.Time) error {
	c := s.c
	c.mu.Lock()
	seen := c.announced[message]
	c.announced[message] = true
	feed := c.feeds[message] // a reconnect's stream feeds the open source
	if !seen {
		feed = newLiveFeed()
		c.feeds[message] = feed
	}
	c.mu.Unlock()
	s.mu.Lock()
	st.feed = feed
	s.mu.Unlock()
	if feed != nil {
		feed.setAttached(true)
	}
	if seen {
		return nil
	}
	msg, err := c.store.Message(ctx, message)
	if err != nil {
		c.dropFeed(message, feed)
		return err
	}
	select {
	case c.incoming <- Incoming{Message: msg, Source: &PacketSource{c: c, message: message, feed: feed}, Arrived: arrived}:
	default:
		c.dropFeed(message, feed)
		c.log.Warn("incoming voice dropped: nobody reads Incoming", "message", message)
	}
	return nil
}

func (s *session) handleDone(ctx context.Context, vd wire.VoiceDone) error {
	c := s.c
	s.mu.Lock()
	st := s.streams[vd.Stream]
	delete(s.streams, vd.Stream)
	s.mu.Unlock()
	// Every packet received before voice.done is in the store before the
	// message is marked finished, its feed closed or its fetch answered.
	if err := s.flushCache(ctx); err != nil {
		return err
	}
	conv, err := c.store.finishMessage(ctx, vd)
	if err != nil {
		return err
	}
	if st != nil && st.done != nil {
		close(st.done)
	}
	if conv != "" {
		c.mu.Lock()
		delete(c.announced, vd.Message)
		feed := c.feeds[vd.Message]
		delete(c.feeds, vd.Message)
		c.mu.Unlock()
		if feed != nil {
			// The source reads what is left from the store, where every
			// packet now is; the feed's queue goes.
			feed.close()
		}
		c.hints.post(MessageEnded{Conversation: conv, Message: vd.Message})
		c.hints.post(ConversationChanged{Conversation: conv})
	}
	c.watch.notify(vd.Message)
	return nil
}

func (s *session) handleBinary(ctx context.Context, data []byte, arrived time.Time) error {
	f, err := wire.DecodeFrame(data)
	if err != nil {
		s.c.log.Warn("bad binary frame from server", "err", err)
		return nil
	}
	s.mu.Lock()
	st := s.streams[f.Stream]
	if st != nil && st.first < 0 {
		st.first = int64(f.First)
	}
	var feed *liveFeed
	if st != nil {
		feed = st.feed
	}
	s.mu.Unlock()
	if st == nil {
		return nil // a stream that ended or that we never asked for
	}
	if st.live && s.c.cfg.Trace != nil {
		for i := range f.Packets {
			s.c.trace(TraceReceived, st.message, f.First+uint32(i), arrived)
		}
	}
	if feed != nil {
		// Live audio goes to the player from memory first; the cache write
		// below is off its path.
		feed.push(f.First, f.Packets, arrived)
	}
	// The cache loop writes them in batches and then wakes readers.
	return s.queueCache(ctx, cacheItem{message: st.message, conversation: st.conversation, first: f.First, packets: f.Packets})
}

// liveCovers reports whether a live stream of message is running that
// will bring packet from (it started at or before it).
func (s *session) liveCovers(message string, from uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.streams {
		if st.message == message && st.live && st.first <= int64(from) {
			return true
		}
	}
	return false
}

// fetch asks for a message's packets from packet from on and waits until
// its stream ends.
func (s *session) fetch(ctx context.Context, message string, from uint32) error {
	done := make(chan struct{})
	env, err := s.requestWith(ctx, wire.TypeAudioFetch, wire.AudioFetch{Message: message, From: from}, done)
	if err != nil {
		return err
	}
	if _, err := wire.Decode[wire.AudioStream](env); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// applyLoop syncs history from the stored cursor, then applies pushed
// events in order, syncing again if some were dropped.
func (s *session) applyLoop(ctx context.Context) error {
	if err := s.syncHistory(ctx); err != nil {
		return err
	}
	s.synced.Store(true)
	s.c.setState(StateOnline, nil)
	s.goFunc(s.outboxLoop)
	s.goFunc(s.receiptLoop)
	if s.c.cfg.Prefetch > 0 {
		s.goFunc(s.prefetchLoop)
	}
	for {
		select {
		case ev := <-s.events:
			batch := []wire.Event{ev}
		more:
			for len(batch) < 256 {
				select {
				case ev := <-s.events:
					batch = append(batch, ev)
				default:
					break more
				}
			}
			if err := s.applyPushed(ctx, batch); err != nil {
				return err
			}
			if s.overflow.Swap(false) {
				if err := s.syncHistory(ctx); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			return nil
		}
	}
}

func (s *session) applyPushed(ctx context.Context, batch []wire.Event) error {
	fresh := batch[:0:0]
	for _, ev := range batch {
		if ev.Cursor > s.cursor {
			fresh = append(fresh, ev)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	next := fresh[len(fresh)-1].Cursor
	ch, err := s.c.store.applyEvents(ctx, fresh, true, next, s.deliverAs())
	if err != nil {
		return err
	}
	s.cursor = next
	if err := s.fetchMembers(ctx, ch.joined); err != nil {
		return err
	}
	s.postChanges(ch)
	return nil
}

// deliverAs returns the user id to send automatic delivered receipts
// as, or "" when AutoDeliver is off.
func (s *session) deliverAs() string {
	if s.c.cfg.AutoDeliver {
		return s.welcome.User.ID
	}
	return ""
}

func (s *session) postChanges(ch changes) {
	c := s.c
	if ch.conversations {
		c.hints.post(ConversationsChanged{})
	}
	for conv := range ch.conversation {
		c.hints.post(ConversationChanged{Conversation: conv})
	}
	newVoice := false
	for _, m := range ch.messages {
		c.watch.notify(m.ID)
		if m.Kind == wire.KindVoice && m.State != wire.StateRecording && m.Sender.ID != s.welcome.User.ID {
			newVoice = true
		}
	}
	if newVoice {
		wake(s.prefetch)
	}
	if ch.delivered {
		wake(c.receiptWake)
	}
}

// fetchMembers reads the member lists of conversations this account was
// just added to, page by page (membership events carry only deltas), and
// stores them.
func (s *session) fetchMembers(ctx context.Context, conversations []string) error {
	for _, conv := range conversations {
		var all []wire.User
		for from, more := 0, true; more; {
			page, err := call[wire.Members](ctx, s, wire.TypeConversationMembers, wire.MemberList{Conversation: conv, From: from})
			if err != nil {
				return fmt.Errorf("members of %s: %w", conv, err)
			}
			all = append(all, page.Members...)
			if page.Next <= from && page.More {
				return fmt.Errorf("members of %s: page at %d does not advance", conv, from)
			}
			from, more = page.Next, page.More
		}
		if err := s.c.store.putMembers(ctx, conv, all); err != nil {
			return err
		}
	}
	return nil
}

// syncHistory asks for every event after the stored cursor, page by page.
func (s *session) syncHistory(ctx context.Context) error {
	c := s.c
	cursor, err := c.store.Cursor(ctx)
	if err != nil {
		return err
	}
	total := s.welcome.Cursor
	start := time.Now()
	pages := 0
	for {
		page, err := call[wire.SyncPage](ctx, s, wire.TypeSync, wire.Sync{Since: cursor, Limit: c.cfg.SyncPage})
		if err != nil {
			return err
		}
		pages++
		ch, err := c.store.applyEvents(ctx, page.Events, true, page.Next, s.deliverAs())
		if err != nil {
			return err
		}
		if err := s.fetchMembers(ctx, ch.joined); err != nil {
			return err
		}
		s.postChanges(ch)
		if page.Next > cursor {
			cursor = page.Next
		}
		if cursor > total {
			total = cursor
		}
		c.hints.post(SyncProgress{Cursor: cursor, Total: total, Done: !page.More})
		if !page.More {
			break
		}
	}
	s.cursor = cursor
	c.log.Debug("synced", "cursor", cursor, "pages", pages, "took", time.Since(start))
	return nil
}

var _ = json.Marshal
