package ui

import (
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"parley/sync"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC // bubbles show local time; goldens need one zone
	os.Exit(m.Run())
}

type harness struct {
	u    *UI
	m    *fakeMessenger
	rec  *fakeRecorder
	pl   *fakePlayer
	disc *fakeDiscovery
	host *fakeHost
	set  *memSettings
	// after holds the pending max-length timer of the talk state.
	after func()
	// noteEnd holds the pending end of a transient note, and noteWait
	// how long it was asked to wait.
	noteEnd  func()
	noteWait time.Duration
}

// newHarness builds a UI on fakes; signedIn starts on the main screen with
// alice signed in. Async work runs inline so tests see results at once.
func newHarness(t testing.TB, signedIn bool) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	h := &harness{m: newFakeMessenger(), pl: &fakePlayer{},
		disc: &fakeDiscovery{}, host: &fakeHost{}, set: &memSettings{p: DefaultPrefs()}}
	// Releases act at once in these tests (hands.go's tail and lock have theirs).
	h.set.p.TalkTailMs, h.set.p.TapToLock = 0, false
	h.rec = &fakeRecorder{m: h.m}
	if signedIn {
		h.m.status = ConnStatus{State: sync.StateOnline, Server: "10.0.0.5:7420", User: "alice"}
	}
	h.u = newUI(a, Deps{Messenger: h.m, Recorder: h.rec, Player: h.pl, Discovery: h.disc,
		Host: h.host, Settings: h.set, MaxTalk: time.Minute}, func(f func()) { f() })
	h.u.talk.after = func(d time.Duration, f func()) func() {
		h.after = f
		return func() { h.after = nil }
	}
	h.u.after = func(d time.Duration, f func()) func() {
		h.noteEnd, h.noteWait = f, d
		return func() { h.noteEnd = nil }
	}
	h.u.now = func() time.Time { return h.m.now }
	h.u.hintInterval = 0 // tests apply each hint at once
	// No level ticker: the test driver would run its fyne.Do on the
	// ticker's goroutine, concurrently with the test (tests call
	// refreshTalk themselves).
	h.u.levelInterval = 0
	h.u.win.Resize(fyne.NewSize(900, 620))
	t.Cleanup(h.u.Close)
	close(h.u.hintsDone)
	return h
}

func (h *harness) bannerText() string {
	if !h.u.bannerBox.Visible() {
		return ""
	}
	return h.u.banner.Text
}

func TestConnectScreen(t *testing.T) {
	h := newHarness(t, false)
	if h.u.screen != "connect" {
		t.Fatalf("first screen = %q, want connect", h.u.screen)
	}
	if !h.u.connect.empty.Visible() {
		t.Errorf("empty note hidden with no servers found")
	}
	h.disc.servers = []Server{{Name: "Office", Address: "10.0.0.5:7420"}, {Name: "Lab", Address: "10.0.0.9:7420"}}
	h.u.handleHint(Hint{Kind: HintServers})
	if h.u.connect.empty.Visible() {
		t.Errorf("empty note visible with %d servers", len(h.disc.servers))
	}
	if got := h.u.connect.list.Length(); got != 2 {
		t.Errorf("server rows = %d, want 2", got)
	}
	test.AssertImageMatches(t, "connect.png", h.u.win.Canvas().Capture())

	cases := []struct {
		name       string
		addr       string
		wantScreen string
		wantBanner string
	}{
		{"unreachable", "10.0.0.99:7420", "connect", "Can't reach a server at that address"},
		{"reachable", "10.0.0.5:7420", "signin", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.u.connect.address.SetText(c.addr)
			test.Tap(h.u.connect.connect)
			if h.u.screen != c.wantScreen {
				t.Errorf("screen = %q, want %q", h.u.screen, c.wantScreen)
			}
			if got := h.bannerText(); !strings.Contains(got, c.wantBanner) || (c.wantBanner == "" && got != "") {
				t.Errorf("banner = %q, want %q", got, c.wantBanner)
			}
		})
	}
	if h.set.p.LastServer != "10.0.0.5:7420" {
		t.Errorf("LastServer = %q, want the reachable address", h.set.p.LastServer)
	}
}

