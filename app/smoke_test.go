package app

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/server/wire"
	"parley/sync"
)

// TestSmokeBinary runs the real binary under Xvfb with a fresh data
// folder: it hosts a server, signs up, and the talk key (F8) is held for
// 3 s while a PulseAudio virtual microphone plays espeak-ng speech. The
// message must reach the server complete, about 3 s long and not silent,
// and the window must show something sensible (screenshot checked; with
// PARLEY_SMOKE_SCREENSHOT=1 it is also copied to testdata/smoke.png).
func TestSmokeBinary(t *testing.T) {
	requireGUI(t)
	mouth, mic := virtualMic(t, "smoke")
	wav := speech(t)
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	in := startBinary(t, t.TempDir(), []string{"PULSE_SOURCE=" + mic},
		"-host", "-host-addr", "127.0.0.1", "-port", strconv.Itoa(port),
		"-user", "alice", "-password", "correct horse", "-signup", "-audio", "pulse")
	checker := watchClient(t, addr, "checker")

	in.talk(t, mouth, wav, 3*time.Second)

	msg := waitVoice(t, checker, "alice", 30*time.Second)
	if d := msg.Duration; d < 2500*time.Millisecond || d > 3800*time.Millisecond {
		t.Errorf("message duration = %v, want about 3 s", d)
	}
	loud := 0
	for _, v := range msg.Waveform {
		if v > 128 { // above about -30 dBFS
			loud++
		}
	}
	if loud < len(msg.Waveform)/4 {
		t.Errorf("waveform %v: only %d of %d points loud; the microphone did not hear the speech", msg.Waveform, loud, len(msg.Waveform))
	}
	t.Logf("message %s: %v, %d packets, %d/%d loud waveform points", msg.ID, msg.Duration, msg.Packets, loud, len(msg.Waveform))

	// The app redraws within a frame or two of the message completing:
	// take the screenshot once the screen has stopped changing.
	shot := filepath.Join(t.TempDir(), "smoke.png")
	settledScreenshot(t, shot, 10*time.Second)
	checkScreenshot(t, shot, in.window)
	if os.Getenv("PARLEY_SMOKE_SCREENSHOT") == "1" {
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "smoke.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitVoice waits until c's Lobby holds a complete voice message from
// sender and returns it.
func waitVoice(t *testing.T, c *sync.Client, sender string, timeout time.Duration) sync.Message {
	t.Helper()
	var found sync.Message
	waitFor(t, c, timeout, "voice message from "+sender, func() bool {
		ms := lobbyMessages(c)
		for i := len(ms) - 1; i >= 0; i-- {
			if m := ms[i]; m.Kind == wire.KindVoice && m.SenderName == sender && m.State == wire.StateComplete {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

func lobbyMessages(c *sync.Client) []sync.Message {
	ctx := context.Background()
	convs, err := c.Store().Conversations(ctx)
	if err != nil {
		return nil
	}
	for _, conv := range convs {
		if conv.Lobby {
			ms, _ := c.Store().Messages(ctx, conv.ID, 0, 100)
			return ms
		}
	}
	return nil
}

// checkScreenshot checks the screen size, the window size and that the
// window is not blank.
// settledScreenshot takes screenshots into path until two in a row, 200 ms
// apart, are the same pixels (the window has drawn what it was given), or
// fails after within.
func settledScreenshot(t *testing.T, path string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last image.Image
	for {
		screenshot(t, path)
		img := decodePNG(t, path)
		if last != nil && samePixels(last, img) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen kept changing for %v", within)
		}
		last = img
		time.Sleep(200 * time.Millisecond) // the interval between two looks, not a wait for an event
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot %s: %v", path, err)
	}
	return img
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

func checkScreenshot(t *testing.T, path, window string) {
	t.Helper()
	img := decodePNG(t, path)
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 800 {
		t.Errorf("screenshot is %v, want the 1280×800 screen", b)
	}
	win := windowRect(t, window)
	if win.Dx() < 800 || win.Dy() < 500 {
		t.Errorf("window is %d×%d, want at least 800×500", win.Dx(), win.Dy())
	}
	r := win.Intersect(img.Bounds())
	colors := map[[3]uint32]int{}
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			colors[[3]uint32{cr >> 8, cg >> 8, cb >> 8}]++
		}
	}
	total, top := 0, 0
	for _, n := range colors {
		total += n
		top = max(top, n)
	}
	if len(colors) < 30 || total == 0 || float64(top)/float64(total) > 0.9 {
		t.Errorf("window looks blank: %d colours, the commonest covers %d of %d samples", len(colors), top, total)
	}
	t.Logf("screenshot %s: window %d×%d at %d,%d; %d colours", path, win.Dx(), win.Dy(), win.Min.X, win.Min.Y, len(colors))
}

// windowRect is where window is on the screen.
func windowRect(t *testing.T, window string) image.Rectangle {
	t.Helper()
	geo := map[string]int{}
	for _, line := range strings.Split(xdotool(t, "getwindowgeometry", "--shell", window), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			geo[k], _ = strconv.Atoi(v)
		}
	}
	return image.Rect(geo["X"], geo["Y"], geo["X"]+geo["WIDTH"], geo["Y"]+geo["HEIGHT"])
}
