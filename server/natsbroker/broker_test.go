package natsbroker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/oklog/ulid/v2"

	"parley/server"
	"parley/server/wire"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 10 * time.Second

// startNATS runs a nats-server with JetStream in the test process, on a
// loopback port of its own, storing under the test's temporary folder.
func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(waitTimeout) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns.ClientURL()
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// recordingNode is a server.Node that hands every delivery to a channel.
type recordingNode struct{ got chan any }

func newRecordingNode() *recordingNode { return &recordingNode{got: make(chan any, 1024)} }

func (n *recordingNode) DeliverFrame(f server.Frame)           { n.got <- f }
func (n *recordingNode) DeliverEvent(ev server.Event)          { n.got <- ev }
func (n *recordingNode) DeliverLive(l server.Live)             { n.got <- l }
func (n *recordingNode) DeliverDisconnect(d server.Disconnect) { n.got <- d }

func (n *recordingNode) next(t *testing.T, what string) any {
	t.Helper()
	select {
	case v := <-n.got:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("%s: nothing delivered within %v", what, waitTimeout)
		return nil
	}
}

func startBroker(t *testing.T, url, node string, n server.Node) *Broker {
	t.Helper()
	b, err := New(t.Context(), Config{URL: url, NodeID: node, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New %s: %v", node, err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close %s: %v", node, err)
		}
	})
	if err := b.Start(t.Context(), n); err != nil {
		t.Fatalf("Start %s: %v", node, err)
	}
	return b
}

