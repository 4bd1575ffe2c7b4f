package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Muter mutes conversations: a muted conversation does not notify and
// does not play live by itself; its messages still arrive and count.
type Muter interface {
	// SetMuted mutes or unmutes a conversation. It writes the local
	// store; ui calls it off the UI thread and waits for
	// HintConversations to show the result.
	SetMuted(conversation string, muted bool) error
}

// muteToggle is the open conversation's Mute/Unmute button in its header
// (hidden without a Muter).
type muteToggle struct {
	s     *mainScreen
	btn   *widget.Button
	muted bool
}

func newMuteToggle(s *mainScreen) *muteToggle {
	t := &muteToggle{s: s}
	t.btn = widget.NewButtonWithIcon(lang.L("Mute"), theme.VolumeMuteIcon(), t.tapped)
	t.btn.Importance = widget.LowImportance
	if s.u.d.Muter == nil {
		t.btn.Hide()
	}
	return t
}

// set shows conversation c's state. UI thread.
func (t *muteToggle) set(c Conversation) {
	if c.Muted == t.muted && t.btn.Text != "" {
		return
	}
	t.muted = c.Muted
	if t.muted {
		t.btn.SetIcon(theme.VolumeUpIcon())
		t.btn.SetText(lang.L("Unmute"))
	} else {
		t.btn.SetIcon(theme.VolumeMuteIcon())
		t.btn.SetText(lang.L("Mute"))
	}
}

// tapped flips the open conversation's mute; the list and the button show
// the stored state once the Muter's hint arrives.
func (t *muteToggle) tapped() {
	m, conv, on := t.s.u.d.Muter, t.s.current, !t.muted
	if m == nil || conv == "" {
		return
	}
	t.s.u.async(func() {
		if err := m.SetMuted(conv, on); err != nil {
			fyne.Do(func() { t.s.u.showError(err) })
		}
	})
}

// newMutedMark is the conversation list's muted mark, beside the badge.
func newMutedMark() *widget.Icon {
	mark := widget.NewIcon(theme.VolumeMuteIcon())
	mark.Hide()
	return mark
}

// setMutedMark shows the mark of a conversation list row when c is muted
// and returns the row's badge.
func setMutedMark(row *fyne.Container, c Conversation) *widget.Label {
	right := row.Objects[2].(*fyne.Container)
	if mark := right.Objects[0].(*widget.Icon); mark.Visible() != c.Muted {
		if c.Muted {
			mark.Show()
		} else {
			mark.Hide()
		}
		row.Refresh() // the right side's width changed: lay the row out again
	}
	return right.Objects[1].(*widget.Label)
}

// conversationMuted reports whether conversation is muted, as the list
// last read says.
func (s *mainScreen) conversationMuted(conversation string) bool {
	for _, c := range s.convs {
		if c.ID == conversation {
			return c.Muted
		}
	}
	return false
}
