package natsbroker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	gosync "sync"
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
	id := ana.send(wire.TypeConversationList, nil)
	convs, err := wire.Decode[wire.Conversations](ana.waitFor("conversations", answerTo(id)).env)
	if err != nil || len(convs.Conversations) != 1 || !convs.Conversations[0].Lobby {
		t.Fatalf("conversations %+v %v", convs, err)
	}
	lobby := convs.Conversations[0].ID

	msg := ulid.Make().String()
	id = ana.send(wire.TypeVoiceStart, wire.VoiceStart{Conversation: lobby, Message: msg, Codec: wire.CodecOpus})
	started, err := wire.Decode[wire.VoiceStarted](ana.waitFor("voice.started", answerTo(id)).env)
	if err != nil {
		t.Fatal(err)
	}
	liveFrame := bo.waitFor("voice.live on node B", func(f wsFrame) bool { return f.env.Type == wire.TypeVoiceLive })
	live, err := wire.Decode[wire.VoiceLive](liveFrame.env)
	if err != nil || live.Message.ID != msg {
		t.Fatalf("voice.live %+v %v", live, err)
	}
	const packets = 40
	for n := range uint32(packets) {
		frame, err := wire.AppendPacket(nil, started.Stream, n, packet(msg, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := ana.conn.WriteMessage(websocket.BinaryMessage, frame); err != nil {
			t.Fatal(err)
		}
	}
	for n := range uint32(packets) {
		f := bo.waitFor(fmt.Sprintf("live packet %d on node B", n), func(f wsFrame) bool { return f.binary != nil && f.binary.Stream == live.Stream })
		if f.binary.First != n || !bytes.Equal(f.binary.Packets[0], packet(msg, n)) {
			t.Fatalf("node B got packet %d (%q), want %d", f.binary.First, f.binary.Packets[0], n)
		}
	}
	ana.waitFor("ack of every packet", func(f wsFrame) bool {
		if f.env.Type != wire.TypeVoiceAck {
			return false
		}
		ack, err := wire.Decode[wire.VoiceAck](f.env)
		return err == nil && ack.Upto == packets
	})
	id = ana.send(wire.TypeVoiceEnd, wire.VoiceEnd{Message: msg, Packets: packets, DurationMs: packets * 20})
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

// TestPresenceAcrossNodes: connections and talking recorded on one node
// are seen from another.
func TestPresenceAcrossNodes(t *testing.T) {
	url := startNATS(t)
	a := startBroker(t, url, "a", discardNode{})
	b := startBroker(t, url, "b", discardNode{})
	ctx := t.Context()
	pa, err := a.Presence(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.Presence(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want bool, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s: %v (%v), want %v", what, got, err, want)
		}
	}
	first, err := pa.Connect(ctx, "U1", "a/1")
	check("first connection on a", first, true, err)
	first, err = pb.Connect(ctx, "U1", "b/1")
	check("second connection on b", first, false, err)
	online, err := pb.IsOnline(ctx, "U1")
	check("online seen from b", online, true, err)
	users, err := pb.Online(ctx)
	if err != nil || !slices.Equal(users, []string{"U1"}) {
		t.Fatalf("online from b: %v %v", users, err)
	}
	changed, err := pa.SetTalking(ctx, "U1", "C1", true)
	check("start talking", changed, true, err)
	talking, err := pb.Talking(ctx)
	if err != nil || talking["U1"] != "C1" || len(talking) != 1 {
		t.Fatalf("talking from b: %v %v", talking, err)
	}
	changed, err = pb.SetTalking(ctx, "U1", "C2", false)
	check("stop in another conversation", changed, false, err)
	changed, err = pb.SetTalking(ctx, "U1", "C1", false)
	check("stop, from b", changed, true, err)
	if talking, err := pa.Talking(ctx); err != nil || len(talking) != 0 {
		t.Fatalf("talking after stop: %v %v", talking, err)
	}
	last, err := pa.Disconnect(ctx, "U1", "a/1")
	check("disconnect on a", last, false, err)
	last, err = pb.Disconnect(ctx, "U1", "b/1")
	check("disconnect on b", last, true, err)
	online, err = pa.IsOnline(ctx, "U1")
	check("online after both left", online, false, err)
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
	id := ana.send(wire.TypeConversationList, nil)
	convs, err := wire.Decode[wire.Conversations](ana.waitFor("conversations", answerTo(id)).env)
	if err != nil || len(convs.Conversations) != 1 {
		t.Fatalf("conversations %+v %v", convs, err)
	}
	lobby := convs.Conversations[0].ID

	msg := ulid.Make().String()
	id = ana.send(wire.TypeVoiceStart, wire.VoiceStart{Conversation: lobby, Message: msg, Codec: wire.CodecOpus})
	started, err := wire.Decode[wire.VoiceStarted](ana.waitFor("voice.started on A", answerTo(id)).env)
	if err != nil {
		t.Fatal(err)
	}
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
	id = ana2.send(wire.TypeVoiceStart, wire.VoiceStart{Conversation: lobby, Message: msg, Codec: wire.CodecOpus})
	resumed, err := wire.Decode[wire.VoiceStarted](ana2.waitFor("voice.started on B", answerTo(id)).env)
	if err != nil || resumed.State != wire.StateRecording || resumed.Upto != half {
		t.Fatalf("resume on B: %+v %v, want recording from %d", resumed, err, half)
	}
	ana2.sendPackets(resumed.Stream, msg, resumed.Upto, total)
	ana2.waitAck(msg, total)
	id = ana2.send(wire.TypeVoiceEnd, wire.VoiceEnd{Message: msg, Packets: total, DurationMs: total * 20})
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
