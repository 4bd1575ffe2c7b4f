package ui

import (
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
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
	msgs      []Message
	index     map[string]int // message id -> row
	speedFor  map[string]float64
	playing   Playback

	connDot   *canvas.Circle
	connLabel *widget.Label
	convList  *keyList
	title     *widget.Label
	talking   *widget.Label
	members   *membersPanel
	search    *searchPanel
	// jump is the message to scroll to once its conversation is shown.
	jump     string
	convPane *fyne.Container
	msgList  *keyList
	entry    *talkEntry
	send     *widget.Button
	talkBtn  *talkButton
	meter    *levelMeter
	elapsed  *widget.Label
	talkNote *widget.Label
	talkInfo *fyne.Container
	content  fyne.CanvasObject
}

func newMainScreen(u *UI) *mainScreen {
	s := &mainScreen{u: u, index: map[string]int{}, speedFor: map[string]float64{}}

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
			return container.NewBorder(nil, nil, widget.NewIcon(theme.AccountIcon()), badge,
				container.NewVBox(name, talking))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			c := s.convs[id]
			row := o.(*fyne.Container)
			texts := row.Objects[0].(*fyne.Container)
			texts.Objects[0].(*widget.Label).SetText(conversationTitle(c))
			texts.Objects[1].(*widget.Label).SetText(talkingText(c.Talking))
			icon := row.Objects[1].(*widget.Icon)
			switch c.Kind {
			case KindLobby:
				icon.SetResource(theme.HomeIcon())
			case KindGroup:
				icon.SetResource(theme.GridIcon())
			default:
				icon.SetResource(theme.AccountIcon())
			}
			badge := row.Objects[2].(*widget.Label)
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
	s.msgList = newKeyList(u.keys,
		func() int { return len(s.msgs) },
		func() fyne.CanvasObject { return newMessageRow(act) },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			o.(*messageRow).Set(s.msgs[id], s.bubbleViewOf(s.msgs[id]))
		})
	s.msgList.OnSelected = func(widget.ListItemID) { s.msgList.UnselectAll() }

	s.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.talking = widget.NewLabel("")
	s.talking.Importance = widget.DangerImportance
	s.members = newMembersPanel(u)
	membersBtn := widget.NewButtonWithIcon(lang.L("Members"), theme.AccountIcon(), func() { s.members.toggle() })
	membersBtn.Importance = widget.LowImportance
	header := container.NewBorder(nil, nil, container.NewHBox(s.title, s.talking), membersBtn)

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
	case StateConnected:
		c, text = theme.Color(theme.ColorNameSuccess), lang.L("Connected")
	case StateConnecting:
		c, text = theme.Color(theme.ColorNameWarning), lang.L("Connecting…")
	case StateOffline:
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
func (s *mainScreen) setConversations(convs []Conversation) {
	s.convs = convs
	s.convList.Refresh()
	sel := -1
	for i, c := range convs {
		if c.ID == s.current {
			sel = i
			s.title.SetText(conversationTitle(c))
			s.talking.SetText(talkingText(c.Talking))
			s.members.setConversation(c)
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
	s.msgs = nil
	s.talkNote.SetText("")
	for i, c := range s.convs {
		if c.ID == id {
			s.title.SetText(conversationTitle(c))
			s.talking.SetText(talkingText(c.Talking))
			s.members.setConversation(c)
			s.convList.Select(i) // the highlight follows whoever opened it
		}
	}
	s.msgList.Refresh()
	s.u.reloadMessages()
	s.refreshTalk()
}

// setMessages shows msgs, keeping the scroll position unless the list was at
// the bottom (then it follows new messages).
func (s *mainScreen) setMessages(msgs []Message) {
	first := len(s.msgs) == 0
	atBottom := first || s.atBottom()
	s.msgs = msgs
	s.index = make(map[string]int, len(msgs))
	for i, m := range msgs {
		s.index[m.ID] = i
	}
	s.msgList.Refresh()
	if atBottom {
		s.msgList.ScrollToBottom()
	}
	if i, ok := s.index[s.jump]; ok && s.jump != "" {
		s.msgList.ScrollTo(i)
		s.jump = ""
	}
	s.markSeen()
}

// jumpTo opens m's conversation scrolled to m (a search result).
func (s *mainScreen) jumpTo(m Message) {
	s.jump = m.ID
	if m.Conversation != s.current {
		s.open(m.Conversation)
		return
	}
	if i, ok := s.index[m.ID]; ok {
		s.msgList.ScrollTo(i)
		s.jump = ""
	}
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
		if m.Kind == MessageText && !m.Mine && !m.Listened {
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

func (s *mainScreen) atBottom() bool {
	row := newMessageRow(&bubbleActions{}).MinSize().Height + theme.Padding()
	total := row * float32(len(s.msgs))
	return s.msgList.GetScrollOffset() >= total-s.msgList.Size().Height-row
}

// messageChanged updates one message in place (live growth, state) and
// notifies of a live talker while in the background. Live playback is
// started by the app's live router, not here.
func (s *mainScreen) messageChanged(m Message) {
	i, ok := s.index[m.ID]
	if m.Conversation == s.current {
		if !ok {
			s.u.reloadMessages()
		} else {
			s.msgs[i] = m
			s.msgList.RefreshItem(i)
		}
	}
	if m.Kind != MessageVoice || m.Mine || m.State != StateLive {
		return
	}
	if !s.u.foreground && !s.u.notified[m.ID] {
		s.u.notified[m.ID] = true
		s.u.app.SendNotification(fyne.NewNotification("Parley", m.Sender+lang.L(" is talking")))
	}
}

func (s *mainScreen) bubbleViewOf(m Message) bubbleView {
	v := bubbleView{Msg: m, Position: m.Position, Speed: s.speedOf(m.ID)}
	if s.playing.Message == m.ID && (s.playing.State == PlayPlaying || s.playing.State == PlayPaused) {
		v.Playing = s.playing.State == PlayPlaying
		v.Position = s.playing.Position
	}
	return v
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
	if i, ok := s.index[old.Message]; ok && old.Message != now.Message {
		s.msgList.RefreshItem(i)
	}
	if i, ok := s.index[now.Message]; ok {
		s.msgList.RefreshItem(i)
	}
	if now.State == PlayFinished && old.State != PlayFinished {
		done := now.Message
		if i, ok := s.index[done]; ok {
			s.markListened(s.msgs[i], s.msgs[i].Duration, true)
			for _, m := range s.msgs[i+1:] {
				if m.Kind == MessageVoice && !m.Mine && !m.Listened {
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
	if m.Listened || from >= m.Duration {
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
	pos := time.Duration(float64(m.Duration) * float64(f))
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
	if i, ok := s.index[m.ID]; ok {
		s.msgList.RefreshItem(i)
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
	d.SetFileName(m.Sender + "-" + m.Sent.Local().Format("2006-01-02-150405") + ".opus")
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
	s.u.reloadMessages()
	s.u.win.Canvas().Focus(s.entry)
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
			s.talkNote.SetText(lang.L("Release outside to cancel"))
		} else if t.Locked() {
			s.talkNote.SetText(lang.L("Locked — press the talk key again to send"))
		} else {
			s.talkNote.SetText(lang.L("Esc cancels"))
		}
		return
	}
	s.meter.SetLevel(0)
	s.elapsed.SetText("")
	if s.current == "" {
		s.talkNote.SetText(lang.L("Open a conversation to talk"))
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

// messageRow is one row of the message list: a voice or a text bubble.
type messageRow struct {
	widget.BaseWidget
	voice *voiceBubble
	text  *textBubble
}

func newMessageRow(act *bubbleActions) *messageRow {
	r := &messageRow{voice: newVoiceBubble(act), text: newTextBubble()}
	r.text.Hide()
	r.ExtendBaseWidget(r)
	return r
}

// Set shows m.
func (r *messageRow) Set(m Message, v bubbleView) {
	if m.Kind == MessageText {
		r.voice.Hide()
		r.text.Show()
		r.text.Set(m)
		return
	}
	r.text.Hide()
	r.voice.Show()
	r.voice.Set(v)
}

// CreateRenderer implements fyne.Widget. Both bubbles share one row height so
// the list stays uniform and fast for long histories.
func (r *messageRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(r.voice, r.text))
}
