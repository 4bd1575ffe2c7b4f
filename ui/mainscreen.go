package ui

import (
	"bytes"
	"image/color"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"parley/sync"
)

// mainScreen is the conversation list beside the open conversation, the
// message box and the push-to-talk panel.
type mainScreen struct {
	u *UI

	convs   []Conversation
	current string
	// highlight is the conversation list's selected row; it always shows
	// current.
	highlight int
	msgs      []Message      // the loaded part of the open conversation, oldest first: row i is msgs[i]
	index     map[string]int // message id -> position in msgs, less shift
	shift     int            // added to index: a page loaded above shifts every position at once
	front     []Message      // room before msgs in its array, for older pages (see prependMessages)
	bound     map[string]*messageRow
	heights   map[string]rowHeight // measured text rows
	older     bool                 // the store may hold older messages than msgs[0]
	loading   bool                 // an older page is being read
	// detached is set while msgs is a window of older history (around a
	// search hit) that does not reach the newest messages: newer pages
	// load as its end comes into view, and it joins the newest page when
	// they meet.
	detached bool
	newer    bool // a newer page is being read
	speedFor map[string]float64
	playing  Playback
	voiceH   float32 // height of a voice row
	sepH     float32 // height of a day separator
	measurer *textBubble

	connDot   *canvas.Circle
	connLabel *widget.Label
	convList  *keyList
	title     *widget.Label
	talking   *widget.Label
	members   *membersPanel
	mute      *muteToggle
	search    *searchPanel
	// jump is the message to scroll to once its conversation is shown,
	// jumpSeq its place (to page it in when it is older than the pages
	// loaded).
	jump     string
	jumpSeq  int64
	convPane *fyne.Container
	msgList  *timeline
	entry    *talkEntry
	send     *widget.Button
	talkBtn  *talkButton
	meter    *levelMeter
	elapsed  *widget.Label
	talkNote *widget.Label
	// noteGen counts notes set; noteCancel ends a transient note's timer.
	noteGen    int
	noteCancel func()
	talkInfo   *fyne.Container
	content    fyne.CanvasObject
	// audience is how many other members of the open conversation are
	// online, read when talking starts and at presence changes while
	// talking: the own live bubble's "N listening". audienceGen counts
	// the reads; only the latest answer is applied.
	audience    int
	audienceGen int
}

