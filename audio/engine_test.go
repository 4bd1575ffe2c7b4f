package audio

import (
	"errors"
	"math"
	"testing"
	"time"
)

func newNullEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := New(Config{Backend: BackendNull, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("new null engine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	return e
}

// waitEvent reads events until one of kind arrives; it fails after timeout.
func waitEvent(t *testing.T, p *Player, kind PlayerEventKind, timeout time.Duration) PlayerEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %v", kind)
			}
			if ev.Kind == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event within %v (position %v)", kind, timeout, p.Position())
		}
	}
}

func encodeTone(t *testing.T, freq float64, dur time.Duration) []Packet {
	t.Helper()
	pkts, err := EncodePCM(tone(freq, 0.3, int(durationToSamples(dur))), EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

// TestNullBackendCaptureToPlayback records from miniaudio's null capture
// device, encodes, decodes and plays through the null playback device.
func TestNullBackendCaptureToPlayback(t *testing.T) {
	e := newNullEngine(t)
	caps, plays, err := e.ListDevices()
	if err != nil || len(caps) == 0 || len(plays) == 0 {
		t.Fatalf("list devices: %d capture, %d playback, %v", len(caps), len(plays), err)
	}
	rec, err := e.NewRecorder(RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	if _, err := e.NewRecorder(RecorderConfig{}); !errors.Is(err, ErrDeviceBusy) {
		t.Errorf("second recorder: %v, want ErrDeviceBusy", err)
	}
	ch, err := rec.Start()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Start(); !errors.Is(err, ErrRecording) {
		t.Errorf("second start: %v, want ErrRecording", err)
	}
	var pkts []Packet
	timeout := time.After(10 * time.Second)
	for len(pkts) < 25 {
		select {
		case p := <-ch:
			pkts = append(pkts, p)
		case <-timeout:
			t.Fatalf("only %d packets captured in 10 s", len(pkts))
		}
	}
	summary, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	for p := range ch {
		pkts = append(pkts, p)
	}
	if summary.Packets != len(pkts) || len(summary.Waveform) != WaveformPoints {
		t.Fatalf("summary %d packets %d points; received %d packets", summary.Packets, len(summary.Waveform), len(pkts))
	}
	for i, p := range pkts {
		if p.Seq != uint32(i) || len(p.Data) == 0 {
			t.Fatalf("packet %d has seq %d and %d bytes", i, p.Seq, len(p.Data))
		}
	}
	if _, err := rec.Stop(); !errors.Is(err, ErrNotRecording) {
		t.Errorf("second stop: %v, want ErrNotRecording", err)
	}

	p, err := e.Play(NewSliceSource(pkts), PlayerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitEvent(t, p, PlayerStarted, time.Second)
	fin := waitEvent(t, p, PlayerFinished, 10*time.Second)
	if want := time.Duration(len(pkts)) * FrameDuration; fin.Position != want || fin.Err != nil {
		t.Errorf("finished at %v (%v), want %v", fin.Position, fin.Err, want)
	}
	if got := e.Stats(); got.PlaybackCallbacks == 0 {
		t.Errorf("playback callback never ran: %+v", got)
	}
}

// playTone plays a tone message and returns the player, for control tests.
func playTone(t *testing.T, e *Engine, dur time.Duration, cfg PlayerConfig) (*Player, []Packet) {
	t.Helper()
	pkts := encodeTone(t, 440, dur)
	p, err := e.Play(NewSliceSource(pkts), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, pkts
}

func TestPlayerSpeed(t *testing.T) {
	e := newNullEngine(t)
	for _, speed := range []float64{1.5, 2} {
		t.Run(ftoa(speed)+"x", func(t *testing.T) {
			p, pkts := playTone(t, e, time.Second, PlayerConfig{Speed: speed})
			fin := waitEvent(t, p, PlayerFinished, 5*time.Second)
			if want := time.Duration(len(pkts)) * FrameDuration; fin.Position != want {
				t.Errorf("finished at %v, want %v", fin.Position, want)
			}
			played := float64(p.v.consumed.Load())
			want := float64(len(pkts)*FrameSamples) / speed
			if math.Abs(played-want)/want > 0.03 {
				t.Errorf("played %.0f samples, want %.0f ±3%%", played, want)
			}
		})
	}
	if err := (&Player{cfg: PlayerConfig{}}).SetSpeed(3); !errors.Is(err, ErrBadSpeed) {
		t.Errorf("speed 3: %v, want ErrBadSpeed", err)
	}
}

func TestPlayerSeekPauseResume(t *testing.T) {
	e := newNullEngine(t)
	p, pkts := playTone(t, e, 2*time.Second, PlayerConfig{})
	waitEvent(t, p, PlayerPosition, time.Second)
	if err := p.Seek(1500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if pos := p.Position(); pos < 1500*time.Millisecond || pos > 1600*time.Millisecond {
		t.Errorf("position after seek %v, want about 1.5s", pos)
	}
	p.Pause()
	ev := waitEvent(t, p, PlayerPaused, time.Second)
	consumed := p.v.consumed.Load()
	select {
	case <-time.After(150 * time.Millisecond): // let the device run while paused
	case ev2 := <-p.Events():
		if ev2.Kind != PlayerPosition {
			t.Fatalf("event %v while paused", ev2.Kind)
		}
	}
	if got := p.v.consumed.Load(); got != consumed {
		t.Errorf("paused player consumed %d samples", got-consumed)
	}
	if pos := p.Position(); pos != ev.Position {
		t.Errorf("position moved while paused: %v -> %v", ev.Position, pos)
	}
	p.Resume()
	waitEvent(t, p, PlayerResumed, time.Second)
	fin := waitEvent(t, p, PlayerFinished, 5*time.Second)
	if want := time.Duration(len(pkts)) * FrameDuration; fin.Position != want {
		t.Errorf("finished at %v, want %v", fin.Position, want)
	}
	if c := p.v.consumed.Load(); c > int64(len(pkts)*FrameSamples)/2 {
		t.Errorf("consumed %d samples after seeking to 1.5 s of 2 s", c)
	}
	// A seek after the end plays again.
	if err := p.Seek(1800 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, p, PlayerStarted, time.Second)
	waitEvent(t, p, PlayerFinished, 5*time.Second)
}

func TestPlayerSkipSilence(t *testing.T) {
	e := newNullEngine(t)
	half := int(durationToSamples(500 * time.Millisecond))
	pcm := append(tone(440, 0.3, half), make([]int16, 4*half)...) // 0.5 s tone, 2 s silence
	pcm = append(pcm, tone(440, 0.3, half)...)                    // 0.5 s tone
	pkts, err := EncodePCM(pcm, EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.Play(NewSliceSource(pkts), PlayerConfig{SkipSilence: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fin := waitEvent(t, p, PlayerFinished, 5*time.Second)
	if want := 3 * time.Second; fin.Position != want {
		t.Errorf("finished at %v, want %v", fin.Position, want)
	}
	played := samplesToDuration(p.v.consumed.Load())
	if played > 1500*time.Millisecond || played < 1100*time.Millisecond {
		t.Errorf("played %v of a 3 s message with 2 s of silence, want 1.1-1.5 s", played)
	}
}

// TestPlayerGrowingMessage plays a message whose packets are still
// arriving (history then live tail), with a gap that must be concealed.
func TestPlayerGrowingMessage(t *testing.T) {
	e := newNullEngine(t)
	pkts := encodeTone(t, 440, time.Second)
	ch := make(chan Packet)
	p, err := e.Play(ChanSource(ch), PlayerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go func() {
		defer close(ch)
		for _, pk := range pkts {
			if pk.Seq == 20 {
				continue // lost
			}
			ch <- pk
		}
	}()
	fin := waitEvent(t, p, PlayerFinished, 5*time.Second)
	if want := time.Second; fin.Position != want || fin.Err != nil {
		t.Errorf("finished at %v (%v), want %v", fin.Position, fin.Err, want)
	}
}

// TestLiveRecorderToPlayer streams a file-fed recorder in real time into a
// live player through the jitter buffer, with a second player and a cue
// mixed in.
func TestLiveRecorderToPlayer(t *testing.T) {
	e := newNullEngine(t)
	rec, err := NewPCMRecorder(tone(300, 0.3, SampleRate), FileRecorderConfig{Realtime: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	ch, err := rec.Start()
	if err != nil {
		t.Fatal(err)
	}
	live, err := e.Play(ChanSource(ch), PlayerConfig{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	other, _ := playTone(t, e, 500*time.Millisecond, PlayerConfig{})
	if err := e.PlayCue(CueMessage); err != nil {
		t.Fatal(err)
	}
	if err := live.Seek(0); !errors.Is(err, ErrNotSeekable) {
		t.Errorf("seek on live: %v, want ErrNotSeekable", err)
	}
	waitEvent(t, other, PlayerFinished, 5*time.Second)
	fin := waitEvent(t, live, PlayerFinished, 5*time.Second)
	summary, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if summary.Packets != 50 {
		t.Errorf("recorded %d packets, want 50", summary.Packets)
	}
	st := live.JitterStats()
	t.Logf("live jitter stats %+v", st)
	if st.Played+st.FEC+st.Concealed+st.Dropped < 49 || st.Late > 1 {
		t.Errorf("live stream: %+v", st)
	}
	if fin.Position != time.Second {
		t.Errorf("live finished at %v, want 1s", fin.Position)
	}
	live.Close()
	other.Close()
	if v := e.Stats().Voices; v != 0 {
		t.Errorf("%d voices still mixed after players closed and cue ended", v)
	}
}

func TestFileRecorderWaveformAndLevel(t *testing.T) {
	pcm := append(make([]int16, SampleRate/2), tone(440, 0.5, SampleRate/2)...)
	rec, err := NewPCMRecorder(pcm, FileRecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	ch, err := rec.Start()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range ch {
		n++
	}
	summary, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if n != 50 || summary.Packets != 50 || summary.Duration != time.Second {
		t.Fatalf("got %d packets, summary %+v", n, summary)
	}
	w := summary.Waveform
	if w[10] != 0 || w[90] < 225 {
		t.Errorf("waveform silent half %d, loud half %d; want 0 and >= 225", w[10], w[90])
	}
	if l := rec.Level(); l.Peak < 0.45 || l.RMS < 0.3 {
		t.Errorf("level %+v, want the tone's (peak 0.5, rms 0.35)", l)
	}
}

func TestDeviceErrors(t *testing.T) {
	e := newNullEngine(t)
	err := e.SetPlaybackDevice("not-hex")
	var de *DeviceError
	if !errors.As(err, &de) || !errors.Is(err, ErrNoSpeaker) {
		t.Fatalf("bad device id: %v, want a DeviceError matching ErrNoSpeaker", err)
	}
	if de.UserMessage() == "" || de.Op == "" {
		t.Errorf("device error lacks message or op: %+v", de)
	}
	// Playback continues on the default device.
	p, _ := playTone(t, e, 200*time.Millisecond, PlayerConfig{})
	waitEvent(t, p, PlayerFinished, 5*time.Second)
}