func TestConnectPicksDiscoveredServer(t *testing.T) {
	h := newHarness(t, false)
	h.disc.servers = []Server{{Name: "Office", Address: "10.0.0.5:7420"}}
	h.u.handleHint(Hint{Kind: HintServers})
	h.u.connect.list.Select(0)
	if h.u.screen != "signin" {
		t.Errorf("screen after picking a server = %q, want signin", h.u.screen)
	}
}

func TestHostSwitch(t *testing.T) {
	h := newHarness(t, false)
	test.Tap(h.u.connect.host)
	if !h.host.running {
		t.Fatalf("host not started by the switch")
	}
	if got := h.u.connect.address.Text; got != "127.0.0.1:7420" {
		t.Errorf("address = %q, want the hosted server", got)
	}
	if !h.set.p.HostServer {
		t.Errorf("HostServer preference not saved")
	}
	test.Tap(h.u.connect.host)
	if h.host.running {
		t.Errorf("host still running after switching off")
	}
}

func TestSignIn(t *testing.T) {
	cases := []struct {
		name       string
		user, pass string
		create     bool
		wantScreen string
		wantBanner string
	}{
		{"right password", "alice", "secret", false, "main", ""},
		{"wrong password", "alice", "nope", false, "signin", "Wrong username or password."},
		{"unknown user", "bob", "x", false, "signin", "Wrong username or password."},
		{"create account", "bob", "secret-2026", true, "main", ""},
		{"create taken", "alice", "secret-2026", true, "signin", "That username is taken. Choose another, or sign in if it is yours."},
		{"empty password", "alice", "", false, "signin", "Enter a password."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, false)
			h.m.status = ConnStatus{State: sync.StateConnecting, Server: "10.0.0.5:7420"}
			h.u.showSignIn()
			s := h.u.signIn
			s.username.SetText(c.user)
			s.password.SetText(c.pass)
			if c.create {
				test.Tap(s.signUp)
			} else {
				test.Tap(s.signIn)
			}
			if h.u.screen != c.wantScreen {
				t.Errorf("screen = %q, want %q", h.u.screen, c.wantScreen)
			}
			if got := h.bannerText(); got != c.wantBanner {
				t.Errorf("banner = %q, want %q", got, c.wantBanner)
			}
		})
	}
}

func TestSignInGolden(t *testing.T) {
	h := newHarness(t, false)
	h.m.status = ConnStatus{State: sync.StateConnecting, Server: "10.0.0.5:7420"}
	h.u.showSignIn()
	h.u.signIn.username.SetText("alice")
	h.u.signIn.password.SetText("nope")
	test.Tap(h.u.signIn.signIn)
	test.AssertImageMatches(t, "signin_wrong_password.png", h.u.win.Canvas().Capture())
}

// seedConversations fills the fake with a Lobby, a group with someone talking
// and a direct conversation.
func seedConversations(h *harness) {
	h.m.convs = append(h.m.convs,
		Conversation{ID: "g1", Title: "Warehouse crew", Kind: sync.ConversationGroup, Talking: []string{"carol"}},
		Conversation{ID: "d1", Title: "bob", Kind: sync.ConversationDirect})
	h.m.put(Message{Conversation: "lobby", SenderName: "bob", Kind: sync.KindVoice, Duration: 7 * time.Second, Waveform: testWave(64), State: sync.StateComplete, Listened: true})
	h.m.put(Message{Conversation: "lobby", SenderName: "carol", Kind: sync.KindText, Text: "Truck is here, who can help unload?", State: sync.StateComplete})
	h.m.put(Message{Conversation: "lobby", SenderName: "bob", Kind: sync.KindVoice, Duration: 12 * time.Second, Waveform: testWave(64), State: sync.StateComplete})
	h.m.put(Message{Conversation: "lobby", SenderName: "alice", Mine: true, Kind: sync.KindVoice, Duration: 4 * time.Second, Waveform: testWave(64), State: sync.StateComplete, Pending: true})
	h.m.put(Message{Conversation: "g1", SenderName: "carol", Kind: sync.KindVoice, Duration: 3 * time.Second, Waveform: testWave(64)})
	h.m.put(Message{Conversation: "g1", SenderName: "carol", Kind: sync.KindVoice, Duration: 5 * time.Second, Waveform: testWave(64)})
	// What the sync engine would say after storing all that.
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.handleHint(Hint{Kind: HintConversation, Conversation: "lobby"})
}

