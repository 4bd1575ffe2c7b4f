//go:build unix && !darwin && !android

package hotkey

import (
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// releaseWait is how long a release waits for the press of an auto-repeat
// pair when the server has no XKB (the pair is sent together, so this only
// covers scheduling). With XKB detectable auto-repeat it is not used.
const releaseWait = 30 * time.Millisecond

// x11Grab is a passive grab of one key on the root window.
type x11Grab struct {
	conn       *xgb.Conn
	root       xproto.Window
	code       xproto.Keycode
	escape     xproto.Keycode // 0 when the keymap has no Escape
	detectable bool

	events chan Event
	stop   chan struct{}
	wg     gosync.WaitGroup

	mu      gosync.Mutex
	err     error
	repeats int
	// onRepeat, set before start by tests, is called (on the loop goroutine)
	// for each auto-repeat the filter drops.
	onRepeat func()
}

// openX11 grabs k on the root window of display ("" = $DISPLAY).
func openX11(display string, k Key) (*x11Grab, error) {
	return openX11With(display, k, true, nil)
}

// openX11With is openX11 for tests: useXKB false keeps the server's classic
// auto-repeat (release+press pairs) to exercise timestamp matching.
func openX11With(display string, k Key, useXKB bool, onRepeat func()) (*x11Grab, error) {
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("connect to X display %q: %w", display, err)
	}
	g := &x11Grab{conn: conn, events: make(chan Event, 16), stop: make(chan struct{}), onRepeat: onRepeat}
	setup := xproto.Setup(conn)
	g.root = setup.DefaultScreen(conn).Root
	code, err := keycodeOf(conn, setup, k)
	if err != nil {
		conn.Close()
		return nil, err
	}
	g.code = code
	if esc, err := keycodeOf(conn, setup, Key{Name: "Escape"}); err == nil {
		g.escape = esc
	}
	if useXKB {
		g.detectable = setDetectableAutoRepeat(conn)
	}
	// AnyModifier: the key works with Num Lock, Caps Lock or Ctrl held too.
	err = xproto.GrabKeyChecked(conn, false, g.root, xproto.ModMaskAny, code,
		xproto.GrabModeAsync, xproto.GrabModeAsync).Check()
	if err != nil {
		conn.Close()
		var access xproto.AccessError
		if errors.As(err, &access) {
			return nil, ErrKeyTaken
		}
		return nil, fmt.Errorf("grab keycode %d: %w", code, err)
	}
	raw := make(chan xgb.Event, 16)
	g.wg.Add(2)
	go g.read(raw)
	go g.loop(raw)
	return g, nil
}

// keycodeOf finds the keycode that produces k's keysym in the keymap.
func keycodeOf(conn *xgb.Conn, setup *xproto.SetupInfo, k Key) (xproto.Keycode, error) {
	if k.Name == "" {
		if k.Scan < int(setup.MinKeycode) || k.Scan > int(setup.MaxKeycode) {
			return 0, fmt.Errorf("keycode %d: %w", k.Scan, ErrUnknownKey)
		}
		return xproto.Keycode(k.Scan), nil // GLFW's scan code on X11 is the keycode
	}
	sym, ok := keysymOf(k.Name)
	if !ok {
		return 0, fmt.Errorf("key %q: %w", k.Name, ErrUnknownKey)
	}
	n := byte(setup.MaxKeycode - setup.MinKeycode + 1)
	m, err := xproto.GetKeyboardMapping(conn, setup.MinKeycode, n).Reply()
	if err != nil {
		return 0, fmt.Errorf("read keyboard mapping: %w", err)
	}
	per := int(m.KeysymsPerKeycode)
	for i := 0; i < int(n); i++ {
		for j := 0; j < per; j++ {
			if uint32(m.Keysyms[i*per+j]) == sym {
				return setup.MinKeycode + xproto.Keycode(i), nil
			}
		}
	}
	return 0, fmt.Errorf("key %q is not on this keyboard: %w", k.Name, ErrUnknownKey)
}

