package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
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
	rec := httptest.NewRecorder()
	ts.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
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

// pausableReader is a listener whose reading a test can stop and resume,
// as a client whose reader stalls (a suspended process, a blocked loop).
type pausableReader struct {
	conn   *websocket.Conn
	pause  chan struct{} // closed: stop reading after the current frame
	resume chan struct{} // closed: read again
	ended  chan error    // the error that ended reading
}

func dialPausable(t *testing.T, ts *testServer, w wire.Welcome) *pausableReader {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(ts.url(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	r := &pausableReader{conn: conn, pause: make(chan struct{}), resume: make(chan struct{}), ended: make(chan error, 1)}
	b, _ := wire.Marshal(wire.TypeHello, "h", wire.Hello{Protocol: wire.ProtocolVersion, Auth: wire.Auth{Mode: wire.AuthToken, Token: w.Token}})
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("hello: %v", err)
	}
	go func() {
		for {
			select {
			case <-r.pause:
				<-r.resume
			default:
			}
			if _, _, err := conn.ReadMessage(); err != nil {
				r.ended <- err
				return
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-r.resume:
		default:
			close(r.resume)
		}
	})
	return r
}

func p99(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	slices.Sort(s)
	return s[(len(s)*99)/100]
}

// TestSlowReaderByTime: with default settings, a live listener that stops
// reading while a talker sends at voice rate is closed with
// CloseSlowConsumer within SlowConsumerAfter (plus one probe interval and
// the close handshake), long before the keepalive would notice, although
// its socket buffers never fill; when it reads again it finds the typed
// close. The other listener's p99 lag is not hurt.
func TestSlowReaderByTime(t *testing.T) {
	// The lag comparison is repeated (with a new stalled reader) when the
	// shared machine's noise spoils it; every attempt must close the
	// stalled reader in time, one must keep bo's p99 within 1.2x.
	const attempts = 3
	for i := range attempts {
		pb, pd := slowReaderAttempt(t, i)
		t.Logf("attempt %d: bo's p99 lag %v before, %v while a reader stalled (%.2fx)", i, pb, pd, float64(pd)/float64(pb))
		// 1.2x, with 10 ms of allowance: under the race detector a p99 of a
		// few milliseconds moves by several from run to run, while a
		// reader that held the others up would cost them hundreds.
		if pd <= pb*12/10+10*time.Millisecond {
			return
		}
	}
	t.Errorf("bo's p99 lag while a reader stalled was more than 1.2x of before in %d attempts", attempts)
}

// slowReaderAttempt runs one stall on a fresh server and returns bo's
// p99 lag behind the talker before and during it.
func slowReaderAttempt(t *testing.T, attempt int) (before, during time.Duration) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	s := register(t, ts, "stalled")
	sw := s.welcome
	s.close()
	stalled := dialPausable(t, ts, sw)
	a.waitFor("stalled online", func(f frame) bool {
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

	const baseline = 200 // 4 s at voice rate with everyone reading
	limit := wire.SlowConsumerAfter + probeInterval + closeLinger + time.Second
	var sent []time.Time
	tick := time.NewTicker(wire.FrameDuration)
	defer tick.Stop()
	var stalledAt, goneAt time.Time
	isGone := func(f frame) bool {
		if f.env == nil || f.env.Type != wire.TypePresence {
			return false
		}
		u := decodeAs[wire.Presence](f.env).Users
		return len(u) == 1 && u[0].User == sw.User.ID && u[0].State == wire.PresenceOffline
	}
	var bFrames []frame
	for n := uint32(0); goneAt.IsZero(); n++ {
		<-tick.C
		if n == baseline {
			close(stalled.pause)
			stalledAt = time.Now()
		}
		if !stalledAt.IsZero() && time.Since(stalledAt) > 3*limit {
			t.Fatalf("stalled reader not closed %v after it stopped reading", time.Since(stalledAt))
		}
		sent = append(sent, time.Now())
		a.sendPacket(st.Stream, n, packetData(msg, n))
		// Collect what bo received so far without waiting.
		for more := true; more; {
			select {
			case f := <-b.frames:
				if isGone(f) {
					goneAt = f.at
				}
				bFrames = append(bFrames, f)
			default:
				more = false
			}
		}
	}
	took := goneAt.Sub(stalledAt)
	t.Logf("attempt %d: stalled reader closed %v after it stopped reading (limit %v, keepalive %v)", attempt, took, limit, 2*ts.cfg.PingInterval+ts.cfg.PingInterval/2)
	if took > limit {
		t.Errorf("stalled reader closed %v after it stopped reading, want within %v", took, limit)
	}
	if got := metricValue(t, ts, `parley_slow_consumers_total{reason="lag"}`); got != 1 {
		t.Errorf("lag slow-consumer closes = %v, want 1", got)
	}

	// It reads again: the frames it missed, then the typed close.
	close(stalled.resume)
	select {
	case err := <-stalled.ended:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != wire.CloseSlowConsumer {
			t.Errorf("stalled reader's connection ended with %v, want close %d", err, wire.CloseSlowConsumer)
		}
	case <-time.After(waitTimeout):
		t.Fatal("stalled reader's connection did not end")
	}

	// Bo's lag behind the talker, before and while the other one stalled.
	var lagBefore, lagDuring []time.Duration
	for _, f := range bFrames {
		if f.bin == nil || f.bin.Stream != bStream {
			continue
		}
		lag := f.at.Sub(sent[f.bin.First])
		if f.bin.First < baseline {
			lagBefore = append(lagBefore, lag)
		} else {
			lagDuring = append(lagDuring, lag)
		}
	}
	if len(lagBefore) < baseline/2 || len(lagDuring) < baseline/2 {
		t.Fatalf("bo got %d packets before and %d during the stall", len(lagBefore), len(lagDuring))
	}
	return p99(lagBefore), p99(lagDuring)
}

// stallingPresence is the embedded presence whose Connect, once armed,
// waits until release is closed: a shared presence slow to answer.
type stallingPresence struct {
	*memPresence
	armed   atomic.Bool
	entered chan struct{} // gets one value when an armed Connect starts waiting
	release chan struct{}
}

func (p *stallingPresence) Connect(ctx context.Context, user, conn string) (bool, error) {
	if p.armed.Load() {
		p.entered <- struct{}{}
		select {
		case <-p.release:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return p.memPresence.Connect(ctx, user, conn)
}

// TestSlowJoinIsNotASlowConsumer: while the server is slow to join a
// session that has just signed in (presence taking longer than
// wire.SlowConsumerAfter), nothing reads the client's pongs; the lag
// probe must not close the client as a slow consumer for the server's
// own delay. (In a cluster, ~950 of 1 000 listeners connecting at once
// were closed so while the shared presence was slow.)
func TestSlowJoinIsNotASlowConsumer(t *testing.T) {
	p := &stallingPresence{memPresence: newMemPresence(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	ts := startServer(t, func(c *Config) { c.Presence = p })
	ana := register(t, ts, "ana")
	w := ana.welcome
	ana.close()
	p.armed.Store(true)
	bo := dial(t, ts.url())
	bo.send(wire.TypeHello, "h", wire.Hello{Protocol: wire.ProtocolVersion, Auth: wire.Auth{Mode: wire.AuthToken, Token: w.Token}})
	// The welcome is queued before the join: the writer probes after it.
	bo.waitFor("welcome", func(f frame) bool { return f.env != nil && f.env.ID == "h" })
	select {
	case <-p.entered:
	case <-time.After(waitTimeout):
		t.Fatal("the join did not reach presence")
	}
	// The measured condition is time itself: longer than a slow
	// consumer is given, plus a probe interval for the writer to look.
	<-time.After(wire.SlowConsumerAfter + 2*probeInterval)
	p.armed.Store(false)
	close(p.release)
	convs := call[wire.Conversations](bo, wire.TypeConversationList, nil)
	if len(convs.Conversations) == 0 {
		t.Fatal("no conversations after the slow join")
	}
	for _, f := range bo.pending {
		if f.err != nil {
			t.Fatalf("bo's connection ended: %v", f.err)
		}
	}
}