func TestConversationList(t *testing.T) {
	h := newHarness(t, true)
	seedConversations(h)
	h.u.handleHint(Hint{Kind: HintConversations})
	s := h.u.main
	want := []struct {
		title    string
		unplayed int
		talking  bool
	}{{"Lobby", 1, false}, {"Warehouse crew", 2, true}, {"bob", 0, false}}
	if len(s.convs) != len(want) {
		t.Fatalf("conversations = %d, want %d", len(s.convs), len(want))
	}
	for i, w := range want {
		c := s.convs[i]
		if c.Title != w.title || c.Unplayed != w.unplayed || (len(c.Talking) > 0) != w.talking {
			t.Errorf("row %d = %q unplayed %d talking %v, want %q %d %v", i, c.Title, c.Unplayed, c.Talking, w.title, w.unplayed, w.talking)
		}
	}
	if s.current != "lobby" {
		t.Errorf("open conversation = %q, want lobby first", s.current)
	}
	if len(s.msgs) != 4 {
		t.Errorf("lobby messages shown = %d, want 4", len(s.msgs))
	}
	test.AssertImageMatches(t, "main.png", h.u.win.Canvas().Capture())

	s.convList.Select(1)
	if s.current != "g1" || s.talking.Text == "" {
		t.Errorf("after selecting the group: current %q, talking %q", s.current, s.talking.Text)
	}
}

func TestVoiceBubbleStates(t *testing.T) {
	base := Message{ID: "m1", SenderName: "bob", Kind: sync.KindVoice, Duration: 8 * time.Second,
		Waveform: testWave(64), Created: time.Date(2026, 3, 14, 9, 41, 0, 0, time.UTC)}
	with := func(f func(*Message)) Message { m := base; f(&m); return m }
	cases := []struct {
		name       string
		view       bubbleView
		wantState  string
		wantTimes  string
		wantSpeed  string
		wantDot    bool
		wantTick   bool
		wantPause  bool
		wantPlayed int // coloured bars
	}{
		{"unplayed", bubbleView{Msg: base, Speed: 1}, "", "0:08", "1×", true, false, false, 0},
		{"playing at 1.5x", bubbleView{Msg: base, Playing: true, Position: 4 * time.Second, Speed: 1.5}, "", "0:04 / 0:08", "1.5×", true, false, true, 32},
		{"listened", bubbleView{Msg: with(func(m *Message) { m.Listened = true; m.Position = 8 * time.Second }), Position: 8 * time.Second, Speed: 1}, "", "0:08 / 0:08", "1×", false, true, false, 64},
		{"live", bubbleView{Msg: with(func(m *Message) {
			m.State = sync.StateRecording
			m.Duration = 2 * time.Second
			m.Waveform = testWave(10)
		}), Speed: 1}, "● LIVE", "0:02", "1×", true, false, false, 0},
		{"pending offline", bubbleView{Msg: with(func(m *Message) {
			m.State, m.Pending = sync.StateComplete, true
			m.Mine = true
			m.SenderName = "alice"
		}), Speed: 2}, "Pending — not sent yet", "0:08", "2×", false, false, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			test.NewTempApp(t)
			b := newVoiceBubble(&bubbleActions{})
			b.Set(c.view)
			w := test.NewTempWindow(t, b)
			w.Resize(fyne.NewSize(520, b.MinSize().Height+8))
			if got := b.state.Text; got != c.wantState {
				t.Errorf("state = %q, want %q", got, c.wantState)
			}
			if got := b.times.Text; got != c.wantTimes {
				t.Errorf("times = %q, want %q", got, c.wantTimes)
			}
			if got := b.speedBtn.Text; got != c.wantSpeed {
				t.Errorf("speed = %q, want %q", got, c.wantSpeed)
			}
			if got := b.unplayed.Visible(); got != c.wantDot {
				t.Errorf("unplayed dot visible = %v, want %v", got, c.wantDot)
			}
			if got := b.listened.Visible(); got != c.wantTick {
				t.Errorf("listened tick visible = %v, want %v", got, c.wantTick)
			}
			if got := b.play.Icon.Name() == "media-pause.svg" || strings.Contains(b.play.Icon.Name(), "pause"); got != c.wantPause {
				t.Errorf("pause icon shown = %v (%s), want %v", got, b.play.Icon.Name(), c.wantPause)
			}
			if played := b.wave.played; played != c.wantPlayed {
				t.Errorf("played bars = %d, want %d", b.wave.played, c.wantPlayed)
			}
			test.AssertImageMatches(t, "bubble_"+strings.ReplaceAll(c.name, " ", "_")+".png", w.Canvas().Capture())
		})
	}
}

