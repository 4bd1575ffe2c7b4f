package server

// The cluster scenarios: the server's integration scenarios against three
// parleyd nodes on one PostgreSQL and one NATS JetStream, with clients
// spread over the nodes, and the faults (a node SIGKILLed mid-message,
// nats-server and PostgreSQL restarted). .ci/cluster.sh (make
// test-cluster, run by make test) starts the cluster and sets
// PARLEY_CLUSTER to its env file; without it these tests skip, unless
// PARLEY_TEST_CLUSTER=1 says they must run.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/server/wire"
)

// clusterNode is one parleyd of the cluster.
type clusterNode struct{ name, addr string }

func (n clusterNode) url() string { return "wss://" + n.addr + "/v1/ws" }

// testCluster is the running cluster that .ci/cluster.sh described.
type testCluster struct {
	env   map[string]string
	nodes []clusterNode // node-a, node-b, node-c
}

func joinCluster(t *testing.T) *testCluster {
	t.Helper()
	path := os.Getenv("PARLEY_CLUSTER")
	if path == "" {
		if os.Getenv("PARLEY_TEST_CLUSTER") == "1" {
			t.Fatal("PARLEY_TEST_CLUSTER=1 but PARLEY_CLUSTER is not set")
		}
		t.Skip("PARLEY_CLUSTER not set: make test-cluster runs the cluster scenarios")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("cluster env: %v", err)
	}
	defer f.Close()
	c := &testCluster{env: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			c.env[k] = strings.Trim(v, "'")
		}
	}
	for i, addr := range strings.Split(c.env["NODES"], ",") {
		c.nodes = append(c.nodes, clusterNode{name: "node-" + string(rune('a'+i)), addr: addr})
	}
	if len(c.nodes) != 3 {
		t.Fatalf("cluster env %s: nodes %q", path, c.env["NODES"])
	}
	return c
}

// ctl runs .ci/cluster.sh ctl: cmd kill|stop|start, name node-a…|nats|postgres.
func (c *testCluster) ctl(t *testing.T, cmd, name string) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command("bash", "-c", c.env["CTL"]+" "+cmd+" "+name).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster %s %s: %v\n%s", cmd, name, err, out)
	}
	t.Logf("cluster %s %s: %v", cmd, name, time.Since(start).Round(time.Millisecond))
}

// healthy reports whether a node answers /healthz.
func (n clusterNode) healthy() bool {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: testDialer.TLSClientConfig}}
	resp, err := hc.Get("https://" + n.addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// uniqueName makes a username no other test run on this cluster uses
// (letters only: digits have look-alikes).
func uniqueName(base string) string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return base + "-" + string(b)
}

// clusterUsers registers one user per node given, each on its node.
func clusterUsers(t *testing.T, on ...clusterNode) []*client {
	t.Helper()
	var out []*client
	for i, n := range on {
		out = append(out, register(t, n, uniqueName(fmt.Sprintf("u%c", 'a'+i))))
	}
	return out
}

// group makes a group of owner and others (made on owner's node).
func group(owner *client, title string, others ...*client) wire.Conversation {
	owner.t.Helper()
	var ids []string
	for _, o := range others {
		ids = append(ids, o.welcome.User.ID)
	}
	return call[wire.ConversationInfo](owner, wire.TypeConversationCreate, wire.ConversationCreate{
		Kind: wire.ConversationGroup, Title: title, Members: ids}).Conversation
}

// readLive reads live packets of stream from c until it has upto of them.
func readLive(c *client, stream uint32, got *[][]byte, upto uint32) {
	c.t.Helper()
	for uint32(len(*got)) < upto {
		f := c.waitFor("live packet", func(f frame) bool { return f.bin != nil && f.bin.Stream == stream })
		if f.bin.First != uint32(len(*got)) {
			c.t.Fatalf("live packet %d after %d", f.bin.First, len(*got))
		}
		*got = append(*got, f.bin.Packets...)
	}
}