func newMainScreen(u *UI) *mainScreen {
	s := &mainScreen{u: u, index: map[string]int{}, bound: map[string]*messageRow{},
		heights: map[string]rowHeight{}, speedFor: map[string]float64{}}

	s.connDot = canvas.NewCircle(color.Gray{Y: 128})
	s.connLabel = widget.NewLabel("")
	settings := widget.NewButtonWithIcon(lang.L("Settings"), theme.SettingsIcon(), u.showSettings)
	settings.Importance = widget.LowImportance
	top := container.NewBorder(nil, nil,
		container.NewHBox(container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(10), s.connDot)), s.connLabel),
		settings)

	s.convList = newKeyList(u.keys,
		func() int { return len(s.convs) },
		func() fyne.CanvasObject {
			badge := widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
			badge.Importance = widget.HighImportance
			talking := widget.NewLabel("")
			talking.Importance = widget.DangerImportance
			talking.Truncation = fyne.TextTruncateEllipsis
			name := widget.NewLabel("")
			name.Truncation = fyne.TextTruncateEllipsis
			return container.NewBorder(nil, nil, widget.NewIcon(theme.AccountIcon()), container.NewHBox(newMutedMark(), badge),
				container.NewVBox(name, talking))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			c := s.convs[id]
			row := o.(*fyne.Container)
			texts := row.Objects[0].(*fyne.Container)
			texts.Objects[0].(*widget.Label).SetText(conversationTitle(c))
			texts.Objects[1].(*widget.Label).SetText(talkingText(c.Talking))
			icon := row.Objects[1].(*widget.Icon)
			switch {
			case c.Lobby:
				icon.SetResource(theme.HomeIcon())
			case c.Kind == sync.ConversationGroup:
				icon.SetResource(theme.GridIcon())
			default:
				icon.SetResource(theme.AccountIcon())
			}
			badge := setMutedMark(row, c)
			if n := c.Unplayed + c.Unread; n > 0 {
				badge.SetText(itoa(n))
			} else {
				badge.SetText("")
			}
		})
	s.convList.OnSelected = func(id widget.ListItemID) {
		s.highlight = id
		if id < len(s.convs) {
			s.open(s.convs[id].ID)
		}
	}
	newConv := widget.NewButtonWithIcon(lang.L("New conversation"), theme.ContentAddIcon(), s.newConversation)
	s.search = newSearchPanel(s)
	left := container.NewBorder(s.search.entry, newConv, nil, nil, container.NewStack(s.convList, s.search.content))

	act := &bubbleActions{play: s.play, pause: s.pause, seek: s.seek, speed: s.cycleSpeed, export: s.export}
	s.voiceH = newVoiceBubble(act).MinSize().Height + theme.Padding()
	s.sepH = newDaySeparator().MinSize().Height
	s.measurer = newTextBubble()
	s.msgList = newTimeline(func() int { return len(s.msgs) }, s.rowHeight,
		func() fyne.CanvasObject { return newMessageRow(act) }, s.updateRow)
	s.msgList.kind = s.rowKind
	s.msgList.onTop = s.loadOlder
	s.msgList.onBottom = s.loadNewer

	s.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.talking = widget.NewLabel("")
	s.talking.Importance = widget.DangerImportance
	s.members = newMembersPanel(u)
	membersBtn := widget.NewButtonWithIcon(lang.L("Members"), theme.AccountIcon(), func() { s.members.toggle() })
	membersBtn.Importance = widget.LowImportance
	s.mute = newMuteToggle(s)
	header := container.NewBorder(nil, nil, container.NewHBox(s.title, s.talking), container.NewHBox(s.mute.btn, membersBtn))

	s.entry = newTalkEntry(u.keys)
	s.refreshTalkHint()
	s.entry.OnSubmitted = func(string) { s.sendText() }
	s.send = widget.NewButtonWithIcon("", theme.MailSendIcon(), s.sendText)
	s.talkBtn = newTalkButton(u.talk)
	s.meter = newLevelMeter()
	s.elapsed = widget.NewLabel("")
	s.talkNote = widget.NewLabel("")
	s.talkNote.Importance = widget.LowImportance
	s.talkInfo = container.NewBorder(nil, nil, s.elapsed, s.talkNote, s.meter)
	talkInfo := s.talkInfo
	sendBox := fyne.CanvasObject(s.send)
	if fileBtn := u.newFileButton(); fileBtn != nil {
		sendBox = container.NewHBox(fileBtn, s.send)
	}
	bottom := container.NewVBox(
		container.NewBorder(nil, nil, nil, sendBox, s.entry),
		talkInfo,
		s.talkBtn,
	)
	s.convPane = container.NewBorder(header, bottom, nil, s.members.content, s.msgList)
	split := container.NewHSplit(left, s.convPane)
	split.Offset = 0.28
	s.content = container.NewBorder(top, nil, nil, nil, split)
	s.refreshTalk()
	return s
}

func itoa(n int) string {
	if n > 99 {
		return "99+"
	}
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return digits[n/10:n/10+1] + digits[n%10:n%10+1]
}

func talkingText(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return "🎙 " + strings.Join(names, ", ") + lang.L(" talking…")
}

// refreshTalkHint names the configured talk key in the entry's hint.
func (s *mainScreen) refreshTalkHint() {
	s.entry.SetPlaceHolder(lang.L("Type a message, or hold {{.Key}} to talk", map[string]any{"Key": s.u.keys.key.String()}))
}

// refreshStatus redraws the connection indicator.
func (s *mainScreen) refreshStatus() {
	st := s.u.d.Messenger.Status()
	var c color.Color
	var text string
	switch st.State {
	case sync.StateOnline:
		c, text = theme.Color(theme.ColorNameSuccess), lang.L("Connected")
	case sync.StateConnecting, sync.StateSyncing:
		c, text = theme.Color(theme.ColorNameWarning), lang.L("Connecting…")
	case sync.StateOffline:
		c, text = theme.Color(theme.ColorNameError), lang.L("Offline — messages will be sent later")
	default:
		c, text = theme.Color(theme.ColorNameDisabled), lang.L("Not connected")
	}
	if st.User != "" {
		text += " · " + st.User + "@" + st.Server
	}
	s.connDot.FillColor = c
	s.connDot.Refresh()
	s.connLabel.SetText(text)
}

