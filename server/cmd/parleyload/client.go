package main

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"parley/server/wire"
)

// epoch is the tool's clock origin: send times embedded in packets are
// monotonic nanoseconds since epoch, so latency is measured on one clock.
var epoch = time.Now()

func nowNs() int64 { return int64(time.Since(epoch)) }

// packetBytes is the payload of every load packet, about a 24 kb/s Opus
// frame of 20 ms. Its first 8 bytes are the send time.
const packetBytes = 60

// frameInterval is the talkers' pace: one packet per 20 ms frame.
const frameInterval = wire.FrameDuration

// newDialer returns the dialer of every client connection to one server:
// for parleyd (wss://) it accepts only the certificate whose fingerprint
// parleyd logged, as a pinning client does; the baseline is plain ws://.
func newDialer(fp wire.Fingerprint) *websocket.Dialer {
	d := &websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	if !fp.IsZero() {
		d.TLSClientConfig = &tls.Config{
			InsecureSkipVerify: true, // self-signed: checked by fingerprint below
			MinVersion:         tls.VersionTLS13,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if got := wire.CertFingerprint(cs.PeerCertificates[0].Raw); got != fp {
					return fmt.Errorf("server certificate %s, parleyd logged %s", got, fp)
				}
				return nil
			},
		}
	}
	return d
}

// peer is one client WebSocket, to parleyd or to the baseline. Its read
// loop is the only reader; writes are serialized by wmu. Binary frames go
// to onBinary (on the read goroutine, with their arrival time), answers to
// the request waiting for their id, and other text frames to onText.
type peer struct {
	ws  *websocket.Conn
	wmu gosync.Mutex

	onBinary func(data []byte, at int64)
	onText   func(env wire.Envelope)

	mu      gosync.Mutex
	waiting map[string]chan wire.Envelope
	reqSeq  atomic.Int64

	done chan struct{} // closed when the read loop ends
	err  error         // why it ended, set before done closes

	// presenceFrames and presenceBytes count the presence frames the
	// server pushed on this connection (whole frames, envelope included).
	presenceFrames, presenceBytes atomic.Int64
}

func dialPeer(ctx context.Context, dialer *websocket.Dialer, url string) (*peer, error) {
	ws, _, err := dialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	ws.SetReadLimit(wire.MaxFrameBytes)
	return &peer{ws: ws, waiting: make(map[string]chan wire.Envelope), done: make(chan struct{})}, nil
}

// start runs the read loop. Set the handlers first.
func (p *peer) start() { go p.read() }

func (p *peer) read() {
	defer close(p.done)
	for {
		typ, data, err := p.ws.ReadMessage()
		at := nowNs()
		if err != nil {
			p.err = err
			return
		}
		if typ == websocket.BinaryMessage {
			if p.onBinary != nil {
				p.onBinary(data, at)
			}
			continue
		}
		env, err := wire.DecodeEnvelope(data)
		if err != nil {
			p.err = fmt.Errorf("bad frame from server: %w", err)
			p.ws.Close()
			return
		}
		if env.Type == wire.TypePresence {
			p.presenceFrames.Add(1)
			p.presenceBytes.Add(int64(len(data)))
		}
		if env.ID != "" {
			p.mu.Lock()
			ch := p.waiting[env.ID]
			delete(p.waiting, env.ID)
			p.mu.Unlock()
			if ch != nil {
				ch <- env
				continue
			}
		}
		if p.onText != nil {
			p.onText(env)
		}
	}
}

func (p *peer) write(typ int, data []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return p.ws.WriteMessage(typ, data)
}

// send writes an envelope without waiting for an answer.
func (p *peer) send(typ, id string, payload any) error {
	b, err := wire.Marshal(typ, id, payload)
	if err != nil {
		return err
	}
	return p.write(websocket.TextMessage, b)
}

