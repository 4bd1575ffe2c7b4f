package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"parley/server/wire"
)

// writeWait bounds one write to a client; a client that does not take a
// frame in that time is closed as a slow consumer. It is the protocol's
// SlowConsumerAfter, so a reader is cut within that time whether its
// socket buffers are full (the write times out) or not (the lag probe
// goes unanswered).
const writeWait = wire.SlowConsumerAfter

// probeInterval is how often, at most, the writer measures how far behind
// the reader is while frames flow: it sends a ping (a lag probe) after
// the frames it wrote; the pong comes back only once the client has read
// everything before it. A probe unanswered for wire.SlowConsumerAfter
// closes the session with CloseSlowConsumer. An idle connection gets no
// probes (the keepalive covers it).
const probeInterval = time.Second

// outFrame is one queued WebSocket frame.
type outFrame struct {
	binary bool
	data   []byte
}

// session is one WebSocket connection of one device. readHello and then
// readLoop (on a goroutine the server owns) are the only reader and
// writeLoop the only writer;
// everything else queues frames with Deliver (never blocks; overflow closes
// the session as a slow consumer) or sendBulk (blocks, for history
// transfer, until the writer takes the frame).
type session struct {
	srv  *Server
	conn *websocket.Conn

	// queue holds the frames Deliver queued, oldest at queue[head]; it
	// grows with demand up to QueueFrames and is released when it drains,
	// so an idle connection holds no queue memory. wake tells the writer
	// that something was queued, a ping is due (pingDue) or the session
	// closed: one channel, so the writer's wait is cheap.
	qmu   gosync.Mutex
	queue []outFrame
	head  int
	wake  chan struct{}
	// pingDue is set by the keepalive timer; the writer sends the ping.
	pingDue atomic.Bool
	bulk    chan outFrame
	// probe is the number of the lag probe waiting for its pong, 0 if
	// none; set by the writer, cleared by the reader's pong handler.
	probe atomic.Uint64
	// lastRead is when the reader last got or finished a frame (unix
	// ns); handling is set while it handles one. Either means pongs may
	// wait behind the reader's own work.
	lastRead atomic.Int64
	handling atomic.Bool

	done      chan struct{} // closed by close
	closeOnce gosync.Once
	closeCode int
	closeText string

	ctx    context.Context // cancelled when the session ends
	cancel context.CancelFunc
	tasks  gosync.WaitGroup // fetch streams

	addr   string // the client's IP address, set before the hello
	connID string // unique in the cluster: node id and a sequence

	// Set once by the hello, read-only afterwards.
	user   wire.User
	device wire.Device

	control    *rate.Limiter
	packets    *rate.Limiter
	violations int // consecutive rate-limit errors; readLoop only

	mu      gosync.Mutex
	streams map[uint32]*liveMessage // client -> server voice streams
	nextIn  uint32

	// presence holds the presence not yet written, one entry per user (a
	// later change replaces an earlier one): the writer sends it in as
	// few frames as fit, after the queued frames. Nothing is written
	// before presenceReady, set when join has merged the snapshot, so the
	// first presence frame on a connection is the snapshot (wire.Presence).
	pmu           gosync.Mutex
	presence      map[string]wire.PresenceEntry
	presenceReady bool
}

func newSession(srv *Server, conn *websocket.Conn) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{
		srv:     srv,
		conn:    conn,
		wake:    make(chan struct{}, 1),
		bulk:    make(chan outFrame),
		done:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		control: rate.NewLimiter(rate.Limit(srv.cfg.ControlRate), srv.cfg.ControlBurst),
		packets: rate.NewLimiter(rate.Limit(srv.cfg.PacketRate), srv.cfg.PacketBurst),
		streams: make(map[uint32]*liveMessage),
		connID:  srv.nodeID + "/" + strconv.FormatUint(srv.connSeq.Add(1), 10),
	}
}

// Deliver queues a frame without blocking and
// closes the session as a slow consumer if the queue is full.
func (s *session) Deliver(binary bool, data []byte) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	if !s.push(outFrame{binary: binary, data: data}) {
		s.srv.metrics.queueDrops.Inc()
		s.srv.metrics.slowConsumers.WithLabelValues("queue").Inc()
		s.close(wire.CloseSlowConsumer, "outgoing queue overflowed")
		return false
	}
	s.signal()
	return true
}