// setConversations shows convs; the first (Lobby) opens when nothing is open.
// Rows are redrawn only when the list changed: a live message re-reads the
// list a dozen times a second and it is the same each time.
func (s *mainScreen) setConversations(convs []Conversation) {
	if !slices.EqualFunc(convs, s.convs, conversationsEqual) {
		s.convs = convs
		s.convList.Refresh()
	}
	sel := -1
	for i, c := range convs {
		if c.ID == s.current {
			sel = i
			setText(s.title, conversationTitle(c))
			setText(s.talking, talkingText(c.Talking))
			s.members.setConversation(c)
			s.mute.set(c)
		}
	}
	switch {
	case sel >= 0:
		// The list re-sorts (newest activity first): move the highlight
		// with the open conversation (open ignores the same id).
		s.convList.Select(sel)
	case len(convs) > 0:
		// Nothing open yet (or it went away): the one open last time,
		// else the first.
		for _, c := range convs {
			if c.ID == s.u.prefs.LastConversation {
				s.open(c.ID)
				return
			}
		}
		s.open(convs[0].ID)
	}
}

func conversationsEqual(a, b Conversation) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Title == b.Title && a.Kind == b.Kind && a.Lobby == b.Lobby &&
		a.Unplayed == b.Unplayed && a.Unread == b.Unread && a.Muted == b.Muted && slices.Equal(a.Talking, b.Talking)
}

// open shows conversation id.
func (s *mainScreen) open(id string) {
	if id == s.current {
		return
	}
	s.u.talk.End() // a transmission belongs to the conversation it started in
	s.current = id
	if s.u.prefs.LastConversation != id {
		s.u.prefs.LastConversation = id
		s.u.savePrefs()
	}
	if s.u.d.Focus != nil {
		s.u.d.Focus(id)
	}
	s.msgs, s.front, s.older, s.loading, s.detached, s.newer = nil, nil, false, false, false, false
	s.indexAll()
	s.setNote("")
	for i, c := range s.convs {
		if c.ID == id {
			s.title.SetText(conversationTitle(c))
			s.talking.SetText(talkingText(c.Talking))
			s.members.setConversation(c)
			s.mute.set(c)
			s.convList.Select(i) // the highlight follows whoever opened it
		}
	}
	s.msgList.Reload()
	s.u.reloadMessages()
	s.refreshTalk()
}

// pageSize is how many messages one read of the store brings: a screen or
// two, so opening a conversation costs the same with 100 or 100 000
// cached messages.
const pageSize = 60

// setMessages shows the newest page of the open conversation (oldest
// first, pending last), merged with the older pages already loaded. It
// keeps the scroll position unless the list was at the bottom (then it
// follows new messages), and re-sets only the rows that changed.
func (s *mainScreen) setMessages(page []Message) {
	defer s.shown()
	if s.detached { // a window of older history: update what it shows
		for _, m := range page {
			if i, ok := s.pos(m.ID); ok && !messagesEqual(m, s.msgs[i]) {
				s.msgs[i] = m
				s.refreshMessage(m)
			}
		}
		return
	}
	first := len(s.msgs) == 0
	atBottom := first || s.msgList.AtBottom()
	if first {
		s.older = len(page) >= pageSize
	}
	merged := mergePage(s.msgs, page)
	if sameIDs(merged, s.msgs) {
		for i, m := range merged {
			if !messagesEqual(m, s.msgs[i]) {
				s.msgs[i] = m
				s.refreshMessage(m)
			}
		}
		return
	}
	s.msgs, s.front = merged, nil
	s.indexAll()
	s.msgList.Reload()
	if atBottom {
		s.msgList.ScrollToBottom()
	}
}

// shown finishes setMessages: scroll to a search result waiting for its
// conversation (paging it in first when it is not among the pages
// loaded), and mark the texts on screen seen.
func (s *mainScreen) shown() {
	if s.jump != "" {
		if i, ok := s.pos(s.jump); ok {
			s.msgList.ScrollTo(i)
			s.jump = ""
		} else if len(s.msgs) > 0 && s.jumpSeq > 0 {
			s.loadAround(s.jump, s.jumpSeq)
		}
	}
	s.markSeen()
}

// jumpTo opens m's conversation scrolled to m (a search result).
func (s *mainScreen) jumpTo(m Message) {
	s.jump, s.jumpSeq = m.ID, m.Seq
	if m.Conversation != s.current {
		s.open(m.Conversation)
		return
	}
	s.shown()
}