func TestBubblePlaySpeedSeek(t *testing.T) {
	h := newHarness(t, true)
	seedConversations(h)
	h.u.handleHint(Hint{Kind: HintConversations})
	s := h.u.main
	m := s.msgs[2] // bob's unplayed 12 s message
	s.cycleSpeed(m)
	s.play(m)
	if got := h.pl.pb; got.Message != m.ID || got.State != PlayPlaying || got.Speed != 1.5 {
		t.Fatalf("playback = %+v, want %s playing at 1.5", got, m.ID)
	}
	s.seek(m, 0.5)
	if got := h.pl.pb.Position; got != 6*time.Second {
		t.Errorf("position after seek to half = %v, want 6s", got)
	}
	s.cycleSpeed(m)
	if got := h.pl.pb.Speed; got != 2 {
		t.Errorf("speed while playing = %v, want 2", got)
	}
	h.pl.pb.State = PlayFinished
	h.u.handleHint(Hint{Kind: HintPlayback})
	got, _ := h.m.Message(m.ID)
	if !got.Listened {
		t.Errorf("message not marked listened after it finished")
	}
}

// keyCanvas is a test canvas that is also a desktop.Canvas, so the talk key
// path through SetOnKeyDown/SetOnKeyUp can be driven.
type keyCanvas struct {
	fyne.Canvas
	down, up func(*fyne.KeyEvent)
}

func (c *keyCanvas) OnKeyDown() func(*fyne.KeyEvent)     { return c.down }
func (c *keyCanvas) SetOnKeyDown(f func(*fyne.KeyEvent)) { c.down = f }
func (c *keyCanvas) OnKeyUp() func(*fyne.KeyEvent)       { return c.up }
func (c *keyCanvas) SetOnKeyUp(f func(*fyne.KeyEvent))   { c.up = f }

var _ desktop.Canvas = (*keyCanvas)(nil)

