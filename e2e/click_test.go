package e2e

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// geometry is the window's position and size on the screen.
func (a *app) geometry(t *testing.T) image.Rectangle {
	t.Helper()
	geo := map[string]int{}
	for _, line := range strings.Split(xdotool(t, a.display, "getwindowgeometry", "--shell", a.window), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			geo[k], _ = strconv.Atoi(v)
		}
	}
	return image.Rect(geo["X"], geo["Y"], geo["X"]+geo["WIDTH"], geo["Y"]+geo["HEIGHT"])
}

// screenshot saves the whole screen as PNG and returns the app's window
// in it (a GL window cannot be captured on its own).
func (a *app) screenshot(t *testing.T, path string) image.Image {
	t.Helper()
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+a.display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	type subImager interface {
		SubImage(image.Rectangle) image.Image
	}
	return img.(subImager).SubImage(a.geometry(t))
}

// playNewest clicks the play button of the newest message in the open
// conversation. The app has no other way in: the button is found on a
// screenshot as the lowest blue (the theme's primary colour) square above
// the talk button, and clicked with the pointer.
func (a *app) playNewest(t *testing.T) {
	t.Helper()
	dir := os.Getenv("PARLEY_E2E_DEBUG")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "before-play.png")
	// The window may still be drawing the conversation it just read: the
	// screen has no change notification, so look again every 200 ms.
	var buttons []image.Rectangle
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for buttons = blueSquares(a.screenshot(t, shot)); len(buttons) == 0; buttons = blueSquares(a.screenshot(t, shot)) {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no play button on the screen of %s within 15 s (screenshot %s)", a, shot)
		}
	}
	b := buttons[0]
	for _, c := range buttons[1:] {
		if c.Min.Y > b.Min.Y {
			b = c
		}
	}
	x, y := (b.Min.X+b.Max.X)/2, (b.Min.Y+b.Max.Y)/2
	t.Logf("%s: clicking the play button at %d,%d (of %d found)", a, x, y, len(buttons))
	xdotool(t, a.display, "mousemove", "--sync", strconv.Itoa(x), strconv.Itoa(y))
	xdotool(t, a.display, "click", "1")
	if d := os.Getenv("PARLEY_E2E_DEBUG"); d != "" {
		a.screenshot(t, filepath.Join(d, "after-play.png"))
	}
}

// primaryBlue reports whether a pixel is the theme's primary colour (the
// play and talk buttons), not the darker blue of a selected row.
func primaryBlue(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	r, g, b = r>>8, g>>8, b>>8
	return b > 200 && r < 90 && g > 70 && g < 150
}

// blueSquares finds the connected regions of primary colour that are
// square and button-sized (24 to 64 pixels a side), in screen coordinates.
func blueSquares(img image.Image) []image.Rectangle {
	r := img.Bounds()
	seen := make([]bool, r.Dx()*r.Dy())
	idx := func(x, y int) int { return (y-r.Min.Y)*r.Dx() + x - r.Min.X }
	var out []image.Rectangle
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if seen[idx(x, y)] || !primaryBlue(img.At(x, y)) {
				continue
			}
			box := image.Rect(x, y, x+1, y+1)
			stack := []image.Point{{x, y}}
			seen[idx(x, y)] = true
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				box = box.Union(image.Rect(p.X, p.Y, p.X+1, p.Y+1))
				for _, d := range []image.Point{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
					q := p.Add(d)
					if q.In(r) && !seen[idx(q.X, q.Y)] && primaryBlue(img.At(q.X, q.Y)) {
						seen[idx(q.X, q.Y)] = true
						stack = append(stack, q)
					}
				}
			}
			w, h := box.Dx(), box.Dy()
			if w >= 24 && w <= 64 && h >= 24 && h <= 64 && absInt(w-h) <= 6 {
				out = append(out, box)
			}
		}
	}
	return out
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
