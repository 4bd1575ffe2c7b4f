package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// fakeTimers replaces the talk state's clock and timers.
type fakeTimers struct {
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at   time.Time
	f    func()
	dead bool
}

func (c *fakeTimers) install(t *talkState) {
	c.now = time.Unix(1000, 0)
	t.now = func() time.Time { return c.now }
	t.after = func(d time.Duration, f func()) func() {
		ft := &fakeTimer{at: c.now.Add(d), f: f}
		c.timers = append(c.timers, ft)
		return func() { ft.dead = true }
	}
}

// advance moves the clock and fires the timers that came due, in order.
func (c *fakeTimers) advance(d time.Duration) {
	end := c.now.Add(d)
	for {
		var next *fakeTimer
		for _, ft := range c.timers {
			if !ft.dead && !ft.at.After(end) && (next == nil || ft.at.Before(next.at)) {
				next = ft
			}
		}
		if next == nil {
			break
		}
		next.dead = true
		c.now = next.at
		next.f()
	}
	c.now = end
}

// TestHandsFree drives presses and releases through time: the tail keeps
// the end, a press in the tail continues, tap-tap locks until the next
// press, Esc and the maximum length still end a locked message.
func TestHandsFree(t *testing.T) {
	ms := time.Millisecond
	type step struct {
		op string // "down", "up", "wait", "esc", "focus"
		d  time.Duration
	}
	cases := []struct {
		name         string
		tail         time.Duration
		lock         bool
		steps        []step
		wantTalking  bool
		wantSent     int
		wantCanceled int
		wantStarted  int
		wantLength   time.Duration // of the last transmission, by the fake clock
	}{
		{"tail holds the end", 200 * ms, true, []step{{"down", 0}, {"wait", time.Second}, {"up", 0}, {"wait", 150 * ms}}, true, 0, 0, 1, 0},
		{"tail then sent", 200 * ms, true, []step{{"down", 0}, {"wait", time.Second}, {"up", 0}, {"wait", 200 * ms}}, false, 1, 0, 1, 1200 * ms},
		{"no tail: at once", 0, false, []step{{"down", 0}, {"wait", time.Second}, {"up", 0}}, false, 1, 0, 1, time.Second},
		{"press in the tail continues", 300 * ms, true, []step{{"down", 0}, {"wait", time.Second}, {"up", 0}, {"wait", 100 * ms},
			{"down", 0}, {"wait", time.Second}, {"up", 0}, {"wait", 300 * ms}}, false, 1, 0, 1, 2400 * ms},
		{"tap tap locks", 200 * ms, true, []step{{"down", 0}, {"wait", 100 * ms}, {"up", 0}, {"wait", 100 * ms}, {"down", 0}, {"wait", 100 * ms}, {"up", 0},
			{"wait", 5 * time.Second}, {"focus", 0}}, true, 0, 0, 1, 0},
		{"locked: next press sends", 200 * ms, true, []step{{"down", 0}, {"wait", 100 * ms}, {"up", 0}, {"wait", 100 * ms}, {"down", 0}, {"up", 0},
			{"wait", 5 * time.Second}, {"down", 0}, {"wait", 50 * ms}, {"up", 0}, {"wait", time.Second}}, false, 1, 0, 1, 5200 * ms},
		{"locked: Esc cancels", 200 * ms, true, []step{{"down", 0}, {"up", 0}, {"wait", 100 * ms}, {"down", 0}, {"up", 0}, {"wait", time.Second}, {"esc", 0}}, false, 0, 1, 1, 0},
		{"lock off: short tap is a message", 0, false, []step{{"down", 0}, {"wait", 100 * ms}, {"up", 0}, {"wait", 100 * ms}, {"down", 0}, {"wait", 100 * ms}, {"up", 0}}, false, 2, 0, 2, 100 * ms},
		{"slow second press does not lock", 200 * ms, true, []step{{"down", 0}, {"wait", 100 * ms}, {"up", 0}, {"wait", 400 * ms}, {"down", 0}, {"wait", 100 * ms}, {"up", 0}, {"wait", 400 * ms}}, false, 2, 0, 2, 500 * ms}, // ended at 450 ms, seen at the end of the wait
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true)
			h.u.handleHint(Hint{Kind: HintConversations})
			var clock fakeTimers
			clock.install(h.u.talk)
			h.u.talk.setTail(c.tail)
			h.u.talk.tapLock = c.lock
			var started time.Time
			var length time.Duration
			wasTalking := false
			for _, s := range c.steps {
				switch s.op {
				case "down":
					h.u.talk.Start()
				case "up":
					h.u.talk.Stop()
				case "wait":
					clock.advance(s.d)
				case "esc":
					h.u.talk.Cancel()
				case "focus":
					h.u.ExitedForeground()
				}
				if tk := h.u.talk.Talking(); tk != wasTalking {
					if tk {
						started = clock.now
					} else {
						length = clock.now.Sub(started)
					}
					wasTalking = tk
				}
			}
			if h.u.talk.Talking() != c.wantTalking {
				t.Errorf("talking = %v, want %v", h.u.talk.Talking(), c.wantTalking)
			}
			if len(h.rec.sent) != c.wantSent || len(h.rec.canceled) != c.wantCanceled || h.rec.started != c.wantStarted {
				t.Errorf("started %d, sent %d, cancelled %d; want %d, %d, %d", h.rec.started, len(h.rec.sent), len(h.rec.canceled), c.wantStarted, c.wantSent, c.wantCanceled)
			}
			if c.wantLength != 0 && length != c.wantLength {
				t.Errorf("last transmission lasted %v, want %v", length, c.wantLength)
			}
		})
	}
}

