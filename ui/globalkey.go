package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"
)

// GlobalKey is the talk key from other windows, run by app/ (an X11 grab,
// a desktop portal shortcut, a Windows hook). Set is called on the UI
// thread and returns at once; the outcome comes back through
// UI.SetGlobalKeyStatus and the key's edges through UI.GlobalTalk.
type GlobalKey interface {
	Set(talkKey string, on bool)
}

// GlobalKeyStatus says whether the talk key works from other windows.
type GlobalKeyStatus struct {
	Active bool
	// Note is an English sentence for Settings (translated through lang.L):
	// which mechanism serves the key, or why it does not work.
	Note string
}

// GlobalTalk feeds the global talk key into the one talk state. Call it on
// the UI thread (fyne.Do). A transmission started here is not stopped by
// the window losing the focus: only the key's release stops it.
func (u *UI) GlobalTalk(down bool) {
	if down {
		u.globalHeld = true
		u.talk.Start()
		return
	}
	u.globalHeld = false
	u.talk.Stop()
}

// SetGlobalKeyStatus records what app/ reports about the global key and
// shows it in Settings. UI thread.
func (u *UI) SetGlobalKeyStatus(s GlobalKeyStatus) {
	u.globalStatus = s
	if !s.Active && u.globalHeld {
		u.globalHeld = false // the source is gone: its release will not come
		u.talk.Stop()
	}
	if u.globalNote != nil {
		u.globalNote.SetText(lang.L(s.Note))
	}
}

// applyGlobalKey asks app/ for the global key the prefs describe.
func (u *UI) applyGlobalKey() {
	if u.d.GlobalKey != nil {
		u.d.GlobalKey.Set(u.prefs.TalkKey, u.prefs.GlobalTalkKey)
	}
}

// globalKeySetting is the Settings row: the switch and what app/ reported.
func (u *UI) globalKeySetting() fyne.CanvasObject {
	check := widget.NewCheck(lang.L("Talk key works in other windows"), func(on bool) {
		u.prefs.GlobalTalkKey = on
		u.savePrefs()
		u.applyGlobalKey()
	})
	check.Checked = u.prefs.GlobalTalkKey
	if u.d.GlobalKey == nil {
		check.Disable()
	}
	u.globalNote = widget.NewLabel(lang.L(u.globalStatus.Note))
	u.globalNote.Wrapping = fyne.TextWrapWord
	u.globalNote.Importance = widget.LowImportance
	return container.NewVBox(check, u.globalNote)
}
