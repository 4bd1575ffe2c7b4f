//go:build unix && !darwin && !android

package hotkey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	portalBus       = "org.freedesktop.portal.Desktop"
	portalPath      = dbus.ObjectPath("/org/freedesktop/portal/desktop")
	portalShortcuts = "org.freedesktop.portal.GlobalShortcuts"
	portalRequest   = "org.freedesktop.portal.Request"
	portalSession   = "org.freedesktop.portal.Session"
	// portalAnswer bounds the calls that must answer at once (not the
	// binding dialog, which waits for the user).
	portalAnswer = 5 * time.Second
	shortcutID   = "talk"
)

// portalShortcut is a GlobalShortcuts session with one "talk" shortcut.
type portalShortcut struct {
	conn    *dbus.Conn
	session dbus.ObjectPath
	signals chan *dbus.Signal

	events chan Event
	stop   chan struct{}
	ctx    context.Context // cancelled by Close: ends a waiting request
	cancel context.CancelFunc
	wg     gosync.WaitGroup
	mu     gosync.Mutex
	err    error
}

// openPortal opens the session bus and asks its portal for the shortcut.
func openPortal(k Key) (Source, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, fmt.Errorf("%w: session bus: %v", ErrNoPortal, err)
	}
	s, err := newPortalShortcut(conn, k)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// newPortalShortcut creates the session and starts binding; conn becomes
// the shortcut's (Close closes it).
func newPortalShortcut(conn *dbus.Conn, k Key) (*portalShortcut, error) {
	ctx, cancel := context.WithTimeout(context.Background(), portalAnswer)
	defer cancel()
	obj := conn.Object(portalBus, portalPath)
	var version dbus.Variant
	if err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, portalShortcuts, "version").Store(&version); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPortal, err)
	}
	s := &portalShortcut{conn: conn, signals: make(chan *dbus.Signal, 16),
		events: make(chan Event, 16), stop: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	conn.Signal(s.signals)
	if err := conn.AddMatchSignal(dbus.WithMatchInterface(portalShortcuts), dbus.WithMatchObjectPath(portalPath)); err != nil {
		return nil, fmt.Errorf("subscribe to shortcut signals: %w", err)
	}
	token := randomToken()
	results, err := s.request(ctx, token, func() *dbus.Call {
		return obj.CallWithContext(ctx, portalShortcuts+".CreateSession", 0, map[string]dbus.Variant{
			"handle_token":         dbus.MakeVariant(token),
			"session_handle_token": dbus.MakeVariant("parley_" + token),
		})
	})
	if err != nil {
		return nil, fmt.Errorf("create shortcut session: %w", err)
	}
	h, ok := results["session_handle"]
	if !ok {
		return nil, errors.New("create shortcut session: no session handle in the answer")
	}
	switch v := h.Value().(type) {
	case string:
		s.session = dbus.ObjectPath(v)
	case dbus.ObjectPath:
		s.session = v
	default:
		return nil, fmt.Errorf("create shortcut session: session handle of type %T", v)
	}
	s.wg.Add(1)
	go s.run(obj, k)
	return s, nil
}

// request calls a portal method that answers through a Request object's
// Response signal, subscribing first so the answer cannot be missed.
func (s *portalShortcut) request(ctx context.Context, token string, call func() *dbus.Call) (map[string]dbus.Variant, error) {
	sender := strings.ReplaceAll(strings.TrimPrefix(s.conn.Names()[0], ":"), ".", "_")
	path := dbus.ObjectPath("/org/freedesktop/portal/desktop/request/" + sender + "/" + token)
	match := []dbus.MatchOption{dbus.WithMatchInterface(portalRequest), dbus.WithMatchMember("Response"), dbus.WithMatchObjectPath(path)}
	if err := s.conn.AddMatchSignalContext(ctx, match...); err != nil {
		return nil, fmt.Errorf("subscribe to the answer: %w", err)
	}
	defer s.conn.RemoveMatchSignal(match...)
	var handle dbus.ObjectPath
	if err := call().Store(&handle); err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.stop:
			return nil, errors.New("closed")
		case sig := <-s.signals:
			if sig.Path != handle || sig.Name != portalRequest+".Response" || len(sig.Body) < 2 {
				continue
			}
			code, _ := sig.Body[0].(uint32)
			results, _ := sig.Body[1].(map[string]dbus.Variant)
			switch code {
			case 0:
				return results, nil
			case 1:
				return nil, errors.New("the user dismissed the shortcut dialog")
			default:
				return nil, fmt.Errorf("the portal ended the request (code %d)", code)
			}
		}
	}
}

// run binds the shortcut (the portal may show its dialog and wait for the
// user), then turns Activated/Deactivated into edges until Close.
func (s *portalShortcut) run(obj dbus.BusObject, k Key) {
	defer s.wg.Done()
	defer close(s.events)
	ctx := s.ctx
	token := randomToken()
	shortcuts := []struct {
		ID   string
		Opts map[string]dbus.Variant
	}{{shortcutID, map[string]dbus.Variant{
		"description":       dbus.MakeVariant("Push to talk (Parley)"),
		"preferred_trigger": dbus.MakeVariant(k.String()),
	}}}
	_, err := s.request(ctx, token, func() *dbus.Call {
		return obj.CallWithContext(ctx, portalShortcuts+".BindShortcuts", 0, s.session, shortcuts, "",
			map[string]dbus.Variant{"handle_token": dbus.MakeVariant(token)})
	})
	if err != nil {
		s.fail(fmt.Errorf("bind the talk shortcut: %w", err))
		return
	}
	down := false
	for {
		select {
		case <-s.stop:
			return
		case sig := <-s.signals:
			if sig.Path != portalPath || len(sig.Body) < 2 {
				continue
			}
			if sess, _ := sig.Body[0].(dbus.ObjectPath); sess != s.session {
				continue
			}
			if id, _ := sig.Body[1].(string); id != shortcutID {
				continue
			}
			var want bool
			switch sig.Name {
			case portalShortcuts + ".Activated":
				want = true
			case portalShortcuts + ".Deactivated":
				want = false
			default:
				continue
			}
			if want == down {
				continue // repeats: edges only
			}
			down = want
			select {
			case s.events <- Event{Down: down}:
			case <-s.stop:
				return
			}
		}
	}
}

func (s *portalShortcut) fail(err error) {
	select {
	case <-s.stop:
		return // closing: not an error
	default:
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *portalShortcut) Events() <-chan Event { return s.events }

func (s *portalShortcut) Name() string { return "desktop portal shortcut" }

func (s *portalShortcut) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the portal session, closes the bus connection and waits.
func (s *portalShortcut) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	s.cancel()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), portalAnswer)
	defer cancel()
	s.conn.Object(portalBus, s.session).CallWithContext(ctx, portalSession+".Close", 0)
	return s.conn.Close()
}

func randomToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "parley" + hex.EncodeToString(b)
}
