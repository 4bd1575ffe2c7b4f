package audio

import (
	"testing"
	"time"
)

// TestUnderrunWatch judges windows of playback: the first after the device
// began flowing is never judged; then a device that pulls less than
// 1-underrunLost of real time, or that the mixer left dry for more than a
// period, underruns.
func TestUnderrunWatch(t *testing.T) {
	const period = 10 // ms
	second := uint64(SampleRate)
	tests := []struct {
		name   string
		frames uint64 // pulled in the judged 2 s window
		dry    uint64 // samples the callback found missing in it
		want   bool
	}{
		{"real time", 2 * second, 0, false},
		{"a little behind", 2 * second * 97 / 100, 0, false},
		{"falls behind", 2 * second * 90 / 100, 0, true},
		{"dry for half a period", 2 * second, 240, false},
		{"dry for two periods", 2 * second, 960, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w underrunWatch
			t0 := time.Unix(1000, 0)
			frames, xruns := uint64(12345), uint64(7)
			if why := w.check(t0, frames, xruns, period); why != "" {
				t.Fatalf("window start judged: %q", why)
			}
			// The settling window is not judged, whatever it saw.
			frames += second / 10
			xruns += 5000
			if why := w.check(t0.Add(underrunWindow), frames, xruns, period); why != "" {
				t.Fatalf("settling window judged: %q", why)
			}
			frames += tc.frames
			xruns += tc.dry
			why := w.check(t0.Add(2*underrunWindow), frames, xruns, period)
			if got := why != ""; got != tc.want {
				t.Errorf("underruns = %v (%q), want %v", got, why, tc.want)
			}
		})
	}
}

// TestPlaybackFallback forces an underrun (the mixer stalls for 300 ms, as
// on a starved machine) and sees the playback device reopen with the
// fallback period, the mixer's lead following it, and playback go on.
func TestPlaybackFallback(t *testing.T) {
	e := newNullEngine(t)
	if got := e.Stats().PlaybackPeriod; got != 10*time.Millisecond {
		t.Fatalf("playback period %v at start, want 10ms", got)
	}
	waitFlowing(t, e.PlaybackFlowing(), "playback")
	long, _ := playTone(t, e, 4*underrunWindow, PlayerConfig{}) // something plays: no idle pause
	// The watch does not judge its first window after the device began
	// flowing (a null sink can start in 2 s blocks): stall in the second.
	<-time.After(underrunWindow + 500*time.Millisecond)
	e.mix.mu.Lock() // the mixer cannot mix: the ring runs dry
	<-time.After(300 * time.Millisecond)
	e.mix.mu.Unlock()
	select {
	case ev := <-e.DeviceEvents():
		if ev.Kind != DeviceFellBack || ev.Capture {
			t.Fatalf("device event %+v, want the playback device's fallback", ev)
		}
		t.Logf("fell back: %v", ev.Err)
	case <-time.After(2*underrunWindow + time.Second):
		t.Fatalf("no fallback after a forced underrun (stats %+v)", e.Stats())
	}
	if got := e.Stats().PlaybackPeriod; got != 20*time.Millisecond {
		t.Fatalf("playback period %v after the fallback, want 20ms", got)
	}
	if lead := e.mix.lead.Load(); lead != int64(durationToSamples(20*time.Millisecond)) {
		t.Errorf("mixer lead %d samples after the fallback, want one 20 ms period", lead)
	}
	long.Close()
	p, pkts := playTone(t, e, 500*time.Millisecond, PlayerConfig{})
	fin := waitEvent(t, p, PlayerFinished, 5*time.Second)
	if want := time.Duration(len(pkts)) * FrameDuration; fin.Position != want {
		t.Errorf("after the fallback a message finished at %v, want %v", fin.Position, want)
	}
}

