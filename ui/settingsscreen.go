package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// languages offered in settings; "" follows the system.
var languages = []struct{ code, name string }{{"", "System"}, {"en", "English"}, {"zh", "中文"}}

// showSettings replaces the window content with the settings screen.
// Changes are saved as they are made.
func (u *UI) showSettings() {
	p := &u.prefs
	save := func() { u.savePrefs() }

	deviceSelect := func(list func() ([]Device, error), cur string, set func(string)) *widget.Select {
		devs := []Device{{ID: "", Name: lang.L("System default")}}
		if list != nil {
			more, err := list()
			if err != nil {
				u.showError(err)
			}
			devs = append(devs, more...)
		}
		names := make([]string, len(devs))
		for i, d := range devs {
			names[i] = d.Name
		}
		sel := widget.NewSelect(names, nil)
		for _, d := range devs {
			if d.ID == cur {
				sel.SetSelected(d.Name)
			}
		}
		if sel.Selected == "" {
			sel.SetSelectedIndex(0)
		}
		sel.OnChanged = func(string) { set(devs[sel.SelectedIndex()].ID); save() }
		return sel
	}
	var inputs, outputs func() ([]Device, error)
	if u.d.Devices != nil {
		inputs, outputs = u.d.Devices.Inputs, u.d.Devices.Outputs
	}
	input := deviceSelect(inputs, p.InputDevice, func(id string) { p.InputDevice = id })
	output := deviceSelect(outputs, p.OutputDevice, func(id string) { p.OutputDevice = id })

	var keyBtn *widget.Button
	keyBtn = widget.NewButton(parseTalkKey(p.TalkKey).String(), func() {
		keyBtn.SetText(lang.L("Press a key…"))
		u.win.Canvas().Unfocus() // the next key down reaches the canvas router
		u.keys.capture = func(ev *fyne.KeyEvent) {
			if ev.Name == fyne.KeyEscape {
				keyBtn.SetText(u.keys.key.String())
				return
			}
			p.TalkKey = talkKeyFromEvent(ev)
			u.keys.key = parseTalkKey(p.TalkKey)
			keyBtn.SetText(u.keys.key.String())
			save()
			u.applyGlobalKey()
		}
	})
	autoPlay := widget.NewCheck(lang.L("Play live messages from other conversations"), func(b bool) { p.AutoPlayLive = b; save() })
	autoPlay.Checked = p.AutoPlayLive
	cue := widget.NewSlider(0, 1)
	cue.Step = 0.05
	cue.Value = p.CueVolume
	cue.OnChangeEnded = func(v float64) { p.CueVolume = v; save() }
	speed := widget.NewRadioGroup([]string{"1×", "1.5×", "2×"}, nil)
	speed.Horizontal = true
	speed.Selected = speedLabel(p.DefaultSpeed)
	speed.OnChanged = func(s string) {
		for _, v := range speeds {
			if speedLabel(v) == s {
				p.DefaultSpeed = v
			}
		}
		save()
	}
	langNames := make([]string, len(languages))
	for i, l := range languages {
		langNames[i] = l.name
	}
	language := widget.NewSelect(langNames, nil)
	for i, l := range languages {
		if l.code == p.Language {
			language.SetSelectedIndex(i)
		}
	}
	language.OnChanged = func(string) {
		p.Language = languages[language.SelectedIndex()].code
		save()
		u.showError(nil)
	}
	host := widget.NewCheck(lang.L("Host a server on this computer"), func(on bool) { u.connect.setHosting(on) })
	host.Checked = u.d.Host != nil && u.d.Host.Running()
	if u.d.Host == nil {
		host.Disable()
	}
	signOut := widget.NewButtonWithIcon(lang.L("Sign out"), theme.LogoutIcon(), func() {
		u.async(func() {
			err := u.d.Messenger.SignOut()
			fyne.Do(func() {
				if err != nil {
					u.showError(err)
					return
				}
				u.showSignIn()
			})
		})
	})
	signOut.Importance = widget.DangerImportance
	back := widget.NewButtonWithIcon(lang.L("Back"), theme.NavigateBackIcon(), func() {
		u.keys.capture = nil
		u.showMain()
	})

	form := widget.NewForm(
		widget.NewFormItem(lang.L("Microphone"), input),
		widget.NewFormItem("", u.cleanCaptureSetting()),
		widget.NewFormItem(lang.L("Speaker"), output),
		widget.NewFormItem(lang.L("Talk key"), keyBtn),
		widget.NewFormItem("", u.globalKeySetting()),
		widget.NewFormItem("", u.handsSetting()),
		widget.NewFormItem(lang.L("Auto-play"), autoPlay),
		widget.NewFormItem(lang.L("Cue volume"), cue),
		widget.NewFormItem(lang.L("Default speed"), speed),
		widget.NewFormItem(lang.L("Language"), container.NewVBox(language,
			widget.NewLabel(lang.L("Language changes apply after a restart.")))),
		widget.NewFormItem(lang.L("Server"), host),
	)
	content := container.NewBorder(
		container.NewBorder(nil, nil, back, nil, widget.NewLabelWithStyle(lang.L("Settings"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})),
		container.NewHBox(signOut), nil, nil, container.NewVScroll(form))
	u.setScreen("settings", container.NewPadded(content))
}
