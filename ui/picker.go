package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"parley/server/wire"
)

// pickMode says what the user picker is for.
type pickMode int

const (
	pickCreate pickMode = iota // a new direct (one person) or group conversation
	pickAdd                    // people to add to a group
)

// userPicker chooses people from the server's directory, searched by name
// as the user types. A failed action keeps the dialog and everything in
// it, and says what is wrong inside it.
type userPicker struct {
	u       *UI
	mode    pickMode
	exclude map[string]bool
	all     []Person
	shown   []Person
	chosen  map[string]Person
	// done runs off the UI thread with the chosen people and the group
	// name; an error keeps the dialog open.
	done func(chosen []Person, title string) error

	search  *widget.Entry
	list    *widget.List
	title   *widget.Entry
	summary *widget.Label
	note    *widget.Label
	ok      *widget.Button
	dlg     *dialog.CustomDialog
	content fyne.CanvasObject
	busy    bool
	open    bool // the dialog is showing
}

// showUserPicker opens the picker; people in exclude are not offered.
func showUserPicker(u *UI, mode pickMode, exclude map[string]bool, done func([]Person, string) error) *userPicker {
	p := newUserPicker(u, mode, exclude, done)
	u.picker = p
	heading := lang.L("New conversation")
	if mode == pickAdd {
		heading = lang.L("Add people")
	}
	p.dlg = dialog.NewCustomWithoutButtons(heading, p.content, u.win)
	cancel := widget.NewButtonWithIcon(lang.L("Cancel"), theme.CancelIcon(), p.dlg.Hide)
	p.dlg.SetOnClosed(func() { p.open = false })
	p.dlg.SetButtons([]fyne.CanvasObject{cancel, p.ok})
	p.dlg.Resize(fyne.NewSize(420, 480))
	p.dlg.Show()
	p.open = true
	u.win.Canvas().Focus(p.search)
	p.load()
	return p
}

func newUserPicker(u *UI, mode pickMode, exclude map[string]bool, done func([]Person, string) error) *userPicker {
	p := &userPicker{u: u, mode: mode, exclude: exclude, chosen: map[string]Person{}, done: done}
	p.search = widget.NewEntry()
	p.search.SetPlaceHolder(lang.L("Search people by name"))
	p.search.OnChanged = func(string) { p.filter() }
	p.list = widget.NewList(
		func() int { return len(p.shown) },
		func() fyne.CanvasObject {
			name := widget.NewLabel("")
			name.Truncation = fyne.TextTruncateEllipsis
			return container.NewBorder(nil, nil, widget.NewIcon(theme.CheckButtonIcon()), nil, name)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(p.shown) {
				return
			}
			person := p.shown[id]
			row := o.(*fyne.Container)
			row.Objects[0].(*widget.Label).SetText(person.Name)
			icon := row.Objects[1].(*widget.Icon)
			if _, ok := p.chosen[person.ID]; ok {
				icon.SetResource(theme.CheckButtonCheckedIcon())
			} else {
				icon.SetResource(theme.CheckButtonIcon())
			}
		})
	p.list.OnSelected = func(id widget.ListItemID) {
		p.list.UnselectAll()
		if id < len(p.shown) {
			p.toggle(p.shown[id])
		}
	}
	p.title = widget.NewEntry()
	p.title.SetPlaceHolder(lang.L("Group name (for several people)"))
	p.summary = widget.NewLabel("")
	p.summary.Truncation = fyne.TextTruncateEllipsis
	p.note = widget.NewLabel(lang.L("Loading the people on this server…"))
	p.note.Wrapping = fyne.TextWrapWord
	okText := lang.L("Create")
	if mode == pickAdd {
		okText = lang.L("Add")
	}
	p.ok = widget.NewButtonWithIcon(okText, theme.ConfirmIcon(), p.submit)
	p.ok.Importance = widget.HighImportance
	p.ok.Disable()
	bottom := container.NewVBox(p.summary, p.note)
	if mode == pickCreate {
		bottom.Objects = append([]fyne.CanvasObject{p.title}, bottom.Objects...)
	}
	p.content = container.NewBorder(p.search, bottom, nil, nil, p.list)
	return p
}

