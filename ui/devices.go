package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// devicesScreen lists the devices signed in to the account, with name and
// last seen, and signs any other one out.
type devicesScreen struct {
	u       *UI
	devices []SignedInDevice
	gen     int // the latest read wins

	list    *widget.List
	note    *widget.Label
	content fyne.CanvasObject
}

func newDevicesScreen(u *UI) *devicesScreen {
	s := &devicesScreen{u: u}
	s.list = widget.NewList(
		func() int { return len(s.devices) },
		func() fyne.CanvasObject {
			name := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			name.Truncation = fyne.TextTruncateEllipsis
			seen := widget.NewLabel("")
			seen.Importance = widget.LowImportance
			seen.Truncation = fyne.TextTruncateEllipsis
			revoke := widget.NewButtonWithIcon(lang.L("Sign out"), theme.LogoutIcon(), nil)
			revoke.Importance = widget.DangerImportance
			return container.NewBorder(nil, nil, widget.NewIcon(theme.ComputerIcon()), container.NewCenter(revoke), container.NewVBox(name, seen))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(s.devices) {
				return
			}
			d := s.devices[id]
			row := o.(*fyne.Container)
			texts := row.Objects[0].(*fyne.Container)
			revoke := row.Objects[2].(*fyne.Container).Objects[0].(*widget.Button)
			name := texts.Objects[0].(*widget.Label)
			if d.Current {
				name.SetText(lang.L("{{.Name}} (this computer)", map[string]any{"Name": d.Name}))
				revoke.Hide()
			} else {
				name.SetText(d.Name)
				revoke.Show()
			}
			texts.Objects[1].(*widget.Label).SetText(deviceSeen(d))
			revoke.OnTapped = func() { s.confirmRevoke(d) }
		})
	s.list.OnSelected = func(widget.ListItemID) { s.list.UnselectAll() }
	s.note = widget.NewLabel("")
	s.note.Wrapping = fyne.TextWrapWord
	back := widget.NewButtonWithIcon(lang.L("Back"), theme.NavigateBackIcon(), u.showSettings)
	heading := widget.NewLabelWithStyle(lang.L("Devices"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	intro := widget.NewLabel(lang.L("Computers signed in to your account. Signing one out stops it receiving messages until someone signs in on it again."))
	intro.Wrapping = fyne.TextWrapWord
	s.content = container.NewPadded(container.NewBorder(
		container.NewVBox(container.NewBorder(nil, nil, back, nil, heading), intro),
		s.note, nil, nil, s.list))
	return s
}

// deviceSeen says when a device was signed in and last seen.
func deviceSeen(d SignedInDevice) string {
	data := map[string]any{"Created": formatDay(d.Created), "LastSeen": formatWhen(d.LastSeen)}
	if d.Current {
		return lang.L("Signed in {{.Created}} · in use now", data)
	}
	if d.LastSeen.IsZero() {
		return lang.L("Signed in {{.Created}} · not seen since", data)
	}
	return lang.L("Signed in {{.Created}} · last seen {{.LastSeen}}", data)
}

func formatDay(t time.Time) string { return t.Local().Format("2006-01-02") }

func formatWhen(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }

// showDevices replaces the window content with the devices screen and reads
// the list from the server.
func (u *UI) showDevices() {
	if u.devices == nil {
		u.devices = newDevicesScreen(u)
	}
	u.setScreen("devices", u.devices.content)
	u.devices.reload()
}

// reload asks the server for the devices off the UI thread.
func (s *devicesScreen) reload() {
	s.gen++
	gen := s.gen
	s.note.SetText(lang.L("Asking the server…"))
	s.u.async(func() {
		ds, err := s.u.d.Messenger.Devices()
		fyne.Do(func() {
			if gen != s.gen {
				return
			}
			if err != nil {
				s.note.SetText("")
				s.u.showError(err)
				return
			}
			s.note.SetText("")
			s.devices = ds
			s.list.Refresh()
		})
	})
}

func (s *devicesScreen) confirmRevoke(d SignedInDevice) {
	msg := lang.L("Sign out “{{.Name}}”? Whoever uses it must sign in again with the password.", map[string]any{"Name": d.Name})
	dialog.ShowConfirm(lang.L("Sign out a device"), msg, func(ok bool) {
		if ok {
			s.revoke(d)
		}
	}, s.u.win)
}

// revoke signs d out off the UI thread, then re-reads the list.
func (s *devicesScreen) revoke(d SignedInDevice) {
	s.u.async(func() {
		err := s.u.d.Messenger.RevokeDevice(d.ID)
		fyne.Do(func() {
			if err != nil {
				s.u.showError(err)
				return
			}
			s.u.showError(nil)
			s.reload()
		})
	})
}
