package app

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"parley/audio"
	"parley/server"
	"parley/sync"
	"parley/ui"
)

// liveEnv is a TLS server on 127.0.0.1, a talker (a bare
// sync.Client) and a listener built from this package's messenger, player
// and live router over the null audio backend. No ui: the router must
// start live playback on its own.
type liveEnv struct {
	t      *testing.T
	addr   string
	talker *sync.Client
	lobby  string
	msgr   *messenger
	pl     *player
	router *liveRouter
	sys    *audioSys
	hints  *hintBus
	// srvClose stops the server.
	srvClose func()
}

func newLiveEnv(t *testing.T, policy livePolicy) *liveEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(server.Config{DBPath: filepath.Join(t.TempDir(), "server.db"), Name: "test",
		PasswordTime: 1, PasswordMemoryKiB: 1024, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := server.LoadCertificate(t.TempDir(), "test", false)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.ListenTLS("127.0.0.1:0", cert)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	e := &liveEnv{t: t, addr: ln.Addr().String(), hints: newHintBus()}
	e.sys = startAudio(audio.Config{Backend: audio.BackendNull, Logger: log}, log)
	e.msgr = newMessenger(t.TempDir(), "bob-desktop", log, e.hints)
	e.pl = newPlayer(e.sys, e.msgr, e.hints, log)
	e.router = newLiveRouter(e.sys, e.pl, policy, log)
	e.msgr.router = e.router

	e.srvClose = func() {
		hs.Close() // stops accepting; the WebSockets are the server's
		srv.Close()
		<-served
	}
	t.Cleanup(func() { // reverse order of start
		e.hints.close()
		e.pl.close()
		e.msgr.Close()
		e.sys.close()
		e.srvClose()
	})
	e.talker = e.newTalker("ann")
	if _, err := e.sys.wait(); err != nil {
		t.Fatalf("null audio engine: %v", err)
	}
	if err := e.msgr.Connect(e.addr); err != nil {
		t.Fatal(err)
	}
	if err := e.msgr.SignUp("bob", "password of bob"); err != nil {
		t.Fatal(err)
	}
	e.lobby = e.waitLobby()
	return e
}

// newTalker signs up a bare sync client, online when it returns.
func (e *liveEnv) newTalker(name string) *sync.Client {
	t := e.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := sync.New(sync.Config{URL: e.addr, StorePath: filepath.Join(t.TempDir(), name+".db"), Username: name,
		Password: "password of " + name, Register: true, DeviceName: name + "-desktop", Logger: log, Trace: syncTrace()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		c.Run(ctx)
	}()
	t.Cleanup(func() { // runs before the env's cleanup (registered later)
		cancel()
		<-ran
		c.Close()
	})
	waitOnline(t, c)
	return c
}

// waitLobby reads the listener's hints until the Lobby is listed.
func (e *liveEnv) waitLobby() string {
	var id string
	e.waitHint("the Lobby", func() bool {
		cs, _ := e.msgr.Conversations()
		for _, c := range cs {
			if c.Lobby {
				id = c.ID
			}
		}
		return id != ""
	})
	return id
}

// waitHint drains the listener's hint bus (what ui would read) until cond
// holds.
func (e *liveEnv) waitHint(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-e.hints.ch:
		case <-deadline.C:
			e.t.Fatalf("%s: not within 20s", what)
		}
	}
}

func waitOnline(t *testing.T, c *sync.Client) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if st, _ := c.State(); st == sync.StateOnline {
			return
		}
		select {
		case _, ok := <-c.Hints():
			if !ok {
				t.Fatal("talker's hints closed")
			}
		case <-deadline:
			t.Fatal("talker not online within 20s")
		}
	}
}

// talk sends n packets of real Opus (a 440 Hz tone) at the pace of
// speech, then ends the message; it returns the message id at once and
// reports on done.
func (e *liveEnv) talk(c *sync.Client, conv string, n int) (id string, done <-chan error) {
	e.t.Helper()
	pcm := make([]int16, n*audio.FrameSamples)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/audio.SampleRate))
	}
	pkts, err := audio.EncodePCM(pcm, audio.EncoderConfig{})
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := c.StartVoice(conv)
	if err != nil {
		e.t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() {
		tick := time.NewTicker(audio.FrameDuration)
		defer tick.Stop()
		for _, p := range pkts {
			if err := v.Push(p.Data); err != nil {
				ch <- err
				return
			}
			<-tick.C
		}
		ch <- v.End(time.Duration(len(pkts))*audio.FrameDuration, []byte{1, 2, 3})
	}()
	return v.ID(), ch
}