// loadAround replaces the loaded messages by a page around message id
// (at seq), which is not among them, and scrolls to it: one read, however
// far back it is. The window then pages both ways.
func (s *mainScreen) loadAround(id string, seq int64) {
	if s.loading {
		return
	}
	s.loading = true
	conv := s.current
	s.u.async(func() {
		page, err := s.u.d.Messenger.Messages(conv, seq+pageSize/2, pageSize)
		fyne.Do(func() {
			s.loading = false
			if conv != s.current || s.jump != id {
				return // another conversation or search result meanwhile
			}
			if err != nil {
				s.u.showError(err)
				return
			}
			s.msgs, s.front = page, nil
			s.older, s.detached = len(page) >= pageSize, true
			s.indexAll()
			s.msgList.Reload()
			if i, ok := s.pos(id); ok {
				s.msgList.ScrollTo(i)
			}
			s.jump = ""
		})
	})
}

// toNewest leaves a window of older history for the newest messages,
// where what the user sends goes, and reports whether it did (then
// reloadMessages shows them).
func (s *mainScreen) toNewest() bool {
	if !s.detached {
		return false
	}
	s.msgs, s.front, s.older, s.detached, s.newer = nil, nil, false, false, false
	s.indexAll()
	s.msgList.Reload()
	return true
}

// loadNewer, in a window of older history, reads what follows it when its
// end comes into view: the newest page if the two meet (the window joins
// it and follows new messages again), else the next page.
func (s *mainScreen) loadNewer() {
	if !s.detached || s.newer || len(s.msgs) == 0 {
		return
	}
	s.newer = true
	conv, last := s.current, s.msgs[len(s.msgs)-1].Seq
	s.u.async(func() {
		m := s.u.d.Messenger
		newest, err := m.Messages(conv, 0, pageSize)
		joins := err == nil && (len(newest) == 0 || newest[0].Seq <= last+1)
		var next []Message
		if err == nil && !joins {
			next, err = m.Messages(conv, last+pageSize+1, pageSize)
			// A page of numbers with nothing newer (all withdrawn): join
			// the newest page rather than ask again at every scroll.
			joins = !slices.ContainsFunc(next, func(m Message) bool { return m.Seq > last })
		}
		fyne.Do(func() {
			if conv != s.current || !s.detached || len(s.msgs) == 0 || s.msgs[len(s.msgs)-1].Seq != last {
				return
			}
			s.newer = false
			if err != nil {
				s.u.showError(err)
				return
			}
			if joins {
				s.msgs, s.detached = mergePage(s.msgs, newest), false
			} else {
				for _, m := range next {
					if m.Seq > last {
						s.msgs = append(s.msgs, m)
					}
				}
			}
			s.front = nil
			s.indexAll()
			s.msgList.Reload()
		})
	})
}

// markSeen marks the open conversation's text messages as seen when the
// user can see them: the main screen shows, the window has focus and one
// of them waits.
func (s *mainScreen) markSeen() {
	if s.u.screen != "main" || !s.u.foreground || s.current == "" {
		return
	}
	waiting := false
	for _, m := range s.msgs {
		if m.Kind == sync.KindText && !m.Mine && !m.Listened {
			waiting = true
			break
		}
	}
	if !waiting {
		return
	}
	conv := s.current
	s.u.async(func() {
		if err := s.u.d.Messenger.MarkSeen(conv); err != nil {
			fyne.Do(func() { s.u.showError(err) })
		}
	})
}

// mergePage puts the newest page after the loaded messages older than it.
func mergePage(loaded, page []Message) []Message {
	if len(loaded) == 0 {
		return page
	}
	var oldest int64 // the page's first numbered message
	for _, m := range page {
		if m.Seq > 0 {
			oldest = m.Seq
			break
		}
	}
	keep := 0
	for keep < len(loaded) && loaded[keep].Seq > 0 && (oldest == 0 || loaded[keep].Seq < oldest) {
		keep++
	}
	if oldest > 0 && keep == len(loaded) && keep > 0 && loaded[keep-1].Seq < oldest-1 {
		// A gap: more arrived than a page while away. Start again from the page.
		return page
	}
	return append(slices.Clone(loaded[:keep]), page...)
}

func sameIDs(a, b []Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			return false
		}
	}
	return true
}

// messagesEqual reports whether two reads of a message show the same.
func messagesEqual(a, b Message) bool {
	return a.ID == b.ID && a.Conversation == b.Conversation && a.Seq == b.Seq && a.SenderID == b.SenderID &&
		a.SenderName == b.SenderName && a.Kind == b.Kind && a.Created.Equal(b.Created) && a.State == b.State &&
		a.Codec == b.Codec && a.Duration == b.Duration && a.Packets == b.Packets && bytes.Equal(a.Waveform, b.Waveform) &&
		a.Text == b.Text && a.Pending == b.Pending && a.Mine == b.Mine && a.Listened == b.Listened &&
		a.Position == b.Position && receiptsEqual(a.Receipts, b.Receipts)
}