// sendRange sends packets from..to-1 of msg on stream.
func sendRange(c *client, stream uint32, msg string, from, to uint32) {
	for n := from; n < to; n++ {
		c.sendPacket(stream, n, packetData(msg, n))
	}
}

// fetchComplete fetches msg on c and checks it is complete with total
// packets, bit-identical; it returns them.
func fetchComplete(t *testing.T, c *client, who, msg string, total uint32) [][]byte {
	t.Helper()
	as := call[wire.AudioStream](c, wire.TypeAudioFetch, wire.AudioFetch{Message: msg})
	got, done := c.collectStream(as.Stream)
	checkPackets(t, who, msg, got, total)
	if done.State != wire.StateComplete {
		t.Errorf("%s: voice.done = %+v", who, done)
	}
	return got
}

// onceLive checks, after a round trip, that c was announced msg once
// (on stream) and got no packets on any other stream.
func onceLive(t *testing.T, who string, c *client, msg string, stream uint32) {
	t.Helper()
	for _, f := range c.drainUntilAnswer() {
		switch {
		case f.bin != nil && f.bin.Stream != stream:
			t.Errorf("%s: packets %d… on stream %d besides the live stream %d", who, f.bin.First, f.bin.Stream, stream)
		case f.env != nil && f.env.Type == wire.TypeVoiceLive && decodeAs[wire.VoiceLive](f.env).Message.ID == msg:
			t.Errorf("%s: voice.live of %s again (stream %d)", who, msg, decodeAs[wire.VoiceLive](f.env).Stream)
		}
	}
}

// latestAck is the highest ack of msg c has received so far (set aside
// frames included), at least floor.
func latestAck(c *client, msg string, floor uint32) uint32 {
	for _, f := range c.pending {
		if f.env != nil && f.env.Type == wire.TypeVoiceAck {
			if a := decodeAs[wire.VoiceAck](f.env); a.Message == msg && a.Upto > floor {
				floor = a.Upto
			}
		}
	}
	return floor
}

// TestClusterLiveOrLater: the talker on node C, listeners on A and B get
// every packet while it talks; a member offline meanwhile gets it later
// on another node through sync and audio.fetch, bit-identical.
func TestClusterLiveOrLater(t *testing.T) {
	cl := joinCluster(t)
	a, b, c := cl.nodes[0], cl.nodes[1], cl.nodes[2]
	us := clusterUsers(t, c, a, b, a)
	talker, la, lb, off := us[0], us[1], us[2], us[3]
	g := group(talker, "live", la, lb, off)
	offWelcome := off.welcome
	off.close()

	msg := newID()
	st := talker.startVoice(g.ID, msg)
	if st.Upto != 0 || st.State != wire.StateRecording {
		t.Fatalf("voice.started = %+v", st)
	}
	aStream, bStream := liveStream(la, msg), liveStream(lb, msg)
	const total = 150
	var aGot, bGot [][]byte
	for n := uint32(0); n < total; n++ {
		talker.sendPacket(st.Stream, n, packetData(msg, n))
		if n%50 == 49 { // while it talks, both have everything sent so far
			readLive(la, aStream, &aGot, n+1)
			readLive(lb, bStream, &bGot, n+1)
		}
	}
	talker.waitAck(msg, total)
	if ack := talker.endVoice(msg, total); !ack.Complete || ack.Upto != total {
		t.Fatalf("end ack = %+v", ack)
	}
	for _, l := range []struct {
		name   string
		c      *client
		stream uint32
		got    [][]byte
	}{{"listener on A", la, aStream, aGot}, {"listener on B", lb, bStream, bGot}} {
		rest, done := l.c.collectStream(l.stream)
		if len(rest) != 0 || done.State != wire.StateComplete || done.Packets != total {
			t.Errorf("%s: %d packets after the live check, voice.done %+v", l.name, len(rest), done)
		}
		checkPackets(t, l.name, msg, l.got, total)
		onceLive(t, l.name, l.c, msg, l.stream)
	}

	later := reconnect(t, b, offWelcome)
	page := call[wire.SyncPage](later, wire.TypeSync, wire.Sync{Conversation: g.ID})
	var found *wire.Message
	for _, ev := range page.Events {
		if ev.Kind == wire.EventMessage && ev.Message.ID == msg {
			found = ev.Message
		}
	}
	if found == nil || found.State != wire.StateComplete || found.Packets != total || found.DurationMs != total*20 {
		t.Fatalf("later member's sync has %+v", found)
	}
	fetchComplete(t, later, "later on B", msg, total)
}

