package app

import (
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"parley/audio"
	"parley/server"
	"parley/sync"
)

// sleepyLink is a TCP relay between the app and the server that can go to
// sleep (every connection cut, new ones refused, as a laptop's lid does)
// and wake.
type sleepyLink struct {
	ln     net.Listener
	target string
	mu     gosync.Mutex
	asleep bool
	conns  map[net.Conn]bool
	wg     gosync.WaitGroup
}

func newSleepyLink(t *testing.T, target string) *sleepyLink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &sleepyLink{ln: ln, target: target, conns: map[net.Conn]bool{}}
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(l.close)
	return l
}

func (l *sleepyLink) addr() string { return l.ln.Addr().String() }

func (l *sleepyLink) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.asleep {
			l.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", l.target)
		if err != nil {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[c], l.conns[up] = true, true
		l.wg.Add(2)
		l.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer l.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

// sleep cuts every connection and refuses new ones until wake.
func (l *sleepyLink) sleep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asleep = true
	for c := range l.conns {
		c.Close()
		delete(l.conns, c)
	}
}

func (l *sleepyLink) wake() {
	l.mu.Lock()
	l.asleep = false
	l.mu.Unlock()
}

func (l *sleepyLink) close() {
	l.ln.Close()
	l.sleep()
	l.wg.Wait()
}

type note struct {
	conversation, title string
	n                   int
}

// notifyEnv is a real server and alice's messenger on it, with the
// notifications it asks for (newMessages) and its waiting totals
// (unplayedChanged) recorded.
type notifyEnv struct {
	m       *messenger
	host    string        // the server's host:port
	changed chan struct{} // signalled at ui hints
	notes   chan note
	totals  chan int
}

// newNotifyEnv starts the server; alice signs up through dial(the
// server's host:port) and is connected when it returns.
func newNotifyEnv(t *testing.T, dial func(host string) string) *notifyEnv {
	t.Helper()
	srv, err := server.New(server.Config{DBPath: filepath.Join(t.TempDir(), "server.db")})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close(); srv.Close() })
	u, _ := url.Parse(hs.URL)
	e := &notifyEnv{host: u.Host, changed: make(chan struct{}, 1), notes: make(chan note, 8), totals: make(chan int, 64)}

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hints := newHintBus()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-hints.ch:
				select {
				case e.changed <- struct{}{}:
				default:
				}
			case <-hints.done:
				return
			}
		}
	}()
	e.m = newMessenger(t.TempDir(), "laptop", log, hints)
	e.m.newMessages = func(conv, title string, voice, text int) { e.notes <- note{conv, title, voice + text} }
	e.m.unplayedChanged = func(_, _ string, total int) {
		select {
		case e.totals <- total:
		default:
		}
	}
	t.Cleanup(func() { e.m.Close(); hints.close(); <-drained })
	if err := e.m.Connect(dial(u.Host)); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SignUp("alice", "alice's password"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for e.m.Status().State != sync.StateOnline {
		select {
		case <-e.changed:
		case <-deadline:
			t.Fatalf("alice not connected: %+v", e.m.Status())
		}
	}
	return e
}

// bobsLobby signs bob up and returns him with the Lobby's id.
func (e *notifyEnv) bobsLobby(t *testing.T) (*sync.Client, string) {
	t.Helper()
	bob := watchClient(t, e.host, "bob")
	var lobby string
	waitFor(t, bob, 15*time.Second, "bob's Lobby", func() bool {
		convs, _ := bob.Store().Conversations(t.Context())
		for _, c := range convs {
			if c.Lobby {
				lobby = c.ID
			}
		}
		return lobby != ""
	})
	return bob, lobby
}

// sendVoice has c send a short tone to conv and waits until the server
// has it.
func sendVoice(t *testing.T, c *sync.Client, user, conv string) {
	t.Helper()
	pkts, err := audio.EncodePCM(toneSamples(440, 0.3, 48000), audio.EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := c.StartVoice(conv)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := vs.Push(p.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := vs.End(time.Second, nil); err != nil {
		t.Fatal(err)
	}
	waitVoice(t, c, user, 15*time.Second) // on the server
}

// TestNotifyAfterSleep: while alice's computer sleeps (her connection cut
// and refused), bob sends a voice message; when she wakes, the catch-up
// sync reports it for a notification (once), naming the conversation.
func TestNotifyAfterSleep(t *testing.T) {
	var link *sleepyLink
	e := newNotifyEnv(t, func(host string) string {
		link = newSleepyLink(t, host)
		return link.addr()
	})
	m, notes, changed := e.m, e.notes, e.changed
	bob, lobby := e.bobsLobby(t)

	link.sleep()
	deadline := time.After(30 * time.Second)
	for m.Status().State == sync.StateOnline {
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("alice still connected after the link went to sleep")
		}
	}
	sendVoice(t, bob, "bob", lobby)
	select {
	case n := <-notes:
		t.Fatalf("notified %+v while asleep", n)
	default:
	}

	link.wake()
	select {
	case n := <-notes:
		if n.n != 1 || n.title == "" || n.conversation != lobby {
			t.Errorf("notification %+v, want one message in the Lobby (%s), named", n, lobby)
		}
		t.Logf("after waking: notified %d new voice message in %q", n.n, n.title)
	case <-time.After(60 * time.Second):
		t.Fatalf("no notification within 60 s of waking; status %+v", m.Status())
	}
	select {
	case n := <-notes:
		t.Errorf("notified twice: %+v", n)
	case <-time.After(500 * time.Millisecond): // a second notification would follow the first at once
	}
}
