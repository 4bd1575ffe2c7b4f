package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/pulsetest"
)

// PulseAudio tests. `make test` runs .ci/pulseaudio.sh, which starts a
// private daemon at /tmp/parley-pulse, and sets PARLEY_TEST_PULSE=1. With
// that variable set an unusable daemon fails these tests; without it they
// skip. The tests start the daemon themselves when it is absent.

const defaultPulseServer = "unix:/tmp/parley-pulse/pulse/native"

// pulse is the daemon a test started (none answered), once for the
// package; TestMain stops it.
var pulse struct {
	once sync.Once
	d    *pulsetest.Daemon
	err  error
}

func startPulse() (*pulsetest.Daemon, error) {
	pulse.once.Do(func() {
		script, _ := filepath.Abs("../.ci/pulseaudio.sh")
		pulse.d, pulse.err = pulsetest.Start(script, "")
	})
	return pulse.d, pulse.err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pulse.d.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// requirePulse makes sure a PulseAudio daemon answers and returns a pactl
// runner.
func requirePulse(t *testing.T) func(args ...string) string {
	t.Helper()
	strict := os.Getenv("PARLEY_TEST_PULSE") == "1"
	fail := func(format string, args ...any) {
		t.Helper()
		if strict {
			t.Fatalf("PARLEY_TEST_PULSE=1 but PulseAudio is unusable: "+format, args...)
		}
		t.Skipf("PulseAudio unusable (set PARLEY_TEST_PULSE=1 to fail instead): "+format, args...)
	}
	for _, tool := range []string{"pactl", "parec", "paplay", "espeak-ng"} {
		if _, err := exec.LookPath(tool); err != nil {
			fail("%s not installed", tool)
		}
	}
	if os.Getenv("PULSE_SERVER") == "" {
		t.Setenv("PULSE_SERVER", defaultPulseServer)
	}
	if exec.Command("pactl", "info").Run() != nil {
		d, err := startPulse()
		if err != nil {
			fail("%v", err)
		}
		t.Setenv("PULSE_SERVER", d.Server)
		if out, err := exec.Command("pactl", "info").CombinedOutput(); err != nil {
			fail("pactl info: %v\n%s", err, out)
		}
	}
	return func(args ...string) string {
		t.Helper()
		out, err := exec.Command("pactl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("pactl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
}

// loadModule loads a PulseAudio module for the test's lifetime.
func loadModule(t *testing.T, pactl func(...string) string, args ...string) string {
	t.Helper()
	id := pactl(append([]string{"load-module"}, args...)...)
	t.Cleanup(func() { _ = exec.Command("pactl", "unload-module", id).Run() })
	return id
}

// findDevice returns the ID of the device whose name contains desc.
func findDevice(t *testing.T, list []DeviceInfo, desc string) string {
	t.Helper()
	for _, d := range list {
		if strings.Contains(d.Name, desc) {
			return d.ID
		}
	}
	t.Fatalf("no device named %q in %+v", desc, list)
	return ""
}

// speechWAV makes a few seconds of espeak-ng speech.
func speechWAV(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "speech.wav")
	out, err := exec.Command("espeak-ng", "-s", "160", "-w", path,
		"Push to talk. Hello from Parley, the voice messenger for your local network.").CombinedOutput()
	if err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	return path
}

// startParec records a source as raw s16le at 48 kHz with the given channels.
func startParec(t *testing.T, source string, channels int) (stop func() []int16) {
	t.Helper()
	var buf bytes.Buffer
	cmd := exec.Command("parec", "-d", source, "--format=s16le", "--rate=48000",
		fmt.Sprintf("--channels=%d", channels), "--latency-msec=10")
	cmd.Stdout = &buf
	if err := cmd.Start(); err != nil {
		t.Fatalf("parec: %v", err)
	}
	return func() []int16 {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		b := buf.Bytes()
		s := make([]int16, len(b)/2)
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return s
	}
}

// TestPulseMouthToEar: espeak-ng speech is played into a virtual
// microphone, captured by a Recorder, encoded, sent through a live Player
// (jitter buffer, decoder, mixer) to a virtual speaker, and recorded back.
// Mouth and ear are the left and right channels of one stereo null sink,
// so both share a clock and the delay is exact.
func TestPulseMouthToEar(t *testing.T) {
	pactl := requirePulse(t)
	tag := fmt.Sprintf("p2e%d", rand.Uint32()%1e6)
	loadModule(t, pactl, "module-null-sink", "sink_name="+tag, "channels=2", "rate=48000",
		"sink_properties=device.description="+tag+"Bus")
	loadModule(t, pactl, "module-remap-sink", "sink_name="+tag+"_mouth", "master="+tag, "channels=1",
		"master_channel_map=front-left", "channel_map=mono", "remix=no",
		"sink_properties=device.description="+tag+"Mouth")
	loadModule(t, pactl, "module-remap-sink", "sink_name="+tag+"_ear", "master="+tag, "channels=1",
		"master_channel_map=front-right", "channel_map=mono", "remix=no",
		"sink_properties=device.description="+tag+"Ear")
	loadModule(t, pactl, "module-remap-source", "source_name="+tag+"_mic", "master="+tag+".monitor", "channels=1",
		"master_channel_map=front-left", "channel_map=mono", "remix=no",
		"source_properties=device.description="+tag+"Mic")

	e0, err := New(Config{Backend: BackendPulseAudio, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("pulse engine: %v", err)
	}
	caps, plays, err := e0.ListDevices()
	e0.Close()
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{
		Backend:          BackendPulseAudio,
		CaptureDeviceID:  findDevice(t, caps, tag+"Mic"),
		PlaybackDeviceID: findDevice(t, plays, tag+"Ear"),
		Logger:           testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rec, err := e.NewRecorder(RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	waitFlowing(t, e.PlaybackFlowing(), "playback")
	waitFlowing(t, rec.Flowing(), "capture")
	speech := speechWAV(t)

	// A CPU-loaded machine can starve the audio threads for tens of ms at a
	// time: the playback stream then falls behind the wall clock (the
	// server plays silence and resumes where it was) and the jitter buffer
	// sheds the added delay by skipping silent frames and, far over target,
	// packets, which costs waveform correlation. Measured per attempt with
	// `go test -race` on a 2-core machine shared with other builds and
	// tests (loadavg 4-9), and "loaded" with two `yes > /dev/null` loops
	// on top (loadavg 6-12):
	//   shared: delay 146-221 ms, waveform 0.91-0.95, envelope 0.83-1.00
	//   loaded: delay 187-529 ms, waveform 0.23-0.66, envelope 0.56-0.76;
	//           the worst attempts had the device pull 30 % less than real
	//           time, more than any buffering or shedding can hide.
	// (Before the fix, shared: 153-472 ms, one attempt in three failing at
	// 472 ms as the delay built up with one drop per 25 slots.) A message
	// passes if any of mouthToEarAttempts attempts meets the bounds below,
	// within mouthToEarBudget so the package stays under two minutes: a
	// broken path (no correlation, silence, a delay that keeps building)
	// fails every attempt; a load spike rarely spoils all of them.
	const (
		mouthToEarAttempts = 3
		mouthToEarBudget   = 60 * time.Second // no new attempt after this
		minWave, minEnv    = 0.5, 0.6
		minDelay           = 20 * time.Millisecond
		maxDelay           = 400 * time.Millisecond // the message's best single lag
		maxWindowLag       = 600 * time.Millisecond // no part of it later than this
	)
	begin := time.Now()
	var failures []string
	attempts := 0
	for attempts < mouthToEarAttempts && (attempts == 0 || time.Since(begin) < mouthToEarBudget) {
		attempts++
		EnableTrace(true)
		m := measureMouthToEar(t, e, rec, tag, speech)
		t.Logf("attempt %d: %s\nper-stage latency (capture to device, no network):\n%s", attempts, m, FormatTrace(TraceReport()))
		EnableTrace(false)
		var bad []string
		if m.wave < minWave || m.env < minEnv {
			bad = append(bad, fmt.Sprintf("mouth and ear differ: waveform correlation %.3f (want >= %.1f), envelope %.3f (want >= %.1f)",
				m.wave, minWave, m.env, minEnv))
		}
		if m.delay < minDelay || m.delay > maxDelay {
			bad = append(bad, fmt.Sprintf("mouth-to-ear delay %v, want %v..%v", m.delay, minDelay, maxDelay))
		}
		if m.lags[1] > maxWindowLag {
			bad = append(bad, fmt.Sprintf("part of the message played %v late, want <= %v", m.lags[1], maxWindowLag))
		}
		if len(bad) == 0 {
			return
		}
		failures = append(failures, fmt.Sprintf("attempt %d: %s", attempts, strings.Join(bad, "; ")))
	}
	t.Errorf("mouth-to-ear failed %d attempts in %v:\n%s", attempts, time.Since(begin).Round(time.Second), strings.Join(failures, "\n"))
}

// mouthToEar is one mouth-to-ear measurement.
type mouthToEar struct {
	packets   int
	delay     time.Duration    // best single lag of the whole message
	lags      [2]time.Duration // smallest and largest lag of the speech windows
	wave, env float64          // waveform and envelope correlation
	jitter    JitterStats
	engine    EngineStats
}

func (m mouthToEar) String() string {
	return fmt.Sprintf("%d packets, delay %v (window lags %v..%v), waveform correlation %.3f, envelope correlation %.3f; jitter %+v; engine %+v",
		m.packets, m.delay, m.lags[0], m.lags[1], m.wave, m.env, m.jitter, m.engine)
}

// measureMouthToEar plays speech into the mouth while rec records it and a
// live player plays the packets to the ear, and compares the two channels.
func measureMouthToEar(t *testing.T, e *Engine, rec *Recorder, tag, speech string) mouthToEar {
	t.Helper()
	packets, err := rec.Start()
	if err != nil {
		t.Fatal(err)
	}
	player, err := e.Play(ChanSource(packets), PlayerConfig{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	defer player.Close()
	stopRec := startParec(t, tag+".monitor", 2)
	if out, err := exec.Command("paplay", "-d", tag+"_mouth", speech).CombinedOutput(); err != nil {
		t.Fatalf("paplay: %v\n%s", err, out)
	}
	<-time.After(600 * time.Millisecond) // let the tail travel mouth to ear
	summary, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, player, PlayerFinished, 5*time.Second)
	stereo := stopRec()
	mouth, ear := make([]int16, len(stereo)/2), make([]int16, len(stereo)/2)
	for i := range mouth {
		mouth[i], ear[i] = stereo[2*i], stereo[2*i+1]
	}
	if rms(mouth) < 0.01 {
		t.Fatalf("mouth channel silent (rms %.4f): speech did not reach the bus", rms(mouth))
	}
	lag, _ := bestLag(mouth, ear, int(durationToSamples(time.Second)))
	// The live jitter buffer may skip a frame or drop a packet to shrink
	// its delay (each moves the lag by 20 ms), so the waveform correlation
	// is taken per 200 ms window of speech, each at its own best lag near
	// the previous window's; the envelope correlation (10 ms RMS) is taken
	// at the global lag.
	wave, lags := windowedCorrelation(mouth, ear, lag)
	return mouthToEar{
		packets: summary.Packets,
		delay:   samplesToDuration(int64(lag)),
		lags:    lags,
		wave:    wave,
		env:     ncc(envelope(mouth), envelope(ear[min(lag, len(ear)):]), 0),
		jitter:  player.JitterStats(),
		engine:  e.Stats(),
	}
}

// windowedCorrelation is the energy-weighted mean, over 200 ms windows of
// a with speech in them, of the best normalised correlation with b within
// ±60 ms of the lag found for the previous speech window (the first one
// searches around lag), so the window follows a delay that the live path
// changes in 20 ms steps while it plays; it also returns the smallest and
// largest lag used.
func windowedCorrelation(a, b []int16, lag int) (float64, [2]time.Duration) {
	fa, fb := toFloat(a), toFloat(b)
	win := int(durationToSamples(200 * time.Millisecond))
	search := int(durationToSamples(60 * time.Millisecond))
	var sum, weight float64
	lo, hi := math.MaxInt, 0
	for start := 0; start+win+lag+search < len(fb); start += win {
		seg := fa[start : start+win]
		var energy float64
		for _, v := range seg {
			energy += v * v
		}
		if math.Sqrt(energy/float64(win)) < 0.02*32768 {
			continue // pause between words
		}
		best, bestLag := math.Inf(-1), lag
		for l := max(0, lag-search); l <= lag+search; l += 4 {
			if c := ncc(seg, fb[start+l:start+l+win], 0); c > best {
				best, bestLag = c, l
			}
		}
		for l := max(0, bestLag-3); l <= bestLag+3; l++ {
			if c := ncc(seg, fb[start+l:start+l+win], 0); c > best {
				best, bestLag = c, l
			}
		}
		sum += best * energy
		weight += energy
		lo, hi = min(lo, bestLag), max(hi, bestLag)
		lag = bestLag
	}
	if weight == 0 {
		return 0, [2]time.Duration{}
	}
	return sum / weight, [2]time.Duration{samplesToDuration(int64(lo)), samplesToDuration(int64(hi))}
}

// envelope is the RMS of each 10 ms block.
func envelope(s []int16) []float64 {
	const block = SampleRate / 100
	out := make([]float64, len(s)/block)
	for i := range out {
		out[i] = rms(s[i*block : (i+1)*block])
	}
	return out
}

// waitFlowing waits until a device delivers audio steadily.
func waitFlowing(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s device not flowing after 10 s", what)
	}
}

// bestLag finds the lag (0..maxLag samples) at which b best matches a, and
// the normalised correlation there: coarse on 8x decimated envelopes-free
// signals, then exact around the best coarse lag.
func bestLag(a, b []int16, maxLag int) (int, float64) {
	const dec = 8
	da, db := decimate(a, dec), decimate(b, dec)
	best, bestC := 0, math.Inf(-1)
	for lag := 0; lag < maxLag/dec; lag++ {
		if c := ncc(da, db, lag); c > bestC {
			best, bestC = lag, c
		}
	}
	fa, fb := toFloat(a), toFloat(b)
	fine, fineC := best*dec, math.Inf(-1)
	for lag := max(0, best*dec-2*dec); lag <= best*dec+2*dec; lag++ {
		if c := ncc(fa, fb, lag); c > fineC {
			fine, fineC = lag, c
		}
	}
	return fine, fineC
}

func decimate(s []int16, n int) []float64 {
	out := make([]float64, len(s)/n)
	for i := range out {
		var sum float64
		for _, v := range s[i*n : i*n+n] {
			sum += float64(v)
		}
		out[i] = sum / float64(n)
	}
	return out
}

func toFloat(s []int16) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// ncc is the normalised cross-correlation of a[i] with b[i+lag].
func ncc(a, b []float64, lag int) float64 {
	n := min(len(a), len(b)-lag)
	if n <= 0 {
		return 0
	}
	var ab, aa, bb float64
	for i := range n {
		x, y := a[i], b[i+lag]
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// TestPulseHotUnplug unloads the sink a player is using while it plays:
// nothing crashes, and the rest of the message plays on the default sink.
func TestPulseHotUnplug(t *testing.T) {
	pactl := requirePulse(t)
	tag := fmt.Sprintf("hp%d", rand.Uint32()%1e6)
	mod := loadModule(t, pactl, "module-null-sink", "sink_name="+tag, "rate=48000",
		"sink_properties=device.description="+tag+"Headset")
	defaultSink := pactl("get-default-sink")
	if defaultSink == tag {
		t.Fatalf("test sink became the default")
	}

	e0, err := New(Config{Backend: BackendPulseAudio, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, plays, err := e0.ListDevices()
	e0.Close()
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Backend: BackendPulseAudio, PlaybackDeviceID: findDevice(t, plays, tag+"Headset"), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	waitFlowing(t, e.PlaybackFlowing(), "playback")
	// Keep the default sink pulling at low latency before the unplug, as a
	// real sound card would (a fresh null sink starts in 2 s blocks).
	keep, err := New(Config{Backend: BackendPulseAudio, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	waitFlowing(t, keep.PlaybackFlowing(), "default playback")
	// Silence playing keeps it from pausing while idle (idleStopAfter).
	quiet, err := EncodePCM(make([]int16, int(durationToSamples(30*time.Second))), EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	qp, err := keep.Play(NewSliceSource(quiet), PlayerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer qp.Close()
	p, pkts := playTone(t, e, 3*time.Second, PlayerConfig{})
	stopRec := startParec(t, defaultSink+".monitor", 1)

	for p.Position() < time.Second {
		waitEvent(t, p, PlayerPosition, 2*time.Second)
	}
	pactl("unload-module", mod)
	unplugged := p.Position()
	fin := waitEvent(t, p, PlayerFinished, 10*time.Second)
	heard := stopRec()
	if want := time.Duration(len(pkts)) * FrameDuration; fin.Position != want {
		t.Errorf("finished at %v, want %v", fin.Position, want)
	}
	// The default sink's monitor must carry the tone after the unplug.
	toneAt := 0
	for i := 0; i+FrameSamples <= len(heard); i += FrameSamples {
		if rms(heard[i:i+FrameSamples]) > 0.1 {
			toneAt++
		}
	}
	t.Logf("unplugged at %v; %v of tone reached the default sink %q; stats %+v",
		unplugged, time.Duration(toneAt)*FrameDuration, defaultSink, e.Stats())
	if minimum := (3*time.Second - unplugged) / 2; time.Duration(toneAt)*FrameDuration < minimum {
		t.Errorf("only %v of tone on the default sink after unplug, want >= %v", time.Duration(toneAt)*FrameDuration, minimum)
	}
	// Before the unplug it played on the headset sink, not the default.
	// The margin covers audio already buffered past the reported position
	// on a loaded machine (2.32 s seen with 2.0 s expected); a player that
	// was on the default sink all along puts all 3 s there.
	if maximum := 3*time.Second - unplugged + 600*time.Millisecond; time.Duration(toneAt)*FrameDuration > maximum {
		t.Errorf("%v of tone on the default sink, want <= %v: the player was not on the chosen sink", time.Duration(toneAt)*FrameDuration, maximum)
	}
	// And the engine still plays.
	p2, _ := playTone(t, e, 300*time.Millisecond, PlayerConfig{})
	waitEvent(t, p2, PlayerFinished, 5*time.Second)
}

// TestPulseCaptureStartLatency measures why the Recorder keeps the
// microphone warm: a cold capture device takes this long from open to its
// first samples, all of which a cold start would cut off the first
// syllable; a warm Recorder's Start is a channel round trip.
func TestPulseCaptureStartLatency(t *testing.T) {
	requirePulse(t)
	e, err := New(Config{Backend: BackendPulseAudio, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var cold []time.Duration
	for range 3 {
		d := e.newDevice(true, "", newSampleRing(SampleRate))
		begin := time.Now()
		if err := d.start(); err != nil {
			t.Fatal(err)
		}
		// A tapped device signals ready only when asked (a recording);
		// a first callback before this call is seen at the second.
		d.setWake(true)
		select {
		case <-d.ready:
			cold = append(cold, time.Since(begin))
		case <-time.After(3 * time.Second):
			t.Fatalf("cold capture device delivered nothing in 3 s")
		}
		d.stop()
	}
	rec, err := e.NewRecorder(RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	begin := time.Now()
	ch, err := rec.Start()
	if err != nil {
		t.Fatal(err)
	}
	warm := time.Since(begin)
	select {
	case <-ch:
	case <-time.After(3 * time.Second):
		t.Fatalf("warm recorder delivered no packet in 3 s")
	}
	firstPacket := time.Since(begin)
	if _, err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("capture start: cold open->first samples %v; warm Start() %v, first 20 ms packet after %v", cold, warm, firstPacket)
}

// TestPulsePlaybackResume: an idle engine pauses its PulseAudio playback
// stream (corked) and a message resumes it; it logs how long that takes
// (the budget from a live packet's arrival to playback is 5 ms).
func TestPulsePlaybackResume(t *testing.T) {
	requirePulse(t)
	e, err := New(Config{Backend: BackendPulseAudio, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	waitFlowing(t, e.PlaybackFlowing(), "playback")
	var took []time.Duration
	for i := range 3 {
		select {
		case <-e.pausedSig:
		case <-time.After(idleStopAfter + 5*time.Second):
			t.Fatalf("round %d: the idle playback stream was not paused (stats %+v)", i, e.Stats())
		}
		p, _ := playTone(t, e, 200*time.Millisecond, PlayerConfig{})
		waitEvent(t, p, PlayerFinished, 5*time.Second)
		p.Close()
		took = append(took, e.Stats().LastResume)
	}
	t.Logf("resuming the paused PulseAudio playback stream took %v", took)
	if slices.Max(took) > 50*time.Millisecond {
		t.Errorf("resume took %v, want well under 50 ms", took)
	}
}
