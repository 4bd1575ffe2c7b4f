package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// SearchHit is a text message found by Messenger.Search.
type SearchHit struct {
	Message           Message
	ConversationTitle string
}

// Searcher finds text messages in the local cache; it reads the disk, so
// ui calls it off the UI thread.
type Searcher interface {
	// Search returns text messages containing query, newest first.
	Search(query string) ([]SearchHit, error)
}

// maxSnippet is how much of a hit's text a result row shows around the
// match, in characters.
const maxSnippet = 80

// searchPanel is the search box above the conversation list: while it has
// text, the results replace the list; choosing one opens its conversation
// at the message.
type searchPanel struct {
	s    *mainScreen
	hits []SearchHit
	// gen counts queries; only the latest answer is applied.
	gen int

	entry   *widget.Entry
	results *widget.List
	empty   *widget.Label
	content fyne.CanvasObject // the results and the empty note, over the list
}

func newSearchPanel(s *mainScreen) *searchPanel {
	p := &searchPanel{s: s}
	p.entry = widget.NewEntry()
	p.entry.SetPlaceHolder(lang.L("Search messages"))
	p.entry.ActionItem = widget.NewButtonWithIcon("", theme.CancelIcon(), func() { p.entry.SetText("") })
	p.entry.OnChanged = p.query
	p.results = widget.NewList(
		func() int { return len(p.hits) },
		func() fyne.CanvasObject {
			where := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			where.Truncation = fyne.TextTruncateEllipsis
			text := widget.NewLabel("")
			text.Truncation = fyne.TextTruncateEllipsis
			return container.NewVBox(where, text)
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(p.hits) {
				return
			}
			h := p.hits[id]
			box := o.(*fyne.Container)
			box.Objects[0].(*widget.Label).SetText(p.s.titleOf(h) + " · " + h.Message.SenderName + " · " + h.Message.Created.Local().Format("2006-01-02 15:04"))
			box.Objects[1].(*widget.Label).SetText(snippet(h.Message.Text, p.entry.Text))
		})
	p.results.OnSelected = func(id widget.ListItemID) {
		p.results.UnselectAll()
		if id < len(p.hits) {
			s.jumpTo(p.hits[id].Message)
		}
	}
	p.empty = widget.NewLabel("")
	p.empty.Wrapping = fyne.TextWrapWord
	p.empty.Importance = widget.LowImportance
	p.content = container.NewStack(p.results, container.NewVBox(p.empty))
	p.content.Hide()
	return p
}

// query searches off the UI thread; the latest query's answer wins.
func (p *searchPanel) query(q string) {
	p.gen++
	gen := p.gen
	q = strings.TrimSpace(q)
	if q == "" {
		p.hits = nil
		p.content.Hide()
		p.s.convList.Show()
		return
	}
	p.s.convList.Hide()
	p.content.Show()
	p.s.u.async(func() {
		hits, err := p.s.u.d.Messenger.Search(q)
		fyne.Do(func() {
			if gen != p.gen {
				return
			}
			if err != nil {
				p.s.u.showError(err)
				return
			}
			p.hits = hits
			p.results.Refresh()
			p.results.ScrollToTop()
			if len(hits) == 0 {
				p.empty.SetText(lang.L("No messages contain “{{.Query}}”.", map[string]any{"Query": q}))
			} else {
				p.empty.SetText("")
			}
		})
	})
}

// snippet is up to maxSnippet characters of text around the first match of
// q, on one line.
func snippet(text, q string) string {
	text = strings.Join(strings.Fields(text), " ")
	r := []rune(text)
	if len(r) <= maxSnippet {
		return text
	}
	at := 0
	if i := strings.Index(strings.ToLower(text), strings.ToLower(strings.TrimSpace(q))); i > 0 {
		at = len([]rune(text[:i]))
	}
	start := max(0, min(at-maxSnippet/4, len(r)-maxSnippet))
	out := string(r[start : start+maxSnippet])
	if start > 0 {
		out = "…" + out
	}
	if start+maxSnippet < len(r) {
		out += "…"
	}
	return out
}

// titleOf is the name of a hit's conversation as the list shows it (the
// Lobby in the user's language), or the title the hit carries for one no
// longer listed (left).
func (s *mainScreen) titleOf(h SearchHit) string {
	for _, c := range s.convs {
		if c.ID == h.Message.Conversation {
			return conversationTitle(c)
		}
	}
	return h.ConversationTitle
}
