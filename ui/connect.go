package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// connectScreen lets the user pick a server found on the LAN, type host:port,
// or host a server on this computer.
type connectScreen struct {
	u       *UI
	servers []Server
	list    *widget.List
	empty   *widget.Label
	address *widget.Entry
	connect *widget.Button
	host    *widget.Check
	status  *widget.Label
	busy    bool
	content fyne.CanvasObject
}

func newConnectScreen(u *UI) *connectScreen {
	s := &connectScreen{u: u}
	title := canvas.NewText("Parley", theme.Color(theme.ColorNamePrimary))
	title.TextSize = theme.TextHeadingSize() * 1.5
	title.TextStyle.Bold = true
	s.list = widget.NewList(
		func() int { return len(s.servers) },
		func() fyne.CanvasObject {
			return container.NewBorder(nil, nil, widget.NewIcon(theme.ComputerIcon()), nil,
				container.NewVBox(widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), widget.NewLabel("")))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			box := o.(*fyne.Container).Objects[0].(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(s.servers[id].Name)
			detail := s.servers[id].Address
			if fp := s.servers[id].Fingerprint; fp != "" {
				detail += "  ·  " + fp
			}
			box.Objects[1].(*widget.Label).SetText(detail)
		})
	s.list.OnSelected = func(id widget.ListItemID) {
		s.list.UnselectAll()
		if id < len(s.servers) {
			s.address.SetText(s.servers[id].Address)
			s.dial()
		}
	}
	s.empty = widget.NewLabel(lang.L("Looking for servers on this network…"))
	s.empty.Importance = widget.LowImportance
	s.address = widget.NewEntry()
	s.address.SetPlaceHolder(lang.L("host:port, e.g. 192.168.1.20:7447"))
	s.address.SetText(u.prefs.LastServer)
	s.address.OnSubmitted = func(string) { s.dial() }
	s.connect = widget.NewButtonWithIcon(lang.L("Connect"), theme.LoginIcon(), s.dial)
	s.connect.Importance = widget.HighImportance
	s.host = widget.NewCheck(lang.L("Host a server on this computer"), s.setHosting)
	s.status = widget.NewLabel("")
	s.status.Wrapping = fyne.TextWrapWord
	if u.d.Host == nil {
		s.host.Disable()
	}

	found := container.NewBorder(widget.NewLabelWithStyle(lang.L("Servers on this network"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		nil, nil, nil, container.NewStack(s.empty, s.list))
	manual := container.NewVBox(
		widget.NewLabelWithStyle(lang.L("Or enter an address"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, s.connect, s.address),
		widget.NewSeparator(),
		s.host,
		s.status,
	)
	body := container.NewBorder(container.NewVBox(container.NewCenter(title),
		container.NewCenter(widget.NewLabel(lang.L("Push-to-talk voice messages on your local network")))),
		manual, nil, nil, found)
	s.content = container.NewCenter(container.NewGridWrap(fyne.NewSize(460, 520), container.NewPadded(body)))
	return s
}

// refresh re-reads discovery and host state.
func (s *connectScreen) refresh() {
	s.refreshServers()
	h := s.u.d.Host
	if h == nil {
		return
	}
	running := h.Running()
	if s.host.Checked != running {
		s.host.OnChanged = nil
		s.host.SetChecked(running)
		s.host.OnChanged = s.setHosting
	}
	if running {
		text := lang.L("This computer is hosting a server at ") + h.Address()
		if fp := s.u.hostFingerprint(); fp != "" {
			text += "\n" + lang.L("Fingerprint: ") + fp
		}
		s.status.SetText(text)
	} else if !s.busy {
		s.status.SetText("")
	}
}

func (s *connectScreen) refreshServers() {
	if s.u.d.Discovery != nil {
		s.servers = s.u.d.Discovery.Servers()
	}
	if len(s.servers) == 0 {
		s.empty.Show()
	} else {
		s.empty.Hide()
	}
	s.list.Refresh()
}

func (s *connectScreen) setBusy(b bool, note string) {
	s.busy = b
	if b {
		s.connect.Disable()
		s.host.Disable()
	} else {
		s.connect.Enable()
		if s.u.d.Host != nil {
			s.host.Enable()
		}
	}
	s.status.SetText(note)
}

// dial connects to the address in the entry, off the UI thread.
func (s *connectScreen) dial() {
	addr := s.address.Text
	if addr == "" || s.busy {
		return
	}
	s.setBusy(true, lang.L("Connecting to ")+addr+"…")
	s.u.async(func() {
		err := s.u.d.Messenger.Connect(addr)
		fyne.Do(func() {
			s.setBusy(false, "")
			if err != nil {
				s.u.showError(err)
				s.u.askTrust(err, s.dial)
				return
			}
			s.u.showError(nil)
			s.u.prefs.LastServer = addr
			s.u.savePrefs()
			s.u.showSignIn()
		})
	})
}

// setHosting starts or stops the bundled server, off the UI thread.
func (s *connectScreen) setHosting(on bool) {
	h := s.u.d.Host
	if h == nil {
		return
	}
	if on {
		s.setBusy(true, lang.L("Starting the server…"))
	} else {
		s.setBusy(true, lang.L("Stopping the server…"))
	}
	s.u.async(func() {
		var err error
		if on {
			err = h.Start()
		} else {
			err = h.Stop()
		}
		fyne.Do(func() {
			s.setBusy(false, "")
			if err != nil {
				s.u.showError(err)
			} else {
				s.u.prefs.HostServer = on
				s.u.savePrefs()
				if on {
					s.address.SetText(h.Address())
				}
			}
			s.refresh()
		})
	})
}
