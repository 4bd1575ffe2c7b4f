package audio

import (
	"testing"
	"time"
)

// TestPulseFirstSyllable measures what opening the microphone only while
// talking costs: the time from the press (Start) to the first captured
// sample, all of it speech that is never recorded. Cold: the Recorder is
// opened at the press (microphone privacy). Warm: it was open already
// (today's default), three presses, then two more on the warm microphone
// paused (corked) after idlePauseAfter, on the test's PulseAudio daemon.
func TestPulseFirstSyllable(t *testing.T) {
	pactl := requirePulse(t)
	loadModule(t, pactl, "module-null-sink", "sink_name=parley_syllable_mouth", "rate=48000", "channels=1")
	loadModule(t, pactl, "module-remap-source", "source_name=parley_syllable_mic", "master=parley_syllable_mouth.monitor", "channels=1",
		"source_properties=device.description=parleySyllableMic")
	e0, err := New(Config{Backend: BackendPulseAudio, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	caps, _, err := e0.ListDevices()
	e0.Close()
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Backend: BackendPulseAudio, CaptureDeviceID: findDevice(t, caps, "parleySyllableMic"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// loss is the press-to-first-sample time: the first packet is out
	// when 20 ms of audio after the first sample have been framed.
	press := func(rec *Recorder, begin time.Time) time.Duration {
		ch, err := rec.Start()
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no packet within 5 s of the press")
		}
		loss := max(0, time.Since(begin)-FrameDuration)
		if _, err := rec.Stop(); err != nil {
			t.Fatal(err)
		}
		for range ch {
		}
		return loss
	}
	var cold, warm []time.Duration
	for range 3 {
		begin := time.Now()
		rec, err := e.NewRecorder(RecorderConfig{})
		if err != nil {
			t.Fatal(err)
		}
		cold = append(cold, press(rec, begin))
		rec.Close()
	}
	rec, err := e.NewRecorder(RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	waitFlowing(t, rec.Flowing(), "warm microphone")
	for range 3 {
		warm = append(warm, press(rec, time.Now()))
	}
	// Idle for idlePauseAfter, the warm microphone is paused (corked):
	// the press resumes it.
	var paused []time.Duration
	for range 2 {
		waitMicPaused(t, rec.src.(*deviceSource).d, "warm microphone")
		paused = append(paused, press(rec, time.Now()))
	}
	t.Logf("first-syllable loss (press to first captured sample): cold open %v, warm %v, paused warm %v", cold, warm, paused)
	for _, w := range append(warm, paused...) {
		if w > 60*time.Millisecond {
			t.Errorf("a warm microphone lost %v at the press, want at most a few ms", w)
		}
	}
}