// TestEveryNodeGetsEveryKind: what one node publishes reaches every
// node, itself included, unchanged, for each kind of delivery.
func TestEveryNodeGetsEveryKind(t *testing.T) {
	url := startNATS(t)
	na, nb := newRecordingNode(), newRecordingNode()
	a := startBroker(t, url, "a", na)
	startBroker(t, url, "b.with*odd>chars", nb)
	ctx := t.Context()
	msg := wire.Message{ID: "M1", Conversation: "C1", Kind: wire.KindVoice, State: wire.StateRecording}
	tests := []struct {
		name    string
		publish func() error
		want    any
	}{
		{"frame", func() error {
			return a.PublishFrame(ctx, server.Frame{Users: []string{"u1"}, ExceptDevice: "d1", Data: []byte(`{"type":"presence"}`)})
		},
			server.Frame{Users: []string{"u1"}, ExceptDevice: "d1", Data: []byte(`{"type":"presence"}`)}},
		{"presence to everyone", func() error {
			return a.PublishFrame(ctx, server.Frame{Everyone: true, ExceptDevice: "d1", Presence: []wire.PresenceEntry{{User: "u1", State: wire.PresenceOnline}}})
		},
			server.Frame{Everyone: true, ExceptDevice: "d1", Presence: []wire.PresenceEntry{{User: "u1", State: wire.PresenceOnline}}}},
		{"event", func() error {
			return a.PublishEvent(ctx, server.Event{Cursor: 7, Conversation: "C1", Users: []string{"u1", "u2"}, Data: []byte(`{"type":"event"}`)})
		},
			server.Event{Cursor: 7, Conversation: "C1", Users: []string{"u1", "u2"}, Data: []byte(`{"type":"event"}`)}},
		{"live start", func() error {
			return a.PublishLive(ctx, server.Live{Kind: server.LiveStart, Conversation: "C1", Message: "M1", Info: &msg, SenderDevice: "d1", Members: []string{"u1"}})
		}, server.Live{Kind: server.LiveStart, Conversation: "C1", Message: "M1", Info: &msg, SenderDevice: "d1", Members: []string{"u1"}}},
		{"live packet", func() error {
			return a.PublishLive(ctx, server.Live{Kind: server.LivePacket, Conversation: "C1", Message: "M1", Number: 3, Data: []byte{0, 1, 0xff}})
		}, server.Live{Kind: server.LivePacket, Conversation: "C1", Message: "M1", Number: 3, Data: []byte{0, 1, 0xff}}},
		{"disconnect", func() error {
			return a.Disconnect(ctx, server.Disconnect{Device: "d2", Code: wire.CloseRevoked, Reason: "device signed out"})
		},
			server.Disconnect{Device: "d2", Code: wire.CloseRevoked, Reason: "device signed out"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.publish(); err != nil {
				t.Fatalf("publish: %v", err)
			}
			for _, n := range []*recordingNode{na, nb} {
				if got := n.next(t, tc.name); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

// TestLiveOrder: one publisher's packets reach another node in order,
// each once.
func TestLiveOrder(t *testing.T) {
	url := startNATS(t)
	nb := newRecordingNode()
	a := startBroker(t, url, "a", server.Node(discardNode{}))
	startBroker(t, url, "b", nb)
	const packets = 500
	for i := range uint32(packets) {
		if err := a.PublishLive(t.Context(), server.Live{Kind: server.LivePacket, Conversation: "C", Message: "M", Number: i, Data: []byte{byte(i)}}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	for i := range uint32(packets) {
		l := nb.next(t, "packet").(server.Live)
		if l.Number != i || !bytes.Equal(l.Data, []byte{byte(i)}) {
			t.Fatalf("delivery %d: packet %d %v", i, l.Number, l.Data)
		}
	}
}

type discardNode struct{}

func (discardNode) DeliverFrame(server.Frame)           {}
func (discardNode) DeliverEvent(server.Event)           {}
func (discardNode) DeliverLive(server.Live)             {}
func (discardNode) DeliverDisconnect(server.Disconnect) {}

// TestStreamsAreFileStored: the streams New makes keep what is published
// on disk, and a publish returns only once the stream holds it.
func TestStreamsAreFileStored(t *testing.T) {
	url := startNATS(t)
	b := startBroker(t, url, "a", discardNode{})
	if err := b.PublishEvent(t.Context(), server.Event{Cursor: 1, Conversation: "C", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{EventStream, LiveStream} {
		st, err := b.js.Stream(t.Context(), name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info, err := st.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Storage.String() != "File" {
			t.Errorf("%s storage = %v, want file", name, info.Config.Storage)
		}
		if name == EventStream && info.State.Msgs != 1 {
			t.Errorf("%s holds %d messages after one acked publish, want 1", name, info.State.Msgs)
		}
	}
}

// wsClient is a minimal Parley client for the two-node test.
type wsClient struct {
	t       *testing.T
	conn    *websocket.Conn
	frames  chan wsFrame
	events  chan wire.Event // every event pushed, also in frames
	welcome wire.Welcome
	seq     int
}

type wsFrame struct {
	env    wire.Envelope
	binary *wire.Frame
	err    error
}

func dialNode(t *testing.T, url string, auth wire.Auth) *wsClient {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &wsClient{t: t, conn: conn, frames: make(chan wsFrame, 4096), events: make(chan wire.Event, 4096)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			typ, data, err := conn.ReadMessage()
			if err != nil {
				c.frames <- wsFrame{err: err}
				return
			}
			if typ == websocket.BinaryMessage {
				f, err := wire.DecodeFrame(data)
				c.frames <- wsFrame{binary: &f, err: err}
				continue
			}
			env, err := wire.DecodeEnvelope(data)
			if err == nil && env.Type == wire.TypeEvent {
				if ev, err := wire.Decode[wire.Event](env); err == nil {
					c.events <- ev
				}
			}
			c.frames <- wsFrame{env: env, err: err}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	c.send(wire.TypeHello, wire.Hello{Protocol: wire.ProtocolVersion, Auth: auth})
	f := c.waitFor("welcome", func(f wsFrame) bool { return f.env.Type == wire.TypeWelcome })
	w, err := wire.Decode[wire.Welcome](f.env)
	if err != nil {
		t.Fatal(err)
	}
	c.welcome = w
	return c
}

func (c *wsClient) send(typ string, payload any) string {
	c.t.Helper()
	c.seq++
	id := fmt.Sprintf("r%d", c.seq)
	b, err := wire.Marshal(typ, id, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send %s: %v", typ, err)
	}
	return id
}

// waitFor returns the first frame that matches, skipping others; a read
// error fails the test unless match accepts it.
func (c *wsClient) waitFor(what string, match func(wsFrame) bool) wsFrame {
	c.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case f := <-c.frames:
			if match(f) {
				return f
			}
			if f.err != nil {
				c.t.Fatalf("waiting for %s: %v", what, f.err)
			}
			if f.env.Type == wire.TypeError {
				c.t.Fatalf("waiting for %s: error %s", what, f.env.Payload)
			}
		case <-deadline:
			c.t.Fatalf("waiting for %s: nothing within %v", what, waitTimeout)
		}
	}
}

func answerTo(id string) func(wsFrame) bool {
	return func(f wsFrame) bool { return f.err == nil && f.binary == nil && f.env.ID == id }
}

// startNode runs one server node on db and NATS; it returns the node's
// WebSocket URL and a function that stops it (also run at cleanup).
func startNode(t *testing.T, natsURL, db, node string) (string, func()) {
	t.Helper()
	b, err := New(t.Context(), Config{URL: natsURL, NodeID: node, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	presence, err := b.Presence(t.Context(), 0)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{DBPath: db, Name: "cluster", NodeID: node, Broker: b, Presence: presence,
		PasswordTime: 1, PasswordMemoryKiB: 1024, Logger: testLogger(t).With("node", node)})
	if err != nil {
		b.Close()
		t.Fatalf("server %s: %v", node, err)
	}
	hs := httptest.NewServer(srv)
	var once gosync.Once
	stop := func() {
		once.Do(func() {
			if err := srv.Close(); err != nil {
				t.Errorf("close node %s: %v", node, err)
			}
			hs.Close()
		})
	}
	t.Cleanup(stop)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/ws", stop
}

func packet(msg string, n uint32) []byte {
	return []byte(fmt.Sprintf("%s/%d/%s", msg, n, strings.Repeat("x", int(n%40))))
}

// TestTwoNodes runs two servers on one store and one NATS: a talker on
// node A is heard live, bit for bit, by a listener on node B, who also
// gets the message's events in cursor order; revoking the listener's
// device from node A closes its connection on node B.
func TestTwoNodes(t *testing.T) {
	natsURL := startNATS(t)
	db := filepath.Join(t.TempDir(), "parley.db")
	urlA, _ := startNode(t, natsURL, db, "a")
	urlB, _ := startNode(t, natsURL, db, "b")

	ana := dialNode(t, urlA, wire.Auth{Mode: wire.AuthRegister, Username: "ana", Password: "password-ana", Device: "ana-laptop"})
	boAuth := wire.Auth{Mode: wire.AuthRegister, Username: "bo", Password: "password-bo", Device: "bo-laptop"}
	bo := dialNode(t, urlB, boAuth)
	// Bo's presence snapshot, made on node B, has ana, connected to A.
	bo.waitFor("ana online in bo's snapshot", func(f wsFrame) bool {
		if f.env.Type != wire.TypePresence {
			return false
		}
		p, err := wire.Decode[wire.Presence](f.env)
		return err == nil && slices.ContainsFunc(p.Users, func(e wire.PresenceEntry) bool {
			return e.User == ana.welcome.User.ID && e.State == wire.PresenceOnline
		})
	})
	lobby := ana.lobby()
	msg := ulid.Make().String()
	started := ana.startVoice(lobby, msg)
	liveFrame := bo.waitFor("voice.live on node B", func(f wsFrame) bool { return f.env.Type == wire.TypeVoiceLive })
	live, err := wire.Decode[wire.VoiceLive](liveFrame.env)
	if err != nil || live.Message.ID != msg {
		t.Fatalf("voice.live %+v %v", live, err)
	}
	const packets = 40
	ana.sendPackets(started.Stream, msg, 0, packets)
	for n := range uint32(packets) {
		f := bo.waitFor(fmt.Sprintf("live packet %d on node B", n), func(f wsFrame) bool { return f.binary != nil && f.binary.Stream == live.Stream })
		if f.binary.First != n || !bytes.Equal(f.binary.Packets[0], packet(msg, n)) {
			t.Fatalf("node B got packet %d (%q), want %d", f.binary.First, f.binary.Packets[0], n)
		}
	}
	ana.waitAck(msg, packets)
	id := ana.send(wire.TypeVoiceEnd, wire.VoiceEnd{Message: msg, Packets: packets, DurationMs: packets * 20})
	ana.waitFor("voice.end answer", answerTo(id))
	done := bo.waitFor("voice.done on node B", func(f wsFrame) bool { return f.env.Type == wire.TypeVoiceDone })
	if d, err := wire.Decode[wire.VoiceDone](done.env); err != nil || d.State != wire.StateComplete || d.Packets != packets {
		t.Fatalf("voice.done %+v %v", d, err)
	}
	// Every event pushed to bo came in cursor order, the message's
	// creation and completion among them.
	var last int64
	for _, want := range []wire.MessageState{wire.StateRecording, wire.StateComplete} {
		for found := false; !found; {
			select {
			case ev := <-bo.events:
				if ev.Cursor <= last {
					t.Fatalf("event cursor %d after %d", ev.Cursor, last)
				}
				last = ev.Cursor
				found = ev.Message != nil && ev.Message.ID == msg && ev.Message.State == want
			case <-time.After(waitTimeout):
				t.Fatalf("no event of the message %s on node B", want)
			}
		}
	}

	// Bo signs in on node A too and revokes the laptop connected to B.
	boA := dialNode(t, urlA, wire.Auth{Mode: wire.AuthLogin, Username: "bo", Password: "password-bo", Device: "bo-phone"})
	id = boA.send(wire.TypeDeviceRevoke, wire.DeviceRevoke{Device: bo.welcome.Device.ID})
	boA.waitFor("revoke answer", answerTo(id))
	closed := bo.waitFor("close on node B", func(f wsFrame) bool { return f.err != nil })
	var ce *websocket.CloseError
	if !asCloseError(closed.err, &ce) || ce.Code != wire.CloseRevoked {
		t.Fatalf("node B connection ended with %v, want close code %d", closed.err, wire.CloseRevoked)
	}
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	return errors.As(err, ce)
}

// waitPresence waits until cond holds, looking again each time p's copy
// of the bucket moves.
func waitPresence(t *testing.T, p *Presence, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		p.mu.Lock()
		moved := p.moved
		p.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-moved:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, waitTimeout)
		}
	}
}

// online reports whether p counts user online (failing the test on error).
func online(t *testing.T, p *Presence, user string) bool {
	t.Helper()
	on, err := p.IsOnline(t.Context(), user)
	if err != nil {
		t.Fatalf("is online %s: %v", user, err)
	}
	return on
}

// twoPresences starts nodes a and b on NATS url and returns their
// presence (default TTL).
func twoPresences(t *testing.T, url string) (pa, pb *Presence) {
	t.Helper()
	for _, node := range []struct {
		name string
		p    **Presence
	}{{"a", &pa}, {"b", &pb}} {
		var err error
		if *node.p, err = startBroker(t, url, node.name, discardNode{}).Presence(t.Context(), 0); err != nil {
			t.Fatalf("presence %s: %v", node.name, err)
		}
	}
	return pa, pb
}

// TestPresenceAcrossNodes: connections and talking recorded on one node
// are seen from another, through its watcher; a write made after another
// node's write counts it (first, last, changed).
func TestPresenceAcrossNodes(t *testing.T) {
	url := startNATS(t)
	pa, pb := twoPresences(t, url)
	ctx := t.Context()
	talkingIn := func(p *Presence, user string) string {
		talking, err := p.Talking(ctx)
		if err != nil {
			t.Fatalf("talking: %v", err)
		}
		return talking[user]
	}
	steps := []struct {
		name string
		do   func() (bool, error)
		want bool
		// then, if set, must come to hold on the other node (its watcher).
		other *Presence
		then  func(p *Presence) bool
	}{
		{"first connection on a", func() (bool, error) { return pa.Connect(ctx, "U1", "a/1") }, true,
			pb, func(p *Presence) bool { return online(t, p, "U1") }},
		{"second connection, on b", func() (bool, error) { return pb.Connect(ctx, "U1", "b/1") }, false, nil, nil},
		{"another user's first, on b", func() (bool, error) { return pb.Connect(ctx, "U2", "b/2") }, true,
			pa, func(p *Presence) bool { return online(t, p, "U2") }},
		{"start talking on a", func() (bool, error) { return pa.SetTalking(ctx, "U1", "C1", true) }, true,
			pb, func(p *Presence) bool { return talkingIn(p, "U1") == "C1" }},
		{"start again on a", func() (bool, error) { return pa.SetTalking(ctx, "U1", "C1", true) }, false, nil, nil},
		{"stop in another conversation, on b", func() (bool, error) { return pb.SetTalking(ctx, "U1", "C2", false) }, false, nil, nil},
		{"stop, on b", func() (bool, error) { return pb.SetTalking(ctx, "U1", "C1", false) }, true,
			pa, func(p *Presence) bool { return talkingIn(p, "U1") == "" }},
		{"disconnect on a", func() (bool, error) { return pa.Disconnect(ctx, "U1", "a/1") }, false, nil, nil},
		{"last disconnect, on b", func() (bool, error) { return pb.Disconnect(ctx, "U1", "b/1") }, true,
			pa, func(p *Presence) bool { return !online(t, p, "U1") }},
	}
	for _, st := range steps {
		got, err := st.do()
		if err != nil || got != st.want {
			t.Fatalf("%s: got %v (%v), want %v", st.name, got, err, st.want)
		}
		if st.then != nil {
			waitPresence(t, st.other, st.name+", seen by the other node", func() bool { return st.then(st.other) })
		}
	}
	users, err := pa.Online(ctx)
	if err != nil || !slices.Equal(users, []string{"U2"}) {
		t.Fatalf("online from a: %v %v, want [U2]", users, err)
	}
	// The stop on b ended a's keeping the talk key alive.
	pa.mu.Lock()
	_, kept := pa.mine[talkKey("U1")]
	pa.mu.Unlock()
	if kept {
		t.Errorf("a still keeps U1's talk key alive after b stopped it")
	}
}

// TestPresenceForgetsDeadNode: a node that stops without disconnecting
// its connections (killed) stops putting them; the other nodes forget
// them once they are a TTL old.
func TestPresenceForgetsDeadNode(t *testing.T) {
	url := startNATS(t)
	var offset atomic.Int64 // a's clock runs this far ahead
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	a, err := New(t.Context(), Config{URL: url, NodeID: "a", Logger: testLogger(t), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := a.Start(t.Context(), discardNode{}); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, url, "b", discardNode{})
	const ttl = 30 * time.Second
	pa, err := a.Presence(t.Context(), ttl)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.Presence(t.Context(), ttl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pb.Connect(t.Context(), "U3", "b/1"); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, pa, "b's connection seen by a", func() bool { return online(t, pa, "U3") })
	if err := b.Close(); err != nil { // b dies: its keys stay in the bucket
		t.Fatal(err)
	}
	offset.Store(int64(ttl - time.Second))
	if !online(t, pa, "U3") {
		t.Fatal("U3 forgotten before its key is a TTL old")
	}
	offset.Store(int64(ttl + time.Second))
	if online(t, pa, "U3") {
		t.Fatal("U3 still online a TTL after its node stopped putting it")
	}
	if users, _ := pa.Online(t.Context()); len(users) != 0 {
		t.Fatalf("online = %v after b died, want none", users)
	}
}

// restartableNATS runs a nats-server like startNATS whose restart stops
// it and starts it again on the same port and store (its memory streams,
// the presence bucket among them, are lost).
func restartableNATS(t *testing.T) (url string, restart func()) {
	t.Helper()
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true}
	var ns *natsserver.Server
	run := func() {
		var err error
		if ns, err = natsserver.NewServer(opts); err != nil {
			t.Fatalf("nats server: %v", err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(waitTimeout) {
			t.Fatal("nats server not ready")
		}
	}
	run()
	opts.Port = ns.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns.ClientURL(), func() {
		ns.Shutdown()
		ns.WaitForShutdown()
		run()
	}
}

// TestPresenceAfterNATSRestart: a NATS that restarted has lost the
// bucket; each node makes it again, puts its connections back and
// watches anew, so what one node records afterwards reaches the other.
func TestPresenceAfterNATSRestart(t *testing.T) {
	url, restart := restartableNATS(t)
	pa, pb := twoPresences(t, url)
	ctx := t.Context()
	if _, err := pa.Connect(ctx, "U1", "a/1"); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, pb, "U1 seen by b", func() bool { return online(t, pb, "U1") })
	loads := func(p *Presence) int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.loads
	}
	la, lb := loads(pa), loads(pb)
	restart()
	for _, p := range []*Presence{pa, pb} {
		before := la
		if p == pb {
			before = lb
		}
		waitPresence(t, p, p.b.cfg.NodeID+" loads the bucket again", func() bool { return loads(p) > before })
	}
	// a put U1's connection back into the new bucket: b's new copy has it.
	waitPresence(t, pb, "U1 put back, seen by b", func() bool { return online(t, pb, "U1") })
	first, err := pa.Connect(ctx, "U2", "a/2")
	if err != nil || !first {
		t.Fatalf("connect after the restart: %v %v, want first", first, err)
	}
	waitPresence(t, pb, "U2 seen by b", func() bool { return online(t, pb, "U2") })
	last, err := pa.Disconnect(ctx, "U1", "a/1")
	if err != nil || !last {
		t.Fatalf("disconnect after the restart: %v %v, want last", last, err)
	}
	waitPresence(t, pb, "U1 gone, seen by b", func() bool { return !online(t, pb, "U1") })
}

// lobby returns the id of the Lobby, the client's only conversation.
func (c *wsClient) lobby() string {
	c.t.Helper()
	id := c.send(wire.TypeConversationList, nil)
	convs, err := wire.Decode[wire.Conversations](c.waitFor("conversations", answerTo(id)).env)
	if err != nil || len(convs.Conversations) != 1 || !convs.Conversations[0].Lobby {
		c.t.Fatalf("conversations %+v %v", convs, err)
	}
	return convs.Conversations[0].ID
}

// startVoice sends voice.start and returns the answer.
func (c *wsClient) startVoice(conversation, msg string) wire.VoiceStarted {
	c.t.Helper()
	id := c.send(wire.TypeVoiceStart, wire.VoiceStart{Conversation: conversation, Message: msg, Codec: wire.CodecOpus})
	started, err := wire.Decode[wire.VoiceStarted](c.waitFor("voice.started", answerTo(id)).env)
	if err != nil {
		c.t.Fatal(err)
	}
	return started
}

// sendPackets sends packets from..upto-1 of msg on stream.
func (c *wsClient) sendPackets(stream uint32, msg string, from, upto uint32) {
	c.t.Helper()
	for n := from; n < upto; n++ {
		frame, err := wire.AppendPacket(nil, stream, n, packet(msg, n))
		if err != nil {
			c.t.Fatal(err)
		}
		if err := c.conn.WriteMessage(websocket.BinaryMessage, frame); err != nil {
			c.t.Fatalf("send packet %d: %v", n, err)
		}
	}
}

// waitAck waits for a voice.ack of msg covering upto packets.
func (c *wsClient) waitAck(msg string, upto uint32) {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("ack of %d packets", upto), func(f wsFrame) bool {
		if f.env.Type != wire.TypeVoiceAck {
			return false
		}
		ack, err := wire.Decode[wire.VoiceAck](f.env)
		return err == nil && ack.Message == msg && ack.Upto >= upto
	})
}

// TestTalkerMovesToAnotherNode: the node a talker is on stops in the
// middle of a message (its lease on the recording still running); the
// talker reconnects to another node, which takes the recording over,
// answers with the upto it has stored, and completes the message. A
// listener on the second node hears every packet once, in order.
func TestTalkerMovesToAnotherNode(t *testing.T) {
	natsURL := startNATS(t)
	db := filepath.Join(t.TempDir(), "parley.db")
	urlA, stopA := startNode(t, natsURL, db, "a")
	urlB, _ := startNode(t, natsURL, db, "b")
	ana := dialNode(t, urlA, wire.Auth{Mode: wire.AuthRegister, Username: "ana", Password: "password-ana", Device: "ana-laptop"})
	bo := dialNode(t, urlB, wire.Auth{Mode: wire.AuthRegister, Username: "bo", Password: "password-bo", Device: "bo-laptop"})
	lobby := ana.lobby()
	msg := ulid.Make().String()
	started := ana.startVoice(lobby, msg)
	live, err := wire.Decode[wire.VoiceLive](bo.waitFor("voice.live", func(f wsFrame) bool { return f.env.Type == wire.TypeVoiceLive }).env)
	if err != nil || live.Message.ID != msg {
		t.Fatalf("voice.live %+v %v", live, err)
	}
	const half, total = 30, 60
	ana.sendPackets(started.Stream, msg, 0, half)
	ana.waitAck(msg, half)
	stopA()
	ana.waitFor("node A going away", func(f wsFrame) bool { return f.err != nil })

	ana2 := dialNode(t, urlB, wire.Auth{Mode: wire.AuthToken, Token: ana.welcome.Token})
	resumed := ana2.startVoice(lobby, msg)
	if resumed.State != wire.StateRecording || resumed.Upto != half {
		t.Fatalf("resume on B: %+v, want recording from %d", resumed, half)
	}
	ana2.sendPackets(resumed.Stream, msg, resumed.Upto, total)
	ana2.waitAck(msg, total)
	id := ana2.send(wire.TypeVoiceEnd, wire.VoiceEnd{Message: msg, Packets: total, DurationMs: total * 20})
	end, err := wire.Decode[wire.VoiceAck](ana2.waitFor("voice.end answer", answerTo(id)).env)
	if err != nil || !end.Complete || end.Upto != total {
		t.Fatalf("end on B: %+v %v", end, err)
	}
	for n := range uint32(total) {
		f := bo.waitFor(fmt.Sprintf("live packet %d", n), func(f wsFrame) bool { return f.binary != nil && f.binary.Stream == live.Stream })
		if f.binary.First != n || !bytes.Equal(f.binary.Packets[0], packet(msg, n)) {
			t.Fatalf("bo got packet %d (%q), want %d", f.binary.First, f.binary.Packets[0], n)
		}
	}
	done, err := wire.Decode[wire.VoiceDone](bo.waitFor("voice.done", func(f wsFrame) bool { return f.env.Type == wire.TypeVoiceDone }).env)
	if err != nil || done.State != wire.StateComplete || done.Packets != total {
		t.Fatalf("voice.done %+v %v", done, err)
	}
}