// request sends an envelope and waits for its answer; an error envelope
// becomes an error.
func (p *peer) request(ctx context.Context, typ string, payload any) (wire.Envelope, error) {
	id := "q" + strconv.FormatInt(p.reqSeq.Add(1), 10)
	ch := make(chan wire.Envelope, 1)
	p.mu.Lock()
	p.waiting[id] = ch
	p.mu.Unlock()
	if err := p.send(typ, id, payload); err != nil {
		return wire.Envelope{}, fmt.Errorf("%s: %w", typ, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	select {
	case env := <-ch:
		if env.Type == wire.TypeError {
			var e wire.Error
			json.Unmarshal(env.Payload, &e)
			return env, fmt.Errorf("%s: %w", typ, &e)
		}
		return env, nil
	case <-p.done:
		return wire.Envelope{}, fmt.Errorf("%s: connection ended: %v", typ, p.err)
	case <-ctx.Done():
		return wire.Envelope{}, fmt.Errorf("%s: %w", typ, ctx.Err())
	}
}

// call is request decoding the answer into T.
func call[T any](ctx context.Context, p *peer, typ string, payload any) (T, error) {
	var v T
	env, err := p.request(ctx, typ, payload)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(env.Payload, &v); err != nil {
		return v, fmt.Errorf("%s answer: %w", typ, err)
	}
	return v, nil
}

// close closes the connection and waits for the read loop.
func (p *peer) close() {
	p.wmu.Lock()
	p.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	p.wmu.Unlock()
	p.ws.Close()
	<-p.done
}

// hello signs in (before any other request) and returns the welcome.
func (p *peer) hello(ctx context.Context, auth wire.Auth) (wire.Welcome, error) {
	return call[wire.Welcome](ctx, p, wire.TypeHello, wire.Hello{Protocol: wire.ProtocolVersion, Auth: auth})
}

// loadPacket returns a packet frame for stream and number carrying the
// send time now.
func loadPacket(buf []byte, stream, number uint32) []byte {
	var payload [packetBytes]byte
	binary.BigEndian.PutUint64(payload[:8], uint64(nowNs()))
	for i := 8; i < packetBytes; i++ {
		payload[i] = byte(number*7 + uint32(i)*13) // varied, like encoded audio
	}
	b, _ := wire.AppendPacket(buf[:0], stream, number, payload[:])
	return b
}

// packetLatency reads a delivered single-packet frame and returns its
// packet number and latency in ns; ok is false for other frames.
func packetLatency(data []byte, at int64) (number uint32, latency int64, ok bool) {
	if len(data) < wire.HeaderBytes+8 || wire.FrameKind(data[0]) != wire.FramePacket {
		return 0, 0, false
	}
	sent := int64(binary.BigEndian.Uint64(data[wire.HeaderBytes:]))
	return binary.BigEndian.Uint32(data[5:9]), at - sent, true
}

// listener records the latency of every packet a listening connection
// receives. Only its peer's read goroutine writes to it until the peer is
// closed.
type listener struct {
	peer    *peer
	samples []int64
	seen    []uint64 // packet numbers received, a bit each
	tally   *tally
}

// onBinary counts a packet the first time its number arrives; a number
// seen before is a duplicate (counted apart, not as delivered).
func (l *listener) onBinary(data []byte, at int64) {
	n, lat, ok := packetLatency(data, at)
	if !ok {
		return
	}
	word, bit := int(n/64), uint64(1)<<(n%64)
	for len(l.seen) <= word {
		l.seen = append(l.seen, 0)
	}
	if l.seen[word]&bit != 0 {
		l.tally.dups.Add(1)
		return
	}
	l.seen[word] |= bit
	l.samples = append(l.samples, lat)
	l.tally.add()
}

// tally counts packets delivered to the listeners of a run and says when
// an expected total has been reached.
type tally struct {
	got    atomic.Int64
	dups   atomic.Int64 // packets received again
	target atomic.Int64 // 0 until known
	once   gosync.Once
	all    chan struct{}
}

func newTally() *tally { return &tally{all: make(chan struct{})} }

func (t *tally) add() {
	n := t.got.Add(1)
	if tg := t.target.Load(); tg > 0 && n >= tg {
		t.once.Do(func() { close(t.all) })
	}
}

// expect sets the total and returns a channel closed once it is reached.
func (t *tally) expect(total int64) <-chan struct{} {
	if total <= 0 {
		t.once.Do(func() { close(t.all) })
		return t.all
	}
	t.target.Store(total)
	if t.got.Load() >= total {
		t.once.Do(func() { close(t.all) })
	}
	return t.all
}

// parallel runs fn(i) for i in [0, n) on at most width goroutines and
// returns the first error.
func parallel(ctx context.Context, n, width int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg gosync.WaitGroup
	var once gosync.Once
	var first error
	next := atomic.Int64{}
	for w := 0; w < min(width, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return first
}