// deliverPresence merges presence changes into what the writer will
// send; it never blocks. A user's change replaces one not yet sent.
func (s *session) deliverPresence(entries []wire.PresenceEntry) {
	s.pmu.Lock()
	if s.presence == nil {
		s.presence = make(map[string]wire.PresenceEntry, len(entries))
	}
	for _, e := range entries {
		s.presence[e.User] = e
	}
	ready := s.presenceReady
	s.pmu.Unlock()
	if ready {
		s.signal()
	}
}

// presenceSnapshot merges the snapshot join read and lets the writer send
// presence. A change delivered since the session joined is newer than
// the snapshot's entry for that user (presence is stored before it is
// published) and is kept.
func (s *session) presenceSnapshot(entries []wire.PresenceEntry) {
	s.pmu.Lock()
	if s.presence == nil {
		s.presence = make(map[string]wire.PresenceEntry, len(entries))
	}
	for _, e := range entries {
		if _, ok := s.presence[e.User]; !ok {
			s.presence[e.User] = e
		}
	}
	s.presenceReady = true
	s.pmu.Unlock()
	s.signal()
}

// takePresence returns the presence to write (ordered by user) and
// forgets it; nil before the snapshot or when nothing changed.
func (s *session) takePresence() []wire.PresenceEntry {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if !s.presenceReady || len(s.presence) == 0 {
		return nil
	}
	out := make([]wire.PresenceEntry, 0, len(s.presence))
	for _, e := range s.presence {
		out = append(out, e)
	}
	s.presence = nil
	slices.SortFunc(out, func(a, b wire.PresenceEntry) int { return strings.Compare(a.User, b.User) })
	return out
}

// presenceFrames encodes entries as presence frames of at most one page
// each (Page): one frame when they fit (the usual case, encoded once),
// else as many as it takes.
func presenceFrames(entries []wire.PresenceEntry) ([][]byte, error) {
	if b, err := wire.Marshal(wire.TypePresence, "", wire.Presence{Users: entries}); err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	} else if len(b) <= wire.MaxFrameBytes {
		return [][]byte{b}, nil
	}
	var frames [][]byte
	for from, more := 0, true; more; {
		var page []wire.PresenceEntry
		var err error
		if page, from, more, err = pageOf(entries, from); err != nil {
			return frames, fmt.Errorf("presence page: %w", err)
		}
		b, err := wire.Marshal(wire.TypePresence, "", wire.Presence{Users: page})
		if err != nil {
			return frames, fmt.Errorf("presence page: %w", err)
		}
		frames = append(frames, b)
	}
	return frames, nil
}

// signal wakes the writer without blocking.
func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// queueKeep is the queue capacity kept once it drains; a larger one (left
// by a burst) is released.
const queueKeep = 16

// push appends f to the queue unless it holds QueueFrames frames.
func (s *session) push(f outFrame) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if len(s.queue)-s.head >= s.srv.cfg.QueueFrames {
		return false
	}
	if s.head > 0 && len(s.queue) == cap(s.queue) {
		// Reuse the space before head instead of growing.
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	s.queue = append(s.queue, f)
	return true
}

// pop takes the oldest queued frame.
func (s *session) pop() (outFrame, bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.head == len(s.queue) {
		return outFrame{}, false
	}
	f := s.queue[s.head]
	s.queue[s.head] = outFrame{}
	s.head++
	if s.head == len(s.queue) {
		s.head = 0
		if cap(s.queue) > queueKeep {
			s.queue = nil
		} else {
			s.queue = s.queue[:0]
		}
	}
	return f, true
}

// sendBulk hands a frame to the writer, waiting until it takes it, so
// frames queued with Deliver afterwards are written after this one.
func (s *session) sendBulk(binary bool, data []byte) error {
	select {
	case s.bulk <- outFrame{binary: binary, data: data}:
		return nil
	case <-s.done:
		return errSessionClosed
	}
}

var errSessionClosed = errors.New("session closed")

// reply queues an answer envelope.
func (s *session) reply(typ, id string, payload any) {
	b, err := wire.Marshal(typ, id, payload)
	if err != nil {
		s.srv.log.Error("encode reply", "type", typ, "err", err)
		return
	}
	s.Deliver(false, b)
}