// TestLockedMaxLength: the maximum length ends a locked transmission.
func TestLockedMaxLength(t *testing.T) {
	h := newHarness(t, true)
	h.u.handleHint(Hint{Kind: HintConversations})
	var clock fakeTimers
	clock.install(h.u.talk)
	h.u.talk.tapLock = true
	h.u.talk.Start()
	h.u.talk.Stop()
	clock.advance(100 * time.Millisecond)
	h.u.talk.Start()
	h.u.talk.Stop()
	if !h.u.talk.Locked() {
		t.Fatal("not locked after tap tap")
	}
	clock.advance(time.Minute) // the harness's MaxTalk
	if h.u.talk.Talking() || len(h.rec.sent) != 1 || h.u.talk.lastReason != stopTooLong {
		t.Errorf("after the maximum: talking %v, sent %d, reason %v", h.u.talk.Talking(), len(h.rec.sent), h.u.talk.lastReason)
	}
}

// TestTalkButtonDragUpLocks: dragging up off the button locks talking; the
// next press on the button sends.
func TestTalkButtonDragUpLocks(t *testing.T) {
	h := newHarness(t, true)
	h.u.handleHint(Hint{Kind: HintConversations})
	b := h.u.main.talkBtn
	primary := &desktop.MouseEvent{Button: desktop.MouseButtonPrimary}
	b.MouseDown(primary)
	b.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(10, -60)}})
	if b.label() != "Release to talk hands-free" || b.Cancelled() {
		t.Fatalf("dragged up: label %q, cancel armed %v", b.label(), b.Cancelled())
	}
	b.DragEnd()
	if !h.u.talk.Locked() || len(h.rec.sent) != 0 {
		t.Fatalf("after the drag: locked %v, sent %d", h.u.talk.Locked(), len(h.rec.sent))
	}
	h.u.ExitedForeground() // hands-free goes on in another window
	if !h.u.talk.Talking() {
		t.Fatal("focus loss ended a locked transmission")
	}
	b.MouseDown(primary)
	b.MouseUp(primary)
	if h.u.talk.Talking() || len(h.rec.sent) != 1 {
		t.Errorf("after the next press: talking %v, sent %d", h.u.talk.Talking(), len(h.rec.sent))
	}
}
