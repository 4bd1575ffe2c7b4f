package audio

import (
	"testing"
	"time"
)

// TestIdleMicPaused: a warm microphone with no recording is paused after
// idlePauseAfter (no callbacks at all, where it had 100 a second), stays
// paused across a device switch, and Start resumes it: the recording
// gets packets at once, and the microphone is paused again after it.
func TestIdleMicPaused(t *testing.T) {
	e := newNullEngine(t)
	rec, d := openNullMic(t, e)
	waitFlowing(t, rec.Flowing(), "warm microphone")
	// quiet fails unless the device makes no callback over a window of
	// 30 periods (a measurement window: the property is that nothing
	// happens in it).
	quiet := func(what string) {
		t.Helper()
		from := d.callbackCount()
		time.Sleep(30 * 10 * time.Millisecond)
		if got := d.callbackCount() - from; got != 0 {
			t.Errorf("%s: %d capture callbacks in 300 ms, want none (paused)", what, got)
		}
	}
	waitMicPaused(t, d, "after opening")
	quiet("paused")

	if err := e.SetCaptureDevice(""); err != nil {
		t.Fatal(err)
	}
	if !d.idle.Load() {
		t.Error("a device switch started the paused microphone")
	}
	quiet("paused, after a device switch")

	for round := range 2 {
		begin := time.Now()
		ch, err := rec.Start()
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(2 * time.Second):
			t.Fatalf("round %d: no packet within 2 s of Start on the paused microphone", round)
		}
		t.Logf("round %d: Start on the paused microphone to the first packet: %v", round, time.Since(begin))
		if _, err := rec.Stop(); err != nil {
			t.Fatal(err)
		}
		for range ch {
		}
		waitMicPaused(t, d, "after a recording")
	}
}

// openNullMic opens a Recorder on e's (null) microphone for the test's
// life and returns it with its capture device.
func openNullMic(t *testing.T, e *Engine) (*Recorder, *device) {
	t.Helper()
	rec, err := e.NewRecorder(RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return rec, rec.src.(*deviceSource).d
}

// waitMicPaused waits until the Recorder pauses its idle microphone d
// (idlePauseAfter without a recording); it fails after 5 s more.
func waitMicPaused(t *testing.T, d *device, what string) {
	t.Helper()
	select {
	case <-d.paused:
	case <-time.After(idlePauseAfter + 5*time.Second):
		t.Fatalf("%s: the idle microphone was not paused within %v", what, idlePauseAfter+5*time.Second)
	}
}