// replyError queues an error envelope answering id.
func (s *session) replyError(id string, e *wire.Error) {
	s.srv.metrics.errors.WithLabelValues(string(e.Code)).Inc()
	if e.Ref == "" {
		e.Ref = id
	}
	s.Deliver(false, wire.MarshalError(id, e))
}

// close ends the session with a WebSocket close code; the first call wins.
// It never blocks.
func (s *session) close(code int, text string) {
	s.closeOnce.Do(func() {
		s.closeCode, s.closeText = code, text
		close(s.done)
		s.cancel()
		s.signal()
	})
}

// closeLinger bounds the wait for the peer's answer to our close frame.
const closeLinger = time.Second

// linger reads and discards what the peer still sends until it answers
// our close frame, hangs up, or closeLinger passes, so that our close
// frame is read before the connection is torn down. Only called once
// readLoop has returned (one reader at a time).
func (s *session) linger() {
	s.conn.SetReadDeadline(time.Now().Add(closeLinger))
	for {
		if _, _, err := s.conn.ReadMessage(); err != nil {
			return
		}
	}
}

// writeLoop is the connection's only writer. It ends when the session is
// closed, after flushing what was queued (unless the client is too slow to
// take it) and writing the close frame. The owner closes the connection.
func (s *session) writeLoop() {
	// The keepalive timer only raises pingDue and wakes the writer, which
	// sends the ping and re-arms it. Stopped before writeLoop returns, so
	// it never outlives the session.
	ping := time.AfterFunc(s.srv.cfg.PingInterval, func() {
		s.pingDue.Store(true)
		s.signal()
	})
	defer ping.Stop()
	// The lag probe: probeWake wakes the writer when the next probe may go
	// or the outstanding one is due; the writer alone decides.
	probeWake := time.AfterFunc(time.Hour, s.signal)
	probeWake.Stop()
	defer probeWake.Stop()
	var probeSeq uint64
	var lastProbe time.Time
	wrote := false // frames written since the last probe
	write := func(f outFrame) bool {
		typ := websocket.TextMessage
		if f.binary {
			typ = websocket.BinaryMessage
		}
		s.conn.SetWriteDeadline(time.Now().Add(writeWait))
		if err := s.conn.WriteMessage(typ, f.data); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.srv.metrics.slowConsumers.WithLabelValues("write").Inc()
				s.close(wire.CloseSlowConsumer, "client took no data for "+writeWait.String())
			} else {
				s.close(wire.CloseGoingAway, "write failed")
			}
			return false
		}
		wrote = true
		if f.binary {
			s.srv.metrics.packetsOut.Inc()
		}
		return true
	}
	// probe judges the outstanding lag probe, or sends one if frames were
	// written since the last one and probeInterval has passed; it arranges
	// to be woken when there is something to do. An unanswered probe
	// closes the session once it is SlowConsumerAfter old, unless the
	// reader is still busy with frames the client sent (the pong may wait
	// behind them, and then the lag is ours): such a client is given up
	// to the keepalive.
	probe := func() bool {
		if s.probe.Load() != 0 {
			age := time.Since(lastProbe)
			if age >= wire.SlowConsumerAfter {
				busy := s.handling.Load() || time.Since(time.Unix(0, s.lastRead.Load())) < probeInterval
				if !busy || age >= s.keepalive() {
					s.srv.log.Warn("closing a slow consumer", "user", s.user.Name, "device", s.device.ID, "behind", age, "busy", busy)
					s.srv.metrics.slowConsumers.WithLabelValues("lag").Inc()
					s.close(wire.CloseSlowConsumer, "client more than "+wire.SlowConsumerAfter.String()+" behind")
					return true
				}
				probeWake.Reset(probeInterval)
				return true
			}
			probeWake.Reset(wire.SlowConsumerAfter - age)
			return true
		}
		if !wrote {
			return true
		}
		if wait := probeInterval - time.Since(lastProbe); wait > 0 {
			probeWake.Reset(wait)
			return true
		}
		probeSeq++
		s.probe.Store(probeSeq)
		if err := s.conn.WriteControl(websocket.PingMessage, probePayload(probeSeq), time.Now().Add(writeWait)); err != nil {
			s.close(wire.CloseGoingAway, "ping failed")
			return false
		}
		wrote, lastProbe = false, time.Now()
		probeWake.Reset(wire.SlowConsumerAfter)
		return true
	}
	for {
		if s.isClosed() {
			if s.closeCode != wire.CloseSlowConsumer { // a slow consumer would not take it
				s.flush(write)
			}
			msg := websocket.FormatCloseMessage(s.closeCode, s.closeText)
			s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			// The closing handshake: give the peer a moment to answer
			// (the reader sees its close frame), then the reader ends.
			s.conn.SetReadDeadline(time.Now().Add(closeLinger))
			return
		}
		// Write what is queued, then the presence merged meanwhile; stop
		// early if the session closes.
		for f, ok := s.pop(); ok; f, ok = s.pop() {
			if !write(f) {
				return
			}
			if s.isClosed() {
				break
			}
		}
		if entries := s.takePresence(); entries != nil && !s.isClosed() {
			frames, err := presenceFrames(entries)
			if err != nil {
				s.srv.log.Error("presence", "user", s.user.ID, "err", err)
			}
			for _, b := range frames {
				if !write(outFrame{data: b}) {
					return
				}
			}
		}
		if !probe() {
			return
		}
		if s.pingDue.Swap(false) {
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				s.close(wire.CloseGoingAway, "ping failed")
				return
			}
			ping.Reset(s.srv.cfg.PingInterval)
		}
		select {
		case <-s.wake:
		case f := <-s.bulk:
			if !write(f) {
				return
			}
		}
	}
}

