package ui

import (
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"parley/sync"
)

// membersWidth is the width of the members panel.
const membersWidth = 230

// membersPanel lists the open conversation's members with their presence
// (talking, online, offline) and offers adding members and leaving, for
// groups other than the Lobby. It sits beside the message list and reads
// the local store only while shown.
type membersPanel struct {
	u      *UI
	conv   Conversation
	people []Person
	// gen counts reloads; only the latest answer is applied.
	gen int

	heading *widget.Label
	list    *widget.List
	add     *widget.Button
	rename  *widget.Button
	leave   *widget.Button
	content *fyne.Container
}

func newMembersPanel(u *UI) *membersPanel {
	p := &membersPanel{u: u}
	p.heading = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.list = widget.NewList(
		func() int { return len(p.people) },
		func() fyne.CanvasObject {
			name := widget.NewLabel("")
			name.Truncation = fyne.TextTruncateEllipsis
			dot := canvas.NewCircle(color.Gray{Y: 128})
			return container.NewBorder(nil, nil,
				container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(10), dot)), nil, name)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(p.people) {
				return
			}
			person := p.people[id]
			row := o.(*fyne.Container)
			name := row.Objects[0].(*widget.Label)
			dot := row.Objects[1].(*fyne.Container).Objects[0].(*fyne.Container).Objects[0].(*canvas.Circle)
			c, state := presenceLook(person.Presence)
			data := map[string]any{"Name": person.Name, "State": state}
			if person.Me {
				name.SetText(lang.L("{{.Name}} (you) · {{.State}}", data))
			} else {
				name.SetText(lang.L("{{.Name}} · {{.State}}", data))
			}
			if person.Presence == PresenceTalking {
				name.Importance = widget.DangerImportance
			} else {
				name.Importance = widget.MediumImportance
			}
			name.Refresh()
			if dot.FillColor != c {
				dot.FillColor = c
				dot.Refresh()
			}
		})
	p.list.OnSelected = func(widget.ListItemID) { p.list.UnselectAll() }
	p.add = widget.NewButtonWithIcon(lang.L("Add people"), theme.ContentAddIcon(), p.addPeople)
	p.rename = widget.NewButtonWithIcon(lang.L("Rename group"), theme.DocumentCreateIcon(), p.askRename)
	p.leave = widget.NewButtonWithIcon(lang.L("Leave group"), theme.LogoutIcon(), p.confirmLeave)
	p.leave.Importance = widget.DangerImportance
	p.content = container.New(fixedWidth{membersWidth},
		container.NewBorder(p.heading, container.NewVBox(p.add, p.rename, p.leave), widget.NewSeparator(), nil, p.list))
	p.content.Hide()
	return p
}

// presenceLook is the dot colour and the word for a presence state.
func presenceLook(s PresenceState) (color.Color, string) {
	switch s {
	case PresenceTalking:
		return theme.Color(theme.ColorNameError), lang.L("talking")
	case PresenceOnline:
		return theme.Color(theme.ColorNameSuccess), lang.L("online")
	default:
		return theme.Color(theme.ColorNameDisabled), lang.L("offline")
	}
}

// visible reports whether the panel is shown.
func (p *membersPanel) visible() bool { return p.content.Visible() }

// toggle shows or hides the panel.
func (p *membersPanel) toggle() {
	if p.content.Visible() {
		p.content.Hide()
	} else {
		p.content.Show()
		p.reload()
	}
	p.u.main.convPane.Refresh()
}

// setConversation points the panel at c (the open conversation).
func (p *membersPanel) setConversation(c Conversation) {
	changed := c.ID != p.conv.ID
	p.conv = c
	group := c.Kind == sync.ConversationGroup && !c.Lobby
	for _, b := range []*widget.Button{p.add, p.rename, p.leave} {
		if group {
			b.Show()
		} else {
			b.Hide()
		}
	}
	if changed {
		p.people = nil
		p.list.Refresh()
		p.heading.SetText(lang.L("Members"))
	}
	if p.visible() {
		p.reload()
	}
}

// reload reads the members off the UI thread; the latest read wins.
func (p *membersPanel) reload() {
	if p.conv.ID == "" || !p.visible() {
		return
	}
	p.gen++
	gen, conv := p.gen, p.conv.ID
	p.u.async(func() {
		people, err := p.u.d.Messenger.Members(conv)
		fyne.Do(func() {
			if gen != p.gen {
				return
			}
			if err != nil {
				p.u.showError(err)
				return
			}
			p.people = people
			online := 0
			for _, m := range people {
				if m.Presence != PresenceOffline {
					online++
				}
			}
			p.heading.SetText(lang.L("Members: {{.Count}}, {{.Online}} online", map[string]any{"Count": len(people), "Online": online}))
			p.list.Refresh()
		})
	})
}

// addPeople opens the user picker for people not yet in the group.
func (p *membersPanel) addPeople() {
	conv := p.conv
	exclude := map[string]bool{}
	for _, m := range p.people {
		exclude[m.ID] = true
	}
	showUserPicker(p.u, pickAdd, exclude, func(chosen []Person, _ string) error {
		ids := make([]string, len(chosen))
		for i, c := range chosen {
			ids[i] = c.ID
		}
		if err := p.u.d.Messenger.AddMembers(conv.ID, ids); err != nil {
			return err
		}
		fyne.Do(p.reload)
		return nil
	})
}

// askRename asks for the group's new name.
func (p *membersPanel) askRename() {
	conv := p.conv
	title := widget.NewEntry()
	title.SetText(conv.Title)
	title.Validator = func(s string) error { return checkName(FieldTitle, strings.TrimSpace(s)) }
	dialog.ShowForm(lang.L("Rename group"), lang.L("Rename"), lang.L("Cancel"),
		[]*widget.FormItem{widget.NewFormItem(lang.L("Name"), title)}, func(ok bool) {
			if ok {
				p.renameNow(conv, strings.TrimSpace(title.Text))
			}
		}, p.u.win)
}

// renameNow renames conv off the UI thread, checking the name first.
func (p *membersPanel) renameNow(conv Conversation, title string) {
	if err := checkName(FieldTitle, title); err != nil {
		p.u.showError(err)
		return
	}
	p.u.async(func() {
		err := p.u.d.Messenger.Rename(conv.ID, title)
		fyne.Do(func() {
			if err != nil {
				p.u.showError(err)
				return
			}
			p.u.reloadConversations()
		})
	})
}

// confirmLeave asks, then leaves the group; the Lobby opens instead.
func (p *membersPanel) confirmLeave() {
	conv := p.conv
	msg := lang.L("Leave “{{.Title}}”? You keep its history but get no new messages.", map[string]any{"Title": conversationTitle(conv)})
	dialog.ShowConfirm(lang.L("Leave group"), msg, func(ok bool) {
		if ok {
			p.leaveNow(conv)
		}
	}, p.u.win)
}

// leaveNow leaves conv off the UI thread; the Lobby opens instead.
func (p *membersPanel) leaveNow(conv Conversation) {
	p.u.async(func() {
		err := p.u.d.Messenger.Leave(conv.ID)
		fyne.Do(func() {
			if err != nil {
				p.u.showError(err)
				return
			}
			if p.u.main.current == conv.ID {
				p.u.main.current = ""
			}
			p.u.reloadConversations()
		})
	})
}

// fixedWidth lays out its objects stacked at one width, whatever their
// own minimum, so a side panel neither collapses nor grows with names.
type fixedWidth struct{ width float32 }

func (l fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		if o.Visible() {
			h = max(h, o.MinSize().Height)
		}
	}
	return fyne.NewSize(l.width, h)
}

func (l fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}
