package audio

// #include <stdlib.h>
// #include <string.h>
import "C"

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// DeviceInfo describes one capture or playback device. ID is opaque and
// stable while the device is present; pass it in Config to open that
// device, or use "" for the system default.
type DeviceInfo struct {
	ID      string
	Name    string
	Default bool
}

// DeviceEventKind says what happened to a device.
type DeviceEventKind int

const (
	// DeviceRerouted: the device stopped or vanished and the engine opened
	// another one (the requested device again, or the system default).
	DeviceRerouted DeviceEventKind = iota
	// DeviceLost: the device stopped and no replacement could be opened;
	// the engine keeps retrying.
	DeviceLost
	// DeviceFellBack: the playback device underran and was reopened with
	// its longer fallback period (Err says why; EngineStats.PlaybackPeriod
	// has the new period).
	DeviceFellBack
)

// DeviceEvent reports a device change. Err says why the old device was
// dropped, as a *DeviceError of kind KindDeviceUnplugged.
type DeviceEvent struct {
	Kind    DeviceEventKind
	Capture bool   // false: playback
	Device  string // ID now in use ("" for the default)
	Err     error
}

// device is one running malgo device (capture or playback) with the ring
// its callback copies to or from. The callback runs on miniaudio's thread
// and touches only the ring, two atomic counters and a non-blocking notify.
// A monitor goroutine reopens the device when it stops behind our back or
// stops calling back (unplugged headset, unloaded PulseAudio sink).
type device struct {
	log     *slog.Logger
	ctx     malgo.Context
	capture bool
	pulse   bool   // PulseAudio backend: open explicit devices movable (see open)
	period  uint32 // ms; guarded by opMu once started
	// fallback is the longer period (ms) a playback device reopens with
	// when it underruns at period (0: none; see underrunning), once.
	fallback uint32
	// onPeriod is told the new period after a fallback (the engine's
	// mixer lead follows it). Called by the monitor, not the callback.
	onPeriod func(time.Duration)
	wantID   string
	ring     *sampleRing
	ready    chan struct{} // cap 1; signalled by every callback (made by newDevice: the mixer wakes on it too)
	emit     func(DeviceEvent)

	opMu  sync.Mutex // serialises open/close/reopen/switch
	mu    sync.Mutex // guards dev, idMem, curID, wantID; never taken by the callback
	dev   *malgo.Device
	idMem unsafe.Pointer
	curID string

	// tap is the device's C data callback (devicetap.go), which copies
	// to or from ring without entering Go; nil if it could not be made.
	// tapped: the current malgo device calls it (else malgo's callback,
	// onCapture or onPlayback, does the copying).
	tap    *deviceTap
	tapped atomic.Bool
	leaked atomic.Bool // a device was abandoned in teardown: the tap stays allocated

	callbacks atomic.Uint64 // Go callbacks; callbackCount adds the tap's
	wakes     atomic.Uint64 // a tapped device's signals to Go (capture: while recording)
	openedAt  atomic.Uint64 // callbackCount when the current device was opened
	frames    atomic.Uint64 // samples handed over by the callbacks
	flowing   chan struct{} // closed by the flowingAfter-th callback (markFlowing)
	flowOnce  sync.Once
	xruns     atomic.Uint64 // samples dropped (capture) or missing (playback)
	meantDry  atomic.Uint64 // playback: missing samples the mixer left out on purpose (nothing to play)
	periodNow atomic.Uint32 // ms, the period the open device was asked for
	stopped   chan struct{} // cap 1; from miniaudio's stop notification
	closing   atomic.Bool
	idle      atomic.Bool   // stopped on purpose while nothing plays (pause/resume)
	paused    chan struct{} // cap 1: pause stopped the device (tests wait on it)
	running   chan struct{} // cap 1: the device left idle (resume, reopen): the monitor watches again

	quit chan struct{}
	wg   sync.WaitGroup
}

