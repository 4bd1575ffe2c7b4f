package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
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
// device's playback state of it.
type bubbleView struct {
	Msg      Message
	Playing  bool
	Position time.Duration // playback position, or the last listened position
	Speed    float64
}

// voiceBubble shows one voice message: sender, time, duration, waveform with
// played colouring, play/pause, speed, listened and state markers.
type voiceBubble struct {
	widget.BaseWidget
	view bubbleView
	act  *bubbleActions

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
	content  fyne.CanvasObject
}

func newVoiceBubble(act *bubbleActions) *voiceBubble {
	b := &voiceBubble{act: act}
	b.ExtendBaseWidget(b)
	b.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	b.bg.CornerRadius = theme.InputRadiusSize() * 2
	b.sender = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	b.sent = widget.NewLabel("")
	b.sent.Importance = widget.LowImportance
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
	header := container.NewHBox(b.sender, b.sent, b.state, dot, b.listened)
	controls := container.NewBorder(nil, nil, b.play, container.NewHBox(b.times, b.speedBtn, b.export), b.wave)
	b.content = container.NewStack(b.bg, container.NewPadded(container.NewVBox(header, controls)))
	return b
}

// Set shows v.
func (b *voiceBubble) Set(v bubbleView) {
	b.view = v
	m := v.Msg
	b.sender.SetText(m.Sender)
	b.sent.SetText(m.Sent.Local().Format("15:04"))
	switch m.State {
	case StateLive:
		b.state.SetText(lang.L("● LIVE"))
		b.state.Importance = widget.DangerImportance
	case StatePending:
		b.state.SetText(lang.L("Pending — not sent yet"))
		b.state.Importance = widget.WarningImportance
	case StateAbandoned:
		b.state.SetText(lang.L("Interrupted"))
		b.state.Importance = widget.LowImportance
	default:
		b.state.SetText(receiptText(m))
		b.state.Importance = widget.LowImportance
	}
	b.state.Refresh()
	if m.Listened || m.Mine {
		b.unplayed.Hide()
	} else {
		b.unplayed.Show()
	}
	if m.Listened && !m.Mine {
		b.listened.Show()
	} else {
		b.listened.Hide()
	}
	if v.Playing {
		b.play.SetIcon(theme.MediaPauseIcon())
	} else {
		b.play.SetIcon(theme.MediaPlayIcon())
	}
	var progress float32
	if m.Duration > 0 {
		progress = float32(v.Position) / float32(m.Duration)
	}
	b.wave.Set(m.Waveform, progress, m.State == StateLive)
	if v.Position > 0 {
		b.times.SetText(formatDuration(v.Position) + " / " + formatDuration(m.Duration))
	} else {
		b.times.SetText(formatDuration(m.Duration))
	}
	b.speedBtn.SetText(speedLabel(v.Speed))
	if m.State == StateComplete || m.State == StatePending {
		b.export.Enable()
	} else {
		b.export.Disable()
	}
	th := b.Theme()
	vr := fyne.CurrentApp().Settings().ThemeVariant()
	if m.Mine {
		b.bg.FillColor = th.Color(theme.ColorNameSelection, vr)
	} else {
		b.bg.FillColor = th.Color(theme.ColorNameInputBackground, vr)
	}
	b.content.Refresh() // label widths changed: lay the rows out again
}

// CreateRenderer implements fyne.Widget.
func (b *voiceBubble) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(b.content)
}

// textBubble shows one text message.
type textBubble struct {
	widget.BaseWidget
	bg      *canvas.Rectangle
	sender  *widget.Label
	sent    *widget.Label
	state   *widget.Label
	text    *widget.Label
	content fyne.CanvasObject
}

func newTextBubble() *textBubble {
	t := &textBubble{}
	t.ExtendBaseWidget(t)
	t.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	t.bg.CornerRadius = theme.InputRadiusSize() * 2
	t.sender = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	t.sent = widget.NewLabel("")
	t.sent.Importance = widget.LowImportance
	t.state = widget.NewLabel("")
	t.state.Importance = widget.WarningImportance
	t.text = widget.NewLabel("")
	t.text.Truncation = fyne.TextTruncateEllipsis
	t.content = container.NewStack(t.bg, container.NewPadded(container.NewBorder(nil, nil,
		container.NewHBox(t.sender, t.sent), t.state, t.text)))
	return t
}

// Set shows m.
func (t *textBubble) Set(m Message) {
	t.sender.SetText(m.Sender)
	t.sent.SetText(m.Sent.Local().Format("15:04"))
	t.text.SetText(m.Text)
	if m.State == StatePending {
		t.state.Importance = widget.WarningImportance
		t.state.SetText(lang.L("Pending"))
	} else {
		t.state.Importance = widget.LowImportance
		t.state.SetText(receiptText(m))
	}
	th := t.Theme()
	vr := fyne.CurrentApp().Settings().ThemeVariant()
	if m.Mine {
		t.bg.FillColor = th.Color(theme.ColorNameSelection, vr)
	} else {
		t.bg.FillColor = th.Color(theme.ColorNameInputBackground, vr)
	}
	t.content.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (t *textBubble) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(t.content)
}
