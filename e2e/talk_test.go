package e2e

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"parley/sync"
)

// voiced is how much of the utterance is speech.
func (s speech) voiced() time.Duration { return voicedFor(s.samples) }

// take is one transmission: what the mouth said and the ear heard while
// the talker held the key, and the message it made.
type take struct {
	mouth, ear []int16
	msg        sync.Message // complete
}

// talkOptions hook a scenario into a transmission.
type talkOptions struct {
	// live: the listener plays the message while it is spoken, so the
	// key is let go only once the ear has gone quiet after the utterance.
	live bool
	// during runs while the utterance plays, with the tape to wait on.
	during func(tp *tape, from int)
	// completeWithin bounds the wait for the message to complete after
	// the key is let go (the outbox may have to drain first).
	completeWithin time.Duration
}

// talk has the talker hold the talk key, speak the utterance into the
// bus's mouth, and let go; it waits for the message to complete at the
// watcher and returns the recording.
func talk(t *testing.T, b bus, s speech, talker *app, w *watcher, o talkOptions) take {
	t.Helper()
	before := len(w.voiceFrom(talker.user))
	tp := b.record(t)
	from := tp.position()
	talker.pressTalk(t)
	released := false
	defer func() {
		if !released { // a failure above: let go, so the app can quit
			cmd := exec.Command("xdotool", "keyup", "--window", talker.window, "F8")
			cmd.Env = append(os.Environ(), "DISPLAY="+talker.display)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("xdotool keyup: %v: %s", err, out)
			}
		}
	}()
	// The key is down once the server fans the new message out.
	rec := w.waitRecording(t, talker.user, before, 15*time.Second)
	spoken := b.speakAsync(s)
	if o.during != nil {
		o.during(tp, from)
	}
	if err := <-spoken; err != nil {
		t.Fatal(err)
	}
	// paplay has handed over the last sample; the microphone has it once
	// the mouth channel has been quiet for a few periods.
	tp.waitFor(t, from, 10*time.Second, "the utterance through the mouth", func(mouth, ear []int16) bool {
		return voicedFor(mouth) >= s.voiced()*9/10 && quietTail(mouth) >= 200*time.Millisecond
	})
	if o.live {
		tp.waitFor(t, from, 15*time.Second, "the utterance on the listener's speaker", func(mouth, ear []int16) bool {
			return voicedFor(ear) >= s.voiced()/2 && quietTail(ear) >= 300*time.Millisecond
		})
	}
	talker.releaseTalk(t)
	released = true
	if o.completeWithin == 0 {
		o.completeWithin = 20 * time.Second
	}
	msg := w.waitComplete(t, rec.ID, o.completeWithin)
	mouth, ear := tp.stop()
	return take{mouth: mouth, ear: ear, msg: msg}
}

// checkMessage fails the test unless the talker's message is complete,
// alone (nothing duplicated), at least as long as the utterance, and
// every packet is on the server once.
func checkMessage(t *testing.T, w *watcher, sender string, before int, tk take, s speech) []sync.Packet {
	t.Helper()
	ms := w.voiceFrom(sender)
	if got := len(ms) - before; got != 1 {
		t.Fatalf("%s has %d new voice messages, want 1: %v", sender, got, ms)
	}
	if ms[len(ms)-1].ID != tk.msg.ID {
		t.Fatalf("the new message is %s, want %s", ms[len(ms)-1].ID, tk.msg.ID)
	}
	// A loaded machine can lose some capture time to device stalls: the
	// bound is 85 % of the utterance.
	if d := tk.msg.Duration; d < s.duration()*85/100 {
		t.Errorf("%s is shorter than the utterance (%v)", describe(tk.msg), s.duration())
	}
	pk := w.packets(t, tk.msg)
	if got := time.Duration(len(pk)) * 20 * time.Millisecond; got < s.duration()*85/100 || got > tk.msg.Duration+100*time.Millisecond {
		t.Errorf("%s: %d packets (%v), want the utterance (%v) up to the message's duration", describe(tk.msg), len(pk), got, s.duration())
	}
	t.Logf("%s: complete, once, every packet stored once", describe(tk.msg))
	return pk
}

// saveTape writes a take's two channels as raw 48 kHz mono s16le files
// (<name>.mouth.raw, <name>.ear.raw) to $PARLEY_E2E_TAPES, when it is
// set, for looking at a failed run's audio afterwards.
func saveTape(t *testing.T, name string, tk take) {
	t.Helper()
	dir := os.Getenv("PARLEY_E2E_TAPES")
	if dir == "" {
		return
	}
	for ch, s := range map[string][]int16{"mouth": tk.mouth, "ear": tk.ear} {
		buf := make([]byte, 2*len(s))
		for i, v := range s {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(v))
		}
		f := filepath.Join(dir, name+"."+ch+".raw")
		if err := os.WriteFile(f, buf, 0o644); err != nil {
			t.Errorf("save tape: %v", err)
			return
		}
		t.Logf("saved the %s channel to %s", ch, f)
	}
}