// TestClusterFetchMidTransmission: a member on node B opens a message that
// is being recorded on node A: the stored packets, then the live tail,
// no gap, no duplicate.
func TestClusterFetchMidTransmission(t *testing.T) {
	cl := joinCluster(t)
	us := clusterUsers(t, cl.nodes[0], cl.nodes[1])
	talker, fetcher := us[0], us[1]
	g := group(talker, "fetch", fetcher)
	msg := newID()
	st := talker.startVoice(g.ID, msg)
	sendRange(talker, st.Stream, msg, 0, 60)
	talker.waitAck(msg, 60)
	as := call[wire.AudioStream](fetcher, wire.TypeAudioFetch, wire.AudioFetch{Message: msg})
	if as.State != wire.StateRecording || as.Packets < 60 {
		t.Fatalf("audio.stream = %+v; want recording with at least 60 stored", as)
	}
	sendRange(talker, st.Stream, msg, 60, 120)
	talker.waitAck(msg, 120)
	talker.endVoice(msg, 120)
	got, done := fetcher.collectStream(as.Stream)
	checkPackets(t, "fetcher on B", msg, got, 120)
	if done.State != wire.StateComplete || done.Packets != 120 {
		t.Errorf("voice.done = %+v", done)
	}
}

// TestClusterResumeAfterCut: the talker's connection to node A is cut mid
// message; it reconnects to node B and resumes from upto; a listener on C
// gets the whole message.
func TestClusterResumeAfterCut(t *testing.T) {
	cl := joinCluster(t)
	us := clusterUsers(t, cl.nodes[0], cl.nodes[2])
	talker, listener := us[0], us[1]
	g := group(talker, "resume", listener)
	msg := newID()
	st := talker.startVoice(g.ID, msg)
	sendRange(talker, st.Stream, msg, 0, 80)
	acked := latestAck(talker, msg, talker.waitAck(msg, 40).Upto)
	w := talker.welcome
	talker.cut()

	again := reconnect(t, cl.nodes[1], w)
	st2 := again.startVoice(g.ID, msg)
	if st2.Upto < acked || st2.State != wire.StateRecording {
		t.Fatalf("resumed on node B: %+v; %d were acked", st2, acked)
	}
	sendRange(again, st2.Stream, msg, st2.Upto, 200)
	again.waitAck(msg, 200)
	if ack := again.endVoice(msg, 200); !ack.Complete {
		t.Fatalf("end = %+v", ack)
	}
	fetchComplete(t, listener, "listener on C", msg, 200)
}

