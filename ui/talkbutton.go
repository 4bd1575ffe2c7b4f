package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// talkButton is the large hold-to-talk button. Press starts, release sends,
// dragging off the button arms cancel (released outside = discarded). It is
// not Focusable, so pressing it never takes the talk key away from the window.
type talkButton struct {
	widget.BaseWidget
	talk *talkState

	pressed     bool // mouse button held on us
	cancelArmed bool // dragged outside: release discards
	lockArmed   bool // dragged up above the button: release locks (hands.go)
}

func newTalkButton(talk *talkState) *talkButton {
	b := &talkButton{talk: talk}
	b.ExtendBaseWidget(b)
	return b
}

// MouseDown implements desktop.Mouseable.
func (b *talkButton) MouseDown(ev *desktop.MouseEvent) {
	if ev.Button != desktop.MouseButtonPrimary {
		return
	}
	b.pressed, b.cancelArmed = true, false
	b.talk.Start()
	b.Refresh()
}

// MouseUp implements desktop.Mouseable. The driver only sends it when the
// release happens over the button; DragEnd covers the rest.
func (b *talkButton) MouseUp(ev *desktop.MouseEvent) {
	if !b.pressed {
		return
	}
	b.release(b.inside(ev.Position))
}

// Dragged implements fyne.Draggable: leaving the button arms cancel.
func (b *talkButton) Dragged(ev *fyne.DragEvent) {
	if !b.pressed {
		return
	}
	lock := ev.Position.Y < -lockDrag && ev.Position.X >= 0 && ev.Position.X <= b.Size().Width
	armed := !lock && !b.inside(ev.Position)
	if armed != b.cancelArmed || lock != b.lockArmed {
		b.cancelArmed, b.lockArmed = armed, lock
		b.Refresh()
	}
}

// lockDrag is how far above the button a drag must go to lock talking.
const lockDrag = 24

// DragEnd implements fyne.Draggable.
func (b *talkButton) DragEnd() {
	if !b.pressed {
		return
	}
	b.release(!b.cancelArmed)
}

// Cancelled reports whether releasing now would discard the transmission.
func (b *talkButton) Cancelled() bool { return b.cancelArmed }

func (b *talkButton) release(send bool) {
	b.pressed = false
	b.cancelArmed = false
	if b.lockArmed {
		b.lockArmed = false
		b.talk.lock()
		b.Refresh()
		return
	}
	if send {
		b.talk.Stop()
	} else {
		b.talk.Cancel()
	}
	b.Refresh()
}

// reset forgets a held press (focus lost, Esc); the talk state is stopped by the caller.
func (b *talkButton) reset() {
	b.pressed, b.cancelArmed, b.lockArmed = false, false, false
	b.Refresh()
}

func (b *talkButton) inside(p fyne.Position) bool {
	s := b.Size()
	return p.X >= 0 && p.Y >= 0 && p.X <= s.Width && p.Y <= s.Height
}

func (b *talkButton) label() string {
	switch {
	case b.talk.Talking() && b.cancelArmed:
		return lang.L("Release to cancel")
	case b.talk.Talking() && b.lockArmed:
		return lang.L("Release to talk hands-free")
	case b.talk.Locked():
		return lang.L("Hands-free… press to send")
	case b.talk.Talking():
		return lang.L("Talking… release to send")
	default:
		return lang.L("Hold to talk")
	}
}

// CreateRenderer implements fyne.Widget.
func (b *talkButton) CreateRenderer() fyne.WidgetRenderer {
	r := &talkButtonRenderer{b: b,
		bg:    canvas.NewRectangle(color.Transparent),
		icon:  widget.NewIcon(theme.MediaRecordIcon()),
		label: canvas.NewText("", color.White),
	}
	r.label.TextStyle.Bold = true
	r.label.TextSize = theme.TextSize() * 1.2
	r.bg.CornerRadius = theme.InputRadiusSize() * 2
	r.Refresh()
	return r
}

type talkButtonRenderer struct {
	b     *talkButton
	bg    *canvas.Rectangle
	icon  *widget.Icon
	label *canvas.Text
}

func (r *talkButtonRenderer) Layout(s fyne.Size) {
	r.bg.Resize(s)
	is := theme.IconInlineSize() * 1.5
	ls := r.label.MinSize()
	pad := theme.Padding()
	w := is + pad + ls.Width
	x := (s.Width - w) / 2
	r.icon.Resize(fyne.NewSquareSize(is))
	r.icon.Move(fyne.NewPos(x, (s.Height-is)/2))
	r.label.Resize(ls)
	r.label.Move(fyne.NewPos(x+is+pad, (s.Height-ls.Height)/2))
}

func (r *talkButtonRenderer) MinSize() fyne.Size {
	ls := r.label.MinSize()
	return fyne.NewSize(ls.Width+theme.IconInlineSize()*1.5+theme.Padding()*6, 64)
}

func (r *talkButtonRenderer) Refresh() {
	th := r.b.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	switch {
	case r.b.talk.Talking() && r.b.cancelArmed:
		r.bg.FillColor = th.Color(theme.ColorNameWarning, v)
		r.icon.SetResource(theme.CancelIcon())
	case r.b.talk.Talking():
		r.bg.FillColor = th.Color(theme.ColorNameError, v)
		r.icon.SetResource(theme.MediaRecordIcon())
	default:
		r.bg.FillColor = th.Color(theme.ColorNamePrimary, v)
		r.icon.SetResource(theme.MediaRecordIcon())
	}
	r.label.Color = th.Color(theme.ColorNameForegroundOnPrimary, v)
	r.label.Text = r.b.label()
	r.bg.Refresh()
	r.label.Refresh()
	r.Layout(r.b.Size())
}

func (r *talkButtonRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.bg, r.icon, r.label}
}

func (r *talkButtonRenderer) Destroy() {}

// levelMeter is a horizontal input level bar (0..1).
type levelMeter struct {
	widget.BaseWidget
	level float32
}

func newLevelMeter() *levelMeter {
	m := &levelMeter{}
	m.ExtendBaseWidget(m)
	return m
}

// SetLevel sets the level, 0..1.
func (m *levelMeter) SetLevel(l float32) {
	m.level = min(max(l, 0), 1)
	m.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (m *levelMeter) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bar := canvas.NewRectangle(theme.Color(theme.ColorNameSuccess))
	bg.CornerRadius, bar.CornerRadius = 3, 3
	return &levelRenderer{m: m, bg: bg, bar: bar}
}

type levelRenderer struct {
	m       *levelMeter
	bg, bar *canvas.Rectangle
}

func (r *levelRenderer) Layout(s fyne.Size) {
	r.bg.Resize(s)
	r.bar.Resize(fyne.NewSize(s.Width*r.m.level, s.Height))
}
func (r *levelRenderer) MinSize() fyne.Size { return fyne.NewSize(80, 8) }
func (r *levelRenderer) Refresh() {
	c := theme.ColorNameSuccess
	if r.m.level > 0.9 {
		c = theme.ColorNameError
	}
	r.bar.FillColor = theme.Color(c)
	r.Layout(r.m.Size())
	canvas.Refresh(r.m)
}
func (r *levelRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.bg, r.bar} }
func (r *levelRenderer) Destroy()                     {}
