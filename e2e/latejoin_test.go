package e2e

import (
	"math"
	"slices"
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
	// Not live: the key is let go when alice stops talking, by which time
	// a listener who caught up hears her live.
	tk := talk(t, b, long, talker, w, talkOptions{
		during: func(tp *tape, from int) {
			tp.waitFor(t, from, 20*time.Second, "three seconds of speech", func(mouth, ear []int16) bool {
				return voicedFor(mouth) >= 3*time.Second
			})
			startApp(t, appOptions{user: "bob", listener: true, server: srv.addr, data: bobData, env: []string{"PULSE_SINK=" + b.ear}})
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
	audioCheck(t, floor, len(rec) > 0 && percentile(slices.Sorted(slices.Values(rec)), 0.5) <= floor.p50+300*time.Millisecond,
		"late join: the end of the message plays at lags %v, want the live edge (floor %v + 300 ms)", rec, ms(floor.p50))
	// From the first word, faster: the ear's first seconds of speech are
	// the mouth's first seconds played at some speed (found on the
	// envelope, which time stretching keeps while it changes the
	// waveform).
	speed, corr := catchUpSpeed(trimToSpeech(tk.mouth, 0), trimToSpeech(tk.ear, 0))
	t.Logf("late join: the ear's first %v follow the mouth's start at %.2fx (envelope correlation %.3f)", catchUpSpan, speed, corr)
	// The envelope of speech stretched by WSOLA with its pauses cut
	// correlates 0.46-0.50 with the sped-up original at the right speed
	// (4 runs at load 2, all found at 1.55x for the app's 1.5x): 0.4
	// leaves room for that, the speed found is the stronger evidence.
	audioCheck(t, floor, corr >= catchUpMinCorr && speed >= 1.4 && speed <= 2.1,
		"late join: the listener does not hear the message from its start at 1.5-2x: best match %.2fx at %.3f, want 1.5-2x at >= %.2f", speed, corr, catchUpMinCorr)
	first, last := speechSpan(tk.ear)
	t.Logf("late join: the ear played speech from %v to %v of the take; joined at %v; the utterance is %v",
		duration(first), duration(last), joined, long.duration())
}

// catchUpMinCorr is the envelope correlation a catch-up match must reach.
const catchUpMinCorr = 0.4

// catchUpSpan is how much of the ear's start catchUpSpeed compares.
const catchUpSpan = 3 * time.Second

// catchUpSpeed finds the speed (1 to 2.2, in 0.05 steps) at which the
// mouth's start, sped up, best matches the first catchUpSpan of the ear,
// on 10 ms envelopes, and that match's correlation.
func catchUpSpeed(mouth, ear []int16) (speed, corr float64) {
	blk := samples(10 * time.Millisecond)
	em, ee := envelope(mouth, blk), envelope(ear, blk)
	n := min(len(ee), samples(catchUpSpan)/blk)
	corr = math.Inf(-1)
	for s := 1.0; s <= 2.2001; s += 0.05 {
		if int(float64(n)*s) >= len(em) {
			break
		}
		scaled := make([]float64, n)
		for i := range scaled {
			scaled[i] = em[int(float64(i)*s)]
		}
		if c := pearson(scaled, ee[:n]); c > corr {
			speed, corr = s, c
		}
	}
	return speed, corr
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