func receiptsEqual(a, b sync.Heard) bool {
	return a.Others == b.Others && slices.Equal(a.Delivered, b.Delivered) && slices.Equal(a.Heard, b.Heard)
}

// loadOlder reads the page before the first loaded message, once at a
// time, when the top of the timeline comes into view.
func (s *mainScreen) loadOlder() {
	if !s.older || s.loading || len(s.msgs) == 0 || s.msgs[0].Seq <= 1 {
		return
	}
	s.loading = true
	conv, before := s.current, s.msgs[0].Seq
	s.u.async(func() {
		page, err := s.u.d.Messenger.Messages(conv, before, pageSize)
		fyne.Do(func() {
			if conv != s.current || len(s.msgs) == 0 || s.msgs[0].Seq != before {
				return // another conversation, or reloaded meanwhile
			}
			s.loading = false
			if err != nil {
				s.u.showError(err)
				return
			}
			s.prependPage(page)
		})
	})
}

// prependPage adds an older page before the loaded messages, keeping the
// rows on screen in place. It costs the page, not the history loaded.
func (s *mainScreen) prependPage(page []Message) {
	s.older = len(page) >= pageSize
	if len(page) == 0 {
		return
	}
	s.msgs = s.prependMessages(page)
	s.shift += len(page)
	for i, m := range page {
		s.index[m.ID] = i - s.shift
	}
	s.msgList.Prepend(len(page))
}

// prependMessages returns page followed by msgs. msgs sits at the end of
// a larger array (front is the free part before it), so a page costs a
// copy of the page, not of everything loaded; the array doubles when the
// room runs out.
func (s *mainScreen) prependMessages(page []Message) []Message {
	k := len(page)
	if len(s.front) < k {
		room := max(2*(len(s.msgs)+k), 4*pageSize)
		buf := make([]Message, room+len(s.msgs))
		copy(buf[room:], s.msgs)
		s.front, s.msgs = buf[:room], buf[room:]
	}
	s.front = s.front[:len(s.front)-k]
	out := s.front[len(s.front) : len(s.front)+k+len(s.msgs)] // the same array, k earlier
	copy(out, page)
	return out
}

// indexAll indexes msgs afresh.
func (s *mainScreen) indexAll() {
	clear(s.index)
	s.shift = 0
	for i, m := range s.msgs {
		s.index[m.ID] = i
	}
}

// rowKind sorts rows for reuse: a recycled row of the same kind (voice or
// text, own or not) changes least when it shows another message.
func (s *mainScreen) rowKind(i int) int {
	k := 0
	if s.msgs[i].Kind == sync.KindText {
		k = 2
	}
	if s.msgs[i].Mine {
		k++
	}
	return k
}

// pos is the position of message id in msgs.
func (s *mainScreen) pos(id string) (int, bool) {
	i, ok := s.index[id]
	return i + s.shift, ok
}

// startsDay reports whether msgs[i] is the first of its day (a day
// separator shows above it).
func (s *mainScreen) startsDay(i int) bool {
	if i == 0 {
		return true
	}
	y1, m1, d1 := s.msgs[i-1].Created.Local().Date()
	y2, m2, d2 := s.msgs[i].Created.Local().Date()
	return y1 != y2 || m1 != m2 || d1 != d2
}

// rowHeight is a measured text row: its height at a width, for a text.
type rowHeight struct {
	width, height float32
	text          string
}

// rowHeight is row i's height at width: fixed for voice and separators,
// measured (and remembered) for text, which wraps to its full length.
func (s *mainScreen) rowHeight(i int, width float32) float32 {
	var day float32
	if s.startsDay(i) {
		day = s.sepH
	}
	m := s.msgs[i]
	if m.Kind != sync.KindText {
		return day + s.voiceH
	}
	bw := bubbleWidth(width)
	if h, ok := s.heights[m.ID]; ok && h.width == bw && h.text == m.Text {
		return day + h.height
	}
	s.measurer.Set(m)
	s.measurer.Resize(fyne.NewSize(bw, s.voiceH))
	h := s.measurer.MinSize().Height + theme.Padding()
	s.heights[m.ID] = rowHeight{width: bw, height: h, text: m.Text}
	return day + h
}

