package ui

import (
	"image"
	"image/color"
	"image/draw"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// waveformSlots is the least number of bar positions a waveform is drawn on,
// so a live message's few points grow from the left instead of stretching.
const waveformSlots = 64

// waveform draws a message's amplitude summary as bars, the played part in
// the primary colour (the error colour while live), the rest in the
// foreground colour toned down towards its bubble's (own or others') only
// as far as keeps it at unplayedContrast against it. Tapping or dragging on
// it seeks (OnSeek gets 0..1).
//
// It is one object on the canvas, a raster drawn only when what it shows
// changed: the points, the number of played bars, the live flag or its size.
// A Set that changes nothing costs no refresh (each Refresh is a repaint of
// the window, and a live message sets its bubble a dozen times a second).
type waveform struct {
	widget.BaseWidget
	points []byte // 0..255 amplitudes, as sync stores them
	played int    // bars drawn in the played colour
	live   bool
	mine   bool // on an own bubble (its background, for the unplayed colour)
	OnSeek func(fraction float32)

	raster *canvas.Raster
	img    *image.NRGBA // reused between draws of the same size
}

func newWaveform() *waveform {
	w := &waveform{}
	w.ExtendBaseWidget(w)
	w.raster = canvas.NewRaster(w.draw)
	return w
}

// playedBars is how many of n bars count as played at progress 0..1: a bar
// counts when the playhead passed its middle.
func playedBars(progress float32, n int) int {
	return int(min(max(progress, 0), 1)*float32(n) + 0.5)
}

// Set updates the points (0..255 amplitudes), progress (0..1), live flag
// and whether it is on an own bubble; it redraws only when the drawing
// changes. It reports whether it did.
func (w *waveform) Set(points []byte, progress float32, live, mine bool) bool {
	played := playedBars(progress, len(points))
	if played == w.played && live == w.live && mine == w.mine && slices.Equal(points, w.points) {
		return false
	}
	w.points = slices.Clone(points)
	w.played, w.live, w.mine = played, live, mine
	w.raster.Refresh()
	return true
}

// Tapped implements fyne.Tappable.
func (w *waveform) Tapped(ev *fyne.PointEvent) { w.seekTo(ev.Position.X) }

// Dragged implements fyne.Draggable.
func (w *waveform) Dragged(ev *fyne.DragEvent) { w.seekTo(ev.Position.X) }

// DragEnd implements fyne.Draggable.
func (w *waveform) DragEnd() {}

func (w *waveform) seekTo(x float32) {
	width := w.Size().Width
	if width <= 0 || w.OnSeek == nil {
		return
	}
	w.OnSeek(min(max(x/width, 0), 1))
}

// colors are the played and unplayed bar colours of the current theme.
func (w *waveform) colors() (played, unplayed color.Color) {
	return waveColors(w.Theme(), w.live, w.mine)
}

// waveColors are the played and unplayed bar colours on an own (mine) or
// others' bubble of theme th, live or not.
func waveColors(th fyne.Theme, live, mine bool) (played, unplayed color.Color) {
	v := fyne.CurrentApp().Settings().ThemeVariant()
	played = th.Color(theme.ColorNamePrimary, v)
	if live {
		played = th.Color(theme.ColorNameError, v)
	}
	bubble := over(bubbleColor(th, mine), th.Color(theme.ColorNameBackground, v))
	return played, towards(bubble, th.Color(theme.ColorNameForeground, v), unplayedContrast)
}

// draw renders the bars at the raster's pixel size. Fyne calls it on the
// UI thread when the raster was refreshed or resized.
func (w *waveform) draw(width, height int) image.Image {
	if width <= 0 || height <= 0 {
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	}
	r := image.Rect(0, 0, width, height)
	if w.img == nil || w.img.Rect != r {
		w.img = image.NewNRGBA(r)
	} else {
		clear(w.img.Pix)
	}
	played, unplayed := w.colors()
	pc, uc := image.NewUniform(played), image.NewUniform(unplayed)
	n := max(waveformSlots, len(w.points))
	step := float32(width) / float32(n)
	bar := max(int(step*0.6), 1)
	minH := max(height/14, 2)
	for i, p := range w.points {
		h := min(max(int(p)*height/255, minH), height)
		x := int(float32(i) * step)
		y := (height - h) / 2
		src := uc
		if i < w.played {
			src = pc
		}
		draw.Draw(w.img, image.Rect(x, y, x+bar, y+h), src, image.Point{}, draw.Src)
	}
	return w.img
}

// CreateRenderer implements fyne.Widget.
func (w *waveform) CreateRenderer() fyne.WidgetRenderer {
	return &waveformRenderer{w: w}
}

type waveformRenderer struct{ w *waveform }

func (r *waveformRenderer) Layout(s fyne.Size) { r.w.raster.Resize(s) }
func (r *waveformRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 28) }

// Refresh redraws the bars (a theme change reaches here).
func (r *waveformRenderer) Refresh()                     { r.w.raster.Refresh() }
func (r *waveformRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.w.raster} }
func (r *waveformRenderer) Destroy()                     {}
