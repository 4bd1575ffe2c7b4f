package app

import (
	"context"
	"log/slog"
	gosync "sync"
	"time"

	"parley/audio"
	"parley/sync"
)

// maxLiveWaves bounds the live messages whose growing waveform is kept: a
// message whose end never came (its sender's device vanished) is dropped
// with the least recently read.
const maxLiveWaves = 16

// liveWaveStep is how many packets a growing waveform grows by at once:
// a second, so that it grows when the elapsed time ticks, in the same
// redraw. Each redraw repaints the whole window; measured with make cpu
// (listening live, Xvfb's software GL), growing at ui's 12.5 Hz took a
// listener from 19 % to 37 % of a core, nearly all of it painting; by
// seconds the app's own threads stay as before and llvmpipe's painting
// goes from 1.8 % to 3.7 % (the waveform's texture once a second).
const liveWaveStep = 50

// findStartSpan is how far (packets) from where a late-joined message is
// estimated to be findStart looks for its first cached packet: 10 s.
const findStartSpan = 500

// liveWaves gives voice messages that are still arriving a waveform that
// grows with them, from what was received: the packets sync cached,
// decoded in order (audio.WaveMeter) when ui reads the message. ui reads at
// most 12.5 times a second (its hint loop coalesces), so the decoding
// follows at that pace, off the UI thread, with no goroutine of its own.
// Once the message is complete it has the sender's stored waveform, which
// the growing one ends as.
//
// A listener who joined while the message was under way has only its
// later packets (the earlier ones are fetched only if played): the
// waveform then starts where the cached packets start, found with a few
// one-packet reads (findStart, at most once a second and only while
// nothing from packet 0 on is cached), the missing start drawn silent and
// filled in when those packets arrive; checking for them is one
// one-packet read per liveWaveStep, and nothing is fetched for it.
//
// The packets of one message are decoded by one reader at a time: a
// reader that finds the message's meter busy waits for that reader, then
// reads what came after it.
type liveWaves struct {
	log *slog.Logger

	mu    gosync.Mutex
	waves map[string]*liveWave
	tick  uint64 // read counter, for least recently read
}

// liveWave is the growing waveform of one message. While busy is set a
// reader decodes into meter (outside mu; meter, next and the gap fields
// are then its alone) and closes busy when done.
type liveWave struct {
	meter *audio.WaveMeter
	next  uint32 // packets decoded (or skipped): the next one to read
	drawn uint32 // packets points covers: whole steps of next
	// gapFrom..gapTo are packets skipped (not cached when the cached ones
	// after them were read), drawn silent until they come; checked is the
	// step of next at the last check for them.
	gapFrom, gapTo uint32
	checked        uint32
	probed         time.Time // last findStart
	points         []byte
	read           uint64
	busy           chan struct{}
}

func newLiveWaves(log *slog.Logger) *liveWaves {
	return &liveWaves{log: log, waves: map[string]*liveWave{}}
}

// fill gives each message of ms still being recorded without a waveform
// the waveform of its packets so far (in whole liveWaveSteps), and its
// length so far (Packets, for the elapsed time), reading new packets from
// st. It forgets the messages
// that ended.
func (l *liveWaves) fill(ctx context.Context, st packetReader, ms []sync.Message) {
	for i := range ms {
		m := &ms[i]
		if m.Kind != sync.KindVoice {
			continue
		}
		if m.State != sync.StateRecording || len(m.Waveform) > 0 {
			l.forget(m.ID)
			continue
		}
		l.grow(ctx, st, m)
	}
}

// packetReader reads a message's cached packets (a *sync.Store).
type packetReader interface {
	Packets(ctx context.Context, message string, from uint32, limit int) ([]sync.Packet, error)
}

// grow decodes m's packets not yet decoded and sets m's waveform.
func (l *liveWaves) grow(ctx context.Context, st packetReader, m *sync.Message) {
	w := l.checkOut(m.ID)
	if w == nil {
		return
	}
	ps, err := st.Packets(ctx, m.ID, w.next, 0)
	if err != nil {
		l.log.Debug("live waveform: read packets", "message", m.ID, "err", err)
	}
	if len(ps) == 0 && err == nil && w.next == 0 && time.Since(w.probed) >= time.Second &&
		time.Since(m.Created) >= time.Second {
		// Nothing from the first packet on a second in: joined late.
		w.probed = time.Now()
		if start, ok := l.findStart(ctx, st, m); ok {
			w.meter.Skip(int(start))
			w.gapFrom, w.gapTo, w.next = 0, start, start
			ps, err = st.Packets(ctx, m.ID, w.next, 0)
			if err != nil {
				l.log.Debug("live waveform: read packets", "message", m.ID, "err", err)
			}
		}
	}
	for _, p := range ps {
		if err := w.meter.Add(p.Data); err != nil {
			l.log.Debug("live waveform", "message", m.ID, "err", err)
		}
	}
	w.next += uint32(len(ps))
	filled := l.fillGap(ctx, st, m.ID, w)
	l.mu.Lock()
	defer l.mu.Unlock()
	if drawn := w.next - w.next%liveWaveStep; drawn != w.drawn || w.points == nil || filled {
		w.drawn, w.points = drawn, w.meter.PointsOf(int(drawn))
	}
	close(w.busy)
	w.busy = nil
	showWave(m, w)
}