// flush writes what is already queued, without waiting for more.
func (s *session) flush(write func(outFrame) bool) {
	for f, ok := s.pop(); ok; f, ok = s.pop() {
		if !write(f) {
			return
		}
	}
}

func (s *session) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// readHello is the first part of the connection's reading: it waits for
// the hello and answers it. It returns whether the session is signed in;
// readLoop then reads the rest. serveWS runs it on the HTTP handler's
// goroutine, whose stack grows deep in authentication, so that the
// long-lived reader starts on a fresh, small stack.
func (s *session) readHello() bool {
	s.conn.SetReadLimit(wire.MaxFrameBytes)
	s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.HelloTimeout))
	// The pong handler runs inside ReadMessage, on the reading goroutine.
	// Before the hello a pong does not extend the hello deadline.
	s.conn.SetPongHandler(func(data string) error {
		s.probeAnswered(data)
		return nil
	})
	typ, data, err := s.conn.ReadMessage()
	if err != nil {
		s.closeForReadError(err, false)
		return false
	}
	if typ != websocket.TextMessage {
		s.replyError("", wire.Errorf(wire.CodeAuthRequired, "send hello first"))
		s.close(wire.CloseProtocolError, "hello expected")
		return false
	}
	// The hello signs in and joins (presence, the snapshot, live
	// messages to listen to): while it runs nothing reads the client's
	// pongs, so the lag probe must not blame the client for it.
	s.handling.Store(true)
	ok := s.hello(data)
	s.handling.Store(false)
	s.lastRead.Store(time.Now().UnixNano())
	if !ok {
		return false
	}
	s.conn.SetReadDeadline(time.Now().Add(s.keepalive()))
	return true
}

// keepalive is how long a signed-in connection may stay silent (pongs
// count) before it is closed: two missed pongs and a half.
func (s *session) keepalive() time.Duration {
	return 2*s.srv.cfg.PingInterval + s.srv.cfg.PingInterval/2
}

// readLoop is the connection's only reader once readHello has signed it
// in. It returns when the connection fails or the session is closed.
func (s *session) readLoop() {
	keepalive := s.keepalive()
	s.conn.SetPongHandler(func(data string) error {
		s.probeAnswered(data)
		s.conn.SetReadDeadline(time.Now().Add(keepalive))
		return nil
	})
	for {
		typ, data, err := s.conn.ReadMessage()
		if err != nil {
			s.closeForReadError(err, true)
			return
		}
		s.lastRead.Store(time.Now().UnixNano())
		s.handling.Store(true)
		s.conn.SetReadDeadline(time.Now().Add(keepalive))
		if typ == websocket.BinaryMessage {
			s.handleBinary(data)
		} else {
			s.handleText(data)
		}
		s.handling.Store(false)
		s.lastRead.Store(time.Now().UnixNano())
		select {
		case <-s.done:
			return
		default:
		}
	}
}

