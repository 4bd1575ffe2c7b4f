package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"parley/audio"
	"parley/server/wire"
	"parley/sync"
	"parley/ui"
)

// TestTwoInstances: A is the real binary, hosting, with a PulseAudio
// virtual microphone; B is this package's components in-process (sync
// messenger, audio engine on the null backend, player, recorder, and the
// real ui on Fyne's test driver) joining A by host:port. A talks (F8 held
// for 3 s): B shows the live talker and plays the stream at once, then
// shows the complete message; B's listened state reaches A's store.
func TestTwoInstances(t *testing.T) {
	requireGUI(t)
	mouth, mic := virtualMic(t, "two")
	wav := speech(t)
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	dataA := t.TempDir()
	a := startBinary(t, dataA, []string{"PULSE_SOURCE=" + mic},
		"-host", "-host-addr", "127.0.0.1", "-port", strconv.Itoa(port),
		"-user", "alice", "-password", "alice's password", "-signup", "-audio", "pulse", "-log-level", "debug")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("A's output:\n%s", a.output())
		}
	})

	b := startInProcess(t, addr, "bob")
	lobby := b.lobby(t)

	talked := make(chan struct{})
	go func() {
		defer close(talked)
		a.talk(t, mouth, wav, 3*time.Second)
	}()

	// While A talks: B's window names the talker and B's player plays
	// alice's live message.
	var liveID string
	b.poll(t, 10*time.Second, "B shows alice talking and plays her live", func() bool {
		if !b.shows("alice talking") {
			return false
		}
		pb := b.pl.Playback()
		if pb.State != ui.PlayPlaying {
			return false
		}
		m, err := b.msgr.Message(pb.Message)
		if err != nil || m.SenderName != "alice" {
			return false
		}
		liveID = m.ID
		return true
	})
	t.Logf("B plays alice's live message %s", liveID)
	<-talked

	// Then the complete message, about 3 s, in B's list and window.
	var last ui.Message
	defer func() {
		if t.Failed() {
			t.Logf("B's last view of alice's message: %+v", last)
		}
	}()
	b.poll(t, 20*time.Second, "B shows alice's complete message", func() bool {
		ms, _ := b.msgr.Messages(lobby, 0, 100)
		for _, m := range ms {
			if m.ID == liveID {
				last = m
			}
			if m.ID == liveID && m.State == sync.StateComplete && !m.Pending && m.Duration > 2500*time.Millisecond {
				return b.shows("0:03") || b.shows("0:02")
			}
		}
		return false
	})

	// B heard it live to the end: listened, here and at A.
	b.poll(t, 20*time.Second, "B marks alice's message listened", func() bool {
		m, err := b.msgr.Message(liveID)
		return err == nil && m.Listened
	})
	storeA, err := sync.OpenStore(sync.StorePath(filepath.Join(dataA, "accounts"), addr, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	defer storeA.Close()
	b.poll(t, 20*time.Second, "A's store has bob's listened receipt", func() bool {
		ctx := context.Background()
		rs, err := storeA.Receipts(ctx, liveID)
		if err != nil {
			return false
		}
		users, _ := storeA.Users(ctx)
		for _, r := range rs {
			bob := false
			for _, u := range users {
				bob = bob || (u.ID == r.User && u.Name == "bob")
			}
			if bob && r.Kind == wire.ReceiptListened && r.Position >= 2500*time.Millisecond {
				return true
			}
		}
		return false
	})

	// A starts again and withdraws with Esc while holding: B, which was
	// playing it live, keeps no unplayed badge for it.
	xdotool(t, "windowfocus", "--sync", a.window)
	xdotool(t, "keydown", "--window", a.window, "F8")
	var withdrawn string
	b.poll(t, 10*time.Second, "B plays alice's second live message", func() bool {
		pb := b.pl.Playback()
		if pb.Message == "" || pb.Message == liveID {
			return false
		}
		withdrawn = pb.Message
		return true
	})
	xdotool(t, "key", "--window", a.window, "Escape")
	xdotool(t, "keyup", "--window", a.window, "F8")
	b.poll(t, 20*time.Second, "B's store has the withdrawal", func() bool {
		acc := b.msgr.current()
		if acc == nil {
			return false
		}
		m, err := acc.c.Store().Message(context.Background(), withdrawn)
		return err == nil && m.State == wire.StateCancelled
	})
	b.poll(t, 5*time.Second, "B's Lobby has no badge", func() bool {
		cs, _ := b.msgr.Conversations()
		for _, c := range cs {
			if c.ID == lobby {
				return c.Unplayed+c.Unread == 0
			}
		}
		return false
	})

	// B writes; A has the Lobby open and in focus, so alice sees it: B's
	// bubble says so within 2 s of her receipt reaching B's store.
	sent, err := b.msgr.SendText(lobby, "hello alice, got it")
	if err != nil {
		t.Fatal(err)
	}
	b.poll(t, 20*time.Second, "alice's seen receipt in B's store", func() bool {
		acc := b.msgr.current()
		if acc == nil {
			return false
		}
		h, err := acc.c.Store().Heard(context.Background(), lobby, sent.ID)
		return err == nil && len(h[sent.ID].Heard) > 0
	})
	if m, err := b.msgr.Message(sent.ID); err == nil {
		t.Logf("B's message: state %v receipts %+v", m.State, m.Receipts)
	}
	// alice is the only other member of this Lobby: everyone saw it.
	b.poll(t, 2*time.Second, "B's bubble shows 'Seen by everyone'", func() bool { return b.shows("Seen by everyone") })
	shot := filepath.Join(t.TempDir(), "a.png")
	if dir := os.Getenv("PARLEY_TEST_SCREENSHOTS"); dir != "" {
		shot = filepath.Join(dir, "two_instances_a.png")
	}
	screenshot(t, shot)

	// A 500-character text each way: A's window shows both wrapped in full,
	// bob's on the left and alice's own on the right (look at the
	// screenshot: each ends in "[end]").
	xdotool(t, "windowsize", "--sync", a.window, "1280", "800")
	xdotool(t, "windowmove", "--sync", a.window, "0", "0")
	fromBob, err := b.msgr.SendText(lobby, longText("bob"))
	if err != nil {
		t.Fatal(err)
	}
	b.poll(t, 20*time.Second, "bob's long text in A's store", func() bool {
		m, err := storeA.Message(context.Background(), fromBob.ID)
		return err == nil && m.Seq > 0
	})
	xdotool(t, "windowfocus", "--sync", a.window)
	xdotool(t, "type", "--delay", "2", longText("alice"))
	xdotool(t, "key", "--window", a.window, "Return")
	b.poll(t, 30*time.Second, "alice's long text reaches B", func() bool {
		ms, _ := b.msgr.Messages(lobby, 0, 10)
		for _, m := range ms {
			if m.SenderName == "alice" && m.Text == longText("alice") {
				return true
			}
		}
		return false
	})
	long := filepath.Join(t.TempDir(), "long.png")
	if dir := os.Getenv("PARLEY_TEST_SCREENSHOTS"); dir != "" {
		long = filepath.Join(dir, "two_instances_long_text.png")
	}
	settledScreenshot(t, long, 10*time.Second)
	checkScreenshot(t, long, a.window)
}

// longText is a 500-character message from who, ending in "[end]".
func longText(who string) string {
	s := who + "'s long message: "
	for i := 1; len(s) < 500; i++ {
		s += "sentence " + strconv.Itoa(i) + " of a long text that has to wrap over several lines; "
	}
	return s[:494] + " [end]"
}

// inProcess is an app instance built from this package's components, with
// the real ui on Fyne's test driver.
type inProcess struct {
	app  fyne.App
	u    *ui.UI
	msgr *messenger
	pl   *player
	rec  *recorder
}

// startInProcess signs user up at addr and opens its window.
func startInProcess(t *testing.T, addr, user string) *inProcess {
	t.Helper()
	fa := serializedApp(test.NewTempApp(t))
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hints := newHintBus()
	sys := startAudio(audio.Config{Backend: audio.BackendNull, Logger: log}, log)
	msgr := newMessenger(t.TempDir(), user+"-desktop", log, hints)
	rec := newRecorder(sys, msgr, log)
	pl := newPlayer(sys, msgr, hints, log)
	router := newLiveRouter(sys, pl, livePolicy{AutoPlay: true}, log)
	msgr.router = router
	in := &inProcess{app: fa, msgr: msgr, pl: pl, rec: rec}
	t.Cleanup(func() { // reverse order of start
		if in.u != nil {
			fyne.DoAndWait(func() { in.u.Close() })
		}
		hints.close()
		rec.close()
		pl.close()
		msgr.Close()
		sys.close()
	})
	if _, err := sys.wait(); err != nil {
		t.Fatalf("null audio engine: %v", err)
	}
	if err := msgr.Connect(addr); err != nil {
		t.Fatal(err)
	}
	if err := msgr.SignUp(user, "password of "+user); err != nil {
		t.Fatal(err)
	}
	fyne.DoAndWait(func() {
		in.u = ui.New(fa, ui.Deps{Messenger: msgr, Recorder: rec, Player: pl, Hints: hints.ch, Cue: sys.cue,
			Settings: settings{store: ui.PreferencesSettings{P: fa.Preferences()}, sys: sys, router: router},
			Focus:    router.OpenConversation})
		in.u.Window().Resize(fyne.NewSize(900, 620))
		in.u.Show()
	})
	return in
}

func (in *inProcess) lobby(t *testing.T) string {
	var id string
	in.poll(t, 10*time.Second, "the Lobby", func() bool {
		cs, _ := in.msgr.Conversations()
		for _, c := range cs {
			if c.Lobby {
				id = c.ID
			}
		}
		return id != ""
	})
	return id
}

// shows reports whether some text on the window contains s.
func (in *inProcess) shows(s string) bool {
	found := false
	fyne.DoAndWait(func() {
		for _, o := range test.LaidOutObjects(in.u.Window().Content()) {
			if tx, ok := o.(*canvas.Text); ok && o.Visible() && strings.Contains(tx.Text, s) {
				found = true
			}
		}
	})
	return found
}

// poll re-checks cond every 50 ms: the widget tree has no change
// notification a test could wait on.
func (in *inProcess) poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

// serializedApp makes fyne.Do and fyne.DoAndWait on a test app run one at
// a time, as the real driver's UI thread does: Fyne's test driver runs
// them at once on the calling goroutine, and ui's goroutines would
// otherwise update widgets concurrently.
func serializedApp(a fyne.App) fyne.App {
	s := &lockedApp{App: a, drv: &lockedDriver{Driver: a.Driver()}}
	fyne.SetCurrentApp(s)
	return s
}

type lockedApp struct {
	fyne.App
	drv *lockedDriver
}

func (a *lockedApp) Driver() fyne.Driver { return a.drv }

type lockedDriver struct {
	fyne.Driver
	mu gosync.Mutex
}

func (d *lockedDriver) DoFromGoroutine(f func(), wait bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Driver.DoFromGoroutine(f, wait)
}

// testWriter sends log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
