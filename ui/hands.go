package ui

import (
	"time"

	"fyne.io/fyne/v2"
)

// Hands-free talking and the release tail, on the one talk state.
//
//   - Tail: a release ends the transmission tail later (0..MaxTalkTail), so
//     the last syllable, still leaving the speaker's mouth as the key comes
//     up, is sent. A press within the tail continues the same message.
//   - Lock: a short press (under shortPress) and a second press within
//     doubleTap lock the transmission on; releases are then ignored and the
//     next press ends and sends it. The maximum length still applies, and
//     Esc still cancels.
const (
	// MaxTalkTail bounds the release tail.
	MaxTalkTail = 500 * time.Millisecond
	// DefaultTalkTail keeps a word ending without a noticeable wait.
	DefaultTalkTail = 200 * time.Millisecond
	shortPress      = 250 * time.Millisecond
	doubleTap       = 350 * time.Millisecond
)

// Locked reports whether the transmission is locked on (hands-free).
func (t *talkState) Locked() bool { return t.phase == talkOn && t.locked }

// setTail sets the release tail, clamped to 0..MaxTalkTail.
func (t *talkState) setTail(d time.Duration) { t.tail = min(max(d, 0), MaxTalkTail) }

// pressAgain is a press while talking.
func (t *talkState) pressAgain() {
	switch {
	case t.locked && !t.lockHeld:
		t.end(stopReleased) // the press that ends a locked transmission
	case t.pending != nil:
		t.pending()
		t.pending = nil
		if t.shortPress && t.tapLock { // tap, tap: lock
			t.locked, t.lockHeld = true, true
			t.changed()
		}
		t.pressedAt = t.now()
	}
}

// lock locks a transmission on (the talk button dragged up); the next press
// ends and sends it.
func (t *talkState) lock() {
	if t.phase != talkOn {
		return
	}
	if t.pending != nil {
		t.pending()
		t.pending = nil
	}
	t.locked, t.lockHeld = true, false
	t.changed()
}

// release is a key or button release.
func (t *talkState) release() {
	if t.phase != talkOn {
		return
	}
	if t.locked {
		t.lockHeld = false // the locking press came up: talking goes on
		return
	}
	if t.pending != nil {
		return // already held back
	}
	held := t.now().Sub(t.pressedAt)
	t.shortPress = held < shortPress
	wait := t.tail
	if t.shortPress && t.tapLock {
		wait = max(wait, doubleTap) // a second tap may follow
	}
	if wait <= 0 {
		t.end(stopReleased)
		return
	}
	gen := t.gen
	t.pending = t.after(wait, func() {
		fyne.Do(func() {
			if t.gen == gen && t.phase == talkOn && t.pending != nil && !t.locked {
				t.pending = nil
				t.end(stopReleased)
			}
		})
	})
}

// clearHands forgets hands-free state when a transmission ends.
func (t *talkState) clearHands() {
	if t.pending != nil {
		t.pending()
		t.pending = nil
	}
	t.locked, t.lockHeld, t.shortPress = false, false, false
}

// applyHands sets the tail and the lock from the prefs.
func (u *UI) applyHands() {
	u.talk.setTail(time.Duration(u.prefs.TalkTailMs) * time.Millisecond)
	u.talk.tapLock = u.prefs.TapToLock
}