const (
	watchdogTick = 250 * time.Millisecond
	// watchdogStale is the number of ticks without a callback before the
	// device is reopened. PulseAudio's null sink can take up to 2 s before
	// it pulls from a new stream, so this stays above that.
	watchdogStale = 12
	// watchdogStaleFlowing applies once the device has been flowing.
	watchdogStaleFlowing = 4
	// uninitTimeout bounds miniaudio's device teardown, which can hang on a
	// stream the server has killed.
	uninitTimeout = 3 * time.Second
	// flowingAfter callbacks (200 ms at a 10 ms period) mark a device as
	// delivering audio steadily.
	flowingAfter = 20
	// underrunWindow is how long a flowing playback device is watched
	// before it is judged (see underrunning).
	underrunWindow = 2 * time.Second
	// underrunLost is the share of underrunWindow the device may fall
	// behind the wall clock: a stream that misses its deadline plays
	// silence and resumes where it was, so the lost time becomes delay.
	// Measured here (PulseAudio null sinks, 2-core machine at load 9-11),
	// a 10 ms playback stream pulled 4-31 % less than real time, a 20 ms
	// one 0-10 %.
	underrunLost = 0.05
)

func (d *device) op() string {
	if d.capture {
		return "capture"
	}
	return "playback"
}

// start opens the device and starts its monitor.
func (d *device) start() error {
	d.flowing = make(chan struct{})
	d.stopped = make(chan struct{}, 1)
	d.paused = make(chan struct{}, 1)
	d.running = make(chan struct{}, 1)
	d.quit = make(chan struct{})
	d.tap = newDeviceTap(d.ring, d.capture, d.ready, &d.wakes)
	if err := d.open(d.wantID); err != nil {
		d.freeTap()
		return err
	}
	d.wg.Add(1)
	go d.monitor()
	return nil
}

// open initialises and starts a malgo device on id ("" = default).
func (d *device) open(id string) error {
	typ := malgo.Playback
	if d.capture {
		typ = malgo.Capture
	}
	cfg := malgo.DefaultDeviceConfig(typ)
	cfg.SampleRate = SampleRate
	cfg.PeriodSizeInMilliseconds = d.period
	d.periodNow.Store(d.period)
	sub := malgo.SubConfig{Format: malgo.FormatS16, Channels: 1}
	var mem unsafe.Pointer
	var pulseName string
	if id != "" {
		raw, err := hex.DecodeString(id)
		if err != nil || len(raw) > int(unsafe.Sizeof(malgo.DeviceID{})) {
			return &DeviceError{Op: "open " + d.op() + " device", Device: id, Kind: d.missingKind(), Err: fmt.Errorf("malformed device id")}
		}
		pulseName = string(bytes.TrimRight(raw, "\x00"))
	}
	if id != "" && !d.pulse {
		raw, _ := hex.DecodeString(id)
		var full malgo.DeviceID
		copy(full[:], raw)
		mem = C.malloc(C.size_t(len(full)))
		C.memcpy(mem, unsafe.Pointer(&full[0]), C.size_t(len(full)))
		sub.DeviceID = mem
	}
	if d.capture {
		cfg.Capture = sub
	} else {
		cfg.Playback = sub
	}
	if d.tap != nil {
		cfg.PUserData = d.tap.userData()
	}
	cb := malgo.DeviceCallbacks{Data: d.onPlayback, Stop: d.onStop}
	if d.capture {
		cb.Data = d.onCapture
	}
	var dev *malgo.Device
	var err error
	if id != "" && d.pulse {
		dev, err = initPulseNamed(d.ctx, cfg, cb, d.capture, pulseName)
	} else {
		dev, err = malgo.InitDevice(d.ctx, cfg, cb)
	}
	if err != nil {
		if mem != nil {
			C.free(mem)
		}
		return deviceError("open "+d.op()+" device", id, d.capture, err)
	}
	if d.tap != nil {
		tapped := d.tap.install(dev)
		if !tapped {
			d.log.Warn("audio: miniaudio's device layout is not the expected one; the device calls into Go every period", "dir", d.op())
		}
		d.tapped.Store(tapped)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		if mem != nil {
			C.free(mem)
		}
		return deviceError("start "+d.op()+" device", id, d.capture, err)
	}
	d.mu.Lock()
	d.dev, d.idMem, d.curID = dev, mem, id
	d.mu.Unlock()
	if d.idle.Swap(false) { // a reopened device runs, paused or not before
		notify(d.running)
	}
	d.openedAt.Store(d.callbackCount())
	d.log.Debug("audio device started", "dir", d.op(), "device", id)
	return nil
}

