//go:build unix && !darwin && !android

package app

// Window position on X11. Fyne 2.8 can neither read nor set where a
// window is; its X11 window id is reachable (driver.NativeWindow), and the
// X server can do both. Elsewhere there is no placement (placement_other.go):
// Wayland gives clients no positions at all, and macOS and Windows would
// need their own native calls.

import (
	"errors"
	"fmt"
	gosync "sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// errNoX11Window is returned when the window has no X11 window (not shown
// yet, or not running on X11).
var errNoX11Window = errors.New("no X11 window")

// x11Placement is ui.WindowPlacement over its own X connection, opened at
// first use. Positions are the frame's: the window manager's decoration
// around the client window, or the window itself without one. Moving the
// client to the frame's old position puts the frame there (ICCCM's
// default north-west gravity), so the window does not creep by the height
// of its title bar at each start.
type x11Placement struct {
	mu   gosync.Mutex
	conn *xgb.Conn
	root xproto.Window
	err  error // the failed connection, not retried
}

func newWindowPlacement() *x11Placement { return &x11Placement{} }

// connect opens the connection once. Call with p.mu held.
func (p *x11Placement) connect() error {
	if p.conn != nil || p.err != nil {
		return p.err
	}
	conn, err := xgb.NewConn()
	if err != nil {
		p.err = fmt.Errorf("connect to X display: %w", err)
		return p.err
	}
	p.conn, p.root = conn, xproto.Setup(conn).DefaultScreen(conn).Root
	return nil
}

// window is w's X11 window id, 0 if it has none.
func x11Window(w fyne.Window) xproto.Window {
	nw, ok := w.(driver.NativeWindow)
	if !ok {
		return 0
	}
	var id xproto.Window
	nw.RunNative(func(ctx any) {
		if c, ok := ctx.(driver.X11WindowContext); ok {
			id = xproto.Window(c.WindowHandle)
		}
	})
	return id
}

// frame is the child of the root that holds win (win itself when no
// window manager reparented it).
func (p *x11Placement) frame(win xproto.Window) (xproto.Window, error) {
	for {
		tree, err := xproto.QueryTree(p.conn, win).Reply()
		if err != nil {
			return 0, fmt.Errorf("query tree of window %d: %w", win, err)
		}
		if tree.Parent == p.root || tree.Parent == 0 {
			return win, nil
		}
		win = tree.Parent
	}
}

// Position implements ui.WindowPlacement.
func (p *x11Placement) Position(w fyne.Window) (x, y int, ok bool) {
	win := x11Window(w)
	if win == 0 {
		return 0, 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.connect() != nil {
		return 0, 0, false
	}
	f, err := p.frame(win)
	if err != nil {
		return 0, 0, false
	}
	g, err := xproto.GetGeometry(p.conn, xproto.Drawable(f)).Reply()
	if err != nil {
		return 0, 0, false
	}
	return int(g.X), int(g.Y), true
}

// minOnScreen is how much of the window stays on the screen when a
// remembered position would put it (nearly) off: the screen got smaller.
const minOnScreen = 64

// Move implements ui.WindowPlacement.
func (p *x11Placement) Move(w fyne.Window, x, y int) error {
	win := x11Window(w)
	if win == 0 {
		return errNoX11Window
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.connect(); err != nil {
		return err
	}
	root, err := xproto.GetGeometry(p.conn, xproto.Drawable(p.root)).Reply()
	if err != nil {
		return fmt.Errorf("screen size: %w", err)
	}
	x = min(max(x, 0), int(root.Width)-minOnScreen)
	y = min(max(y, 0), int(root.Height)-minOnScreen)
	err = xproto.ConfigureWindowChecked(p.conn, win, xproto.ConfigWindowX|xproto.ConfigWindowY,
		[]uint32{uint32(int32(x)), uint32(int32(y))}).Check()
	if err != nil {
		return fmt.Errorf("move window %d to %d,%d: %w", win, x, y, err)
	}
	return nil
}

// close closes the X connection. Idempotent.
func (p *x11Placement) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}
