package app

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"parley/audio"
	"parley/sync"
)

// TestLiveWaveformOnScreen: A is the real binary, hosting, with the Lobby
// open; B (in-process) talks into it from a file at the pace of a real
// microphone. A's window is looked at twice while the message is still
// live, at about 1.2 s and 3 s of it: between the two its bubble's
// waveform has grown (new bars of the waveform's colour, in one band the
// height of a bubble row, more of them the second time). With
// PARLEY_TEST_SCREENSHOTS=dir the second screenshot is saved there as
// live_wave_listener.png.
func TestLiveWaveformOnScreen(t *testing.T) {
	requireGUI(t)
	wav := speech(t)
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	dataA := t.TempDir()
	a := startBinary(t, dataA, nil,
		"-host", "-host-addr", "127.0.0.1", "-port", strconv.Itoa(port),
		"-user", "alice", "-password", "alice's password", "-signup", "-audio", "null")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("A's output:\n%s", a.output())
		}
	})
	b := startInProcess(t, addr, "bob")
	lobby := b.lobby(t)
	b.rec.newRecorder = func(*audio.Engine) (*audio.Recorder, error) {
		return audio.NewFileRecorder(wav, audio.FileRecorderConfig{Realtime: true})
	}
	storeA, err := sync.OpenStore(sync.StorePath(filepath.Join(dataA, "accounts"), addr, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	defer storeA.Close()

	id, err := b.rec.Start(lobby)
	if err != nil {
		t.Fatal(err)
	}
	defer b.rec.Stop()
	ctx := context.Background()
	// at waits until A has received n packets of the message, still live,
	// and takes a screenshot.
	at := func(n uint32, path string) {
		t.Helper()
		b.poll(t, 20*time.Second, "A has "+strconv.Itoa(int(n))+" packets", func() bool {
			got, err := storeA.CachedPackets(ctx, id)
			return err == nil && got >= n
		})
		screenshot(t, path)
		if m, err := storeA.Message(ctx, id); err != nil || m.State != sync.StateRecording {
			t.Fatalf("message ended before the screenshot at %d packets (%v, %v): the speech is too short", n, m.State, err)
		}
	}
	dir := t.TempDir()
	if d := os.Getenv("PARLEY_TEST_SCREENSHOTS"); d != "" {
		dir = d
	}
	first, second := filepath.Join(t.TempDir(), "live_wave_early.png"), filepath.Join(dir, "live_wave_listener.png")
	at(60, first)
	at(150, second)
	if err := b.rec.Stop(); err != nil {
		t.Fatal(err)
	}

	win := windowRect(t, a.window)
	g := waveGrowth(decodePNG(t, first), decodePNG(t, second), win)
	t.Logf("A's window %v: %d pixels changed in %v; bar colour %v: %d pixels at 1.2 s, %d at 3 s", win, g.changed, g.band, g.color, g.before, g.after)
	switch {
	case g.changed == 0:
		t.Fatal("A's window did not change between 1.2 s and 3 s of the live message")
	case g.after-g.before < 150:
		t.Errorf("the waveform did not grow: %d pixels of its colour, then %d (want 150 more)", g.before, g.after)
	case g.band.Dy() > 60:
		t.Errorf("the change spans %v, more than one bubble row (60 px high)", g.band)
	}
}

// growth is what changed in a window between two screenshots.
type growth struct {
	changed       int             // pixels that differ
	band          image.Rectangle // their bounds
	color         [3]uint32       // the commonest new colour: the bars'
	before, after int             // pixels of that colour in the window
}

// waveGrowth compares the window r in two screenshots: the bars a growing
// waveform adds are the one colour most of the changed pixels take (the
// elapsed time's digits change too, in few anti-aliased pixels).
func waveGrowth(a, b image.Image, r image.Rectangle) growth {
	rgb := func(img image.Image, x, y int) [3]uint32 {
		cr, cg, cb, _ := img.At(x, y).RGBA()
		return [3]uint32{cr >> 8, cg >> 8, cb >> 8}
	}
	r = r.Intersect(a.Bounds()).Intersect(b.Bounds())
	var g growth
	counts := map[[3]uint32]int{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if ca, cb := rgb(a, x, y), rgb(b, x, y); ca != cb {
				g.changed++
				g.band = g.band.Union(image.Rect(x, y, x+1, y+1))
				counts[cb]++
			}
		}
	}
	for c, n := range counts {
		if n > counts[g.color] {
			g.color = c
		}
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if rgb(a, x, y) == g.color {
				g.before++
			}
			if rgb(b, x, y) == g.color {
				g.after++
			}
		}
	}
	return g
}
