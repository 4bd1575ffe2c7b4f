package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
)

// cleanCaptureSetting is the Settings row of the microphone clean-up
// switches; each saves at once (app/ applies it to the open microphone).
func (u *UI) cleanCaptureSetting() fyne.CanvasObject {
	p := &u.prefs
	check := func(label string, v *bool) *widget.Check {
		c := widget.NewCheck(label, func(on bool) {
			*v = on
			u.savePrefs()
		})
		c.Checked = *v
		return c
	}
	return container.NewVBox(
		check(lang.L("Suppress background noise"), &p.NoiseSuppression),
		check(lang.L("Even out my volume"), &p.AutoGain),
		check(lang.L("Quiet the pauses between words"), &p.VoiceGate),
		check(lang.L("Keep the microphone ready (open all session and paused between messages, so the first word is never cut)"), &p.KeepMicReady),
	)
}

// handsSetting is the Settings row of the release tail and the lock.
func (u *UI) handsSetting() fyne.CanvasObject {
	p := &u.prefs
	tails := []string{"0 ms", "100 ms", "200 ms", "300 ms", "500 ms"}
	values := []int{0, 100, 200, 300, 500}
	tail := widget.NewSelect(tails, nil)
	for i, v := range values {
		if v == p.TalkTailMs {
			tail.SetSelectedIndex(i)
		}
	}
	tail.OnChanged = func(string) {
		p.TalkTailMs = values[tail.SelectedIndex()]
		u.savePrefs()
		u.applyHands()
	}
	lock := widget.NewCheck(lang.L("Double-tap the talk key to talk hands-free"), func(on bool) {
		p.TapToLock = on
		u.savePrefs()
		u.applyHands()
	})
	lock.Checked = p.TapToLock
	return container.NewVBox(container.NewBorder(nil, nil, widget.NewLabel(lang.L("Keep talking after release")), nil, tail), lock)
}