func TestTalkButton(t *testing.T) {
	primary := &desktop.MouseEvent{Button: desktop.MouseButtonPrimary}
	cases := []struct {
		name       string
		act        func(h *harness, b *talkButton)
		wantSent   int
		wantCancel int
		wantNote   string
	}{
		{"press hold release", func(h *harness, b *talkButton) {
			b.MouseDown(primary)
			if !h.u.talk.Talking() || b.label() != "Talking… release to send" {
				t.Errorf("holding: talking %v label %q", h.u.talk.Talking(), b.label())
			}
			h.u.main.refreshTalk()
			if h.u.main.meter.level != 0.6 || h.u.main.elapsed.Text == "" {
				t.Errorf("meter %v elapsed %q while talking", h.u.main.meter.level, h.u.main.elapsed.Text)
			}
			b.MouseUp(primary)
		}, 1, 0, ""},
		{"drag off cancels", func(h *harness, b *talkButton) {
			b.MouseDown(primary)
			b.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(-40, -40)}})
			if !b.Cancelled() || b.label() != "Release to cancel" {
				t.Errorf("dragged off: cancel armed %v label %q", b.Cancelled(), b.label())
			}
			b.DragEnd()
		}, 0, 1, "Cancelled — the message was withdrawn."},
		{"drag off and back sends", func(h *harness, b *talkButton) {
			b.MouseDown(primary)
			b.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(-40, 5)}})
			b.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(5, 5)}})
			b.DragEnd()
		}, 1, 0, ""},
		{"esc cancels", func(h *harness, b *talkButton) {
			b.MouseDown(primary)
			h.u.main.entry.KeyDown(&fyne.KeyEvent{Name: fyne.KeyEscape})
			b.MouseUp(primary) // late release after the cancel does nothing
		}, 0, 1, "Cancelled — the message was withdrawn."},
		{"max length stops", func(h *harness, b *talkButton) {
			b.MouseDown(primary)
			h.after() // the max-length timer fires
			b.MouseUp(primary)
		}, 1, 0, "Maximum length reached — message sent."},
		{"focus lost stops", func(h *harness, b *talkButton) {
			b.MouseDown(primary)
			h.u.ExitedForeground()
			b.DragEnd()
		}, 1, 0, ""},
		{"secondary button ignored", func(h *harness, b *talkButton) {
			b.MouseDown(&desktop.MouseEvent{Button: desktop.MouseButtonSecondary})
		}, 0, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true)
			h.u.handleHint(Hint{Kind: HintConversations})
			b := h.u.main.talkBtn
			c.act(h, b)
			if h.u.talk.Talking() {
				t.Errorf("still talking at the end")
			}
			if len(h.rec.sent) != c.wantSent || len(h.rec.canceled) != c.wantCancel {
				t.Errorf("sent %d cancelled %d, want %d and %d", len(h.rec.sent), len(h.rec.canceled), c.wantSent, c.wantCancel)
			}
			if got := h.u.main.talkNote.Text; got != c.wantNote {
				t.Errorf("note = %q, want %q", got, c.wantNote)
			}
		})
	}
}

func TestTalkButtonGolden(t *testing.T) {
	h := newHarness(t, true)
	seedConversations(h)
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.main.talkBtn.MouseDown(&desktop.MouseEvent{Button: desktop.MouseButtonPrimary})
	h.u.talk.started = h.u.talk.now().Add(-3 * time.Second)
	h.u.talk.now = func() time.Time { return h.u.talk.started.Add(3 * time.Second) }
	h.u.main.refreshTalk()
	test.AssertImageMatches(t, "main_talking.png", h.u.win.Canvas().Capture())
	h.u.main.talkBtn.MouseUp(&desktop.MouseEvent{Button: desktop.MouseButtonPrimary})
}

