package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// waveformSlots is the least number of bar positions a waveform is drawn on,
// so a live message's few points grow from the left instead of stretching.
const waveformSlots = 64

// waveform draws a message's amplitude summary as bars, the played part in
// the primary colour. Tapping or dragging on it seeks (OnSeek gets 0..1).
type waveform struct {
	widget.BaseWidget
	points   []float32
	progress float32 // 0..1 of the duration played
	live     bool
	OnSeek   func(fraction float32)
}

func newWaveform() *waveform {
	w := &waveform{}
	w.ExtendBaseWidget(w)
	return w
}

// Set updates the points, progress (0..1) and live flag.
func (w *waveform) Set(points []float32, progress float32, live bool) {
	w.points, w.progress, w.live = points, min(max(progress, 0), 1), live
	w.Refresh()
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

// CreateRenderer implements fyne.Widget.
func (w *waveform) CreateRenderer() fyne.WidgetRenderer {
	return &waveformRenderer{w: w}
}

type waveformRenderer struct {
	w    *waveform
	bars []*canvas.Rectangle
	objs []fyne.CanvasObject
}

func (r *waveformRenderer) slots() int {
	return max(waveformSlots, len(r.w.points))
}

func (r *waveformRenderer) Layout(s fyne.Size) {
	n := r.slots()
	step := s.Width / float32(n)
	bw := max(step*0.6, 1)
	for i, b := range r.bars {
		h := max(r.w.points[i]*s.Height, 2)
		b.Resize(fyne.NewSize(bw, h))
		b.Move(fyne.NewPos(float32(i)*step, (s.Height-h)/2))
	}
}

func (r *waveformRenderer) MinSize() fyne.Size { return fyne.NewSize(120, 28) }

func (r *waveformRenderer) Refresh() {
	for len(r.bars) < len(r.w.points) {
		b := canvas.NewRectangle(color.Transparent)
		b.CornerRadius = 1
		r.bars = append(r.bars, b)
	}
	r.bars = r.bars[:len(r.w.points)]
	r.objs = r.objs[:0]
	th := r.w.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	played, unplayed := th.Color(theme.ColorNamePrimary, v), th.Color(theme.ColorNameDisabled, v)
	if r.w.live {
		played = th.Color(theme.ColorNameError, v)
	}
	// A bar counts as played when the playhead passed its slot.
	n := len(r.w.points)
	playedBars := int(r.w.progress*float32(n) + 0.5)
	for i, b := range r.bars {
		if i < playedBars {
			b.FillColor = played
		} else {
			b.FillColor = unplayed
		}
		b.Refresh()
		r.objs = append(r.objs, b)
	}
	r.Layout(r.w.Size())
}

func (r *waveformRenderer) Objects() []fyne.CanvasObject { return r.objs }
func (r *waveformRenderer) Destroy()                     {}
