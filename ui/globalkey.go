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
	// Note says, for Settings, where the key works or why it does not.
	Note GlobalKeyNote
}

// GlobalKeyNote is what Settings says about the talk key from other
// windows; ui turns it into a sentence in the user's language.
type GlobalKeyNote int

// The notes app/ reports.
const (
	GlobalKeyWindowOnly  GlobalKeyNote = iota // switched off: the window key only
	GlobalKeyEverywhere                       // the key works in every window
	GlobalKeyStopped                          // it worked, then its source went away
	GlobalKeyNoPortal                         // Wayland: no portal answered
	GlobalKeyTaken                            // another program holds the key
	GlobalKeyUnknownKey                       // the key cannot be grabbed globally
	GlobalKeyUnavailable                      // not available on this desktop
)

// text is the note's sentence.
func (n GlobalKeyNote) text() string {
	switch n {
	case GlobalKeyEverywhere:
		return lang.L("The talk key works in every window.")
	case GlobalKeyStopped:
		return lang.L("The talk key from other windows stopped working; it works while Parley's window has the focus.")
	case GlobalKeyNoPortal:
		return lang.L("No desktop portal answered for global shortcuts: the talk key works while Parley's window has the focus.")
	case GlobalKeyTaken:
		return lang.L("Another program already uses this key globally: choose another talk key, or use it in Parley's window.")
	case GlobalKeyUnknownKey:
		return lang.L("This talk key cannot be used from other windows: choose another one, such as F8.")
	case GlobalKeyUnavailable:
		return lang.L("The talk key from other windows is not available here: it works while Parley's window has the focus.")
	default:
		return lang.L("The talk key works while Parley's window has the focus.")
	}
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

// GlobalCancel withdraws a transmission held by the global talk key (Escape
// pressed while it is held, which the key's grab takes from the window).
// Call it on the UI thread (fyne.Do).
func (u *UI) GlobalCancel() {
	if u.talk.Talking() {
		u.globalHeld = false
		u.talk.Cancel()
	}
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
		u.globalNote.SetText(s.Note.text())
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
	u.globalNote = widget.NewLabel(u.globalStatus.Note.text())
	u.globalNote.Wrapping = fyne.TextWrapWord
	u.globalNote.Importance = widget.LowImportance
	return container.NewVBox(check, u.globalNote)
}
