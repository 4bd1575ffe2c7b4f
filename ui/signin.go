package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// signInScreen signs in or creates an account on the chosen server.
type signInScreen struct {
	u        *UI
	server   *widget.Label
	username *widget.Entry
	password *widget.Entry
	signIn   *widget.Button
	signUp   *widget.Button
	status   *widget.Label
	content  fyne.CanvasObject
}

func newSignInScreen(u *UI) *signInScreen {
	s := &signInScreen{u: u}
	s.server = widget.NewLabel("")
	s.username = widget.NewEntry()
	s.username.SetPlaceHolder(lang.L("Username"))
	s.username.SetText(u.prefs.LastUser)
	s.password = widget.NewPasswordEntry()
	s.password.SetPlaceHolder(lang.L("Password"))
	s.password.OnSubmitted = func(string) { s.submit(false) }
	s.signIn = widget.NewButtonWithIcon(lang.L("Sign in"), theme.LoginIcon(), func() { s.submit(false) })
	s.signIn.Importance = widget.HighImportance
	s.signUp = widget.NewButtonWithIcon(lang.L("Create account"), theme.AccountIcon(), func() { s.submit(true) })
	back := widget.NewButtonWithIcon(lang.L("Other server"), theme.NavigateBackIcon(), u.showConnect)
	back.Importance = widget.LowImportance
	s.status = widget.NewLabel("")

	form := container.NewVBox(
		widget.NewLabelWithStyle(lang.L("Sign in"), fyne.TextAlignCenter, fyne.TextStyle{Bold: true}),
		s.server,
		widget.NewLabel(lang.L("Username")), s.username,
		widget.NewLabel(lang.L("Password")), s.password,
		container.NewGridWithColumns(2, s.signUp, s.signIn),
		s.status,
		back,
	)
	s.content = container.NewCenter(container.NewGridWrap(fyne.NewSize(380, 400), container.NewPadded(form)))
	return s
}

func (s *signInScreen) refresh() {
	addr := s.u.d.Messenger.Status().Server
	text := lang.L("Server: ") + addr
	if fp := s.u.serverFingerprint(addr); fp != "" {
		text += "\n" + lang.L("Fingerprint: ") + fp
	}
	s.server.SetText(text)
}

func (s *signInScreen) setBusy(b bool, note string) {
	if b {
		s.signIn.Disable()
		s.signUp.Disable()
	} else {
		s.signIn.Enable()
		s.signUp.Enable()
	}
	s.status.SetText(note)
}

// submit signs in (or up) off the UI thread.
func (s *signInScreen) submit(create bool) {
	user, pass := s.username.Text, s.password.Text
	if user == "" || pass == "" {
		s.status.SetText(lang.L("Enter a username and a password."))
		return
	}
	s.setBusy(true, lang.L("Signing in…"))
	s.u.async(func() {
		var err error
		if create {
			err = s.u.d.Messenger.SignUp(user, pass)
		} else {
			err = s.u.d.Messenger.SignIn(user, pass)
		}
		fyne.Do(func() {
			s.setBusy(false, "")
			if err != nil {
				s.u.showError(err)
				s.u.askTrust(err, func() { s.submit(create) })
				return
			}
			s.password.SetText("")
			s.u.prefs.LastUser = user
			s.u.savePrefs()
			s.u.showMain()
		})
	})
}
