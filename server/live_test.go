package server

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"parley/server/wire"
)

// talk starts a voice message in conv and returns its client stream.
func (c *client) startVoice(conv, msg string) wire.VoiceStarted {
	c.t.Helper()
	return call[wire.VoiceStarted](c, wire.TypeVoiceStart, wire.VoiceStart{Conversation: conv, Message: msg, Codec: wire.CodecOpus})
}

// waitAck waits until the server has acked at least upto packets of msg.
func (c *client) waitAck(msg string, upto uint32) wire.VoiceAck {
	c.t.Helper()
	f := c.waitFor("voice.ack", func(f frame) bool {
		if f.env == nil || f.env.Type != wire.TypeVoiceAck {
			return false
		}
		a := decodeAs[wire.VoiceAck](f.env)
		return a.Message == msg && a.Upto >= upto
	})
	return decodeAs[wire.VoiceAck](f.env)
}

func (c *client) endVoice(msg string, packets uint32) wire.VoiceAck {
	c.t.Helper()
	return call[wire.VoiceAck](c, wire.TypeVoiceEnd, wire.VoiceEnd{Message: msg, Packets: packets,
		DurationMs: int64(packets) * 20, Waveform: []uint8{1, 50, 200, 90}})
}

func checkPackets(t *testing.T, who, msg string, got [][]byte, want uint32) {
	t.Helper()
	if uint32(len(got)) != want {
		t.Fatalf("%s: %d packets, want %d", who, len(got), want)
	}
	for i, p := range got {
		if !bytes.Equal(p, packetData(msg, uint32(i))) {
			t.Fatalf("%s: packet %d differs from what was sent", who, i)
		}
	}
}

func liveStream(c *client, msg string) uint32 {
	c.t.Helper()
	f := c.waitFor("voice.live", func(f frame) bool {
		return f.env != nil && f.env.Type == wire.TypeVoiceLive && decodeAs[wire.VoiceLive](f.env).Message.ID == msg
	})
	return decodeAs[wire.VoiceLive](f.env).Stream
}

// TestLiveOrLater: A talks in the Lobby while B and C are online: they get
// every packet while A is still sending. D, offline, gets the message
// later through sync and audio.fetch, bit-identical.
func TestLiveOrLater(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	c := register(t, ts, "cy")
	d := register(t, ts, "di")
	dWelcome := d.welcome
	d.close()
	lobby := a.lobby()

	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	if st.Upto != 0 || st.State != wire.StateRecording {
		t.Fatalf("voice.started = %+v", st)
	}
	bStream, cStream := liveStream(b, msg), liveStream(c, msg)

	const total = 150
	var bGot, cGot [][]byte
	for n := uint32(0); n < total; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
		if n%50 == 49 {
			// While A is still talking, B and C already have everything sent.
			for _, l := range []struct {
				c      *client
				stream uint32
				got    *[][]byte
			}{{b, bStream, &bGot}, {c, cStream, &cGot}} {
				for uint32(len(*l.got)) <= n {
					f := l.c.waitFor("live packet", func(f frame) bool { return f.bin != nil && f.bin.Stream == l.stream })
					if f.bin.First != uint32(len(*l.got)) {
						t.Fatalf("live packet %d after %d", f.bin.First, len(*l.got))
					}
					*l.got = append(*l.got, f.bin.Packets...)
				}
			}
		}
	}
	a.waitAck(msg, total)
	if ack := a.endVoice(msg, total); !ack.Complete || ack.Upto != total {
		t.Fatalf("end ack = %+v", ack)
	}
	for _, l := range []struct {
		name   string
		c      *client
		stream uint32
		got    [][]byte
	}{{"bo", b, bStream, bGot}, {"cy", c, cStream, cGot}} {
		rest, done := l.c.collectStream(l.stream)
		if len(rest) != 0 {
			t.Fatalf("%s: %d packets after the live check", l.name, len(rest))
		}
		if done.State != wire.StateComplete || done.Packets != total {
			t.Errorf("%s: voice.done = %+v", l.name, done)
		}
		checkPackets(t, l.name, msg, l.got, total)
	}

	// D comes back later.
	d = reconnect(t, ts, dWelcome)
	page := call[wire.SyncPage](d, wire.TypeSync, wire.Sync{Since: 0})
	var found *wire.Message
	for _, ev := range page.Events {
		if ev.Kind == wire.EventMessage && ev.Message.ID == msg {
			found = ev.Message
		}
	}
	if found == nil || found.State != wire.StateComplete || found.Packets != total || found.DurationMs != total*20 {
		t.Fatalf("D's sync has message %+v", found)
	}
	as := call[wire.AudioStream](d, wire.TypeAudioFetch, wire.AudioFetch{Message: msg})
	got, done := d.collectStream(as.Stream)
	checkPackets(t, "di", msg, got, total)
	if done.State != wire.StateComplete {
		t.Errorf("fetch voice.done = %+v", done)
	}
}

