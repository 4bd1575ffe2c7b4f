package app

import (
	"path/filepath"
	"testing"
	"time"

	"parley/internal/appbuild"
)

// idleSwitchLimit is how many context switches a second the idle app may
// make, all threads together. Measured on a two-core machine under Xvfb:
// about 70 with the patched Fyne, which waits for events, against about 470
// with upstream Fyne 2.8.1, whose loop ticks at 60 Hz whatever happens.
const idleSwitchLimit = 150

// TestIdleWindowWaits: signed in, the window open, nothing happening, the
// app (built as make builds it, against third_party/fyne's patched Fyne)
// waits for events instead of ticking. The same app built against upstream
// Fyne runs beside it as the baseline, so the test shows it tells the two
// apart. Switches, not CPU time, are counted: they are what a 60 Hz loop
// costs, and they do not depend on how fast the machine is.
func TestIdleWindowWaits(t *testing.T) {
	requireGUI(t)
	patched, err := appbuild.LinksPatchedFyne(fixture.binary)
	if err != nil {
		t.Fatal(err)
	}
	if !patched {
		t.Fatalf("%s is built against upstream Fyne, not third_party/fyne's patch", fixture.binary)
	}
	upstream := filepath.Join(t.TempDir(), "parley-upstream")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := appbuild.Build(root, ".", upstream, appbuild.Options{Fyne: appbuild.Upstream}); err != nil {
		t.Fatal(err)
	}

	addr := startTestServer(t)
	idle := func(binary, user string) float64 {
		inst := startBinaryAt(t, binary, t.TempDir(), nil,
			"-server", addr, "-user", user, "-password", user+"'s password", "-signup")
		defer inst.stop()
		time.Sleep(3 * time.Second) // a measurement setting: start-up's last redraws are not idle
		use := measureCPU(t, inst.cmd.Process.Pid, 4*time.Second, "", "")
		var n int64
		for _, s := range use.switches {
			n += s
		}
		perSecond := float64(n) / use.wall.Seconds()
		t.Logf("%s idle: %.0f switches/s, %.1f %% of a core", filepath.Base(binary), perSecond, use.percent())
		return perSecond
	}
	got := idle(fixture.binary, "patched")
	base := idle(upstream, "upstream")
	if got > idleSwitchLimit {
		t.Errorf("the idle app switched %.0f times a second, want at most %d (upstream Fyne: %.0f)", got, idleSwitchLimit, base)
	}
	if base < 2*got {
		t.Errorf("upstream Fyne's idle app switched %.0f times a second, the patched one %.0f: the check does not tell them apart", base, got)
	}
}