func TestTalkKey(t *testing.T) {
	f8 := &fyne.KeyEvent{Name: fyne.KeyF8}
	cases := []struct {
		name     string
		key      string
		down, up func(h *harness, kc *keyCanvas, ev *fyne.KeyEvent)
		ev       *fyne.KeyEvent
		wantSent int
	}{
		{"entry down and up", "", func(h *harness, _ *keyCanvas, ev *fyne.KeyEvent) { h.u.main.entry.KeyDown(ev) },
			func(h *harness, _ *keyCanvas, ev *fyne.KeyEvent) { h.u.main.entry.KeyUp(ev) }, f8, 1},
		{"canvas down and up", "", func(h *harness, kc *keyCanvas, ev *fyne.KeyEvent) { kc.down(ev) },
			func(h *harness, kc *keyCanvas, ev *fyne.KeyEvent) { kc.up(ev) }, f8, 1},
		{"down on entry, up on canvas", "", func(h *harness, _ *keyCanvas, ev *fyne.KeyEvent) { h.u.main.entry.KeyDown(ev) },
			func(h *harness, kc *keyCanvas, ev *fyne.KeyEvent) { kc.up(ev) }, f8, 1},
		{"down on list, up on entry", "", func(h *harness, _ *keyCanvas, ev *fyne.KeyEvent) { h.u.main.convList.KeyDown(ev) },
			func(h *harness, _ *keyCanvas, ev *fyne.KeyEvent) { h.u.main.entry.KeyUp(ev) }, f8, 1},
		{"repeated down is one message", "", func(h *harness, kc *keyCanvas, ev *fyne.KeyEvent) {
			kc.down(ev)
			kc.down(ev)
			h.u.main.entry.KeyDown(ev)
		},
			func(h *harness, kc *keyCanvas, ev *fyne.KeyEvent) { kc.up(ev); kc.up(ev) }, f8, 1},
		{"other key does nothing", "", func(h *harness, _ *keyCanvas, _ *fyne.KeyEvent) {
			h.u.main.entry.KeyDown(&fyne.KeyEvent{Name: fyne.KeyF9})
		},
			func(h *harness, _ *keyCanvas, _ *fyne.KeyEvent) {
				h.u.main.entry.KeyUp(&fyne.KeyEvent{Name: fyne.KeyF9})
			}, f8, 0},
		{"scan code key", "scan:105", func(h *harness, kc *keyCanvas, ev *fyne.KeyEvent) { kc.down(ev) },
			func(h *harness, kc *keyCanvas, ev *fyne.KeyEvent) { kc.up(ev) }, &fyne.KeyEvent{Physical: fyne.HardwareKey{ScanCode: 105}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true)
			h.u.handleHint(Hint{Kind: HintConversations})
			if c.key != "" {
				h.u.keys.key = parseTalkKey(c.key)
			}
			kc := &keyCanvas{Canvas: h.u.win.Canvas()}
			if !installCanvasKeys(kc, h.u.keys) {
				t.Fatal("installCanvasKeys refused a desktop canvas")
			}
			c.down(h, kc, c.ev)
			if want := c.wantSent > 0; h.u.talk.Talking() != want {
				t.Errorf("talking after key down = %v, want %v", h.u.talk.Talking(), want)
			}
			c.up(h, kc, c.ev)
			if h.u.talk.Talking() {
				t.Errorf("still talking after key up")
			}
			if len(h.rec.sent) != c.wantSent || h.rec.started != c.wantSent {
				t.Errorf("started %d sent %d, want %d", h.rec.started, len(h.rec.sent), c.wantSent)
			}
			if h.u.main.entry.Text != "" {
				t.Errorf("entry text = %q, the talk key typed into it", h.u.main.entry.Text)
			}
		})
	}
}

func TestTalkErrors(t *testing.T) {
	h := newHarness(t, true)
	h.u.handleHint(Hint{Kind: HintConversations})
	h.rec.noMic = true
	h.u.main.entry.KeyDown(&fyne.KeyEvent{Name: fyne.KeyF8})
	if h.u.talk.Talking() {
		t.Errorf("talking without a microphone")
	}
	if got, want := h.bannerText(), "No microphone found. Plug one in or choose another input in Settings."; got != want {
		t.Errorf("banner = %q, want %q", got, want)
	}
}