// TestFetchMidTransmission: E opens a message while it is being recorded
// and gets history then the live tail, no gap, no duplicate.
func TestFetchMidTransmission(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	e := register(t, ts, "eve")
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	for n := uint32(0); n < 70; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 70)
	as := call[wire.AudioStream](e, wire.TypeAudioFetch, wire.AudioFetch{Message: msg, From: 0})
	if as.State != wire.StateRecording {
		t.Fatalf("audio.stream = %+v, want recording", as)
	}
	for n := uint32(70); n < 200; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 200)
	a.endVoice(msg, 200)
	got, done := e.collectStream(as.Stream)
	checkPackets(t, "eve", msg, got, 200)
	if done.State != wire.StateComplete || done.Packets != 200 {
		t.Errorf("voice.done = %+v", done)
	}

	// A fetch from the middle of a finished message starts there.
	as = call[wire.AudioStream](e, wire.TypeAudioFetch, wire.AudioFetch{Message: msg, From: 150})
	got, _ = e.collectStreamFrom(as.Stream, 150)
	if len(got) != 50 || !bytes.Equal(got[0], packetData(msg, 150)) {
		t.Errorf("fetch from 150: %d packets", len(got))
	}
}

// TestResumeAfterCut: A's connection is cut mid-message; A reconnects,
// learns upto, resends from a little before it; the message is complete,
// ordered, without duplicates.
func TestResumeAfterCut(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	bStream := liveStream(b, msg)
	for n := uint32(0); n < 60; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 40)
	w := a.welcome
	a.cut()

	a2 := reconnect(t, ts, w)
	st2 := a2.startVoice(lobby.ID, msg)
	if st2.Upto < 40 || st2.Upto > 60 || st2.State != wire.StateRecording {
		t.Fatalf("resume: voice.started = %+v, want upto in [40,60]", st2)
	}
	for n := st2.Upto - 10; n < 120; n++ { // resend some acked packets too
		a2.sendPacket(st2.Stream, n, packetData(msg, n))
	}
	a2.waitAck(msg, 120)
	if ack := a2.endVoice(msg, 120); !ack.Complete {
		t.Fatalf("end: %+v", ack)
	}
	got, done := b.collectStream(bStream)
	checkPackets(t, "bo live", msg, got, 120)
	if done.Packets != 120 {
		t.Errorf("voice.done = %+v", done)
	}
	n, err := ts.packets.PacketCount(t.Context(), msg)
	if err != nil || n != 120 {
		t.Errorf("stored packets = %d, %v; want 120", n, err)
	}
	// Ending again is idempotent.
	if ack := a2.endVoice(msg, 120); !ack.Complete || ack.Upto != 120 {
		t.Errorf("second end: %+v", ack)
	}
}

