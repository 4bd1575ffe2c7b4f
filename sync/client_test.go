package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"parley/server/wire"
)

func TestLiveVoiceAndText(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	a, b := e.client("ann"), e.client("bob")
	lobby := a.lobby()
	b.waitOnline()
	a.waitOnline()

	v, err := a.StartVoice(lobby)
	if err != nil {
		t.Fatal(err)
	}
	// B gets the live stream while A is still talking.
	const n = 60
	got := make(chan error, 1)
	var in Incoming
	go func() {
		select {
		case in = <-b.Incoming():
		case <-time.After(waitTimeout):
			got <- errors.New("no incoming voice")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		for i := 0; ; i++ {
			p, err := in.Source.Next(ctx)
			if errors.Is(err, io.EOF) {
				if i != n {
					got <- fmt.Errorf("EOF after %d packets, want %d", i, n)
					return
				}
				got <- nil
				return
			}
			if err != nil {
				got <- err
				return
			}
			if p.Seq != uint32(i) || string(p.Data) != string(packetData(1, i)) {
				got <- fmt.Errorf("packet %d: seq %d", i, p.Seq)
				return
			}
		}
	}()
	for i := range n / 2 {
		if err := v.Push(packetData(1, i)); err != nil {
			t.Fatal(err)
		}
	}
	// C opens the message mid-transmission: history, then the live tail.
	c := e.client("cyd")
	c.waitOnline()
	c.waitFor("the recording message", func() bool {
		_, err := c.store.Message(context.Background(), v.ID())
		return err == nil
	})
	cDone := make(chan []Packet, 1)
	go func() { cDone <- c.readAll(v.ID()) }()
	for i := n / 2; i < n; i++ {
		if err := v.Push(packetData(1, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.End(n*wire.FrameDuration, []byte{9, 8, 7}); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("B live: %v", err)
	}
	if in.Message.ID != v.ID() || in.Message.SenderName != "ann" {
		t.Errorf("incoming message = %+v", in.Message)
	}
	checkPackets(t, "C open mid-transmission", <-cDone, 1, n)
	id, err := a.SendText(lobby, "after the voice")
	if err != nil {
		t.Fatal(err)
	}
	b.waitFor("text at B", func() bool { _, err := b.store.Message(context.Background(), id); return err == nil })
	ms := b.messages(lobby)
	if len(ms) != 2 || ms[0].ID != v.ID() || ms[1].Text != "after the voice" || ms[0].Seq >= ms[1].Seq {
		t.Fatalf("B messages = %+v", ms)
	}
	m, _ := b.store.Message(context.Background(), v.ID())
	if m.State != wire.StateComplete || m.Packets != n || m.Duration != n*wire.FrameDuration || string(m.Waveform) != "\x09\x08\x07" {
		t.Errorf("B message meta = %+v", m)
	}
	cs, _ := b.store.Conversations(context.Background())
	if len(cs) == 0 || cs[0].Unplayed != 1 {
		t.Errorf("B conversations = %+v, want Lobby with 1 unplayed", cs)
	}
}

func TestOfflineSend(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	a, b := e.client("ann"), e.client("bob")
	lobby := a.lobby()
	a.waitOnline()
	b.waitOnline()
	e.stop()
	a.waitFor("offline", func() bool { s, _ := a.State(); return s == StateOffline })

	// Recorded with no server at all.
	voice := sendVoice(t, a, lobby, 2, 150)
	text, err := a.SendText(lobby, "written offline")
	if err != nil {
		t.Fatal(err)
	}
	if m, _, _ := a.store.OutboxLen(context.Background()); m != 2 {
		t.Fatalf("outbox holds %d messages, want 2", m)
	}
	ms := a.messages(lobby)
	if len(ms) != 2 || !ms[0].Pending || !ms[1].Pending {
		t.Fatalf("A shows %+v, want two pending messages", ms)
	}

	e.start("a.db")
	a.waitOutboxEmpty()
	b.waitFor("both messages at B", func() bool {
		ms := b.messages(lobby)
		return len(ms) == 2 && ms[0].State == wire.StateComplete
	})
	ms = b.messages(lobby)
	if ms[0].ID != voice || ms[1].ID != text || ms[0].Seq >= ms[1].Seq {
		t.Fatalf("B order = %v, %v; want voice then text", ms[0].ID, ms[1].ID)
	}
	checkPackets(t, "B", b.readAll(voice), 2, 150)
	// Exactly once on the server: a fresh device sees the same two.
	c := e.client("cyd")
	c.waitOnline()
	c.waitFor("history", func() bool { return len(c.messages(lobby)) >= 2 })
	if ms := c.messages(lobby); len(ms) != 2 || ms[0].ID != voice || ms[1].ID != text {
		t.Fatalf("server history = %+v", ms)
	}
	am := a.messages(lobby)
	if am[0].Pending || am[1].Pending || am[0].Seq == 0 {
		t.Errorf("A still shows pending: %+v", am)
	}
}

func TestMidMessageDrop(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	a, b := e.client("ann"), e.client("bob")
	lobby := a.lobby()
	a.waitOnline()
	b.waitOnline()
	const rounds, n = 20, 500
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []string
	for r := range rounds {
		msgBytes := 0
		for i := range n {
			msgBytes += len(packetData(100+r, i)) + wire.HeaderBytes + 6
		}
		cutsBefore := a.proxy.cuts
		a.proxy.cutAfter(int64(rng.IntN(msgBytes)))
		id := sendVoice(t, a, lobby, 100+r, n)
		ids = append(ids, id)
		a.waitOutboxEmpty()
		if a.proxy.cuts == cutsBefore {
			t.Logf("round %d: the cut point was not reached", r)
		}
		a.proxy.cutAfter(1 << 62) // disarm
	}
	b.waitFor("every message complete at B", func() bool {
		ms := b.messages(lobby)
		if len(ms) != rounds {
			return false
		}
		for _, m := range ms {
			if m.State != wire.StateComplete {
				return false
			}
		}
		return true
	})
	ms := b.messages(lobby)
	for r, m := range ms {
		if m.ID != ids[r] || m.Packets != n {
			t.Fatalf("B message %d = %s with %d packets, want %s with %d", r, m.ID, m.Packets, ids[r], n)
		}
		checkPackets(t, fmt.Sprintf("B round %d", r), b.readAll(m.ID), 100+r, n)
	}
	// The server holds each packet once: a fresh device fetches exactly n.
	c := e.client("cyd", func(c *Config) { c.Prefetch = -1 })
	c.waitFor("history", func() bool { return len(c.messages(lobby)) == rounds })
	for r, id := range ids {
		checkPackets(t, fmt.Sprintf("server round %d", r), c.readAll(id), 100+r, n)
	}
	if a.proxy.cuts < rounds/2 {
		t.Errorf("only %d cuts happened", a.proxy.cuts)
	}
}

func TestServerRestartSameDB(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	a, b := e.client("ann"), e.client("bob")
	lobby := a.lobby()
	a.waitOnline()
	b.waitOnline()
	first := sendVoice(t, a, lobby, 3, 100)
	a.waitOutboxEmpty()

	// The server goes away in the middle of a message.
	v, err := a.StartVoice(lobby)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		v.Push(packetData(4, i))
	}
	b.waitFor("some packets live at B", func() bool {
		n, _ := b.store.CachedPackets(context.Background(), v.ID())
		return n > 10
	})
	e.stop()
	for i := 100; i < 200; i++ {
		v.Push(packetData(4, i))
	}
	v.End(200*wire.FrameDuration, nil)
	e.start("a.db")
	a.waitOutboxEmpty()
	b.waitFor("second message complete at B", func() bool {
		m, err := b.store.Message(context.Background(), v.ID())
		return err == nil && m.State == wire.StateComplete
	})
	checkPackets(t, "B first", b.readAll(first), 3, 100)
	checkPackets(t, "B second", b.readAll(v.ID()), 4, 200)
}

func TestNewEpochResendsOutbox(t *testing.T) {
	e := newEnv(t)
	e.start("old.db")
	a, b := e.client("ann"), e.client("bob")
	oldLobby := a.lobby()
	a.waitOnline()
	b.waitOnline()
	old, _ := a.SendText(oldLobby, "on the old server")
	a.waitOutboxEmpty()
	oldEpoch, _ := a.store.Account(context.Background())
	e.stop()

	voice := sendVoice(t, a, oldLobby, 5, 80)
	text, _ := a.SendText(oldLobby, "queued for the new server")
	e.start("new.db") // a new database: a new epoch
	a.waitOutboxEmpty()
	acct, _ := a.store.Account(context.Background())
	if acct.Epoch == oldEpoch.Epoch || acct.Epoch == "" {
		t.Fatalf("epoch not updated: %q", acct.Epoch)
	}
	newLobby := a.lobby()
	if newLobby == oldLobby {
		t.Fatalf("lobby id did not change")
	}
	if _, err := a.store.Message(context.Background(), old); !errors.Is(err, ErrNotFound) {
		t.Errorf("message of the old server still cached at A: %v", err)
	}
	b.waitFor("B on the new server sees both", func() bool {
		lobby, _ := b.store.lobbyID(context.Background())
		ms := b.messages(lobby)
		return lobby == newLobby && len(ms) == 2 && ms[0].State == wire.StateComplete
	})
	ms := b.messages(newLobby)
	if ms[0].ID != voice || ms[1].ID != text {
		t.Fatalf("B messages = %+v", ms)
	}
	checkPackets(t, "B", b.readAll(voice), 5, 80)
}

func TestTwoDevicesConverge(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	b := e.client("bob")
	lobby := b.lobby()
	a1 := e.client("ann")
	a1.waitOnline()
	a2 := e.client("ann", func(c *Config) { c.Register = false })
	a2.waitOnline()
	id := sendVoice(t, b, lobby, 6, 50)
	for _, a := range []*testClient{a1, a2} {
		a.waitFor("voice complete", func() bool {
			m, err := a.store.Message(context.Background(), id)
			return err == nil && m.State == wire.StateComplete
		})
	}
	// The message is 1 s long: positions short of it move the position
	// on both devices but leave it unplayed until one reaches the end.
	steps := []struct {
		name     string
		from, to *testClient
		pos      time.Duration
		played   bool
	}{
		{"first device to second", a1, a2, 700 * time.Millisecond, false},
		{"second device moves it back", a2, a1, 300 * time.Millisecond, false},
		{"first device to the end", a1, a2, time.Second, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.from.MarkListened(id, st.pos); err != nil {
				t.Fatal(err)
			}
			want := Playback{Listened: st.played, Position: st.pos}
			st.to.waitFor("playback", func() bool {
				p, _ := st.to.store.Playback(context.Background(), id)
				return p == want
			})
			wantUnplayed := 1
			if st.played {
				wantUnplayed = 0
			}
			for _, c := range []*testClient{a1, a2} {
				cs, _ := c.store.Conversations(context.Background())
				if cs[0].Unplayed != wantUnplayed {
					t.Errorf("unplayed = %d, want %d", cs[0].Unplayed, wantUnplayed)
				}
			}
		})
	}
	// Bob sees ann's listened receipt.
	b.waitFor("receipt at sender", func() bool {
		rs, _ := b.store.Receipts(context.Background(), id)
		for _, r := range rs {
			if r.Kind == wire.ReceiptListened && r.Position == time.Second {
				return true
			}
		}
		return false
	})
}

func TestSignInErrors(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	ok := e.client("ann")
	ok.waitOnline()
	tests := []struct {
		name string
		edit func(*Config)
		want error
	}{
		{"wrong password", func(c *Config) { c.Username, c.Password, c.Register = "ann", "not-her-password", false }, ErrAuthFailed},
		{"taken name, other password", func(c *Config) { c.Username, c.Password = "ann", "not-her-password" }, ErrAuthFailed},
		{"no credentials", func(c *Config) { c.Password = "" }, ErrNoCredentials},
		{"weak password", func(c *Config) { c.Username, c.Password, c.Register = "zoe", "short", true }, ErrWeakPassword},
		{"name with a bidi override", func(c *Config) { c.Username, c.Password, c.Register = "ann\u202e", "long enough", true }, ErrInvalidName},
		{"look-alike of a name in use", func(c *Config) { c.Username, c.Password, c.Register = "\u0430nn", "long enough", true }, ErrAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client("zed", tc.edit)
			select {
			case err := <-c.done:
				if !errors.Is(err, tc.want) || Retryable(err) {
					t.Errorf("Run = %v, want final %v", err, tc.want)
				}
				c.done <- err // for close
			case <-time.After(waitTimeout):
				t.Fatalf("Run did not stop")
			}
		})
	}
	t.Run("server unreachable is retried", func(t *testing.T) {
		c := e.client("yan")
		c.proxy.setBackend("")
		c.proxy.cutAll()
		// The hint carries the state it reports: polling State could miss
		// a short Offline between two retries on a loaded machine.
		var seen error
		deadline := time.NewTimer(waitTimeout)
		defer deadline.Stop()
		for seen == nil {
			select {
			case h, ok := <-c.Hints():
				if !ok {
					t.Fatalf("hints closed before an offline state")
				}
				if cc, isConn := h.(ConnectionChanged); isConn && cc.State == StateOffline {
					seen = cc.Err
				}
			case <-deadline.C:
				t.Fatalf("timed out waiting for offline with a retry error")
			}
		}
		if !errors.Is(seen, ErrServerUnreachable) || !Retryable(seen) {
			t.Errorf("state error = %v, want retryable ErrServerUnreachable", seen)
		}
	})
}

