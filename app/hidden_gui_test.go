package app

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"parley/audio"
	"parley/server/wire"
	"parley/sync"
)

// sessionBus is a private dbus-daemon with a notification server on it
// (answering Notify as a desktop's does, recording each call, and able to
// emit the server's signals) and dbus-monitor reading every
// org.freedesktop.Notifications call.
type sessionBus struct {
	addr   string
	conn   *dbus.Conn // the notification server's connection
	mu     gosync.Mutex
	lines  []string
	calls  []notifyCall
	closed []uint32      // CloseNotification calls
	more   chan struct{} // signalled after each line or call
}

// notifyCall is one Notify call the test server answered.
type notifyCall struct {
	app, summary, body string
	replaces, id       uint32
	actions            []string
	hints              map[string]dbus.Variant
}

func startSessionBus(t *testing.T) *sessionBus {
	t.Helper()
	for _, tool := range []string{"dbus-daemon", "dbus-monitor"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make deps-test)", tool)
		}
	}
	daemon := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1", "--address=unix:dir="+t.TempDir())
	out, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() { daemon.Process.Kill(); daemon.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon address: %v", err)
	}
	b := &sessionBus{addr: strings.TrimSpace(line), more: make(chan struct{}, 1)}

	// The desktop's notification server.
	conn, err := dbus.Connect(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b.conn = conn
	var next uint32
	if err := conn.ExportMethodTable(map[string]any{
		"Notify": func(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
			b.mu.Lock()
			id := replaces // a replaced notification keeps its id, as GNOME's and KDE's do
			if id == 0 {
				next++
				id = next
			}
			b.calls = append(b.calls, notifyCall{app: app, summary: summary, body: body, replaces: replaces, id: id, actions: actions, hints: hints})
			b.mu.Unlock()
			select {
			case b.more <- struct{}{}:
			default:
			}
			return id, nil
		},
		"CloseNotification": func(id uint32) *dbus.Error {
			b.mu.Lock()
			b.closed = append(b.closed, id)
			b.mu.Unlock()
			return nil
		},
		"GetCapabilities": func() ([]string, *dbus.Error) { return []string{"body", "actions"}, nil },
	}, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.Notifications: %v %v", r, err)
	}

	mon := exec.Command("stdbuf", "-oL", "dbus-monitor", "--address", b.addr, "interface='org.freedesktop.Notifications'")
	mout, err := mon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.Start(); err != nil {
		t.Fatalf("dbus-monitor: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(mout)
		for sc.Scan() {
			b.mu.Lock()
			b.lines = append(b.lines, sc.Text())
			b.mu.Unlock()
			select {
			case b.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { mon.Process.Kill(); <-done; mon.Wait() })
	// dbus-monitor is reading once it has printed its own NameAcquired.
	b.waitFor(t, regexp.MustCompile(`NameAcquired|member=Notify`), 10*time.Second, "dbus-monitor ready")
	return b
}

// waitFor waits until dbus-monitor printed a line matching re; it returns
// the text from the matching line on.
func (b *sessionBus) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration, what string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		for _, l := range b.lines {
			if re.MatchString(l) {
				b.mu.Unlock()
				return
			}
		}
		b.mu.Unlock()
		select {
		case <-b.more:
		case <-deadline:
			b.mu.Lock()
			t.Fatalf("dbus-monitor: no %s within %v; it saw:\n%s", what, timeout, strings.Join(b.lines, "\n"))
			b.mu.Unlock()
		}
	}
}

// waitNotify waits for the first Notify call after the first skip calls
// whose body matches re, and returns it.
func (b *sessionBus) waitNotify(t *testing.T, skip int, re *regexp.Regexp, timeout time.Duration) notifyCall {
	t.Helper()
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		for _, c := range b.calls[min(skip, len(b.calls)):] {
			if re.MatchString(c.body) {
				b.mu.Unlock()
				return c
			}
		}
		b.mu.Unlock()
		select {
		case <-b.more:
		case <-deadline:
			b.mu.Lock()
			defer b.mu.Unlock()
			t.Fatalf("no Notify call matching %v within %v; calls: %+v", re, timeout, b.calls)
		}
	}
}

// notifyCalls is how many Notify calls the server answered so far.
func (b *sessionBus) notifyCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

// closedIDs are the notifications CloseNotification was called for.
func (b *sessionBus) closedIDs() []uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.closed)
}