// updateRow makes row object o show row i.
func (s *mainScreen) updateRow(i int, o fyne.CanvasObject) {
	row := o.(*messageRow)
	if id, ok := row.bound(); ok && s.bound[id] == row {
		delete(s.bound, id)
	}
	m := s.msgs[i]
	day := ""
	if s.startsDay(i) {
		day = dayText(m.Created.Local(), s.u.now().Local())
	}
	row.setDay(day)
	s.bound[m.ID] = row
	row.Set(m, s.bubbleViewOf(m))
}

// refreshMessage re-sets the row showing m, if it is on screen. A text
// whose height changed lays the rows out again.
func (s *mainScreen) refreshMessage(m Message) {
	if m.Kind == sync.KindText {
		if h, ok := s.heights[m.ID]; ok && h.text != m.Text {
			s.msgList.Reload()
			return
		}
	}
	if row := s.bound[m.ID]; row != nil {
		row.Set(m, s.bubbleViewOf(m))
	}
}

// messageChanged updates one message in place (live growth, state) and
// notifies of a live talker while in the background. Live playback is
// started by the app's live router, not here.
func (s *mainScreen) messageChanged(m Message) {
	i, ok := s.pos(m.ID)
	if m.Conversation == s.current {
		if !ok {
			s.u.reloadMessages()
		} else if !messagesEqual(s.msgs[i], m) {
			s.msgs[i] = m
			s.refreshMessage(m)
		}
	}
	if m.Kind != sync.KindVoice || m.Mine || !m.Live() {
		return
	}
	if !s.u.foreground && !s.u.notified[m.ID] {
		s.u.notified[m.ID] = true
		s.u.notify(m.Conversation, m.SenderName+lang.L(" is talking"))
	}
}

func (s *mainScreen) bubbleViewOf(m Message) bubbleView {
	v := bubbleView{Msg: m, Position: m.Position, Speed: s.speedOf(m.ID),
		Sending: m.Mine && s.u.talk.Talking() && s.u.talk.message == m.ID}
	if v.Sending {
		v.Audience = s.audience
	}
	if s.playing.Message == m.ID && (s.playing.State == PlayPlaying || s.playing.State == PlayPaused) {
		v.Playing = s.playing.State == PlayPlaying
		v.Position = s.playing.Position
	}
	return v
}

// loadAudience counts, off the UI thread, the other members of the open
// conversation who are online (PresenceState: they can hear a message
// live), and redraws the own live bubble with it.
func (s *mainScreen) loadAudience() {
	conv := s.current
	s.audienceGen++
	gen := s.audienceGen
	s.u.async(func() {
		people, err := s.u.d.Messenger.Members(conv)
		n := 0
		for _, p := range people {
			if !p.Me && p.Presence != PresenceOffline {
				n++
			}
		}
		fyne.Do(func() {
			if err != nil || gen != s.audienceGen || conv != s.current || n == s.audience {
				return
			}
			s.audience = n
			if i, ok := s.pos(s.u.talk.message); ok && s.u.talk.Talking() {
				s.refreshMessage(s.msgs[i])
			}
		})
	})
}

func (s *mainScreen) speedOf(id string) float64 {
	if v, ok := s.speedFor[id]; ok {
		return v
	}
	if d := s.u.prefs.DefaultSpeed; d > 0 {
		return d
	}
	return 1
}

// playbackChanged re-reads the player: redraws the bubbles concerned, marks
// listened, and plays the next unplayed message after one finishes.
func (s *mainScreen) playbackChanged() {
	old := s.playing
	now := s.u.d.Player.Playback()
	s.playing = now
	if i, ok := s.pos(old.Message); ok && old.Message != now.Message {
		s.refreshMessage(s.msgs[i])
	}
	if i, ok := s.pos(now.Message); ok {
		s.refreshMessage(s.msgs[i])
	}
	if now.State == PlayFinished && old.State != PlayFinished {
		done := now.Message
		if i, ok := s.pos(done); ok {
			s.markListened(s.msgs[i], s.msgs[i].Length(), true)
			for _, m := range s.msgs[i+1:] {
				if m.Kind == sync.KindVoice && !m.Mine && !m.Listened {
					s.play(m)
					break
				}
			}
		}
	}
}

func (s *mainScreen) markListened(m Message, pos time.Duration, done bool) {
	if err := s.u.d.Messenger.MarkListened(m.ID, pos, done); err != nil {
		s.u.showError(err)
	}
}

