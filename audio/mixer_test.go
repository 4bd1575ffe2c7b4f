package audio

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestMixerSumsVoices(t *testing.T) {
	out := newSampleRing(4096)
	m := newMixer(out, make(chan struct{}, 1), 960)
	a, b := newVoice(960), newVoice(960)
	a.write(constant(1000, 960))
	b.write(constant(-300, 480))
	b.finish()
	m.add(a)
	m.add(b)
	m.fill()
	got := make([]int16, 960)
	if n := out.read(got); n != 960 {
		t.Fatalf("mixed %d samples, want 960", n)
	}
	if got[0] != 700 || got[479] != 700 || got[480] != 1000 || got[959] != 1000 {
		t.Errorf("mix = %d,%d,%d,%d; want 700,700,1000,1000", got[0], got[479], got[480], got[959])
	}
	select {
	case <-b.drained:
	default:
		t.Errorf("finished voice not retired")
	}
	if m.active() != 1 {
		t.Errorf("%d active voices, want 1", m.active())
	}
}

// TestMixerLimiter: four loud talkers at once never wrap around or hard
// clip; the limiter keeps the peak at its ceiling.
func TestMixerLimiter(t *testing.T) {
	out := newSampleRing(1 << 16)
	m := newMixer(out, make(chan struct{}, 1), SampleRate/2)
	for range 4 {
		v := newVoice(SampleRate)
		v.write(tone(440, 0.9, SampleRate/2))
		m.add(v)
	}
	m.fill()
	got := make([]int16, SampleRate/2)
	out.read(got)
	var peak int
	for i, s := range got {
		a := int(s)
		if a < 0 {
			a = -a
		}
		peak = max(peak, a)
		if i > 0 && i < len(got)-1 && abs(int(got[i])-int(got[i-1])) > 8000 {
			t.Fatalf("discontinuity at %d: %d -> %d", i, got[i-1], got[i])
		}
	}
	if peak > limiterCeiling+1 {
		t.Errorf("peak %d above ceiling %d", peak, limiterCeiling)
	}
	if peak < limiterCeiling*9/10 {
		t.Errorf("peak %d: limiter too aggressive", peak)
	}
}

// TestMixerPauseHoldsVoice: a paused voice is neither heard nor consumed.
func TestMixerPauseHoldsVoice(t *testing.T) {
	out := newSampleRing(4096)
	m := newMixer(out, make(chan struct{}, 1), 480)
	v := newVoice(960)
	v.write(constant(500, 960))
	v.setPaused(true)
	m.add(v)
	m.fill()
	got := make([]int16, 480)
	out.read(got)
	if got[0] != 0 || v.buffered() != 960 || v.consumed.Load() != 0 {
		t.Errorf("paused voice played: out %d, buffered %d", got[0], v.buffered())
	}
}

// TestMixerIdleQueuesNoSilence: with nothing to play (no voice, or a
// voice still waiting for its producer) the mixer writes nothing, so the
// first samples of the next voice are not queued behind silence; writing
// them pokes the mixer awake at once.
func TestMixerIdleQueuesNoSilence(t *testing.T) {
	out := newSampleRing(4096)
	wake := make(chan struct{}, 1)
	m := newMixer(out, wake, 480)
	if !m.fill() || out.buffered() != 0 {
		t.Fatalf("no voices: fill wrote %d samples, want none and idle", out.buffered())
	}
	v := newVoice(960)
	m.add(v)
	if !m.fill() || out.buffered() != 0 {
		t.Fatalf("a waiting voice: fill wrote %d samples, want none and idle", out.buffered())
	}
	if v.starved.Load() == 0 {
		t.Error("a waiting voice was not counted as starved")
	}
	select {
	case <-wake:
		t.Fatal("woken before any samples came")
	default:
	}
	v.write(constant(700, 960))
	m.poke()
	select {
	case <-wake:
	default:
		t.Fatal("samples written to an idle mixer did not wake it")
	}
	if m.fill() || out.buffered() != 480 {
		t.Fatalf("fill after the samples came: %d queued, want the lead (480) and not idle", out.buffered())
	}
	got := make([]int16, 1)
	out.read(got)
	if got[0] != 700 {
		t.Errorf("first queued sample %d, want the voice's 700 (no silence ahead of it)", got[0])
	}
	m.poke()
	select {
	case <-wake:
		t.Error("a busy mixer was poked awake")
	default:
	}
}

