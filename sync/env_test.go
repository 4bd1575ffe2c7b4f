package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"parley/server"
	"parley/server/wire"
)

// waitTimeout bounds every wait in the integration tests.
const waitTimeout = 30 * time.Second

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: testLogLevel}))
}

// proxy is a TCP proxy in front of the server that a test can cut. Its
// address stays the same while the server behind it stops, restarts or
// is replaced.
type proxy struct {
	ln net.Listener
	wg gosync.WaitGroup

	mu      gosync.Mutex
	backend string
	conns   map[net.Conn]bool
	up      int64 // client->server bytes forwarded
	cutAt   int64 // cut every connection when up reaches it (0: never)
	cuts    int
}

func newProxy(t testing.TB) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &proxy{ln: ln, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "wss://" + p.ln.Addr().String() + "/v1/ws" }

func (p *proxy) setBackend(addr string) {
	p.mu.Lock()
	p.backend = addr
	p.mu.Unlock()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		backend := p.backend
		p.mu.Unlock()
		if backend == "" {
			c.Close() // the server is down
			continue
		}
		s, err := net.Dial("tcp", backend)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c, true)
		go p.pipe(c, s, false)
	}
}

func (p *proxy) pipe(dst, src net.Conn, up bool) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			cut := false
			if up {
				p.mu.Lock()
				if p.cutAt > 0 && p.up+int64(n) >= p.cutAt {
					chunk = buf[:p.cutAt-p.up] // forward a partial frame, then cut
					cut = true
					p.cutAt = 0
				}
				p.up += int64(len(chunk))
				p.mu.Unlock()
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
			if cut {
				p.cutAll()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cutAfter cuts every connection once n more client->server bytes passed.
func (p *proxy) cutAfter(n int64) {
	p.mu.Lock()
	p.cutAt = p.up + max(n, 1)
	p.mu.Unlock()
}

func (p *proxy) cutAll() {
	p.mu.Lock()
	p.cuts++
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.ln.Close()
	p.cutAll()
	p.wg.Wait()
}

// env is a server (that tests stop, restart and replace) and proxies in
// front of it, one per client.
type env struct {
	t       testing.TB
	dir     string
	srv     *server.Server
	hs      *tlsServer
	cert    *server.Certificate // kept in dir across restarts, as parleyd keeps it
	db      string
	proxies []*proxy
	n       int
}

func newEnv(t testing.TB) *env {
	e := &env{t: t, dir: t.TempDir()}
	t.Cleanup(func() {
		// Runs last: every client registered its close after this.
		e.stop()
		checkNoClientGoroutines(t)
	})
	return e
}

// start runs a server on the database file db (relative to the env's
// directory).
func (e *env) start(db string, edit ...func(*server.Config)) {
	e.t.Helper()
	e.db = filepath.Join(e.dir, db)
	cfg := server.Config{
		DBPath: e.db, Name: "test", PasswordTime: 1, PasswordMemoryKiB: 1024,
		Logger: testLogger(e.t),
	}
	for _, f := range edit {
		f(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		e.t.Fatalf("server.New: %v", err)
	}
	e.srv = srv
	if e.cert == nil {
		e.loadCert(false)
	}
	e.hs = startTLS(e.t, srv, e.cert)
	for _, p := range e.proxies {
		p.setBackend(e.hs.addr())
	}
}

// stop closes the server (clients see CloseGoingAway) and makes the
// proxies refuse connections.
func (e *env) stop() {
	for _, p := range e.proxies {
		p.setBackend("")
	}
	if e.srv != nil {
		e.srv.Close()
		e.hs.Close()
		e.srv, e.hs = nil, nil
	}
	for _, p := range e.proxies {
		p.cutAll()
	}
}

// testClient is a Client running against the env through its own proxy.
type testClient struct {
	*Client
	t         testing.TB
	proxy     *proxy
	done      chan error
	stop      context.CancelFunc
	closeOnce gosync.Once
}

// client starts a Client for username (registering it if needed) on its
// own store file.
func (e *env) client(username string, edit ...func(*Config)) *testClient {
	e.t.Helper()
	p := newProxy(e.t)
	e.proxies = append(e.proxies, p)
	if e.hs != nil {
		p.setBackend(e.hs.addr())
	}
	return e.clientVia(p, username, edit...)
}

// clientVia is client through an existing proxy: another client at the
// same server address.
func (e *env) clientVia(p *proxy, username string, edit ...func(*Config)) *testClient {
	e.t.Helper()
	e.n++
	cfg := Config{
		URL:        p.url(),
		StorePath:  filepath.Join(e.dir, fmt.Sprintf("%s-%d.db", username, e.n)),
		Username:   username,
		Password:   "password-" + username,
		Register:   true,
		DeviceName: fmt.Sprintf("dev%d", e.n),
		MinBackoff: 10 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
		Logger:     testLogger(e.t),
	}
	for _, f := range edit {
		f(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		e.t.Fatalf("New client: %v", err)
	}
	tc := &testClient{Client: c, t: e.t, proxy: p, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	tc.stop = cancel
	go func() { tc.done <- c.Run(ctx) }()
	e.t.Cleanup(tc.close)
	return tc
}

// close stops Run and closes the client (the env checks for leftover
// goroutines once every client is closed).
func (tc *testClient) close() { tc.closeOnce.Do(tc.doClose) }

func (tc *testClient) doClose() {
	tc.stop()
	select {
	case <-tc.done:
	case <-time.After(waitTimeout):
		tc.t.Errorf("Run did not return after cancel")
	}
	if err := tc.Client.Close(); err != nil {
		tc.t.Errorf("Close: %v", err)
	}
}

// waitFor reads the client's hints until cond holds.
func (tc *testClient) waitFor(what string, cond func() bool) {
	tc.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case _, ok := <-tc.Hints():
			if !ok {
				tc.t.Fatalf("waiting for %s: hints closed", what)
			}
		case <-deadline.C:
			tc.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (tc *testClient) waitOnline() {
	tc.t.Helper()
	tc.waitFor("online", func() bool { s, _ := tc.State(); return s == StateOnline })
}

// lobby waits for the Lobby and returns its id.
func (tc *testClient) lobby() string {
	tc.t.Helper()
	var id string
	tc.waitFor("lobby", func() bool {
		id, _ = tc.store.lobbyID(context.Background())
		return id != ""
	})
	return id
}

// outboxEmpty waits until the outbox is drained.
func (tc *testClient) waitOutboxEmpty() {
	tc.t.Helper()
	tc.waitFor("outbox drained", func() bool {
		m, r, err := tc.store.OutboxLen(context.Background())
		return err == nil && m == 0 && r == 0
	})
}

func (tc *testClient) me() string {
	a, _ := tc.store.Account(context.Background())
	return a.UserID
}

// messages returns a conversation's messages.
func (tc *testClient) messages(conv string) []Message {
	tc.t.Helper()
	ms, err := tc.store.Messages(context.Background(), conv, 0, 100000)
	if err != nil {
		tc.t.Fatalf("Messages: %v", err)
	}
	return ms
}

// readAll reads a voice message through OpenMessage to its end.
func (tc *testClient) readAll(id string) []Packet {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	src, err := tc.OpenMessage(ctx, id, 0)
	if err != nil {
		tc.t.Fatalf("OpenMessage: %v", err)
	}
	var ps []Packet
	for {
		p, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return ps
		}
		if err != nil {
			tc.t.Fatalf("Next after %d packets: %v", len(ps), err)
		}
		ps = append(ps, p)
	}
}

// packetData is the test's deterministic packet content.
func packetData(msg, seq int) []byte {
	n := 20 + (msg*7+seq*13)%180
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(msg*31 + seq*17 + i)
	}
	return b
}

// checkPackets checks that ps are packets 0..n-1 of test message msg.
func checkPackets(t *testing.T, who string, ps []Packet, msg, n int) {
	t.Helper()
	if len(ps) != n {
		t.Fatalf("%s: %d packets, want %d", who, len(ps), n)
	}
	for i, p := range ps {
		if p.Seq != uint32(i) || string(p.Data) != string(packetData(msg, i)) {
			t.Fatalf("%s: packet %d is seq %d with wrong or right data (%v)", who, i, p.Seq, string(p.Data) == string(packetData(msg, i)))
		}
	}
}

// sendVoice records a voice message of n packets.
func sendVoice(t *testing.T, c *testClient, conv string, msg, n int) string {
	t.Helper()
	v, err := c.StartVoice(conv)
	if err != nil {
		t.Fatalf("StartVoice: %v", err)
	}
	for i := range n {
		if err := v.Push(packetData(msg, i)); err != nil {
			t.Fatalf("Push %d: %v", i, err)
		}
	}
	if err := v.End(time.Duration(n)*wire.FrameDuration, []byte{1, 2, 3}); err != nil {
		t.Fatalf("End: %v", err)
	}
	return v.ID()
}

// checkNoClientGoroutines fails if a goroutine of a closed client is
// left, after a bounded wait for goroutines that are returning.
func checkNoClientGoroutines(t testing.TB) {
	t.Helper()
	markers := []string{"parley/sync.(*Client)", "parley/sync.(*session)", "parley/sync.(*hintQueue)", "parley/sync.(*PacketSource)"}
	var leaked string
	for deadline := time.Now().Add(5 * time.Second); ; {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = ""
		for _, g := range strings.Split(string(buf), "\n\n") {
			for _, m := range markers {
				if strings.Contains(g, m) {
					leaked = g
				}
			}
		}
		if leaked == "" || time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // goroutines past wg.Done may still be on their way out
	}
	if leaked != "" {
		t.Errorf("goroutine left after Close:\n%s", leaked)
	}
}

// testLogLevel is the level of client and server logs in tests.
var testLogLevel = slog.LevelWarn