// TestClusterReceiptsAndPresenceMembersOnly: B (node B) listens to a text
// of A (node A): the receipt reaches A and B's phone on node C; A talking
// shows to B; C, outside the group and on node A, sees none of it.
func TestClusterReceiptsAndPresenceMembersOnly(t *testing.T) {
	cl := joinCluster(t)
	us := clusterUsers(t, cl.nodes[0], cl.nodes[1], cl.nodes[0])
	a, b, outsider := us[0], us[1], us[2]
	phone := dial(t, cl.nodes[2].url())
	phone.hello(wire.Auth{Mode: wire.AuthLogin, Username: b.welcome.User.Name, Password: "password-" + b.welcome.User.Name, Device: "phone"})
	g := group(a, "pair", b)
	text := newID()
	call[wire.TextSent](a, wire.TypeTextSend, wire.TextSend{Conversation: g.ID, Message: text, Text: "hello"})
	call[wire.OK](b, wire.TypeReceipt, wire.ReceiptSend{Message: text, Kind: wire.ReceiptListened})
	isReceipt := func(f frame) bool {
		if f.env == nil || f.env.Type != wire.TypeEvent {
			return false
		}
		ev := decodeAs[wire.Event](f.env)
		return ev.Kind == wire.EventReceipt && ev.Receipt.Message == text
	}
	for name, c := range map[string]*client{"A on node A": a, "B's phone on node C": phone} {
		r := decodeAs[wire.Event](c.waitFor("receipt", isReceipt).env).Receipt
		if r.User != b.welcome.User.ID || r.Kind != wire.ReceiptListened || r.Device != b.welcome.Device.ID {
			t.Errorf("%s got receipt %+v", name, r)
		}
	}
	voice := newID()
	a.startVoice(g.ID, voice)
	f := b.waitFor("talking", func(f frame) bool { return len(mentions([]frame{f}, g.ID)) > 0 && f.env.Type == wire.TypePresence })
	if p := entryFor(decodeAs[wire.Presence](f.env).Users, a.welcome.User.ID); p.State != wire.PresenceTalking || p.Conversation != g.ID {
		t.Errorf("B got presence %+v", p)
	}
	// A round trip on every node, so that anything in flight to the
	// outsider has arrived before we look.
	for _, c := range []*client{a, b, phone} {
		c.drainUntilAnswer()
	}
	if leaked := mentions(outsider.drainUntilAnswer(), g.ID); len(leaked) > 0 {
		t.Errorf("the outsider received %v", leaked)
	}
	a.endVoice(voice, 0)
}

// TestClusterBadInput: requests that name another node's state get the
// same typed errors as on one server, and reveal nothing.
func TestClusterBadInput(t *testing.T) {
	cl := joinCluster(t)
	us := clusterUsers(t, cl.nodes[0], cl.nodes[0], cl.nodes[1])
	alice, bob, mallory := us[0], us[1], us[2]
	secret := group(alice, "secret", bob)
	secretText, secretVoice := newID(), newID()
	call[wire.TextSent](alice, wire.TypeTextSend, wire.TextSend{Conversation: secret.ID, Message: secretText, Text: "the code is 1234"})
	st := alice.startVoice(secret.ID, secretVoice)
	alice.sendPacket(st.Stream, 0, packetData(secretVoice, 0))
	alice.waitAck(secretVoice, 1)
	alice.endVoice(secretVoice, 1)

	tests := []struct {
		name string
		c    *client
		typ  string
		req  any
		want wire.Code
	}{
		{"sync a group of another node", mallory, wire.TypeSync, wire.Sync{Conversation: secret.ID}, wire.CodeNotMember},
		{"members", mallory, wire.TypeConversationMembers, wire.ConversationRef{Conversation: secret.ID}, wire.CodeNotMember},
		{"fetch", mallory, wire.TypeAudioFetch, wire.AudioFetch{Message: secretVoice}, wire.CodeNotFound},
		{"receipt", mallory, wire.TypeReceipt, wire.ReceiptSend{Message: secretText, Kind: wire.ReceiptDelivered}, wire.CodeNotFound},
		{"text", mallory, wire.TypeTextSend, wire.TextSend{Conversation: secret.ID, Message: newID(), Text: "hi"}, wire.CodeNotMember},
		{"add self", mallory, wire.TypeConversationAdd, wire.ConversationAdd{Conversation: secret.ID, User: mallory.welcome.User.ID}, wire.CodeNotMember},
		{"voice in it", mallory, wire.TypeVoiceStart, wire.VoiceStart{Conversation: secret.ID, Message: newID(), Codec: wire.CodecOpus}, wire.CodeNotMember},
		{"resume another's message", mallory, wire.TypeVoiceStart, wire.VoiceStart{Conversation: secret.ID, Message: secretVoice, Codec: wire.CodecOpus}, wire.CodeNotMember},
		{"end another's message made on node A", bob, wire.TypeVoiceEnd, wire.VoiceEnd{Message: secretVoice, Packets: 1}, wire.CodeConflict},
		{"listened past the end", bob, wire.TypeReceipt, wire.ReceiptSend{Message: secretVoice, Kind: wire.ReceiptListened, PositionMs: 60_000}, wire.CodeOutOfRange},
		{"direct with an unknown user", mallory, wire.TypeConversationCreate, wire.ConversationCreate{Kind: wire.ConversationDirect, Members: []string{"no-such-user"}}, wire.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if e := tc.c.callErr(tc.typ, tc.req); e.Code != tc.want {
				t.Errorf("code = %s (%s), want %s", e.Code, e.Message, tc.want)
			}
		})
	}
	// A look-alike of alice's name is taken on every node.
	for _, n := range cl.nodes {
		c := dial(t, n.url())
		name := strings.ToUpper(alice.welcome.User.Name)
		e := c.callErr(wire.TypeHello, wire.Hello{Protocol: wire.ProtocolVersion, Auth: wire.Auth{Mode: wire.AuthRegister,
			Username: name, Password: "password-x-long", Device: "d"}})
		if e.Code != wire.CodeUsernameTaken && e.Code != wire.CodeAuthFailed {
			t.Errorf("%s: registering %q: %s (%s), want username_taken", n.name, name, e.Code, e.Message)
		}
	}
	page := call[wire.SyncPage](mallory, wire.TypeSync, wire.Sync{})
	for _, ev := range page.Events {
		if ev.Conversation == secret.ID {
			t.Errorf("mallory's sync includes %+v", ev)
		}
	}
}