func (d *device) missingKind() DeviceErrorKind {
	if d.capture {
		return KindNoMicrophone
	}
	return KindNoSpeaker
}

// closeDev stops and frees the current malgo device, if any.
func (d *device) closeDev() {
	d.mu.Lock()
	dev, mem := d.dev, d.idMem
	d.dev, d.idMem = nil, nil
	d.mu.Unlock()
	if dev == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		dev.Uninit()
		if mem != nil {
			C.free(mem)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(uninitTimeout):
		// miniaudio is stuck tearing down a stream the server killed; the
		// device is abandoned (its thread and memory leak) so that audio
		// can go on elsewhere.
		d.leaked.Store(true)
		abandonedMu.Lock()
		abandoned = append(abandoned, d) // its ring and tap stay reachable
		abandonedMu.Unlock()
		d.log.Error("audio device teardown hangs; abandoning it", "dir", d.op())
	}
}

// abandoned keeps devices whose teardown hung, and so their rings, alive:
// miniaudio's thread may still call back into them.
var (
	abandonedMu sync.Mutex
	abandoned   []*device
)

// pulseEnvMu serialises the PULSE_SINK/PULSE_SOURCE override below.
var pulseEnvMu sync.Mutex

// initPulseNamed opens a PulseAudio device by name without pinning the
// stream to it. Given a device ID, miniaudio connects with DONT_MOVE, so
// when that sink disappears the server kills the stream, miniaudio never
// notices and its teardown hangs. Instead we open the "default" device with
// PULSE_SINK (or PULSE_SOURCE) naming the one we want: libpulse reads it
// when miniaudio creates the device's PulseAudio context, the stream goes
// to that device, and when the device is unplugged the server moves the
// stream to the default one and playback simply continues.
func initPulseNamed(ctx malgo.Context, cfg malgo.DeviceConfig, cb malgo.DeviceCallbacks, capture bool, name string) (*malgo.Device, error) {
	key := "PULSE_SINK"
	if capture {
		key = "PULSE_SOURCE"
	}
	pulseEnvMu.Lock()
	defer pulseEnvMu.Unlock()
	old, had := os.LookupEnv(key)
	os.Setenv(key, name)
	defer func() {
		if had {
			os.Setenv(key, old)
		} else {
			os.Unsetenv(key)
		}
	}()
	return malgo.InitDevice(ctx, cfg, cb)
}

// onCapture is the capture data callback. Audio thread: copies only. A
// tapped device calls it with no samples, only to wake the reader.
func (d *device) onCapture(_, in []byte, _ uint32) {
	if len(in) == 0 {
		d.wakes.Add(1)
		notify(d.ready)
		return
	}
	s := bytesAsSamples(in)
	if n := d.ring.write(s); n < len(s) {
		d.xruns.Add(uint64(len(s) - n))
	}
	d.frames.Add(uint64(len(s)))
	d.counted()
	notify(d.ready)
}

// settled reports whether the current device has been flowing since it was
// opened (a reopened stream on a fresh PulseAudio null sink can take 2 s to
// call back at all).
func (d *device) settled() bool { return d.callbackCount()-d.openedAt.Load() >= flowingAfter }