func (s *mainScreen) play(m Message) {
	from := m.Position
	if s.playing.Message == m.ID && s.playing.State == PlayPaused {
		from = s.playing.Position
	}
	if m.Listened || from >= m.Length() {
		from = 0
	}
	if err := s.u.d.Player.Play(m.ID, from, s.speedOf(m.ID)); err != nil {
		s.u.showError(err)
	}
	s.playbackChanged()
}

func (s *mainScreen) pause(m Message) {
	if err := s.u.d.Player.Pause(); err != nil {
		s.u.showError(err)
	}
	s.playbackChanged()
	s.markListened(m, s.playing.Position, false)
}

func (s *mainScreen) seek(m Message, f float32) {
	pos := time.Duration(float64(m.Length()) * float64(f))
	if s.playing.Message == m.ID && s.playing.State == PlayPlaying {
		if err := s.u.d.Player.Seek(pos); err != nil {
			s.u.showError(err)
		}
		s.playbackChanged()
		return
	}
	if err := s.u.d.Player.Play(m.ID, pos, s.speedOf(m.ID)); err != nil {
		s.u.showError(err)
	}
	s.playbackChanged()
}

func (s *mainScreen) cycleSpeed(m Message) {
	sp := nextSpeed(s.speedOf(m.ID))
	s.speedFor[m.ID] = sp
	if s.playing.Message == m.ID && s.playing.State == PlayPlaying {
		if err := s.u.d.Player.SetSpeed(sp); err != nil {
			s.u.showError(err)
		}
		s.playbackChanged()
	}
	if i, ok := s.pos(m.ID); ok {
		s.refreshMessage(s.msgs[i])
	}
}

// export saves a voice message as .opus through a save dialog.
func (s *mainScreen) export(m Message) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			s.u.showError(err)
			return
		}
		s.u.async(func() {
			err := s.u.d.Messenger.ExportOpus(m.ID, w)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				fyne.Do(func() { s.u.showError(err) })
			}
		})
	}, s.u.win)
	d.SetFileName(m.SenderName + "-" + m.Created.Local().Format("2006-01-02-150405") + ".opus")
	d.Show()
}

func (s *mainScreen) sendText() {
	text := strings.TrimSpace(s.entry.Text)
	if text == "" || s.current == "" {
		return
	}
	if _, err := s.u.d.Messenger.SendText(s.current, text); err != nil {
		s.u.showError(err)
		return
	}
	s.entry.SetText("")
	s.setNote("") // a note about the last transmission is old news now
	s.toNewest()
	s.u.reloadMessages()
	s.u.win.Canvas().Focus(s.entry)
}

// noteLinger is how long a transient note (a withdrawn or capped
// transmission) stays in the talk panel when nothing else happens.
const noteLinger = 4 * time.Second

// setNote sets the talk panel's note, ending a transient one.
func (s *mainScreen) setNote(text string) {
	if s.noteCancel != nil {
		s.noteCancel()
		s.noteCancel = nil
	}
	s.noteGen++
	s.talkNote.SetText(text)
}

// flashNote shows a transient note: it goes after noteLinger, or sooner
// when the next action sets the note.
func (s *mainScreen) flashNote(text string) {
	s.setNote(text)
	gen := s.noteGen
	s.noteCancel = s.u.after(noteLinger, func() {
		fyne.Do(func() {
			if s.noteGen == gen {
				s.setNote("")
			}
		})
	})
}

// refreshTalk redraws the push-to-talk panel from the talk state.
func (s *mainScreen) refreshTalk() {
	defer func() { s.talkInfo.Refresh() }() // label widths changed
	t := s.u.talk
	s.talkBtn.Refresh()
	if t.Talking() {
		s.meter.SetLevel(s.u.d.Recorder.Level())
		s.elapsed.SetText("● " + formatDuration(t.Elapsed()))
		if s.talkBtn.cancelArmed {
			s.setNote(lang.L("Release outside to cancel"))
		} else if t.Locked() {
			s.setNote(lang.L("Locked — press the talk key again to send"))
		} else {
			s.setNote(lang.L("Esc cancels"))
		}
		return
	}
	s.meter.SetLevel(0)
	s.elapsed.SetText("")
	if s.current == "" {
		s.setNote(lang.L("Open a conversation to talk"))
	}
}

