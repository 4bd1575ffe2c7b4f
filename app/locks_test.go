package app

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"parley/sync"
	"parley/ui"
)

// lockWait bounds how long a call that must not wait for blocking work
// may take before the test calls it a deadlock.
const lockWait = 5 * time.Second

// within runs f and fails the test if it does not return within lockWait.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(lockWait):
		// A deadlock also stops the cleanup (it needs the same lock, and
		// testing runs cleanups even on a panic): end the test binary
		// now, with every goroutine's stack.
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		fmt.Fprintf(os.Stderr, "--- FAIL: %s: %s did not return within %v: a lock is held across blocking work\n\n%s\n", t.Name(), what, lockWait, buf)
		os.Exit(1)
	}
}

// fill fills the hint bus so that the next post blocks (ui not reading).
func fill(b *hintBus) {
	for {
		select {
		case b.ch <- ui.Hint{Kind: ui.HintConnection}:
		default:
			return
		}
	}
}

// drain empties the hint bus.
func drain(b *hintBus) {
	for {
		select {
		case <-b.ch:
		default:
			return
		}
	}
}

// TestHostNoLockAcrossStart: while Start waits to post its hint (the UI
// is busy and the bus is full), the UI thread's Running and Address answer
// at once.
func TestHostNoLockAcrossStart(t *testing.T) {
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hints := newHintBus()
	h := &host{dir: t.TempDir(), name: "test", listenIP: "127.0.0.1", portFlag: freePort(t),
		prefs: test.NewTempApp(t).Preferences(), log: log, hints: hints}
	fill(hints)
	started := make(chan error, 1)
	go func() { started <- h.Start() }()
	running := false
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !running {
		within(t, "Running during Start", func() { running = h.Running() })
		if !running {
			select {
			case err := <-started:
				t.Fatalf("Start returned %v without a free hint slot", err)
			case <-tick.C:
			}
		}
	}
	within(t, "Address during Start", func() {
		if h.Address() == "" {
			t.Error("Address empty while running")
		}
	})
	select {
	case err := <-started:
		t.Fatalf("Start returned (%v) before its hint could be posted", err)
	default:
	}
	drain(hints)
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	fill(hints)
	stopped := make(chan error, 1)
	go func() { stopped <- h.Stop() }()
	for running {
		within(t, "Running during Stop", func() { running = h.Running() })
		if running {
			<-tick.C
		}
	}
	drain(hints)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// TestPlayerNoLockAcrossAudio: the audio player's goroutine is stuck
// delivering events (ui is not reading hints, so watch cannot post, so
// nobody reads the player's events); a Seek then waits for it. The UI
// thread's Playback must still answer: player never holds its lock while
// it sends to audio.
func TestPlayerNoLockAcrossAudio(t *testing.T) {
	e := newLiveEnv(t, livePolicy{}) // nothing auto-plays
	id, done := e.talk(e.talker, e.lobby, 50)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.waitHint("the message complete at bob", func() bool {
		m, err := e.msgr.Message(id)
		return err == nil && m.State == sync.StateComplete && !m.Pending
	})
	fill(e.hints)
	if err := e.pl.Play(id, 0, 1); err != nil {
		t.Fatal(err)
	}
	e.pl.mu.Lock()
	ap := e.pl.cur
	e.pl.mu.Unlock()
	// Pause and resume the audio player directly until its event channel
	// is full: its next important event then blocks its goroutine.
	for len(ap.Events()) < cap(ap.Events()) {
		ap.Pause()
		if len(ap.Events()) < cap(ap.Events()) {
			ap.Resume()
		}
	}
	// One more important event sticks the audio goroutine for good
	// (stuck delivering it, or already stuck and this command waits).
	paused := make(chan struct{})
	go func() {
		defer close(paused)
		ap.Pause()
	}()
	seeked := make(chan error, 1)
	go func() {
		for range 50 { // one of these waits for the stuck audio goroutine
			if err := e.pl.Seek(0); err != nil {
				seeked <- err
				return
			}
		}
		seeked <- nil
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range 30 { // a Seek is waiting by now; Playback must not wait with it
		within(t, "Playback while Seek waits for audio", func() { e.pl.Playback() })
		<-tick.C
	}
	// Let the UI read again: everything moves on.
	stop := make(chan struct{})
	reading := make(chan struct{})
	go func() {
		defer close(reading)
		for {
			select {
			case <-e.hints.ch:
			case <-stop:
				return
			}
		}
	}()
	err := <-seeked
	<-paused
	close(stop)
	<-reading
	if err != nil {
		t.Fatalf("Seek: %v", err)
	}
}