// counted counts a Go callback and marks the device flowing once.
func (d *device) counted() {
	if d.callbacks.Add(1) == flowingAfter {
		d.markFlowing()
	}
}

// markFlowing closes flowing, once.
func (d *device) markFlowing() { d.flowOnce.Do(func() { close(d.flowing) }) }

// callbackCount is the number of data callbacks so far (Go and tap).
func (d *device) callbackCount() uint64 {
	n := d.callbacks.Load()
	if d.tap != nil {
		n += d.tap.callbacks()
	}
	return n
}

// frameCount is the number of samples the callbacks handed over.
func (d *device) frameCount() uint64 {
	n := d.frames.Load()
	if d.tap != nil {
		n += d.tap.frames()
	}
	return n
}

// xrunCount is the number of samples dropped (capture) or missing
// (playback), Go and tap, less the silence the mixer meant (meantDry).
func (d *device) xrunCount() uint64 {
	return d.dryCount() - d.meantDry.Load()
}

// dryCount is every sample dropped or missing, meant or not.
func (d *device) dryCount() uint64 {
	n := d.xruns.Load()
	if d.tap != nil {
		n += d.tap.xruns()
	}
	return n
}

// readCapture reads captured samples. Recorder's goroutine only.
func (d *device) readCapture(p []int16) int { return d.ring.read(p) }

// setWake asks a tapped capture device to wake ready at every period (a
// recording runs) or not (idle: the reader polls).
func (d *device) setWake(on bool) {
	if d.tap != nil {
		d.tap.setWake(on)
	}
}

// freeTap stops the tap's pipe reader unless an abandoned device may
// still use it.
func (d *device) freeTap() {
	if d.tap != nil {
		d.tap.close(d.leaked.Load())
	}
}

// onPlayback is the playback data callback. Audio thread: copies only. A
// tapped device without a wake pipe calls it with no samples, only to
// wake the mixer.
func (d *device) onPlayback(out, _ []byte, _ uint32) {
	if len(out) == 0 {
		d.wakes.Add(1)
		notify(d.ready)
		return
	}
	s := bytesAsSamples(out)
	if n := d.ring.read(s); n < len(s) {
		clear(s[n:])
		d.xruns.Add(uint64(len(s) - n))
	}
	d.frames.Add(uint64(len(s)))
	d.counted()
	notify(d.ready)
}

// onStop is miniaudio's stop notification (also sent on suspend).
func (d *device) onStop() { notify(d.stopped) }

// monitor reopens the device when it stops unexpectedly or goes silent,
// and falls a playback device back to its longer period when it
// underruns. While the device is paused it has nothing to watch and its
// ticker is stopped: an idle app's devices do not wake it 4 times a
// second each.
func (d *device) monitor() {
	defer d.wg.Done()
	t := time.NewTicker(watchdogTick)
	defer t.Stop()
	last, stale := d.callbackCount(), 0
	var w underrunWatch
	ticking := true
	for {
		if idle := d.idle.Load(); idle == ticking {
			if ticking = !idle; ticking {
				t.Reset(watchdogTick)
			} else {
				t.Stop()
			}
			last, stale = d.callbackCount(), 0
			w = underrunWatch{}
		}
		select {
		case <-d.quit:
			return
		case <-d.running:
			// Left idle: the loop's top starts the ticker again.
		case <-d.stopped:
			if d.closing.Load() || d.idle.Load() {
				continue
			}
			d.mu.Lock()
			running := d.dev != nil && d.dev.IsStarted()
			d.mu.Unlock()
			if !running {
				d.reopen("device stopped")
				last, stale = d.callbackCount(), 0
				w = underrunWatch{}
			}
		case now := <-t.C:
			c := d.callbackCount()
			if d.tap != nil && c >= flowingAfter {
				d.markFlowing() // a tapped device's callback stays in C
			}
			if d.idle.Load() {
				last, stale = c, 0
				w = underrunWatch{}
				continue
			}
			if c != last {
				last, stale = c, 0
				if d.fallback != 0 && d.settled() {
					if why := w.check(now, d.frameCount(), d.xrunCount(), d.periodNow.Load()); why != "" {
						d.fallBack(why)
						last, stale = d.callbackCount(), 0
						w = underrunWatch{}
					}
				}
				continue
			}
			limit := watchdogStale
			if d.settled() {
				limit = watchdogStaleFlowing
			}
			if stale++; stale >= limit {
				d.reopen("device stopped delivering audio")
				last, stale = d.callbackCount(), 0
				w = underrunWatch{}
			}
		}
	}
}