// emit sends one of the notification server's signals (ActionInvoked,
// NotificationClosed) as the desktop does when the user clicks or closes.
func (b *sessionBus) emit(t *testing.T, member string, args ...any) {
	t.Helper()
	if err := b.conn.Emit("/org/freedesktop/Notifications", "org.freedesktop.Notifications."+member, args...); err != nil {
		t.Fatalf("emit %s: %v", member, err)
	}
}

// closeWindow sends WM_DELETE_WINDOW to the window, as a window manager's
// close button does.
func closeWindow(t *testing.T, window string) {
	t.Helper()
	id, err := strconv.ParseUint(window, 10, 32)
	if err != nil {
		t.Fatalf("window id %q: %v", window, err)
	}
	c, err := xgb.NewConnDisplay(fixture.display)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	atom := func(name string) xproto.Atom {
		r, err := xproto.InternAtom(c, false, uint16(len(name)), name).Reply()
		if err != nil {
			t.Fatal(err)
		}
		return r.Atom
	}
	protocols, del := atom("WM_PROTOCOLS"), atom("WM_DELETE_WINDOW")
	ev := xproto.ClientMessageEvent{Format: 32, Window: xproto.Window(id), Type: protocols,
		Data: xproto.ClientMessageDataUnionData32New([]uint32{uint32(del), 0, 0, 0, 0})}
	if err := xproto.SendEventChecked(c, false, xproto.Window(id), xproto.EventMaskNoEvent, string(ev.Bytes())).Check(); err != nil {
		t.Fatalf("send WM_DELETE_WINDOW: %v", err)
	}
}

// earTone records the sink the app plays into while send runs and for
// after more, and returns how long a tone of freq dominated it (100 ms
// windows where freq holds most of the power) and when it was first heard,
// from the start of the recording.
func earTone(t *testing.T, sink string, freq float64, after time.Duration, send func()) (heard, first time.Duration) {
	t.Helper()
	cmd := exec.Command("parec", "-d", sink+".monitor", "--raw", "--format=s16le", "--rate=48000", "--channels=1", "--latency-msec=20")
	cmd.Env = append(os.Environ(), "PULSE_SERVER="+fixture.pulse)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("parec: %v", err)
	}
	send()
	time.Sleep(after) // the live tail plays on after the last packet
	cmd.Process.Kill()
	cmd.Wait()
	b := out.Bytes()
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	const seg = 4800
	first = -1
	w := 2 * math.Pi * freq / 48000
	c := 2 * math.Cos(w)
	for i := 0; i+seg <= len(pcm); i += seg {
		x := pcm[i : i+seg]
		var e, s1, s2 float64
		for _, v := range x {
			e += float64(v) * float64(v)
			s0 := float64(v) + c*s1 - s2
			s2, s1 = s1, s0
		}
		p := (s1*s1 + s2*s2 - c*s1*s2) * 2 / seg // power at freq, in the units of e
		if math.Sqrt(e/seg) > 300 && p > 0.5*e {
			heard += 100 * time.Millisecond
			if first < 0 {
				first = time.Duration(i) * time.Second / 48000
			}
		}
	}
	return heard, first
}

