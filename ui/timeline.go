package ui

import (
	"sort"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// timeline is a virtualised list of rows of different heights that grows
// at the top as older history loads. Only the rows on screen exist as
// objects (recycled from a pool); row positions are prefix sums of the
// heights, so finding what is visible is a binary search however long the
// history is. Updating one row re-sets that row only.
//
// widget.List was not enough here: its variable heights are a map walked
// on every scroll and re-keyed on every insertion at the top, and each
// RefreshItem or SetItemHeight refreshes every visible row.
type timeline struct {
	widget.BaseWidget

	// length, height, create and update describe the rows: height(i, w)
	// is row i's height at width w; update(i, o) makes o show row i.
	length func() int
	height func(i int, width float32) float32
	create func() fyne.CanvasObject
	update func(i int, o fyne.CanvasObject)
	// onTop is called when the first row comes on screen (load older),
	// onBottom when the last one does (load newer, in a window of older
	// history).
	onTop, onBottom func()
	// kind, if set, sorts rows for reuse: a recycled object goes to a row
	// of the kind it last showed when there is one (it changes least).
	kind func(i int) int

	scroll  *container.Scroll
	body    *fyne.Container
	tops    []float32 // tops[i] is row i's y; tops[n] the total height
	width   float32
	visible map[int]fyne.CanvasObject
	pool    map[int][]fyne.CanvasObject // by kind
	kindOf  map[fyne.CanvasObject]int
}

func newTimeline(length func() int, height func(int, float32) float32, create func() fyne.CanvasObject,
	update func(int, fyne.CanvasObject)) *timeline {
	t := &timeline{length: length, height: height, create: create, update: update,
		visible: map[int]fyne.CanvasObject{}, tops: []float32{0},
		pool: map[int][]fyne.CanvasObject{}, kindOf: map[fyne.CanvasObject]int{}}
	t.body = container.New(&timelineBody{t: t})
	t.scroll = container.NewVScroll(t.body)
	t.scroll.OnScrolled = func(fyne.Position) {
		t.place()
		t.checkTop()
		t.checkBottom()
	}
	t.ExtendBaseWidget(t)
	return t
}

// timelineBody is the scrolled content: as tall as all rows, laying out
// only the visible ones.
type timelineBody struct{ t *timeline }

func (b *timelineBody) MinSize([]fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(0, b.t.tops[len(b.t.tops)-1])
}

func (b *timelineBody) Layout(_ []fyne.CanvasObject, s fyne.Size) {
	if s.Width != b.t.width && s.Width > 0 {
		b.t.width = s.Width
		b.t.measure()
	}
	b.t.place()
}

// measure recomputes every row's top at the current width.
func (t *timeline) measure() {
	n := t.length()
	t.tops = append(t.tops[:0], 0)
	var y float32
	for i := range n {
		y += t.height(i, t.width)
		t.tops = append(t.tops, y)
	}
}

// Reload re-reads every row (the rows changed, other than by Prepend).
func (t *timeline) Reload() {
	for i, o := range t.visible {
		t.recycle(o)
		delete(t.visible, i)
	}
	if t.width > 0 {
		t.measure()
	}
	t.scroll.Refresh()
	t.place()
	if t.tops[len(t.tops)-1] <= t.scroll.Size().Height {
		t.checkTop() // nothing to scroll: load older to fill the screen
	}
}

// checkTop asks for older rows when the first row is on screen.
func (t *timeline) checkTop() {
	if t.onTop != nil && len(t.tops) > 1 && t.scroll.Offset.Y < t.tops[1] {
		t.onTop()
	}
}

// checkBottom asks for newer rows when the last row is on screen.
func (t *timeline) checkBottom() {
	if n := len(t.tops) - 1; t.onBottom != nil && n > 0 && t.scroll.Offset.Y+t.scroll.Size().Height > t.tops[n-1] {
		t.onBottom()
	}
}

// Prepend notes that k rows were added before the first one and keeps the
// rows on screen where they are. It measures the k new rows and the old
// first one (its look may depend on the row now above it) and shifts the
// rest: the cost is the page, not the rows already there.
func (t *timeline) Prepend(k int) {
	n := t.length()
	if k <= 0 || k > n {
		return
	}
	moved := make(map[int]fyne.CanvasObject, len(t.visible))
	for i, o := range t.visible {
		moved[i+k] = o
	}
	t.visible = moved
	if t.width <= 0 || len(t.tops) != n-k+1 {
		t.Reload()
		return
	}
	old, off := t.tops, t.scroll.Offset.Y
	tops := make([]float32, 1, n+1)
	var y float32
	for i := 0; i <= k && i < n; i++ {
		y += t.height(i, t.width)
		tops = append(tops, y)
	}
	shift := y - old[1] // the old first row ended at old[1], now at y
	for _, top := range old[min(2, len(old)):] {
		tops = append(tops, top+shift)
	}
	t.tops = tops
	t.scroll.Refresh()
	t.scroll.ScrollToOffset(fyne.NewPos(0, off+shift))
	t.RefreshRow(k)
	t.place()
}

// RefreshRow re-sets row i if it is on screen.
func (t *timeline) RefreshRow(i int) {
	if o, ok := t.visible[i]; ok {
		t.update(i, o)
	}
}

// ScrollToBottom shows the newest rows.
func (t *timeline) ScrollToBottom() {
	t.scroll.ScrollToBottom()
	t.place()
}

// ScrollTo shows row i at the top of the view (as far as the history
// below it allows).
func (t *timeline) ScrollTo(i int) {
	if i < 0 || i >= len(t.tops)-1 {
		return
	}
	t.scroll.ScrollToOffset(fyne.NewPos(0, t.tops[i]))
	t.place()
}

// AtBottom reports whether the newest row is (nearly) in view.
func (t *timeline) AtBottom() bool {
	total := t.tops[len(t.tops)-1]
	return t.scroll.Offset.Y+t.scroll.Size().Height >= total-32
}

// Offset is the scroll position.
func (t *timeline) Offset() float32 { return t.scroll.Offset.Y }

// place lays out the rows in view, recycling the others.
func (t *timeline) place() {
	n := len(t.tops) - 1
	if t.width <= 0 {
		return
	}
	off, h := t.scroll.Offset.Y, t.scroll.Size().Height
	first := sort.Search(n, func(i int) bool { return t.tops[i+1] > off })
	last := first
	for last < n && t.tops[last] < off+h {
		last++
	}
	changed := false
	for i, o := range t.visible {
		if i < first || i >= last {
			t.recycle(o)
			delete(t.visible, i)
			changed = true
		}
	}
	for i := first; i < last; i++ {
		o, ok := t.visible[i]
		if !ok {
			o = t.reuse(i)
			t.visible[i] = o
			t.update(i, o)
			changed = true
		}
		o.Move(fyne.NewPos(0, t.tops[i]))
		o.Resize(fyne.NewSize(t.width, t.tops[i+1]-t.tops[i]))
	}
	if changed {
		objs := t.body.Objects[:0]
		for i := first; i < last; i++ {
			objs = append(objs, t.visible[i])
		}
		t.body.Objects = objs
		canvas.Refresh(t.body) // the rows set themselves; only the set changed
	}
}

func (t *timeline) kindAt(i int) int {
	if t.kind == nil {
		return 0
	}
	return t.kind(i)
}

// recycle puts o in the pool of the kind it shows.
func (t *timeline) recycle(o fyne.CanvasObject) {
	k := t.kindOf[o]
	t.pool[k] = append(t.pool[k], o)
}

// reuse takes an object for row i: of its kind if one is free, else any,
// else a new one.
func (t *timeline) reuse(i int) fyne.CanvasObject {
	k := t.kindAt(i)
	var o fyne.CanvasObject
	take := func(kind int) bool {
		p := t.pool[kind]
		if len(p) == 0 {
			return false
		}
		o, t.pool[kind] = p[len(p)-1], p[:len(p)-1]
		return true
	}
	if !take(k) {
		for other := range t.pool {
			if take(other) {
				break
			}
		}
	}
	if o == nil {
		o = t.create()
	}
	t.kindOf[o] = k
	return o
}

// CreateRenderer implements fyne.Widget.
func (t *timeline) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(t.scroll)
}
