package audio

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"
)

// Backend selects the audio system miniaudio talks to.
type Backend int

const (
	// BackendAuto lets miniaudio pick the platform's best backend
	// (PulseAudio, then ALSA on Linux; WASAPI on Windows; Core Audio on macOS).
	BackendAuto Backend = iota
	// BackendNull is miniaudio's null backend: a device with the right
	// timing that records silence and discards output. For tests and
	// headless runs.
	BackendNull
	// BackendPulseAudio forces PulseAudio (or PipeWire's PulseAudio server).
	BackendPulseAudio
	// BackendALSA forces ALSA.
	BackendALSA
	// BackendWASAPI forces WASAPI (Windows).
	BackendWASAPI
	// BackendCoreAudio forces Core Audio (macOS).
	BackendCoreAudio
)

// playbackFallback is the playback device's period, in capture periods,
// after it underran at one capture period. The default is one period
// (10 ms): with the app quiet (issue 10) its callbacks are on time, and
// each period of playback buffering is mouth-to-ear delay (a PulseAudio
// stream's server-side buffer, tlength, is one period, and the mixer's
// lead is one period). A callback that is late by more than a period (a
// loaded machine, GC, the race detector) underruns the server, which
// plays silence and then resumes where it was: each such stall adds its
// length to the delay. The device watches for that (device.monitor:
// falling behind the wall clock, or the mixer leaving the ring dry) and
// reopens once at playbackFallback periods, which underruns less often and
// by less, at the cost of 10 ms of latency here and 10 ms of lead.
const playbackFallback = 2

// malgoBackendNull is miniaudio's null backend: malgo.BackendNull is off by
// one against miniaudio's enum in the pinned malgo version.
const malgoBackendNull = malgo.Backend(14)

func (b Backend) malgo() []malgo.Backend {
	switch b {
	case BackendNull:
		return []malgo.Backend{malgoBackendNull}
	case BackendPulseAudio:
		return []malgo.Backend{malgo.BackendPulseaudio}
	case BackendALSA:
		return []malgo.Backend{malgo.BackendAlsa}
	case BackendWASAPI:
		return []malgo.Backend{malgo.BackendWasapi}
	case BackendCoreAudio:
		return []malgo.Backend{malgo.BackendCoreaudio}
	}
	return nil
}

// Config configures an Engine. Zero values select the defaults.
type Config struct {
	Backend Backend
	// CaptureDeviceID and PlaybackDeviceID pick devices from ListDevices;
	// "" follows the system default.
	CaptureDeviceID  string
	PlaybackDeviceID string
	// Period is the device period asked of miniaudio; default 10 ms. The
	// playback device falls back to playbackFallback times as much when it
	// underruns. It sets most of the latency (about 2.75 periods through
	// PulseAudio).
	Period time.Duration
	// OutputLead is how much mixed audio is queued ahead of the playback
	// callback; default one playback period (following the period when the
	// device falls back). The mixer is woken by every
	// callback and refills what it took, so it has a whole period to do it
	// before the next callback; each further period queued is that much
	// mouth-to-ear delay (it was two periods, 40 ms, before the latency
	// work of issue 10).
	OutputLead time.Duration
	// Logger receives device events; default slog.Default().
	Logger *slog.Logger
}

// Engine owns the miniaudio context, the playback device with its mixer
// and, while a Recorder holds it, the capture device. All methods are safe
// for concurrent use. Close stops everything it started; Players and
// Recorders made from the engine must be closed first.
type Engine struct {
	cfg   Config
	pulse bool // the context runs on PulseAudio
	log   *slog.Logger
	mctx  *malgo.AllocatedContext

	playback *device
	mix      *mixer
	events   chan DeviceEvent

	mu        sync.Mutex // guards capture, captureIn, closed
	capture   *device
	captureIn bool
	closed    bool

	// idleMu serialises pausing the idle playback device (mixer
	// goroutine) with waking it (Play, PlayCue): a voice added while the
	// mixer decides is seen by one of them.
	idleMu     sync.Mutex
	idle       bool          // the playback device is paused
	resumed    atomic.Int64  // times it was resumed
	lastResume atomic.Int64  // how long the last resume took (ns)
	pausedSig  chan struct{} // cap 1: the device was paused (tests wait on it)

	quit chan struct{}
	wg   sync.WaitGroup
}

