package audio

import (
	"testing"
	"time"
)

// TestCaptureTapIdle: a warm microphone does not call into Go between
// recordings (its C callback only fills the ring), signals Go at every
// period while a recording runs, and the recording gets the audio.
func TestCaptureTapIdle(t *testing.T) {
	e := newNullEngine(t)
	rec, d := openNullMic(t, e)
	if !d.tapped.Load() {
		t.Fatal("the capture device is not tapped (miniaudio's device layout changed?)")
	}
	waitFlowing(t, rec.Flowing(), "warm microphone")

	// idle: the tap counts callbacks, Go sees none. The window is
	// measured in the device's own callbacks (20 = 200 ms at 10 ms).
	waitCallbacks := func(n uint64) {
		t.Helper()
		from := d.tap.callbacks()
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(FrameDuration)
		defer tick.Stop()
		for d.tap.callbacks()-from < n {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d capture callbacks in 10 s", n)
			}
			<-tick.C
		}
	}
	goBefore := d.wakes.Load() + d.callbacks.Load()
	waitCallbacks(20)
	if got := d.wakes.Load() + d.callbacks.Load() - goBefore; got != 0 {
		t.Errorf("idle: %d callbacks entered Go, want 0", got)
	}

	ch, err := rec.Start()
	if err != nil {
		t.Fatal(err)
	}
	var pkts int
	timeout := time.After(10 * time.Second)
	for pkts < 25 {
		select {
		case <-ch:
			pkts++
		case <-timeout:
			t.Fatalf("only %d packets in 10 s of recording", pkts)
		}
	}
	if _, err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	for range ch {
	}
	// 25 packets are 50 periods; each woke the recorder from Go.
	if got := d.wakes.Load(); got < 25 {
		t.Errorf("recording: %d wake-ups in Go for %d packets, want one per period", got, pkts)
	}
	if d.tap.wakeOn() {
		t.Error("the tap still wakes Go after Stop")
	}
	goBefore = d.wakes.Load() + d.callbacks.Load()
	waitCallbacks(20)
	if got := d.wakes.Load() + d.callbacks.Load() - goBefore; got != 0 {
		t.Errorf("idle after a recording: %d callbacks entered Go, want 0", got)
	}
}

// TestPlaybackTap: a tapped playback device plays without malgo's Go
// callback (where there is a wake pipe), and the mixer is woken per period.
func TestPlaybackTap(t *testing.T) {
	e := newNullEngine(t)
	d := e.playback
	if !d.tapped.Load() {
		t.Fatal("the playback device is not tapped (miniaudio's device layout changed?)")
	}
	p, pkts := playTone(t, e, 500*time.Millisecond, PlayerConfig{})
	fin := waitEvent(t, p, PlayerFinished, 10*time.Second)
	if want := time.Duration(len(pkts)) * FrameDuration; fin.Position != want || fin.Err != nil {
		t.Errorf("finished at %v (%v), want %v", fin.Position, fin.Err, want)
	}
	if d.wakes.Load() < 25 {
		t.Errorf("%d wake-ups of the mixer for 500 ms of playback, want one per period", d.wakes.Load())
	}
	if d.tap.wakeR != nil && d.callbacks.Load() != 0 {
		t.Errorf("%d playback callbacks entered Go, want 0 (the wake pipe signals)", d.callbacks.Load())
	}
}
