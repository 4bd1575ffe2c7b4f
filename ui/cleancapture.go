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
		c := widget.NewCheck(lang.L(label), func(on bool) {
			*v = on
			u.savePrefs()
		})
		c.Checked = *v
		return c
	}
	return container.NewVBox(
		check("Suppress background noise", &p.NoiseSuppression),
		check("Even out my volume", &p.AutoGain),
		check("Quiet the pauses between words", &p.VoiceGate),
	)
}
