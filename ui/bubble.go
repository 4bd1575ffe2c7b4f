package ui

import (
	"fmt"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// speeds are the playback speeds the speed button cycles through.
var speeds = []float64{1, 1.5, 2}

func nextSpeed(s float64) float64 {
	for i, v := range speeds {
		if v == s {
			return speeds[(i+1)%len(speeds)]
		}
	}
	return speeds[0]
}

func speedLabel(s float64) string {
	switch s {
	case 1.5:
		return "1.5×"
	case 2:
		return "2×"
	default:
		return "1×"
	}
}

// formatDuration shows m:ss.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// bubbleActions are what a voice bubble asks of its owner. All run on the UI thread.
type bubbleActions struct {
	play   func(m Message)
	pause  func(m Message)
	seek   func(m Message, fraction float32)
	speed  func(m Message) // cycle speed
	export func(m Message)
}

// bubbleView is everything a voice bubble shows: the message plus this
// device's playback and recording state of it.
type bubbleView struct {
	Msg      Message
	Playing  bool
	Position time.Duration // playback position, or the last listened position
	Speed    float64
	Sending  bool // this device is recording it right now (the talk key is held)
	// Audience is, while Sending, how many other members of the
	// conversation are online (they get the message live).
	Audience int
}

// setText sets l's text if it differs and reports whether it did: a
// label's SetText is a refresh (a repaint of the window) even when the
// text is the same.
func setText(l *widget.Label, text string) bool {
	if l.Text == text {
		return false
	}
	l.SetText(text)
	return true
}

// setImportance sets l's importance, refreshing only on a change.
func setImportance(l *widget.Label, imp widget.Importance) {
	if l.Importance != imp {
		l.Importance = imp
		l.Refresh()
	}
}

// setVisible shows or hides o, refreshing only on a change.
func setVisible(o fyne.CanvasObject, on bool) bool {
	if o.Visible() == on {
		return false
	}
	if on {
		o.Show()
	} else {
		o.Hide()
	}
	return true
}

// setFill sets a rectangle's or circle's fill colour, refreshing only on a
// change.
func setFill(r *canvas.Rectangle, c color.Color) {
	if r.FillColor != c {
		r.FillColor = c
		r.Refresh()
	}
}

// sentTime is a message's time as a bubble shows it: the clock time (the
// day is on the separator above).
func sentTime(t time.Time) string { return t.Local().Format("15:04") }

// bubbleColor is the background of own and others' bubbles.
func bubbleColor(th fyne.Theme, mine bool) color.Color {
	v := fyne.CurrentApp().Settings().ThemeVariant()
	if mine {
		return th.Color(theme.ColorNameSelection, v)
	}
	return th.Color(theme.ColorNameInputBackground, v)
}

// voiceBubble shows one voice message: sender, time, duration, waveform with
// played colouring, play/pause, speed, listened and state markers. Set
// changes only what differs from what is shown.
type voiceBubble struct {
	widget.BaseWidget
	view  bubbleView
	shown bool // view holds what is on screen
	act   *bubbleActions

	bg       *canvas.Rectangle
	sender   *widget.Label
	sent     *widget.Label
	state    *widget.Label
	listened *widget.Icon
	unplayed *canvas.Circle
	play     *widget.Button
	wave     *waveform
	times    *widget.Label
	speedBtn *widget.Button
	export   *widget.Button
	header   *fyne.Container
	controls *fyne.Container
	content  fyne.CanvasObject
}

func newVoiceBubble(act *bubbleActions) *voiceBubble {
	b := &voiceBubble{act: act}
	b.ExtendBaseWidget(b)
	b.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	b.bg.CornerRadius = theme.InputRadiusSize() * 2
	b.sender = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	b.sender.Truncation = fyne.TextTruncateEllipsis
	b.sent = widget.NewLabel("")
	b.state = widget.NewLabel("")
	b.listened = widget.NewIcon(theme.ConfirmIcon())
	b.unplayed = canvas.NewCircle(theme.Color(theme.ColorNamePrimary))
	b.play = widget.NewButtonWithIcon("", theme.MediaPlayIcon(), func() {
		if b.view.Playing {
			b.act.pause(b.view.Msg)
		} else {
			b.act.play(b.view.Msg)
		}
	})
	b.play.Importance = widget.HighImportance
	b.wave = newWaveform()
	b.wave.OnSeek = func(f float32) { b.act.seek(b.view.Msg, f) }
	b.times = widget.NewLabel("")
	b.speedBtn = widget.NewButton("1×", func() { b.act.speed(b.view.Msg) })
	b.speedBtn.Importance = widget.LowImportance
	b.export = widget.NewButtonWithIcon("", theme.DownloadIcon(), func() { b.act.export(b.view.Msg) })
	b.export.Importance = widget.LowImportance

	dot := container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(10), b.unplayed))
	// The sender is the Border's centre: a long name is cut with an
	// ellipsis instead of pushing the rest out or widening the window.
	b.header = container.NewBorder(nil, nil, nil, container.NewHBox(b.sent, b.state, dot, b.listened), b.sender)
	b.controls = container.NewBorder(nil, nil, b.play, container.NewHBox(b.times, b.speedBtn, b.export), b.wave)
	b.content = container.NewStack(b.bg, container.NewPadded(container.NewVBox(b.header, b.controls)))
	return b
}

