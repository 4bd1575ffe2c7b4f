//go:build unix && !darwin && !android

package hotkey

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// requireTools skips (or, with PARLEY_TEST_GUI=1 as in make test, fails)
// when a tool the test starts is missing.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("PARLEY_TEST_GUI") == "1" {
				t.Fatalf("PARLEY_TEST_GUI=1 but %s is not installed (make deps-test)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

// startXvfb starts a private X server on a free display and returns it.
func startXvfb(t *testing.T) string {
	t.Helper()
	requireTools(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "640x480x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb display number: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

func xdotool(t *testing.T, display string, args ...string) {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// xevWindow is a bare X client (xev) whose window has the focus; it
// collects what xev prints, line by line.
type xevWindow struct {
	mu    gosync.Mutex
	lines []string
	more  chan struct{} // a line arrived
}

func (x *xevWindow) waitFor(t *testing.T, re *regexp.Regexp, what string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	seen := 0
	for {
		x.mu.Lock()
		for ; seen < len(x.lines); seen++ {
			if re.MatchString(x.lines[seen]) {
				x.mu.Unlock()
				return
			}
		}
		x.mu.Unlock()
		select {
		case <-x.more:
		case <-deadline:
			t.Fatalf("xev never printed %s", what)
		}
	}
}

func (x *xevWindow) count(re *regexp.Regexp) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, l := range x.lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

func startFocusedXev(t *testing.T, display string) *xevWindow {
	t.Helper()
	requireTools(t, "xev", "xdotool", "stdbuf")
	// stdbuf: xev's stdout is a pipe; line-buffer it so events show as they come.
	cmd := exec.Command("stdbuf", "-oL", "xev", "-name", "parley-other-window", "-event", "keyboard", "-event", "structure")
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start xev: %v", err)
	}
	x := &xevWindow{more: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			x.mu.Lock()
			x.lines = append(x.lines, sc.Text())
			x.mu.Unlock()
			select {
			case x.more <- struct{}{}:
			default:
			}
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		cmd.Wait()
	})
	x.waitFor(t, regexp.MustCompile(`^MapNotify`), "MapNotify")
	xdotool(t, display, "search", "--sync", "--name", "parley-other-window", "windowfocus", "--sync")
	return x
}

func nextEvent(t *testing.T, s Source, what string) Event {
	t.Helper()
	select {
	case e, ok := <-s.Events():
		if !ok {
			t.Fatalf("events closed while waiting for %s (err %v)", what, s.Err())
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
	}
	return Event{}
}

// TestX11GrabFromAnotherWindow holds F8 while another X client has the
// focus: the grab reports one press, drops the server's auto-repeats, and
// reports one release; the focused window never sees the key until the
// grab is closed.
func TestX11GrabFromAnotherWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		useXKB bool
	}{{"xkb detectable repeat", true}, {"timestamp matching", false}} {
		t.Run(tc.name, func(t *testing.T) { testGrab(t, tc.useXKB) })
	}
}

func testGrab(t *testing.T, useXKB bool) {
	display := startXvfb(t)
	other := startFocusedXev(t, display)

	repeats := make(chan struct{}, 64)
	g, err := openX11With(display, Key{Name: "F8"}, useXKB, func() {
		select {
		case repeats <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatalf("grab F8: %v", err)
	}
	if g.detectable != useXKB {
		t.Fatalf("detectable auto-repeat = %v, want %v (Xvfb has XKB)", g.detectable, useXKB)
	}

	xdotool(t, display, "keydown", "F8")
	if e := nextEvent(t, g, "press"); !e.Down {
		t.Fatalf("first event = %+v, want a press", e)
	}
	// Hold until the server has auto-repeated the key three times (Xvfb's
	// default delay is 660 ms, then 25 repeats a second).
	for i := 0; i < 3; i++ {
		select {
		case <-repeats:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d auto-repeats seen while holding F8", i)
		}
	}
	xdotool(t, display, "keyup", "F8")
	if e := nextEvent(t, g, "release"); e.Down {
		t.Fatalf("after keyup got %+v, want a release", e)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	var extra []Event
	for e := range g.Events() {
		extra = append(extra, e)
	}
	if len(extra) != 0 {
		t.Errorf("events after the release: %v (auto-repeat not filtered)", extra)
	}
	if err := g.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}

	// Control: with the grab gone, the focused window does get F8 — and it
	// got it exactly once, so it did not see the grabbed presses.
	f8 := regexp.MustCompile(`keysym 0xffc5, F8`)
	xdotool(t, display, "key", "F8")
	other.waitFor(t, f8, "F8 after the grab was closed")
	if n := other.count(regexp.MustCompile(`^KeyPress`)); n != 1 {
		t.Errorf("focused window saw %d key presses, want 1 (the control press)", n)
	}
}

// TestX11KeyTaken: a key another client holds globally is ErrKeyTaken.
func TestX11KeyTaken(t *testing.T) {
	display := startXvfb(t)
	first, err := openX11(display, Key{Name: "F9"})
	if err != nil {
		t.Fatalf("first grab: %v", err)
	}
	defer first.Close()
	second, err := openX11(display, Key{Name: "F9"})
	if !errors.Is(err, ErrKeyTaken) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second grab err = %v, want ErrKeyTaken", err)
	}
}

// TestX11UnknownKey: a name with no keysym is ErrUnknownKey, not a grab of
// some other key.
func TestX11UnknownKey(t *testing.T) {
	display := startXvfb(t)
	for _, k := range []Key{{Name: "NoSuchKey"}, {Scan: 3}} {
		if g, err := openX11(display, k); !errors.Is(err, ErrUnknownKey) {
			if g != nil {
				g.Close()
			}
			t.Errorf("open %v: err = %v, want ErrUnknownKey", k, err)
		}
	}
}

// TestX11EscapeWhileHeld: the active grab takes Escape from the window
// while the talk key is held, so the source reports it as a cancel; an
// Escape with the key up is not reported (the window gets it).
func TestX11EscapeWhileHeld(t *testing.T) {
	display := startXvfb(t)
	startFocusedXev(t, display)
	g, err := openX11(display, Key{Name: "F8"})
	if err != nil {
		t.Fatalf("grab F8: %v", err)
	}
	defer g.Close()
	xdotool(t, display, "key", "Escape") // key up: not the source's business
	xdotool(t, display, "keydown", "F8")
	if e := nextEvent(t, g, "press"); !e.Down || e.Cancel {
		t.Fatalf("first event = %+v, want the press (an Escape with the key up was reported)", e)
	}
	xdotool(t, display, "key", "Escape")
	if e := nextEvent(t, g, "cancel"); !e.Cancel {
		t.Fatalf("after Escape got %+v, want a cancel", e)
	}
	xdotool(t, display, "keyup", "F8")
	if e := nextEvent(t, g, "release"); e.Down || e.Cancel {
		t.Fatalf("after keyup got %+v, want the release", e)
	}
}