func TestSendTextAndLiveHint(t *testing.T) {
	h := newHarness(t, true)
	var focused []string
	h.u.d.Focus = func(id string) { focused = append(focused, id) }
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.main.current = "" // open the Lobby again, now that Focus is set
	h.u.main.open("lobby")
	if len(focused) != 1 || focused[0] != "lobby" {
		t.Errorf("Focus calls %q, want [lobby]: the live router must know the open conversation", focused)
	}
	s := h.u.main
	test.Type(s.entry, "hello")
	s.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if len(s.msgs) != 1 || s.msgs[0].Text != "hello" || s.entry.Text != "" {
		t.Fatalf("after send: msgs %+v entry %q", s.msgs, s.entry.Text)
	}
	live := h.m.put(Message{Conversation: "lobby", SenderName: "bob", Kind: sync.KindVoice, State: sync.StateRecording, Waveform: testWave(5), Duration: time.Second})
	h.u.handleHint(Hint{Kind: HintMessage, Message: live.ID, Conversation: "lobby"})
	if len(s.msgs) != 2 {
		t.Errorf("live message not listed: %d messages", len(s.msgs))
	}
	// The app's live router starts live playback; ui only displays it.
	if got := h.pl.pb; got.Message == live.ID {
		t.Errorf("ui started the live message itself: %+v", got)
	}
	h.m.update(live.ID, func(m *Message) { m.Waveform = testWave(9); m.Duration = 2 * time.Second })
	h.u.handleHint(Hint{Kind: HintMessage, Message: live.ID, Conversation: "lobby"})
	if got := len(s.msgs[1].Waveform); got != 9 {
		t.Errorf("live waveform points = %d, want 9 (grown)", got)
	}
}

func TestCoalesce(t *testing.T) {
	in := []Hint{{Kind: HintConversations}, {Kind: HintMessage, Message: "a"}, {Kind: HintConversations}, {Kind: HintMessage, Message: "b"}}
	got := coalesce(in)
	if len(got) != 3 || got[0].Kind != HintConversations || got[2].Message != "b" {
		t.Errorf("coalesce = %+v", got)
	}
}

var _ = widget.NewLabel

// TestTransientNotesGo: the note after a withdrawn or capped transmission
// goes by itself after a few seconds, or at the next action (another
// transmission, a sent text, another conversation), and a new note is not
// cleared by an old note's timer.
func TestTransientNotesGo(t *testing.T) {
	primaryButton := &desktop.MouseEvent{Button: desktop.MouseButtonPrimary}
	withdraw := func(h *harness) {
		b := h.u.main.talkBtn
		b.MouseDown(primaryButton)
		h.u.main.entry.KeyDown(&fyne.KeyEvent{Name: fyne.KeyEscape})
		b.MouseUp(primaryButton)
	}
	const withdrawn = "Cancelled — the message was withdrawn."
	cases := []struct {
		name string
		next func(h *harness)
		want string
	}{
		{"after a few seconds", func(h *harness) { h.noteEnd() }, ""},
		{"at the next transmission", func(h *harness) {
			h.u.main.talkBtn.MouseDown(primaryButton)
			h.u.main.talkBtn.MouseUp(primaryButton)
		}, ""},
		{"at a sent text", func(h *harness) {
			h.u.main.entry.SetText("on my way")
			h.u.main.sendText()
		}, ""},
		{"in another conversation", func(h *harness) { h.u.main.open("g1") }, ""},
		{"an old timer leaves a new note", func(h *harness) {
			old := h.noteEnd
			h.u.main.flashNote("Maximum length reached — message sent.")
			old()
		}, "Maximum length reached — message sent."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true)
			seedConversations(h)
			h.u.handleHint(Hint{Kind: HintConversations})
			withdraw(h)
			if got := h.u.main.talkNote.Text; got != withdrawn {
				t.Fatalf("note after Esc = %q, want %q", got, withdrawn)
			}
			if h.noteEnd == nil || h.noteWait < 2*time.Second || h.noteWait > 10*time.Second {
				t.Fatalf("note timer %v (set %v), want a few seconds", h.noteWait, h.noteEnd != nil)
			}
			c.next(h)
			if got := h.u.main.talkNote.Text; got != c.want {
				t.Errorf("note = %q, want %q", got, c.want)
			}
		})
	}
}
