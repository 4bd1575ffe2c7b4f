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
	e.mix.mu.Lock() // the mixer cannot mix: the ring runs dry
	<-time.After(300 * time.Millisecond)
	e.mix.mu.Unlock()
	select {
	case ev := <-e.DeviceEvents():
		if ev.Kind != DeviceFellBack || ev.Capture {
			t.Fatalf("device event %+v, want the playback device's fallback", ev)
		}
		t.Logf("fell back: %v", ev.Err)
	case <-time.After(3*underrunWindow + time.Second):
		t.Fatalf("no fallback after a forced underrun (stats %+v)", e.Stats())
	}
	if got := e.Stats().PlaybackPeriod; got != 20*time.Millisecond {
		t.Fatalf("playback period %v after the fallback, want 20ms", got)
	}
	if lead := e.mix.lead.Load(); lead != int64(durationToSamples(20*time.Millisecond)) {
		t.Errorf("mixer lead %d samples after the fallback, want one 20 ms period", lead)
	}
	p, pkts := playTone(t, e, 500*time.Millisecond, PlayerConfig{})
	fin := waitEvent(t, p, PlayerFinished, 5*time.Second)
	if want := time.Duration(len(pkts)) * FrameDuration; fin.Position != want {
		t.Errorf("after the fallback a message finished at %v, want %v", fin.Position, want)
	}
}