// New initialises the audio system and starts the playback device (playing
// silence until something is mixed in). Errors are *DeviceError values
// (errors.Is with ErrNoSpeaker, ErrDeviceBusy, ErrNoAudioSystem…).
func New(cfg Config) (*Engine, error) {
	if cfg.Period <= 0 {
		cfg.Period = 10 * time.Millisecond
	}
	followLead := cfg.OutputLead <= 0
	if followLead {
		cfg.OutputLead = cfg.Period
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	mctx, pulse, err := initContext(cfg.Backend)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		pulse:     pulse,
		cfg:       cfg,
		log:       cfg.Logger,
		mctx:      mctx,
		events:    make(chan DeviceEvent, 16),
		pausedSig: make(chan struct{}, 1),
		quit:      make(chan struct{}),
	}
	lead := int(durationToSamples(cfg.OutputLead))
	e.playback = e.newDevice(false, cfg.PlaybackDeviceID, newSampleRing(4*playbackFallback*lead+SampleRate/10))
	e.mix = newMixer(e.playback.ring, e.playback.ready, lead)
	e.playback.fallback = uint32(playbackFallback * cfg.Period / time.Millisecond)
	if followLead {
		e.playback.onPeriod = func(p time.Duration) { e.mix.setLead(int(durationToSamples(p))) }
	}
	e.mix.fill()
	if err := e.playback.start(); err != nil {
		_ = mctx.Uninit()
		mctx.Free()
		return nil, err
	}
	e.wg.Add(1)
	go e.mixLoop()
	return e, nil
}

// initContext opens a miniaudio context. BackendAuto tries PulseAudio
// first on Linux so that the engine knows it runs there (see
// initPulseNamed), then lets miniaudio choose.
func initContext(b Backend) (*malgo.AllocatedContext, bool, error) {
	if b == BackendAuto && runtime.GOOS == "linux" {
		if mctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendPulseaudio}, malgo.ContextConfig{}, nil); err == nil {
			return mctx, true, nil
		}
	}
	mctx, err := malgo.InitContext(b.malgo(), malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, false, &DeviceError{Op: "init audio system", Kind: KindNoAudioSystem, Err: err}
	}
	return mctx, b == BackendPulseAudio, nil
}

func (e *Engine) newDevice(capture bool, id string, ring *sampleRing) *device {
	period := e.cfg.Period
	return &device{
		log:     e.log,
		ctx:     e.mctx.Context,
		capture: capture,
		pulse:   e.pulse,
		period:  uint32(period / time.Millisecond),
		wantID:  id,
		ring:    ring,
		emit:    e.emit,
	}
}

func (e *Engine) emit(ev DeviceEvent) {
	select {
	case e.events <- ev:
	default:
		e.log.Warn("audio device event dropped: reader too slow", "kind", ev.Kind)
	}
}

// mixLoop keeps the playback ring topped up to the lead. It is paced by
// the device alone: each playback callback that takes samples wakes it
// (notify keeps one pending wake-up, so none is lost while it mixes), and
// it mixes exactly what the callback took. A timer would only add wake-ups
// competing for the CPU with the callbacks. Once nothing has played for
// idleStopAfter it pauses the playback device (see idle).
func (e *Engine) mixLoop() {
	defer e.wg.Done()
	var quietSince time.Time
	idle, dryAt := false, uint64(0) // the last fill left the ring short; the device's dry count after it
	for {
		select {
		case <-e.quit:
			return
		case <-e.playback.ready:
		}
		// Silence the callback played after a fill that left the ring
		// short on purpose (nothing to play) is not an underrun.
		if idle {
			e.playback.meantDry.Add(e.playback.dryCount() - dryAt)
		}
		idle = e.mix.fill()
		dryAt = e.playback.dryCount()
		if e.mix.active() > 0 || !e.playback.settled() {
			// Playing, or not yet flowing (PlaybackFlowing waits for
			// that; a fresh null sink can take 2 s).
			quietSince = time.Time{}
			continue
		}
		now := time.Now()
		if quietSince.IsZero() {
			quietSince = now
		} else if now.Sub(quietSince) >= idleStopAfter {
			e.pauseIdle()
			quietSince = time.Time{}
		}
	}
}

// idleStopAfter is how long the playback device plays silence before the
// engine pauses it. A running device calls back every period on a C thread
// and each call wakes the Go runtime (its sysmon thread was 59 % of an idle
// app's CPU samples); paused, an idle app has no audio wake-ups at all.
// Resuming costs about a millisecond (measured in TestPlaybackIdle).
const idleStopAfter = 2 * time.Second

// pauseIdle pauses the playback device if still nothing plays.
func (e *Engine) pauseIdle() {
	e.idleMu.Lock()
	defer e.idleMu.Unlock()
	if e.mix.active() > 0 || e.idle {
		return
	}
	if e.playback.pause() {
		e.idle = true
		e.log.Debug("audio playback paused: nothing plays")
		notify(e.pausedSig)
	}
}

