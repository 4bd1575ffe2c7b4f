package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The plot is drawn with the standard library (and x/image's bitmap font,
// already in the module graph): one panel per fan-out run, the cumulative
// distribution of packet latency for the baseline and Parley on a
// logarithmic millisecond axis.

const (
	panelW, panelH = 520, 300
	marginL        = 56
	marginR        = 16
	marginT        = 28
	marginB        = 40
)

var (
	colBaseline = color.RGBA{0x33, 0x66, 0xcc, 0xff}
	colParley   = color.RGBA{0xdd, 0x44, 0x22, 0xff}
	colAxis     = color.RGBA{0x22, 0x22, 0x22, 0xff}
	colGrid     = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
)

func (r *report) plot(path string) error {
	var names []string
	seen := map[string]bool{}
	for _, x := range r.fanout {
		if !seen[x.name] {
			seen[x.name] = true
			names = append(names, x.name)
		}
	}
	cols := 2
	rows := (len(names) + cols - 1) / cols
	img := image.NewRGBA(image.Rect(0, 0, cols*panelW, rows*panelH+24))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	text(img, 8, 16, colAxis, "Parley fan-out: cumulative share of packets (y, %) delivered within latency (x, ms, log scale)")
	// One x range for every panel, so they compare at a glance.
	lo, hi := math.Inf(1), 0.0
	for _, x := range r.fanout {
		if len(x.lat) > 0 {
			lo = math.Min(lo, ms(x.lat.q(0)))
			hi = math.Max(hi, ms(x.lat.max()))
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0.1, 10
	}
	lo = math.Pow(10, math.Floor(math.Log10(math.Max(lo, 0.01))))
	hi = math.Pow(10, math.Ceil(math.Log10(math.Max(hi, lo*10))))
	for i, name := range names {
		ox, oy := (i%cols)*panelW, 24+(i/cols)*panelH
		base, par := pair(r.fanout, name)
		panel(img, ox, oy, name, lo, hi, base, par)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func panel(img *image.RGBA, ox, oy int, name string, lo, hi float64, base, par *fanoutResult) {
	x0, y0 := ox+marginL, oy+marginT
	w, h := panelW-marginL-marginR, panelH-marginT-marginB
	xpos := func(v float64) int {
		v = math.Max(v, lo)
		return x0 + int(float64(w)*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo)))
	}
	ypos := func(p float64) int { return y0 + h - int(float64(h)*p) }
	for d := lo; d <= hi*1.001; d *= 10 {
		x := xpos(d)
		vline(img, x, y0, y0+h, colGrid)
		label := strconv.FormatFloat(d, 'g', -1, 64)
		text(img, x-len(label)*7/2, y0+h+14, colAxis, label)
	}
	for p := 0.0; p <= 1.001; p += 0.25 {
		y := ypos(p)
		hline(img, x0, x0+w, y, colGrid)
		text(img, ox+8, y+4, colAxis, fmt.Sprintf("%3.0f", p*100))
	}
	hline(img, x0, x0+w, y0+h, colAxis)
	vline(img, x0, y0, y0+h, colAxis)
	text(img, x0, oy+18, colAxis, name)
	text(img, x0+w/2-10, y0+h+30, colAxis, "ms")
	legendX := x0 + w - 200
	for i, v := range []*fanoutResult{base, par} {
		if v == nil || len(v.lat) == 0 {
			continue
		}
		c := colBaseline
		if v.system == "parley" {
			c = colParley
		}
		// The CDF, one point per pixel column.
		prevX, prevY := -1, -1
		n := len(v.lat)
		for px := 0; px <= w; px++ {
			lat := math.Pow(10, math.Log10(lo)+float64(px)/float64(w)*(math.Log10(hi)-math.Log10(lo)))
			// share of samples ≤ lat
			k := searchNs(v.lat, int64(lat*1e6))
			x, y := x0+px, ypos(float64(k)/float64(n))
			if prevX >= 0 {
				line(img, prevX, prevY, x, y, c)
				line(img, prevX, prevY+1, x, y+1, c)
			}
			prevX, prevY = x, y
		}
		ly := y0 + h - 40 + i*16
		hline(img, legendX, legendX+20, ly-4, c)
		hline(img, legendX, legendX+20, ly-3, c)
		text(img, legendX+26, ly, colAxis, fmt.Sprintf("%s p99 %.2f ms", v.system, ms(v.lat.q(.99))))
	}
}

// searchNs returns how many samples are ≤ v.
func searchNs(d dist, v int64) int {
	lo, hi := 0, len(d)
	for lo < hi {
		m := (lo + hi) / 2
		if d[m] <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func text(img *image.RGBA, x, y int, c color.Color, s string) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

// line draws with Bresenham's algorithm.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
