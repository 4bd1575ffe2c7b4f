package ui

import (
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
)

// talkPhase is where the app-wide talk state is.
type talkPhase int

const (
	talkIdle talkPhase = iota
	talkOn             // transmitting
)

// talkStopReason says why a transmission ended, for feedback.
type talkStopReason int

const (
	stopReleased talkStopReason = iota
	stopCancelled
	stopTooLong
	stopFailed
)

// talkState is the one app-wide push-to-talk state fed by the talk button,
// the talk key on the entry, on lists and on the canvas, and by the lifecycle.
// Every method runs on the UI thread and is idempotent: down and up may come
// from different receivers, twice, or not at all (focus loss).
type talkState struct {
	rec          Recorder
	conversation func() string
	maxTalk      time.Duration
	cue          func(Cue)
	fail         func(error)
	changed      func() // redraw talk UI; UI thread
	// after schedules f after d off the UI thread and returns a cancel; tests replace it.
	after func(d time.Duration, f func()) (cancel func())

	phase      talkPhase
	message    string
	started    time.Time
	now        func() time.Time
	cancelMax  func()
	lastReason talkStopReason
	gen        int // bumps with every start; stale timers compare it

	// Hands-free (hands.go): tail holds a release back so the last syllable
	// is kept; a short press then a second press within doubleTap locks the
	// transmission on until the next press.
	tail       time.Duration
	tapLock    bool // double tap locks
	pressedAt  time.Time
	shortPress bool   // the last release came soon after its press
	pending    func() // cancels a held-back release
	locked     bool
	lockHeld   bool // the press that locked is still down
}

func newTalkState(rec Recorder, maxTalk time.Duration) *talkState {
	if maxTalk <= 0 {
		maxTalk = DefaultMaxTalk
	}
	return &talkState{
		rec: rec, maxTalk: maxTalk,
		conversation: func() string { return "" },
		cue:          func(Cue) {},
		fail:         func(error) {},
		changed:      func() {},
		now:          time.Now,
		after:        afterFunc,
	}
}

// Talking reports whether a transmission is on.
func (t *talkState) Talking() bool { return t.phase == talkOn }

// Elapsed is the length of the current transmission.
func (t *talkState) Elapsed() time.Duration {
	if t.phase != talkOn {
		return 0
	}
	return t.now().Sub(t.started)
}

// Start begins a transmission in the open conversation (a press). While
// talking it is idempotent, except for hands-free: a press during a held-back
// release continues the message (and locks it after a short press), and a
// press while locked ends and sends it.
func (t *talkState) Start() {
	if t.phase == talkOn {
		t.pressAgain()
		return
	}
	conv := t.conversation()
	if conv == "" {
		return
	}
	id, err := t.rec.Start(conv)
	if err != nil {
		t.lastReason = stopFailed
		t.fail(err)
		t.changed()
		return
	}
	t.phase, t.message, t.started = talkOn, id, t.now()
	t.pressedAt, t.locked, t.lockHeld = t.started, false, false
	t.gen++
	gen := t.gen
	t.cancelMax = t.after(t.maxTalk, func() {
		fyne.Do(func() {
			if t.gen == gen && t.phase == talkOn {
				t.end(stopTooLong)
			}
		})
	})
	t.cue(CueTalkStart)
	t.changed()
}

// Stop is a release: it ends the transmission and sends it after the
// release tail, unless hands-free is locked.
func (t *talkState) Stop() { t.release() }

// End ends and sends the transmission now, locked or not (switching
// conversation, quitting).
func (t *talkState) End() { t.end(stopReleased) }

// Cancel ends the transmission and discards it.
func (t *talkState) Cancel() { t.end(stopCancelled) }

func (t *talkState) end(why talkStopReason) {
	if t.phase != talkOn {
		return
	}
	t.phase = talkIdle
	if t.cancelMax != nil {
		t.cancelMax()
		t.cancelMax = nil
	}
	t.clearHands()
	var err error
	if why == stopCancelled {
		err = t.rec.Cancel()
		t.cue(CueTalkCancel)
	} else {
		err = t.rec.Stop()
		t.cue(CueTalkStop)
	}
	t.lastReason = why
	if err != nil {
		t.lastReason = stopFailed
		t.fail(err)
	}
	t.changed()
}

// talkKey matches key events against the configured talk key: by name, or by
// scan code ("scan:<n>") for keys that have no name.
type talkKey struct {
	name string
	scan int
}

func parseTalkKey(s string) talkKey {
	if rest, ok := strings.CutPrefix(s, "scan:"); ok {
		if n, err := strconv.Atoi(rest); err == nil {
			return talkKey{scan: n}
		}
	}
	if s == "" {
		s = string(fyne.KeyF8)
	}
	return talkKey{name: s}
}

func talkKeyFromEvent(ev *fyne.KeyEvent) string {
	if ev.Name != "" {
		return string(ev.Name)
	}
	return "scan:" + strconv.Itoa(ev.Physical.ScanCode)
}

func (k talkKey) matches(ev *fyne.KeyEvent) bool {
	if k.name != "" {
		return ev.Name == fyne.KeyName(k.name)
	}
	return ev.Name == "" && ev.Physical.ScanCode == k.scan
}

func (k talkKey) String() string {
	if k.name != "" {
		return k.name
	}
	return "key " + strconv.Itoa(k.scan)
}

// keyRouter turns raw key-down/up events from any receiver into talk state
// changes. It returns true when it consumed the event.
type keyRouter struct {
	key  talkKey
	talk *talkState
	// capture, when set, receives the next key down instead (settings: "press a key").
	capture func(*fyne.KeyEvent)
}

func (r *keyRouter) keyDown(ev *fyne.KeyEvent) bool {
	if r.capture != nil {
		c := r.capture
		r.capture = nil
		c(ev)
		return true
	}
	if r.key.matches(ev) {
		r.talk.Start()
		return true
	}
	if ev.Name == fyne.KeyEscape && r.talk.Talking() {
		r.talk.Cancel()
		return true
	}
	return false
}

func (r *keyRouter) keyUp(ev *fyne.KeyEvent) bool {
	if r.key.matches(ev) {
		r.talk.Stop()
		return true
	}
	return false
}