// underrunWatch judges a playback device over windows of underrunWindow:
// it underruns when the callbacks took underrunLost less than real time
// (the server ran dry between two late callbacks) or the mixer left the
// ring dry for more than a period (the callback had to play silence).
// Monitor goroutine only.
type underrunWatch struct {
	from          time.Time
	frames, xruns uint64
	settled       bool // the first window, right after the device began flowing, is not judged
}

// check starts a window or, at its end, judges it: "" or why the device
// underruns.
func (w *underrunWatch) check(now time.Time, frames, xruns uint64, periodMs uint32) string {
	if w.from.IsZero() {
		*w = underrunWatch{from: now, frames: frames, xruns: xruns}
		return ""
	}
	elapsed := now.Sub(w.from)
	if elapsed < underrunWindow {
		return ""
	}
	want := float64(durationToSamples(elapsed))
	got, dry := float64(frames-w.frames), xruns-w.xruns
	settled := w.settled
	*w = underrunWatch{from: now, frames: frames, xruns: xruns, settled: true}
	if !settled {
		return "" // a PulseAudio null sink can start in 2 s blocks
	}
	period := uint64(durationToSamples(time.Duration(periodMs) * time.Millisecond))
	switch {
	case got < want*(1-underrunLost):
		return fmt.Sprintf("pulled %.0f%% of real time over %v", 100*got/want, elapsed.Round(time.Millisecond))
	case dry > period:
		return fmt.Sprintf("the mixer left %v of the output dry in %v", samplesToDuration(int64(dry)), elapsed.Round(time.Millisecond))
	}
	return ""
}

// fallBack reopens the playback device with its fallback period, once.
func (d *device) fallBack(why string) {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.closing.Load() || d.fallback == 0 {
		return
	}
	from, to := d.period, d.fallback
	d.period, d.fallback = to, 0
	d.mu.Lock()
	id := d.curID
	d.mu.Unlock()
	d.log.Warn("audio playback underruns; reopening with a longer period", "from_ms", from, "to_ms", to, "why", why)
	if d.onPeriod != nil {
		d.onPeriod(time.Duration(to) * time.Millisecond)
	}
	if err := d.replace(id); err != nil {
		d.log.Error("audio device reopen failed", "dir", d.op(), "err", err)
		d.emit(DeviceEvent{Kind: DeviceLost, Capture: d.capture, Device: id,
			Err: &DeviceError{Op: d.op(), Device: id, Kind: KindDeviceUnplugged, Err: fmt.Errorf("reopen after underruns: %w", err)}})
		return
	}
	d.mu.Lock()
	now := d.curID
	d.mu.Unlock()
	d.emit(DeviceEvent{Kind: DeviceFellBack, Capture: d.capture, Device: now,
		Err: fmt.Errorf("%s: underruns at %d ms (%s), now %d ms", d.op(), from, why, to)})
}

// replace closes the current device and opens id, or the system default
// if id cannot be opened. opMu must be held.
func (d *device) replace(id string) error {
	d.closeDev()
	err := d.open(id)
	if err != nil && id != "" {
		err = d.open("")
	}
	return err
}