func TestConversationsDevicesSignOut(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	a, b := e.client("ann"), e.client("bob")
	a.waitOnline()
	b.waitOnline()
	ctx := context.Background()
	users, err := a.ListUsers(ctx)
	if err != nil || len(users) != 2 {
		t.Fatalf("ListUsers = %v, %v", users, err)
	}
	bobID := b.me()
	direct, err := a.CreateConversation(ctx, wire.ConversationDirect, "", []string{bobID})
	if err != nil || direct.Kind != wire.ConversationDirect || len(direct.Members) != 2 {
		t.Fatalf("direct = %+v, %v", direct, err)
	}
	again, err := a.CreateConversation(ctx, wire.ConversationDirect, "", []string{bobID})
	if err != nil || again.ID != direct.ID {
		t.Errorf("second direct = %v, %v; want the same %s", again.ID, err, direct.ID)
	}
	group, err := a.CreateConversation(ctx, wire.ConversationGroup, "band", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddMember(ctx, group.ID, bobID); err != nil {
		t.Fatal(err)
	}
	// Bob learns he was added from a delta event and reads the members.
	b.waitFor("bob in the band", func() bool {
		c, err := b.store.Conversation(ctx, group.ID)
		return err == nil && c.Member && len(c.Members) == 2
	})
	id, _ := a.SendText(group.ID, "hello band")
	b.waitFor("group message", func() bool { _, err := b.store.Message(ctx, id); return err == nil })
	if err := b.Leave(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	a.waitFor("bob left", func() bool {
		c, err := a.store.Conversation(ctx, group.ID)
		return err == nil && len(c.Members) == 1
	})
	if c, _ := b.store.Conversation(ctx, group.ID); c.Member {
		t.Errorf("bob still a member after Leave")
	}
	// A message to a conversation one is not in fails for good.
	bad, _ := b.SendText(group.ID, "too late")
	b.waitFor("failed message", func() bool { m, _ := b.store.Message(ctx, bad); return m.State == StateFailed })

	// A second device, revoked from the first, stops for good.
	a2 := e.client("ann", func(c *Config) { c.Register = false })
	a2.waitOnline()
	devs, err := a.ListDevices(ctx)
	if err != nil || len(devs) != 2 {
		t.Fatalf("ListDevices = %v, %v", devs, err)
	}
	acct2, _ := a2.store.Account(ctx)
	if err := a.RevokeDevice(ctx, acct2.DeviceID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a2.done:
		if !errors.Is(err, ErrRevoked) {
			t.Errorf("revoked device Run = %v, want ErrRevoked", err)
		}
		a2.done <- err
	case <-time.After(waitTimeout):
		t.Fatal("revoked device kept running")
	}
	if tok, _ := a2.store.Token(ctx); tok != "" {
		t.Errorf("revoked token kept")
	}
	if err := b.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-b.done:
		if !errors.Is(err, ErrSignedOut) {
			t.Errorf("Run after SignOut = %v", err)
		}
		b.done <- err
	case <-time.After(waitTimeout):
		t.Fatal("Run kept going after SignOut")
	}
}

// TestCancelWithdraws: a voice message cancelled once the server knows it
// is hidden at once on the sender, withdrawn from the server, and
// disappears from a listener's history; its live stream ends. That holds
// also when no packet was pushed yet (Esc right after the talk key): the
// server already has the voice.start and the listener already plays it.
func TestCancelWithdraws(t *testing.T) {
	for _, tc := range []struct {
		name    string
		packets int
	}{
		{"after packets", 10},
		{"before any packet", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.start("a.db")
			a, b := e.client("ann"), e.client("bob")
			lobby := a.lobby()
			b.waitOnline()
			a.waitOnline()

			v, err := a.StartVoice(lobby)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tc.packets; i++ {
				if err := v.Push(packetData(7, i)); err != nil {
					t.Fatal(err)
				}
			}
			var in Incoming
			select {
			case in = <-b.Incoming():
			case <-time.After(waitTimeout):
				t.Fatal("no incoming voice at bob")
			}
			if err := v.Cancel(); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			for _, m := range a.messages(lobby) {
				if m.ID == v.ID() {
					t.Errorf("sender still lists the cancelled message: %+v", m)
				}
			}
			if err := v.Push([]byte{1}); !errors.Is(err, ErrVoiceEnded) {
				t.Errorf("Push after Cancel: %v, want ErrVoiceEnded", err)
			}
			a.waitOutboxEmpty()
			b.waitFor("message withdrawn", func() bool {
				m, err := b.Store().Message(context.Background(), v.ID())
				return err == nil && m.State == wire.StateCancelled
			})
			for _, m := range b.messages(lobby) {
				if m.ID == v.ID() {
					t.Errorf("listener still lists the cancelled message: %+v", m)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			for {
				if _, err := in.Source.Next(ctx); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Errorf("live source after cancel: %v, want EOF", err)
					}
					break
				}
			}
		})
	}
}

