package audio

import (
	"sync"
	"sync/atomic"
)

// voice is one input of the mixer: a player or a cue. The producer (a
// player goroutine) writes PCM; the mixer goroutine reads it. A mutex
// guards the buffer; it is held only to copy samples, never on the audio
// thread.
type voice struct {
	mu       sync.Mutex
	buf      []int16
	r, n     int // read index and fill
	paused   bool
	done     bool // producer finished: remove once drained
	stored   bool // a stored message: it may be queued deeper (see mixer.storedLead); set before add
	gain     float32
	consumed atomic.Int64 // samples taken by the mixer
	starved  atomic.Int64 // samples the mixer wanted while the producer had not written them (it was late)

	space   chan struct{} // cap 1: the mixer took samples
	drained chan struct{} // closed when done and empty, after removal
}

func newVoice(capacity int) *voice {
	return &voice{
		buf:     make([]int16, capacity),
		gain:    1,
		space:   make(chan struct{}, 1),
		drained: make(chan struct{}),
	}
}

// write copies as much of p as fits and returns how many samples it took.
func (v *voice) write(p []int16) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := min(len(p), len(v.buf)-v.n)
	w := (v.r + v.n) % len(v.buf)
	c := copy(v.buf[w:], p[:n])
	copy(v.buf, p[c:n])
	v.n += n
	return n
}

// buffered is the number of samples waiting to be mixed.
func (v *voice) buffered() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.n
}

// flush drops everything buffered (seek).
func (v *voice) flush() {
	v.mu.Lock()
	v.r, v.n = 0, 0
	v.mu.Unlock()
	notify(v.space)
}

func (v *voice) setPaused(p bool) {
	v.mu.Lock()
	v.paused = p
	v.mu.Unlock()
}

// finish tells the mixer no more samples will come.
func (v *voice) finish() {
	v.mu.Lock()
	v.done = true
	v.mu.Unlock()
}

// mixInto adds up to len(acc) samples into acc, returns how many, and
// reports whether the voice is finished and empty. Mixer goroutine only.
func (v *voice) mixInto(acc []float32) (n int, finished bool) {
	v.mu.Lock()
	if v.paused {
		v.mu.Unlock()
		return 0, false
	}
	n = min(len(acc), v.n)
	if n < len(acc) && !v.done {
		v.starved.Add(int64(len(acc) - n))
	}
	g := v.gain
	for i := range n {
		acc[i] += float32(v.buf[(v.r+i)%len(v.buf)]) * g
	}
	v.r = (v.r + n) % len(v.buf)
	v.n -= n
	finished = v.done && v.n == 0
	v.mu.Unlock()
	if n > 0 {
		v.consumed.Add(int64(n))
		notify(v.space)
	}
	return n, finished
}

// limiter keeps the sum of several voices inside 16 bits without hard
// clipping: the gain drops at once to fit a peak and recovers over about
// 50 ms.
type limiter struct{ gain float32 }

const (
	limiterCeiling = 32000
	limiterRelease = 1.0 / (0.05 * SampleRate) // gain recovered per sample
)

func (l *limiter) process(acc []float32, out []int16) {
	if l.gain == 0 {
		l.gain = 1
	}
	g := l.gain
	for i, x := range acc {
		ax := x
		if ax < 0 {
			ax = -ax
		}
		if g < 1 {
			g = min(1, g+limiterRelease)
		}
		if ax*g > limiterCeiling {
			g = limiterCeiling / ax
		}
		out[i] = clampSample(x * g)
	}
	l.gain = g
}

// mixer sums its voices into the playback ring. One goroutine (run) does
// all the mixing, woken by the playback callback each time it drains the
// ring; the voices list is guarded by mu.
type mixer struct {
	mu     sync.Mutex
	voices []*voice

	out  *sampleRing
	wake chan struct{}
	lead atomic.Int64 // samples to keep queued for the device
	idle atomic.Bool  // the last fill had nothing to write (see poke)
	// storedOnly: voices play and every one is a stored message, so the
	// ring is kept at storedLead instead of lead (guarded by mu, read
	// by fill without it).
	storedOnly atomic.Bool

	lim  limiter
	acc  []float32
	pcm  []int16
	snap []*voice
	done []*voice
}

const mixChunk = 240 // 5 ms