// TestRestartKeepsAcked: the server is closed mid-message and reopened on
// the same file: every acked packet is there and the sender resumes.
func TestRestartKeepsAcked(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	for n := uint32(0); n < 90; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	acked := a.waitAck(msg, 50).Upto
	w := a.welcome
	ts.stop()
	if code := a.closeCode(); code != wire.CloseGoingAway {
		t.Errorf("close code on shutdown = %d, want %d", code, wire.CloseGoingAway)
	}

	ts2 := startServerAt(t, ts.db)
	if ts2.Epoch() != w.Epoch {
		t.Fatalf("epoch changed across restart: %s -> %s", w.Epoch, ts2.Epoch())
	}
	a2 := reconnect(t, ts2, w)
	st2 := a2.startVoice(lobby.ID, msg)
	if st2.Upto < acked {
		t.Fatalf("after restart upto = %d, but %d were acked", st2.Upto, acked)
	}
	for n := st2.Upto; n < 100; n++ {
		a2.sendPacket(st2.Stream, n, packetData(msg, n))
	}
	a2.waitAck(msg, 100)
	a2.endVoice(msg, 100)
	as := call[wire.AudioStream](a2, wire.TypeAudioFetch, wire.AudioFetch{Message: msg})
	got, _ := a2.collectStream(as.Stream)
	checkPackets(t, "after restart", msg, got, 100)
}

// TestAbandonKeepsWhatArrived: a sender that vanishes leaves an abandoned
// message with what arrived; coming back reopens and completes it.
func TestAbandonKeepsWhatArrived(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.AbandonAfter = 200e6 })
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	bStream := liveStream(b, msg)
	for n := uint32(0); n < 30; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 30)
	w := a.welcome
	a.cut()
	got, done := b.collectStream(bStream)
	if done.State != wire.StateAbandoned || done.Packets != 30 || len(got) != 30 {
		t.Fatalf("abandoned: %d packets, done %+v", len(got), done)
	}

	a2 := reconnect(t, ts, w)
	st2 := a2.startVoice(lobby.ID, msg)
	if st2.State != wire.StateRecording || st2.Upto != 30 {
		t.Fatalf("reopen: %+v", st2)
	}
	for n := uint32(30); n < 45; n++ {
		a2.sendPacket(st2.Stream, n, packetData(msg, n))
	}
	a2.waitAck(msg, 45)
	if ack := a2.endVoice(msg, 45); !ack.Complete || ack.Upto != 45 {
		t.Fatalf("end after reopen: %+v", ack)
	}
}

// TestLateJoinerGetsLive: a device that connects while a message is being
// recorded gets voice.live from where the message is, then the rest.
func TestLateJoinerGetsLive(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	bw := b.welcome
	b.close()
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	for n := uint32(0); n < 25; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 25)
	b = reconnect(t, ts, bw)
	f := b.waitFor("voice.live", isType(wire.TypeVoiceLive))
	live := decodeAs[wire.VoiceLive](f.env)
	if live.Message.ID != msg || live.From != 25 {
		t.Fatalf("late voice.live = %+v, want message %s from 25", live, msg)
	}
	for n := uint32(25); n < 40; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 40)
	a.endVoice(msg, 40)
	got, done := b.collectStreamFrom(live.Stream, 25)
	if len(got) != 15 || done.Packets != 40 {
		t.Errorf("late joiner got %d packets, done %+v", len(got), done)
	}
}

// TestSyncPagesFitAFrame: a page of many large events stays under the
// frame limit and says more follow.
func TestSyncPagesFitAFrame(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	lobby := a.lobby()
	long := string(bytes.Repeat([]byte("y"), wire.MaxTextBytes))
	for i := 0; i < 60; i++ {
		call[wire.TextSent](a, wire.TypeTextSend, wire.TextSend{Conversation: lobby.ID, Message: newID(), Text: long})
	}
	var since int64
	total := 0
	for pages := 0; ; pages++ {
		env := a.request(wire.TypeSync, wire.Sync{Since: since})
		raw, _ := json.Marshal(env)
		if len(raw) > wire.MaxFrameBytes {
			t.Fatalf("page of %d bytes exceeds %d", len(raw), wire.MaxFrameBytes)
		}
		page := decodeAs[wire.SyncPage](&env)
		total += len(page.Events)
		since = page.Next
		if !page.More {
			break
		}
		if pages > 10 {
			t.Fatal("too many pages")
		}
	}
	if total < 61 {
		t.Errorf("synced %d events, want at least 61", total)
	}
}