// read is the only reader of the connection; it ends when the connection
// closes (Close, or the display went away).
func (g *x11Grab) read(raw chan<- xgb.Event) {
	defer g.wg.Done()
	defer close(raw)
	for {
		ev, err := g.conn.WaitForEvent()
		if ev == nil && err == nil {
			return // connection closed
		}
		if err != nil {
			continue // an X error for an unchecked request: nothing of ours
		}
		select {
		case raw <- ev:
		case <-g.stop:
			return
		}
	}
}

// loop filters auto-repeat and emits edges.
func (g *x11Grab) loop(raw <-chan xgb.Event) {
	defer g.wg.Done()
	defer close(g.events)
	var f repeatFilter
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var out []Event
		select {
		case <-g.stop:
			return
		case <-timer.C:
			out = f.expire()
		case ev, ok := <-raw:
			if !ok {
				select {
				case <-g.stop:
				default:
					g.mu.Lock()
					g.err = errors.New("the X display connection closed")
					g.mu.Unlock()
				}
				return
			}
			before := f.repeats
			switch e := ev.(type) {
			case xproto.KeyPressEvent:
				switch {
				case e.Detail == g.code:
					out = f.press(uint32(e.Time))
				case e.Detail == g.escape && g.escape != 0 && f.down:
					out = []Event{{Cancel: true}}
				}
			case xproto.KeyReleaseEvent:
				if e.Detail == g.code {
					out = f.release(uint32(e.Time), g.detectable)
					if f.pending {
						timer.Reset(releaseWait)
					}
				}
			}
			if f.repeats != before {
				g.mu.Lock()
				g.repeats = f.repeats
				g.mu.Unlock()
				if g.onRepeat != nil {
					g.onRepeat()
				}
			}
		}
		for _, e := range out {
			select {
			case g.events <- e:
			case <-g.stop:
				return
			}
		}
	}
}

func (g *x11Grab) Events() <-chan Event { return g.events }

func (g *x11Grab) Name() string { return "X11 key grab" }

func (g *x11Grab) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Close ungrabs the key, closes the connection and waits. Idempotent.
func (g *x11Grab) Close() error {
	select {
	case <-g.stop:
		return nil
	default:
	}
	close(g.stop)
	xproto.UngrabKey(g.conn, g.code, g.root, xproto.ModMaskAny)
	g.conn.Close()
	g.wg.Wait()
	return nil
}

// XKB requests for detectable auto-repeat (xgb has no xkb package).
const (
	xkbUseExtension   = 0
	xkbPerClientFlags = 21
	xkbUseCoreKbd     = 0x0100
	xkbDetectableAR   = 1 << 0
)

// setDetectableAutoRepeat asks the server, through XKB, to send a held
// key's repeats as presses only. It reports whether the server agreed.
func setDetectableAutoRepeat(conn *xgb.Conn) bool {
	ext, err := xproto.QueryExtension(conn, uint16(len("XKEYBOARD")), "XKEYBOARD").Reply()
	if err != nil || !ext.Present {
		return false
	}
	op := ext.MajorOpcode
	use := make([]byte, 8)
	use[0], use[1] = op, xkbUseExtension
	xgb.Put16(use[2:], 2)
	xgb.Put16(use[4:], 1) // wanted major
	xgb.Put16(use[6:], 0) // wanted minor
	c := conn.NewCookie(true, true)
	conn.NewRequest(use, c)
	reply, err := c.Reply()
	if err != nil || len(reply) < 2 || reply[1] == 0 {
		return false
	}
	req := make([]byte, 28)
	req[0], req[1] = op, xkbPerClientFlags
	xgb.Put16(req[2:], 7)
	xgb.Put16(req[4:], xkbUseCoreKbd)
	xgb.Put32(req[8:], xkbDetectableAR)  // change
	xgb.Put32(req[12:], xkbDetectableAR) // value
	c = conn.NewCookie(true, true)
	conn.NewRequest(req, c)
	reply, err = c.Reply()
	if err != nil || len(reply) < 16 {
		return false
	}
	return xgb.Get32(reply[12:])&xkbDetectableAR != 0
}
