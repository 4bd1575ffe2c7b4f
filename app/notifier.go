package app

// Desktop notifications about conversations. On Linux and the BSDs they
// go straight to the desktop's org.freedesktop.Notifications server over
// D-Bus (notifier_dbus.go): a click ("default" action) shows the window
// with the conversation open, and a conversation's new notification
// replaces its previous one instead of stacking. Fyne 2.8's notifications
// have no action, so elsewhere (Windows, macOS), or without a session
// bus, Fyne's are used and a click does nothing but what the system does.

import (
	"fyne.io/fyne/v2"
)

// notifier raises notifications about conversations.
type notifier interface {
	// notify shows text about conversation ("" for one about Parley
	// itself). Any goroutine; it does not wait for the desktop.
	notify(conversation, text string)
	// withdraw takes back conversation's notification, if one is shown
	// (the user opened the conversation). Any goroutine; it does not wait.
	withdraw(conversation string)
	// close stops the notifier and waits for its goroutine. Idempotent.
	close()
}

// fyneNotifier is Fyne's notification, without click handling.
type fyneNotifier struct{ a fyne.App }

func (n fyneNotifier) notify(_, text string) {
	n.a.SendNotification(fyne.NewNotification("Parley", text))
}

func (fyneNotifier) withdraw(string) {} // Fyne's notifications cannot be taken back

func (fyneNotifier) close() {}
