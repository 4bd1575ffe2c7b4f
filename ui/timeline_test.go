package ui

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"parley/sync"
)

// fillHistory puts n messages into the Lobby, one a minute ending at the
// fake's clock, alternating voice and text, every third one own.
func fillHistory(h *harness, n int) {
	start := h.m.now.Add(-time.Duration(n) * time.Minute)
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	for i := range n {
		m := Message{Conversation: "lobby", SenderName: "bob", Created: start.Add(time.Duration(i) * time.Minute), State: sync.StateComplete}
		if i%3 == 0 {
			m.SenderName, m.Mine = "alice", true
		}
		if i%2 == 0 {
			m.Kind, m.Duration, m.Waveform, m.Listened = sync.KindVoice, 5*time.Second, testWave(64), true
		} else {
			m.Kind, m.Text = sync.KindText, fmt.Sprintf("message %d", i)
		}
		h.m.add(m)
	}
}

// openLobby shows the Lobby (open from sign-in) after its history arrived.
func openLobby(t testing.TB, h *harness) *mainScreen {
	h.u.handleHint(Hint{Kind: HintConversations})
	h.u.handleHint(Hint{Kind: HintConversation, Conversation: "lobby"})
	s := h.u.main
	if s.current != "lobby" {
		t.Fatalf("open conversation = %q, want lobby", s.current)
	}
	return s
}

// scrollUp moves the timeline up by one screen.
func scrollUp(s *mainScreen) {
	tl := s.msgList
	tl.scroll.ScrollToOffset(fyne.NewPos(0, max(0, tl.Offset()-tl.scroll.Size().Height)))
	tl.scroll.OnScrolled(tl.scroll.Offset) // as a scroll by the user does
}

// topRow is the first row on screen and its distance from the top.
func topRow(s *mainScreen) (id string, y float32) {
	tl := s.msgList
	for i := range len(s.msgs) {
		if tl.tops[i+1] > tl.Offset() {
			return s.msgs[i].ID, tl.tops[i+1] - tl.Offset() // its bottom: a day separator may come or go above
		}
	}
	return "", 0
}

func TestTimelinePagesOlderHistory(t *testing.T) {
	const total = 500
	h := newHarness(t, true)
	fillHistory(h, total)
	s := openLobby(t, h)
	if got := len(s.msgs); got != pageSize {
		t.Fatalf("messages loaded on open = %d, want one page (%d)", got, pageSize)
	}
	if !s.msgList.AtBottom() {
		t.Errorf("opened conversation not at the bottom (offset %v)", s.msgList.Offset())
	}
	if last := s.msgs[len(s.msgs)-1].Seq; last != total {
		t.Errorf("newest loaded = %d, want %d", last, total)
	}
	for steps := 0; s.older && steps < 10*total; steps++ {
		before := len(s.msgs)
		id, y := topRow(s)
		off := s.msgList.Offset()
		y += off - max(0, off-s.msgList.scroll.Size().Height) // where the scroll puts it
		scrollUp(s)
		if len(s.msgs) > before {
			// A page came in above: what was on screen did not move.
			tl := s.msgList
			row, _ := s.pos(id)
			if got := tl.tops[row+1] - tl.Offset(); got < y-1 || got > y+1 {
				t.Fatalf("after loading a page, %s moved from y %v to %v", id, y, got)
			}
		}
	}
	if len(s.msgs) != total || s.older {
		t.Fatalf("after scrolling to the top: %d loaded (older %v), want all %d", len(s.msgs), s.older, total)
	}
	for i, m := range s.msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: pages out of order", i, m.Seq)
		}
	}
}

func TestTimelineNewMessageKeepsOlderPages(t *testing.T) {
	h := newHarness(t, true)
	fillHistory(h, 200)
	s := openLobby(t, h)
	for s.msgs[0].Seq > 100 {
		scrollUp(s)
	}
	loaded := len(s.msgs)
	id, y := topRow(s)
	h.m.put(Message{Conversation: "lobby", SenderName: "bob", Kind: sync.KindText, Text: "new", State: sync.StateComplete})
	h.u.handleHint(Hint{Kind: HintConversation, Conversation: "lobby"})
	if got := len(s.msgs); got != loaded+1 {
		t.Errorf("loaded after a new message = %d, want %d (older pages kept)", got, loaded+1)
	}
	if got := s.msgs[len(s.msgs)-1].Text; got != "new" {
		t.Errorf("newest = %q, want the new message", got)
	}
	tl := s.msgList
	row, _ := s.pos(id)
	if got := tl.tops[row+1] - tl.Offset(); got < y-1 || got > y+1 {
		t.Errorf("reading older history, the new message moved the view: %s from y %v to %v (offset %v)", id, y, got, tl.Offset())
	}
}

