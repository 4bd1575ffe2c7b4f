package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"
)

// talkEntry is the message text field. It is Keyable (like every Entry) and
// gives the talk key to the talk state, so the key works while typing and
// never types into the field. It is multi-line as a messenger's is: Enter
// sends (OnSubmitted), Shift+Enter starts a new line.
type talkEntry struct {
	widget.Entry
	keys  *keyRouter
	shift int // shift keys held
}

func newTalkEntry(keys *keyRouter) *talkEntry {
	e := &talkEntry{keys: keys}
	e.MultiLine = true
	e.Wrapping = fyne.TextWrapWord
	e.SetMinRowsVisible(1)
	e.ExtendBaseWidget(e)
	return e
}

func isShift(n fyne.KeyName) bool { return n == desktop.KeyShiftLeft || n == desktop.KeyShiftRight }

// KeyDown implements desktop.Keyable.
func (e *talkEntry) KeyDown(ev *fyne.KeyEvent) {
	if e.keys.keyDown(ev) {
		return
	}
	if isShift(ev.Name) {
		e.shift++
	}
	e.Entry.KeyDown(ev)
}

// KeyUp implements desktop.Keyable.
func (e *talkEntry) KeyUp(ev *fyne.KeyEvent) {
	if e.keys.keyUp(ev) {
		return
	}
	if isShift(ev.Name) && e.shift > 0 {
		e.shift--
	}
	e.Entry.KeyUp(ev)
}

// FocusLost implements fyne.Focusable: a shift released elsewhere is not
// held here any more.
func (e *talkEntry) FocusLost() {
	e.shift = 0
	e.Entry.FocusLost()
}

// TypedKey swallows the auto-repeats of the talk key (F8 has no rune, but a
// configured key might reach TypedKey as a press and repeats). Enter sends;
// with Shift it is a new line (the reverse of Fyne's multi-line Entry).
func (e *talkEntry) TypedKey(ev *fyne.KeyEvent) {
	if e.keys.key.matches(ev) {
		return
	}
	if ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter {
		if e.shift == 0 {
			if e.OnSubmitted != nil {
				e.OnSubmitted(e.Text)
			}
			return
		}
		submit := e.OnSubmitted
		e.OnSubmitted = nil // Entry then inserts the new line
		e.Entry.TypedKey(ev)
		e.OnSubmitted = submit
		return
	}
	e.Entry.TypedKey(ev)
}

// TypedRune drops runes while talking so a printable talk key does not type.
func (e *talkEntry) TypedRune(r rune) {
	if e.keys.talk.Talking() && e.keys.key.name == string(r) {
		return
	}
	e.Entry.TypedRune(r)
}

// keyList is a widget.List that takes focus when tapped (as List does) and,
// being Keyable, still passes the talk key on.
type keyList struct {
	widget.List
	keys *keyRouter
}

func newKeyList(keys *keyRouter, length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *keyList {
	l := &keyList{keys: keys}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

// KeyDown implements desktop.Keyable.
func (l *keyList) KeyDown(ev *fyne.KeyEvent) { l.keys.keyDown(ev) }

// KeyUp implements desktop.Keyable.
func (l *keyList) KeyUp(ev *fyne.KeyEvent) { l.keys.keyUp(ev) }

// TypedKey passes everything but the talk key to List (arrow navigation).
func (l *keyList) TypedKey(ev *fyne.KeyEvent) {
	if l.keys.key.matches(ev) {
		return
	}
	l.List.TypedKey(ev)
}

// installCanvasKeys routes key down/up to the talk state when nothing is
// focused. Canvases that are not desktop canvases (mobile) are left alone.
func installCanvasKeys(c fyne.Canvas, keys *keyRouter) bool {
	dc, ok := c.(desktop.Canvas)
	if !ok {
		return false
	}
	dc.SetOnKeyDown(func(ev *fyne.KeyEvent) { keys.keyDown(ev) })
	dc.SetOnKeyUp(func(ev *fyne.KeyEvent) { keys.keyUp(ev) })
	return true
}
