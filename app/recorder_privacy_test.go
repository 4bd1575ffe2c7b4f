package app

import (
	"log/slog"
	"testing"

	"parley/audio"
)

// TestKeepMicReady: turning "Keep the microphone ready" off releases the
// idle microphone; turning it on opens it again.
func TestKeepMicReady(t *testing.T) {
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sys := startAudio(audio.Config{Backend: audio.BackendNull, Logger: log}, log)
	defer sys.close()
	if _, err := sys.wait(); err != nil {
		t.Fatalf("null audio engine: %v", err)
	}
	r := newRecorder(sys, newMessenger(t.TempDir(), "d", log, newHintBus()), log)
	opens := 0
	r.newRecorder = func(e *audio.Engine) (*audio.Recorder, error) {
		opens++
		return audio.NewPCMRecorder(make([]int16, audio.SampleRate), audio.FileRecorderConfig{Realtime: true})
	}
	isOpen := func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.rec != nil
	}
	r.setKeepReady(true)
	r.wg.Wait() // the warm-up goroutine has opened it
	if !isOpen() || opens != 1 {
		t.Fatalf("kept ready: open %v after %d opens, want open once", isOpen(), opens)
	}
	r.setKeepReady(false)
	if isOpen() {
		t.Fatal("still open after turning Keep the microphone ready off")
	}
	r.setKeepReady(true)
	r.wg.Wait()
	if !isOpen() || opens != 2 {
		t.Fatalf("ready again: open %v after %d opens, want 2", isOpen(), opens)
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
}