func TestTimelineRefreshesOneRow(t *testing.T) {
	h := newHarness(t, true)
	fillHistory(h, 30)
	s := openLobby(t, h)
	sets := map[*messageRow]int{}
	for _, r := range s.bound {
		sets[r] = r.sets
	}
	live := s.msgs[len(s.msgs)-2] // a voice message on screen
	if live.Kind != sync.KindVoice || s.bound[live.ID] == nil {
		t.Fatalf("message %s (%v) not a voice message on screen", live.ID, live.Kind)
	}
	h.m.update(live.ID, func(m *Message) { m.State = sync.StateRecording; m.Duration = 9 * time.Second })
	h.u.handleHint(Hint{Kind: HintMessage, Conversation: "lobby", Message: live.ID})
	for _, r := range s.bound {
		want := sets[r]
		if r.id == live.ID {
			want++
		}
		if r.sets != want {
			t.Errorf("row of %s set %d times, want %d", r.id, r.sets-sets[r], want-sets[r])
		}
	}
	if got := s.bound[live.ID].voice.times.Text; got != "0:09" {
		t.Errorf("live bubble times = %q, want the elapsed 0:09", got)
	}
	// The same hint again changes nothing and sets nothing.
	before := s.bound[live.ID].sets
	h.u.handleHint(Hint{Kind: HintMessage, Conversation: "lobby", Message: live.ID})
	if got := s.bound[live.ID].sets; got != before {
		t.Errorf("unchanged message set again (%d times)", got-before)
	}
}

// TestDayText: day separators in English and in Chinese (names and the
// order of the parts from the translations).
func TestDayText(t *testing.T) {
	today := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	cases := []struct {
		name   string
		day    time.Time
		en, zh string
	}{
		{"today", today.Add(-9 * time.Hour), "Today", "今天"},
		{"yesterday", today.Add(-24 * time.Hour), "Yesterday", "昨天"},
		{"this week", today.Add(-3 * 24 * time.Hour), "Wednesday, 11 March", "3月11日 星期三"},
		{"this year", time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC), "Friday, 2 January", "1月2日 星期五"},
		{"a Sunday", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "Sunday, 1 March", "3月1日 星期日"},
		{"last year", time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), "31 December 2025", "2025年12月31日"},
	}
	for _, l := range []struct{ name, setting string }{{"en", "en"}, {"zh", "zh"}} {
		t.Run(l.name, func(t *testing.T) {
			useLanguage(t, "C", l.setting)
			for _, c := range cases {
				want := c.en
				if l.name == "zh" {
					want = c.zh
				}
				if got := dayText(c.day, today); got != want {
					t.Errorf("%s: dayText(%v) = %q, want %q", c.name, c.day, got, want)
				}
			}
		})
	}
}

func TestMergePage(t *testing.T) {
	msg := func(seq int64) Message { return Message{ID: fmt.Sprintf("m%d", seq), Seq: seq} }
	seqs := func(ms []Message) string {
		var b strings.Builder
		for _, m := range ms {
			fmt.Fprintf(&b, "%d ", m.Seq)
		}
		return strings.TrimSpace(b.String())
	}
	cases := []struct {
		name         string
		loaded, page []Message
		want         string
	}{
		{"first page", nil, []Message{msg(5), msg(6)}, "5 6"},
		{"same page", []Message{msg(5), msg(6)}, []Message{msg(5), msg(6)}, "5 6"},
		{"older pages kept", []Message{msg(1), msg(2), msg(3), msg(4)}, []Message{msg(3), msg(4), msg(5)}, "1 2 3 4 5"},
		{"pending after", []Message{msg(1), msg(2)}, []Message{msg(2), {ID: "p", Seq: 0}}, "1 2 0"},
		{"gap starts again", []Message{msg(1), msg(2)}, []Message{msg(9), msg(10)}, "9 10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := seqs(mergePage(c.loaded, c.page)); got != c.want {
				t.Errorf("mergePage = %s, want %s", got, c.want)
			}
		})
	}
}

func TestEnterSendsShiftEnterNewLine(t *testing.T) {
	h := newHarness(t, true)
	s := openLobby(t, h)
	shift := &fyne.KeyEvent{Name: desktop.KeyShiftLeft}
	ret := &fyne.KeyEvent{Name: fyne.KeyReturn}
	test.Type(s.entry, "first line")
	s.entry.KeyDown(shift)
	s.entry.TypedKey(ret)
	s.entry.KeyUp(shift)
	test.Type(s.entry, "second line")
	if got := s.entry.Text; got != "first line\nsecond line" {
		t.Fatalf("entry after Shift+Enter = %q, want two lines", got)
	}
	if len(s.msgs) != 0 {
		t.Fatalf("Shift+Enter sent a message")
	}
	s.entry.TypedKey(ret)
	if len(s.msgs) != 1 || s.msgs[0].Text != "first line\nsecond line" || s.entry.Text != "" {
		t.Errorf("after Enter: messages %+v, entry %q; want the two lines sent", s.msgs, s.entry.Text)
	}
}

