package e2e

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"parley/audio"
)

// measureFloor is the listener-pipeline floor of a bus: the bus's
// microphone captured by the audio package, Opus-encoded, and played live
// (jitter buffer, decoder, mixer) to the bus's ear, in this test process
// with the same defaults as the app (device periods, output lead), while
// the apps run. Nothing of the app's own path is in it: no sync, no
// network, no server, no UI. It is not the devices' floor: it holds the
// same jitter buffer, voice queue and mixer lead as the app (see
// measureDirectFloor for what lies under it). Under both: PulseAudio's own
// module-loopback between the same two virtual devices measures 10.0 ms at
// latency_msec=10 (19.9 ms at 20), correlation 1.00: the bus, its clock
// and the analysis add nothing.
func measureFloor(t *testing.T, b bus, s speech) match {
	t.Helper()
	return measurePipeline(t, b, s, audio.JitterConfig{})
}

// measureDirectFloor is the same path with the jitter buffer's delay at
// (almost) zero: capture, Opus, and playback as soon as a packet is there
// (a late one is concealed). It is the floor of the devices and the codec
// as the app drives them (periods, 20 ms frames, voice queue, mixer lead);
// DESIGN's "direct capture -> Opus -> playback copy".
func measureDirectFloor(t *testing.T, b bus, s speech) match {
	t.Helper()
	return measurePipeline(t, b, s, audio.JitterConfig{MinDelay: time.Microsecond, MaxDelay: time.Microsecond})
}

// measurePipeline plays the bus's microphone to its ear through the audio
// package's recorder and live player with jitter.
func measurePipeline(t *testing.T, b bus, s speech, jitter audio.JitterConfig) match {
	t.Helper()
	t.Setenv("PULSE_SERVER", env.pulse)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e0, err := audio.New(audio.Config{Backend: audio.BackendPulseAudio, Logger: log})
	if err != nil {
		t.Fatalf("floor: pulse engine: %v", err)
	}
	caps, plays, err := e0.ListDevices()
	e0.Close()
	if err != nil {
		t.Fatalf("floor: list devices: %v", err)
	}
	e, err := audio.New(audio.Config{Backend: audio.BackendPulseAudio,
		CaptureDeviceID: deviceID(t, caps, b.mic), PlaybackDeviceID: deviceID(t, plays, b.ear), Logger: log})
	if err != nil {
		t.Fatalf("floor: engine on %s: %v", b, err)
	}
	defer e.Close()
	rec, err := e.NewRecorder(audio.RecorderConfig{})
	if err != nil {
		t.Fatalf("floor: recorder: %v", err)
	}
	defer rec.Close()
	for what, c := range map[string]<-chan struct{}{"playback": e.PlaybackFlowing(), "capture": rec.Flowing()} {
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatalf("floor: %s device not flowing after 10 s", what)
		}
	}
	packets, err := rec.Start()
	if err != nil {
		t.Fatalf("floor: start recording: %v", err)
	}
	p, err := e.Play(audio.ChanSource(packets), audio.PlayerConfig{Live: true, Jitter: jitter})
	if err != nil {
		t.Fatalf("floor: play: %v", err)
	}
	defer p.Close()
	tp := b.record(t)
	start := tp.position()
	b.speak(t, s)
	// The tail of the utterance has reached the ear once the ear has been
	// quiet for a while after speaking.
	tp.waitFor(t, start, 10*time.Second, "floor: the utterance on the ear", func(mouth, ear []int16) bool {
		return voicedFor(ear) > s.voiced()/2 && quietTail(ear) >= 300*time.Millisecond
	})
	if _, err := rec.Stop(); err != nil {
		t.Fatalf("floor: stop recording: %v", err)
	}
	finished := time.After(10 * time.Second)
wait:
	for {
		select {
		case ev, ok := <-p.Events():
			if !ok || ev.Kind == audio.PlayerFinished {
				break wait
			}
		case <-finished:
			t.Fatalf("floor: the live player did not finish within 10 s of the recording's end")
		}
	}
	mouth, ear := tp.stop()
	return compare(mouth, ear, time.Second)
}

// deviceID finds the device whose name is name (PulseAudio's description,
// which newBus sets to the sink or source name).
func deviceID(t *testing.T, list []audio.DeviceInfo, name string) string {
	t.Helper()
	for _, d := range list {
		if strings.Contains(d.Name, name) {
			return d.ID
		}
	}
	t.Fatalf("no audio device named %q", name)
	return ""
}