// stateLabel is what the state marker says and how loud.
func stateLabel(v bubbleView) (string, widget.Importance) {
	switch {
	case v.Sending && v.Audience > 0:
		return lang.L("● LIVE — {{.Count}} listening", map[string]any{"Count": v.Audience}), widget.DangerImportance
	case v.Sending:
		return lang.L("● LIVE — sending"), widget.DangerImportance
	case v.Msg.Live():
		return lang.L("● LIVE"), widget.DangerImportance
	case v.Msg.Pending:
		return lang.L("Pending — not sent yet"), widget.WarningImportance
	case v.Msg.Lost():
		return lang.L("Interrupted"), widget.LowImportance
	}
	return receiptText(v.Msg), receiptImportance(v.Msg)
}

// timesText is the duration, or position / duration while played. A live
// message shows how long it has run so far: its length as received (the
// playback position only while none is known), in whole seconds elapsed
// as a stopwatch counts them, so that the time ticks with its growing
// waveform (which grows by whole seconds, app's liveWaveStep), in one
// redraw. Rounded, it ticked half a second off the waveform: two window
// repaints a second instead of one while listening (make cpu, counted).
func timesText(v bubbleView) string {
	m := v.Msg
	if m.Live() || v.Sending {
		if d := m.Length(); d > 0 {
			return formatDuration(d.Truncate(time.Second))
		}
		return formatDuration(v.Position.Truncate(time.Second))
	}
	if v.Position > 0 {
		return formatDuration(v.Position) + " / " + formatDuration(m.Length())
	}
	return formatDuration(m.Length())
}

// Set shows v, touching only the parts that changed.
func (b *voiceBubble) Set(v bubbleView) {
	old, shown := b.view, b.shown
	b.view, b.shown = v, true
	m := v.Msg
	relayout := false // a label of a row changed width: lay the row out again
	relayout = setText(b.sender, m.SenderName) || relayout
	relayout = setText(b.sent, sentTime(m.Created)) || relayout
	st, imp := stateLabel(v)
	setImportance(b.state, imp)
	relayout = setText(b.state, st) || relayout
	relayout = setVisible(b.unplayed, !m.Listened && !m.Mine) || relayout
	relayout = setVisible(b.listened, m.Listened && !m.Mine) || relayout
	if !shown || old.Playing != v.Playing {
		if v.Playing {
			b.play.SetIcon(theme.MediaPauseIcon())
		} else {
			b.play.SetIcon(theme.MediaPlayIcon())
		}
	}
	var progress float32
	if d := m.Length(); d > 0 && !m.Live() {
		progress = float32(v.Position) / float32(d)
	}
	b.wave.Set(m.Waveform, progress, m.Live() || v.Sending, m.Mine)
	times := setText(b.times, timesText(v))
	if sp := speedLabel(v.Speed); b.speedBtn.Text != sp {
		b.speedBtn.SetText(sp)
		times = true
	}
	if exportable := m.Pending || (!m.Live() && !m.Lost()); !shown || exportable == b.export.Disabled() {
		if exportable {
			b.export.Enable()
		} else {
			b.export.Disable()
		}
	}
	setFill(b.bg, bubbleColor(b.Theme(), m.Mine))
	if relayout {
		b.header.Refresh()
	}
	if times {
		b.controls.Refresh()
	}
}

// CreateRenderer implements fyne.Widget.
func (b *voiceBubble) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(b.content)
}

// textBubble shows one text message, wrapped to its full length and
// selectable (copy with the context menu or Ctrl+C).
type textBubble struct {
	widget.BaseWidget
	bg      *canvas.Rectangle
	sender  *widget.Label
	sent    *widget.Label
	state   *widget.Label
	text    *widget.Label
	header  *fyne.Container
	content fyne.CanvasObject
}