// TestHiddenWindowLife: closing the window hides it (the process goes on,
// and says once where it went); from another focused window the global
// talk key sends a complete message; a message from another user plays
// live into the speaker and raises a desktop notification (seen on a real
// session bus with dbus-monitor).
func TestHiddenWindowLife(t *testing.T) {
	requireGUI(t)
	for _, tool := range []string{"xev", "stdbuf", "parec", "xwininfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed", tool)
		}
	}
	bus := startSessionBus(t)
	mouth, mic := virtualMic(t, "hidden")
	ear := "parley_hidden_ear"
	id := pactl(t, "load-module", "module-null-sink", "sink_name="+ear, "rate=48000", "channels=1")
	t.Cleanup(func() {
		cmd := exec.Command("pactl", "unload-module", id)
		cmd.Env = append(os.Environ(), "PULSE_SERVER="+fixture.pulse)
		cmd.Run()
	})
	wav := speech(t)
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	in := startBinary(t, t.TempDir(), []string{"PULSE_SOURCE=" + mic, "PULSE_SINK=" + ear, "DBUS_SESSION_BUS_ADDRESS=" + bus.addr},
		"-host", "-host-addr", "127.0.0.1", "-port", strconv.Itoa(port),
		"-user", "alice", "-password", "correct horse", "-signup", "-audio", "pulse")
	checker := watchClient(t, addr, "checker")
	in.waitLog(t, regexp.MustCompile(`"global talk key".*via="X11 key grab"`), 20*time.Second)

	// Close: hidden, still running, told once.
	closeWindow(t, in.window)
	in.waitLog(t, regexp.MustCompile(`window hidden`), 10*time.Second)
	bus.waitFor(t, regexp.MustCompile(`still running in the system tray`), 10*time.Second, "first-close notification")
	if info := xdotool(t, "getwindowname", in.window); info != "Parley" {
		t.Fatalf("window name %q", info)
	}
	xw := exec.Command("xwininfo", "-id", in.window)
	xw.Env = append(os.Environ(), "DISPLAY="+fixture.display)
	if out, err := xw.CombinedOutput(); err != nil || !strings.Contains(string(out), "IsUnMapped") {
		t.Fatalf("window still mapped after close: %v\n%s", err, out)
	}
	select {
	case <-in.exited:
		t.Fatalf("the app quit when its window was closed:\n%s", in.output())
	default:
	}

	// Talk from another window with the global key.
	other := exec.Command("xev", "-name", "parley-hidden-other")
	other.Env = append(os.Environ(), "DISPLAY="+fixture.display)
	if err := other.Start(); err != nil {
		t.Fatalf("start xev: %v", err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	otherWin := strings.Fields(xdotool(t, "search", "--sync", "--onlyvisible", "--name", "^parley-hidden-other$"))[0]
	held := in.talkFrom(t, otherWin, mouth, wav, 2*time.Second)
	msg := waitVoice(t, checker, "alice", 30*time.Second)
	if d := msg.Duration; d < 1800*time.Millisecond || d > held+500*time.Millisecond {
		t.Errorf("message from the hidden window: %v, want the 2 s hold (%v between commands)\n%s", d, held, in.output())
	}
	t.Logf("hidden window sent %s: %v", msg.ID, msg.Duration)

	// Someone else talks: the hidden app plays it live and notifies.
	lobby := ""
	for _, m := range lobbyMessages(checker) {
		lobby = m.Conversation
	}
	if lobby == "" {
		t.Fatal("checker has no Lobby")
	}
	pkts, err := audio.EncodePCM(toneSamples(660, 0.5, 3*48000), audio.EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := checker.StartVoice(lobby)
	if err != nil {
		t.Fatal(err)
	}
	var sent time.Duration
	heard, first := earTone(t, ear, 660, 1500*time.Millisecond, func() {
		begin := time.Now()
		defer func() { sent = time.Since(begin) }()
		tick := time.NewTicker(20 * time.Millisecond) // a talker's pace
		defer tick.Stop()
		for _, p := range pkts {
			<-tick.C
			if err := vs.Push(p.Data); err != nil {
				t.Error(err)
				return
			}
		}
	})
	if err := vs.End(3*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	// Live: the tone is heard before its last packet was sent. How much of
	// it comes out clean is the live player's business (on this shared
	// 2-core machine under load it sheds and stretches: 0.9–2.3 s seen), so
	// half a second is asked for here.
	if first < 0 || first >= sent || heard < 500*time.Millisecond {
		t.Errorf("the hidden app played %v of the 3 s message, first heard at %v of a %v send; want it live", heard, first, sent)
	} else {
		t.Logf("the hidden app played %v of the 3 s message, first heard %v into the %v send", heard, first, sent)
	}
	bus.waitFor(t, regexp.MustCompile(`checker is talking|New voice message`), 20*time.Second, "notification of checker's message")

	// A click on a notification opens its conversation. checker writes to
	// alice directly, twice: the second notification replaces the first.
	aliceID := ""
	convs, err := checker.Store().Conversations(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs {
		for _, m := range c.Members {
			if c.Lobby && m.Name == "alice" {
				aliceID = m.ID
			}
		}
	}
	if aliceID == "" {
		t.Fatalf("alice is not in checker's Lobby: %+v", convs)
	}
	direct, err := checker.CreateConversation(t.Context(), wire.ConversationDirect, "", []string{aliceID})
	if err != nil {
		t.Fatal(err)
	}
	newText := regexp.MustCompile(`^New message in checker$`)
	var notes []notifyCall
	var last string
	for _, text := range []string{"first ping", "second ping"} {
		before := bus.notifyCalls()
		if last, err = checker.SendText(direct.ID, text); err != nil {
			t.Fatal(err)
		}
		notes = append(notes, bus.waitNotify(t, before, newText, 30*time.Second))
	}
	if notes[0].replaces != 0 || notes[1].replaces != notes[0].id || !slices.Contains(notes[1].actions, "default") {
		t.Errorf("notifications of the direct conversation: %+v; want the second to replace the first, with a default action", notes)
	}
	bus.emit(t, "ActionInvoked", notes[1].id, "default")
	in.waitLog(t, regexp.MustCompile(`"notification clicked".* conversation=`+direct.ID), 10*time.Second)
	in.waitLog(t, regexp.MustCompile(`"conversation shown" conversation=`+direct.ID), 10*time.Second)
	waitMapped(t, in.window, 10*time.Second)
	// The window has the focus with the conversation open when alice's
	// "seen" of the texts reaches checker (ui marks the open one seen).
	waitSeen(t, checker, last, aliceID)
	screenshot(t, "testdata/notification_click.png")

	// Mute the direct conversation with its header's toggle (the window is
	// 900x620 at 0,0; Mute is left of Members at the header's right), then
	// give the focus to another window. checker's next direct text does
	// not notify: the next notification is that of his Lobby text after it.
	xdotool(t, "mousemove", "--window", in.window, "750", "89", "click", "1")
	in.waitLog(t, regexp.MustCompile(`"conversation muted".* conversation=`+direct.ID+` muted=true`), 10*time.Second)
	xdotool(t, "windowfocus", "--sync", otherWin)
	before := bus.notifyCalls()
	if _, err := checker.SendText(lobby, "lobby ping"); err != nil {
		t.Fatal(err)
	}
	bus.waitNotify(t, before, regexp.MustCompile(`^New message in Lobby$`), 30*time.Second) // unfocused now
	before = bus.notifyCalls()
	var mutedPing string
	for _, c := range []struct{ conv, text string }{{direct.ID, "muted ping"}, {lobby, "lobby ping again"}} {
		id, err := checker.SendText(c.conv, c.text)
		if err != nil {
			t.Fatal(err)
		}
		if c.conv == direct.ID {
			mutedPing = id
		}
	}
	if got := bus.waitNotify(t, before, regexp.MustCompile(`.`), 30*time.Second); got.body != "New message in Lobby" {
		t.Errorf("after muting the direct conversation the next notification is %q, want the Lobby's", got.body)
	}
	xdotool(t, "windowfocus", "--sync", in.window)
	waitSeen(t, checker, mutedPing, aliceID) // shown in the open, muted conversation
	screenshot(t, "testdata/muted_real.png")
}

// waitSeen waits until c has user's seen (listened) receipt of its text
// message.
func waitSeen(t *testing.T, c *sync.Client, message, user string) {
	t.Helper()
	waitFor(t, c, 20*time.Second, "the seen receipt of "+message, func() bool {
		rs, _ := c.Store().Receipts(t.Context(), message)
		for _, r := range rs {
			if r.User == user && r.Kind == wire.ReceiptListened {
				return true
			}
		}
		return false
	})
}

// waitMapped waits until window is viewable again (X's MapNotify).
func waitMapped(t *testing.T, window string, timeout time.Duration) {
	t.Helper()
	id, err := strconv.ParseUint(window, 10, 32)
	if err != nil {
		t.Fatalf("window id %q: %v", window, err)
	}
	win := xproto.Window(id)
	c, err := xgb.NewConnDisplay(fixture.display)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan xgb.Event, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := c.WaitForEvent()
			if ev == nil && err == nil {
				return // the connection closed
			}
			if ev != nil {
				select {
				case events <- ev:
				default:
				}
			}
		}
	}()
	defer func() { c.Close(); <-done }()
	if err := xproto.ChangeWindowAttributesChecked(c, win, xproto.CwEventMask, []uint32{xproto.EventMaskStructureNotify}).Check(); err != nil {
		t.Fatalf("watch window %s: %v", window, err)
	}
	// Asked after the watch started: a map in between is not missed.
	if a, err := xproto.GetWindowAttributes(c, win).Reply(); err != nil {
		t.Fatalf("window %s attributes: %v", window, err)
	} else if a.MapState == xproto.MapStateViewable {
		return
	}
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-events:
			if _, ok := ev.(xproto.MapNotifyEvent); ok {
				return
			}
		case <-deadline:
			t.Fatalf("window %s not shown within %v", window, timeout)
		}
	}
}

func toneSamples(freq, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/48000))
	}
	return out
}