// TestRenameReachesMembers: a rename answered by the server is in the
// renamer's store at once and reaches the other member's through events.
func TestRenameReachesMembers(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	a := e.client("ann")
	a.waitOnline()
	b := e.client("bob")
	b.waitOnline()
	ctx := context.Background()
	users, err := a.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bobID string
	for _, u := range users {
		if u.Name == "bob" {
			bobID = u.ID
		}
	}
	g, err := a.CreateConversation(ctx, wire.ConversationGroup, "g", []string{bobID})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Rename(ctx, g.ID, "Night shift"); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if c, _ := a.store.Conversation(ctx, g.ID); c.Title != "Night shift" {
		t.Errorf("renamer's title = %q", c.Title)
	}
	b.waitFor("renamed at the other member", func() bool {
		c, err := b.store.Conversation(ctx, g.ID)
		return err == nil && c.Title == "Night shift"
	})
	var re *RequestError
	if err := a.Rename(ctx, g.ID, ""); !errors.As(err, &re) || re.Code() != wire.CodeInvalidName {
		t.Errorf("empty title: %v, want an invalid_name answer", err)
	}
}

// TestLiveFromMemory: the Incoming source hands out live packets from
// memory as they are read off the connection (Arrived set), in order, and
// the time from arrival to the reader is printed and bounded.
func TestLiveFromMemory(t *testing.T) {
	e := newEnv(t)
	e.start("a.db")
	a, b := e.client("ann"), e.client("bob")
	lobby := a.lobby()
	b.waitOnline()
	a.waitOnline()

	v, err := a.StartVoice(lobby)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Push(packetData(3, 0)); err != nil {
		t.Fatal(err)
	}
	var in Incoming
	select {
	case in = <-b.Incoming():
	case <-time.After(waitTimeout):
		t.Fatal("no incoming voice at bob")
	}
	defer in.Source.Close()
	if in.Arrived.IsZero() {
		t.Error("Incoming.Arrived is zero")
	}
	const n = 50
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// The talker pushes at the pace of speech, one packet per 20 ms.
	pushed := make(chan error, 1)
	go func() {
		tick := time.NewTicker(wire.FrameDuration)
		defer tick.Stop()
		for i := 1; i < n; i++ {
			<-tick.C
			if err := v.Push(packetData(3, i)); err != nil {
				pushed <- err
				return
			}
		}
		pushed <- nil
	}()
	var lat []time.Duration
	for i := range n {
		p, err := in.Source.Next(ctx)
		if err != nil {
			t.Fatalf("Next %d: %v", i, err)
		}
		if p.Seq != uint32(i) || string(p.Data) != string(packetData(3, i)) {
			t.Fatalf("packet %d: got seq %d (data ok %v)", i, p.Seq, string(p.Data) == string(packetData(3, i)))
		}
		if p.Arrived.IsZero() {
			t.Fatalf("packet %d came from the store, not from the live feed", i)
		}
		lat = append(lat, time.Since(p.Arrived))
	}
	if err := <-pushed; err != nil {
		t.Fatal(err)
	}
	slices.Sort(lat)
	p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
	t.Logf("live packet arrival -> source reader: p50 %v, p95 %v, max %v", p50, p95, lat[len(lat)-1])
	if p50 > 5*time.Millisecond {
		t.Errorf("arrival -> reader p50 %v, want <= 5ms", p50)
	}
	if err := v.End(n*wire.FrameDuration, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Source.Next(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the end: %v, want EOF", err)
	}
}

func TestLiveFeedTake(t *testing.T) {
	at := time.Unix(1, 0)
	tests := []struct {
		name    string
		push    []uint32 // first packet of one-packet pushes
		next    uint32
		skipGap bool
		want    uint32
		ok      bool
	}{
		{"empty", nil, 0, false, 0, false},
		{"head", []uint32{0, 1}, 0, false, 0, true},
		{"older dropped", []uint32{0, 1, 2}, 2, false, 2, true},
		{"gap waits", []uint32{5}, 3, false, 0, false},
		{"gap skipped", []uint32{5}, 3, true, 5, true},
		{"all older", []uint32{0, 1}, 4, true, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newLiveFeed()
			for _, s := range tc.push {
				f.push(s, [][]byte{{byte(s)}}, at)
			}
			p, ok := f.take(tc.next, tc.skipGap)
			if ok != tc.ok || ok && (p.Seq != tc.want || p.Data[0] != byte(tc.want) || !p.Arrived.Equal(at)) {
				t.Errorf("take(%d, %v) = %+v, %v; want seq %d, %v", tc.next, tc.skipGap, p, ok, tc.want, tc.ok)
			}
		})
	}
	f := newLiveFeed()
	for i := range maxFeedPackets + 10 {
		f.push(uint32(i), [][]byte{{1}}, at)
	}
	if p, ok := f.take(0, true); !ok || p.Seq != 10 {
		t.Errorf("bounded feed: first kept %d, %v; want 10", p.Seq, ok)
	}
	f.close()
	f.push(2000, [][]byte{{1}}, at)
	if _, ok := f.take(0, true); ok {
		t.Error("closed feed returned a packet")
	}
}