// findStart is the first cached packet of m, whose packet 0 is not
// cached: one-packet reads around where m is by now (its packets known
// when it came, or its age in packets, whichever is more; within
// findStartSpan either side, for clocks apart), then a binary search
// from 0 to the cached one found, as the cached packets of a late join
// run from where it joined to the newest.
func (l *liveWaves) findStart(ctx context.Context, st packetReader, m *sync.Message) (uint32, bool) {
	cached := func(seq uint32) bool {
		ps, err := st.Packets(ctx, m.ID, seq, 1)
		if err != nil {
			l.log.Debug("live waveform: find start", "message", m.ID, "err", err)
		}
		return len(ps) == 1
	}
	guess := int64(max(m.Packets, uint32(time.Since(m.Created)/audio.FrameDuration)))
	hi := int64(-1)
	for d := int64(0); d <= findStartSpan && hi < 0; d += liveWaveStep / 2 {
		for _, seq := range []int64{guess - d, guess + d} {
			if seq > 0 && hi < 0 && cached(uint32(seq)) {
				hi = seq
			}
		}
	}
	if hi < 0 {
		return 0, false // not found (yet): looked for again a second later
	}
	lo, h := uint32(0), uint32(hi)
	for h-lo > 1 {
		mid := lo + (h-lo)/2
		if cached(mid) {
			h = mid
		} else {
			lo = mid
		}
	}
	return h, true
}

// fillGap decodes the packets of w's gap that arrived since (the listener
// played the start, which fetched it), looking once per liveWaveStep; it
// reports whether it filled any.
func (l *liveWaves) fillGap(ctx context.Context, st packetReader, message string, w *liveWave) bool {
	if w.gapFrom >= w.gapTo || w.next/liveWaveStep == w.checked {
		return false
	}
	w.checked = w.next / liveWaveStep
	ps, err := st.Packets(ctx, message, w.gapFrom, int(w.gapTo-w.gapFrom))
	if err != nil {
		l.log.Debug("live waveform: read skipped packets", "message", message, "err", err)
	}
	for _, p := range ps {
		if err := w.meter.AddAt(int(p.Seq), p.Data); err != nil {
			l.log.Debug("live waveform", "message", message, "err", err)
		}
	}
	w.gapFrom += uint32(len(ps))
	return len(ps) > 0
}

// checkOut returns message's wave, made if new, marked busy for the
// caller, once no other reader has it; nil if no decoder could be made.
func (l *liveWaves) checkOut(message string) *liveWave {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tick++
	for {
		w := l.waves[message]
		if w == nil {
			l.mu.Unlock()
			meter, err := audio.NewWaveMeter()
			l.mu.Lock()
			if err != nil {
				l.log.Warn("live waveform", "message", message, "err", err)
				return nil
			}
			if l.waves[message] != nil { // another reader made it meanwhile
				continue
			}
			if len(l.waves) >= maxLiveWaves {
				l.evict()
			}
			w = &liveWave{meter: meter}
			l.waves[message] = w
		}
		if w.busy != nil {
			done := w.busy
			l.mu.Unlock()
			<-done // the other reader's store read and decoding
			l.mu.Lock()
			continue
		}
		w.read = l.tick
		w.busy = make(chan struct{})
		return w
	}
}

// showWave copies w's points and length so far into m (mu held).
func showWave(m *sync.Message, w *liveWave) {
	m.Waveform = w.points
	m.Packets = max(m.Packets, w.next)
}

// evict drops the least recently read wave that no reader holds (mu held).
func (l *liveWaves) evict() {
	var oldest string
	for id, w := range l.waves {
		if w.busy == nil && (oldest == "" || w.read < l.waves[oldest].read) {
			oldest = id
		}
	}
	delete(l.waves, oldest)
}

// forget drops message's wave, if any.
func (l *liveWaves) forget(message string) {
	l.mu.Lock()
	delete(l.waves, message)
	l.mu.Unlock()
}