// TestClusterPresence: presence spans nodes: a user on node A sees one on
// node B come online and go offline, and a user who signs in on node C
// finds both in the snapshot.
func TestClusterPresence(t *testing.T) {
	cl := joinCluster(t)
	a := clusterUsers(t, cl.nodes[0])[0]
	b := register(t, cl.nodes[1], uniqueName("ub"))
	state := func(who *client, want wire.PresenceState) {
		t.Helper()
		a.waitFor(string(want), func(f frame) bool {
			if f.env == nil || f.env.Type != wire.TypePresence {
				return false
			}
			for _, u := range decodeAs[wire.Presence](f.env).Users {
				if u.User == who.welcome.User.ID && u.State == want {
					return true
				}
			}
			return false
		})
	}
	state(b, wire.PresenceOnline)
	c := register(t, cl.nodes[2], uniqueName("uc"))
	snap := c.waitFor("snapshot", isType(wire.TypePresence))
	online := map[string]bool{}
	for _, u := range decodeAs[wire.Presence](snap.env).Users {
		online[u.User] = u.State == wire.PresenceOnline
	}
	for name, who := range map[string]*client{"a on node A": a, "b on node B": b} {
		if !online[who.welcome.User.ID] {
			t.Errorf("the snapshot on node C does not have %s online: %+v", name, decodeAs[wire.Presence](snap.env).Users)
		}
	}
	b.close()
	state(b, wire.PresenceOffline)
}

// killRuns is how many times TestClusterNodeKilledMidMessage kills the
// talker's node (PARLEY_CLUSTER_KILLS, default 20).
func killRuns() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_CLUSTER_KILLS")); err == nil && n > 0 {
		return n
	}
	return 20
}

// TestClusterNodeKilledMidMessage: the node a talker is on is SIGKILLed
// mid-message; the talker reconnects to another node and resumes from
// upto: no acked packet is lost, the message completes, a listener on a
// third node gets it whole and bit-identical. Run killRuns times in a
// row, each killing node C and starting it again.
func TestClusterNodeKilledMidMessage(t *testing.T) {
	cl := joinCluster(t)
	runs := killRuns()
	for i := range runs {
		if !t.Run(fmt.Sprintf("kill %d", i+1), func(t *testing.T) { nodeKilledOnce(t, cl) }) {
			t.Fatalf("failed at kill %d of %d", i+1, runs)
		}
	}
	t.Logf("%d kills in a row, every acked packet kept", runs)
}