// TestRestartAbandonsOrphans: a message left recording when the server
// stopped is abandoned after the silence if its sender never returns,
// keeping its packets.
func TestRestartAbandonsOrphans(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	for n := uint32(0); n < 10; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 10)
	w := a.welcome
	ts.stop()

	ts2 := startServerAt(t, ts.db, func(c *Config) { c.AbandonAfter = time.Second })
	b := register(t, ts2, "bo")
	b.waitFor("abandoned", func(f frame) bool {
		if f.env == nil || f.env.Type != wire.TypeEvent {
			return false
		}
		ev := decodeAs[wire.Event](f.env)
		return ev.Message != nil && ev.Message.ID == msg && ev.Message.State == wire.StateAbandoned && ev.Message.Packets == 10
	})
	_ = w
}

// TestCancelWithdraws: a sender who cancels mid-message withdraws it:
// live listeners get voice.done cancelled, the packets are deleted, the
// history says cancelled, and resending cannot revive it.
func TestCancelWithdraws(t *testing.T) {
	ts := startServer(t)
	a := register(t, ts, "ana")
	b := register(t, ts, "bo")
	lobby := a.lobby()
	msg := newID()
	st := a.startVoice(lobby.ID, msg)
	bStream := liveStream(b, msg)
	for n := uint32(0); n < 20; n++ {
		a.sendPacket(st.Stream, n, packetData(msg, n))
	}
	a.waitAck(msg, 20)
	ack := call[wire.VoiceAck](a, wire.TypeVoiceEnd, wire.VoiceEnd{Message: msg, Cancel: true})
	if !ack.Complete {
		t.Fatalf("cancel ack = %+v", ack)
	}
	_, done := b.collectStream(bStream)
	if done.State != wire.StateCancelled {
		t.Errorf("listener's voice.done = %+v, want cancelled", done)
	}
	if n, err := ts.packets.PacketCount(t.Context(), msg); err != nil || n != 0 {
		t.Errorf("stored packets after cancel = %d, %v", n, err)
	}
	page := call[wire.SyncPage](b, wire.TypeSync, wire.Sync{Conversation: lobby.ID})
	last := page.Events[len(page.Events)-1]
	if last.Message == nil || last.Message.ID != msg || last.Message.State != wire.StateCancelled {
		t.Errorf("last event = %+v, want the message cancelled", last)
	}
	if again := a.startVoice(lobby.ID, msg); again.State != wire.StateCancelled {
		t.Errorf("voice.start after cancel = %+v", again)
	}
	// A finished message cannot be withdrawn.
	done2 := newID()
	st2 := a.startVoice(lobby.ID, done2)
	a.sendPacket(st2.Stream, 0, packetData(done2, 0))
	a.waitAck(done2, 1)
	a.endVoice(done2, 1)
	if e := a.callErr(wire.TypeVoiceEnd, wire.VoiceEnd{Message: done2, Cancel: true}); e.Code != wire.CodeMessageClosed {
		t.Errorf("cancel of a complete message: %s", e.Code)
	}
}

// liveFixture is ana talking in the Lobby with bo online, on one server:
// bo has the voice.live of ana's message (on stream).
type liveFixture struct {
	ts      *testServer
	a, b    *client
	lobby   string
	msg     string
	started wire.VoiceStarted
	stream  uint32
}

func newLiveFixture(t *testing.T) liveFixture {
	t.Helper()
	ts := startServer(t)
	f := liveFixture{ts: ts, a: register(t, ts, "ana"), b: register(t, ts, "bo"), msg: newID()}
	f.lobby = f.a.lobby().ID
	f.started = f.a.startVoice(f.lobby, f.msg)
	f.stream = liveStream(f.b, f.msg)
	return f
}

