package ui

import (
	"fyne.io/fyne/v2"
)

// notify raises a desktop notification about conversation, unless it is
// muted: through Deps.Notify when set (the app's notifier, whose click
// opens the conversation), else Fyne's. UI thread.
func (u *UI) notify(conversation, text string) {
	if u.main.conversationMuted(conversation) {
		return
	}
	if u.d.Notify != nil {
		u.d.Notify(conversation, text)
		return
	}
	u.app.SendNotification(fyne.NewNotification("Parley", text))
}

// OpenConversation shows the window with conversation open, as a click on
// its notification asks. For "" (a note about Parley itself) or without
// an account it only shows the window. UI thread.
func (u *UI) OpenConversation(conversation string) {
	u.win.Show()
	u.win.RequestFocus()
	if conversation == "" || u.d.Messenger.Status().User == "" {
		return
	}
	if u.screen != "main" {
		u.showMain()
	}
	u.main.open(conversation)
}