func nodeKilledOnce(t *testing.T, cl *testCluster) {
	victim, other, third := cl.nodes[2], cl.nodes[0], cl.nodes[1]
	us := clusterUsers(t, victim, third)
	talker, listener := us[0], us[1]
	g := group(talker, "killed", listener)
	msg := newID()
	st := talker.startVoice(g.ID, msg)
	lStream := liveStream(listener, msg)
	const total = 300
	sendRange(talker, st.Stream, msg, 0, 150)
	var live [][]byte
	readLive(listener, lStream, &live, 50)
	acked := latestAck(talker, msg, talker.waitAck(msg, 50).Upto)
	w := talker.welcome
	// Packets in flight when the node dies: sent, not waited for.
	sendRange(talker, st.Stream, msg, 150, 200)
	cl.ctl(t, "kill", victim.name)
	talker.closeCode()
	acked = latestAck(talker, msg, acked) // acks that raced the kill count too

	again := reconnect(t, other, w)
	st2 := again.startVoice(g.ID, msg)
	if st2.Upto < acked {
		t.Fatalf("after SIGKILL of %s, %s has %d packets but %d were acked", victim.name, other.name, st2.Upto, acked)
	}
	if st2.State != wire.StateRecording {
		t.Fatalf("resumed message state %s, want recording", st2.State)
	}
	t.Logf("acked %d before SIGKILL, resumed from %d on %s", acked, st2.Upto, other.name)
	sendRange(again, st2.Stream, msg, st2.Upto, total)
	again.waitAck(msg, total)
	if ack := again.endVoice(msg, total); !ack.Complete || ack.Upto != total {
		t.Fatalf("end = %+v", ack)
	}
	got := fetchComplete(t, listener, "listener on "+third.name, msg, total)
	for i, p := range live {
		if !bytes.Equal(p, got[i]) {
			t.Fatalf("live packet %d differs from the stored one", i)
		}
	}
	cl.ctl(t, "start", victim.name)
}

// TestClusterEnginesRestart: nats-server, then PostgreSQL, are killed and
// started again while the cluster is idle; the nodes, not restarted,
// serve again: sign-ins, presence, texts and live audio across nodes.
func TestClusterEnginesRestart(t *testing.T) {
	cl := joinCluster(t)
	for _, engine := range []string{"nats", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			cl.ctl(t, "kill", engine)
			cl.ctl(t, "start", engine)
			// The node's first request may meet a connection the restart
			// broke; it must answer (with an error at worst), and a
			// fresh sign-in must work within a bound.
			deadline := time.Now().Add(30 * time.Second)
			for _, n := range cl.nodes {
				for !n.healthy() {
					if time.Now().After(deadline) {
						t.Fatalf("%s not healthy 30 s after %s came back", n.name, engine)
					}
					time.Sleep(100 * time.Millisecond) // polling a health endpoint
				}
			}
			us := clusterUsers(t, cl.nodes[0], cl.nodes[1], cl.nodes[2])
			// Presence too: node A's user sees node C's come online.
			us[0].waitFor("presence of the user on node C", func(f frame) bool {
				if f.env == nil || f.env.Type != wire.TypePresence {
					return false
				}
				for _, u := range decodeAs[wire.Presence](f.env).Users {
					if u.User == us[2].welcome.User.ID && u.State == wire.PresenceOnline {
						return true
					}
				}
				return false
			})
			g := group(us[0], "after "+engine, us[1], us[2])
			text := newID()
			call[wire.TextSent](us[2], wire.TypeTextSend, wire.TextSend{Conversation: g.ID, Message: text, Text: "still here"})
			for _, c := range us[:2] {
				c.waitFor("text event", func(f frame) bool {
					if f.env == nil || f.env.Type != wire.TypeEvent {
						return false
					}
					ev := decodeAs[wire.Event](f.env)
					return ev.Kind == wire.EventMessage && ev.Message.ID == text
				})
			}
			msg := newID()
			st := us[0].startVoice(g.ID, msg)
			stream := liveStream(us[1], msg)
			sendRange(us[0], st.Stream, msg, 0, 20)
			us[0].waitAck(msg, 20)
			us[0].endVoice(msg, 20)
			got, _ := us[1].collectStream(stream)
			checkPackets(t, "live after "+engine+" restart", msg, got, 20)
		})
	}
}