// TestTimelineGolden: own messages on the right, others' on the left, a
// day separator, a long text wrapped to its full length, a long sender
// name cut with an ellipsis.
func TestTimelineGolden(t *testing.T) {
	h := newHarness(t, true)
	now := h.m.now
	long := strings.Repeat("The truck is at gate four and needs two people to unload pallets. ", 8)
	for _, m := range []Message{
		{SenderName: "bob", Kind: sync.KindVoice, Duration: 7 * time.Second, Waveform: testWave(64), Listened: true, Created: now.Add(-26 * time.Hour)},
		{SenderName: "alice", Mine: true, Kind: sync.KindText, Text: "On my way.", Created: now.Add(-25 * time.Hour)},
		{SenderName: "carol", Kind: sync.KindText, Text: long, Created: now.Add(-20 * time.Minute)},
		{SenderName: "a very long display name that would push everything else out of view", Kind: sync.KindVoice,
			Duration: 12 * time.Second, Waveform: testWave(64), Created: now.Add(-10 * time.Minute)},
		{SenderName: "alice", Mine: true, Kind: sync.KindVoice, Duration: 4 * time.Second, Waveform: testWave(64), Created: now.Add(-5 * time.Minute)},
	} {
		m.Conversation, m.State = "lobby", sync.StateComplete
		h.m.put(m)
	}
	s := openLobby(t, h)
	h.u.win.Resize(fyne.NewSize(900, 900))
	s.msgList.ScrollToBottom()
	days := 0
	for i := range s.msgs {
		if s.startsDay(i) {
			days++
		}
	}
	if len(s.msgs) != 5 || days != 2 {
		t.Errorf("rows = %d with %d day separators, want 5 messages and 2 days", len(s.msgs), days)
	}
	textRow := 2
	if h := s.msgList.tops[textRow+1] - s.msgList.tops[textRow]; h < 3*s.voiceH/2 {
		t.Errorf("long text row is %v high, want it wrapped over several lines (a voice row is %v)", h, s.voiceH)
	}
	test.AssertImageMatches(t, "timeline.png", h.u.win.Canvas().Capture())
}

// BenchmarkOpenConversation100k opens a conversation of 100 000 cached
// messages (first screen: read the newest page, measure, lay out) and
// scrolls up a screen at a time, older pages loading as the top comes
// into view. The fake's page read is a slice; the store's own page read
// is sync's BenchmarkMessagesPage100k.
func BenchmarkOpenConversation100k(b *testing.B) {
	h := newHarness(b, true)
	fillHistory(h, 100000)
	b.Run("first screen", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			h.u.main.current = ""
			h.u.main.open("lobby")
			if len(h.u.main.msgs) != pageSize || len(h.u.main.bound) == 0 {
				b.Fatalf("opened with %d messages, %d rows on screen", len(h.u.main.msgs), len(h.u.main.bound))
			}
		}
	})
	b.Run("scroll a screen", func(b *testing.B) {
		h.u.main.current = ""
		h.u.main.open("lobby")
		var took, paged []time.Duration // every scroll; those that loaded a page
		defer reportCPU(b)()
		for b.Loop() {
			if h.u.main.msgList.Offset() == 0 && !h.u.main.older {
				b.StopTimer()
				h.u.main.current = ""
				h.u.main.open("lobby")
				b.StartTimer()
			}
			n := len(h.u.main.msgs)
			start := time.Now()
			scrollUp(h.u.main)
			d := time.Since(start)
			took = append(took, d)
			if len(h.u.main.msgs) > n {
				paged = append(paged, d)
			}
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		slices.Sort(took)
		slices.Sort(paged)
		b.ReportMetric(float64(len(h.u.main.msgs)), "loaded")
		b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
		b.ReportMetric(ms(took[len(took)-1]), "worst-ms")
		if len(paged) > 0 {
			b.ReportMetric(ms(paged[len(paged)/2]), "page-load-p50-ms")
		}
	})
}