// load reads the directory off the UI thread.
func (p *userPicker) load() {
	p.u.async(func() {
		people, err := p.u.d.Messenger.Directory()
		fyne.Do(func() {
			if err != nil {
				p.note.SetText(userMessage(err, p.u.screen))
				p.note.Importance = widget.DangerImportance
				p.note.Refresh()
				return
			}
			p.all = p.all[:0]
			for _, person := range people {
				if !person.Me && !p.exclude[person.ID] {
					p.all = append(p.all, person)
				}
			}
			p.note.SetText("")
			if len(p.all) == 0 {
				p.note.SetText(lang.L("Nobody else has an account on this server yet."))
			}
			p.filter()
		})
	})
}

// filter shows the people whose name contains the search text (any case).
func (p *userPicker) filter() {
	q := strings.ToLower(strings.TrimSpace(p.search.Text))
	p.shown = p.shown[:0]
	for _, person := range p.all {
		if q == "" || strings.Contains(strings.ToLower(person.Name), q) {
			p.shown = append(p.shown, person)
		}
	}
	p.list.Refresh()
	if q != "" && len(p.shown) == 0 && len(p.all) > 0 {
		p.note.SetText(lang.L("Nobody is called “{{.Value}}” here.", map[string]any{"Value": strings.TrimSpace(p.search.Text)}))
		p.note.Importance = widget.MediumImportance
		p.note.Refresh()
	} else if p.note.Importance != widget.DangerImportance && len(p.all) > 0 {
		p.note.SetText("")
	}
}

func (p *userPicker) toggle(person Person) {
	if _, ok := p.chosen[person.ID]; ok {
		delete(p.chosen, person.ID)
	} else {
		p.chosen[person.ID] = person
	}
	p.list.Refresh()
	names := make([]string, 0, len(p.chosen))
	for _, c := range p.chosenList() {
		names = append(names, c.Name)
	}
	if len(names) > 0 {
		p.summary.SetText(lang.L("Chosen: {{.Names}}", map[string]any{"Names": strings.Join(names, ", ")}))
		p.ok.Enable()
	} else {
		p.summary.SetText("")
		p.ok.Disable()
	}
}

// chosenList is the chosen people in directory order.
func (p *userPicker) chosenList() []Person {
	var out []Person
	for _, person := range p.all {
		if _, ok := p.chosen[person.ID]; ok {
			out = append(out, person)
		}
	}
	return out
}

// check applies the server's rules before anything is sent.
func (p *userPicker) check(chosen []Person, title string) error {
	if len(chosen) == 0 {
		return &InputError{Field: FieldMembers, Problem: ProblemMissing}
	}
	if len(chosen) > wire.MaxGroupMembers {
		return &InputError{Field: FieldMembers, Problem: ProblemTooMany, Limit: wire.MaxGroupMembers}
	}
	if title != "" {
		return checkName(FieldTitle, title)
	}
	return nil
}

// submit runs the action off the UI thread; on failure the dialog stays
// with its input and says why.
func (p *userPicker) submit() {
	if p.busy {
		return
	}
	chosen, title := p.chosenList(), strings.TrimSpace(p.title.Text)
	if err := p.check(chosen, title); err != nil {
		p.fail(err)
		return
	}
	p.busy = true
	p.ok.Disable()
	p.note.Importance = widget.MediumImportance
	p.note.SetText(lang.L("Working…"))
	p.u.async(func() {
		err := p.done(chosen, title)
		fyne.Do(func() {
			p.busy = false
			p.ok.Enable()
			if err != nil {
				p.fail(err)
				return
			}
			if p.dlg != nil {
				p.dlg.Hide()
			}
		})
	})
}

func (p *userPicker) fail(err error) {
	if p.u.d.Logger != nil {
		p.u.d.Logger.Info("error shown", "screen", "picker", "err", err)
	}
	p.note.Importance = widget.DangerImportance
	p.note.SetText(userMessage(err, "main"))
}