// wakePlayback resumes a paused playback device; Play and PlayCue call it
// after adding their voice, so a voice is never left on a paused device.
func (e *Engine) wakePlayback() error {
	e.idleMu.Lock()
	defer e.idleMu.Unlock()
	if !e.idle {
		return nil
	}
	e.idle = false
	begin := time.Now()
	err := e.playback.resume()
	e.resumed.Add(1)
	e.lastResume.Store(int64(time.Since(begin)))
	return err
}

// PlaybackFlowing is closed once the playback device has been pulling
// audio steadily for about 200 ms. Some audio servers (PulseAudio's null
// sink, a resuming Bluetooth headset) take a second or two after opening.
func (e *Engine) PlaybackFlowing() <-chan struct{} { return e.playback.flowing }

// DeviceEvents reports device loss and rerouting. Events are dropped when
// nobody reads; the channel is never closed.
func (e *Engine) DeviceEvents() <-chan DeviceEvent { return e.events }

// ListDevices lists the engine backend's capture and playback devices.
func (e *Engine) ListDevices() (capture, playback []DeviceInfo, err error) {
	return listDevices(e.mctx.Context)
}

// ListDevices lists the capture and playback devices of the default audio
// system.
func ListDevices() (capture, playback []DeviceInfo, err error) {
	mctx, err := malgo.InitContext(nil, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, nil, &DeviceError{Op: "list devices", Kind: KindNoAudioSystem, Err: err}
	}
	defer func() {
		_ = mctx.Uninit()
		mctx.Free()
	}()
	return listDevices(mctx.Context)
}

// SetPlaybackDevice moves playback to another device ("" = default). On
// failure playback continues on the default device and the error says why.
func (e *Engine) SetPlaybackDevice(id string) error {
	if err := e.playback.switchTo(id); err != nil {
		return err
	}
	return nil
}

// SetCaptureDevice selects the microphone for the current and future
// recorders ("" = default).
func (e *Engine) SetCaptureDevice(id string) error {
	e.mu.Lock()
	e.cfg.CaptureDeviceID = id
	c := e.capture
	e.mu.Unlock()
	if c != nil {
		return c.switchTo(id)
	}
	return nil
}

// acquireCapture opens the capture device for the one recorder allowed per
// engine; it stays open (warm) until releaseCapture.
func (e *Engine) acquireCapture() (*device, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if e.captureIn {
		return nil, &DeviceError{Op: "open capture device", Device: e.cfg.CaptureDeviceID, Kind: KindDeviceBusy,
			Err: errors.New("another recorder of this engine holds the microphone")}
	}
	d := e.newDevice(true, e.cfg.CaptureDeviceID, newSampleRing(2*SampleRate))
	if err := d.start(); err != nil {
		return nil, err
	}
	e.capture, e.captureIn = d, true
	return d, nil
}

func (e *Engine) releaseCapture(d *device) {
	d.stop()
	e.mu.Lock()
	if e.capture == d {
		e.capture, e.captureIn = nil, false
	}
	e.mu.Unlock()
}

// EngineStats are running counters for diagnostics.
type EngineStats struct {
	PlaybackCallbacks uint64
	PlaybackUnderrun  uint64        // samples the callback had to fill with silence
	PlaybackPeriod    time.Duration // the playback device's period now (longer after a fallback)
	PlaybackPaused    bool          // paused: nothing has played for a while
	PlaybackResumes   int64         // times the paused device was started again
	LastResume        time.Duration // how long starting it again took, the last time
	CaptureCallbacks  uint64
	CaptureOverrun    uint64 // samples dropped because the recorder fell behind
	Voices            int    // players and cues being mixed
}

// Stats returns the counters.
func (e *Engine) Stats() EngineStats {
	s := EngineStats{
		PlaybackCallbacks: e.playback.callbackCount(),
		PlaybackUnderrun:  e.playback.xrunCount(),
		PlaybackPeriod:    time.Duration(e.playback.periodNow.Load()) * time.Millisecond,
		PlaybackResumes:   e.resumed.Load(),
		LastResume:        time.Duration(e.lastResume.Load()),
		Voices:            e.mix.active(),
	}
	e.mu.Lock()
	if c := e.capture; c != nil {
		s.CaptureCallbacks, s.CaptureOverrun = c.callbackCount(), c.xrunCount()
	}
	e.mu.Unlock()
	e.idleMu.Lock()
	s.PlaybackPaused = e.idle
	e.idleMu.Unlock()
	return s
}

// Close stops the mixer and devices and frees the audio system. It is
// idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	capture := e.capture
	e.mu.Unlock()
	if capture != nil {
		e.releaseCapture(capture)
	}
	close(e.quit)
	e.wg.Wait()
	e.playback.stop()
	if err := e.mctx.Uninit(); err != nil {
		e.mctx.Free()
		return fmt.Errorf("audio: close context: %w", err)
	}
	e.mctx.Free()
	return nil
}
