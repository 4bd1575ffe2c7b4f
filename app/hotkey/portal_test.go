//go:build unix && !darwin && !android

package hotkey

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// startSessionBus starts a private dbus-daemon and returns its address.
func startSessionBus(t *testing.T) string {
	t.Helper()
	requireTools(t, "dbus-daemon")
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1", "--address=unix:dir="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon address: %v", err)
	}
	return strings.TrimSpace(addr)
}

func dialBus(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to the test bus: %v", err)
	}
	return c
}

// TestPortalAbsent: a session bus without a portal is ErrNoPortal at once.
func TestPortalAbsent(t *testing.T) {
	addr := startSessionBus(t)
	c := dialBus(t, addr)
	defer c.Close()
	s, err := newPortalShortcut(c, Key{Name: "F8"})
	if !errors.Is(err, ErrNoPortal) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("err = %v, want ErrNoPortal", err)
	}
}

// testPortal is the GlobalShortcuts side of xdg-desktop-portal, on the real
// test bus: it answers requests as the portal does (a Request object's
// Response signal) and sends Activated/Deactivated when told.
type testPortal struct {
	conn     *dbus.Conn
	session  dbus.ObjectPath
	bound    chan []string // shortcut ids of BindShortcuts
	triggers map[string]string
	sender   string
}

func (p *testPortal) requestPath(sender dbus.Sender, token string) dbus.ObjectPath {
	s := strings.ReplaceAll(strings.TrimPrefix(string(sender), ":"), ".", "_")
	return dbus.ObjectPath("/org/freedesktop/portal/desktop/request/" + s + "/" + token)
}

func (p *testPortal) CreateSession(sender dbus.Sender, opts map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	token, _ := opts["handle_token"].Value().(string)
	stoken, _ := opts["session_handle_token"].Value().(string)
	handle := p.requestPath(sender, token)
	p.session = dbus.ObjectPath("/org/freedesktop/portal/desktop/session/x/" + stoken)
	p.sender = string(sender)
	go p.conn.Emit(handle, portalRequest+".Response", uint32(0), map[string]dbus.Variant{"session_handle": dbus.MakeVariant(string(p.session))})
	return handle, nil
}

func (p *testPortal) BindShortcuts(sender dbus.Sender, session dbus.ObjectPath, shortcuts []struct {
	ID   string
	Opts map[string]dbus.Variant
}, parent string, opts map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	token, _ := opts["handle_token"].Value().(string)
	handle := p.requestPath(sender, token)
	var ids []string
	for _, s := range shortcuts {
		ids = append(ids, s.ID)
		trig, _ := s.Opts["preferred_trigger"].Value().(string)
		p.triggers[s.ID] = trig
	}
	go func() {
		p.conn.Emit(handle, portalRequest+".Response", uint32(0), map[string]dbus.Variant{})
		p.bound <- ids
	}()
	return handle, nil
}

func startTestPortal(t *testing.T, addr string) *testPortal {
	t.Helper()
	c := dialBus(t, addr)
	t.Cleanup(func() { c.Close() })
	p := &testPortal{conn: c, bound: make(chan []string, 1), triggers: map[string]string{}}
	if err := c.ExportMethodTable(map[string]any{
		"CreateSession": p.CreateSession,
		"BindShortcuts": p.BindShortcuts,
	}, portalPath, portalShortcuts); err != nil {
		t.Fatal(err)
	}
	if _, err := prop.Export(c, portalPath, prop.Map{portalShortcuts: {
		"version": {Value: uint32(1), Writable: false, Emit: prop.EmitFalse},
	}}); err != nil {
		t.Fatal(err)
	}
	reply, err := c.RequestName(portalBus, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", portalBus, reply, err)
	}
	return p
}

func (p *testPortal) emit(t *testing.T, member, id string) {
	t.Helper()
	if err := p.conn.Emit(portalPath, portalShortcuts+"."+member, p.session, id, uint64(1), map[string]dbus.Variant{}); err != nil {
		t.Fatal(err)
	}
}

// TestPortalShortcut binds the talk shortcut through the portal protocol
// and turns Activated/Deactivated into edges (repeats and other shortcuts
// dropped).
func TestPortalShortcut(t *testing.T) {
	addr := startSessionBus(t)
	portal := startTestPortal(t, addr)
	c := dialBus(t, addr)
	s, err := newPortalShortcut(c, Key{Name: "F8"})
	if err != nil {
		c.Close()
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	if ids := <-portal.bound; len(ids) != 1 || ids[0] != shortcutID {
		t.Fatalf("bound %v, want [%s]", ids, shortcutID)
	}
	if got := portal.triggers[shortcutID]; got != "F8" {
		t.Errorf("preferred trigger %q, want F8", got)
	}
	portal.emit(t, "Activated", "other")
	portal.emit(t, "Activated", shortcutID)
	portal.emit(t, "Activated", shortcutID) // a repeat
	portal.emit(t, "Deactivated", shortcutID)
	if e := nextEvent(t, s, "press"); !e.Down {
		t.Fatalf("first event %+v, want press", e)
	}
	if e := nextEvent(t, s, "release"); e.Down {
		t.Fatalf("second event %+v, want release", e)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for e := range s.Events() {
		t.Errorf("extra event %+v", e)
	}
}

func TestMain(m *testing.M) {
	os.Unsetenv("DBUS_SESSION_BUS_ADDRESS") // only the buses the tests start
	os.Exit(m.Run())
}
