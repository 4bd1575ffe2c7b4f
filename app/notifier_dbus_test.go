//go:build linux || freebsd || netbsd || openbsd

package app

import (
	"log/slog"
	"regexp"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// recordNotifier is a notifier that keeps what it was asked to show.
type recordNotifier struct {
	mu    gosync.Mutex
	notes []string
	more  chan struct{}
}

func (r *recordNotifier) notify(conv, text string) {
	r.mu.Lock()
	r.notes = append(r.notes, conv+": "+text)
	r.mu.Unlock()
	r.more <- struct{}{}
}

func (r *recordNotifier) withdraw(string) {}

func (r *recordNotifier) close() {}

// TestDBusNotifier runs the notifier against a notification server on a
// real session bus (dbus-daemon): each Notify carries the "default"
// action and replaces the conversation's shown notification; a click
// (ActionInvoked) opens that conversation, another application's click
// opens nothing; a closed notification is not replaced; without a
// notification server the fallback shows the note.
func TestDBusNotifier(t *testing.T) {
	bus := startSessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.addr)
	opened := make(chan string, 8)
	fallback := &recordNotifier{more: make(chan struct{}, 8)}
	n, err := newDBusNotifier(func(conv string) { opened <- conv }, fallback,
		slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()

	wantOpened := func(step, want string) {
		t.Helper()
		select {
		case got := <-opened:
			if got != want {
				t.Errorf("%s: opened %q, want %q", step, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: nothing opened within 10 s", step)
		}
	}
	ids := map[string]uint32{}
	steps := []struct {
		name, conv, text string
		replacesOf       string // the conversation whose notification it replaces; "" for none
	}{
		{"first in c1", "c1", "one in c1", ""},
		{"second in c1 replaces", "c1", "two in c1", "c1"},
		{"first in c2 stacks", "c2", "one in c2", ""},
	}
	for _, st := range steps {
		before := bus.notifyCalls()
		n.notify(st.conv, st.text)
		call := bus.waitNotify(t, before, regexp.MustCompile("^"+st.text+"$"), 10*time.Second)
		if want := ids[st.replacesOf]; call.replaces != want {
			t.Errorf("%s: replaces_id %d, want %d", st.name, call.replaces, want)
		}
		if call.app != "Parley" || call.summary != "Parley" || !slices.Contains(call.actions, "default") {
			t.Errorf("%s: app %q summary %q actions %q; want Parley, Parley and a default action", st.name, call.app, call.summary, call.actions)
		}
		if v, ok := call.hints["desktop-entry"]; !ok || v.Value() != AppID {
			t.Errorf("%s: desktop-entry hint %v, want %s", st.name, v, AppID)
		}
		ids[st.conv] = call.id
	}
	if ids["c1"] == ids["c2"] {
		t.Fatalf("c1 and c2 share notification %d", ids["c1"])
	}

	bus.emit(t, "ActionInvoked", ids["c2"], "default")
	wantOpened("click on c2", "c2")
	// Signals arrive in order: the click on another application's
	// notification is handled (ignored) before the one on c1's.
	bus.emit(t, "ActionInvoked", ids["c2"]+100, "default")
	bus.emit(t, "ActionInvoked", ids["c1"], "default")
	wantOpened("another app's click, then c1's", "c1")

	// Closed: c1's next notification is a new one. The click on c2 after
	// it shows that the close was handled.
	bus.emit(t, "NotificationClosed", ids["c1"], uint32(2))
	bus.emit(t, "ActionInvoked", ids["c2"], "default")
	wantOpened("click after the close", "c2")
	before := bus.notifyCalls()
	n.notify("c1", "three in c1")
	if call := bus.waitNotify(t, before, regexp.MustCompile("^three in c1$"), 10*time.Second); call.replaces != 0 {
		t.Errorf("after the close: replaces_id %d, want 0 (a new notification)", call.replaces)
	}

	// The user opened c1 in the window: its notification is taken back,
	// and its next one is new.
	n.withdraw("c1")
	n.withdraw("c9") // none shown: nothing to close
	before = bus.notifyCalls()
	n.notify("c1", "four in c1")
	if call := bus.waitNotify(t, before, regexp.MustCompile("^four in c1$"), 10*time.Second); call.replaces != 0 {
		t.Errorf("after the withdrawal: replaces_id %d, want 0", call.replaces)
	}
	if closed := bus.closedIDs(); len(closed) != 1 || closed[0] != 3 {
		t.Errorf("CloseNotification calls %v, want c1's third notification (3) only", closed)
	}

	// The desktop's notification server goes away: the fallback shows it.
	if r, err := bus.conn.ReleaseName("org.freedesktop.Notifications"); err != nil || r != dbus.ReleaseNameReplyReleased {
		t.Fatalf("release the notification service: %v %v", r, err)
	}
	n.notify("c2", "nobody listens")
	select {
	case <-fallback.more:
		if fallback.notes[0] != "c2: nobody listens" {
			t.Errorf("fallback showed %q", fallback.notes)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no fallback notification without a notification server")
	}
	select {
	case c := <-opened:
		t.Errorf("opened %q without a click", c)
	default:
	}
}