// TestLiveRouterPlaysOnItsOwn: with the Lobby open and no ui at all, a
// live message from ann starts playing at bob's as it arrives; its first
// packet reaches the jitter buffer within 5 ms of being read off the
// connection. The listener hears it to the end.
func TestLiveRouterPlaysOnItsOwn(t *testing.T) {
	audio.EnableTrace(true) // before the clients start: sync's hook is set at sign-in
	defer audio.EnableTrace(false)
	e := newLiveEnv(t, livePolicy{AutoPlay: true})
	e.router.OpenConversation(e.lobby)
	id, done := e.talk(e.talker, e.lobby, 100)
	var cur *audio.Player
	e.waitHint("bob plays ann's live message", func() bool {
		pb := e.pl.Playback()
		e.pl.mu.Lock()
		cur = e.pl.cur
		e.pl.mu.Unlock()
		// Playing is reported when the player starts; its first packet
		// reaches the mixer a moment later (hints keep coming with the
		// message's packets).
		return pb.Message == id && pb.State == ui.PlayPlaying && cur != nil && !cur.StartTimes().Played.IsZero()
	})
	st := cur.StartTimes()
	toJitter, toMixer := st.Pushed.Sub(st.Arrived), st.Played.Sub(st.Arrived)
	t.Logf("first packet: arrival -> jitter buffer %v, arrival -> mixer %v (jitter target %v)", toJitter, toMixer, cur.JitterStats().Delay)
	if st.Arrived.IsZero() {
		t.Fatal("the live packets did not come from sync's live feed (no arrival time)")
	}
	if toJitter > 5*time.Millisecond {
		t.Errorf("first packet reached the jitter buffer %v after its arrival, want <= 5ms", toJitter)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("jitter at the talker's end: %+v", cur.JitterStats())
	e.waitHint("bob hears it to the end", func() bool {
		pb := e.pl.Playback()
		return pb.Message == id && pb.State == ui.PlayFinished && pb.Position >= 1900*time.Millisecond
	})
	stats := audio.TraceReport()
	t.Logf("per-stage latency (pre-encoded packets, talker and listener in this process):\n%s", audio.FormatTrace(stats))
	have := map[audio.Stage]bool{}
	for _, s := range stats {
		have[s.Stage] = true
	}
	for _, s := range []audio.Stage{audio.StageSend, audio.StageServer, audio.StageReceive, audio.StageJitter, audio.StageDecode, audio.StageMixer, audio.StageDevice} {
		if !have[s] {
			t.Errorf("trace has no %v stage", s)
		}
	}
}

// TestLiveDecide: which live messages start by themselves.
func TestLiveDecide(t *testing.T) {
	tests := []struct {
		name   string
		policy livePolicy
		conv   string // the live message's conversation; "open" is shown
		muted  bool
		want   error
	}{
		{"open conversation", livePolicy{AutoPlay: true}, "open", false, nil},
		{"auto-play off", livePolicy{}, "open", false, errLiveOff},
		{"muted", livePolicy{AutoPlay: true, OtherConversations: true}, "open", true, errLiveMuted},
		{"other conversation", livePolicy{AutoPlay: true}, "other", false, errLiveElsewhere},
		{"other conversation allowed", livePolicy{AutoPlay: true, OtherConversations: true}, "other", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decideLive(tc.policy, "open", tc.muted, tc.conv); !errors.Is(got, tc.want) {
				t.Errorf("decideLive = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLiveRouterTalkers: a second talker while one plays is not started
// one at a time, and plays alongside when the policy mixes.
func TestLiveRouterTalkers(t *testing.T) {
	for _, mixed := range []bool{false, true} {
		name := "one at a time"
		if mixed {
			name = "mixed"
		}
		t.Run(name, func(t *testing.T) {
			e := newLiveEnv(t, livePolicy{AutoPlay: true, Mixed: mixed})
			e.router.OpenConversation(e.lobby)
			cyd := e.newTalker("cyd")
			first, done1 := e.talk(e.talker, e.lobby, 150)
			e.waitHint("bob plays ann", func() bool {
				pb := e.pl.Playback()
				return pb.Message == first && pb.State == ui.PlayPlaying
			})
			second, done2 := e.talk(cyd, e.lobby, 50)
			if err := <-done2; err != nil {
				t.Fatal(err)
			}
			e.waitHint("cyd's message complete at bob", func() bool {
				m, err := e.msgr.Message(second)
				return err == nil && m.State == sync.StateComplete && !m.Pending
			})
			wantPlayed, wantDeclined := 1, 1
			if mixed {
				wantPlayed, wantDeclined = 2, 0
			}
			if played, declined := e.router.counts(); played != wantPlayed || declined != wantDeclined {
				t.Errorf("router played %d, declined %d; want %d, %d", played, declined, wantPlayed, wantDeclined)
			}
			if pb := e.pl.Playback(); pb.Message != first {
				t.Errorf("the player shows %s, want ann's %s still", pb.Message, first)
			}
			if err := <-done1; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLiveRouterLateOpen: ann's live message arrives while bob's window
// shows no conversation (a device that connects mid-transmission gets
// voice.live before its window opens one). It waits; when bob opens the
// Lobby a second later it plays from its first packet, caught up at 1.5x,
// and ends at the live edge, not a second behind.
func TestLiveRouterLateOpen(t *testing.T) {
	e := newLiveEnv(t, livePolicy{AutoPlay: true})
	const packets = 200 // 4 s
	id, done := e.talk(e.talker, e.lobby, packets)
	e.waitHint("ann's message at bob", func() bool {
		m, err := e.msgr.Message(id)
		return err == nil && m.ID == id
	})
	// Bob opens the Lobby a second into the message (the duration is
	// what the test simulates: the window opening late).
	<-time.After(time.Second)
	if played, declined := e.router.counts(); played != 0 || declined != 1 {
		t.Fatalf("before the Lobby opens: router played %d, declined %d; want 0, 1", played, declined)
	}
	e.router.OpenConversation(e.lobby)
	e.waitHint("bob plays ann's live message", func() bool {
		pb := e.pl.Playback()
		return pb.Message == id && pb.State == ui.PlayPlaying
	})
	e.pl.mu.Lock()
	cur := e.pl.cur
	e.pl.mu.Unlock()
	e.checkCaughtUp(t, cur, id, done, packets)
	if played, declined := e.router.counts(); played != 1 || declined != 0 {
		t.Errorf("router played %d, declined %d; want 1, 0", played, declined)
	}
}

// TestPlayRecordingCatchesUp: bob, who does not auto-play, presses play on
// ann's message a second after she began: he hears it from its start,
// caught up at 1.5x, and ends at the live edge.
func TestPlayRecordingCatchesUp(t *testing.T) {
	e := newLiveEnv(t, livePolicy{})
	e.router.OpenConversation(e.lobby)
	const packets = 200 // 4 s
	id, done := e.talk(e.talker, e.lobby, packets)
	e.waitHint("ann's message at bob", func() bool {
		m, err := e.msgr.Message(id)
		return err == nil && m.ID == id
	})
	<-time.After(time.Second) // bob presses play a second in (what the test simulates)
	if err := e.pl.Play(id, 0, 1); err != nil {
		t.Fatal(err)
	}
	e.pl.mu.Lock()
	cur, live := e.pl.cur, e.pl.live
	e.pl.mu.Unlock()
	if !live {
		t.Fatal("a message being recorded was opened as a stored one: it cannot catch up")
	}
	e.checkCaughtUp(t, cur, id, done, packets)
}

// checkCaughtUp waits for ann's message of packets to end (done) and for
// bob's player cur to finish it, and checks that he heard all of it and
// ended at the live edge.
func (e *liveEnv) checkCaughtUp(t *testing.T, cur *audio.Player, id string, done <-chan error, packets int) {
	t.Helper()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	e.waitHint("bob hears it to the end", func() bool {
		pb := e.pl.Playback()
		return pb.Message == id && pb.State == ui.PlayFinished
	})
	behind := time.Since(ended)
	pb, st := e.pl.Playback(), cur.JitterStats()
	t.Logf("finished at %v, %v after ann's end; jitter %+v", pb.Position, behind, st)
	// Once at the live edge the jitter buffer may shed a frame over its
	// target by a drop, as for any live stream; the backlog is not dropped.
	if want := time.Duration(packets) * audio.FrameDuration; pb.Position != want || st.Played < packets-5 {
		t.Errorf("bob's player finished at %v having played %d packets, want the whole message (%v, %d)", pb.Position, st.Played, want, packets)
	}
	// At 1x from the start bob would end a second or more late; caught
	// up, he ends at the live edge: the jitter target (the network's
	// jitter, a few ms here on a quiet machine) and a little more.
	if bound := st.Delay + 300*time.Millisecond; behind > bound {
		t.Errorf("bob finished %v after ann stopped, want the live edge (<= jitter target %v + 300 ms)", behind, st.Delay)
	}
}