// start is the message's start as the broker carries it, made from the
// store as it is now.
func (f liveFixture) start(t *testing.T) Live {
	t.Helper()
	info, err := f.ts.store.Message(context.Background(), f.msg)
	if err != nil {
		t.Fatal(err)
	}
	members, err := f.ts.store.MemberIDs(context.Background(), f.lobby)
	if err != nil {
		t.Fatal(err)
	}
	return Live{Kind: LiveStart, Conversation: f.lobby, Message: f.msg, Info: &info,
		SenderDevice: f.a.welcome.Device.ID, Members: members}
}

// TestStartAfterStoredPackets: a start that reaches a node only after
// the owner stored packets (in a cluster, the first message on a cold
// node: its view is made from the store) is announced from packet 0 and
// followed by the stored packets, so the listener loses none of them.
func TestStartAfterStoredPackets(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stored   uint32
		wantFrom uint32 // what voice.live says
	}{
		{"a few packets stored", 3, 0},
		{"more than the catch-up", startCatchUp + 1, startCatchUp + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newLiveFixture(t)
			ts, a, b, msg := fx.ts, fx.a, fx.b, fx.msg
			for n := range tc.stored {
				a.sendPacket(fx.started.Stream, n, packetData(msg, n))
			}
			a.waitAck(msg, tc.stored)
			// The node forgets its view, as one the start had not reached.
			ts.viewsMu.Lock()
			delete(ts.views, msg)
			ts.viewsMu.Unlock()
			ts.deliverLive(fx.start(t))
			f := b.waitFor("voice.live again", func(f frame) bool {
				return f.env != nil && f.env.Type == wire.TypeVoiceLive && decodeAs[wire.VoiceLive](f.env).Stream != fx.stream
			})
			live := decodeAs[wire.VoiceLive](f.env)
			if live.From != tc.wantFrom {
				t.Fatalf("voice.live from %d, want %d", live.From, tc.wantFrom)
			}
			a.endVoice(msg, tc.stored)
			got, _ := b.collectStreamFrom(live.Stream, live.From)
			if want := tc.stored - tc.wantFrom; uint32(len(got)) != want {
				t.Fatalf("bo got %d packets after voice.live, want %d", len(got), want)
			}
			for i, p := range got {
				if n := live.From + uint32(i); !bytes.Equal(p, packetData(msg, n)) {
					t.Fatalf("packet %d differs", n)
				}
			}
		})
	}
}

// TestListenerAnnouncedOnce: a device made a listener of a live message
// twice over (the connect's late-join announcement after the start was
// handed over, or a start the broker delivered again) gets voice.live once
// and every packet once. In a cluster a slow connect (presence) left a
// window in which both announced it and every packet came twice.
func TestListenerAnnouncedOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		again func(ts *testServer, l Live, bob []*session)
	}{
		{"late join after the start", func(ts *testServer, l Live, bob []*session) {
			for _, s := range bob {
				ts.announceToLateJoiner(s)
			}
		}},
		{"start delivered again", func(ts *testServer, l Live, _ []*session) { ts.deliverLive(l) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newLiveFixture(t)
			ts, a, b, msg, stream := fx.ts, fx.a, fx.b, fx.msg, fx.stream
			tc.again(ts, fx.start(t), ts.local.of([]string{b.welcome.User.ID}))
			const total = 10
			for n := uint32(0); n < total; n++ {
				a.sendPacket(fx.started.Stream, n, packetData(msg, n))
			}
			a.waitAck(msg, total)
			a.endVoice(msg, total)
			got, done := b.collectStream(stream) // fails on a packet twice
			if done.Packets != total {
				t.Errorf("voice.done = %+v", done)
			}
			checkPackets(t, "bo", msg, got, total)
			for _, f := range b.pending {
				if f.env != nil && f.env.Type == wire.TypeVoiceLive {
					t.Errorf("bo was announced %s again: %s", msg, f)
				}
			}
		})
	}
}