// TestPlaybackIdle: with nothing to play the engine pauses the playback
// device (no callbacks, so no wake-ups); a message resumes it at once and
// plays whole; then it pauses again.
func TestPlaybackIdle(t *testing.T) {
	e := newNullEngine(t)
	waitFlowing(t, e.PlaybackFlowing(), "playback")
	waitPaused := func(what string) {
		t.Helper()
		select {
		case <-e.pausedSig:
		case <-time.After(idleStopAfter + 3*time.Second):
			t.Fatalf("%s: the idle playback device was not paused within %v (stats %+v)", what, idleStopAfter+3*time.Second, e.Stats())
		}
		if !e.Stats().PlaybackPaused {
			t.Fatalf("%s: paused signal, but stats say running", what)
		}
	}
	waitPaused("at start")
	before := e.Stats().PlaybackCallbacks
	<-time.After(300 * time.Millisecond) // a span with nothing playing
	if n := e.Stats().PlaybackCallbacks - before; n > 1 {
		t.Errorf("%d playback callbacks in 300 ms while paused, want none", n)
	}
	p, pkts := playTone(t, e, 500*time.Millisecond, PlayerConfig{})
	fin := waitEvent(t, p, PlayerFinished, 5*time.Second)
	st := e.Stats()
	t.Logf("resumed %d time(s), the last in %v", st.PlaybackResumes, st.LastResume)
	if want := time.Duration(len(pkts)) * FrameDuration; fin.Position != want {
		t.Errorf("finished at %v, want %v", fin.Position, want)
	}
	if st.PlaybackResumes != 1 || st.PlaybackPaused {
		t.Errorf("after playing: resumes %d, paused %v; want 1, false", st.PlaybackResumes, st.PlaybackPaused)
	}
	if st.LastResume > 50*time.Millisecond {
		t.Errorf("resuming the playback device took %v", st.LastResume)
	}
	p.Close()
	waitPaused("after the message")
	if err := e.PlayCue(CueMessage); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.PlaybackPaused || st.PlaybackResumes != 2 {
		t.Errorf("a cue did not resume playback: %+v", st)
	}
}

// TestWaitingPlayerIsNoUnderrun: a live player waiting for its first
// packet leaves the ring empty on purpose (see mixer.fill); the silence
// the device callback plays meanwhile is not counted as an underrun, so
// it neither shows in the stats nor falls the device back to a longer
// period, however long the wait.
func TestWaitingPlayerIsNoUnderrun(t *testing.T) {
	e := newNullEngine(t)
	waitFlowing(t, e.PlaybackFlowing(), "playback")
	ch := make(chan Packet)
	p, err := e.Play(ChanSource(ch), PlayerConfig{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	before := e.Stats()
	deadline := time.Now().Add(underrunWindow + time.Second)
	for time.Now().Before(deadline) {
		<-time.After(100 * time.Millisecond) // the span the player waits
	}
	st := e.Stats()
	t.Logf("stats %+v", st)
	if st.PlaybackCallbacks-before.PlaybackCallbacks < 100 {
		t.Fatalf("%d callbacks in %v, want the device running", st.PlaybackCallbacks-before.PlaybackCallbacks, underrunWindow+time.Second)
	}
	if st.PlaybackUnderrun != before.PlaybackUnderrun || st.PlaybackPeriod != before.PlaybackPeriod {
		t.Errorf("underrun %d -> %d samples, period %v -> %v; want neither to change",
			before.PlaybackUnderrun, st.PlaybackUnderrun, before.PlaybackPeriod, st.PlaybackPeriod)
	}
	close(ch)
	waitEvent(t, p, PlayerFinished, 5*time.Second)
}

// TestStoredPlaybackRidesOutStall: a replay goes on without a gap when the
// mixer goroutine is held up for 20 ms (a busy machine, a GC pause): the
// device plays from the stored lead the ring holds. At one period's lead
// (10 ms, what live streams keep) the same stall left the device dry.
func TestStoredPlaybackRidesOutStall(t *testing.T) {
	e := newNullEngine(t)
	waitFlowing(t, e.PlaybackFlowing(), "playback")
	p, err := e.Play(NewSliceSource(encodeTone(t, 440, 3*time.Second)), PlayerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for p.Position() < 300*time.Millisecond {
		waitEvent(t, p, PlayerPosition, 5*time.Second)
	}
	for i := range 5 {
		before := e.Stats()
		e.mix.mu.Lock() // the mixer waits for its voice list
		time.Sleep(20 * time.Millisecond)
		e.mix.mu.Unlock()
		for p.Position() < time.Duration(500+200*i)*time.Millisecond {
			waitEvent(t, p, PlayerPosition, 5*time.Second)
		}
		if st := e.Stats(); st.PlaybackUnderrun != before.PlaybackUnderrun {
			t.Fatalf("stall %d: the device underran by %d samples during a replay", i+1, st.PlaybackUnderrun-before.PlaybackUnderrun)
		}
	}
}
