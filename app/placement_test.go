//go:build unix && !darwin && !android

package app

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWindowPositionRemembered: the real binary under Xvfb (no window
// manager, so the frame is the window): moved, it quits through a loss of
// focus (as Fyne quits) and starts again where it was.
func TestWindowPositionRemembered(t *testing.T) {
	requireGUI(t)
	data := t.TempDir()
	geometry := regexp.MustCompile(`Position: (-?\d+),(-?\d+)`)
	position := func(in *instance) string {
		t.Helper()
		m := geometry.FindStringSubmatch(xdotool(t, "getwindowgeometry", in.window))
		if m == nil {
			t.Fatalf("no position in xdotool's geometry of %s", in.window)
		}
		return m[1] + "," + m[2]
	}
	first := startBinary(t, data, nil, "-audio", "null")
	xdotool(t, "windowfocus", "--sync", first.window)
	xdotool(t, "windowmove", "--sync", first.window, "211", "133")
	if got := position(first); got != "211,133" {
		t.Fatalf("moved window is at %s, want 211,133", got)
	}
	first.stop()
	if out := first.output(); strings.Contains(out, "window position not restored") {
		t.Errorf("first start logged a failed move:\n%s", out)
	}

	// The app moves its window once it is shown: wait for it to get there.
	again := startBinary(t, data, nil, "-audio", "null")
	got := position(again)
	for deadline := time.Now().Add(5 * time.Second); got != "211,133" && time.Now().Before(deadline); got = position(again) {
		time.Sleep(50 * time.Millisecond) // between two looks at the window
	}
	if got != "211,133" {
		t.Errorf("after a restart the window is at %s within 5 s, want 211,133 (where it was)", got)
	}
}