// newConversation picks people from the directory: one makes a direct
// conversation, several (or a group name) a group. It opens on success; on
// failure the picker stays with what was chosen and says why.
func (s *mainScreen) newConversation() {
	showUserPicker(s.u, pickCreate, nil, func(chosen []Person, title string) error {
		var c Conversation
		var err error
		if len(chosen) == 1 && title == "" {
			c, err = s.u.d.Messenger.CreateDirect(chosen[0].Name)
		} else {
			names := make([]string, len(chosen))
			for i, p := range chosen {
				names[i] = p.Name
			}
			c, err = s.u.d.Messenger.CreateGroup(title, names)
		}
		if err != nil {
			return err
		}
		fyne.Do(func() {
			s.u.reloadConversations()
			s.open(c.ID)
		})
		return nil
	})
}

// maxBubbleShare is how much of the timeline's width a bubble may take;
// own bubbles sit on the right of the rest, others' on the left.
const maxBubbleShare = 0.8

// bubbleWidth is a bubble's width in a timeline of width w.
func bubbleWidth(w float32) float32 { return max(w*maxBubbleShare, min(w, 320)) }

// messageRow is one row of the timeline: a voice or a text bubble, under
// a day separator when it is the first message of its day.
type messageRow struct {
	widget.BaseWidget
	voice *voiceBubble
	text  *textBubble
	day   *daySeparator
	id    string // the message shown, "" for a separator
	mine  bool
	sets  int // how many times Set ran (tests check that one change sets one row)
	box   *fyne.Container
}

func newMessageRow(act *bubbleActions) *messageRow {
	r := &messageRow{voice: newVoiceBubble(act), text: newTextBubble(), day: newDaySeparator()}
	r.text.Hide()
	r.day.Hide()
	r.ExtendBaseWidget(r)
	return r
}

func (r *messageRow) bound() (string, bool) { return r.id, r.id != "" }

// show makes o the visible bubble of the row.
func (r *messageRow) show(o fyne.CanvasObject, mine bool) {
	changed := setVisible(r.voice, o == r.voice)
	changed = setVisible(r.text, o == r.text) || changed
	if changed || mine != r.mine {
		r.mine = mine
		r.relayout()
	}
}

// relayout places the parts again after one was shown, hidden or moved to
// the other side. Unlike Refresh it does not redraw every label in the
// row (each is a text shaping), only the row's placement.
func (r *messageRow) relayout() {
	if r.box == nil {
		return // not drawn yet: CreateRenderer lays it out
	}
	r.box.Layout.Layout(r.box.Objects, r.box.Size())
	canvas.Refresh(r)
}

// setDay shows the day separator with text, or none for "".
func (r *messageRow) setDay(text string) {
	r.day.Set(text)
	if setVisible(r.day, text != "") {
		r.relayout()
	}
}

// Set shows m.
func (r *messageRow) Set(m Message, v bubbleView) {
	r.id = m.ID
	r.sets++
	if m.Kind == sync.KindText {
		r.text.Set(m)
		r.show(r.text, m.Mine)
		return
	}
	r.voice.Set(v)
	r.show(r.voice, m.Mine)
}

// CreateRenderer implements fyne.Widget.
func (r *messageRow) CreateRenderer() fyne.WidgetRenderer {
	r.box = container.New(&rowLayout{r: r}, r.voice, r.text, r.day)
	return widget.NewSimpleRenderer(r.box)
}

// rowLayout puts the day separator (if shown) across the top and the
// bubble under it on its side at bubbleWidth.
type rowLayout struct{ r *messageRow }

func (l *rowLayout) Layout(objs []fyne.CanvasObject, s fyne.Size) {
	bw := bubbleWidth(s.Width)
	var top float32
	if l.r.day.Visible() {
		top = l.r.day.MinSize().Height
		l.r.day.Move(fyne.NewPos(0, 0))
		l.r.day.Resize(fyne.NewSize(s.Width, top))
	}
	h := s.Height - top - theme.Padding()
	for _, o := range objs {
		switch {
		case o == fyne.CanvasObject(l.r.day):
		case l.r.mine:
			o.Move(fyne.NewPos(s.Width-bw, top))
			o.Resize(fyne.NewSize(bw, h))
		default:
			o.Move(fyne.NewPos(0, top))
			o.Resize(fyne.NewSize(bw, h))
		}
	}
}

func (l *rowLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var m fyne.Size
	for _, o := range objs {
		if o.Visible() && o != fyne.CanvasObject(l.r.day) {
			m = m.Max(o.MinSize())
		}
	}
	if l.r.day.Visible() {
		m.Height += l.r.day.MinSize().Height
	}
	return m
}