// probePayload is the ping payload of lag probe seq.
func probePayload(seq uint64) []byte {
	return strconv.AppendUint([]byte("lag:"), seq, 10)
}

// probeAnswered clears the outstanding lag probe if data is its pong.
// Called on the reading goroutine.
func (s *session) probeAnswered(data string) {
	seq := s.probe.Load()
	if seq != 0 && data == string(probePayload(seq)) {
		s.probe.CompareAndSwap(seq, 0)
	}
}

func (s *session) closeForReadError(err error, authed bool) {
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		s.close(wire.CloseTooLarge, "frame too large")
	case errors.As(err, &ne) && ne.Timeout():
		if authed {
			s.close(wire.ClosePongTimeout, "keepalive timed out")
		} else {
			s.close(wire.CloseHelloTimeout, "no hello")
		}
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway):
		s.close(wire.CloseNormal, "")
	default:
		s.close(wire.CloseGoingAway, "read failed")
	}
}

// allow applies a rate limiter; after MaxViolations refusals in a row the
// session is closed.
func (s *session) allow(l *rate.Limiter, ref string) bool {
	if l.Allow() {
		s.violations = 0
		return true
	}
	s.violations++
	if s.violations >= s.srv.cfg.MaxViolations {
		s.close(wire.CloseRateLimited, "rate limit exceeded")
		return false
	}
	s.replyError(ref, wire.Errorf(wire.CodeRateLimited, "slow down"))
	return false
}

func (s *session) handleText(data []byte) {
	env, err := wire.DecodeEnvelope(data)
	if err != nil {
		s.replyError("", asWireError(err))
		return
	}
	if !s.allow(s.control, env.ID) {
		return
	}
	h, ok := handlers[env.Type]
	if !ok {
		s.replyError(env.ID, wire.Errorf(wire.CodeUnknownType, "unknown type %q", truncate(env.Type)))
		return
	}
	if err := h(s, env); err != nil {
		we := asWireError(err)
		if we.Code == wire.CodeInternal {
			s.srv.log.Error("request failed", "type", env.Type, "user", s.user.Name, "err", err)
			we = wire.Errorf(wire.CodeInternal, "server error")
		}
		s.replyError(env.ID, we)
	}
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32]
	}
	return s
}

// asWireError turns any error into a typed one; untyped errors are
// internal.
func asWireError(err error) *wire.Error {
	var we *wire.Error
	if errors.As(err, &we) {
		return we
	}
	return &wire.Error{Code: wire.CodeInternal, Message: err.Error()}
}

func (s *session) handleBinary(data []byte) {
	f, err := wire.DecodeFrame(data)
	if err != nil {
		s.replyError("", asWireError(err))
		return
	}
	if !s.allow(s.packets, "") {
		return
	}
	ref := streamRef(f.Stream)
	if f.Kind != wire.FramePacket {
		s.replyError(ref, wire.Errorf(wire.CodeBadRequest, "clients send single packets"))
		return
	}
	s.mu.Lock()
	m := s.streams[f.Stream]
	s.mu.Unlock()
	if m == nil {
		s.replyError(ref, wire.Errorf(wire.CodeStreamUnknown, "stream %d is not yours or has ended", f.Stream))
		return
	}
	if f.First >= wire.MaxMessagePackets {
		s.replyError(ref, wire.Errorf(wire.CodeTooLarge, "packet %d beyond the longest message", f.First))
		return
	}
	s.srv.metrics.packetsIn.Inc()
	if err := m.push(s, f.First, f.Packets[0]); err != nil {
		s.replyError(ref, asWireError(err))
	}
}

func streamRef(id uint32) string { return "stream:" + uitoa(id) }

func uitoa(v uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// addStream maps a new client stream id to m.
func (s *session) addStream(m *liveMessage) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.streams {
		if old == m {
			delete(s.streams, id)
		}
	}
	s.nextIn++
	s.streams[s.nextIn] = m
	return s.nextIn
}

// dropStreams forgets the client streams of m (it has ended).
func (s *session) dropStreams(m *liveMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.streams {
		if old == m {
			delete(s.streams, id)
		}
	}
}