func constant(v int16, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// BenchmarkMixer mixes four talkers; ns/frame is per 20 ms of output.
func BenchmarkMixer(b *testing.B) {
	out := newSampleRing(1 << 14)
	m := newMixer(out, make(chan struct{}, 1), FrameSamples)
	in := tone(440, 0.5, FrameSamples)
	voices := make([]*voice, 4)
	for i := range voices {
		voices[i] = newVoice(4 * FrameSamples)
		m.add(voices[i])
	}
	sink := make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range voices {
			v.write(in)
		}
		m.fill()
		out.read(sink)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

// TestLiveFirstFrameAtNextCallback: the first frame of a live stream
// that was waiting for its first packet is taken by the very next device
// callback (within one period of its arrival), not by the one after it
// behind a period of silence queued in the ring. Null device, 10 ms
// periods, a jitter target of zero; measured over several streams, from
// the packet's hand-over until the ring's reader passes where the ring
// stood then.
func TestLiveFirstFrameAtNextCallback(t *testing.T) {
	e := newNullEngine(t)
	waitFlowing(t, e.PlaybackFlowing(), "playback")
	period := samplesToDuration(e.mix.lead.Load())
	pkts := encodeTone(t, 440, 100*time.Millisecond)
	ring := e.playback.ring
	var total time.Duration
	const streams = 8
	for i := range streams {
		ch := make(chan Packet, len(pkts))
		p, err := e.Play(ChanSource(ch), PlayerConfig{Live: true, Jitter: JitterConfig{MinDelay: time.Microsecond, MaxDelay: time.Microsecond}})
		if err != nil {
			t.Fatal(err)
		}
		// The device runs a few periods with the player waiting; the
		// packet then comes at a different point of the period each time.
		for c := e.Stats().PlaybackCallbacks + 3; e.Stats().PlaybackCallbacks < c; {
			time.Sleep(time.Millisecond) // polls the callback count
		}
		time.Sleep(time.Duration(i) * period / streams) // the packet's phase
		w0 := atomic.LoadUint64(ring.w)
		r0 := atomic.LoadUint64(ring.r)
		t0 := time.Now()
		for _, pk := range pkts {
			pk.Arrived = time.Now()
			ch <- pk
		}
		close(ch)
		var tc, tv time.Duration
		for atomic.LoadUint64(ring.r) <= w0 {
			if tv == 0 && (p.v.buffered() > 0 || p.v.consumed.Load() > 0) {
				tv = time.Since(t0)
			}
			if tc == 0 && p.v.consumed.Load() > 0 {
				tc = time.Since(t0)
			}
			if time.Since(t0) > time.Second {
				t.Fatal("the first frame was not played within a second")
			}
			time.Sleep(100 * time.Microsecond) // polls the ring's reader
		}
		d := time.Since(t0)
		t.Logf("stream %d: first frame taken %v after it came (decoded after %v, mixed after %v; %d samples queued ahead of it)", i, d, tv, tc, w0-r0)
		total += d
		waitEvent(t, p, PlayerFinished, 5*time.Second)
		p.Close()
	}
	if mean := total / streams; mean >= period {
		t.Errorf("the first frame was taken %v after it came on average, want under one period (%v)", mean, period)
	}
}

// TestMixerStoredLead: while only stored messages play the ring is kept
// at storedLead; a live voice or a cue among them brings it back to the
// device period's lead, so nothing waiting to be heard at once queues
// behind a replay's buffer.
func TestMixerStoredLead(t *testing.T) {
	const lead = 480
	stored := func() *voice {
		v := newVoice(SampleRate)
		v.stored = true
		v.write(constant(100, SampleRate))
		return v
	}
	live := func() *voice {
		v := newVoice(SampleRate)
		v.write(constant(100, SampleRate))
		return v
	}
	for _, tc := range []struct {
		name   string
		voices []func() *voice
		want   int
	}{
		{"stored message", []func() *voice{stored}, storedLead},
		{"two stored messages", []func() *voice{stored, stored}, storedLead},
		{"live stream", []func() *voice{live}, lead},
		{"stored message and a cue", []func() *voice{stored, live}, lead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := newSampleRing(8 * storedLead)
			m := newMixer(out, make(chan struct{}, 1), lead)
			for _, mk := range tc.voices {
				m.add(mk())
			}
			m.fill()
			if got := out.buffered(); got != tc.want {
				t.Errorf("ring holds %d samples, want %d", got, tc.want)
			}
		})
	}
	t.Run("live voice joins", func(t *testing.T) {
		out := newSampleRing(8 * storedLead)
		m := newMixer(out, make(chan struct{}, 1), lead)
		m.add(stored())
		if m.fillLead() != storedLead {
			t.Fatalf("stored only: fill lead %d, want %d", m.fillLead(), storedLead)
		}
		l := live()
		m.add(l)
		if m.fillLead() != lead {
			t.Errorf("with a live voice: fill lead %d, want %d", m.fillLead(), lead)
		}
		m.remove(l)
		if m.fillLead() != storedLead {
			t.Errorf("live voice gone: fill lead %d, want %d", m.fillLead(), storedLead)
		}
	})
}
