package server

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/server/wire"
)

// dialStuck connects a listener whose socket has a tiny receive buffer
// and that never reads: its server-side queue must overflow.
func dialStuck(t *testing.T, ts *testServer, w wire.Welcome) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
		}}
		return nd.Dial(network, addr)
	}}
	conn, _, err := d.Dial(ts.url(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	b, _ := wire.Marshal(wire.TypeHello, "h", wire.Hello{Protocol: wire.ProtocolVersion, Auth: wire.Auth{Mode: wire.AuthToken, Token: w.Token}})
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("hello: %v", err)
	}
	return conn
}

// TestSlowConsumer: a listener that never reads is closed as a slow
// consumer and does not delay the others, who get every packet promptly.
func TestSlowConsumer(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.QueueFrames = 256; c.PacketRate, c.PacketBurst = 1e6, 1e6 })
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	s := register(t, ts, "slow")
	sw := s.welcome
	s.close()
	stuck := dialStuck(t, ts, sw)
	// The stuck listener is signed in once it counts as online for ana.
	a.waitFor("slow online", func(f frame) bool {
		if f.env == nil || f.env.Type != wire.TypePresence {
			return false
		}
		u := decodeAs[wire.Presence](f.env).Users
		return len(u) == 1 && u[0].User == sw.User.ID && u[0].State == wire.PresenceOnline
	})

	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	bStream := liveStream(b, msg)
	const total = 6000
	big := make([]byte, 1200)
	var worst time.Duration
	got := 0
	for n := uint32(0); n < total; n++ {
		big[0], big[1] = byte(n), byte(n>>8)
		sent := time.Now()
		a.sendPacket(st.Stream, n, big)
		if n%50 == 49 {
			for got <= int(n) {
				f := b.waitFor("packet", func(f frame) bool { return f.bin != nil && f.bin.Stream == bStream })
				if int(f.bin.First) != got {
					t.Fatalf("bo got packet %d after %d", f.bin.First, got)
				}
				got++
				if lag := f.at.Sub(sent); lag > worst {
					worst = lag
				}
			}
		}
	}
	if worst > time.Second {
		t.Errorf("bo's worst lag behind the talker was %v with a stuck listener", worst)
	}
	t.Logf("bo's worst lag with a stuck listener: %v", worst)

	// The stuck listener was cut: reading now ends in an error, not in
	// the whole message.
	stuck.SetReadDeadline(time.Now().Add(waitTimeout))
	var readErr error
	read := 0
	for readErr == nil {
		_, _, readErr = stuck.ReadMessage()
		read++
	}
	t.Logf("stuck listener read %d frames, then: %v", read, readErr)
	if ce, ok := readErr.(*websocket.CloseError); ok && ce.Code != wire.CloseSlowConsumer && ce.Code != websocket.CloseAbnormalClosure {
		t.Errorf("stuck listener closed with %d", ce.Code)
	}
	if drops := metricValue(t, ts, "parley_fanout_queue_drops_total"); drops < 1 {
		t.Errorf("queue drops metric = %v, want >= 1", drops)
	}
}

func metricValue(t *testing.T, ts *testServer, name string) float64 {
	t.Helper()
	resp, err := http.Get(ts.http.URL + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+" ") {
			var v float64
			if _, err := fmtSscan(strings.TrimPrefix(line, name+" "), &v); err == nil {
				return v
			}
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// TestNoGoroutineLeak: after clients and the server close, the goroutines
// the server started are gone.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		ts := startServer(t)
		a := register(t, ts, "ana")
		b := register(t, ts, "bo")
		lobby := a.lobby()
		msg := newID()
		st := a.startVoice(lobby.ID, msg)
		liveStream(b, msg)
		for n := uint32(0); n < 20; n++ {
			a.sendPacket(st.Stream, n, packetData(msg, n))
		}
		a.waitAck(msg, 20)
		call[wire.AudioStream](b, wire.TypeAudioFetch, wire.AudioFetch{Message: msg})
		ts.stop() // mid-message, with a live tail open
		a.closeCode()
		b.closeCode()
		a.close()
		b.close()
	}()
	// Goroutines end asynchronously after their channels close; there is
	// no event to wait on for "the runtime has reaped them", so this is the
	// one bounded poll in the tests.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