// TestOwnLiveMessageSaysLive: while the talk key is held, the sender's own
// message says live and how many of the others are online to hear it
// (following their presence), not "Pending — not sent yet"; after release
// it is pending until the server has it.
func TestOwnLiveMessageSaysLive(t *testing.T) {
	h := newHarness(t, true)
	s := openLobby(t, h)
	press := &desktop.MouseEvent{Button: desktop.MouseButtonPrimary}
	s.talkBtn.MouseDown(press)
	h.u.handleHint(Hint{Kind: HintConversation, Conversation: "lobby"}) // sync reports the new message
	id := h.rec.current
	row := s.bound[id]
	if row == nil {
		t.Fatalf("own live message %q not on screen", id)
	}
	// bob and carol of the Lobby's five others are online.
	audience := []struct {
		name    string
		offline []string
		want    string
	}{
		{"two online", nil, "● LIVE — 2 listening"},
		{"carol went offline", []string{"u-c"}, "● LIVE — 1 listening"},
		{"nobody online", []string{"u-b"}, "● LIVE — sending"},
	}
	for _, c := range audience {
		h.m.mu.Lock()
		for _, id := range c.offline {
			h.m.people.presence[id] = PresenceOffline
		}
		h.m.mu.Unlock()
		h.u.handleHint(Hint{Kind: HintPresence})
		if got := row.voice.state.Text; got != c.want {
			t.Errorf("%s: own message while talking says %q, want %q", c.name, got, c.want)
		}
	}
	s.talkBtn.MouseUp(press)
	if got := row.voice.state.Text; got != "Pending — not sent yet" {
		t.Errorf("own message after release says %q, want pending", got)
	}
}

// reportCPU reports the process CPU time per op when the returned func
// runs: on a shared machine wall time per op also counts waiting for a
// core.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestEqualsCoverEveryField: messagesEqual and conversationsEqual decide
// what is redrawn; a field added to sync's Message or Conversation must be
// compared there too (or named here as not shown), or its changes would
// not show.
func TestEqualsCoverEveryField(t *testing.T) {
	cases := []struct {
		name     string
		typ      reflect.Type
		compared int
		notShown []string
	}{
		{"Message", reflect.TypeFor[Message](), 18, nil},
		{"Heard", reflect.TypeFor[sync.Heard](), 3, nil},
		// The list's order is compared by id; members show in their own
		// panel, which re-reads them.
		{"Conversation", reflect.TypeFor[Conversation](), 9, []string{"Created", "Member", "Members", "LastActivity"}},
	}
	for _, c := range cases {
		for _, f := range c.notShown {
			if _, ok := c.typ.FieldByName(f); !ok {
				t.Errorf("%s has no field %s", c.name, f)
			}
		}
		if got := c.typ.NumField(); got != c.compared+len(c.notShown) {
			t.Errorf("%s has %d fields, the equality in mainscreen.go compares %d and %d are not shown: update it and this test",
				c.name, got, c.compared, len(c.notShown))
		}
	}
}

// TestTimelineGoldenChinese: the timeline in Chinese — day separators
// with Chinese weekday and month and the Chinese order of the parts, a
// long Chinese text wrapped in full, own and others' sides.
func TestTimelineGoldenChinese(t *testing.T) {
	useLanguage(t, "zh_CN.UTF-8", "zh")
	h := newHarness(t, true)
	now := h.m.now // Saturday 14 March 2026
	long := strings.Repeat("卡车在四号门，需要两个人帮忙卸货。", 12)
	for _, m := range []Message{
		{SenderName: "bob", Kind: sync.KindText, Text: "新年快乐！", Created: time.Date(2025, 12, 31, 22, 0, 0, 0, time.UTC)},
		{SenderName: "alice", Mine: true, Kind: sync.KindVoice, Duration: 4 * time.Second, Waveform: testWave(64), Listened: true, Created: now.Add(-3 * 24 * time.Hour)},
		{SenderName: "carol", Kind: sync.KindText, Text: long, Created: now.Add(-20 * time.Minute)},
		{SenderName: "alice", Mine: true, Kind: sync.KindText, Text: "马上到。", Created: now.Add(-5 * time.Minute)},
	} {
		m.Conversation, m.State = "lobby", sync.StateComplete
		h.m.put(m)
	}
	s := openLobby(t, h)
	h.u.win.Resize(fyne.NewSize(900, 900))
	s.msgList.ScrollToBottom()
	var days []string
	for i := range s.msgs {
		if s.startsDay(i) {
			days = append(days, dayText(s.msgs[i].Created.Local(), now))
		}
	}
	if want := []string{"2025年12月31日", "3月11日 星期三", "今天"}; !slices.Equal(days, want) {
		t.Errorf("day separators %q, want %q", days, want)
	}
	test.AssertImageMatches(t, "timeline_zh.png", h.u.win.Canvas().Capture())
}
