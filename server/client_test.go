package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/oklog/ulid/v2"

	"parley/server/wire"
)

// waitTimeout bounds every wait for a frame in these tests.
const waitTimeout = 10 * time.Second

// testServer is a real Server behind httptest on a SQLite file.
type testServer struct {
	*Server
	http *httptest.Server
	db   string
}

func testConfig(t *testing.T, db string) Config {
	return Config{
		DBPath: db, Name: "test",
		// Real argon2id at a test-sized cost.
		PasswordTime: 1, PasswordMemoryKiB: 1024,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func startServer(t *testing.T, edit ...func(*Config)) *testServer {
	t.Helper()
	return startServerAt(t, filepath.Join(t.TempDir(), "parley.db"), edit...)
}

func startServerAt(t *testing.T, db string, edit ...func(*Config)) *testServer {
	t.Helper()
	cfg := testConfig(t, db)
	for _, e := range edit {
		e(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := &testServer{Server: srv, http: httptest.NewServer(srv), db: db}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	ts.Server.Close()
	ts.http.Close()
}

func (ts *testServer) url() string { return "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/v1/ws" }

// frame is one frame a test client received, or the error that ended
// its connection.
type frame struct {
	env *wire.Envelope
	bin *wire.Frame
	err error
	at  time.Time
}

func (f frame) String() string {
	switch {
	case f.env != nil:
		return fmt.Sprintf("%s(%s) %s", f.env.Type, f.env.ID, f.env.Payload)
	case f.bin != nil:
		return fmt.Sprintf("binary stream %d first %d n %d", f.bin.Stream, f.bin.First, len(f.bin.Packets))
	}
	return fmt.Sprintf("end: %v", f.err)
}

// client is a raw protocol client: it sends what a test tells it and
// keeps every frame it receives, in order.
type client struct {
	t       *testing.T
	conn    *websocket.Conn
	frames  chan frame
	pending []frame
	reqSeq  atomic.Int64
	wmu     gosync.Mutex
	done    chan struct{}

	welcome wire.Welcome
}

func dial(t *testing.T, url string) *client {
	t.Helper()
	return dialWith(t, url, nil)
}

// dialWith is dial with a hook that sets the connection up before its
// reader starts (handlers must not change under a running reader).
func dialWith(t *testing.T, url string, setup func(*websocket.Conn)) *client {
	t.Helper()
	conn, _, err := testDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if setup != nil {
		setup(conn)
	}
	c := &client{t: t, conn: conn, frames: make(chan frame, 100000), done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.close)
	return c
}

func (c *client) read() {
	defer close(c.done)
	c.conn.SetReadLimit(wire.MaxFrameBytes)
	for {
		typ, data, err := c.conn.ReadMessage()
		now := time.Now()
		if err != nil {
			c.frames <- frame{err: err, at: now}
			return
		}
		if typ == websocket.BinaryMessage {
			f, err := wire.DecodeFrame(data)
			if err != nil {
				c.frames <- frame{err: fmt.Errorf("bad binary frame from server: %w", err), at: now}
				return
			}
			c.frames <- frame{bin: &f, at: now}
			continue
		}
		env, err := wire.DecodeEnvelope(data)
		if err != nil {
			c.frames <- frame{err: fmt.Errorf("bad text frame from server: %w", err), at: now}
			return
		}
		c.frames <- frame{env: &env, at: now}
	}
}

func (c *client) close() {
	c.conn.Close()
	<-c.done
}

// cut drops the TCP connection without a close handshake.
func (c *client) cut() {
	c.conn.NetConn().Close()
	<-c.done
}

func (c *client) sendRaw(typ int, data []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.WriteMessage(typ, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) send(typ, id string, payload any) {
	b, err := wire.Marshal(typ, id, payload)
	if err != nil {
		c.t.Fatalf("marshal %s: %v", typ, err)
	}
	c.sendRaw(websocket.TextMessage, b)
}

func (c *client) sendPacket(stream, n uint32, data []byte) {
	b, err := wire.AppendPacket(nil, stream, n, data)
	if err != nil {
		c.t.Fatalf("packet: %v", err)
	}
	c.sendRaw(websocket.BinaryMessage, b)
}

// waitFor returns the first frame that matches, setting the others aside
// in order. It fails the test if the connection ends first.
func (c *client) waitFor(what string, match func(frame) bool) frame {
	c.t.Helper()
	for i, f := range c.pending {
		if match(f) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return f
		}
	}
	deadline := time.After(waitTimeout)
	for {
		select {
		case f := <-c.frames:
			if match(f) {
				return f
			}
			if f.err != nil {
				c.t.Fatalf("waiting for %s: connection ended: %v", what, f.err)
			}
			c.pending = append(c.pending, f)
		case <-deadline:
			c.t.Fatalf("waiting for %s: nothing within %v; set aside: %v", what, waitTimeout, c.pending)
		}
	}
}

func isType(typ string) func(frame) bool {
	return func(f frame) bool { return f.env != nil && f.env.Type == typ }
}

// request sends a request and returns its answer (or error envelope).
func (c *client) request(typ string, payload any) wire.Envelope {
	c.t.Helper()
	id := fmt.Sprintf("q%d", c.reqSeq.Add(1))
	c.send(typ, id, payload)
	f := c.waitFor(typ+" answer", func(f frame) bool { return f.env != nil && f.env.ID == id })
	return *f.env
}

// call sends a request and decodes a successful answer into T.
func call[T any](c *client, typ string, payload any) T {
	c.t.Helper()
	env := c.request(typ, payload)
	if env.Type == wire.TypeError {
		c.t.Fatalf("%s: error %s", typ, env.Payload)
	}
	var v T
	if err := json.Unmarshal(env.Payload, &v); err != nil {
		c.t.Fatalf("%s answer: %v", typ, err)
	}
	return v
}

// callErr sends a request that must fail and returns its error.
func (c *client) callErr(typ string, payload any) wire.Error {
	c.t.Helper()
	env := c.request(typ, payload)
	if env.Type != wire.TypeError {
		c.t.Fatalf("%s: got %s %s, want an error", typ, env.Type, env.Payload)
	}
	var e wire.Error
	json.Unmarshal(env.Payload, &e)
	return e
}

func (c *client) hello(auth wire.Auth) wire.Welcome {
	c.t.Helper()
	c.welcome = call[wire.Welcome](c, wire.TypeHello, wire.Hello{Protocol: wire.ProtocolVersion, Auth: auth})
	return c.welcome
}

// register dials and creates an account.
// urler is a server a test can dial: in-process or a parleyd process.
type urler interface{ url() string }

func register(t *testing.T, ts urler, name string) *client {
	t.Helper()
	c := dial(t, ts.url())
	c.hello(wire.Auth{Mode: wire.AuthRegister, Username: name, Password: "password-" + name, Device: name + "-laptop"})
	return c
}

// reconnect dials again with the token of an earlier welcome.
func reconnect(t *testing.T, ts urler, w wire.Welcome) *client {
	t.Helper()
	c := dial(t, ts.url())
	token := w.Token
	c.hello(wire.Auth{Mode: wire.AuthToken, Token: token})
	c.welcome.Token = token
	return c
}

func (c *client) lobby() wire.Conversation {
	c.t.Helper()
	convs := call[wire.Conversations](c, wire.TypeConversationList, nil)
	for _, cv := range convs.Conversations {
		if cv.Lobby {
			return cv
		}
	}
	c.t.Fatalf("no Lobby in %+v", convs)
	return wire.Conversation{}
}

func newID() string { return ulid.Make().String() }

// packetData is packet n of a message: distinct, varied lengths.
func packetData(msg string, n uint32) []byte {
	size := 40 + int(n%7)*9
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(int(n)*31 + i + int(msg[len(msg)-1]))
	}
	return b
}

// collectStream reads frames of one stream until its voice.done and
// returns the packets by number, failing on a gap or duplicate.
func (c *client) collectStream(stream uint32) ([][]byte, wire.VoiceDone) {
	c.t.Helper()
	return c.collectStreamFrom(stream, 0)
}

// collectStreamFrom is collectStream for a stream that starts at from.
func (c *client) collectStreamFrom(stream, from uint32) ([][]byte, wire.VoiceDone) {
	c.t.Helper()
	var packets [][]byte
	for {
		f := c.waitFor(fmt.Sprintf("stream %d", stream), func(f frame) bool {
			if f.bin != nil {
				return f.bin.Stream == stream
			}
			return f.env != nil && f.env.Type == wire.TypeVoiceDone && decodeAs[wire.VoiceDone](f.env).Stream == stream
		})
		if f.env != nil {
			return packets, decodeAs[wire.VoiceDone](f.env)
		}
		if f.bin.First != from+uint32(len(packets)) {
			c.t.Fatalf("stream %d: packet %d arrived after %d packets (gap or duplicate)", stream, f.bin.First, len(packets))
		}
		packets = append(packets, f.bin.Packets...)
	}
}

func decodeAs[T any](env *wire.Envelope) T {
	var v T
	json.Unmarshal(env.Payload, &v)
	return v
}

func healthy(t *testing.T, ts *testServer) {
	t.Helper()
	resp, err := http.Get(ts.http.URL + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %s", resp.Status)
	}
}

// closeCode waits for the connection to end and returns its close code
// (or -1 if it ended without one).
func (c *client) closeCode() int {
	c.t.Helper()
	f := c.waitFor("close", func(f frame) bool { return f.err != nil })
	var ce *websocket.CloseError
	if errors.As(f.err, &ce) {
		return ce.Code
	}
	return -1
}

var _ = context.Background

func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }
