package e2e

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// longUtterance is long enough for a listener who joins a few seconds in
// to catch up at 1.5x before it ends. No word repeats.
const longUtterance = "This message is long on purpose. A listener who opens it while it is still " +
	"being spoken should hear it from the very first word, played a little faster, with the pauses " +
	"between sentences shortened, until the playback reaches what the talker is saying right now. " +
	"From that moment on the message continues live at normal speed, without a gap and without any " +
	"repeated syllable, exactly as if the listener had been there from the beginning."

// TestLateJoin: bob's app connects while alice is already talking. He
// hears her message from its first word at 1.5-2x until he reaches the
// live edge, then live (issue 10, deliverable 5).
func TestLateJoin(t *testing.T) {
	requireEnv(t)
	s := makeSpeech(t)
	long := speak(t, longUtterance)
	b := newBus(t, "late")
	srv := startServer(t)
	w := watch(t, srv.addr, "watcher")
	talker := startApp(t, appOptions{user: "alice", server: srv.addr, signUp: true,
		env: []string{"PULSE_SOURCE=" + b.mic}, cueMuted: true})
	bobData := t.TempDir()
	startApp(t, appOptions{user: "bob", listener: true, server: srv.addr, signUp: true, data: bobData,
		env: []string{"PULSE_SINK=" + b.ear}, cueMuted: true}).quit(t)

	floor := measureFloor(t, b, s)
	var joined time.Duration
	var bob *app
	// Not live: the key is let go when alice stops talking, by which time
	// a listener who caught up hears her live.
	tk := talk(t, b, long, talker, w, talkOptions{
		during: func(tp *tape, from int) {
			tp.waitFor(t, from, 20*time.Second, "three seconds of speech", func(mouth, ear []int16) bool {
				return voicedFor(mouth) >= 3*time.Second
			})
			bob = startApp(t, appOptions{user: "bob", listener: true, server: srv.addr, data: bobData, env: []string{"PULSE_SINK=" + b.ear}})
			joined = duration(tp.position() - from)
			t.Logf("bob's app usable %v into the transmission", joined)
		},
	})
	checkMessage(t, w, "alice", 0, tk, long)
	saveTape(t, "latejoin", tk)

	if heard, said := voicedFor(tk.ear), voicedFor(tk.mouth); heard < said/2 {
		t.Fatalf("late join: bob's speaker played %v of speech while alice said %v", heard, said)
	}
	got := compare(tk.mouth, tk.ear, 4*time.Second)
	report(t, "late join", floor, got, targets{p50: 70 * time.Millisecond, p95: 90 * time.Millisecond})
	// At the live edge by the end.
	// These are audio-quality bounds: a playback device that runs 30 %
	// slow on a loaded machine (the floor shows it) plays the catch-up at
	// 1.1x of the bus clock however fast the app plays it.
	rec := got.lags[len(got.lags)*5/6:]
	audioCheckOn(t, floor, bob, len(rec) > 0 && percentile(slices.Sorted(slices.Values(rec)), 0.5) <= floor.p50+300*time.Millisecond,
		"late join: the end of the message plays at lags %v, want the live edge (floor %v + 300 ms)", rec, ms(floor.p50))
	// From the first word, faster: the ear's first seconds of speech are
	// the mouth's first seconds played at some speed, found window by
	// window on envelopes (which time stretching keeps while it changes
	// the waveform) with pauses cut on both sides as the catch-up cuts
	// them. One correlation over the whole span fell to 0.37-0.53 in good
	// runs, since every shortened pause moved the rest; per window, good
	// runs match at 0.76-0.96.
	cu := catchUp(trimToSpeech(tk.mouth, 0), trimToSpeech(tk.ear, 0))
	t.Logf("late join: the ear's first %v against the mouth: %v", catchUpSpan, cu)
	audioCheckOn(t, floor, bob, cu.consistent() >= catchUpMinWindows,
		"late join: the listener does not hear the message from its start at 1.5-2x: %d of %d windows consistent, want %d (%v)",
		cu.consistent(), len(cu), catchUpMinWindows, cu)
	first, last := speechSpan(tk.ear)
	t.Logf("late join: the ear played speech from %v to %v of the take; joined at %v; the utterance is %v",
		duration(first), duration(last), joined, long.duration())
}

const (
	// catchUpSpan is how much of the ear's start is compared, in
	// catchUpWindow windows every catchUpStep.
	catchUpSpan   = 3 * time.Second
	catchUpWindow = time.Second
	catchUpStep   = 500 * time.Millisecond
	// catchUpPause is the longest pause, on the ear, that is compared: the
	// catch-up cuts pauses, so every longer one is cut to it on both sides
	// (on the mouth, to this times the speed tried).
	catchUpPause = 100 * time.Millisecond
	// A window is consistent when it matches the mouth at >= catchUpMinCorr
	// at 1.4-2.1x, at a place in the mouth 1.3-2.2 times as far in as the
	// window is in the ear (the first window: within the first 300 ms).
	catchUpMinCorr    = 0.6
	catchUpMinWindows = 4 // of 6
)

// catchUpWin is where one window of the ear's start was found in the mouth.
type catchUpWin struct {
	ear, mouth time.Duration // where the window starts in each (pauses cut)
	speed      float64
	corr       float64
}

func (w catchUpWin) consistent() bool {
	if w.corr < catchUpMinCorr || w.speed < 1.4 || w.speed > 2.1 {
		return false
	}
	if w.ear == 0 {
		return w.mouth <= 300*time.Millisecond
	}
	r := float64(w.mouth) / float64(w.ear)
	return r >= 1.3 && r <= 2.2
}

type catchUpMatch []catchUpWin

func (m catchUpMatch) consistent() int {
	n := 0
	for _, w := range m {
		if w.consistent() {
			n++
		}
	}
	return n
}

func (m catchUpMatch) String() string {
	var b strings.Builder
	for i, w := range m {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "ear %.1fs = mouth %.2fs at %.2fx (%.2f)", w.ear.Seconds(), w.mouth.Seconds(), w.speed, w.corr)
	}
	return b.String()
}

// catchUp finds each window of the ear's first catchUpSpan in the mouth:
// the speed (1 to 2.2, in 0.05 steps) and place at which the mouth's
// envelope, sped up, best matches the window's, on 10 ms envelopes with
// pauses cut to catchUpPause.
func catchUp(mouth, ear []int16) catchUpMatch {
	const blk = 10 * time.Millisecond
	em, ee := envelope(mouth, samples(blk)), envelope(ear, samples(blk))
	keep := int(catchUpPause / blk)
	ee = capPauses(ee, keep)
	n, step := int(catchUpWindow/blk), int(catchUpStep/blk)
	var m catchUpMatch
	for from := 0; from+step <= int(catchUpSpan/blk) && from+n <= len(ee); from += step {
		w := catchUpWin{ear: time.Duration(from) * blk, corr: math.Inf(-1)}
		scaled := make([]float64, n)
		for s := 1.0; s <= 2.2001; s += 0.05 {
			cm := capPauses(em, int(math.Round(float64(keep)*s)))
			for off := 0; off+int(float64(n)*s) < len(cm) && off < 2*int(catchUpSpan/blk); off++ {
				for i := range scaled {
					scaled[i] = cm[off+int(float64(i)*s)]
				}
				if c := pearson(scaled, ee[from:from+n]); c > w.corr {
					w.mouth, w.speed, w.corr = time.Duration(off)*blk, s, c
				}
			}
		}
		m = append(m, w)
	}
	return m
}

// capPauses returns env with every run of blocks below speech level cut
// to at most keep blocks.
func capPauses(env []float64, keep int) []float64 {
	out := make([]float64, 0, len(env))
	run := 0
	for _, v := range env {
		if v < speechLevel {
			run++
			if run > keep {
				continue
			}
		} else {
			run = 0
		}
		out = append(out, v)
	}
	return out
}

// speechSpan is the first and last sample of speech in s.
func speechSpan(s []int16) (first, last int) {
	first = -1
	for i := 0; i+frameSamples <= len(s); i += frameSamples {
		if voiced(s, i) {
			if first < 0 {
				first = i
			}
			last = i + frameSamples
		}
	}
	return max(first, 0), last
}