func newTextBubble() *textBubble {
	t := &textBubble{}
	t.ExtendBaseWidget(t)
	t.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	t.bg.CornerRadius = theme.InputRadiusSize() * 2
	t.sender = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	t.sender.Truncation = fyne.TextTruncateEllipsis
	t.sent = widget.NewLabel("")
	t.state = widget.NewLabel("")
	t.state.Importance = widget.WarningImportance
	t.text = widget.NewLabel("")
	t.text.Wrapping = fyne.TextWrapWord
	t.text.Selectable = true
	t.header = container.NewBorder(nil, nil, nil, container.NewHBox(t.sent, t.state), t.sender)
	t.content = container.NewStack(t.bg, container.NewPadded(container.NewBorder(t.header, nil, nil, nil, t.text)))
	return t
}

// Set shows m, touching only the parts that changed.
func (t *textBubble) Set(m Message) {
	relayout := setText(t.sender, m.SenderName)
	relayout = setText(t.sent, sentTime(m.Created)) || relayout
	state, imp := receiptText(m), receiptImportance(m)
	if m.Pending {
		state, imp = lang.L("Pending"), widget.WarningImportance
	}
	setImportance(t.state, imp)
	relayout = setText(t.state, state) || relayout
	setText(t.text, m.Text)
	setFill(t.bg, bubbleColor(t.Theme(), m.Mine))
	if relayout {
		t.header.Refresh()
	}
}

// CreateRenderer implements fyne.Widget.
func (t *textBubble) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(t.content)
}

// daySeparator is the row above the first message of each day.
type daySeparator struct {
	widget.BaseWidget
	label *widget.Label
}

func newDaySeparator() *daySeparator {
	d := &daySeparator{label: widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})}
	d.label.Importance = widget.LowImportance
	d.ExtendBaseWidget(d)
	return d
}

// dayText names a day the way a messenger does: Today, Yesterday, or the
// date (with the weekday within the last week).
func dayText(day, today time.Time) string {
	y1, m1, d1 := day.Date()
	y2, m2, d2 := today.Date()
	a := time.Date(y1, m1, d1, 0, 0, 0, 0, time.UTC)
	b := time.Date(y2, m2, d2, 0, 0, 0, 0, time.UTC)
	// The names and the order of the parts come from the translations:
	// "Saturday, 14 March" in English, "3月14日 星期六" in Chinese.
	data := map[string]any{"Weekday": weekdayName(day.Weekday()), "Day": d1, "Month": monthName(m1), "Year": y1}
	switch days := int(b.Sub(a).Hours() / 24); {
	case days == 0:
		return lang.L("Today")
	case days == 1:
		return lang.L("Yesterday")
	case y1 == y2 || (days > 1 && days < 7):
		return lang.L("{{.Weekday}}, {{.Day}} {{.Month}}", data)
	}
	return lang.L("{{.Day}} {{.Month}} {{.Year}}", data)
}

// monthName is m's name in the user's language.
func monthName(m time.Month) string {
	switch m {
	case time.January:
		return lang.L("January")
	case time.February:
		return lang.L("February")
	case time.March:
		return lang.L("March")
	case time.April:
		return lang.L("April")
	case time.May:
		return lang.L("May")
	case time.June:
		return lang.L("June")
	case time.July:
		return lang.L("July")
	case time.August:
		return lang.L("August")
	case time.September:
		return lang.L("September")
	case time.October:
		return lang.L("October")
	case time.November:
		return lang.L("November")
	}
	return lang.L("December")
}

// weekdayName is d's name in the user's language.
func weekdayName(d time.Weekday) string {
	switch d {
	case time.Monday:
		return lang.L("Monday")
	case time.Tuesday:
		return lang.L("Tuesday")
	case time.Wednesday:
		return lang.L("Wednesday")
	case time.Thursday:
		return lang.L("Thursday")
	case time.Friday:
		return lang.L("Friday")
	case time.Saturday:
		return lang.L("Saturday")
	}
	return lang.L("Sunday")
}

// Set shows the day.
func (d *daySeparator) Set(text string) { setText(d.label, text) }

// CreateRenderer implements fyne.Widget.
func (d *daySeparator) CreateRenderer() fyne.WidgetRenderer {
	line := func() fyne.CanvasObject {
		return container.NewVBox(layout.NewSpacer(), widget.NewSeparator(), layout.NewSpacer())
	}
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, nil, nil,
		container.New(layout.NewGridLayoutWithColumns(3), line(), d.label, line())))
}
