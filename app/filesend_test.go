package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"parley/server"
	"parley/ui"
)

// TestSendFileSurvivesRestart: a file sent while the server is down is
// imported, stored in the outbox and, after the app restarts (a new
// messenger on the same data folder) and the server is back, arrives
// complete with its duration and waveform. A bad file sends nothing.
func TestSendFileSurvivesRestart(t *testing.T) {
	sox, err := exec.LookPath("sox")
	if err != nil {
		if os.Getenv("PARLEY_TEST_GUI") == "1" {
			t.Fatal("sox is not installed (make deps-test)")
		}
		t.Skip("sox is not installed")
	}
	wav := filepath.Join(t.TempDir(), "note.wav")
	if out, err := exec.Command(sox, "-n", "-r", "44100", "-c", "2", "-b", "16", wav, "synth", "2.5", "sine", "440", "vol", "0.5").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.mp3")
	if err := os.WriteFile(bad, []byte("not audio at all"), 0o644); err != nil {
		t.Fatal(err)
	}

	dbPath := filepath.Join(t.TempDir(), "server.db")
	startServer := func(addr string) (string, func()) {
		srv, err := server.New(server.Config{DBPath: dbPath})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewUnstartedServer(srv)
		if addr != "" {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("listen again on %s: %v", addr, err)
			}
			hs.Listener.Close()
			hs.Listener = ln
		}
		hs.StartTLS() // httptest's one certificate: the pin holds across the restart
		u, _ := url.Parse(hs.URL)
		return u.Host, func() { hs.CloseClientConnections(); hs.Close(); srv.Close() }
	}
	addr, stop := startServer("")
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	data := t.TempDir()
	hints := newHintBus()
	changed := make(chan struct{}, 1)
	drained := make(chan struct{})
	go func() { // ui's part: drain hints, note that something changed
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
	defer func() {
		hints.close()
		<-drained
	}()

	m1 := newMessenger(data, "desk", log, hints)
	if err := m1.Connect(addr); err != nil {
		t.Fatal(err)
	}
	if err := m1.SignUp("alice", "alice's password"); err != nil {
		t.Fatal(err)
	}
	var lobby string
	deadline := time.After(10 * time.Second)
	for lobby == "" {
		convs, _ := m1.Conversations()
		for _, c := range convs {
			if c.Lobby {
				lobby = c.ID
			}
		}
		if lobby == "" {
			select {
			case <-changed:
			case <-deadline:
				t.Fatal("no Lobby after sign-up")
			}
		}
	}
	stop() // the server goes away

	fs := fileSender{msgr: m1, log: log}
	if err := fs.SendFile(context.Background(), lobby, bad, func(float64) {}); !errors.Is(err, ui.ErrFileUnsupported) {
		t.Fatalf("bad file: err = %v, want ui.ErrFileUnsupported", err)
	}
	var last float64
	if err := fs.SendFile(context.Background(), lobby, wav, func(f float64) { last = f }); err != nil {
		t.Fatalf("send file offline: %v", err)
	}
	if last != 1 {
		t.Errorf("progress ended at %v, want 1", last)
	}
	if err := m1.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: server back on the same address, app on the same data folder.
	_, stop = startServer(addr)
	defer stop()
	checker := watchClient(t, addr, "checker")
	m2 := newMessenger(data, "desk", log, hints)
	defer m2.Close()
	if !m2.restore(addr, "alice") {
		t.Fatal("restore alice after restart")
	}
	msg := waitVoice(t, checker, "alice", 30*time.Second)
	if d := msg.Duration; d < 2450*time.Millisecond || d > 2600*time.Millisecond {
		t.Errorf("duration %v, want 2.5 s", d)
	}
	if msg.Packets != 125 {
		t.Errorf("%d packets, want 125", msg.Packets)
	}
	loud := 0
	for _, v := range msg.Waveform {
		if v > 200 {
			loud++
		}
	}
	if loud < len(msg.Waveform)*9/10 {
		t.Errorf("waveform %v: a steady -6 dBFS tone should be loud throughout", msg.Waveform)
	}
	n := 0
	for _, m := range lobbyMessages(checker) {
		if m.SenderName == "alice" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d messages from alice on the server, want 1 (the bad file sent nothing)", n)
	}
}