// reopen replaces a dead device: the requested one if it is back, else the
// system default.
func (d *device) reopen(why string) {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if d.closing.Load() {
		return
	}
	d.mu.Lock()
	old, want := d.curID, d.wantID
	d.mu.Unlock()
	cause := &DeviceError{Op: d.op(), Device: old, Kind: KindDeviceUnplugged, Err: fmt.Errorf("%s", why)}
	d.log.Warn("audio device lost, reopening", "dir", d.op(), "device", old, "why", why)
	if err := d.replace(want); err != nil {
		d.log.Error("audio device reopen failed", "dir", d.op(), "err", err)
		d.emit(DeviceEvent{Kind: DeviceLost, Capture: d.capture, Device: old, Err: cause})
		return
	}
	d.mu.Lock()
	now := d.curID
	d.mu.Unlock()
	d.emit(DeviceEvent{Kind: DeviceRerouted, Capture: d.capture, Device: now, Err: cause})
}

// pause stops the running device without closing it (PulseAudio corks
// the stream): no callbacks, no wake-ups, until resume. It reports
// whether it stopped it.
func (d *device) pause() bool {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	return d.pauseLocked()
}

// pauseLocked is pause with opMu held.
func (d *device) pauseLocked() bool {
	d.mu.Lock()
	dev := d.dev
	d.mu.Unlock()
	if dev == nil || d.closing.Load() || d.idle.Load() {
		return false
	}
	d.idle.Store(true)
	if err := dev.Stop(); err != nil {
		d.log.Warn("audio device pause", "dir", d.op(), "err", err)
	}
	d.log.Debug("audio device paused", "dir", d.op())
	notify(d.paused)
	return true
}

// resume starts a paused device again.
func (d *device) resume() error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	if !d.idle.Load() {
		return nil
	}
	d.mu.Lock()
	dev, id := d.dev, d.curID
	d.mu.Unlock()
	defer func() {
		if d.idle.Swap(false) {
			notify(d.running)
		}
	}()
	if dev == nil {
		return nil
	}
	err := dev.Start()
	if err == nil {
		return nil
	}
	// Seen once on a loaded machine (miniaudio: "Unknown error"): open
	// the device afresh instead.
	d.log.Warn("audio device resume failed; reopening", "dir", d.op(), "err", err)
	if err := d.replace(id); err != nil {
		return deviceError("resume "+d.op()+" device", id, d.capture, err)
	}
	return nil
}

// switchTo opens a different device, keeping the ring. A paused device
// is paused again once switched, as its owner (the engine's idle flag,
// the Recorder's loop) still takes it to be: resume starts it.
func (d *device) switchTo(id string) error {
	d.opMu.Lock()
	defer d.opMu.Unlock()
	wasIdle := d.idle.Load()
	d.closing.Store(true)
	d.closeDev()
	d.closing.Store(false)
	d.mu.Lock()
	d.wantID = id
	d.mu.Unlock()
	err := d.open(id)
	if err != nil {
		// Keep sound flowing on the default device; report the failure.
		_ = d.open("")
	}
	if wasIdle {
		d.pauseLocked()
	}
	return err
}

// stop closes the device and waits for the monitor.
func (d *device) stop() {
	d.closing.Store(true)
	close(d.quit)
	d.wg.Wait()
	d.opMu.Lock()
	d.closeDev()
	d.freeTap()
	d.opMu.Unlock()
}

func listDevices(ctx malgo.Context) (capture, playback []DeviceInfo, err error) {
	conv := func(in []malgo.DeviceInfo) []DeviceInfo {
		out := make([]DeviceInfo, 0, len(in))
		for _, i := range in {
			out = append(out, DeviceInfo{ID: i.ID.String(), Name: i.Name(), Default: i.IsDefault != 0})
		}
		return out
	}
	c, err := ctx.Devices(malgo.Capture)
	if err != nil {
		return nil, nil, deviceError("list capture devices", "", true, err)
	}
	p, err := ctx.Devices(malgo.Playback)
	if err != nil {
		return nil, nil, deviceError("list playback devices", "", false, err)
	}
	return conv(c), conv(p), nil
}
