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

// TestNotifyAfterSleep: while alice's computer sleeps (her connection cut
// and refused), bob sends a voice message; when she wakes, the catch-up
// sync reports it for a notification (once), naming the conversation.
func TestNotifyAfterSleep(t *testing.T) {
	srv, err := server.New(server.Config{DBPath: filepath.Join(t.TempDir(), "server.db")})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv)
	defer func() { hs.CloseClientConnections(); hs.Close(); srv.Close() }()
	u, _ := url.Parse(hs.URL)
	link := newSleepyLink(t, u.Host)

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hints := newHintBus()
	changed := make(chan struct{}, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-hints.ch:
				select {
				case changed <- struct{}{}:
				default:
				}
			case <-hints.done:
				return
			}
		}
	}()
	defer func() { hints.close(); <-drained }()

	type note struct {
		title string
		n     int
	}
	notes := make(chan note, 8)
	m := newMessenger(t.TempDir(), "laptop", log, hints)
	m.newMessages = func(title string, voice, text int) { notes <- note{title, voice + text} }
	defer m.Close()
	if err := m.Connect(link.addr()); err != nil {
		t.Fatal(err)
	}
	if err := m.SignUp("alice", "alice's password"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for m.Status().State != sync.StateOnline {
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("alice not connected: %+v", m.Status())
		}
	}

	bob := watchClient(t, u.Host, "bob")
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

	link.sleep()
	deadline = time.After(30 * time.Second)
	for m.Status().State == sync.StateOnline {
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("alice still connected after the link went to sleep")
		}
	}
	pkts, err := audio.EncodePCM(toneSamples(440, 0.3, 48000), audio.EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := bob.StartVoice(lobby)
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
	waitVoice(t, bob, "bob", 15*time.Second) // on the server
	select {
	case n := <-notes:
		t.Fatalf("notified %+v while asleep", n)
	default:
	}

	link.wake()
	select {
	case n := <-notes:
		if n.n != 1 || n.title == "" {
			t.Errorf("notification %+v, want one message in a named conversation", n)
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