// storedLead is how much mixed audio the ring holds while only stored
// messages play (a replay, no live stream, no cue): nobody waits for it
// to be early, and at one period's lead a mixer goroutine scheduled 10 ms
// late (a busy machine, GC) already left the device dry, a gap in the
// replay and a lag that stayed (the e2e replays on a loaded machine
// drifted by up to 160 ms within one message). 40 ms is below what
// anyone hears as a delay when pressing play or pause. At least two
// periods when the device period grew (playbackFallback).
const storedLead = 40 * SampleRate / 1000

// fillLead is the ring's target now: the lead, or storedLead while only
// stored messages play.
func (m *mixer) fillLead() int {
	lead := int(m.lead.Load())
	if m.storedOnly.Load() {
		return max(storedLead, 2*lead)
	}
	return lead
}

// noteVoicesLocked updates storedOnly from the voice list; mu held.
func (m *mixer) noteVoicesLocked() {
	stored := len(m.voices) > 0
	for _, v := range m.voices {
		stored = stored && v.stored
	}
	m.storedOnly.Store(stored)
}

func newMixer(out *sampleRing, wake chan struct{}, lead int) *mixer {
	m := &mixer{
		out:  out,
		wake: wake,
		acc:  make([]float32, mixChunk),
		pcm:  make([]int16, mixChunk),
		snap: make([]*voice, 0, 16),
		done: make([]*voice, 0, 16),
	}
	m.lead.Store(int64(lead))
	return m
}

// setLead changes how much is kept queued for the device (its period
// changed). Safe from any goroutine.
func (m *mixer) setLead(lead int) { m.lead.Store(int64(lead)) }

func (m *mixer) add(v *voice) {
	m.mu.Lock()
	m.voices = append(m.voices, v)
	m.noteVoicesLocked()
	m.mu.Unlock()
}

func (m *mixer) remove(v *voice) {
	m.mu.Lock()
	for i, x := range m.voices {
		if x == v {
			m.voices = append(m.voices[:i], m.voices[i+1:]...)
			break
		}
	}
	m.noteVoicesLocked()
	m.mu.Unlock()
}

// fill tops the output ring up to the lead (fillLead) with what the
// voices have.
// While no voice has a sample to give (nothing plays, or a live stream
// waits for its first packet) it writes nothing and reports idle: the
// device callback then plays silence of its own, and the first samples
// of the next voice go out at the next callback instead of behind a
// period of silence queued in the ring (10 ms more delay for a whole live
// message). Mixer goroutine only.
func (m *mixer) fill() bool {
	tracing := TraceEnabled() && m.active() > 0
	for {
		queued := m.out.buffered()
		want := min(m.fillLead()-queued, m.out.size()-queued, mixChunk)
		if want <= 0 {
			m.idle.Store(false)
			return false
		}
		// Idle is announced before the voices are looked at: a producer
		// that writes after the look sees it and pokes (see poke).
		m.idle.Store(true)
		if !m.mixChunk(m.pcm[:want]) {
			return true
		}
		m.idle.Store(false)
		if tracing {
			// What is mixed now waits behind what the ring holds.
			Trace(StageDevice, samplesToDuration(int64(queued)))
		}
		m.out.write(m.pcm[:want])
	}
}

// mixChunk mixes len(pcm) samples of all voices into pcm, retires
// finished voices and reports whether any voice gave a sample (each voice
// that had fewer than asked counts the rest as starved). It does not
// allocate once the voice list has settled.
func (m *mixer) mixChunk(pcm []int16) (mixed bool) {
	acc := m.acc[:len(pcm)]
	clear(acc)
	m.mu.Lock()
	m.snap = append(m.snap[:0], m.voices...)
	m.mu.Unlock()
	m.done = m.done[:0]
	for _, v := range m.snap {
		n, finished := v.mixInto(acc)
		mixed = mixed || n > 0
		if finished {
			m.done = append(m.done, v)
		}
	}
	for _, v := range m.done {
		m.remove(v)
		close(v.drained)
	}
	m.lim.process(acc, pcm)
	return mixed
}

// poke wakes the mixer when a voice got samples while the last fill had
// none to write: they go into the ring now, not at the next callback.
// Safe from any goroutine.
func (m *mixer) poke() {
	if m.idle.Load() {
		notify(m.wake)
	}
}

// active is the number of voices being mixed.
func (m *mixer) active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.voices)
}
